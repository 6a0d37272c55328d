//! Keras-style deep self-normalizing residual network (DataRobot's "Keras Slim Residual
//! Neural Network" family): standardized dense input (and sparse TF-IDF columns fed straight
//! into the first layer, never densified), blocks of Linear → SELU → AlphaDropout with residual
//! connections, LeCun-normal initialisation, a softmax head, Adam on shuffled mini-batches (of
//! 64 to 512 rows by the size of the data, [`auto_batch_rows`]), class weights, and early stopping
//! on a seeded stratified validation split of the training rows (the step size is halved on a
//! plateau of the validation loss; the weights of the best validation epoch are kept).
//!
//! **Bagging** (hyperparameter `bags`, as AutoGluon bags its neural nets): the fit trains `bags`
//! nets, each from its own seed, so each holds out a different validation split and stops on it,
//! and the model averages their head outputs (logits, or standardized predictions). On a few
//! thousand rows one net's early-stopping epoch and its initial weights move its predictions by
//! noise; the average keeps what the nets agree on and every training row teaches most members.
//! An inner hyperparameter search scores single nets ([`Estimator::for_inner_fit`]); the chosen
//! values are then fitted with every bag. The dense columns (and a regressor's target) are
//! standardized over all the rows given to the fit.
//!
//! Regression ([`Estimator::fit_regression`]) trains the same net and loop with a linear
//! one-output head and weighted squared error on the target standardized over the training rows
//! (its mean and standard deviation are kept, predictions are mapped back); the validation split
//! is then random and early stopping watches the validation squared error. Both engines do it.
//!
//! Two engines train it (hyperparameter `backend`), sharing one optimisation loop
//! (`train::run_epochs`) and one random stream, so that from a seed they start from the same
//! weights and see the same batches and dropout draws:
//! * `burn-wgpu` / `burn-cpu`: burn with autodiff, on a GPU through wgpu (any adapter) or on
//!   burn's CPU backend (`burn_engine`);
//! * `native`: `ndarray` kernels with hand-written gradients (`native`; checked against finite
//!   differences and against burn's autodiff), bit-for-bit reproducible, lazy on sparse blocks;
//! * `auto` (default): `burn-wgpu` on a hardware GPU when a training step is large (at least
//!   [`AUTO_GPU_STEP_MACS`] multiply-adds: batch × dense weights), `native` otherwise. Measured
//!   on an H100 machine (16 cores, `snn_speed`, `docs/benchmarks/estimators.md`): 1,264 × 1,280,
//!   hidden 256, batch 64 (2.5e7 per step): native 0.056 s/epoch, burn on the GPU 0.060 (plus
//!   kernel autotuning per new shape); 20,000 × 2,048, hidden 256 (3.8e7): 1.38 vs 1.15;
//!   20,000 × 2,048, hidden 1,024, 2 blocks, batch 512 (2.2e9): 28.1 vs 1.25 s/epoch.
//!
//! The fitted weights come back to the host and serialize with serde as plain `f32` arrays;
//! prediction runs on the host.
//!
//! Bad input: non-finite or empty features and bad labels are refused by
//! [`blueprints::fit_input::check_fit_input`]; a class absent from the training rows gets the floor
//! probability; a single-class training set predicts that class with probability ≈ 1 (no training).

mod burn_engine;
mod forward;
mod layers;
mod native;
mod train;

use std::borrow::Cow;

use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sprs::CsMat;

use blueprints::error::{BlueprintError, Result};
use blueprints::estimator::Fitted;
use blueprints::fit_input::{
    ClassMap, ClassWeight, FitLabels, FitTargets, random_split, stratified_split,
};
use blueprints::params::{Param, ParamSpec, SearchDim, TargetKind, Tunable};
use blueprints::{Estimator, Features, FitContext, choice_enum, field};

use crate::device::{DeviceChoice, SelectedDevice, select_device};
use burn_engine::BurnTrainer;
use forward::{BatchInput, dense_input_gradient, predict_logits, softmax_rows_inplace};
use layers::NetWeights;
use native::NativeTrainer;
use train::{Schedule, Target, TrainLog, TrainSet, run_epochs};

