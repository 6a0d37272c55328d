//! Ingestion tests: CSV parsing, type inference, every bad-input case, profiling, and the real
//! Spotify data (skipped when `shared/` is absent, unless `AUTOPILOT_REQUIRE_SHARED=1`).

use std::path::{Path, PathBuf};

use autopilot::dataset::{self, ColumnType, DataError, LoadOptions, load, profile};
use autopilot::synth::{self, DemoSpec};

pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Writes a small PNG whose content depends on `seed`.
pub(crate) fn png(dir: &Path, name: &str, seed: u8) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([seed, x as u8 * 20, y as u8 * 20]));
    img.save(&p).unwrap();
    p
}

fn opts_with_target(t: &str) -> LoadOptions {
    LoadOptions {
        target: Some(t.into()),
        ..LoadOptions::default()
    }
}

/// Writes `name` in `dir`: the CSV header `img,y`, the raw `lines` given first (the images
/// under test), then `n_ok` readable PNGs `ok0.png …` with classes `a`/`b` alternating.
pub(crate) fn image_rows_csv(dir: &Path, name: &str, lines: &str, n_ok: usize) -> PathBuf {
    let mut text = format!("img,y\n{lines}");
    for i in 0..n_ok {
        png(dir, &format!("ok{i}.png"), i as u8);
        text.push_str(&format!(
            "ok{i}.png,{}\n",
            if i % 2 == 0 { "a" } else { "b" }
        ));
    }
    write(dir, name, text.as_bytes())
}

pub(crate) fn err_text(r: Result<dataset::Dataset, DataError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bom_semicolons_quoted_newlines_and_missing_markers() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "d.csv",
        "\u{feff}name;note;n;y\nann;\"line one\nline two; still\";1,5;a\nbob;NA;2;b\n".as_bytes(),
    );
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    assert_eq!(ds.column_names(), ["name", "note", "n", "y"]);
    assert_eq!(ds.n_rows(), 2);
    let note = ds.column("note").unwrap();
    assert_eq!(note.values[0].as_deref(), Some("line one\nline two; still"));
    assert_eq!(note.values[1], None);
    // "1,5" shows the column's decimal comma (a `;` file, as European spreadsheets save).
    let n = ds.column("n").unwrap();
    assert_eq!(n.kind, ColumnType::Numeric);
    assert_eq!(n.as_f64(), [Some(1.5), Some(2.0)]);
}

#[test]
fn tab_and_pipe_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = write(dir.path(), "d.tsv", b"a\tb\n1\tx y\n2\tz\n");
    let ds = load(&tsv, &LoadOptions::default()).unwrap();
    assert_eq!(ds.column("a").unwrap().as_f64(), vec![Some(1.0), Some(2.0)]);
    let psv = write(dir.path(), "d.psv", b"a|b\n1|\"x,y\"\n");
    let ds = load(&psv, &LoadOptions::default()).unwrap();
    assert_eq!(ds.column("b").unwrap().values[0].as_deref(), Some("x,y"));
}

#[test]
fn missing_file_names_the_path() {
    let e = err_text(load(
        Path::new("/nonexistent/dir/data.csv"),
        &LoadOptions::default(),
    ));
    assert!(
        e.contains("/nonexistent/dir/data.csv") && e.contains("no such file"),
        "{e}"
    );
}

#[test]
fn empty_and_header_only_csv() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.csv", b"");
    let e = err_text(load(&empty, &LoadOptions::default()));
    assert!(e.contains("empty.csv") && e.contains("empty"), "{e}");
    let bom_only = write(dir.path(), "bom.csv", b"\xEF\xBB\xBF\n");
    assert!(matches!(
        load(&bom_only, &LoadOptions::default()),
        Err(DataError::EmptyFile { .. })
    ));
    let header = write(dir.path(), "header.csv", b"a,b\n");
    let e = err_text(load(&header, &LoadOptions::default()));
    assert!(
        e.contains("header.csv") && e.contains("no data rows"),
        "{e}"
    );
}

