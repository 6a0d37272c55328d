//! Tests of ridge regression: closed form, sparse input, the alpha path, bad input.
#![allow(clippy::needless_range_loop)]

use ndarray::Array2;

use super::Ridge;
use crate::error::BlueprintError;
use crate::estimator::{Estimator, FitContext};
use crate::features::Features;
use crate::testing::{holdout_scores, regression, round_trip};

/// Solves the small dense system `a x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            for k in c..n {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x
}

/// The closed form: `[1, X]` with an unpenalised intercept, weighted normal equations.
fn closed_form(x: &Array2<f32>, y: &[f32], s: &[f32], alpha: f64) -> Vec<f64> {
    let (n, d) = x.dim();
    let col = |i: usize, j: usize| {
        if j == 0 {
            1.0
        } else {
            f64::from(x[[i, j - 1]])
        }
    };
    let mut a = vec![vec![0.0; d + 1]; d + 1];
    let mut b = vec![0.0; d + 1];
    for i in 0..n {
        let si = f64::from(s[i]);
        for j in 0..=d {
            b[j] += si * col(i, j) * f64::from(y[i]);
            for k in 0..=d {
                a[j][k] += si * col(i, j) * col(i, k);
            }
        }
    }
    for j in 1..=d {
        a[j][j] += alpha;
    }
    solve(a, b)
}

#[test]
fn matches_the_closed_form_with_weights() {
    let (x, y) = regression(40, 5, 0.5, 1, |r| 2.0 * r[0] - r[3] + 0.5);
    let s: Vec<f32> = (0..40).map(|i| 0.5 + (i % 3) as f32).collect();
    let ctx = FitContext {
        sample_weight: Some(s.clone()),
        ..FitContext::new(1, 0)
    };
    for alpha in [0.1, 3.0] {
        let mut r = Ridge {
            alpha,
            standardize: false,
            tol: 1e-13,
            ..Ridge::default()
        };
        r.fit_regression(&Features::dense(x.clone()), &y, &ctx)
            .unwrap();
        let want = closed_form(&x, &y, &s, alpha);
        let fit = r.fitted().unwrap();
        assert!(fit.converged);
        assert!(
            (fit.intercept - want[0]).abs() < 1e-5,
            "{} {}",
            fit.intercept,
            want[0]
        );
        for j in 0..5 {
            assert!(
                (fit.coef[j] - want[j + 1]).abs() < 1e-5,
                "alpha {alpha} coef {j}"
            );
        }
    }
}

#[test]
fn standardised_fit_is_the_closed_form_on_standardised_columns() {
    let (mut x, y) = regression(30, 3, 0.3, 2, |r| r[0] + r[1] - r[2]);
    x.column_mut(1).mapv_inplace(|v| 100.0 * v + 7.0);
    let mut r = Ridge {
        alpha: 2.0,
        tol: 1e-13,
        ..Ridge::default()
    };
    r.fit_regression(&Features::dense(x.clone()), &y, &FitContext::new(1, 0))
        .unwrap();
    let mut xs = x.clone();
    for mut c in xs.columns_mut() {
        let m = c.mean().unwrap();
        let sd = c.mapv(|v| (v - m) * (v - m)).mean().unwrap().sqrt();
        c.mapv_inplace(|v| (v - m) / sd);
    }
    let want = closed_form(&xs, &y, &[1.0; 30], 2.0);
    let q = Features::dense(x.slice(ndarray::s![..5, ..]).to_owned());
    let p = r.predict_proba(&q).unwrap();
    for i in 0..5 {
        let mut v = want[0];
        for j in 0..3 {
            v += want[j + 1] * f64::from(xs[[i, j]]);
        }
        assert!((f64::from(p[[i, 0]]) - v).abs() < 1e-4, "row {i}");
    }
}

#[test]
fn beats_the_mean_on_dense_and_sparse_features() {
    let (x, y) = regression(400, 10, 1.0, 3, |r| r[..5].iter().sum::<f32>());
    let (err, r2, base) = holdout_scores(&mut Ridge::default(), &Features::dense(x), &y, 300);
    assert!(
        err < 0.6 * base && r2 > 0.7,
        "rmse {err} vs mean {base}, R² {r2}"
    );

    // TF-IDF-like: 2000 columns, about 10 non-zeros a row (3 of them among 20 frequent "words"
    // that carry the target, with signs), the rest rare noise words.
    let (n, d) = (600, 2000);
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(4);
    let mut tri = sprs::TriMat::new((n, d));
    let mut y = vec![0.0f32; n];
    for i in 0..n {
        let mut cols: Vec<usize> = (0..10)
            .map(|t| rand::Rng::random_range(&mut rng, if t < 3 { 0..20 } else { 20..d }))
            .collect();
        cols.sort_unstable();
        cols.dedup();
        let v = 1.0 / (cols.len() as f32).sqrt();
        for &c in &cols {
            tri.add_triplet(i, c, v);
            if c < 20 {
                y[i] += if c % 2 == 0 { 3.0 } else { -2.0 } * v;
            }
        }
        y[i] += 0.1 * rand::Rng::random::<f32>(&mut rng);
    }
    let xs = Features::sparse(tri.to_csr());
    let (err, r2, base) = holdout_scores(&mut Ridge::with_alpha(0.3), &xs, &y, 450);
    assert!(
        err < 0.7 * base && r2 > 0.5,
        "sparse rmse {err} vs mean {base}, R² {r2}"
    );
}

#[test]
fn path_matches_separate_fits_and_round_trips() {
    let (x, y) = regression(80, 6, 0.5, 5, |r| r[0] - 2.0 * r[1]);
    let f = Features::dense(x);
    let ctx = FitContext::new(1, 0);
    let values: Vec<String> = ["100", "1", "0.01"].iter().map(|v| v.to_string()).collect();
    let r = Ridge {
        tol: 1e-12,
        ..Ridge::default()
    };
    let path = r
        .fit_regression_path(&f, &y, &ctx, "alpha", &values)
        .unwrap()
        .unwrap();
    assert_eq!(path.len(), 3);
    for (m, v) in path.iter().zip(&values) {
        let mut single = r.clone();
        single.set_param("alpha", v).unwrap();
        single.fit_regression(&f, &y, &ctx).unwrap();
        let (a, b) = (
            m.predict_proba(&f).unwrap(),
            single.predict_proba(&f).unwrap(),
        );
        assert!((&a - &b).iter().all(|d| d.abs() < 1e-4), "alpha {v}");
        assert_eq!(round_trip(m.as_ref()).predict_proba(&f).unwrap(), a);
    }
    assert!(
        r.fit_regression_path(&f, &y, &ctx, "tol", &values)
            .is_none()
    );
}

#[test]
fn refuses_classification_and_bad_input() {
    let f = Features::dense(ndarray::array![[1.0f32], [2.0]]);
    let mut r = Ridge::default();
    assert!(matches!(
        r.fit(&f, &[0, 1], &FitContext::new(2, 0)),
        Err(BlueprintError::Unsupported(_))
    ));
    assert!(r.supports_regression());
    assert!(r.predict_proba(&f).is_err());
    assert!(
        r.fit_regression(&f, &[1.0, f32::NAN], &FitContext::new(1, 0))
            .is_err()
    );
    r.fit_regression(&f, &[1.0, 3.0], &FitContext::new(1, 0))
        .unwrap();
    let wide = Features::dense(ndarray::array![[1.0f32, 2.0]]);
    assert!(r.predict_proba(&wide).is_err());
    assert!(r.set_param("alpha", "-1").is_err());
}
