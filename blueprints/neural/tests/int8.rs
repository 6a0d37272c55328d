//! int8 on the CPU kernels (`Precision::Int8`): features and logits of every backbone against
//! f32 on the same zoo weights and inputs, and the reference images' ImageNet top-1 unchanged
//! (the ImageNet classifiers);
//! MiniLM's embeddings against f32 and sentence-transformers.
//! On a CPU without AVX-512 VNNI the precision is refused with an error naming it (checked).

use neural::cpu::int8_gemm::vnni_available;
use neural::featurizer::{FeaturizerConfig, ImageFeaturizer};
use neural::text::{SentenceEmbedder, SentenceEmbedderConfig};
use neural::{Backbone, DeviceChoice, FeatureLevel, Precision};

use super::common::{
    assert_reference_top1, cosine, json_f32, minilm_reference, pseudo_random, read_f32,
    reference_dir,
};

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

/// The int8 model `made`, or `None` when this CPU has no VNNI and the error names it.
fn int8_or_refused<T>(made: neural::Result<T>) -> Option<T> {
    match made {
        Ok(model) => Some(model),
        Err(e) => {
            assert!(!vnni_available(), "int8 refused on a VNNI CPU: {e}");
            assert!(e.to_string().contains("VNNI"), "{e}");
            println!("SKIP: int8 refused on this CPU: {e}");
            None
        }
    }
}

fn int8_follows_f32(backbone: Backbone) {
    let Some(int8) = int8_or_refused(featurizer(backbone, Precision::Int8)) else {
        return;
    };
    assert_eq!(int8.precision(), Precision::Int8);
    assert!(int8.uses_fast_cpu());
    let full = featurizer(backbone, Precision::F32).expect("weights fetched from the zoo");
    // Two generated inputs, plus the reference's preprocessed cat where the shared folder is
    // (for the ImageNet classifiers).
    let len = full.preprocess_config().input_len();
    let mut input = pseudo_random(2 * len, 17);
    let reference = reference_dir().filter(|_| backbone.classifies_imagenet());
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
fn resnet50_1by2_int8_follows_f32() {
    int8_follows_f32(Backbone::ResNet50Half);
}

/// MiniLM in int8 (weight products): each embedding follows f32's (cosine ≥ 0.98, ≥ 0.99 on
/// average) on texts of every length up to 256 tokens, and the reference texts stay close to
/// sentence-transformers.
#[test]
fn minilm_int8_follows_f32() {
    let config = |precision| SentenceEmbedderConfig {
        device: DeviceChoice::Cpu,
        precision,
        ..Default::default()
    };
    let Some(int8) = int8_or_refused(SentenceEmbedder::new(config(Precision::Int8))) else {
        return;
    };
    assert_eq!(int8.precision(), Precision::Int8);
    let f32_embedder = SentenceEmbedder::new(config(Precision::F32)).expect("MiniLM from the zoo");
    let words = "the night is long and the river sings of cities burning under neon rain";
    let words: Vec<&str> = words.split(' ').collect();
    let mut texts: Vec<String> = [1usize, 3, 8, 20, 60, 150, 400]
        .iter()
        .map(|&n| {
            (0..n)
                .map(|i| words[(i * 7 + n) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    texts.push(String::new());
    let reference = minilm_reference().map(|path| {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let cases = json.as_array().unwrap().clone();
        for case in &cases {
            texts.push(case["text"].as_str().unwrap().to_string());
        }
        cases
    });
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (want, got) = (
        f32_embedder.embed(&refs).unwrap(),
        int8.embed(&refs).unwrap(),
    );
    let cosines: Vec<f64> = (0..refs.len())
        .map(|i| cosine(&want.row(i).to_vec(), &got.row(i).to_vec()))
        .collect();
    let (min, mean) = (
        cosines.iter().copied().fold(1.0, f64::min),
        cosines.iter().sum::<f64>() / cosines.len() as f64,
    );
    println!(
        "MiniLM int8 vs f32 on {} texts: cosine ≥ {min:.5}, mean {mean:.5}",
        refs.len()
    );
    // The empty text ([CLS] [SEP]: two tokens, no averaging of errors) is the worst, at 0.986.
    assert!(min >= 0.98 && mean >= 0.99, "cosine ≥ {min}, mean {mean}");
    assert_ne!(want, got, "int8 gave exactly the f32 embeddings");
    let first = refs.len() - reference.as_ref().map_or(0, Vec::len);
    for (i, case) in reference.iter().flatten().enumerate() {
        let c = cosine(&got.row(first + i).to_vec(), &json_f32(&case["embedding"]));
        assert!(
            c >= 0.99,
            "{:?}: cosine with sentence-transformers {c}",
            refs[first + i]
        );
    }
    // burn computes f32 only; f16 is refused for MiniLM.
    assert_eq!(int8.with_burn_forward().precision(), Precision::F32);
    assert!(SentenceEmbedder::new(config(Precision::F16)).is_err());
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