#[test]
fn ragged_row_names_row_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "r.csv", b"a,b,c\n1,2,3\n\"x\ny\",2,3\n4,5\n");
    match load(&csv, &LoadOptions::default()) {
        Err(DataError::RaggedRow {
            row,
            line,
            expected,
            found,
            ..
        }) => {
            // Header = row 1; "4,5" is the third record (row 4) starting on line 5.
            assert_eq!((row, line, expected, found), (4, 5, 3, 2));
        }
        other => panic!("expected RaggedRow, got {other:?}"),
    }
    let e = err_text(load(&csv, &LoadOptions::default()));
    assert!(e.contains("r.csv") && e.contains("row 4"), "{e}");
    // The same lines ended by CRLF (as Python's csv module writes them): the same line.
    let crlf = write(
        dir.path(),
        "crlf.csv",
        b"a,b,c\r\n1,2,3\r\n\"x\r\ny\",2,3\r\n4,5\r\n",
    );
    let e = err_text(load(&crlf, &LoadOptions::default()));
    assert!(e.contains("row 4 (line 5)"), "{e}");
}

#[test]
fn non_utf8_names_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "latin1.csv",
        b"name,city\nann,Paris\nbob,Z\xfcrich\n",
    );
    let e = err_text(load(&csv, &LoadOptions::default()));
    assert!(
        e.contains("latin1.csv")
            && e.contains("row 3")
            && e.contains("'city'")
            && e.contains("UTF-8"),
        "{e}"
    );
}

#[test]
fn duplicate_column_names() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "dup.csv", b"a,b,a\n1,2,3\n");
    let e = err_text(load(&csv, &LoadOptions::default()));
    assert!(
        e.contains("dup.csv") && e.contains("'a'") && e.contains("columns 1 and 3"),
        "{e}"
    );
}

#[test]
fn unknown_target_and_override_columns() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "t.csv", b"a,b\n1,x\n2,y\n");
    let e = err_text(load(&csv, &opts_with_target("genre")));
    assert!(
        e.contains("t.csv") && e.contains("'genre'") && e.contains("a, b"),
        "{e}"
    );
    let opts = LoadOptions {
        type_overrides: vec![("zz".into(), ColumnType::Text)],
        ..LoadOptions::default()
    };
    assert!(
        matches!(load(&csv, &opts), Err(DataError::UnknownColumn { column, .. }) if column == "zz")
    );
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    assert!(matches!(
        ds.target("nope"),
        Err(DataError::UnknownColumn { .. })
    ));
}

#[test]
fn one_class_target_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "one.csv", b"x,y\n1,cat\n2,cat\n3,cat\n");
    let ds = load(&csv, &opts_with_target("y")).unwrap();
    let e = ds.target("y").unwrap_err().to_string();
    assert!(
        e.contains("one.csv") && e.contains("one value only") && e.contains("cat"),
        "{e}"
    );
}

#[test]
fn numeric_target_is_a_regression_and_two_values_are_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("x,price,flag\n");
    for i in 0..30 {
        text.push_str(&format!("{i},{}.5,{}\n", i * 3, i % 2));
    }
    let csv = write(dir.path(), "reg.csv", text.as_bytes());
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    let t = ds.target("price").unwrap();
    assert_eq!(t.task, dataset::Task::Regression);
    assert!(t.reason.contains("30 distinct"), "{}", t.reason);
    assert_eq!(&t.values[..3], &[0.5, 3.5, 6.5]);
    // Five quantile strata of six rows each stratify the folds.
    assert_eq!(&t.labels[..7], &[0, 0, 0, 0, 0, 0, 1]);
    let t = ds.target("flag").unwrap();
    assert_eq!(t.task, dataset::Task::Binary);
    assert_eq!(t.classes, ["0", "1"]);
    assert_eq!(&t.labels[..4], &[0, 1, 0, 1]);
    assert_eq!(t.positive_class(), Some("1"));
}

