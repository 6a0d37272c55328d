//! The web app in a real browser (headless Chromium over the DevTools protocol, [`crate::cdp`])
//! on the generated project: the leaderboard renders and sorts, a model page's confusion matrix
//! lists a cell's rows, embedding points show their class on hover and filter and zoom, a tune
//! submitted from the form adds a leaderboard row, and an uploaded CSV scores like
//! `autopilot predict`. Without Chromium each test passes with a note, unless
//! `AUTOPILOT_REQUIRE_CHROMIUM=1`.

use std::time::Duration;

use crate::cdp::browser;
use crate::common::*;

fn url(path: &str) -> String {
    format!("http://{}{path}", server())
}

#[test]
fn leaderboard_renders_and_sorts() {
    let Some(mut b) = browser() else { return };
    let n = get(server(), "/api/leaderboard").json()["rows"]
        .as_array()
        .unwrap()
        .len();
    let mut p = b.open(&url("/#/"));
    let shown = p.wait_for(
        "document.querySelectorAll('#lb-table tbody tr').length",
        "leaderboard rows",
    );
    assert!(
        shown.as_u64().unwrap() as usize >= n.min(3),
        "{shown} rows of {n}"
    );
    let cv = "Array.from(document.querySelectorAll('#lb-table tbody td.v-cv')).map(td => td.textContent).filter(t => t !== '').map(Number)";
    // Sorted by CV, best first; a click on the header reverses it.
    let desc: Vec<f64> = serde_json::from_value(p.eval(cv)).unwrap();
    assert!(desc.len() >= 2, "{desc:?}");
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    p.click("th[data-sort='cv']");
    p.wait_for(
        "document.querySelector(\"th[data-sort='cv']\").textContent.includes('▲')",
        "ascending sort",
    );
    let asc: Vec<f64> = serde_json::from_value(p.eval(cv)).unwrap();
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    // Sorting by fit time and filtering by family. Each option carries its name as its value
    // (an option's text loses doubled, leading and trailing spaces: "two  spaces" matched none).
    let valued = p.eval(
        "Array.from(document.querySelectorAll('#lb-family option, #lb-list option')).every(o => o.hasAttribute('value'))",
    );
    assert_eq!(valued, serde_json::Value::Bool(true));
    p.click("th[data-sort='fit']");
    let fam = p.eval("document.querySelector('#lb-family').options[1].value");
    p.eval(&format!(
        "(() => {{ const s = document.querySelector('#lb-family'); s.value = {fam}; s.dispatchEvent(new Event('change')); }})()"
    ));
    let fams = p.eval("Array.from(document.querySelectorAll('#lb-table tbody tr td:nth-child(3)')).map(td => td.textContent)");
    for f in fams.as_array().unwrap() {
        assert!(
            f.as_str().unwrap().ends_with(fam.as_str().unwrap()),
            "{f} vs {fam}"
        );
    }
}

#[test]
fn confusion_cell_click_lists_its_rows() {
    let Some(mut b) = browser() else { return };
    let id = model_with(server(), "").expect("a cross-validated model");
    let mut p = b.open(&url(&format!("/#/model/{id}/confusion")));
    p.wait_for(
        "document.querySelectorAll('#confusion td.cell').length",
        "the confusion matrix",
    );
    // The fullest off-diagonal cell, else the fullest cell.
    let sel = p.eval(
        "(() => { const cells = Array.from(document.querySelectorAll('#confusion td.cell')); \
         const off = cells.filter(c => c.dataset.a !== c.dataset.p && +c.textContent > 0); \
         const pool = off.length ? off : cells; pool.sort((a, b) => b.textContent - a.textContent); \
         const c = pool[0]; return [c.dataset.a, c.dataset.p, +c.textContent]; })()",
    );
    let (a, pr, n) = (
        sel[0].as_str().unwrap().to_string(),
        sel[1].as_str().unwrap().to_string(),
        sel[2].as_u64().unwrap(),
    );
    assert!(n > 0);
    p.click(&format!("#confusion td.cell[data-a='{a}'][data-p='{pr}']"));
    let shown = p.wait_for(
        "document.querySelectorAll('#cell-rows .rowcard').length",
        "the cell's rows",
    );
    assert_eq!(shown.as_u64().unwrap(), n.min(200));
    let title = p.eval("document.querySelector('#cell-title').textContent");
    assert!(
        title.as_str().unwrap().contains(&format!("{n} rows")),
        "{title}"
    );
    if fixture().images {
        // Each row comes with its image.
        let imgs = p.eval("document.querySelectorAll('#cell-rows .rowcard img').length");
        assert_eq!(imgs.as_u64().unwrap(), n.min(200));
    }
    // The overview tab: diagram, folds, per-class precision/recall.
    p.eval(&format!("location.hash = '#/model/{id}/overview'"));
    p.wait_for(
        "document.querySelectorAll('#diagram .box').length",
        "the diagram",
    );
    p.wait_for(
        "document.querySelectorAll('.perclass tbody tr').length",
        "precision/recall",
    );
    let folds = p.eval("document.querySelectorAll('#folds tbody tr').length");
    assert!(folds.as_u64().unwrap() >= 5);
}

