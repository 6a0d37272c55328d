use ndarray::Array2;
use rand::{Rng, SeedableRng};

use super::*;
use crate::linear::LogisticRegression;
use crate::metrics::{argmax_rows, balanced_accuracy};
use crate::naive_bayes::ComplementNb;

/// `n` rows of `d` standard-normal noise columns; the first `informative` columns are shifted by
/// the class (3 classes), weakly: a problem where an unpenalised linear model overfits.
fn high_dimensional(n: usize, d: usize, informative: usize, seed: u64) -> (Features, Vec<u32>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let y: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
    let mut x = Array2::<f32>::zeros((n, d));
    for (i, &c) in y.iter().enumerate() {
        for j in 0..d {
            // Box-Muller normal draw.
            let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            let shift = if j < informative && j % 3 == c as usize {
                0.9
            } else {
                0.0
            };
            x[[i, j]] = (z + shift) as f32;
        }
    }
    (Features::dense(x), y)
}

fn holdout_ba(e: &dyn Estimator, x: &Features, y: &[u32]) -> f64 {
    let p = e.predict_proba(x).unwrap();
    balanced_accuracy(y, &argmax_rows(p.view()), 3).unwrap()
}

#[test]
fn logistic_regression_search_picks_a_smaller_c_where_c_1_overfits() {
    let (x, y) = high_dimensional(150, 150, 15, 1);
    let (xt, yt) = high_dimensional(600, 150, 15, 2);
    let ctx = FitContext::new(3, 0);
    let mut plain = LogisticRegression::default();
    plain.fit(&x, &y, &ctx).unwrap();
    let mut searched = Searched::new(Box::new(LogisticRegression::default()), 1, 3);
    searched.fit(&x, &y, &ctx).unwrap();
    let chosen = searched.searched_params();
    let c: f64 = chosen
        .iter()
        .find(|(n, _)| n == "C")
        .map(|(_, v)| v.parse().unwrap())
        .expect("C was searched");
    assert!(c < 1.0, "chose C = {c}");
    // The whole path was scored on every inner fold.
    let trials = &searched.outcome.as_ref().unwrap().trials;
    assert_eq!(trials.len(), 10);
    assert!(trials.iter().all(|t| t.folds == 3));
    let (b_plain, b_searched) = (
        holdout_ba(&plain, &xt, &yt),
        holdout_ba(&searched, &xt, &yt),
    );
    assert!(
        b_searched > b_plain + 0.03,
        "searched {b_searched:.3} vs C=1 {b_plain:.3}: {:?}",
        searched.outcome
    );
    // The chosen value is the base's parameter now, as shown to users.
    let shown = searched
        .params()
        .into_iter()
        .find(|p| p.name == "C")
        .unwrap();
    assert_eq!(shown.value.parse::<f64>().unwrap(), c);
}

#[test]
fn the_warm_started_path_matches_separate_fits() {
    let (x, y) = high_dimensional(120, 40, 10, 3);
    let ctx = FitContext::new(3, 0);
    let values: Vec<String> = ["0.01", "0.1", "1"].map(String::from).to_vec();
    let lr = LogisticRegression {
        tol: 1e-8,
        max_iter: 2000,
        ..LogisticRegression::default()
    };
    let path = lr.fit_path(&x, &y, &ctx, "C", &values).unwrap().unwrap();
    for (v, m) in values.iter().zip(&path) {
        let mut single = lr.clone();
        single.set_param("C", v).unwrap();
        single.fit(&x, &y, &ctx).unwrap();
        let (a, b) = (
            m.predict_proba(&x).unwrap(),
            single.predict_proba(&x).unwrap(),
        );
        let diff = (&a - &b).mapv(f32::abs).fold(0.0f32, |m, &v| m.max(v));
        assert!(diff < 1e-4, "C={v}: max |Δp| {diff}");
    }
}

