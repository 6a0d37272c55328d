//! Multinomial logistic regression with L2 or elastic-net penalty.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::objective::{Design, SoftmaxObjective};
use super::optimizer::{OptimOptions, minimize};
use super::scores::linear_proba;
use super::standardize::Standardized;
use crate::error::{BlueprintError, Result};
use crate::estimator::{Estimator, FitContext, Fitted};
use crate::features::Features;
use crate::field;
use crate::fit_input::{ClassMap, ClassWeight, FitLabels};
use crate::numeric::softmax_in_place;
use crate::params::{Param, ParamSpec, SearchDim, TargetKind, Tunable};

const NAME: &str = "Logistic Regression";

/// Multinomial (softmax) logistic regression, scikit-learn's objective
/// `C * sum_i s_i * loss_i + (1 - l1_ratio)/2 * ||W||² + l1_ratio * ||W||₁` (intercepts unpenalised).
///
/// * Solver: L-BFGS when `l1_ratio == 0`, OWL-QN (orthant-wise L-BFGS) for elastic-net; both stop
///   when the largest gradient component of the `1/S`-scaled objective is below `tol`
///   (scikit-learn's lbfgs criterion) or after `max_iter` iterations.
/// * With two classes a single score vector is fitted (like scikit-learn's binary case), so
///   `C` means the same thing as there.
/// * `standardize`: the dense block is centred and scaled with the training rows' mean and
///   standard deviation (constant columns are only centred); the sparse block is used as is
///   (TF-IDF rows are already L2-normalised) and never densified. Coefficients are mapped back
///   to the raw feature scale after fitting.
/// * `class_weight` defaults to `balanced` (row weight `n / (n_classes * count(class))`), since
///   models are ranked by balanced accuracy.
/// * Classes absent from the training fold get the floor probability; a single-class fold
///   predicts that class with probability ≈ 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Inverse regularisation strength (scikit-learn's `C`).
    pub c: f64,
    /// Elastic-net mixing: 0 = pure L2, 1 = pure L1.
    pub l1_ratio: f64,
    /// Weight rows inversely to their class frequency.
    pub balanced: bool,
    /// Standardise the dense block before fitting.
    pub standardize: bool,
    /// Maximum solver iterations.
    pub max_iter: usize,
    /// Gradient tolerance.
    pub tol: f64,
    /// Fitted state (empty before `fit`).
    pub fitted: Fitted<FittedLinear>,
}

/// The fitted state of a linear softmax model, on the raw (unstandardised) feature scale.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedLinear {
    /// Coefficients, `(n_dense + n_sparse) × m` where `m` is 1 for two present classes,
    /// 0 for one, and the number of present classes otherwise.
    pub coef: Array2<f64>,
    /// Intercepts, length `m`.
    pub intercept: Array1<f64>,
    /// Dense columns seen in training.
    pub n_dense: usize,
    /// Sparse columns seen in training.
    pub n_sparse: usize,
    /// Present classes and the full class count.
    pub classes: ClassMap,
    /// Solver iterations used.
    pub iterations: usize,
    /// Whether the solver met its tolerance.
    pub converged: bool,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        Self {
            c: 1.0,
            l1_ratio: 0.0,
            balanced: true,
            standardize: true,
            max_iter: 300,
            tol: 1e-4,
            fitted: Fitted::default(),
        }
    }
}

impl LogisticRegression {
    /// Default hyperparameters with the given `C`.
    pub fn with_c(c: f64) -> Self {
        Self {
            c,
            ..Self::default()
        }
    }

    /// The fitted state, or `NotFitted`.
    pub fn fitted(&self) -> Result<&FittedLinear> {
        self.fitted.get(NAME)
    }
}

/// The regularization path searched inside autopilot: `C` from strong to weak penalty
/// (scikit-learn's default `C = 1` among them).
const C_PATH: [&str; 10] = [
    "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "3", "10", "30",
];

/// A training set made ready for the solver once: compact labels, row weights, the standardised
/// dense block and the sparse block (shared by every `C` of a regularization path).
struct Prepared<'a> {
    classes: ClassMap,
    yc: Vec<u32>,
    weights: Vec<f64>,
    mean: Vec<f64>,
    scale: Vec<f64>,
    design: Design<'a>,
}

