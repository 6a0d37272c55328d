//! The BERT encoder of all-MiniLM-L6-v2 as a burn module (post-norm transformer layers, exact
//! erf GELU, additive attention mask), returning the last hidden states.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor};

/// Shape hyperparameters of a BERT encoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BertConfig {
    /// WordPiece vocabulary size.
    pub vocab_size: usize,
    /// Hidden (embedding) size.
    pub hidden: usize,
    /// Number of transformer layers.
    pub layers: usize,
    /// Attention heads per layer (`hidden` must be a multiple).
    pub heads: usize,
    /// Inner size of the feed-forward block.
    pub intermediate: usize,
    /// Number of learned positions (the longest input).
    pub max_positions: usize,
    /// Number of token types (segments).
    pub type_vocab: usize,
    /// Layer-norm epsilon.
    pub layer_norm_eps: f64,
}

impl BertConfig {
    /// all-MiniLM-L6-v2 (`config.json` of the published model).
    pub const MINILM_L6: BertConfig = BertConfig {
        vocab_size: 30522,
        hidden: 384,
        layers: 6,
        heads: 12,
        intermediate: 1536,
        max_positions: 512,
        type_vocab: 2,
        layer_norm_eps: 1e-12,
    };

    /// Values in the largest tensor of one sequence of `len` tokens' forward pass: the
    /// attention scores of all heads or the feed-forward block's inner activations. Bounds how
    /// many sequences a device's largest buffer holds.
    pub fn largest_map(&self, len: usize) -> usize {
        (self.heads * len * len).max(len * self.intermediate.max(3 * self.hidden))
    }

    /// Dimension of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}

/// Token, position and token-type embeddings, summed and layer-normalised.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    /// Token embeddings.
    pub word_embeddings: Embedding,
    /// Absolute position embeddings.
    pub position_embeddings: Embedding,
    /// Segment embeddings (only type 0 is used).
    pub token_type_embeddings: Embedding,
    /// Layer norm over the sum.
    pub layer_norm: LayerNorm,
}

/// One post-norm transformer layer: self-attention, then the GELU feed-forward block.
#[derive(Module, Debug)]
pub struct BertLayer {
    /// Query projection.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
    /// Projection of the attention output.
    pub attention_output: Linear,
    /// Layer norm after the attention residual.
    pub attention_norm: LayerNorm,
    /// Feed-forward expansion.
    pub intermediate: Linear,
    /// Feed-forward projection back to `hidden`.
    pub output: Linear,
    /// Layer norm after the feed-forward residual.
    pub output_norm: LayerNorm,
    /// Number of attention heads.
    #[module(skip)]
    pub heads: usize,
}

/// The BERT encoder (no pooler: sentence embeddings mean-pool the hidden states).
#[derive(Module, Debug)]
pub struct BertEncoder {
    /// Input embeddings.
    pub embeddings: BertEmbeddings,
    /// The transformer layers.
    pub layers: Vec<BertLayer>,
}

fn layer_norm(cfg: &BertConfig, device: &Device) -> LayerNorm {
    LayerNormConfig::new(cfg.hidden)
        .with_epsilon(cfg.layer_norm_eps)
        .init(device)
}

impl BertLayer {
    fn new(cfg: &BertConfig, device: &Device) -> Self {
        let h = cfg.hidden;
        let lin = |i: usize, o: usize| LinearConfig::new(i, o).init(device);
        BertLayer {
            query: lin(h, h),
            key: lin(h, h),
            value: lin(h, h),
            attention_output: lin(h, h),
            attention_norm: layer_norm(cfg, device),
            intermediate: lin(h, cfg.intermediate),
            output: lin(cfg.intermediate, h),
            output_norm: layer_norm(cfg, device),
            heads: cfg.heads,
        }
    }

    /// `x`: `[batch, seq, hidden]`; `mask_bias`: `[batch, 1, 1, seq]`, 0 for tokens and a large
    /// negative number for padding.
    pub fn forward(&self, x: Tensor<3>, mask_bias: Tensor<4>) -> Tensor<3> {
        let [b, s, h] = x.dims();
        let heads = self.heads;
        let d = h / heads;
        let split = |t: Tensor<3>| t.reshape([b, s, heads, d]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x.clone()));
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((d as f64).sqrt()) + mask_bias;
        let probs = softmax(scores, 3);
        let context = probs.matmul(v).swap_dims(1, 2).reshape([b, s, h]);
        let attended = self
            .attention_norm
            .forward(self.attention_output.forward(context) + x);
        let inner = gelu(self.intermediate.forward(attended.clone()));
        self.output_norm
            .forward(self.output.forward(inner) + attended)
    }
}

impl BertEncoder {
    /// A randomly initialised encoder of shape `cfg` (load weights with
    /// [`crate::text::load_minilm`]).
    pub fn new(cfg: &BertConfig, device: &Device) -> Self {
        let emb = |n: usize| EmbeddingConfig::new(n, cfg.hidden).init(device);
        BertEncoder {
            embeddings: BertEmbeddings {
                word_embeddings: emb(cfg.vocab_size),
                position_embeddings: emb(cfg.max_positions),
                token_type_embeddings: emb(cfg.type_vocab),
                layer_norm: layer_norm(cfg, device),
            },
            layers: (0..cfg.layers)
                .map(|_| BertLayer::new(cfg, device))
                .collect(),
        }
    }

    /// Last hidden states `[batch, seq, hidden]` of token ids `[batch, seq]` with the attention
    /// mask `[batch, seq]` (1.0 = token, 0.0 = padding). Token types are all 0.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        let [b, s] = ids.dims();
        let device = ids.device();
        let positions = Tensor::<1, Int>::arange(0..s as i64, &device)
            .reshape([1, s])
            .expand([b, s]);
        let types = Tensor::<2, Int>::zeros([b, s], &device);
        let e = &self.embeddings;
        let x = e.word_embeddings.forward(ids)
            + e.position_embeddings.forward(positions)
            + e.token_type_embeddings.forward(types);
        let mut x = e.layer_norm.forward(x);
        // Padding gets a large negative score before the softmax (as in transformers' BERT).
        let mask_bias = (mask.ones_like() - mask)
            .mul_scalar(-1.0e9)
            .reshape([b, 1, 1, s]);
        for layer in &self.layers {
            x = layer.forward(x, mask_bias.clone());
        }
        x
    }
}
