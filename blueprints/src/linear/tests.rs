//! Tests of logistic regression against scikit-learn and on bad input.
#![allow(clippy::needless_range_loop, clippy::type_complexity)]

use ndarray::{Array2, array};

use super::LogisticRegression;
use crate::estimator::{Estimator, FitContext};
use crate::features::Features;

/// The fixed 15×3 problem used for scikit-learn parity (generated once with numpy, seed 0).
fn parity_data() -> (Array2<f32>, Vec<u32>) {
    let x = array![
        [0.13f32, 9.34, 0.13],
        [1.1, 7.32, 0.07],
        [1.3, 14.74, 0.16],
        [-1.27, 6.88, 0.01],
        [-1.33, 8.91, -0.25],
        [-0.73, 7.28, 0.24],
        [0.41, 15.21, -0.03],
        [2.37, 6.67, 0.07],
        [0.9, 10.47, 0.15],
        [-0.92, 7.71, 0.04],
        [-0.01, 8.95, -0.03],
        [0.54, 11.07, 0.37],
        [-0.65, 9.35, 0.16],
        [2.49, 3.7, 0.3],
        [1.35, 13.91, 0.35]
    ];
    (x, vec![0, 1, 2, 2, 1, 2, 0, 0, 2, 0, 1, 2, 0, 1, 2])
}

fn tight(c: f64, balanced: bool) -> LogisticRegression {
    LogisticRegression {
        c,
        balanced,
        tol: 1e-10,
        max_iter: 10_000,
        ..LogisticRegression::default()
    }
}

fn assert_close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

/// scikit-learn 1.9.1: `StandardScaler().fit(X)`, then
/// `LogisticRegression(C, tol=1e-10, max_iter=10000, class_weight=cw).fit(Xs, y)`; coefficients
/// mapped back to the raw scale (`coef_ / scale_`, `intercept_ - coef_raw @ mean_`), and
/// `predict_proba` of the first three rows.
#[test]
fn matches_sklearn_multinomial_l2() {
    #[rustfmt::skip]
    let cases: [(f64, bool, [[f64; 3]; 3], [f64; 3], [[f64; 3]; 3]); 4] = [
        (1.0, false,
         [[0.019696, 0.266293, -0.285989], [0.053834, -0.211101, 0.157267], [-0.998933, -4.583239, 5.582173]],
         [-0.181752, 1.995342, -1.81359],
         [[0.378336, 0.182087, 0.439577], [0.361437, 0.467881, 0.170682], [0.348635, 0.04809, 0.603275]]),
        (1.0, true,
         [[0.001833, 0.275024, -0.276857], [0.062209, -0.224677, 0.162468], [-0.711911, -4.83496, 5.546871]],
         [-0.284273, 2.291834, -2.00756],
         [[0.394124, 0.215461, 0.390416], [0.327532, 0.533568, 0.1389], [0.381151, 0.053843, 0.565007]]),
        (0.01, false,
         [[-0.003491, 0.0055, -0.002009], [0.001165, -0.008754, 0.007588], [-0.079032, -0.144666, 0.223699]],
         [0.013493, -0.1125, 0.099008],
         [[0.333223, 0.265817, 0.40096], [0.334191, 0.275451, 0.390358], [0.330918, 0.25236, 0.416722]]),
        (0.01, true,
         [[-0.004048, 0.006233, -0.002186], [0.002244, -0.00976, 0.007516], [-0.055285, -0.156248, 0.211533]],
         [-0.012908, 0.103309, -0.090401],
         [[0.333441, 0.330885, 0.335674], [0.331663, 0.342648, 0.325689], [0.335028, 0.314409, 0.350563]]),
    ];
    let (x, y) = parity_data();
    let f = Features::dense(x.clone());
    for (c, balanced, coef, intercept, probs) in cases {
        let mut lr = tight(c, balanced);
        lr.fit(&f, &y, &FitContext::new(3, 0)).unwrap();
        let fit = lr.fitted().unwrap();
        assert!(fit.converged);
        for j in 0..3 {
            for k in 0..3 {
                assert_close(
                    fit.coef[[j, k]],
                    coef[j][k],
                    1e-3,
                    &format!("C={c} coef[{j},{k}]"),
                );
            }
        }
        for k in 0..3 {
            assert_close(
                fit.intercept[k],
                intercept[k],
                1e-3,
                &format!("C={c} intercept[{k}]"),
            );
        }
        let p = lr.predict_proba(&f).unwrap();
        for i in 0..3 {
            for k in 0..3 {
                assert_close(
                    p[[i, k]] as f64,
                    probs[i][k],
                    1e-4,
                    &format!("C={c} p[{i},{k}]"),
                );
            }
        }
    }
}

