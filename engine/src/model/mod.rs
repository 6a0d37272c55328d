//! A model = a feature pipeline (one block per input column) + an estimator, fitted together.

pub mod apm;
mod blocks;
mod blueprint;
mod fold_mean;
pub mod importance;
mod pipeline;
mod predictor;
mod target_transform;

pub use blocks::{BlockSpec, FittedBlock, backbone_label, describe_text_settings};
pub use blueprint::{Candidate, FeatureList};
pub use fold_mean::FoldMean;
pub use pipeline::Pipeline;
pub use predictor::{FeatureSource, MemberModel, PredictionReport, Predictor, RowProblem};
pub use target_transform::TargetTransform;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use blueprints::{Estimator, Features, FitContext};

use crate::dataset::{TargetRows, Task};
use crate::features::FeatureInputs;

/// A fitted model: its pipeline, its estimator and the class names, serializable as one JSON file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    /// Turns dataset rows into features.
    pub pipeline: Pipeline,
    /// The fitted estimator.
    pub estimator: Box<dyn Estimator>,
    /// Class names, index = label (empty for a regressor).
    pub classes: Vec<String>,
    /// The task it was fitted for (a regressor predicts one value per row).
    #[serde(default)]
    pub task: Task,
    /// What a regressor's target went through before fitting (chosen on the training rows).
    #[serde(default)]
    pub target_transform: TargetTransform,
}

impl Model {
    /// Fits `blocks` + `estimator` on `rows` of `inputs` to `y`, their true values (one per
    /// row of `rows`): a classifier of `classes` or, for real values, a regressor.
    pub fn fit(
        blocks: &[BlockSpec],
        mut estimator: Box<dyn Estimator>,
        inputs: &FeatureInputs,
        rows: &[usize],
        y: &TargetRows,
        classes: &[String],
        seed: u64,
    ) -> anyhow::Result<Model> {
        let (pipeline, x) = Pipeline::fit(blocks, inputs, rows)?;
        let mut target_transform = TargetTransform::Identity;
        let task = match y {
            TargetRows::Classes(y) => {
                estimator.fit(&x, y, &FitContext::new(classes.len(), seed))?;
                Task::of_classes(classes.len())
            }
            TargetRows::Values(y) => {
                target_transform = TargetTransform::choose(y);
                let fitted_to = target_transform.forward(y);
                estimator.fit_regression(&x, &fitted_to, &FitContext::new(1, seed))?;
                Task::Regression
            }
        };
        Ok(Model {
            pipeline,
            estimator,
            classes: classes.to_vec(),
            task,
            target_transform,
        })
    }

    /// The TF-IDF settings of the fitted text blocks (see
    /// [`describe_text_settings`]), `None` without text blocks.
    pub fn text_settings(&self) -> Option<String> {
        let specs: Vec<BlockSpec> = self
            .pipeline
            .blocks
            .iter()
            .filter_map(|b| match b {
                FittedBlock::Text {
                    column,
                    vectorizers,
                } => Some(BlockSpec::Text {
                    column: column.clone(),
                    analyzers: vectorizers.iter().map(|v| v.config().clone()).collect(),
                }),
                _ => None,
            })
            .collect();
        describe_text_settings(&specs)
    }

    /// Class probabilities for `rows` of `inputs`, `rows × classes`.
    pub fn predict_proba(
        &self,
        inputs: &FeatureInputs,
        rows: &[usize],
    ) -> anyhow::Result<Array2<f32>> {
        let x = self.pipeline.transform(inputs, rows)?;
        self.predict_features(&x)
    }

    /// Predictions for features `x` built by this model's pipeline: class probabilities, or a
    /// regressor's values on the target's scale.
    pub fn predict_features(&self, x: &Features) -> anyhow::Result<Array2<f32>> {
        let p = self.estimator.predict_proba(x)?;
        Ok(self.target_transform.inverse(p))
    }
}
