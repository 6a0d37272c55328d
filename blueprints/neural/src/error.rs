//! Error type of the neural crate.

use std::path::PathBuf;

/// Errors raised by backbones, weight loading, the model zoo and the image featurizer.
#[derive(Debug, thiserror::Error)]
pub enum NeuralError {
    /// A backbone name that is not in the zoo.
    #[error(
        "unknown backbone `{0}` (known: {known})",
        known = crate::Backbone::ALL.map(crate::Backbone::name).join(", ")
    )]
    UnknownBackbone(String),
    /// A feature level name that is not one of low, medium, high, highest.
    #[error("unknown feature level `{0}` (known: low, medium, high, highest)")]
    UnknownLevel(String),
    /// A configuration value that cannot be used.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The requested compute device is not available in this build or on this machine.
    #[error("device unavailable: {0}")]
    DeviceUnavailable(String),
    /// Weights could not be obtained (download, cache or hash problem).
    #[error("model weights for `{model}`: {message}")]
    Weights {
        /// Backbone name.
        model: String,
        /// What went wrong, including what to provide by hand when offline.
        message: String,
    },
    /// A weight file was read but does not fit the architecture.
    #[error("cannot load weights from {path}: {message}")]
    WeightLoad {
        /// The weight file.
        path: PathBuf,
        /// What did not fit.
        message: String,
    },
    /// An image could not be opened, decoded or preprocessed.
    #[error("image {path}: {message}")]
    Image {
        /// The image path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An I/O error with the path it happened on (the OS error is in the message, not repeated
    /// as a `source()`, so an error chain prints it once).
    #[error("{path}: {error}")]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
}

/// Result alias of the neural crate.
pub type Result<T, E = NeuralError> = std::result::Result<T, E>;

impl NeuralError {
    /// Wraps an I/O error with its path.
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        NeuralError::Io {
            path: path.into(),
            error,
        }
    }

    /// A device's failure to read `what` back to the host (see [`crate::precision::host_f32`]),
    /// naming the device.
    pub(crate) fn read_back(device: &str, what: &str, report: String) -> Self {
        NeuralError::DeviceUnavailable(format!("{device}: reading {what} back failed: {report}"))
    }

    /// A [`NeuralError::WeightLoad`] for the file at `path`.
    pub(crate) fn weight_load(path: &std::path::Path, message: impl Into<String>) -> Self {
        NeuralError::WeightLoad {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
