//! The HTML report in a real browser: headless Chromium (Debian `chromium`, installed by
//! `.ci/run`) loads `report.html`, and the DOM it ends with must hold the leaderboard table and
//! every figure as a decoded image. Without Chromium the test prints a note and passes, unless
//! `AUTOPILOT_REQUIRE_CHROMIUM=1` (set by `.ci/run`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autopilot::synth::{self, DemoSpec};

use crate::common::{cli, s};

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs Chromium with `args` and a time limit; returns stdout. Output goes to files, not pipes:
/// a dumped DOM with embedded figures is larger than a pipe buffer.
fn run_chromium(bin: &Path, args: &[String], limit: Duration) -> String {
    let work = tempfile::tempdir().unwrap();
    let out_path = work.path().join("stdout");
    let err_path = work.path().join("stderr");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--allow-file-access-from-files",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.path().join("profile").display()
        ))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("starting chromium");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "chromium failed ({status}): {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
            return std::fs::read_to_string(&out_path).unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        autopilot_testkit::missing(
            "CHROMIUM",
            "no chromium on PATH; the report is not checked in a browser",
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let spec = DemoSpec {
        n_rows: 90,
        n_classes: 3,
        seed: 5,
        image_size: 32,
    };
    let csv = synth::write_demo_dataset(&tmp.path().join("data"), &spec).unwrap();
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
    let report = tmp.path().join("report.html");
    assert_eq!(
        cli(&[
            "report",
            "--project",
            s(&proj),
            "--images",
            "2",
            "-o",
            s(&report)
        ]),
        0
    );
    let html = std::fs::read_to_string(&report).unwrap();
    let n_images = html.matches("<img ").count();
    assert!(n_images >= 3, "only {n_images} figures in the report");

    // A copy with a probe that records, once everything has loaded, how many images decoded.
    let probe = "<script>window.addEventListener('load',()=>{const i=[...document.images];\
        document.body.setAttribute('data-images',i.length);\
        document.body.setAttribute('data-decoded',i.filter(x=>x.complete&&x.naturalWidth>0).length);\
        document.body.setAttribute('data-rows',document.querySelectorAll('#leaderboard-table tr').length);});</script></body>";
    let probed = tmp.path().join("probed.html");
    std::fs::write(&probed, html.replace("</body>", probe)).unwrap();
    let url = |p: &Path| format!("file://{}", p.display());
    let dom = run_chromium(
        &chromium,
        &[
            "--virtual-time-budget=20000".into(),
            "--dump-dom".into(),
            url(&probed),
        ],
        Duration::from_secs(120),
    );
    assert!(
        dom.contains("id=\"leaderboard-table\""),
        "no leaderboard in the DOM"
    );
    let attr = |name: &str| -> usize {
        let key = format!("{name}=\"");
        let at = dom
            .find(&key)
            .unwrap_or_else(|| panic!("probe did not run: no {name} in the DOM"));
        dom[at + key.len()..]
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(attr("data-images"), n_images);
    assert_eq!(
        attr("data-decoded"),
        n_images,
        "some figures did not decode"
    );
    let lb_rows = html.matches("<tr").count();
    assert!(attr("data-rows") >= 3 && attr("data-rows") <= lb_rows);

    // And a screenshot of the unmodified report that is not blank.
    let shot = tmp.path().join("shot.png");
    run_chromium(
        &chromium,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400".into(),
            url(&report),
        ],
        Duration::from_secs(120),
    );
    let img = image::open(&shot).expect("screenshot").to_rgb8();
    let non_white = img
        .pixels()
        .filter(|p| p.0.iter().any(|&v| v < 200))
        .count();
    assert!(
        non_white * 50 > (img.width() * img.height()) as usize,
        "screenshot is nearly blank ({non_white} dark pixels)"
    );
}
