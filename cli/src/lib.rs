//! The `autopilot` command-line interface: argument parsing and dispatch to one module per
//! subcommand, each of which parses, calls the engine (`autopilot::session` and friends) and
//! prints. Only this crate prints and chooses exit codes; the engine returns errors.

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use out::errln;

mod demo;
mod export;
mod featurize;
mod insights;
mod leaderboard;
mod models;
mod out;
mod predict;
mod profile;
mod report;
mod run;
mod serve;
mod tune;

pub use demo::DemoArgs;
pub use export::ExportArgs;
pub use featurize::FeaturizeArgs;
pub use insights::InsightsArgs;
pub use leaderboard::LeaderboardArgs;
pub use models::ModelsArgs;
pub use predict::PredictArgs;
pub use profile::ProfileArgs;
pub use report::ReportArgs;
pub use run::RunArgs;
pub use serve::ServeArgs;
pub use tune::TuneArgs;

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
    /// List or change a model's parameters and retrain it on the same folds.
    Tune(TuneArgs),
    /// Predict new data with a project model, `best`, or an exported `.apm` file.
    Predict(PredictArgs),
    /// Export a model to one self-contained `.apm` file.
    Export(ExportArgs),
    /// Write the feature vectors of an image column (pretrained backbone) or a text column
    /// (MiniLM embeddings or TF-IDF) to .npy, .csv or .mtx.
    Featurize(FeaturizeArgs),
    /// Write a generated demo dataset (images + text + numbers + categories) to a folder.
    Demo(DemoArgs),
    /// The pretrained image backbones: list, fetch weights, classify images as a check.
    Models(ModelsArgs),
    /// Compute a model's insights: Feature Impact, confusion matrix, activation maps, image
    /// embeddings, word clouds (figures, tables and JSON in a folder).
    Insights(InsightsArgs),
    /// Write one self-contained HTML report: data profile, leaderboard, insights of a model.
    Report(ReportArgs),
    /// Start the local web app: leaderboard, insights, tuning and scoring in the browser.
    Serve(ServeArgs),
}

/// The project of `--project DIR`, or the single `*.autopilot` folder in the current directory.
fn open_project(given: Option<&std::path::Path>) -> anyhow::Result<autopilot::project::Project> {
    let cwd = std::env::current_dir()?;
    let dir = autopilot::project::find_project(given, &cwd)?;
    Ok(autopilot::project::Project::open(&dir)?)
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
        Command::Featurize(a) => featurize::execute(a),
        Command::Insights(a) => insights::execute(a),
        Command::Report(a) => report::execute(a),
        Command::Models(a) => models::execute(a),
        Command::Tune(a) => tune::execute(a),
        Command::Predict(a) => predict::execute(a),
        Command::Export(a) => export::execute(a),
        Command::Serve(a) => serve::execute(a),
    };
    match result {
        Ok(()) => 0,
        // The reader of stdout went away (`| head`): end quietly, like other Unix tools.
        Err(e) if out::is_stdout_closed(&e) => 0,
        Err(e) => {
            errln!("error: {e:#}");
            1
        }
    }
}
