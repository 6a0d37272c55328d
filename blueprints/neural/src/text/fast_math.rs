//! The encoder's element-wise hot loops — exact-erf GELU, the attention softmax and the layer
//! norm — written with branch-free polynomial `exp` and `erf` and lane-wise reductions that the
//! compiler vectorizes, compiled plainly, with AVX2 + FMA and with AVX-512 (chosen at run time,
//! [`crate::cpu::simd`]). `exp`: Cephes' `expf` polynomial
//! after Cody–Waite range reduction (relative error ≈ 1e-7); `erf`: the rational approximation
//! of Eigen's `erf` for `float` on `[-4, 4]` (±1 beyond, as in `f32`).

use crate::cpu::simd::{Isa, fmadd};

/// `e^x` for `x` in about `[-87, 88]` (clamped there).
#[inline(always)]
fn exp_poly<const FMA: bool>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds to the nearest integer in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = fmadd::<FMA>(x, LOG2E, ROUND);
    let n = shifted - ROUND;
    let r = fmadd::<FMA>(-n, LN2_LO, fmadd::<FMA>(-n, LN2_HI, x));
    let mut p = 1.987_569_1e-4;
    p = fmadd::<FMA>(p, r, 1.398_2e-3);
    p = fmadd::<FMA>(p, r, 8.333_452e-3);
    p = fmadd::<FMA>(p, r, 4.166_579_6e-2);
    p = fmadd::<FMA>(p, r, 1.666_666_5e-1);
    p = fmadd::<FMA>(p, r, 0.5);
    let p = fmadd::<FMA>(p, r * r, r + 1.0);
    // 2ⁿ from the integer in `shifted`'s low bits: (n + 127) << 23.
    let bits = (shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32 + 127) << 23;
    p * f32::from_bits(bits as u32)
}

/// `erf(x)`.
#[inline(always)]
fn erf_poly<const FMA: bool>(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10;
    p = fmadd::<FMA>(x2, p, 2.770_681_4e-8);
    p = fmadd::<FMA>(x2, p, -2.101_024e-6);
    p = fmadd::<FMA>(x2, p, -5.692_506_4e-5);
    p = fmadd::<FMA>(x2, p, -7.349_906_3e-4);
    p = fmadd::<FMA>(x2, p, -2.954_6e-3);
    p = fmadd::<FMA>(x2, p, -1.609_603_3e-2);
    let mut q = -1.456_607_2e-5;
    q = fmadd::<FMA>(x2, q, -2.133_740_5e-4);
    q = fmadd::<FMA>(x2, q, -1.682_827e-3);
    q = fmadd::<FMA>(x2, q, -7.373_329e-3);
    q = fmadd::<FMA>(x2, q, -1.426_474e-2);
    x * p / q
}

