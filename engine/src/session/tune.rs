//! `tune`: retrain a cross-validated model with changed parameters (`set`) or each point of a
//! small grid (`search`) on the project's folds and holdout; each retrained model is a new
//! leaderboard row whose parent is the model.

use std::path::Path;

use blueprints::metrics::Metric;
use blueprints::params::ParamSpec;

use crate::autopilot::tuning::{apply_setting, parse_setting, tunable_params, tunable_params_for};
use crate::autopilot::{Autopilot, AutopilotOptions, Event, Mode};
use crate::features::FeatureKey;
use crate::model::{Candidate, FeatureList};
use crate::project::Project;
use crate::store::{self, ProjectData};

/// Largest grid a search trains.
pub const MAX_GRID: usize = 16;

/// What to retrain.
#[derive(Debug, Clone, Default)]
pub struct TuneRequest {
    /// The model to tune (a cross-validated model id).
    pub model: String,
    /// `name=value` settings applied to every retrained model.
    pub set: Vec<String>,
    /// `name=a,b,c` lists: every combination is trained.
    pub search: Vec<String>,
}

/// One retrained model.
#[derive(Debug, Clone)]
pub struct TunedModel {
    /// Its leaderboard id.
    pub id: String,
    /// The settings it was trained with (`name=value ...`).
    pub label: String,
    /// Its cross-validated balanced accuracy.
    pub score: Option<f64>,
}

/// What a tuning left.
#[derive(Debug, Clone)]
pub struct TuneOutcome {
    /// The parent's readable blueprint.
    pub parent_blueprint: String,
    /// The metric the scores are in (the project's).
    pub metric: Metric,
    /// The parent's cross-validated score.
    pub parent_score: Option<f64>,
    /// Settings equal to the parent's, not retrained.
    pub unchanged: Vec<String>,
    /// The retrained models, in order.
    pub results: Vec<TunedModel>,
}

impl TuneOutcome {
    /// The best retrained model by score (when more than one was trained).
    pub fn best(&self) -> Option<&TunedModel> {
        if self.results.len() < 2 {
            return None;
        }
        let m = self.metric;
        self.results
            .iter()
            .filter_map(|r| Some((r, m.oriented(r.score?))))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(r, _)| r)
    }
}

/// A stable key of what was trained: parent + the full blueprint (with the hyperparameters left
/// to its inner search: fixing a searched one at its starting value is another model).
fn tune_key(parent: &str, c: &Candidate) -> String {
    let json = serde_json::to_string(&(
        &c.feature_list,
        &c.blocks,
        c.estimator
            .params()
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect::<Vec<_>>(),
        c.estimator.searched_names(),
    ))
    .unwrap_or_default();
    let h = crate::features::cache::sha256_hex(json.as_bytes());
    format!("tune|{parent}|{}", &h[..16])
}

/// Refuses a parameter named more than once across `set` and `search` (which value would win
/// is not for us to guess).
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

