//! Reliability of the project store (issue 14): one writer per project (#2), saved floats that
//! read back bit for bit (#9), outputs that never replace a project's files or inputs and errors
//! that print the OS text once (#14), and a feature cache that cannot be written stopping the run
//! instead of dropping the image column (#5). CLI behaviour is tested on the built binary, every
//! run under a time limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use autopilot::dataset::{self, LoadOptions};
use autopilot::features::ImageKey;
use autopilot::features::image::{cache_dir, image_features_with};
use autopilot::leaderboard::{Leaderboard, LeaderboardRow};
use autopilot::project::lock::{self, WriterLock};
use autopilot::project::{self, Project, ProjectError, atomic};
use autopilot::synth::{self, DemoSpec};
use blueprints::metrics::Metric;

use crate::common::{autopilot, kill, output_within, run_args, s, stderr, text_demo};

const LIMIT: Duration = Duration::from_secs(180);

/// A project trained by a quick run on the tabular demo data: (temp dir, data CSV, project,
/// weight cache folder).
fn trained_project() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = text_demo(&tmp.path().join("data"), 120);
    let proj = tmp.path().join("p.autopilot");
    let out = output_within(autopilot(&cache).args(run_args(&csv, &proj, &[])), LIMIT);
    assert!(out.status.success(), "{}", stderr(&out));
    (tmp, csv, proj, cache)
}

/// Runs `autopilot ARGS` (offline, see [`autopilot`]) under the time limit.
fn cli(cache: &Path, args: &[&str]) -> Output {
    output_within(autopilot(cache).args(args), LIMIT)
}

/// Asserts `out` failed with exactly one error line that contains every one of `needles` and no
/// OS error text repeated.
fn assert_one_clean_error(out: &Output, needles: &[&str]) -> String {
    let err = stderr(out);
    assert!(!out.status.success(), "expected a failure, got: {err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {err}");
    for n in needles {
        assert!(errors[0].contains(n), "'{n}' missing from: {}", errors[0]);
    }
    assert!(
        err.matches("os error").count() <= 1,
        "OS text repeated: {err}"
    );
    errors[0].to_string()
}

/// A cross-validated, saved (tunable) model of the project.
fn saved_model(proj: &Path) -> String {
    let p = Project::open(proj).unwrap();
    let lb: Leaderboard = p.load_json(project::LEADERBOARD_FILE).unwrap();
    lb.rows
        .iter()
        .find(|r| r.members.is_empty() && p.exists(&format!("models/{}/model.json", r.model_id)))
        .expect("a saved model")
        .model_id
        .clone()
}

// ---- #2: one writer per project -------------------------------------------------------------