/// Models compute in f32: a number beyond its range is refused in a regression target (naming
/// row and column) and read as missing, with a warning, in a feature.
#[test]
fn numbers_beyond_f32_are_refused_in_the_target_and_missing_in_features() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("x,big,y\n");
    for i in 0..40 {
        let big = if i == 6 {
            "1e39".to_string()
        } else {
            format!("{}", i * 7 % 11)
        };
        let y = if i == 7 {
            "-1e39".to_string()
        } else {
            format!("{}.25", i * 3)
        };
        text.push_str(&format!("{i},{big},{y}\n"));
    }
    let csv = write(dir.path(), "big.csv", text.as_bytes());
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    let e = ds.target("y").unwrap_err().to_string();
    assert!(
        e.contains("big.csv")
            && e.contains("column 'y'")
            && e.contains("row 9: '-1e39' is beyond ±3.4e38"),
        "{e}"
    );
    assert_eq!(ds.column("big").unwrap().kind, ColumnType::Numeric);
    assert_eq!(ds.column("big").unwrap().as_f64()[6], None);
    let p = profile(&ds, "x", None).unwrap();
    let w = p
        .warnings
        .iter()
        .find(|w| w.column == "big")
        .expect("a warning");
    assert!(
        w.message
            .contains("\"1e39\" in row 8) (numbers beyond ±3.4e38 are out of range)"),
        "{}",
        w.message
    );
    // Loaded for that target, the rows whose target is no usable number are skipped, each
    // with its reason.
    let opts = LoadOptions {
        target: Some("big".into()),
        ..LoadOptions::default()
    };
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[5] = "4,unknown,12.25".into();
    let csv = write(
        dir.path(),
        "marks.csv",
        (lines.join("\n") + "\n").as_bytes(),
    );
    let ds = load(&csv, &opts).unwrap();
    let reasons: Vec<(usize, &str)> = ds
        .skipped
        .iter()
        .map(|s| (s.row, s.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                6,
                "target value 'unknown' is not a number (the column is numeric)"
            ),
            (8, "target value '1e39' is beyond ±3.4e38")
        ]
    );
}

#[test]
fn date_and_id_targets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("day,id,y\n");
    for i in 0..30 {
        text.push_str(&format!("2020-01-{:02},x{i},{}\n", i % 28 + 1, i % 2));
    }
    let csv = write(dir.path(), "d.csv", text.as_bytes());
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    let e = ds.target("day").unwrap_err().to_string();
    assert!(
        e.contains("d.csv") && e.contains("28 distinct") && e.contains("regression"),
        "{e}"
    );
    let e = ds.target("id").unwrap_err().to_string();
    assert!(
        e.contains("'id'") && e.contains("30 distinct values for 30 rows"),
        "{e}"
    );
}

#[test]
fn numeric_classes_sort_numerically() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "n.csv", b"y\n10\n2\n1\n2\n10\n1\n2\n");
    let t = load(&csv, &LoadOptions::default())
        .unwrap()
        .target("y")
        .unwrap();
    assert_eq!(t.classes, ["1", "2", "10"]);
    assert_eq!(t.labels, [2, 1, 0, 1, 2, 0, 1]);
    assert_eq!(t.class_counts(), [2, 3, 2]);
}

#[test]
fn missing_target_rows_are_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "m.csv", b"x,y\n1,a\n2,\n3,b\n4,NA\n");
    let ds = load(&csv, &opts_with_target("y")).unwrap();
    assert_eq!(ds.n_rows(), 2);
    assert_eq!(ds.column("x").unwrap().as_f64(), [Some(1.0), Some(3.0)]);
    let rows: Vec<usize> = ds.skipped.iter().map(|s| s.row).collect();
    assert_eq!(rows, [3, 5]);
    assert!(
        ds.skipped
            .iter()
            .all(|s| s.column == "y" && s.reason.contains("missing"))
    );
    // Without a target in the options, asking for it reports the first missing row.
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    let e = ds.target("y").unwrap_err().to_string();
    assert!(e.contains("row 3") && e.contains("'y'"), "{e}");
}

/// A CSV of `n` rows with PNG images, the first `bad` of which are replaced by garbage.
fn image_csv(dir: &Path, n: usize, bad: usize) -> PathBuf {
    let mut text = String::from("img,label\n");
    for i in 0..n {
        let name = format!("imgs/{i}.png");
        if i < bad {
            write(dir, &name, b"\x89PNG\r\n\x1a\nthis is not really a png");
        } else {
            png(dir, &name, i as u8);
        }
        text.push_str(&format!("{name},{}\n", if i % 2 == 0 { "a" } else { "b" }));
    }
    write(dir, "images.csv", text.as_bytes())
}

#[test]
fn corrupt_image_row_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let csv = image_csv(dir.path(), 20, 1);
    let ds = load(&csv, &opts_with_target("label")).unwrap();
    assert_eq!(ds.column("img").unwrap().kind, ColumnType::Image);
    assert_eq!(ds.n_rows(), 19);
    assert_eq!(ds.skipped.len(), 1);
    let s = &ds.skipped[0];
    assert_eq!((s.row, s.column.as_str()), (2, "img"));
    assert!(s.reason.contains("imgs/0.png"), "{}", s.reason);
    // A missing file is also a bad row.
    std::fs::remove_file(dir.path().join("imgs/5.png")).unwrap();
    let ds = load(&csv, &opts_with_target("label")).unwrap();
    assert_eq!(ds.skipped.iter().map(|s| s.row).collect::<Vec<_>>(), [2, 7]);
}

