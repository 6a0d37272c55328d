//! Histogram gradient boosting (LightGBM-style): multiclass softmax, one tree per class and round,
//! or regression (squared or Huber loss, one tree per round); leaf-wise growth, row and column
//! subsampling, optional early stopping on a held-out split (stratified for classes), optionally
//! followed by a refit on all rows.

use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::BinnedData;
use super::common::{check_predict_input, mix_seed, random_holdout, stratified_holdout};
use super::grower::{FeatureChoice, GrowParams, grow_tree};
use super::histogram::SplitRules;
use super::model::{RowView, Tree};
use crate::error::{BlueprintError, Result};
use crate::estimator::{Estimator, FitContext, Fitted};
use crate::features::Features;
use crate::field;
use crate::fit_input::{ClassMap, ClassWeight, FitLabels};
use crate::metrics::Truth;
use crate::params::{Param, ParamSpec, SearchDim, TargetKind, Tunable, parse_int};
use crate::{choice_enum, fit_input::FitTargets};

const TASK: &str = "Gradient Boosted Trees";

choice_enum! {
    /// The loss a regression fit boosts on.
    #[derive(Default)]
    pub enum RegressionLoss {
        /// Squared error; starts from the weighted mean.
        #[default]
        Squared = "squared",
        /// Huber: squared within `delta` of the target, linear beyond; `delta` is the
        /// `huber_alpha` quantile of the absolute residuals of each round (scikit-learn's rule);
        /// starts from the weighted median.
        Huber = "huber",
    }
}

fn default_huber_alpha() -> f64 {
    0.9
}

/// Hyperparameters of [`GradientBoosting`] (names follow LightGBM).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtParams {
    /// Boosting rounds (each adds one tree per class); early stopping may use fewer.
    pub n_estimators: usize,
    /// Shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// Most leaves per tree.
    pub num_leaves: usize,
    /// Deepest split level; -1 = unlimited.
    pub max_depth: i64,
    /// Fewest training rows in a leaf.
    pub min_child_samples: usize,
    /// Least hessian sum in a leaf.
    pub min_child_weight: f64,
    /// L2 penalty on leaf values.
    pub reg_lambda: f64,
    /// Least gain a split must bring.
    pub min_split_gain: f64,
    /// Fraction of training rows drawn (without replacement) for each round.
    pub subsample: f64,
    /// Fraction of features drawn for each tree.
    pub colsample_bytree: f64,
    /// Most bins per feature. 63 by default (LightGBM uses 255): split search and histogram
    /// subtraction cost grows with the bin count, and on training sets of a few thousand rows
    /// the finer bins bought no balanced accuracy in `docs/benchmarks/estimators.md`.
    pub max_bin: usize,
    /// Fraction of the training rows held out (stratified) for early stopping; 0 = off (the
    /// default, as LightGBM's: on the covers benchmark a 10 % hold-out cost 0.007–0.02 balanced
    /// accuracy, `docs/benchmarks/estimators.md`).
    pub validation_fraction: f64,
    /// Stop after this many rounds without a lower validation log loss; 0 = off.
    pub n_iter_no_change: usize,
    /// After early stopping, refit on all training rows (held-out ones included) for the chosen
    /// number of rounds scaled by `all rows / rows boosted on`.
    #[serde(default)]
    pub refit: bool,
    /// `balanced` reweights classes to equal total weight; `none` keeps row weights.
    /// Not used by regression.
    pub class_weight: ClassWeight,
    /// Loss of a regression fit (classification always boosts the softmax log loss).
    #[serde(default)]
    pub loss: RegressionLoss,
    /// Huber loss: `delta` is this quantile of each round's absolute residuals.
    #[serde(default = "default_huber_alpha")]
    pub huber_alpha: f64,
}

