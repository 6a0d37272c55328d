//! Errors of the insights.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while computing or drawing an insight.
#[derive(Debug, Error)]
pub enum InsightError {
    /// The request cannot be served (wrong model kind, no rows, mismatched shapes, ...).
    #[error("{0}")]
    Invalid(String),
    /// A project file could not be read or written.
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    /// A blueprint task (estimator, TF-IDF, metric) failed.
    #[error(transparent)]
    Blueprint(#[from] blueprints::BlueprintError),
    /// The image backbone failed.
    #[error(transparent)]
    Neural(#[from] neural::NeuralError),
    /// A file could not be written or read (the OS error is in the message, not repeated as a
    /// `source()`).
    #[error("{path}: {error}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What happened.
        error: std::io::Error,
    },
    /// A figure could not be drawn.
    #[error("drawing {what}: {message}")]
    Draw {
        /// The figure.
        what: String,
        /// What went wrong.
        message: String,
    },
    /// An error from the engine's pipeline or data layer.
    #[error(transparent)]
    Engine(#[from] anyhow::Error),
}

impl InsightError {
    /// An [`InsightError::Invalid`] with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        InsightError::Invalid(message.into())
    }
}
