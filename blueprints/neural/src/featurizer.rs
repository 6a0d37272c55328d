//! Batched image featurization: rayon workers decode and preprocess the next batches while
//! the network runs on the current one (a bounded channel between them).

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use ndarray::{Array2, ArrayView1};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::backbone::Backbone;
use crate::cpu::CpuBackbone;
use crate::device::{DeviceChoice, SelectedDevice, items_per_pass, select_device};
use crate::error::{NeuralError, Result};
use crate::level::{FeatureLevel, TRUNK_VIEWS};
use crate::net::BURN_DEFAULT_GAIN;
use crate::network::Network;
use crate::precision::{Precision, host_f32};
use crate::preprocess::{PreprocessConfig, preprocess_path, preprocess_trunk_views};
use crate::zoo;

/// How to build an [`ImageFeaturizer`].
#[derive(Debug, Clone)]
pub struct FeaturizerConfig {
    /// The backbone.
    pub backbone: Backbone,
    /// Which pooled levels to concatenate (shallow to deep); default high + highest.
    pub levels: Vec<FeatureLevel>,
    /// Compute device.
    pub device: DeviceChoice,
    /// Images per forward pass.
    pub batch_size: usize,
    /// A local weight file to use instead of the zoo (`--weights FILE`).
    pub weights: Option<PathBuf>,
    /// Threads decoding and resizing images (0 = number of CPUs).
    pub decode_threads: usize,
    /// Precision of the forward pass (f16 on a wgpu adapter that has it, int8 on a CPU with
    /// AVX-512 VNNI).
    pub precision: Precision,
}

impl FeaturizerConfig {
    /// Defaults for a backbone: high + highest levels, auto device, batch 16.
    pub fn new(backbone: Backbone) -> Self {
        FeaturizerConfig {
            backbone,
            levels: FeatureLevel::defaults(),
            device: DeviceChoice::Auto,
            batch_size: 16,
            weights: None,
            decode_threads: 0,
            precision: Precision::F32,
        }
    }
}

/// Features of a list of images. Rows whose image failed are all zeros and carry an error.
#[derive(Debug, Clone)]
pub struct ImageFeatures {
    /// `n_images × feature_dim`.
    pub values: Array2<f32>,
    /// Per row: `None` when featurized, else why the image failed.
    pub errors: Vec<Option<String>>,
}

impl ImageFeatures {
    /// Number of rows that failed.
    pub fn n_failed(&self) -> usize {
        self.errors.iter().filter(|e| e.is_some()).count()
    }
}

/// Wall-clock split of a featurization run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeaturizeTiming {
    /// Seconds spent decoding, resizing and normalising (summed over batches; overlaps the forward).
    pub preprocess_seconds: f64,
    /// Seconds spent in forward passes.
    pub forward_seconds: f64,
    /// Wall seconds of the whole call.
    pub total_seconds: f64,
}

/// Network outputs of one batch, copied to the host.
#[derive(Debug, Clone)]
pub struct BatchOutput {
    /// `n × feature_dim`, row-major.
    pub features: Vec<f32>,
    /// `n × classes` classifier logits (ImageNet's 1,000 or ResNet-50-1by2's 2), row-major,
    /// when requested.
    pub logits: Option<Vec<f32>>,
}

/// The activations of one level for one image, before global average pooling.
#[derive(Debug, Clone)]
pub struct LevelMap {
    /// Which level.
    pub level: FeatureLevel,
    /// Channels (= the level's pooled feature count).
    pub channels: usize,
    /// Spatial height.
    pub height: usize,
    /// Spatial width.
    pub width: usize,
    /// `channels × height × width`, row-major.
    pub values: Vec<f32>,
}

/// A pretrained backbone turning image files into pooled multi-level features.
#[derive(Debug)]
pub struct ImageFeaturizer {
    backbone: Backbone,
    levels: Vec<FeatureLevel>,
    device: Device,
    device_description: String,
    batch_size: usize,
    decode_threads: usize,
    preprocess: PreprocessConfig,
    precision: Precision,
    net: Network,
    /// The CPU kernels' copy of the network, used instead of burn on the CPU device.
    fast_cpu: Option<CpuBackbone>,
    /// Images one burn forward pass takes at most: as many as the device's largest buffer
    /// holds of the network's largest map ([`forward_images_on`]).
    forward_images: usize,
}

