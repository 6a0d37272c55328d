//! The int8 variant of [`panel_gemm`](super::panel_gemm), for `--precision int8` on the CPU:
//! `out = act(x · W + bias (+ residual))` with `W` quantized once per output channel
//! (symmetric, `i8`) and each input row quantized as it is read: symmetric with its own scale,
//! stored as `u8` with an offset of 128 ([`InputRange::Signed`]) — or, for the output of a
//! ReLU or ReLU6, on the whole unsigned byte with no offset ([`InputRange::NonNegative`]: twice
//! the steps for the same row). The products are summed exactly in `i32` by AVX-512
//! VNNI (`vpdpbusd`: 64 multiply-adds per instruction, four times an f32 FMA's), the offset is
//! taken back out with the panel's column sums, and the epilogue scales to f32 and applies
//! bias, residual and ReLU6 in registers like the f32 kernel. A portable kernel computes the
//! same integers on any CPU (tests; the network refuses int8 without VNNI, where it would be
//! slower than f32).

use super::panel_gemm::Epilogue;
use super::simd::Activation;
use crate::kept::with_kept;

/// Output channels per packed panel (two vectors of 16 `i32` accumulators).
pub const QPANEL: usize = 32;

/// Input rows per register block (12 rows × 2 vectors = 24 accumulators).
const ROWS: usize = 12;

/// The offset that makes a signed quantized activation an unsigned byte.
const OFFSET: i32 = 128;

/// Whether this CPU runs the VNNI kernel (AVX-512 F + VNNI).
pub fn vnni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// What a layer's inputs can be, which says how its rows are quantized (each with its own
/// scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputRange {
    /// Either sign: `round(x / scale) + 128` with the scale `max |x| / 127`.
    Signed,
    /// Never negative (a ReLU's or ReLU6's output): `round(x / scale)` with the scale
    /// `max x / 255`; a negative value would become 0.
    NonNegative,
}

impl InputRange {
    /// The range of the values `act` leaves.
    pub fn after(act: Activation) -> Self {
        match act {
            Activation::Identity => InputRange::Signed,
            Activation::Relu | Activation::Relu6 => InputRange::NonNegative,
        }
    }
}

/// A `k × n` weight matrix quantized per output channel, in panels of [`QPANEL`] columns: per
/// panel, `k` rounded up to 4 in groups of 4 rows, each group `QPANEL` columns × 4 bytes (the
/// operand layout of `vpdpbusd`), zero-padded.
#[derive(Debug, Clone)]
pub struct QuantPanels {
    data: Vec<i8>,
    /// Per output channel: the weight scale (`w ≈ scale · q`).
    scale: Vec<f32>,
    /// Per output channel: `OFFSET · Σ_k q`, what the unsigned offset adds to a dot product
    /// (zeros for a non-negative input, which has no offset).
    offset_sum: Vec<i32>,
    /// How the input rows are quantized.
    input: InputRange,
    k: usize,
    /// `k` rounded up to a multiple of 4.
    kq: usize,
    n: usize,
}

impl QuantPanels {
    /// Quantizes a row-major `k × n` matrix (output channel fastest) for inputs of any sign.
    pub fn pack(weight: &[f32], k: usize, n: usize) -> Self {
        Self::pack_for(weight, k, n, InputRange::Signed)
    }

    /// [`pack`](Self::pack) for inputs in `input`'s range.
    pub fn pack_for(weight: &[f32], k: usize, n: usize, input: InputRange) -> Self {
        let offset = match input {
            InputRange::Signed => OFFSET,
            InputRange::NonNegative => 0,
        };
        assert_eq!(weight.len(), k * n, "weights of a {k} × {n} layer");
        let kq = k.div_ceil(4) * 4;
        let scale: Vec<f32> = (0..n)
            .map(|j| {
                let max = (0..k).fold(0f32, |m, i| m.max(weight[i * n + j].abs()));
                if max > 0.0 { max / 127.0 } else { 1.0 }
            })
            .collect();
        let q =
            |i: usize, j: usize| (weight[i * n + j] / scale[j]).round().clamp(-127.0, 127.0) as i8;
        let panels = n.div_ceil(QPANEL);
        let mut data = vec![0i8; panels * kq * QPANEL];
        let mut offset_sum = vec![0i32; n];
        for (j, sum) in offset_sum.iter_mut().enumerate() {
            let (p, col) = (j / QPANEL, j % QPANEL);
            for i in 0..k {
                let v = q(i, j);
                *sum += offset * v as i32;
                data[p * kq * QPANEL + (i / 4) * QPANEL * 4 + col * 4 + i % 4] = v;
            }
        }
        QuantPanels {
            data,
            scale,
            offset_sum,
            input,
            k,
            kq,
            n,
        }
    }

