//! Depthwise `k × k` convolution on one NHWC image with bias and optional ReLU6.
//!
//! With AVX-512 or AVX2, interior output pixels (every tap inside the image) go in groups of
//! `GROUP_PIXELS` (4) along the row: for each block of 32 (AVX-512) or 16 (AVX2) channels the
//! tap's weights are loaded once for the whole group, the group's accumulators stay in
//! registers and the tap loops are unrolled for the zoo's kernel sizes and strides, so a
//! multiply-add costs about one load; the last, partial channel block is masked. Other pixels
//! (the border, and everything on other CPUs) list their valid taps and run one at a time,
//! channels in register blocks of 64, 8 and 1 — except on 5×5 stride-1 layers with a small
//! map, which run on a zero-padded copy of their band so that every pixel is interior.
//! Output rows run in parallel when asked.

use std::ops::Range;

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::simd::{Isa, fmadd, relu6_if};

/// Output pixels per register-blocked group (8 was slower with AVX-512: on the 7×7 and 14×14
/// maps too few interior pixels fill a group).
#[cfg(target_arch = "x86_64")]
const GROUP_PIXELS: usize = 4;

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
    let rows = 0..geom.out_h;
    depthwise_rows_on(Isa::detect(), x, 0, geom, layer, rows, out, parallel);
}

/// Output rows `rows` of [`depthwise`] into `out` (`rows.len() × out_w × c`), single-threaded,
/// from a band of the input that starts at input row `row0` and holds every row they need.
pub fn depthwise_rows(
    x: &[f32],
    row0: usize,
    geom: &ConvGeometry,
    layer: &DepthwiseWeights,
    rows: Range<usize>,
    out: &mut [f32],
) {
    depthwise_rows_on(Isa::detect(), x, row0, geom, layer, rows, out, false);
}

/// [`depthwise_rows`] on a given instruction set (the tests run each one), optionally with
/// the output rows in parallel.
///
/// # Panics
/// When `isa` cannot run on this CPU or the band misses rows the output needs.
#[allow(clippy::too_many_arguments)]
pub fn depthwise_rows_on(
    isa: Isa,
    x: &[f32],
    row0: usize,
    geom: &ConvGeometry,
    layer: &DepthwiseWeights,
    rows: Range<usize>,
    out: &mut [f32],
    parallel: bool,
) {
    assert!(isa.available(), "{isa:?} kernels on this CPU");
    if rows.is_empty() {
        return;
    }
    check_band(x, row0, geom, layer, &rows);
    #[cfg(target_arch = "x86_64")]
    if matches!(isa, Isa::Avx512 | Isa::Avx2) && pads_its_input(geom) {
        let (padded, inner) = padded_band(x, row0, geom, layer.channels, &rows);
        let band = Band {
            x: &padded,
            row0: 0,
            geom: &inner,
            rows: 0..rows.len(),
        };
        return band_rows(isa, band, layer, out, parallel);
    }
    let band = Band {
        x,
        row0,
        geom,
        rows,
    };
    band_rows(isa, band, layer, out, parallel);
}

/// Input rows from `row0` on (`x`) of a layer of geometry `geom`, and the output rows to
/// compute from them.
struct Band<'a> {
    x: &'a [f32],
    row0: usize,
    geom: &'a ConvGeometry,
    rows: Range<usize>,
}

/// Panics unless the band from input row `row0` holds every input row that output rows `rows`
/// read (the grouped kernels index without checks) and the weights fit the layer.
fn check_band(
    x: &[f32],
    row0: usize,
    geom: &ConvGeometry,
    layer: &DepthwiseWeights,
    rows: &Range<usize>,
) {
    let c = layer.channels;
    let need_start = (rows.start * geom.stride).saturating_sub(geom.pad_top);
    let need_end = ((rows.end - 1) * geom.stride + geom.kernel)
        .saturating_sub(geom.pad_top)
        .min(geom.in_h);
    assert!(
        row0 <= need_start && x.len() >= (need_end - row0) * geom.in_w * c,
        "band from row {row0} with {} values for output rows {rows:?} of {geom:?}",
        x.len()
    );
    assert!(layer.weight.len() >= geom.kernel * geom.kernel * c && layer.bias.len() >= c);
}

