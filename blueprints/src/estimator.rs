//! The estimator trait every model blueprint implements.

use ndarray::Array2;

use crate::error::Result;
use crate::features::Features;
use crate::params::ParamSpec;

/// What a fit needs besides the data.
#[derive(Debug, Clone)]
pub struct FitContext {
    /// Number of classes; labels are `0..n_classes`. A class may be absent from a training fold.
    pub n_classes: usize,
    /// Seed for every random choice the estimator makes: same seed, same model.
    pub seed: u64,
    /// Optional per-row weights (same length as the labels).
    pub sample_weight: Option<Vec<f32>>,
}

impl FitContext {
    /// A context with no sample weights.
    pub fn new(n_classes: usize, seed: u64) -> Self {
        Self {
            n_classes,
            seed,
            sample_weight: None,
        }
    }
}

/// A classifier: typed hyperparameters, `fit`, `predict_proba`, serializable with serde
/// (`Box<dyn Estimator>` round-trips through `typetag`).
#[typetag::serde(tag = "estimator")]
pub trait Estimator: Send + Sync + std::fmt::Debug {
    /// Short readable name, e.g. "Logistic Regression".
    fn name(&self) -> String;
    /// Every tunable hyperparameter with its current value and domain.
    fn params(&self) -> Vec<ParamSpec>;
    /// Sets one hyperparameter by name; refuses unknown names and out-of-domain values.
    fn set_param(&mut self, name: &str, value: &str) -> Result<()>;
    /// Fits on `x` (rows = samples) with labels `y` in `0..ctx.n_classes`.
    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()>;
    /// Class probabilities, `rows × n_classes`, each row summing to 1.
    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>>;
    /// A boxed copy (for retraining the same blueprint on other folds).
    fn clone_box(&self) -> Box<dyn Estimator>;
}

impl Clone for Box<dyn Estimator> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}