impl<'a> Prepared<'a> {
    fn new(
        x: &'a Features,
        y: &[u32],
        ctx: &FitContext,
        balanced: bool,
        standardize: bool,
    ) -> Result<Self> {
        let class_weight = ClassWeight::from_balanced(balanced);
        let FitLabels {
            classes,
            y: yc,
            weights,
        } = FitLabels::new(x, y, ctx, class_weight)?;
        let Standardized {
            mean,
            scale,
            design,
        } = Standardized::new(x, standardize);
        Ok(Self {
            classes,
            yc,
            weights,
            mean,
            scale,
            design,
        })
    }

    fn n_dense(&self) -> usize {
        self.mean.len()
    }
}

impl LogisticRegression {
    /// Solves for this `C` on a prepared training set, starting from `x0` (a previous solution
    /// on the same set: a warm start) or zero; returns the fitted state and the raw solution.
    fn solve(&self, p: &Prepared, x0: Option<Vec<f64>>) -> Result<(FittedLinear, Vec<f64>)> {
        let n_dense = p.n_dense();
        let n_sparse = p.design.sparse.map_or(0, |s| s.cols());
        let k = p.classes.n_present();
        if k < 2 {
            // Single-class fold: nothing to learn; predict that class (documented fallback).
            let fitted = FittedLinear {
                coef: Array2::zeros((n_dense + n_sparse, 0)),
                intercept: Array1::zeros(0),
                n_dense,
                n_sparse,
                classes: p.classes.clone(),
                iterations: 0,
                converged: true,
            };
            return Ok((fitted, Vec::new()));
        }
        let objective = SoftmaxObjective {
            design: &p.design,
            y: &p.yc,
            weights: &p.weights,
            n_classes: k,
            l2: (1.0 - self.l1_ratio) / self.c,
        };
        let m = objective.n_outputs();
        let d = p.design.n_cols();
        let l1: Option<Vec<f64>> = (self.l1_ratio > 0.0).then(|| {
            let lam = self.l1_ratio / (self.c * objective.weight_sum());
            let mut v = vec![lam; d * m];
            v.extend(std::iter::repeat_n(0.0, m));
            v
        });
        let opts = OptimOptions {
            max_iter: self.max_iter,
            tol: self.tol,
            memory: 10,
        };
        let start = x0
            .filter(|v| v.len() == objective.n_params())
            .unwrap_or_else(|| vec![0.0; objective.n_params()]);
        let result = minimize(
            |t, g| objective.value_grad(t, g),
            start,
            l1.as_deref(),
            &opts,
        );
        if !result.value.is_finite() || result.x.iter().any(|v| !v.is_finite()) {
            return Err(BlueprintError::Numeric {
                task: NAME.into(),
                reason: "solver produced non-finite values".into(),
            });
        }
        // Back to the raw feature scale: w_raw = w / scale, b_raw = b - sum_j mean_j * w_raw_j.
        let mut coef = Array2::from_shape_vec((d, m), result.x[..d * m].to_vec()).map_err(|e| {
            BlueprintError::Numeric {
                task: NAME.into(),
                reason: e.to_string(),
            }
        })?;
        let mut intercept = Array1::from(result.x[d * m..].to_vec());
        for j in 0..n_dense {
            let mut row = coef.row_mut(j);
            row.mapv_inplace(|v| v / p.scale[j]);
            intercept.scaled_add(-p.mean[j], &row);
        }
        let fitted = FittedLinear {
            coef,
            intercept,
            n_dense,
            n_sparse,
            classes: p.classes.clone(),
            iterations: result.iterations,
            converged: result.converged,
        };
        Ok((fitted, result.x))
    }

    /// One fitted copy per value of `C` in `values` (in that order), the training set prepared
    /// once and each solve warm-started from the previous solution.
    fn fit_c_path(
        &self,
        x: &Features,
        y: &[u32],
        ctx: &FitContext,
        values: &[String],
    ) -> Result<Vec<Box<dyn Estimator>>> {
        let prepared = Prepared::new(x, y, ctx, self.balanced, self.standardize)?;
        let mut previous: Option<Vec<f64>> = None;
        let mut out: Vec<Box<dyn Estimator>> = Vec::with_capacity(values.len());
        for v in values {
            let mut e = self.clone();
            e.set_param("C", v)?;
            let (fitted, solution) = e.solve(&prepared, previous.take())?;
            previous = Some(solution);
            e.fitted = fitted.into();
            out.push(Box::new(e));
        }
        Ok(out)
    }
}