impl Default for GbdtParams {
    fn default() -> Self {
        Self {
            n_estimators: 300,
            learning_rate: 0.05,
            num_leaves: 15,
            max_depth: -1,
            min_child_samples: 10,
            min_child_weight: 1e-3,
            reg_lambda: 1.0,
            min_split_gain: 0.0,
            subsample: 0.8,
            colsample_bytree: 0.5,
            max_bin: 63,
            validation_fraction: 0.0,
            n_iter_no_change: 20,
            refit: false,
            class_weight: ClassWeight::Balanced,
            loss: RegressionLoss::Squared,
            huber_alpha: default_huber_alpha(),
        }
    }
}

/// What fitting produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FittedGbdt {
    classes: ClassMap,
    n_dense: usize,
    n_sparse: usize,
    /// Starting score of each present class (log prior).
    init_scores: Vec<f64>,
    /// Trees, round-major: round `r`, class `c` at `r * n_present + c`.
    trees: Vec<Tree>,
    /// Rounds kept (the best validation round when early stopping ran).
    n_rounds: usize,
    /// Validation loss after each round (empty without early stopping): log loss, or for a
    /// regressor RMSE (squared loss) or mean absolute error (Huber).
    validation_loss: Vec<f64>,
    /// Fitted by `fit_regression`: one output, the predicted value (`classes` is then one class).
    #[serde(default)]
    regression: bool,
}

/// Histogram gradient-boosted decision trees for multiclass classification.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GradientBoosting {
    /// Hyperparameters.
    pub params: GbdtParams,
    fitted: Fitted<FittedGbdt>,
}

impl GradientBoosting {
    /// An unfitted model with these hyperparameters.
    pub fn new(params: GbdtParams) -> Self {
        Self {
            params,
            fitted: Fitted::default(),
        }
    }

    /// Boosting rounds kept by the last fit (fewer than `n_estimators` when early stopping fired).
    pub fn n_rounds(&self) -> Option<usize> {
        self.fitted.as_option().map(|f| f.n_rounds)
    }

    /// The fitted trees, round-major (round `r`, present class `c` at `r * n_present + c`).
    pub fn trees(&self) -> &[Tree] {
        self.fitted.as_option().map_or(&[], |f| &f.trees)
    }

    /// Validation log loss after each round of the last fit (empty without early stopping).
    pub fn validation_loss(&self) -> &[f64] {
        self.fitted.as_option().map_or(&[], |f| &f.validation_loss)
    }

    fn grow_params(&self, features: Vec<usize>, seed: u64, parallel: bool) -> GrowParams {
        let p = &self.params;
        GrowParams {
            rules: SplitRules {
                k: 1,
                min_child_samples: p.min_child_samples,
                min_child_weight: p.min_child_weight,
                lambda: p.reg_lambda,
            },
            max_leaves: p.num_leaves,
            max_depth: usize::try_from(p.max_depth).ok(),
            min_split_gain: p.min_split_gain,
            extra_trees: false,
            features: FeatureChoice::PerTree(features),
            seed,
            parallel,
        }
    }
}

/// Trees and scores of one boosting run.
struct Boosted {
    init_scores: Vec<f64>,
    trees: Vec<Tree>,
    n_rounds: usize,
    validation_loss: Vec<f64>,
}

