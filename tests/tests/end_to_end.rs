//! End to end on a generated multimodal dataset (images + text + numbers + categories + dates):
//! run → leaderboard → resume, and same seed ⇒ same leaderboard.

use std::path::Path;

use autopilot::leaderboard::Leaderboard;
use autopilot::project::{self, Project};
use autopilot::synth::{self, DemoSpec};
use blueprints::metrics::Metric;

fn cli(args: &[&str]) -> i32 {
    let mut all = vec!["autopilot"];
    all.extend_from_slice(args);
    autopilot::cli::main_with_args(all)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn leaderboard(dir: &Path) -> Leaderboard {
    Project::open(dir)
        .unwrap()
        .load_json(project::LEADERBOARD_FILE)
        .unwrap()
}

fn weights_available() -> bool {
    match neural::zoo::fetch("efficientnet-lite0").and_then(|_| neural::zoo::fetch("mobilenet-v2"))
    {
        Ok(_) => true,
        Err(e) => {
            eprintln!(
                "note: pretrained weights unavailable ({e}); image blueprints are not checked"
            );
            false
        }
    }
}

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
    let images = weights_available();

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
                .any(|r| r.blueprint.contains("efficientnet-lite0")),
            "no image blueprint"
        );
        assert!(
            lb.rows
                .iter()
                .any(|r| r.parent.is_some() && r.blueprint.contains("mobilenet-v2")),
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
