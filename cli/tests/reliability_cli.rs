//! Reliability of the command line (issue 14, findings 7, 8, 10, 11 and 12): a closed stdout
//! (`| head`), unknown backbones, the time limit, one definition of "best", and conflicting
//! `tune` values. Small generated tabular data (no images, no text: no weights, no network);
//! every spawned process has a timeout.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use autopilot::autopilot::tuning::tunable_params;
use autopilot::leaderboard::{BASELINE_BLUEPRINT, Leaderboard, LeaderboardRow};
use autopilot::project::{self, Project};
use autopilot::store;
use autopilot_cli::{Cli, Command as CliCommand};
use blueprints::metrics::Metric;
use blueprints::params::ParamDomain;
use clap::Parser as _;

use crate::common::{cli, leaderboard, s};

/// Longest any spawned command may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A CSV of `n` rows: an informative number (the classes overlap), a noise number, a colour
/// and a 3-class label.
fn tabular_csv(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("data.csv");
    let mut text = String::from("signal,noise,colour,label\n");
    let mut state: u64 = 42;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..n {
        let class = i % 3;
        let signal = class as f64 + 2.5 * uniform();
        let noise = (1000.0 * uniform()) as u32;
        let colour = ["red", "green", "blue", "grey"][(i * 31) % 4];
        text.push_str(&format!(
            "{signal:.2},{noise},{colour},{}\n",
            ["a", "b", "c"][class]
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// `run` arguments for `csv` into project `proj`, then `extra`.
fn run_args<'a>(csv: &'a Path, proj: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "run",
        s(csv),
        "--target",
        "label",
        "--project",
        s(proj),
        "--quiet",
    ];
    a.extend_from_slice(extra);
    a
}

/// Waits for `child` at most [`TIMEOUT`]; kills it and fails the test past that.
fn wait(mut child: Child, what: &str) -> ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if t0.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: no exit within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What a spawned command left.
struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs the `autopilot` binary with `args` (stdout and stderr into files, so nothing blocks).
fn bin(args: &[&str]) -> Ran {
    let tmp = tempfile::tempdir().unwrap();
    let (out, err) = (tmp.path().join("out"), tmp.path().join("err"));
    let child = Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let status = wait(child, &args.join(" "));
    Ran {
        status,
        stdout: std::fs::read_to_string(out).unwrap(),
        stderr: std::fs::read_to_string(err).unwrap(),
    }
}

/// Runs the binary with stdout into a pipe whose reading end is already closed (a reader such
/// as `head` that went away); returns the status and stderr.
fn bin_with_closed_stdout(args: &[&str]) -> (ExitStatus, String) {
    let tmp = tempfile::tempdir().unwrap();
    let err = tmp.path().join("err");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = spawn_and_wait(args, writer.into(), File::create(&err).unwrap().into());
    (status, std::fs::read_to_string(err).unwrap())
}

/// Runs the binary with stdout and stderr into one closed pipe (`… 2>&1 | head` after `head`
/// went away); returns the status.
fn bin_with_closed_stdout_and_stderr(args: &[&str]) -> ExitStatus {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let stderr = writer.try_clone().unwrap();
    spawn_and_wait(args, writer.into(), stderr.into())
}

fn spawn_and_wait(args: &[&str], stdout: Stdio, stderr: Stdio) -> ExitStatus {
    let child = Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    wait(child, &args.join(" "))
}

/// Whether model `id` has saved files to predict with (fold models or a blender).
fn can_predict(proj: &Path, id: &str) -> bool {
    proj.join(format!("models/{id}/model.json")).is_file()
        || proj.join(format!("models/{id}/blender.json")).is_file()
}

/// A trained project of `n` rows (every blueprint of the quick mode).
fn trained_project(dir: &Path, n: usize) -> PathBuf {
    let csv = tabular_csv(dir, n);
    let proj = dir.join("p");
    assert_eq!(cli(&run_args(&csv, &proj, &[])), 0);
    proj
}

/// A run whose stderr is a file (a log, CI) still writes every stage and model line there:
/// the progress bar's own `println` drops lines when stderr is not a terminal.
#[test]
fn a_run_logged_to_a_file_lists_every_model() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tabular_csv(tmp.path(), 120);
    let proj = tmp.path().join("p");
    let mut args = run_args(&csv, &proj, &["--device", "cpu"]);
    args.retain(|&a| a != "--quiet");
    let ran = bin(&args);
    assert!(ran.status.success(), "{}", ran.stderr);
    assert!(ran.stderr.contains("== "), "no stage line:\n{}", ran.stderr);
    let lb = leaderboard(&proj);
    assert!(lb.rows.len() > 1);
    // Every model but the majority-class baseline (scored without a training event).
    for row in lb.rows.iter().filter(|r| r.blueprint != BASELINE_BLUEPRINT) {
        let line = format!("   {}: ", row.model_id);
        assert!(
            ran.stderr.contains(&line),
            "no line for {}:\n{}",
            row.model_id,
            ran.stderr
        );
    }
}

// Finding 7: piping to `head` must not panic; a run goes on to its end.

#[test]
fn report_commands_end_quietly_when_stdout_is_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tabular_csv(tmp.path(), 120);
    let proj = tmp.path().join("p");
    assert_eq!(cli(&run_args(&csv, &proj, &["--baseline-only"])), 0);
    for extra in [&[][..], &["--json"], &["M1"]] {
        let mut args = vec!["leaderboard", "--project", s(&proj)];
        args.extend_from_slice(extra);
        let (status, stderr) = bin_with_closed_stdout(&args);
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: quiet exit expected: {stderr}");
    }
    let (status, stderr) = bin_with_closed_stdout(&["profile", s(&csv), "--target", "label"]);
    assert_eq!(status.code(), Some(0), "profile: {stderr}");
    // A real error is still an error when stdout is closed.
    let missing = tmp.path().join("missing");
    let (status, stderr) = bin_with_closed_stdout(&["leaderboard", "--project", s(&missing)]);
    assert_eq!(status.code(), Some(1), "{stderr}");
}

