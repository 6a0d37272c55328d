//! The featurization pipeline with random weights (no downloads): row order across batch
//! boundaries, per-row errors for unreadable images, names and dimensions.

use std::path::PathBuf;

use image::{Rgb, RgbImage};
use ndarray::Array2;
use neural::featurizer::{FeaturizerConfig, ImageFeaturizer};
use neural::preprocess::preprocess_path;
use neural::{Backbone, DeviceChoice, FeatureLevel};

fn write_images(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for (i, (w, h)) in [(64u32, 48u32), (40, 80), (50, 50), (90, 30), (33, 77)]
        .into_iter()
        .enumerate()
    {
        let img = RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 7 + i as u32 * 40) as u8, (y * 5) as u8, (x * y) as u8])
        });
        let p = dir.join(format!("img{i}.png"));
        img.save(&p).unwrap();
        paths.push(p);
    }
    paths
}

fn featurizer(batch_size: usize) -> ImageFeaturizer {
    let mut config = FeaturizerConfig::new(Backbone::MobileNetV2);
    config.levels = vec![FeatureLevel::Highest, FeatureLevel::Low];
    config.device = DeviceChoice::Cpu;
    config.batch_size = batch_size;
    config.decode_threads = 2;
    ImageFeaturizer::untrained(config, 11).unwrap()
}

#[test]
fn dimensions_and_names() {
    let f = featurizer(4);
    assert_eq!(f.levels(), &[FeatureLevel::Low, FeatureLevel::Highest]);
    assert_eq!(f.feature_dim(), 32 + 1280);
    let names = f.feature_names();
    assert_eq!(names.len(), f.feature_dim());
    assert_eq!(names[0], "mobilenet-v2.low.0");
    assert_eq!(names[32], "mobilenet-v2.highest.0");
}

#[test]
fn rows_stay_in_order_and_bad_images_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = write_images(dir.path());
    let corrupt = dir.path().join("corrupt.jpg");
    std::fs::write(&corrupt, b"\xff\xd8\xff\xe0 truncated").unwrap();
    paths.insert(2, corrupt);
    paths.push(dir.path().join("missing.png"));

    // Batch 2 puts batch boundaries between the images (and a short last batch).
    let f = featurizer(2);
    let out = f.featurize_paths(&paths).unwrap();
    assert_eq!(out.values.dim(), (7, 32 + 1280));
    let failed: Vec<usize> = out
        .errors
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_some())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, vec![2, 6]);
    assert!(out.errors[6].as_ref().unwrap().contains("missing.png"));
    assert_eq!(out.n_failed(), 2);
    for r in [2, 6] {
        assert!(out.values.row(r).iter().all(|&v| v == 0.0));
    }
    // Each good row equals a forward pass of that image alone.
    for r in [0, 1, 3, 4, 5] {
        let x = preprocess_path(&paths[r], f.preprocess_config()).unwrap();
        let alone = f.run_batch(x, 1, false).unwrap().features;
        let d = out
            .values
            .row(r)
            .iter()
            .zip(&alone)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(d < 1e-4, "row {r} differs from its single forward by {d}");
    }
    assert_ne!(out.values.row(0), out.values.row(1));
    assert!(out.values.iter().all(|v| v.is_finite()));
}

#[test]
fn empty_input_gives_an_empty_matrix() {
    let out = featurizer(4).featurize_paths(&[]).unwrap();
    assert_eq!(out.values.dim(), (0, 32 + 1280));
}

#[test]
fn zero_batch_size_is_rejected() {
    let mut config = FeaturizerConfig::new(Backbone::EfficientNetLite0);
    config.batch_size = 0;
    assert!(ImageFeaturizer::untrained(config, 0).is_err());
}

