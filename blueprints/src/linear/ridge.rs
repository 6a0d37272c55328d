//! Ridge regression (L2-penalised least squares) on dense and sparse features.

use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::objective::Design;
use super::scores::{ROW_CHUNK, chunk_scores, linear_scores};
use super::standardize::Standardized;
use crate::error::{BlueprintError, Result};
use crate::estimator::{Estimator, FitContext, Fitted};
use crate::features::Features;
use crate::field;
use crate::fit_input::FitTargets;
use crate::numeric::dot;
use crate::params::{Param, ParamSpec, SearchDim, TargetKind, Tunable};

const NAME: &str = "Ridge Regression";

/// Ridge regression: minimises `sum_i s_i (y_i - b - x_i·w)² + alpha ||w||²` (scikit-learn's
/// `Ridge` objective; the intercept `b` is not penalised).
///
/// * `standardize`: the dense block is centred and scaled with the training rows' mean and
///   standard deviation, as [`super::LogisticRegression`] does, so `alpha` penalises every dense
///   column on the same scale; the sparse block is used as is and never densified. Coefficients
///   are mapped back to the raw feature scale after fitting.
/// * Solver: conjugate gradient on the normal equations `(XᵀSX + alpha I) w = XᵀS y` with a
///   Jacobi (diagonal) preconditioner, matrix-free. A TF-IDF block may have 10⁵ columns, so the
///   `d × d` Gram matrix is never formed: each iteration is one pass `X p` and one pass `Xᵀ q`
///   over the non-zeros. The objective is an exact quadratic, for which CG is the natural
///   Krylov method (no line search, at most `d + 1` steps in exact arithmetic), and it warm-starts
///   along the `alpha` path of the search. Stops when the residual norm is below `tol` times the
///   right-hand side's, or after `max_iter` iterations.
/// * Regression only: [`Estimator::fit`] (classification) refuses with `Unsupported`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ridge {
    /// L2 penalty strength.
    pub alpha: f64,
    /// Fit an (unpenalised) intercept.
    pub fit_intercept: bool,
    /// Standardise the dense block before fitting.
    pub standardize: bool,
    /// Most conjugate-gradient iterations.
    pub max_iter: usize,
    /// Relative residual tolerance of the solver.
    pub tol: f64,
    /// Fitted state (empty before `fit_regression`).
    pub fitted: Fitted<FittedRidge>,
}

/// A fitted ridge model on the raw (unstandardised) feature scale.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedRidge {
    /// Coefficients, `n_dense + n_sparse` (dense columns first).
    pub coef: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// Dense columns seen in training.
    pub n_dense: usize,
    /// Sparse columns seen in training.
    pub n_sparse: usize,
    /// Solver iterations used.
    pub iterations: usize,
    /// Whether the solver met its tolerance.
    pub converged: bool,
}

impl Default for Ridge {
    fn default() -> Self {
        Self {
            alpha: 1.0,
            fit_intercept: true,
            standardize: true,
            max_iter: 1000,
            tol: 1e-8,
            fitted: Fitted::default(),
        }
    }
}

impl Ridge {
    /// Default hyperparameters with the given `alpha`.
    pub fn with_alpha(alpha: f64) -> Self {
        Self {
            alpha,
            ..Self::default()
        }
    }

    /// The fitted state, or `NotFitted`.
    pub fn fitted(&self) -> Result<&FittedRidge> {
        self.fitted.get(NAME)
    }
}

/// The `alpha` path searched inside autopilot, from strong to weak penalty (default 1 among them).
const ALPHA_PATH: [&str; 11] = [
    "1000", "300", "100", "30", "10", "3", "1", "0.3", "0.1", "0.03", "0.01",
];

/// A training set made ready once for every `alpha` of a path: the design, the centred targets,
/// the row weights and the diagonal of `XᵀSX` (the preconditioner without `alpha`).
struct Prepared<'a> {
    std: Standardized<'a>,
    weights: Vec<f64>,
    /// Targets minus `y_offset`.
    y: Vec<f64>,
    /// Weighted target mean when fitting an intercept, else 0.
    y_offset: f64,
    fit_intercept: bool,
    gram_diag: Vec<f64>,
}

impl<'a> Prepared<'a> {
    fn new(x: &'a Features, y: &[f32], ctx: &FitContext, r: &Ridge) -> Result<Self> {
        let targets = FitTargets::new(x, y, ctx)?;
        let all: Vec<usize> = (0..y.len()).collect();
        let y_offset = if r.fit_intercept {
            targets.mean(&all)
        } else {
            0.0
        };
        let std = Standardized::new(x, r.standardize);
        let d = &std.design;
        let w = &targets.weights;
        let mut gram_diag = vec![0.0; d.n_cols()];
        if let Some(xd) = &d.dense {
            gram_diag[..xd.ncols()]
                .par_iter_mut()
                .enumerate()
                .for_each(|(j, g)| {
                    *g = xd.column(j).iter().zip(w).map(|(v, s)| s * v * v).sum();
                });
        }
        if let Some(csc) = &d.sparse_csc {
            let nd = d.n_dense();
            gram_diag[nd..]
                .par_iter_mut()
                .enumerate()
                .for_each(|(j, g)| {
                    if let Some(col) = csc.outer_view(j) {
                        *g = col.iter().map(|(i, &v)| w[i] * f64::from(v).powi(2)).sum();
                    }
                });
        }
        if r.fit_intercept {
            gram_diag.push(w.iter().sum());
        }
        Ok(Self {
            y: targets.y.iter().map(|v| v - y_offset).collect(),
            weights: targets.weights,
            y_offset,
            fit_intercept: r.fit_intercept,
            gram_diag,
            std,
        })
    }

