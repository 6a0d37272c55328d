//! Hostile-input findings of issue 14, each held by a test: unclosed quotes (#1), decoding
//! limits in every command (#3), FIFOs in image columns (#4), stray text in numeric columns
//! (#6), truncated images (#13), and `run` listing the skipped rows (#16).
//!
//! Nothing here needs the network, `/work/shared` or model weights: commands that would load
//! weights are given only bad images, which the shared guarded decoder refuses first (and
//! `AUTOPILOT_PYTHON` points nowhere, so a weight download could not even start). Commands that
//! could hang (a FIFO) run as the real binary under a kill timer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use autopilot::dataset::{self, ColumnType, LoadOptions, load, profile};
use neural::decode::{DecodeLimits, ImageProblemKind, decode_image};

use crate::ingestion::{chunk, err_text, image_rows_csv, png, write};

use crate::common::{cli, s};

/// Longest any command of these tests may take before it counts as hung.
const DEADLINE: Duration = Duration::from_secs(60);

/// A 96×96 JPEG with some texture (so its scan data is most of the file).
fn jpeg_bytes() -> Vec<u8> {
    let img = image::RgbImage::from_fn(96, 96, |x, y| {
        image::Rgb([
            (x * 7 + y * 3) as u8,
            (x * y % 251) as u8,
            (x ^ y) as u8 * 2,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Runs the real binary with output in files (no pipe to fill) and kills it after
/// [`DEADLINE`]: a hang fails the test instead of blocking CI.
fn run_bin(args: &[&str], dir: &Path) -> Output {
    let out_path = dir.join(format!(".stdout-{}", args[0]));
    let err_path = dir.join(format!(".stderr-{}", args[0]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(args)
        .current_dir(dir)
        .env("AUTOPILOT_CACHE", dir.join(".empty-cache"))
        .env("AUTOPILOT_PYTHON", "/nonexistent/python3")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("the autopilot binary runs");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`autopilot {}` hung for {DEADLINE:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---- #1: unclosed quotes ------------------------------------------------------------------

/// 80 rows `num,note,label`; the label of data row `open_at` (0-based) opens a quote that
/// is never closed.
fn csv_with_unclosed_quote(dir: &Path, open_at: usize) -> PathBuf {
    let mut t = String::from("num,note,label\n");
    for i in 0..80 {
        let label = if i % 2 == 0 { "a" } else { "b" };
        if i == open_at {
            t.push_str(&format!("{i},note {i},\"{label}\n"));
        } else {
            t.push_str(&format!("{i},note {i},{label}\n"));
        }
    }
    write(dir, "quote.csv", t.as_bytes())
}

#[test]
fn unclosed_quote_in_the_last_field_is_an_error_naming_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_with_unclosed_quote(dir.path(), 29);
    let e = err_text(load(&csv, &LoadOptions::default()));
    // Data row 29 is spreadsheet row 31 (header = row 1), on line 31.
    assert!(
        e.contains("quote.csv")
            && e.contains("row 31")
            && e.contains("'label'")
            && e.contains("never closed")
            && e.contains("50 more lines"),
        "{e}"
    );
    // The commands fail (exit 1) instead of training on 30 rows.
    assert_eq!(cli(&["profile", s(&csv), "--target", "label"]), 1);
    let project = dir.path().join("p");
    assert_eq!(
        cli(&[
            "run",
            s(&csv),
            "--target",
            "label",
            "--baseline-only",
            "--project",
            s(&project)
        ]),
        1
    );
    // The quote in the very last row of the file is caught too.
    let csv = csv_with_unclosed_quote(dir.path(), 79);
    let e = err_text(load(&csv, &LoadOptions::default()));
    assert!(e.contains("row 81") && e.contains("'label'"), "{e}");
}

#[test]
fn rows_swallowed_by_a_quote_closed_later_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Row 12's note opens a quote; row 17's quoted note closes it: rows 13-16 vanish into one
    // cell and the field counts still match the header.
    let mut t = String::from("num,note,label\n");
    for i in 0..40 {
        let label = if i % 2 == 0 { "a" } else { "b" };
        match i {
            10 => t.push_str(&format!("{i},\"oops,{label}\n")),
            15 => t.push_str(&format!("{i},\"fine\",{label}\n")),
            _ => t.push_str(&format!("{i},note {i},{label}\n")),
        }
    }
    let csv = write(dir.path(), "swallow.csv", t.as_bytes());
    let e = err_text(load(&csv, &LoadOptions::default()));
    assert!(
        e.contains("swallow.csv") && e.contains("row 12") && e.contains("'note'"),
        "{e}"
    );
    assert!(e.contains("quot"), "{e}");

    // Real multi-line text (several multi-line cells with commas) still loads.
    let mut t = String::from("lyrics,label\n");
    for i in 0..20 {
        t.push_str(&format!(
            "\"line one, verse {i}\nline two, more\nline three, end\nlast, one\",{}\n",
            if i % 2 == 0 { "a" } else { "b" }
        ));
    }
    let csv = write(dir.path(), "lyrics.csv", t.as_bytes());
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    assert_eq!(ds.n_rows(), 20);
}

// ---- #6: stray strings in numeric columns -------------------------------------------------

#[test]
fn stray_string_in_a_numeric_column_keeps_it_numeric_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("x,noise,label\n");
    for i in 0..80 {
        let label = if i % 2 == 0 { "a" } else { "b" };
        // x carries the label (all values distinct: no leakage, no ID); one cell is a typo.
        let x = if i == 38 {
            "oops".to_string()
        } else {
            format!("{}.{i:03}", if i % 2 == 0 { 1 } else { 5 })
        };
        t.push_str(&format!("{x},{},{label}\n", ["p", "q", "r"][i % 3]));
    }
    let csv = write(dir.path(), "stray.csv", t.as_bytes());
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    let x = ds.column("x").unwrap();
    assert_eq!(x.kind, ColumnType::Numeric);
    assert_eq!(x.as_f64()[38], None);
    assert_eq!(x.as_f64().iter().flatten().count(), 79);

    let p = profile(&ds, "label", None).unwrap();
    assert!(p.feature_columns.contains(&"x".to_string()), "{p:?}");
    assert!(!p.id_like_columns.contains(&"x".to_string()));
    let col = p.columns.iter().find(|c| c.name == "x").unwrap();
    assert_eq!(col.missing, 1, "the stray cell counts as missing");
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = &p.warnings[0];
    assert_eq!((w.column.as_str(), w.cells), ("x", 1));
    assert_eq!(w.examples, ["oops"]);
    // Data row 38 is spreadsheet row 40.
    for needle in ["'x'", "1 of 80", "\"oops\"", "row 40", "missing"] {
        assert!(w.message.contains(needle), "{needle}: {}", w.message);
    }
    assert!(p.render_text().contains(&w.message));
    // The warning survives the JSON round trip of profile.json.
    let json = serde_json::to_string(&p).unwrap();
    let back: dataset::Profile = serde_json::from_str(&json).unwrap();
    assert_eq!(back.warnings, p.warnings);
    assert_eq!(cli(&["profile", s(&csv), "--target", "label"]), 0);
}

// ---- #3: decompression bombs and the memory budget everywhere -----------------------------

/// A tiny PNG whose header announces `w × h` RGB pixels of `depth` bits, with almost no data.
fn png_header_only(w: u32, h: u32, depth: u8) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[depth, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x01,
        ],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn the_shared_decoder_refuses_bombs_and_enforces_a_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = write(
        dir.path(),
        "bomb.png",
        &png_header_only(100_000, 100_000, 8),
    );
    let e = decode_image(&bomb, &DecodeLimits::default()).unwrap_err();
    assert_eq!(e.kind, ImageProblemKind::TooLarge);
    assert!(e.reason.contains("100000x100000") && e.reason.contains("decompression bomb"));
    // The featurizer's (and insights') decode path is guarded too.
    let e = neural::preprocess::load_rgb(&bomb).unwrap_err().to_string();
    assert!(e.contains("decompression bomb"), "{e}");

    // 13000 × 13000 is under the pixel limit, but 16-bit RGB needs about 1 GB.
    let deep = write(dir.path(), "deep.png", &png_header_only(13_000, 13_000, 16));
    let e = decode_image(&deep, &DecodeLimits::default()).unwrap_err();
    assert_eq!(e.kind, ImageProblemKind::TooLarge);
    assert!(e.reason.contains("memory budget"), "{}", e.reason);
    let csv = image_rows_csv(dir.path(), "d.csv", "deep.png,a\n", 12);
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    assert_eq!(ds.skipped.len(), 1);
    assert!(
        ds.skipped[0].reason.contains("memory budget"),
        "{:?}",
        ds.skipped
    );
}

#[test]
fn featurize_and_models_check_refuse_a_bomb_before_loading_weights() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bomb.png",
        &png_header_only(100_000, 100_000, 8),
    );
    let csv = write(dir.path(), "bombs.csv", b"img,y\nbomb.png,a\nbomb.png,b\n");
    let out = run_bin(
        &["featurize", s(&csv), "--image", "img", "-o", "f.npy"],
        dir.path(),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("100000x100000") && err.contains("decompression bomb"),
        "{err}"
    );
    assert!(!dir.path().join("f.npy").exists());

    let bomb = dir.path().join("bomb.png");
    let out = run_bin(
        &["models", "check", "efficientnet-lite0", s(&bomb)],
        dir.path(),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bomb.png") && err.contains("decompression bomb"),
        "{err}"
    );
}

// ---- #13: truncated images ----------------------------------------------------------------

/// A class too small for the folds is an error that names the file, and leaves no project
/// behind: the corrected command then starts afresh.
#[test]
fn a_class_too_small_for_the_folds_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::from("x,label\n");
    for i in 0..21 {
        let label = if i == 20 { "rare" } else { ["a", "b"][i % 2] };
        rows.push_str(&format!("{i},{label}\n"));
    }
    write(dir.path(), "small.csv", rows.as_bytes());
    let out = run_bin(
        &["run", "small.csv", "--target", "label", "--project", "p"],
        dir.path(),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("small.csv: class 'rare' has only 1 row, fewer than the 5 folds"),
        "{err}"
    );
    assert!(
        !dir.path().join("p").exists(),
        "a refused run left a project"
    );

    // Enough rows, but not once the holdout has taken its share: refused the same way.
    let rows: String = (0..20)
        .map(|i| format!("{i},{}\n", ["a", "b"][i % 2]))
        .collect();
    write(
        dir.path(),
        "even.csv",
        format!("x,label\n{rows}").as_bytes(),
    );
    let args = |folds: &'static str| {
        ["run", "even.csv", "--target", "label", "--project", "q"]
            .into_iter()
            .chain(["--folds", folds, "--baseline-only"])
            .collect::<Vec<_>>()
    };
    let out = run_bin(&args("10"), dir.path());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("class 'a' has only 8 rows outside the 20% holdout"),
        "{err}"
    );
    assert!(
        !dir.path().join("q").exists(),
        "a refused run left a project"
    );
    let out = run_bin(&args("4"), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn truncated_jpeg_is_skipped_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let full = jpeg_bytes();
    let whole = write(dir.path(), "whole.jpg", &full);
    let cut = write(dir.path(), "cut.jpg", &full[..full.len() / 3]);
    // Bytes after the end-of-image marker are not a truncation.
    let mut trailer = full.clone();
    trailer.extend_from_slice(b"camera trailer data");
    let trailer = write(dir.path(), "trailer.jpg", &trailer);
    let limits = DecodeLimits::default();
    assert!(decode_image(&whole, &limits).is_ok());
    assert!(decode_image(&trailer, &limits).is_ok());
    let e = decode_image(&cut, &limits).unwrap_err();
    assert_eq!(e.kind, ImageProblemKind::Truncated, "{e}");
    // Reasons are one line (a reported row stays on its line).
    assert!(!e.reason.contains('\n'), "{e}");
    let e = neural::preprocess::load_rgb(&cut).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");

    // A PNG cut short is refused as well.
    let mut png_bytes = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * y) as u8, x as u8, y as u8]))
        .write_to(&mut png_bytes, image::ImageFormat::Png)
        .unwrap();
    let png_bytes = png_bytes.into_inner();
    let cut_png = write(dir.path(), "cut.png", &png_bytes[..png_bytes.len() / 3]);
    assert!(decode_image(&cut_png, &limits).is_err());

    // A WebP a few bytes short of what its RIFF header says (a lossy one decodes regardless).
    let mut webp = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(32, 32, |x, y| image::Rgb([x as u8 * 8, y as u8 * 8, 90]))
        .write_to(&mut webp, image::ImageFormat::WebP)
        .unwrap();
    let webp = webp.into_inner();
    let whole_webp = write(dir.path(), "whole.webp", &webp);
    assert!(decode_image(&whole_webp, &limits).is_ok());
    let cut_webp = write(dir.path(), "cut.webp", &webp[..webp.len() - 3]);
    let e = decode_image(&cut_webp, &limits).unwrap_err();
    assert_eq!(e.kind, ImageProblemKind::Truncated, "{e}");
    assert!(e.reason.contains("truncated WebP"), "{e}");

    // Loading skips the row and says why.
    let csv = image_rows_csv(dir.path(), "d.csv", "cut.jpg,a\n", 12);
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    assert_eq!(ds.n_rows(), 12);
    assert_eq!(ds.skipped.len(), 1);
    let s = &ds.skipped[0];
    assert_eq!((s.row, s.column.as_str()), (2, "img"));
    assert!(
        s.reason.contains("cut.jpg") && s.reason.contains("truncated"),
        "{}",
        s.reason
    );
}

