//! Hyperparameter search inside a blueprint.
//!
//! [`Searched`] wraps an estimator and, every time it is fitted, chooses the wrapped estimator's
//! hyperparameters on an **inner** stratified cross-validation of the rows it is given, then refits
//! it on all of them with the chosen values. Autopilot fits blueprints on the training rows of an
//! outer fold, so the outer fold's score stays an honest estimate of a model whose hyperparameters
//! were chosen without it (nested cross-validation, as DataRobot's internal grid search and
//! scikit-learn's `GridSearchCV` inside `cross_val_score`).
//!
//! * **What is searched** comes from the estimator ([`Estimator::search_space`]): a few candidate
//!   values per hyperparameter, the default among them. Names the user fixed with
//!   [`Estimator::set_param`] are left out of the search.
//! * **Budget**: at most `max_configs` configurations of the non-path dimensions (the whole grid
//!   when it is that small, else the default plus a seeded sample). A *path* dimension (the `C` of
//!   a logistic regression) is evaluated whole for each configuration through
//!   [`Estimator::fit_path`], warm-started value after value, when the estimator supports it.
//! * **Successive halving over the inner folds**: with more than three configurations, all are
//!   scored on the first inner fold, the best third (at least two) go on to the other folds.
//! * **Choice** (the one-standard-error rule): the highest balanced accuracy `b` of the pooled
//!   inner out-of-fold predictions sets a band of one standard error, `sqrt(b (1 − b) / rows)`
//!   (at least [`BA_TIE`]); among the configurations inside it, the lowest log loss wins. On a
//!   few hundred rows balanced accuracy moves by noise alone, so configurations inside the band
//!   are not told apart by it; log loss, a proper score, is steadier, and the better-calibrated
//!   model blends better. With **two classes** the ROC AUC takes balanced accuracy's place (the
//!   binary task's metric, which does not depend on the 0.5 cut that balanced accuracy takes).
//! * **Rows**: on more than `search_rows` training rows (default [`DEFAULT_SEARCH_ROWS`]) the
//!   configurations are scored on a stratified sample of about that many (by class, or target
//!   quantile); the chosen values are then fitted on every row. The inner fits (configurations
//!   × folds) then stop growing with the data, while the sample is still large enough to rank a
//!   few configurations.
//! * **Regression** ([`Estimator::fit_regression`]): the same search with inner folds stratified
//!   on target quantile bins ([`inner::quantile_folds`]), configurations ranked by the RMSE of
//!   their pooled inner out-of-fold predictions, and the lowest RMSE chosen (ties to the
//!   configuration tried first, the current values).

mod grid;
mod inner;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{BlueprintError, Result};
use crate::estimator::{Estimator, FitContext};
use crate::features::Features;
use crate::field;
use crate::fit_input::{check_fit_input, check_regression_input};
use crate::metrics::{Truth, argmax_rows, balanced_accuracy, binary_auc, log_loss, rmse};
use crate::params::{Param, ParamSpec, SearchDim, TargetKind, Tunable};

pub use grid::configurations;
pub use inner::{quantile_folds, stratified_folds};

/// Smallest balanced-accuracy band inside which configurations count as tied (then log loss
/// decides).
pub const BA_TIE: f64 = 0.005;

/// Parameter of [`Searched`]: configurations tried (1 = no search).
pub const SEARCH_CONFIGS: &str = "search_configs";
/// Parameter of [`Searched`]: inner folds.
pub const INNER_FOLDS: &str = "inner_folds";
/// Parameter of [`Searched`]: most rows the configurations are scored on.
pub const SEARCH_ROWS: &str = "search_rows";
/// Default of [`SEARCH_ROWS`].
pub const DEFAULT_SEARCH_ROWS: usize = 5_000;

/// One configuration tried by the search, with its inner cross-validated scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The searched hyperparameters' values.
    pub values: Vec<(String, String)>,
    /// Balanced accuracy of the pooled inner out-of-fold predictions.
    #[serde(deserialize_with = "nan_if_null")]
    pub balanced_accuracy: f64,
    /// Log loss of the same predictions.
    #[serde(deserialize_with = "nan_if_null")]
    pub log_loss: f64,
    /// Inner folds it was scored on (fewer when successive halving dropped it).
    pub folds: usize,
    /// Rows its scores were computed on.
    #[serde(default)]
    pub rows: usize,
    /// RMSE of the pooled inner out-of-fold predictions of a regression search (`None` for
    /// classification, whose two scores above are then NaN).
    #[serde(default)]
    pub rmse: Option<f64>,
    /// ROC AUC of the same predictions when there are two classes (`None` otherwise, or when
    /// the rows hold one class only).
    #[serde(default)]
    pub auc: Option<f64>,
}