#[test]
fn too_many_bad_images_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = image_csv(dir.path(), 20, 3); // 15% > 10%
    let e = err_text(load(&csv, &opts_with_target("label")));
    assert!(
        e.contains("images.csv") && e.contains("3 of 20") && e.contains("row 2 column 'img'"),
        "{e}"
    );
    let lenient = LoadOptions {
        max_bad_row_share: 0.2,
        ..opts_with_target("label")
    };
    assert_eq!(load(&csv, &lenient).unwrap().n_rows(), 17);
}

#[test]
fn image_path_escaping_with_dotdot_is_refused() {
    let root = tempfile::tempdir().unwrap();
    png(root.path(), "outside.png", 1);
    let data = root.path().join("data");
    png(&data, "in.png", 2);
    let csv = write(&data, "d.csv", b"img,y\nin.png,a\n../outside.png,b\n");
    let e = err_text(load(&csv, &LoadOptions::default()));
    assert!(
        e.contains("d.csv") && e.contains("row 3") && e.contains("'img'") && e.contains("outside"),
        "{e}"
    );
    let allowed = LoadOptions {
        allow_outside: true,
        ..LoadOptions::default()
    };
    let ds = load(&csv, &allowed).unwrap();
    assert_eq!(ds.n_rows(), 2);
    assert!(ds.skipped.is_empty());
}

#[cfg(unix)]
#[test]
fn image_symlink_escaping_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let outside = png(root.path(), "secret.png", 1);
    let data = root.path().join("data");
    png(&data, "in.png", 2);
    std::os::unix::fs::symlink(&outside, data.join("link.png")).unwrap();
    let csv = write(&data, "d.csv", b"img,y\nin.png,a\nlink.png,b\n");
    assert!(matches!(
        load(&csv, &LoadOptions::default()),
        Err(DataError::PathEscapes { row: 3, .. })
    ));
    let allowed = LoadOptions {
        allow_outside: true,
        ..LoadOptions::default()
    };
    assert_eq!(load(&csv, &allowed).unwrap().n_rows(), 2);
}

/// CRC-32 (IEEE), bitwise, for crafting PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub(crate) fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

#[test]
fn decompression_bomb_is_refused_from_the_header() {
    assert_eq!(crc32(b"IEND"), 0xAE42_6082); // the well-known IEND CRC
    let dir = tempfile::tempdir().unwrap();
    // A PNG header announcing 100000 x 100000 RGB pixels (30 GB decoded), with no pixel data.
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    bomb.extend(chunk(b"IHDR", &ihdr));
    // One stored zlib block holding a single zero byte: far too little data for the header.
    bomb.extend(chunk(
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x01,
        ],
    ));
    bomb.extend(chunk(b"IEND", &[]));
    write(dir.path(), "bomb.png", &bomb);
    let csv = image_rows_csv(dir.path(), "d.csv", "bomb.png,a\n", 12);
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    assert_eq!(ds.n_rows(), 12);
    assert_eq!(ds.skipped.len(), 1);
    assert_eq!(ds.skipped[0].row, 2);
    assert!(
        ds.skipped[0].reason.contains("100000x100000")
            && ds.skipped[0].reason.contains("decompression bomb"),
        "{}",
        ds.skipped[0].reason
    );
    // A lower limit refuses ordinary 8x8 images too (64 pixels > 63).
    let strict = LoadOptions {
        max_image_pixels: 63,
        max_bad_row_share: 1.0,
        ..LoadOptions::default()
    };
    let e = err_text(load(&csv, &strict));
    assert!(e.contains("all 13 rows were skipped"), "{e}");
}

/// An unknown column's error lists the first 20 columns that exist and counts the rest.
#[test]
fn an_unknown_column_lists_at_most_twenty_names() {
    let dir = tempfile::tempdir().unwrap();
    let header: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
    let row: Vec<String> = (0..30).map(|i| i.to_string()).collect();
    let text = format!(
        "{}\n{}\n{}\n",
        header.join(","),
        row.join(","),
        row.join(",")
    );
    let csv = write(dir.path(), "wide.csv", text.as_bytes());
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    let e = ds.require_column("nope").unwrap_err().to_string();
    assert!(
        e.contains("c0, c1") && e.contains("c19, … and 10 more"),
        "{e}"
    );
    assert!(!e.contains("c20"), "{e}");
}