#[test]
fn run_keeps_training_when_stdout_is_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tabular_csv(tmp.path(), 150);
    let proj = tmp.path().join("p");
    let (status, stderr) = bin_with_closed_stdout(&run_args(&csv, &proj, &["--max-models", "4"]));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lb = leaderboard(&proj);
    assert_eq!(lb.rows.len(), 4, "the run stopped early: {lb:#?}");
    // Progress and warnings into a closed stderr as well (`2>&1 | head`): dropped, not a panic.
    let again = tmp.path().join("q");
    let mut args = run_args(&csv, &again, &["--max-models", "4"]);
    args.retain(|&a| a != "--quiet");
    let status = bin_with_closed_stdout_and_stderr(&args);
    assert_eq!(status.code(), Some(0));
    let lb = leaderboard(&again);
    assert_eq!(lb.rows.len(), 4, "the run stopped early: {lb:#?}");
}

// Finding 8: an unknown backbone is an error naming the valid ones, before any work.

#[test]
fn unknown_backbone_is_refused_with_the_valid_names() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tabular_csv(tmp.path(), 30);
    let proj = tmp.path().join("p");
    let args = run_args(&csv, &proj, &["--backbone", "efficientnet-lite9"]);
    let e = Cli::try_parse_from(std::iter::once("autopilot").chain(args.iter().copied()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown backbone 'efficientnet-lite9'"), "{e}");
    for valid in [
        "efficientnet-lite0",
        "mobilenet-v2",
        "efficientnet-lite2",
        "none",
    ] {
        assert!(e.contains(valid), "{valid} not listed: {e}");
    }
    assert_eq!(cli(&args), 2);
    assert!(!proj.exists(), "a project was created for a refused run");
    // Spellings of a known backbone are accepted and normalized.
    let ok = run_args(
        &csv,
        &proj,
        &["--backbone", "MobileNetV2,EfficientNet_Lite0"],
    );
    let parsed = Cli::try_parse_from(std::iter::once("autopilot").chain(ok.iter().copied()));
    let CliCommand::Run(run) = parsed.unwrap().command else {
        panic!("not a run");
    };
    assert_eq!(run.backbones, ["mobilenet-v2", "efficientnet-lite0"]);
}

// Finding 10: the time limit is positive and counts from the start of the command.

#[test]
fn time_limit_must_be_a_positive_number_of_seconds() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tabular_csv(tmp.path(), 30);
    let proj = tmp.path().join("p");
    for bad in ["0", "--time-limit=-5", "nan", "inf", "soon"] {
        let limit = if bad.starts_with("--") {
            vec![bad]
        } else {
            vec!["--time-limit", bad]
        };
        let args = run_args(&csv, &proj, &limit);
        let e = Cli::try_parse_from(std::iter::once("autopilot").chain(args.iter().copied()))
            .expect_err(bad)
            .to_string();
        assert!(e.contains("positive number of seconds"), "{bad}: {e}");
        assert_eq!(cli(&args), 2, "{bad}");
    }
    assert!(!proj.exists());
}

