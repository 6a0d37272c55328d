//! One-shot check of the wgpu path on a lent GPU machine (no toolchain, no network there):
//! which adapter wgpu takes, parity of each backbone with the PyTorch reference on wgpu, and
//! featurization throughput on wgpu and on the CPU backend for N generated 640×640 JPEGs;
//! optionally forward-only throughput over batch sizes and precisions ([`sweep`]) and
//! fine-tuning time on wgpu and the CPU ([`fine_tune`]).
//!
//! ```text
//! gpu_check --weights-dir DIR --reference-dir DIR [--images N] [--cpu-images M] [--batch B]
//!           [--backbones a,b] [--json FILE] [--markdown FILE] [--images-dir DIR]
//!           [--sweep-batches 64,128,256] [--precisions f32,f16]
//!           [--fine-tune-images N] [--fine-tune-cpu-images M] [--fine-tune-epochs E]
//!           [--parts parity,featurize,sweep,fine-tune]
//! ```
//!
//! `--parts` picks what runs (default all; the sweep and fine-tuning also need their sizes), so
//! that `scripts/gpu_check.sh` can run the forward parts, then the PyTorch peer, then
//! fine-tuning, each under its own time limit. The JSON and markdown are rewritten after every
//! backbone, so a run stopped by its limit keeps what it measured.
//!
//! Fine-tuning loads its backbone from the zoo cache (`$AUTOPILOT_CACHE/models`), so point
//! `AUTOPILOT_CACHE` at a folder whose `models` holds the weights.
//!
//! The images are generated in a temporary folder, or in `--images-dir` (kept, e.g. for a
//! PyTorch baseline on the same files).
//!
//! A backbone is checked when its weight file (the zoo's file name, e.g.
//! `mobilenet_v2-b0353104.pth`) is in `--weights-dir`. Run as `neural_bench gpu_check …`, built
//! and packed by `scripts/gpu_check.sh prepare`.

mod fine_tune;
mod sweep;

use std::fmt::Write as _;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use neural::device::{select_device, wgpu_adapters};
use neural::featurizer::{FeaturizeTiming, FeaturizerConfig, ImageFeaturizer};
use neural::{Backbone, DeviceChoice, FeatureLevel, Precision, zoo};
use rayon::prelude::*;
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error>;

/// Runs one part of the check, turning a panic inside it (e.g. a GPU kernel that a burn/cubecl
/// version panics on, as an f16 one might) into an error, so that the parts after it still run
/// on the lent machine's one try.
pub(crate) fn unpanicked<T>(what: &str, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".to_string());
        Err(format!("{what} panicked: {message}").into())
    })
}

#[derive(Debug)]
struct Options {
    weights_dir: PathBuf,
    reference_dir: PathBuf,
    images: usize,
    cpu_images: Option<usize>,
    batch: usize,
    backbones: Vec<Backbone>,
    json: Option<PathBuf>,
    markdown: Option<PathBuf>,
    images_dir: Option<PathBuf>,
    sweep_batches: Vec<usize>,
    precisions: Vec<Precision>,
    fine_tune_images: usize,
    fine_tune_cpu_images: usize,
    fine_tune_epochs: usize,
    parts: Parts,
}

/// Which parts of the check run.
#[derive(Debug, Clone, Copy)]
struct Parts {
    parity: bool,
    featurize: bool,
    sweep: bool,
    fine_tune: bool,
}

impl Parts {
    const ALL: Parts = Parts {
        parity: true,
        featurize: true,
        sweep: true,
        fine_tune: true,
    };

    const NONE: Parts = Parts {
        parity: false,
        featurize: false,
        sweep: false,
        fine_tune: false,
    };

    /// The parts a comma-separated list names.
    fn parse(s: &str) -> Result<Self, Error> {
        let mut p = Parts::NONE;
        for name in s.split(',').map(str::trim) {
            match name {
                "parity" => p.parity = true,
                "featurize" => p.featurize = true,
                "sweep" => p.sweep = true,
                "fine-tune" => p.fine_tune = true,
                other => {
                    return Err(format!(
                        "unknown part `{other}` (parity, featurize, sweep, fine-tune)"
                    )
                    .into());
                }
            }
        }
        Ok(p)
    }
}

