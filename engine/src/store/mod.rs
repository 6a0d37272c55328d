//! The typed project store: what a project folder holds beyond its settings — the profile, the
//! partition, the leaderboard, feature lists, and per model its fold models, out-of-fold and
//! holdout predictions and blender — each read and written here, through one schema per file,
//! with every path built in [`ModelFiles`]. ([`crate::project`] is the untyped layer below:
//! atomic JSON and `.npy` files, the writer lock, the settings.)
//!
//! Layout of a project folder:
//! ```text
//! project.json  profile.json  partition.json  leaderboard.json  feature_lists.json
//! features/<featurizer>/{index.json, values.npy}      learned-feature cache (crate::features)
//! models/<id>/model.json   blueprint + fold models    (SavedModel)
//! models/<id>/cv.json      scores per fold, for resume
//! models/<id>/oof.npy      out-of-fold probabilities (rows × classes, holdout rows zero)
//! models/<id>/holdout.npy  holdout probabilities
//! models/<id>/blender.json a blender's fitted blender
//! ```

mod data;

use anyhow::Context as _;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use blueprints::blend::Blender;
use blueprints::metrics::Metric;

pub use data::ProjectData;

use crate::dataset::{Profile, Task};
use crate::leaderboard::{Leaderboard, LeaderboardRow, is_baseline};
use crate::model::{Candidate, FeatureList, MemberModel, Model, Predictor};
use crate::partition::Partition;
use crate::project::{self, Project, ProjectError};

/// Feature lists of a project (built-in and user lists, and "Reduced" once made).
pub const FEATURE_LISTS_FILE: &str = "feature_lists.json";

/// The files of one model, `models/<id>/…`.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    dir: String,
}

impl ModelFiles {
    /// The files of model `id`.
    pub fn of(id: &str) -> Self {
        Self {
            dir: format!("models/{id}"),
        }
    }

    /// The blueprint and its fold models ([`SavedModel`]).
    pub fn model(&self) -> String {
        format!("{}/model.json", self.dir)
    }

    /// Cross-validation scores, kept for a resumed run.
    pub fn cv(&self) -> String {
        format!("{}/cv.json", self.dir)
    }

    /// Out-of-fold probabilities.
    pub fn oof(&self) -> String {
        format!("{}/oof.npy", self.dir)
    }

    /// Holdout probabilities.
    pub fn holdout(&self) -> String {
        format!("{}/holdout.npy", self.dir)
    }

    /// A blender's fitted blender.
    pub fn blender(&self) -> String {
        format!("{}/blender.json", self.dir)
    }
}

/// `models/<id>/model.json`: a cross-validated blueprint and its fitted fold models.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedModel {
    /// The blueprint.
    pub candidate: Candidate,
    /// One fitted model per CV fold, fold 0 first.
    pub folds: Vec<Model>,
    /// Class names, index = label.
    pub classes: Vec<String>,
}

/// The project's data profile (written by `run`).
pub fn profile(project: &Project) -> Result<Profile, ProjectError> {
    project.load_json(project::PROFILE_FILE)
}

/// The task of the project's target, as `run` detected it (multiclass for a project whose
/// profile predates tasks, or that has no profile yet). A project with a leaderboard but no
/// profile is damaged: an error, rather than models ranked by another task's metric.
pub fn task(project: &Project) -> Result<Task, ProjectError> {
    match project.load_json_opt::<Profile>(project::PROFILE_FILE)? {
        Some(p) => Ok(p.task),
        None if project.exists(project::LEADERBOARD_FILE) => project
            .load_json::<Profile>(project::PROFILE_FILE)
            .map(|p| p.task),
        None => Ok(Task::Multiclass),
    }
}

/// The metric the project's leaderboard ranks by: its task's ([`Task::metric`]).
pub fn metric(project: &Project) -> Result<Metric, ProjectError> {
    Ok(task(project)?.metric())
}

