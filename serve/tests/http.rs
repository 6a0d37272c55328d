//! The API over a real listener on 127.0.0.1: what each endpoint answers, that scoring equals
//! `autopilot predict`, and the safety rules (traversal, uploads, cross-site requests, the
//! token, the Host header) — each refusal a 4xx, with the server serving on afterwards.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::*;

/// The server still answers normally.
fn still_serving(addr: SocketAddr) {
    let r = get(addr, "/api/leaderboard");
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn page_and_leaderboard() {
    let addr = server();
    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("/assets/app.js"));
    assert!(page.header("content-security-policy").is_some());
    assert_eq!(get(addr, "/assets/app.js").status, 200);
    assert_eq!(get(addr, "/assets/nope.js").status, 404);
    let lb = get(addr, "/api/leaderboard").json();
    let rows = lb["rows"].as_array().unwrap();
    assert!(rows.len() >= 3, "{lb}");
    assert!(lb["best"].is_string());
    for r in rows {
        assert!(r["family"].is_string() && r["validation"].is_object());
        if !lb["holdout_unlocked"].as_bool().unwrap() {
            assert!(r["holdout"].is_null(), "holdout shown while locked");
        }
    }
    let st = get(addr, "/api/status").json();
    assert!(st["version"].as_str().unwrap() != "0");
}

#[test]
fn model_page_data_and_confusion_rows() {
    let addr = server();
    let id = model_with(addr, "").expect("a cross-validated model");
    let m = get(addr, &format!("/api/models/{id}")).json();
    assert!(m["diagram"]["estimator"].is_string(), "{m}");
    assert!(!m["diagram"]["inputs"].as_array().unwrap().is_empty());
    assert_eq!(m["row"]["cv_folds"].as_array().unwrap().len(), 5);
    let c = get(addr, &format!("/api/models/{id}/insights/confusion")).json();
    let classes: Vec<String> = serde_json::from_value(c["classes"].clone()).unwrap();
    let counts: Vec<Vec<u64>> = serde_json::from_value(c["cv"]["counts"].clone()).unwrap();
    assert_eq!(
        c["cv"]["per_class"].as_array().unwrap().len(),
        classes.len()
    );
    // Every cell lists exactly its rows.
    for (a, row) in counts.iter().enumerate() {
        for (p, &n) in row.iter().enumerate() {
            let r = get(
                addr,
                &format!(
                    "/api/models/{id}/rows?actual={}&predicted={}",
                    classes[a], classes[p]
                ),
            )
            .json();
            assert_eq!(r["total"].as_u64().unwrap(), n, "cell {a},{p}");
            for x in r["rows"].as_array().unwrap() {
                assert_eq!(x["actual"], classes[a].as_str());
                assert_eq!(x["predicted"], classes[p].as_str());
            }
        }
    }
    // Cached: the second answer is the same file.
    let again = get(addr, &format!("/api/models/{id}/insights/confusion")).json();
    assert_eq!(again, c);
    assert!(
        fixture()
            .project
            .join(format!("insights/{id}/confusion_cv.json"))
            .is_file()
    );
    let bad = get(addr, &format!("/api/models/{id}/rows?actual=nope"));
    assert_eq!(bad.status, 400, "{}", bad.text());
}

