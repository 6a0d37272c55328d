//! The fine-tuning loop: Adam on the tail (a smaller step) and the new classifier, one random
//! augmented view of each image per epoch, dropout before the classifier, class-weighted
//! cross-entropy, early stopping on held-out rows scored on all views.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use ndarray::{Array2, Axis, s};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use blueprints::error::{BlueprintError, Result};

use super::FineTuneParams;
use super::tail::TailNet;
use crate::backbone::PaddingStyle;
use crate::cpu::tail::CpuTail;
use crate::level::TRUNK_VIEWS;
use crate::precision::host_f32;

/// Trunk rows per forward pass when scoring (each with all its views).
const SCORE_CHUNK: usize = 32;

/// Training rows: trunk maps, labels, row weights.
pub struct TrainData<'a> {
    /// One row per image: [`TRUNK_VIEWS`] maps of `shape`, side by side.
    pub x: &'a Array2<f32>,
    /// Labels in `0..n_classes`.
    pub y: &'a [u32],
    /// Weight of every row.
    pub weights: &'a [f64],
    /// `[channels, height, width]` of one view's map.
    pub shape: [usize; 3],
    /// Classes of the classifier.
    pub n_classes: usize,
}

/// What training produced.
pub struct Trained {
    /// The tail of the best validation epoch (of the last epoch without early stopping).
    pub tail: TailNet,
    /// Epochs run.
    pub epochs_run: usize,
    /// Validation loss after each epoch (empty without early stopping).
    pub validation_loss: Vec<f64>,
}

fn read_error(e: impl std::fmt::Display) -> BlueprintError {
    BlueprintError::Numeric {
        task: super::TASK.into(),
        reason: format!("reading a tensor back: {e}"),
    }
}

/// `[b, c, h, w]` maps: for each `(row, view)` pick, that view of that row.
pub fn gather_views(
    x: &Array2<f32>,
    shape: [usize; 3],
    picks: &[(usize, usize)],
    device: &Device,
) -> Tensor<4> {
    let len: usize = shape.iter().product();
    let mut buf: Vec<f32> = Vec::with_capacity(picks.len() * len);
    for &(row, view) in picks {
        buf.extend(x.slice(s![row, view * len..(view + 1) * len]).iter());
    }
    let [c, h, w] = shape;
    Tensor::from_data(TensorData::new(buf, [picks.len(), c, h, w]), device)
}

/// Where class probabilities of trunk rows are computed.
pub enum Scorer<'a> {
    /// With burn, on its device (a GPU's).
    Burn(&'a Device),
    /// With the CPU kernels ([`CpuTail`]): several times faster than burn's CPU backend.
    CpuKernels(PaddingStyle),
}

