//! Sentence embeddings with all-MiniLM-L6-v2 on burn: [`bert`] (the encoder as a burn module),
//! [`load`] (safetensors weights), [`tokenize`] (WordPiece through the `tokenizers` crate),
//! [`pooling`] (masked mean + L2 norm) and [`embedder`] (batched embedding of texts).

pub mod bert;
pub mod cpu_bert;
pub mod embedder;
mod fast_math;
pub mod load;
pub mod pooling;
pub mod tokenize;

pub use bert::{BertConfig, BertEncoder};
pub use embedder::{
    EmbedTiming, MINILM_DIM, MINILM_MAX_TOKENS, SentenceEmbedder, SentenceEmbedderConfig,
};
pub use load::load_minilm;
pub use tokenize::{LongText, WordPieceTokenizer};
