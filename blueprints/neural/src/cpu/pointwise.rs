//! 1×1 convolution (and any `rows × k` by `k × n` product) on NHWC rows: row tiles go to the
//! register-blocked [`panel_gemm`](super::panel_gemm) — or, for a layer quantized to int8, to
//! [`int8_gemm`](super::int8_gemm) — which applies bias, optional residual and the activation
//! before it stores.

use rayon::prelude::*;

use super::int8_gemm::{InputRange, QuantPanels, gemm_fused_int8};
use super::panel_gemm::{Epilogue, Panels, gemm_fused};
use super::simd::Activation;

/// Weights of a 1×1 convolution (or a linear layer), packed for [`pointwise`].
#[derive(Debug, Clone)]
pub struct PointwiseWeights {
    panels: Panels,
    /// The same weights quantized, when the layer runs in int8 ([`PointwiseWeights::to_int8`]).
    int8: Option<QuantPanels>,
    /// Per-output bias (`n`).
    pub bias: Vec<f32>,
    /// Input channels.
    pub k: usize,
    /// Output channels.
    pub n: usize,
    /// The activation after the sum.
    pub act: Activation,
}

impl PointwiseWeights {
    /// A layer from its `k × n` row-major weights (output channel fastest) and bias.
    pub fn new(weight: &[f32], bias: Vec<f32>, k: usize, n: usize, act: Activation) -> Self {
        assert_eq!(bias.len(), n, "bias of a layer with {n} outputs");
        PointwiseWeights {
            panels: Panels::pack(weight, k, n),
            int8: None,
            bias,
            k,
            n,
            act,
        }
    }

    /// The same layer computing in int8 (weights per output channel, inputs per row, of either
    /// sign).
    pub fn to_int8(&self) -> Self {
        self.to_int8_for(InputRange::Signed)
    }

    /// [`to_int8`](Self::to_int8) with the inputs quantized as `input` says.
    pub fn to_int8_for(&self, input: InputRange) -> Self {
        PointwiseWeights {
            int8: Some(QuantPanels::pack_for(
                &self.panels.unpack(),
                self.k,
                self.n,
                input,
            )),
            ..self.clone()
        }
    }

    /// How the inputs are quantized when the layer runs in int8.
    pub fn int8_input(&self) -> Option<InputRange> {
        self.int8.as_ref().map(QuantPanels::input)
    }
}

/// Rows per task: the input tile stays within about 192 KiB (L2) while it is read once per
/// weight panel; a multiple of every kernel's row block.
fn tile_rows(k: usize) -> usize {
    (49_152 / k.max(1)).clamp(48, 1_008) / 12 * 12
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
    let tile = tile_rows(k);
    let out = &mut out[..rows * n];
    let run_tile = |(t, dst): (usize, &mut [f32])| {
        let r0 = t * tile;
        let m = dst.len() / n;
        let epi = Epilogue {
            bias: &layer.bias,
            residual: residual.map(|r| &r[r0 * n..(r0 + m) * n]),
            act: layer.act,
        };
        let x = &x[r0 * k..(r0 + m) * k];
        match &layer.int8 {
            Some(q) => gemm_fused_int8(x, m, q, epi, dst),
            None => gemm_fused(x, m, &layer.panels, epi, dst),
        }
    };
    if parallel {
        out.par_chunks_mut(tile * n).enumerate().for_each(run_tile);
    } else {
        out.chunks_mut(tile * n).enumerate().for_each(run_tile);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_naive_product_with_bias_residual_and_activation() {
        // Several tiles, the last one partial.
        for (rows, k, n) in [(1001, 24, 45), (1000, 40, 45)] {
            let val = |i: usize, s: usize| ((i * 7919 + s * 104_729) % 97) as f32 / 24.0 - 2.0;
            let x: Vec<f32> = (0..rows * k).map(|i| val(i, 1)).collect();
            let res: Vec<f32> = (0..rows * n).map(|i| val(i, 2)).collect();
            for act in [Activation::Identity, Activation::Relu, Activation::Relu6] {
                let weight: Vec<f32> = (0..k * n).map(|i| val(i, 3) / 4.0).collect();
                let bias = (0..n).map(|i| val(i, 4)).collect();
                let layer = PointwiseWeights::new(&weight, bias, k, n, act);
                for parallel in [false, true] {
                    for residual in [None, Some(res.as_slice())] {
                        let mut out = vec![f32::NAN; rows * n];
                        pointwise(&x, rows, &layer, residual, &mut out, parallel);
                        let mut max = 0f32;
                        for r in 0..rows {
                            for j in 0..n {
                                let mut v = layer.bias[j] + residual.map_or(0.0, |s| s[r * n + j]);
                                for i in 0..k {
                                    v += x[r * k + i] * weight[i * n + j];
                                }
                                max = max.max((act.apply(v) - out[r * n + j]).abs());
                            }
                        }
                        assert!(max < 1e-4, "k {k}: max |Δ| = {max}");
                    }
                }
            }
        }
    }
}
