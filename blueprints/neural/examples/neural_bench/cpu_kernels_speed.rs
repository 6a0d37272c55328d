//! Our CPU kernels layer by layer, one thread, on every 1×1 and depthwise layer of a backbone
//! at 224 px (for the ResNet: every convolution, the 7×7 and 3×3s as their im2col products),
//! side by side in one run:
//! * the register-blocked 1×1 GEMM (`cpu::panel_gemm`, widest kernel of this CPU) against the
//!   general `gemm` crate plus a separate bias/ReLU6 pass (what the CPU path used before);
//! * the depthwise convolution (`cpu::depthwise`) on each instruction set this CPU has.
//!
//! Both GEMMs and all depthwise variants are checked to agree.
//!
//! `cargo run --release -p autopilot-neural --example neural_bench -- cpu_kernels_speed
//! [BACKBONE,...] [REPEATS]`
//! (defaults: mobilenet-v2,efficientnet-lite0 and 20).

use std::time::Instant;

use neural::Backbone;
use neural::cpu::depthwise::{DepthwiseWeights, depthwise_rows_on};
use neural::cpu::geometry::ConvGeometry;
use neural::cpu::panel_gemm::{Epilogue, Panels, gemm_fused_on};
use neural::cpu::simd::{Activation, Isa};

fn val(i: usize, s: usize) -> f32 {
    ((i * 7919 + s * 104_729) % 97) as f32 / 48.0 - 1.0
}

/// The previous path: `gemm` crate product, then bias and ReLU6 in a second pass.
fn gemm_crate(
    x: &[f32],
    rows: usize,
    w: &[f32],
    k: usize,
    n: usize,
    bias: &[f32],
    out: &mut [f32],
) {
    assert!(x.len() >= rows * k && w.len() >= k * n && out.len() >= rows * n);
    // SAFETY: x is rows×k, w is k×n, out is rows×n, all row-major (asserted above).
    unsafe {
        gemm::gemm::<f32>(
            rows,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            x.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    for row in out.chunks_exact_mut(n) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = (*v + b).clamp(0.0, 6.0);
        }
    }
}

