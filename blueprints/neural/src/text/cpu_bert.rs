//! The MiniLM encoder on the CPU without burn, for the embedder's CPU path: each sequence at its
//! own length (no padding to the batch's longest), every product a GEMM — the weight products on
//! the backbones' register-blocked kernel with the bias in its epilogue
//! ([`crate::cpu::pointwise`]), attention's strided products on the `gemm` crate — one thread
//! per sequence, sequences spread over the threads, then the sentence-transformers pooling. The
//! same function as [`BertEncoder::forward`] + mean pooling + L2 normalisation (parity tested at
//! 1e-5 on random weights); [`CpuBert::to_int8`] runs the weight products in int8.

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::Tensor;

use super::bert::{BertConfig, BertEncoder, BertLayer};
use super::fast_math::{gelu_in_place, layer_norm_rows, softmax_rows};
use crate::cpu::pointwise::{PointwiseWeights, pointwise};
use crate::cpu::simd::Activation;
use crate::error::{NeuralError, Result};
use crate::kept::with_kept;

/// `x · W + b` with `W` `k × n` row-major, as loaded (packed by [`Dense::packed`]).
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    k: usize,
    n: usize,
}

/// Layer-norm scale and shift.
#[derive(Clone)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// One transformer layer: fused Q/K/V projection (`h × 3h`), output projection, norms, the
/// feed-forward block.
struct Layer {
    qkv: PointwiseWeights,
    attention_output: PointwiseWeights,
    attention_norm: Norm,
    up: PointwiseWeights,
    down: PointwiseWeights,
    output_norm: Norm,
}

/// The encoder's weights on the host.
pub struct CpuBert {
    cfg: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type0: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

fn host<const D: usize>(p: &Param<Tensor<D>>) -> Result<Vec<f32>> {
    p.val()
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| NeuralError::InvalidConfig(format!("reading MiniLM weights: {e:?}")))
}

fn dense(l: &Linear) -> Result<Dense> {
    let [k, n] = l.weight.val().dims();
    let b = match &l.bias {
        Some(b) => host(b)?,
        None => vec![0.0; n],
    };
    Ok(Dense {
        w: host(&l.weight)?,
        b,
        k,
        n,
    })
}

fn norm(l: &LayerNorm) -> Result<Norm> {
    let gamma = host(&l.gamma)?;
    let beta = match &l.beta {
        Some(b) => host(b)?,
        None => vec![0.0; gamma.len()],
    };
    Ok(Norm { gamma, beta })
}

/// Q, K and V side by side: one `h × 3h` product instead of three.
fn fused_qkv(layer: &BertLayer) -> Result<Dense> {
    let parts = [
        dense(&layer.query)?,
        dense(&layer.key)?,
        dense(&layer.value)?,
    ];
    let (k, n) = (parts[0].k, parts[0].n);
    let mut w = vec![0f32; k * 3 * n];
    for (p, part) in parts.iter().enumerate() {
        for r in 0..k {
            w[r * 3 * n + p * n..][..n].copy_from_slice(&part.w[r * n..][..n]);
        }
    }
    let b = parts.iter().flat_map(|p| p.b.iter().copied()).collect();
    Ok(Dense { w, b, k, n: 3 * n })
}

/// `dst (m × n, row stride dst_rs) = scale · lhs (m × k) · rhs (k × n)` for strided row-major
/// operands, single-threaded.
#[allow(clippy::too_many_arguments)]
fn product(
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

impl std::fmt::Debug for CpuBert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CpuBert({:?})", self.cfg)
    }
}

impl Dense {
    fn packed(self) -> PointwiseWeights {
        PointwiseWeights::new(&self.w, self.b, self.k, self.n, Activation::Identity)
    }
}

/// `out (m × n) = x (m × k) · W + b`.
fn linear(w: &PointwiseWeights, x: &[f32], m: usize, out: &mut Vec<f32>) {
    out.resize(m * w.n, 0.0);
    pointwise(x, m, w, None, out, false);
}

impl Norm {
    /// Each row of `x` (plus `residual`) normalised in place: `(x − mean)/√(var + eps)·γ + β`.
    fn apply(&self, x: &mut [f32], residual: &[f32], eps: f64) {
        layer_norm_rows(x, residual, &self.gamma, &self.beta, eps as f32);
    }
}