#[test]
fn an_image_format_not_built_in_is_called_unsupported_not_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    // A valid 1×1 binary PPM: the decoder knows the format but does not read it.
    let ppm = write(dir.path(), "pixel.ppm", b"P6\n1 1\n255\n\x10\x20\x30");
    let e = decode_image(&ppm, &DecodeLimits::default()).unwrap_err();
    assert_eq!(e.kind, ImageProblemKind::UnknownFormat, "{e}");
    assert!(e.reason.starts_with("unsupported image format"), "{e}");
    assert!(e.reason.contains("JPEG, PNG"), "{e}");
    assert!(!e.reason.contains("corrupt"), "{e}");
}

#[test]
fn jpeg_structure_walk_needs_the_end_of_image_marker() {
    use neural::decode::jpeg_is_complete;
    // SOI, APP0 (length 4), SOS (length 2) + scan data with a stuffed FF and RST0, EOI, trailer.
    let full = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00,
        0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9, 0x00, 0x00,
    ];
    assert!(jpeg_is_complete(&full));
    for cut in 2..20 {
        assert!(!jpeg_is_complete(&full[..cut]), "cut at {cut}");
    }
    // An APP segment holding FF D9 (an EXIF thumbnail's end) does not end the file.
    let thumb = [
        0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x04, 0xFF, 0xD9, 0xFF, 0xDA, 0x00, 0x02, 0x01,
    ];
    assert!(!jpeg_is_complete(&thumb));
}

