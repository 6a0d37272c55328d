//! Learned features: what pretrained models (image backbones, sentence encoders) make of a
//! dataset's columns, cached in the project by content, and the [`FeatureInputs`] every
//! feature pipeline reads. [`materialize`] is the one way to compute them.

pub mod cache;
pub mod image;
mod inputs;
mod key;
mod materialize;
pub mod text;

pub use inputs::{FeatureInputs, FeatureMatrix};
pub use key::{FeatureKey, ImageKey, TextEmbeddingKey};
pub use materialize::{FeatureSettings, compute, materialize};
