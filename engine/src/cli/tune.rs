//! `autopilot tune MODEL`: list a model's tunable parameters (featurizers and estimator), or
//! retrain it with changed parameters (`--set`) or a small grid (`--search`) on the project's
//! folds and holdout; each retrained model is a new leaderboard row whose parent is MODEL.

use std::path::PathBuf;

use anyhow::Context as _;
use blueprints::metrics::Metric;
use clap::Args;
use sha2::{Digest, Sha256};

use super::out::{out, outln};
use crate::autopilot::project_data::{
    ProjectData, load_feature_lists, load_leaderboard, load_saved_model,
};
use crate::autopilot::tuning::{apply_setting, parse_setting, tunable_params};
use crate::autopilot::{Autopilot, AutopilotOptions, Candidate, Event, Mode};
use crate::project::Project;

/// Arguments of `autopilot tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The model to tune (a cross-validated model id, e.g. M5).
    pub model: String,
    /// Project folder (default: the only `*.autopilot` folder in the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// List every tunable parameter with its current value and allowed values.
    #[arg(long)]
    pub list: bool,
    /// Set a parameter, e.g. `--set backbone=mobilenet-v2 --set learning_rate=0.05` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Try each value, e.g. `--search max_depth=3,6,9` (repeatable: the grid of all
    /// combinations, at most 16 models); every model is recorded, the best is reported.
    #[arg(long = "search", value_name = "NAME=A,B,...")]
    pub search: Vec<String>,
    /// Print the parameter list as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Largest grid `--search` trains.
pub const MAX_GRID: usize = 16;

/// A stable key of what was trained: parent + the full blueprint.
fn tune_key(parent: &str, c: &Candidate) -> String {
    let json = serde_json::to_string(&(
        &c.feature_list,
        &c.blocks,
        c.estimator
            .params()
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect::<Vec<_>>(),
    ))
    .unwrap_or_default();
    let h = format!("{:x}", Sha256::digest(json.as_bytes()));
    format!("tune|{parent}|{}", &h[..16])
}

/// Refuses a parameter named more than once across `--set` and `--search` (which value would
/// win is not for us to guess).
fn check_one_value_each(set: &[String], search: &[String]) -> anyhow::Result<()> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let given = set
        .iter()
        .map(|s| ("--set", s))
        .chain(search.iter().map(|s| ("--search", s)));
    for (flag, spec) in given {
        let (name, _) = parse_setting(spec)?;
        let this = format!("{flag} {spec}");
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            anyhow::bail!(
                "parameter '{name}' is given twice ({first}, {this}); give one --set value or one --search list"
            );
        }
        seen.push((name, this));
    }
    Ok(())
}

/// The grid of `--search` specs: every combination, as lists of (name, value).
fn grid(search: &[String]) -> anyhow::Result<Vec<Vec<(String, String)>>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for s in search {
        let (name, values) = parse_setting(s)?;
        let values: Vec<&str> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            anyhow::bail!("--search {s}: no values (use name=a,b,c)");
        }
        if out.len() * values.len() > MAX_GRID {
            anyhow::bail!(
                "--search asks for {} models or more; at most {MAX_GRID} (use fewer values)",
                out.len() * values.len()
            );
        }
        let mut next = Vec::with_capacity(out.len() * values.len());
        for combo in &out {
            for v in &values {
                let mut c = combo.clone();
                c.push((name.clone(), v.to_string()));
                next.push(c);
            }
        }
        out = next;
    }
    if out.len() > MAX_GRID {
        anyhow::bail!(
            "--search asks for {} models; at most {MAX_GRID} (use fewer values)",
            out.len()
        );
    }
    Ok(out)
}

fn render_params(c: &Candidate, lists: &[crate::autopilot::FeatureList]) -> String {
    let specs = tunable_params(c, lists);
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
        out.push_str(&format!(
            "  {:<w$}  {:<v$}  {} — {}\n",
            s.name, s.value, s.domain, s.help
        ));
    }
    out
}

