//! Image features for a dataset: pretrained backbone vectors, cached in the project by image
//! content (SHA-256), backbone and levels, so a second blueprint, a rerun or a resumed run never
//! recomputes them.
//!
//! A cache that cannot be read or written is a [`ProjectError`] in the error chain (see
//! [`ProjectError::find_in`]): a run must stop on it, unlike a backbone that cannot run.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use neural::{
    Backbone, DeviceChoice, FeatureLevel, FeaturizerConfig, ImageFeatures, ImageFeaturizer,
};

use crate::dataset::Dataset;
use crate::model::{ImageKey, ImageMatrix};
use crate::project::{Project, ProjectError};

/// Backbones autopilot uses by default: the first builds the catalogue, the others retune.
pub const DEFAULT_BACKBONES: [&str; 4] = [
    "efficientnet-lite0",
    "mobilenet-v2",
    "efficientnet-lite1",
    "efficientnet-lite2",
];

/// The cache index: content hash of each cached row of `values.npy`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheIndex {
    backbone: String,
    levels: Vec<String>,
    hashes: Vec<String>,
}

/// The project folder caching the features of `key` (`features/<backbone>__<levels>`).
pub fn cache_dir(key: &ImageKey) -> String {
    format!("features/{}__{}", key.backbone, key.levels.join("+"))
}

/// SHA-256 of a file's bytes (hex), `None` when unreadable or not a regular file (a FIFO
/// would block the read forever).
fn content_hash(path: &PathBuf) -> Option<String> {
    let bytes = neural::decode::read_regular_file(path).ok()?;
    Some(format!("{:x}", Sha256::digest(&bytes)))
}

/// Settings of image featurization.
#[derive(Debug, Clone)]
pub struct ImageSettings {
    /// Compute device.
    pub device: DeviceChoice,
    /// Images per forward pass.
    pub batch_size: usize,
}

impl Default for ImageSettings {
    fn default() -> Self {
        Self {
            device: DeviceChoice::Auto,
            batch_size: 16,
        }
    }
}

/// Features of every row's image in `key.column`, computing only images not yet cached in
/// `project` (or computing everything when `project` is `None`). Rows whose image is missing or
/// unreadable get zeros and `ok = false`.
pub fn image_features(
    project: Option<&Project>,
    ds: &Dataset,
    key: &ImageKey,
    settings: &ImageSettings,
) -> anyhow::Result<ImageMatrix> {
    image_features_with(project, ds, key, &mut |paths| {
        featurizer_for(key, settings)?
            .featurize_paths(paths)
            .with_context(|| format!("featurizing images with {}", key.backbone))
    })
}

/// Featurizes a batch of image files, one row each (what [`ImageFeaturizer::featurize_paths`]
/// does); called only when some images are not cached yet.
pub type Featurize<'a> = dyn FnMut(&[PathBuf]) -> anyhow::Result<ImageFeatures> + 'a;