#[inline(always)]
fn gelu_kernel<const FMA: bool>(xs: &mut [f32]) {
    for v in xs {
        *v = 0.5 * *v * (1.0 + erf_poly::<FMA>(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Independent partial results of a [`lane_fold`]: as many as an AVX-512 register holds.
const LANES: usize = 16;

/// `map` of each of `xs` folded with `f` into [`LANES`] partial results side by side, then
/// those together: a float sum or maximum the compiler can vectorize (a single running one it
/// must keep in order, one value at a time).
#[inline(always)]
fn lane_fold(
    xs: &[f32],
    init: f32,
    map: impl Fn(f32) -> f32 + Copy,
    f: impl Fn(f32, f32) -> f32 + Copy,
) -> f32 {
    let mut acc = [init; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a = f(*a, map(v));
        }
    }
    let tail = chunks.remainder().iter().fold(init, |a, &v| f(a, map(v)));
    acc.into_iter().fold(tail, f)
}

/// The sum of `map` of each of `xs` ([`lane_fold`]).
#[inline(always)]
fn lane_sum(xs: &[f32], map: impl Fn(f32) -> f32 + Copy) -> f32 {
    lane_fold(xs, 0.0, map, |a, b| a + b)
}

#[inline(always)]
fn softmax_kernel<const FMA: bool>(scores: &mut [f32], len: usize) {
    for row in scores.chunks_exact_mut(len) {
        let max = lane_fold(row, f32::NEG_INFINITY, |v| v, f32::max);
        for v in row.iter_mut() {
            *v = exp_poly::<FMA>(*v - max);
        }
        let inv = 1.0 / lane_sum(row, |v| v);
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

/// Each row of `x` plus `residual` normalised in place: `(x − mean)/√(var + eps)·γ + β`.
#[inline(always)]
fn layer_norm_kernel(x: &mut [f32], residual: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let h = gamma.len();
    for (row, res) in x.chunks_exact_mut(h).zip(residual.chunks_exact(h)) {
        row.iter_mut().zip(res).for_each(|(v, r)| *v += r);
        let mean = lane_sum(row, |v| v) / h as f32;
        row.iter_mut().for_each(|v| *v -= mean);
        let inv = 1.0 / (lane_sum(row, |v| v * v) / h as f32 + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = *v * inv * g + b;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_avx2(xs: &mut [f32]) {
    gelu_kernel::<true>(xs);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_avx2(scores: &mut [f32], len: usize) {
    softmax_kernel::<true>(scores, len);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn layer_norm_avx2(x: &mut [f32], residual: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
    layer_norm_kernel(x, residual, gamma, beta, eps);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn layer_norm_avx512(
    x: &mut [f32],
    residual: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    layer_norm_kernel(x, residual, gamma, beta, eps);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gelu_avx512(xs: &mut [f32]) {
    gelu_kernel::<true>(xs);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn softmax_avx512(scores: &mut [f32], len: usize) {
    softmax_kernel::<true>(scores, len);
}

/// Exact-erf GELU `x·(1 + erf(x/√2))/2` in place.
pub fn gelu_in_place(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match Isa::detect() {
        // SAFETY: the CPU has the instructions of the ISA detected.
        Isa::Avx512 => return unsafe { gelu_avx512(xs) },
        Isa::Avx2 => return unsafe { gelu_avx2(xs) },
        Isa::Portable => {}
    }
    gelu_kernel::<false>(xs);
}

/// Each row of `x` (rows of `gamma.len()` values) plus the same row of `residual`, normalised
/// in place: `(x − mean)/√(var + eps)·γ + β`.
pub fn layer_norm_rows(x: &mut [f32], residual: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
    #[cfg(target_arch = "x86_64")]
    match Isa::detect() {
        // SAFETY: the CPU has the instructions of the ISA detected.
        Isa::Avx512 => return unsafe { layer_norm_avx512(x, residual, gamma, beta, eps) },
        Isa::Avx2 => return unsafe { layer_norm_avx2(x, residual, gamma, beta, eps) },
        Isa::Portable => {}
    }
    layer_norm_kernel(x, residual, gamma, beta, eps);
}

/// Softmax of each row of `len` values, in place.
pub fn softmax_rows(scores: &mut [f32], len: usize) {
    #[cfg(target_arch = "x86_64")]
    match Isa::detect() {
        // SAFETY: the CPU has the instructions of the ISA detected.
        Isa::Avx512 => return unsafe { softmax_avx512(scores, len) },
        Isa::Avx2 => return unsafe { softmax_avx2(scores, len) },
        Isa::Portable => {}
    }
    softmax_kernel::<false>(scores, len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_match_libm() {
        let mut worst = (0f64, 0f64);
        for i in -40_000..=40_000 {
            let x = i as f32 * 0.002; // −80 … 80
            let (e, want) = (exp_poly::<false>(x), x.exp());
            worst.0 = worst.0.max(f64::from(((e - want) / want).abs()));
            if x.abs() <= 10.0 {
                worst.1 = worst
                    .1
                    .max(f64::from((erf_poly::<false>(x) - libm::erff(x)).abs()));
            }
        }
        assert!(worst.0 < 1e-6, "exp relative error {}", worst.0);
        assert!(worst.1 < 1e-6, "erf absolute error {}", worst.1);
        assert!(exp_poly::<false>(-200.0) < 1e-37);
    }

    type NormFn = fn(&mut [f32], &[f32], &[f32], &[f32], f32);
    type SoftmaxFn = fn(&mut [f32], usize);

    /// Every build this CPU runs: portable, AVX2 + FMA, AVX-512.
    fn builds() -> Vec<(&'static str, NormFn, SoftmaxFn)> {
        let mut b: Vec<(&'static str, NormFn, SoftmaxFn)> =
            vec![("portable", layer_norm_kernel, softmax_kernel::<false>)];
        #[cfg(target_arch = "x86_64")]
        {
            use crate::cpu::simd::Isa;
            // SAFETY (closures): each is listed only where the CPU has its instructions.
            if Isa::detect() >= Isa::Avx2 {
                b.push((
                    "avx2",
                    |x, r, g, be, e| unsafe { layer_norm_avx2(x, r, g, be, e) },
                    |s, l| unsafe { softmax_avx2(s, l) },
                ));
            }
            if Isa::detect() >= Isa::Avx512 {
                b.push((
                    "avx512",
                    |x, r, g, be, e| unsafe { layer_norm_avx512(x, r, g, be, e) },
                    |s, l| unsafe { softmax_avx512(s, l) },
                ));
            }
        }
        b
    }

    /// Layer norm and softmax of every build against f64 arithmetic, on rows of a length
    /// that is not a multiple of the lanes (the remainder folded separately) and of MiniLM's.
    #[test]
    fn every_build_matches_f64_layer_norm_and_softmax() {
        for len in [37, 384] {
            let rows = 3;
            let x: Vec<f32> = (0..rows * len)
                .map(|i| (i as f32 * 0.61).sin() * 4.0 + 1.0)
                .collect();
            let res: Vec<f32> = (0..rows * len).map(|i| (i as f32 * 0.23).cos()).collect();
            let gamma: Vec<f32> = (0..len).map(|i| 1.0 + (i % 7) as f32 * 0.1).collect();
            let beta: Vec<f32> = (0..len).map(|i| (i % 5) as f32 * 0.05 - 0.1).collect();
            let eps = 1e-12f32;
            for (name, norm, softmax) in builds() {
                let mut got = x.clone();
                norm(&mut got, &res, &gamma, &beta, eps);
                let mut soft = x.clone();
                softmax(&mut soft, len);
                for r in 0..rows {
                    let row: Vec<f64> = (0..len)
                        .map(|i| f64::from(x[r * len + i]) + f64::from(res[r * len + i]))
                        .collect();
                    let mean = row.iter().sum::<f64>() / len as f64;
                    let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / len as f64;
                    let max = x[r * len..(r + 1) * len]
                        .iter()
                        .fold(f64::MIN, |m, &v| m.max(f64::from(v)));
                    let exps: Vec<f64> = (0..len)
                        .map(|i| (f64::from(x[r * len + i]) - max).exp())
                        .collect();
                    let total: f64 = exps.iter().sum();
                    for i in 0..len {
                        let want = (row[i] - mean) / (var + f64::from(eps)).sqrt()
                            * f64::from(gamma[i])
                            + f64::from(beta[i]);
                        let d = (f64::from(got[r * len + i]) - want).abs();
                        assert!(
                            d < 1e-5,
                            "{name} norm {len} [{r},{i}]: {} vs {want}",
                            got[r * len + i]
                        );
                        let d = (f64::from(soft[r * len + i]) - exps[i] / total).abs();
                        assert!(d < 1e-6, "{name} softmax {len} [{r},{i}]: {d}");
                    }
                }
            }
        }
    }

    #[test]
    fn both_builds_agree_and_rows_sum_to_one() {
        let xs: Vec<f32> = (0..97).map(|i| (i as f32 * 0.37).sin() * 6.0).collect();
        let (mut a, mut b) = (xs.clone(), xs.clone());
        gelu_kernel::<false>(&mut a);
        gelu_in_place(&mut b);
        for ((x, a), b) in xs.iter().zip(&a).zip(&b) {
            let exact = 0.5 * x * (1.0 + libm::erff(x / std::f32::consts::SQRT_2));
            assert!(
                (a - exact).abs() < 1e-5 && (b - exact).abs() < 1e-5,
                "{x}: {a} {b} {exact}"
            );
        }
        let mut s = xs[..96].to_vec();
        softmax_rows(&mut s, 12);
        for row in s.chunks(12) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }
}