#[test]
fn a_fixed_parameter_is_not_searched_and_the_search_is_deterministic() {
    let (x, y) = high_dimensional(150, 50, 10, 4);
    let ctx = FitContext::new(3, 5);
    let mut s = Searched::new(Box::new(LogisticRegression::default()), 4, 3);
    assert!(s.searched_names().contains(&"C".to_string()));
    s.set_param("C", "0.5").unwrap();
    assert!(!s.searched_names().contains(&"C".to_string()));
    s.fit(&x, &y, &ctx).unwrap();
    assert!(s.searched_params().is_empty(), "{:?}", s.searched_params());
    let c = s.params().into_iter().find(|p| p.name == "C").unwrap();
    assert_eq!(c.value, "0.5");

    let run = || {
        let mut s = Searched::new(Box::new(ComplementNb::default()), 3, 3);
        let xa = Features::dense(x.dense.as_ref().unwrap().mapv(f32::abs));
        s.fit(&xa, &y, &ctx).unwrap();
        (s.searched_params(), s.outcome.clone())
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    assert!(!a.0.is_empty());
}

#[test]
fn successive_halving_drops_configurations_after_the_first_fold() {
    let (x, y) = high_dimensional(150, 20, 10, 6);
    let ctx = FitContext::new(3, 0);
    let mut s = Searched::new(Box::new(crate::knn::Knn::default()), 4, 3);
    s.fit(&x, &y, &ctx).unwrap();
    let trials = &s.outcome.as_ref().unwrap().trials;
    // 4 groups × 4 values of k: the best 2 groups go on to all 3 folds.
    assert_eq!(trials.len(), 16);
    assert_eq!(trials.iter().filter(|t| t.folds == 3).count(), 8);
    assert_eq!(trials.iter().filter(|t| t.folds == 1).count(), 8);
    let chosen = choose(trials).unwrap();
    assert_eq!(trials[chosen].folds, 3);
}

#[test]
fn round_trips_through_serde_with_its_outcome() {
    let (x, y) = high_dimensional(90, 10, 5, 7);
    let mut s: Box<dyn Estimator> =
        Box::new(Searched::new(Box::new(LogisticRegression::default()), 1, 2));
    s.fit(&x, &y, &FitContext::new(3, 0)).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: Box<dyn Estimator> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.searched_params(), s.searched_params());
    assert_eq!(
        back.predict_proba(&x).unwrap(),
        s.predict_proba(&x).unwrap()
    );
    // A searched differentiable head stays differentiable (Grad-CAM reaches it).
    let row = x.select_rows(&[0]);
    let g = s.dense_logit_gradient(&row, 1).unwrap();
    assert!(g.is_some());
    assert_eq!(back.dense_logit_gradient(&row, 1).unwrap(), g);
}

#[test]
fn inside_one_standard_error_of_the_best_accuracy_the_lower_log_loss_wins() {
    let t = |ba: f64, ll: f64, folds: usize, rows: usize| Trial {
        values: vec![],
        balanced_accuracy: ba,
        log_loss: ll,
        folds,
        rows,
        rmse: None,
        auc: None,
    };
    // One standard error of 0.8 on 400 rows is 0.02: 0.785 is inside the band, 0.75 is not;
    // a trial scored on fewer folds never competes.
    let trials = [
        t(0.80, 0.9, 3, 400),
        t(0.785, 0.5, 3, 400),
        t(0.75, 0.1, 3, 400),
        t(0.9, 0.1, 1, 130),
    ];
    assert_eq!(choose(&trials), Some(1));
    // On 40,000 rows the band is the floor, 0.005: accuracy decides.
    let trials = [t(0.80, 0.9, 3, 40_000), t(0.785, 0.5, 3, 40_000)];
    assert_eq!(choose(&trials), Some(0));
}