/// Executes `autopilot tune`.
pub fn execute(args: TuneArgs) -> anyhow::Result<()> {
    check_one_value_each(&args.set, &args.search)?;
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let dir = super::leaderboard::find_project(args.project.as_deref(), &cwd)?;
    let project = Project::open(&dir)?;
    let lb = load_leaderboard(&project)?;
    if let Some(row) = lb.get(&args.model)
        && !row.members.is_empty()
    {
        anyhow::bail!(
            "{} is a blender ({}); tune one of its members ({}) instead",
            row.model_id,
            row.blueprint,
            row.members.join(", ")
        );
    }
    let saved = load_saved_model(&project, &args.model)?;
    let lists = load_feature_lists(&project)?;
    let parent = saved.candidate;
    if args.list || (args.set.is_empty() && args.search.is_empty()) {
        if args.json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&tunable_params(&parent, &lists))?
            )?;
        } else {
            outln!("Model {}: {}", args.model, parent.describe())?;
            out!("{}", render_params(&parent, &lists))?;
        }
        return Ok(());
    }

    let _lock = project.lock_for_writing("autopilot tune")?;
    // Validate every setting and grid point before training anything.
    let data = ProjectData::load(project.clone())?;
    let mut base = parent.clone();
    for s in &args.set {
        let (name, value) = parse_setting(s)?;
        apply_setting(&mut base, &name, &value, &data.dataset, &lists)?;
    }
    let mut todo: Vec<(String, Candidate)> = Vec::new();
    for combo in grid(&args.search)? {
        let mut c = base.clone();
        for (name, value) in &combo {
            apply_setting(&mut c, name, value, &data.dataset, &lists)?;
        }
        let label = args
            .set
            .iter()
            .cloned()
            .chain(combo.iter().map(|(n, v)| format!("{n}={v}")))
            .collect::<Vec<_>>()
            .join(" ");
        todo.push((label, c));
    }
    let parent_key = tune_key(&args.model, &parent);
    todo.retain(|(label, c)| {
        let same = tune_key(&args.model, c) == parent_key;
        if same {
            eprintln!(
                "note: {label} equals {}'s settings; not retrained",
                args.model
            );
        }
        !same
    });
    if todo.is_empty() {
        anyhow::bail!("nothing to train: the settings equal {}'s", args.model);
    }

    let keys: Vec<crate::model::ImageKey> = todo.iter().flat_map(|(_, c)| c.image_keys()).collect();
    let mut inputs = data.inputs(&keys)?;
    let text_keys: Vec<crate::model::TextEmbeddingKey> = todo
        .iter()
        .flat_map(|(_, c)| c.text_embedding_keys())
        .collect();
    crate::text_embeddings::add_text_embeddings(
        Some(&data.project),
        &text_keys,
        &mut inputs,
        &crate::text_embeddings::TextEmbeddingSettings::default(),
    )?;
    let quiet = args.quiet;
    let on_event = Box::new(move |e: &Event| {
        if quiet {
            return;
        }
        match e {
            Event::Started {
                model_id,
                blueprint,
                ..
            } => eprintln!("training {model_id}: {blueprint} ..."),
            Event::Failed {
                model_id, error, ..
            } => eprintln!("{model_id} failed: {error}"),
            Event::Skipped { reason, .. } => eprintln!("skipped: {reason}"),
            _ => {}
        }
    });
    let options = AutopilotOptions {
        mode: Mode::Quick,
        max_models: None,
        time_limit_s: None,
        seed: project.settings.seed,
        backbones: Vec::new(),
    };
    let mut ap = Autopilot::new(
        &data.project,
        inputs,
        &data.target.labels,
        &data.target.classes,
        &data.partition,
        options,
        on_event,
    )?;
    let metric = Metric::BalancedAccuracy;
    let parent_score = lb.get(&args.model).and_then(|r| r.rank_score(metric));
    let mut results: Vec<(String, String, Option<f64>)> = Vec::new();
    for (label, c) in &todo {
        let key = tune_key(&args.model, c);
        let id = ap.train_derived(c, &args.model, &key)?;
        let score = ap.leaderboard().get(&id).and_then(|r| r.rank_score(metric));
        results.push((id, label.clone(), score));
    }
    let fmt = |s: Option<f64>| s.map_or("-".to_string(), |v| format!("{v:.4}"));
    outln!(
        "Parent {}: {} (CV {metric} {})",
        args.model,
        parent.describe(),
        fmt(parent_score)
    )?;
    for (id, label, score) in &results {
        outln!("  {id}: {label}  CV {metric} {}", fmt(*score))?;
    }
    if results.len() > 1
        && let Some((id, label, _)) = results
            .iter()
            .filter(|r| r.2.is_some())
            .max_by(|a, b| a.2.unwrap_or(f64::MIN).total_cmp(&b.2.unwrap_or(f64::MIN)))
    {
        outln!("Best of the search: {id} ({label})")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_named_twice_is_refused() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = check_one_value_each(&v(&["x=30", "x=40"]), &[]).unwrap_err();
        assert!(e.to_string().contains("--set x=30, --set x=40"), "{e}");
        let e = check_one_value_each(&v(&["x=30"]), &v(&["x=1,2"])).unwrap_err();
        assert!(e.to_string().contains("--search x=1,2"), "{e}");
        assert!(check_one_value_each(&[], &v(&["x=1", "x=2"])).is_err());
        check_one_value_each(&v(&["x=30", "y=1"]), &v(&["z=1,2"])).unwrap();
    }

    #[test]
    fn grid_is_the_cartesian_product_and_bounded() {
        let g = grid(&["a=1,2".into(), "b=x,y,z".into()]).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(
            g[0],
            vec![("a".into(), "1".into()), ("b".into(), "x".into())]
        );
        assert_eq!(
            g[5],
            vec![("a".into(), "2".into()), ("b".into(), "z".into())]
        );
        assert_eq!(grid(&[]).unwrap(), vec![Vec::<(String, String)>::new()]);
        assert!(grid(&["a=1,2,3,4,5".into(), "b=1,2,3,4".into()]).is_err());
        assert!(grid(&["a=".into()]).is_err());
    }
}
