//! Image features: pretrained backbone vectors of an image column, cached in the project by
//! image content (see [`super::cache`]), backbone and levels.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;

use neural::{
    Backbone, DeviceChoice, FeatureLevel, FeaturizerConfig, ImageFeatures, ImageFeaturizer,
    Precision,
};

use super::cache::{Computed, FeatureCache, sha256_hex};
use super::{FeatureMatrix, ImageKey};
use crate::dataset::Dataset;
use crate::project::Project;

/// Backbones autopilot uses by default: the first builds the catalogue, the others retune.
/// The largest, ResNet-50-1by2 (1.07 G multiply-adds against Lite2's 0.86 G), comes last.
pub const DEFAULT_BACKBONES: [&str; 5] = [
    "efficientnet-lite0",
    "mobilenet-v2",
    "efficientnet-lite1",
    "efficientnet-lite2",
    "resnet50-1by2",
];

/// Bytes of one row of `key`'s features (f32), from the backbone's layout alone (nothing is
/// loaded).
pub fn row_bytes(key: &ImageKey) -> anyhow::Result<usize> {
    let backbone = Backbone::from_name(&key.backbone)?;
    let (arch, side) = (backbone.arch(), backbone.input_size());
    let mut values = 0;
    for name in &key.levels {
        values += FeatureLevel::from_name(name)?.features_per_image(&arch, side);
    }
    Ok(values * std::mem::size_of::<f32>())
}

/// The project folder caching the features of `key` (`features/<backbone>__<levels>`).
pub fn cache_dir(key: &ImageKey) -> String {
    format!("features/{}__{}", key.backbone, key.levels.join("+"))
}

/// SHA-256 of a file's bytes (hex), `None` when unreadable or not a regular file (a FIFO
/// would block the read forever).
fn content_hash(path: &Path) -> Option<String> {
    let bytes = neural::decode::read_regular_file(path).ok()?;
    Some(sha256_hex(&bytes))
}

/// Settings of image featurization.
#[derive(Debug, Clone)]
pub struct ImageSettings {
    /// Compute device.
    pub device: DeviceChoice,
    /// Images per forward pass.
    pub batch_size: usize,
    /// Weight files by backbone name (from an exported model), instead of the model zoo.
    pub weights: BTreeMap<String, PathBuf>,
    /// Float precision of the forward pass. f16 features differ from f32 ones (by about 1 % of
    /// the largest value), so only `featurize` offers it; a project caches f32 features only.
    pub precision: Precision,
}

impl Default for ImageSettings {
    fn default() -> Self {
        Self {
            device: DeviceChoice::Auto,
            batch_size: 16,
            weights: BTreeMap::new(),
            precision: Precision::F32,
        }
    }
}

/// Features of every row's image in `key.column`, computing only images not yet cached in
/// `project` (or computing everything when `project` is `None`). Rows whose image is missing or
/// unreadable get zeros and `ok = false`. The project cache holds f32 features only.
pub fn image_features(
    project: Option<&Project>,
    ds: &Dataset,
    key: &ImageKey,
    settings: &ImageSettings,
) -> anyhow::Result<FeatureMatrix> {
    anyhow::ensure!(
        project.is_none() || settings.precision == Precision::F32,
        "features cached in a project are computed in f32, not {}",
        settings.precision
    );
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
) -> anyhow::Result<FeatureMatrix> {
    let col = ds.require_column(&key.column)?;
    let paths: Vec<Option<PathBuf>> = col
        .values
        .iter()
        .map(|v| v.as_deref().map(|v| ds.image_path(v)))
        .collect();
    let hashes: Vec<Option<String>> = paths
        .par_iter()
        .map(|p| p.as_deref().and_then(content_hash))
        .collect();
    let about = BTreeMap::from([
        ("backbone".to_string(), serde_json::json!(key.backbone)),
        ("levels".to_string(), serde_json::json!(key.levels)),
    ]);
    // A column with no readable image still has the backbone's width (all rows failed).
    let width = row_bytes(key)? / std::mem::size_of::<f32>();
    let cache = FeatureCache::new(project, cache_dir(key), about, width);
    cache.rows(&hashes, &mut |rows| {
        let todo: Vec<PathBuf> = rows.iter().filter_map(|&r| paths[r].clone()).collect();
        let out = featurize(&todo)?;
        Ok(Computed {
            failed: out.errors.iter().map(Option::is_some).collect(),
            values: out.values,
        })
    })
}

/// A featurizer for `key`: the exported weights of `settings` when it has them for this
/// backbone, else the model zoo's (fetched on first use).
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
    cfg.weights = settings.weights.get(&key.backbone).cloned();
    cfg.precision = settings.precision;
    Ok(ImageFeaturizer::new(cfg)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Column, ColumnType};
    use crate::project::ProjectSettings;

    /// A dataset of one image column `img` holding `values`.
    fn image_column(values: Vec<Option<String>>) -> Dataset {
        Dataset {
            source: "fake.csv".into(),
            base_dir: ".".into(),
            columns: vec![Column {
                name: "img".into(),
                kind: ColumnType::Image,
                values,
            }],
            skipped: vec![],
        }
    }

    /// Without a project (an exported model scoring new data), a column with no image keeps
    /// the backbone's width, as the fitted pipeline expects.
    #[test]
    fn a_column_without_images_keeps_the_backbones_width() {
        let ds = image_column(vec![None, None, None]);
        let key = ImageKey {
            column: "img".into(),
            backbone: "mobilenet-v2".into(),
            levels: vec!["high".into(), "highest".into()],
        };
        let m = image_features_with(None, &ds, &key, &mut |_| {
            anyhow::bail!("nothing to featurize")
        })
        .unwrap();
        assert_eq!(m.features.dim(), (3, 1600));
        assert_eq!(row_bytes(&key).unwrap(), 1600 * 4);
        assert!(m.ok.iter().all(|ok| !ok));
    }

    #[test]
    fn a_project_cache_refuses_f16_features() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::create(
            &dir.path().join("p"),
            ProjectSettings::new(Path::new("fake.csv"), "y"),
        )
        .unwrap();
        let ds = image_column(vec![Some("a.png".into())]);
        let key = ImageKey {
            column: "img".into(),
            backbone: "mobilenet-v2".into(),
            levels: vec!["high".into()],
        };
        let settings = ImageSettings {
            precision: Precision::F16,
            ..ImageSettings::default()
        };
        let e = image_features(Some(&project), &ds, &key, &settings).unwrap_err();
        assert!(e.to_string().contains("f32, not f16"), "{e}");
    }
}
