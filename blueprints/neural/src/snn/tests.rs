use super::*;
use ndarray::Array2;
use rand::Rng;

/// Three classes on concentric rings in 2-D (radius < 1, 1–2, > 2) plus `noise` irrelevant
/// columns: no linear model separates them.
fn rings(n: usize, noise: usize, seed: u64) -> (Features, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::<f32>::zeros((n, 2 + noise));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = (i % 3) as u32;
        let r = c as f32 + rng.random::<f32>() * 0.8 + 0.1;
        let t = rng.random::<f32>() * std::f32::consts::TAU;
        x[[i, 0]] = r * t.cos();
        x[[i, 1]] = r * t.sin();
        for j in 0..noise {
            x[[i, 2 + j]] = rng.random::<f32>() * 2.0 - 1.0;
        }
        y.push(c);
    }
    (Features::dense(x), y)
}

fn small_net() -> SelfNormalizingNet {
    SelfNormalizingNet::new(SnnParams {
        hidden_size: 32,
        epochs: 150,
        batch_size: 32,
        learning_rate: 3e-3,
        patience: 15,
        ..SnnParams::default()
    })
}

fn balanced_accuracy(y: &[u32], p: &Array2<f32>, k: usize) -> f64 {
    let pred = blueprints::metrics::argmax_rows(p.view());
    blueprints::metrics::balanced_accuracy(y, &pred, k).expect("valid labels")
}

#[test]
fn learns_concentric_rings_far_above_chance() {
    let (x, y) = rings(900, 3, 1);
    let (xt, yt) = rings(300, 3, 2);
    let mut net = small_net();
    net.fit(&x, &y, &FitContext::new(3, 7)).expect("fit");
    let p = net.predict_proba(&xt).expect("predict");
    assert_eq!(p.dim(), (300, 3));
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-4 && row.iter().all(|v| v.is_finite()));
    }
    let ba = balanced_accuracy(&yt, &p, 3);
    assert!(ba > 0.85, "balanced accuracy {ba} (chance 0.33)");
    // A linear score cannot do this: the classes share the same mean (the origin).
    assert!(net.epochs_run().unwrap_or(0) >= 1);
    assert!(!net.validation_loss().is_empty());
}

#[test]
fn same_seed_same_probabilities_other_seed_differs() {
    let (x, y) = rings(300, 2, 3);
    let fit = |seed| {
        let mut net = small_net();
        net.set_param("epochs", "20").expect("valid");
        net.fit(&x, &y, &FitContext::new(3, seed)).expect("fit");
        net.predict_proba(&x).expect("predict")
    };
    let (a, b, c) = (fit(5), fit(5), fit(6));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn serde_round_trip_gives_equal_predictions() {
    let (x, y) = rings(200, 1, 4);
    let mut net: Box<dyn Estimator> = Box::new(small_net());
    net.set_param("epochs", "10").expect("valid");
    net.fit(&x, &y, &FitContext::new(3, 1)).expect("fit");
    let json = serde_json::to_string(&net).expect("serialize");
    let back: Box<dyn Estimator> = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back.name(), TASK);
    assert_eq!(
        net.predict_proba(&x).expect("predict"),
        back.predict_proba(&x).expect("predict")
    );
}

#[test]
fn sparse_block_is_used_alongside_dense() {
    // The class is the only sparse token a row holds; the dense columns are noise.
    let n = 300;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut t = sprs::TriMat::new((n, 50));
    let mut y = Vec::new();
    for i in 0..n {
        let c = (i % 3) as u32;
        t.add_triplet(i, c as usize * 10 + rng.random_range(0..3usize), 1.0f32);
        y.push(c);
    }
    let dense = Array2::from_shape_simple_fn((n, 4), || rng.random::<f32>());
    let x = Features {
        dense: Some(dense),
        sparse: Some(t.to_csr()),
        names: vec![],
    };
    let mut net = small_net();
    net.set_param("epochs", "40").expect("valid");
    net.fit(&x, &y, &FitContext::new(3, 0)).expect("fit");
    let p = net.predict_proba(&x).expect("predict");
    assert!(balanced_accuracy(&y, &p, 3) > 0.95);
    // Wrong block shapes at predict time are refused.
    let e = net
        .predict_proba(&Features::dense(Array2::zeros((2, 4))))
        .unwrap_err()
        .to_string();
    assert!(e.contains("4 dense + 50 sparse"), "{e}");
}

