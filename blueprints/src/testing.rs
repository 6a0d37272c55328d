//! Generated regression problems shared by the estimators' tests.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::estimator::{Estimator, FitContext};
use crate::features::Features;
use crate::metrics::{r2, rmse};

/// `n × d` standard-normal-ish features (sum of uniforms) and `y = f(row) + noise · e`.
pub fn regression(
    n: usize,
    d: usize,
    noise: f32,
    seed: u64,
    f: impl Fn(&[f32]) -> f32,
) -> (Array2<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut gauss = move || (0..6).map(|_| rng.random::<f32>()).sum::<f32>() - 3.0;
    let x = Array2::from_shape_fn((n, d), |_| gauss());
    let y = x
        .rows()
        .into_iter()
        .map(|r| f(&r.to_vec()) + noise * gauss())
        .collect();
    (x, y)
}

/// A nonlinear target on the first three columns: `3 sin(x0) + x1² + 2 x2`.
pub fn nonlinear(r: &[f32]) -> f32 {
    3.0 * r[0].sin() + r[1] * r[1] + 2.0 * r[2]
}

/// Fits `est` for regression on the first `n_train` rows and returns its (RMSE, R²) on the
/// others, with the RMSE of the training mean as a third value.
pub fn holdout_scores(
    est: &mut dyn Estimator,
    x: &Features,
    y: &[f32],
    n_train: usize,
) -> (f64, f64, f64) {
    let train: Vec<usize> = (0..n_train).collect();
    let test: Vec<usize> = (n_train..y.len()).collect();
    est.fit_regression(
        &x.select_rows(&train),
        &y[..n_train],
        &FitContext::new(1, 3),
    )
    .unwrap();
    let p = est.predict_proba(&x.select_rows(&test)).unwrap();
    assert_eq!(p.ncols(), 1);
    let p: Vec<f32> = p.column(0).to_vec();
    let yt = &y[n_train..];
    let mean = y[..n_train].iter().sum::<f32>() / n_train as f32;
    let base = rmse(yt, &vec![mean; yt.len()]).unwrap();
    (rmse(yt, &p).unwrap(), r2(yt, &p).unwrap(), base)
}

/// Serializes `est` as a trait object and reads it back.
pub fn round_trip(est: &dyn Estimator) -> Box<dyn Estimator> {
    let json = serde_json::to_string(&est.clone_box()).unwrap();
    serde_json::from_str(&json).unwrap()
}
