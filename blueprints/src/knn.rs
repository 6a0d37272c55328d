//! k-nearest-neighbour classifier and regressor, brute force over the training rows (parallel
//! over queries).
//!
//! Distances use all columns (dense block and sparse block together, the sparse block through an
//! inverted index, never densified): `cosine` (1 - cosine similarity; a zero row has distance 1
//! to everything) or `euclidean`. Features are used as given (no scaling). Neighbour votes are
//! weighted `uniform` or by inverse `distance` (neighbours at distance 0, if any, take all the
//! weight, as in scikit-learn), times the row's sample weight when given. Ties in distance go to
//! the lower training row. Probabilities are `(vote share + s) / (1 + K s)` with a small
//! `smoothing` `s`, so no class has probability 0 and log loss stays finite. When `k` exceeds
//! the number of training rows, all rows are used. A regressor predicts the neighbours' targets
//! averaged with the same weights.

use ndarray::{Array2, ArrayView1, Axis, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sprs::CsMat;

use crate::error::Result;
use crate::estimator::{Estimator, FitContext, Fitted};
use crate::features::Features;
use crate::fit_input::{ClassMap, ClassWeight, FitLabels, FitTargets, check_predict_columns};
use crate::params::{Param, ParamSpec, SearchDim, TargetKind, Tunable};
use crate::{choice_enum, field};

const NAME: &str = "k-Nearest Neighbours";
/// Query rows per parallel task.
const QUERY_CHUNK: usize = 64;

choice_enum! {
    /// The distance between rows.
    pub enum Metric {
        /// 1 − cosine similarity.
        Cosine = "cosine",
        /// Euclidean distance.
        Euclidean = "euclidean",
    }
}

choice_enum! {
    /// How neighbours' votes are weighted.
    pub enum Weights {
        /// Every neighbour counts the same.
        Uniform = "uniform",
        /// Inverse distance.
        Distance = "distance",
    }
}

/// k-nearest-neighbour classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Knn {
    /// Number of neighbours.
    pub k: usize,
    /// Distance between rows.
    pub metric: Metric,
    /// Vote weighting.
    pub weights: Weights,
    /// Added to every class's vote share before normalising.
    pub smoothing: f64,
    /// Fitted state (the training rows).
    pub fitted: Fitted<FittedKnn>,
}

/// The training rows a fitted k-NN model searches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedKnn {
    /// Training features.
    pub x: Features,
    /// Compact labels of the training rows.
    pub y: Vec<u32>,
    /// Vote weight of each training row (sample weight, or 1).
    pub row_weight: Vec<f64>,
    /// Squared L2 norm of each training row over both blocks.
    pub sq_norms: Vec<f64>,
    /// Present classes and the full class count (one class for a regressor).
    pub classes: ClassMap,
    /// Targets of the training rows when fitted by `fit_regression` (then `y` is all 0).
    #[serde(default)]
    pub targets: Option<Vec<f64>>,
}

impl Default for Knn {
    fn default() -> Self {
        Self {
            k: 10,
            metric: Metric::Cosine,
            weights: Weights::Distance,
            smoothing: 1e-3,
            fitted: Fitted::default(),
        }
    }
}

/// Squared L2 norm of every row over both blocks.
fn row_sq_norms(x: &Features) -> Vec<f64> {
    let mut out = vec![0.0; x.n_rows()];
    if let Some(d) = &x.dense {
        for (o, row) in out.iter_mut().zip(d.axis_iter(Axis(0))) {
            *o += row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
        }
    }
    if let Some(sp) = &x.sparse {
        for (o, row) in out.iter_mut().zip(sp.outer_iterator()) {
            *o += row.iter().map(|(_, &v)| (v as f64).powi(2)).sum::<f64>();
        }
    }
    out
}

