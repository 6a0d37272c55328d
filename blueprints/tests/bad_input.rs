//! Bad input, for every estimator of the crate: NaN/inf features, a class absent from the
//! training fold, a single-class fold, empty matrices, huge (finite) values, constant columns and
//! mismatched shapes give a clear error or the documented fallback, never a panic or a NaN
//! probability.

use blueprints::knn::Knn;
use blueprints::linear::LogisticRegression;
use blueprints::naive_bayes::{ComplementNb, MultinomialNb};
use blueprints::tree::{GradientBoosting, RandomForest};
use blueprints::{BlueprintError, Estimator, Features, FitContext};
use ndarray::Array2;

/// Every estimator of the crate, sized for a fast test.
fn all_estimators() -> Vec<Box<dyn Estimator>> {
    let mut gbdt = GradientBoosting::default();
    gbdt.set_param("n_estimators", "15").expect("valid");
    let mut rf = RandomForest::default();
    rf.set_param("n_estimators", "10").expect("valid");
    let mut et = RandomForest::extra_trees();
    et.set_param("n_estimators", "10").expect("valid");
    vec![
        Box::new(LogisticRegression::default()),
        Box::new(gbdt),
        Box::new(rf),
        Box::new(et),
        Box::new(Knn::default()),
        Box::new(MultinomialNb::default()),
        Box::new(ComplementNb::default()),
    ]
}

/// 90 rows, 5 non-negative columns, 3 classes that the first two columns separate.
fn data() -> (Features, Vec<u32>) {
    let n = 90;
    let y: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
    let x = Array2::from_shape_fn((n, 5), |(i, j)| {
        let c = y[i] as f32;
        let wobble = ((i * 31 + j * 17) % 13) as f32 / 13.0;
        match j {
            0 => c + 0.5 * wobble,
            1 => 2.0 - c + 0.5 * wobble,
            _ => wobble,
        }
    });
    (Features::dense(x), y)
}

/// Probabilities are `rows × k`, finite, in [0, 1], rows summing to 1.
fn assert_valid_proba(name: &str, p: &Array2<f32>, rows: usize, k: usize) {
    assert_eq!(p.dim(), (rows, k), "{name}: shape");
    for row in p.rows() {
        assert!(
            row.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
            "{name}: bad probability in {row:?}"
        );
        assert!(
            (row.sum() - 1.0).abs() < 1e-4,
            "{name}: row sums to {}",
            row.sum()
        );
    }
}

fn assert_invalid_input(name: &str, r: Result<(), BlueprintError>, what: &str) {
    match r {
        Err(BlueprintError::InvalidInput(msg)) => {
            assert!(msg.contains(what), "{name}: message '{msg}' lacks '{what}'")
        }
        other => panic!("{name}: expected InvalidInput({what}), got {other:?}"),
    }
}

#[test]
fn nan_and_inf_features_are_refused_at_fit_and_predict() {
    let (x, y) = data();
    for mut e in all_estimators() {
        let name = e.name();
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut d = x.dense.clone().expect("dense");
            d[[7, 3]] = bad;
            let r = e.fit(&Features::dense(d), &y, &FitContext::new(3, 0));
            assert_invalid_input(&name, r, "non-finite");
        }
        e.fit(&x, &y, &FitContext::new(3, 0)).expect("clean fit");
        let mut q = x.dense.clone().expect("dense");
        q[[0, 0]] = f32::NAN;
        let r = e.predict_proba(&Features::dense(q)).map(|_| ());
        assert_invalid_input(&name, r, "non-finite");
        // A sparse NaN too.
        let mut t = sprs::TriMat::new((3, 4));
        t.add_triplet(1, 2, f32::NAN);
        let r = e.fit(
            &Features::sparse(t.to_csr()),
            &[0, 1, 2],
            &FitContext::new(3, 0),
        );
        assert_invalid_input(&name, r, "non-finite");
    }
}