    /// Input channels.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Output channels.
    pub fn n(&self) -> usize {
        self.n
    }

    /// How the input rows are quantized.
    pub fn input(&self) -> InputRange {
        self.input
    }

    fn panel(&self, p: usize) -> &[i8] {
        &self.data[p * self.kq * QPANEL..(p + 1) * self.kq * QPANEL]
    }
}

/// Quantizes `rows` rows of `x` (`k` values each) into `q` (`kq` bytes each) and returns each
/// row's scale in `scales`, as `input` says (the scale 1 for an all-zero row); rounding half
/// to even. A row's bytes past `k` meet zero weights and are left as they are. Vectorized
/// where the VNNI kernel runs (a scalar `round` is a library call per value, slower than the
/// product itself).
#[allow(clippy::too_many_arguments)]
fn quantize_rows(
    vnni: bool,
    input: InputRange,
    x: &[f32],
    rows: usize,
    k: usize,
    kq: usize,
    q: &mut Vec<u8>,
    scales: &mut Vec<f32>,
) {
    if q.len() < rows * kq {
        q.resize(rows * kq, 0);
    }
    scales.clear();
    let unsigned = input == InputRange::NonNegative;
    for (row, dst) in x.chunks_exact(k).take(rows).zip(q.chunks_exact_mut(kq)) {
        let dst = &mut dst[..k];
        #[cfg(target_arch = "x86_64")]
        if vnni {
            // SAFETY: the caller checked VNNI (and so AVX-512 F); `dst` is as long as the row.
            scales.push(unsafe {
                if unsigned {
                    x86::quantize_row::<true>(row, dst)
                } else {
                    x86::quantize_row::<false>(row, dst)
                }
            });
            continue;
        }
        let _ = vnni;
        let (lowest, highest, offset) = codes(unsigned);
        let max = row
            .iter()
            .fold(0f32, |m, &v| m.max(if unsigned { v } else { v.abs() }));
        let (scale, inv) = scale_of(max, highest);
        for (d, &v) in dst.iter_mut().zip(row) {
            let code = (v * inv).round_ties_even() as i32;
            *d = (code.clamp(lowest, highest) + offset) as u8;
        }
        scales.push(scale);
    }
}

/// The scale of a row whose largest magnitude is `max` coded on `highest` steps, and its
/// inverse: `(1, 1)` for an all-zero row.
#[inline(always)]
fn scale_of(max: f32, highest: i32) -> (f32, f32) {
    let scale = if max > 0.0 { max / highest as f32 } else { 1.0 };
    (scale, 1.0 / scale)
}

/// The integer codes of a quantized input, `(lowest, highest, offset)`: a value is
/// `scale · code` with `code` in `lowest..=highest` (`-127..=127` of either sign, `0..=255`
/// when non-negative; the scale maps the row's largest magnitude to `highest`), stored as
/// `code + offset`.
const fn codes(unsigned: bool) -> (i32, i32, i32) {
    if unsigned {
        (0, 255, 0)
    } else {
        (-127, 127, OFFSET)
    }
}

/// The quantized rows and their scales, kept by each thread from call to call
/// ([`with_kept`]).
#[derive(Default)]
struct QuantizedRows {
    codes: Vec<u8>,
    scales: Vec<f32>,
}

