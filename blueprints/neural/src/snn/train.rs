//! The optimisation loop of the residual net, shared by its two engines: shuffled mini-batch
//! epochs, a validation loss after each epoch, early stopping that keeps the best epoch's weights.
//!
//! An engine ([`Trainer`]) does one Adam step on a mini-batch and evaluates a loss; the loop does
//! everything else, so both engines consume the seeded random stream in the same order (the
//! shuffle of each epoch, then the dropout draws of each batch, layer by layer, row-major) and,
//! started from the same weights, follow the same trajectory up to floating-point rounding.

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use sprs::CsMat;

use blueprints::error::Result;

use super::layers::NetWeights;

/// The training rows as the engines see them.
pub struct TrainSet<'a> {
    /// Standardized dense block, all rows (may have zero columns).
    pub dense: &'a Array2<f32>,
    /// Sparse block in CSR storage, all rows.
    pub sparse: Option<&'a CsMat<f32>>,
    /// Compact class of every row.
    pub y: &'a [u32],
    /// Weight of every row (class weights folded in).
    pub weights: &'a [f64],
    /// Number of (present) classes.
    pub n_classes: usize,
}

/// One optimisation engine of the net.
pub trait Trainer {
    /// A copy of the current weights, cheap enough to take after every improving epoch.
    type Snapshot;
    /// One Adam step on the mini-batch `rows`; dropout draws come from `rng`.
    fn step(&mut self, rows: &[usize], rng: &mut ChaCha8Rng) -> Result<()>;
    /// Weighted mean cross-entropy of `rows` without dropout.
    fn loss(&mut self, rows: &[usize]) -> Result<f64>;
    /// The current weights.
    fn snapshot(&self) -> Self::Snapshot;
    /// Puts back weights taken by [`Trainer::snapshot`].
    fn restore(&mut self, snapshot: Self::Snapshot);
    /// The current weights as host arrays.
    fn weights(&self) -> Result<NetWeights>;
}

/// What the loop did.
pub struct TrainLog {
    /// Epochs run.
    pub epochs_run: usize,
    /// Validation loss after each epoch (empty without early stopping).
    pub validation_loss: Vec<f64>,
}

/// Runs up to `epochs` epochs over `train` in mini-batches of `batch`; with a non-empty `valid`
/// and `patience > 0`, stops after `patience` epochs without a lower validation loss and restores
/// the best epoch's weights.
pub fn run_epochs<T: Trainer>(
    trainer: &mut T,
    train: &[usize],
    valid: &[usize],
    epochs: usize,
    batch: usize,
    patience: usize,
    rng: &mut ChaCha8Rng,
) -> Result<TrainLog> {
    let early = patience > 0 && !valid.is_empty();
    let mut order = train.to_vec();
    let mut log = TrainLog {
        epochs_run: 0,
        validation_loss: Vec::new(),
    };
    let (mut best, mut best_loss, mut since_best) = (None, f64::INFINITY, 0usize);
    for _epoch in 0..epochs {
        order.shuffle(rng);
        for rows in order.chunks(batch.max(1)) {
            trainer.step(rows, rng)?;
        }
        log.epochs_run += 1;
        if !early {
            continue;
        }
        let loss = trainer.loss(valid)?;
        log.validation_loss.push(loss);
        if !loss.is_finite() {
            break;
        }
        if loss < best_loss - 1e-6 {
            best_loss = loss;
            best = Some(trainer.snapshot());
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= patience {
                break;
            }
        }
    }
    if let Some(best) = best {
        trainer.restore(best);
    }
    Ok(log)
}

/// Weighted mean cross-entropy from probabilities of `rows` (row `i` of `probs` is `rows[i]`),
/// accumulated into `(loss, weight)`.
pub fn accumulate_cross_entropy(
    probs: &Array2<f32>,
    rows: &[usize],
    set: &TrainSet,
    acc: &mut (f64, f64),
) {
    for (i, &r) in rows.iter().enumerate() {
        let pr = (probs[[i, set.y[r] as usize]] as f64).max(1e-15);
        acc.0 -= set.weights[r] * pr.ln();
        acc.1 += set.weights[r];
    }
}
