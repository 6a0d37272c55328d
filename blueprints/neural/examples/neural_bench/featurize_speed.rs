//! Featurization throughput on the Spotify covers (1,264 JPEGs): images/s per backbone, split
//! into decode+resize and forward time; then forward only, on images decoded and resized
//! beforehand (outside the timer, as `benches/python/onnx_anchor.py` times ONNX Runtime and
//! PyTorch), to the logits. That second pass holds every decoded image in memory (0.6 MB each
//! at 224 px): cap the images with LIMIT on a large CSV.
//!
//! `cargo run --release -p autopilot-neural --example neural_bench -- featurize_speed [CSV]
//! [BACKBONE,...] [BATCH] [LIMIT] [burn|PRECISIONS]`
//! (defaults: /work/shared/data/covers-spotify/albums.csv, all four backbones, 16, every image (also
//! for a LIMIT that is not a number),
//! f32; `burn` runs the forward passes through burn's flex backend instead of the CPU kernels;
//! PRECISIONS such as `f32,int8` times each backbone at each precision, one right after the
//! other).

use std::path::{Path, PathBuf};

use neural::featurizer::{FeaturizerConfig, ImageFeaturizer};
use neural::preprocess::{load_rgb, preprocess_rgb};
use neural::{Backbone, DeviceChoice, Precision};

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// CPU seconds (user + system) used by this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn cover_paths(csv_path: &Path) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let mut reader = csv::Reader::from_path(csv_path)?;
    let col = reader
        .headers()?
        .iter()
        .position(|h| h == "cover")
        .ok_or("no `cover` column")?;
    let mut paths = Vec::new();
    for record in reader.records() {
        let record = record?;
        paths.push(base.join(record.get(col).ok_or("short row")?));
    }
    Ok(paths)
}

pub fn main(args: Vec<String>) -> super::Outcome {
    let csv_path = PathBuf::from(
        args.first()
            .map_or("/work/shared/data/covers-spotify/albums.csv", |s| {
                s.as_str()
            }),
    );
    if !csv_path.is_file() {
        println!("SKIP: {} not found", csv_path.display());
        return Ok(());
    }
    let backbones = super::backbone_list(args.get(1).map(String::as_str), &Backbone::ALL)?;
    let batch: usize = args.get(2).map_or(Ok(16), |s| s.parse())?;
    let mut paths = cover_paths(&csv_path)?;
    if let Some(limit) = args.get(3).and_then(|s| s.parse::<usize>().ok()) {
        paths.truncate(limit);
    }
    let burn_forward = args.get(4).is_some_and(|s| s == "burn");
    let precisions: Vec<Precision> = match args.get(4).filter(|_| !burn_forward) {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![Precision::F32],
    };
    println!(
        "{} images, batch {batch}, {} CPUs",
        paths.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // The first precision's logits of each backbone, to compare the others with.
    let mut first_logits: Option<(Backbone, Vec<f32>)> = None;
    for (backbone, precision) in backbones
        .into_iter()
        .flat_map(|b| precisions.iter().map(move |&p| (b, p)))
    {
        let mut config = FeaturizerConfig::new(backbone);
        config.device = DeviceChoice::Cpu;
        config.batch_size = batch;
        config.precision = precision;
        let name = format!("{} {precision}", backbone.name());
        let mut featurizer = ImageFeaturizer::new(config)?;
        if burn_forward {
            featurizer = featurizer.with_burn_forward();
        }
        // Warm-up forward (allocations, kernel selection), as the peer harness does.
        let c = backbone.input_size();
        featurizer.run_batch(vec![0.0; batch * 3 * c * c], batch, false)?;
        let before = loadavg();
        let cpu_before = cpu_seconds();
        let (features, t) = featurizer.featurize_paths_timed(&paths)?;
        println!(
            "{:<25} {} {:>6.1} img/s  wall {:>6.1}s  decode+resize {:>6.1}s  forward {:>6.1}s ({:.1} img/s)  cpu {:.1}s  dim {}  failed {}  loadavg {} -> {}",
            name,
            if featurizer.uses_fast_cpu() {
                "cpu-kernels"
            } else {
                "burn"
            },
            paths.len() as f64 / t.total_seconds,
            t.total_seconds,
            t.preprocess_seconds,
            t.forward_seconds,
            paths.len() as f64 / t.forward_seconds,
            cpu_seconds() - cpu_before,
            featurizer.feature_dim(),
            features.n_failed(),
            before,
            loadavg()
        );
        // Forward only: every image decoded and resized first, then the batches to the logits.
        let mut input = Vec::new();
        for p in &paths {
            input.extend(preprocess_rgb(
                &load_rgb(p)?,
                featurizer.preprocess_config(),
            )?);
        }
        let per_image = featurizer.preprocess_config().input_len();
        let batches: Vec<Vec<f32>> = input
            .chunks(batch * per_image)
            .map(<[f32]>::to_vec)
            .collect();
        let t0 = std::time::Instant::now();
        let mut logits = Vec::new();
        for b in batches {
            let n = b.len() / per_image;
            logits.extend(featurizer.run_batch(b, n, true)?.logits.unwrap_or_default());
        }
        let forward = t0.elapsed().as_secs_f64();
        println!(
            "{:<25} forward only (pre-decoded, to the logits): {:>6.1}s  {:.1} img/s",
            name,
            forward,
            paths.len() as f64 / forward
        );
        match &first_logits {
            Some((b, want)) if *b == backbone => {
                let (top1, cosine) = agreement(want, &logits, paths.len());
                println!(
                    "{name:<25} vs {}: top-1 agreement {top1:.4}, smallest logit cosine {cosine:.4}",
                    precisions[0]
                );
            }
            _ => first_logits = Some((backbone, logits)),
        }
    }
    Ok(())
}

/// Share of rows with the same arg-max, and the smallest row cosine, of two `n`-row matrices.
fn agreement(want: &[f32], got: &[f32], n: usize) -> (f64, f64) {
    let per = want.len() / n.max(1);
    let argmax = |r: &[f32]| {
        r.iter()
            .enumerate()
            .fold(0, |best, (i, &v)| if v > r[best] { i } else { best })
    };
    let (mut same, mut smallest) = (0usize, 1f64);
    for (w, g) in want.chunks_exact(per).zip(got.chunks_exact(per)) {
        same += usize::from(argmax(w) == argmax(g));
        let dot: f64 = w
            .iter()
            .zip(g)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let norm = |v: &[f32]| v.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
        smallest = smallest.min(dot / (norm(w) * norm(g)));
    }
    (same as f64 / n.max(1) as f64, smallest)
}