const TASK: &str = "Self-Normalizing Residual Net";

/// Under `backend = auto`, a training step with at least this many multiply-adds (batch × dense
/// weights) runs on a hardware GPU when there is one: below it kernel launches, transfers and
/// autotuning leave the GPU no faster than the native engine (see the module docs).
pub const AUTO_GPU_STEP_MACS: usize = 100_000_000;

choice_enum! {
    /// The engine that trains the net (see the module docs).
    #[derive(Default)]
    pub enum Backend {
        /// `burn-wgpu` on a hardware GPU for large steps, else `native`.
        #[default]
        Auto = "auto",
        /// `ndarray` kernels with hand-written gradients.
        Native = "native",
        /// burn autodiff on its CPU backend.
        BurnCpu = "burn-cpu",
        /// burn autodiff on wgpu.
        BurnWgpu = "burn-wgpu",
    }
}

/// Rows per chunk when predicting or evaluating a loss.
const PREDICT_CHUNK: usize = 512;

/// Hyperparameters of [`SelfNormalizingNet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnnParams {
    /// Units of every hidden layer.
    pub hidden_size: usize,
    /// Residual blocks after the input layer.
    pub n_blocks: usize,
    /// AlphaDropout rate after every SELU.
    pub dropout: f64,
    /// Adam step size.
    pub learning_rate: f64,
    /// Most passes over the training rows.
    pub epochs: usize,
    /// Rows per mini-batch; 0 = by the number of training rows ([`auto_batch_rows`]).
    pub batch_size: usize,
    /// Epochs without a lower validation loss before stopping; 0 = never stop early.
    pub patience: usize,
    /// Fraction of the training rows held out (stratified) for early stopping; 0 = none.
    pub validation_fraction: f64,
    /// L2 penalty on weight matrices (added to the gradient).
    pub l2: f64,
    /// `balanced` weighs classes inversely to their frequency; `none` keeps row weights
    /// (classification only).
    pub class_weight: ClassWeight,
    /// Training engine: `auto`, `native`, `burn-cpu` or `burn-wgpu` (see the module docs).
    #[serde(default)]
    pub backend: Backend,
    /// Nets trained from different seeds and validation splits, averaged (see the module docs).
    #[serde(default = "one_bag")]
    pub bags: usize,
}

/// The bag count of models saved before bagging existed.
fn one_bag() -> usize {
    1
}

/// Default bag count.
pub const DEFAULT_BAGS: usize = 3;

/// `batch_size` that means "by the number of training rows" ([`auto_batch_rows`]).
pub const AUTO_BATCH: usize = 0;

/// Mini-batch rows for `n_train` training rows under `batch_size = 0`: AutoGluon's rule for its
/// tabular nets, `2^(3 + ⌊log10 n⌋)`, kept within 64..=512 — 64 up to 9,999 rows, 128 up to
/// 99,999, then 256 and 512. Larger data gets larger batches: fewer, better-used steps per
/// epoch and less gradient noise, where a fixed 64 made an epoch of 20,000 rows 300 small steps.
pub fn auto_batch_rows(n_train: usize) -> usize {
    let digits = (n_train.max(1) as f64).log10().floor() as u32;
    (1usize << (3 + digits).min(9)).clamp(64, 512)
}

/// The mini-batch rows of `p` for `n_train` training rows.
fn batch_rows(p: &SnnParams, n_train: usize) -> usize {
    match p.batch_size {
        AUTO_BATCH => auto_batch_rows(n_train),
        b => b,
    }
}

impl Default for SnnParams {
    fn default() -> Self {
        Self {
            hidden_size: 256,
            n_blocks: 1,
            dropout: 0.1,
            learning_rate: 1e-3,
            epochs: 200,
            batch_size: AUTO_BATCH,
            patience: 10,
            validation_fraction: 0.1,
            l2: 1e-4,
            class_weight: ClassWeight::Balanced,
            backend: Backend::Auto,
            bags: DEFAULT_BAGS,
        }
    }
}

