//! Forward-only throughput on wgpu over batch sizes and float precisions: the images are
//! decoded and preprocessed once, outside the timer (as the PyTorch peer's forward-only
//! measurement), then each batch goes host → device → features → host.

use std::path::{Path, PathBuf};
use std::time::Instant;

use neural::featurizer::preprocess_for;
use neural::{Backbone, DeviceChoice, FeatureLevel, FeaturizerConfig, ImageFeaturizer, Precision};
use rayon::prelude::*;
use serde_json::{Value, json};

use super::{Error, max_abs_diff, read_f32, reference_tag};

/// One (precision, batch) measurement.
#[derive(Debug)]
pub struct SweepPoint {
    pub precision: Precision,
    pub batch: usize,
    pub images: usize,
    pub seconds: f64,
    pub warmup_seconds: f64,
}

impl SweepPoint {
    pub fn images_per_s(&self) -> f64 {
        self.images as f64 / self.seconds
    }
}

/// A precision the adapter lacks, or a run that failed.
#[derive(Debug)]
pub struct SweepSkip {
    pub precision: Precision,
    pub batch: usize,
    pub reason: String,
}

/// The sweep of one backbone, with the f16 parity on the reference input when measured.
#[derive(Debug, Default)]
pub struct Sweep {
    pub points: Vec<SweepPoint>,
    pub skipped: Vec<SweepSkip>,
    /// Max |Δ| of f16 features vs the PyTorch reference (f32), and the reference's max |x|.
    pub f16_parity: Option<(f32, f32)>,
}

fn featurizer(
    backbone: Backbone,
    weights: &Path,
    precision: Precision,
    batch: usize,
) -> neural::Result<ImageFeaturizer> {
    let mut config = FeaturizerConfig::new(backbone);
    config.device = DeviceChoice::Wgpu;
    config.levels = FeatureLevel::defaults();
    config.batch_size = batch;
    config.weights = Some(weights.to_path_buf());
    config.precision = precision;
    ImageFeaturizer::new(config)
}

/// Times `run_batch` over `inputs` in batches of `batch` (whole batches only), after two
/// warm-up batches of that size (autotuning).
fn time_forward(
    f: &ImageFeaturizer,
    inputs: &[Vec<f32>],
    batch: usize,
) -> Result<SweepPoint, Error> {
    let batches = inputs.len() / batch;
    if batches == 0 {
        return Err(format!("batch {batch} needs at least {batch} images").into());
    }
    let stack = |b: usize| -> Vec<f32> { inputs[b * batch..(b + 1) * batch].concat() };
    let t = Instant::now();
    for b in 0..batches.min(2) {
        f.run_batch(stack(b), batch, false)?;
    }
    let warmup_seconds = t.elapsed().as_secs_f64();
    let mut seconds = 0.0;
    for b in 0..batches {
        let x = stack(b);
        let t = Instant::now();
        f.run_batch(x, batch, false)?;
        seconds += t.elapsed().as_secs_f64();
    }
    Ok(SweepPoint {
        precision: f.precision(),
        batch,
        images: batches * batch,
        seconds,
        warmup_seconds,
    })
}

/// f16 features on the reference input against the f32 PyTorch reference (`None` without the
/// reference files).
fn f16_parity(f: &ImageFeaturizer, reference: &Path, backbone: Backbone) -> Option<(f32, f32)> {
    let bb = reference.join("backbones");
    let tag = reference_tag(backbone);
    let input = read_f32(&bb.join(format!("{tag}_chelsea_in.f32"))).ok()?;
    let want = read_f32(&bb.join(format!("{tag}_chelsea_feat.f32"))).ok()?;
    // The reference holds the highest level only: the last channels of high + highest.
    let got = match f.run_batch(input, 1, false) {
        Ok(out) => out.features,
        Err(e) => {
            println!("  f16 parity: the forward pass failed: {e}");
            return None;
        }
    };
    let got = &got[got.len().checked_sub(want.len())?..];
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    Some((max_abs_diff(got, &want), scale))
}

/// Runs the sweep of one backbone.
pub fn sweep(
    backbone: Backbone,
    weights: &Path,
    reference: &Path,
    images: &[PathBuf],
    batches: &[usize],
    precisions: &[Precision],
) -> Result<Sweep, Error> {
    let inputs: Vec<Vec<f32>> = images
        .par_iter()
        .map(|p| preprocess_for(backbone, p))
        .collect::<neural::Result<_>>()?;
    let mut out = Sweep::default();
    for &precision in precisions {
        for &batch in batches {
            let what = format!("the {precision} forward at batch {batch}");
            let result = super::unpanicked(&what, || {
                let f = featurizer(backbone, weights, precision, batch)?;
                if precision == Precision::F16 && out.f16_parity.is_none() {
                    out.f16_parity = f16_parity(&f, reference, backbone);
                }
                time_forward(&f, &inputs, batch)
            });
            match result {
                Ok(p) => {
                    println!(
                        "  forward {precision} batch {batch}: {:.1} img/s ({} images in {:.2}s; warm-up {:.1}s)",
                        p.images_per_s(),
                        p.images,
                        p.seconds,
                        p.warmup_seconds
                    );
                    out.points.push(p);
                }
                Err(e) => {
                    println!("  forward {precision} batch {batch}: skipped ({e})");
                    out.skipped.push(SweepSkip {
                        precision,
                        batch,
                        reason: e.to_string(),
                    });
                }
            }
        }
    }
    Ok(out)
}

impl Sweep {
    pub fn to_json(&self) -> Value {
        json!({
            "points": self.points.iter().map(|p| json!({
                "precision": p.precision.to_string(), "batch": p.batch, "images": p.images,
                "forward_s": p.seconds, "forward_images_per_s": p.images_per_s(),
                "warmup_s": p.warmup_seconds,
            })).collect::<Vec<_>>(),
            "skipped": self.skipped.iter().map(|s| json!({
                "precision": s.precision.to_string(), "batch": s.batch, "reason": s.reason,
            })).collect::<Vec<_>>(),
            "f16_max_abs_diff_features": self.f16_parity.map(|p| p.0),
            "reference_max_abs_features": self.f16_parity.map(|p| p.1),
        })
    }

    /// Markdown rows `| backbone | precision | batch | img/s |`.
    pub fn markdown_rows(&self, backbone: &str) -> String {
        let mut out = String::new();
        for p in &self.points {
            out.push_str(&format!(
                "| {backbone} | {} | {} | {:.1} ({} images, {:.2} s) |\n",
                p.precision,
                p.batch,
                p.images_per_s(),
                p.images,
                p.seconds
            ));
        }
        for s in &self.skipped {
            out.push_str(&format!(
                "| {backbone} | {} | {} | skipped: {} |\n",
                s.precision, s.batch, s.reason
            ));
        }
        out
    }
}
