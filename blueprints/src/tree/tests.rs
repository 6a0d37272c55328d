//! Behaviour tests of the tree ensembles (hand-checkable cases and bad input).

use ndarray::{Array2, array};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::binning::BinnedData;
use super::grower::{FeatureChoice, GrowParams, grow_tree};
use super::histogram::SplitRules;
use super::{ForestParams, GbdtParams, GradientBoosting, RandomForest};
use crate::estimator::{Estimator, FitContext};
use crate::features::Features;

/// GBDT without randomness or early stopping.
fn plain_gbdt(n_estimators: usize) -> GradientBoosting {
    GradientBoosting::new(GbdtParams {
        n_estimators,
        subsample: 1.0,
        colsample_bytree: 1.0,
        validation_fraction: 0.0,
        min_child_samples: 1,
        ..GbdtParams::default()
    })
}

/// `n` points in [-1, 1]²; class = XOR of the signs (no linear separation: both classes have mean 0).
fn xor_data(n: usize, seed: u64) -> (Array2<f32>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n, 2));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b): (f32, f32) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
        x[[i, 0]] = a;
        x[[i, 1]] = b;
        y.push(((a > 0.0) ^ (b > 0.0)) as u32);
    }
    (x, y)
}

/// 3 classes: class c has a shifted mean on feature c; `noise` more pure-noise features.
fn blobs(n: usize, noise: usize, seed: u64) -> (Array2<f32>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = 3 + noise;
    let mut x = Array2::zeros((n, d));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 3;
        for j in 0..d {
            x[[i, j]] = rng.random_range(-1.0f32..1.0) + if j == c { 1.5 } else { 0.0 };
        }
        y.push(c as u32);
    }
    (x, y)
}

fn accuracy(p: &Array2<f32>, y: &[u32]) -> f64 {
    let hits = p
        .rows()
        .into_iter()
        .zip(y)
        .filter(|(row, c)| {
            let best = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            best == Some(**c as usize)
        })
        .count();
    hits as f64 / y.len() as f64
}

fn assert_proper_probabilities(p: &Array2<f32>) {
    for row in p.rows() {
        assert!(row.iter().all(|v| v.is_finite() && *v >= 0.0), "{row}");
        assert!((row.sum() - 1.0).abs() < 1e-5, "{row}");
    }
}

fn one_d_two_classes() -> (Features, Vec<u32>) {
    let x = Array2::from_shape_fn((10, 1), |(i, _)| i as f32);
    let y = (0..10).map(|i| (i >= 5) as u32).collect();
    (Features::dense(x), y)
}

#[test]
fn single_gbdt_split_sits_between_the_classes_with_hand_computed_leaves() {
    let (x, y) = one_d_two_classes();
    let mut m = plain_gbdt(1);
    m.params.num_leaves = 2;
    m.params.learning_rate = 1.0;
    m.params.reg_lambda = 0.0;
    m.fit(&x, &y, &FitContext::new(2, 0)).unwrap();
    assert_eq!(m.trees().len(), 2);
    let t = &m.trees()[0];
    assert_eq!(t.nodes.len(), 1);
    assert_eq!(t.nodes[0].threshold, 4.5);
    // Start p = 0.5; class-0 tree: g = p - y = ∓0.5, h = K/(K-1)·p(1-p) = 0.5 per row, 5 rows a leaf:
    // left value = -(-2.5)/2.5 = +1, right = -1. P(class 0 | x < 5) = e / (e + e⁻¹) = 0.880797.
    assert_eq!(t.leaf_values, vec![1.0, -1.0]);
    let p = m
        .predict_proba(&Features::dense(array![[0.0f32], [4.4], [4.6], [9.0]]))
        .unwrap();
    for (r, expect0) in [(0, 0.880797), (1, 0.880797), (2, 0.119203), (3, 0.119203)] {
        assert!(
            (p[[r, 0]] as f64 - expect0).abs() < 1e-5,
            "row {r}: {}",
            p[[r, 0]]
        );
    }
}

