//! The web app on a regression and a binary project (issue #15): the leaderboard reports and
//! ranks by the task's metric (RMSE, AUC), and a model page shows the regression's fit or the
//! binary model's ROC curve and its decision threshold, through the API and in the browser.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use autopilot_serve::ServeOptions;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::cdp::browser;
use crate::common::*;

/// Two generated projects on the same rows (a number, a colour, a short note): `price` (a
/// number) and `liked` (yes/no), each CSV without the other target.
struct TaskProjects {
    _tmp: tempfile::TempDir,
    regression: PathBuf,
    binary: PathBuf,
}

fn projects() -> &'static TaskProjects {
    static P: OnceLock<TaskProjects> = OnceLock::new();
    P.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (mut price_csv, mut liked_csv) = (
            String::from("size,colour,note,price\n"),
            String::from("size,colour,note,liked\n"),
        );
        for _ in 0..160 {
            let size: f64 = rng.random_range(0.0..10.0);
            let c = rng.random_range(0..3);
            let shiny = rng.random_bool(0.4);
            let price = 5.0
                + 3.0 * size
                + 4.0 * c as f64
                + 6.0 * f64::from(shiny)
                + rng.random_range(-1.0..1.0);
            let inputs = format!(
                "{size:.3},{},{}",
                ["red", "green", "blue"][c],
                if shiny { "shiny new" } else { "plain used" }
            );
            price_csv.push_str(&format!("{inputs},{price:.3}\n"));
            liked_csv.push_str(&format!(
                "{inputs},{}\n",
                if price > 25.0 { "yes" } else { "no" }
            ));
        }
        let run = |target: &str, csv: &str| {
            let data = tmp.path().join(format!("{target}.csv"));
            std::fs::write(&data, csv).unwrap();
            let project = tmp.path().join(format!("{target}.autopilot"));
            let code = cli(&[
                "run",
                s(&data),
                "--target",
                target,
                "--project",
                s(&project),
                "--backbone",
                "none",
                "--quiet",
            ]);
            assert_eq!(code, 0, "autopilot run --target {target} failed");
            project
        };
        let regression = run("price", &price_csv);
        let binary = run("liked", &liked_csv);
        TaskProjects {
            _tmp: tmp,
            regression,
            binary,
        }
    })
}

fn serve(project: &Path) -> autopilot_serve::Server {
    let mut o = ServeOptions::new(project.to_path_buf());
    o.port = 0;
    start(o)
}

/// The leaderboard's best model by the project's metric.
fn best_model(lb: &serde_json::Value) -> String {
    lb["best"].as_str().expect("a best model").to_string()
}

#[test]
fn a_regression_ranks_by_rmse_and_shows_its_fit() {
    let server = serve(&projects().regression);
    let addr = server.addr();
    let lb = get(addr, "/api/leaderboard").json();
    assert_eq!(lb["task"], "regression");
    assert_eq!(lb["metric"], "rmse");
    let names: Vec<&str> = lb["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"r2") && !names.contains(&"balanced_accuracy"),
        "{names:?}"
    );
    let id = best_model(&lb);
    let c = get(addr, &format!("/api/models/{id}/insights/confusion")).json();
    let fit = &c["regression"][0];
    assert!(
        fit["rmse"].as_f64().unwrap() > 0.0 && fit["r2"].as_f64().unwrap() > 0.8,
        "{fit}"
    );
    assert!(c["cv"].is_null());

    let Some(mut b) = browser() else { return };
    let mut p = b.open(&format!("http://{addr}/#/"));
    // Ranked by RMSE, lowest first.
    p.wait_for(
        "document.querySelectorAll('#lb-table tbody td.v-cv').length",
        "leaderboard rows",
    );
    let cv = "Array.from(document.querySelectorAll('#lb-table tbody td.v-cv')).map(td => td.textContent).filter(t => t !== '').map(Number)";
    let asc: Vec<f64> = serde_json::from_value(p.eval(cv)).unwrap();
    assert!(
        asc.len() >= 2 && asc.windows(2).all(|w| w[0] <= w[1]),
        "{asc:?}"
    );
    p.eval(&format!("location.hash = '#/model/{id}/confusion'"));
    let summary = p.wait_for(
        "(document.querySelector('#regression-summary') || {}).textContent",
        "the regression fit",
    );
    assert!(summary.as_str().unwrap().contains("RMSE"), "{summary}");
    let charts = p.eval("document.querySelectorAll('svg.chart').length");
    assert_eq!(charts.as_u64(), Some(2), "predicted vs actual and lift");
}

#[test]
fn a_binary_model_shows_its_roc_curve_and_threshold() {
    let server = serve(&projects().binary);
    let addr = server.addr();
    let lb = get(addr, "/api/leaderboard").json();
    assert_eq!(lb["task"], "binary");
    assert_eq!(lb["metric"], "auc");
    let id = best_model(&lb);
    let c = get(addr, &format!("/api/models/{id}/insights/confusion")).json();
    let roc = &c["roc"];
    assert!(roc["auc"].as_f64().unwrap() > 0.9, "{roc}");
    assert_eq!(roc["positive"], "yes");
    assert!(roc["threshold"]["value"].as_f64().is_some(), "{roc}");
    // The rows of the matrix's cells add up to what it counts, at the threshold.
    let counts: Vec<Vec<u64>> = serde_json::from_value(c["cv"]["counts"].clone()).unwrap();
    let yes_yes = get(
        addr,
        &format!("/api/models/{id}/rows?actual=yes&predicted=yes"),
    )
    .json();
    let classes = c["cv"]["classes"].as_array().unwrap();
    let y = classes.iter().position(|k| k == "yes").unwrap();
    assert_eq!(yes_yes["total"].as_u64(), Some(counts[y][y]));

    let Some(mut b) = browser() else { return };
    let mut p = b.open(&format!("http://{addr}/#/model/{id}/confusion"));
    let summary = p.wait_for(
        "(document.querySelector('#roc-summary') || {}).textContent",
        "the ROC summary",
    );
    let text = summary.as_str().unwrap();
    assert!(
        text.contains("AUC") && text.contains("decision threshold"),
        "{text}"
    );
    let charts = p.eval("document.querySelectorAll('svg.chart').length");
    assert_eq!(charts.as_u64(), Some(3), "ROC, precision-recall and lift");
}