#[test]
fn embeddings_hover_filter_and_zoom() {
    let Some(mut b) = browser() else { return };
    if !fixture().images {
        eprintln!("note: no image features; embeddings are not checked");
        return;
    }
    let id = model_with(server(), "EfficientNet").expect("an image model");
    let mut p = b.open(&url(&format!("/#/model/{id}/embeddings")));
    let total = p.wait_for(
        "+document.querySelector('#emb-count')?.dataset.n",
        "the embedding",
    );
    let total = total.as_u64().unwrap();
    assert!(total >= 50, "{total} points");
    // Hover: the tooltip names the point's actual class.
    let classes: Vec<String> = serde_json::from_value(
        get(server(), &format!("/api/models/{id}/insights/embeddings")).json()["classes"].clone(),
    )
    .unwrap();
    let actual = p.eval("document.querySelector('#emb-view .pt').dataset.actual");
    let k: usize = actual.as_str().unwrap().parse().unwrap();
    let (x, y) = p.centre("#emb-view .pt image");
    p.mouse_move(x, y);
    let tip = p.wait_for(
        "!document.querySelector('#emb-tip').hidden && document.querySelector('#emb-tip .tip-actual').textContent",
        "the hover tooltip",
    );
    assert_eq!(tip.as_str().unwrap(), format!("actual: {}", classes[k]));
    assert!(
        p.eval("document.querySelector('#emb-tip .tip-pred').textContent")
            .as_str()
            .unwrap()
            .starts_with("predicted: ")
    );
    p.mouse_move(5.0, 5.0);
    // Filter: unticking one actual class hides exactly its points.
    let of_class = p
        .eval("document.querySelectorAll('#emb-view .pt[data-actual=\"0\"]').length")
        .as_u64()
        .unwrap();
    assert!(of_class > 0);
    p.click(".f-actual[value='0']");
    let after = p.wait_for(
        &format!("(n => n !== {total} && n)(+document.querySelector('#emb-count').dataset.n)"),
        "the filtered count",
    );
    assert_eq!(after.as_u64().unwrap(), total - of_class);
    let visible = p.eval("Array.from(document.querySelectorAll('#emb-view .pt')).filter(g => g.style.display !== 'none').length");
    assert_eq!(visible.as_u64().unwrap(), total - of_class);
    // Zoom: the wheel scales the view around the pointer.
    let before = p.eval("document.querySelector('#emb-view').getAttribute('transform')");
    let (sx, sy) = p.centre("#emb-svg");
    p.wheel(sx, sy, -400.0);
    let zoomed = p.wait_for(
        &format!("(t => t !== {before} && t)(document.querySelector('#emb-view').getAttribute('transform'))"),
        "a zoomed view",
    );
    let scale: f64 = zoomed
        .as_str()
        .unwrap()
        .split("scale(")
        .nth(1)
        .unwrap()
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert!(scale > 1.2, "{zoomed}");
}