// ---- #4: FIFOs and other non-regular files ------------------------------------------------

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

/// A CSV of 25 rows: a FIFO named like an image, a folder named like an image, 23 PNGs.
#[cfg(unix)]
fn csv_with_fifo(dir: &Path) -> PathBuf {
    mkfifo(&dir.join("pipe.png"));
    std::fs::create_dir_all(dir.join("folder.png")).unwrap();
    image_rows_csv(dir, "fifo.csv", "pipe.png,a\nfolder.png,b\n", 23)
}

#[cfg(unix)]
#[test]
fn fifo_in_an_image_column_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_with_fifo(dir.path());

    // Library: load in a thread, with a deadline.
    let (tx, rx) = std::sync::mpsc::channel();
    let csv2 = csv.clone();
    std::thread::spawn(move || {
        let _ = tx.send(load(&csv2, &LoadOptions::default()).map_err(|e| e.to_string()));
    });
    let ds = rx
        .recv_timeout(DEADLINE)
        .expect("loading a CSV with a FIFO image hung")
        .unwrap();
    assert_eq!(ds.n_rows(), 23);
    let reasons: Vec<(usize, &str)> = ds
        .skipped
        .iter()
        .map(|s| (s.row, s.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].0 == 2 && reasons[0].1.contains("not a regular file"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].0 == 3 && reasons[1].1.contains("folder"),
        "{reasons:?}"
    );
    // Without decoding (`--no-image-check`) the reason is the same, not "not found".
    let paths_only = LoadOptions {
        check_images: false,
        ..LoadOptions::default()
    };
    let ds = load(&csv, &paths_only).unwrap();
    assert!(
        ds.skipped[0].reason.contains("not a regular file"),
        "{:?}",
        ds.skipped
    );

    // The shared decoder refuses it before opening.
    let e = decode_image(&dir.path().join("pipe.png"), &DecodeLimits::default()).unwrap_err();
    assert_eq!(e.kind, ImageProblemKind::NotRegularFile);

    // The commands, as the real binary under a kill timer.
    let out = run_bin(&["profile", s(&csv), "--target", "y"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("not a regular file"));
    let project = dir.path().join("proj");
    let out = run_bin(
        &[
            "run",
            s(&csv),
            "--target",
            "y",
            "--baseline-only",
            "--quiet",
            "--project",
            s(&project),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("not a regular file"),
        "{}",
        text(&out.stdout)
    );
    // featurize has only the FIFO and the folder: refused per row, then an error (no weights).
    let bad = write(dir.path(), "bad.csv", b"img,y\npipe.png,a\nfolder.png,b\n");
    let out = run_bin(
        &["featurize", s(&bad), "--image", "img", "-o", "f.npy"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out.stderr)
    );
}

// ---- #16: `run` lists the skipped rows ----------------------------------------------------

#[test]
fn run_lists_the_first_skipped_rows_with_their_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let mut text_csv = String::from("img,y\n");
    for i in 0..100u8 {
        let name = format!("imgs/{i}.png");
        if i % 12 == 3 {
            // 9 bad rows: 3, 15, ..., 99 → spreadsheet rows 5, 17, ...
            write(dir.path(), &name, b"\x89PNG\r\n\x1a\nnot really a png");
        } else {
            png(dir.path(), &name, i);
        }
        text_csv.push_str(&format!("{name},{}\n", if i % 2 == 0 { "a" } else { "b" }));
    }
    let csv = write(dir.path(), "imgs.csv", text_csv.as_bytes());
    let project = dir.path().join("proj");
    let out = run_bin(
        &[
            "run",
            s(&csv),
            "--target",
            "y",
            "--baseline-only",
            "--quiet",
            "--project",
            s(&project),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("91 rows, 9 skipped"), "{stdout}");
    for row in [5, 17, 29, 41, 53] {
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!("row {row}, column 'img'")))
            .unwrap_or_else(|| panic!("row {row} is not listed:\n{stdout}"));
        assert!(line.contains(".png") && line.contains("image"), "{line}");
    }
    assert!(
        !stdout.contains("row 65, column 'img'"),
        "only the first five: {stdout}"
    );
    assert!(stdout.contains("and 4 more"), "{stdout}");
}

