//! The GEMM behind every 1×1 convolution: `out = act(x · W + bias (+ residual))`.
//!
//! The weights are packed once into panels of [`PANEL`] output channels (zero-padded), each
//! panel `k × PANEL` contiguous. The input rows are read in place (NHWC rows are already
//! row-major), a block of rows times one panel is accumulated in registers over the whole `k`,
//! and bias, residual and the activation are applied to the accumulators before the only store. Three
//! kernels, picked at run time: AVX-512 (12 rows × 32 channels in 24 registers), AVX2 + FMA
//! (6 rows × 16 channels in 12 registers) and portable code for other CPUs.
//!
//! Compared with the general `gemm` crate (whose f32 kernels are 256-bit) this avoids packing
//! the input and a second pass over the output for the epilogue, and runs 512-bit where the
//! CPU has it: 2.1–2.2× the crate's speed per image on every backbone's products, the
//! ResNet's included (`neural_bench cpu_kernels_speed`, one thread, side by side).

use super::simd::{Activation, Isa};

/// Output channels per packed weight panel.
pub const PANEL: usize = 32;

/// A `k × n` weight matrix in panels of [`PANEL`] columns, zero-padded to whole panels.
#[derive(Debug, Clone)]
pub struct Panels {
    data: Vec<f32>,
    k: usize,
    n: usize,
}

impl Panels {
    /// Packs a row-major `k × n` matrix (output channel fastest).
    pub fn pack(weight: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(weight.len(), k * n, "weights of a {k} × {n} layer");
        let count = n.div_ceil(PANEL);
        let mut data = vec![0f32; count * k * PANEL];
        for (p, panel) in data.chunks_exact_mut(k * PANEL).enumerate() {
            let col0 = p * PANEL;
            let cols = (n - col0).min(PANEL);
            for (row, dst) in weight.chunks_exact(n).zip(panel.chunks_exact_mut(PANEL)) {
                dst[..cols].copy_from_slice(&row[col0..col0 + cols]);
            }
        }
        Panels { data, k, n }
    }

    /// The row-major `k × n` matrix back (what [`Panels::pack`] was given).
    pub fn unpack(&self) -> Vec<f32> {
        let mut weight = vec![0f32; self.k * self.n];
        for (j, col) in (0..self.n).map(|j| (j, self.panel(j / PANEL))) {
            for (i, row) in weight.chunks_exact_mut(self.n).enumerate() {
                row[j] = col[i * PANEL + j % PANEL];
            }
        }
        weight
    }

    fn panel(&self, p: usize) -> &[f32] {
        &self.data[p * self.k * PANEL..(p + 1) * self.k * PANEL]
    }
}

/// What is applied to each output value after the product: `act(v + bias (+ residual))`.
#[derive(Debug, Clone, Copy)]
pub struct Epilogue<'a> {
    /// Per-output-channel bias (`n`).
    pub bias: &'a [f32],
    /// `rows × n`, same layout as the output.
    pub residual: Option<&'a [f32]>,
    /// The activation after the sum.
    pub act: Activation,
}

/// Input rows per register block of each kernel.
fn rows_per_block(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 12,
        Isa::Avx2 => 6,
        Isa::Portable => 4,
    }
}

/// `out (rows × n) = act(x (rows × k) · W + bias (+ residual))`, single-threaded, on the
/// widest kernel of this CPU.
pub fn gemm_fused(x: &[f32], rows: usize, w: &Panels, epi: Epilogue, out: &mut [f32]) {
    gemm_fused_on(Isa::detect(), x, rows, w, epi, out);
}

/// [`gemm_fused`] on a given kernel (tests and benchmarks compare them).
///
/// # Panics
/// When a buffer is shorter than its shape or `isa` cannot run on this CPU.
pub fn gemm_fused_on(isa: Isa, x: &[f32], rows: usize, w: &Panels, epi: Epilogue, out: &mut [f32]) {
    let (k, n) = (w.k, w.n);
    assert!(x.len() >= rows * k, "input of {rows} × {k}");
    assert!(out.len() >= rows * n, "output of {rows} × {n}");
    assert!(epi.bias.len() >= n, "bias of {n}");
    if let Some(r) = epi.residual {
        assert!(r.len() >= rows * n, "residual of {rows} × {n}");
    }
    assert!(isa.available(), "{isa:?} kernels on this CPU");
    let mr = rows_per_block(isa);
    for p in 0..n.div_ceil(PANEL) {
        let panel = w.panel(p);
        let col0 = p * PANEL;
        let cols = (n - col0).min(PANEL);
        let mut r0 = 0;
        while r0 < rows {
            let block = Block {
                a: &x[r0 * k..],
                k,
                b: panel,
                bias: &epi.bias[col0..],
                residual: epi.residual.map(|r| &r[r0 * n + col0..]),
                act: epi.act,
                ldc: n,
                cols,
            };
            let m = (rows - r0).min(mr);
            let c = &mut out[r0 * n + col0..];
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `available` checked the CPU features; `Block` bounds are checked in
                // `Block::check` inside the kernels' callers below.
                Isa::Avx512 => unsafe { x86::avx512(m, &block, c) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                Isa::Avx2 => unsafe { x86::avx2(m, &block, c) },
                _ => portable(m, &block, c),
            }
            r0 += m;
        }
    }
}