/// Whether a layer runs faster on a zero-padded copy of its input: a stride-1 kernel of 5 or
/// more whose whole interior groups cover fewer than `PAD_BELOW` of the output pixels (the
/// rest would run one by one, reloading each tap's weights per pixel). Measured with
/// `cpu_kernels_speed` (one thread, Zen 5): the Lite nets' 5×5/1 layers on 28² and 14² maps run
/// 14–23 % faster padded, on 7² maps the same; 3×3 and stride-2 layers ran slower (copying
/// costs more than their border pixels), so they are left as they are.
#[cfg(target_arch = "x86_64")]
fn pads_its_input(g: &ConvGeometry) -> bool {
    const PAD_BELOW: f64 = 0.75;
    if g.kernel < 5 || g.stride != 1 || g.out_w == 0 || g.out_h == 0 {
        return false;
    }
    let interior = interior_columns(g);
    let grouped_cols = interior.len() / GROUP_PIXELS * GROUP_PIXELS;
    let full_rows = (0..g.out_h)
        .filter(|&oy| g.valid_taps(oy, g.in_h, g.pad_top).len() == g.kernel)
        .count();
    let share = (full_rows * grouped_cols) as f64 / (g.out_h * g.out_w).max(1) as f64;
    share < PAD_BELOW
}

/// A zero-padded copy of the input rows that output rows `rows` need (from a band starting at
/// input row `row0`) and its geometry, in which every output pixel is interior and runs in the
/// grouped kernel (the zero taps add exact zeros, so the sums are those of the border path).
#[cfg(target_arch = "x86_64")]
fn padded_band(
    x: &[f32],
    row0: usize,
    geom: &ConvGeometry,
    c: usize,
    rows: &Range<usize>,
) -> (Vec<f32>, ConvGeometry) {
    let (k, s) = (geom.kernel, geom.stride);
    let span = (rows.len() - 1) * s + k;
    let width = (geom.out_w - 1) * s + k;
    // Padded row r holds input row rows.start·s + r − pad_top; padded column p input
    // column p − pad_left (input columns no output reads are left out).
    let cols = geom.in_w.min(width.saturating_sub(geom.pad_left));
    let mut padded = vec![0f32; span * width * c];
    for (r, dst) in padded.chunks_exact_mut(width * c).enumerate() {
        let Some(iy) = (rows.start * s + r).checked_sub(geom.pad_top) else {
            continue;
        };
        if iy >= geom.in_h {
            break;
        }
        let src = &x[(iy - row0) * geom.in_w * c..][..cols * c];
        dst[geom.pad_left * c..][..cols * c].copy_from_slice(src);
    }
    let inner = ConvGeometry {
        in_h: span,
        in_w: width,
        out_h: rows.len(),
        out_w: geom.out_w,
        kernel: k,
        stride: s,
        pad_top: 0,
        pad_left: 0,
    };
    (padded, inner)
}

/// [`depthwise_rows_on`] on the band as it is (border pixels one by one).
fn band_rows(isa: Isa, band: Band, layer: &DepthwiseWeights, out: &mut [f32], parallel: bool) {
    let Band {
        x,
        row0,
        geom,
        rows,
    } = band;
    let c = layer.channels;
    check_band(x, row0, geom, layer, &rows);
    let row_len = geom.out_w * c;
    let out = &mut out[..rows.len() * row_len];
    let first = rows.start;
    let run_row = |(i, row): (usize, &mut [f32])| {
        let oy = first + i;
        match isa {
            // SAFETY: `available` checked the CPU features; the band holds every row read.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { x86::row_avx512(x, row0, geom, layer, oy, row) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { x86::row_avx2(x, row0, geom, layer, oy, row) },
            _ => row_kernel::<false>(x, row0, geom, layer, oy, row, None),
        }
    };
    if parallel {
        out.par_chunks_mut(row_len).enumerate().for_each(run_row);
    } else {
        out.chunks_mut(row_len).enumerate().for_each(run_row);
    }
}

/// The output columns whose taps all fall inside the input row.
fn interior_columns(g: &ConvGeometry) -> std::ops::Range<usize> {
    let lo = g.pad_left.div_ceil(g.stride);
    let hi = match (g.in_w + g.pad_left).checked_sub(g.kernel) {
        Some(last_start) => (last_start / g.stride + 1).min(g.out_w),
        None => 0,
    };
    lo..hi.max(lo)
}

/// Runs a group of interior pixels: `(x, geom, layer, iy0, ix0, out)` with the group's input
/// origin and its output pixels; paired with the group's pixel count.
type GroupKernel = (GroupFn, usize);
type GroupFn = fn(&[f32], &ConvGeometry, &DepthwiseWeights, usize, usize, &mut [f32]);