#[test]
fn a_second_writer_is_refused_naming_the_first() {
    let (_tmp, csv, proj, cache) = trained_project();
    let model = saved_model(&proj);
    let holder = WriterLock::acquire(&proj, "reliability test").unwrap();
    let me = format!("pid {}", std::process::id());
    let needles = [
        "another autopilot process is writing",
        me.as_str(),
        "reliability test",
    ];
    let run: Vec<String> = run_args(&csv, &proj, &[]);
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    assert_one_clean_error(&cli(&cache, &run), &needles);
    assert_one_clean_error(
        &cli(
            &cache,
            &[
                "tune",
                &model,
                "--set",
                "seed=3",
                "--project",
                s(&proj),
                "--quiet",
            ],
        ),
        &needles,
    );
    // Unlocking the holdout writes the leaderboard: a writer too.
    assert_one_clean_error(
        &cli(&cache, &["leaderboard", "--holdout", "--project", s(&proj)]),
        &needles,
    );
    drop(holder);
    let out = cli(&cache, &run);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn readers_work_while_a_writer_holds_the_project() {
    let (tmp, csv, proj, cache) = trained_project();
    let _holder = WriterLock::acquire(&proj, "reliability test").unwrap();
    let out = cli(&cache, &["leaderboard", "--project", s(&proj)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("M1"));
    let preds = tmp.path().join("preds.csv");
    let out = cli(
        &cache,
        &[
            "predict",
            "best",
            s(&csv),
            "-o",
            s(&preds),
            "--project",
            s(&proj),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(preds.is_file());
    let apm = tmp.path().join("best.apm");
    let out = cli(
        &cache,
        &["export", "best", "-o", s(&apm), "--project", s(&proj)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_writer_killed_with_sigkill_leaves_no_blocking_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = text_demo(&tmp.path().join("data"), 300);
    let proj = tmp.path().join("p.autopilot");
    let args = run_args(&csv, &proj, &["--mode", "full"]);
    let mut first = autopilot(&cache)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while lock::recorded_holder(&proj).is_none_or(|h| h.pid != first.id()) {
        if t0.elapsed() > LIMIT || first.try_wait().unwrap().is_some() {
            kill(&mut first);
            panic!("the first run never took the lock");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // A second writer meanwhile is refused, naming the first process.
    let second = output_within(autopilot(&cache).args(&args), LIMIT);
    let still_running = first.try_wait().unwrap().is_none();
    kill(&mut first);
    assert!(
        still_running,
        "the first run ended before the second could be refused"
    );
    assert_one_clean_error(
        &second,
        &["another autopilot process", &format!("pid {}", first.id())],
    );
    // The killed writer's lock file stays, naming a dead process; it blocks nothing.
    assert_eq!(lock::recorded_holder(&proj).unwrap().pid, first.id());
    let again = run_args(&csv, &proj, &["--baseline-only"]);
    let out = cli(
        &cache,
        &again.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(
        lock::recorded_holder(&proj).unwrap().pid,
        first.id(),
        "the rerun took the lock"
    );
}

/// A project whose data file changed since `run`, or whose profile is gone, is refused by the
/// commands that read it (not tuned on other data, not ranked by another task's metric); a run
/// stopped before any model can predict says so, and so does `predict best`.
#[test]
fn changed_data_a_lost_profile_and_no_predicting_model_are_said() {
    let (tmp, csv, proj, cache) = trained_project();
    let model = saved_model(&proj);
    let profile = proj.join(project::PROFILE_FILE);
    let kept = std::fs::read(&profile).unwrap();
    std::fs::remove_file(&profile).unwrap();
    assert_one_clean_error(
        &cli(&cache, &["leaderboard", "--project", s(&proj)]),
        &["profile.json"],
    );
    std::fs::write(&profile, kept).unwrap();
    // The same rows, one more space in the header: another file.
    let data = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, data.replacen('\n', " \n", 1)).unwrap();
    let changed = "the training data changed since project";
    let tune = ["tune", &model, "--set", "seed=3", "--project", s(&proj)];
    assert_one_clean_error(&cli(&cache, &tune), &[changed]);
    let ins = tmp.path().join("ins");
    let insights = ["insights", &model, "--project", s(&proj), "-o", s(&ins)];
    assert_one_clean_error(&cli(&cache, &insights), &[changed]);
    std::fs::write(&csv, data).unwrap();

    let early = tmp.path().join("early.autopilot");
    let run = run_args(&csv, &early, &["--max-models", "2"]);
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let out = cli(&cache, &run);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: no model can predict yet"),
        "{}",
        stderr(&out)
    );
    let preds = tmp.path().join("p.csv");
    let predict = [
        "predict",
        "best",
        s(&csv),
        "-o",
        s(&preds),
        "--project",
        s(&early),
    ];
    assert_one_clean_error(
        &cli(&cache, &predict),
        &["no model that can predict yet", "--resume"],
    );
}

/// A project whose insights cannot be written there (read-only; here `insights` is a file,
/// which stops root too) still gets its report, the insights made in a temporary folder.
#[test]
fn a_project_that_cannot_be_written_still_gets_its_report() {
    let (tmp, _csv, proj, cache) = trained_project();
    std::fs::write(proj.join("insights"), "not a folder").unwrap();
    let html = tmp.path().join("report.html");
    let out = cli(&cache, &["report", "--project", s(&proj), "-o", s(&html)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<html"));
    assert_eq!(
        std::fs::read_to_string(proj.join("insights")).unwrap(),
        "not a folder"
    );
}

/// A cross-validated model whose folder was deleted is trained again by the next run (with
/// the blenders built on it), to the same scores, instead of failing the resume.
#[test]
fn a_model_whose_files_were_deleted_is_trained_again() {
    let (_tmp, csv, proj, cache) = trained_project();
    let before = crate::common::leaderboard(&proj);
    let lost = saved_model(&proj);
    let key = before.get(&lost).unwrap().key.clone();
    std::fs::remove_dir_all(proj.join("models").join(&lost)).unwrap();
    let run = run_args(&csv, &proj, &[]);
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let out = cli(&cache, &run);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(lost.as_str()) && stderr(&out).contains("trained again"),
        "{}",
        stderr(&out)
    );
    let after = crate::common::leaderboard(&proj);
    let again = after.rows.iter().find(|r| r.key == key).expect("retrained");
    assert!(
        proj.join("models")
            .join(&again.model_id)
            .join("model.json")
            .is_file()
    );
    assert_eq!(again.cv_mean, before.get(&lost).unwrap().cv_mean);
}

// ---- #9: saved floats read back bit for bit -------------------------------------------------

/// Awkward doubles: inexact decimals, subnormals, neighbours of 1, extremes, and 20,000 seeded
/// random values (uniform in [0, 1) and random bit patterns), where a parser that is not
/// correctly rounded is off by one ULP somewhere.
fn awkward_f64s() -> Vec<f64> {
    let mut v = vec![
        0.1 + 0.2,
        1.0 / 3.0,
        2.0 / 3.0,
        5e-324,
        2.2250738585072014e-308,
        f64::MIN_POSITIVE,
        1.0 - f64::EPSILON / 2.0,
        1.0 + f64::EPSILON,
        0.9999999999999999,
        f64::MAX,
        -0.0,
        std::f64::consts::PI,
        0.5375000000000001,
        1.7976931348623157e308,
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..10_000 {
        v.push(rng.random::<f64>());
        let x = f64::from_bits(rng.random::<u64>());
        if x.is_finite() {
            v.push(x);
        }
    }
    v
}

#[test]
fn saved_floats_read_back_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let values = awkward_f64s();
    let mut lb = Leaderboard::default();
    for (i, chunk) in values.chunks(4).enumerate() {
        let mut row = LeaderboardRow::new(&format!("M{i}"), "test", "all");
        row.fit_seconds = chunk[0];
        row.validation
            .insert(Metric::LogLoss, chunk[chunk.len() - 1]);
        row.cv_folds = chunk
            .iter()
            .map(|&x| [(Metric::BalancedAccuracy, x)].into_iter().collect())
            .collect();
        lb.upsert(row);
    }
    let first = tmp.path().join("a.json");
    let second = tmp.path().join("b.json");
    atomic::save_json(&first, &lb, atomic::JsonLayout::Pretty).unwrap();
    let back: Leaderboard = atomic::load_json(&first).unwrap();
    atomic::save_json(&second, &back, atomic::JsonLayout::Pretty).unwrap();
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap(),
        "save -> load -> save changed the bytes"
    );
    // And every value is the same double, not merely the same text.
    let raw: Vec<f64> = atomic::load_json(&{
        let p = tmp.path().join("v.json");
        atomic::save_json(&p, &values, atomic::JsonLayout::Pretty).unwrap();
        p
    })
    .unwrap();
    for (a, b) in values.iter().zip(&raw) {
        assert_eq!(a.to_bits(), b.to_bits(), "{a:e} read back as {b:e}");
    }
    // Matrices are raw little-endian f32: exact by construction; checked all the same.
    let m = ndarray::Array2::from_shape_fn((64, 3), |(i, j)| {
        (values[i * 3 + j] as f32) * if j == 1 { 1e-30 } else { 1.0 }
    });
    let npy = tmp.path().join("m.npy");
    project::npy::write_npy(&npy, m.view()).unwrap();
    let back = project::npy::read_npy(&npy, (Some(64), Some(3))).unwrap();
    assert!(
        m.iter()
            .zip(back.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}

// ---- #14: guarded outputs, one clean message ------------------------------------------------

#[test]
fn outputs_never_replace_project_files_or_inputs() {
    let (tmp, csv, proj, cache) = trained_project();
    let lb_path = proj.join(project::LEADERBOARD_FILE);
    let lb_before = std::fs::read(&lb_path).unwrap();
    let csv_before = std::fs::read(&csv).unwrap();
    let p = s(&proj);
    let inside = ["refusing to write there", "inside the project folder"];
    assert_one_clean_error(
        &cli(
            &cache,
            &["export", "best", "-o", s(&lb_path), "--project", p],
        ),
        &inside,
    );
    // The same file reached through `..` and a relative detour.
    let detour = tmp.path().join("data/../p.autopilot/leaderboard.json");
    assert_one_clean_error(
        &cli(
            &cache,
            &["export", "best", "-o", s(&detour), "--project", p],
        ),
        &inside,
    );
    let new_inside = proj.join("preds.csv");
    assert_one_clean_error(
        &cli(
            &cache,
            &[
                "predict",
                "best",
                s(&csv),
                "-o",
                s(&new_inside),
                "--project",
                p,
            ],
        ),
        &inside,
    );
    assert!(!new_inside.exists());
    assert_one_clean_error(
        &cli(
            &cache,
            &["predict", "best", s(&csv), "-o", s(&csv), "--project", p],
        ),
        &["refusing to write there", "is the input"],
    );
    assert_one_clean_error(
        &cli(&cache, &["report", "-o", s(&lb_path), "--project", p]),
        &inside,
    );
    assert_eq!(
        std::fs::read(&lb_path).unwrap(),
        lb_before,
        "leaderboard untouched"
    );
    assert_eq!(std::fs::read(&csv).unwrap(), csv_before, "input untouched");
    // From an exported model (no project): the input and the model file are refused too.
    let apm = tmp.path().join("m.apm");
    let out = cli(&cache, &["export", "best", "-o", s(&apm), "--project", p]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_one_clean_error(
        &cli(&cache, &["predict", s(&apm), s(&csv), "-o", s(&csv)]),
        &["is the input"],
    );
    assert_one_clean_error(
        &cli(&cache, &["predict", s(&apm), s(&csv), "-o", s(&apm)]),
        &["is the input"],
    );
    assert_eq!(std::fs::read(&csv).unwrap(), csv_before, "input untouched");
}

#[test]
fn a_project_path_that_is_a_file_is_one_clean_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = text_demo(&tmp.path().join("data"), 60);
    let file = tmp.path().join("p.autopilot");
    std::fs::write(&file, "not a folder").unwrap();
    let args = run_args(&csv, &file, &["--baseline-only"]);
    let out = cli(&cache, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let line = assert_one_clean_error(&out, &["p.autopilot", "exists and is not a folder"]);
    assert!(!line.contains("os error"), "{line}");
    let out = cli(&cache, &["leaderboard", "--project", s(&file)]);
    assert_one_clean_error(&out, &["exists and is not a folder"]);
}

#[test]
fn an_os_error_is_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let csv = text_demo(&tmp.path().join("data"), 60);
    let proj = tmp.path().join("p.autopilot");
    let args = run_args(&csv, &proj, &["--baseline-only"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(cli(&cache, &args).status.success());
    // The leaderboard replaced by a folder: reading it is an OS error (EISDIR).
    let lb = proj.join(project::LEADERBOARD_FILE);
    std::fs::remove_file(&lb).unwrap();
    std::fs::create_dir(&lb).unwrap();
    for out in [
        cli(&cache, &["leaderboard", "--project", s(&proj)]),
        cli(&cache, &args),
    ] {
        let line = assert_one_clean_error(&out, &["leaderboard.json", "os error"]);
        assert_eq!(line.matches("os error").count(), 1, "{line}");
    }
}

// ---- #5: a feature cache that cannot be written stops the run ------------------------------

/// The demo data with its images, loaded: (temp dir, CSV, dataset).
fn demo_with_images(n_rows: usize) -> (tempfile::TempDir, PathBuf, dataset::Dataset) {
    let tmp = tempfile::tempdir().unwrap();
    let spec = DemoSpec {
        n_rows,
        n_classes: 3,
        seed: 5,
        image_size: 8,
    };
    let csv = synth::write_demo_dataset(&tmp.path().join("data"), &spec).unwrap();
    let opts = LoadOptions {
        target: Some(synth::DEMO_TARGET.into()),
        ..LoadOptions::default()
    };
    let ds = dataset::load(&csv, &opts).unwrap();
    (tmp, csv, ds)
}

fn image_key(backbone: &str) -> ImageKey {
    ImageKey {
        column: "image".into(),
        backbone: backbone.into(),
        levels: autopilot::autopilot::candidates::DEFAULT_LEVELS
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

#[test]
fn a_feature_cache_write_failure_is_a_project_error() {
    let (tmp, csv, ds) = demo_with_images(24);
    let proj = Project::create(
        &tmp.path().join("p.autopilot"),
        project::ProjectSettings::new(&csv, synth::DEMO_TARGET),
    )
    .unwrap();
    let key = image_key("efficientnet-lite0");
    // A stand-in backbone: 4 features per image, counting its calls.
    let mut calls = 0;
    let mut featurize = |paths: &[PathBuf]| -> anyhow::Result<neural::ImageFeatures> {
        calls += 1;
        Ok(neural::ImageFeatures {
            values: ndarray::Array2::from_shape_fn((paths.len(), 4), |(i, j)| (i + j) as f32),
            errors: vec![None; paths.len()],
        })
    };
    // `features` is a file: the cache folder cannot be created (a full or read-only disk alike;
    // tests run as root, where permissions do not stop writes).
    std::fs::write(proj.path("features"), "in the way").unwrap();
    let e = image_features_with(Some(&proj), &ds, &key, &mut featurize).unwrap_err();
    let store = ProjectError::find_in(&e).expect("a project-store error");
    assert!(matches!(store, ProjectError::Io { .. }), "{e:#}");
    assert!(format!("{e:#}").contains("features"), "{e:#}");
    // Once writable, the features are cached: a second call featurizes nothing.
    std::fs::remove_file(proj.path("features")).unwrap();
    let m = image_features_with(Some(&proj), &ds, &key, &mut featurize).unwrap();
    assert!(m.ok.iter().all(|&ok| ok) && m.features.ncols() == 4);
    let again = image_features_with(Some(&proj), &ds, &key, &mut featurize).unwrap();
    assert_eq!(again.features, m.features);
    assert_eq!(calls, 2, "the third call read the cache");
    assert!(proj.exists(&format!("{}/index.json", cache_dir(&key))));
}

#[test]
fn run_stops_on_an_unreadable_feature_cache_instead_of_dropping_images() {
    let (tmp, csv, _) = demo_with_images(30);
    let cache = tmp.path().join("cache");
    let proj = tmp.path().join("p.autopilot");
    let dir = proj.join(cache_dir(&image_key("efficientnet-lite0")));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.json"), "{ half a file").unwrap();
    let args = run_args(&csv, &proj, &["--backbone", "efficientnet-lite0"]);
    let out = cli(&cache, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_one_clean_error(
        &out,
        &["index.json", "corrupt", "caching the features of 'image'"],
    );
    assert!(!stderr(&out).contains("left out"), "{}", stderr(&out));
    assert!(
        !proj.join(project::LEADERBOARD_FILE).exists() || {
            let lb: Leaderboard = atomic::load_json(&proj.join(project::LEADERBOARD_FILE)).unwrap();
            lb.rows.len() <= 1
        }
    );
}

/// With real weights (fetched into the default cache when the machine can; otherwise there is
/// nothing to write and the library test above covers it): the run computes the features, fails
/// to cache them, and stops with an error instead of training without the images.
#[test]
fn run_stops_when_image_features_cannot_be_cached() {
    let (tmp, csv, _) = demo_with_images(24);
    let proj = tmp.path().join("p.autopilot");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(proj.join("features"), "in the way").unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_autopilot"));
    c.args(run_args(
        &csv,
        &proj,
        &["--backbone", "efficientnet-lite0", "--device", "cpu"],
    ));
    let out = output_within(&mut c, LIMIT);
    let err = stderr(&out);
    if err.contains("no image features from") {
        // CI sets AUTOPILOT_REQUIRE_WEIGHTS=1: there, missing weights fail the test.
        autopilot_testkit::missing(
            "WEIGHTS",
            &format!(
                "efficientnet-lite0 weights could not be had; the write path was not reached: {err}"
            ),
        );
        return;
    }
    assert_one_clean_error(&out, &["caching the features of 'image'", "features"]);
    assert!(!err.contains("left out"), "{err}");
}

/// Reopening a project (tune, insights) does not decode its images again: a row whose image
/// broke after `run` keeps its place (the partition still fits), and a row `run` skipped for an
/// unreadable image is skipped again without being decoded. Featurizing the broken image, or
/// reloading after an image file is gone, is an error naming its row: never zeros in its place.
#[test]
fn reopening_a_project_reuses_run_s_image_checks() {
    let (tmp, csv, _) = demo_with_images(30);
    let images: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("data/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut images = images;
    images.sort();
    // Broken before `run`: skipped by `run`.
    std::fs::write(&images[0], b"not an image").unwrap();
    let proj = tmp.path().join("p.autopilot");
    let code = crate::common::cli(&[
        "run",
        s(&csv),
        "--target",
        synth::DEMO_TARGET,
        "--project",
        s(&proj),
        "--baseline-only",
        "--backbone",
        "none",
        "--quiet",
    ]);
    assert_eq!(code, 0);
    let data = autopilot::store::ProjectData::load(Project::open(&proj).unwrap()).unwrap();
    let n = data.dataset.n_rows();
    assert_eq!(n, data.partition.n_rows());
    assert_eq!(data.dataset.skipped.len(), 1, "{:?}", data.dataset.skipped);
    // Broken after `run`: a fresh load would skip it (and the partition would not fit).
    std::fs::write(&images[1], b"not an image either").unwrap();
    let fresh =
        dataset::load(&csv, &Project::open(&proj).unwrap().settings.load_options()).unwrap();
    assert_eq!(fresh.n_rows(), n - 1);
    let again = autopilot::store::ProjectData::load(Project::open(&proj).unwrap()).unwrap();
    assert_eq!(again.dataset.n_rows(), n);
    assert_eq!(again.dataset.skipped, data.dataset.skipped);

    // The spreadsheet row of an image file (the demo's cells hold no line breaks).
    let row_of = |image: &Path| {
        let name = image.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        text.lines().position(|l| l.contains(name)).unwrap() + 1
    };
    let key = autopilot::features::FeatureKey::Image(image_key("mobilenet-v2"));
    match again.inputs(std::slice::from_ref(&key)) {
        Ok(_) => panic!("an image broken since `run` was featurized as zeros"),
        Err(e) if format!("{e:#}").contains("model weights") => {
            autopilot_testkit::missing("WEIGHTS", &format!("no MobileNetV2 weights: {e:#}"));
        }
        Err(e) => {
            let e = format!("{e:#}");
            let row = row_of(&images[1]);
            assert!(e.contains(&format!("row {row}, column 'image'")), "{e}");
            assert!(e.contains("not a recognised image format"), "{e}");
            assert!(
                e.contains("1 image that was readable when the project ran is not now"),
                "{e}"
            );
        }
    }
    // A file gone since `run` is named when the data are reloaded (under the 10 % share that
    // would refuse a fresh load, where the partition alone would just not fit).
    std::fs::remove_file(&images[2]).unwrap();
    let e = autopilot::store::ProjectData::load(Project::open(&proj).unwrap()).unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains(&format!("row {}, column 'image'", row_of(&images[2]))),
        "{e}"
    );
    assert!(
        e.contains("readable when the project ran is not now"),
        "{e}"
    );
}
