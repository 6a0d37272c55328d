//! Tests of the tree ensembles fitted for regression.

use ndarray::Array2;

use super::gbdt::RegressionLoss;
use super::{ForestParams, GbdtParams, GradientBoosting, RandomForest};
use crate::estimator::{Estimator, FitContext};
use crate::features::Features;
use crate::metrics::rmse;
use crate::testing::{holdout_scores, nonlinear, regression, round_trip};

fn data() -> (Features, Vec<f32>) {
    let (x, y) = regression(600, 6, 0.3, 11, nonlinear);
    (Features::dense(x), y)
}

fn column(p: &Array2<f32>) -> Vec<f32> {
    assert_eq!(p.ncols(), 1);
    p.column(0).to_vec()
}

#[test]
fn gbdt_regression_beats_the_mean_improves_with_rounds_and_is_deterministic() {
    let (x, y) = data();
    let (err, r2, base) = holdout_scores(&mut GradientBoosting::default(), &x, &y, 450);
    assert!(
        err < 0.5 * base && r2 > 0.75,
        "rmse {err} vs mean {base}, R² {r2}"
    );
    let few = GradientBoosting::new(GbdtParams {
        n_estimators: 10,
        ..GbdtParams::default()
    });
    let (err_few, ..) = holdout_scores(&mut few.clone(), &x, &y, 450);
    assert!(
        err < 0.8 * err_few,
        "300 rounds {err} vs 10 rounds {err_few}"
    );

    let ctx = FitContext::new(1, 5);
    let fit = |seed: u64| {
        let mut m = GradientBoosting::default();
        let c = FitContext {
            seed,
            ..ctx.clone()
        };
        m.fit_regression(&x, &y, &c).unwrap();
        m.predict_proba(&x).unwrap()
    };
    assert_eq!(fit(5), fit(5));
    assert_ne!(fit(5), fit(6));
}

#[test]
fn gbdt_regression_path_early_stopping_and_round_trip() {
    let (x, y) = data();
    let ctx = FitContext::new(1, 2);
    let base = GradientBoosting::default();
    let values: Vec<String> = ["30", "60"].iter().map(|v| v.to_string()).collect();
    let path = base
        .fit_regression_path(&x, &y, &ctx, "n_estimators", &values)
        .unwrap()
        .unwrap();
    let mut single = base.clone();
    single.params.n_estimators = 30;
    single.fit_regression(&x, &y, &ctx).unwrap();
    assert_eq!(
        path[0].predict_proba(&x).unwrap(),
        single.predict_proba(&x).unwrap()
    );
    let back = round_trip(path[1].as_ref());
    assert_eq!(
        column(&back.predict_proba(&x).unwrap()),
        column(&path[1].predict_proba(&x).unwrap())
    );

    let mut early = GradientBoosting::new(GbdtParams {
        n_estimators: 2000,
        learning_rate: 0.3,
        validation_fraction: 0.2,
        n_iter_no_change: 10,
        ..GbdtParams::default()
    });
    early.fit_regression(&x, &y, &ctx).unwrap();
    let rounds = early.n_rounds().unwrap();
    assert!(rounds < 2000 && early.validation_loss().len() > rounds);
    let best = early.validation_loss()[..rounds]
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    assert_eq!(early.validation_loss()[rounds - 1], best);
    // The validation loss is the held-out RMSE: far below the target's deviation.
    assert!(best < 0.5 * rmse(&y, &vec![0.0; y.len()]).unwrap());
}

/// Training targets with a few huge outliers: Huber's predictions on clean rows stay better than
/// squared loss's, and it starts from the median.
#[test]
fn huber_loss_resists_outlying_targets() {
    let (x, y) = data();
    let mut dirty = y.clone();
    for i in (0..450).step_by(15) {
        dirty[i] += 200.0;
    }
    let xt = x.select_rows(&(0..450).collect::<Vec<_>>());
    let xv = x.select_rows(&(450..600).collect::<Vec<_>>());
    let ctx = FitContext::new(1, 0);
    let score = |loss: RegressionLoss| {
        let mut m = GradientBoosting::new(GbdtParams {
            loss,
            ..GbdtParams::default()
        });
        m.fit_regression(&xt, &dirty[..450], &ctx).unwrap();
        rmse(&y[450..], &column(&m.predict_proba(&xv).unwrap())).unwrap()
    };
    let (huber, squared) = (score(RegressionLoss::Huber), score(RegressionLoss::Squared));
    assert!(huber < 0.7 * squared, "huber {huber} vs squared {squared}");
    let mut m = GradientBoosting::default();
    m.set_param("loss", "huber").unwrap();
    assert!(m.set_param("loss", "absolute").is_err());
}

