//! Regression and binary targets end to end through the built binary (issue #15): detection,
//! the leaderboard's metric, the mean baseline, `predict`'s columns, the decision threshold, the
//! task's insights and report sections, and the bad targets each refused with a clear error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use autopilot::dataset::Task;
use autopilot::leaderboard::{LeaderboardRow, MEAN_BASELINE_BLUEPRINT, is_baseline};
use autopilot::project::Project;
use blueprints::metrics::Metric;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::{autopilot, leaderboard, output_within, read_csv, s, stderr, write_csv};

const LIMIT: Duration = Duration::from_secs(600);

/// `n` rows: two numbers, a colour, a short note and a group; `price` (a number: linear in the
/// numbers plus colour and word effects plus noise) and `liked` (`yes` for about a third of the
/// rows, by a noisy threshold on the same signal).
fn task_csv(dir: &Path, n: usize) -> PathBuf {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let path = dir.join("items.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(["size", "weight", "colour", "note", "shop", "price", "liked"])
        .unwrap();
    let colours = ["red", "green", "blue"];
    for i in 0..n {
        let size: f64 = rng.random_range(0.0..10.0);
        let weight: f64 = rng.random_range(0.0..5.0);
        let c = rng.random_range(0..3);
        let shiny = rng.random_bool(0.4);
        // Free text: the signal words plus two of a dozen fillers, so that it is typed as text.
        let fillers = [
            "box", "spare", "blue", "tag", "gift", "old", "boxed", "small", "kit", "set", "pair",
            "extra",
        ];
        let note = format!(
            "{} {} {}",
            if shiny {
                "shiny new polished"
            } else {
                "plain used"
            },
            fillers[rng.random_range(0..fillers.len())],
            fillers[rng.random_range(0..fillers.len())]
        );
        let noise: f64 = rng.random_range(-1.0..1.0);
        let price =
            10.0 + 3.0 * size - 2.0 * weight + 4.0 * c as f64 + 5.0 * f64::from(shiny) + noise;
        let liked = if price + 4.0 * noise > 30.0 {
            "yes"
        } else {
            "no"
        };
        w.write_record([
            format!("{size:.3}"),
            format!("{weight:.3}"),
            colours[c].to_string(),
            note,
            format!("shop{}", i % 40),
            format!("{price:.3}"),
            liked.to_string(),
        ])
        .unwrap();
    }
    w.flush().unwrap();
    path
}

/// Runs the binary on `args` (offline, no pretrained weights) and returns (success, stderr).
fn run(cache: &Path, args: &[&str]) -> (bool, String, String) {
    let out = output_within(autopilot(cache).args(args), LIMIT);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    )
}

/// `autopilot run CSV --target TARGET --project PROJ --backbone none EXTRA...` (no image
/// features): (success, stdout, stderr).
fn run_tabular(
    cache: &Path,
    csv: &Path,
    target: &str,
    proj: &Path,
    extra: &[&str],
) -> (bool, String, String) {
    let mut args = vec![
        "run",
        s(csv),
        "--target",
        target,
        "--project",
        s(proj),
        "--backbone",
        "none",
    ];
    args.extend(extra);
    run(cache, &args)
}

fn cv(row: &LeaderboardRow, m: Metric) -> f64 {
    row.cv_mean
        .as_ref()
        .and_then(|c| c.get(&m))
        .copied()
        .unwrap_or(f64::NAN)
}

/// `autopilot predict MODEL CSV` in project `proj` (or from an `.apm` file when `proj` is
/// `None`), written next to `csv` as `name`; the header and rows of the output.
fn predict(
    cache: &Path,
    model: &str,
    csv: &Path,
    proj: Option<&Path>,
    name: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let out = csv.with_file_name(name);
    let mut args = vec!["predict", model, s(csv), "-o", s(&out)];
    if let Some(p) = proj {
        args.extend(["--project", s(p)]);
    }
    let (ok, _, err) = run(cache, &args);
    assert!(ok, "{args:?}: {err}");
    read_csv(&out)
}

/// Exports `model` of project `proj` to `<proj>.apm` and returns the file.
fn export(cache: &Path, proj: &Path, model: &str) -> PathBuf {
    let apm = proj.with_extension("apm");
    let (ok, _, err) = run(
        cache,
        &["export", model, "-o", s(&apm), "--project", s(proj)],
    );
    assert!(ok, "{err}");
    apm
}