/// What fitting produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FittedSnn {
    classes: ClassMap,
    n_dense: usize,
    n_sparse: usize,
    /// Mean of each dense column over the training rows.
    mean: Vec<f32>,
    /// Standard deviation of each dense column (1 for constant columns).
    scale: Vec<f32>,
    /// The first net's weights (of the best validation epoch when early stopping ran).
    weights: NetWeights,
    /// The other bags' weights (empty for one bag).
    #[serde(default)]
    more_weights: Vec<NetWeights>,
    /// Epochs the first net ran.
    epochs_run: usize,
    /// The first net's validation loss after each epoch (empty without early stopping):
    /// cross-entropy, or for a regressor the squared error of the standardized target.
    validation_loss: Vec<f64>,
    /// The engine and device that trained it, e.g. `native (cpu)` or `burn (wgpu: …)`.
    #[serde(default)]
    trained_on: String,
    /// Set when fitted by `fit_regression`: the head has one output, the standardized target.
    #[serde(default)]
    regression: Option<TargetScale>,
}

/// How a regressor's output maps back to the target: `mean + std · output`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct TargetScale {
    /// Weighted mean of the target over the training rows.
    mean: f64,
    /// Weighted standard deviation of the target over the training rows (1 when constant).
    std: f64,
}

impl TargetScale {
    /// The weighted mean and standard deviation of `t` over `rows`.
    fn of(t: &FitTargets, rows: &[usize]) -> Self {
        let mean = t.mean(rows);
        let (ss, w) = rows.iter().fold((0.0, 0.0), |(ss, w), &r| {
            (
                ss + t.weights[r] * (t.y[r] - mean).powi(2),
                w + t.weights[r],
            )
        });
        let std = if w > 0.0 { (ss / w).sqrt() } else { 0.0 };
        let std = if std.is_finite() && std > 0.0 {
            std
        } else {
            1.0
        };
        Self { mean, std }
    }
}

/// One fit's task: what the net learns and how the fitted state reads its head.
struct Task<'a> {
    target: Target<'a>,
    /// Weight of every row.
    weights: &'a [f64],
    classes: ClassMap,
    regression: Option<TargetScale>,
}

/// Deep self-normalizing residual network classifier and regressor (see the module docs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SelfNormalizingNet {
    /// Hyperparameters.
    pub params: SnnParams,
    fitted: Fitted<FittedSnn>,
}

impl SelfNormalizingNet {
    /// An unfitted net with these hyperparameters.
    pub fn new(params: SnnParams) -> Self {
        Self {
            params,
            fitted: Fitted::default(),
        }
    }

    /// Epochs the last fit ran (`None` before fitting).
    pub fn epochs_run(&self) -> Option<usize> {
        self.fitted.as_option().map(|f| f.epochs_run)
    }

    /// Validation loss after each epoch of the last fit (empty without early stopping).
    pub fn validation_loss(&self) -> &[f64] {
        self.fitted.as_option().map_or(&[], |f| &f.validation_loss)
    }

    /// The engine and device of the last fit, e.g. `native (cpu)` (`None` before fitting).
    pub fn trained_on(&self) -> Option<&str> {
        self.fitted.as_option().map(|f| f.trained_on.as_str())
    }