#[test]
fn two_classes_are_chosen_by_auc_not_by_the_accuracy_of_the_half_cut() {
    // Configuration 0 ranks the rows perfectly but its probabilities sit on one side of 0.5
    // (balanced accuracy 0.5); configuration 1 cuts at 0.5 well but ranks worse.
    let y = [0u32, 0, 0, 0, 1, 1, 1, 1];
    let p1_ranked = [0.60f32, 0.61, 0.62, 0.63, 0.70, 0.71, 0.72, 0.73];
    let p1_cut = [0.10f32, 0.20, 0.30, 0.80, 0.40, 0.90, 0.95, 0.99];
    let proba = |p1: &[f32]| {
        Array2::from_shape_fn(
            (p1.len(), 2),
            |(r, c)| if c == 1 { p1[r] } else { 1.0 - p1[r] },
        )
    };
    let ranked = Trial::score(vec![], &y, &proba(&p1_ranked), 3);
    let cut = Trial::score(vec![], &y, &proba(&p1_cut), 3);
    assert_eq!(ranked.auc, Some(1.0));
    assert!(cut.auc.unwrap() < 0.95, "{:?}", cut.auc);
    assert!(ranked.balanced_accuracy < cut.balanced_accuracy);
    assert_eq!(choose(&[cut.clone(), ranked.clone()]), Some(1));
    assert!(ranked.rank_key() > cut.rank_key());
    // More than two classes: no AUC, balanced accuracy decides as before.
    let three = Array2::from_shape_fn((3, 3), |(r, c)| if r == c { 0.8 } else { 0.1 });
    assert_eq!(Trial::score(vec![], &[0, 1, 2], &three, 3).auc, None);
}

/// `n` rows of 100 columns; the target is the sum of the first 5 plus noise: with about as
/// many rows as columns an almost unpenalised ridge overfits (the least-squares peak).
fn wide_regression(n: usize, seed: u64) -> (Features, Vec<f32>) {
    let (x, y) = crate::testing::regression(n, 100, 1.0, seed, |r| r[..5].iter().sum::<f32>());
    (Features::dense(x), y)
}

fn holdout_rmse(e: &dyn Estimator, x: &Features, y: &[f32]) -> f64 {
    let p = e.predict_proba(x).unwrap();
    crate::metrics::rmse(y, &p.column(0).to_vec()).unwrap()
}

#[test]
fn ridge_search_picks_a_larger_alpha_where_a_small_one_overfits() {
    let (x, y) = wide_regression(120, 1);
    let (xt, yt) = wide_regression(400, 2);
    let ctx = FitContext::new(1, 0);
    let mut small = crate::linear::Ridge::with_alpha(0.01);
    small.fit_regression(&x, &y, &ctx).unwrap();
    let mut searched = Searched::new(Box::new(crate::linear::Ridge::default()), 1, 3);
    assert!(searched.supports_regression());
    searched.fit_regression(&x, &y, &ctx).unwrap();
    let alpha: f64 = searched
        .searched_params()
        .iter()
        .find(|(n, _)| n == "alpha")
        .map(|(_, v)| v.parse().unwrap())
        .expect("alpha was searched");
    assert!(
        alpha >= 10.0,
        "chose alpha = {alpha}: {:?}",
        searched.outcome
    );
    let trials = &searched.outcome.as_ref().unwrap().trials;
    assert_eq!(trials.len(), 11);
    assert!(
        trials
            .iter()
            .all(|t| t.folds == 3 && t.rmse.is_some_and(f64::is_finite))
    );
    let (e_small, e_searched) = (
        holdout_rmse(&small, &xt, &yt),
        holdout_rmse(&searched, &xt, &yt),
    );
    assert!(
        e_searched < 0.9 * e_small,
        "searched {e_searched:.3} vs alpha=0.01 {e_small:.3}"
    );
    let shown = searched
        .params()
        .into_iter()
        .find(|p| p.name == "alpha")
        .unwrap();
    assert_eq!(shown.value.parse::<f64>().unwrap(), alpha);
    // Same seed, same choice; the fitted wrapper round-trips as a regressor.
    let mut again = Searched::new(Box::new(crate::linear::Ridge::default()), 1, 3);
    again.fit_regression(&x, &y, &ctx).unwrap();
    let scores = |s: &Searched| {
        let o = s.outcome.clone().unwrap();
        (
            o.chosen,
            o.trials.iter().map(|t| t.rmse).collect::<Vec<_>>(),
        )
    };
    assert_eq!(scores(&again), scores(&searched));
    let back = crate::testing::round_trip(&searched);
    assert_eq!(
        back.predict_proba(&xt).unwrap(),
        searched.predict_proba(&xt).unwrap()
    );
}