impl ImageFeaturizer {
    /// Loads the weights (zoo or override), folds batch norms and places the network on the device.
    pub fn new(config: FeaturizerConfig) -> Result<Self> {
        let levels = Self::check_config(&config)?;
        let selected = select_device(config.device)?;
        config
            .precision
            .check(&selected.device, &selected.description)?;
        let path = zoo::resolve_weights(config.backbone, config.weights.as_deref())?;
        let net = Network::load(config.backbone, &path, &selected.device)?;
        Self::assemble(config, levels, selected, net)
    }

    /// A featurizer with randomly initialised weights drawn from `seed` alone
    /// ([`redraw_weights`] at burn's initial scale): same shapes and pipeline as
    /// [`ImageFeaturizer::new`], meaningless features. For tests and benchmarks without weights.
    pub fn untrained(config: FeaturizerConfig, seed: u64) -> Result<Self> {
        let levels = Self::check_config(&config)?;
        let selected = select_device(config.device)?;
        config
            .precision
            .check(&selected.device, &selected.description)?;
        let net = Network::untrained(
            config.backbone,
            BURN_DEFAULT_GAIN,
            &mut ChaCha8Rng::seed_from_u64(seed),
            &selected.device,
        );
        Self::assemble(config, levels, selected, net)
    }

    fn check_config(config: &FeaturizerConfig) -> Result<Vec<FeatureLevel>> {
        if config.batch_size == 0 {
            return Err(NeuralError::InvalidConfig(
                "batch_size must be at least 1".into(),
            ));
        }
        let mut levels = config.levels.clone();
        levels.sort();
        levels.dedup();
        if levels.is_empty() {
            return Err(NeuralError::InvalidConfig(
                "at least one feature level is needed".into(),
            ));
        }
        if levels.len() > 1 && levels.iter().any(|l| !l.is_pooled()) {
            return Err(NeuralError::InvalidConfig(
                "a trunk level is featurized alone, not with other levels".into(),
            ));
        }
        Ok(levels)
    }

