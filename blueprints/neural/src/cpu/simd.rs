//! Runtime CPU-feature dispatch: the hot loops are written once as `#[inline(always)]` code
//! and compiled for each instruction set ([`Isa`]), the widest the CPU has chosen at run time.

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

/// The instruction set a kernel is compiled for, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Whatever the build target has (auto-vectorised).
    Portable,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512 F.
    Avx512,
}

/// Caps the kernels' instruction set (`avx2` or `portable`), to measure the narrower paths on
/// a wider CPU; unset, unknown or wider values change nothing.
pub const ISA_CAP_ENV: &str = "AUTOPILOT_CPU_KERNELS";

impl Isa {
    /// The widest kernel this CPU runs, capped by [`ISA_CAP_ENV`] (read once).
    pub fn detect() -> Isa {
        static CHOSEN: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let cap = match std::env::var(ISA_CAP_ENV).as_deref() {
                Ok("avx2") => Isa::Avx2,
                Ok("portable") => Isa::Portable,
                _ => Isa::Avx512,
            };
            Isa::widest().min(cap)
        })
    }

    /// The widest kernel the CPU itself supports.
    fn widest() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if has_avx2_fma() {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Whether this CPU can run the kernel.
    pub fn available(self) -> bool {
        self <= Isa::widest()
    }
}

/// `a·b + c`, fused when compiled with FMA (inlined into the caller's target features).
#[inline(always)]
pub fn fmadd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// What follows a layer's sum: nothing, ReLU or ReLU6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The sum as it is.
    Identity,
    /// `max(v, 0)` (ResNet).
    Relu,
    /// `min(max(v, 0), 6)` (MobileNetV2, EfficientNet-Lite).
    Relu6,
}

impl Activation {
    /// ReLU6 when `relu6`, else the identity.
    pub fn from_relu6(relu6: bool) -> Self {
        if relu6 {
            Activation::Relu6
        } else {
            Activation::Identity
        }
    }

    /// The upper bound of the clamp that starts at 0 (infinite for ReLU), `None` for the
    /// identity.
    #[inline(always)]
    pub fn ceiling(self) -> Option<f32> {
        match self {
            Activation::Identity => None,
            Activation::Relu => Some(f32::INFINITY),
            Activation::Relu6 => Some(6.0),
        }
    }

    /// The activation of one value (a NaN becomes 0).
    #[inline(always)]
    #[allow(clippy::manual_clamp)]
    pub fn apply(self, v: f32) -> f32 {
        match self.ceiling() {
            Some(hi) => v.max(0.0).min(hi),
            None => v,
        }
    }
}

/// ReLU6 when `on`: `min(max(v, 0), 6)` (a NaN becomes 0, as `clamp` would not do).
#[inline(always)]
pub fn relu6_if(on: bool, v: f32) -> f32 {
    Activation::from_relu6(on).apply(v)
}

/// Register-width vectors for kernels written once and compiled per instruction set.
#[cfg(target_arch = "x86_64")]
pub mod x86 {
    use std::arch::x86_64::*;

    /// The vector operations the kernels need, at one register width.
    ///
    /// # Safety
    /// Every method is `#[inline(always)]` and may only be called from a function compiled
    /// with the width's target features (AVX-512 F for [`Zmm`], AVX2 + FMA for [`Ymm`]);
    /// pointers must be valid for the lanes the mask selects (all lanes for `loadu`).
    #[allow(clippy::missing_safety_doc)]
    pub trait Vector: Copy {
        /// f32 lanes.
        const LANES: usize;
        /// A lane mask for loads and stores.
        type Mask: Copy;
        /// The first `valid` lanes (all when `valid ≥ LANES`).
        unsafe fn mask(valid: usize) -> Self::Mask;
        unsafe fn splat(v: f32) -> Self;
        /// All lanes (a plain load: masked loads cost more on some AVX2 CPUs).
        unsafe fn loadu(p: *const f32) -> Self;
        unsafe fn load(mask: Self::Mask, p: *const f32) -> Self;
        unsafe fn add(a: Self, b: Self) -> Self;
        unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self;
        /// `min(max(v, 0), hi)`.
        unsafe fn clamp(v: Self, hi: f32) -> Self;
        /// `min(max(v, 0), 6)`.
        #[inline(always)]
        unsafe fn relu6(v: Self) -> Self {
            // SAFETY: the caller's features.
            unsafe { Self::clamp(v, 6.0) }
        }
        unsafe fn store(mask: Self::Mask, p: *mut f32, v: Self);
    }

