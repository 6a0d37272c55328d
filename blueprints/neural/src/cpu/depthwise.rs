//! Depthwise `k × k` convolution on one NHWC image with bias and optional ReLU6.
//!
//! For each output pixel the valid taps are listed once, then channels are processed in blocks
//! of 64 (eight AVX registers of accumulators) with the taps in the inner loop, so every
//! multiply-add needs two loads and no store. Output rows run in parallel when asked.

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::simd::{fmadd, has_avx2_fma, relu6_if};

/// Weights of a depthwise layer.
#[derive(Debug, Clone)]
pub struct DepthwiseWeights {
    /// `kernel² × channels`: tap-major, channel fastest.
    pub weight: Vec<f32>,
    /// Per-channel bias.
    pub bias: Vec<f32>,
    /// Channels.
    pub channels: usize,
    /// Whether ReLU6 follows.
    pub relu6: bool,
}

/// `out[oy][ox][c] = act(bias[c] + Σ w[ky][kx][c]·x[iy][ix][c])` on an `in_h × in_w × c` image.
pub fn depthwise(
    x: &[f32],
    geom: &ConvGeometry,
    layer: &DepthwiseWeights,
    out: &mut [f32],
    parallel: bool,
) {
    let c = layer.channels;
    let row_len = geom.out_w * c;
    let out = &mut out[..geom.out_h * row_len];
    let fma = has_avx2_fma();
    let run_row = |(oy, row): (usize, &mut [f32])| {
        if fma {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                row_avx2(x, geom, layer, oy, row)
            }
        } else {
            row_kernel::<false>(x, geom, layer, oy, row);
        }
    };
    if parallel {
        out.par_chunks_mut(row_len).enumerate().for_each(run_row);
    } else {
        out.chunks_mut(row_len).enumerate().for_each(run_row);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_avx2(
    x: &[f32],
    geom: &ConvGeometry,
    layer: &DepthwiseWeights,
    oy: usize,
    row: &mut [f32],
) {
    row_kernel::<true>(x, geom, layer, oy, row);
}

#[inline(always)]
fn row_kernel<const FMA: bool>(
    x: &[f32],
    geom: &ConvGeometry,
    layer: &DepthwiseWeights,
    oy: usize,
    row: &mut [f32],
) {
    let c = layer.channels;
    let k = geom.kernel;
    let ky_range = geom.valid_taps(oy, geom.in_h, geom.pad_top);
    // (input offset, weight offset) of every valid tap of the current pixel (at most 7×7).
    let mut taps = [(0usize, 0usize); 49];
    for (ox, out_px) in row.chunks_exact_mut(c).enumerate() {
        let kx_range = geom.valid_taps(ox, geom.in_w, geom.pad_left);
        let mut n_taps = 0;
        for ky in ky_range.clone() {
            let iy = oy * geom.stride + ky - geom.pad_top;
            for kx in kx_range.clone() {
                let ix = ox * geom.stride + kx - geom.pad_left;
                if let Some(t) = taps.get_mut(n_taps) {
                    *t = ((iy * geom.in_w + ix) * c, (ky * k + kx) * c);
                    n_taps += 1;
                }
            }
        }
        let taps = &taps[..n_taps];
        // Wide channel blocks first (eight independent FMA chains), then narrower tails.
        let mut c0 = 0;
        while c0 + 64 <= c {
            channel_block::<64, FMA>(x, layer, taps, c0, out_px);
            c0 += 64;
        }
        if c0 + 32 <= c {
            channel_block::<32, FMA>(x, layer, taps, c0, out_px);
            c0 += 32;
        }
        while c0 + 8 <= c {
            channel_block::<8, FMA>(x, layer, taps, c0, out_px);
            c0 += 8;
        }
        while c0 < c {
            channel_block::<1, FMA>(x, layer, taps, c0, out_px);
            c0 += 1;
        }
    }
}

/// Channels `c0..c0 + B` of one output pixel, accumulated in registers over the taps.
#[inline(always)]
fn channel_block<const B: usize, const FMA: bool>(
    x: &[f32],
    layer: &DepthwiseWeights,
    taps: &[(usize, usize)],
    c0: usize,
    out_px: &mut [f32],
) {
    let zeros = [0f32; B];
    let mut acc: [f32; B] = layer.bias[c0..c0 + B].try_into().unwrap_or(zeros);
    for &(xo, wo) in taps {
        let xs: &[f32; B] = x[xo + c0..xo + c0 + B].try_into().unwrap_or(&zeros);
        let ws: &[f32; B] = layer.weight[wo + c0..wo + c0 + B]
            .try_into()
            .unwrap_or(&zeros);
        for i in 0..B {
            acc[i] = fmadd::<FMA>(ws[i], xs[i], acc[i]);
        }
    }
    for (o, a) in out_px[c0..c0 + B].iter_mut().zip(acc) {
        *o = relu6_if(layer.relu6, a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::PaddingStyle;

    /// Straightforward reference: loops over every tap with explicit bounds checks.
    fn naive(x: &[f32], g: &ConvGeometry, l: &DepthwiseWeights) -> Vec<f32> {
        let c = l.channels;
        let mut out = vec![0f32; g.out_h * g.out_w * c];
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for ch in 0..c {
                    let mut acc = l.bias[ch];
                    for ky in 0..g.kernel {
                        for kx in 0..g.kernel {
                            let iy = (oy * g.stride + ky) as isize - g.pad_top as isize;
                            let ix = (ox * g.stride + kx) as isize - g.pad_left as isize;
                            if iy < 0 || ix < 0 || iy >= g.in_h as isize || ix >= g.in_w as isize {
                                continue;
                            }
                            let (iy, ix) = (iy as usize, ix as usize);
                            acc += l.weight[(ky * g.kernel + kx) * c + ch]
                                * x[(iy * g.in_w + ix) * c + ch];
                        }
                    }
                    out[(oy * g.out_w + ox) * c + ch] =
                        if l.relu6 { acc.clamp(0.0, 6.0) } else { acc };
                }
            }
        }
        out
    }

    fn pseudo(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) % 1000) as f32
                    / 250.0
                    - 2.0
            })
            .collect()
    }

    #[test]
    fn matches_the_naive_loop_for_every_shape_in_use() {
        for (k, stride, style, h, w) in [
            (3, 1, PaddingStyle::Symmetric, 7, 6),
            (3, 2, PaddingStyle::Symmetric, 9, 8),
            (3, 2, PaddingStyle::TfSame, 8, 9),
            (5, 2, PaddingStyle::TfSame, 11, 10),
            (5, 1, PaddingStyle::TfSame, 6, 5),
        ] {
            let c = 115; // blocks of 64, 32, 8, 8 and 3 single channels
            let g = ConvGeometry::new(h, w, k, stride, style);
            let layer = DepthwiseWeights {
                weight: pseudo(k * k * c, 1),
                bias: pseudo(c, 2),
                channels: c,
                relu6: stride == 1,
            };
            let x = pseudo(h * w * c, 3);
            let want = naive(&x, &g, &layer);
            for parallel in [false, true] {
                let mut out = vec![f32::NAN; want.len()];
                depthwise(&x, &g, &layer, &mut out, parallel);
                let d = out
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(d < 1e-5, "k{k} s{stride} {style:?}: max |Δ| = {d}");
            }
        }
    }
}
