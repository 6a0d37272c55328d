//! Where the CPU time of featurization goes: per-layer-kind timing of one forward pass on the
//! burn (flex) network and on the fast CPU path, and decode vs resize on real covers.
//!
//! `cargo run --release -p autopilot-neural --example neural_bench -- forward_profile
//! [BACKBONE,...] [BATCH] [COVERS_CSV]`
//! (defaults: every backbone (the ResNet on the fast path only), 16, /work/shared/data/covers-spotify/albums.csv; the image part is
//! skipped when the CSV is absent).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use neural::Backbone;
use neural::cpu::CpuNet;
use neural::cpu::resnet::CpuResNet;
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

fn print_profile(label: &str, p: &[(&str, f64)], n: usize) {
    let total: f64 = p.iter().map(|(_, v)| v).sum();
    println!(
        "  {label} total {:>7.1} ms ({:>6.1} img/s): {}",
        total * 1e3,
        n as f64 / total,
        p.iter()
            .map(|(k, v)| format!("{k} {:.1}", v * 1e3))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The bottleneck ResNet on the CPU kernels, per layer kind: each image on one thread, then
/// each layer across all threads; then the batch with its images in parallel.
fn resnet_profile(
    backbone: Backbone,
    path: &Path,
    batch: usize,
    device: &Device,
) -> Result<(), Box<dyn std::error::Error>> {
    let c = backbone.input_size();
    let net = neural::resnet::ResNet::from_onnx(&backbone.arch(), path, device)?;
    let cpu = CpuResNet::from_burn(&net)?;
    let x = Tensor::<4>::random([batch, 3, c, c], Distribution::Default, device);
    let host: Vec<f32> = x.into_data().try_into_vec::<f32>().unwrap_or_default();
    println!("{backbone} batch {batch} at {c}×{c}:");
    for (label, parallel) in [("one thread  ", false), ("layers split", true)] {
        let _ = cpu.profile(&host, batch, c, parallel);
        print_profile(label, &cpu.profile(&host, batch, c, parallel), batch);
    }
    let levels = neural::FeatureLevel::defaults();
    cpu.forward(&host, batch, c, &levels, true)?;
    let t = Instant::now();
    cpu.forward(&host, batch, c, &levels, true)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "  fast batch forward (images in parallel): {:.1} ms ({:.1} img/s)",
        secs * 1e3,
        batch as f64 / secs
    );
    Ok(())
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

pub fn main(args: Vec<String>) -> super::Outcome {
    let backbones = super::backbone_list(args.first().map(String::as_str), &Backbone::ALL)?;
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
        if backbone.family() == neural::backbone::Family::Bottleneck {
            resnet_profile(backbone, &path, batch, &device)?;
            continue;
        }
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
        print_profile("fast  ", &cpu.profile(&host, batch, c), batch);
        let levels = neural::FeatureLevel::defaults();
        let int8 = neural::cpu::int8_gemm::vnni_available().then(|| cpu.to_int8());
        if let Some(q) = &int8 {
            let _ = q.profile(&host, batch, c);
            print_profile("int8  ", &q.profile(&host, batch, c), batch);
        }
        for (label, net) in [("f32", Some(&cpu)), ("int8", int8.as_ref())] {
            let Some(net) = net else { continue };
            net.forward(&host, batch, c, &levels, false)?;
            let t = Instant::now();
            net.forward(&host, batch, c, &levels, false)?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "  fast batch forward {label} (images in parallel): {:.1} ms ({:.1} img/s)",
                secs * 1e3,
                batch as f64 / secs
            );
        }
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