/// [`image_features`] with the given featurizer (a stand-in backbone in tests).
pub fn image_features_with(
    project: Option<&Project>,
    ds: &Dataset,
    key: &ImageKey,
    featurize: &mut Featurize<'_>,
) -> anyhow::Result<ImageMatrix> {
    let col = ds.require_column(&key.column)?;
    let paths: Vec<Option<PathBuf>> = col
        .values
        .iter()
        .map(|v| v.as_deref().map(|v| ds.image_path(v)))
        .collect();
    let hashes: Vec<Option<String>> = paths
        .par_iter()
        .map(|p| p.as_ref().and_then(content_hash))
        .collect();

    let dir = cache_dir(key);
    let (mut index, mut values): (CacheIndex, Option<Array2<f32>>) = match project {
        Some(p) => {
            let idx: Option<CacheIndex> = p.load_json_opt(&format!("{dir}/index.json"))?;
            match idx {
                Some(idx) if !idx.hashes.is_empty() => {
                    let v = p.load_matrix(&format!("{dir}/values.npy"), (None, None))?;
                    if v.nrows() < idx.hashes.len() {
                        return Err(ProjectError::Corrupt {
                            path: p.path(&dir),
                            message:
                                "feature cache index is longer than its values; delete the folder"
                                    .into(),
                        }
                        .into());
                    }
                    (idx, Some(v))
                }
                _ => (CacheIndex::default(), None),
            }
        }
        None => (CacheIndex::default(), None),
    };
    let cached: HashMap<&str, usize> = index
        .hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut todo: Vec<(String, PathBuf)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (h, p) in hashes.iter().zip(&paths) {
        if let (Some(h), Some(p)) = (h, p)
            && !cached.contains_key(h.as_str())
            && seen.insert(h.clone())
        {
            todo.push((h.clone(), p.clone()));
        }
    }
    let mut fresh_rows: HashMap<String, Vec<f32>> = HashMap::new();
    let mut failed: std::collections::HashSet<String> = std::collections::HashSet::new();
    if !todo.is_empty() {
        let todo_paths: Vec<PathBuf> = todo.iter().map(|(_, p)| p.clone()).collect();
        let out = featurize(&todo_paths)?;
        for (i, (h, _)) in todo.iter().enumerate() {
            if out.errors[i].is_some() {
                failed.insert(h.clone());
            } else {
                fresh_rows.insert(h.clone(), out.values.row(i).to_vec());
            }
        }
        // Append the new rows to the cache: values first, then the index that refers to them.
        let dim = out.values.ncols();
        let mut new_hashes: Vec<&String> = fresh_rows.keys().collect();
        new_hashes.sort();
        let old_rows = values.as_ref().map_or(0, |v| v.nrows());
        let mut all = Array2::<f32>::zeros((old_rows + new_hashes.len(), dim));
        if let Some(v) = &values {
            if v.ncols() != dim {
                return Err(ProjectError::BadArray {
                    path: project.map_or_else(|| dir.clone().into(), |p| p.path(&dir)),
                    reason: format!(
                        "feature cache for {} has {} columns, expected {dim}",
                        key.backbone,
                        v.ncols()
                    ),
                }
                .into());
            }
            all.slice_mut(ndarray::s![..old_rows, ..]).assign(v);
        }
        for (i, h) in new_hashes.iter().enumerate() {
            all.row_mut(old_rows + i)
                .assign(&ndarray::ArrayView1::from(&fresh_rows[*h][..]));
        }
        index.backbone = key.backbone.clone();
        index.levels = key.levels.clone();
        index.hashes.extend(new_hashes.into_iter().cloned());
        if let Some(p) = project {
            p.save_matrix(&format!("{dir}/values.npy"), all.view())?;
            p.save_json(&format!("{dir}/index.json"), &index)?;
        }
        values = Some(all);
    }
    let values = values.unwrap_or_else(|| Array2::zeros((0, 0)));
    let row_of: HashMap<&str, usize> = index
        .hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let dim = values.ncols();
    let mut features = Array2::<f32>::zeros((ds.n_rows(), dim));
    let mut ok = vec![false; ds.n_rows()];
    for (r, h) in hashes.iter().enumerate() {
        if let Some(&i) = h.as_deref().and_then(|h| row_of.get(h)) {
            features.row_mut(r).assign(&values.row(i));
            ok[r] = true;
        }
    }
    Ok(ImageMatrix { features, ok })
}

/// A featurizer for `key` (weights from the model zoo, fetched on first use).
pub fn featurizer_for(key: &ImageKey, settings: &ImageSettings) -> anyhow::Result<ImageFeaturizer> {
    let backbone = Backbone::from_name(&key.backbone)?;
    let levels = key
        .levels
        .iter()
        .map(|l| FeatureLevel::from_name(l))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cfg = FeaturizerConfig::new(backbone);
    cfg.levels = levels;
    cfg.device = settings.device;
    cfg.batch_size = settings.batch_size;
    Ok(ImageFeaturizer::new(cfg)?)
}