/// scikit-learn 1.9.1, same scaling, `y_bin = (y == 1)`, `LogisticRegression(C=1, tol=1e-10)`:
/// binary case uses one coefficient vector, so `C` must mean the same as there.
#[test]
fn matches_sklearn_binary() {
    let (x, y) = parity_data();
    let yb: Vec<u32> = y.iter().map(|&c| u32::from(c == 1)).collect();
    let mut lr = tight(1.0, false);
    lr.fit(&Features::dense(x.clone()), &yb, &FitContext::new(2, 0))
        .unwrap();
    let coef = &lr.fitted().unwrap().coef;
    for (j, want) in [0.330929, -0.271287, -5.396483].into_iter().enumerate() {
        assert_close(coef[[j, 0]], want, 1e-3, "binary coef");
    }
    let p = lr.predict_proba(&Features::dense(x)).unwrap();
    for (i, want) in [
        [0.808028, 0.191972],
        [0.560812, 0.439188],
        [0.93565, 0.06435],
    ]
    .iter()
    .enumerate()
    {
        assert_close(p[[i, 0]] as f64, want[0], 1e-4, "binary p0");
        assert_close(p[[i, 1]] as f64, want[1], 1e-4, "binary p1");
    }
}

/// scikit-learn 1.9.1 on the standardised data:
/// `LogisticRegression(C=0.5, l1_ratio=0.5, solver="saga", tol=1e-12, max_iter=200000)`.
#[test]
fn matches_sklearn_elastic_net() {
    let (x, y) = parity_data();
    let mut lr = LogisticRegression {
        l1_ratio: 0.5,
        standardize: false,
        ..tight(0.5, false)
    };
    // Standardise by hand so the coefficients are comparable with saga's on scaled data.
    let n = x.nrows() as f32;
    let mean = x.sum_axis(ndarray::Axis(0)) / n;
    let sd = (x.mapv(|v| v * v).sum_axis(ndarray::Axis(0)) / n - &mean * &mean).mapv(f32::sqrt);
    let xs = (&x - &mean) / &sd;
    let f = Features::dense(xs);
    lr.fit(&f, &y, &FitContext::new(3, 0)).unwrap();
    let fit = lr.fitted().unwrap();
    let want = [
        [0.0, 0.03892, -0.01546],
        [0.0, -0.45129, 0.16744],
        [0.0, -0.17446, 0.59593],
    ];
    for j in 0..3 {
        for k in 0..3 {
            assert_close(
                fit.coef[[j, k]],
                want[j][k],
                2e-3,
                &format!("enet coef[{j},{k}]"),
            );
        }
    }
    // L1 must produce exact zeros, like scikit-learn.
    assert_eq!(fit.coef[[0, 0]], 0.0);
    let p = lr.predict_proba(&f).unwrap();
    let want_p = [
        [0.34741, 0.24402, 0.40858],
        [0.34854, 0.36223, 0.28923],
        [0.32701, 0.10544, 0.56755],
    ];
    for i in 0..3 {
        for k in 0..3 {
            assert_close(p[[i, k]] as f64, want_p[i][k], 1e-3, "enet p");
        }
    }
}