/// A comma-separated list.
fn list<T: std::str::FromStr>(s: &str) -> Result<Vec<T>, Error>
where
    T::Err: std::fmt::Display,
{
    s.split(',')
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|e| format!("`{v}`: {e}").into())
        })
        .collect()
}

fn parse_args(args: Vec<String>) -> Result<Options, Error> {
    let mut o = Options {
        weights_dir: PathBuf::from("gpu_carry/weights"),
        reference_dir: PathBuf::from("gpu_carry/reference"),
        images: 256,
        cpu_images: None,
        batch: 32,
        backbones: Backbone::ALL.to_vec(),
        json: None,
        markdown: None,
        images_dir: None,
        sweep_batches: Vec::new(),
        precisions: vec![Precision::F32, Precision::F16],
        fine_tune_images: 0,
        fine_tune_cpu_images: 0,
        fine_tune_epochs: 3,
        parts: Parts::ALL,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--weights-dir" => o.weights_dir = value()?.into(),
            "--reference-dir" => o.reference_dir = value()?.into(),
            "--images" => o.images = value()?.parse()?,
            "--cpu-images" => o.cpu_images = Some(value()?.parse()?),
            "--batch" => o.batch = value()?.parse()?,
            "--backbones" => {
                o.backbones = value()?
                    .split(',')
                    .map(Backbone::from_name)
                    .collect::<Result<_, _>>()?
            }
            "--json" => o.json = Some(value()?.into()),
            "--markdown" => o.markdown = Some(value()?.into()),
            "--images-dir" => o.images_dir = Some(value()?.into()),
            "--sweep-batches" => o.sweep_batches = list(&value()?)?,
            "--precisions" => o.precisions = list(&value()?)?,
            "--fine-tune-images" => o.fine_tune_images = value()?.parse()?,
            "--fine-tune-cpu-images" => o.fine_tune_cpu_images = value()?.parse()?,
            "--fine-tune-epochs" => o.fine_tune_epochs = value()?.parse()?,
            "--parts" => o.parts = Parts::parse(&value()?)?,
            "-h" | "--help" => {
                println!(
                    "gpu_check --weights-dir DIR --reference-dir DIR [--images N] [--cpu-images M] \
                     [--batch B] [--backbones a,b] [--json FILE] [--markdown FILE] [--images-dir DIR] \
                     [--sweep-batches 64,128,256] [--precisions f32,f16] [--fine-tune-images N] \
                     [--fine-tune-cpu-images M] [--fine-tune-epochs E] \
                     [--parts parity,featurize,sweep,fine-tune]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if o.images == 0 || o.batch == 0 || o.sweep_batches.contains(&0) || o.fine_tune_epochs == 0 {
        return Err(
            "--images, --batch, --sweep-batches and --fine-tune-epochs must be at least 1".into(),
        );
    }
    Ok(o)
}

/// Writes `n` deterministic 640×640 JPEGs (smooth gradients, shapes and noise, quality 90).
fn generate_images(dir: &Path, n: usize) -> Result<Vec<PathBuf>, Error> {
    (0..n)
        .into_par_iter()
        .map(|i| {
            let mut state = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(12_345);
            let mut noise = move || {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 27) as i32 - 16
            };
            let (cx, cy, r) = (
                (i * 97 % 640) as i32,
                (i * 61 % 640) as i32,
                80 + (i * 37 % 200) as i32,
            );
            let img = RgbImage::from_fn(640, 640, |x, y| {
                let (xi, yi) = (x as i32, y as i32);
                let inside = (xi - cx).pow(2) + (yi - cy).pow(2) < r * r;
                let base = [
                    (xi / 3 + i as i32 * 17) % 256,
                    (yi / 3 + i as i32 * 29) % 256,
                    ((xi + yi) / 5 + i as i32 * 7) % 256,
                ];
                let mut px = |c: usize| {
                    let v = if inside {
                        255 - base[(c + 1) % 3]
                    } else {
                        base[c]
                    };
                    (v + noise()).clamp(0, 255) as u8
                };
                Rgb([px(0), px(1), px(2)])
            });
            let path = dir.join(format!("img{i:05}.jpg"));
            let file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
            JpegEncoder::new_with_quality(BufWriter::new(file), 90)
                .encode_image(&img)
                .map_err(|e| e.to_string())?;
            Ok::<PathBuf, String>(path)
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(Into::into)
}

fn read_f32(path: &Path) -> Result<Vec<f32>, Error> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(
        if a.len() == b.len() {
            0.0
        } else {
            f32::INFINITY
        },
        f32::max,
    )
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

fn reference_tag(b: Backbone) -> &'static str {
    match b {
        Backbone::MobileNetV2 => "mnv2",
        Backbone::EfficientNetLite0 => "lite0",
        Backbone::EfficientNetLite1 => "lite1",
        Backbone::EfficientNetLite2 => "lite2",
        Backbone::ResNet50Half => "resnet50_1by2",
    }
}

/// Parity of one backbone on wgpu with the reference outputs.
#[derive(Debug, Default)]
struct Parity {
    d_logits: Option<f32>,
    d_features: Option<f32>,
    top1_chelsea: Option<usize>,
    top1_coffee: Option<usize>,
}

/// Throughput of one featurization run.
#[derive(Debug, Clone, Copy)]
struct Speed {
    images: usize,
    timing: FeaturizeTiming,
    warmup_seconds: f64,
}

impl Speed {
    fn images_per_s(&self) -> f64 {
        self.images as f64 / self.timing.total_seconds
    }
    fn forward_images_per_s(&self) -> f64 {
        self.images as f64 / self.timing.forward_seconds
    }
}

#[derive(Debug)]
struct BackboneReport {
    name: String,
    weights_ok: bool,
    parity: Parity,
    wgpu: Option<Speed>,
    cpu: Option<Speed>,
    /// Max |Δ| between wgpu and CPU features on the generated images, and the largest |x|.
    d_wgpu_cpu: Option<(f32, f32)>,
    sweep: Option<sweep::Sweep>,
    fine_tune: Vec<fine_tune::FineTuneTime>,
    error: Option<String>,
}

fn featurizer(
    backbone: Backbone,
    weights: &Path,
    device: DeviceChoice,
    levels: Vec<FeatureLevel>,
    batch: usize,
) -> Result<ImageFeaturizer, Error> {
    let mut config = FeaturizerConfig::new(backbone);
    config.device = device;
    config.levels = levels;
    config.batch_size = batch;
    config.weights = Some(weights.to_path_buf());
    Ok(ImageFeaturizer::new(config)?)
}

fn parity(f: &ImageFeaturizer, reference: &Path, backbone: Backbone) -> Result<Parity, Error> {
    let mut p = Parity::default();
    let bb = reference.join("backbones");
    let tag = reference_tag(backbone);
    let input = bb.join(format!("{tag}_chelsea_in.f32"));
    if input.is_file() {
        let out = f.run_batch(read_f32(&input)?, 1, true)?;
        let logits = out.logits.ok_or("no logits")?;
        p.d_logits = Some(max_abs_diff(
            &logits,
            &read_f32(&bb.join(format!("{tag}_chelsea_logits.f32")))?,
        ));
        p.d_features = Some(max_abs_diff(
            &out.features,
            &read_f32(&bb.join(format!("{tag}_chelsea_feat.f32")))?,
        ));
    }
    for (name, slot) in [
        ("chelsea.png", &mut p.top1_chelsea),
        ("coffee.png", &mut p.top1_coffee),
    ] {
        let path = reference.join(name);
        if path.is_file() && backbone.classifies_imagenet() {
            let logits = f.classify_paths(&[path]).remove(0)?;
            *slot = Some(argmax(&logits));
        }
    }
    Ok(p)
}

/// Featurizes `paths` after a warm-up on the first batch and on a last partial batch (the
/// wgpu kernels autotune per shape; burn's `persistence` keeps the results for later runs).
fn speed(f: &ImageFeaturizer, paths: &[PathBuf]) -> Result<(Speed, ndarray::Array2<f32>), Error> {
    let t = Instant::now();
    let b = f.batch_size().min(paths.len());
    f.featurize_paths(&paths[..b])?;
    let rest = paths.len() % f.batch_size();
    if rest > 0 {
        f.featurize_paths(&paths[..rest])?;
    }
    let warmup_seconds = t.elapsed().as_secs_f64();
    let (features, timing) = f.featurize_paths_timed(paths)?;
    if features.n_failed() > 0 {
        return Err(format!("{} images failed", features.n_failed()).into());
    }
    Ok((
        Speed {
            images: paths.len(),
            timing,
            warmup_seconds,
        },
        features.values,
    ))
}

/// Featurization throughput on wgpu and on the CPU at `--batch` (default levels), and how far
/// apart their features are.
fn featurize_both(
    r: &mut BackboneReport,
    backbone: Backbone,
    weights: &Path,
    o: &Options,
    images: &[PathBuf],
) -> Result<(), Error> {
    let levels = FeatureLevel::defaults();
    let gpu = featurizer(
        backbone,
        weights,
        DeviceChoice::Wgpu,
        levels.clone(),
        o.batch,
    )?;
    let (s, gpu_values) = speed(&gpu, images)?;
    println!("  wgpu: {}", describe(&s));
    r.wgpu = Some(s);
    drop(gpu);

    let n_cpu = o.cpu_images.unwrap_or(images.len()).min(images.len());
    if n_cpu > 0 {
        let cpu = featurizer(backbone, weights, DeviceChoice::Cpu, levels, o.batch)?;
        let (s, cpu_values) = speed(&cpu, &images[..n_cpu])?;
        println!("  cpu:  {}", describe(&s));
        r.cpu = Some(s);
        let g = gpu_values.slice(ndarray::s![..n_cpu, ..]);
        let scale = cpu_values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = g
            .iter()
            .zip(cpu_values.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!(
            "  wgpu vs cpu features on the generated images: max |Δ| = {d:.3e} (max |x| = {scale:.2})"
        );
        r.d_wgpu_cpu = Some((d, scale));
    }
    Ok(())
}

fn check_backbone(
    backbone: Backbone,
    weights: &Path,
    o: &Options,
    images: &[PathBuf],
) -> BackboneReport {
    let mut r = BackboneReport {
        name: backbone.name().to_string(),
        weights_ok: false,
        parity: Parity::default(),
        wgpu: None,
        cpu: None,
        d_wgpu_cpu: None,
        sweep: None,
        fine_tune: Vec::new(),
        error: None,
    };
    let what = format!("the check of {}", backbone.name());
    let result = unpanicked(&what, || -> Result<(), Error> {
        r.weights_ok = zoo::file_sha256(weights)? == zoo::weight_spec(backbone).sha256;
        if o.parts.parity {
            let f = featurizer(
                backbone,
                weights,
                DeviceChoice::Wgpu,
                vec![FeatureLevel::Highest],
                1,
            )?;
            r.parity = parity(&f, &o.reference_dir, backbone)?;
            drop(f);
            println!("  parity on wgpu: {:?}", r.parity);
        }
        if o.parts.featurize {
            featurize_both(&mut r, backbone, weights, o, images)?;
        }
        if o.parts.sweep && !o.sweep_batches.is_empty() {
            r.sweep = Some(sweep::sweep(
                backbone,
                weights,
                &o.reference_dir,
                images,
                &o.sweep_batches,
                &o.precisions,
            )?);
        }
        if o.parts.fine_tune && o.fine_tune_images > 0 {
            let n = o.fine_tune_images.min(images.len());
            r.fine_tune = unpanicked("fine-tuning", || {
                fine_tune::time_fine_tuning(
                    backbone,
                    weights,
                    &images[..n],
                    o.fine_tune_cpu_images,
                    o.fine_tune_epochs,
                    o.batch,
                )
            })?;
        }
        Ok(())
    });
    if let Err(e) = result {
        println!("  ERROR: {e}");
        r.error = Some(e.to_string());
    }
    r
}

fn describe(s: &Speed) -> String {
    format!(
        "{} images in {:.2}s = {:.1} img/s (decode+resize {:.2}s, forward {:.2}s = {:.1} img/s; warm-up {:.1}s)",
        s.images,
        s.timing.total_seconds,
        s.images_per_s(),
        s.timing.preprocess_seconds,
        s.timing.forward_seconds,
        s.forward_images_per_s(),
        s.warmup_seconds
    )
}

fn speed_json(s: &Option<Speed>) -> Value {
    s.map_or(Value::Null, |s| {
        json!({
            "images": s.images, "total_s": s.timing.total_seconds,
            "decode_resize_s": s.timing.preprocess_seconds, "forward_s": s.timing.forward_seconds,
            "images_per_s": s.images_per_s(), "forward_images_per_s": s.forward_images_per_s(),
            "warmup_s": s.warmup_seconds,
        })
    })
}

fn to_json(header: &[(String, String)], reports: &[BackboneReport]) -> String {
    let mut out = serde_json::Map::new();
    for (k, v) in header {
        out.insert(k.clone(), json!(v));
    }
    let backbones: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "name": r.name, "weights_sha256_ok": r.weights_ok,
                "max_abs_diff_logits": r.parity.d_logits,
                "max_abs_diff_features": r.parity.d_features,
                "top1_chelsea": r.parity.top1_chelsea, "top1_coffee": r.parity.top1_coffee,
                "wgpu": speed_json(&r.wgpu), "cpu": speed_json(&r.cpu),
                "max_abs_diff_wgpu_cpu": r.d_wgpu_cpu.map(|d| d.0),
                "max_abs_cpu": r.d_wgpu_cpu.map(|d| d.1),
                "forward_sweep": r.sweep.as_ref().map(sweep::Sweep::to_json),
                "fine_tune": r.fine_tune.iter().map(|t| t.to_json()).collect::<Vec<_>>(),
                "error": r.error,
            })
        })
        .collect();
    out.insert("backbones".into(), Value::Array(backbones));
    serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default() + "\n"
}

