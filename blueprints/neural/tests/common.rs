//! Helpers shared by the integration tests: the reference outputs and float comparisons.

use std::path::{Path, PathBuf};

/// The PyTorch reference folder (`shared/reference`, with its `backbones/` outputs and the two
/// ImageNet images); `None` skips the test, or fails it under `AUTOPILOT_REQUIRE_SHARED=1`.
pub fn reference_dir() -> Option<PathBuf> {
    autopilot_testkit::shared("reference/backbones").map(|backbones| {
        backbones
            .parent()
            .expect("reference/backbones has a parent")
            .into()
    })
}

/// The sentence-transformers reference embeddings of all-MiniLM-L6-v2 (skipped like
/// [`reference_dir`]).
pub fn minilm_reference() -> Option<PathBuf> {
    autopilot_testkit::shared("reference/minilm/embeddings.json")
}

/// Classifies the reference's `chelsea.png` and `coffee.png` through the full decode →
/// preprocess → forward path and asserts ImageNet top-1: a cat (tabby/tiger/Persian/Siamese/
/// Egyptian = 281..=285) and an espresso (967). `what` names the network in messages.
pub fn assert_reference_top1(featurizer: &neural::ImageFeaturizer, dir: &Path, what: &str) {
    let paths = vec![dir.join("chelsea.png"), dir.join("coffee.png")];
    let top: Vec<usize> = featurizer
        .classify_paths(&paths)
        .iter()
        .map(|l| argmax(l.as_ref().unwrap()))
        .collect();
    println!("{what}: top-1 chelsea = {}, coffee = {}", top[0], top[1]);
    assert!(
        (281..=285).contains(&top[0]),
        "{what}: chelsea top-1 {}",
        top[0]
    );
    assert_eq!(top[1], 967, "{what}: coffee top-1");
}

/// A little-endian `f32` file.
pub fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

pub use autopilot_testkit::max_abs_diff;

/// Index of the largest value (the first one on ties).
pub fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv { (i, x) } else { (bi, bv) }
        })
        .0
}

/// Cosine similarity of two equally long vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// A JSON array of numbers as `f32`s.
pub fn json_f32(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// Deterministic values in [-1, 1) (a 32-bit LCG).
pub fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}