    fn assemble(
        config: FeaturizerConfig,
        levels: Vec<FeatureLevel>,
        selected: SelectedDevice,
        net: Network,
    ) -> Result<Self> {
        let forward_images = forward_images_on(&selected, config.backbone, config.precision)?;
        let decode_threads = if config.decode_threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            config.decode_threads
        };
        // On the CPU the network runs on the crate's own kernels (`crate::cpu`), in int8 when
        // asked; should the copy fail (it cannot for the zoo layouts), burn's f32 path is used
        // instead.
        let fast_cpu = (selected.device == Device::flex())
            .then(|| CpuBackbone::from_network(&net, config.backbone).ok())
            .flatten()
            .map(|cpu| match config.precision {
                Precision::Int8 => cpu.to_int8(),
                _ => cpu,
            });
        Ok(ImageFeaturizer {
            backbone: config.backbone,
            levels,
            device: selected.device,
            device_description: selected.description,
            batch_size: config.batch_size,
            decode_threads,
            preprocess: config.backbone.into(),
            precision: config.precision,
            net: net.cast(config.precision),
            fast_cpu,
            forward_images,
        })
    }

    /// Whether forward passes run on the CPU kernels of [`crate::cpu`] rather than on burn.
    pub fn uses_fast_cpu(&self) -> bool {
        self.fast_cpu.is_some()
    }

    /// Runs forward passes through burn even on the CPU (for comparisons and tests).
    pub fn with_burn_forward(mut self) -> Self {
        self.fast_cpu = None;
        self
    }

    /// Images one forward pass takes at most on this device (larger batches run in turns):
    /// `usize::MAX` on the CPU.
    pub fn forward_images(&self) -> usize {
        self.forward_images
    }

    /// The backbone.
    pub fn backbone(&self) -> Backbone {
        self.backbone
    }

    /// The feature levels, shallow to deep.
    pub fn levels(&self) -> &[FeatureLevel] {
        &self.levels
    }

    /// The compute device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// What the compute device is.
    pub fn device_description(&self) -> &str {
        &self.device_description
    }

    /// Images per forward pass.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Float precision of the forward pass.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The preprocessing geometry.
    pub fn preprocess_config(&self) -> &PreprocessConfig {
        &self.preprocess
    }

    /// Number of features per image: the sum of the pooled levels' channels, or the trunk's
    /// views × channels × height × width.
    pub fn feature_dim(&self) -> usize {
        let arch = self.backbone.arch();
        self.levels
            .iter()
            .map(|l| l.features_per_image(&arch, self.preprocess.crop))
            .sum()
    }

    /// Network inputs per image: [`TRUNK_VIEWS`] for the trunk, else 1.
    fn views(&self) -> usize {
        if self.levels.iter().any(|l| !l.is_pooled()) {
            TRUNK_VIEWS
        } else {
            1
        }
    }

    /// Column names: `<backbone>.<level>.<channel>` (`<backbone>.<trunk level>.<index>` for a
    /// trunk).
    pub fn feature_names(&self) -> Vec<String> {
        if self.views() > 1 {
            return (0..self.feature_dim())
                .map(|i| format!("{}.{}.{i}", self.backbone.name(), self.levels[0]))
                .collect();
        }
        let arch = self.backbone.arch();
        self.levels
            .iter()
            .flat_map(|l| {
                (0..l.channels(&arch))
                    .map(move |c| format!("{}.{}.{c}", self.backbone.name(), l.name()))
            })
            .collect()
    }

    /// Runs the network on `n` preprocessed images (`n × 3 × crop × crop`, CHW each).
    pub fn run_batch(&self, input: Vec<f32>, n: usize, logits: bool) -> Result<BatchOutput> {
        let c = self.preprocess.crop;
        if n == 0 || input.len() != n * self.preprocess.input_len() {
            return Err(NeuralError::InvalidConfig(format!(
                "batch of {n} images needs {} values, got {}",
                n * self.preprocess.input_len(),
                input.len()
            )));
        }
        if let Some(fast) = &self.fast_cpu {
            let out = fast.forward(&input, n, c, &self.levels, logits)?;
            return Ok(BatchOutput {
                features: out.features,
                logits: out.logits,
            });
        }
        if n <= self.forward_images {
            return self.burn_forward(input, n, logits);
        }
        // More images than the device's largest buffer holds at once: in turns.
        let mut out = BatchOutput {
            features: Vec::with_capacity(n * self.feature_dim()),
            logits: logits.then(Vec::new),
        };
        let per_image = self.preprocess.input_len();
        for chunk in input.chunks(self.forward_images * per_image) {
            let part = self.burn_forward(chunk.to_vec(), chunk.len() / per_image, logits)?;
            out.features.extend(part.features);
            if let (Some(all), Some(these)) = (out.logits.as_mut(), part.logits) {
                all.extend(these);
            }
        }
        Ok(out)
    }

    /// One burn forward pass of `n` preprocessed images, read back to the host; a device
    /// failure (out of memory, a lost device) is an error, not a panic.
    fn burn_forward(&self, input: Vec<f32>, n: usize, logits: bool) -> Result<BatchOutput> {
        let c = self.preprocess.crop;
        let x = Tensor::<4>::from_data(TensorData::new(input, [n, 3, c, c]), &self.device);
        let out = self
            .net
            .forward(self.precision.cast(x), &self.levels, logits);
        let features = Tensor::cat(out.levels, 1);
        let to_host = |t: Tensor<2>| {
            host_f32(t).map_err(|e| {
                let what = format!("the outputs of {n} images");
                NeuralError::read_back(&self.device_description, &what, e)
            })
        };
        let features = to_host(features)?;
        let logits = out.logits.map(to_host).transpose()?;
        Ok(BatchOutput { features, logits })
    }

    /// The unpooled activations of the featurizer's levels for one preprocessed image
    /// (`3 × crop × crop`), in level order: what the pooled features average. Runs on burn
    /// (on the featurizer's device) whatever the forward path.
    pub fn level_maps(&self, input: Vec<f32>) -> Result<Vec<LevelMap>> {
        let c = self.preprocess.crop;
        if input.len() != self.preprocess.input_len() {
            return Err(NeuralError::InvalidConfig(format!(
                "one image needs {} values, got {}",
                self.preprocess.input_len(),
                input.len()
            )));
        }
        let x = Tensor::<4>::from_data(TensorData::new(input, [1, 3, c, c]), &self.device);
        let (maps, _) = self
            .net
            .forward_maps(self.precision.cast(x), &self.levels, false);
        maps.into_iter()
            .zip(&self.levels)
            .map(|(t, &level)| {
                let [_, channels, height, width] = t.dims();
                let values = host_f32(t)
                    .map_err(|e| NeuralError::read_back(&self.device_description, "the maps", e))?;
                Ok(LevelMap {
                    level,
                    channels,
                    height,
                    width,
                    values,
                })
            })
            .collect()
    }

    /// Classifier logits of image files (ImageNet's 1,000, or ResNet-50-1by2's 2); a failing image
    /// gives its error.
    pub fn classify_paths(&self, paths: &[PathBuf]) -> Vec<Result<Vec<f32>>> {
        paths
            .iter()
            .map(|p| {
                let x = preprocess_path(p, &self.preprocess)?;
                let out = self.run_batch(x, 1, true)?;
                out.logits
                    .ok_or_else(|| NeuralError::InvalidConfig("no logits".into()))
            })
            .collect()
    }

    /// Featurizes image files; an image that cannot be decoded gets a zero row and an error,
    /// the others go on.
    pub fn featurize_paths(&self, paths: &[PathBuf]) -> Result<ImageFeatures> {
        self.featurize_paths_timed(paths).map(|(f, _)| f)
    }

    /// [`ImageFeaturizer::featurize_paths`] with the time split between preprocessing and forward.
    pub fn featurize_paths_timed(
        &self,
        paths: &[PathBuf],
    ) -> Result<(ImageFeatures, FeaturizeTiming)> {
        let start = Instant::now();
        let dim = self.feature_dim();
        let mut values = Array2::<f32>::zeros((paths.len(), dim));
        let mut errors: Vec<Option<String>> = vec![None; paths.len()];
        let mut timing = FeaturizeTiming::default();
        if paths.is_empty() {
            return Ok((ImageFeatures { values, errors }, timing));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.decode_threads)
            .thread_name(|i| format!("image-decode-{i}"))
            .build()
            .map_err(|e| NeuralError::InvalidConfig(format!("decode thread pool: {e}")))?;
        let cfg = self.preprocess;
        let batch = self.batch_size;
        let views = self.views();
        let prepare = move |p: &PathBuf| {
            if views > 1 {
                preprocess_trunk_views(p, &cfg)
            } else {
                preprocess_path(p, &cfg)
            }
        };
        // Two batches in flight ahead of the forward pass.
        let (tx, rx) = sync_channel::<(usize, Vec<Result<Vec<f32>>>, f64)>(2);
        let mut forward_error: Option<NeuralError> = None;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                for (b, chunk) in paths.chunks(batch).enumerate() {
                    let t = Instant::now();
                    let pre: Vec<Result<Vec<f32>>> =
                        pool.install(|| chunk.par_iter().map(prepare).collect());
                    if tx
                        .send((b * batch, pre, t.elapsed().as_secs_f64()))
                        .is_err()
                    {
                        return; // the consumer stopped
                    }
                }
            });
            for (first_row, pre, pre_secs) in rx {
                timing.preprocess_seconds += pre_secs;
                let mut ok_rows = Vec::with_capacity(pre.len());
                let mut input = Vec::with_capacity(pre.len() * views * cfg.input_len());
                for (i, r) in pre.into_iter().enumerate() {
                    match r {
                        Ok(v) => {
                            ok_rows.push(first_row + i);
                            input.extend_from_slice(&v);
                        }
                        Err(e) => errors[first_row + i] = Some(e.to_string()),
                    }
                }
                if ok_rows.is_empty() {
                    continue;
                }
                let t = Instant::now();
                match self.run_batch(input, ok_rows.len() * views, false) {
                    Ok(out) => {
                        for (k, &row) in ok_rows.iter().enumerate() {
                            values
                                .row_mut(row)
                                .assign(&ArrayView1::from(&out.features[k * dim..][..dim]));
                        }
                    }
                    Err(e) => {
                        forward_error = Some(e);
                        break; // dropping rx stops the producer
                    }
                }
                timing.forward_seconds += t.elapsed().as_secs_f64();
            }
        });
        if let Some(e) = forward_error {
            return Err(e);
        }
        timing.total_seconds = start.elapsed().as_secs_f64();
        Ok((ImageFeatures { values, errors }, timing))
    }
}