impl Trial {
    /// Scores out-of-fold probabilities `proba` of labels `y` (NaN scores when there are none).
    pub fn score(
        values: Vec<(String, String)>,
        y: &[u32],
        proba: &Array2<f32>,
        folds: usize,
    ) -> Self {
        let (mut ba, mut ll, mut auc) = (f64::NAN, f64::NAN, None);
        if !y.is_empty() {
            ba =
                balanced_accuracy(y, &argmax_rows(proba.view()), proba.ncols()).unwrap_or(f64::NAN);
            ll = log_loss(y, proba.view()).unwrap_or(f64::NAN);
            if proba.ncols() == 2 {
                let positive: Vec<bool> = y.iter().map(|&c| c == 1).collect();
                let scores: Vec<f64> = proba.column(1).iter().map(|&p| f64::from(p)).collect();
                auc = binary_auc(&positive, &scores).filter(|a| a.is_finite());
            }
        }
        Self {
            values,
            balanced_accuracy: ba,
            log_loss: ll,
            folds,
            rows: y.len(),
            rmse: None,
            auc,
        }
    }

    /// Scores out-of-fold regression predictions `pred` (first column) of targets `y` by RMSE
    /// (NaN when there are none).
    pub fn score_values(
        values: Vec<(String, String)>,
        y: &[f32],
        pred: &Array2<f32>,
        folds: usize,
    ) -> Self {
        let p: Vec<f32> = pred.column(0).to_vec();
        let error = if y.is_empty() {
            f64::NAN
        } else {
            rmse(y, &p).unwrap_or(f64::NAN)
        };
        Self {
            values,
            balanced_accuracy: f64::NAN,
            log_loss: f64::NAN,
            folds,
            rows: y.len(),
            rmse: Some(error),
            auc: None,
        }
    }

    /// A key that is higher for better trials (balanced accuracy, or AUC for two classes, then
    /// −log loss; or −RMSE); `None` for a failed or unscored trial.
    pub fn rank_key(&self) -> Option<(f64, f64)> {
        match self.rmse {
            Some(e) => e.is_finite().then_some((-e, 0.0)),
            None => {
                let s = self.class_score();
                s.is_finite().then_some((s, -self.log_loss))
            }
        }
    }

    /// The classification score the choice compares: the AUC when there is one (two classes),
    /// else the balanced accuracy.
    pub fn class_score(&self) -> f64 {
        self.auc.unwrap_or(self.balanced_accuracy)
    }
}

/// Reads a score that JSON wrote as `null` (a NaN: unscored, or a regression trial's
/// classification scores) back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// What the last search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchOutcome {
    /// The chosen values of the searched hyperparameters.
    pub chosen: Vec<(String, String)>,
    /// Every configuration tried, in the order tried.
    pub trials: Vec<Trial>,
}

/// An estimator whose hyperparameters are chosen on an inner cross-validation of its training
/// rows at every fit (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Searched {
    /// The estimator searched over; after `fit`, fitted with the chosen values.
    pub base: Box<dyn Estimator>,
    /// Most configurations of the non-path dimensions; 1 = no search.
    pub max_configs: usize,
    /// Inner folds.
    pub inner_folds: usize,
    /// Most rows the configurations are scored on (a stratified sample beyond).
    #[serde(default = "default_search_rows")]
    pub max_rows: usize,
    /// Hyperparameters the user fixed: not searched.
    #[serde(default)]
    pub fixed: Vec<String>,
    /// The last search's result (`None` before fitting or when nothing was searched).
    #[serde(default)]
    pub outcome: Option<SearchOutcome>,
}

impl Searched {
    /// Wraps `base` with a budget of `max_configs` configurations on `inner_folds` inner folds.
    pub fn new(base: Box<dyn Estimator>, max_configs: usize, inner_folds: usize) -> Self {
        Self {
            base,
            max_configs: max_configs.max(1),
            inner_folds: inner_folds.clamp(2, 10),
            max_rows: DEFAULT_SEARCH_ROWS,
            fixed: Vec::new(),
            outcome: None,
        }
    }

