//! The one place learned features are computed for a dataset: run, tune, predict, insights and
//! export all call [`materialize`] (or [`compute`] for one key at a time).

use std::sync::Arc;

use neural::DeviceChoice;

use super::image::{ImageSettings, image_features};
use super::text::{TextEmbeddingSettings, text_embeddings};
use super::{FeatureInputs, FeatureKey, FeatureMatrix};
use crate::dataset::Dataset;
use crate::project::Project;

/// How learned features are computed.
#[derive(Debug, Clone, Default)]
pub struct FeatureSettings {
    /// Image backbones.
    pub images: ImageSettings,
    /// Sentence encoders.
    pub text: TextEmbeddingSettings,
}

impl FeatureSettings {
    /// Default settings on `device`.
    pub fn on(device: DeviceChoice) -> Self {
        let mut s = Self::default();
        s.images.device = device;
        s.text.device = device;
        s
    }
}

/// The matrix of `key` for every row of `ds`, from `project`'s cache where it has them.
pub fn compute(
    project: Option<&Project>,
    ds: &Dataset,
    key: &FeatureKey,
    settings: &FeatureSettings,
) -> anyhow::Result<FeatureMatrix> {
    match key {
        FeatureKey::Image(k) => image_features(project, ds, k, &settings.images),
        FeatureKey::TextEmbedding(k) => text_embeddings(project, ds, k, &settings.text),
    }
}

/// Inputs over `ds` with the matrices of `keys` (each once), from `project`'s cache where it has
/// them; what is not cached yet is computed and added to the cache.
pub fn materialize<'a>(
    project: Option<&Project>,
    ds: &'a Dataset,
    keys: &[FeatureKey],
    settings: &FeatureSettings,
) -> anyhow::Result<FeatureInputs<'a>> {
    let mut inputs = FeatureInputs::new(ds);
    for key in keys {
        if !inputs.has(key) {
            let m = compute(project, ds, key, settings)?;
            inputs.insert(key.clone(), Arc::new(m));
        }
    }
    Ok(inputs)
}