    fn n_params(&self) -> usize {
        self.gram_diag.len()
    }

    /// `X w + b` over every row (`theta` = weights, then the intercept when fitted).
    fn forward(&self, theta: &[f64]) -> Vec<f64> {
        let d: &Design = &self.std.design;
        let nc = d.n_cols();
        let w = ArrayView2::from_shape((nc, 1), &theta[..nc]).expect("theta holds the weights");
        let b = [theta.get(nc).copied().unwrap_or(0.0)];
        let n_chunks = d.n_rows.div_ceil(ROW_CHUNK);
        let parts: Vec<Vec<f64>> = (0..n_chunks)
            .into_par_iter()
            .map(|c| {
                let r0 = c * ROW_CHUNK;
                let rows = ROW_CHUNK.min(d.n_rows - r0);
                let dense = d.dense.as_ref().map(|x| x.slice(s![r0..r0 + rows, ..]));
                chunk_scores(dense, d.sparse, r0, rows, w, &b)
                    .into_raw_vec_and_offset()
                    .0
            })
            .collect();
        parts.concat()
    }

    /// `Xᵀ u` (then `sum u` for the intercept), one value per parameter.
    fn backward(&self, u: &[f64]) -> Vec<f64> {
        let d = &self.std.design;
        let mut out = vec![0.0; self.n_params()];
        let nd = d.n_dense();
        if let Some(xd) = &d.dense {
            out[..nd].par_iter_mut().enumerate().for_each(|(j, o)| {
                *o = xd.column(j).iter().zip(u).map(|(v, s)| v * s).sum();
            });
        }
        if let Some(csc) = &d.sparse_csc {
            out[nd..d.n_cols()]
                .par_iter_mut()
                .enumerate()
                .for_each(|(j, o)| {
                    if let Some(col) = csc.outer_view(j) {
                        *o = col.iter().map(|(i, &v)| f64::from(v) * u[i]).sum();
                    }
                });
        }
        if self.fit_intercept {
            out[d.n_cols()] = u.iter().sum();
        }
        out
    }

    /// `(XᵀSX + alpha I') v`, `I'` without the intercept.
    fn normal_op(&self, v: &[f64], alpha: f64) -> Vec<f64> {
        let su: Vec<f64> = self
            .forward(v)
            .iter()
            .zip(&self.weights)
            .map(|(a, s)| a * s)
            .collect();
        let mut out = self.backward(&su);
        let nc = self.std.design.n_cols();
        out[..nc]
            .iter_mut()
            .zip(v)
            .for_each(|(o, vi)| *o += alpha * vi);
        out
    }
}

/// Where a conjugate-gradient solve ended.
struct Solved {
    theta: Vec<f64>,
    iterations: usize,
    converged: bool,
}

impl Ridge {
    /// Preconditioned conjugate gradient on the normal equations from `x0` (or zero).
    fn conjugate_gradient(&self, p: &Prepared, x0: Option<Vec<f64>>) -> Solved {
        let n = p.n_params();
        let sy: Vec<f64> = p.y.iter().zip(&p.weights).map(|(a, s)| a * s).collect();
        let rhs = p.backward(&sy);
        let precond: Vec<f64> = p
            .gram_diag
            .iter()
            .enumerate()
            .map(|(j, g)| {
                let a = if j < p.std.design.n_cols() {
                    self.alpha
                } else {
                    0.0
                };
                let v = g + a;
                if v > 0.0 { 1.0 / v } else { 1.0 }
            })
            .collect();
        let mut theta = x0.filter(|v| v.len() == n).unwrap_or_else(|| vec![0.0; n]);
        let mq = p.normal_op(&theta, self.alpha);
        let mut r: Vec<f64> = rhs.iter().zip(&mq).map(|(b, q)| b - q).collect();
        let mut z: Vec<f64> = r.iter().zip(&precond).map(|(a, m)| a * m).collect();
        let mut dir = z.clone();
        let mut rz = dot(&r, &z);
        let target = self.tol * dot(&rhs, &rhs).sqrt();
        for it in 0..self.max_iter {
            if dot(&r, &r).sqrt() <= target {
                return Solved {
                    theta,
                    iterations: it,
                    converged: true,
                };
            }
            let q = p.normal_op(&dir, self.alpha);
            let pq = dot(&dir, &q);
            if pq <= 0.0 || !pq.is_finite() {
                break;
            }
            let step = rz / pq;
            theta.iter_mut().zip(&dir).for_each(|(t, d)| *t += step * d);
            r.iter_mut().zip(&q).for_each(|(ri, qi)| *ri -= step * qi);
            z.iter_mut()
                .zip(r.iter().zip(&precond))
                .for_each(|(zi, (ri, m))| *zi = ri * m);
            let rz_new = dot(&r, &z);
            let beta = rz_new / rz;
            rz = rz_new;
            dir.iter_mut()
                .zip(&z)
                .for_each(|(di, zi)| *di = zi + beta * *di);
        }
        let converged = dot(&r, &r).sqrt() <= target;
        Solved {
            theta,
            iterations: self.max_iter,
            converged,
        }
    }