/// The grid of `search` specs: every combination, as lists of (name, value).
fn grid(search: &[String]) -> anyhow::Result<Vec<Vec<(String, String)>>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for s in search {
        let (name, values) = parse_setting(s)?;
        let values: Vec<&str> = values.split(',').map(str::trim).collect();
        if values.iter().any(|v| v.is_empty()) {
            anyhow::bail!("--search {s}: an empty value (use name=a,b,c)");
        }
        if let Some(v) = values
            .iter()
            .enumerate()
            .find_map(|(i, v)| values[..i].contains(v).then_some(v))
        {
            anyhow::bail!("--search {s}: '{v}' is given twice");
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
    Ok(out)
}

/// The model `id` of `project` and its tunable parameters (a blender is refused: tune one of
/// its members).
pub fn tunable(project: &Project, id: &str) -> anyhow::Result<(Candidate, Vec<ParamSpec>)> {
    let lb = store::leaderboard(project)?;
    if let Some(row) = lb.get(id)
        && !row.members.is_empty()
    {
        anyhow::bail!(
            "{} is a blender ({}); tune one of its members ({}) instead",
            row.model_id,
            row.blueprint,
            row.members.join(", ")
        );
    }
    let parent = store::saved_model(project, id)?.candidate;
    let lists: Vec<FeatureList> = store::feature_lists(project)?;
    let params = tunable_params_for(&parent, &lists, store::task(project)?);
    Ok((parent, params))
}

/// Refuses a `--set`/`--search` of a parameter that does not act on the project's kind of
/// target (it would train the same model again under another name).
fn check_applies(project: &Project, parent: &Candidate, given: &[String]) -> anyhow::Result<()> {
    let task = store::task(project)?;
    let all = tunable_params(parent, &[]);
    for spec in given {
        let (name, _) = parse_setting(spec)?;
        if let Some(only) = all
            .iter()
            .find(|p| p.name == name && !p.applies_to(task.target_kind()))
            .and_then(|p| p.only_for)
        {
            anyhow::bail!(
                "{name} acts on {} targets only; this project's target is {}",
                only.name(),
                task.as_str()
            );
        }
    }
    Ok(())
}

/// Retrains model `req.model` of the project in `dir` with each setting of `req` (all validated
/// before anything is trained). Holds the project's writer lock while it trains.
pub fn tune(
    dir: &Path,
    req: &TuneRequest,
    on_event: &mut dyn FnMut(&Event),
) -> anyhow::Result<TuneOutcome> {
    check_one_value_each(&req.set, &req.search)?;
    let project = Project::open(dir)?;
    let (parent, _) = tunable(&project, &req.model)?;
    check_applies(&project, &parent, &[&req.set[..], &req.search[..]].concat())?;
    let lists = store::feature_lists(&project)?;
    let _lock = project.lock_for_writing("autopilot tune")?;
    let data = ProjectData::load(project)?;
    let mut base = parent.clone();
    for s in &req.set {
        let (name, value) = parse_setting(s)?;
        apply_setting(&mut base, &name, &value, &data.dataset, &lists)?;
    }
    let mut todo: Vec<(String, Candidate)> = Vec::new();
    for combo in grid(&req.search)? {
        let mut c = base.clone();
        for (name, value) in &combo {
            apply_setting(&mut c, name, value, &data.dataset, &lists)?;
        }
        let label = req
            .set
            .iter()
            .cloned()
            .chain(combo.iter().map(|(n, v)| format!("{n}={v}")))
            .collect::<Vec<_>>()
            .join(" ");
        todo.push((label, c));
    }
    // Values spelled differently can still be one setting (`2` and `2.0`).
    for (i, (label, c)) in todo.iter().enumerate() {
        let key = tune_key(&req.model, c);
        if let Some((first, _)) = todo[..i]
            .iter()
            .find(|(_, d)| tune_key(&req.model, d) == key)
        {
            anyhow::bail!(
                "--search gives one model twice: '{first}' and '{label}' are the same settings"
            );
        }
    }
    let parent_key = tune_key(&req.model, &parent);
    let (same, todo): (Vec<_>, Vec<_>) = todo
        .into_iter()
        .partition(|(_, c)| tune_key(&req.model, c) == parent_key);
    if todo.is_empty() {
        anyhow::bail!("nothing to train: the settings equal {}'s", req.model);
    }

    let mut keys: Vec<FeatureKey> = todo.iter().flat_map(|(_, c)| c.learned_keys()).collect();
    keys.sort();
    keys.dedup();
    let inputs = data.inputs(&keys)?;
    let options = AutopilotOptions {
        mode: Mode::Quick,
        max_models: None,
        time_limit_s: None,
        seed: data.project.settings.seed,
        backbones: Vec::new(),
    };
    let mut ap = Autopilot::new(
        &data.project,
        inputs,
        &data.target,
        &data.partition,
        options,
        Box::new(|e: &Event| on_event(e)),
    )?;
    let metric = data.target.task.metric();
    let parent_score = ap
        .leaderboard()
        .get(&req.model)
        .and_then(|r| r.rank_score(metric));
    let mut results = Vec::new();
    for (label, c) in &todo {
        let id = ap.train_derived(c, &req.model, &tune_key(&req.model, c))?;
        let score = ap.leaderboard().get(&id).and_then(|r| r.rank_score(metric));
        results.push(TunedModel {
            id,
            label: label.clone(),
            score,
        });
    }
    Ok(TuneOutcome {
        parent_blueprint: parent.describe(),
        metric,
        parent_score,
        unchanged: same.into_iter().map(|(label, _)| label).collect(),
        results,
    })
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
        let e = grid(&["a=3,,5".into()]).unwrap_err().to_string();
        assert!(e.contains("an empty value"), "{e}");
        let e = grid(&["a=2,3,2".into()]).unwrap_err().to_string();
        assert!(e.contains("'2' is given twice"), "{e}");
    }
}
