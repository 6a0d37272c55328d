//! Reopening a project's training data after `run`: the dataset as `run` loaded it, its target,
//! partition, profile and feature lists, and image features from the project's cache. Used by
//! advanced tuning and by the post-autopilot stages.

use std::sync::Arc;

use anyhow::Context as _;

use super::candidates::FeatureList;
use super::runner::SavedModel;
use crate::dataset::{self, Dataset, LoadOptions, Profile, Target};
use crate::images::{ImageSettings, image_features};
use crate::leaderboard::Leaderboard;
use crate::model::{FeatureInputs, ImageKey, MemberModel, Predictor};
use crate::partition::Partition;
use crate::project::{self, Project};

/// Feature lists of a project (built-in and user lists, and "Reduced" once made).
pub const FEATURE_LISTS_FILE: &str = "feature_lists.json";

/// The training data of a project, reloaded from its settings.
pub struct ProjectData {
    /// The project.
    pub project: Project,
    /// The dataset, loaded with the project's settings (same rows as at `run`).
    pub dataset: Dataset,
    /// Target labels and classes.
    pub target: Target,
    /// Folds and holdout.
    pub partition: Partition,
    /// The profile written by `run`.
    pub profile: Profile,
}

impl ProjectData {
    /// Reloads the data of `project`; errors when the data file is gone or changed so that the
    /// partition no longer fits.
    pub fn load(project: Project) -> anyhow::Result<ProjectData> {
        let s = &project.settings;
        let opts = LoadOptions {
            target: Some(s.target.clone()),
            type_overrides: s
                .type_overrides
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            allow_outside: s.allow_outside,
            ..LoadOptions::default()
        };
        let dataset = dataset::load(&s.data_path, &opts).with_context(|| {
            format!(
                "reloading the training data of project {}",
                project.dir().display()
            )
        })?;
        let target = dataset.target(&s.target)?;
        let partition: Partition = project.load_json(project::PARTITION_FILE)?;
        if partition.n_rows() != dataset.n_rows() {
            anyhow::bail!(
                "{}: the partition covers {} rows but {} now has {}",
                project.dir().display(),
                partition.n_rows(),
                s.data_path.display(),
                dataset.n_rows()
            );
        }
        let profile: Profile = project.load_json(project::PROFILE_FILE)?;
        Ok(ProjectData {
            project,
            dataset,
            target,
            partition,
            profile,
        })
    }

    /// Feature inputs with the image features of `keys` (from the project's cache; images not
    /// cached yet are featurized and added to it).
    pub fn inputs(&self, keys: &[ImageKey]) -> anyhow::Result<FeatureInputs<'_>> {
        let mut inputs = FeatureInputs::new(&self.dataset);
        for key in keys {
            if inputs.images.contains_key(key) {
                continue;
            }
            let m = image_features(
                Some(&self.project),
                &self.dataset,
                key,
                &ImageSettings::default(),
            )?;
            inputs.images.insert(key.clone(), Arc::new(m));
        }
        Ok(inputs)
    }

    /// The project's feature lists (empty before the first autopilot run).
    pub fn feature_lists(&self) -> anyhow::Result<Vec<FeatureList>> {
        load_feature_lists(&self.project)
    }
}

/// The feature lists saved in `project` (empty when none were saved).
pub fn load_feature_lists(project: &Project) -> anyhow::Result<Vec<FeatureList>> {
    Ok(project
        .load_json_opt(FEATURE_LISTS_FILE)?
        .unwrap_or_default())
}

/// Adds or replaces (by name) `lists` in the project's saved feature lists.
pub fn save_feature_lists(project: &Project, lists: &[FeatureList]) -> anyhow::Result<()> {
    let mut all = load_feature_lists(project)?;
    for l in lists {
        match all.iter_mut().find(|x| x.name == l.name) {
            Some(x) => *x = l.clone(),
            None => all.push(l.clone()),
        }
    }
    project.save_json(FEATURE_LISTS_FILE, &all)?;
    Ok(())
}

