//! The product commands after `autopilot run`: `tune` (list / set / search), `predict` (schema
//! checks, unseen categories, blenders, input order), `export` + `predict model.apm` elsewhere,
//! and user feature lists. Called in-process on small generated data; the images of the demo
//! dataset are dropped where the point is the plumbing (one test keeps them).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use autopilot::autopilot::tuning::{self, TuneError};
use autopilot::leaderboard::Leaderboard;
use autopilot::partition::Partition;
use autopilot::project::{self, Project};
use autopilot::store;
use autopilot::synth::{self, DemoSpec};

use crate::common::{cli, leaderboard, read_csv, s, weights_available, write_csv};

/// The demo dataset (`n_rows`, 3 classes) without its `image` column unless `images`.
fn demo(dir: &Path, n_rows: usize, images: bool) -> PathBuf {
    let spec = DemoSpec {
        n_rows,
        n_classes: 3,
        seed: 11,
        image_size: 24,
    };
    let csv = synth::write_demo_dataset(dir, &spec).unwrap();
    if images {
        return csv;
    }
    let (h, rows) = read_csv(&csv);
    let keep: Vec<usize> = (0..h.len()).filter(|&i| h[i] != "image").collect();
    let pick = |r: &Vec<String>| keep.iter().map(|&i| r[i].clone()).collect::<Vec<_>>();
    let out = dir.join("tabular.csv");
    write_csv(&out, &pick(&h), &rows.iter().map(pick).collect::<Vec<_>>());
    out
}

fn run(csv: &Path, proj: &Path, extra: &[&str]) -> i32 {
    let mut args = vec![
        "run",
        s(csv),
        "--target",
        synth::DEMO_TARGET,
        "--group",
        synth::DEMO_GROUP,
        "--project",
        s(proj),
        "--quiet",
        "--backbone",
        "efficientnet-lite0",
    ];
    args.extend_from_slice(extra);
    cli(&args)
}

/// A comprehensive run (minutes) on the 150-row tabular demo, made once per test process under
/// the target's scratch folder and shared by the tests that need one; each gets its own copy
/// of the project in `dest` (the data stays in the scratch folder). Returns the CSV.
fn comprehensive_project(dest: &Path) -> PathBuf {
    static SHARED: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    let (csv, proj) = SHARED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("product_cli_comprehensive");
        let _ = std::fs::remove_dir_all(&dir);
        let csv = demo(&dir.join("data"), 150, false);
        let proj = dir.join("p");
        assert_eq!(run(&csv, &proj, &["--mode", "comprehensive"]), 0);
        (csv, proj)
    });
    copy_dir(proj, dest);
    csv.clone()
}

/// Copies the folder `from` (files and subfolders) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Rows of `oof.npy` that are all zero: the holdout rows, never predicted out of fold.
fn zero_rows(proj: &Path, id: &str) -> Vec<usize> {
    let p = Project::open(proj).unwrap();
    let oof = p
        .load_matrix(&format!("models/{id}/oof.npy"), (None, None))
        .unwrap();
    (0..oof.nrows())
        .filter(|&r| oof.row(r).iter().all(|&v| v == 0.0))
        .collect()
}

/// A cross-validated, non-blender TF-IDF model (any feature list) with the given estimator name.
fn cv_model(lb: &Leaderboard, proj: &Path, estimator: &str) -> String {
    let p = Project::open(proj).unwrap();
    lb.rows
        .iter()
        .find(|r| {
            r.members.is_empty()
                && r.parent.is_none()
                && r.blueprint.contains("TF-IDF")
                && r.blueprint.ends_with(estimator)
                && p.exists(&format!("models/{}/model.json", r.model_id))
        })
        .unwrap_or_else(|| panic!("no cross-validated {estimator} in {lb:#?}"))
        .model_id
        .clone()
}