#[test]
fn level_maps_average_to_the_pooled_features() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_images(dir.path());
    let f = featurizer(2);
    let input = preprocess_path(&paths[1], f.preprocess_config()).unwrap();
    let pooled = f.run_batch(input.clone(), 1, false).unwrap().features;
    let maps = f.level_maps(input).unwrap();
    let levels: Vec<FeatureLevel> = maps.iter().map(|m| m.level).collect();
    assert_eq!(levels, f.levels());
    let crop = f.preprocess_config().crop;
    // Low is the stride-8 stage (32 channels), Highest the stride-32 head.
    assert_eq!((maps[0].height, maps[0].width), (crop / 8, crop / 8));
    assert_eq!((maps[1].height, maps[1].width), (crop / 32, crop / 32));
    let mut means = Vec::new();
    for m in &maps {
        let plane = m.height * m.width;
        assert_eq!(m.values.len(), m.channels * plane);
        means.extend(
            (0..m.channels)
                .map(|c| m.values[c * plane..(c + 1) * plane].iter().sum::<f32>() / plane as f32),
        );
    }
    assert_eq!(means.len(), pooled.len());
    let worst = means
        .iter()
        .zip(&pooled)
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0f32, f32::max);
    // Burn's maps against the CPU kernels' pooled features.
    assert!(
        worst < 1e-4,
        "maps average {worst} away from the pooled features"
    );
}

/// Rows of `paths` from an untrained featurizer of `config` on the CPU kernels, checked equal
/// (≤ 1e-4) to burn's forward pass on the same weights.
fn featurize_on_both_paths(config: &FeaturizerConfig, paths: &[PathBuf]) -> Array2<f32> {
    let fast = ImageFeaturizer::untrained(config.clone(), 5).unwrap();
    assert!(fast.uses_fast_cpu());
    let a = fast.featurize_paths(paths).unwrap();
    assert_eq!(a.values.dim(), (paths.len(), fast.feature_dim()));
    assert_eq!(a.n_failed(), 0);
    let b = ImageFeaturizer::untrained(config.clone(), 5)
        .unwrap()
        .with_burn_forward()
        .featurize_paths(paths)
        .unwrap();
    let diff = (&a.values - &b.values)
        .mapv(f32::abs)
        .fold(0f32, |m, &v| m.max(v));
    assert!(
        diff < 1e-4,
        "{:?}: cpu kernels vs burn: {diff}",
        config.levels
    );
    a.values
}

/// The trunk levels: one row of four views per image (centre, mirror, zoom, mirror), the same
/// on the CPU kernels and on burn, refused next to other levels.
#[test]
fn trunk_rows_hold_four_views_on_both_forward_paths() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_images(dir.path());
    let mut config = FeaturizerConfig::new(Backbone::MobileNetV2);
    config.levels = vec![FeatureLevel::Trunk];
    config.device = DeviceChoice::Cpu;
    config.batch_size = 2;
    let fast = ImageFeaturizer::untrained(config.clone(), 5).unwrap();
    assert_eq!(fast.feature_dim(), 4 * 160 * 7 * 7);
    assert_eq!(fast.feature_names()[1], "mobilenet-v2.trunk.1");
    let values = featurize_on_both_paths(&config, &paths);
    // The views differ (mirror, zoom) and none is all zero.
    let len = 160 * 49;
    let row = values.row(0);
    let view = |v: usize| row.slice(ndarray::s![v * len..(v + 1) * len]).to_vec();
    assert_ne!(view(0), view(1));
    assert_ne!(view(0), view(2));
    assert!((0..4).all(|v| view(v).iter().any(|&x| x != 0.0)));
    // The deeper trunk: the same four views, one stage lower (96 × 14 × 14).
    config.levels = vec![FeatureLevel::Trunk2];
    let deep = ImageFeaturizer::untrained(config.clone(), 5).unwrap();
    assert_eq!(deep.feature_dim(), 4 * 96 * 14 * 14);
    assert_eq!(deep.feature_names()[1], "mobilenet-v2.trunk2.1");
    let values = featurize_on_both_paths(&config, &paths);
    assert!(values.iter().any(|&x| x != 0.0));
    // Three stages lower still: 64 × 14 × 14, on both paths alike.
    config.levels = vec![FeatureLevel::Trunk3];
    let deeper = ImageFeaturizer::untrained(config.clone(), 5).unwrap();
    assert_eq!(deeper.feature_dim(), 4 * 64 * 14 * 14);
    assert_eq!(deeper.feature_names()[1], "mobilenet-v2.trunk3.1");
    let values = featurize_on_both_paths(&config, &paths);
    assert!(values.iter().any(|&x| x != 0.0));
    for other in [FeatureLevel::High, FeatureLevel::Trunk] {
        config.levels = vec![FeatureLevel::Trunk2, other];
        assert!(ImageFeaturizer::untrained(config.clone(), 5).is_err());
    }
    config.levels = vec![FeatureLevel::Trunk, FeatureLevel::High];
    assert!(ImageFeaturizer::untrained(config, 5).is_err());
}
