//! End to end on a generated multimodal dataset (images + text + numbers + categories + dates):
//! run → leaderboard → resume, and same seed ⇒ same leaderboard; and the product flow:
//! run killed mid-run → resume → leaderboard → tune → predict → export → predict the `.apm`.

use std::path::Path;

use autopilot::leaderboard::Leaderboard;
use autopilot::project::{self, Project};
use autopilot::synth::{self, DemoSpec};
use blueprints::metrics::Metric;

use crate::common::{cli, leaderboard, s, weights_available};

#[test]
fn run_resume_and_determinism_on_generated_data() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = DemoSpec {
        n_rows: 150,
        n_classes: 3,
        seed: 7,
        image_size: 32,
    };
    let csv = synth::write_demo_dataset(&tmp.path().join("data"), &spec).unwrap();
    let proj = tmp.path().join("p1");
    let events = tmp.path().join("events.jsonl");
    let run = |dir: &Path| {
        cli(&[
            "run",
            s(&csv),
            "--target",
            synth::DEMO_TARGET,
            "--group",
            synth::DEMO_GROUP,
            "--project",
            s(dir),
            "--quiet",
            "--events",
            s(&events),
        ])
    };
    assert_eq!(run(&proj), 0);
    let lb = leaderboard(&proj);
    let images = weights_available(&["efficientnet-lite0", "mobilenet-v2"]);

    // Baseline, stage models, cross-validated models, blenders.
    assert!(lb.rows.len() >= 8, "only {} rows", lb.rows.len());
    assert!(
        lb.rows
            .iter()
            .any(|r| r.feature_list == "blend" && r.cv_mean.is_some()),
        "no blender"
    );
    let cv_rows: Vec<_> = lb
        .rows
        .iter()
        .filter(|r| r.cv_mean.is_some() && r.feature_list != "(none)")
        .collect();
    assert!(cv_rows.len() >= 4, "{} cross-validated rows", cv_rows.len());
    if images {
        assert!(
            lb.rows
                .iter()
                .any(|r| r.blueprint.contains("EfficientNet-Lite0 (high+highest)")),
            "no image blueprint"
        );
        assert!(
            lb.rows
                .iter()
                .any(|r| r.parent.is_some() && r.blueprint.contains("MobileNetV2")),
            "no backbone-retuned row"
        );
    }
    // The classes are separable by design: the best model beats the majority baseline clearly.
    let best = lb.best(Metric::BalancedAccuracy).unwrap();
    assert!(
        best.rank_score(Metric::BalancedAccuracy).unwrap() > 0.6,
        "best {best:?}"
    );
    // Every CV row carries holdout scores and per-fold scores.
    for r in &cv_rows {
        assert_eq!(r.cv_folds.len(), 5, "{}", r.model_id);
        assert!(r.holdout.is_some(), "{}", r.model_id);
    }
    // Events were logged as JSON lines.
    let log = std::fs::read_to_string(&events).unwrap();
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    assert!(log.contains("\"event\":\"finished\""));

    // Resume: a second run trains nothing new.
    assert_eq!(run(&proj), 0);
    let again = leaderboard(&proj);
    assert_eq!(again.rows.len(), lb.rows.len());

    // Same seed in a fresh project: the same scores.
    let proj2 = tmp.path().join("p2");
    assert_eq!(run(&proj2), 0);
    let lb2 = leaderboard(&proj2);
    let key = |l: &Leaderboard| {
        l.rows
            .iter()
            .map(|r| {
                (
                    r.blueprint.clone(),
                    r.sample_pct as i64,
                    r.validation.get(&Metric::LogLoss).map(|v| (v * 1e9) as i64),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&lb), key(&lb2));
}

/// The built `autopilot` binary next to this test's executable (`target/<profile>/autopilot`),
/// present when the engine's tests were built too (`cargo test --workspace`).
fn autopilot_binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe
        .parent()?
        .parent()?
        .join(format!("autopilot{}", std::env::consts::EXE_SUFFIX));
    bin.is_file().then_some(bin)
}