/// What a boosting run fits: the softmax over `k` present classes (compact labels), or one real
/// target per row under a regression loss.
#[derive(Clone, Copy)]
enum Objective<'a> {
    Softmax { y: &'a [u32], k: usize },
    Regression { y: &'a [f64], loss: RegressionLoss },
}

impl Objective<'_> {
    /// Score columns (trees per round).
    fn k(&self) -> usize {
        match self {
            Objective::Softmax { k, .. } => *k,
            Objective::Regression { .. } => 1,
        }
    }

    /// Starting scores: the weighted log prior of each class, or the weighted mean (squared) or
    /// median (Huber) target of the training rows.
    fn init_scores(&self, train: &[usize], weights: &[f64]) -> Vec<f64> {
        match *self {
            Objective::Softmax { y, k } => {
                let mut class_w = vec![0.0f64; k];
                for &r in train {
                    class_w[y[r] as usize] += weights[r];
                }
                let total_w: f64 = class_w.iter().sum();
                class_w
                    .iter()
                    .map(|&w| ((w + 1e-6 * total_w) / total_w).ln())
                    .collect()
            }
            Objective::Regression { y, loss } => {
                let pairs: Vec<(f64, f64)> = train.iter().map(|&r| (y[r], weights[r])).collect();
                vec![match loss {
                    RegressionLoss::Squared => {
                        let (s, w) = pairs
                            .iter()
                            .fold((0.0, 0.0), |(s, w), &(v, wi)| (s + wi * v, w + wi));
                        if w > 0.0 { s / w } else { 0.0 }
                    }
                    RegressionLoss::Huber => weighted_quantile(pairs, 0.5),
                }]
            }
        }
    }

    /// Validation loss of `scores` on `valid`: log loss, RMSE (squared) or MAE (Huber).
    fn validation_loss(&self, scores: &[f64], weights: &[f64], valid: &[usize]) -> f64 {
        let k = self.k();
        let (mut loss, mut wsum) = (0.0, 0.0);
        for &r in valid {
            let s = &scores[r * k..(r + 1) * k];
            loss += weights[r]
                * match *self {
                    Objective::Softmax { y, .. } => {
                        crate::numeric::log_sum_exp(s) - s[y[r] as usize]
                    }
                    Objective::Regression { y, loss } => match loss {
                        RegressionLoss::Squared => (y[r] - s[0]).powi(2),
                        RegressionLoss::Huber => (y[r] - s[0]).abs(),
                    },
                };
            wsum += weights[r];
        }
        let mean = loss / wsum.max(1e-300);
        match self {
            Objective::Regression {
                loss: RegressionLoss::Squared,
                ..
            } => mean.sqrt(),
            _ => mean,
        }
    }
}

/// The `q` quantile of values with weights (the smallest value whose cumulative weight reaches
/// `q` of the total); 0 for no weight.
fn weighted_quantile(mut pairs: Vec<(f64, f64)>, q: f64) -> f64 {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    let mut acc = 0.0;
    for &(v, w) in &pairs {
        acc += w;
        if acc >= q * total && w > 0.0 {
            return v;
        }
    }
    pairs.last().map_or(0.0, |p| p.0)
}

