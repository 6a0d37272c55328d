//! Safe to kill: the built `autopilot` binary is killed with SIGKILL in the middle of a run; the
//! project still opens, its leaderboard parses, and `run --resume` finishes without retraining
//! any model that was finished before the kill.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autopilot::leaderboard::Leaderboard;
use autopilot::project::{self, Project};
use autopilot::synth::{self, DemoSpec};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The leaderboard as a reader sees it at any moment (`None` before the first save).
fn read_leaderboard(proj: &Path) -> Option<Leaderboard> {
    let p = Project::open(proj).ok()?;
    p.load_json_opt(project::LEADERBOARD_FILE)
        .expect("the leaderboard is never half-written")
}

#[test]
fn sigkill_mid_run_then_resume_keeps_finished_models() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = DemoSpec {
        n_rows: 400,
        n_classes: 3,
        seed: 5,
        image_size: 16,
    };
    let data = tmp.path().join("data");
    let csv = synth::write_demo_dataset(&data, &spec).unwrap();
    let proj = tmp.path().join("p.autopilot");
    let events = tmp.path().join("events.jsonl");
    // `--backbone none` names no usable backbone, so the image column is left out and the run
    // starts training at once; the models are tabular + text.
    let args = |resume: bool| {
        let mut a = vec![
            "run".to_string(),
            s(&csv).to_string(),
            "--target".into(),
            synth::DEMO_TARGET.into(),
            "--group".into(),
            synth::DEMO_GROUP.into(),
            "--project".into(),
            s(&proj).to_string(),
            "--backbone".into(),
            "none".into(),
            "--quiet".into(),
            "--mode".into(),
            "full".into(),
        ];
        if resume {
            a.push("--resume".into());
            a.push("--events".into());
            a.push(s(&events).to_string());
        }
        a
    };
    let exe = env!("CARGO_BIN_EXE_autopilot");
    let mut child = Command::new(exe)
        .args(args(false))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once a few models are finished (the baseline is row 1).
    let t0 = Instant::now();
    let mut killed_mid_run = false;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            eprintln!("note: the run ended ({status}) before it could be killed");
            break;
        }
        if read_leaderboard(&proj).is_some_and(|lb| lb.rows.len() >= 4) {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            killed_mid_run = true;
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "run made no progress"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The project opens and the leaderboard parses.
    let before = read_leaderboard(&proj).expect("a leaderboard was saved");
    assert!(before.rows.len() >= 4);

    let status = Command::new(exe)
        .args(args(true))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let after = read_leaderboard(&proj).unwrap();
    // Every model finished before the kill is still there, unchanged, and was not retrained.
    for r in &before.rows {
        assert_eq!(after.get(&r.model_id), Some(r), "{} changed", r.model_id);
    }
    let log = std::fs::read_to_string(&events).unwrap();
    for line in log.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        if e["event"] == "started" {
            let id = e["model_id"].as_str().unwrap();
            assert!(before.get(id).is_none(), "{id} was trained again");
        }
    }
    // No blueprint was trained twice, and the run went on to its end (blenders are last).
    let mut keys: Vec<&str> = after
        .rows
        .iter()
        .map(|r| r.key.as_str())
        .filter(|k| !k.is_empty())
        .collect();
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate keys");
    assert!(after.rows.len() > before.rows.len() || !killed_mid_run);
    assert!(
        after.rows.iter().any(|r| !r.members.is_empty()),
        "no blender"
    );
}
