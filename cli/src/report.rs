//! `autopilot report`: one self-contained HTML file with the data profile, the leaderboard and
//! every insight of the best model (or of `--model`).

use std::path::PathBuf;

use clap::Args;

use super::insights::{choose_model, project_dir};
use super::out::outln;
use autopilot::insights::report::render_report;
use autopilot::insights::{InsightContext, InsightSettings, write_insights};
use autopilot::project::atomic::write_atomic;
use autopilot::project::outputs::check_output;

/// Arguments of `autopilot report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Project folder (default: the only `*.autopilot` folder in the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Model to explain (default: the best model, the one `predict best` uses).
    #[arg(long)]
    pub model: Option<String>,
    /// The HTML file to write.
    #[arg(short = 'o', long = "output", default_value = "report.html")]
    pub output: PathBuf,
    /// Images in the activation-map grid.
    #[arg(long, default_value_t = 12)]
    pub images: usize,
    /// Seed of the samples and shuffles of the insights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Executes `autopilot report`.
pub fn execute(args: ReportArgs) -> anyhow::Result<()> {
    let dir = project_dir(args.project.as_deref())?;
    let mut ctx = InsightContext::open(&dir)?;
    check_output(
        &args.output,
        Some(ctx.project.dir()),
        &[&ctx.project.settings.data_path],
    )?;
    let id = choose_model(&ctx, args.model.as_deref())?;
    let settings = InsightSettings {
        seed: args.seed,
        max_images: args.images.max(1),
        ..InsightSettings::default()
    };
    // A project that cannot be written (read-only) still gets its report.
    let folder = autopilot::insights::InsightsFolder::of(&ctx.project)?;
    let out = write_insights(&mut ctx, &id, &settings, &folder.model(&id))?;
    let html = render_report(&ctx, &out)?;
    write_atomic(&args.output, html.as_bytes())?;
    outln!(
        "Report on {id} ({} figures) written to {}",
        out.figures.len(),
        args.output.display()
    )?;
    Ok(())
}
