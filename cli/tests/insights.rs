//! Insights on generated data: Feature Impact in-process (an informative column must outrank a
//! pure-noise column), then every insight and the HTML report through the CLI on a small run.

use std::path::{Path, PathBuf};

use autopilot::autopilot::candidates::blocks_for;
use autopilot::dataset::{self, LoadOptions};
use autopilot::features::FeatureInputs;
use autopilot::insights::confusion::Confusion;
use autopilot::insights::{FeatureImpact, FeatureImpactOptions, permutation_impact_cv};
use autopilot::leaderboard::Leaderboard;
use autopilot::model::Model;
use autopilot::partition::{Partition, PartitionSpec};
use autopilot::project::{self, Project};
use autopilot::synth::{self, DemoSpec};
use blueprints::linear::LogisticRegression;

use crate::common::{cli, s, weights_available};

/// The demo dataset with an extra `noise` column of seeded random numbers (no signal).
fn demo_with_noise(dir: &Path, n_rows: usize, drop_image: bool) -> PathBuf {
    let spec = DemoSpec {
        n_rows,
        n_classes: 3,
        seed: 11,
        image_size: 32,
    };
    let csv = synth::write_demo_dataset(dir, &spec).unwrap();
    let mut rdr = csv::Reader::from_path(&csv).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let keep: Vec<usize> = (0..headers.len())
        .filter(|&i| !(drop_image && &headers[i] == "image"))
        .collect();
    let out = dir.join("with_noise.csv");
    let mut w = csv::Writer::from_path(&out).unwrap();
    let mut h: Vec<String> = keep.iter().map(|&i| headers[i].to_string()).collect();
    h.push("noise".into());
    w.write_record(&h).unwrap();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut row: Vec<String> = keep.iter().map(|&i| rec[i].to_string()).collect();
        row.push(format!("{:.4}", (state % 10_000) as f64 / 100.0));
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
    out
}

#[test]
fn feature_impact_ranks_the_informative_column_above_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = demo_with_noise(tmp.path(), 240, true);
    let opts = LoadOptions {
        target: Some(synth::DEMO_TARGET.into()),
        ..LoadOptions::default()
    };
    let ds = dataset::load(&csv, &opts).unwrap();
    let target = ds.target(synth::DEMO_TARGET).unwrap();
    let spec = PartitionSpec {
        k: 5,
        holdout_pct: 20.0,
        seed: 3,
    };
    let partition = Partition::stratified(&target.labels, &target.classes, &spec).unwrap();
    let columns: Vec<String> = ["caption", "price", "noise"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let blocks = blocks_for(&ds, &columns, "none");
    assert_eq!(blocks.len(), 3);
    let inputs = FeatureInputs::new(&ds);
    let models: Vec<Model> = (0..partition.k)
        .map(|f| {
            let rows = partition.train_rows(f);
            Model::fit(
                &blocks,
                Box::new(LogisticRegression::default()),
                &inputs,
                &rows,
                &target.rows(&rows),
                &target.classes,
                f as u64,
            )
            .unwrap()
        })
        .collect();
    let options = FeatureImpactOptions {
        repeats: 4,
        seed: 9,
        max_rows: None,
    };
    let fi: FeatureImpact =
        permutation_impact_cv(&models, &inputs, &target, &partition, &options).unwrap();
    println!("{}", fi.render_text());
    assert_eq!(fi.n_rows, partition.cv_rows().len());
    assert_eq!(fi.columns.len(), 3);
    // Sorted, top normalized to 1.
    assert!((fi.columns[0].impact - 1.0).abs() < 1e-12);
    assert!(
        fi.columns
            .windows(2)
            .all(|w| w[0].drop_mean >= w[1].drop_mean)
    );
    let caption = fi.get("caption").unwrap();
    let noise = fi.get("noise").unwrap();
    assert_eq!(caption.kind, "text");
    assert!(
        caption.drop_mean > noise.drop_mean + 0.1,
        "caption {caption:?} vs noise {noise:?}"
    );
    assert!(noise.impact.abs() < 0.25, "noise impact {noise:?}");
    // The baseline is the out-of-fold balanced accuracy of these fold models, computed here
    // independently from their predictions.
    let mut y = Vec::new();
    let mut pred = Vec::new();
    for (f, m) in models.iter().enumerate() {
        let rows = partition.valid_rows(f);
        let p = m.predict_proba(&inputs, &rows).unwrap();
        pred.extend(blueprints::metrics::argmax_rows(p.view()));
        y.extend(rows.iter().map(|&r| target.labels[r]));
    }
    let ba = blueprints::metrics::balanced_accuracy(&y, &pred, 3).unwrap();
    assert!((fi.baseline - ba).abs() < 1e-12, "{} vs {ba}", fi.baseline);
    // Same seed, same result; the reduced list leaves the noise out.
    let again = permutation_impact_cv(&models, &inputs, &target, &partition, &options).unwrap();
    assert_eq!(fi, again);
    assert!(!fi.reduced(0.9, 10).contains(&"noise".to_string()));
    // Wrong number of fold models is an error, not a panic.
    assert!(permutation_impact_cv(&models[..2], &inputs, &target, &partition, &options).is_err());
}