/// The same columns given as a sparse block or as a dense block give the same model.
#[test]
fn sparse_block_equals_dense_block() {
    let (x, y) = parity_data();
    let dense = Features::dense(x.clone());
    let split = Features {
        dense: Some(x.slice(ndarray::s![.., ..1]).to_owned()),
        sparse: Some(sprs::CsMat::csr_from_dense(
            x.slice(ndarray::s![.., 1..]),
            0.0,
        )),
        names: vec![],
    };
    let mut a = LogisticRegression {
        standardize: false,
        ..tight(1.0, true)
    };
    let mut b = a.clone();
    a.fit(&dense, &y, &FitContext::new(3, 0)).unwrap();
    b.fit(&split, &y, &FitContext::new(3, 0)).unwrap();
    let (pa, pb) = (
        a.predict_proba(&dense).unwrap(),
        b.predict_proba(&split).unwrap(),
    );
    for (u, v) in pa.iter().zip(pb.iter()) {
        assert!((u - v).abs() < 1e-5, "{u} vs {v}");
    }
}

#[test]
fn absent_class_gets_small_finite_probability() {
    let (x, y) = parity_data();
    // Labels 0 and 2 only, but 4 classes expected.
    let y2: Vec<u32> = y.iter().map(|&c| if c == 1 { 0 } else { c }).collect();
    let mut lr = LogisticRegression::default();
    lr.fit(&Features::dense(x.clone()), &y2, &FitContext::new(4, 0))
        .unwrap();
    let p = lr.predict_proba(&Features::dense(x)).unwrap();
    assert_eq!(p.ncols(), 4);
    for row in p.rows() {
        assert!(row.iter().all(|v| v.is_finite() && *v > 0.0));
        assert!(row[1] < 1e-5 && row[3] < 1e-5);
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn single_class_fold_predicts_that_class() {
    let (x, _) = parity_data();
    let mut lr = LogisticRegression::default();
    lr.fit(
        &Features::dense(x.clone()),
        &[1; 15],
        &FitContext::new(3, 0),
    )
    .unwrap();
    let p = lr.predict_proba(&Features::dense(x)).unwrap();
    assert!(p.column(1).iter().all(|&v| v > 0.999));
    assert!(p.iter().all(|v| v.is_finite() && *v > 0.0));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let (x, y) = parity_data();
    let ctx = FitContext::new(3, 0);
    let mut lr = LogisticRegression::default();
    assert!(
        lr.predict_proba(&Features::dense(x.clone()))
            .unwrap_err()
            .to_string()
            .contains("not fitted")
    );
    let mut bad = x.clone();
    bad[[4, 1]] = f32::NAN;
    assert!(
        lr.fit(&Features::dense(bad), &y, &ctx)
            .unwrap_err()
            .to_string()
            .contains("row 4")
    );
    assert!(lr.fit(&Features::dense(x.clone()), &y[..10], &ctx).is_err());
    assert!(
        lr.fit(&Features::dense(Array2::zeros((0, 3))), &[], &ctx)
            .is_err()
    );
    assert!(
        lr.fit(&Features::dense(Array2::zeros((15, 0))), &y, &ctx)
            .is_err()
    );
    let mut y_bad = y.clone();
    y_bad[0] = 3;
    assert!(
        lr.fit(&Features::dense(x.clone()), &y_bad, &ctx)
            .unwrap_err()
            .to_string()
            .contains("label 3")
    );
    lr.fit(&Features::dense(x.clone()), &y, &ctx).unwrap();
    assert!(
        lr.predict_proba(&Features::dense(x.slice(ndarray::s![.., ..2]).to_owned()))
            .is_err()
    );
    let mut inf = x;
    inf[[0, 0]] = f32::INFINITY;
    assert!(lr.predict_proba(&Features::dense(inf)).is_err());
}

#[test]
fn params_are_listed_and_checked() {
    let mut lr = LogisticRegression::default();
    let names: Vec<String> = lr.params().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "C",
            "l1_ratio",
            "class_weight",
            "standardize",
            "max_iter",
            "tol"
        ]
    );
    lr.set_param("C", "0.1").unwrap();
    assert_eq!(lr.c, 0.1);
    assert!(lr.set_param("C", "-1").is_err());
    assert!(
        lr.set_param("class_weight", "auto")
            .unwrap_err()
            .to_string()
            .contains("balanced, none")
    );
    assert!(
        lr.set_param("gamma", "1")
            .unwrap_err()
            .to_string()
            .contains("valid parameters: C")
    );
}