#[test]
fn params_are_listed_and_settable_by_name() {
    let mut net = SelfNormalizingNet::default();
    let names: Vec<String> = net.params().into_iter().map(|s| s.name).collect();
    for n in [
        "hidden_size",
        "n_blocks",
        "dropout",
        "learning_rate",
        "epochs",
        "batch_size",
        "patience",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing");
    }
    net.set_param("hidden_size", "64").expect("valid");
    net.set_param("dropout", "0.2").expect("valid");
    assert_eq!((net.params.hidden_size, net.params.dropout), (64, 0.2));
    let spec = net.params().into_iter().find(|s| s.name == "hidden_size");
    assert_eq!(spec.map(|s| s.value), Some("64".to_string()));
    assert!(net.set_param("dropout", "0.95").is_err());
    assert!(net.set_param("hidden", "8").is_err());
}

#[test]
fn bad_input_is_refused_or_handled() {
    let mut net = small_net();
    net.set_param("epochs", "5").expect("valid");
    // Predict before fit.
    assert!(matches!(
        net.predict_proba(&Features::dense(Array2::zeros((1, 2)))),
        Err(BlueprintError::NotFitted(_))
    ));
    // NaN / inf features.
    let mut bad = Array2::<f32>::zeros((4, 2));
    bad[[2, 1]] = f32::NAN;
    let e = net
        .fit(
            &Features::dense(bad.clone()),
            &[0, 1, 0, 1],
            &FitContext::new(2, 0),
        )
        .unwrap_err();
    assert!(e.to_string().contains("non-finite"), "{e}");
    bad[[2, 1]] = f32::INFINITY;
    assert!(
        net.fit(&Features::dense(bad), &[0, 1, 0, 1], &FitContext::new(2, 0))
            .is_err()
    );
    // Empty matrix.
    assert!(
        net.fit(
            &Features::dense(Array2::zeros((0, 3))),
            &[],
            &FitContext::new(2, 0)
        )
        .is_err()
    );
    assert!(
        net.fit(&Features::default(), &[], &FitContext::new(2, 0))
            .is_err()
    );
    // A class absent from training gets the floor probability.
    let (x, y) = rings(120, 0, 5);
    net.fit(&x, &y, &FitContext::new(4, 0)).expect("fit");
    let p = net.predict_proba(&x).expect("predict");
    assert_eq!(p.ncols(), 4);
    assert!(p.column(3).iter().all(|&v| v > 0.0 && v < 1e-6));
    // A single-class fold predicts that class.
    let one = vec![2u32; 120];
    net.fit(&x, &one, &FitContext::new(3, 0)).expect("fit");
    let p = net.predict_proba(&x).expect("predict");
    assert!(p.column(2).iter().all(|&v| v > 0.999));
    assert!(p.iter().all(|v| v.is_finite()));
}

#[test]
fn logit_gradient_matches_finite_differences_with_a_sparse_block() {
    use blueprints::estimator::finite_difference_logit_gradient;
    let (x, y) = rings(300, 2, 5);
    let dense = x.dense.clone().unwrap();
    let n = dense.nrows();
    // A sparse indicator block next to the dense one: it shifts the input layer, not the gradient
    // with respect to the dense columns' definition.
    let mut tri = sprs::TriMat::new((n, 3));
    for i in 0..n {
        tri.add_triplet(i, i % 3, 1.0f32);
    }
    let both = Features {
        dense: Some(dense),
        sparse: Some(tri.to_csr()),
        names: Vec::new(),
    };
    let mut net = small_net();
    net.fit(&both, &y, &FitContext::new(3, 3)).unwrap();
    for row in [0usize, 11, 42] {
        let one = both.select_rows(&[row]);
        for class in 0..3 {
            let g = net.dense_logit_gradient(&one, class).unwrap().unwrap();
            let fd = finite_difference_logit_gradient(&net, &one, class, 1e-3).unwrap();
            for (a, b) in g.iter().zip(&fd) {
                assert!(
                    (a - b).abs() < 2e-2 * (1.0 + b.abs()),
                    "row {row} class {class}: {g:?} vs {fd:?}"
                );
            }
        }
    }
}

