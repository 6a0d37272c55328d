//! `autopilot predict MODEL|best|FILE.apm NEW.csv -o preds.csv`: class probabilities and the
//! predicted class for every row of new data (see [`autopilot::model::Predictor`] for which model
//! predicts and how bad rows are handled). The output may not lie inside the project folder or
//! replace the input data (or the model file).

use std::path::{Path, PathBuf};

use clap::Args;

use super::out::{errln, outln};
use autopilot::model::apm::read_apm;
use autopilot::model::{FeatureSource, PredictionReport};
use autopilot::project::outputs::check_output;
use autopilot::store::{load_predictor, resolve_model_id};

/// Arguments of `autopilot predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A model id of the project (e.g. M5), `best`, or an exported `.apm` file.
    pub model: String,
    /// The new data: a CSV with the training columns (the target may be absent).
    pub data: PathBuf,
    /// Output CSV.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Project folder (default: the only `*.autopilot` folder in the current directory);
    /// not used with an `.apm` file.
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Allow image paths outside the data folder (`..`, absolute paths, symlinks), as a project
    /// run with `--allow-outside` does by itself.
    #[arg(long)]
    pub allow_outside: bool,
}

/// Whether `model` names an exported model file rather than a project model.
fn is_apm(model: &str) -> bool {
    let p = Path::new(model);
    p.extension().is_some_and(|e| e == "apm") || (p.is_file() && model.contains('/'))
}

/// Prints what `predict` did; an error when no row could be predicted (each row's reason was
/// printed).
fn print_report(r: &PredictionReport, model: &str, out: &Path) -> anyhow::Result<()> {
    outln!(
        "Predicted {} of {} rows with {model} -> {}",
        r.predicted,
        r.rows,
        out.display()
    )?;
    for w in &r.warnings {
        errln!("warning: {w}");
    }
    for p in &r.problems {
        errln!(
            "warning: row {} column '{}': {} (not predicted)",
            p.row,
            p.column,
            p.reason
        );
    }
    if r.rows > 0 && r.predicted == 0 {
        anyhow::bail!(
            "no row could be predicted ({} rows, each listed above with its reason)",
            r.rows
        );
    }
    Ok(())
}

/// Executes `autopilot predict`.
pub fn execute(args: PredictArgs) -> anyhow::Result<()> {
    if is_apm(&args.model) {
        check_output(&args.output, None, &[&args.data, Path::new(&args.model)])?;
        let mut apm = read_apm(Path::new(&args.model))?;
        apm.predictor.allow_outside |= args.allow_outside;
        let source = FeatureSource {
            project: None,
            weights: apm.weights.clone(),
        };
        let report = apm
            .predictor
            .predict_csv(&args.data, &args.output, &source)?;
        print_report(
            &report,
            &format!("{} ({})", apm.predictor.model_id, args.model),
            &args.output,
        )?;
        return Ok(());
    }
    let project = super::open_project(args.project.as_deref())?;
    check_output(
        &args.output,
        Some(project.dir()),
        &[&args.data, &project.settings.data_path],
    )?;
    let id = resolve_model_id(&project, &args.model)?;
    let mut predictor = load_predictor(&project, &id)?;
    predictor.allow_outside |= args.allow_outside;
    let source = FeatureSource {
        project: Some(&project),
        weights: Default::default(),
    };
    let report = predictor.predict_csv(&args.data, &args.output, &source)?;
    print_report(
        &report,
        &format!("{id} ({})", predictor.blueprint),
        &args.output,
    )?;
    Ok(())
}