#[test]
fn tune_lists_sets_and_searches_on_the_same_folds() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = tmp.path().join("p");
    comprehensive_project(&proj);
    let lb = leaderboard(&proj);
    let parent = cv_model(&lb, &proj, "Logistic Regression");
    let project = Project::open(&proj).unwrap();
    let saved = store::saved_model(&project, &parent).unwrap();
    let lists = store::feature_lists(&project).unwrap();
    assert!(lists.iter().any(|l| l.name == "Informative Features"));

    // --list: featurizer and estimator parameters.
    assert_eq!(cli(&["tune", &parent, "--project", s(&proj), "--list"]), 0);
    let specs = tuning::tunable_params(&saved.candidate, &lists);
    let names: Vec<&str> = specs.iter().map(|p| p.name.as_str()).collect();
    for n in [
        tuning::FEATURE_LIST,
        tuning::TFIDF_WORD,
        tuning::TFIDF_MIN_DF,
    ] {
        assert!(names.contains(&n), "{n} not in {names:?}");
    }
    let est = saved.candidate.estimator.params();
    assert!(!est.is_empty());
    assert!(est.iter().all(|p| names.contains(&p.name.as_str())));

    // Invalid names and values are refused, nothing is trained.
    assert_eq!(
        cli(&["tune", &parent, "--project", s(&proj), "--set", "nope=1"]),
        1
    );
    assert_eq!(
        cli(&[
            "tune",
            &parent,
            "--project",
            s(&proj),
            "--set",
            "tfidf_word_ngrams=7-9"
        ]),
        1
    );
    let mut c = saved.candidate.clone();
    let ds_err = tuning::apply_setting(
        &mut c,
        "tfidf_word_ngrams",
        "7-9",
        &autopilot::store::ProjectData::load(project.clone())
            .unwrap()
            .dataset,
        &lists,
    )
    .unwrap_err();
    assert!(
        matches!(&ds_err, TuneError::InvalidValue { expected, .. } if expected.contains("1-2")),
        "{ds_err}"
    );
    assert_eq!(leaderboard(&proj).rows.len(), lb.rows.len());

    // --set: one new row, linked to its parent, on the same folds and holdout.
    let args = [
        "tune",
        parent.as_str(),
        "--project",
        s(&proj),
        "--quiet",
        "--set",
        "tfidf_char_ngrams=none",
        "--set",
        "C=0.5",
    ];
    assert_eq!(cli(&args), 0);
    let lb2 = leaderboard(&proj);
    assert_eq!(lb2.rows.len(), lb.rows.len() + 1);
    let tuned = lb2.rows.last().unwrap();
    assert_eq!(tuned.parent.as_deref(), Some(parent.as_str()));
    assert_eq!(tuned.params["tfidf_char_ngrams"], "none");
    assert_eq!(tuned.params["C"].parse::<f64>().unwrap(), 0.5);
    assert_eq!(tuned.cv_folds.len(), 5);
    assert!(tuned.holdout.is_some());
    let partition: Partition = project.load_json(project::PARTITION_FILE).unwrap();
    let mut holdout = partition.holdout.clone();
    holdout.sort_unstable();
    assert_eq!(zero_rows(&proj, &tuned.model_id), holdout);
    assert_eq!(zero_rows(&proj, &parent), holdout);
    // The same request again trains nothing.
    assert_eq!(cli(&args), 0);
    assert_eq!(leaderboard(&proj).rows.len(), lb2.rows.len());

    // --search: every grid point recorded with the parent.
    assert_eq!(
        cli(&[
            "tune",
            &parent,
            "--project",
            s(&proj),
            "--quiet",
            "--search",
            "tfidf_min_df=2,3"
        ]),
        0
    );
    let lb3 = leaderboard(&proj);
    let searched: Vec<_> = lb3.rows[lb2.rows.len()..].iter().collect();
    assert_eq!(searched.len(), 2);
    let mins: Vec<&str> = searched
        .iter()
        .map(|r| r.params["tfidf_min_df"].as_str())
        .collect();
    assert_eq!(mins, ["2", "3"]);
    assert!(
        searched
            .iter()
            .all(|r| r.parent.as_deref() == Some(parent.as_str()))
    );
    // Blenders and stage-only rows cannot be tuned.
    let blender = lb3.rows.iter().find(|r| !r.members.is_empty()).unwrap();
    assert_eq!(
        cli(&["tune", &blender.model_id, "--project", s(&proj), "--list"]),
        1
    );
}