    /// Trains `bags` nets for `task` and stores the fitted state. Bag `b` draws its split
    /// (training rows, early-stopping rows; see `split`) from the seed `seed + b`, and the same
    /// stream goes on to its initial weights, shuffles and dropout. A single class trains nothing.
    fn fit_task(
        &mut self,
        x: &Features,
        task: Task,
        seed: u64,
        split: impl Fn(&mut ChaCha8Rng) -> (Vec<usize>, Vec<usize>) + Sync,
    ) -> Result<()> {
        let p = self.params.clone();
        let k = task.target.n_outputs();
        let all: Vec<usize> = (0..x.n_rows()).collect();
        let (mean, scale) = match &x.dense {
            Some(d) => column_stats(d, &all),
            None => (Vec::new(), Vec::new()),
        };
        let dense = standardized(x, &mean, &scale);
        let sparse = sparse_csr(x);
        let set = TrainSet {
            dense: &dense,
            sparse: sparse.as_deref(),
            target: task.target,
            weights: task.weights,
        };
        let batch = batch_rows(&p, x.n_rows());
        let engine = Engine::resolve(p.backend, step_macs(&p, batch, x.n_dense(), k))?;
        // Bags are independent (own seed, split and weights): on the CPU they train in parallel.
        let bag = |b: usize, engine: &Engine| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(b as u64));
            let (train, valid) = split(&mut rng);
            train_member(&p, &set, engine, &train, &valid, &mut rng)
        };
        let n_bags = p.bags.max(1);
        let trained: Vec<(NetWeights, TrainLog)> = match &engine {
            Engine::Native => (0..n_bags)
                .into_par_iter()
                .map(|b| bag(b, &Engine::Native))
                .collect::<Result<_>>()?,
            Engine::Burn(_) => (0..n_bags)
                .map(|b| bag(b, &engine))
                .collect::<Result<_>>()?,
        };
        let (mut members, mut logs): (Vec<NetWeights>, Vec<TrainLog>) = trained.into_iter().unzip();
        let log = logs.swap_remove(0);
        let weights = members.remove(0);
        self.fitted = FittedSnn {
            classes: task.classes,
            n_dense: x.n_dense(),
            n_sparse: x.n_sparse(),
            mean,
            scale,
            weights,
            more_weights: members,
            epochs_run: log.epochs_run,
            validation_loss: log.validation_loss,
            trained_on: engine.describe(),
            regression: task.regression,
        }
        .into();
        Ok(())
    }
}

/// Trains one fresh net of `set` on the rows `train` (early stopping on `valid` when it is not
/// empty; nothing to learn for a single class). `rng` goes on to the initial weights, the
/// shuffles and the dropout.
fn train_member(
    p: &SnnParams,
    set: &TrainSet,
    engine: &Engine,
    train: &[usize],
    valid: &[usize],
    rng: &mut ChaCha8Rng,
) -> Result<(NetWeights, TrainLog)> {
    let k = set.target.n_outputs();
    let n_sparse = set.sparse.map_or(0, |s| s.cols());
    let mut w = NetWeights::init(
        set.dense.ncols(),
        n_sparse,
        p.hidden_size,
        p.n_blocks,
        k,
        rng,
    );
    let mut log = TrainLog {
        epochs_run: 0,
        validation_loss: Vec::new(),
    };
    if set.target.has_something_to_learn() {
        let (drop, lr, l2) = (p.dropout as f32, p.learning_rate as f32, p.l2 as f32);
        let schedule = Schedule {
            epochs: p.epochs,
            batch: batch_rows(p, train.len()),
            patience: p.patience,
        };
        w = match engine {
            Engine::Native => {
                let mut t = NativeTrainer::new(set, w, drop, lr, l2);
                log = run_epochs(&mut t, train, valid, schedule, rng)?;
                t.into_weights()
            }
            Engine::Burn(d) => {
                let mut t = BurnTrainer::new(set, &w, d.device.clone(), drop, lr, l2);
                log = run_epochs(&mut t, train, valid, schedule, rng)?;
                train::Trainer::weights(&t)?
            }
        };
        if !w.all_finite() {
            return Err(BlueprintError::Numeric {
                task: TASK.into(),
                reason: "training diverged (non-finite weights); lower the learning rate".into(),
            });
        }
    }
    Ok((w, log))
}

impl FittedSnn {
    /// Checks `x` against the fitted columns.
    fn check_columns(&self, x: &Features) -> Result<()> {
        x.validate()?;
        if x.n_dense() != self.n_dense || x.n_sparse() != self.n_sparse {
            return Err(BlueprintError::InvalidInput(format!(
                "{TASK} was fitted on {} dense + {} sparse columns but got {} + {}",
                self.n_dense,
                self.n_sparse,
                x.n_dense(),
                x.n_sparse()
            )));
        }
        Ok(())
    }

    /// Every bag's weights.
    fn members(&self) -> impl Iterator<Item = &NetWeights> {
        std::iter::once(&self.weights).chain(&self.more_weights)
    }