impl Tunable for LogisticRegression {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            Param::log_float(
                "C",
                1e-6..=1e6,
                field!(c),
                "inverse regularisation strength (larger = weaker penalty), as in scikit-learn",
            ),
            Param::float(
                "l1_ratio",
                0.0..=1.0,
                field!(l1_ratio),
                "elastic-net mixing: 0 = L2 (L-BFGS), >0 = elastic-net (OWL-QN), 1 = L1",
            ),
            Param::choice_of(
                "class_weight",
                &[ClassWeight::Balanced, ClassWeight::None],
                (
                    |e| ClassWeight::from_balanced(e.balanced),
                    |e, v| e.balanced = v.is_balanced(),
                ),
                "balanced weights rows by n / (n_classes * class count)",
            ),
            Param::bool(
                "standardize",
                field!(standardize),
                "centre and scale the dense block",
            ),
            Param::int(
                "max_iter",
                1..=100_000,
                field!(max_iter),
                "maximum solver iterations",
            ),
            Param::log_float(
                "tol",
                1e-12..=1.0,
                field!(tol),
                "stop when the largest gradient component is below this",
            ),
        ]
    }
}

#[typetag::serde]
impl Estimator for LogisticRegression {
    fn name(&self) -> String {
        NAME.into()
    }

    fn params(&self) -> Vec<ParamSpec> {
        self.param_specs()
    }

    fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_by_name(NAME, name, value)
    }

    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()> {
        self.fitted.clear();
        let prepared = Prepared::new(x, y, ctx, self.balanced, self.standardize)?;
        self.fitted = self.solve(&prepared, None)?.0.into();
        Ok(())
    }

    fn search_space(&self, _kind: TargetKind) -> Vec<SearchDim> {
        vec![SearchDim::new("C", &C_PATH, true)]
    }

    fn fit_path(
        &self,
        x: &Features,
        y: &[u32],
        ctx: &FitContext,
        name: &str,
        values: &[String],
    ) -> Option<Result<Vec<Box<dyn Estimator>>>> {
        (name == "C").then(|| self.fit_c_path(x, y, ctx, values))
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        self.fitted()?.predict_proba(x)
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }

    fn dense_logit_gradient(&self, x: &Features, class: usize) -> Result<Option<Vec<f32>>> {
        let fitted = self.fitted()?;
        if x.n_rows() != 1 || x.n_dense() != fitted.n_dense {
            return Err(BlueprintError::InvalidInput(format!(
                "a logit gradient needs one row of {} dense columns, got {} rows of {}",
                fitted.n_dense,
                x.n_rows(),
                x.n_dense()
            )));
        }
        Ok(Some(fitted.centred_logit_gradient(class)?))
    }
}

impl FittedLinear {
    /// Gradient of class `class`'s centred logit with respect to the dense columns: the model is
    /// linear, so it is the same for every row. Classes absent from training get the gradient of
    /// `−mean_k z_k` (their probability is 0 whatever the input).
    pub fn centred_logit_gradient(&self, class: usize) -> Result<Vec<f32>> {
        if class >= self.classes.n_classes {
            return Err(BlueprintError::InvalidInput(format!(
                "class {class} is out of range (the model has {} classes)",
                self.classes.n_classes
            )));
        }
        let k = self.classes.n_present();
        let compact = self
            .classes
            .present
            .iter()
            .position(|&c| c as usize == class);
        let mut grad = vec![0.0f32; self.n_dense];
        if k < 2 {
            return Ok(grad);
        }
        for (j, g) in grad.iter_mut().enumerate() {
            let row = self.coef.row(j);
            // Full logits: binary models score only the second class (z = (0, s)).
            let logit = |c: usize| {
                if row.len() == 1 {
                    if c == 1 { row[0] } else { 0.0 }
                } else {
                    row[c]
                }
            };
            let mean = (0..k).map(logit).sum::<f64>() / k as f64;
            let own = compact.map_or(0.0, logit);
            *g = (own - mean) as f32;
        }
        Ok(grad)
    }

    /// Class probabilities, `rows × n_classes` (two present classes: one score, the second
    /// class's logit; one present class: probability 1).
    pub fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        let shape = (self.n_dense, self.n_sparse);
        let b = self.intercept.as_slice().unwrap_or(&[]);
        linear_proba(
            x,
            shape,
            self.coef.view(),
            b,
            &self.classes,
            |z, p| match z {
                [] => p.fill(1.0),
                [zi] => {
                    let p1 = if *zi >= 0.0 {
                        1.0 / (1.0 + (-zi).exp())
                    } else {
                        zi.exp() / (1.0 + zi.exp())
                    };
                    p[0] = 1.0 - p1;
                    p[1] = p1;
                }
                _ => {
                    p.copy_from_slice(z);
                    softmax_in_place(p);
                }
            },
        )
    }
}