fn to_markdown(header: &[(String, String)], reports: &[BackboneReport]) -> String {
    let mut out = String::from("# gpu_check\n\n");
    for (k, v) in header {
        let _ = writeln!(out, "- {k}: {v}");
    }
    out.push_str(
        "\n| backbone | max Δ logits | max Δ features | top-1 chelsea / coffee | wgpu img/s (decode+resize s, forward s) | cpu img/s (decode+resize s, forward s) | wgpu vs cpu max Δ |\n\
         |---|---|---|---|---|---|---|\n",
    );
    let speed = |s: &Option<Speed>| {
        s.map_or("—".into(), |s| {
            format!(
                "{:.1} ({:.2}, {:.2}) on {}",
                s.images_per_s(),
                s.timing.preprocess_seconds,
                s.timing.forward_seconds,
                s.images
            )
        })
    };
    let opt = |v: Option<f32>| v.map_or("—".into(), |v| format!("{v:.2e}"));
    let top = |v: Option<usize>| v.map_or("—".into(), |v| v.to_string());
    for r in reports {
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} / {} | {} | {} | {} |",
            r.name,
            r.error
                .as_deref()
                .map_or(String::new(), |e| format!(" (error: {e})")),
            opt(r.parity.d_logits),
            opt(r.parity.d_features),
            top(r.parity.top1_chelsea),
            top(r.parity.top1_coffee),
            speed(&r.wgpu),
            speed(&r.cpu),
            r.d_wgpu_cpu
                .map_or("—".into(), |(d, s)| format!("{d:.2e} (max |x| {s:.1})")),
        );
    }
    if reports.iter().any(|r| r.sweep.is_some()) {
        out.push_str(
            "\nForward only on wgpu (preprocessed once, outside the timer; host → device → features → host):\n\n\
             | backbone | precision | batch | img/s |\n|---|---|---|---|\n",
        );
        for r in reports {
            if let Some(s) = &r.sweep {
                out.push_str(&s.markdown_rows(&r.name));
                if let Some((d, scale)) = s.f16_parity {
                    let _ = writeln!(
                        out,
                        "| {} | f16 parity | | max Δ features {d:.2e} vs reference (max |x| {scale:.1}) |",
                        r.name
                    );
                }
            }
        }
    }
    if reports.iter().any(|r| !r.fine_tune.is_empty()) {
        out.push_str(
            "\nFine-tuning (trunk maps featurized on wgpu; synthetic labels; no early stopping):\n\n\
             | backbone | stages | device | images | epochs | trunk featurize s | fit s | s/epoch |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for r in reports {
            for t in &r.fine_tune {
                out.push_str(&t.markdown_row(&r.name));
            }
        }
    }
    out
}

