//! Running the built `autopilot` binary from tests: offline (no weight download), with a time
//! limit so no test can hang, and a text-only cut of the demo dataset that trains in seconds.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use autopilot::synth::{self, DemoSpec};

/// The built binary, with no pretrained weights reachable: `AUTOPILOT_CACHE` is `cache` (an
/// empty folder) and pip is replaced by `false`, so backbones and MiniLM fail at once.
pub fn autopilot(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_autopilot"));
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
