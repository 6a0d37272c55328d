//! Multinomial and Complement naive Bayes for non-negative features (counts, TF-IDF).
//!
//! Both follow scikit-learn's `MultinomialNB` / `ComplementNB` formulas (additive `alpha`
//! smoothing, weighted counts when sample weights are given). Features must be non-negative:
//! a negative value in either block is an `InvalidInput` error naming the cell. The sparse
//! block is used as is (never densified).

use ndarray::{Array1, Array2, Axis, s};
use serde::{Deserialize, Serialize};

use crate::error::{BlueprintError, Result};
use crate::estimator::{Estimator, FitContext, Fitted};
use crate::features::Features;
use crate::field;
use crate::fit_input::{ClassMap, ClassWeight, FitLabels};
use crate::linear::scores::linear_proba;
use crate::numeric::softmax_in_place;
use crate::params::{Access, Param, ParamSpec, SearchDim, TargetKind, Tunable};

/// The fitted state shared by both variants: `jll = X · feature_log_prob + class_log_prior`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedNaiveBayes {
    /// `(n_dense + n_sparse) × n_present_classes` per-feature log weights.
    pub feature_log_prob: Array2<f64>,
    /// Log prior per present class (added to the joint log likelihood).
    pub class_log_prior: Array1<f64>,
    /// Dense columns seen in training.
    pub n_dense: usize,
    /// Sparse columns seen in training.
    pub n_sparse: usize,
    /// Present classes and the full class count.
    pub classes: ClassMap,
}

/// Multinomial naive Bayes (scikit-learn `MultinomialNB`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultinomialNb {
    /// Additive smoothing.
    pub alpha: f64,
    /// Learn class priors from the training fold; `false` (default) uses a uniform prior,
    /// which suits the balanced-accuracy ranking.
    pub fit_prior: bool,
    /// Fitted state.
    pub fitted: Fitted<FittedNaiveBayes>,
}

/// Complement naive Bayes (scikit-learn `ComplementNB`), often better on imbalanced text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComplementNb {
    /// Additive smoothing.
    pub alpha: f64,
    /// Normalise the complement weights (scikit-learn's `norm`).
    pub norm: bool,
    /// Fitted state.
    pub fitted: Fitted<FittedNaiveBayes>,
}

impl Default for MultinomialNb {
    fn default() -> Self {
        Self {
            alpha: 1.0,
            fit_prior: false,
            fitted: Fitted::default(),
        }
    }
}

impl Default for ComplementNb {
    fn default() -> Self {
        Self {
            alpha: 1.0,
            norm: false,
            fitted: Fitted::default(),
        }
    }
}

/// Weighted per-class feature sums (`n_present × n_cols`) and class weights, after checking that
/// every value is non-negative.
fn class_feature_counts(
    x: &Features,
    y: &[u32],
    w: &[f64],
    k: usize,
) -> Result<(Array2<f64>, Vec<f64>)> {
    let nd = x.n_dense();
    let mut counts = Array2::<f64>::zeros((k, x.n_cols()));
    let mut class_count = vec![0.0; k];
    if let Some(d) = &x.dense {
        if let Some(((r, c), v)) = d.indexed_iter().find(|(_, v)| **v < 0.0) {
            return Err(BlueprintError::InvalidInput(format!(
                "naive Bayes needs non-negative features; found {v} at row {r}, column {c}"
            )));
        }
        for (i, row) in d.axis_iter(Axis(0)).enumerate() {
            counts
                .slice_mut(s![y[i] as usize, ..nd])
                .scaled_add(w[i], &row.mapv(|v| v as f64));
        }
    }
    if let Some(sp) = &x.sparse {
        for (i, row) in sp.outer_iterator().enumerate() {
            for (j, &v) in row.iter() {
                if v < 0.0 {
                    return Err(BlueprintError::InvalidInput(format!(
                        "naive Bayes needs non-negative features; found {v} at row {i}, column {}",
                        nd + j
                    )));
                }
                counts[[y[i] as usize, nd + j]] += w[i] * v as f64;
            }
        }
    }
    for (&c, &wi) in y.iter().zip(w) {
        class_count[c as usize] += wi;
    }
    Ok((counts, class_count))
}

impl FittedNaiveBayes {
    /// Fits on `x`, `y`: `log_weights` turns the weighted per-class feature sums
    /// (`n_present × n_cols`) and class weights into the feature log weights
    /// (`n_cols × n_present`) and the class log priors.
    fn fit(
        x: &Features,
        y: &[u32],
        ctx: &FitContext,
        log_weights: impl FnOnce(&Array2<f64>, &[f64]) -> (Array2<f64>, Vec<f64>),
    ) -> Result<Self> {
        let FitLabels {
            classes,
            y,
            weights,
        } = FitLabels::new(x, y, ctx, ClassWeight::None)?;
        let (counts, class_count) = class_feature_counts(x, &y, &weights, classes.n_present())?;
        let (feature_log_prob, prior) = log_weights(&counts, &class_count);
        Ok(Self {
            feature_log_prob,
            class_log_prior: Array1::from(prior),
            n_dense: x.n_dense(),
            n_sparse: x.n_sparse(),
            classes,
        })
    }