/// One output row from a band of input rows starting at `row0`: interior pixels in groups when
/// a group kernel is given, the rest one by one.
#[inline(always)]
fn row_kernel<const FMA: bool>(
    x: &[f32],
    row0: usize,
    geom: &ConvGeometry,
    layer: &DepthwiseWeights,
    oy: usize,
    row: &mut [f32],
    group: Option<GroupKernel>,
) {
    let c = layer.channels;
    let ky_range = geom.valid_taps(oy, geom.in_h, geom.pad_top);
    let mut interior = match group {
        Some(_) if ky_range.len() == geom.kernel => interior_columns(geom),
        _ => 0..0,
    };
    // Whole groups only; the rest of the interior goes pixel by pixel.
    let pixels = group.map_or(1, |(_, p)| p);
    interior.end = interior.start + interior.len() / pixels * pixels;
    for ox in (0..interior.start).chain(interior.end..geom.out_w) {
        border_pixel::<FMA>(x, row0, geom, layer, oy, ox, &mut row[ox * c..(ox + 1) * c]);
    }
    if let Some((group, pixels)) = group {
        // Band row of each group's first pixel: all its taps are inside the image.
        let iy0 = (oy * geom.stride).saturating_sub(geom.pad_top) - row0;
        for ox0 in interior.step_by(pixels) {
            let ix0 = ox0 * geom.stride - geom.pad_left;
            group(
                x,
                geom,
                layer,
                iy0,
                ix0,
                &mut row[ox0 * c..(ox0 + pixels) * c],
            );
        }
    }
}