#[test]
fn insights_on_demand() {
    let addr = server();
    let f = fixture();
    let text = model_with(addr, "TF-IDF").expect("a TF-IDF model");
    let w = get(addr, &format!("/api/models/{text}/insights/word_clouds")).json();
    let wc = &w["word_clouds"][0];
    assert_eq!(wc["column"], "caption", "{w}");
    let word = &wc["classes"][0]["words"][0];
    assert!(word["coefficient"].is_number() && word["frequency"].is_number());
    let fi = get(addr, &format!("/api/models/{text}/insights/feature_impact")).json();
    assert!(
        !fi["feature_impact"]["columns"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        get(addr, &format!("/api/models/{text}/insights/nope")).status,
        404
    );
    if !f.images {
        return;
    }
    let img = model_with(addr, "EfficientNet").expect("an image model");
    let e = get(addr, &format!("/api/models/{img}/insights/embeddings")).json();
    let pts = e["embeddings"][0]["points"].as_array().unwrap();
    assert!(pts.len() >= 50, "{} points", pts.len());
    assert!(pts[0]["predicted"].is_number() && pts[0]["probability"].is_number());
    let maps = get(addr, &format!("/api/models/{img}/insights/activation_maps")).json();
    let list = maps["maps"].as_array().unwrap();
    assert!(!list.is_empty(), "{maps}");
    for view in ["image", "overlay", "bw"] {
        let r = get(addr, &format!("/api/models/{img}/maps/0/{view}"));
        assert_eq!(r.status, 200, "{view}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("image/png"));
        assert!(r.body.starts_with(b"\x89PNG"));
    }
    assert_eq!(
        get(addr, &format!("/api/models/{img}/maps/9999/image")).status,
        404
    );
    assert_eq!(
        get(addr, &format!("/api/models/{img}/maps/0/secret")).status,
        404
    );
    let row = pts[0]["row"].as_u64().unwrap();
    let thumb = get(addr, &format!("/api/image/{row}?size=48"));
    assert_eq!(thumb.status, 200);
    let decoded = image::load_from_memory(&thumb.body).unwrap();
    assert!(decoded.width() <= 48 && decoded.height() <= 48);
}

#[test]
fn scoring_an_upload_equals_autopilot_predict() {
    let addr = server();
    let f = fixture();
    let (csv_text, images) = new_data(12);
    let tmp = tempfile::tempdir().unwrap();
    // The CLI's answer on the same file, in the data folder (image paths resolve there).
    let input = f.data.join("new_rows.csv");
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
    let image_bytes: Vec<(String, Vec<u8>)> = images
        .iter()
        .map(|p| (p.clone(), std::fs::read(f.data.join(p)).unwrap()))
        .collect();
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![
        ("model", None, b"best"),
        ("csv", Some("new_rows.csv"), csv_text.as_bytes()),
    ];
    for (name, bytes) in &image_bytes {
        parts.push(("files", Some(name), bytes));
    }
    let r = upload(addr, &parts);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["csv"].as_str().unwrap(),
        expected,
        "the web app's CSV differs"
    );
    assert_eq!(v["rows"].as_array().unwrap().len(), 12);
    assert_eq!(v["predicted"], 12);
    assert!(
        v["columns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().ends_with("_PROBABILITY"))
    );
}

#[test]
fn uploads_are_checked() {
    let addr = server();
    let (csv_text, _) = new_data(3);
    // Not a CSV: by name, and by content.
    let r = upload(
        addr,
        &[("csv", Some("photo.png"), b"\x89PNG\r\n\x1a\n\0\0\0")],
    );
    assert_eq!(r.status, 415, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("not a CSV"));
    let r = upload(
        addr,
        &[("csv", Some("x.csv"), b"\x89PNG\r\n\x1a\n\0\0\0\xff")],
    );
    assert_eq!(r.status, 415, "{}", r.text());
    // Two CSVs: refused, not the last one scored unseen.
    let r = upload(
        addr,
        &[
            ("csv", Some("a.csv"), csv_text.as_bytes()),
            ("csv", Some("b.csv"), csv_text.as_bytes()),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("more than once")
    );
    // An image path that climbs out of the upload folder, and a non-image file.
    let r = upload(
        addr,
        &[
            ("csv", Some("x.csv"), csv_text.as_bytes()),
            ("files", Some("../../evil.png"), b"x"),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = upload(
        addr,
        &[
            ("csv", Some("x.csv"), csv_text.as_bytes()),
            ("files", Some("run.sh"), b"x"),
        ],
    );
    assert_eq!(r.status, 415, "{}", r.text());
    // A CSV missing the model's columns: the engine's message, 400.
    let r = upload(addr, &[("csv", Some("x.csv"), b"a,b\n1,2\n")]);
    assert_eq!(r.status, 400, "{}", r.text());
    // Named as sent, not as its copy in the server's temporary folder.
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(e.starts_with("x.csv: missing column"), "{e}");
    // Rows whose images were not uploaded: each named by its path in the CSV, not by the
    // server's temporary copy.
    let r = upload(addr, &[("csv", Some("x.csv"), csv_text.as_bytes())]);
    let text = r.text();
    assert!(text.contains("images/"), "{text}");
    assert!(
        !text.contains(std::env::temp_dir().to_str().unwrap()),
        "a temporary path: {text}"
    );
    // No multipart at all: axum's rejection, answered as JSON like every error.
    let r = request(
        addr,
        "POST",
        "/api/predict",
        &["Content-Type: text/plain", "X-Autopilot-Request: 1"],
        b"hello",
    );
    assert!((400..500).contains(&r.status), "{}", r.status);
    assert!(r.json()["error"].as_str().is_some(), "{}", r.text());
    still_serving(addr);
}

#[test]
fn an_oversized_upload_is_refused() {
    let mut o = options();
    o.max_upload = 64 << 10;
    let srv = start(o);
    let addr = srv.addr();
    let big = vec![b'a'; 200 << 10];
    let mut csv = b"x\n".to_vec();
    csv.extend_from_slice(&big);
    let r = upload(addr, &[("csv", Some("big.csv"), &csv)]);
    assert_eq!(r.status, 413, "{}", r.text());
    still_serving(addr);
}

#[test]
fn path_traversal_is_refused_everywhere() {
    let addr = server();
    for path in [
        "/../../../../etc/passwd",
        "/assets/../../Cargo.toml",
        "/assets/..%2f..%2fCargo.toml",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/api/image/..%2F..%2Fetc%2Fpasswd",
        "/api/image/../../etc/passwd",
        "/api/models/..%2F..%2F/insights/confusion",
        "/api/models/M1/maps/0/..%2f..%2fleaderboard.json",
        "/api/models/../leaderboard.json/insights/confusion",
        "//etc/passwd",
        "/assets/app.js%00.png",
        "/api/image/-1",
        "/api/image/99999999",
        "/api/image/%2Fetc%2Fpasswd",
        "/api/models/nope/insights/confusion",
    ] {
        let r = get(addr, path);
        assert!(
            (400..500).contains(&r.status),
            "{path}: {} {}",
            r.status,
            r.text()
        );
        assert!(!r.text().contains("root:"), "{path} leaked a file");
    }
    still_serving(addr);
}

#[test]
fn cross_site_requests_are_refused() {
    let addr = server();
    let body = br#"{"model":"M1","set":{"x":"1"}}"#;
    // Without the app's header (what a form of another site would send).
    let r = request(
        addr,
        "POST",
        "/api/tune",
        &["Content-Type: application/json"],
        body,
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // With it but from another origin.
    let r = request(
        addr,
        "POST",
        "/api/holdout/unlock",
        &["X-Autopilot-Request: 1", "Origin: http://evil.example"],
        b"",
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let r = request(
        addr,
        "POST",
        "/api/holdout/unlock",
        &["X-Autopilot-Request: 1", "Sec-Fetch-Site: cross-site"],
        b"",
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // Another site's page loading a read that starts work (an <img> of an insight).
    let r = request(
        addr,
        "GET",
        "/api/models/M1/insights/embeddings",
        &["Sec-Fetch-Site: cross-site"],
        b"",
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let r = request(
        addr,
        "GET",
        "/api/leaderboard",
        &["Sec-Fetch-Site: same-origin"],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // DNS rebinding: a foreign Host on the loopback server.
    let r = request(
        addr,
        "GET",
        "/api/leaderboard",
        &["Host: evil.example"],
        b"",
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // Malformed requests: bad JSON, a bad row id, an unknown route.
    let r = request(
        addr,
        "POST",
        "/api/tune",
        &["Content-Type: application/json", "X-Autopilot-Request: 1"],
        b"{not json",
    );
    assert!((400..500).contains(&r.status), "{}", r.status);
    // axum's own rejections are answered as JSON, like every error.
    assert!(r.json()["error"].as_str().is_some(), "{}", r.text());
    let r = get(addr, "/api/image/abc");
    assert!((400..500).contains(&r.status));
    assert!(r.json()["error"].as_str().is_some(), "{}", r.text());
    // A wrong method: JSON too, with the rejection's `Allow` header kept.
    let r = get(addr, "/api/tune");
    assert_eq!(r.status, 405);
    assert!(r.json()["error"].as_str().is_some(), "{}", r.text());
    assert!(
        r.header("allow").is_some_and(|a| a.contains("POST")),
        "{:?}",
        r.headers
    );
    assert_eq!(get(addr, "/api/nothing").status, 404);
    still_serving(addr);
}

#[test]
fn a_non_local_bind_needs_a_token() {
    let mut o = options();
    o.host = "0.0.0.0".parse().unwrap();
    let e = autopilot_serve::Server::start(o.clone())
        .err()
        .expect("refused without a token");
    assert!(e.to_string().contains("--token"), "{e}");
    o.token = Some("s3cret-token-1".into());
    let srv = start(o);
    let addr = SocketAddr::from(([127, 0, 0, 1], srv.addr().port()));
    let r = get(addr, "/api/leaderboard");
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(get(addr, "/").status, 401);
    let r = request(
        addr,
        "GET",
        "/api/leaderboard",
        &["Authorization: Bearer wrong-token-9"],
        b"",
    );
    assert_eq!(r.status, 401);
    let r = request(
        addr,
        "GET",
        "/api/leaderboard",
        &["Authorization: Bearer s3cret-token-1"],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The page opened with ?token= sets the cookie the app then sends.
    let r = get(addr, "/?token=s3cret-token-1");
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").expect("a cookie").to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap();
    let r = request(
        addr,
        "GET",
        "/api/leaderboard",
        &[&format!("Cookie: {pair}")],
        b"",
    );
    assert_eq!(r.status, 200);
    // Still serving after the refusals.
    let r = request(
        addr,
        "GET",
        "/api/status",
        &["Authorization: Bearer s3cret-token-1"],
        b"",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn tuning_in_the_background_adds_a_row() {
    let _one = tuning_lock();
    let addr = server();
    let id = model_with(addr, "TF-IDF").expect("a TF-IDF model");
    let m = get(addr, &format!("/api/models/{id}")).json();
    let params = m["tunable"].as_array().expect("tunable parameters");
    assert!(params.iter().any(|p| p["name"] == "feature_list"), "{m}");
    // Refused before anything runs: an unknown name, a value out of range.
    let r = post_json(
        addr,
        "/api/tune",
        &serde_json::json!({"model": id, "set": {"nope": "1"}}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = post_json(
        addr,
        "/api/tune",
        &serde_json::json!({"model": id, "set": {"tfidf_min_df": "-5"}}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // A huge value is not echoed back whole.
    let huge = "9".repeat(100_000);
    let r = post_json(
        addr,
        "/api/tune",
        &serde_json::json!({"model": id, "set": {"tfidf_min_df": huge}}),
    );
    assert_eq!(r.status, 400, "{}", r.status);
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        e.len() < 3000 && e.ends_with("more characters)"),
        "{}",
        e.len()
    );
    let before = get(addr, "/api/leaderboard").json()["rows"]
        .as_array()
        .unwrap()
        .len();
    let r = post_json(
        addr,
        "/api/tune",
        &serde_json::json!({"model": id, "set": {"tfidf_min_df": "3"}}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let job = r.json()["id"].as_u64().unwrap();
    let start = Instant::now();
    let done = loop {
        let jobs = get(addr, "/api/jobs").json();
        let j = jobs
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == job)
            .unwrap()
            .clone();
        if j["status"] != "running" {
            break j;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "tuning did not end"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(done["status"], "done", "{done}");
    let new_id = done["new_models"][0].as_str().unwrap().to_string();
    let lb = get(addr, "/api/leaderboard").json();
    let rows = lb["rows"].as_array().unwrap();
    assert!(rows.len() > before);
    let row = rows
        .iter()
        .find(|r| r["model_id"] == new_id.as_str())
        .unwrap();
    assert_eq!(row["parent"], id.as_str());
}

#[test]
fn unlocking_the_holdout_shows_its_scores() {
    let _one = tuning_lock();
    let addr = server();
    let r = post_json(addr, "/api/holdout/unlock", &serde_json::json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    let lb = get(addr, "/api/leaderboard").json();
    assert_eq!(lb["holdout_unlocked"], true);
    let best = lb["best"].as_str().unwrap();
    let row = lb["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model_id"] == best)
        .unwrap();
    assert!(row["holdout"]["balanced_accuracy"].is_number(), "{row}");
    // The confusion matrix now has its holdout part (a new cache entry).
    let c = get(addr, &format!("/api/models/{best}/insights/confusion")).json();
    assert!(c["holdout"]["counts"].is_array(), "{c}");
}