#[test]
fn time_limit_counts_loading_and_lists_what_it_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    // Loading, profiling and partitioning this many rows takes well over 0.02 s, and the
    // scheduler expects a first model to take 1 s: with the clock started at the command, no
    // model may start under a 1.02 s limit (with the clock started at the scheduler, one did).
    let csv = tabular_csv(tmp.path(), 30_000);
    let proj = tmp.path().join("p");
    let ran = bin(&run_args(&csv, &proj, &["--time-limit", "1.02"]));
    assert!(ran.status.success(), "{}", ran.stderr);
    let lb = leaderboard(&proj);
    assert_eq!(lb.rows.len(), 1, "only the baseline: {lb:#?}");
    let summary = ran
        .stdout
        .lines()
        .find(|l| l.starts_with("skipped for time"))
        .unwrap_or_else(|| panic!("no summary in:\n{}", ran.stdout));
    let count: usize = summary.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 2, "{summary}");
    // The names follow, indented.
    let listed = ran
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("skipped for time"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .count();
    assert_eq!(listed, count.min(11), "{}", ran.stdout);
}

// Finding 11: one "best" everywhere: the best model that can predict, by CV mean.

/// The best model that can predict, computed here from the files: highest CV mean balanced
/// accuracy (the first of equals).
fn expected_best(proj: &Path, lb: &Leaderboard) -> String {
    let cv = |r: &LeaderboardRow| r.cv_mean.as_ref().unwrap()[&Metric::BalancedAccuracy];
    let mut best: Option<&LeaderboardRow> = None;
    for r in lb.rows.iter().filter(|r| can_predict(proj, &r.model_id)) {
        if best.is_none_or(|b| cv(r) > cv(b)) {
            best = Some(r);
        }
    }
    best.expect("a model that can predict").model_id.clone()
}

#[test]
fn best_is_the_same_model_on_the_leaderboard_and_in_predict_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = trained_project(tmp.path(), 150);
    // A stage model (validation only, no saved fold models) with the highest validation score,
    // as in the finding's project.
    let mut lb = leaderboard(&proj);
    let mut stage = lb
        .rows
        .iter()
        .find(|r| can_predict(&proj, &r.model_id))
        .unwrap()
        .clone();
    stage.model_id = lb.next_model_id();
    stage.key = "stage|test".into();
    stage.sample_pct = 64.0;
    stage.set_folds(vec![[(Metric::BalancedAccuracy, 0.999)].into()], 5);
    lb.upsert(stage.clone());
    let file = proj.join(project::LEADERBOARD_FILE);
    std::fs::write(&file, serde_json::to_string_pretty(&lb).unwrap()).unwrap();
    let best = expected_best(&proj, &lb);
    assert_ne!(best, stage.model_id);

    let json = bin(&["leaderboard", "--project", s(&proj), "--json"]);
    assert!(json.status.success(), "{}", json.stderr);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["best"], best.as_str(), "--json");

    let text = bin(&["leaderboard", "--project", s(&proj)]);
    let starred: Vec<&str> = text.stdout.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(starred.len(), 1, "{}", text.stdout);
    assert!(
        starred[0].starts_with(&format!("* {best} ")),
        "{}",
        text.stdout
    );

    let csv = tmp.path().join("data.csv");
    let preds = tmp.path().join("preds.csv");
    let predict_best = |data: &Path| {
        bin(&[
            "predict",
            "best",
            s(data),
            "-o",
            s(&preds),
            "--project",
            s(&proj),
        ])
    };
    let predict = predict_best(&csv);
    assert!(predict.status.success(), "{}", predict.stderr);
    assert!(
        predict.stdout.contains(&format!(" with {best} (")),
        "{}",
        predict.stdout
    );
    assert!(!predict.stderr.contains("warning"), "{}", predict.stderr);
    // A number column's cell that is not a number is read as missing, with a warning.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[3] = lines[3].replacen(|c: char| c.is_ascii_digit(), "x", 1);
    let bad_csv = tmp.path().join("bad.csv");
    std::fs::write(&bad_csv, lines.join("\n") + "\n").unwrap();
    let warned = predict_best(&bad_csv);
    assert!(warned.status.success(), "{}", warned.stderr);
    assert!(
        warned
            .stderr
            .contains("column 'signal' is numeric but 1 of 150 non-empty cells are not numbers")
            && warned.stderr.contains("in row 4)"),
        "{}",
        warned.stderr
    );

    let apm = tmp.path().join("best.apm");
    let export = bin(&["export", "best", "-o", s(&apm), "--project", s(&proj)]);
    assert!(export.status.success(), "{}", export.stderr);
    assert!(
        export.stdout.starts_with(&format!("Exported {best} (")),
        "{}",
        export.stdout
    );

    let insights = tmp.path().join("insights");
    let explained = bin(&[
        "insights",
        "--project",
        s(&proj),
        "--confusion",
        "-o",
        s(&insights),
    ]);
    assert!(explained.status.success(), "{}", explained.stderr);
    assert!(
        explained
            .stdout
            .starts_with(&format!("Insights of {best} (")),
        "{}",
        explained.stdout
    );
}

