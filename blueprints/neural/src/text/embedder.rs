//! Batched sentence embeddings with all-MiniLM-L6-v2: rayon tokenization, sequences sorted by
//! length so that each batch is padded as little as possible, attention-masked forward passes,
//! mean pooling and L2 normalisation.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::{Device, Int, Tensor, TensorData};
use ndarray::Array2;
use rayon::prelude::*;

use super::bert::{BertConfig, BertEncoder};
use super::cpu_bert::CpuBert;
use super::load::load_minilm;
use super::pooling::mean_pool_normalized;
use super::tokenize::{LongText, WordPieceTokenizer};
use crate::device::{DeviceChoice, items_per_pass, select_device};
use crate::error::{NeuralError, Result};
use crate::precision::{Precision, host_f32};
use crate::zoo;

/// Dimension of a MiniLM sentence embedding.
pub const MINILM_DIM: usize = 384;

/// Longest model input of all-MiniLM-L6-v2 in tokens, `[CLS]` and `[SEP]` included
/// (`max_seq_length` of the published sentence-transformers model).
pub const MINILM_MAX_TOKENS: usize = 256;

/// How to build a [`SentenceEmbedder`].
#[derive(Debug, Clone)]
pub struct SentenceEmbedderConfig {
    /// Compute device.
    pub device: DeviceChoice,
    /// Sequences per forward pass.
    pub batch_size: usize,
    /// Longest model input in tokens (at most [`MINILM_MAX_TOKENS`]).
    pub max_tokens: usize,
    /// What to do with longer texts.
    pub long_text: LongText,
    /// Local `(model.safetensors, tokenizer.json)` to use instead of the zoo.
    pub files: Option<(PathBuf, PathBuf)>,
    /// f32, or int8 weight products on the CPU kernels (a CPU with AVX-512 VNNI; embeddings at
    /// cosine ≥ 0.98 to f32's, ≥ 0.994 on real lyrics). f16 is refused: the encoder has no
    /// 16-bit path.
    pub precision: Precision,
}

impl Default for SentenceEmbedderConfig {
    /// Auto device, batches of 32, 256 tokens, truncation, weights from the zoo, f32.
    fn default() -> Self {
        SentenceEmbedderConfig {
            device: DeviceChoice::Auto,
            batch_size: 32,
            max_tokens: MINILM_MAX_TOKENS,
            long_text: LongText::Truncate,
            files: None,
            precision: Precision::F32,
        }
    }
}

/// Wall-clock split of an embedding run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EmbedTiming {
    /// Seconds spent tokenizing (rayon, all texts).
    pub tokenize_seconds: f64,
    /// Seconds spent in forward passes and pooling.
    pub forward_seconds: f64,
    /// Number of model inputs (more than the texts with [`LongText::Chunks`]).
    pub sequences: usize,
    /// Tokens fed to the network, padding excluded.
    pub tokens: usize,
}

/// all-MiniLM-L6-v2 turning texts into L2-normalised 384-d vectors.
///
/// An empty text is embedded as the model input `[CLS] [SEP]` (what sentence-transformers
/// returns for `""`): a fixed, finite unit vector, the same for every empty text.
#[derive(Debug)]
pub struct SentenceEmbedder {
    tokenizer: WordPieceTokenizer,
    net: BertEncoder,
    /// The host copy of the encoder, used instead of burn on the CPU device.
    fast_cpu: Option<CpuBert>,
    device: Device,
    device_description: String,
    precision: Precision,
    batch_size: usize,
    max_tokens: usize,
    long_text: LongText,
    /// The device's largest buffer in bytes (`None` on the CPU): longer batches run in turns.
    max_buffer_bytes: Option<u64>,
}