impl FittedKnn {
    /// Dot products of query rows `q0..q0+rows` with every training row, `rows × n_train`.
    fn dots(
        &self,
        q: &Features,
        q0: usize,
        rows: usize,
        train_csc: Option<&CsMat<f32>>,
    ) -> Array2<f32> {
        let n = self.y.len();
        let mut dots = match (&q.dense, &self.x.dense) {
            (Some(qd), Some(td)) if td.ncols() > 0 => qd.slice(s![q0..q0 + rows, ..]).dot(&td.t()),
            _ => Array2::zeros((rows, n)),
        };
        if let (Some(qs), Some(csc)) = (&q.sparse, train_csc) {
            for (i, mut drow) in dots.axis_iter_mut(Axis(0)).enumerate() {
                let Some(qrow) = qs.outer_view(q0 + i) else {
                    continue;
                };
                for (j, &v) in qrow.iter() {
                    if let Some(col) = csc.outer_view(j) {
                        for (t, &u) in col.iter() {
                            drow[t] += v * u;
                        }
                    }
                }
            }
        }
        dots
    }

    /// The `k` nearest training rows of one query row and their weights (distance weighting
    /// times nothing else: the row weight is applied by the caller).
    fn neighbours(&self, dots: ArrayView1<f32>, q_sq: f64, spec: &Knn) -> Vec<(usize, f64)> {
        let cosine = spec.metric == Metric::Cosine;
        let mut cand: Vec<(f64, usize)> = dots
            .iter()
            .enumerate()
            .map(|(t, &d)| {
                let t_sq = self.sq_norms[t];
                let dist = if cosine {
                    let denom = (q_sq * t_sq).sqrt();
                    if denom > 0.0 {
                        (1.0 - d as f64 / denom).max(0.0)
                    } else {
                        1.0
                    }
                } else {
                    (q_sq + t_sq - 2.0 * d as f64).max(0.0).sqrt()
                };
                (dist, t)
            })
            .collect();
        let k = spec.k.clamp(1, cand.len());
        let order = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        if k < cand.len() {
            cand.select_nth_unstable_by(k - 1, order);
            cand.truncate(k);
        }
        let any_zero = cand.iter().any(|c| c.0 == 0.0);
        cand.iter()
            .map(|&(dist, t)| {
                let w = match (spec.weights, any_zero) {
                    (Weights::Distance, true) => f64::from(u8::from(dist == 0.0)),
                    (Weights::Distance, false) => 1.0 / dist,
                    (Weights::Uniform, _) => 1.0,
                };
                (t, w)
            })
            .collect()
    }

    /// Vote shares of the present classes for one query row.
    fn vote(&self, dots: ArrayView1<f32>, q_sq: f64, spec: &Knn) -> Vec<f64> {
        let mut votes = vec![0.0; self.classes.n_present()];
        for (t, w) in self.neighbours(dots, q_sq, spec) {
            votes[self.y[t] as usize] += w * self.row_weight[t];
        }
        let total: f64 = votes.iter().sum();
        let kk = votes.len() as f64;
        votes
            .iter()
            .map(|&v| {
                let share = if total > 0.0 { v / total } else { 1.0 / kk };
                (share + spec.smoothing) / (1.0 + kk * spec.smoothing)
            })
            .collect()
    }

    /// The weighted mean target of the neighbours of one query row (their plain mean when all
    /// their weights are 0).
    fn average(&self, targets: &[f64], dots: ArrayView1<f32>, q_sq: f64, spec: &Knn) -> f64 {
        let near = self.neighbours(dots, q_sq, spec);
        let (mut s, mut total) = (0.0, 0.0);
        for &(t, w) in &near {
            s += w * self.row_weight[t] * targets[t];
            total += w * self.row_weight[t];
        }
        if total > 0.0 {
            s / total
        } else {
            near.iter().map(|&(t, _)| targets[t]).sum::<f64>() / near.len().max(1) as f64
        }
    }
}

impl Tunable for Knn {
    fn param_table() -> Vec<Param<Self>> {
        vec![
            Param::int("k", 1..=1000, field!(k), "number of neighbours"),
            Param::choice("metric", field!(metric), "distance between rows"),
            Param::choice(
                "weights",
                field!(weights),
                "vote weight: equal or inverse distance",
            ),
            Param::log_float(
                "smoothing",
                1e-9..=1.0,
                field!(smoothing),
                "added to each class's vote share so no probability is 0",
            ),
        ]
    }
}