impl GradientBoosting {
    /// Boosts up to `rounds` rounds of `obj` on the rows `train` (row `weights`); with a
    /// non-empty `valid`, stops `n_iter_no_change` rounds after the best validation loss and
    /// keeps the trees up to it.
    #[allow(clippy::too_many_arguments)]
    fn boost(
        &self,
        x: &Features,
        obj: Objective,
        weights: &[f64],
        train: &[usize],
        valid: &[usize],
        rounds: usize,
        seed: u64,
    ) -> Result<Boosted> {
        let p = &self.params;
        let k = obj.k();
        let n = weights.len();
        let early = !valid.is_empty();
        let data = BinnedData::build(x, train, p.max_bin, seed);
        // A sparse column with fewer than `min_child_samples` non-zeros among the training rows
        // cannot split (one side of every split holds only non-zeros), so it is never drawn:
        // lossless, and it drops most char n-grams of a wide TF-IDF block.
        let mut in_train = vec![false; n];
        for &r in train {
            in_train[r] = true;
        }
        let usable: Vec<usize> = (0..data.n_features())
            .filter(|&f| data.mappers[f].n_bins() > 1)
            .filter(|&f| {
                f < data.n_dense
                    || data.sparse[f - data.n_dense]
                        .rows
                        .iter()
                        .filter(|&&r| in_train[r as usize])
                        .count()
                        >= p.min_child_samples
            })
            .collect();

        let init_scores = obj.init_scores(train, weights);
        let mut scores = vec![0.0f64; n * k];
        for row in scores.chunks_exact_mut(k) {
            row.copy_from_slice(&init_scores);
        }
        let mut trees: Vec<Tree> = Vec::new();
        let mut validation_loss = Vec::new();
        let (mut best_round, mut best_loss) = (0usize, f64::INFINITY);
        let mut gh_all = vec![0.0f64; n * 2 * k];
        let mut prob = vec![0.0f64; n * k];
        let hess_factor = if k > 1 {
            k as f64 / (k as f64 - 1.0)
        } else {
            1.0
        };
        let n_bag = ((p.subsample * train.len() as f64).round() as usize).clamp(1, train.len());
        let n_cols = ((p.colsample_bytree * usable.len() as f64).ceil() as usize)
            .clamp(1, usable.len().max(1));
        let trainable = match obj {
            Objective::Softmax { .. } => k > 1,
            Objective::Regression { .. } => true,
        };
        let rounds = if trainable && !usable.is_empty() {
            rounds
        } else {
            0
        };

        for round in 0..rounds {
            let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(seed, round as u64));
            let bag: Vec<u32> = if n_bag < train.len() {
                let mut b: Vec<u32> = rand::seq::index::sample(&mut rng, train.len(), n_bag)
                    .into_iter()
                    .map(|i| train[i] as u32)
                    .collect();
                b.sort_unstable();
                b
            } else {
                train.iter().map(|&r| r as u32).collect()
            };
            // Per-round state of the loss: class probabilities, or the Huber threshold.
            let mut delta = f64::INFINITY;
            match obj {
                Objective::Softmax { .. } => {
                    for &r in &bag {
                        let r = r as usize;
                        let pr = &mut prob[r * k..(r + 1) * k];
                        pr.copy_from_slice(&scores[r * k..(r + 1) * k]);
                        crate::numeric::softmax_in_place(pr);
                    }
                }
                Objective::Regression { y, loss } => {
                    if loss == RegressionLoss::Huber {
                        let abs: Vec<(f64, f64)> = bag
                            .iter()
                            .map(|&r| ((y[r as usize] - scores[r as usize]).abs(), 1.0))
                            .collect();
                        delta = weighted_quantile(abs, p.huber_alpha);
                    }
                }
            }
            // The K trees of a round are independent: grow them in parallel, one per task.
            let tree_params: Vec<GrowParams> = (0..k)
                .map(|c| {
                    let features: Vec<usize> = if n_cols < usable.len() {
                        let mut f: Vec<usize> =
                            rand::seq::index::sample(&mut rng, usable.len(), n_cols)
                                .into_iter()
                                .map(|i| usable[i])
                                .collect();
                        f.sort_unstable();
                        f
                    } else {
                        usable.clone()
                    };
                    let seed = mix_seed(seed, (round * k + c) as u64 + (1 << 40));
                    self.grow_params(features, seed, rayon::current_num_threads() > k)
                })
                .collect();
            let round_trees: Vec<Tree> = gh_all
                .par_chunks_mut(2 * n)
                .zip(tree_params.par_iter())
                .enumerate()
                .with_max_len(1)
                .map(|(c, (gh, gp))| {
                    for &r in &bag {
                        let r = r as usize;
                        let (g, h) = match obj {
                            Objective::Softmax { y, .. } => {
                                let pc = prob[r * k + c];
                                let target = if y[r] as usize == c { 1.0 } else { 0.0 };
                                (
                                    weights[r] * (pc - target),
                                    (weights[r] * hess_factor * pc * (1.0 - pc)).max(1e-16),
                                )
                            }
                            // Squared loss (residual unclipped) or Huber (clipped at delta);
                            // both with hessian = weight (LightGBM's Huber Newton step).
                            Objective::Regression { y, .. } => (
                                -weights[r] * (y[r] - scores[r]).clamp(-delta, delta),
                                weights[r],
                            ),
                        };
                        gh[2 * r] = g;
                        gh[2 * r + 1] = h;
                    }
                    let grown = grow_tree(&data, gh, &bag, gp);
                    let leaf_values: Vec<f32> = grown
                        .leaf_totals
                        .iter()
                        .map(|t| {
                            (-t[0] / (t[1] + p.reg_lambda).max(1e-12) * p.learning_rate) as f32
                        })
                        .collect();
                    Tree {
                        nodes: grown.nodes,
                        leaf_values,
                        n_outputs: 1,
                    }
                })
                .collect();
            for (c, tree) in round_trees.into_iter().enumerate() {
                for (r, s) in scores.chunks_exact_mut(k).enumerate() {
                    s[c] += tree.leaf_values[tree.leaf_index_binned(&data, r)] as f64;
                }
                trees.push(tree);
            }
            if early {
                let loss = obj.validation_loss(&scores, weights, valid);
                validation_loss.push(loss);
                if loss < best_loss - 1e-9 {
                    best_loss = loss;
                    best_round = round;
                } else if round - best_round >= p.n_iter_no_change {
                    break;
                }
            }
        }
        let n_rounds = if early {
            (best_round + 1).min(trees.len() / k.max(1))
        } else {
            trees.len() / k.max(1)
        };
        trees.truncate(n_rounds * k);
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(BlueprintError::Numeric {
                task: TASK.into(),
                reason: "non-finite training scores".into(),
            });
        }
        Ok(Boosted {
            init_scores,
            trees,
            n_rounds,
            validation_loss,
        })
    }

    /// Boosts `obj` on all rows, with early stopping on the hold-out `split` gives when
    /// `validation_fraction > 0` (then, with `refit`, boosts again on every row).
    fn fit_objective(
        &self,
        x: &Features,
        obj: Objective,
        weights: &[f64],
        ctx: &FitContext,
        split: impl FnOnce() -> (Vec<usize>, Vec<usize>),
    ) -> Result<Boosted> {
        let p = &self.params;
        let n = weights.len();
        let early = p.validation_fraction > 0.0 && p.n_iter_no_change > 0;
        let (train, valid) = if early {
            split()
        } else {
            ((0..n).collect(), Vec::new())
        };
        let early = early && !valid.is_empty();
        let first = self.boost(x, obj, weights, &train, &valid, p.n_estimators, ctx.seed)?;
        if early && p.refit {
            // Early stopping chose the number of rounds; spend the held-out rows too, on
            // proportionally more rounds (more rows, slower overfitting).
            let scaled = first.n_rounds as f64 * n as f64 / train.len().max(1) as f64;
            let rounds = (scaled.round() as usize).clamp(1, p.n_estimators);
            let all: Vec<usize> = (0..n).collect();
            let mut refit = self.boost(x, obj, weights, &all, &[], rounds, ctx.seed)?;
            refit.validation_loss = first.validation_loss;
            Ok(refit)
        } else {
            Ok(first)
        }
    }

    fn store(&mut self, x: &Features, classes: ClassMap, fit: Boosted, regression: bool) {
        self.fitted = FittedGbdt {
            classes,
            n_dense: x.n_dense(),
            n_sparse: x.n_sparse(),
            init_scores: fit.init_scores,
            trees: fit.trees,
            n_rounds: fit.n_rounds,
            validation_loss: fit.validation_loss,
            regression,
        }
        .into();
    }

    /// Fits a classifier (`Truth::Classes`) or a regressor (`Truth::Values`).
    fn fit_truth(&mut self, x: &Features, truth: Truth, ctx: &FitContext) -> Result<()> {
        match truth {
            Truth::Classes(y) => self.fit(x, y, ctx),
            Truth::Values(y) => self.fit_regression(x, y, ctx),
        }
    }
}

