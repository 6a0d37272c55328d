//! `autopilot demo`: write the generated demo dataset to a folder.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::synth::{self, DemoSpec};

/// Arguments of `autopilot demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder to write `demo.csv` and `images/` into (created if needed).
    pub dir: PathBuf,
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
    println!(
        "Wrote {} rows ({} classes) to {}",
        spec.n_rows,
        spec.n_classes,
        csv.display()
    );
    println!(
        "Try: autopilot profile {} --target {} --group {}",
        csv.display(),
        synth::DEMO_TARGET,
        synth::DEMO_GROUP
    );
    Ok(())
}