    /// The head's outputs (logits, or the standardized prediction) for every row of `x`,
    /// averaged over the bags.
    fn head_outputs(&self, x: &Features) -> Array2<f32> {
        let dense = standardized(x, &self.mean, &self.scale);
        let sparse = sparse_csr(x);
        let sparse = sparse.as_deref();
        let n = x.n_rows();
        let mut out = Array2::<f32>::zeros((n, self.weights.head.b.len()));
        let all: Vec<usize> = (0..n).collect();
        for (i, chunk) in all.chunks(PREDICT_CHUNK).enumerate() {
            let d = dense.select(Axis(0), chunk);
            let input = BatchInput {
                dense: d.view(),
                sparse: sparse.map(|s| (s, chunk)),
            };
            let start = i * PREDICT_CHUNK;
            let mut block = out.slice_mut(ndarray::s![start..start + chunk.len(), ..]);
            for w in self.members() {
                block += &predict_logits(w, &input);
            }
        }
        out / self.members().count() as f32
    }
}

/// Column means and standard deviations of the dense block over `rows` (std 1 when constant).
fn column_stats(x: &Array2<f32>, rows: &[usize]) -> (Vec<f32>, Vec<f32>) {
    let n = rows.len().max(1) as f64;
    let mut mean = Vec::with_capacity(x.ncols());
    let mut scale = Vec::with_capacity(x.ncols());
    for col in x.axis_iter(Axis(1)) {
        let m = rows.iter().map(|&r| col[r] as f64).sum::<f64>() / n;
        let var = rows
            .iter()
            .map(|&r| (col[r] as f64 - m).powi(2))
            .sum::<f64>()
            / n;
        let sd = var.sqrt();
        mean.push(m as f32);
        scale.push(if sd > 1e-12 { sd as f32 } else { 1.0 });
    }
    (mean, scale)
}

/// The dense block standardized (or an `n × 0` matrix when there is none).
fn standardized(x: &Features, mean: &[f32], scale: &[f32]) -> Array2<f32> {
    match &x.dense {
        Some(d) => {
            let mut s = d.to_owned();
            for mut row in s.axis_iter_mut(Axis(0)) {
                for ((v, m), sd) in row.iter_mut().zip(mean).zip(scale) {
                    *v = (*v - m) / sd;
                }
            }
            s
        }
        None => Array2::zeros((x.n_rows(), 0)),
    }
}

/// The sparse block in CSR storage (borrowed when it already is).
fn sparse_csr(x: &Features) -> Option<Cow<'_, CsMat<f32>>> {
    x.sparse.as_ref().map(|s| {
        if s.is_csr() {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(s.to_csr())
        }
    })
}

/// Multiply-adds of one training step's dense products: batch × (dense input weights + block
/// weights + head weights). Sparse input rows are left out (a batch touches few of them).
fn step_macs(p: &SnnParams, batch: usize, n_dense: usize, n_classes: usize) -> usize {
    let h = p.hidden_size;
    batch.saturating_mul(n_dense * h + p.n_blocks * h * h + h * n_classes)
}

/// Which engine trains the net.
enum Engine {
    Native,
    Burn(Box<SelectedDevice>),
}

impl Engine {
    /// Resolves the `backend` hyperparameter for a net whose training step costs `step_macs`
    /// multiply-adds (a named device that is not there is an error; `auto` never fails).
    fn resolve(backend: Backend, step_macs: usize) -> Result<Self> {
        let device = |choice| {
            select_device(choice).map_err(|e| BlueprintError::InvalidParam {
                name: "backend".into(),
                value: backend.to_string(),
                reason: e.to_string(),
            })
        };
        match backend {
            Backend::BurnCpu => Ok(Engine::Burn(Box::new(device(DeviceChoice::Cpu)?))),
            Backend::BurnWgpu => Ok(Engine::Burn(Box::new(device(DeviceChoice::Wgpu)?))),
            Backend::Auto if step_macs >= AUTO_GPU_STEP_MACS => {
                Ok(match select_device(DeviceChoice::Auto) {
                    Ok(d) if d.adapter.as_ref().is_some_and(|a| a.is_hardware()) => {
                        Engine::Burn(Box::new(d))
                    }
                    _ => Engine::Native,
                })
            }
            Backend::Native | Backend::Auto => Ok(Engine::Native),
        }
    }