/// Mean seconds of `f` over `repeats` runs after one warm-up.
fn time(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..repeats {
        f();
    }
    t.elapsed().as_secs_f64() / repeats as f64
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

/// `(rows, k, n)` of every 1×1 layer and `(side, channels, kernel, stride)` of every depthwise
/// layer at 224 px.
#[allow(clippy::type_complexity)]
fn layers(
    backbone: Backbone,
) -> (
    Vec<(usize, usize, usize)>,
    Vec<(usize, usize, usize, usize)>,
) {
    let arch = backbone.arch();
    let mut side = 112usize;
    let (mut pointwise, mut depthwise) = (Vec::new(), Vec::new());
    if arch.family == neural::backbone::Family::Bottleneck {
        // The 7×7 stem and the 3×3s as their im2col products, then the 1×1s; no depthwise.
        pointwise.push((side * side, 49 * 3, arch.stem_channels));
        side = side.div_ceil(2);
        for b in arch.blocks() {
            side = side.div_ceil(b.stride);
            let (px, k2) = (side * side, b.kernel * b.kernel);
            pointwise.push((px, b.in_channels, b.hidden_channels));
            pointwise.push((px, k2 * b.hidden_channels, b.hidden_channels));
            if !b.residual() {
                pointwise.push((px, b.in_channels, b.out_channels));
            }
            pointwise.push((px, b.hidden_channels, b.out_channels));
        }
        return (pointwise, depthwise);
    }
    for b in arch.blocks() {
        if b.has_expand() {
            pointwise.push((side * side, b.in_channels, b.hidden_channels));
        }
        depthwise.push((side, b.hidden_channels, b.kernel, b.stride));
        side = side.div_ceil(b.stride);
        pointwise.push((side * side, b.hidden_channels, b.out_channels));
    }
    let last = arch.blocks().last().map_or(0, |b| b.out_channels);
    pointwise.push((side * side, last, arch.head_channels));
    (pointwise, depthwise)
}

fn pointwise_section(shapes: &[(usize, usize, usize)], repeats: usize) {
    let isa = Isa::detect();
    let (mut ours_total, mut gemm_total, mut macs) = (0.0, 0.0, 0.0);
    for &(rows, k, n) in shapes {
        let x: Vec<f32> = (0..rows * k).map(|i| val(i, 1)).collect();
        let w: Vec<f32> = (0..k * n).map(|i| val(i, 2) / k as f32).collect();
        let bias: Vec<f32> = (0..n).map(|i| val(i, 3)).collect();
        let panels = Panels::pack(&w, k, n);
        let epi = Epilogue {
            bias: &bias,
            residual: None,
            act: Activation::Relu6,
        };
        let (mut ours, mut theirs) = (vec![0f32; rows * n], vec![0f32; rows * n]);
        let t_ours = time(repeats, || {
            gemm_fused_on(isa, &x, rows, &panels, epi, &mut ours)
        });
        let t_gemm = time(repeats, || {
            gemm_crate(&x, rows, &w, k, n, &bias, &mut theirs)
        });
        let d = max_diff(&ours, &theirs);
        assert!(d < 1e-4, "1×1 {rows}×{k}×{n}: results differ by {d}");
        println!(
            "  1×1 {rows:>5} × {k:>4} → {n:>4}: ours {:>7.3} ms, gemm crate {:>7.3} ms ({:.2}×)",
            t_ours * 1e3,
            t_gemm * 1e3,
            t_gemm / t_ours
        );
        ours_total += t_ours;
        gemm_total += t_gemm;
        macs += (rows * k * n) as f64;
    }
    println!(
        "  1×1 total per image: ours ({isa:?}) {:.2} ms ({:.1} GFLOP/s), gemm crate {:.2} ms ({:.1} GFLOP/s): ours {:.2}× faster",
        ours_total * 1e3,
        2.0 * macs / ours_total / 1e9,
        gemm_total * 1e3,
        2.0 * macs / gemm_total / 1e9,
        gemm_total / ours_total
    );
}

fn depthwise_section(shapes: &[(usize, usize, usize, usize)], repeats: usize) {
    let isas: Vec<Isa> = [Isa::Portable, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|i| i.available())
        .collect();
    let mut totals = vec![0.0; isas.len()];
    for &(side, c, k, stride) in shapes {
        let g = ConvGeometry::new(
            side,
            side,
            k,
            stride,
            neural::backbone::PaddingStyle::TfSame,
        );
        let layer = DepthwiseWeights {
            weight: (0..k * k * c).map(|i| val(i, 4) / 4.0).collect(),
            bias: (0..c).map(|i| val(i, 5)).collect(),
            channels: c,
            relu6: true,
        };
        let x: Vec<f32> = (0..side * side * c).map(|i| val(i, 6)).collect();
        let len = g.out_h * g.out_w * c;
        let mut first: Option<Vec<f32>> = None;
        let mut line = format!("  dw {side:>3}² × {c:>4}, {k}×{k}/{stride}:");
        for (t, &isa) in totals.iter_mut().zip(&isas) {
            let mut out = vec![0f32; len];
            let secs = time(repeats, || {
                depthwise_rows_on(isa, &x, 0, &g, &layer, 0..g.out_h, &mut out, false)
            });
            match &first {
                Some(f) => assert!(max_diff(f, &out) < 1e-4, "{isa:?} disagrees"),
                None => first = Some(out),
            }
            *t += secs;
            line.push_str(&format!(" {isa:?} {:.3} ms", secs * 1e3));
        }
        println!("{line}");
    }
    let summary: Vec<String> = isas
        .iter()
        .zip(&totals)
        .map(|(isa, t)| format!("{isa:?} {:.2} ms", t * 1e3))
        .collect();
    println!("  depthwise total per image: {}", summary.join(", "));
}

pub fn main(args: Vec<String>) -> super::Outcome {
    let mut args = args.into_iter();
    let default = [Backbone::MobileNetV2, Backbone::EfficientNetLite0];
    let backbones = super::backbone_list(args.next().as_deref(), &default)?;
    let repeats: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(20);
    for backbone in backbones {
        println!("{backbone} at 224 px, one thread, {repeats} repeats");
        let (pointwise, depthwise) = layers(backbone);
        pointwise_section(&pointwise, repeats);
        depthwise_section(&depthwise, repeats);
    }
    Ok(())
}