#[test]
fn single_forest_stump_sits_between_the_classes() {
    let (x, y) = one_d_two_classes();
    let mut m = RandomForest::new(ForestParams {
        n_estimators: 1,
        bootstrap: false,
        max_depth: 1,
        ..ForestParams::default()
    });
    m.fit(&x, &y, &FitContext::new(2, 0)).unwrap();
    let t = &m.trees()[0];
    assert_eq!(t.nodes.len(), 1);
    assert_eq!(t.nodes[0].threshold, 4.5);
    assert_eq!(t.leaf_values, vec![1.0, 0.0, 0.0, 1.0]);
}

#[test]
fn gbdt_and_forests_learn_xor() {
    let (xtr, ytr) = xor_data(600, 1);
    let (xte, yte) = xor_data(400, 2);
    let (xtr, xte) = (Features::dense(xtr), Features::dense(xte));
    // Both features must be in each tree: per-tree column sampling of 1 of 2 features can't see XOR.
    let mut gbdt = GradientBoosting::default();
    gbdt.params.colsample_bytree = 1.0;
    let models: Vec<Box<dyn Estimator>> = vec![
        Box::new(gbdt),
        Box::new(RandomForest::default()),
        Box::new(RandomForest::extra_trees()),
    ];
    for mut m in models {
        m.fit(&xtr, &ytr, &FitContext::new(2, 3)).unwrap();
        let p = m.predict_proba(&xte).unwrap();
        assert_proper_probabilities(&p);
        let acc = accuracy(&p, &yte);
        assert!(acc > 0.93, "{}: accuracy {acc}", m.name());
    }
    // The best threshold on one feature alone is near chance (what a linear model sees).
    let one_feature = ytr
        .iter()
        .zip(xtr.dense.as_ref().unwrap().column(0))
        .filter(|(c, v)| (**c == 1) == (**v > 0.0))
        .count();
    assert!((one_feature as f64 / 600.0 - 0.5).abs() < 0.08);
}

#[test]
fn same_seed_same_model_other_seed_other_model_any_thread_count() {
    let (x, y) = blobs(300, 20, 4);
    let x = Features::dense(x);
    let fit = |m: &mut dyn Estimator, seed: u64, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            m.fit(&x, &y, &FitContext::new(3, seed)).unwrap();
            m.predict_proba(&x).unwrap()
        })
    };
    let models: Vec<Box<dyn Estimator>> = vec![
        Box::new(GradientBoosting::default()),
        Box::new(RandomForest::default()),
    ];
    for mut m in models {
        let a = fit(m.as_mut(), 5, 1);
        let b = fit(m.as_mut(), 5, 2);
        let c = fit(m.as_mut(), 6, 2);
        assert_eq!(a, b, "{}", m.name());
        assert_ne!(a, c, "{}", m.name());
        assert_proper_probabilities(&c);
    }
}

#[test]
fn early_stopping_stops_early_on_noise_and_keeps_best_round() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = Array2::from_shape_fn((300, 10), |_| rng.random_range(-1.0f32..1.0));
    let y: Vec<u32> = (0..300).map(|_| rng.random_range(0..3)).collect();
    let mut m = GradientBoosting::default();
    m.params.n_estimators = 500;
    m.params.validation_fraction = 0.2;
    m.params.n_iter_no_change = 10;
    m.fit(&Features::dense(x), &y, &FitContext::new(3, 0))
        .unwrap();
    let losses = m.validation_loss();
    let kept = m.n_rounds().unwrap();
    assert!(losses.len() < 500, "ran {} rounds", losses.len());
    assert_eq!(losses.len(), kept + 10);
    let best = losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[kept - 1], best);
}