/// One block of rows times one panel.
struct Block<'a> {
    /// The block's first input row; rows `k` apart.
    a: &'a [f32],
    k: usize,
    /// The panel, `k × PANEL`.
    b: &'a [f32],
    /// Bias from the panel's first column.
    bias: &'a [f32],
    /// Residual from the block's first row and the panel's first column; rows `ldc` apart.
    residual: Option<&'a [f32]>,
    act: Activation,
    /// Row stride of the output and the residual.
    ldc: usize,
    /// Valid columns of the panel (≤ PANEL).
    cols: usize,
}

impl Block<'_> {
    /// Asserts that `m` rows fit every buffer (the kernels index without checks).
    fn check(&self, m: usize, c: &[f32]) {
        assert!(m >= 1 && self.cols >= 1 && self.cols <= PANEL);
        assert!(self.a.len() >= (m - 1) * self.k + self.k);
        assert!(self.b.len() >= self.k * PANEL);
        assert!(self.bias.len() >= self.cols);
        let span = (m - 1) * self.ldc + self.cols;
        assert!(c.len() >= span);
        if let Some(r) = self.residual {
            assert!(r.len() >= span);
        }
    }
}

fn portable(m: usize, blk: &Block, c: &mut [f32]) {
    blk.check(m, c);
    let mut acc = [[0f32; PANEL]; 4];
    for (kk, b) in blk.b.chunks_exact(PANEL).take(blk.k).enumerate() {
        for (r, acc_r) in acc.iter_mut().enumerate().take(m) {
            let a = blk.a[r * blk.k + kk];
            for (s, w) in acc_r.iter_mut().zip(b) {
                *s += a * w;
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate().take(m) {
        let row = r * blk.ldc;
        for j in 0..blk.cols {
            let res = blk.residual.map_or(0.0, |res| res[row + j]);
            c[row + j] = blk.act.apply(acc_r[j] + blk.bias[j] + res);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Block, PANEL};
    use crate::cpu::simd::x86::{Vector, Ymm, Zmm};

    /// Dispatches `m` (1..=MR) to the kernel unrolled for that many rows.
    macro_rules! by_rows {
        ($kernel:ident, $v:ty, $nv:literal, $m:expr, $blk:expr, $col0:expr, $c:expr, [$($r:literal)*]) => {
            match $m {
                $($r => $kernel::<$v, $nv, $r>($blk, $col0, $c),)*
                _ => unreachable!("row block of {}", $m),
            }
        };
    }

    /// # Safety
    /// The CPU must have AVX-512 F.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn avx512(m: usize, blk: &Block, c: &mut [f32]) {
        blk.check(m, c);
        // SAFETY: bounds checked above; the feature is the caller's promise. A panel with at
        // most 16 valid columns (a layer's last, or a narrow layer) skips its padded half.
        unsafe {
            if blk.cols <= 16 {
                by_rows!(rows_avx512, Zmm, 1, m, blk, 0, c, [1 2 3 4 5 6 7 8 9 10 11 12])
            } else {
                by_rows!(rows_avx512, Zmm, 2, m, blk, 0, c, [1 2 3 4 5 6 7 8 9 10 11 12])
            }
        }
    }

    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(m: usize, blk: &Block, c: &mut [f32]) {
        blk.check(m, c);
        // Two passes of 16 columns: 6 rows × 2 vectors fill 12 of the 16 registers.
        for col0 in (0..blk.cols).step_by(16) {
            // SAFETY: bounds checked above; the feature is the caller's promise.
            unsafe { by_rows!(rows_avx2, Ymm, 2, m, blk, col0, c, [1 2 3 4 5 6]) }
        }
    }

    /// Defines `$name`: `M` rows × `NV` vectors of the panel from column `col0`, accumulated
    /// in registers over the whole `k`; bias, residual and the activation applied before the masked
    /// store. Written once, compiled with each width's features (a generic function without
    /// them would not inline the intrinsics).
    macro_rules! rows_kernel {
        ($name:ident, $features:literal) => {
            /// # Safety
            /// The CPU has the features; `Block::check` passed for `M` rows.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn $name<V: Vector, const NV: usize, const M: usize>(
                blk: &Block,
                col0: usize,
                c: &mut [f32],
            ) {
                let (a, k, lanes) = (blk.a.as_ptr(), blk.k, V::LANES);
                // SAFETY (whole body): `Block::check` bounds every offset; masks cover the columns
                // past `cols`.
                unsafe {
                    let b = blk.b.as_ptr().add(col0);
                    let zero = V::splat(0.0);
                    let mut acc = [[zero; NV]; M];
                    for kk in 0..k {
                        // Plain loops, not closures: everything must inline into the caller's features.
                        let mut bv = [zero; NV];
                        for (h, v) in bv.iter_mut().enumerate() {
                            *v = V::loadu(b.add(kk * PANEL + h * lanes));
                        }
                        for (r, acc_r) in acc.iter_mut().enumerate() {
                            let av = V::splat(*a.add(r * k + kk));
                            for h in 0..NV {
                                acc_r[h] = V::fmadd(av, bv[h], acc_r[h]);
                            }
                        }
                    }
                    // Constant indices only (row outer, vector inner): an accumulator indexed
                    // by a run-time value would make LLVM keep `acc` in memory and store every
                    // accumulator on every step of the loop above (measured 3× slower).
                    let mut masks = [V::mask(0); NV];
                    let mut bias = [zero; NV];
                    for h in 0..NV {
                        let first = col0 + h * lanes;
                        masks[h] = V::mask(blk.cols.saturating_sub(first));
                        bias[h] = V::load(masks[h], blk.bias.as_ptr().add(first));
                    }
                    let ceiling = blk.act.ceiling();
                    for r in 0..M {
                        for h in 0..NV {
                            let off = r * blk.ldc + col0 + h * lanes;
                            let mut v = V::add(acc[r][h], bias[h]);
                            if let Some(res) = blk.residual {
                                v = V::add(v, V::load(masks[h], res.as_ptr().add(off)));
                            }
                            if let Some(hi) = ceiling {
                                v = V::clamp(v, hi);
                            }
                            V::store(masks[h], c.as_mut_ptr().add(off), v);
                        }
                    }
                }
            }
        };
    }

    rows_kernel!(rows_avx512, "avx512f,avx2,fma");
    rows_kernel!(rows_avx2, "avx2,fma");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(i: usize, s: usize) -> f32 {
        ((i * 7919 + s * 104_729) % 97) as f32 / 24.0 - 2.0
    }

    fn naive(x: &[f32], rows: usize, w: &[f32], k: usize, n: usize, epi: Epilogue) -> Vec<f32> {
        let mut out = vec![0f32; rows * n];
        for r in 0..rows {
            for j in 0..n {
                let mut v = epi.bias[j] + epi.residual.map_or(0.0, |s| s[r * n + j]);
                for i in 0..k {
                    v += x[r * k + i] * w[i * n + j];
                }
                out[r * n + j] = epi.act.apply(v);
            }
        }
        out
    }

    #[test]
    fn every_kernel_matches_a_naive_product_on_ragged_shapes() {
        let isas: Vec<Isa> = [Isa::Portable, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|i| i.available())
            .collect();
        // Rows not a multiple of any block, channels not a multiple of 8, 16 or 32.
        for (rows, k, n) in [
            (1, 1, 1),
            (13, 24, 45),
            (25, 3, 144),
            (49, 96, 7),
            (31, 40, 96),
        ] {
            let x: Vec<f32> = (0..rows * k).map(|i| val(i, 1)).collect();
            let res: Vec<f32> = (0..rows * n).map(|i| val(i, 2)).collect();
            let w: Vec<f32> = (0..k * n).map(|i| val(i, 3) / 4.0).collect();
            let bias: Vec<f32> = (0..n).map(|i| val(i, 4)).collect();
            let panels = Panels::pack(&w, k, n);
            assert_eq!(panels.unpack(), w);
            for act in [Activation::Identity, Activation::Relu, Activation::Relu6] {
                for residual in [None, Some(res.as_slice())] {
                    let epi = Epilogue {
                        bias: &bias,
                        residual,
                        act,
                    };
                    let want = naive(&x, rows, &w, k, n, epi);
                    for &isa in &isas {
                        // One spare value past the end must stay untouched.
                        let mut out = vec![f32::NAN; rows * n + 1];
                        gemm_fused_on(isa, &x, rows, &panels, epi, &mut out);
                        assert!(out[rows * n].is_nan(), "{isa:?} wrote past the output");
                        let max = want
                            .iter()
                            .zip(&out)
                            .map(|(a, b)| (a - b).abs())
                            .fold(0f32, f32::max);
                        assert!(max < 1e-4, "{isa:?} {rows}×{k}×{n}: max |Δ| = {max}");
                    }
                }
            }
        }
        // The host of this test runs at least the portable kernel; say which others it ran.
        eprintln!("kernels compared: {isas:?}");
    }
}