/// The project's leaderboard (empty when none was saved).
pub fn load_leaderboard(project: &Project) -> anyhow::Result<Leaderboard> {
    Ok(project
        .load_json_opt(project::LEADERBOARD_FILE)?
        .unwrap_or_default())
}

/// The saved fold models of model `id`, with a clear error when `id` is unknown or has no saved
/// model (stage rows on a sample, the baseline, blenders).
pub fn load_saved_model(project: &Project, id: &str) -> anyhow::Result<SavedModel> {
    let lb = load_leaderboard(project)?;
    let Some(row) = lb.get(id) else {
        let ids: Vec<&str> = lb.rows.iter().map(|r| r.model_id.as_str()).collect();
        anyhow::bail!(
            "no model '{id}' in {} (models: {})",
            project.dir().display(),
            ids.join(", ")
        );
    };
    let rel = format!("models/{id}/model.json");
    if !project.exists(&rel) {
        anyhow::bail!(
            "model {id} ({}, {}% sample) has no saved fold models: only cross-validated \
             blueprints are kept (cross-validated: {})",
            row.blueprint,
            row.sample_pct,
            saved_model_ids(project, &lb).join(", ")
        );
    }
    Ok(project.load_json(&rel)?)
}

/// Ids of the models with saved fold models, in leaderboard order.
pub fn saved_model_ids(project: &Project, lb: &Leaderboard) -> Vec<String> {
    lb.rows
        .iter()
        .filter(|r| project.exists(&format!("models/{}/model.json", r.model_id)))
        .map(|r| r.model_id.clone())
        .collect()
}

/// Whether model `id` can predict: a cross-validated blueprint or a blender with saved files.
pub fn is_deployable(project: &Project, id: &str) -> bool {
    project.exists(&format!("models/{id}/model.json"))
        || project.exists(&format!("models/{id}/blender.json"))
}

/// The project's best model by `metric` among those that can predict (see
/// [`Leaderboard::best_that_predicts`]).
pub fn best_model<'l>(
    project: &Project,
    lb: &'l Leaderboard,
    metric: blueprints::metrics::Metric,
) -> Option<&'l crate::leaderboard::LeaderboardRow> {
    lb.best_that_predicts(metric, |r| is_deployable(project, &r.model_id))
}

/// Resolves `best` ([`best_model`] by balanced accuracy) or checks an explicit id.
pub fn resolve_model_id(project: &Project, which: &str) -> anyhow::Result<String> {
    let lb = load_leaderboard(project)?;
    if which.eq_ignore_ascii_case("best") {
        return best_model(project, &lb, blueprints::metrics::Metric::BalancedAccuracy)
            .map(|r| r.model_id.clone())
            .with_context(|| {
                format!(
                    "{}: no cross-validated model yet; run the autopilot first",
                    project.dir().display()
                )
            });
    }
    if lb.get(which).is_none() {
        let ids: Vec<&str> = lb.rows.iter().map(|r| r.model_id.as_str()).collect();
        anyhow::bail!(
            "no model '{which}' in {} (models: {})",
            project.dir().display(),
            ids.join(", ")
        );
    }
    Ok(which.to_string())
}

/// The deployable form of model `id`: its fold models, or a blender with its members'.
pub fn load_predictor(project: &Project, id: &str) -> anyhow::Result<Predictor> {
    let lb = load_leaderboard(project)?;
    let row = lb
        .get(id)
        .with_context(|| format!("no model '{id}' in {}", project.dir().display()))?;
    let member = |mid: &str| -> anyhow::Result<MemberModel> {
        let saved = load_saved_model(project, mid)?;
        Ok(MemberModel {
            model_id: mid.to_string(),
            blueprint: saved.candidate.describe(),
            folds: saved.folds,
        })
    };
    let (members, blender) = if !row.members.is_empty() {
        let blender: Box<dyn blueprints::blend::Blender> = project
            .load_json(&format!("models/{id}/blender.json"))
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
        classes,
        members,
        blender,
        type_overrides: project.settings.type_overrides.clone(),
        id_columns: profile.map(|p| p.id_like_columns).unwrap_or_default(),
        allow_outside: project.settings.allow_outside,
    })
}