/// Rings in the dense block plus a sparse block whose tokens carry part of the class.
fn rings_with_tokens(n: usize, seed: u64) -> (Features, Vec<u32>) {
    let (x, y) = rings(n, 2, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    let mut t = sprs::TriMat::new((n, 30));
    for (i, &c) in y.iter().enumerate() {
        if rng.random::<f32>() < 0.5 {
            t.add_triplet(i, c as usize * 10 + rng.random_range(0..10usize), 1.0f32);
        }
        t.add_triplet(i, rng.random_range(0..30usize), 0.5f32);
    }
    let x = Features {
        dense: x.dense,
        sparse: Some(t.to_csr()),
        names: vec![],
    };
    (x, y)
}

fn fit_with_backend(backend: &str, x: &Features, y: &[u32], seed: u64) -> SelfNormalizingNet {
    let mut net = small_net();
    net.set_param("epochs", "8").expect("valid");
    net.set_param("backend", backend).expect("valid");
    net.fit(x, y, &FitContext::new(3, seed)).expect("fit");
    net
}

/// Same seed, same weights, same batches and dropout draws: burn on its CPU backend follows the
/// native engine's trajectory up to floating-point rounding, through early stopping too.
#[test]
fn burn_cpu_engine_follows_the_native_engine() {
    let (x, y) = rings_with_tokens(240, 21);
    let native = fit_with_backend("native", &x, &y, 3);
    let burn = fit_with_backend("burn-cpu", &x, &y, 3);
    assert_eq!(native.trained_on(), Some("native (cpu)"));
    assert_eq!(burn.trained_on(), Some("burn (cpu (burn flex))"));
    assert_eq!(native.epochs_run(), burn.epochs_run());
    let (pn, pb) = (
        native.predict_proba(&x).expect("predict"),
        burn.predict_proba(&x).expect("predict"),
    );
    let diff = pn
        .iter()
        .zip(&pb)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    println!("burn-cpu vs native: max |Δp| = {diff:.2e}");
    assert!(diff < 2e-3, "max |Δp| {diff}");
    for (a, b) in native.validation_loss().iter().zip(burn.validation_loss()) {
        assert!((a - b).abs() < 1e-3, "validation loss {a} vs {b}");
    }
    // Not vacuous: training moved the probabilities away from uniform.
    assert!(balanced_accuracy(&y, &pb, 3) > 0.6);
    // The burn engine is deterministic for a seed too.
    let again = fit_with_backend("burn-cpu", &x, &y, 3);
    assert_eq!(again.predict_proba(&x).expect("predict"), pb);
}

#[test]
fn backend_is_a_listed_choice_and_auto_trains_small_nets_natively() {
    let mut net = SelfNormalizingNet::default();
    assert_eq!(net.params.backend, Backend::Auto);
    assert!(net.set_param("backend", "cuda").is_err());
    let (x, y) = rings(90, 0, 2);
    net.set_param("epochs", "2").expect("valid");
    net.fit(&x, &y, &FitContext::new(3, 0)).expect("fit");
    assert_eq!(net.trained_on(), Some("native (cpu)"));
    // The step size that decides `auto`: 64 × (1,280·256 + 256² + 256·6) multiply-adds is
    // below the GPU threshold; 512 × (2,048·1,024 + 2·1,024² + 1,024·6) is above it.
    let p = SnnParams::default();
    assert_eq!(
        step_macs(&p, 64, 1280, 6),
        64 * (1280 * 256 + 256 * 256 + 256 * 6)
    );
    assert!(step_macs(&p, 64, 1280, 6) < AUTO_GPU_STEP_MACS);
    let big = SnnParams {
        hidden_size: 1024,
        n_blocks: 2,
        ..SnnParams::default()
    };
    assert!(step_macs(&big, 512, 2048, 6) > AUTO_GPU_STEP_MACS);
    // Models saved before the `backend` parameter existed still load.
    let mut json: serde_json::Value = serde_json::to_value(&net).expect("serialize");
    json["params"]
        .as_object_mut()
        .expect("object")
        .remove("backend");
    json["fitted"]
        .as_object_mut()
        .expect("object")
        .remove("trained_on");
    let old: SelfNormalizingNet = serde_json::from_value(json).expect("old models load");
    assert_eq!(old.params.backend, Backend::Auto);
    assert_eq!(
        old.predict_proba(&x).expect("predict"),
        net.predict_proba(&x).expect("predict")
    );
}

/// `y = 3·sin(x0) + x1² + 100` plus a little noise, with `noise` irrelevant columns: a
/// non-linear target far from zero, so that the target scale matters.
fn curve(n: usize, noise: usize, seed: u64) -> (Features, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::<f32>::zeros((n, 2 + noise));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        for j in 0..2 + noise {
            x[[i, j]] = rng.random::<f32>() * 4.0 - 2.0;
        }
        let v = 3.0 * x[[i, 0]].sin() + x[[i, 1]] * x[[i, 1]] + 100.0;
        y.push(v + (rng.random::<f32>() - 0.5) * 0.2);
    }
    (Features::dense(x), y)
}