#[test]
fn regression_search_without_a_path_method_and_with_halving() {
    let (x, y) = crate::testing::regression(200, 3, 0.2, 4, crate::testing::nonlinear);
    let x = Features::dense(x);
    let mut s = Searched::new(Box::new(crate::knn::Knn::default()), 4, 3);
    s.fit_regression(&x, &y, &FitContext::new(1, 0)).unwrap();
    let o = s.outcome.as_ref().unwrap();
    // 4 groups of (weights, metric), each with the 4 values of the k path: successive halving
    // keeps 2 groups for the later folds.
    assert_eq!(o.trials.len(), 16);
    assert_eq!(o.trials.iter().filter(|t| t.folds == 3).count(), 8);
    let best = choose_regression(&o.trials).unwrap();
    assert_eq!(o.chosen, o.trials[best].values);
    assert!(
        o.trials
            .iter()
            .filter(|t| t.folds == 3)
            .all(|t| t.rmse >= o.trials[best].rmse)
    );
    assert_eq!(s.predict_proba(&x).unwrap().ncols(), 1);
}

#[test]
fn classifiers_refuse_regression_inside_the_search() {
    let (x, y) = wide_regression(30, 3);
    let mut s = Searched::new(Box::new(LogisticRegression::default()), 4, 3);
    assert!(!s.supports_regression());
    assert!(matches!(
        s.fit_regression(&x, &y, &FitContext::new(1, 0)),
        Err(BlueprintError::Unsupported(_))
    ));
    let folds = quantile_folds(&y, 3, 0);
    assert_eq!(folds.iter().map(Vec::len).sum::<usize>(), 30);
}

/// Beyond `search_rows` training rows the configurations are scored on a stratified sample of
/// about that many; the chosen values are fitted on every row.
#[test]
fn a_large_fit_searches_on_a_stratified_sample_and_fits_every_row() {
    let (x, y) = high_dimensional(900, 20, 6, 4);
    let ctx = FitContext::new(3, 0);
    let mut searched = Searched::new(Box::new(LogisticRegression::default()), 1, 3);
    searched.set_param(SEARCH_ROWS, "300").unwrap();
    searched.fit(&x, &y, &ctx).unwrap();
    let trials = &searched.outcome.as_ref().unwrap().trials;
    assert!(trials.iter().all(|t| t.rows == 300), "{trials:?}");
    // The same search on those 300 rows alone chooses the same C.
    let keep = inner::folds_of(Truth::Classes(&y), 3, 3, 0x5a3b_1e55).swap_remove(0);
    let per_class = |rows: &[usize], c: u32| rows.iter().filter(|&&r| y[r] == c).count();
    assert_eq!([0, 1, 2].map(|c| per_class(&keep, c)), [100, 100, 100]);
    let mut on_sample = Searched::new(Box::new(LogisticRegression::default()), 1, 3);
    let y_keep: Vec<u32> = keep.iter().map(|&r| y[r]).collect();
    on_sample.fit(&x.select_rows(&keep), &y_keep, &ctx).unwrap();
    assert_eq!(searched.searched_params(), on_sample.searched_params());
    // The final model saw every row: it differs from one fitted on the sample.
    let p_all = searched.predict_proba(&x).unwrap();
    let p_sample = on_sample.predict_proba(&x).unwrap();
    assert!((&p_all - &p_sample).iter().any(|d| d.abs() > 1e-4));
    // At or under the limit, every row is scored.
    let mut small = Searched::new(Box::new(LogisticRegression::default()), 1, 3);
    small.set_param(SEARCH_ROWS, "900").unwrap();
    small.fit(&x, &y, &ctx).unwrap();
    assert!(small.outcome.unwrap().trials.iter().all(|t| t.rows == 900));
}
