//! Products on the general `gemm` crate (packed, cache-blocked): attention's strided products
//! and, on larger shapes, the layers that [`super::pointwise`] runs there (the ResNet's, where
//! it beats the register-blocked [`super::panel_gemm`]; `examples/forward_profile.rs` times
//! both). The bias, residual and activation follow in one pass over the output.

use super::panel_gemm::Epilogue;

/// `dst (m × n, row stride dst_rs) = scale · lhs (m × k) · rhs (k × n)` for strided row-major
/// operands, single-threaded.
#[allow(clippy::too_many_arguments)]
pub fn product(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    lhs: &[f32],
    lhs_rs: usize,
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
    scale: f32,
) {
    let last = |rows: usize, rs: usize, cols: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(m > 0 && n > 0 && k > 0);
    assert!(dst.len() > last(m, dst_rs, n, 1) && lhs.len() > last(m, lhs_rs, k, 1));
    assert!(rhs.len() > last(k, rhs_rs, n, rhs_cs));
    // SAFETY: the asserts above bound every element the strides reach in each buffer; `dst`
    // is exclusively borrowed and does not alias `lhs` or `rhs`.
    unsafe {
        gemm::gemm::<f32>(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            false,
            lhs.as_ptr(),
            1,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            0.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `out (rows × n) = act(x (rows × k) · w (k × n) + bias (+ residual))`, all row-major,
/// single-threaded.
pub fn gemm_then_epilogue(
    x: &[f32],
    rows: usize,
    w: &[f32],
    (k, n): (usize, usize),
    epi: Epilogue,
    out: &mut [f32],
) {
    if rows == 0 || n == 0 {
        return;
    }
    let out = &mut out[..rows * n];
    if k == 0 {
        out.fill(0.0);
    } else {
        product(rows, n, k, out, n, x, k, w, (n, 1), 1.0);
    }
    for (r, row) in out.chunks_exact_mut(n).enumerate() {
        for (v, b) in row.iter_mut().zip(epi.bias) {
            *v += b;
        }
        if let Some(res) = epi.residual {
            for (v, s) in row.iter_mut().zip(&res[r * n..(r + 1) * n]) {
                *v += s;
            }
        }
        if epi.act != super::simd::Activation::Identity {
            for v in row.iter_mut() {
                *v = epi.act.apply(*v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::panel_gemm::{Panels, gemm_fused};
    use crate::cpu::simd::Activation;

    #[test]
    fn matches_the_fused_kernel_with_bias_residual_and_activation() {
        let val = |i: usize, s: usize| ((i * 7919 + s * 104_729) % 97) as f32 / 24.0 - 2.0;
        for (rows, k, n) in [(1, 1, 1), (13, 288, 45), (50, 7, 130)] {
            let x: Vec<f32> = (0..rows * k).map(|i| val(i, 1)).collect();
            let w: Vec<f32> = (0..k * n).map(|i| val(i, 2) / 8.0).collect();
            let bias: Vec<f32> = (0..n).map(|i| val(i, 3)).collect();
            let res: Vec<f32> = (0..rows * n).map(|i| val(i, 4)).collect();
            for act in [Activation::Identity, Activation::Relu, Activation::Relu6] {
                for residual in [None, Some(res.as_slice())] {
                    let epi = Epilogue {
                        bias: &bias,
                        residual,
                        act,
                    };
                    let mut want = vec![0f32; rows * n];
                    gemm_fused(&x, rows, &Panels::pack(&w, k, n), epi, &mut want);
                    let mut got = vec![f32::NAN; rows * n + 1];
                    gemm_then_epilogue(&x, rows, &w, (k, n), epi, &mut got);
                    assert!(got[rows * n].is_nan(), "wrote past the output");
                    let d = want
                        .iter()
                        .zip(&got)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0f32, f32::max);
                    assert!(d < 1e-4, "{rows}×{k}×{n} {act:?}: {d}");
                }
            }
        }
    }
}