/// Grad-CAM of a logistic head on EfficientNet-Lite0 features: the level maps, weighted by the
/// head's gradient, average exactly to the image's contribution to the centred logit, which is
/// read independently off the model's probabilities with and without the image features.
#[test]
fn grad_cam_maps_add_up_to_the_logistic_head_s_image_score() {
    use autopilot::features::image::{ImageSettings, featurizer_for, image_features};
    use autopilot::insights::activation_maps::{Decision, MapSubject};
    use autopilot::insights::grad_cam::{grad_cam_map, weighted_level_maps};
    use autopilot::model::BlockSpec;
    use blueprints::metrics::argmax;

    if !weights_available(&["efficientnet-lite0"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let csv = demo_with_noise(tmp.path(), 60, false);
    let opts = LoadOptions {
        target: Some(synth::DEMO_TARGET.into()),
        ..LoadOptions::default()
    };
    let ds = dataset::load(&csv, &opts).unwrap();
    let target = ds.target(synth::DEMO_TARGET).unwrap();
    let columns = vec!["image".to_string(), "price".to_string()];
    let blocks = blocks_for(&ds, &columns, "efficientnet-lite0");
    let key = blocks
        .iter()
        .find_map(|b| match b {
            BlockSpec::Image(k) => Some(k.clone()),
            _ => None,
        })
        .unwrap();
    let settings = ImageSettings {
        device: neural::DeviceChoice::Cpu,
        batch_size: 16,
        ..ImageSettings::default()
    };
    let matrix = image_features(None, &ds, &key, &settings).unwrap();
    let mut inputs = FeatureInputs::new(&ds);
    inputs.insert(key.clone().into(), std::sync::Arc::new(matrix));
    let rows: Vec<usize> = (0..40).collect();
    let model = Model::fit(
        &blocks,
        Box::new(LogisticRegression::default()),
        &inputs,
        &rows,
        &target.rows(&rows),
        &target.classes,
        0,
    )
    .unwrap();
    let featurizer = featurizer_for(&key, &settings).unwrap();
    let dim = featurizer.feature_dim();
    let centred = |p: ndarray::ArrayView1<f32>, c: usize| -> f64 {
        let logs: Vec<f64> = p.iter().map(|&v| f64::from(v).ln()).collect();
        logs[c] - logs.iter().sum::<f64>() / logs.len() as f64
    };
    for row in [45usize, 52] {
        let subject = MapSubject {
            column: "image",
            row,
            file_row: row + 2,
            actual: target.labels[row],
            decision: Decision::default(),
        };
        let map = grad_cam_map(&model, &inputs, &featurizer, subject)
            .unwrap()
            .expect("logistic regression is differentiable");
        let crop = featurizer.preprocess_config().crop;
        assert_eq!(map.heat.dim(), (crop, crop));
        let max = map.heat.iter().copied().fold(0.0f32, f32::max);
        assert!(map.heat.iter().all(|&v| v >= 0.0) && (max - 1.0).abs() < 1e-6);
        // The image's share of the centred logit, from probabilities alone.
        let x = model.pipeline.transform(&inputs, &[row]).unwrap();
        let p = model.estimator.predict_proba(&x).unwrap();
        let c = argmax(p.row(0));
        assert_eq!(c as u32, map.predicted);
        let mut blank = x.clone();
        // The image block comes first (block order = column order).
        blank
            .dense
            .as_mut()
            .unwrap()
            .slice_mut(ndarray::s![.., 0..dim])
            .fill(0.0);
        let p0 = model.estimator.predict_proba(&blank).unwrap();
        let share = centred(p.row(0), c) - centred(p0.row(0), c);
        // The same share from the Grad-CAM maps.
        let grad = model
            .estimator
            .dense_logit_gradient(&x, c)
            .unwrap()
            .unwrap();
        let img = neural::preprocess::load_rgb(
            &ds.image_path(ds.column("image").unwrap().values[row].as_deref().unwrap()),
        )
        .unwrap();
        let input =
            neural::preprocess::preprocess_rgb(&img, featurizer.preprocess_config()).unwrap();
        let maps = featurizer.level_maps(input).unwrap();
        let weighted = weighted_level_maps(&maps, &grad[..dim]).unwrap();
        let from_maps: f64 = weighted.iter().map(|m| f64::from(m.mean().unwrap())).sum();
        assert!(
            (from_maps - share).abs() < 1e-3 * (1.0 + share.abs()),
            "row {row}: maps give {from_maps}, probabilities {share}"
        );
        assert!(share.abs() > 1e-3, "the image should move the logit");
    }
}

fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

#[test]
fn every_insight_and_the_report_on_a_small_run() {
    let tmp = tempfile::tempdir().unwrap();
    let images = weights_available(&["efficientnet-lite0"]);
    let csv = demo_with_noise(&tmp.path().join("data"), 120, !images);
    // A first data row whose image is missing: skipped, so dataset rows and file rows differ.
    let read_rows = |path: &Path| -> Vec<Vec<String>> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(path)
            .unwrap();
        rdr.records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    };
    let mut rows = read_rows(&csv);
    let image_col = rows[0].iter().position(|h| h == "image");
    if let Some(i) = image_col {
        let mut bad = rows[1].clone();
        bad[i] = "images/missing.png".into();
        rows.insert(1, bad);
        let mut w = csv::Writer::from_path(&csv).unwrap();
        rows.iter().for_each(|r| w.write_record(r).unwrap());
        w.flush().unwrap();
    }
    let proj = tmp.path().join("p.autopilot");
    assert_eq!(
        cli(&[
            "run",
            s(&csv),
            "--target",
            synth::DEMO_TARGET,
            "--group",
            synth::DEMO_GROUP,
            "--project",
            s(&proj),
            "--backbone",
            "efficientnet-lite0",
            "--quiet",
        ]),
        0
    );
    let lb: Leaderboard = Project::open(&proj)
        .unwrap()
        .load_json(project::LEADERBOARD_FILE)
        .unwrap();
    // A cross-validated model that reads the image column when there is one, else any.
    let model = lb
        .rows
        .iter()
        .filter(|r| {
            r.cv_mean.is_some()
                && proj
                    .join(format!("models/{}/model.json", r.model_id))
                    .exists()
        })
        .find(|r| !images || r.blueprint.to_lowercase().contains("efficientnet"))
        .unwrap_or_else(|| panic!("no cross-validated model: {lb:?}"))
        .model_id
        .clone();
    let out = tmp.path().join("insights");
    assert_eq!(
        cli(&[
            "insights",
            &model,
            "--project",
            s(&proj),
            "-o",
            s(&out),
            "--images",
            "4",
            "--repeats",
            "2",
        ]),
        0
    );
    // Feature Impact: every input column once, top = 1.
    let fi: FeatureImpact =
        serde_json::from_slice(&std::fs::read(out.join("feature_impact.json")).unwrap()).unwrap();
    assert!(!fi.columns.is_empty());
    assert!((fi.columns[0].impact - 1.0).abs() < 1e-9 || fi.columns[0].drop_mean <= 0.0);
    let (w, h) = png_size(&out.join("feature_impact.png"));
    assert!(w >= 400 && h >= 100, "{w}x{h}");
    assert!(
        std::fs::read_to_string(out.join("feature_impact.svg"))
            .unwrap()
            .contains("<svg")
    );
    // Confusion: counts sum to the number of cross-validation rows.
    let cm: Confusion =
        serde_json::from_slice(&std::fs::read(out.join("confusion_cv.json")).unwrap()).unwrap();
    let partition: Partition = Project::open(&proj)
        .unwrap()
        .load_json(project::PARTITION_FILE)
        .unwrap();
    let total: u64 = cm.counts.iter().flatten().sum();
    assert_eq!(total as usize, partition.cv_rows().len());
    assert_eq!(cm.counts.len(), 3);
    png_size(&out.join("confusion_cv.png"));
    // Word clouds of the caption: one figure per class and a table.
    for class in ["circle", "square", "cross"] {
        png_size(&out.join(format!("word_cloud_caption_{class}.png")));
    }
    let table = std::fs::read_to_string(out.join("word_cloud_caption.txt")).unwrap();
    assert!(table.contains("class circle"), "{table}");
    if images {
        let (w, _) = png_size(&out.join("activation_maps_image.png"));
        assert!(w > 400);
        let maps: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(out.join("activation_maps_image.json")).unwrap())
                .unwrap();
        assert_eq!(maps.len(), 4);
        // Each map names its row as the file numbers it (header = 1), with its image.
        let file_rows = read_rows(&csv);
        let i = image_col.unwrap();
        for m in &maps {
            let row = m["file_row"].as_u64().unwrap() as usize;
            assert_eq!(
                m["image"].as_str(),
                Some(file_rows[row - 1][i].as_str()),
                "{m}"
            );
        }
        png_size(&out.join("embeddings_image.png"));
        png_size(&out.join("embeddings_image_circle.png"));
        let emb: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("embeddings_image.json")).unwrap())
                .unwrap();
        assert_eq!(
            emb["points"].as_array().unwrap().len(),
            partition.cv_rows().len()
        );
        // Filter by actual class: only that class's images.
        let filtered = tmp.path().join("filtered");
        assert_eq!(
            cli(&[
                "insights",
                &model,
                "--project",
                s(&proj),
                "--activation-maps",
                "--class",
                "square",
                "--images",
                "3",
                "-o",
                s(&filtered),
            ]),
            0
        );
        let maps: Vec<serde_json::Value> = serde_json::from_slice(
            &std::fs::read(filtered.join("activation_maps_image.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(maps.len(), 3);
        assert!(maps.iter().all(|m| m["actual"] == "square"), "{maps:?}");
        assert!(!filtered.join("feature_impact.json").exists());
    }
    // An unknown class is an error.
    assert_ne!(
        cli(&[
            "insights",
            &model,
            "--project",
            s(&proj),
            "--activation-maps",
            "--class",
            "nope",
            "-o",
            s(&tmp.path().join("x"))
        ]),
        0
    );

    // The report: one HTML file with the leaderboard and the figures embedded.
    let html_path = tmp.path().join("report.html");
    assert_eq!(
        cli(&[
            "report",
            "--project",
            s(&proj),
            "--model",
            &model,
            "--images",
            "4",
            "-o",
            s(&html_path)
        ]),
        0
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("id=\"leaderboard-table\""));
    for r in &lb.rows {
        assert!(
            html.contains(&format!("<td>{}</td>", r.model_id)),
            "{} missing",
            r.model_id
        );
    }
    let imgs = html.matches("<img ").count();
    let embedded = html.matches("src=\"data:image/png;base64,").count();
    assert!(
        imgs >= 5 && imgs == embedded,
        "{imgs} images, {embedded} embedded"
    );
    assert!(!html.contains("src=\"/") && !html.contains("src=\"file:"));
}