fn r2(y: &[f32], p: &Array2<f32>) -> f64 {
    let mean = y.iter().map(|&v| v as f64).sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|&v| (v as f64 - mean).powi(2)).sum();
    let ss_res: f64 = y
        .iter()
        .zip(p.column(0))
        .map(|(&v, &f)| (v as f64 - f as f64).powi(2))
        .sum();
    1.0 - ss_res / ss_tot
}

#[test]
fn regressor_learns_a_nonlinear_curve_on_the_target_scale() {
    let (x, y) = curve(800, 2, 1);
    let (xt, yt) = curve(300, 2, 2);
    let mut net = small_net();
    assert!(net.supports_regression());
    net.fit_regression(&x, &y, &FitContext::new(1, 7))
        .expect("fit");
    let p = net.predict_proba(&xt).expect("predict");
    assert_eq!(p.dim(), (300, 1));
    // Predictions come back on the target's scale (around 100), not the standardized one.
    let mean_pred = p.column(0).iter().map(|&v| v as f64).sum::<f64>() / 300.0;
    assert!(
        (mean_pred - 101.3).abs() < 1.5,
        "mean prediction {mean_pred}"
    );
    let score = r2(&yt, &p);
    assert!(score > 0.9, "R² {score}");
    assert!(!net.validation_loss().is_empty());
    // Same seed, same predictions; the fitted state survives serde.
    let mut again = small_net();
    again
        .fit_regression(&x, &y, &FitContext::new(1, 7))
        .expect("fit");
    assert_eq!(again.predict_proba(&xt).expect("predict"), p);
    let json = serde_json::to_string(&net).expect("serialize");
    let back: SelfNormalizingNet = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back.predict_proba(&xt).expect("predict"), p);
    // The gradient of the predicted value is that of the curve: d/dx0 = 3·cos(x0).
    let row = Features::dense(Array2::from_shape_vec((1, 4), vec![0.0, 1.0, 0.5, -0.5]).unwrap());
    let g = net
        .dense_logit_gradient(&row, 0)
        .expect("gradient")
        .expect("dense");
    assert!((g[0] - 3.0).abs() < 1.2, "d/dx0 = {} (expected ≈ 3)", g[0]);
}

#[test]
fn regressor_burn_cpu_engine_follows_the_native_engine() {
    let (x, y) = curve(240, 1, 5);
    let fit = |backend: &str| {
        let mut net = small_net();
        net.set_param("epochs", "6").expect("valid");
        net.set_param("backend", backend).expect("valid");
        net.fit_regression(&x, &y, &FitContext::new(1, 3))
            .expect("fit");
        net
    };
    let (native, burn) = (fit("native"), fit("burn-cpu"));
    assert_eq!(native.epochs_run(), burn.epochs_run());
    let (pn, pb) = (
        native.predict_proba(&x).expect("predict"),
        burn.predict_proba(&x).expect("predict"),
    );
    let diff = pn
        .iter()
        .zip(&pb)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        diff < 1e-2,
        "max |Δ prediction| {diff} on a target around 100"
    );
    for (a, b) in native.validation_loss().iter().zip(burn.validation_loss()) {
        assert!((a - b).abs() < 1e-3, "validation loss {a} vs {b}");
    }
}