/// Per-thread buffers.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    scores: Vec<f32>,
    context: Vec<f32>,
    attended: Vec<f32>,
    inner: Vec<f32>,
    out: Vec<f32>,
}

impl CpuBert {
    /// The host copy of `net` (of shape `cfg`).
    pub fn from_burn(net: &BertEncoder, cfg: BertConfig) -> Result<Self> {
        let e = &net.embeddings;
        let token_types = host(&e.token_type_embeddings.weight)?;
        Ok(CpuBert {
            cfg,
            word: host(&e.word_embeddings.weight)?,
            position: host(&e.position_embeddings.weight)?,
            token_type0: token_types[..cfg.hidden].to_vec(),
            embedding_norm: norm(&e.layer_norm)?,
            layers: net
                .layers
                .iter()
                .map(|l| {
                    Ok(Layer {
                        qkv: fused_qkv(l)?.packed(),
                        attention_output: dense(&l.attention_output)?.packed(),
                        attention_norm: norm(&l.attention_norm)?,
                        up: dense(&l.intermediate)?.packed(),
                        down: dense(&l.output)?.packed(),
                        output_norm: norm(&l.output_norm)?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    /// The same encoder with every weight product (Q/K/V, attention output, feed-forward up and
    /// down) in int8 ([`crate::cpu::int8_gemm`]: weights per output column, inputs per token);
    /// embeddings, attention's token-by-token products, layer norms and GELU stay f32.
    pub fn to_int8(&self) -> Self {
        CpuBert {
            cfg: self.cfg,
            word: self.word.clone(),
            position: self.position.clone(),
            token_type0: self.token_type0.clone(),
            embedding_norm: self.embedding_norm.clone(),
            layers: self
                .layers
                .iter()
                .map(|l| Layer {
                    qkv: l.qkv.to_int8(),
                    attention_output: l.attention_output.to_int8(),
                    attention_norm: l.attention_norm.clone(),
                    up: l.up.to_int8(),
                    down: l.down.to_int8(),
                    output_norm: l.output_norm.clone(),
                })
                .collect(),
        }
    }

    /// The mean-pooled, L2-normalised last hidden state of one token sequence.
    pub fn embed(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let mut s = Scratch::default();
        self.embed_with(ids, &mut s)
    }

    /// [`CpuBert::embed`] of several sequences, spread over rayon's threads.
    pub fn embed_all(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        use rayon::prelude::*;
        seqs.par_iter()
            .map(|ids| with_kept(|s: &mut Scratch| self.embed_with(ids, s)))
            .collect()
    }

    fn embed_with(&self, ids: &[u32], s: &mut Scratch) -> Result<Vec<f32>> {
        let cfg = &self.cfg;
        let (h, len) = (cfg.hidden, ids.len());
        if len == 0 || len > cfg.max_positions {
            return Err(NeuralError::InvalidConfig(format!(
                "a sequence needs 1 to {} tokens, got {len}",
                cfg.max_positions
            )));
        }
        s.x.clear();
        for (p, &id) in ids.iter().enumerate() {
            let id = id as usize;
            if id >= cfg.vocab_size {
                return Err(NeuralError::InvalidConfig(format!(
                    "token id {id} is outside the vocabulary ({})",
                    cfg.vocab_size
                )));
            }
            let word = &self.word[id * h..][..h];
            let pos = &self.position[p * h..][..h];
            s.x.extend(
                word.iter()
                    .zip(pos)
                    .zip(&self.token_type0)
                    .map(|((w, p), t)| w + p + t),
            );
        }
        let zeros = vec![0f32; len * h];
        self.embedding_norm
            .apply(&mut s.x, &zeros, cfg.layer_norm_eps);
        for layer in &self.layers {
            self.layer(layer, len, s);
        }
        let mut pooled = vec![0f32; h];
        for row in s.x.chunks_exact(h) {
            pooled.iter_mut().zip(row).for_each(|(p, v)| *p += v);
        }
        let count = (len as f32).max(1e-9);
        pooled.iter_mut().for_each(|p| *p /= count);
        let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        pooled.iter_mut().for_each(|p| *p /= norm);
        Ok(pooled)
    }

    /// One post-norm layer on `s.x` (`len × hidden`), in place.
    fn layer(&self, l: &Layer, len: usize, s: &mut Scratch) {
        let cfg = &self.cfg;
        let (h, heads) = (cfg.hidden, cfg.heads);
        let d = cfg.head_dim();
        linear(&l.qkv, &s.x, len, &mut s.qkv);
        s.context.resize(len * h, 0.0);
        s.scores.resize(len * len, 0.0);
        let scale = 1.0 / (d as f32).sqrt();
        for head in 0..heads {
            let q = &s.qkv[head * d..];
            let k = &s.qkv[h + head * d..];
            let v = &s.qkv[2 * h + head * d..];
            // scores = Q Kᵀ / √d: Kᵀ read through its strides.
            product(
                len,
                len,
                d,
                &mut s.scores,
                len,
                q,
                3 * h,
                k,
                (1, 3 * h),
                scale,
            );
            softmax_rows(&mut s.scores, len);
            product(
                len,
                d,
                len,
                &mut s.context[head * d..],
                h,
                &s.scores,
                len,
                v,
                (3 * h, 1),
                1.0,
            );
        }
        linear(&l.attention_output, &s.context, len, &mut s.attended);
        l.attention_norm
            .apply(&mut s.attended, &s.x, cfg.layer_norm_eps);
        linear(&l.up, &s.attended, len, &mut s.inner);
        gelu_in_place(&mut s.inner);
        linear(&l.down, &s.inner, len, &mut s.out);
        l.output_norm
            .apply(&mut s.out, &s.attended, cfg.layer_norm_eps);
        std::mem::swap(&mut s.x, &mut s.out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::pooling::mean_pool_normalized;
    use burn::tensor::{Device, Int, TensorData};

    /// A two-layer encoder with random weights (seeded).
    fn small_encoder(seed: u64) -> (BertEncoder, BertConfig) {
        let device = Device::flex();
        device.seed(seed);
        let cfg = BertConfig {
            vocab_size: 50,
            hidden: 24,
            layers: 2,
            heads: 4,
            intermediate: 40,
            max_positions: 16,
            type_vocab: 2,
            layer_norm_eps: 1e-12,
        };
        (BertEncoder::new(&cfg, &device), cfg)
    }

    #[test]
    fn int8_embeddings_follow_f32() {
        let _rng = crate::flex_rng_lock();
        let (net, cfg) = small_encoder(4);
        let f32_net = CpuBert::from_burn(&net, cfg).unwrap();
        let int8_net = f32_net.to_int8();
        let seqs: [&[u32]; 3] = [&[1, 7, 9, 2], &[1, 30, 2], &[1, 4, 4, 49, 11, 12, 13, 2]];
        let want = f32_net.embed_all(&seqs).unwrap();
        let got = int8_net.embed_all(&seqs).unwrap();
        for (a, b) in want.iter().zip(&got) {
            // Both are unit vectors: their dot product is the cosine.
            let cosine: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let diff = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(cosine > 0.995, "cosine {cosine}");
            assert!(diff > 0.0, "int8 computed exactly f32's embedding");
        }
    }

    #[test]
    fn matches_the_burn_encoder_and_pooling() {
        let _rng = crate::flex_rng_lock();
        let (net, cfg) = small_encoder(3);
        let device = Device::flex();
        let cpu = CpuBert::from_burn(&net, cfg).unwrap();
        let seqs: [&[u32]; 3] = [&[1, 7, 9, 2], &[1, 30, 2], &[1, 4, 4, 49, 11, 12, 13, 2]];
        let got = cpu.embed_all(&seqs).unwrap();
        // burn, as the embedder runs it: padded to the longest under a zero mask.
        let len = 8;
        let mut ids = vec![0i64; 3 * len];
        let mut mask = vec![0f32; 3 * len];
        for (r, s) in seqs.iter().enumerate() {
            for (c, &id) in s.iter().enumerate() {
                ids[r * len + c] = i64::from(id);
                mask[r * len + c] = 1.0;
            }
        }
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [3, len]), &device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [3, len]), &device);
        let want = mean_pool_normalized(net.forward(ids, mask.clone()), mask)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let got: Vec<f32> = got.concat();
        let diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "max |Δ| = {diff}");
        assert!(cpu.embed(&[]).is_err() && cpu.embed(&[50]).is_err());
    }
}