/// Images the only features and no backbone to featurize them (offline here): the run fails,
/// saying why, instead of ending with the baseline alone and exit code 0.
#[test]
fn a_run_with_only_images_and_no_backbone_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let csv = image_rows_csv(dir.path(), "only_images.csv", "", 20);
    let out = run_bin(
        &[
            "run",
            s(&csv),
            "--target",
            "y",
            "--quiet",
            "--device",
            "cpu",
        ],
        dir.path(),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no model can be trained: the only feature columns are images (img)"),
        "{err}"
    );
    assert!(err.contains("no image features from mobilenet-v2"), "{err}");
}

/// Nothing to learn from (an ID and a constant column): the run fails, listing why each column
/// was left out, instead of a leaderboard with no model marked best.
#[test]
fn a_run_with_no_informative_column_fails_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..30)
        .map(|i| format!("id{i},same,{}\n", ["a", "b"][i % 2]))
        .collect();
    write(dir.path(), "ids.csv", format!("key,c,y\n{rows}").as_bytes());
    let out = run_bin(&["run", "ids.csv", "--target", "y", "--quiet"], dir.path());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no model can be trained: no column is left"),
        "{err}"
    );
    assert!(err.contains("'key'") && err.contains("'c'"), "{err}");
    let out = run_bin(
        &[
            "run",
            "ids.csv",
            "--target",
            "y",
            "--quiet",
            "--baseline-only",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A file with the target alone says so.
    let only: String = (0..30)
        .map(|i| format!("{}\n", ["a", "b"][i % 2]))
        .collect();
    write(dir.path(), "only.csv", format!("y\n{only}").as_bytes());
    let out = run_bin(&["run", "only.csv", "--target", "y", "--quiet"], dir.path());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the data has no column besides the target 'y'"),
        "{err}"
    );
}

/// An address, a Windows-style path and an empty file are skipped with reasons that say what is
/// wrong (they all read "image file not found" or "not a recognised image format").
#[test]
fn urls_backslashes_and_empty_files_are_skipped_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("imgs")).unwrap();
    write(dir.path(), "empty.png", b"");
    let lines = "http://example.com/a.png,a\nimgs\\b.png,b\nempty.png,a\n";
    let csv = image_rows_csv(dir.path(), "d.csv", lines, 30);
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    let reasons: Vec<(usize, &str)> = ds
        .skipped
        .iter()
        .map(|s| (s.row, s.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].1.contains("an address, not a file"),
        "{reasons:?}"
    );
    assert!(reasons[1].1.contains("separated by '/'"), "{reasons:?}");
    assert!(
        reasons[2].1.ends_with("empty file (0 bytes)"),
        "{reasons:?}"
    );
}