#[test]
fn forest_regression_stays_in_range_beats_the_mean_and_round_trips() {
    let (x, y) = data();
    for mut forest in [RandomForest::default(), RandomForest::extra_trees()] {
        forest.params.n_estimators = 100;
        forest.params.max_features = super::forest::MaxFeatures::All;
        let (err, r2, base) = holdout_scores(&mut forest, &x, &y, 450);
        assert!(
            err < 0.6 * base && r2 > 0.6,
            "rmse {err} vs mean {base}, R² {r2}"
        );
        let q = Features::dense(Array2::from_shape_fn((50, 6), |(i, j)| {
            (i as f32 - 25.0) * (j as f32 + 1.0)
        }));
        let p = column(&forest.predict_proba(&q).unwrap());
        let train_y = &y[..450];
        let (lo, hi) = train_y
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(p.iter().all(|&v| v >= lo - 1e-4 && v <= hi + 1e-4));
        let back = round_trip(&forest);
        assert_eq!(
            back.predict_proba(&q).unwrap(),
            forest.predict_proba(&q).unwrap()
        );
    }
}

/// Weights: a forest of one unrestricted tree on all rows (no bootstrap) reproduces the
/// training targets; a row weighted zero does not pull its leaf.
#[test]
fn single_full_tree_reproduces_targets() {
    let x = Features::dense(ndarray::array![[0.0f32], [1.0], [2.0], [3.0]]);
    let y = [1.0f32, -2.0, 5.0, 5.5];
    let mut f = RandomForest::new(ForestParams {
        n_estimators: 1,
        bootstrap: false,
        max_features: super::forest::MaxFeatures::All,
        ..ForestParams::default()
    });
    f.fit_regression(&x, &y, &FitContext::new(1, 0)).unwrap();
    let p = column(&f.predict_proba(&x).unwrap());
    for (a, b) in p.iter().zip(&y) {
        assert!((a - b).abs() < 1e-5, "{p:?}");
    }
    let mut g = GradientBoosting::default();
    g.fit_regression(&x, &y, &FitContext::new(1, 0)).unwrap();
    assert_eq!(g.predict_proba(&x.select_rows(&[0])).unwrap().dim(), (1, 1));
}

/// A classifier saved before regression existed (no `regression`, `loss` or `huber_alpha`)
/// still loads and predicts its classes.
#[test]
fn saved_classifiers_without_the_regression_fields_still_load() {
    let x = Features::dense(Array2::from_shape_fn((40, 2), |(i, j)| {
        (i * (j + 1)) as f32
    }));
    let y: Vec<u32> = (0..40).map(|i| (i % 3) as u32).collect();
    let ctx = FitContext::new(3, 0);
    let mut g = GradientBoosting::new(GbdtParams {
        n_estimators: 5,
        ..GbdtParams::default()
    });
    g.fit(&x, &y, &ctx).unwrap();
    let mut rf = RandomForest::default();
    rf.params.n_estimators = 5;
    rf.fit(&x, &y, &ctx).unwrap();
    for m in [Box::new(g) as Box<dyn Estimator>, Box::new(rf)] {
        let json = serde_json::to_string(&m).unwrap();
        let old = json
            .replace(r#","regression":false"#, "")
            .replace(r#","loss":"squared","huber_alpha":0.9"#, "");
        assert!(
            !old.contains("regression") && !old.contains("huber"),
            "{old}"
        );
        let back: Box<dyn Estimator> = serde_json::from_str(&old).unwrap();
        let p = back.predict_proba(&x).unwrap();
        assert_eq!(p.ncols(), 3);
        assert_eq!(p, m.predict_proba(&x).unwrap());
    }
}