#[test]
fn folder_of_class_folders() {
    let dir = tempfile::tempdir().unwrap();
    for (class, n) in [("dogs", 3), ("cats", 2)] {
        for i in 0..n {
            png(dir.path(), &format!("{class}/{i}.png"), i);
        }
    }
    write(dir.path(), "cats/readme.txt", b"not an image");
    // Sub-folders of a class folder belong to it (as in torchvision's ImageFolder); hidden
    // ones do not.
    png(dir.path(), "dogs/puppies/9.png", 9);
    png(dir.path(), "dogs/.cache/8.png", 8);
    let ds = load(dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(ds.column_names(), ["image", "class"]);
    assert_eq!(ds.column("image").unwrap().kind, ColumnType::Image);
    let images: Vec<&str> = ds
        .column("image")
        .unwrap()
        .values
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    assert_eq!(
        images,
        [
            "cats/0.png",
            "cats/1.png",
            "dogs/0.png",
            "dogs/1.png",
            "dogs/2.png",
            "dogs/puppies/9.png"
        ]
    );
    let t = ds.target("class").unwrap();
    assert_eq!(t.classes, ["cats", "dogs"]);
    assert_eq!(t.class_counts(), [2, 4]);
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        load(empty.path(), &LoadOptions::default()),
        Err(DataError::NoClassFolders { .. })
    ));
}

#[test]
fn type_overrides_replace_inference() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "o.csv", b"code,y\n1,a\n2,b\n3,a\n");
    assert_eq!(
        load(&csv, &LoadOptions::default())
            .unwrap()
            .column("code")
            .unwrap()
            .kind,
        ColumnType::Numeric
    );
    let (col, kind) = dataset::parse_type_override("code=categorical").unwrap();
    let opts = LoadOptions {
        type_overrides: vec![(col, kind)],
        ..LoadOptions::default()
    };
    assert_eq!(
        load(&csv, &opts).unwrap().column("code").unwrap().kind,
        ColumnType::Categorical
    );
    assert!(dataset::parse_type_override("code=blob").is_err());
    assert!(dataset::parse_type_override("code").is_err());
    // A column name may hold `=`; the kind follows the last one.
    assert_eq!(
        dataset::parse_type_override("a=b=numeric").unwrap(),
        ("a=b".to_string(), ColumnType::Numeric)
    );
    // Two kinds for one column are refused, naming both.
    let twice = LoadOptions {
        type_overrides: vec![
            ("code".into(), ColumnType::Text),
            ("code".into(), ColumnType::Numeric),
        ],
        ..LoadOptions::default()
    };
    let e = err_text(load(&csv, &twice));
    assert!(
        e.contains("o.csv")
            && e.contains("'code'")
            && e.contains("given twice, as text and as numeric"),
        "{e}"
    );
    // Binary or multiclass is the data's to say.
    let e = "binary".parse::<dataset::TaskChoice>().unwrap_err();
    assert!(e.contains("ask for classification"), "{e}");
}