/// How many images one burn forward pass of `backbone` may take on `selected`: all of them on
/// the CPU; on wgpu, as many as fit the device's largest buffer with the network's largest map
/// (a batch over it fails to allocate: 32 MobileNetV2 images need 154 MB, lavapipe binds 128 MiB).
/// An error when not even one image fits.
fn forward_images_on(
    selected: &SelectedDevice,
    backbone: Backbone,
    precision: Precision,
) -> Result<usize> {
    let per_image =
        backbone.arch().largest_map(backbone.input_size()) * precision.burn_value_bytes();
    items_per_pass(
        selected.max_buffer_bytes,
        per_image,
        &selected.description,
        &format!("one {backbone} image's largest map"),
    )
}

/// Convenience: decodes and preprocesses one file for `backbone` (see [`crate::preprocess`]).
pub fn preprocess_for(backbone: Backbone, path: &Path) -> Result<Vec<f32>> {
    preprocess_path(path, &backbone.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::test_support::{max_abs_diff, pseudo};

    #[test]
    fn a_batch_over_the_forward_limit_runs_in_turns_with_the_same_numbers() {
        let mut config = FeaturizerConfig::new(Backbone::MobileNetV2);
        config.device = DeviceChoice::Cpu;
        config.levels = vec![FeatureLevel::Low, FeatureLevel::Highest];
        let whole = ImageFeaturizer::untrained(config.clone(), 3)
            .unwrap()
            .with_burn_forward();
        assert_eq!(whole.forward_images, usize::MAX, "no limit on the CPU");
        let mut in_turns = ImageFeaturizer::untrained(config, 3)
            .unwrap()
            .with_burn_forward();
        in_turns.forward_images = 2;
        let n = 5;
        let input = pseudo(n * whole.preprocess.input_len(), 11);
        let a = whole.run_batch(input.clone(), n, true).unwrap();
        let b = in_turns.run_batch(input, n, true).unwrap();
        assert_eq!(a.features.len(), n * whole.feature_dim());
        assert_eq!(b.features.len(), a.features.len());
        let (la, lb) = (a.logits.unwrap(), b.logits.unwrap());
        assert_eq!(lb.len(), la.len());
        let scale = a.features.iter().fold(1f32, |m, v| m.max(v.abs()));
        assert!(max_abs_diff(&a.features, &b.features) <= 1e-5 * scale);
        assert!(max_abs_diff(&la, &lb) <= 1e-5 * la.iter().fold(1f32, |m, v| m.max(v.abs())));
    }

    #[test]
    fn the_forward_limit_follows_the_devices_largest_buffer() {
        let mut device = select_device(DeviceChoice::Cpu).unwrap();
        let per_image = 96 * 114 * 114 * 4; // MobileNetV2's largest map in f32
        let on = |device: &SelectedDevice, precision| {
            forward_images_on(device, Backbone::MobileNetV2, precision)
        };
        assert_eq!(on(&device, Precision::F32).unwrap(), usize::MAX);
        device.max_buffer_bytes = Some(128 << 20); // lavapipe's 128 MiB
        assert_eq!(
            on(&device, Precision::F32).unwrap(),
            (128 << 20) / per_image
        );
        assert_eq!(
            on(&device, Precision::F16).unwrap(),
            (128 << 20) / (per_image / 2)
        );
        device.max_buffer_bytes = Some(per_image as u64 - 1);
        let err = on(&device, Precision::F32).unwrap_err().to_string();
        assert!(
            err.contains("mobilenet") && err.contains("use the CPU"),
            "{err}"
        );
    }
}
