//! The encoder's element-wise hot loops — exact-erf GELU and the attention softmax — written
//! with branch-free polynomial `exp` and `erf` that the compiler vectorizes, compiled plainly and
//! with AVX2 + FMA (chosen at run time, [`crate::cpu::simd`]). `exp`: Cephes' `expf` polynomial
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

#[inline(always)]
fn softmax_kernel<const FMA: bool>(scores: &mut [f32], len: usize) {
    for row in scores.chunks_exact_mut(len) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = exp_poly::<FMA>(*v - max);
            sum += *v;
        }
        let inv = 1.0 / sum;
        row.iter_mut().for_each(|v| *v *= inv);
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

/// Exact-erf GELU `x·(1 + erf(x/√2))/2` in place.
pub fn gelu_in_place(xs: &mut [f32]) {
    if Isa::detect() >= Isa::Avx2 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        unsafe {
            return gelu_avx2(xs);
        }
    }
    gelu_kernel::<false>(xs);
}

/// Softmax of each row of `len` values, in place.
pub fn softmax_rows(scores: &mut [f32], len: usize) {
    if Isa::detect() >= Isa::Avx2 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        unsafe {
            return softmax_avx2(scores, len);
        }
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