#[test]
fn serde_round_trip_keeps_predictions() {
    let (x, y) = parity_data();
    let mut lr: Box<dyn Estimator> = Box::new(LogisticRegression::default());
    lr.fit(&Features::dense(x.clone()), &y, &FitContext::new(3, 0))
        .unwrap();
    let json = serde_json::to_string(&lr).unwrap();
    let back: Box<dyn Estimator> = serde_json::from_str(&json).unwrap();
    let f = Features::dense(x);
    assert_eq!(
        lr.predict_proba(&f).unwrap(),
        back.predict_proba(&f).unwrap()
    );
}

/// A larger problem (several row chunks) with a dense and a sparse block.
fn chunked_problem(n: usize, k: u32) -> (Features, Vec<u32>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let y: Vec<u32> = (0..n).map(|_| rng.random_range(0..k)).collect();
    let dense = Array2::from_shape_fn((n, 4), |(i, j)| {
        rng.random::<f32>() * 3.0 + if y[i] as usize == j { 1.0 } else { 0.0 }
    });
    let mut t = sprs::TriMat::new((n, 40));
    for i in 0..n {
        for _ in 0..3 {
            let j = if rng.random::<f32>() < 0.5 {
                y[i] as usize * 5 + rng.random_range(0..5)
            } else {
                rng.random_range(0..40)
            };
            t.add_triplet(i, j, rng.random::<f32>());
        }
    }
    (
        Features {
            dense: Some(dense),
            sparse: Some(t.to_csr()),
            names: vec![],
        },
        y,
    )
}

/// The analytic gradient of the objective matches central finite differences, for the binary
/// (one score column) and multinomial parameterisations, across several row chunks.
#[test]
fn gradient_matches_finite_differences() {
    use super::objective::{Design, SoftmaxObjective};
    for k in [2u32, 4] {
        let (x, y) = chunked_problem(700, k);
        let design = Design {
            dense: x.dense.as_ref().map(|d| d.mapv(f64::from)),
            sparse: x.sparse.as_ref(),
            sparse_csc: x.sparse.as_ref().map(|s| s.to_csc()),
            n_rows: 700,
        };
        let weights: Vec<f64> = (0..700).map(|i| 0.5 + (i % 3) as f64).collect();
        let obj = SoftmaxObjective {
            design: &design,
            y: &y,
            weights: &weights,
            n_classes: k as usize,
            l2: 0.7,
        };
        let theta: Vec<f64> = (0..obj.n_params())
            .map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.03)
            .collect();
        let mut g = vec![0.0; theta.len()];
        obj.value_grad(&theta, &mut g);
        let mut scratch = vec![0.0; theta.len()];
        for i in (0..theta.len()).step_by(7) {
            let h = 1e-5;
            let (mut up, mut down) = (theta.clone(), theta.clone());
            up[i] += h;
            down[i] -= h;
            let fd = (obj.value_grad(&up, &mut scratch) - obj.value_grad(&down, &mut scratch))
                / (2.0 * h);
            assert!(
                (fd - g[i]).abs() < 1e-6,
                "k={k} param {i}: analytic {} vs numeric {fd}",
                g[i]
            );
        }
    }
}

