//! Everything an insight needs, loaded from a project folder: the data (as `run` loaded it), the
//! partition, the leaderboard, a model's fold models and predictions, and learned features
//! (from the project's feature cache).

use std::path::Path;
use std::sync::Arc;

use ndarray::Array2;

use super::InsightError;
use crate::dataset::{Dataset, Profile, Target};
use crate::features::{self, FeatureInputs, FeatureKey, FeatureMatrix, FeatureSettings, ImageKey};
use crate::leaderboard::{Leaderboard, LeaderboardRow};
use crate::model::{FittedBlock, Model};
use crate::partition::Partition;
use crate::project::Project;
use crate::store::{self, ProjectData, SavedModel};

/// An opened project with its data, ready for insights.
#[derive(Debug)]
pub struct InsightContext {
    /// The project.
    pub project: Project,
    /// The data, loaded with the project's settings.
    pub dataset: Dataset,
    /// Labels and class names.
    pub target: Target,
    /// Holdout and folds.
    pub partition: Partition,
    /// Every model's scores.
    pub leaderboard: Leaderboard,
    /// The data profile, when saved.
    pub profile: Option<Profile>,
    learned: std::collections::BTreeMap<FeatureKey, Arc<FeatureMatrix>>,
}

impl InsightContext {
    /// Opens the project in `dir` and loads its data the way `autopilot run` did.
    pub fn open(dir: &Path) -> Result<Self, InsightError> {
        let data = ProjectData::load(Project::open(dir)?)?;
        let leaderboard = store::leaderboard(&data.project)?;
        Ok(Self {
            project: data.project,
            dataset: data.dataset,
            target: data.target,
            partition: data.partition,
            leaderboard,
            profile: data.profile,
            learned: Default::default(),
        })
    }

    /// The leaderboard row of model `id`, or an error listing the models.
    pub fn row(&self, id: &str) -> Result<&LeaderboardRow, InsightError> {
        self.leaderboard.get(id).ok_or_else(|| {
            let ids: Vec<&str> = self
                .leaderboard
                .rows
                .iter()
                .map(|r| r.model_id.as_str())
                .collect();
            InsightError::invalid(format!(
                "no model '{id}' in {} (models: {})",
                self.project.dir().display(),
                ids.join(", ")
            ))
        })
    }

    /// The fold models of `id`; `None` when the model has no saved folds (the baseline, stage
    /// models trained on one sample, blenders).
    pub fn load_model(&self, id: &str) -> Result<Option<SavedModel>, InsightError> {
        let saved = store::saved_model_opt(&self.project, id)?;
        if let Some(s) = &saved
            && s.classes != self.target.classes
        {
            return Err(InsightError::invalid(format!(
                "model {id} was trained on classes {:?} but the data has {:?}",
                s.classes, self.target.classes
            )));
        }
        Ok(saved)
    }

    /// Out-of-fold probabilities of `id` (`rows × classes`, holdout rows zero), when saved.
    pub fn oof(&self, id: &str) -> Result<Option<Array2<f32>>, InsightError> {
        let shape = (Some(self.dataset.n_rows()), Some(self.target.n_outputs()));
        Ok(store::oof(&self.project, id, shape)?)
    }

    /// Holdout probabilities of `id` (rows in [`Partition::holdout_rows`] order), when saved.
    pub fn holdout(&self, id: &str) -> Result<Option<Array2<f32>>, InsightError> {
        let shape = (
            Some(self.partition.holdout_rows().len()),
            Some(self.target.n_outputs()),
        );
        Ok(store::holdout(&self.project, id, shape)?)
    }

    /// Makes sure the learned features every model of `models` reads are loaded (from the
    /// project's cache; inputs missing from it are featurized and added).
    pub fn load_images_for(&mut self, models: &[Model]) -> Result<(), InsightError> {
        let keys: Vec<FeatureKey> = models
            .iter()
            .flat_map(|m| m.pipeline.blocks.iter())
            .filter_map(FittedBlock::learned_key)
            .filter(|k| !self.learned.contains_key(k))
            .collect();
        let inputs = features::materialize(
            Some(&self.project),
            &self.dataset,
            &keys,
            &FeatureSettings::default(),
        )?;
        self.learned.extend(inputs.learned);
        Ok(())
    }

    /// Loads the image features of `key` (see [`InsightContext::load_images_for`]).
    pub fn load_image_key(&mut self, key: &ImageKey) -> Result<Arc<FeatureMatrix>, InsightError> {
        let key = FeatureKey::Image(key.clone());
        if let Some(m) = self.learned.get(&key) {
            return Ok(m.clone());
        }
        let m = Arc::new(features::compute(
            Some(&self.project),
            &self.dataset,
            &key,
            &FeatureSettings::default(),
        )?);
        self.learned.insert(key, m.clone());
        Ok(m)
    }

    /// The image features of `key`, if loaded.
    pub fn image(&self, key: &ImageKey) -> Option<Arc<FeatureMatrix>> {
        self.learned.get(&FeatureKey::Image(key.clone())).cloned()
    }

    /// The pipeline inputs: the dataset and every learned matrix loaded so far.
    pub fn inputs(&self) -> FeatureInputs<'_> {
        let mut inputs = FeatureInputs::new(&self.dataset);
        inputs.learned = self.learned.clone();
        inputs
    }
}