    /// Whether a fit searches `dims` (the [`Searched::dimensions`]): with more than one
    /// configuration to try, or a path dimension evaluated whole.
    fn will_search(&self, dims: &[SearchDim]) -> bool {
        !dims.is_empty() && (self.max_configs > 1 || dims.iter().any(|d| d.path))
    }

    /// The dimensions searched on a target of kind `kind`: the base's space minus the fixed
    /// names.
    pub fn dimensions(&self, kind: TargetKind) -> Vec<SearchDim> {
        self.base
            .search_space(kind)
            .into_iter()
            .filter(|d| !self.fixed.contains(&d.name) && d.values.len() > 1)
            .collect()
    }

    /// Runs the inner search and returns the chosen values (empty when nothing is searched).
    fn search(
        &self,
        x: &Features,
        truth: Truth,
        ctx: &FitContext,
    ) -> Result<Option<SearchOutcome>> {
        let dims = self.dimensions(truth.kind());
        if !self.will_search(&dims) {
            return Ok(None);
        }
        let n = x.n_rows();
        if n > self.max_rows {
            // One part of a stratified split into parts of about `max_rows` rows each.
            let parts = n.div_ceil(self.max_rows);
            let keep =
                inner::folds_of(truth, ctx.n_classes, parts, ctx.seed ^ 0x5a3b_1e55).swap_remove(0);
            let sample = inner::Sample::of(x, truth, ctx, &keep);
            return self.search_rows(dims, &sample.x, sample.truth(), &sample.ctx);
        }
        self.search_rows(dims, x, truth, ctx)
    }

    /// [`Searched::search`] on all of `x`'s rows.
    fn search_rows(
        &self,
        dims: Vec<SearchDim>,
        x: &Features,
        truth: Truth,
        ctx: &FitContext,
    ) -> Result<Option<SearchOutcome>> {
        let folds = inner::folds_of(truth, ctx.n_classes, self.inner_folds, ctx.seed);
        if folds.len() < 2 {
            return Ok(None);
        }
        let current = current_values(self.base.as_ref(), &dims);
        let groups = configurations(&dims, &current, self.max_configs, ctx.seed);
        let trials = inner::evaluate(self.base.as_ref(), &groups, x, truth, ctx, &folds)?;
        let best = match truth {
            Truth::Classes(_) => choose(&trials),
            Truth::Values(_) => choose_regression(&trials),
        };
        let best = best.ok_or_else(|| BlueprintError::Numeric {
            task: self.base.name(),
            reason: "the inner search scored no configuration".into(),
        })?;
        Ok(Some(SearchOutcome {
            chosen: trials[best].values.clone(),
            trials,
        }))
    }
}

fn default_search_rows() -> usize {
    DEFAULT_SEARCH_ROWS
}

/// The estimator's current value of each dimension, or the dimension's first value where the
/// current one is not among its values (a default that does not suit this kind of target).
fn current_values(e: &dyn Estimator, dims: &[SearchDim]) -> Vec<String> {
    let specs = e.params();
    dims.iter()
        .map(|d| {
            specs
                .iter()
                .find(|s| s.name == d.name && d.values.contains(&s.value))
                .map_or_else(|| d.values[0].clone(), |s| s.value.clone())
        })
        .collect()
}

/// Index of the chosen trial (see the module docs: the lowest log loss among the trials within
/// one standard error of the best balanced accuracy, or of the best AUC for two classes). Only
/// trials scored on the most folds compete.
pub fn choose(trials: &[Trial]) -> Option<usize> {
    let most = trials.iter().map(|t| t.folds).max()?;
    let full: Vec<usize> = (0..trials.len())
        .filter(|&i| trials[i].folds == most && trials[i].class_score().is_finite())
        .collect();
    // One scale for all: the AUC only when every competing trial has one.
    let by_auc = full.iter().all(|&i| trials[i].auc.is_some());
    let score = |i: usize| {
        if by_auc {
            trials[i].class_score()
        } else {
            trials[i].balanced_accuracy
        }
    };
    let best = full
        .iter()
        .copied()
        .filter(|&i| score(i).is_finite())
        .max_by(|&a, &b| score(a).total_cmp(&score(b)))?;
    let top = score(best);
    let rows = trials[best].rows.max(1) as f64;
    let band = (top * (1.0 - top) / rows).sqrt().max(BA_TIE);
    full.into_iter()
        .filter(|&i| score(i) >= top - band)
        .min_by(|&a, &b| trials[a].log_loss.total_cmp(&trials[b].log_loss))
}

