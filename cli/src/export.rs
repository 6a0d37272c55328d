//! `autopilot export MODEL -o model.apm`: one self-contained file (model, fitted pipeline state,
//! backbone weights, SHA-256 checksums) that `autopilot predict` reads on another machine.
//! The checksums catch corruption, not tampering (see [`autopilot::model::apm`]). The output may not
//! lie inside the project folder or replace the training data.

use std::path::PathBuf;

use clap::Args;

use super::out::outln;
use autopilot::model::apm::write_apm;
use autopilot::project::outputs::check_output;
use autopilot::store::{load_predictor, resolve_model_id};

/// Arguments of `autopilot export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A model id of the project (e.g. M5) or `best`.
    pub model: String,
    /// The file to write (conventionally `*.apm`).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Project folder (default: the only `*.autopilot` folder in the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
}

/// Executes `autopilot export`.
pub fn execute(args: ExportArgs) -> anyhow::Result<()> {
    let project = super::open_project(args.project.as_deref())?;
    check_output(
        &args.output,
        Some(project.dir()),
        &[&project.settings.data_path],
    )?;
    let id = resolve_model_id(&project, &args.model)?;
    let predictor = load_predictor(&project, &id)?;
    let manifest = write_apm(&args.output, &predictor)?;
    let size = std::fs::metadata(&args.output).map_or(0, |m| m.len());
    outln!(
        "Exported {id} ({}) -> {} ({:.1} MB)",
        predictor.blueprint,
        args.output.display(),
        size as f64 / 1e6
    )?;
    for e in &manifest.entries {
        outln!("  {} ({} bytes, sha256 {})", e.name, e.size, e.sha256)?;
    }
    Ok(())
}