/// Probabilities by row from a prediction CSV.
fn probabilities(path: &Path, classes: &[String], target: &str) -> Vec<Vec<f64>> {
    let (h, rows) = read_csv(path);
    let idx: Vec<usize> = classes
        .iter()
        .map(|c| {
            let name = format!("{target}_{c}_PROBABILITY");
            h.iter()
                .position(|x| *x == name)
                .unwrap_or_else(|| panic!("{name} not in {h:?}"))
        })
        .collect();
    rows.iter()
        .map(|r| idx.iter().map(|&i| r[i].parse::<f64>().unwrap()).collect())
        .collect()
}

#[test]
fn predict_reproduces_holdout_predictions_and_checks_the_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = tmp.path().join("p");
    let csv = comprehensive_project(&proj);
    let project = Project::open(&proj).unwrap();
    let lb = leaderboard(&proj);
    let partition: Partition = project.load_json(project::PARTITION_FILE).unwrap();
    let (header, rows) = read_csv(&csv);
    let target_idx = header.iter().position(|h| h == synth::DEMO_TARGET).unwrap();
    // The holdout rows, in reverse order, without the target column.
    let mut order: Vec<usize> = partition.holdout.clone();
    order.sort_unstable();
    order.reverse();
    let drop_target = |r: &Vec<String>| {
        r.iter()
            .enumerate()
            .filter(|(i, _)| *i != target_idx)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let new_header = drop_target(&header);
    let new_rows: Vec<Vec<String>> = order.iter().map(|&r| drop_target(&rows[r])).collect();
    let new_csv = tmp.path().join("new.csv");
    write_csv(&new_csv, &new_header, &new_rows);

    // Any cross-validated TF-IDF blueprint: which estimators survive to CV varies with the catalogue.
    let model = cv_model(&lb, &proj, "");
    let out = tmp.path().join("preds.csv");
    assert_eq!(
        cli(&[
            "predict",
            &model,
            s(&new_csv),
            "-o",
            s(&out),
            "--project",
            s(&proj)
        ]),
        0
    );
    let saved = store::saved_model(&project, &model).unwrap();
    let classes = saved.classes.clone();
    let (out_header, out_rows) = read_csv(&out);
    let mut expected_header: Vec<String> = classes
        .iter()
        .map(|c| format!("{}_{c}_PROBABILITY", synth::DEMO_TARGET))
        .collect();
    expected_header.push(format!("{}_PREDICTION", synth::DEMO_TARGET));
    assert_eq!(out_header, expected_header);
    assert_eq!(out_rows.len(), order.len());
    // The mean of the fold models is the predictor the holdout was scored with: the holdout
    // predictions saved at training are reproduced row by row (in the input's order).
    let holdout_proba = project
        .load_matrix(&format!("models/{model}/holdout.npy"), (None, None))
        .unwrap();
    let mut sorted_holdout = partition.holdout.clone();
    sorted_holdout.sort_unstable();
    let got = probabilities(&out, &classes, synth::DEMO_TARGET);
    for (i, &r) in order.iter().enumerate() {
        let h = partition.holdout.iter().position(|&x| x == r).unwrap();
        for k in 0..classes.len() {
            let want = holdout_proba[[h, k]] as f64;
            assert!(
                (got[i][k] - want).abs() < 1e-5,
                "row {r} class {k}: {} vs {want}",
                got[i][k]
            );
        }
        let argmax = (0..classes.len())
            .max_by(|&a, &b| got[i][a].total_cmp(&got[i][b]).then(b.cmp(&a)))
            .unwrap();
        assert_eq!(out_rows[i].last().unwrap(), &classes[argmax]);
    }

    // A blender predicts through its members: blender(members' fold-mean predictions).
    let blender = lb.rows.iter().find(|r| !r.members.is_empty()).unwrap();
    let out_b = tmp.path().join("blend.csv");
    assert_eq!(
        cli(&[
            "predict",
            &blender.model_id,
            s(&new_csv),
            "-o",
            s(&out_b),
            "--project",
            s(&proj)
        ]),
        0
    );
    let b: Box<dyn blueprints::blend::Blender> = project
        .load_json(&format!("models/{}/blender.json", blender.model_id))
        .unwrap();
    let member_holdout: Vec<_> = blender
        .members
        .iter()
        .map(|m| {
            project
                .load_matrix(&format!("models/{m}/holdout.npy"), (None, None))
                .unwrap()
        })
        .collect();
    let views: Vec<_> = member_holdout.iter().map(|m| m.view()).collect();
    let want = b.blend(&views).unwrap();
    let got = probabilities(&out_b, &classes, synth::DEMO_TARGET);
    for (i, &r) in order.iter().enumerate() {
        let h = partition.holdout.iter().position(|&x| x == r).unwrap();
        for k in 0..classes.len() {
            assert!((got[i][k] - want[[h, k]] as f64).abs() < 1e-5);
        }
    }
    // `best` resolves to a deployable model.
    assert_eq!(
        cli(&[
            "predict",
            "best",
            s(&new_csv),
            "-o",
            s(&out_b),
            "--project",
            s(&proj)
        ]),
        0
    );

    // A missing input column is a clear error naming it (every TF-IDF model reads the caption).
    let price = new_header.iter().position(|h| h == "caption").unwrap();
    let without = |r: &Vec<String>| {
        r.iter()
            .enumerate()
            .filter(|(i, _)| *i != price)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let bad_csv = tmp.path().join("bad.csv");
    write_csv(
        &bad_csv,
        &without(&new_header),
        &new_rows.iter().map(without).collect::<Vec<_>>(),
    );
    let predictor = store::load_predictor(&project, &model).unwrap();
    let e = predictor
        .predict_csv(&bad_csv, &tmp.path().join("x.csv"), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing column(s) 'caption'"), "{e}");
    assert_eq!(
        cli(&[
            "predict",
            &model,
            s(&bad_csv),
            "-o",
            s(&out),
            "--project",
            s(&proj)
        ]),
        1
    );

    // An unseen category is "unknown", exactly like a missing value.
    let colour = new_header.iter().position(|h| h == "colour").unwrap();
    let mut a = new_rows[0].clone();
    let mut b2 = new_rows[0].clone();
    a[colour] = "chartreuse".into();
    b2[colour] = String::new();
    let cat_csv = tmp.path().join("cat.csv");
    write_csv(&cat_csv, &new_header, &[a, b2]);
    let cat_out = tmp.path().join("cat_out.csv");
    let r = predictor
        .predict_csv(&cat_csv, &cat_out, &Default::default())
        .unwrap();
    assert_eq!((r.rows, r.predicted), (2, 2));
    let p = probabilities(&cat_out, &classes, synth::DEMO_TARGET);
    assert_eq!(p[0], p[1]);
}

#[test]
fn user_feature_lists_join_the_catalogue() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = demo(&tmp.path().join("data"), 90, false);
    let proj = tmp.path().join("p");
    assert_eq!(
        run(
            &csv,
            &proj,
            &["--feature-list", "no-text=price,colour,date"]
        ),
        0
    );
    let lb = leaderboard(&proj);
    assert!(
        lb.rows.iter().any(|r| r.feature_list == "no-text"),
        "{lb:#?}"
    );
    let lists = store::feature_lists(&Project::open(&proj).unwrap()).unwrap();
    let mine = lists.iter().find(|l| l.name == "no-text").unwrap();
    assert_eq!(mine.columns, ["price", "colour", "date"]);
    // The last stage: Feature Impact of the best cross-validated blueprint, a "Reduced" list
    // (at least one column, fewer than the parent's), and the parent retrained on it.
    let reduced = lists
        .iter()
        .find(|l| l.name == autopilot::autopilot::REDUCED_LIST)
        .expect("a Reduced feature list");
    let row = lb
        .rows
        .iter()
        .find(|r| r.feature_list == autopilot::autopilot::REDUCED_LIST)
        .expect("a model on the Reduced list");
    let parent = row.parent.clone().expect("the Reduced model has a parent");
    let project = Project::open(&proj).unwrap();
    let parent_inputs = store::saved_model(&project, &parent)
        .unwrap()
        .candidate
        .blocks
        .len();
    assert!(!reduced.columns.is_empty() && reduced.columns.len() < parent_inputs);
    let child = store::saved_model(&project, &row.model_id).unwrap();
    let cols: Vec<&str> = child.candidate.blocks.iter().map(|b| b.column()).collect();
    assert_eq!(cols.len(), reduced.columns.len());
    assert!(cols.iter().all(|c| reduced.columns.iter().any(|r| r == c)));
    // The parent is the best cross-validated single blueprint.
    let best_single = lb
        .sorted(blueprints::metrics::Metric::BalancedAccuracy)
        .into_iter()
        .find(|r| {
            r.members.is_empty()
                && r.cv_mean.is_some()
                && r.parent.is_none()
                && r.sample_pct == 100.0
                && r.blueprint != autopilot::leaderboard::BASELINE_BLUEPRINT
        })
        .unwrap();
    assert_eq!(parent, best_single.model_id);
    // Unknown columns and the target are refused before anything is trained.
    let bad = tmp.path().join("bad");
    assert_eq!(run(&csv, &bad, &["--feature-list", "x=price,nope"]), 1);
    assert_eq!(run(&csv, &bad, &["--feature-list", "x=price,label"]), 1);
    assert_eq!(run(&csv, &bad, &["--feature-list", "nocolumns="]), 2);
    assert!(!bad.join(project::PROJECT_FILE).exists());
    // --resume needs an existing project.
    assert_eq!(run(&csv, &bad, &["--resume", "--baseline-only"]), 1);
    assert_eq!(
        run(
            &csv,
            &proj,
            &["--resume", "--feature-list", "no-text=price,colour,date"]
        ),
        0
    );
    assert_eq!(leaderboard(&proj).rows.len(), lb.rows.len());
}

#[test]
fn exported_model_predicts_elsewhere_and_bad_images_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let images = weights_available(&["efficientnet-lite0"]);
    let data = tmp.path().join("data");
    let csv = demo(&data, 90, images);
    let proj = tmp.path().join("p");
    assert_eq!(run(&csv, &proj, &[]), 0);
    let project = Project::open(&proj).unwrap();
    let best = store::resolve_model_id(&project, "best").unwrap();
    let (header, mut rows) = read_csv(&csv);
    rows.truncate(12);
    let new_csv = data.join("new.csv");
    if images {
        // Row 3 (spreadsheet row 5) points at a file that is not an image.
        let img = header.iter().position(|h| h == "image").unwrap();
        std::fs::write(data.join("images/broken.png"), b"not a png").unwrap();
        rows[3][img] = "images/broken.png".into();
        // Row 6 (spreadsheet row 8) has no image: predicted, with a warning.
        rows[6][img] = String::new();
    }
    write_csv(&new_csv, &header, &rows);
    let in_project = tmp.path().join("in_project.csv");
    assert_eq!(
        cli(&[
            "predict",
            &best,
            s(&new_csv),
            "-o",
            s(&in_project),
            "--project",
            s(&proj)
        ]),
        0
    );
    if images {
        // The same rows from a CSV elsewhere, its image paths absolute: refused unless
        // `--allow-outside`, as the error says.
        let img = header.iter().position(|h| h == "image").unwrap();
        let absolute: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if !r[img].is_empty() {
                    r[img] = s(&data.join(&r[img])).to_string();
                }
                r
            })
            .collect();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let outside_csv = elsewhere.join("new.csv");
        write_csv(&outside_csv, &header, &absolute);
        let preds = tmp.path().join("outside_preds.csv");
        let predict = |extra: &[&str]| {
            let mut args = vec!["predict", &best, s(&outside_csv), "-o", s(&preds)];
            args.extend_from_slice(&["--project", s(&proj)]);
            args.extend_from_slice(extra);
            cli(&args)
        };
        assert_eq!(predict(&[]), 1);
        assert_eq!(predict(&["--allow-outside"]), 0);
        assert_eq!(read_csv(&preds).1.len(), 12);
    }
    let apm = tmp.path().join("model.apm");
    assert_eq!(
        cli(&["export", &best, "-o", s(&apm), "--project", s(&proj)]),
        0
    );
    // "Another machine": the file alone, the project deleted.
    let elsewhere = tempfile::tempdir().unwrap();
    let moved = elsewhere.path().join("model.apm");
    std::fs::rename(&apm, &moved).unwrap();
    std::fs::remove_dir_all(&proj).unwrap();
    let from_apm = elsewhere.path().join("preds.csv");
    assert_eq!(
        cli(&["predict", s(&moved), s(&new_csv), "-o", s(&from_apm)]),
        0
    );
    let (h1, r1) = read_csv(&in_project);
    let (h2, r2) = read_csv(&from_apm);
    assert_eq!(h1, h2);
    assert_eq!(r1.len(), 12);
    assert_eq!(r2.len(), 12);
    let n_prob = h1.iter().filter(|h| h.ends_with("_PROBABILITY")).count();
    for (a, b) in r1.iter().zip(&r2) {
        for k in 0..n_prob {
            let (x, y) = (a[k].parse::<f64>(), b[k].parse::<f64>());
            match (x, y) {
                (Ok(x), Ok(y)) => assert!((x - y).abs() < 1e-3, "{a:?} vs {b:?}"),
                _ => assert_eq!(a[k], b[k]),
            }
        }
    }
    if images {
        // The broken image's row is reported and left empty; the others are predicted.
        assert!(r2[3].iter().all(|v| v.is_empty()), "{:?}", r2[3]);
        assert!(
            r2.iter()
                .enumerate()
                .all(|(i, r)| i == 3 || !r[0].is_empty())
        );
        let loaded = autopilot::model::apm::read_apm(&moved).unwrap();
        assert!(!loaded.weights.is_empty(), "weights are embedded");
        let report = loaded
            .predictor
            .predict_csv(
                &new_csv,
                &elsewhere.path().join("again.csv"),
                &autopilot::model::FeatureSource {
                    project: None,
                    weights: loaded.weights.clone(),
                },
            )
            .unwrap();
        assert_eq!(report.predicted, 11);
        assert_eq!(report.problems.len(), 1);
        assert_eq!(report.problems[0].row, 5);
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.starts_with("column 'image': row 8 has no image")),
            "{:?}",
            report.warnings
        );
        // When no row has a readable image, each row is still reported with its own reason,
        // and the command fails.
        let img = header.iter().position(|h| h == "image").unwrap();
        let broken: Vec<Vec<String>> = rows[..2]
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r[img] = "images/broken.png".into();
                r
            })
            .collect();
        let all_bad = data.join("all_bad.csv");
        write_csv(&all_bad, &header, &broken);
        let source = autopilot::model::FeatureSource {
            project: None,
            weights: loaded.weights.clone(),
        };
        let out = elsewhere.path().join("none.csv");
        let report = loaded
            .predictor
            .predict_csv(&all_bad, &out, &source)
            .unwrap();
        assert_eq!(report.predicted, 0);
        let rows: Vec<usize> = report.problems.iter().map(|p| p.row).collect();
        assert_eq!(rows, [2, 3]);
        assert!(
            report
                .problems
                .iter()
                .all(|p| p.reason.contains("broken.png"))
        );
        assert_eq!(cli(&["predict", s(&moved), s(&all_bad), "-o", s(&out)]), 1);
    }
    // A flipped byte is caught by the checksums.
    let mut bytes = std::fs::read(&moved).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x55;
    let corrupt = elsewhere.path().join("corrupt.apm");
    std::fs::write(&corrupt, &bytes).unwrap();
    let e = autopilot::model::apm::read_apm(&corrupt)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    assert_eq!(
        cli(&["predict", s(&corrupt), s(&new_csv), "-o", s(&from_apm)]),
        1
    );
}
