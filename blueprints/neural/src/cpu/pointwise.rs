//! 1×1 convolution (and any `rows × k` by `k × n` product) as a GEMM (the `gemm` crate) on
//! NHWC rows, with bias, optional residual and optional ReLU6 applied to each row tile while
//! it is in cache.

use rayon::prelude::*;

use super::simd::relu6_if;

/// Weights of a 1×1 convolution (or a linear layer).
#[derive(Debug, Clone)]
pub struct PointwiseWeights {
    /// `k × n`, row-major (output channel fastest).
    pub weight: Vec<f32>,
    /// Per-output bias (`n`).
    pub bias: Vec<f32>,
    /// Input channels.
    pub k: usize,
    /// Output channels.
    pub n: usize,
    /// Whether ReLU6 follows.
    pub relu6: bool,
}

/// Output rows per GEMM call: about 128 KiB of output (so the epilogue finds it in cache),
/// at least 128 rows (each call packs the weights again).
fn tile_rows(n: usize) -> usize {
    (32_768 / n.max(1)).clamp(128, 1024)
}

/// `out[r] = act(x[r]·W + bias (+ residual[r]))` for the `rows` rows of `x` (`rows × k`).
pub fn pointwise(
    x: &[f32],
    rows: usize,
    layer: &PointwiseWeights,
    residual: Option<&[f32]>,
    out: &mut [f32],
    parallel: bool,
) {
    let (k, n) = (layer.k, layer.n);
    let tile = tile_rows(n);
    let out = &mut out[..rows * n];
    let run_tile = |(t, dst): (usize, &mut [f32])| {
        let r0 = t * tile;
        let m = dst.len() / n;
        let src = &x[r0 * k..(r0 + m) * k];
        let res = residual.map(|r| &r[r0 * n..(r0 + m) * n]);
        gemm_rows(src, m, layer, dst);
        epilogue(dst, layer, res);
    };
    if parallel {
        out.par_chunks_mut(tile * n).enumerate().for_each(run_tile);
    } else {
        out.chunks_mut(tile * n).enumerate().for_each(run_tile);
    }
}

/// `dst (m × n) = src (m × k) · W (k × n)`, single-threaded.
fn gemm_rows(src: &[f32], m: usize, layer: &PointwiseWeights, dst: &mut [f32]) {
    let (k, n) = (layer.k, layer.n);
    assert!(src.len() >= m * k && dst.len() >= m * n && layer.weight.len() >= k * n);
    // SAFETY: the three buffers hold at least m×k, k×n and m×n values (asserted above), laid
    // out row-major with the strides given; `dst` is exclusively borrowed.
    unsafe {
        gemm::gemm::<f32>(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            src.as_ptr(),
            1,
            k as isize,
            layer.weight.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Adds the bias (and residual), then ReLU6, in place.
fn epilogue(dst: &mut [f32], layer: &PointwiseWeights, residual: Option<&[f32]>) {
    let n = layer.n;
    match residual {
        Some(res) => {
            for (row, res_row) in dst.chunks_exact_mut(n).zip(res.chunks_exact(n)) {
                for ((v, b), r) in row.iter_mut().zip(&layer.bias).zip(res_row) {
                    *v = relu6_if(layer.relu6, *v + b + r);
                }
            }
        }
        None => {
            for row in dst.chunks_exact_mut(n) {
                for (v, b) in row.iter_mut().zip(&layer.bias) {
                    *v = relu6_if(layer.relu6, *v + b);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_naive_product_with_bias_residual_and_relu6() {
        // Several tiles, the last one partial.
        for (rows, k, n) in [(1001, 24, 45), (1000, 40, 45)] {
            let val = |i: usize, s: usize| ((i * 7919 + s * 104_729) % 97) as f32 / 24.0 - 2.0;
            let x: Vec<f32> = (0..rows * k).map(|i| val(i, 1)).collect();
            let res: Vec<f32> = (0..rows * n).map(|i| val(i, 2)).collect();
            for relu6 in [false, true] {
                let layer = PointwiseWeights {
                    weight: (0..k * n).map(|i| val(i, 3) / 4.0).collect(),
                    bias: (0..n).map(|i| val(i, 4)).collect(),
                    k,
                    n,
                    relu6,
                };
                for parallel in [false, true] {
                    for residual in [None, Some(res.as_slice())] {
                        let mut out = vec![f32::NAN; rows * n];
                        pointwise(&x, rows, &layer, residual, &mut out, parallel);
                        let mut max = 0f32;
                        for r in 0..rows {
                            for j in 0..n {
                                let mut v = layer.bias[j] + residual.map_or(0.0, |s| s[r * n + j]);
                                for i in 0..k {
                                    v += x[r * k + i] * layer.weight[i * n + j];
                                }
                                if relu6 {
                                    v = v.clamp(0.0, 6.0);
                                }
                                max = max.max((v - out[r * n + j]).abs());
                            }
                        }
                        assert!(max < 1e-4, "k {k}: max |Δ| = {max}");
                    }
                }
            }
        }
    }
}
