//! Neural blueprint tasks on burn (pretrained CNN backbones, sentence embeddings, deep nets).
//!
//! Image side: [`backbone`] (layouts), [`net`] and [`resnet`] (the burn networks, one of them
//! behind [`network`]), [`onnx`] (reading ONNX weights), [`weights`] (checkpoint
//! loading), [`zoo`] (fetching and caching the published weights), [`decode`] (the one guarded
//! image decode), [`preprocess`] (PIL-like decode/resize/crop/normalise) and [`featurizer`]
//! (batched, pipelined featurization).

pub mod backbone;
pub mod cpu;
pub mod decode;
pub mod device;
pub mod error;
pub mod featurizer;
pub mod finetune;
pub mod kept;
pub mod level;
pub mod net;
pub mod network;
pub mod onnx;
pub mod precision;
pub mod preprocess;
pub mod resnet;
pub mod snn;
pub mod text;
pub mod weights;
pub mod zoo;

pub use backbone::Backbone;
pub use device::DeviceChoice;
pub use error::{NeuralError, Result};
pub use featurizer::{FeaturizerConfig, ImageFeatures, ImageFeaturizer, LevelMap};
pub use finetune::FineTunedCnn;
pub use level::FeatureLevel;
pub use precision::Precision;
pub use snn::{SelfNormalizingNet, SnnParams};

/// Serialises the unit tests that seed or draw from burn's global CPU (flex) random generator
/// (network initialisation, random tensors): run concurrently, one test's draws would land
/// between another's seed and its draws.
#[cfg(test)]
pub(crate) fn flex_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
