//! Where the CPU time of featurization goes: per-layer-kind timing of one forward pass on the
//! burn (flex) network and on the fast CPU path, and decode vs resize on real covers.
//!
//! `cargo run --release -p autopilot-neural --example forward_profile -- [BACKBONE,...] [BATCH] [COVERS_CSV]`
//! (defaults: all four backbones, 16, /work/shared/data/covers-spotify/albums.csv; the image part is
//! skipped when the CSV is absent).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use neural::Backbone;
use neural::cpu::CpuNet;
use neural::net::{BackboneNet, ConvBnAct, global_avg_pool};
use neural::preprocess::{PreprocessConfig, load_rgb, preprocess_rgb};

/// Runs a burn op and waits for its result (flex is eager; reading one value back forces it).
fn timed<F: FnOnce() -> Tensor<4>>(acc: &mut f64, f: F) -> Tensor<4> {
    let t = Instant::now();
    let y = f();
    let _ = y.clone().slice([0..1, 0..1, 0..1, 0..1]).into_data();
    *acc += t.elapsed().as_secs_f64();
    y
}

#[derive(Default)]
struct Split {
    stem: f64,
    expand: f64,
    depthwise: f64,
    project: f64,
    residual: f64,
    head: f64,
    pool: f64,
}

fn burn_profile(net: &BackboneNet, x: Tensor<4>) -> Split {
    let mut s = Split::default();
    let conv = |acc: &mut f64, l: &ConvBnAct, x: Tensor<4>| timed(acc, || l.forward(x));
    let mut x = conv(&mut s.stem, &net.stem, x);
    for b in &net.blocks {
        let input = x.clone();
        if let Some(e) = &b.expand {
            x = conv(&mut s.expand, e, x);
        }
        x = conv(&mut s.depthwise, &b.depthwise, x);
        x = conv(&mut s.project, &b.project, x);
        if b.residual {
            x = timed(&mut s.residual, || x.add(input));
        }
    }
    x = conv(&mut s.head, &net.head, x);
    let t = Instant::now();
    let _ = global_avg_pool(x).into_data();
    s.pool += t.elapsed().as_secs_f64();
    s
}

fn print_split(label: &str, s: &Split, n: usize) {
    let total = s.stem + s.expand + s.depthwise + s.project + s.residual + s.head + s.pool;
    let ms = |v: f64| v * 1e3;
    println!(
        "  {label:<6} total {:>7.1} ms ({:>6.1} img/s): stem {:.1}, expand 1×1 {:.1}, depthwise {:.1}, project 1×1 {:.1}, residual {:.1}, head 1×1 {:.1}, pool {:.1} ms",
        ms(total),
        n as f64 / total,
        ms(s.stem),
        ms(s.expand),
        ms(s.depthwise),
        ms(s.project),
        ms(s.residual),
        ms(s.head),
        ms(s.pool)
    );
}

fn cover_paths(csv_path: &Path, limit: usize) -> Vec<PathBuf> {
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let Ok(text) = std::fs::read_to_string(csv_path) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .take(limit)
        .map(|c| base.join(c))
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backbones: Vec<Backbone> = match args.first() {
        Some(list) => list
            .split(',')
            .map(Backbone::from_name)
            .collect::<Result<_, _>>()?,
        // The profile follows the inverted-residual layers (`load_backbone` refuses the ResNet).
        None => Backbone::ALL
            .into_iter()
            .filter(|b| b.family() == neural::backbone::Family::InvertedResidual)
            .collect(),
    };
    let batch: usize = args.get(1).map_or(Ok(16), |s| s.parse())?;
    let csv = PathBuf::from(
        args.get(2)
            .map_or("/work/shared/data/covers-spotify/albums.csv", |s| {
                s.as_str()
            }),
    );
    let device = Device::flex();
    device.seed(1);
    for backbone in backbones {
        let c = backbone.input_size();
        let path = neural::zoo::resolve_weights(backbone, None)?;
        let net = neural::weights::load_backbone(backbone, &path, &device)?.fuse();
        let cpu = CpuNet::from_burn(&net, &backbone.arch())?;
        let x = Tensor::<4>::random([batch, 3, c, c], Distribution::Default, &device);
        let host: Vec<f32> = x
            .clone()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap_or_default();
        println!("{backbone} batch {batch} at {c}×{c}:");
        let _ = burn_profile(&net, x.clone()); // warm-up
        print_split("burn", &burn_profile(&net, x), batch);
        let _ = cpu.profile(&host, batch, c);
        let p = cpu.profile(&host, batch, c);
        println!(
            "  fast   total {:>7.1} ms ({:>6.1} img/s): {}",
            p.iter().map(|(_, v)| v).sum::<f64>() * 1e3,
            batch as f64 / p.iter().map(|(_, v)| v).sum::<f64>(),
            p.iter()
                .map(|(k, v)| format!("{k} {:.1}", v * 1e3))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let levels = neural::FeatureLevel::defaults();
        cpu.forward(&host, batch, c, &levels, false)?;
        let t = Instant::now();
        cpu.forward(&host, batch, c, &levels, false)?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "  fast batch forward (images in parallel): {:.1} ms ({:.1} img/s)",
            secs * 1e3,
            batch as f64 / secs
        );
    }

    let paths = cover_paths(&csv, 200);
    if paths.is_empty() {
        println!("SKIP image timing: {} not found", csv.display());
        return Ok(());
    }
    let cfg = PreprocessConfig::from(Backbone::MobileNetV2);
    let (mut decode, mut resize) = (0.0, 0.0);
    for p in &paths {
        let t = Instant::now();
        let img = load_rgb(p)?;
        decode += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _ = preprocess_rgb(&img, &cfg)?;
        resize += t.elapsed().as_secs_f64();
    }
    let n = paths.len() as f64;
    println!(
        "decode {:.2} ms/img, resize+crop+normalise {:.2} ms/img (one thread, {} covers)",
        decode / n * 1e3,
        resize / n * 1e3,
        paths.len()
    );
    Ok(())
}