    fn describe(&self) -> String {
        match self {
            Engine::Native => "native (cpu)".into(),
            Engine::Burn(d) => format!("burn ({})", d.description),
        }
    }
}

impl Tunable for SelfNormalizingNet {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            Param::int(
                "hidden_size",
                4..=4096,
                field!(params.hidden_size),
                "units per hidden layer",
            ),
            Param::int(
                "n_blocks",
                0..=32,
                field!(params.n_blocks),
                "residual blocks after the input layer",
            ),
            Param::float(
                "dropout",
                0.0..=0.9,
                field!(params.dropout),
                "AlphaDropout rate",
            ),
            Param::log_float(
                "learning_rate",
                1e-6..=1.0,
                field!(params.learning_rate),
                "Adam step size",
            ),
            Param::int(
                "epochs",
                1..=100_000,
                field!(params.epochs),
                "most passes over the training rows",
            ),
            Param::int(
                "batch_size",
                0..=1 << 20,
                field!(params.batch_size),
                "rows per mini-batch; 0 = by the training rows (64 up to 9,999, 128 up to 99,999, then 256, 512)",
            ),
            Param::int(
                "patience",
                0..=10_000,
                field!(params.patience),
                "epochs without better validation loss before stopping; 0 = off",
            ),
            Param::float(
                "validation_fraction",
                0.0..=0.5,
                field!(params.validation_fraction),
                "training rows held out for early stopping; 0 = off",
            ),
            Param::float(
                "l2",
                0.0..=10.0,
                field!(params.l2),
                "L2 penalty on weight matrices",
            ),
            ClassWeight::param(field!(params.class_weight)),
            Param::int(
                "bags",
                1..=32,
                field!(params.bags),
                "nets trained from different seeds and early-stopping splits, averaged",
            ),
            Param::choice(
                "backend",
                field!(params.backend),
                "training engine: auto = burn on a hardware GPU for large steps (batch × \
                 weights ≥ 1e8), else native (CPU kernels); burn-cpu / burn-wgpu = burn \
                 autodiff on its CPU backend / on wgpu",
            ),
        ]
    }
}

#[typetag::serde]
impl Estimator for SelfNormalizingNet {
    fn name(&self) -> String {
        TASK.into()
    }

    fn params(&self) -> Vec<ParamSpec> {
        self.param_specs()
    }

    fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_by_name(TASK, name, value)
    }

    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()> {
        let FitLabels {
            classes,
            y: yc,
            weights,
        } = FitLabels::new(x, y, ctx, self.params.class_weight)?;
        self.fitted.clear();
        let p = &self.params;
        let k = classes.n_present();
        let stops = p.patience > 0 && p.validation_fraction > 0.0 && k > 1;
        let fraction = p.validation_fraction;
        let split = |rng: &mut ChaCha8Rng| {
            if stops {
                stratified_split(&yc, k, fraction, rng)
            } else {
                ((0..yc.len()).collect(), Vec::new())
            }
        };
        let task = Task {
            target: Target::Classes {
                y: &yc,
                n_classes: k,
            },
            weights: &weights,
            classes,
            regression: None,
        };
        self.fit_task(x, task, ctx.seed, split)
    }

    /// Trains with a linear one-output head and weighted squared error on the target
    /// standardized over the training rows (see the module docs).
    fn fit_regression(&mut self, x: &Features, y: &[f32], ctx: &FitContext) -> Result<()> {
        let t = FitTargets::new(x, y, ctx)?;
        self.fitted.clear();
        let p = &self.params;
        let stops = p.patience > 0 && p.validation_fraction > 0.0;
        let fraction = p.validation_fraction;
        let split = |rng: &mut ChaCha8Rng| {
            if stops {
                random_split(y.len(), fraction, rng)
            } else {
                ((0..y.len()).collect(), Vec::new())
            }
        };
        let all: Vec<usize> = (0..y.len()).collect();
        let scale = TargetScale::of(&t, &all);
        let z: Vec<f32> =
            t.y.iter()
                .map(|v| ((v - scale.mean) / scale.std) as f32)
                .collect();
        let task = Task {
            target: Target::Values(&z),
            weights: &t.weights,
            classes: ClassMap::from_labels(&[0], 1),
            regression: Some(scale),
        };
        self.fit_task(x, task, ctx.seed, split)
    }

    fn supports_regression(&self) -> bool {
        true
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        let f = self.fitted.get(TASK)?;
        f.check_columns(x)?;
        let mut out = f.head_outputs(x);
        if let Some(s) = f.regression {
            return Ok(out.mapv(|v| (s.mean + s.std * v as f64) as f32));
        }
        softmax_rows_inplace(&mut out);
        Ok(f.classes.expand(out.mapv(f64::from).view()))
    }

    /// For a regression the dropout starts at 0: AlphaDropout's noise on the last hidden layer
    /// reaches the linear head unaveraged, and a smooth target then cannot be fitted finely
    /// (`a_regressor_searches_without_dropout_first`).
    fn search_space(&self, kind: TargetKind) -> Vec<SearchDim> {
        let dropout: &[&str] = match kind {
            TargetKind::Classification => &["0.1", "0.2", "0.05"],
            TargetKind::Regression => &["0", "0.05"],
        };
        vec![
            SearchDim::new("hidden_size", &["256", "512", "128"], false),
            SearchDim::new("n_blocks", &["1", "2"], false),
            SearchDim::new("dropout", dropout, false),
            SearchDim::new("learning_rate", &["0.001", "0.0003"], false),
        ]
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }

    /// One net: the search compares configurations, the chosen one is fitted with every bag.
    fn for_inner_fit(&self) -> Box<dyn Estimator> {
        let mut single = self.clone();
        single.params.bags = 1;
        Box::new(single)
    }

    /// For a regressor (`class` 0) the gradient of the predicted value.
    fn dense_logit_gradient(&self, x: &Features, class: usize) -> Result<Option<Vec<f32>>> {
        let f = self.fitted.get(TASK)?;
        x.validate()?;
        if x.n_rows() != 1 || x.n_dense() != f.n_dense || x.n_sparse() != f.n_sparse {
            return Err(BlueprintError::InvalidInput(format!(
                "{TASK}: a logit gradient needs one row of {} dense + {} sparse columns, got {} \
                 rows of {} + {}",
                f.n_dense,
                f.n_sparse,
                x.n_rows(),
                x.n_dense(),
                x.n_sparse()
            )));
        }
        if class >= f.classes.n_classes {
            return Err(BlueprintError::InvalidInput(format!(
                "{TASK}: class {class} is out of range ({} classes)",
                f.classes.n_classes
            )));
        }
        let dlogits = match f.regression {
            // d(mean + std · output)/d output.
            Some(s) => Array2::<f32>::from_elem((1, 1), s.std as f32),
            None => {
                // d(centred logit_c)/d logits = e_c − 1/k over the present classes.
                let k = f.classes.n_present();
                let mut d = Array2::<f32>::from_elem((1, k), -1.0 / k as f32);
                if let Some(c) = f.classes.present.iter().position(|&p| p as usize == class) {
                    d[[0, c]] += 1.0;
                }
                d
            }
        };
        let dense = standardized(x, &f.mean, &f.scale);
        let sparse = sparse_csr(x);
        let rows = [0usize];
        let input = BatchInput {
            dense: dense.view(),
            sparse: sparse.as_deref().map(|s| (s, &rows[..])),
        };
        // The gradient of the bags' average output is the average of their gradients.
        let mut g = Array2::<f32>::zeros((1, f.n_dense));
        for w in f.members() {
            g += &dense_input_gradient(w, &input, &dlogits);
        }
        g /= f.members().count() as f32;
        // Back through the standardization x' = (x − mean) / scale.
        Ok(Some(
            g.row(0).iter().zip(&f.scale).map(|(g, s)| g / s).collect(),
        ))
    }
}

#[cfg(test)]
mod tests;