/// The metric to rank `project`'s leaderboard by: `asked` when it is one of its task's metrics
/// (an error naming those otherwise: a regression metric scores no classification model), else
/// [`metric`].
pub fn ranking_metric(project: &Project, asked: Option<Metric>) -> anyhow::Result<Metric> {
    let task = task(project)?;
    let Some(metric) = asked else {
        return Ok(task.metric());
    };
    if !task.metrics().contains(&metric) {
        let names: Vec<&str> = task.metrics().iter().map(|m| m.name()).collect();
        anyhow::bail!(
            "--metric {}: not a metric of this {} project; use {}",
            metric.name(),
            task.as_str(),
            names.join(", ")
        );
    }
    Ok(metric)
}

/// Saves the data profile.
pub fn save_profile(project: &Project, profile: &Profile) -> Result<(), ProjectError> {
    project.save_json(project::PROFILE_FILE, profile)
}

/// The project's partition, when made.
pub fn partition_opt(project: &Project) -> Result<Option<Partition>, ProjectError> {
    project.load_json_opt(project::PARTITION_FILE)
}

/// Saves the partition.
pub fn save_partition(project: &Project, p: &Partition) -> Result<(), ProjectError> {
    project.save_json(project::PARTITION_FILE, p)
}

/// The project's leaderboard (empty when none was saved).
pub fn leaderboard(project: &Project) -> Result<Leaderboard, ProjectError> {
    Ok(project
        .load_json_opt(project::LEADERBOARD_FILE)?
        .unwrap_or_default())
}

/// Unlocks the project's holdout scores (permanent) and returns the leaderboard. Unlocking
/// writes the leaderboard, so it takes the writer lock (`command` names the writer) and re-reads
/// the leaderboard under it; an unlocked project is left as it is.
pub fn unlock_holdout(project: &Project, command: &str) -> Result<Leaderboard, ProjectError> {
    let lb = leaderboard(project)?;
    if lb.holdout_unlocked {
        return Ok(lb);
    }
    let _lock = project.lock_for_writing(command)?;
    let mut lb = leaderboard(project)?;
    lb.holdout_unlocked = true;
    save_leaderboard(project, &lb)?;
    Ok(lb)
}

/// Saves the leaderboard.
pub fn save_leaderboard(project: &Project, lb: &Leaderboard) -> Result<(), ProjectError> {
    project.save_json(project::LEADERBOARD_FILE, lb)
}

/// The feature lists saved in `project` (empty when none were saved).
pub fn feature_lists(project: &Project) -> Result<Vec<FeatureList>, ProjectError> {
    Ok(project
        .load_json_opt(FEATURE_LISTS_FILE)?
        .unwrap_or_default())
}

/// Adds or replaces (by name) `lists` in the project's saved feature lists.
pub fn save_feature_lists(project: &Project, lists: &[FeatureList]) -> Result<(), ProjectError> {
    let mut all = feature_lists(project)?;
    for l in lists {
        match all.iter_mut().find(|x| x.name == l.name) {
            Some(x) => *x = l.clone(),
            None => all.push(l.clone()),
        }
    }
    project.save_json(FEATURE_LISTS_FILE, &all)
}

/// Whether model `id` has saved fold models.
pub fn has_saved_model(project: &Project, id: &str) -> bool {
    project.exists(&ModelFiles::of(id).model())
}

/// The saved fold models of `id`, `None` when it has none.
pub fn saved_model_opt(project: &Project, id: &str) -> Result<Option<SavedModel>, ProjectError> {
    project.load_json_opt(&ModelFiles::of(id).model())
}

/// Saves a cross-validated model: fold models, out-of-fold and holdout probabilities, and its
/// cross-validation record `cv` (written last: its presence means the rest is there).
pub fn save_cv_model<T: Serialize>(
    project: &Project,
    id: &str,
    saved: &SavedModel,
    oof: ArrayView2<f32>,
    holdout: ArrayView2<f32>,
    cv: &T,
) -> Result<(), ProjectError> {
    let files = ModelFiles::of(id);
    project.save_matrix(&files.oof(), oof)?;
    project.save_matrix(&files.holdout(), holdout)?;
    project.save_json_compact(&files.model(), saved)?;
    project.save_json(&files.cv(), cv)
}