#[test]
fn a_numeric_target_is_a_regression_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = task_csv(tmp.path(), 300);
    let proj = tmp.path().join("price.autopilot");
    let (ok, stdout, err) = run(
        &cache,
        &[
            "run",
            s(&csv),
            "--target",
            "price",
            "--group",
            "shop",
            "--project",
            s(&proj),
            "--backbone",
            "none",
            "--quiet",
            "--type",
            "note=text",
        ],
    );
    assert!(ok, "{err}");
    assert!(stdout.contains("task: regression"), "{stdout}");
    let project = Project::open(&proj).unwrap();
    assert_eq!(autopilot::store::task(&project).unwrap(), Task::Regression);
    let lb = leaderboard(&proj);
    let base = lb
        .rows
        .iter()
        .find(|r| r.blueprint == MEAN_BASELINE_BLUEPRINT)
        .expect("a mean baseline");
    let best = lb.best(Metric::Rmse).unwrap();
    assert!(!is_baseline(&best.blueprint));
    assert!(
        cv(best, Metric::Rmse) < 0.3 * cv(base, Metric::Rmse),
        "best {} {} vs baseline {}",
        best.blueprint,
        cv(best, Metric::Rmse),
        cv(base, Metric::Rmse)
    );
    assert!(cv(best, Metric::R2) > 0.8, "R² {}", cv(best, Metric::R2));
    assert!(
        best.cv_mean
            .as_ref()
            .unwrap()
            .get(&Metric::BalancedAccuracy)
            .is_none()
    );
    let families: Vec<&str> = lb.rows.iter().map(|r| r.blueprint.as_str()).collect();
    assert!(families.iter().any(|b| b.contains("Ridge")), "{families:?}");
    assert!(
        !families.iter().any(|b| b.contains("Naive Bayes")),
        "{families:?}"
    );

    // predict: one value column, no probabilities; close to the actual values.
    let (header, rows) = predict(&cache, "best", &csv, Some(&proj), "pred.csv");
    assert!(
        header.contains(&"price_PREDICTION".to_string()),
        "{header:?}"
    );
    assert!(
        !header.iter().any(|h| h.ends_with("_PROBABILITY")),
        "{header:?}"
    );
    let (_, data) = read_csv(&csv);
    // The target's summary shows the values as written (not their f32 rounding).
    let min = data
        .iter()
        .map(|d| d[5].parse::<f64>().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert!(stdout.contains(&format!("target: min {min}, ")), "{stdout}");
    let col = header.iter().position(|h| h == "price_PREDICTION").unwrap();
    let mse: f64 = rows
        .iter()
        .zip(&data)
        .map(|(p, d)| (p[col].parse::<f64>().unwrap() - d[5].parse::<f64>().unwrap()).powi(2))
        .sum::<f64>()
        / rows.len() as f64;
    assert!(
        mse.sqrt() < 0.3 * cv(base, Metric::Rmse),
        "in-sample RMSE {}",
        mse.sqrt()
    );

    // The leaderboard command ranks by RMSE; an exported model predicts the same values.
    let (ok, table, err) = run(&cache, &["leaderboard", "--project", s(&proj)]);
    assert!(
        ok && table.contains("rmse") && !table.contains("balanced_accuracy"),
        "{table}{err}"
    );
    let apm = export(&cache, &proj, "best");
    let (header_apm, rows_apm) = predict(&cache, s(&apm), &csv, None, "pred_apm.csv");
    assert_eq!(header_apm, header);
    for (a, b) in rows.iter().zip(&rows_apm) {
        let (x, y): (f64, f64) = (a[col].parse().unwrap(), b[col].parse().unwrap());
        assert!((x - y).abs() < 1e-3 * x.abs().max(1.0), "{x} vs {y}");
    }

    // insights and report: predicted vs actual and the lift chart; no activation maps.
    let ins = tmp.path().join("insights");
    let (ok, _, err) = run(
        &cache,
        &["insights", "--project", s(&proj), "--output", s(&ins)],
    );
    assert!(ok, "{err}");
    for f in [
        "predicted_vs_actual_cv.png",
        "lift_cv.png",
        "regression_cv.json",
        "feature_impact.json",
    ] {
        assert!(ins.join(f).is_file(), "{f} missing; {err}");
    }
    let fi = std::fs::read_to_string(ins.join("feature_impact.json")).unwrap();
    assert!(fi.contains("\"rmse\""), "{fi}");
    // One word cloud of the note, toward a higher price: "shiny" (+5) in red, "plain" in blue.
    let wc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ins.join("word_cloud_note.json")).unwrap())
            .unwrap();
    assert_eq!(wc["model"], "ridge regression");
    let words = wc["classes"][0]["words"].as_array().unwrap();
    assert_eq!(wc["classes"][0]["class"], "higher price");
    let first = |positive: bool| {
        words
            .iter()
            .find(|w| (w["coefficient"].as_f64().unwrap() > 0.0) == positive)
            .map(|w| w["ngram"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert!(
        ["shiny", "new", "polished"]
            .iter()
            .any(|w| first(true).contains(w)),
        "{words:?}"
    );
    assert!(
        ["plain", "used"].iter().any(|w| first(false).contains(w)),
        "{words:?}"
    );
    let report = tmp.path().join("report.html");
    let (ok, _, err) = run(
        &cache,
        &["report", "--project", s(&proj), "--output", s(&report)],
    );
    assert!(ok, "{err}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("Predicted vs actual") && html.contains("target-summary"));
    assert!(
        html.contains(&format!("Target values: min {min}, ")),
        "{html}"
    );
    assert!(
        !html.contains("id=\"classes\""),
        "a class table for a regression"
    );
}

/// A skewed, positive target (sales spanning orders of magnitude): the regressors are fitted
/// on its log, chosen on each fold's training rows, shown in the row's parameters, and predict
/// on the original scale.
#[test]
fn a_skewed_positive_target_is_fitted_on_the_log_scale() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = tmp.path().join("sales.csv");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut text = String::from("reach,season,sales\n");
    for _ in 0..240 {
        let reach: f64 = rng.random_range(0.0..6.0);
        let season: f64 = rng.random_range(0.0..1.0);
        let sales = (reach + 0.5 * season + rng.random_range(-0.2..0.2)).exp();
        text.push_str(&format!("{reach:.3},{season:.3},{sales:.2}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let proj = tmp.path().join("sales.autopilot");
    let (ok, _, err) = run_tabular(&cache, &csv, "sales", &proj, &["--quiet"]);
    assert!(ok, "{err}");
    let lb = leaderboard(&proj);
    let ridge = lb
        .rows
        .iter()
        .find(|r| r.blueprint.contains("Ridge") && r.cv_mean.is_some())
        .expect("a cross-validated ridge");
    assert_eq!(
        ridge.params.get("target_transform").map(String::as_str),
        Some("log1p"),
        "{:?}",
        ridge.params
    );
    // On the log scale a linear model fits exp(reach) well; on the raw scale it could not.
    assert!(cv(ridge, Metric::R2) > 0.8, "R² {}", cv(ridge, Metric::R2));
    let (header, rows) = predict(&cache, &ridge.model_id, &csv, Some(&proj), "pred.csv");
    let col = header.iter().position(|h| h == "sales_PREDICTION").unwrap();
    let preds: Vec<f64> = rows.iter().map(|r| r[col].parse().unwrap()).collect();
    assert!(
        preds.iter().all(|&p| p > 0.0),
        "predictions on the sales scale"
    );
    assert!(preds.iter().cloned().fold(0.0, f64::max) > 100.0);
    // A regressor lists and takes only the parameters that act on a regression: the GBDT its
    // loss, no tree ensemble class weights.
    let gbdt = lb
        .rows
        .iter()
        .find(|r| r.blueprint.contains("Gradient Boosted Trees"))
        .expect("a GBDT");
    assert!(gbdt.params.contains_key("loss") && !gbdt.params.contains_key("class_weight"));
    let trees = lb
        .rows
        .iter()
        .find(|r| {
            ["Forest", "Trees"].iter().any(|t| r.blueprint.contains(t)) && r.cv_mean.is_some()
        })
        .expect("a cross-validated tree ensemble");
    let tune = |extra: &[&str]| {
        let mut args = vec!["tune", &trees.model_id, "--project", s(&proj)];
        args.extend(extra);
        run(&cache, &args)
    };
    let (ok, listed, err) = tune(&["--list"]);
    assert!(ok, "{err}");
    assert!(
        listed.contains("n_estimators") && !listed.contains("class_weight"),
        "{listed}"
    );
    let (ok, _, err) = tune(&["--set", "class_weight=balanced"]);
    assert!(!ok);
    assert!(
        err.contains(
            "class_weight acts on classification targets only; this project's target is regression"
        ),
        "{err}"
    );
}

#[test]
fn two_classes_are_binary_with_auc_and_a_decision_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = task_csv(tmp.path(), 300);
    let proj = tmp.path().join("liked.autopilot");
    let (ok, stdout, err) = run(
        &cache,
        &[
            "run",
            s(&csv),
            "--target",
            "liked",
            "--group",
            "shop",
            "--project",
            s(&proj),
            "--backbone",
            "none",
            "--quiet",
            "--type",
            "price=text",
        ],
    );
    assert!(ok, "{err}");
    assert!(stdout.contains("positive class 'yes'"), "{stdout}");
    let lb = leaderboard(&proj);
    assert!(
        lb.rows
            .iter()
            .all(|r| !r.params.contains_key("loss") && !r.params.contains_key("huber_alpha")),
        "a classifier's row shows regression-only parameters"
    );
    let best = lb.best(Metric::Auc).unwrap();
    assert!(
        cv(best, Metric::Auc) > 0.85,
        "AUC {}",
        cv(best, Metric::Auc)
    );
    let t = best
        .threshold
        .expect("a binary model has a decision threshold");
    assert!(t.value > 0.0 && t.value < 1.0 && t.f1 > 0.5, "{t:?}");

    let (header, rows) = predict(&cache, &best.model_id, &csv, Some(&proj), "pred.csv");
    let yes = header
        .iter()
        .position(|h| h == "liked_yes_PROBABILITY")
        .unwrap();
    let pred = header.iter().position(|h| h == "liked_PREDICTION").unwrap();
    for r in &rows {
        let p: f32 = r[yes].parse().unwrap();
        assert_eq!(
            r[pred] == "yes",
            p >= t.value,
            "p(yes) {p} vs threshold {}",
            t.value
        );
    }
    // The exported model carries the threshold: the same labels from the file alone.
    let apm = export(&cache, &proj, &best.model_id);
    let (_, rows_apm) = predict(&cache, s(&apm), &csv, None, "pred_apm.csv");
    let labels = |rows: &[Vec<String>]| rows.iter().map(|r| r[pred].clone()).collect::<Vec<_>>();
    assert_eq!(labels(&rows), labels(&rows_apm));

    let ins = tmp.path().join("insights");
    let (ok, _, err) = run(
        &cache,
        &[
            "insights",
            &best.model_id,
            "--project",
            s(&proj),
            "--output",
            s(&ins),
        ],
    );
    assert!(ok, "{err}");
    for f in [
        "roc_cv.png",
        "precision_recall_cv.png",
        "lift_cv.png",
        "confusion_cv.png",
    ] {
        assert!(ins.join(f).is_file(), "{f} missing");
    }
    // The confusion matrix is at the decision threshold: its F1 for "yes" is the threshold's.
    let confusion: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ins.join("confusion_cv.json")).unwrap())
            .unwrap();
    let classes = confusion["classes"].as_array().unwrap();
    let y = classes.iter().position(|c| c == "yes").unwrap();
    let counts: Vec<Vec<u64>> = serde_json::from_value(confusion["counts"].clone()).unwrap();
    let tp = counts[y][y] as f64;
    let actual: u64 = counts[y].iter().sum();
    let called: u64 = counts.iter().map(|row| row[y]).sum();
    let f1 = 2.0 * tp / (actual + called) as f64;
    assert!(
        (f1 - t.f1).abs() < 1e-9,
        "confusion F1 {f1} vs threshold F1 {}",
        t.f1
    );
    let roc = std::fs::read_to_string(ins.join("roc_cv.txt")).unwrap();
    assert!(roc.contains("positive class 'yes'"), "{roc}");
    // Naming the class guessed anyway is the same project: a resume may add `--positive yes`.
    let again = [
        "--group",
        "shop",
        "--quiet",
        "--type",
        "price=text",
        "--resume",
        "--positive",
        "yes",
    ];
    let (ok, _, err) = run_tabular(&cache, &csv, "liked", &proj, &again);
    assert!(ok, "{err}");
}

#[test]
fn bad_targets_are_refused_with_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = task_csv(tmp.path(), 60);
    let proj = tmp.path().join("p.autopilot");
    let base = |target: &str| {
        vec![
            "run".to_string(),
            s(&csv).to_string(),
            "--target".into(),
            target.into(),
            "--project".into(),
            s(&proj).to_string(),
            "--baseline-only".into(),
            "--quiet".into(),
        ]
    };
    let refuse = |extra: &[&str], target: &str, expect: &[&str]| {
        let mut args = base(target);
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _, err) = run(&cache, &args);
        assert!(!ok, "{args:?} succeeded");
        for e in expect {
            assert!(err.contains(e), "{args:?}: expected '{e}' in: {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };
    // A text target asked to be a regression: the first non-number, with its row.
    refuse(
        &["--task", "regression"],
        "note",
        &["'note'", "row 2", "is not a number"],
    );
    // A class that is not there.
    refuse(
        &["--positive", "maybe"],
        "liked",
        &["'maybe' is not a class"],
    );
    // A class named on a numeric target.
    refuse(&["--positive", "1"], "price", &["regression target"]);

    // A constant target.
    let constant = tmp.path().join("constant.csv");
    std::fs::write(&constant, "x,y\n1,5\n2,5\n3,5\n4,5\n").unwrap();
    let (ok, _, err) = run(
        &cache,
        &[
            "run",
            s(&constant),
            "--target",
            "y",
            "--project",
            s(&tmp.path().join("c")),
            "--task",
            "regression",
        ],
    );
    assert!(!ok && err.contains("one value only ('5')"), "{err}");

    // A binary target whose positive class has fewer rows than folds.
    let rare = tmp.path().join("rare.csv");
    let mut text = String::from("x,y\n");
    for i in 0..40 {
        text.push_str(&format!("{i},{}\n", if i < 3 { "yes" } else { "no" }));
    }
    std::fs::write(&rare, text).unwrap();
    let (ok, _, err) = run(
        &cache,
        &[
            "run",
            s(&rare),
            "--target",
            "y",
            "--project",
            s(&tmp.path().join("r")),
            "--baseline-only",
        ],
    );
    assert!(!ok && err.contains("yes"), "{err}");
}

/// Day-first dates (`DD/MM/YYYY`) are read day-first in every cell of the column, also the
/// ones either order could read (`02/08/2000` is 2 August), when training and when predicting
/// (the order is kept with the model); a date cell that is no date warns in `predict`.
#[test]
fn a_day_first_date_column_is_read_day_first_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = tmp.path().join("dates.csv");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let half = |month: u32| if month <= 6 { "H1" } else { "H2" };
    let mut text = String::from("d,noise,half\n");
    for _ in 0..160 {
        let (day, month) = (rng.random_range(1..=28u32), rng.random_range(1..=12u32));
        let year = rng.random_range(1990..2020);
        let noise: f64 = rng.random_range(0.0..1.0);
        text.push_str(&format!(
            "{day:02}/{month:02}/{year},{noise:.3},{}\n",
            half(month)
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let proj = tmp.path().join("dates.autopilot");
    let (ok, _, err) = run_tabular(&cache, &csv, "half", &proj, &["--mode", "quick", "--quiet"]);
    assert!(ok, "{err}");
    let best = leaderboard(&proj)
        .best(Metric::BalancedAccuracy)
        .unwrap()
        .clone();
    assert!(
        cv(&best, Metric::BalancedAccuracy) > 0.9,
        "{} {}",
        best.blueprint,
        cv(&best, Metric::BalancedAccuracy)
    );

    // New rows whose dates either order could read: day <= 12.
    let new = tmp.path().join("new.csv");
    let mut text = String::from("d,noise\n");
    let mut truth = Vec::new();
    for i in 0..24u32 {
        let (day, month) = (i % 12 + 1, (i * 5) % 12 + 1);
        if day == month {
            continue;
        }
        text.push_str(&format!("{day:02}/{month:02}/2005,0.5\n"));
        truth.push(half(month));
    }
    text.push_str("hello,0.5\n");
    std::fs::write(&new, text).unwrap();
    let out = tmp.path().join("pred.csv");
    let (ok, _, err) = run(
        &cache,
        &[
            "predict",
            "best",
            s(&new),
            "-o",
            s(&out),
            "--project",
            s(&proj),
        ],
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("column 'd' is a date column but 1 of") && err.contains("\"hello\""),
        "{err}"
    );
    let (header, rows) = read_csv(&out);
    let col = header.iter().position(|h| h == "half_PREDICTION").unwrap();
    let right = rows
        .iter()
        .zip(&truth)
        .filter(|(r, t)| r[col] == **t)
        .count();
    assert!(right >= truth.len() * 9 / 10, "{right} of {}", truth.len());

    // A file written month-first (US) is read month-first, as its own dates show, with a
    // warning: reading its `03/05/2005` day-first would swap month and day.
    let mut text = String::from("d,noise\n");
    let mut truth = Vec::new();
    for i in 0..24u32 {
        let (day, month) = (i + 1, (i * 5) % 12 + 1);
        if day == month {
            continue;
        }
        text.push_str(&format!("{month:02}/{day:02}/2005,0.5\n"));
        truth.push(half(month));
    }
    std::fs::write(&new, text).unwrap();
    let (ok, _, err) = run(
        &cache,
        &[
            "predict",
            "best",
            s(&new),
            "-o",
            s(&out),
            "--project",
            s(&proj),
        ],
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("column 'd' is read month-first, as its dates show (e.g. \"")
            && err.contains("not day-first as the model was fitted"),
        "{err}"
    );
    let (_, rows) = read_csv(&out);
    let right = rows
        .iter()
        .zip(&truth)
        .filter(|(r, t)| r[col] == **t)
        .count();
    assert!(right >= truth.len() * 9 / 10, "{right} of {}", truth.len());
}

/// Targets near the top of f32's range: fold models' predictions are averaged in f64, so the
/// models, the blenders and `predict` all give finite values (an f32 sum overflowed to `inf`).
#[test]
fn targets_near_the_f32_limit_are_predicted_finite() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = tmp.path().join("huge.csv");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut text = String::from("x,y\n");
    for _ in 0..100 {
        let x: f64 = rng.random_range(0.0..1.0);
        text.push_str(&format!("{x:.4},{:e}\n", x * 3.3e38));
    }
    std::fs::write(&csv, text).unwrap();
    let proj = tmp.path().join("huge.autopilot");
    let (ok, _, err) = run_tabular(&cache, &csv, "y", &proj, &["--quiet"]);
    assert!(ok, "{err}");
    let lb = leaderboard(&proj);
    assert!(lb.rows.iter().any(|r| r.blueprint.contains("Blender")));
    let out = tmp.path().join("pred.csv");
    let (ok, _, err) = run(
        &cache,
        &[
            "predict",
            "best",
            s(&csv),
            "-o",
            s(&out),
            "--project",
            s(&proj),
        ],
    );
    assert!(ok, "{err}");
    let (header, rows) = read_csv(&out);
    let col = header.iter().position(|h| h == "y_PREDICTION").unwrap();
    assert_eq!(rows.len(), 100);
    for r in &rows {
        let v: f64 = r[col].parse().unwrap();
        assert!(v.is_finite() && v.abs() < 3.5e38, "{}", r[col]);
    }
}

/// A small regression target (22 rows, 5 folds): too few rows for five quantile strata in
/// every fold, so the strata get coarser instead of the run being refused for a "class".
#[test]
fn a_small_regression_target_is_partitioned_with_coarser_strata() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = tmp.path().join("small.csv");
    let mut text = String::from("x,y\n");
    for i in 0..22 {
        text.push_str(&format!("{i}.5,{}.25\n", i * 7 % 23));
    }
    std::fs::write(&csv, text).unwrap();
    let proj = tmp.path().join("small.autopilot");
    let (ok, out, err) = run_tabular(&cache, &csv, "y", &proj, &["--baseline-only"]);
    assert!(ok, "{err}");
    assert!(out.contains("task: regression"), "{out}");
    assert!(!err.contains("class"), "{err}");
    // Grouped, the strata's spread over groups is no warning about a "class" either.
    let grouped = tmp.path().join("grouped.csv");
    let mut text = String::from("x,g,y\n");
    for i in 0..60 {
        text.push_str(&format!("{i}.5,g{},{}.25\n", i / 5, i * 3));
    }
    std::fs::write(&grouped, text).unwrap();
    let proj = tmp.path().join("grouped.autopilot");
    let (ok, out, err) = run_tabular(
        &cache,
        &grouped,
        "y",
        &proj,
        &["--group", "g", "--baseline-only"],
    );
    assert!(ok, "{err}");
    assert!(
        !out.contains("class '") && !err.contains("class '"),
        "{out}{err}"
    );
}

/// `predict` says when a column the model reads is empty in every row; an exported model edited
/// after export (its hashes recomputed) is refused as inconsistent, saying what does not fit.
#[test]
fn predict_warns_of_an_empty_input_column_and_refuses_an_edited_apm() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = task_csv(tmp.path(), 150);
    let proj = tmp.path().join("items.autopilot");
    let (ok, _, err) = run_tabular(&cache, &csv, "liked", &proj, &["--quiet"]);
    assert!(ok, "{err}");
    let project = Project::open(&proj).unwrap();
    let best = autopilot::store::resolve_model_id(&project, "best").unwrap();
    let predictor = autopilot::store::load_predictor(&project, &best).unwrap();
    let read = predictor.required_columns();
    assert!(read.contains(&"size".to_string()), "{read:?}");

    let (header, mut rows) = read_csv(&csv);
    let size = header.iter().position(|h| h == "size").unwrap();
    rows.iter_mut().for_each(|r| r[size].clear());
    let blank = tmp.path().join("blank.csv");
    write_csv(&blank, &header, &rows);
    let out = tmp.path().join("pred.csv");
    let args = [
        "predict",
        &best,
        s(&blank),
        "-o",
        s(&out),
        "--project",
        s(&proj),
    ];
    let (ok, _, err) = run(&cache, &args);
    assert!(ok, "{err}");
    assert!(
        err.contains("column 'size' is empty in every row (150); the model reads it as missing"),
        "{err}"
    );

    type Edit = fn(&mut autopilot::model::Predictor);
    let edits: [(&str, Edit); 3] = [
        ("a regression task with 2 classes", |p| {
            p.task = Task::Regression
        }),
        ("fold models were fitted for other classes", |p| {
            p.classes.reverse()
        }),
        ("positive class 5 of 2 classes", |p| p.positive = Some(5)),
    ];
    for (reason, edit) in edits {
        let mut edited = predictor.clone();
        edit(&mut edited);
        let apm = tmp.path().join("edited.apm");
        autopilot::model::apm::write_apm(&apm, &edited).unwrap();
        let (ok, _, err) = run(&cache, &["predict", s(&apm), s(&csv), "-o", s(&out)]);
        assert!(!ok, "{reason}: accepted");
        assert!(
            err.contains("inconsistent model") && err.contains(reason),
            "{reason}: {err}"
        );
    }
}

/// A column written with decimal commas (`12,5`, `1.234,5`; a `;`-separated file, as European
/// spreadsheets save them) is numeric and read with a decimal comma, said in the profile; a new
/// file written with decimal points is read with its own mark when predicting, with a warning.
#[test]
fn decimal_commas_are_read_as_the_column_writes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = tmp.path().join("euro.csv");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut text = String::from("amount;noise;big\n");
    for _ in 0..120 {
        let amount: f64 = rng.random_range(0.0..2000.0);
        let noise: f64 = rng.random_range(0.0..1.0);
        let big = if amount > 1000.0 { "yes" } else { "no" };
        // 1234.5 is written `1.234,5`, 12.25 `12,25`.
        let whole = amount.trunc() as u64;
        let int = match whole >= 1000 {
            true => format!("{}.{:03}", whole / 1000, whole % 1000),
            false => whole.to_string(),
        };
        let frac = format!("{:.2}", amount.fract());
        let amount = format!("{int},{}", &frac[2..]);
        text.push_str(&format!(
            "{amount};{};{big}\n",
            format!("{noise:.3}").replace('.', ",")
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let proj = tmp.path().join("euro.autopilot");
    let (ok, out, err) = run_tabular(&cache, &csv, "big", &proj, &["--mode", "quick"]);
    assert!(ok, "{err}");
    let said = format!("{out}{err}");
    assert!(
        said.contains("column 'amount' is read with a decimal comma, as its numbers show"),
        "{said}"
    );
    let best = leaderboard(&proj).best(Metric::Auc).unwrap().clone();
    assert!(
        cv(&best, Metric::BalancedAccuracy) > 0.9,
        "{}",
        best.blueprint
    );

    // New rows written with decimal points: read with their own mark.
    let new = tmp.path().join("new.csv");
    let amounts = [1500.25, 250.5, 1999.75, 10.125, 1200.5, 800.25];
    let mut text = String::from("amount,noise\n");
    for a in amounts {
        text.push_str(&format!("\"{}\",0.5\n", format_thousands(a)));
    }
    std::fs::write(&new, text).unwrap();
    let out = tmp.path().join("pred.csv");
    let (ok, _, err) = run(
        &cache,
        &[
            "predict",
            &best.model_id,
            s(&new),
            "-o",
            s(&out),
            "--project",
            s(&proj),
        ],
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("column 'amount' is read with a decimal point, as its numbers show")
            && err.contains("not a decimal comma as the model was fitted"),
        "{err}"
    );
    let (header, rows) = read_csv(&out);
    let col = header.iter().position(|h| h == "big_PREDICTION").unwrap();
    let got: Vec<&str> = rows.iter().map(|r| r[col].as_str()).collect();
    assert_eq!(got, ["yes", "no", "yes", "no", "yes", "no"]);
}

/// `1234.5` as `1,234.5`.
fn format_thousands(x: f64) -> String {
    let whole = x.trunc() as u64;
    let frac = format!("{:.3}", x.fract());
    match whole >= 1000 {
        true => format!("{},{:03}{}", whole / 1000, whole % 1000, &frac[1..]),
        false => format!("{whole}{}", &frac[1..]),
    }
}

/// A user feature list may not take a built-in list's name or be given twice, and on resume it
/// keeps its columns (models were trained on them); `--events` never writes into the data or
/// the project.
#[test]
fn feature_lists_and_the_event_log_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = task_csv(tmp.path(), 80);
    let data = std::fs::read(&csv).unwrap();
    let proj = tmp.path().join("lists.autopilot");
    let refused = |extra: &[&str], said: &str| {
        let (ok, _, err) = run_tabular(&cache, &csv, "liked", &proj, extra);
        assert!(!ok, "{extra:?} was accepted");
        assert!(err.contains(said), "{extra:?}: {err}");
    };
    let list = |l: &'static str| ["--feature-list", l];
    refused(
        &list("informative features=size"),
        "'Informative Features' is a built-in list's name",
    );
    refused(
        &[list("a=size"), list("a=weight")].concat(),
        "feature list 'a' is given twice",
    );
    refused(
        &list("a=size,,weight"),
        "feature list 'a' has an empty column name",
    );
    refused(
        &list("a=size,weight,size"),
        "feature list 'a' names column 'size' twice",
    );
    refused(&["--events", s(&csv)], "it is the input");
    let in_project = proj.join("events.jsonl");
    refused(&["--events", s(&in_project)], "inside the project folder");
    assert_eq!(
        std::fs::read(&csv).unwrap(),
        data,
        "the data was written to"
    );
    let quick = ["--max-models", "3", "--quiet"];
    let (ok, _, err) = run_tabular(
        &cache,
        &csv,
        "liked",
        &proj,
        &[&list("a=size")[..], &quick[..]].concat(),
    );
    assert!(ok, "{err}");
    refused(
        &[&list("a=weight")[..], &["--resume"][..]].concat(),
        "feature list 'a' is size in this project, not weight",
    );
    // A list holding the group column trains, with a warning that CV cannot credit it.
    let grouped = tmp.path().join("grouped.autopilot");
    let extra = [&list("g=size,shop")[..], &["--group", "shop"], &quick[..]].concat();
    let (ok, _, err) = run_tabular(&cache, &csv, "liked", &grouped, &extra);
    assert!(ok, "{err}");
    assert!(
        err.contains("feature list 'g' holds the group column 'shop'"),
        "{err}"
    );
}

/// Rows without a group value are groups of their own, and the partition says how many; a
/// holdout percentage too small for one row says so.
#[test]
fn rows_without_a_group_and_an_empty_holdout_are_said() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = task_csv(tmp.path(), 80);
    let (header, mut rows) = read_csv(&csv);
    let shop = header.iter().position(|h| h == "shop").unwrap();
    rows.iter_mut().take(10).for_each(|r| r[shop].clear());
    write_csv(&csv, &header, &rows);
    let proj = tmp.path().join("groups.autopilot");
    let args = ["--group", "shop", "--baseline-only"];
    let (ok, out, err) = run_tabular(&cache, &csv, "liked", &proj, &args);
    assert!(ok, "{err}");
    assert!(
        out.contains("10 of 80 rows have no 'shop' value; each of them is a group of its own"),
        "{out}"
    );
    let proj = tmp.path().join("tiny_holdout.autopilot");
    let args = ["--holdout-pct", "0.01", "--baseline-only"];
    let (ok, out, err) = run_tabular(&cache, &csv, "liked", &proj, &args);
    assert!(ok, "{err}");
    assert!(
        out.contains("--holdout-pct 0.01 of 80 rows is no row: there is no holdout"),
        "{out}"
    );
}