    /// Solves for this `alpha`, starting from `x0` (a previous solution on the same set); returns
    /// the fitted state and the solution on the standardised scale.
    fn solve(&self, p: &Prepared, x0: Option<Vec<f64>>) -> Result<(FittedRidge, Vec<f64>)> {
        let solved = self.conjugate_gradient(p, x0);
        if solved.theta.iter().any(|v| !v.is_finite()) {
            return Err(BlueprintError::Numeric {
                task: NAME.into(),
                reason: "solver produced non-finite values".into(),
            });
        }
        let d = &p.std.design;
        let nc = d.n_cols();
        let mut coef = solved.theta[..nc].to_vec();
        let mut intercept = solved.theta.get(nc).copied().unwrap_or(0.0) + p.y_offset;
        for (j, c) in coef.iter_mut().enumerate().take(d.n_dense()) {
            *c /= p.std.scale[j];
            intercept -= p.std.mean[j] * *c;
        }
        let fitted = FittedRidge {
            coef,
            intercept,
            n_dense: d.n_dense(),
            n_sparse: nc - d.n_dense(),
            iterations: solved.iterations,
            converged: solved.converged,
        };
        Ok((fitted, solved.theta))
    }

    /// One fitted copy per `alpha` in `values` (in order), each warm-started from the previous.
    fn fit_alpha_path(
        &self,
        x: &Features,
        y: &[f32],
        ctx: &FitContext,
        values: &[String],
    ) -> Result<Vec<Box<dyn Estimator>>> {
        let prepared = Prepared::new(x, y, ctx, self)?;
        let mut previous: Option<Vec<f64>> = None;
        let mut out: Vec<Box<dyn Estimator>> = Vec::with_capacity(values.len());
        for v in values {
            let mut e = self.clone();
            e.set_param("alpha", v)?;
            let (fitted, solution) = e.solve(&prepared, previous.take())?;
            previous = Some(solution);
            e.fitted = fitted.into();
            out.push(Box::new(e));
        }
        Ok(out)
    }
}

impl FittedRidge {
    /// Predicted values, `rows × 1`.
    pub fn predict(&self, x: &Features) -> Result<Array2<f32>> {
        let w = ArrayView2::from_shape((self.coef.len(), 1), &self.coef).map_err(|e| {
            BlueprintError::Numeric {
                task: NAME.into(),
                reason: e.to_string(),
            }
        })?;
        let z = linear_scores(x, (self.n_dense, self.n_sparse), w, &[self.intercept])?;
        Ok(z.mapv(|v| v as f32))
    }
}

impl Tunable for Ridge {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            Param::log_float(
                "alpha",
                1e-8..=1e8,
                field!(alpha),
                "L2 penalty strength (larger = stronger penalty), as in scikit-learn",
            ),
            Param::bool(
                "fit_intercept",
                field!(fit_intercept),
                "fit an unpenalised intercept",
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
                "most conjugate-gradient iterations",
            ),
            Param::log_float(
                "tol",
                1e-14..=1.0,
                field!(tol),
                "stop when the residual norm is below this times the right-hand side's",
            ),
        ]
    }
}

#[typetag::serde]
impl Estimator for Ridge {
    fn name(&self) -> String {
        NAME.into()
    }

    fn params(&self) -> Vec<ParamSpec> {
        self.param_specs()
    }

    fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_by_name(NAME, name, value)
    }

    fn fit(&mut self, _x: &Features, _y: &[u32], _ctx: &FitContext) -> Result<()> {
        Err(BlueprintError::Unsupported(format!(
            "{NAME} is a regressor; it does not classify"
        )))
    }

    fn fit_regression(&mut self, x: &Features, y: &[f32], ctx: &FitContext) -> Result<()> {
        self.fitted.clear();
        let prepared = Prepared::new(x, y, ctx, self)?;
        self.fitted = self.solve(&prepared, None)?.0.into();
        Ok(())
    }

    fn supports_regression(&self) -> bool {
        true
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        self.fitted()?.predict(x)
    }

    fn search_space(&self, _kind: TargetKind) -> Vec<SearchDim> {
        vec![SearchDim::new("alpha", &ALPHA_PATH, true)]
    }

    fn fit_regression_path(
        &self,
        x: &Features,
        y: &[f32],
        ctx: &FitContext,
        name: &str,
        values: &[String],
    ) -> Option<Result<Vec<Box<dyn Estimator>>>> {
        (name == "alpha").then(|| self.fit_alpha_path(x, y, ctx, values))
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }
}