#[test]
fn profile_of_demo_data_flags_leaky_artist_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let csv = synth::write_demo_dataset(
        dir.path(),
        &DemoSpec {
            n_rows: 60,
            image_size: 16,
            ..DemoSpec::default()
        },
    )
    .unwrap();
    // Add a duplicate image (byte copy) and a duplicate row.
    let mut text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    std::fs::copy(
        dir.path().join("images/img_0000.png"),
        dir.path().join("images/copy.png"),
    )
    .unwrap();
    let first = &lines[1];
    text.push_str(&first.replacen("images/img_0000.png", "images/copy.png", 1));
    text.push('\n');
    text.push_str(&lines[2]);
    text.push('\n');
    std::fs::write(&csv, text).unwrap();

    let ds = load(&csv, &opts_with_target("label")).unwrap();
    let kinds: Vec<(String, ColumnType)> = ds
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.kind))
        .collect();
    use ColumnType::*;
    let expected = [
        ("image", Image),
        ("caption", Text),
        ("price", Numeric),
        ("colour", Categorical),
        ("date", Date),
        ("artist", Categorical),
        ("label", Categorical),
    ];
    assert_eq!(kinds, expected.map(|(n, k)| (n.to_string(), k)));

    let p = profile(&ds, "label", Some("artist")).unwrap();
    assert_eq!(p.n_rows, 62);
    assert_eq!(
        p.class_counts
            .iter()
            .map(|c| c.class.as_str())
            .collect::<Vec<_>>(),
        ["circle", "cross", "square"]
    );
    assert_eq!(p.class_counts.iter().map(|c| c.count).sum::<usize>(), 62);
    assert_eq!(p.duplicate_rows, 1);
    // Row 0 and the copy (row 60) share content; row 1 and its exact duplicate (row 61) too.
    let groups: Vec<Vec<usize>> = p.duplicate_images.iter().map(|g| g.rows.clone()).collect();
    assert_eq!(groups, [vec![0, 60], vec![1, 61]]);
    let leaky: Vec<&str> = p.leakage.iter().map(|l| l.column.as_str()).collect();
    assert_eq!(leaky, ["artist"]);
    assert_eq!(p.leakage[0].purity, 1.0);
    assert_eq!(
        p.feature_columns,
        ["image", "caption", "price", "colour", "date"]
    );
    let reasons: Vec<(&str, &str)> = p
        .excluded
        .iter()
        .map(|e| (e.column.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(reasons, [("artist", "group column"), ("label", "target")]);
    // Without a group, artist is excluded as leakage.
    let p2 = profile(&ds, "label", None).unwrap();
    assert!(
        p2.excluded
            .iter()
            .any(|e| e.column == "artist" && e.reason.starts_with("leakage"))
    );
    // JSON round trip and the text report.
    let back: dataset::Profile = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
    let text = p.render_text();
    assert!(
        text.contains("Target leakage") && text.contains("Duplicate images: 2 groups"),
        "{text}"
    );
}

#[test]
fn profile_excludes_constant_and_id_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("row_id,uid,const,x,y\n");
    for i in 0..20 {
        text.push_str(&format!(
            "{i},u{i:04}k,same,{},{}\n",
            (i * 7) % 5,
            if i % 3 == 0 { "p" } else { "q" }
        ));
    }
    let csv = write(dir.path(), "c.csv", text.as_bytes());
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    let p = profile(&ds, "y", None).unwrap();
    assert_eq!(p.constant_columns, ["const"]);
    assert_eq!(p.id_like_columns, ["row_id", "uid"]);
    assert_eq!(p.feature_columns, ["x"]);
    assert!(p.leakage.is_empty(), "{:?}", p.leakage);
    assert!(matches!(
        profile(&ds, "y", Some("missing")),
        Err(DataError::UnknownColumn { .. })
    ));
}

/// Numbers as spreadsheets write them (thousands separators, currency, percent) are numbers,
/// not ID-like text dropped without a word; a numeric override on words that are no numbers
/// leaves an all-missing column, which is excluded as constant.
#[test]
fn formatted_numbers_are_numbers_and_an_all_missing_override_is_constant() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("price,share,budget,word,y\n");
    for i in 0..30 {
        text.push_str(&format!(
            "\"${},{:03}.{:02}\",{}.5%,\"{},000 €\",w{i},{}\n",
            i % 7 + 1,
            i * 37 % 1000,
            i % 100,
            i * 3 % 40,
            i % 5 + 1,
            if i % 3 == 0 { "p" } else { "q" }
        ));
    }
    let csv = write(dir.path(), "f.csv", text.as_bytes());
    let ds = load(&csv, &LoadOptions::default()).unwrap();
    for name in ["price", "share", "budget"] {
        assert_eq!(ds.column(name).unwrap().kind, ColumnType::Numeric, "{name}");
    }
    assert_eq!(ds.column("price").unwrap().as_f64()[1], Some(2037.01));
    assert_eq!(ds.column("budget").unwrap().as_f64()[2], Some(3000.0));
    let p = profile(&ds, "y", None).unwrap();
    assert_eq!(p.feature_columns, ["price", "share", "budget"]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);

    let opts = LoadOptions {
        type_overrides: vec![dataset::parse_type_override("word=numeric").unwrap()],
        ..LoadOptions::default()
    };
    let ds = load(&csv, &opts).unwrap();
    let p = profile(&ds, "y", None).unwrap();
    assert_eq!(p.constant_columns, ["word"]);
    assert!(!p.feature_columns.iter().any(|c| c == "word"));
    assert!(
        p.excluded
            .iter()
            .any(|e| e.column == "word" && e.reason == "empty (every cell missing)"),
        "{:?}",
        p.excluded
    );
    let w = &p.warnings[0];
    assert_eq!((w.column.as_str(), w.cells), ("word", 30));
}

