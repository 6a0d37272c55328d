//! Command-line interface: argument parsing and dispatch to one module per subcommand.
//! Only this layer prints and chooses exit codes; everything below returns errors.

use std::ffi::OsString;

use clap::{Parser, Subcommand};

mod autopilot_run;
mod demo;
mod leaderboard;
mod profile;
mod run;

pub use demo::DemoArgs;
pub use leaderboard::LeaderboardArgs;
pub use profile::ProfileArgs;
pub use run::RunArgs;

/// Autopilot: multimodal AutoML (images, text, numbers, categories) from one CSV.
#[derive(Debug, Parser)]
#[command(name = "autopilot", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Profile a dataset: column types, missing values, classes, duplicates, leakage.
    Profile(ProfileArgs),
    /// Run the autopilot: profile, partition, train blueprints, fill the leaderboard.
    Run(RunArgs),
    /// Show a project's leaderboard (or one model's details).
    Leaderboard(LeaderboardArgs),
    /// Write a generated demo dataset (images + text + numbers + categories) to a folder.
    Demo(DemoArgs),
}

/// Runs the CLI on `args` (including the program name) and returns the process exit code.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Profile(a) => profile::execute(a),
        Command::Run(a) => run::execute(a),
        Command::Leaderboard(a) => leaderboard::execute(a),
        Command::Demo(a) => demo::execute(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
