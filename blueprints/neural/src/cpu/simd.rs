//! Runtime CPU-feature dispatch: the hot loops are written once as `#[inline(always)]` code
//! and compiled twice, plainly and with AVX2 + FMA, the second one chosen when the CPU has it.

/// Whether the AVX2 + FMA versions of the kernels can run on this CPU.
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `a·b + c`, fused when compiled with FMA (inlined into the caller's target features).
#[inline(always)]
pub fn fmadd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// ReLU6 when `on`: `min(max(v, 0), 6)`.
#[inline(always)]
pub fn relu6_if(on: bool, v: f32) -> f32 {
    if on { v.max(0.0).min(6.0) } else { v }
}