    /// 16 lanes, AVX-512.
    #[derive(Clone, Copy)]
    pub struct Zmm(__m512);

    impl Vector for Zmm {
        const LANES: usize = 16;
        type Mask = __mmask16;
        #[inline(always)]
        unsafe fn mask(valid: usize) -> __mmask16 {
            if valid >= 16 {
                0xFFFF
            } else {
                (1u16 << valid) - 1
            }
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            // SAFETY: the caller's features.
            Zmm(unsafe { _mm512_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn loadu(p: *const f32) -> Self {
            // SAFETY: the caller's pointer and features.
            Zmm(unsafe { _mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn load(mask: __mmask16, p: *const f32) -> Self {
            // SAFETY: the caller's pointer and features.
            Zmm(unsafe { _mm512_maskz_loadu_ps(mask, p) })
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: the caller's features.
            Zmm(unsafe { _mm512_add_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: the caller's features.
            Zmm(unsafe { _mm512_fmadd_ps(a.0, b.0, c.0) })
        }
        #[inline(always)]
        unsafe fn clamp(v: Self, hi: f32) -> Self {
            // SAFETY: the caller's features.
            unsafe {
                let low = _mm512_max_ps(v.0, _mm512_setzero_ps());
                Zmm(_mm512_min_ps(low, _mm512_set1_ps(hi)))
            }
        }
        #[inline(always)]
        unsafe fn store(mask: __mmask16, p: *mut f32, v: Self) {
            // SAFETY: the caller's pointer and features.
            unsafe { _mm512_mask_storeu_ps(p, mask, v.0) }
        }
    }

    /// 8 lanes, AVX2 + FMA.
    #[derive(Clone, Copy)]
    pub struct Ymm(__m256);

    impl Vector for Ymm {
        const LANES: usize = 8;
        type Mask = __m256i;
        #[inline(always)]
        unsafe fn mask(valid: usize) -> __m256i {
            // SAFETY: the caller's features.
            unsafe {
                let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                _mm256_cmpgt_epi32(_mm256_set1_epi32(valid.min(8) as i32), lanes)
            }
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            // SAFETY: the caller's features.
            Ymm(unsafe { _mm256_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn loadu(p: *const f32) -> Self {
            // SAFETY: the caller's pointer and features.
            Ymm(unsafe { _mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn load(mask: __m256i, p: *const f32) -> Self {
            // SAFETY: the caller's pointer and features.
            Ymm(unsafe { _mm256_maskload_ps(p, mask) })
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: the caller's features.
            Ymm(unsafe { _mm256_add_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: the caller's features.
            Ymm(unsafe { _mm256_fmadd_ps(a.0, b.0, c.0) })
        }
        #[inline(always)]
        unsafe fn clamp(v: Self, hi: f32) -> Self {
            // SAFETY: the caller's features.
            unsafe {
                let low = _mm256_max_ps(v.0, _mm256_setzero_ps());
                Ymm(_mm256_min_ps(low, _mm256_set1_ps(hi)))
            }
        }
        #[inline(always)]
        unsafe fn store(mask: __m256i, p: *mut f32, v: Self) {
            // SAFETY: the caller's pointer and features.
            unsafe { _mm256_maskstore_ps(p, mask, v.0) }
        }
    }
}