/// The product flow on one generated dataset: `run` killed with SIGKILL mid-run → `run --resume`
/// → `leaderboard` → `tune` → `predict` → `export` → `predict model.apm` without the project.
#[test]
fn kill_resume_tune_predict_export_on_generated_data() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = DemoSpec {
        n_rows: 120,
        n_classes: 3,
        seed: 9,
        image_size: 24,
    };
    let data = tmp.path().join("data");
    let csv = synth::write_demo_dataset(&data, &spec).unwrap();
    let proj = tmp.path().join("flow.autopilot");
    let images = weights_available(&["efficientnet-lite0", "mobilenet-v2"]);
    let run_args: Vec<String> = [
        "run",
        s(&csv),
        "--target",
        synth::DEMO_TARGET,
        "--group",
        synth::DEMO_GROUP,
        "--project",
        s(&proj),
        "--quiet",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();

    // 1. Killed mid-run (when the binary is available), then resumed.
    let mut before = Leaderboard::default();
    match autopilot_binary() {
        Some(bin) => {
            let mut child = std::process::Command::new(bin)
                .args(&run_args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let t0 = std::time::Instant::now();
            loop {
                if child.try_wait().unwrap().is_some() {
                    eprintln!("note: the run ended before it could be killed");
                    break;
                }
                let lb: Option<Leaderboard> = Project::open(&proj)
                    .ok()
                    .and_then(|p| p.load_json_opt(project::LEADERBOARD_FILE).unwrap());
                if lb.as_ref().is_some_and(|l| l.rows.len() >= 3) {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    break;
                }
                assert!(t0.elapsed().as_secs() < 600, "no progress");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            before = leaderboard(&proj);
        }
        None => eprintln!("note: autopilot binary not built; the kill step is skipped"),
    }
    let mut resume: Vec<&str> = run_args.iter().map(String::as_str).collect();
    if !before.rows.is_empty() {
        resume.push("--resume");
    }
    assert_eq!(cli(&resume), 0);
    let lb = leaderboard(&proj);
    for r in &before.rows {
        assert_eq!(lb.get(&r.model_id), Some(r), "{} retrained", r.model_id);
    }
    assert!(lb.rows.iter().any(|r| !r.members.is_empty()), "no blender");

    // 2. Leaderboard views.
    assert_eq!(
        cli(&[
            "leaderboard",
            "--project",
            s(&proj),
            "--metric",
            "logloss",
            "--json"
        ]),
        0
    );
    let best = lb.best(Metric::BalancedAccuracy).unwrap().model_id.clone();
    assert_eq!(cli(&["leaderboard", "--project", s(&proj), &best]), 0);

    // 3. Tune the best cross-validated blueprint (with another backbone when it has images).
    let p = Project::open(&proj).unwrap();
    let parent = lb
        .sorted(Metric::BalancedAccuracy)
        .into_iter()
        .find(|r| r.members.is_empty() && p.exists(&format!("models/{}/model.json", r.model_id)))
        .unwrap()
        .model_id
        .clone();
    let setting = if images && lb.get(&parent).unwrap().params.contains_key("backbone") {
        let current = &lb.get(&parent).unwrap().params["backbone"];
        if current == "mobilenet-v2" {
            "backbone=efficientnet-lite0"
        } else {
            "backbone=mobilenet-v2"
        }
    } else {
        let params = &lb.get(&parent).unwrap().params;
        if params.contains_key("tfidf_min_df") {
            "tfidf_min_df=2"
        } else {
            "onehot_min_count=3"
        }
    };
    assert_eq!(cli(&["tune", &parent, "--project", s(&proj), "--list"]), 0);
    assert_eq!(
        cli(&["tune", &parent, "--project", s(&proj), "--set", "bogus=1"]),
        1
    );
    assert_eq!(
        cli(&[
            "tune",
            &parent,
            "--project",
            s(&proj),
            "--quiet",
            "--set",
            setting
        ]),
        0
    );
    let tuned = leaderboard(&proj);
    let row = tuned.rows.last().unwrap();
    assert_eq!(row.parent.as_deref(), Some(parent.as_str()));
    let (name, value) = setting.split_once('=').unwrap();
    assert_eq!(row.params[name], value);
    assert!(row.cv_mean.is_some() && row.holdout.is_some());

    // 4. Predict the first 20 rows (no target column needed) with `best`.
    let text = std::fs::read_to_string(&csv).unwrap();
    let new_csv = data.join("new.csv");
    std::fs::write(
        &new_csv,
        text.lines().take(21).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    let out = tmp.path().join("preds.csv");
    assert_eq!(
        cli(&[
            "predict",
            "best",
            s(&new_csv),
            "-o",
            s(&out),
            "--project",
            s(&proj)
        ]),
        0
    );
    let preds = std::fs::read_to_string(&out).unwrap();
    let header = preds.lines().next().unwrap();
    assert!(header.ends_with("label_PREDICTION"), "{header}");
    assert_eq!(header.matches("_PROBABILITY").count(), 3, "{header}");
    assert_eq!(preds.lines().count(), 21);
    // Probabilities sum to 1 on every row.
    for line in preds.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let sum: f64 = cells[..3].iter().map(|c| c.parse::<f64>().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{line}");
    }

    // 5. Export, delete the project, predict from the file alone: same predictions.
    let apm = tmp.path().join("best.apm");
    assert_eq!(
        cli(&["export", "best", "-o", s(&apm), "--project", s(&proj)]),
        0
    );
    std::fs::remove_dir_all(&proj).unwrap();
    let out2 = tmp.path().join("preds2.csv");
    assert_eq!(cli(&["predict", s(&apm), s(&new_csv), "-o", s(&out2)]), 0);
    let again = std::fs::read_to_string(&out2).unwrap();
    for (a, b) in preds.lines().zip(again.lines()).skip(1) {
        let (a, b): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), b.split(',').collect());
        for k in 0..3 {
            let (x, y): (f64, f64) = (a[k].parse().unwrap(), b[k].parse().unwrap());
            assert!((x - y).abs() < 1e-3, "{a:?} vs {b:?}");
        }
    }
}
