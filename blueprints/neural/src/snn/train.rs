//! The optimisation loop of the residual net, shared by its two engines: shuffled mini-batch
//! epochs, a validation loss after each epoch, the step size halved on a plateau of that loss,
//! early stopping that keeps the best epoch's weights.
//! The head and loss ([`Target`]) are the only difference between classification (softmax,
//! cross-entropy) and regression (one linear output, squared error).
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

use super::forward::softmax_rows_inplace;
use super::layers::NetWeights;

/// What the net learns: it fixes the head's width and the loss.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// Compact class of every row, out of `n_classes`: softmax head, cross-entropy.
    Classes {
        /// Class of every row.
        y: &'a [u32],
        /// Number of (present) classes.
        n_classes: usize,
    },
    /// Standardized target of every row: one linear output, squared error.
    Values(&'a [f32]),
}

impl Target<'_> {
    /// Width of the head.
    pub fn n_outputs(&self) -> usize {
        match self {
            Target::Classes { n_classes, .. } => *n_classes,
            Target::Values(_) => 1,
        }
    }

    /// False for a single class (its probability is 1 whatever the weights).
    pub fn has_something_to_learn(&self) -> bool {
        !matches!(self, Target::Classes { n_classes, .. } if *n_classes < 2)
    }
}

/// The training rows as the engines see them.
pub struct TrainSet<'a> {
    /// Standardized dense block, all rows (may have zero columns).
    pub dense: &'a Array2<f32>,
    /// Sparse block in CSR storage, all rows.
    pub sparse: Option<&'a CsMat<f32>>,
    /// What to learn for every row.
    pub target: Target<'a>,
    /// Weight of every row (class weights folded in).
    pub weights: &'a [f64],
}

impl TrainSet<'_> {
    /// Turns the head outputs of a training batch (row `i` is `rows[i]`) into the gradient of
    /// the batch loss `Σ_i w_i·loss_i / B` with respect to them, in place: `w_i (p_i − onehot_i)
    /// / B` after a softmax for classes, `2 w_i (f_i − y_i) / B` for values.
    pub fn output_gradient(&self, outputs: &mut Array2<f32>, rows: &[usize]) {
        let inv_b = 1.0 / rows.len() as f32;
        if matches!(self.target, Target::Classes { .. }) {
            softmax_rows_inplace(outputs);
        }
        for (i, &r) in rows.iter().enumerate() {
            let wi = self.weights[r] as f32 * inv_b;
            let mut row = outputs.row_mut(i);
            match self.target {
                Target::Classes { y, .. } => {
                    row[y[r] as usize] -= 1.0;
                    row *= wi;
                }
                Target::Values(y) => row[0] = 2.0 * wi * (row[0] - y[r]),
            }
        }
    }

    /// Adds the weighted loss of `rows` (cross-entropy or squared error; row `i` of the head
    /// outputs `outputs` is `rows[i]`) and their weight to `acc`.
    pub fn accumulate_loss(&self, mut outputs: Array2<f32>, rows: &[usize], acc: &mut (f64, f64)) {
        if matches!(self.target, Target::Classes { .. }) {
            softmax_rows_inplace(&mut outputs);
        }
        for (i, &r) in rows.iter().enumerate() {
            let loss = match self.target {
                Target::Classes { y, .. } => -(outputs[[i, y[r] as usize]] as f64).max(1e-15).ln(),
                Target::Values(y) => (outputs[[i, 0]] as f64 - y[r] as f64).powi(2),
            };
            acc.0 += self.weights[r] * loss;
            acc.1 += self.weights[r];
        }
    }
}

/// One optimisation engine of the net.
pub trait Trainer {
    /// A copy of the current weights, cheap enough to take after every improving epoch.
    type Snapshot;
    /// One Adam step on the mini-batch `rows`; dropout draws come from `rng`.
    fn step(&mut self, rows: &[usize], rng: &mut ChaCha8Rng) -> Result<()>;
    /// Weighted mean loss (cross-entropy or squared error) of `rows` without dropout.
    fn loss(&mut self, rows: &[usize]) -> Result<f64>;
    /// The current weights.
    fn snapshot(&self) -> Self::Snapshot;
    /// Puts back weights taken by [`Trainer::snapshot`].
    fn restore(&mut self, snapshot: Self::Snapshot);
    /// Multiplies Adam's step size by `factor` (its moment estimates are kept).
    fn scale_learning_rate(&mut self, factor: f32);
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

/// How long and in what steps the loop trains.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Most passes over the training rows.
    pub epochs: usize,
    /// Rows per mini-batch.
    pub batch: usize,
    /// Epochs without a lower validation loss before stopping (0: never stop early).
    pub patience: usize,
}

impl Schedule {
    /// Epochs without a lower validation loss after which the step size is halved (and again
    /// after as many more): a third of the patience, at least 2, so that a net whose validation
    /// loss jumps between epochs gets a few calmer epochs before it is stopped (Keras'
    /// `ReduceLROnPlateau` beside `EarlyStopping`).
    pub fn plateau(&self) -> usize {
        (self.patience / 3).max(2)
    }
}

/// Factor applied to the step size on each plateau.
const PLATEAU_FACTOR: f32 = 0.5;

/// Runs up to `schedule.epochs` epochs over `train` in mini-batches; with a non-empty `valid`
/// and a patience, halves the step size after every [`Schedule::plateau`] epochs without a lower
/// validation loss, stops after `patience` of them and restores the best epoch's weights.
pub fn run_epochs<T: Trainer>(
    trainer: &mut T,
    train: &[usize],
    valid: &[usize],
    schedule: Schedule,
    rng: &mut ChaCha8Rng,
) -> Result<TrainLog> {
    let early = schedule.patience > 0 && !valid.is_empty();
    let mut order = train.to_vec();
    let mut log = TrainLog {
        epochs_run: 0,
        validation_loss: Vec::new(),
    };
    let (mut best, mut best_loss, mut since_best) = (None, f64::INFINITY, 0usize);
    for _epoch in 0..schedule.epochs {
        order.shuffle(rng);
        for rows in order.chunks(schedule.batch.max(1)) {
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
            if since_best >= schedule.patience {
                break;
            }
            if since_best % schedule.plateau() == 0 {
                trainer.scale_learning_rate(PLATEAU_FACTOR);
            }
        }
    }
    if let Some(best) = best {
        trainer.restore(best);
    }
    Ok(log)
}