#[test]
fn bagged_net_averages_the_single_nets_of_its_seeds_and_searches_one_net() {
    let (x, y) = rings(300, 2, 5);
    let ctx = |seed| FitContext::new(3, seed);
    let mut bagged = small_net();
    bagged.set_param("bags", "3").expect("valid");
    bagged.fit(&x, &y, &ctx(11)).expect("fit");
    // Bag `b` is the single net of seed `11 + b`: same split, initial weights and batches.
    let mut mean = Array2::<f32>::zeros((300, 3));
    for b in 0..3 {
        let mut single = small_net();
        single.set_param("bags", "1").expect("valid");
        single.fit(&x, &y, &ctx(11 + b)).expect("fit");
        mean += &single.fitted.get(TASK).expect("fitted").head_outputs(&x);
    }
    mean /= 3.0;
    let outputs = bagged.fitted.get(TASK).expect("fitted").head_outputs(&x);
    let gap = (&outputs - &mean)
        .mapv(f32::abs)
        .fold(0.0f32, |a, &v| a.max(v));
    assert!(
        gap < 1e-5,
        "bagged outputs differ from the mean of the bags by {gap}"
    );
    // The members differ (their own splits and seeds), so the average is not one of them.
    let first = {
        let mut single = small_net();
        single.set_param("bags", "1").expect("valid");
        single.fit(&x, &y, &ctx(11)).expect("fit");
        single.fitted.get(TASK).expect("fitted").head_outputs(&x)
    };
    assert!((&outputs - &first).mapv(f32::abs).sum() > 1e-3);
    // An inner search scores one net of each configuration.
    let inner = bagged.for_inner_fit();
    let bags = inner
        .params()
        .into_iter()
        .find(|p| p.name == "bags")
        .expect("listed");
    assert_eq!(bags.value, "1");
    assert_eq!(bagged.params.bags, 3);
    // Models saved before bagging load as one net.
    let mut json: serde_json::Value = serde_json::to_value(&bagged).expect("serialize");
    json["params"]
        .as_object_mut()
        .expect("object")
        .remove("bags");
    let old: SelfNormalizingNet = serde_json::from_value(json).expect("old models load");
    assert_eq!(old.params.bags, 1);
}

/// A trainer whose validation loss follows a script, recording what the loop asked of it.
struct ScriptedTrainer {
    losses: Vec<f64>,
    epoch: usize,
    lr: f32,
    lr_by_epoch: Vec<f32>,
    restored: Option<usize>,
}

impl train::Trainer for ScriptedTrainer {
    type Snapshot = usize;
    fn step(&mut self, _rows: &[usize], _rng: &mut ChaCha8Rng) -> Result<()> {
        Ok(())
    }
    fn loss(&mut self, _rows: &[usize]) -> Result<f64> {
        self.lr_by_epoch.push(self.lr);
        self.epoch += 1;
        Ok(self.losses[self.epoch - 1])
    }
    fn snapshot(&self) -> usize {
        self.epoch
    }
    fn restore(&mut self, snapshot: usize) {
        self.restored = Some(snapshot);
    }
    fn scale_learning_rate(&mut self, factor: f32) {
        self.lr *= factor;
    }
    fn weights(&self) -> Result<NetWeights> {
        unreachable!("not asked by the loop")
    }
}