/// `out (rows × n) = act(x (rows × k) · W + bias (+ residual))` on the VNNI kernel when the
/// CPU has it, else on the portable one (the same integers; the same floats up to the rounding
/// of the epilogue's fused multiply-add).
pub fn gemm_fused_int8(x: &[f32], rows: usize, w: &QuantPanels, epi: Epilogue, out: &mut [f32]) {
    gemm_fused_int8_on(vnni_available(), x, rows, w, epi, out);
}

/// [`gemm_fused_int8`] on the VNNI kernel or the portable one (tests compare them).
///
/// # Panics
/// When a buffer is shorter than its shape or `vnni` is asked for on a CPU without it.
pub fn gemm_fused_int8_on(
    vnni: bool,
    x: &[f32],
    rows: usize,
    w: &QuantPanels,
    epi: Epilogue,
    out: &mut [f32],
) {
    let (k, n) = (w.k, w.n);
    assert!(x.len() >= rows * k, "input of {rows} × {k}");
    assert!(out.len() >= rows * n, "output of {rows} × {n}");
    assert!(epi.bias.len() >= n, "bias of {n}");
    if let Some(r) = epi.residual {
        assert!(r.len() >= rows * n, "residual of {rows} × {n}");
    }
    assert!(!vnni || vnni_available(), "VNNI kernels on this CPU");
    with_kept(|QuantizedRows { codes: q, scales }: &mut QuantizedRows| {
        quantize_rows(vnni, w.input, x, rows, k, w.kq, q, scales);
        for p in 0..n.div_ceil(QPANEL) {
            let col0 = p * QPANEL;
            let mut r0 = 0;
            while r0 < rows {
                let m = (rows - r0).min(ROWS);
                let block = Block {
                    a: &q[r0 * w.kq..(r0 + m) * w.kq],
                    a_scale: &scales[r0..r0 + m],
                    kq: w.kq,
                    b: w.panel(p),
                    w_scale: &w.scale[col0..],
                    offset_sum: &w.offset_sum[col0..],
                    bias: &epi.bias[col0..],
                    residual: epi.residual.map(|r| &r[r0 * n + col0..]),
                    act: epi.act,
                    ldc: n,
                    cols: (n - col0).min(QPANEL),
                };
                let c = &mut out[r0 * n + col0..];
                block.check(m, c);
                #[cfg(target_arch = "x86_64")]
                if vnni {
                    // SAFETY: VNNI checked above; `Block::check` bounds every access.
                    unsafe { x86::vnni(m, &block, c) };
                    r0 += m;
                    continue;
                }
                portable(m, &block, c);
                r0 += m;
            }
        }
    });
}

/// One block of quantized rows times one panel.
struct Block<'a> {
    /// `m` rows of `kq` bytes.
    a: &'a [u8],
    a_scale: &'a [f32],
    kq: usize,
    /// The panel.
    b: &'a [i8],
    /// From the panel's first column on: weight scales, offset sums, bias.
    w_scale: &'a [f32],
    offset_sum: &'a [i32],
    bias: &'a [f32],
    /// From the block's first row and the panel's first column; rows `ldc` apart.
    residual: Option<&'a [f32]>,
    act: Activation,
    ldc: usize,
    /// Valid columns of the panel (≤ QPANEL).
    cols: usize,
}

impl Block<'_> {
    /// Asserts that `m` rows fit every buffer (the VNNI kernel indexes without checks).
    fn check(&self, m: usize, c: &[f32]) {
        assert!((1..=ROWS).contains(&m) && (1..=QPANEL).contains(&self.cols));
        assert!(self.a.len() >= m * self.kq && self.a_scale.len() >= m);
        assert!(self.b.len() >= self.kq * QPANEL);
        assert!(self.w_scale.len() >= self.cols && self.offset_sum.len() >= self.cols);
        assert!(self.bias.len() >= self.cols);
        let span = (m - 1) * self.ldc + self.cols;
        assert!(c.len() >= span);
        if let Some(r) = self.residual {
            assert!(r.len() >= span);
        }
    }

    /// The f32 output value of row `r`, column `j` from its integer dot product.
    #[inline(always)]
    fn finish(&self, r: usize, j: usize, dot: i32) -> f32 {
        let mut v =
            (dot - self.offset_sum[j]) as f32 * (self.a_scale[r] * self.w_scale[j]) + self.bias[j];
        if let Some(res) = self.residual {
            v += res[r * self.ldc + j];
        }
        self.act.apply(v)
    }
}

