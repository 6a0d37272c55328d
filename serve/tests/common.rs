//! Shared by the tests: one small generated project (made once per test binary by running the
//! CLI in process), a server over it, and a raw HTTP/1.1 client on a TCP socket (it sends paths
//! exactly as written, `..` and all, which real clients would normalize away).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use autopilot::synth::{self, DemoSpec};
use autopilot_serve::{ServeOptions, Server};

/// The backbone of the image column when its weights can be had.
pub const BACKBONE: &str = "efficientnet-lite0";

/// The generated project.
pub struct Fixture {
    /// Keeps the folder alive.
    _tmp: tempfile::TempDir,
    /// The demo data folder (CSV and images).
    pub data: PathBuf,
    /// The demo CSV.
    pub csv: PathBuf,
    /// The project folder.
    pub project: PathBuf,
    /// Whether the image column was featurized (weights available).
    pub images: bool,
}

/// Whether the pretrained weights of [`BACKBONE`] can be had; with `AUTOPILOT_REQUIRE_WEIGHTS=1`
/// (as CI sets it) their absence fails instead of skipping the image checks.
fn weights_available() -> bool {
    match neural::zoo::fetch(BACKBONE) {
        Ok(_) => true,
        Err(e) => {
            autopilot_testkit::missing(
                "WEIGHTS",
                &format!(
                    "the weights of {BACKBONE} could not be had ({e}); image checks are skipped"
                ),
            );
            false
        }
    }
}

/// The project every test reads (90 rows, 3 classes; images, text, numbers, categories, dates).
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let spec = DemoSpec {
            n_rows: 90,
            n_classes: 3,
            seed: 5,
            image_size: 32,
        };
        let data = tmp.path().join("data");
        let csv = synth::write_demo_dataset(&data, &spec).unwrap();
        let project = tmp.path().join("p.autopilot");
        let images = weights_available();
        let backbone = if images { BACKBONE } else { "none" };
        let code = cli(&[
            "run",
            s(&csv),
            "--target",
            synth::DEMO_TARGET,
            "--group",
            synth::DEMO_GROUP,
            "--project",
            s(&project),
            "--backbone",
            backbone,
            "--quiet",
        ]);
        assert_eq!(code, 0, "autopilot run failed");
        Fixture {
            _tmp: tmp,
            data,
            csv,
            project,
            images,
        }
    })
}

/// Runs the CLI in this process; its exit code.
pub fn cli(args: &[&str]) -> i32 {
    let mut all = vec!["autopilot"];
    all.extend_from_slice(args);
    autopilot_cli::main_with_args(all)
}

/// A path as `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The server over the fixture shared by the tests that need no special options.
pub fn server() -> SocketAddr {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| start(options())).addr()
}

/// Default options over the fixture, on a free port.
pub fn options() -> ServeOptions {
    let mut o = ServeOptions::new(fixture().project.clone());
    o.port = 0;
    o
}

/// Starts a server.
pub fn start(o: ServeOptions) -> Server {
    Server::start(o).expect("the server starts")
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request (`extra` header lines like `"Cookie: a=b"`) and reads the whole answer.
pub fn request(addr: SocketAddr, method: &str, path: &str, extra: &[&str], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !extra
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"))
    {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for h in extra {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) and close before the whole body is sent.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse(&raw)
}

/// `GET path`.
pub fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], b"")
}

/// `POST path` with a JSON body, as the app sends it.
pub fn post_json(addr: SocketAddr, path: &str, v: &serde_json::Value) -> Resp {
    request(
        addr,
        "POST",
        path,
        &["Content-Type: application/json", "X-Autopilot-Request: 1"],
        v.to_string().as_bytes(),
    )
}

fn parse(raw: &[u8]) -> Resp {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..nl])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = nl + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
}

/// A multipart/form-data body: `(field, file name, bytes)` parts; its boundary.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----autopilot-test-boundary-7c1f";
    let mut b = Vec::new();
    for (name, file, bytes) in parts {
        b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => b.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => b.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (boundary.to_string(), b)
}

/// Uploads `parts` to `/api/predict` as the app does.
pub fn upload(addr: SocketAddr, parts: &[(&str, Option<&str>, &[u8])]) -> Resp {
    let (boundary, body) = multipart(parts);
    let ct = format!("Content-Type: multipart/form-data; boundary={boundary}");
    request(
        addr,
        "POST",
        "/api/predict",
        &[&ct, "X-Autopilot-Request: 1"],
        &body,
    )
}

/// The first `n` data rows of the demo CSV as a new CSV without the target (text), and the
/// image paths it names (relative to the data folder).
pub fn new_data(n: usize) -> (String, Vec<String>) {
    let f = fixture();
    let mut r = csv::Reader::from_path(&f.csv).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| header[i] != synth::DEMO_TARGET)
        .collect();
    let image_col = header.iter().position(|h| h == "image");
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(keep.iter().map(|&i| &header[i])).unwrap();
    let mut images = Vec::new();
    for rec in r.records().take(n) {
        let rec = rec.unwrap();
        w.write_record(keep.iter().map(|&i| &rec[i])).unwrap();
        if let Some(c) = image_col {
            images.push(rec[c].to_string());
        }
    }
    (String::from_utf8(w.into_inner().unwrap()).unwrap(), images)
}

/// A cross-validated model of the fixture whose blueprint contains `needle`, preferring
/// logistic regression (fast, and Grad-CAM for its maps).
pub fn model_with(addr: SocketAddr, needle: &str) -> Option<String> {
    let lb = get(addr, "/api/leaderboard").json();
    let rows = lb["rows"].as_array().unwrap().clone();
    let ok = |r: &serde_json::Value| {
        r["cross_validated"].as_bool() == Some(true)
            && r["blueprint"].as_str().unwrap_or("").contains(needle)
    };
    rows.iter()
        .filter(|r| ok(r))
        .min_by_key(|r| !r["blueprint"].as_str().unwrap().contains("Logistic"))
        .map(|r| r["model_id"].as_str().unwrap().to_string())
}

/// Held by the tests that tune (one tuning job at a time on the shared project).
pub fn tuning_lock() -> std::sync::MutexGuard<'static, ()> {
    static L: std::sync::Mutex<()> = std::sync::Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}
