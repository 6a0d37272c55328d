//! `autopilot tune MODEL`: list a model's tunable parameters (featurizers and estimator), or
//! retrain it with changed parameters (`--set`) or a small grid (`--search`) on the project's
//! folds and holdout; each retrained model is a new leaderboard row whose parent is MODEL.

use std::path::PathBuf;

use blueprints::params::ParamSpec;
use clap::Args;

use super::out::{errln, out, outln};
use autopilot::autopilot::Event;
use autopilot::session::tune::{self, TuneRequest};
use blueprints::metrics::fmt_score;

/// Arguments of `autopilot tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The model to tune (a cross-validated model id, e.g. M5).
    pub model: String,
    /// Project folder (default: the only `*.autopilot` folder in the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// List every tunable parameter with its current value and allowed values.
    #[arg(long, conflicts_with_all = ["set", "search"])]
    pub list: bool,
    /// Set a parameter, e.g. `--set backbone=mobilenet-v2 --set learning_rate=0.05` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Try each value, e.g. `--search max_depth=3,6,9` (repeatable: the grid of all
    /// combinations, at most 16 models); every model is recorded, the best is reported.
    #[arg(long = "search", value_name = "NAME=A,B,...")]
    pub search: Vec<String>,
    /// Print the parameter list as JSON.
    #[arg(long, conflicts_with_all = ["set", "search"])]
    pub json: bool,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// The parameter table; the values of `searched` parameters are marked `*` (starting points of
/// the blueprint's inner search, which chooses them per fold).
fn render_params(specs: &[ParamSpec], searched: &[String]) -> String {
    let w = specs.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    let v = specs
        .iter()
        .map(|s| s.value.len())
        .max()
        .unwrap_or(5)
        .clamp(5, 24);
    let mut out = format!(
        "  {:<w$}  {:<v$}  allowed values — meaning\n",
        "name", "value"
    );
    for s in specs {
        let value = match searched.contains(&s.name) {
            true => format!("{}*", s.value),
            false => s.value.clone(),
        };
        out.push_str(&format!(
            "  {:<w$}  {:<v$}  {} — {}\n",
            s.name, value, s.domain, s.help
        ));
    }
    if !searched.is_empty() {
        out.push_str(
            "  * searched in each fold from this value (the leaderboard's model details show the \
             values chosen); --set fixes it\n",
        );
    }
    out
}

/// Executes `autopilot tune`.
pub fn execute(args: TuneArgs) -> anyhow::Result<()> {
    let project = super::open_project(args.project.as_deref())?;
    let dir = project.dir().to_path_buf();
    let req = TuneRequest {
        model: args.model.clone(),
        set: args.set.clone(),
        search: args.search.clone(),
    };
    if args.list || (args.set.is_empty() && args.search.is_empty()) {
        let (parent, params) = tune::tunable(&project, &args.model)?;
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&params)?)?;
        } else {
            outln!("Model {}: {}", args.model, parent.describe())?;
            let searched = parent.estimator.searched_names();
            out!("{}", render_params(&params, &searched))?;
        }
        return Ok(());
    }
    let quiet = args.quiet;
    let outcome = tune::tune(&dir, &req, &mut |e: &Event| {
        if quiet {
            return;
        }
        match e {
            Event::Started {
                model_id,
                blueprint,
                fit_estimate_s,
                ..
            } => {
                errln!("training {model_id}: {blueprint} ...");
                if let Some(s) = fit_estimate_s {
                    errln!("  {}", super::run::fit_estimate(*s));
                }
            }
            Event::Failed {
                model_id, error, ..
            } => errln!("{model_id} failed: {error}"),
            Event::Skipped { reason, .. } => errln!("skipped: {reason}"),
            _ => {}
        }
    })?;
    for label in &outcome.unchanged {
        errln!(
            "note: {label} equals {}'s settings; not retrained",
            args.model
        );
    }
    let metric = outcome.metric;
    let fmt = |s: Option<f64>| s.map_or("-".to_string(), fmt_score);
    outln!(
        "Parent {}: {} (CV {metric} {})",
        args.model,
        outcome.parent_blueprint,
        fmt(outcome.parent_score)
    )?;
    for r in &outcome.results {
        outln!("  {}: {}  CV {metric} {}", r.id, r.label, fmt(r.score))?;
    }
    if let Some(best) = outcome.best() {
        outln!("Best of the search: {} ({})", best.id, best.label)?;
    }
    Ok(())
}