/// The cross-validation record of `id` (see [`save_cv_model`]), `None` when not saved.
pub fn cv_record<T: serde::de::DeserializeOwned>(
    project: &Project,
    id: &str,
) -> Result<Option<T>, ProjectError> {
    project.load_json_opt(&ModelFiles::of(id).cv())
}

/// Out-of-fold probabilities of `id` (`rows × classes`), `None` when not saved.
pub fn oof(
    project: &Project,
    id: &str,
    shape: (Option<usize>, Option<usize>),
) -> Result<Option<Array2<f32>>, ProjectError> {
    matrix_opt(project, &ModelFiles::of(id).oof(), shape)
}

/// Holdout probabilities of `id`, `None` when not saved.
pub fn holdout(
    project: &Project,
    id: &str,
    shape: (Option<usize>, Option<usize>),
) -> Result<Option<Array2<f32>>, ProjectError> {
    matrix_opt(project, &ModelFiles::of(id).holdout(), shape)
}

/// The matrix in `rel`, `None` when the file does not exist.
fn matrix_opt(
    project: &Project,
    rel: &str,
    shape: (Option<usize>, Option<usize>),
) -> Result<Option<Array2<f32>>, ProjectError> {
    if !project.exists(rel) {
        return Ok(None);
    }
    project.load_matrix(rel, shape).map(Some)
}

/// Saves a blender: the fitted blender and its out-of-fold probabilities.
pub fn save_blender(
    project: &Project,
    id: &str,
    blender: &dyn Blender,
    oof: ArrayView2<f32>,
) -> Result<(), ProjectError> {
    let files = ModelFiles::of(id);
    project.save_json(&files.blender(), &blender)?;
    project.save_matrix(&files.oof(), oof)
}

/// The saved fold models of model `id`, with a clear error when `id` is unknown or has no saved
/// model (stage rows on a sample, the baseline, blenders).
pub fn saved_model(project: &Project, id: &str) -> anyhow::Result<SavedModel> {
    saved_model_of(project, &leaderboard(project)?, id)
}

/// [`saved_model`] with the leaderboard already read.
fn saved_model_of(project: &Project, lb: &Leaderboard, id: &str) -> anyhow::Result<SavedModel> {
    let row = known_row(project, lb, id)?;
    saved_model_opt(project, id)?.with_context(|| {
        let why = if is_baseline(&row.blueprint) {
            "the baseline is a score to beat, not a saved model".to_string()
        } else if row.cv_mean.is_none() {
            format!(
                "it was scored on a {}% sample in an early stage and not kept",
                row.sample_pct
            )
        } else {
            format!(
                "its file {} is missing",
                project.dir().join(ModelFiles::of(id).model()).display()
            )
        };
        let blenders: Vec<&str> = lb
            .rows
            .iter()
            .filter(|r| !r.members.is_empty() && is_deployable(project, &r.model_id))
            .map(|r| r.model_id.as_str())
            .collect();
        let blenders = match blenders.is_empty() {
            true => String::new(),
            false => format!("; blenders of them: {}", blenders.join(", ")),
        };
        let saved = saved_model_ids(project, lb);
        let which = match saved.is_empty() {
            true => format!("no model has them yet: {NONE_CROSS_VALIDATED}"),
            false => format!(
                "models with saved fold models: {}{blenders}",
                saved.join(", ")
            ),
        };
        format!(
            "model {id} ({}) has no saved fold models: {why} ({which})",
            row.blueprint
        )
    })
}

/// Why a project may have no model that predicts, and what to do.
pub const NONE_CROSS_VALIDATED: &str = "only the baseline and early-stage models on samples were \
     trained (--max-models or --time-limit may have stopped the run before cross-validation); \
     'autopilot run ... --resume' with a larger limit goes on";