#[test]
fn refit_after_early_stopping_uses_all_rows_for_scaled_rounds() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let x = Array2::from_shape_fn((400, 6), |_| rng.random_range(-1.0f32..1.0));
    // A learnable class (from two columns) with label noise, so early stopping fires.
    let y: Vec<u32> = (0..400)
        .map(|i| {
            if rng.random_bool(0.3) {
                rng.random_range(0..3)
            } else {
                let (a, b) = (x[[i, 0]], x[[i, 1]]);
                u32::from(a > 0.0) + u32::from(b > 0.3)
            }
        })
        .collect();
    let x = Features::dense(x);
    let fit = |refit: bool| {
        let mut m = GradientBoosting::default();
        m.params.n_estimators = 400;
        m.params.validation_fraction = 0.2;
        m.params.n_iter_no_change = 10;
        m.set_param("refit", if refit { "true" } else { "false" })
            .unwrap();
        m.fit(&x, &y, &FitContext::new(3, 1)).unwrap();
        m
    };
    let (held_out, refit) = (fit(false), fit(true));
    let chosen = held_out.n_rounds().unwrap();
    assert!(chosen < 400, "early stopping did not fire");
    // The same validation curve chose the rounds; the refit boosts about 400/320 times as many
    // (the stratified hold-out is 20 % of each class, rounded).
    assert_eq!(refit.validation_loss(), held_out.validation_loss());
    let got = refit.n_rounds().unwrap();
    let scaled = chosen as f64 * 400.0 / 320.0;
    assert!(
        got > chosen && (got as f64 - scaled).abs() <= 1.0,
        "{chosen} → {got}"
    );
    assert_eq!(refit.trees().len(), got * 3);
    let (p1, p2) = (
        held_out.predict_proba(&x).unwrap(),
        refit.predict_proba(&x).unwrap(),
    );
    assert_ne!(p1, p2);
    assert_proper_probabilities(&p2);
}

#[test]
fn sparse_block_gives_the_same_model_as_dense() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (n, d) = (200, 6);
    // Mostly zeros, a few distinct values (fewer than max_bin), class from two columns.
    let dense = Array2::from_shape_fn((n, d), |_| {
        if rng.random_bool(0.3) {
            (rng.random_range(1..6) as f32) * if rng.random_bool(0.2) { -1.0 } else { 1.0 }
        } else {
            0.0
        }
    });
    let y: Vec<u32> = (0..n)
        .map(|i| ((dense[[i, 0]] > 0.0) as u32) + ((dense[[i, 3]] > 2.0) as u32))
        .collect();
    let sparse = sprs::CsMat::csr_from_dense(dense.view(), 0.0);
    let (xd, xs) = (Features::dense(dense.clone()), Features::sparse(sparse));
    let models: Vec<Box<dyn Estimator>> = vec![
        Box::new(GradientBoosting::default()),
        Box::new(RandomForest::default()),
    ];
    for m in models {
        let (mut a, mut b) = (m.clone(), m.clone());
        a.fit(&xd, &y, &FitContext::new(3, 1)).unwrap();
        b.fit(&xs, &y, &FitContext::new(3, 1)).unwrap();
        let (pa, pb) = (a.predict_proba(&xd).unwrap(), b.predict_proba(&xs).unwrap());
        let diff = (&pa - &pb).mapv(f32::abs).fold(0.0f32, |m, v| m.max(*v));
        assert!(diff < 1e-5, "{}: max diff {diff}", m.name());
        assert!(accuracy(&pa, &y) > 0.9);
    }
}

#[test]
fn mixed_dense_and_sparse_blocks_use_both() {
    // Class 0/1 from the dense column, class 2 marked only in the sparse column.
    let n = 300;
    let mut dense = Array2::zeros((n, 1));
    let mut t = sprs::TriMat::new((n, 50));
    let mut y = Vec::new();
    for i in 0..n {
        let c = (i % 3) as u32;
        dense[[i, 0]] = if c == 1 {
            1.0 + (i % 7) as f32
        } else {
            -((i % 5) as f32)
        };
        if c == 2 {
            t.add_triplet(i, 17, 0.5 + (i % 4) as f32 * 0.1);
        }
        t.add_triplet(i, i % 50, 0.01);
        y.push(c);
    }
    let x = Features {
        dense: Some(dense),
        sparse: Some(t.to_csr()),
        names: vec![],
    };
    let models: Vec<Box<dyn Estimator>> = vec![
        Box::new(GradientBoosting::default()),
        Box::new(RandomForest::default()),
    ];
    for mut m in models {
        m.fit(&x, &y, &FitContext::new(3, 0)).unwrap();
        let acc = accuracy(&m.predict_proba(&x).unwrap(), &y);
        assert!(acc > 0.99, "{}: {acc}", m.name());
    }
}