impl SentenceEmbedder {
    /// Loads the tokenizer and the weights (zoo or `config.files`) onto the chosen device.
    pub fn new(config: SentenceEmbedderConfig) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(NeuralError::InvalidConfig(
                "batch_size must be at least 1".into(),
            ));
        }
        if !(3..=MINILM_MAX_TOKENS).contains(&config.max_tokens) {
            return Err(NeuralError::InvalidConfig(format!(
                "max_tokens must be between 3 and {MINILM_MAX_TOKENS}, got {}",
                config.max_tokens
            )));
        }
        if config.precision == Precision::F16 {
            return Err(NeuralError::InvalidConfig(
                "MiniLM computes in f32 or int8 (f16 is for the image backbones on wgpu)".into(),
            ));
        }
        // The device and precision are checked before any weights are fetched.
        let selected = select_device(config.device)?;
        config
            .precision
            .check(&selected.device, &selected.description)?;
        let (weights, tokenizer) = match &config.files {
            Some((w, t)) => (w.clone(), t.clone()),
            None => {
                let files = zoo::fetch_minilm()?;
                (files.weights, files.tokenizer)
            }
        };
        let tokenizer = WordPieceTokenizer::from_file(&tokenizer)?;
        let net = load_minilm(&weights, &selected.device)?;
        let fast_cpu = (selected.device == Device::flex())
            .then(|| CpuBert::from_burn(&net, BertConfig::MINILM_L6))
            .transpose()?
            .map(|cpu| match config.precision {
                Precision::Int8 => cpu.to_int8(),
                _ => cpu,
            });
        Ok(SentenceEmbedder {
            tokenizer,
            net,
            fast_cpu,
            device: selected.device,
            device_description: selected.description,
            precision: config.precision,
            batch_size: config.batch_size,
            max_tokens: config.max_tokens,
            long_text: config.long_text,
            max_buffer_bytes: selected.max_buffer_bytes,
        })
    }

    /// [`SentenceEmbedder::new`] with explicit weight and tokenizer files.
    pub fn from_files(
        mut config: SentenceEmbedderConfig,
        weights: &Path,
        tokenizer: &Path,
    ) -> Result<Self> {
        config.files = Some((weights.to_path_buf(), tokenizer.to_path_buf()));
        Self::new(config)
    }

    /// Runs the encoder through burn even on the CPU (for comparisons and tests), in f32.
    pub fn with_burn_forward(mut self) -> Self {
        self.fast_cpu = None;
        self.precision = Precision::F32;
        self
    }

    /// Runs burn's forward passes as on a device whose largest buffer is `bytes`: a batch
    /// whose attention scores would not fit runs in turns (for tests of that path on any
    /// device, and to bound a pass's memory).
    pub fn with_largest_buffer(mut self, bytes: u64) -> Self {
        self.max_buffer_bytes = Some(bytes);
        self
    }

    /// The precision of the forward pass.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Whether the encoder runs on the host kernels of [`super::cpu_bert`] rather than burn.
    pub fn uses_fast_cpu(&self) -> bool {
        self.fast_cpu.is_some()
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &WordPieceTokenizer {
        &self.tokenizer
    }

    /// What the compute device is.
    pub fn device_description(&self) -> &str {
        &self.device_description
    }

    /// Embedding dimension (384).
    pub fn dim(&self) -> usize {
        MINILM_DIM
    }

    /// Embeds `texts`: one L2-normalised row per text, in input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Array2<f32>> {
        self.embed_timed(texts).map(|(e, _)| e)
    }

    /// [`SentenceEmbedder::embed`] with the time split between tokenization and forward passes.
    pub fn embed_timed(&self, texts: &[&str]) -> Result<(Array2<f32>, EmbedTiming)> {
        let t = Instant::now();
        let inputs: Vec<Vec<Vec<u32>>> = texts
            .par_iter()
            .map(|text| {
                self.tokenizer
                    .model_inputs(text, self.max_tokens, self.long_text)
            })
            .collect::<Result<_>>()?;
        let mut timing = EmbedTiming {
            tokenize_seconds: t.elapsed().as_secs_f64(),
            ..Default::default()
        };
        // Flatten to (text, sequence) and sort by length (ties by position: deterministic).
        let seqs: Vec<(usize, &[u32])> = inputs
            .iter()
            .enumerate()
            .flat_map(|(i, windows)| windows.iter().map(move |w| (i, w.as_slice())))
            .collect();
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&k| (seqs[k].1.len(), k));
        timing.sequences = seqs.len();
        timing.tokens = seqs.iter().map(|(_, s)| s.len()).sum();

        let t = Instant::now();
        let mut seq_embeddings = vec![0f32; seqs.len() * MINILM_DIM];
        for batch in order.chunks(self.batch_size) {
            let batch_seqs: Vec<&[u32]> = batch.iter().map(|&k| seqs[k].1).collect();
            let out = self.forward_batch(&batch_seqs)?;
            for (j, &k) in batch.iter().enumerate() {
                seq_embeddings[k * MINILM_DIM..][..MINILM_DIM]
                    .copy_from_slice(&out[j * MINILM_DIM..][..MINILM_DIM]);
            }
        }
        timing.forward_seconds = t.elapsed().as_secs_f64();

        // Average the windows of each text (one window: the embedding itself), renormalise.
        let mut result = Array2::<f32>::zeros((texts.len(), MINILM_DIM));
        let mut counts = vec![0usize; texts.len()];
        for (k, (i, _)) in seqs.iter().enumerate() {
            let src = &seq_embeddings[k * MINILM_DIM..][..MINILM_DIM];
            let mut row = result.row_mut(*i);
            for (dst, v) in row.iter_mut().zip(src) {
                *dst += *v;
            }
            counts[*i] += 1;
        }
        for (mut row, n) in result.rows_mut().into_iter().zip(counts) {
            if n > 1 {
                let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                row.mapv_inplace(|v| v / norm);
            }
        }
        Ok((result, timing))
    }

    /// Pooled, normalised embeddings (`n × 384`, row-major) of `n` id sequences, padded to
    /// the longest with `[PAD]` (id 0) under a zero attention mask.
    pub fn forward_batch(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        let n = seqs.len();
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        if n == 0 || len == 0 {
            return Err(NeuralError::InvalidConfig(
                "a batch needs at least one non-empty sequence".into(),
            ));
        }
        let max_positions = BertConfig::MINILM_L6.max_positions;
        if len > max_positions {
            return Err(NeuralError::InvalidConfig(format!(
                "a sequence of {len} tokens is longer than the model's {max_positions} positions"
            )));
        }
        if let Some(fast) = &self.fast_cpu {
            return Ok(fast.embed_all(seqs)?.concat());
        }
        let fit = self.sequences_per_pass(len)?;
        if n > fit {
            // More than the device's largest buffer holds at once: in turns.
            let parts: Vec<Vec<f32>> = seqs
                .chunks(fit)
                .map(|part| self.forward_batch(part))
                .collect::<Result<_>>()?;
            return Ok(parts.concat());
        }
        let mut ids = vec![0i64; n * len];
        let mut mask = vec![0f32; n * len];
        for (r, s) in seqs.iter().enumerate() {
            for (c, &id) in s.iter().enumerate() {
                ids[r * len + c] = i64::from(id);
                mask[r * len + c] = 1.0;
            }
        }
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [n, len]), &self.device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [n, len]), &self.device);
        let hidden = self.net.forward(ids, mask.clone());
        host_f32(mean_pool_normalized(hidden, mask)).map_err(|e| {
            NeuralError::read_back(&self.device_description, &format!("{n} embeddings"), e)
        })
    }

    /// Sequences of `len` tokens one burn forward pass may take on this device: as many as fit
    /// its largest buffer with the attention scores or feed-forward activations (f32).
    fn sequences_per_pass(&self, len: usize) -> Result<usize> {
        items_per_pass(
            self.max_buffer_bytes,
            BertConfig::MINILM_L6.largest_map(len) * 4,
            &self.device_description,
            &format!("one {len}-token sequence's attention scores"),
        )
    }
}