impl Tunable for GradientBoosting {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            Param::int(
                "n_estimators",
                1..=10_000,
                field!(params.n_estimators),
                "boosting rounds (one tree per class each)",
            ),
            Param::log_float(
                "learning_rate",
                1e-3..=1.0,
                field!(params.learning_rate),
                "shrinkage of every leaf value",
            ),
            Param::int(
                "num_leaves",
                2..=4096,
                field!(params.num_leaves),
                "most leaves per tree (leaf-wise growth)",
            ),
            Param::int(
                "max_depth",
                -1..=64,
                field!(params.max_depth),
                "deepest split level; -1 = unlimited",
            ),
            Param::int(
                "min_child_samples",
                1..=100_000,
                field!(params.min_child_samples),
                "fewest rows in a leaf",
            ),
            Param::float(
                "min_child_weight",
                0.0..=1e3,
                field!(params.min_child_weight),
                "least hessian sum in a leaf",
            ),
            Param::float(
                "reg_lambda",
                0.0..=1e3,
                field!(params.reg_lambda),
                "L2 penalty on leaf values",
            ),
            Param::float(
                "min_split_gain",
                0.0..=1e3,
                field!(params.min_split_gain),
                "least gain of a split",
            ),
            Param::float(
                "subsample",
                0.05..=1.0,
                field!(params.subsample),
                "fraction of rows per round",
            ),
            Param::float(
                "colsample_bytree",
                0.01..=1.0,
                field!(params.colsample_bytree),
                "fraction of features per tree",
            ),
            Param::int(
                "max_bin",
                4..=255,
                field!(params.max_bin),
                "most histogram bins per feature",
            ),
            Param::float(
                "validation_fraction",
                0.0..=0.5,
                field!(params.validation_fraction),
                "training rows held out for early stopping; 0 = off",
            ),
            Param::int(
                "n_iter_no_change",
                0..=10_000,
                field!(params.n_iter_no_change),
                "rounds without better validation log loss before stopping; 0 = off",
            ),
            Param::bool(
                "refit",
                field!(params.refit),
                "after early stopping, refit on all rows for the chosen rounds (scaled)",
            ),
            ClassWeight::param(field!(params.class_weight)),
            Param::<Self>::choice(
                "loss",
                field!(params.loss),
                "regression loss: squared error, or Huber (robust to outlying targets)",
            )
            .only_for(TargetKind::Regression),
            Param::<Self>::float(
                "huber_alpha",
                0.5..=0.999,
                field!(params.huber_alpha),
                "Huber loss: delta is this quantile of each round's absolute residuals",
            )
            .only_for(TargetKind::Regression),
        ]
    }
}

