//! The CPU engine: `ndarray` kernels with hand-written gradients (checked against finite
//! differences and against burn's autodiff in the tests). Sparse columns are never densified and
//! only the sparse-input rows a batch touches are updated (lazy Adam), which keeps wide TF-IDF
//! blocks cheap.

use ndarray::Axis;
use rand_chacha::ChaCha8Rng;

use blueprints::error::Result;

use super::PREDICT_CHUNK;
use super::forward::{BatchInput, backward, forward_train, predict_logits, touched_sparse_columns};
use super::layers::{Adam, AlphaDropout, NetWeights};
use super::train::{TrainSet, Trainer};

/// Training state of the CPU engine.
pub struct NativeTrainer<'a> {
    set: &'a TrainSet<'a>,
    weights: NetWeights,
    grads: NetWeights,
    adam: Adam,
    dropout: AlphaDropout,
}

impl<'a> NativeTrainer<'a> {
    /// Starts from `weights` with Adam's step size `lr` and L2 penalty `l2`.
    pub fn new(set: &'a TrainSet<'a>, weights: NetWeights, dropout: f32, lr: f32, l2: f32) -> Self {
        Self {
            set,
            grads: NetWeights::zeros_like(&weights),
            adam: Adam::new(&weights, lr, l2),
            weights,
            dropout: AlphaDropout::new(dropout),
        }
    }

    /// The trained weights.
    pub fn into_weights(self) -> NetWeights {
        self.weights
    }
}

impl Trainer for NativeTrainer<'_> {
    type Snapshot = NetWeights;

    fn step(&mut self, rows: &[usize], rng: &mut ChaCha8Rng) -> Result<()> {
        let set = self.set;
        let d = set.dense.select(Axis(0), rows);
        let input = BatchInput {
            dense: d.view(),
            sparse: set.sparse.map(|s| (s, rows)),
        };
        let (mut doutputs, cache) = forward_train(&self.weights, &input, &self.dropout, rng);
        set.output_gradient(&mut doutputs, rows);
        let touched = touched_sparse_columns(&input);
        backward(
            &self.weights,
            &input,
            &cache,
            &doutputs,
            &self.dropout,
            &mut self.grads,
            &touched,
        );
        self.adam.step(&mut self.weights, &mut self.grads, &touched);
        Ok(())
    }

    fn loss(&mut self, rows: &[usize]) -> Result<f64> {
        let set = self.set;
        let mut acc = (0.0f64, 0.0f64);
        for chunk in rows.chunks(PREDICT_CHUNK) {
            let d = set.dense.select(Axis(0), chunk);
            let input = BatchInput {
                dense: d.view(),
                sparse: set.sparse.map(|s| (s, chunk)),
            };
            set.accumulate_loss(predict_logits(&self.weights, &input), chunk, &mut acc);
        }
        Ok(acc.0 / acc.1.max(1e-300))
    }

    fn snapshot(&self) -> NetWeights {
        self.weights.clone()
    }

    fn restore(&mut self, snapshot: NetWeights) {
        self.weights = snapshot;
    }

    fn scale_learning_rate(&mut self, factor: f32) {
        self.adam.lr *= factor;
    }

    fn weights(&self) -> Result<NetWeights> {
        Ok(self.weights.clone())
    }
}