/// Writes the JSON and markdown reports of the backbones checked so far (with the wall time
/// until now) and returns the markdown.
fn write_reports(
    o: &Options,
    header: &[(String, String)],
    reports: &[BackboneReport],
    started: Instant,
) -> Result<String, Error> {
    let mut header = header.to_vec();
    header.push((
        "wall_s".to_string(),
        format!("{:.1}", started.elapsed().as_secs_f64()),
    ));
    if let Some(p) = &o.json {
        std::fs::write(p, to_json(&header, reports))?;
    }
    let md = to_markdown(&header, reports);
    if let Some(p) = &o.markdown {
        std::fs::write(p, &md)?;
    }
    Ok(md)
}

pub fn main(args: Vec<String>) -> Result<(), Error> {
    let o = parse_args(args)?;
    let started = Instant::now();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let adapters: Vec<String> = wgpu_adapters().iter().map(|a| a.to_string()).collect();
    println!("CPUs: {cpus}");
    println!("wgpu adapters: {}", adapters.len());
    for a in &adapters {
        println!("  {a}");
    }
    let wgpu = select_device(DeviceChoice::Wgpu);
    let auto = select_device(DeviceChoice::Auto);
    let wgpu_desc = match &wgpu {
        Ok(s) => s.description.clone(),
        Err(e) => format!("unavailable: {e}"),
    };
    let auto_desc = auto.map_or_else(|e| format!("error: {e}"), |s| s.description);
    println!("--device wgpu: {wgpu_desc}");
    println!("--device auto: {auto_desc}");
    let header = vec![
        ("cpus".to_string(), cpus.to_string()),
        ("adapters".to_string(), adapters.join("; ")),
        ("device_wgpu".to_string(), wgpu_desc),
        ("device_auto".to_string(), auto_desc),
        ("batch".to_string(), o.batch.to_string()),
        ("images".to_string(), o.images.to_string()),
    ];

    let mut reports = Vec::new();
    if wgpu.is_ok() {
        let tmp = tempfile::tempdir()?;
        let dir = match &o.images_dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                d.clone()
            }
            None => tmp.path().to_path_buf(),
        };
        let t = Instant::now();
        let images = generate_images(&dir, o.images)?;
        println!(
            "generated {} 640x640 JPEGs in {:.1}s",
            images.len(),
            t.elapsed().as_secs_f64()
        );
        for &backbone in &o.backbones {
            let weights = o.weights_dir.join(zoo::weight_spec(backbone).file_name);
            if !weights.is_file() {
                println!("{backbone}: no weights at {}, skipped", weights.display());
                continue;
            }
            println!("{backbone}:");
            reports.push(check_backbone(backbone, &weights, &o, &images));
            write_reports(&o, &header, &reports, started)?;
        }
    }
    let md = write_reports(&o, &header, &reports, started)?;
    println!("\n{md}");
    if let Err(e) = wgpu {
        return Err(format!("no wgpu device: {e}").into());
    }
    if reports.iter().any(|r| r.error.is_some()) {
        return Err("some backbones failed (see above)".into());
    }
    Ok(())
}
