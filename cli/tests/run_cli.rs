//! End-to-end tests of `autopilot run` and `autopilot leaderboard`, called in-process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use autopilot::dataset::{self, LoadOptions};
use autopilot::leaderboard::{BASELINE_BLUEPRINT, Leaderboard};
use autopilot::partition::Partition;
use autopilot::project::{self, Project};
use blueprints::metrics::Metric;

use crate::common::s;

/// Runs the CLI in-process; `run` gets `--baseline-only` (these tests are about the project,
/// the partition and the baseline; the blueprints are tested end to end in `tests/`).
fn cli(args: &[&str]) -> i32 {
    let mut all = args.to_vec();
    if args.first() == Some(&"run") {
        all.push("--baseline-only");
    }
    crate::common::cli(&all)
}

/// 600 rows, 3 classes, 60 "artists" of 10 rows each; every artist has one class (like the
/// Spotify covers, where genre was assigned per artist).
fn write_grouped_csv(dir: &Path) -> PathBuf {
    let path = dir.join("albums.csv");
    let mut text = String::from("artist,tracks,colour,genre\n");
    let genres = ["jazz", "metal", "pop"];
    for g in 0..60 {
        for i in 0..10 {
            let colour = ["red", "green", "blue"][(g * 7 + i) % 3];
            text.push_str(&format!(
                "artist {g},{},{colour},{}\n",
                (g * 13 + i * 5) % 17 + 1,
                genres[g % 3]
            ));
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Loads `csv` the way `run` does, without decoding images again (a row skipped for a bad image
/// would make the row counts differ, which the callers assert).
fn load_fast(csv: &Path, target: &str) -> dataset::Dataset {
    let opts = LoadOptions {
        target: Some(target.into()),
        check_images: false,
        ..Default::default()
    };
    dataset::load(csv, &opts).unwrap()
}

/// Checks that no group is in two folds, nor in both CV and holdout. Returns the group count.
fn assert_groups_never_straddle(p: &Partition, groups: &[Option<String>]) -> usize {
    assert_eq!(p.n_rows(), groups.len());
    let mut seen: BTreeMap<&str, u8> = BTreeMap::new();
    for (r, g) in groups.iter().enumerate() {
        let g = g.as_deref().expect("test data has no missing groups");
        let f = p.folds[r];
        if let Some(&prev) = seen.get(g) {
            assert_eq!(
                prev, f,
                "group '{g}' is in partitions {prev} and {f} (255 = holdout)"
            );
        }
        seen.insert(g, f);
    }
    seen.len()
}

#[test]
fn run_with_group_writes_a_project_and_a_baseline_row() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write_grouped_csv(tmp.path());
    let proj = tmp.path().join("proj");
    let args = [
        "run",
        s(&csv),
        "--target",
        "genre",
        "--group",
        "artist",
        "--project",
        s(&proj),
        "--seed",
        "3",
    ];
    assert_eq!(cli(&args), 0);

    let project = Project::open(&proj).unwrap();
    assert_eq!(project.settings.group.as_deref(), Some("artist"));
    assert!(project.exists(project::PROFILE_FILE));
    let partition: Partition = project.load_json(project::PARTITION_FILE).unwrap();
    let ds = load_fast(&csv, "genre");
    let n_groups = assert_groups_never_straddle(&partition, &ds.column("artist").unwrap().values);
    assert_eq!(n_groups, 60);
    let holdout_share = partition.holdout.len() as f64 / 600.0;
    assert!(
        (holdout_share - 0.2).abs() < 0.05,
        "holdout share {holdout_share}"
    );

    let lb: Leaderboard = project.load_json(project::LEADERBOARD_FILE).unwrap();
    assert_eq!(lb.rows.len(), 1);
    let row = &lb.rows[0];
    assert_eq!(row.blueprint, BASELINE_BLUEPRINT);
    assert_eq!(row.cv_folds.len(), 5);
    // Every fold validates all three classes, and a constant prediction has recall 1 on one
    // class and 0 on the others: balanced accuracy is exactly 1/3 on every fold.
    for (f, sc) in row.cv_folds.iter().enumerate() {
        let ba = sc[&Metric::BalancedAccuracy];
        assert!((ba - 1.0 / 3.0).abs() < 1e-9, "fold {f}: {ba}");
    }
    assert!((row.cv_mean.as_ref().unwrap()[&Metric::BalancedAccuracy] - 1.0 / 3.0).abs() < 1e-9);
    assert!(row.holdout.is_some());
    assert!(!lb.holdout_unlocked);

    // Same settings: the project is reused and the baseline is not added twice.
    assert_eq!(cli(&args), 0);
    let lb2: Leaderboard = project.load_json(project::LEADERBOARD_FILE).unwrap();
    assert_eq!(lb2, lb);
    let partition2: Partition = project.load_json(project::PARTITION_FILE).unwrap();
    assert_eq!(partition2, partition);

    // Another target on the same project folder is refused.
    assert_eq!(
        cli(&["run", s(&csv), "--target", "colour", "--project", s(&proj)]),
        1
    );

    // The leaderboard command: table, JSON, one model, unknown model, bad metric.
    assert_eq!(cli(&["leaderboard", "--project", s(&proj)]), 0);
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
    assert_eq!(cli(&["leaderboard", "--project", s(&proj), "M1"]), 0);
    assert_eq!(cli(&["leaderboard", "--project", s(&proj), "M9"]), 1);
    assert_eq!(
        cli(&["leaderboard", "--project", s(&proj), "--metric", "bogus"]),
        2
    );
    // A regression metric on a classification project is refused, not a column of dashes.
    assert_eq!(
        cli(&["leaderboard", "--project", s(&proj), "--metric", "rmse"]),
        1
    );
    // Unlocking the holdout is recorded in the project.
    assert_eq!(cli(&["leaderboard", "--project", s(&proj), "--holdout"]), 0);
    let lb3: Leaderboard = project.load_json(project::LEADERBOARD_FILE).unwrap();
    assert!(lb3.holdout_unlocked);
}

#[test]
fn run_without_group_and_bad_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write_grouped_csv(tmp.path());
    let proj = tmp.path().join("plain");
    assert_eq!(
        cli(&[
            "run",
            s(&csv),
            "--target",
            "genre",
            "--project",
            s(&proj),
            "--folds",
            "4",
            "--holdout-pct",
            "0"
        ]),
        0
    );
    let p: Partition = Project::open(&proj)
        .unwrap()
        .load_json(project::PARTITION_FILE)
        .unwrap();
    assert_eq!(p.k, 4);
    assert!(p.holdout.is_empty());
    assert!(p.group_column.is_none());
    // Stratified folds of a balanced 3-class set: 150 rows each, 50 per class.
    assert_eq!(p.fold_sizes(), vec![150; 4]);
    // Bad settings fail before any project folder is created.
    let bad = tmp.path().join("bad");
    assert_eq!(
        cli(&[
            "run",
            s(&csv),
            "--target",
            "genre",
            "--project",
            s(&bad),
            "--folds",
            "1"
        ]),
        1
    );
    assert_eq!(
        cli(&["run", s(&csv), "--target", "nope", "--project", s(&bad)]),
        1
    );
    assert_eq!(
        cli(&[
            "run",
            s(&csv),
            "--target",
            "genre",
            "--group",
            "nope",
            "--project",
            s(&bad)
        ]),
        1
    );
    assert!(!bad.exists());
}

#[test]
fn run_on_the_generated_demo_dataset() {
    use autopilot::synth::{self, DemoSpec};
    let tmp = tempfile::tempdir().unwrap();
    let csv = synth::write_demo_dataset(&tmp.path().join("demo"), &DemoSpec::default()).unwrap();
    let proj = tmp.path().join("demo.autopilot");
    let code = cli(&[
        "run",
        s(&csv),
        "--target",
        synth::DEMO_TARGET,
        "--group",
        synth::DEMO_GROUP,
        "--project",
        s(&proj),
    ]);
    assert_eq!(code, 0);
    let project = Project::open(&proj).unwrap();
    let partition: Partition = project.load_json(project::PARTITION_FILE).unwrap();
    let ds = load_fast(&csv, synth::DEMO_TARGET);
    assert_groups_never_straddle(&partition, &ds.column(synth::DEMO_GROUP).unwrap().values);
    let lb: Leaderboard = project.load_json(project::LEADERBOARD_FILE).unwrap();
    let ba = lb.rows[0].cv_mean.as_ref().unwrap()[&Metric::BalancedAccuracy];
    // A constant prediction scores 1/(classes present) or 0 on each fold: never above 1/2.
    assert!((0.0..=0.5).contains(&ba), "{ba}");
}

/// The real Spotify covers data (skipped when `shared/` is absent): no artist is in two
/// folds, nor in both cross-validation and holdout.
#[test]
fn covers_partition_keeps_artists_together() {
    let Some(csv) = autopilot_testkit::shared("data/covers-spotify/albums.csv") else {
        return;
    };
    let csv = csv.as_path();
    let tmp = tempfile::tempdir().unwrap();
    let proj = tmp.path().join("covers");
    let code = cli(&[
        "run",
        s(csv),
        "--target",
        "genre",
        "--group",
        "artist_name",
        "--project",
        s(&proj),
    ]);
    assert_eq!(code, 0);
    let project = Project::open(&proj).unwrap();
    let partition: Partition = project.load_json(project::PARTITION_FILE).unwrap();
    let ds = load_fast(csv, "genre");
    let artists =
        assert_groups_never_straddle(&partition, &ds.column("artist_name").unwrap().values);
    assert!(artists > 50, "{artists} artists");
    let lb: Leaderboard = project.load_json(project::LEADERBOARD_FILE).unwrap();
    let ba = lb.rows[0].cv_mean.as_ref().unwrap()[&Metric::BalancedAccuracy];
    assert!((ba - 1.0 / 6.0).abs() < 0.02, "baseline BA {ba}");
}

/// The peer harness's fold ids (skipped when absent) import as a 5-fold partition without
/// holdout whose folds keep artists together, so both sides can be compared on identical folds.
#[test]
fn imports_peer_fold_ids() {
    let (Some(results), Some(csv)) = (
        autopilot_testkit::shared("bench/peer/results/covers_efficientnet_lite0.json"),
        autopilot_testkit::shared("data/covers-spotify/albums.csv"),
    ) else {
        return;
    };
    let csv = csv.as_path();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(results).unwrap()).unwrap();
    let ids: Vec<i32> = serde_json::from_value(json["folds"].clone()).unwrap();
    let p = Partition::from_fold_ids(ids).unwrap();
    assert_eq!(p.k, 5);
    assert!(p.holdout.is_empty());
    let ds = load_fast(csv, "genre");
    assert_groups_never_straddle(&p, &ds.column("artist_name").unwrap().values);
}

/// `--folds-from` takes the peer harness's fold ids (one per CSV record, in its results JSON):
/// the project's partition is exactly those folds, a skipped record's id is dropped, and a file
/// of the wrong length is refused before a project is created.
#[test]
fn folds_from_a_peer_results_file() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write_grouped_csv(tmp.path());
    // Record 5 (spreadsheet row 7) loses its target: ingestion skips it.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[6] = lines[6].rsplit_once(',').unwrap().0.to_string() + ",";
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    // Artist g goes to fold (g * 7) % 4; one fold id per record.
    let ids: Vec<i32> = (0..600).map(|r| (r / 10) * 7 % 4).collect();
    let folds = tmp.path().join("peer.json");
    std::fs::write(
        &folds,
        serde_json::json!({"n_rows": 600, "folds": ids, "results": {}}).to_string(),
    )
    .unwrap();
    let proj = tmp.path().join("proj");
    let args = [
        "run",
        s(&csv),
        "--target",
        "genre",
        "--group",
        "artist",
        "--folds-from",
        s(&folds),
        "--project",
        s(&proj),
    ];
    assert_eq!(cli(&args), 0);
    let project = Project::open(&proj).unwrap();
    let partition: Partition = project.load_json(project::PARTITION_FILE).unwrap();
    assert_eq!(partition.k, 4);
    assert!(partition.holdout.is_empty());
    let expected: Vec<u8> = ids
        .iter()
        .enumerate()
        .filter(|&(r, _)| r != 5)
        .map(|(_, &f)| f as u8)
        .collect();
    assert_eq!(partition.folds, expected);
    assert_eq!(project.settings.folds, 4);
    assert!(project.settings.folds_sha256.is_some());
    let lb: Leaderboard = project.load_json(project::LEADERBOARD_FILE).unwrap();
    assert_eq!(lb.rows[0].cv_folds.len(), 4);
    // Rerunning with the same file reuses the project, as does the same folds written as
    // lines with CRLF endings; --folds or --holdout-pct beside it are a usage error.
    assert_eq!(cli(&args), 0);
    let lines: String = ids.iter().map(|f| format!("{f}\r\n")).collect();
    std::fs::write(&folds, lines).unwrap();
    assert_eq!(cli(&args), 0);
    for extra in [["--folds", "3"], ["--holdout-pct", "10"]] {
        let mut both = args.to_vec();
        both.extend(extra);
        assert_eq!(cli(&both), 2, "{extra:?}");
    }
    std::fs::write(
        &folds,
        serde_json::json!(ids.iter().map(|f| (f + 1) % 4).collect::<Vec<_>>()).to_string(),
    )
    .unwrap();
    assert_eq!(cli(&args), 1);
    // A file of the wrong length: an error, and no project folder.
    std::fs::write(&folds, "[0, 1, 0]").unwrap();
    let fresh = tmp.path().join("fresh");
    let mut bad = args;
    bad[9] = s(&fresh);
    assert_eq!(cli(&bad), 1);
    assert!(!fresh.exists());
}