// Finding 12: `tune` refuses two values for one parameter.

/// A numeric parameter of model `id` and two different valid values for it.
fn two_values(proj: &Path, id: &str) -> (String, String, String) {
    let project = Project::open(proj).unwrap();
    let saved = store::saved_model(&project, id).unwrap();
    let lists = store::feature_lists(&project).unwrap();
    tunable_params(&saved.candidate, &lists)
        .into_iter()
        .find_map(|p| match p.domain {
            ParamDomain::Int { min, max } if min < max => {
                Some((p.name, min.to_string(), max.to_string()))
            }
            ParamDomain::Choice(c) if c.len() >= 2 => Some((p.name, c[0].clone(), c[1].clone())),
            _ => None,
        })
        .expect("a parameter with two values")
}

#[test]
fn tune_refuses_two_values_for_one_parameter() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = trained_project(tmp.path(), 120);
    let lb = leaderboard(&proj);
    let model = lb
        .rows
        .iter()
        .find(|r| {
            r.members.is_empty()
                && proj
                    .join(format!("models/{}/model.json", r.model_id))
                    .is_file()
        })
        .unwrap()
        .model_id
        .clone();
    let (name, a, b) = two_values(&proj, &model);
    let set_a = format!("{name}={a}");
    let set_b = format!("{name}={b}");
    let search = format!("{name}={a},{b}");
    let cases: [&[&str]; 3] = [
        &["--set", &set_a, "--set", &set_b],
        &["--set", &set_a, "--search", &search],
        &["--search", &search, "--search", &set_b],
    ];
    for extra in cases {
        let mut args = vec!["tune", &model, "--project", s(&proj), "--quiet"];
        args.extend_from_slice(extra);
        let ran = bin(&args);
        assert_eq!(ran.status.code(), Some(1), "{extra:?} was accepted");
        assert!(
            ran.stderr
                .contains(&format!("parameter '{name}' is given twice")),
            "{extra:?}: {}",
            ran.stderr
        );
    }
    // An empty or repeated `--search` value is refused; so are `--list` and `--json` with
    // settings (clap's usage error, exit 2).
    let empty = format!("{name}={a},,{b}");
    let twice = format!("{name}={a},{a}");
    for (extra, said) in [(&empty, "an empty value"), (&twice, "is given twice")] {
        let args = [
            "tune",
            &model,
            "--project",
            s(&proj),
            "--quiet",
            "--search",
            extra,
        ];
        let ran = bin(&args);
        assert_eq!(ran.status.code(), Some(1), "{extra} was accepted");
        assert!(ran.stderr.contains(said), "{extra}: {}", ran.stderr);
    }
    for flag in ["--list", "--json"] {
        let ran = bin(&["tune", &model, "--project", s(&proj), flag, "--set", &set_a]);
        assert_eq!(ran.status.code(), Some(2), "{flag} --set: {}", ran.stderr);
    }
    assert_eq!(
        leaderboard(&proj).rows.len(),
        lb.rows.len(),
        "a model was trained"
    );
    // The baseline has no model to tune or predict with: the error says so and lists those
    // that can.
    let baseline = lb
        .rows
        .iter()
        .find(|r| r.blueprint == BASELINE_BLUEPRINT)
        .unwrap();
    let ran = bin(&["tune", &baseline.model_id, "--project", s(&proj), "--list"]);
    assert_eq!(ran.status.code(), Some(1));
    let listed = ran
        .stderr
        .split_once("models with saved fold models: ")
        .map(|(_, list)| list.to_string())
        .unwrap_or_default();
    assert!(
        ran.stderr.contains("the baseline is a score to beat") && listed.contains(&model),
        "{}",
        ran.stderr
    );
}
