//! Gradients of a depthwise `k × k` convolution on NHWC images ([`super::depthwise`]'s layer
//! without its activation), for training: for each output pixel and each tap inside the image
//! the input gradient takes `dy·w` and the weight gradient `dy·x`, channel by channel — loops
//! over the contiguous channels that the compiler vectorizes, built for AVX-512, AVX2 or any CPU
//! (chosen at run time, [`super::simd`]). Images run in parallel; each keeps its own weight and
//! bias gradients, summed afterwards in image order, so the result does not depend on the
//! thread count.

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::simd::{Isa, fmadd};

/// Gradients of one depthwise layer over a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthwiseGrads {
    /// Input gradient, the input's shape (`b × in_h × in_w × c`); empty when not asked for.
    pub x: Vec<f32>,
    /// Weight gradient, tap-major (`k² × c`), like [`super::depthwise::DepthwiseWeights`].
    pub weight: Vec<f32>,
    /// Bias gradient (`c`).
    pub bias: Vec<f32>,
}

/// The gradients of `y = bias + depthwise(x, weight)` for the output gradient `dy`
/// (`b × out_h × out_w × c`): `x` is the layer's input (`b × in_h × in_w × c`), `weight`
/// tap-major (`k² × c`); the input gradient only when `want_x`.
///
/// # Panics
/// When the slices do not fit `geom` and `c`.
pub fn depthwise_grads(
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    geom: &ConvGeometry,
    c: usize,
    want_x: bool,
) -> DepthwiseGrads {
    depthwise_grads_on(Isa::detect(), x, weight, dy, geom, c, want_x)
}

/// [`depthwise_grads`] on a given instruction set (the tests run each one).
///
/// # Panics
/// When `isa` cannot run on this CPU or the slices do not fit `geom` and `c`.
pub fn depthwise_grads_on(
    isa: Isa,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    geom: &ConvGeometry,
    c: usize,
    want_x: bool,
) -> DepthwiseGrads {
    assert!(isa.available(), "{isa:?} kernels on this CPU");
    let in_len = geom.in_h * geom.in_w * c;
    let out_len = geom.out_h * geom.out_w * c;
    let taps = geom.kernel * geom.kernel * c;
    assert!(
        c > 0 && in_len > 0 && out_len > 0,
        "empty depthwise layer {geom:?}"
    );
    assert_eq!(x.len() / in_len, dy.len() / out_len, "batch of x and dy");
    assert!(x.len().is_multiple_of(in_len) && dy.len().is_multiple_of(out_len));
    assert_eq!(weight.len(), taps, "weights of {geom:?} × {c} channels");
    let mut dx = if want_x {
        vec![0f32; x.len()]
    } else {
        Vec::new()
    };
    let per_image: Vec<(Vec<f32>, Vec<f32>)> = if want_x {
        dx.par_chunks_mut(in_len)
            .zip(x.par_chunks(in_len).zip(dy.par_chunks(out_len)))
            .map(|(dx, (x, dy))| image_grads(isa, x, weight, dy, Some(dx), geom, c))
            .collect()
    } else {
        x.par_chunks(in_len)
            .zip(dy.par_chunks(out_len))
            .map(|(x, dy)| image_grads(isa, x, weight, dy, None, geom, c))
            .collect()
    };
    let mut dw = vec![0f32; taps];
    let mut db = vec![0f32; c];
    for (w, b) in &per_image {
        dw.iter_mut().zip(w).for_each(|(s, v)| *s += v);
        db.iter_mut().zip(b).for_each(|(s, v)| *s += v);
    }
    DepthwiseGrads {
        x: dx,
        weight: dw,
        bias: db,
    }
}

/// One image's weight and bias gradients, adding its input gradient into `dx` when given.
fn image_grads(
    isa: Isa,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    geom: &ConvGeometry,
    c: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut dw = vec![0f32; weight.len()];
    let mut db = vec![0f32; c];
    let mut image = Image {
        x,
        weight,
        dy,
        dx,
        dw: &mut dw,
        db: &mut db,
    };
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY: `depthwise_grads_on` checked that this CPU has the instruction set.
        Isa::Avx512 => unsafe { image_avx512(&mut image, geom, c) },
        Isa::Avx2 => unsafe { image_avx2(&mut image, geom, c) },
        Isa::Portable => image_kernel::<false>(&mut image, geom, c),
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = isa;
        image_kernel::<false>(&mut image, geom, c);
    }
    (dw, db)
}

