//! ResNet-50-1by2 (Yahoo's Open-NSFW ResNet, read from its ONNX graph) against the PyTorch
//! rebuild of that graph in `scripts/reference/resnet50_1by2.py`, which itself matches ONNX
//! Runtime on the original graph to 1.9e-9: the four pooled stage outputs and the two logits
//! of a synthetic input both sides compute (`data/resnet50_1by2`, 8 kB). Its classifier is
//! NSFW / not NSFW, so there is no ImageNet top-1 to check.

use std::path::Path;

use neural::featurizer::{FeaturizerConfig, ImageFeaturizer};
use neural::{Backbone, DeviceChoice, FeatureLevel};

use super::common::{max_abs_diff, read_f32};

/// The reference script's `synthetic_input(side)`: a normalised RGB image, CHW, computed in
/// f64 and rounded to f32.
fn synthetic_input(side: usize) -> Vec<f32> {
    let mut x = Vec::with_capacity(3 * side * side);
    for c in 0..3 {
        let cf = c as f64;
        for h in 0..side {
            for w in 0..side {
                let (hf, wf) = (h as f64, w as f64);
                let v = 70.0 * (0.045 * hf * (cf + 1.0) + 0.3 * cf).sin()
                    + 50.0 * (0.061 * wf - 0.7 * cf).cos()
                    + 25.0 * (0.013 * (hf + 2.0 * wf) * (cf + 2.0)).sin();
                x.push(v as f32);
            }
        }
    }
    x
}

/// Features of every level and the logits on `device` within `tolerance` of the reference
/// (on the CPU: on the crate's kernels, or on burn's backend when `burn_forward`).
pub fn check_resnet_reference(device: DeviceChoice, burn_forward: bool, tolerance: f32) {
    let mut config = FeaturizerConfig::new(Backbone::ResNet50Half);
    config.levels = FeatureLevel::ALL.to_vec();
    config.device = device;
    config.batch_size = 1;
    let mut featurizer =
        ImageFeaturizer::new(config).expect("weights fetched from the zoo and loaded");
    if burn_forward {
        featurizer = featurizer.with_burn_forward();
    }
    let kernels = device == DeviceChoice::Cpu && !burn_forward;
    assert_eq!(featurizer.uses_fast_cpu(), kernels);
    let out = featurizer.run_batch(synthetic_input(224), 1, true).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/resnet50_1by2");
    let want: Vec<f32> = (0..4)
        .flat_map(|s| read_f32(&dir.join(format!("stage{s}.f32"))))
        .collect();
    let d_feat = max_abs_diff(&out.features, &want);
    let d_logits = max_abs_diff(&out.logits.unwrap(), &read_f32(&dir.join("logits.f32")));
    println!(
        "resnet50-1by2 on {}{}: max |Δfeature| = {d_feat:.3e}, max |Δlogit| = {d_logits:.3e}",
        featurizer.device_description(),
        if kernels { " (CPU kernels)" } else { "" }
    );
    assert!(d_feat <= tolerance, "features differ by {d_feat}");
    assert!(d_logits <= tolerance, "logits differ by {d_logits}");
}

#[test]
fn resnet50_1by2_matches_the_pytorch_rebuild_on_the_cpu_kernels() {
    check_resnet_reference(DeviceChoice::Cpu, false, 1e-4);
}

#[test]
fn resnet50_1by2_matches_the_pytorch_rebuild_on_burns_cpu_backend() {
    check_resnet_reference(DeviceChoice::Cpu, true, 1e-4);
}