/// Integer sample weights are the same as repeating rows.
#[test]
fn sample_weights_equal_repeated_rows() {
    let (x, y) = chunked_problem(300, 3);
    let reps: Vec<usize> = (0..300).map(|i| 1 + i % 3).collect();
    let rows: Vec<usize> = (0..300)
        .flat_map(|i| std::iter::repeat_n(i, reps[i]))
        .collect();
    let y_rep: Vec<u32> = rows.iter().map(|&i| y[i]).collect();
    let mut ctx = FitContext::new(3, 0);
    ctx.sample_weight = Some(reps.iter().map(|&r| r as f32).collect());
    // Standardisation statistics are unweighted, so compare without it.
    let mut a = LogisticRegression {
        standardize: false,
        balanced: false,
        ..tight(0.3, false)
    };
    let mut b = a.clone();
    a.fit(&x, &y, &ctx).unwrap();
    b.fit(&x.select_rows(&rows), &y_rep, &FitContext::new(3, 0))
        .unwrap();
    let (pa, pb) = (a.predict_proba(&x).unwrap(), b.predict_proba(&x).unwrap());
    for (u, v) in pa.iter().zip(pb.iter()) {
        assert!((u - v).abs() < 1e-4, "{u} vs {v}");
    }
}

/// Predicting many rows at once (several chunks) equals predicting them one by one, and
/// refitting gives bit-identical results.
#[test]
fn chunked_prediction_is_consistent_and_deterministic() {
    let (x, y) = chunked_problem(600, 3);
    let mut lr = LogisticRegression::default();
    lr.fit(&x, &y, &FitContext::new(3, 1)).unwrap();
    let all = lr.predict_proba(&x).unwrap();
    for i in [0, 255, 256, 511, 599] {
        let one = lr.predict_proba(&x.select_rows(&[i])).unwrap();
        for k in 0..3 {
            assert!((one[[0, k]] - all[[i, k]]).abs() < 1e-6);
        }
    }
    let mut again = LogisticRegression::default();
    again.fit(&x, &y, &FitContext::new(3, 1)).unwrap();
    assert_eq!(again.predict_proba(&x).unwrap(), all);
    // A sensible model: better than chance on its own training rows.
    let hits = (0..600)
        .filter(|&i| {
            (0..3).max_by(|&a, &b| all[[i, a]].total_cmp(&all[[i, b]])) == Some(y[i] as usize)
        })
        .count();
    assert!(hits > 400, "{hits}");
}

#[test]
fn logit_gradient_matches_finite_differences_multiclass_and_binary() {
    use crate::estimator::finite_difference_logit_gradient;
    let (x, y) = parity_data();
    let y_binary: Vec<u32> = y.iter().map(|&c| u32::from(c == 2)).collect();
    for (labels, k) in [(y, 3usize), (y_binary, 2)] {
        let mut lr = tight(1.0, true);
        lr.fit(&Features::dense(x.clone()), &labels, &FitContext::new(k, 0))
            .unwrap();
        for row in [0usize, 7] {
            let one = Features::dense(x.slice(ndarray::s![row..row + 1, ..]).to_owned());
            for class in 0..k {
                let g = lr.dense_logit_gradient(&one, class).unwrap().unwrap();
                let fd = finite_difference_logit_gradient(&lr, &one, class, 1e-2).unwrap();
                for (a, b) in g.iter().zip(&fd) {
                    assert!(
                        (a - b).abs() < 2e-3 * (1.0 + b.abs()),
                        "k={k} class {class}: {g:?} vs {fd:?}"
                    );
                }
                assert!(
                    g.iter().any(|v| v.abs() > 1e-3),
                    "a fitted model has a non-zero gradient"
                );
            }
        }
        // Two rows are refused: the gradient is of one prediction.
        assert!(
            lr.dense_logit_gradient(&Features::dense(x.clone()), 0)
                .is_err()
        );
    }
}
