//! A model = a feature pipeline (one block per input column) + an estimator, fitted together.

pub mod apm;
mod blocks;
mod blueprint;
pub mod importance;
mod pipeline;
mod predictor;

pub use blocks::{BlockSpec, FittedBlock, backbone_label, describe_text_settings};
pub use blueprint::{Candidate, FeatureList};
pub use pipeline::Pipeline;
pub use predictor::{FeatureSource, MemberModel, PredictionReport, Predictor, RowProblem};

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use blueprints::{Estimator, FitContext};

use crate::features::FeatureInputs;

/// A fitted model: its pipeline, its estimator and the class names, serializable as one JSON file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    /// Turns dataset rows into features.
    pub pipeline: Pipeline,
    /// The fitted estimator.
    pub estimator: Box<dyn Estimator>,
    /// Class names, index = label.
    pub classes: Vec<String>,
}

impl Model {
    /// Fits `blocks` + `estimator` on `rows` of `inputs` with labels `y` (one per row of `rows`).
    pub fn fit(
        blocks: &[BlockSpec],
        mut estimator: Box<dyn Estimator>,
        inputs: &FeatureInputs,
        rows: &[usize],
        y: &[u32],
        classes: &[String],
        seed: u64,
    ) -> anyhow::Result<Model> {
        let (pipeline, x) = Pipeline::fit(blocks, inputs, rows)?;
        estimator.fit(&x, y, &FitContext::new(classes.len(), seed))?;
        Ok(Model {
            pipeline,
            estimator,
            classes: classes.to_vec(),
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
        Ok(self.estimator.predict_proba(&x)?)
    }
}
