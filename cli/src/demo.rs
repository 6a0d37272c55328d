//! `autopilot demo`: write the generated demo dataset to a folder and (unless `--data-only`)
//! run the autopilot on it, with the project in `<DIR>/project`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::out::outln;
use autopilot::session::RunOptions;
use autopilot::synth::{self, DemoSpec};

/// Arguments of `autopilot demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder to write `demo.csv` and `images/` into (created if needed).
    #[arg(default_value = "demo")]
    pub dir: PathBuf,
    /// Only write the data; do not run the autopilot.
    #[arg(long)]
    pub data_only: bool,
    /// Number of rows.
    #[arg(long, default_value_t = DemoSpec::default().n_rows)]
    pub rows: usize,
    /// Number of classes.
    #[arg(long, default_value_t = DemoSpec::default().n_classes)]
    pub classes: usize,
    /// Random seed (same seed, same files).
    #[arg(long, default_value_t = DemoSpec::default().seed)]
    pub seed: u64,
    /// Image width and height in pixels.
    #[arg(long, default_value_t = DemoSpec::default().image_size)]
    pub image_size: u32,
}

/// Executes `autopilot demo`.
pub fn execute(args: DemoArgs) -> anyhow::Result<()> {
    let spec = DemoSpec {
        n_rows: args.rows,
        n_classes: args.classes,
        seed: args.seed,
        image_size: args.image_size,
    };
    let csv = synth::write_demo_dataset(&args.dir, &spec)
        .with_context(|| format!("writing the demo dataset to {}", args.dir.display()))?;
    // A closed stdout ends `--data-only` quietly; the run below goes on regardless.
    let wrote = outln!(
        "Wrote {} rows ({} classes) to {}",
        spec.n_rows,
        spec.n_classes,
        csv.display()
    );
    if args.data_only {
        wrote?;
        outln!(
            "Try: autopilot run {} --target {} --group {}",
            csv.display(),
            synth::DEMO_TARGET,
            synth::DEMO_GROUP
        )?;
        return Ok(());
    }
    let project = args.dir.join("project");
    let mut opts = RunOptions::new(&csv, synth::DEMO_TARGET);
    opts.group = Some(synth::DEMO_GROUP.to_string());
    opts.project = Some(project.clone());
    super::run::run_and_print(&opts, false, None)?;
    outln!(
        "Project: {} (try: autopilot leaderboard --project {})",
        project.display(),
        project.display()
    )?;
    Ok(())
}