#[typetag::serde]
impl Estimator for GradientBoosting {
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
        let k = classes.n_present();
        let obj = Objective::Softmax { y: &yc, k };
        let fraction = self.params.validation_fraction;
        let fit = if k > 1 {
            self.fit_objective(x, obj, &weights, ctx, || {
                stratified_holdout(&yc, k, fraction, ctx.seed)
            })?
        } else {
            let all: Vec<usize> = (0..yc.len()).collect();
            self.boost(
                x,
                obj,
                &weights,
                &all,
                &[],
                self.params.n_estimators,
                ctx.seed,
            )?
        };
        self.store(x, classes, fit, false);
        Ok(())
    }

    fn fit_regression(&mut self, x: &Features, y: &[f32], ctx: &FitContext) -> Result<()> {
        let FitTargets { y, weights } = FitTargets::new(x, y, ctx)?;
        self.fitted.clear();
        let obj = Objective::Regression {
            y: &y,
            loss: self.params.loss,
        };
        let fraction = self.params.validation_fraction;
        let fit = self.fit_objective(x, obj, &weights, ctx, || {
            random_holdout(y.len(), fraction, ctx.seed)
        })?;
        let one = ClassMap {
            n_classes: 1,
            present: vec![0],
        };
        self.store(x, one, fit, true);
        Ok(())
    }

    fn supports_regression(&self) -> bool {
        true
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        let f = self.fitted.get(TASK)?;
        check_predict_input(x, f.n_dense, f.n_sparse, TASK)?;
        let k = f.classes.n_present();
        let mut probs = Array2::<f64>::zeros((x.n_rows(), k));
        probs
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(r, mut out)| {
                let view = RowView::new(x, r);
                let mut s = f.init_scores.clone();
                for (i, t) in f.trees.iter().enumerate() {
                    s[i % k] += t.leaf_values[t.leaf_index(|j| view.get(j))] as f64;
                }
                if !f.regression {
                    crate::numeric::softmax_in_place(&mut s);
                }
                out.iter_mut().zip(&s).for_each(|(o, v)| *o = *v);
            });
        if f.regression {
            return Ok(probs.mapv(|v| v as f32));
        }
        Ok(f.classes.expand(probs.view()))
    }

    fn search_space(&self, _kind: TargetKind) -> Vec<SearchDim> {
        vec![
            SearchDim::new("n_estimators", &ROUNDS_PATH, true),
            SearchDim::new("learning_rate", &["0.05", "0.1"], false),
            SearchDim::new("num_leaves", &["15", "31", "7"], false),
            SearchDim::new("min_child_samples", &["10", "20", "5"], false),
            SearchDim::new("colsample_bytree", &["0.5", "0.8", "0.3"], false),
        ]
    }

    /// The rounds path: one fit with the most rounds, then one copy per value keeping only its
    /// first rounds (the staged predictions of boosting: early stopping on the inner folds).
    /// Not with this estimator's own early stopping (its hold-out would differ per value).
    fn fit_path(
        &self,
        x: &Features,
        y: &[u32],
        ctx: &FitContext,
        name: &str,
        values: &[String],
    ) -> Option<Result<Vec<Box<dyn Estimator>>>> {
        if name != "n_estimators" || self.params.validation_fraction > 0.0 {
            return None;
        }
        Some(self.fit_rounds_path(x, Truth::Classes(y), ctx, values))
    }

    /// The rounds path of a regressor (see [`Estimator::fit_path`]).
    fn fit_regression_path(
        &self,
        x: &Features,
        y: &[f32],
        ctx: &FitContext,
        name: &str,
        values: &[String],
    ) -> Option<Result<Vec<Box<dyn Estimator>>>> {
        if name != "n_estimators" || self.params.validation_fraction > 0.0 {
            return None;
        }
        Some(self.fit_rounds_path(x, Truth::Values(y), ctx, values))
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }
}