#[test]
fn class_absent_from_training_gets_the_floor_probability() {
    let (x, y) = data();
    for mut e in all_estimators() {
        let name = e.name();
        // Five classes expected, only 0..3 present in training.
        e.fit(&x, &y, &FitContext::new(5, 1)).expect("fit");
        let p = e.predict_proba(&x).expect("predict");
        assert_valid_proba(&name, &p, x.n_rows(), 5);
        for c in [3, 4] {
            assert!(
                p.column(c).iter().all(|&v| v > 0.0 && v < 1e-5),
                "{name}: absent class {c} got {:?}",
                p.column(c)
            );
        }
        // A gap in the middle of the label range (class 1 absent).
        let y2: Vec<u32> = y.iter().map(|&c| if c == 1 { 2 } else { c }).collect();
        e.fit(&x, &y2, &FitContext::new(3, 1)).expect("fit");
        let p = e.predict_proba(&x).expect("predict");
        assert_valid_proba(&name, &p, x.n_rows(), 3);
        assert!(p.column(1).iter().all(|&v| v < 1e-5), "{name}");
    }
}

#[test]
fn single_class_fold_predicts_that_class() {
    let (x, _) = data();
    let y = vec![1u32; x.n_rows()];
    for mut e in all_estimators() {
        let name = e.name();
        e.fit(&x, &y, &FitContext::new(3, 0))
            .expect("single-class fit");
        let p = e.predict_proba(&x).expect("predict");
        assert_valid_proba(&name, &p, x.n_rows(), 3);
        assert!(p.column(1).iter().all(|&v| v > 0.999), "{name}: {p:?}");
    }
}

#[test]
fn empty_matrices_and_shape_mismatches_are_refused() {
    let (x, y) = data();
    for mut e in all_estimators() {
        let name = e.name();
        let ctx = FitContext::new(3, 0);
        assert_invalid_input(&name, e.fit(&Features::default(), &[], &ctx), "no columns");
        assert_invalid_input(
            &name,
            e.fit(&Features::dense(Array2::zeros((0, 4))), &[], &ctx),
            "no rows",
        );
        assert_invalid_input(
            &name,
            e.fit(&Features::dense(Array2::zeros((4, 0))), &[0, 1, 2, 0], &ctx),
            "no columns",
        );
        assert_invalid_input(&name, e.fit(&x, &y[1..], &ctx), "labels");
        assert_invalid_input(&name, e.fit(&x, &y, &FitContext::new(2, 0)), "label 2");
        // Predict before fit.
        assert!(
            matches!(e.predict_proba(&x), Err(BlueprintError::NotFitted(_))),
            "{name}: predict before fit"
        );
        e.fit(&x, &y, &ctx).expect("fit");
        let r = e
            .predict_proba(&Features::dense(Array2::zeros((0, 5))))
            .map(|_| ());
        assert_invalid_input(&name, r, "no rows");
        let r = e
            .predict_proba(&Features::dense(Array2::zeros((2, 4))))
            .map(|_| ());
        assert!(
            matches!(r, Err(BlueprintError::InvalidInput(_))),
            "{name}: wrong column count gave {r:?}"
        );
    }
}

#[test]
fn huge_and_constant_values_give_finite_probabilities() {
    let (x, y) = data();
    let d = x.dense.clone().expect("dense");
    // Finite but huge: squares overflow f32 (cosine norms, sums of squares).
    let huge = Features::dense(d.mapv(|v| v * 1e30));
    // Every column constant.
    let constant = Features::dense(Array2::from_elem(d.raw_dim(), 2.0));
    for mut e in all_estimators() {
        let name = e.name();
        for (what, f) in [("huge", &huge), ("constant", &constant)] {
            match e.fit(f, &y, &FitContext::new(3, 0)) {
                Ok(()) => {
                    let p = e
                        .predict_proba(f)
                        .unwrap_or_else(|err| panic!("{name} ({what}): predict failed: {err}"));
                    assert_valid_proba(&format!("{name} ({what})"), &p, f.n_rows(), 3);
                }
                Err(err) => panic!("{name} ({what}): fit failed: {err}"),
            }
        }
    }
}
