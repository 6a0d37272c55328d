//! Everything an insight needs, loaded from a project folder: the data (as `run` loaded it), the
//! partition, the leaderboard, a model's fold models and predictions, and image features (from
//! the project's feature cache).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ndarray::Array2;
use serde::Deserialize;

use super::InsightError;
use crate::dataset::{self, Dataset, LoadOptions, Profile, Target};
use crate::images::{ImageSettings, image_features};
use crate::leaderboard::{Leaderboard, LeaderboardRow};
use crate::model::{FeatureInputs, FittedBlock, ImageKey, ImageMatrix, Model};
use crate::partition::Partition;
use crate::project::{self, Project};

/// What the insights read of `models/<id>/model.json`: one fitted model per CV fold and the
/// class names (other fields of the file are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct SavedFolds {
    /// One fitted model per CV fold, fold 0 first.
    pub folds: Vec<Model>,
    /// Class names, index = label.
    pub classes: Vec<String>,
}

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
    images: BTreeMap<ImageKey, Arc<ImageMatrix>>,
}

impl InsightContext {
    /// Opens the project in `dir` and loads its data the way `autopilot run` did.
    pub fn open(dir: &Path) -> Result<Self, InsightError> {
        let project = Project::open(dir)?;
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
        let dataset =
            dataset::load(&s.data_path, &opts).map_err(|e| InsightError::Engine(e.into()))?;
        let target = dataset
            .target(&s.target)
            .map_err(|e| InsightError::Engine(e.into()))?;
        let partition: Partition = project.load_json(project::PARTITION_FILE)?;
        if partition.n_rows() != dataset.n_rows() {
            return Err(InsightError::invalid(format!(
                "{}: the partition covers {} rows but {} has {} rows now",
                project.path(project::PARTITION_FILE).display(),
                partition.n_rows(),
                s.data_path.display(),
                dataset.n_rows()
            )));
        }
        let leaderboard: Leaderboard = project
            .load_json_opt(project::LEADERBOARD_FILE)?
            .unwrap_or_default();
        let profile: Option<Profile> = project.load_json_opt(project::PROFILE_FILE)?;
        Ok(Self {
            project,
            dataset,
            target,
            partition,
            leaderboard,
            profile,
            images: BTreeMap::new(),
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
    pub fn load_model(&self, id: &str) -> Result<Option<SavedFolds>, InsightError> {
        let saved: Option<SavedFolds> = self
            .project
            .load_json_opt(&format!("models/{id}/model.json"))?;
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
        let rel = format!("models/{id}/oof.npy");
        if !self.project.exists(&rel) {
            return Ok(None);
        }
        Ok(Some(self.project.load_matrix(
            &rel,
            (Some(self.dataset.n_rows()), Some(self.target.classes.len())),
        )?))
    }

    /// Holdout probabilities of `id` (rows in [`Partition::holdout_rows`] order), when saved.
    pub fn holdout(&self, id: &str) -> Result<Option<Array2<f32>>, InsightError> {
        let rel = format!("models/{id}/holdout.npy");
        if !self.project.exists(&rel) {
            return Ok(None);
        }
        Ok(Some(self.project.load_matrix(
            &rel,
            (
                Some(self.partition.holdout_rows().len()),
                Some(self.target.classes.len()),
            ),
        )?))
    }

    /// Makes sure the image features every model of `models` reads are loaded (from the
    /// project's cache; images missing from it are featurized and added).
    pub fn load_images_for(&mut self, models: &[Model]) -> Result<(), InsightError> {
        for m in models {
            for b in &m.pipeline.blocks {
                if let FittedBlock::Image(key) = b {
                    self.load_image_key(key)?;
                }
                if let FittedBlock::TextEmbedding(key) = b
                    && !self.images.contains_key(&key.matrix_key())
                {
                    let m = crate::text_embeddings::text_embeddings(
                        Some(&self.project),
                        &self.dataset,
                        key,
                        &crate::text_embeddings::TextEmbeddingSettings::default(),
                    )
                    .map_err(|e| InsightError::invalid(format!("{e:#}")))?;
                    self.images.insert(key.matrix_key(), Arc::new(m));
                }
            }
        }
        Ok(())
    }

    /// Loads the image features of `key` (see [`InsightContext::load_images_for`]).
    pub fn load_image_key(&mut self, key: &ImageKey) -> Result<Arc<ImageMatrix>, InsightError> {
        if let Some(m) = self.images.get(key) {
            return Ok(m.clone());
        }
        let m = Arc::new(image_features(
            Some(&self.project),
            &self.dataset,
            key,
            &ImageSettings::default(),
        )?);
        self.images.insert(key.clone(), m.clone());
        Ok(m)
    }

    /// The image features of `key`, if loaded.
    pub fn image(&self, key: &ImageKey) -> Option<Arc<ImageMatrix>> {
        self.images.get(key).cloned()
    }

    /// The pipeline inputs: the dataset and every image matrix loaded so far.
    pub fn inputs(&self) -> FeatureInputs<'_> {
        FeatureInputs {
            dataset: &self.dataset,
            images: self.images.clone(),
        }
    }
}
