//! The fine-tuned CNN end to end: `run --fine-tune` puts a cross-validated fine-tuned row on the
//! leaderboard (its time estimate announced before it starts), `insights --activation-maps`
//! explains it by Grad-CAM from its own head, `predict` scores rows with it, `tune` retrains it
//! with other settings (two trained stages included).

use autopilot::synth::{self, DemoSpec};

use crate::common::{cli, leaderboard, run_args, s, weights_available};

#[test]
fn run_fine_tune_gives_a_cross_validated_row_explained_by_its_own_grad_cam() {
    if !weights_available(&["efficientnet-lite0"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let spec = DemoSpec {
        n_rows: 60,
        n_classes: 3,
        seed: 3,
        image_size: 32,
    };
    let csv = synth::write_demo_dataset(tmp.path(), &spec).unwrap();
    let proj = tmp.path().join("p");
    let events = tmp.path().join("events.jsonl");
    let args = run_args(
        &csv,
        &proj,
        &[
            "--fine-tune",
            "--backbone",
            "efficientnet-lite0",
            "--device",
            "cpu",
            "--events",
            s(&events),
        ],
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(cli(&refs), 0);

    // The estimate came before the fine-tuned model started.
    let log = std::fs::read_to_string(&events).unwrap();
    let started = log
        .lines()
        .find(|l| l.contains("\"started\"") && l.contains("Fine-tuned CNN"))
        .unwrap_or_else(|| panic!("no fine-tuned model started:\n{log}"));
    let e: serde_json::Value = serde_json::from_str(started).unwrap();
    assert!(e["fit_estimate_s"].as_f64().unwrap() > 0.0, "{started}");

    let lb = leaderboard(&proj);
    let row = lb
        .rows
        .iter()
        .find(|r| r.blueprint.contains("(trunk) → Fine-tuned CNN") && r.cv_mean.is_some())
        .unwrap_or_else(|| panic!("no cross-validated fine-tuned row: {:?}", lb.rows));
    let id = row.model_id.clone();

    let out = tmp.path().join("insights");
    assert_eq!(
        cli(&[
            "insights",
            &id,
            "--project",
            s(&proj),
            "--activation-maps",
            "--images",
            "2",
            "-o",
            s(&out),
        ]),
        0
    );
    let maps: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(out.join("activation_maps_image.json")).unwrap())
            .unwrap();
    assert_eq!(maps.len(), 2);
    assert!(maps.iter().all(|m| m["method"] == "grad-cam"), "{maps:?}");

    let preds = tmp.path().join("preds.csv");
    assert_eq!(
        cli(&[
            "predict",
            &id,
            s(&csv),
            "-o",
            s(&preds),
            "--project",
            s(&proj)
        ]),
        0
    );
    let text = std::fs::read_to_string(&preds).unwrap();
    assert_eq!(text.lines().count(), spec.n_rows + 1);

    // Advanced tuning retrains it with other settings: two stages read the deeper trunk maps.
    assert_eq!(
        cli(&[
            "tune",
            &id,
            "--project",
            s(&proj),
            "--set",
            "epochs=2",
            "--set",
            "stages=2",
            "--quiet"
        ]),
        0
    );
    let lb = leaderboard(&proj);
    assert!(
        lb.rows
            .iter()
            .any(|r| r.parent.as_deref() == Some(id.as_str())
                && r.blueprint.contains("(trunk2) → Fine-tuned CNN")
                && r.cv_mean.is_some()),
        "{:?}",
        lb.rows
    );
}