#[test]
fn serde_round_trip_predicts_the_same() {
    let (x, y) = blobs(150, 5, 2);
    let x = Features::dense(x);
    let models: Vec<Box<dyn Estimator>> = vec![
        Box::new(GradientBoosting::default()),
        Box::new(RandomForest::extra_trees()),
    ];
    for mut m in models {
        m.fit(&x, &y, &FitContext::new(3, 0)).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        let back: Box<dyn Estimator> = serde_json::from_str(&json).unwrap();
        assert_eq!(
            m.predict_proba(&x).unwrap(),
            back.predict_proba(&x).unwrap(),
            "{}",
            m.name()
        );
        assert_eq!(m.params(), back.params());
    }
}

#[test]
fn histogram_subtraction_grows_the_same_tree_as_direct_histograms() {
    let (x, y) = blobs(400, 12, 8);
    let data = BinnedData::build(&Features::dense(x), &(0..400).collect::<Vec<_>>(), 255, 0);
    let gh: Vec<f64> = y
        .iter()
        .flat_map(|&c| [if c == 0 { -0.7 } else { 0.3 }, 0.25])
        .collect();
    let rows: Vec<u32> = (0..400).collect();
    let all: Vec<usize> = (0..data.n_features()).collect();
    let params = |features| GrowParams {
        rules: SplitRules {
            k: 1,
            min_child_samples: 5,
            min_child_weight: 1e-3,
            lambda: 1.0,
        },
        max_leaves: 12,
        max_depth: None,
        min_split_gain: 0.0,
        extra_trees: false,
        features,
        seed: 0,
        parallel: true,
    };
    let with_subtraction = grow_tree(
        &data,
        &gh,
        &rows,
        &params(FeatureChoice::PerTree(all.clone())),
    );
    let direct = grow_tree(
        &data,
        &gh,
        &rows,
        &params(FeatureChoice::PerNode {
            pool: all.clone(),
            k: all.len(),
        }),
    );
    assert!(
        with_subtraction.nodes.len() >= 6,
        "{}",
        with_subtraction.nodes.len()
    );
    assert_eq!(with_subtraction.nodes, direct.nodes);
    for (a, b) in with_subtraction.leaf_totals.iter().zip(&direct.leaf_totals) {
        assert!(
            a.iter().zip(b).all(|(u, v)| (u - v).abs() < 1e-9),
            "{a:?} vs {b:?}"
        );
    }
}

#[test]
fn num_leaves_and_max_depth_bound_the_trees() {
    let (x, y) = blobs(300, 5, 3);
    let x = Features::dense(x);
    let mut m = plain_gbdt(3);
    m.params.num_leaves = 7;
    m.fit(&x, &y, &FitContext::new(3, 0)).unwrap();
    assert!(m.trees().iter().all(|t| t.n_leaves() <= 7));
    assert!(m.trees().iter().any(|t| t.n_leaves() == 7));
    m.params.num_leaves = 64;
    m.params.max_depth = 2;
    m.fit(&x, &y, &FitContext::new(3, 0)).unwrap();
    assert!(m.trees().iter().all(|t| t.n_leaves() <= 4));
}