impl Scorer<'_> {
    /// Class probabilities of `rows`, the softmax averaged over every view (test-time
    /// augmentation), `rows × n_classes`.
    pub fn probabilities(
        &self,
        tail: &TailNet,
        x: &Array2<f32>,
        shape: [usize; 3],
        rows: &[usize],
    ) -> Result<Array2<f64>> {
        let k = tail.classifier.weight.val().dims()[1];
        let engine = match self {
            Scorer::Burn(device) => Engine::Burn(device),
            Scorer::CpuKernels(padding) => Engine::Cpu(Box::new(
                CpuTail::new(&tail.body, &tail.classifier, *padding).map_err(kernel_error)?,
            )),
        };
        let mut out = Array2::<f64>::zeros((rows.len(), k));
        for (chunk, mut dst) in rows
            .chunks(SCORE_CHUNK)
            .zip(out.axis_chunks_iter_mut(Axis(0), SCORE_CHUNK))
        {
            let logits = match &engine {
                Engine::Cpu(cpu) => {
                    let mut flat = Vec::with_capacity(chunk.len() * x.ncols());
                    for &r in chunk {
                        flat.extend(x.row(r).iter());
                    }
                    cpu.logits(&flat, chunk.len() * TRUNK_VIEWS, shape)
                        .map_err(kernel_error)?
                }
                Engine::Burn(device) => {
                    let picks: Vec<(usize, usize)> = chunk
                        .iter()
                        .flat_map(|&r| (0..TRUNK_VIEWS).map(move |v| (r, v)))
                        .collect();
                    let z = tail.forward(gather_views(x, shape, &picks, device), None);
                    host_f32(z).map_err(read_error)?
                }
            };
            for (views, mut row) in logits.chunks(TRUNK_VIEWS * k).zip(dst.rows_mut()) {
                for v in views.chunks(k) {
                    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let e: Vec<f64> = v.iter().map(|&z| f64::from(z - max).exp()).collect();
                    let sum: f64 = e.iter().sum();
                    for (o, ei) in row.iter_mut().zip(&e) {
                        *o += ei / sum / TRUNK_VIEWS as f64;
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A [`Scorer`] ready to run: the CPU kernels hold their copy of the tail's weights.
enum Engine<'a> {
    Burn(&'a Device),
    Cpu(Box<CpuTail>),
}

fn kernel_error(e: crate::NeuralError) -> BlueprintError {
    BlueprintError::Numeric {
        task: super::TASK.into(),
        reason: e.to_string(),
    }
}

/// Weighted cross-entropy of probabilities `p` (rows of `rows`) against their labels.
fn weighted_log_loss(p: &Array2<f64>, data: &TrainData<'_>, rows: &[usize]) -> f64 {
    let (mut loss, mut total) = (0.0, 0.0);
    for (i, &r) in rows.iter().enumerate() {
        let w = data.weights[r];
        loss -= w * p[[i, data.y[r] as usize]].max(1e-12).ln();
        total += w;
    }
    if total > 0.0 { loss / total } else { 0.0 }
}

/// Adam for the pretrained tail and for the new classifier (their own steps and moments).
struct Optimizers {
    tail: burn::optim::ModuleOptimizer,
    head: burn::optim::ModuleOptimizer,
}

impl Optimizers {
    fn new() -> Self {
        Self {
            tail: AdamConfig::new().init(),
            head: AdamConfig::new().init(),
        }
    }

    /// One step on a batch: `x` the maps, `keep` the dropout mask (entries 0 or 1/(1−p)),
    /// `target` the one-hot labels scaled by each row's share of the batch's weight; the loss is
    /// the weighted cross-entropy `−Σ target · log softmax(logits)`.
    fn step(
        &mut self,
        mut tail: TailNet,
        x: Tensor<4>,
        keep: Tensor<2>,
        target: Tensor<2>,
        p: &FineTuneParams,
    ) -> TailNet {
        let logits = tail.forward(x.autodiff(), Some(keep.autodiff()));
        let loss = log_softmax(logits, 1).mul(target.autodiff()).sum().neg();
        let mut grads = loss.backward();
        let g_head = GradientsParams::from_module(&mut grads, &tail.classifier);
        let g_body = GradientsParams::from_module(&mut grads, &tail.body);
        tail.classifier = self.head.step(p.learning_rate, tail.classifier, g_head);
        tail.body = self.tail.step(p.tail_learning_rate, tail.body, g_body);
        tail
    }
}

/// Held-out rows for early stopping (none: every epoch runs) and how they are scored.
pub struct Validation<'a> {
    /// The rows.
    pub rows: &'a [usize],
    /// What scores them after each epoch.
    pub scorer: Scorer<'a>,
}

/// Trains `tail` on `device`, stopping early on `valid` rows.
pub fn train(
    tail: TailNet,
    data: &TrainData<'_>,
    train: &[usize],
    valid: &Validation<'_>,
    p: &FineTuneParams,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<Trained> {
    let mut tail = tail.train();
    let mut optims = Optimizers::new();
    let k = data.n_classes;
    let keep_scale = (1.0 / (1.0 - p.dropout)) as f32;
    let features = tail.classifier.weight.val().dims()[0];
    let mut order = train.to_vec();
    let mut best: Option<(f64, TailNet)> = None;
    let mut validation_loss = Vec::new();
    let mut epochs_run = 0;
    let mut since_best = 0;
    for _ in 0..p.epochs {
        order.shuffle(rng);
        for batch in order.chunks(p.batch_size.max(1)) {
            let picks: Vec<(usize, usize)> = batch
                .iter()
                .map(|&r| (r, rng.random_range(0..TRUNK_VIEWS)))
                .collect();
            let x = gather_views(data.x, data.shape, &picks, device);
            let mask: Vec<f32> = (0..batch.len() * features)
                .map(|_| {
                    if rng.random::<f64>() < p.dropout {
                        0.0
                    } else {
                        keep_scale
                    }
                })
                .collect();
            let mask =
                Tensor::<2>::from_data(TensorData::new(mask, [batch.len(), features]), device);
            let total: f64 = batch.iter().map(|&r| data.weights[r]).sum();
            let mut target = vec![0f32; batch.len() * k];
            for (i, &r) in batch.iter().enumerate() {
                target[i * k + data.y[r] as usize] = (data.weights[r] / total.max(1e-12)) as f32;
            }
            let target = Tensor::<2>::from_data(TensorData::new(target, [batch.len(), k]), device);
            tail = optims.step(tail, x, mask, target, p);
        }
        epochs_run += 1;
        if valid.rows.is_empty() {
            continue;
        }
        let snapshot = tail.valid();
        let probs = valid
            .scorer
            .probabilities(&snapshot, data.x, data.shape, valid.rows)?;
        let loss = weighted_log_loss(&probs, data, valid.rows);
        validation_loss.push(loss);
        if !loss.is_finite() {
            return Err(BlueprintError::Numeric {
                task: super::TASK.into(),
                reason: format!("validation loss {loss} after epoch {epochs_run}"),
            });
        }
        if best.as_ref().is_none_or(|(b, _)| loss < *b) {
            best = Some((loss, snapshot));
            since_best = 0;
        } else {
            since_best += 1;
            if p.patience > 0 && since_best >= p.patience {
                break;
            }
        }
    }
    Ok(Trained {
        tail: best.map_or_else(|| tail.valid(), |(_, t)| t),
        epochs_run,
        validation_loss,
    })
}

/// Seconds one training step of `p.batch_size` rows takes on `device` (the same step as
/// [`train`], on random maps; the second of two: the first pays for allocation and autotuning).
pub fn time_one_step(tail: TailNet, shape: [usize; 3], p: &FineTuneParams, device: &Device) -> f64 {
    let mut tail = tail.train();
    let mut optims = Optimizers::new();
    let [c, h, w] = shape;
    let batch = p.batch_size.max(1);
    let features = tail.classifier.weight.val().dims()[0];
    let k = tail.classifier.weight.val().dims()[1];
    let mut seconds = 0.0;
    for _ in 0..2 {
        let start = Instant::now();
        let normal = burn::tensor::Distribution::Normal(0.0, 1.0);
        let x = Tensor::<4>::random([batch, c, h, w], normal, device);
        let keep = Tensor::<2>::ones([batch, features], device);
        let target = Tensor::<2>::full([batch, k], 1.0 / (batch * k) as f32, device);
        tail = optims.step(tail, x, keep, target, p);
        // Reading a value back waits for the device (a failure shows in the training itself).
        let _ = host_f32(tail.classifier.weight.val());
        seconds = start.elapsed().as_secs_f64();
    }
    seconds
}