/// Boosting rounds tried by the search inside autopilot (the default, 300, among them).
const ROUNDS_PATH: [&str; 4] = ["100", "200", "300", "500"];

impl GradientBoosting {
    /// See [`Estimator::fit_path`]: fits `max(values)` rounds once and truncates.
    fn fit_rounds_path(
        &self,
        x: &Features,
        truth: Truth,
        ctx: &FitContext,
        values: &[String],
    ) -> Result<Vec<Box<dyn Estimator>>> {
        let rounds: Vec<usize> = values
            .iter()
            .map(|v| parse_int("n_estimators", v, 1, 100_000).map(|r| r as usize))
            .collect::<Result<_>>()?;
        let mut full = self.clone();
        full.params.n_estimators = rounds.iter().copied().max().unwrap_or(1);
        full.fit_truth(x, truth, ctx)?;
        let fitted = full.fitted.get(TASK)?;
        let k = fitted.classes.n_present().max(1);
        Ok(rounds
            .iter()
            .map(|&r| {
                let mut f = fitted.clone();
                f.n_rounds = r.min(f.n_rounds);
                f.trees.truncate(f.n_rounds * k);
                let mut e = self.clone();
                e.params.n_estimators = r;
                e.fitted = f.into();
                Box::new(e) as Box<dyn Estimator>
            })
            .collect())
    }
}