    /// Class probabilities, `rows × n_classes`.
    pub fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        let shape = (self.n_dense, self.n_sparse);
        let prior = self.class_log_prior.to_vec();
        let flp = self.feature_log_prob.view();
        linear_proba(x, shape, flp, &prior, &self.classes, |z, p| {
            p.copy_from_slice(z);
            softmax_in_place(p);
        })
    }
}

const MNB: &str = "Multinomial Naive Bayes";
const CNB: &str = "Complement Naive Bayes";

/// The smoothing hyperparameter both variants share.
fn alpha_param<E: 'static>(access: Access<E, f64>) -> Param<E> {
    Param::log_float("alpha", 1e-10..=100.0, access, "additive smoothing")
}

/// The smoothing values searched inside autopilot (the default, 1, among them).
fn alpha_search_space() -> Vec<SearchDim> {
    vec![SearchDim::new(
        "alpha",
        &["0.01", "0.03", "0.1", "0.3", "1"],
        true,
    )]
}

impl Tunable for MultinomialNb {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            alpha_param(field!(alpha)),
            Param::bool(
                "fit_prior",
                field!(fit_prior),
                "learn class priors (false = uniform prior)",
            ),
        ]
    }
}

impl Tunable for ComplementNb {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            alpha_param(field!(alpha)),
            Param::bool("norm", field!(norm), "normalise the complement weights"),
        ]
    }
}

#[typetag::serde]
impl Estimator for MultinomialNb {
    fn name(&self) -> String {
        MNB.into()
    }

    fn params(&self) -> Vec<ParamSpec> {
        self.param_specs()
    }

    fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_by_name(MNB, name, value)
    }

    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()> {
        self.fitted.clear();
        let fitted = FittedNaiveBayes::fit(x, y, ctx, |counts, class_count| {
            let k = class_count.len();
            let mut flp = Array2::<f64>::zeros((x.n_cols(), k));
            for c in 0..k {
                let smoothed = counts.row(c).mapv(|v| v + self.alpha);
                let log_total = smoothed.sum().ln();
                flp.column_mut(c)
                    .assign(&smoothed.mapv(|v| v.ln() - log_total));
            }
            let total: f64 = class_count.iter().sum();
            let prior = if self.fit_prior {
                class_count.iter().map(|&c| (c / total).ln()).collect()
            } else {
                vec![-(k as f64).ln(); k]
            };
            (flp, prior)
        })?;
        self.fitted = fitted.into();
        Ok(())
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        self.fitted.get(MNB)?.predict_proba(x)
    }

    fn search_space(&self, _kind: TargetKind) -> Vec<SearchDim> {
        alpha_search_space()
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }
}

#[typetag::serde]
impl Estimator for ComplementNb {
    fn name(&self) -> String {
        CNB.into()
    }

    fn params(&self) -> Vec<ParamSpec> {
        self.param_specs()
    }

    fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_by_name(CNB, name, value)
    }

    fn fit(&mut self, x: &Features, y: &[u32], ctx: &FitContext) -> Result<()> {
        self.fitted.clear();
        // No class prior (scikit-learn adds one only when a single class was seen, where the
        // softmax over one class gives probability 1 anyway).
        let fitted = FittedNaiveBayes::fit(x, y, ctx, |counts, class_count| {
            let k = class_count.len();
            let all = counts.sum_axis(Axis(0));
            let mut flp = Array2::<f64>::zeros((x.n_cols(), k));
            for c in 0..k {
                let comp = &all + self.alpha - counts.row(c);
                let log_total = comp.sum().ln();
                let logged = comp.mapv(|v| v.ln() - log_total);
                let weights = if self.norm {
                    &logged / logged.sum()
                } else {
                    -logged
                };
                flp.column_mut(c).assign(&weights);
            }
            (flp, vec![0.0; k])
        })?;
        self.fitted = fitted.into();
        Ok(())
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        self.fitted.get(CNB)?.predict_proba(x)
    }

    fn search_space(&self, _kind: TargetKind) -> Vec<SearchDim> {
        alpha_search_space()
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn data() -> (Features, Vec<u32>, Features) {
        let x = array![
            [2.0f32, 1.0, 0.0, 0.0],
            [3.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 4.0, 1.0],
            [0.0, 1.0, 3.0, 2.0],
            [1.0, 0.0, 0.0, 5.0],
            [0.0, 2.0, 0.0, 3.0],
            [4.0, 0.0, 0.0, 1.0]
        ];
        let q = array![
            [1.0f32, 1.0, 1.0, 1.0],
            [0.0, 0.0, 2.0, 0.0],
            [3.0, 0.0, 0.0, 0.5]
        ];
        // Half dense, half sparse: the same columns side by side.
        let split = |m: &Array2<f32>| Features {
            dense: Some(m.slice(s![.., ..2]).to_owned()),
            sparse: Some(sprs::CsMat::csr_from_dense(m.slice(s![.., 2..]), 0.0)),
            names: vec![],
        };
        (split(&x), vec![0, 0, 1, 1, 2, 2, 0], split(&q))
    }

    fn check(est: &mut dyn Estimator, want: [[f64; 3]; 3]) {
        let (x, y, q) = data();
        est.fit(&x, &y, &FitContext::new(3, 0)).unwrap();
        let p = est.predict_proba(&q).unwrap();
        for i in 0..3 {
            for k in 0..3 {
                assert!(
                    (p[[i, k]] as f64 - want[i][k]).abs() < 1e-5,
                    "{}: p[{i},{k}] = {} want {}",
                    est.name(),
                    p[[i, k]],
                    want[i][k]
                );
            }
        }
    }

    /// Expected values: scikit-learn 1.9.1 `MultinomialNB(alpha, fit_prior)` / `ComplementNB(alpha, norm)`
    /// `.fit(X, y).predict_proba(Q)` on the dense versions of the matrices above.
    #[test]
    fn matches_sklearn() {
        check(
            &mut MultinomialNb {
                alpha: 1.0,
                fit_prior: true,
                ..Default::default()
            },
            [
                [0.439954, 0.303754, 0.256292],
                [0.075042, 0.910728, 0.01423],
                [0.98487, 0.001164, 0.013966],
            ],
        );
        check(
            &mut MultinomialNb {
                alpha: 0.5,
                fit_prior: false,
                ..Default::default()
            },
            [
                [0.400882, 0.331092, 0.268027],
                [0.033197, 0.962525, 0.004278],
                [0.987719, 0.000285, 0.011996],
            ],
        );
        check(
            &mut ComplementNb {
                alpha: 1.0,
                norm: false,
                ..Default::default()
            },
            [
                [0.373618, 0.3792, 0.247182],
                [0.052338, 0.903066, 0.044596],
                [0.978801, 0.007355, 0.013844],
            ],
        );
        check(
            &mut ComplementNb {
                alpha: 0.5,
                norm: true,
                ..Default::default()
            },
            [
                [0.333333, 0.333333, 0.333333],
                [0.274074, 0.450979, 0.274946],
                [0.519295, 0.22194, 0.258765],
            ],
        );
    }

    #[test]
    fn negative_values_are_refused() {
        let mut nb = MultinomialNb::default();
        let x = Features::dense(array![[1.0f32, -0.5], [1.0, 2.0]]);
        let e = nb
            .fit(&x, &[0, 1], &FitContext::new(2, 0))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("non-negative") && e.contains("row 0, column 1"),
            "{e}"
        );
        let mut t = sprs::TriMat::new((2, 3));
        t.add_triplet(1, 2, -1.0f32);
        let xs = Features::sparse(t.to_csr());
        assert!(
            ComplementNb::default()
                .fit(&xs, &[0, 1], &FitContext::new(2, 0))
                .is_err()
        );
    }

    #[test]
    fn absent_and_single_classes_stay_finite() {
        let (x, y, q) = data();
        let mut nb = MultinomialNb::default();
        nb.fit(&x, &y, &FitContext::new(5, 0)).unwrap();
        let p = nb.predict_proba(&q).unwrap();
        assert_eq!(p.ncols(), 5);
        assert!(p.iter().all(|v| v.is_finite() && *v > 0.0));
        assert!(p.column(4).iter().all(|&v| v < 1e-5));
        let mut cnb = ComplementNb::default();
        cnb.fit(&x, &[2; 7], &FitContext::new(3, 0)).unwrap();
        let p = cnb.predict_proba(&q).unwrap();
        assert!(p.column(2).iter().all(|&v| v > 0.999));
        assert!(cnb.fit(&x, &[3; 7], &FitContext::new(3, 0)).is_err());
        assert!(
            cnb.predict_proba(&Features::dense(array![[1.0f32]]))
                .is_err()
        );
    }

    #[test]
    fn params_and_serde() {
        let mut nb: Box<dyn Estimator> = Box::new(ComplementNb::default());
        assert!(nb.set_param("alpha", "0").is_err());
        assert!(nb.set_param("beta", "1").is_err());
        nb.set_param("alpha", "0.3").unwrap();
        assert_eq!(nb.params()[0].value, "0.3");
        let (x, y, q) = data();
        nb.fit(&x, &y, &FitContext::new(3, 0)).unwrap();
        let back: Box<dyn Estimator> =
            serde_json::from_str(&serde_json::to_string(&nb).unwrap()).unwrap();
        assert_eq!(
            nb.predict_proba(&q).unwrap(),
            back.predict_proba(&q).unwrap()
        );
    }
}