/// Index of the chosen regression trial: the lowest RMSE among the trials scored on the most
/// folds (ties to the first tried).
pub fn choose_regression(trials: &[Trial]) -> Option<usize> {
    let most = trials.iter().map(|t| t.folds).max()?;
    (0..trials.len())
        .filter(|&i| trials[i].folds == most)
        .filter_map(|i| Some((i, trials[i].rmse.filter(|e| e.is_finite())?)))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        .map(|(i, _)| i)
}

impl Searched {
    /// Searches on `truth`, sets the chosen values on the base and fits it on every row.
    fn search_and_fit(&mut self, x: &Features, truth: Truth, ctx: &FitContext) -> Result<()> {
        self.outcome = self.search(x, truth, ctx)?;
        if let Some(o) = &self.outcome {
            for (name, value) in &o.chosen {
                self.base.set_param(name, value)?;
            }
        }
        inner::fit_truth(self.base.as_mut(), x, truth, ctx)
    }
}

impl Tunable for Searched {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            Param::int(
                SEARCH_CONFIGS,
                1..=64,
                field!(max_configs),
                "configurations the inner search tries (1 = the values as set)",
            ),
            Param::int(
                INNER_FOLDS,
                2..=10,
                field!(inner_folds),
                "inner cross-validation folds of the search (on the training rows only)",
            ),
            Param::int(
                SEARCH_ROWS,
                100..=100_000_000,
                field!(max_rows),
                "most training rows the search scores configurations on (a stratified sample \
                 beyond; the chosen values are fitted on every row)",
            ),
        ]
    }
}

#[typetag::serde]
impl Estimator for Searched {
    fn name(&self) -> String {
        self.base.name()
    }

    /// The base's hyperparameters, then the search's own.
    fn params(&self) -> Vec<ParamSpec> {
        let mut out = self.base.params();
        out.extend(self.param_specs());
        out
    }

    /// The search's own hyperparameters, or the base's (which the search then leaves fixed).
    fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        if Self::param_table().iter().any(|p| p.name() == name) {
            let task = self.name();
            return self.set_by_name(&task, name, value);
        }
        self.base.set_param(name, value)?;
        if !self.fixed.iter().any(|f| f == name) {
            self.fixed.push(name.to_string());
        }
        Ok(())
    }

    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()> {
        check_fit_input(x, y, ctx)?;
        self.search_and_fit(x, Truth::Classes(y), ctx)
    }

    /// The same search on the regression targets (see the module docs).
    fn fit_regression(&mut self, x: &Features, y: &[f32], ctx: &FitContext) -> Result<()> {
        if !self.base.supports_regression() {
            return self.base.fit_regression(x, y, ctx);
        }
        check_regression_input(x, y, ctx)?;
        self.search_and_fit(x, Truth::Values(y), ctx)
    }

    fn supports_regression(&self) -> bool {
        self.base.supports_regression()
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        self.base.predict_proba(x)
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }

    fn dense_logit_gradient(&self, x: &Features, class: usize) -> Result<Option<Vec<f32>>> {
        self.base.dense_logit_gradient(x, class)
    }

    fn without_search(&self) -> Box<dyn Estimator> {
        self.base.without_search()
    }

    fn set_image_backbone(&mut self, backbone: &str) -> Result<()> {
        self.base.set_image_backbone(backbone)
    }

    fn estimate_fit_seconds(&self, n_rows: usize, n_classes: usize) -> Option<f64> {
        self.base.estimate_fit_seconds(n_rows, n_classes)
    }

    fn searched_names(&self) -> Vec<String> {
        // The names are the same for either kind of target (see `Estimator::search_space`).
        let dims = self.dimensions(TargetKind::Classification);
        match self.will_search(&dims) {
            true => dims.into_iter().map(|d| d.name).collect(),
            false => Vec::new(),
        }
    }

    fn search_starts(&self, kind: TargetKind) -> Vec<(String, String)> {
        let dims = self.dimensions(kind);
        if !self.will_search(&dims) {
            return Vec::new();
        }
        // A path dimension is walked whole; its current value is what it shows.
        let starts = current_values(self.base.as_ref(), &dims);
        dims.into_iter()
            .zip(starts)
            .filter(|(d, _)| !d.path)
            .map(|(d, v)| (d.name, v))
            .collect()
    }

    fn searched_params(&self) -> Vec<(String, String)> {
        self.outcome
            .as_ref()
            .map_or_else(Vec::new, |o| o.chosen.clone())
    }
}

#[cfg(test)]
mod tests;