#[test]
fn class_absent_from_training_gets_a_small_finite_probability() {
    let (x, y) = blobs(150, 2, 5); // labels 0..3; the caller says there are 5 classes
    let x = Features::dense(x);
    let models: Vec<Box<dyn Estimator>> = vec![
        Box::new(GradientBoosting::default()),
        Box::new(RandomForest::default()),
    ];
    for mut m in models {
        m.fit(&x, &y, &FitContext::new(5, 0)).unwrap();
        let p = m.predict_proba(&x).unwrap();
        assert_eq!(p.ncols(), 5);
        assert_proper_probabilities(&p);
        assert!(
            p.column(3)
                .iter()
                .chain(p.column(4).iter())
                .all(|&v| v > 0.0 && v < 1e-4)
        );
    }
}

#[test]
fn single_class_training_predicts_that_class() {
    let (x, _) = blobs(40, 2, 6);
    let x = Features::dense(x);
    let y = vec![1u32; 40];
    let models: Vec<Box<dyn Estimator>> = vec![
        Box::new(GradientBoosting::default()),
        Box::new(RandomForest::default()),
    ];
    for mut m in models {
        m.fit(&x, &y, &FitContext::new(3, 0)).unwrap();
        let p = m.predict_proba(&x).unwrap();
        assert_proper_probabilities(&p);
        assert!(p.column(1).iter().all(|&v| v > 0.999), "{}", m.name());
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let models: Vec<Box<dyn Estimator>> = vec![
        Box::new(GradientBoosting::default()),
        Box::new(RandomForest::default()),
    ];
    for mut m in models {
        let ctx = FitContext::new(2, 0);
        assert!(
            m.predict_proba(&Features::dense(array![[1.0f32]])).is_err(),
            "predict before fit"
        );
        assert!(
            m.fit(
                &Features::dense(array![[1.0f32], [f32::NAN]]),
                &[0, 1],
                &ctx
            )
            .is_err()
        );
        assert!(
            m.fit(&Features::dense(Array2::zeros((0, 3))), &[], &ctx)
                .is_err()
        );
        assert!(m.fit(&Features::default(), &[], &ctx).is_err());
        assert!(
            m.fit(&Features::dense(array![[1.0f32], [2.0]]), &[0, 2], &ctx)
                .is_err()
        );
        assert!(
            m.fit(&Features::dense(array![[1.0f32], [2.0]]), &[0], &ctx)
                .is_err()
        );
        // One row, constant features: fits, predicts the one class.
        m.fit(&Features::dense(array![[1.0f32, 1.0]]), &[1], &ctx)
            .unwrap();
        assert!(
            m.predict_proba(&Features::dense(array![[1.0f32]])).is_err(),
            "column count differs"
        );
        assert!(
            m.predict_proba(&Features::dense(array![[f32::INFINITY, 1.0]]))
                .is_err()
        );
        let p = m
            .predict_proba(&Features::dense(array![[5.0f32, -3.0]]))
            .unwrap();
        assert!(p[[0, 1]] > 0.999);
    }
}

#[test]
fn params_are_listed_and_checked() {
    let models: Vec<Box<dyn Estimator>> = vec![
        Box::new(GradientBoosting::default()),
        Box::new(RandomForest::default()),
    ];
    for mut m in models {
        let specs = m.params();
        assert!(specs.len() >= 10);
        assert!(m.set_param("no_such_param", "1").is_err());
        assert!(m.set_param("n_estimators", "0").is_err());
        assert!(m.set_param("max_bin", "256").is_err());
        assert!(m.set_param("class_weight", "sometimes").is_err());
        m.set_param("n_estimators", "17").unwrap();
        assert!(
            m.params()
                .iter()
                .any(|s| s.name == "n_estimators" && s.value == "17")
        );
    }
    let mut g = GradientBoosting::default();
    assert!(g.set_param("subsample", "0").is_err());
    assert!(g.set_param("learning_rate", "nan").is_err());
    g.set_param("max_depth", "-1").unwrap();
    let mut f = RandomForest::default();
    assert!(f.set_param("max_features", "most").is_err());
    f.set_param("extra_trees", "true").unwrap();
    assert_eq!(f.name(), "Extra Trees");
}
