//! int8 on the CPU kernels (`Precision::Int8`): features and logits of every backbone against
//! f32 on the same zoo weights and inputs, and the reference images' ImageNet top-1 unchanged.
//! On a CPU without AVX-512 VNNI the precision is refused with an error naming it (checked).

use neural::cpu::int8_gemm::vnni_available;
use neural::featurizer::{FeaturizerConfig, ImageFeaturizer};
use neural::{Backbone, DeviceChoice, FeatureLevel, Precision};

use super::common::{assert_reference_top1, cosine, pseudo_random, read_f32, reference_dir};

fn featurizer(backbone: Backbone, precision: Precision) -> neural::Result<ImageFeaturizer> {
    let mut config = FeaturizerConfig::new(backbone);
    config.levels = FeatureLevel::ALL.to_vec();
    config.device = DeviceChoice::Cpu;
    config.batch_size = 2;
    config.precision = precision;
    ImageFeaturizer::new(config)
}

/// Smallest cosine of the rows of two `n`-row outputs, and the largest |Δ| over the largest |x|.
fn agreement(want: &[f32], got: &[f32], n: usize) -> (f64, f32) {
    let per = want.len() / n;
    let cos = (0..n)
        .map(|i| cosine(&want[i * per..(i + 1) * per], &got[i * per..(i + 1) * per]))
        .fold(1.0, f64::min);
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = want
        .iter()
        .zip(got)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    (cos, d / scale)
}

fn int8_follows_f32(backbone: Backbone) {
    let int8 = match featurizer(backbone, Precision::Int8) {
        Ok(f) => f,
        Err(e) => {
            assert!(!vnni_available(), "int8 refused on a VNNI CPU: {e}");
            assert!(e.to_string().contains("VNNI"), "{e}");
            println!("SKIP: int8 refused on this CPU: {e}");
            return;
        }
    };
    assert_eq!(int8.precision(), Precision::Int8);
    assert!(int8.uses_fast_cpu());
    let full = featurizer(backbone, Precision::F32).expect("weights fetched from the zoo");
    // Two generated inputs, plus the reference's preprocessed cat where the shared folder is.
    let len = full.preprocess_config().input_len();
    let mut input = pseudo_random(2 * len, 17);
    let reference = reference_dir();
    if let Some(dir) = &reference {
        let tag = match backbone {
            Backbone::MobileNetV2 => "mnv2".to_string(),
            other => other.name().replace("efficientnet-", ""),
        };
        input.extend(read_f32(
            &dir.join(format!("backbones/{tag}_chelsea_in.f32")),
        ));
    }
    let n = input.len() / len;
    let want = full.run_batch(input.clone(), n, true).unwrap();
    let got = int8.run_batch(input, n, true).unwrap();
    let (feat_cos, feat_rel) = agreement(&want.features, &got.features, n);
    let (want_l, got_l) = (want.logits.unwrap(), got.logits.unwrap());
    let (logit_cos, logit_rel) = agreement(&want_l, &got_l, n);
    println!(
        "{backbone} int8 vs f32: features cosine ≥ {feat_cos:.5}, max |Δ|/max |x| {feat_rel:.3}; \
         logits cosine ≥ {logit_cos:.5}, max |Δ|/max |x| {logit_rel:.3}"
    );
    assert!(feat_cos >= 0.99, "{backbone}: features cosine {feat_cos}");
    assert!(logit_cos >= 0.99, "{backbone}: logits cosine {logit_cos}");
    assert!(
        feat_rel > 0.0,
        "{backbone}: int8 gave exactly the f32 features"
    );
    if let Some(dir) = reference {
        assert_reference_top1(&int8, &dir, &format!("{backbone} int8"));
    }
}

#[test]
fn mobilenet_v2_int8_follows_f32() {
    int8_follows_f32(Backbone::MobileNetV2);
}

#[test]
fn efficientnet_lite0_int8_follows_f32() {
    int8_follows_f32(Backbone::EfficientNetLite0);
}

#[test]
fn efficientnet_lite1_int8_follows_f32() {
    int8_follows_f32(Backbone::EfficientNetLite1);
}

#[test]
fn efficientnet_lite2_int8_follows_f32() {
    int8_follows_f32(Backbone::EfficientNetLite2);
}

#[test]
fn int8_is_refused_on_wgpu() {
    let mut config = FeaturizerConfig::new(Backbone::MobileNetV2);
    config.device = DeviceChoice::Wgpu;
    config.precision = Precision::Int8;
    // Refused before any weights are fetched, whatever the adapter (or its absence).
    let err = ImageFeaturizer::untrained(config, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("int8") || err.contains("wgpu"), "{err}");
}