#[test]
fn a_tune_from_the_form_adds_a_row() {
    let Some(mut b) = browser() else { return };
    let _one = tuning_lock();
    let id = model_with(server(), "TF-IDF").expect("a TF-IDF model");
    let before = get(server(), "/api/leaderboard").json()["rows"]
        .as_array()
        .unwrap()
        .len();
    let mut p = b.open(&url(&format!("/#/model/{id}/tune")));
    p.wait_for("document.querySelector('#tune-form')", "the tuning form");
    // The form lists the backbone-style choices with their allowed values; change one.
    p.eval(
        "(() => { const i = document.querySelector('#tune-form [name=tfidf_sublinear_tf]'); \
         i.value = i.value === 'true' ? 'false' : 'true'; })()",
    );
    p.click("#tune-submit");
    p.wait_for(
        "document.querySelector('#jobs .job')",
        "the tuning job to start",
    );
    // Back to the leaderboard while it trains: the new row appears there without a reload
    // (the page polls the project's status).
    p.eval("location.hash = '#/'");
    // The leaderboard renders, with or without the new row (a fast tune may already be done).
    p.wait_for(
        &format!(
            "(n => (n === {before} || n === {before} + 1) && n)\
             (document.querySelectorAll('#lb-table tbody tr').length)"
        ),
        "the leaderboard",
    );
    let running_when_shown = get(server(), "/api/jobs").json()[0]["status"] == "running";
    let rows = p.wait_for(
        &format!(
            "(n => n === {} && n)(document.querySelectorAll('#lb-table tbody tr').length)",
            before + 1
        ),
        "the new row",
    );
    assert_eq!(rows.as_u64().unwrap() as usize, before + 1);
    let job = get(server(), "/api/jobs").json()[0].clone();
    assert_eq!(job["status"], "done", "{job}");
    let new_id = job["new_models"][0].as_str().unwrap().to_string();
    let parent = p.eval(&format!(
        "document.querySelector(\"#lb-table tr[data-id='{new_id}'] td:last-child\").textContent"
    ));
    assert_eq!(parent.as_str().unwrap(), id);
    if !running_when_shown {
        eprintln!("note: the tune ended before the leaderboard showed; live refresh not observed");
    }
}

#[test]
fn an_uploaded_csv_scores_like_autopilot_predict() {
    let Some(mut b) = browser() else { return };
    let f = fixture();
    let (csv_text, images) = new_data(8);
    let tmp = tempfile::tempdir().unwrap();
    let input = f.data.join("browser_rows.csv");
    std::fs::write(&input, &csv_text).unwrap();
    let out = tmp.path().join("cli.csv");
    let code = cli(&[
        "predict",
        "best",
        s(&input),
        "-o",
        s(&out),
        "--project",
        s(&f.project),
    ]);
    assert_eq!(code, 0);
    let expected = std::fs::read_to_string(&out).unwrap();
    let mut p = b.open(&url("/#/predict"));
    p.wait_for("document.querySelector('#pred-csv')", "the scoring form");
    p.set_files("#pred-csv", &[&input]);
    let image_paths: Vec<std::path::PathBuf> = images.iter().map(|i| f.data.join(i)).collect();
    if !image_paths.is_empty() {
        let dir = tmp.path().join("upload");
        std::fs::create_dir_all(&dir).unwrap();
        let copies: Vec<std::path::PathBuf> = image_paths
            .iter()
            .map(|src| {
                let dst = dir.join(src.file_name().unwrap());
                std::fs::copy(src, &dst).unwrap();
                dst
            })
            .collect();
        let refs: Vec<&std::path::Path> = copies.iter().map(|p| p.as_path()).collect();
        // Bare file names, as dropped images arrive: the server puts them where the CSV names them.
        p.set_files("#pred-images", &refs);
    }
    p.click("#pred-submit");
    p.wait_for(
        "document.querySelector('#pred-table')",
        "the predictions table",
    );
    let csv = p.eval("window.lastPrediction.csv");
    assert_eq!(csv.as_str().unwrap(), expected);
    // One highlighted (largest) probability per scored row, and a download link.
    let highlighted = p.eval("document.querySelectorAll('#pred-table td.max').length");
    assert_eq!(highlighted.as_u64().unwrap(), 8);
    let href = p.eval("document.querySelector('#pred-download').href");
    assert!(href.as_str().unwrap().starts_with("blob:"));
    std::thread::sleep(Duration::from_millis(10));
}
