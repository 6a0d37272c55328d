//! Errors returned by blueprint tasks.

use thiserror::Error;

/// Everything that can go wrong inside a blueprint task. Library code returns these; never panics.
#[derive(Debug, Error)]
pub enum BlueprintError {
    /// A hyperparameter name that the task does not have.
    #[error("unknown parameter '{name}' for {task}; valid parameters: {valid}")]
    UnknownParam {
        task: String,
        name: String,
        valid: String,
    },
    /// A hyperparameter value outside its domain.
    #[error("invalid value '{value}' for parameter '{name}': {reason}")]
    InvalidParam {
        name: String,
        value: String,
        reason: String,
    },
    /// Input data that the task cannot use (NaN, wrong shape, empty, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// `predict` called before `fit`.
    #[error("{0} is not fitted")]
    NotFitted(String),
    /// A task this estimator or blender does not do (e.g. regression by naive Bayes).
    #[error("{0}")]
    Unsupported(String),
    /// A text analyzer that found no term in the training documents.
    #[error("empty vocabulary: {0}")]
    EmptyVocabulary(String),
    /// A numeric failure (divergence, singular system, ...).
    #[error("numeric failure in {task}: {reason}")]
    Numeric { task: String, reason: String },
}

/// Short alias used throughout the crate.
pub type Result<T> = std::result::Result<T, BlueprintError>;