/// One image's buffers: inputs, and the gradients accumulated into.
struct Image<'a> {
    x: &'a [f32],
    weight: &'a [f32],
    dy: &'a [f32],
    dx: Option<&'a mut [f32]>,
    dw: &'a mut [f32],
    db: &'a mut [f32],
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn image_avx512(image: &mut Image, geom: &ConvGeometry, c: usize) {
    image_kernel::<true>(image, geom, c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn image_avx2(image: &mut Image, geom: &ConvGeometry, c: usize) {
    image_kernel::<true>(image, geom, c);
}

#[inline(always)]
fn image_kernel<const FMA: bool>(image: &mut Image, g: &ConvGeometry, c: usize) {
    let k = g.kernel;
    for oy in 0..g.out_h {
        let rows = g.valid_taps(oy, g.in_h, g.pad_top);
        for ox in 0..g.out_w {
            let cols = g.valid_taps(ox, g.in_w, g.pad_left);
            let grad = &image.dy[(oy * g.out_w + ox) * c..][..c];
            image.db.iter_mut().zip(grad).for_each(|(b, d)| *b += d);
            for ky in rows.clone() {
                let iy = oy * g.stride + ky - g.pad_top;
                for kx in cols.clone() {
                    let at = (iy * g.in_w + ox * g.stride + kx - g.pad_left) * c;
                    let tap = (ky * k + kx) * c;
                    let x = &image.x[at..][..c];
                    let dw = &mut image.dw[tap..][..c];
                    for ((dw, &d), &x) in dw.iter_mut().zip(grad).zip(x) {
                        *dw = fmadd::<FMA>(d, x, *dw);
                    }
                    if let Some(dx) = image.dx.as_deref_mut() {
                        let w = &image.weight[tap..][..c];
                        for ((dx, &d), &w) in dx[at..][..c].iter_mut().zip(grad).zip(w) {
                            *dx = fmadd::<FMA>(d, w, *dx);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::PaddingStyle;

    /// The gradients of `Σ r·y` by definition: `∂/∂x[i] = Σ_{o reads i} r[o]·w[tap]`, in f64.
    fn reference(
        x: &[f32],
        w: &[f32],
        r: &[f32],
        g: &ConvGeometry,
        c: usize,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; c]);
        let images = x.len() / (g.in_h * g.in_w * c);
        for n in 0..images {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for ch in 0..c {
                        let d = r[((n * g.out_h + oy) * g.out_w + ox) * c + ch] as f64;
                        db[ch] += d;
                        for ky in 0..g.kernel {
                            for kx in 0..g.kernel {
                                let iy = (oy * g.stride + ky) as isize - g.pad_top as isize;
                                let ix = (ox * g.stride + kx) as isize - g.pad_left as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= g.in_h as isize
                                    || ix >= g.in_w as isize
                                {
                                    continue;
                                }
                                let i =
                                    ((n * g.in_h + iy as usize) * g.in_w + ix as usize) * c + ch;
                                let t = (ky * g.kernel + kx) * c + ch;
                                dx[i] += d * w[t] as f64;
                                dw[t] += d * x[i] as f64;
                            }
                        }
                    }
                }
            }
        }
        (dx, dw, db)
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0
                    - 1.0
            })
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    /// Every build this CPU runs (portable, AVX2, AVX-512) against the definition in f64.
    #[test]
    fn gradients_match_the_definition_on_every_geometry_and_build() {
        // Odd sizes, both paddings, strides 1 and 2, kernels 3 and 5; 37 channels leave a
        // remainder after every vector width.
        for (k, stride, style) in [
            (3, 1, PaddingStyle::Symmetric),
            (3, 2, PaddingStyle::Symmetric),
            (5, 2, PaddingStyle::TfSame),
            (5, 1, PaddingStyle::TfSame),
            (3, 2, PaddingStyle::TfSame),
        ] {
            let (b, h, w, c) = (3, 9, 8, 37);
            let g = ConvGeometry::new(h, w, k, stride, style);
            let x = values(b * h * w * c, 1);
            let wt = values(k * k * c, 2);
            let r = values(b * g.out_h * g.out_w * c, 3);
            let (dx, dw, db) = reference(&x, &wt, &r, &g, c);
            let isas = [Isa::Portable, Isa::Avx2, Isa::Avx512];
            for isa in isas.into_iter().filter(|i| i.available()) {
                let got = depthwise_grads_on(isa, &x, &wt, &r, &g, c, true);
                let what = format!("{isa:?} k {k} stride {stride} {style:?}");
                assert_close(&got.x, &dx, &format!("dx {what}"));
                assert_close(&got.weight, &dw, &format!("dw {what}"));
                assert_close(&got.bias, &db, &format!("db {what}"));
                let without_x = depthwise_grads_on(isa, &x, &wt, &r, &g, c, false);
                assert!(without_x.x.is_empty());
                assert_eq!(without_x.weight, got.weight);
            }
        }
    }
}