/// One output pixel with its valid taps listed first (the border).
#[inline(always)]
fn border_pixel<const FMA: bool>(
    x: &[f32],
    row0: usize,
    geom: &ConvGeometry,
    layer: &DepthwiseWeights,
    oy: usize,
    ox: usize,
    out_px: &mut [f32],
) {
    let c = layer.channels;
    let k = geom.kernel;
    // (input offset, weight offset) of every valid tap of the pixel (at most 7×7).
    let mut taps = [(0usize, 0usize); 49];
    let mut n_taps = 0;
    for ky in geom.valid_taps(oy, geom.in_h, geom.pad_top) {
        let iy = oy * geom.stride + ky - geom.pad_top;
        for kx in geom.valid_taps(ox, geom.in_w, geom.pad_left) {
            let ix = ox * geom.stride + kx - geom.pad_left;
            if let Some(t) = taps.get_mut(n_taps) {
                *t = (((iy - row0) * geom.in_w + ix) * c, (ky * k + kx) * c);
                n_taps += 1;
            }
        }
    }
    let taps = &taps[..n_taps];
    let mut c0 = 0;
    while c0 + 64 <= c {
        channel_block::<64, FMA>(x, layer, taps, c0, out_px);
        c0 += 64;
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{ConvGeometry, DepthwiseWeights, GROUP_PIXELS, GroupFn, row_kernel};
    use crate::cpu::simd::x86::{Vector, Ymm, Zmm};

    /// Calls the group kernel unrolled for the layer's kernel size and stride (3 or 5, 1 or
    /// 2: every layer of the zoo), or the one that reads them at run time (`0`).
    macro_rules! by_shape {
        ($group:ident, $v:ty, $p:expr, ($x:expr, $g:expr, $($rest:expr),*)) => {
            match ($g.kernel, $g.stride) {
                (3, 1) => $group::<$v, $p, 3, 1>($x, $g, $($rest),*),
                (3, 2) => $group::<$v, $p, 3, 2>($x, $g, $($rest),*),
                (5, 1) => $group::<$v, $p, 5, 1>($x, $g, $($rest),*),
                (5, 2) => $group::<$v, $p, 5, 2>($x, $g, $($rest),*),
                _ => $group::<$v, $p, 0, 0>($x, $g, $($rest),*),
            }
        };
    }

    /// Defines, for one register width `$v`: the row entry `$row`, its group dispatcher
    /// `$dispatch`, the grouped kernel `$group` and its channel block `$block` — written once
    /// and compiled with the width's features (generic code without them would not inline the
    /// intrinsics).
    macro_rules! grouped_kernel {
        ($row:ident, $dispatch:ident, $group:ident, $block:ident, $v:ty, $features:literal) => {
            /// # Safety
            /// The CPU must have the features; `x`, the weights and `row` must hold the band,
            /// kernel and output row (asserted by `depthwise_rows_on`).
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $row(
                x: &[f32],
                row0: usize,
                g: &ConvGeometry,
                layer: &DepthwiseWeights,
                oy: usize,
                row: &mut [f32],
            ) {
                let group = Some(($dispatch as GroupFn, GROUP_PIXELS));
                row_kernel::<true>(x, row0, g, layer, oy, row, group);
            }

            fn $dispatch(
                x: &[f32],
                g: &ConvGeometry,
                l: &DepthwiseWeights,
                iy0: usize,
                ix0: usize,
                out: &mut [f32],
            ) {
                // SAFETY: only reached through the row entry above (the CPU has the features).
                unsafe { by_shape!($group, $v, GROUP_PIXELS, (x, g, l, iy0, ix0, out)) }
            }

            /// Every channel of a group of `P` interior pixels: blocks of two vectors, then single
            /// vectors, the last one masked. `K` and `S` are the kernel size and stride when known
            /// at compile time (the tap loops unroll and share input loads), else 0.
            ///
            /// # Safety
            /// The width's target features are enabled in the caller; interior pixels keep every
            /// index inside the buffers `depthwise_rows_on` checked.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn $group<V: Vector, const P: usize, const K: usize, const S: usize>(
                x: &[f32],
                g: &ConvGeometry,
                l: &DepthwiseWeights,
                iy0: usize,
                ix0: usize,
                out: &mut [f32],
            ) {
                let c = l.channels;
                let mut c0 = 0;
                // SAFETY: as documented above; masks cover the channel tail.
                unsafe {
                    let full = V::mask(V::LANES);
                    while c0 + 2 * V::LANES <= c {
                        $block::<V, 2, P, K, S, false>(x, g, l, iy0, ix0, c0, full, out);
                        c0 += 2 * V::LANES;
                    }
                    while c0 < c {
                        $block::<V, 1, P, K, S, true>(x, g, l, iy0, ix0, c0, V::mask(c - c0), out);
                        c0 += V::LANES;
                    }
                }
            }

            /// Channels `c0..c0 + N·LANES` (the last vector masked by `last` when `MASKED`) of `P`
            /// pixels, the accumulators in registers over the taps.
            ///
            /// # Safety
            /// As for the group function.
            #[target_feature(enable = $features)]
            #[inline]
            #[allow(clippy::too_many_arguments)]
            unsafe fn $block<
                V: Vector,
                const N: usize,
                const P: usize,
                const K: usize,
                const S: usize,
                const MASKED: bool,
            >(
                x: &[f32],
                g: &ConvGeometry,
                l: &DepthwiseWeights,
                iy0: usize,
                ix0: usize,
                c0: usize,
                last: V::Mask,
                out: &mut [f32],
            ) {
                let k = if K == 0 { g.kernel } else { K };
                let s = if S == 0 { g.stride } else { S };
                let (c, lanes) = (l.channels, V::LANES);
                // SAFETY (whole body): see `group`.
                unsafe {
                    let full = V::mask(lanes);
                    // Plain loops, not closures: everything must inline into the caller's features.
                    let mut masks = [full; N];
                    masks[N - 1] = last;
                    let (xp, wp, op) = (
                        x.as_ptr().add(c0),
                        l.weight.as_ptr().add(c0),
                        out.as_mut_ptr().add(c0),
                    );
                    let mut bias = [V::splat(0.0); N];
                    for (v, b) in bias.iter_mut().enumerate() {
                        *b = V::load(masks[v], l.bias.as_ptr().add(c0 + v * lanes));
                    }
                    let mut acc = [bias; P];
                    for ky in 0..k {
                        let in_row = (iy0 + ky) * g.in_w + ix0;
                        for kx in 0..k {
                            let wo = (ky * k + kx) * c;
                            let mut w = [bias[0]; N];
                            for (v, wv) in w.iter_mut().enumerate() {
                                let wp = wp.add(wo + v * lanes);
                                *wv = if MASKED {
                                    V::load(masks[v], wp)
                                } else {
                                    V::loadu(wp)
                                };
                            }
                            for (p, acc_p) in acc.iter_mut().enumerate() {
                                let xo = (in_row + p * s + kx) * c;
                                for v in 0..N {
                                    let xp = xp.add(xo + v * lanes);
                                    let xv = if MASKED {
                                        V::load(masks[v], xp)
                                    } else {
                                        V::loadu(xp)
                                    };
                                    acc_p[v] = V::fmadd(w[v], xv, acc_p[v]);
                                }
                            }
                        }
                    }
                    for (p, acc_p) in acc.iter().enumerate() {
                        for (v, &a) in acc_p.iter().enumerate() {
                            let r = if l.relu6 { V::relu6(a) } else { a };
                            V::store(masks[v], op.add(p * c + v * lanes), r);
                        }
                    }
                }
            }
        };
    }

    grouped_kernel!(
        row_avx512,
        group_avx512,
        group512,
        block512,
        Zmm,
        "avx512f,avx2,fma"
    );
    grouped_kernel!(row_avx2, group_avx2, group256, block256, Ymm, "avx2,fma");
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{max_abs_diff as max_diff, pseudo};
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

    #[test]
    fn matches_the_naive_loop_for_every_shape_in_use() {
        for (k, stride, style, h, w) in [
            (3, 1, PaddingStyle::Symmetric, 7, 6),
            (3, 2, PaddingStyle::Symmetric, 9, 8),
            (3, 2, PaddingStyle::TfSame, 8, 9),
            (5, 2, PaddingStyle::TfSame, 11, 10),
            (5, 1, PaddingStyle::TfSame, 6, 5),
            // Wide rows: several interior groups of pixels and a partial one.
            (3, 1, PaddingStyle::Symmetric, 5, 14),
            (3, 2, PaddingStyle::Symmetric, 6, 23),
            (5, 2, PaddingStyle::TfSame, 7, 21),
            (5, 1, PaddingStyle::TfSame, 6, 17),
            // A kernel size no backbone uses: the group kernel reading it at run time.
            (7, 1, PaddingStyle::Symmetric, 9, 16),
        ] {
            // Border pixels: blocks of 64, 8, 8, 8 and 3 single channels; interior groups:
            // 32, 32, 32, 8, 8 (or 16 × 7) and 3 single channels.
            let c = 115;
            let g = ConvGeometry::new(h, w, k, stride, style);
            let layer = DepthwiseWeights {
                weight: pseudo(k * k * c, 1),
                bias: pseudo(c, 2),
                channels: c,
                relu6: stride == 1,
            };
            let x = pseudo(h * w * c, 3);
            let want = naive(&x, &g, &layer);
            for isa in [Isa::Portable, Isa::Avx2, Isa::Avx512] {
                if !isa.available() {
                    continue;
                }
                for parallel in [false, true] {
                    let mut out = vec![f32::NAN; want.len()];
                    depthwise_rows_on(isa, &x, 0, &g, &layer, 0..g.out_h, &mut out, parallel);
                    let d = max_diff(&out, &want);
                    assert!(d < 1e-5, "{isa:?} k{k} s{stride} {style:?}: max |Δ| = {d}");
                }
                // Bands of two output rows, each from only the input rows it needs.
                let row_len = g.out_w * c;
                for oy0 in (0..g.out_h).step_by(2) {
                    let oy1 = (oy0 + 2).min(g.out_h);
                    let lo = (oy0 * stride).saturating_sub(g.pad_top);
                    let hi = ((oy1 - 1) * stride + k).saturating_sub(g.pad_top).min(h);
                    let band = &x[lo * w * c..hi * w * c];
                    let mut out = vec![f32::NAN; (oy1 - oy0) * row_len];
                    depthwise_rows_on(isa, band, lo, &g, &layer, oy0..oy1, &mut out, false);
                    let d = max_diff(&out, &want[oy0 * row_len..oy1 * row_len]);
                    assert!(d < 1e-5, "{isa:?} k{k} s{stride} band {oy0}: max |Δ| = {d}");
                }
            }
        }
    }

    /// A 5×5 stride-1 layer on a small map runs on a zero-padded copy; the zero taps add exact
    /// zeros, so its outputs equal the border path's (in the whole image and in a band).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_padded_copy_computes_the_border_paths_sums() {
        let (k, c) = (5, 37);
        let g = ConvGeometry::new(9, 14, k, 1, PaddingStyle::TfSame);
        assert!(pads_its_input(&g));
        assert!(!pads_its_input(&ConvGeometry::new(
            9,
            14,
            3,
            1,
            PaddingStyle::Symmetric
        )));
        let layer = DepthwiseWeights {
            weight: pseudo(k * k * c, 4),
            bias: pseudo(c, 5),
            channels: c,
            relu6: false,
        };
        let x = pseudo(9 * 14 * c, 6);
        for isa in [Isa::Avx2, Isa::Avx512] {
            if !isa.available() {
                continue;
            }
            for rows in [0..g.out_h, 3..6] {
                let lo = rows.start.saturating_sub(g.pad_top);
                let band = &x[lo * 14 * c..];
                let len = rows.len() * g.out_w * c;
                let (mut padded, mut border) = (vec![f32::NAN; len], vec![f32::NAN; len]);
                depthwise_rows_on(isa, band, lo, &g, &layer, rows.clone(), &mut padded, false);
                let whole = Band {
                    x: band,
                    row0: lo,
                    geom: &g,
                    rows: rows.clone(),
                };
                band_rows(isa, whole, &layer, &mut border, false);
                assert_eq!(padded, border, "{isa:?} rows {rows:?}");
            }
        }
    }
}