#[test]
fn leakage_purity_by_hand() {
    // Values: a a b b b c (c is a singleton, ignored). Classes: 0 0 0 1 1 1.
    // a -> {0:2}, b -> {0:1, 1:2}: purity = (2 + 2) / 5 = 0.8; repeated share 5/6;
    // class totals among repeated rows {0:3, 1:2} -> baseline 0.6.
    let values: Vec<Option<String>> = ["a", "a", "b", "b", "b", "c"]
        .iter()
        .map(|s| Some(s.to_string()))
        .collect();
    let (purity, share, baseline) = dataset::leakage_purity(&values, &[0, 0, 0, 1, 1, 1]);
    assert!((purity - 0.8).abs() < 1e-12);
    assert!((share - 5.0 / 6.0).abs() < 1e-12);
    assert!((baseline - 0.6).abs() < 1e-12);
}

#[test]
fn real_covers_profile() {
    let Some(csv) = autopilot_testkit::shared("data/covers-spotify/albums.csv") else {
        return;
    };
    // Decoding all 1,264 covers takes a while on two cores; the path checks are enough here.
    let opts = LoadOptions {
        check_images: false,
        ..opts_with_target("genre")
    };
    let ds = load(&csv, &opts).unwrap();
    let kind = |c: &str| ds.column(c).unwrap().kind;
    assert_eq!(kind("cover"), ColumnType::Image);
    assert_eq!(kind("album_name"), ColumnType::Text);
    assert_eq!(kind("artist_name"), ColumnType::Categorical);
    assert_eq!(kind("release_date"), ColumnType::Date);
    assert_eq!(kind("total_tracks"), ColumnType::Numeric);
    let p = profile(&ds, "genre", Some("artist_name")).unwrap();
    assert_eq!(p.n_rows, 1264);
    assert_eq!(p.class_counts.len(), 6);
    assert!(p.leakage.iter().any(|l| l.column == "artist_name"));
    assert!(
        p.excluded
            .iter()
            .any(|e| e.column == "artist_name" && e.reason == "group column")
    );
    assert_eq!(
        p.feature_columns,
        ["cover", "album_name", "release_date", "total_tracks"]
    );
    assert!(!p.duplicate_images.is_empty());
}

#[test]
fn real_lyrics_profile() {
    let Some(csv) = autopilot_testkit::shared("data/lyrics-spotify/songs.csv") else {
        return;
    };
    let ds = load(&csv, &opts_with_target("genre")).unwrap();
    let kind = |c: &str| ds.column(c).unwrap().kind;
    assert_eq!(kind("lyrics"), ColumnType::Text);
    assert_eq!(kind("artist"), ColumnType::Categorical);
    let p = profile(&ds, "genre", Some("artist")).unwrap();
    assert_eq!(p.n_rows, 4316);
    assert_eq!(p.class_counts.len(), 6);
    assert!(p.id_like_columns.contains(&"song_id".to_string()));
    assert!(!p.feature_columns.contains(&"song_id".to_string()));
    assert!(p.feature_columns.contains(&"lyrics".to_string()));
}

#[test]
fn cli_demo_then_profile() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let out_s = out.to_str().unwrap();
    let code = autopilot_cli::main_with_args([
        "autopilot",
        "demo",
        out_s,
        "--data-only",
        "--rows",
        "24",
        "--seed",
        "5",
        "--image-size",
        "12",
    ]);
    assert_eq!(code, 0);
    let csv = out.join(synth::DEMO_CSV);
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 25);
    let csv_s = csv.to_str().unwrap();
    let code = autopilot_cli::main_with_args([
        "autopilot",
        "profile",
        csv_s,
        "--target",
        "label",
        "--group",
        "artist",
        "--json",
    ]);
    assert_eq!(code, 0);
    // Bad input gives exit code 1 (an error message), not a panic.
    let code = autopilot_cli::main_with_args(["autopilot", "profile", csv_s, "--target", "nope"]);
    assert_eq!(code, 1);
    let code = autopilot_cli::main_with_args([
        "autopilot",
        "profile",
        csv_s,
        "--target",
        "label",
        "--type",
        "price=blob",
    ]);
    assert_eq!(code, 2);
}