fn portable(m: usize, blk: &Block, c: &mut [f32]) {
    for r in 0..m {
        let a = &blk.a[r * blk.kq..(r + 1) * blk.kq];
        for j in 0..blk.cols {
            let mut dot = 0i32;
            for (g, a4) in a.chunks_exact(4).enumerate() {
                let b4 = &blk.b[g * QPANEL * 4 + j * 4..][..4];
                dot += a4
                    .iter()
                    .zip(b4)
                    .map(|(&x, &w)| x as i32 * w as i32)
                    .sum::<i32>();
            }
            c[r * blk.ldc + j] = blk.finish(r, j, dot);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Block, QPANEL, codes};

    /// # Safety
    /// The CPU has AVX-512 F and VNNI; `Block::check` passed for `m` rows.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn vnni(m: usize, blk: &Block, c: &mut [f32]) {
        // A panel with at most 16 valid columns (a layer's last, or a narrow layer) skips its
        // padded half.
        macro_rules! by_rows {
            ($two:literal, $($r:literal)*) => {
                match m {
                    $($r => unsafe { rows::<$r, $two>(blk, c) },)*
                    _ => unreachable!("row block of {m}"),
                }
            };
        }
        if blk.cols > 16 {
            by_rows!(true, 1 2 3 4 5 6 7 8 9 10 11 12)
        } else {
            by_rows!(false, 1 2 3 4 5 6 7 8 9 10 11 12)
        }
    }

    /// Scales one vector of the block's rows' dot products (columns `$first..$first + 16` of
    /// the panel) to f32, adds bias and residual, applies ReLU6 and stores the valid columns.
    /// A macro, expanded inside `rows`, so that the accumulators stay in registers: as a
    /// function taking them by reference it was not inlined, and every block stored its 24
    /// accumulators to the stack and made two calls (5.4 % of an int8 MobileNetV2 run).
    ///
    /// Safety: as [`vnni`]; `Block::check` bounds every offset and the mask covers the columns
    /// past `cols`.
    macro_rules! finish {
        ($blk:expr, $first:expr, $acc:expr, $c:expr) => {{
            let (blk, first) = ($blk, $first);
            let valid = blk.cols.saturating_sub(first).min(16);
            if valid > 0 {
                let mask: __mmask16 = ((1u32 << valid) - 1) as __mmask16;
                let ceiling = blk.act.ceiling();
                let w_scale = _mm512_maskz_loadu_ps(mask, blk.w_scale.as_ptr().add(first));
                let offset = _mm512_maskz_loadu_epi32(mask, blk.offset_sum.as_ptr().add(first));
                let bias = _mm512_maskz_loadu_ps(mask, blk.bias.as_ptr().add(first));
                for (r, &dot) in $acc.iter().enumerate() {
                    let dot = _mm512_cvtepi32_ps(_mm512_sub_epi32(dot, offset));
                    let scale = _mm512_mul_ps(w_scale, _mm512_set1_ps(blk.a_scale[r]));
                    let mut v = _mm512_fmadd_ps(dot, scale, bias);
                    let off = r * blk.ldc + first;
                    if let Some(res) = blk.residual {
                        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, res.as_ptr().add(off)));
                    }
                    if let Some(hi) = ceiling {
                        v = _mm512_min_ps(
                            _mm512_max_ps(v, _mm512_setzero_ps()),
                            _mm512_set1_ps(hi),
                        );
                    }
                    _mm512_mask_storeu_ps($c.as_mut_ptr().add(off), mask, v);
                }
            }
        }};
    }

    /// `M` rows × the panel's first vector, and its second when `TWO`, summed over all of `kq`
    /// in registers.
    ///
    /// # Safety
    /// As [`vnni`].
    #[target_feature(enable = "avx512f,avx512vnni")]
    #[inline]
    unsafe fn rows<const M: usize, const TWO: bool>(blk: &Block, c: &mut [f32]) {
        // SAFETY (whole body): `Block::check` bounds every offset.
        unsafe {
            let (a, b, kq) = (blk.a.as_ptr(), blk.b.as_ptr(), blk.kq);
            // Two arrays, not one indexed by vector: the accumulators must stay in registers
            // (indexed by a loop variable in the epilogue, LLVM stored every one of them to the
            // stack after each multiply-add).
            let mut acc0 = [_mm512_setzero_si512(); M];
            let mut acc1 = [_mm512_setzero_si512(); M];
            for g in 0..kq / 4 {
                let b0 = _mm512_loadu_si512(b.add(g * QPANEL * 4) as *const _);
                let b1 = if TWO {
                    _mm512_loadu_si512(b.add(g * QPANEL * 4 + 64) as *const _)
                } else {
                    _mm512_setzero_si512()
                };
                for r in 0..M {
                    let a4 = (a.add(r * kq + g * 4) as *const i32).read_unaligned();
                    let av = _mm512_set1_epi32(a4);
                    acc0[r] = _mm512_dpbusd_epi32(acc0[r], av, b0);
                    if TWO {
                        acc1[r] = _mm512_dpbusd_epi32(acc1[r], av, b1);
                    }
                }
            }
            finish!(blk, 0, acc0, c);
            if TWO {
                finish!(blk, 16, acc1, c);
            }
        }
    }

    /// Quantizes one row into `dst` (as long as the row) and returns its scale, as the
    /// portable loop in `quantize_rows` does; `UNSIGNED` for a non-negative row. Whole vectors
    /// load and store unmasked (a mask made per vector, and the masked byte store, cost as much
    /// as the arithmetic on a row of 16 to 32 values); only the row's last part is masked.
    ///
    /// # Safety
    /// The CPU has AVX-512 F; `dst.len() == row.len()`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn quantize_row<const UNSIGNED: bool>(row: &[f32], dst: &mut [u8]) -> f32 {
        let n = row.len().min(dst.len());
        let full = n / 16 * 16;
        let tail: __mmask16 = ((1u32 << (n - full)) - 1) as __mmask16;
        let (lowest, highest, offset) = codes(UNSIGNED);
        // The magnitude a value's code must fit: itself when non-negative, else |v|.
        macro_rules! magnitude {
            ($v:expr) => {
                if UNSIGNED { $v } else { _mm512_abs_ps($v) }
            };
        }
        // SAFETY (whole body): unmasked accesses stay below `full` ≤ `n`; the tail's are
        // masked to the values before `n`.
        unsafe {
            let (src, out) = (row.as_ptr(), dst.as_mut_ptr());
            let mut max = _mm512_setzero_ps();
            for i in (0..full).step_by(16) {
                max = _mm512_max_ps(max, magnitude!(_mm512_loadu_ps(src.add(i))));
            }
            if full < n {
                max = _mm512_max_ps(max, magnitude!(_mm512_maskz_loadu_ps(tail, src.add(full))));
            }
            let (scale, inv) = super::scale_of(_mm512_reduce_max_ps(max), highest);
            let inv = _mm512_set1_ps(inv);
            let (lo, hi, offset) = (
                _mm512_set1_epi32(lowest),
                _mm512_set1_epi32(highest),
                _mm512_set1_epi32(offset),
            );
            // Round half to even (the default rounding mode), clamp, shift to unsigned.
            macro_rules! codes_of {
                ($v:expr) => {
                    _mm512_add_epi32(
                        _mm512_min_epi32(
                            _mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps($v, inv)), lo),
                            hi,
                        ),
                        offset,
                    )
                };
            }
            for i in (0..full).step_by(16) {
                let q = _mm512_cvtepi32_epi8(codes_of!(_mm512_loadu_ps(src.add(i))));
                _mm_storeu_si128(out.add(i) as *mut __m128i, q);
            }
            if full < n {
                let q = codes_of!(_mm512_maskz_loadu_ps(tail, src.add(full)));
                _mm512_mask_cvtepi32_storeu_epi8(out.add(full) as *mut _, tail, q);
            }
            scale
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(i: usize, s: usize) -> f32 {
        ((i * 7919 + s * 104_729) % 97) as f32 / 24.0 - 2.0
    }

    #[test]
    fn both_kernels_follow_the_f32_product_within_the_quantization_error() {
        let kernels: Vec<bool> = [false, true]
            .into_iter()
            .filter(|&v| !v || vnni_available())
            .collect();
        // Rows not a multiple of 12, k not a multiple of 4, columns past one panel's half;
        // inputs of either sign, and non-negative ones on twice the steps.
        let shapes = [
            (1, 1, 1),
            (13, 24, 45),
            (25, 3, 144),
            (49, 97, 7),
            (31, 40, 96),
        ];
        let ranges = [InputRange::Signed, InputRange::NonNegative];
        for ((rows, k, n), input) in shapes.into_iter().flat_map(|s| ranges.map(|r| (s, r))) {
            let (x, steps): (Vec<f32>, f32) = match input {
                InputRange::Signed => ((0..rows * k).map(|i| val(i, 1)).collect(), 254.0),
                InputRange::NonNegative => {
                    ((0..rows * k).map(|i| val(i, 1).max(0.0)).collect(), 510.0)
                }
            };
            let res: Vec<f32> = (0..rows * n).map(|i| val(i, 2)).collect();
            let w: Vec<f32> = (0..k * n).map(|i| val(i, 3) / 4.0).collect();
            let bias: Vec<f32> = (0..n).map(|i| val(i, 4)).collect();
            let q = QuantPanels::pack_for(&w, k, n, input);
            for act in [Activation::Identity, Activation::Relu, Activation::Relu6] {
                for residual in [None, Some(res.as_slice())] {
                    let epi = Epilogue {
                        bias: &bias,
                        residual,
                        act,
                    };
                    let mut outs = Vec::new();
                    for &vnni in &kernels {
                        let mut out = vec![f32::NAN; rows * n + 1];
                        gemm_fused_int8_on(vnni, &x, rows, &q, epi, &mut out);
                        assert!(out[rows * n].is_nan(), "vnni {vnni} wrote past the output");
                        for r in 0..rows {
                            for j in 0..n {
                                let mut want = bias[j] + residual.map_or(0.0, |s| s[r * n + j]);
                                let row = &x[r * k..(r + 1) * k];
                                let col: Vec<f32> = (0..k).map(|i| w[i * n + j]).collect();
                                for i in 0..k {
                                    want += row[i] * col[i];
                                }
                                want = act.apply(want);
                                // Each value is rounded by at most half a step: 1/254 of its
                                // row's (input; 1/510 when non-negative) or column's (weight)
                                // largest magnitude.
                                let largest =
                                    |v: &[f32]| v.iter().fold(0f32, |m, a| m.max(a.abs()));
                                let (dx, dw) = (largest(row) / steps, largest(&col) / 254.0);
                                let sum = |v: &[f32]| v.iter().map(|a| a.abs()).sum::<f32>();
                                let tol = dw * sum(row)
                                    + dx * sum(&col)
                                    + k as f32 * dx * dw
                                    + 1e-4 * (1.0 + want.abs());
                                let got = out[r * n + j];
                                assert!(
                                    (got - want).abs() <= tol,
                                    "vnni {vnni} {input:?} {rows}×{k}×{n} [{r},{j}]: {got} vs {want}"
                                );
                            }
                        }
                        outs.push(out);
                    }
                    // The integers are exact: both kernels give the same floats but for the
                    // order of the last multiply-adds.
                    if let [p, v] = outs.as_slice() {
                        let d = p
                            .iter()
                            .zip(v)
                            .take(rows * n)
                            .map(|(a, b)| (a - b).abs())
                            .fold(0f32, f32::max);
                        assert!(d < 1e-4, "portable vs VNNI: {d}");
                    }
                }
            }
        }
        eprintln!(
            "int8 kernels compared: portable{}",
            if kernels.len() > 1 { " + VNNI" } else { "" }
        );
    }

    #[test]
    fn rows_are_quantized_on_every_step_of_their_range() {
        let (rows, k, kq) = (3, 37, 40);
        for vnni in [false, true]
            .into_iter()
            .filter(|&v| !v || vnni_available())
        {
            for input in [InputRange::Signed, InputRange::NonNegative] {
                let x: Vec<f32> = (0..rows * k)
                    .map(|i| match input {
                        InputRange::Signed => val(i, 7),
                        InputRange::NonNegative => val(i, 7).max(0.0),
                    })
                    .collect();
                let (mut q, mut scales) = (Vec::new(), Vec::new());
                quantize_rows(vnni, input, &x, rows, k, kq, &mut q, &mut scales);
                let (highest, offset) = match input {
                    InputRange::Signed => (127, OFFSET),
                    InputRange::NonNegative => (255, 0),
                };
                for (r, row) in x.chunks_exact(k).enumerate() {
                    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let scale = scales[r];
                    assert_eq!(scale, max / highest as f32, "{input:?} row {r}");
                    for (i, &v) in row.iter().enumerate() {
                        let code = q[r * kq + i] as i32 - offset;
                        let err = (code as f32 * scale - v).abs();
                        assert!(
                            err <= scale * 0.5001,
                            "{input:?} vnni {vnni} [{r},{i}]: {err}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_vnni_quantizer_writes_the_portable_codes_on_whole_vectors_and_tails() {
        if !vnni_available() {
            eprintln!("no AVX-512 VNNI here: only the portable quantizer runs");
            return;
        }
        let rows = 5;
        for k in [1usize, 15, 16, 17, 32, 37, 48] {
            let kq = k.div_ceil(4) * 4 + 4;
            for input in [InputRange::Signed, InputRange::NonNegative] {
                let mut x: Vec<f32> = (0..rows * k)
                    .map(|i| match input {
                        InputRange::Signed => val(i, 11),
                        InputRange::NonNegative => val(i, 11).max(0.0),
                    })
                    .collect();
                x[k..2 * k].fill(0.0);
                let quantized = |vnni: bool| {
                    let (mut q, mut scales) = (vec![0xAB; rows * kq], Vec::new());
                    quantize_rows(vnni, input, &x, rows, k, kq, &mut q, &mut scales);
                    (q, scales)
                };
                let (portable, vnni) = (quantized(false), quantized(true));
                assert_eq!(vnni, portable, "{input:?}, rows of {k}");
                // The bytes past each row's `k` are left as they were.
                for row in vnni.0.chunks_exact(kq) {
                    assert!(
                        row[k..].iter().all(|&b| b == 0xAB),
                        "{input:?}, rows of {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_all_zero_row_or_column_stays_exact() {
        let (rows, k, n) = (3, 8, 5);
        let mut x: Vec<f32> = (0..rows * k).map(|i| val(i, 5)).collect();
        x[..k].fill(0.0);
        let mut w: Vec<f32> = (0..k * n).map(|i| val(i, 6)).collect();
        for i in 0..k {
            w[i * n + 2] = 0.0;
        }
        let bias = vec![0.5f32; n];
        for input in [InputRange::Signed, InputRange::NonNegative] {
            let q = QuantPanels::pack_for(&w, k, n, input);
            let epi = Epilogue {
                bias: &bias,
                residual: None,
                act: Activation::Identity,
            };
            let mut out = vec![0f32; rows * n];
            gemm_fused_int8(&x, rows, &q, epi, &mut out);
            assert!(
                out[..n].iter().all(|&v| v == 0.5),
                "{input:?}: {:?}",
                &out[..n]
            );
            assert!((0..rows).all(|r| out[r * n + 2] == 0.5), "{input:?}");
        }
    }
}