#[test]
fn a_validation_plateau_halves_the_step_then_stops_on_the_best_epoch() {
    // Best at epoch 2, then no improvement: with patience 10 the step halves after 3, 6 and 9
    // epochs without improvement, and the loop stops after 10, restoring epoch 2's weights.
    let mut losses = vec![1.0, 0.5];
    losses.extend(std::iter::repeat_n(0.7, 20));
    let mut t = ScriptedTrainer {
        losses,
        epoch: 0,
        lr: 1.0,
        lr_by_epoch: Vec::new(),
        restored: None,
    };
    let schedule = train::Schedule {
        epochs: 50,
        batch: 4,
        patience: 10,
    };
    assert_eq!(schedule.plateau(), 3);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let train_rows: Vec<usize> = (0..8).collect();
    let log = run_epochs(&mut t, &train_rows, &[0, 1], schedule, &mut rng).expect("runs");
    assert_eq!(log.epochs_run, 12);
    assert_eq!(t.restored, Some(2));
    let expected: Vec<f32> = [1.0; 5]
        .into_iter()
        .chain([0.5; 3])
        .chain([0.25; 3])
        .chain([0.125])
        .collect();
    assert_eq!(t.lr_by_epoch, expected);
    // An improvement resets the count: no halving while the loss keeps falling.
    let mut falling = ScriptedTrainer {
        losses: (0..30).map(|e| 1.0 / (1.0 + e as f64)).collect(),
        epoch: 0,
        lr: 1.0,
        lr_by_epoch: Vec::new(),
        restored: None,
    };
    let thirty = train::Schedule {
        epochs: 30,
        ..schedule
    };
    let log = run_epochs(&mut falling, &train_rows, &[0], thirty, &mut rng).expect("runs");
    assert_eq!(log.epochs_run, 30);
    assert!(falling.lr_by_epoch.iter().all(|&lr| lr == 1.0));
}

#[test]
fn the_automatic_batch_grows_with_the_training_rows() {
    let rows = [
        1, 900, 9_999, 10_000, 99_999, 100_000, 1_000_000, 50_000_000,
    ];
    let batches: Vec<usize> = rows.iter().map(|&n| auto_batch_rows(n)).collect();
    assert_eq!(batches, [64, 64, 64, 128, 128, 256, 512, 512]);
    let auto = SnnParams::default();
    assert_eq!(auto.batch_size, AUTO_BATCH);
    assert_eq!(batch_rows(&auto, 12_800), 128);
    let fixed = SnnParams {
        batch_size: 32,
        ..SnnParams::default()
    };
    assert_eq!(batch_rows(&fixed, 12_800), 32);
}

#[test]
fn a_regressor_searches_without_dropout_first() {
    // y = sin(x0) + x1·x2: smooth, fitted far better without AlphaDropout's noise.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let n = 600;
    let mut x = Array2::<f32>::zeros((n, 3));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        for j in 0..3 {
            x[[i, j]] = rng.random::<f32>() * 4.0 - 2.0;
        }
        y.push(x[[i, 0]].sin() + x[[i, 1]] * x[[i, 2]]);
    }
    let x = Features::dense(x);
    let net = SelfNormalizingNet::new(SnnParams {
        hidden_size: 32,
        bags: 1,
        ..SnnParams::default()
    });
    assert_eq!(net.params.dropout, 0.1, "classification keeps its default");
    let dropouts = |kind| {
        net.search_space(kind)
            .into_iter()
            .find(|d| d.name == "dropout")
            .map(|d| d.values)
    };
    assert_eq!(
        dropouts(TargetKind::Regression),
        Some(vec!["0".into(), "0.05".into()])
    );
    let mut searched = blueprints::search::Searched::new(Box::new(net), 2, 2);
    // What `tune --list` shows as the starting values, by kind.
    let start = |kind| {
        searched
            .search_starts(kind)
            .into_iter()
            .find(|(name, _)| name == "dropout")
            .map(|(_, v)| v)
    };
    assert_eq!(start(TargetKind::Regression).as_deref(), Some("0"));
    assert_eq!(start(TargetKind::Classification).as_deref(), Some("0.1"));
    searched
        .fit_regression(&x, &y, &FitContext::new(1, 0))
        .expect("fit");
    let outcome = searched.outcome.as_ref().expect("searched");
    let first = &outcome.trials[0].values;
    assert!(first.contains(&("dropout".into(), "0".into())), "{first:?}");
    assert!(
        outcome
            .trials
            .iter()
            .all(|t| t.values.iter().any(|(k, v)| k == "dropout" && v != "0.1"))
    );
}