/// The row of `id`, or an error listing the project's models.
fn known_row<'l>(
    project: &Project,
    lb: &'l Leaderboard,
    id: &str,
) -> anyhow::Result<&'l LeaderboardRow> {
    lb.get(id).with_context(|| {
        let ids: Vec<&str> = lb.rows.iter().map(|r| r.model_id.as_str()).collect();
        format!(
            "no model '{id}' in {} (models: {})",
            project.dir().display(),
            ids.join(", ")
        )
    })
}

/// Ids of the models with saved fold models, in leaderboard order.
pub fn saved_model_ids(project: &Project, lb: &Leaderboard) -> Vec<String> {
    lb.rows
        .iter()
        .filter(|r| has_saved_model(project, &r.model_id))
        .map(|r| r.model_id.clone())
        .collect()
}

/// Whether model `id` can predict: a cross-validated blueprint or a blender with saved files.
pub fn is_deployable(project: &Project, id: &str) -> bool {
    has_saved_model(project, id) || project.exists(&ModelFiles::of(id).blender())
}

/// The project's best model by `metric` among those that can predict (see
/// [`Leaderboard::best_that_predicts`]).
pub fn best_model<'l>(
    project: &Project,
    lb: &'l Leaderboard,
    metric: Metric,
) -> Option<&'l LeaderboardRow> {
    lb.best_that_predicts(metric, |r| is_deployable(project, &r.model_id))
}

/// Resolves `best` ([`best_model`] by the project's metric) or checks an explicit id.
pub fn resolve_model_id(project: &Project, which: &str) -> anyhow::Result<String> {
    let lb = leaderboard(project)?;
    if which.eq_ignore_ascii_case("best") {
        return best_model(project, &lb, metric(project)?)
            .map(|r| r.model_id.clone())
            .with_context(|| {
                format!(
                    "{}: no model that can predict yet: {NONE_CROSS_VALIDATED}",
                    project.dir().display()
                )
            });
    }
    known_row(project, &lb, which)?;
    Ok(which.to_string())
}

/// The deployable form of model `id`: its fold models, or a blender with its members'.
pub fn load_predictor(project: &Project, id: &str) -> anyhow::Result<Predictor> {
    let lb = leaderboard(project)?;
    let row = known_row(project, &lb, id)?;
    let member = |mid: &str| -> anyhow::Result<MemberModel> {
        let saved = saved_model_of(project, &lb, mid)?;
        Ok(MemberModel {
            model_id: mid.to_string(),
            blueprint: saved.candidate.describe(),
            folds: saved.folds,
        })
    };
    let (members, blender) = if !row.members.is_empty() {
        let blender: Box<dyn Blender> = project
            .load_json(&ModelFiles::of(id).blender())
            .with_context(|| format!("model {id} is a blender without a saved blender"))?;
        let members = row
            .members
            .iter()
            .map(|m| member(m))
            .collect::<anyhow::Result<Vec<_>>>()?;
        (members, Some(blender))
    } else {
        (vec![member(id)?], None)
    };
    let profile: Option<Profile> = project.load_json_opt(project::PROFILE_FILE)?;
    let classes = members
        .first()
        .and_then(|m| m.folds.first())
        .map(|f| f.classes.clone())
        .unwrap_or_default();
    Ok(Predictor {
        model_id: id.to_string(),
        blueprint: row.blueprint.clone(),
        target: project.settings.target.clone(),
        // The fitted models know their task; the profile is only a fallback.
        task: members
            .first()
            .and_then(|m| m.folds.first())
            .map(|f| f.task)
            .or(profile.as_ref().map(|p| p.task))
            .unwrap_or_default(),
        positive: profile
            .as_ref()
            .and_then(|p| p.positive_class.as_ref())
            .and_then(|name| classes.iter().position(|c| c == name)),
        threshold: row.threshold.map(|t| t.value),
        classes,
        members,
        blender,
        type_overrides: project.settings.type_overrides.clone(),
        id_columns: profile.map(|p| p.id_like_columns).unwrap_or_default(),
        allow_outside: project.settings.allow_outside,
    })
}