#[typetag::serde]
impl Estimator for Knn {
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
        let labels = FitLabels::new(x, y, ctx, ClassWeight::None)?;
        self.fitted.clear();
        let x = Features {
            dense: x.dense.clone(),
            sparse: x.sparse.clone(),
            names: Vec::new(),
        };
        self.fitted = FittedKnn {
            sq_norms: row_sq_norms(&x),
            y: labels.y,
            row_weight: labels.weights,
            classes: labels.classes,
            x,
            targets: None,
        }
        .into();
        Ok(())
    }

    fn fit_regression(&mut self, x: &Features, y: &[f32], ctx: &FitContext) -> Result<()> {
        let t = FitTargets::new(x, y, ctx)?;
        self.fitted.clear();
        let x = Features {
            dense: x.dense.clone(),
            sparse: x.sparse.clone(),
            names: Vec::new(),
        };
        self.fitted = FittedKnn {
            sq_norms: row_sq_norms(&x),
            y: vec![0; t.y.len()],
            row_weight: t.weights,
            classes: ClassMap {
                n_classes: 1,
                present: vec![0],
            },
            x,
            targets: Some(t.y),
        }
        .into();
        Ok(())
    }

    fn supports_regression(&self) -> bool {
        true
    }

    fn predict_proba(&self, x: &Features) -> Result<Array2<f32>> {
        let fit = self.fitted.get(NAME)?;
        check_predict_columns(x, fit.x.n_dense(), fit.x.n_sparse())?;
        let csc = fit.x.sparse.as_ref().map(|s| s.to_csc());
        let q_sq = row_sq_norms(x);
        let mut out = Array2::<f64>::zeros((x.n_rows(), fit.classes.n_present()));
        out.axis_chunks_iter_mut(Axis(0), QUERY_CHUNK)
            .into_par_iter()
            .enumerate()
            .for_each(|(c, mut o)| {
                let q0 = c * QUERY_CHUNK;
                let dots = fit.dots(x, q0, o.nrows(), csc.as_ref());
                for (i, mut orow) in o.axis_iter_mut(Axis(0)).enumerate() {
                    if let Some(targets) = &fit.targets {
                        orow[0] = fit.average(targets, dots.row(i), q_sq[q0 + i], self);
                        continue;
                    }
                    let p = fit.vote(dots.row(i), q_sq[q0 + i], self);
                    orow.iter_mut().zip(p).for_each(|(a, b)| *a = b);
                }
            });
        if fit.targets.is_some() {
            return Ok(out.mapv(|v| v as f32));
        }
        Ok(fit.classes.expand(out.view()))
    }

    fn search_space(&self, _kind: TargetKind) -> Vec<SearchDim> {
        vec![
            SearchDim::new("k", &["5", "10", "20", "40"], true),
            SearchDim::new("weights", &["distance", "uniform"], false),
            SearchDim::new("metric", &["cosine", "euclidean"], false),
        ]
    }

    fn clone_box(&self) -> Box<dyn Estimator> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn data() -> (Array2<f32>, Vec<u32>, Array2<f32>) {
        let x = array![
            [0.35f32, 0.82, 0.33, -1.3],
            [0.91, 0.45, -0.54, 0.58],
            [0.36, 0.29, 0.03, 0.55],
            [-0.74, -0.16, -0.48, 0.6],
            [0.04, -0.29, -0.78, -0.26],
            [0.01, -0.28, 1.29, 1.01],
            [-2.71, -1.89, -0.17, -0.42],
            [0.21, 0.22, 2.12, -1.11],
            [-0.38, 2.04, 0.65, 0.66],
            [-0.51, -1.65, 0.17, 0.11],
            [-1.23, -0.68, -0.07, -0.94],
            [-0.1, 0.1, 0.04, -0.51]
        ];
        let q = array![
            [0.59f32, 0.89, 0.32, -0.82],
            [0.73, -0.5, 0.88, -1.07],
            [0.91, -0.02, -1.25, -0.31],
            [0.05, 0.27, -0.98, -1.11]
        ];
        (x, vec![0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0, 1], q)
    }

    /// Expected: scikit-learn 1.9.1 `KNeighborsClassifier(n_neighbors=4, metric, weights,
    /// algorithm="brute").fit(X, y).predict_proba(Q)`; our smoothing is set to 1e-9 here.
    #[test]
    fn matches_sklearn_dense_and_sparse() {
        #[rustfmt::skip]
        let cases = [
            (Metric::Cosine, Weights::Uniform, [[0.25, 0.5, 0.25], [0.5, 0.5, 0.0], [0.25, 0.5, 0.25], [0.5, 0.5, 0.0]]),
            (Metric::Cosine, Weights::Distance, [[0.733957, 0.199726, 0.066317], [0.348466, 0.651534, 0.0], [0.112838, 0.776188, 0.110975], [0.348438, 0.651562, 0.0]]),
            (Metric::Euclidean, Weights::Uniform, [[0.25, 0.5, 0.25], [0.25, 0.75, 0.0], [0.0, 0.75, 0.25], [0.5, 0.5, 0.0]]),
            (Metric::Euclidean, Weights::Distance, [[0.466526, 0.369574, 0.1639], [0.264705, 0.735295, 0.0], [0.0, 0.799336, 0.200664], [0.405844, 0.594156, 0.0]]),
        ];
        let (x, y, q) = data();
        let split = |m: &Array2<f32>| Features {
            dense: Some(m.slice(s![.., ..1]).to_owned()),
            sparse: Some(CsMat::csr_from_dense(m.slice(s![.., 1..]), 0.0)),
            names: vec![],
        };
        for (metric, weights, want) in cases {
            for (train, query) in [
                (Features::dense(x.clone()), Features::dense(q.clone())),
                (split(&x), split(&q)),
            ] {
                let mut knn = Knn {
                    k: 4,
                    metric,
                    weights,
                    smoothing: 1e-9,
                    fitted: Fitted::default(),
                };
                knn.fit(&train, &y, &FitContext::new(3, 0)).unwrap();
                let p = knn.predict_proba(&query).unwrap();
                for i in 0..4 {
                    for c in 0..3 {
                        assert!(
                            (p[[i, c]] as f64 - want[i][c]).abs() < 1e-4,
                            "{metric}/{weights} p[{i},{c}]={} want {}",
                            p[[i, c]],
                            want[i][c]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn probabilities_are_never_zero_and_exact_match_wins() {
        let (x, y, _) = data();
        let mut knn = Knn {
            k: 3,
            ..Knn::default()
        };
        knn.fit(&Features::dense(x.clone()), &y, &FitContext::new(4, 0))
            .unwrap();
        let p = knn.predict_proba(&Features::dense(x.clone())).unwrap();
        assert_eq!(p.ncols(), 4);
        assert!(p.iter().all(|v| v.is_finite() && *v > 0.0));
        // Each training row is its own neighbour at distance 0 and takes all the weight.
        for (i, &c) in y.iter().enumerate() {
            assert!(p[[i, c as usize]] > 0.99, "row {i}");
        }
    }

    #[test]
    fn bad_input_and_edge_cases() {
        let (x, y, q) = data();
        let mut knn = Knn {
            k: 50,
            ..Knn::default()
        };
        assert!(knn.predict_proba(&Features::dense(q.clone())).is_err());
        assert!(
            knn.fit(&Features::dense(x.clone()), &y[..3], &FitContext::new(3, 0))
                .is_err()
        );
        knn.fit(
            &Features::dense(x.clone()),
            &[1; 12],
            &FitContext::new(3, 0),
        )
        .unwrap();
        let p = knn.predict_proba(&Features::dense(q.clone())).unwrap();
        assert!(p.column(1).iter().all(|&v| v > 0.99));
        assert!(
            knn.predict_proba(&Features::dense(q.slice(s![.., ..2]).to_owned()))
                .is_err()
        );
        assert!(
            knn.set_param("metric", "manhattan")
                .unwrap_err()
                .to_string()
                .contains("cosine, euclidean")
        );
        assert!(knn.set_param("k", "0").is_err());
        // A zero query row under cosine: every distance is 1, votes are uniform, still finite.
        knn.fit(&Features::dense(x), &y, &FitContext::new(3, 0))
            .unwrap();
        let p = knn
            .predict_proba(&Features::dense(Array2::zeros((1, 4))))
            .unwrap();
        assert!(p.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn regression_averages_neighbour_targets() {
        let (x, _, q) = data();
        let y: Vec<f32> = (0..12).map(|i| i as f32 * 1.5 - 4.0).collect();
        let f = Features::dense(x.clone());
        let ctx = FitContext::new(1, 0);
        for metric in ["cosine", "euclidean"] {
            let mut one = Knn::default();
            one.set_param("k", "1").unwrap();
            one.set_param("metric", metric).unwrap();
            one.fit_regression(&f, &y, &ctx).unwrap();
            let p = one.predict_proba(&f).unwrap();
            assert_eq!(p.ncols(), 1);
            for (a, b) in p.column(0).iter().zip(&y) {
                assert!((a - b).abs() < 1e-5, "{metric}: {a} vs {b}");
            }
        }
        // Uniform weights, k = all rows: the sample-weighted mean of every target.
        let mut all = Knn {
            k: 12,
            weights: Weights::Uniform,
            metric: Metric::Euclidean,
            ..Knn::default()
        };
        let w: Vec<f32> = (0..12).map(|i| if i < 6 { 3.0 } else { 1.0 }).collect();
        let wctx = FitContext {
            sample_weight: Some(w.clone()),
            ..ctx.clone()
        };
        all.fit_regression(&f, &y, &wctx).unwrap();
        let want = y.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() / w.iter().sum::<f32>();
        let p = all.predict_proba(&Features::dense(q.clone())).unwrap();
        assert!(p.iter().all(|v| (v - want).abs() < 1e-5), "{p:?} vs {want}");
        // Inverse distance: the prediction lies between the neighbours' targets, nearer the closer.
        let mut two = Knn {
            k: 2,
            metric: Metric::Euclidean,
            ..Knn::default()
        };
        let line = Features::dense(array![[0.0f32], [1.0], [10.0]]);
        two.fit_regression(&line, &[0.0, 10.0, 100.0], &ctx)
            .unwrap();
        let p = two
            .predict_proba(&Features::dense(array![[0.25f32]]))
            .unwrap();
        assert!((p[[0, 0]] - 2.5).abs() < 1e-5, "{p:?}");
        let back: Box<dyn Estimator> = serde_json::from_str(
            &serde_json::to_string(&(Box::new(two.clone()) as Box<dyn Estimator>)).unwrap(),
        )
        .unwrap();
        let probe = Features::dense(array![[0.25f32], [4.0], [-3.0]]);
        assert_eq!(
            back.predict_proba(&probe).unwrap(),
            two.predict_proba(&probe).unwrap()
        );
        assert!(
            two.fit_regression(&line, &[0.0, f32::NAN, 1.0], &ctx)
                .is_err()
        );
    }

    #[test]
    fn regression_beats_the_mean_on_a_smooth_target() {
        let (x, y) = crate::testing::regression(500, 3, 0.2, 9, crate::testing::nonlinear);
        let mut knn = Knn {
            metric: Metric::Euclidean,
            ..Knn::default()
        };
        let (err, r2, base) =
            crate::testing::holdout_scores(&mut knn, &Features::dense(x), &y, 400);
        assert!(
            err < 0.5 * base && r2 > 0.7,
            "rmse {err} vs mean {base}, R² {r2}"
        );
    }
}
