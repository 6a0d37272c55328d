//! Safe to kill: the built `autopilot` binary is killed with SIGKILL in the middle of a run; the
//! project still opens, its leaderboard parses, and rerunning the command finishes without
//! retraining any model that was finished before the kill. Killed at seeded random moments and
//! resumed each time, a run ends with the same leaderboard as an uninterrupted one.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use autopilot::leaderboard::Leaderboard;
use autopilot::project::{self, Project};

use crate::common::{autopilot, kill, output_within, run_args, stderr, text_demo};

/// No run of these tests may take longer.
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// The leaderboard as a reader sees it at any moment (`None` before the first save).
fn read_leaderboard(proj: &Path) -> Option<Leaderboard> {
    let p = Project::open(proj).ok()?;
    p.load_json_opt(project::LEADERBOARD_FILE)
        .expect("the leaderboard is never half-written")
}

/// Every `.json` and `.npy` file of the project parses: no write was left half done.
fn assert_every_file_whole(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            assert_every_file_whole(&path);
        } else if name.starts_with(".tmp-") {
            // An unfinished temp file is never renamed into place: harmless.
        } else if name.ends_with(".json") {
            let bytes = std::fs::read(&path).unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{}: half-written? {e}", path.display()));
        } else if name.ends_with(".npy") {
            project::npy::read_npy(&path, (None, None)).unwrap();
        }
    }
}

#[test]
fn sigkill_mid_run_then_resume_keeps_finished_models() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = text_demo(&tmp.path().join("data"), 200);
    let proj = tmp.path().join("p.autopilot");
    let events = tmp.path().join("events.jsonl");
    let args = |resume: bool| {
        let mut a = run_args(&csv, &proj, &["--mode", "full"]);
        if resume {
            a.extend(["--resume", "--events", events.to_str().unwrap()].map(String::from));
        }
        a
    };
    let mut child = autopilot(&cache)
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
            kill(&mut child);
            killed_mid_run = true;
            break;
        }
        if t0.elapsed() > RUN_LIMIT {
            kill(&mut child);
            panic!("run made no progress");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The project opens and the leaderboard parses.
    let before = read_leaderboard(&proj).expect("a leaderboard was saved");
    assert!(before.rows.len() >= 4);
    assert_every_file_whole(&proj);

    let out = output_within(autopilot(&cache).args(args(true)), RUN_LIMIT);
    assert!(out.status.success(), "{}", stderr(&out));
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

/// The leaderboard as pretty JSON with its only timing-dependent fields (`fit_seconds`,
/// `predict_seconds_per_1000`) zeroed: everything else (ids, keys, blueprints, parameters,
/// every score's bits) must match.
fn comparable(lb: &Leaderboard) -> String {
    let mut lb = lb.clone();
    for r in &mut lb.rows {
        r.fit_seconds = 0.0;
        r.predict_seconds_per_1000 = 0.0;
    }
    serde_json::to_string_pretty(&lb).unwrap()
}

/// The `.npy` files under `models/` (predictions of every model), relative path → bytes.
fn model_arrays(proj: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|x| x == "npy") {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(proj, &proj.join("models"), &mut out);
    out.sort();
    out
}

/// The acceptance's fault injection: one project is killed with SIGKILL at ten or more seeded
/// random moments, rerunning the same command after each kill, then run to its end; the final
/// leaderboard equals an uninterrupted run's bit for bit (timings aside, see [`comparable`]), and
/// so does every stored prediction array. Kill moments are drawn so they spread over the whole
/// run: each is uniform in [0, 2 × the remaining reference time ÷ the kills still to make].
#[test]
fn killed_at_seeded_random_moments_and_resumed_equals_an_uninterrupted_run() {
    const KILLS: usize = 10;
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = text_demo(&tmp.path().join("data"), 150);
    let extra = ["--mode", "full"];

    let reference = tmp.path().join("reference.autopilot");
    let t0 = Instant::now();
    let out = output_within(
        autopilot(&cache).args(run_args(&csv, &reference, &extra)),
        RUN_LIMIT,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let t_ref = t0.elapsed().as_secs_f64();
    let expected = read_leaderboard(&reference).unwrap();
    let total_rows = expected.rows.len();
    assert!(
        total_rows >= 5,
        "too small a run to kill: {total_rows} rows"
    );

    let proj = tmp.path().join("killed.autopilot");
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let mut kills = 0;
    let mut rows_at_kill = Vec::new();
    for attempt in 0.. {
        assert!(attempt < 4 * KILLS, "only {kills} kills in {attempt} runs");
        if kills == KILLS {
            break;
        }
        let done = read_leaderboard(&proj).map_or(0, |lb| lb.rows.len());
        let left = (1.0 - done as f64 / total_rows as f64).max(0.05);
        let mean = t_ref * left / (KILLS - kills + 1) as f64;
        let delay = rng.random_range(0.0..2.0 * mean);
        let mut child = autopilot(&cache)
            .args(run_args(&csv, &proj, &extra))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(delay));
        match child.try_wait().unwrap() {
            Some(status) => assert!(status.success(), "run {attempt} failed: {status}"),
            None => {
                kill(&mut child);
                kills += 1;
                rows_at_kill.push(read_leaderboard(&proj).map_or(0, |lb| lb.rows.len()));
            }
        }
        if proj.join(project::PROJECT_FILE).is_file() {
            assert_every_file_whole(&proj);
        }
    }
    eprintln!("reference run {t_ref:.1}s, {total_rows} rows; rows at each kill: {rows_at_kill:?}");
    // The moments are spread: the kills did not all hit the same model.
    let mut levels = rows_at_kill.clone();
    levels.dedup();
    assert!(
        levels.len() >= 2,
        "every kill hit the same point of the run: {rows_at_kill:?}"
    );

    let out = output_within(
        autopilot(&cache).args(run_args(&csv, &proj, &extra)),
        RUN_LIMIT,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = read_leaderboard(&proj).unwrap();
    let (want, have) = (comparable(&expected), comparable(&got));
    if want != have {
        let first = want
            .lines()
            .zip(have.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "the resumed leaderboard differs from the uninterrupted one at line {first}:\n  {:?}\n  {:?}",
            want.lines().nth(first),
            have.lines().nth(first)
        );
    }
    let (ref_arrays, got_arrays) = (model_arrays(&reference), model_arrays(&proj));
    assert_eq!(
        ref_arrays.iter().map(|a| &a.0).collect::<Vec<_>>(),
        got_arrays.iter().map(|a| &a.0).collect::<Vec<_>>(),
        "the same prediction files"
    );
    for ((name, a), (_, b)) in ref_arrays.iter().zip(&got_arrays) {
        assert!(a == b, "{name} differs");
    }
}
