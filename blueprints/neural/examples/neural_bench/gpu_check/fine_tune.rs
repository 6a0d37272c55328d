//! Fine-tuning time on wgpu and on the CPU backend: the trunk maps of the generated images
//! (four views each, featurized on wgpu), synthetic labels, a fixed number of epochs (no early
//! stopping), one and two trained stages.

use std::path::{Path, PathBuf};
use std::time::Instant;

use blueprints::{Estimator, Features, FitContext};
use neural::finetune::{FineTunedCnn, TrainDevice};
use neural::{Backbone, DeviceChoice, FeatureLevel, FeaturizerConfig, ImageFeaturizer};
use serde_json::{Value, json};

use super::Error;

/// Classes of the synthetic labels.
const CLASSES: usize = 4;

/// One timed fit.
#[derive(Debug)]
pub struct FineTuneTime {
    pub stages: usize,
    pub device: String,
    pub images: usize,
    pub epochs: usize,
    pub featurize_seconds: f64,
    pub fit_seconds: f64,
}

impl FineTuneTime {
    pub fn seconds_per_epoch(&self) -> f64 {
        self.fit_seconds / self.epochs as f64
    }

    pub fn to_json(&self) -> Value {
        json!({
            "stages": self.stages, "device": self.device, "images": self.images,
            "epochs": self.epochs, "featurize_trunk_s": self.featurize_seconds,
            "fit_s": self.fit_seconds, "s_per_epoch": self.seconds_per_epoch(),
        })
    }

    pub fn markdown_row(&self, backbone: &str) -> String {
        format!(
            "| {backbone} | {} | {} | {} | {} | {:.2} | {:.1} | {:.2} |\n",
            self.stages,
            self.device,
            self.images,
            self.epochs,
            self.featurize_seconds,
            self.fit_seconds,
            self.seconds_per_epoch()
        )
    }
}

/// Times fine-tuning `backbone` for `epochs` on `images`, one and two stages, on wgpu and on
/// the CPU (`cpu_images` of them; 0 = not on the CPU).
pub fn time_fine_tuning(
    backbone: Backbone,
    weights: &Path,
    images: &[PathBuf],
    cpu_images: usize,
    epochs: usize,
    batch: usize,
) -> Result<Vec<FineTuneTime>, Error> {
    let mut out = Vec::new();
    for stages in [1, 2] {
        let level = FeatureLevel::trunk(stages).ok_or("no trunk level")?;
        let mut config = FeaturizerConfig::new(backbone);
        config.device = DeviceChoice::Wgpu;
        config.levels = vec![level];
        config.batch_size = batch;
        config.weights = Some(weights.to_path_buf());
        let t = Instant::now();
        let trunk = ImageFeaturizer::new(config)?.featurize_paths(images)?;
        let featurize_seconds = t.elapsed().as_secs_f64();
        let y: Vec<u32> = (0..images.len() as u32)
            .map(|i| i % CLASSES as u32)
            .collect();
        for (device, n) in [
            (TrainDevice::Wgpu, images.len()),
            (TrainDevice::Cpu, cpu_images.min(images.len())),
        ] {
            if n == 0 {
                continue;
            }
            let x = Features::dense(trunk.values.slice(ndarray::s![..n, ..]).to_owned());
            let mut e = FineTunedCnn::new(backbone);
            e.params.stages = stages;
            e.params.epochs = epochs;
            e.params.patience = 0;
            e.params.validation_fraction = 0.0;
            e.params.device = device;
            let t = Instant::now();
            e.fit(&x, &y[..n], &FitContext::new(CLASSES, 7))?;
            let time = FineTuneTime {
                stages,
                device: e.trained_on().unwrap_or("?").to_string(),
                images: n,
                epochs,
                featurize_seconds,
                fit_seconds: t.elapsed().as_secs_f64(),
            };
            println!(
                "  fine-tune {stages} stage(s) on {}: {n} images × {epochs} epochs in {:.1}s = {:.2} s/epoch",
                time.device,
                time.fit_seconds,
                time.seconds_per_epoch()
            );
            out.push(time);
        }
    }
    Ok(out)
}
