//! WordPiece tokenization for MiniLM through the `tokenizers` crate, loading the model's own
//! `tokenizer.json` (BertNormalizer: clean-up, CJK spacing, lower-casing and accent stripping;
//! BertPreTokenizer; WordPiece with `##` continuations). The file's fixed 128-token padding
//! and truncation are switched off: sequences are cut into model inputs by [`LongText`] and
//! padded per batch with an attention mask.

use std::path::Path;

use tokenizers::Tokenizer;

use crate::error::{NeuralError, Result};

/// What to do with a text longer than the model's input (`max_tokens` including `[CLS]` and
/// `[SEP]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LongText {
    /// Keep the first `max_tokens - 2` word pieces (what sentence-transformers does).
    #[default]
    Truncate,
    /// Cut the word pieces into consecutive windows of `max_tokens - 2`, embed each window and
    /// average the window embeddings.
    Chunks,
}

impl std::str::FromStr for LongText {
    type Err = NeuralError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "truncate" => Ok(LongText::Truncate),
            "chunks" | "chunk" => Ok(LongText::Chunks),
            other => Err(NeuralError::InvalidConfig(format!(
                "unknown long-text mode `{other}` (truncate, chunks)"
            ))),
        }
    }
}

/// A BERT WordPiece tokenizer with its special-token ids.
#[derive(Clone)]
pub struct WordPieceTokenizer {
    inner: Tokenizer,
    cls: u32,
    sep: u32,
}

impl std::fmt::Debug for WordPieceTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPieceTokenizer")
            .field("cls", &self.cls)
            .field("sep", &self.sep)
            .finish_non_exhaustive()
    }
}

impl WordPieceTokenizer {
    /// Loads a Hugging Face `tokenizer.json` and switches its padding and truncation off.
    pub fn from_file(path: &Path) -> Result<Self> {
        let err = |message: String| NeuralError::weight_load(path, message);
        let mut inner = Tokenizer::from_file(path).map_err(|e| err(e.to_string()))?;
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| err(e.to_string()))?;
        let id = |token: &str| {
            inner
                .token_to_id(token)
                .ok_or_else(|| err(format!("the vocabulary has no {token} token")))
        };
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        Ok(WordPieceTokenizer { inner, cls, sep })
    }

    /// Id of `[CLS]`.
    pub fn cls_id(&self) -> u32 {
        self.cls
    }

    /// Id of `[SEP]`.
    pub fn sep_id(&self) -> u32 {
        self.sep
    }

    fn encode(&self, text: &str) -> Result<tokenizers::Encoding> {
        self.inner
            .encode_fast(text, false)
            .map_err(|e| NeuralError::InvalidConfig(format!("tokenizing text: {e}")))
    }

    /// Word-piece ids of `text`, without special tokens and without any length limit.
    pub fn piece_ids(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.encode(text)?.get_ids().to_vec())
    }

    /// Word pieces of `text` as strings, with `[CLS]` and `[SEP]` (for inspection and tests).
    pub fn tokens(&self, text: &str) -> Result<Vec<String>> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| NeuralError::InvalidConfig(format!("tokenizing text: {e}")))?;
        Ok(enc.get_tokens().to_vec())
    }

    /// The model inputs for `text`: one `[CLS] … [SEP]` sequence of at most `max_tokens` ids
    /// with [`LongText::Truncate`], or one per window with [`LongText::Chunks`]. An empty text
    /// gives the single input `[CLS] [SEP]`.
    pub fn model_inputs(
        &self,
        text: &str,
        max_tokens: usize,
        mode: LongText,
    ) -> Result<Vec<Vec<u32>>> {
        if max_tokens < 3 {
            return Err(NeuralError::InvalidConfig(format!(
                "max_tokens must be at least 3, got {max_tokens}"
            )));
        }
        let pieces = self.piece_ids(text)?;
        let window = max_tokens - 2;
        let wrap = |chunk: &[u32]| {
            let mut ids = Vec::with_capacity(chunk.len() + 2);
            ids.push(self.cls);
            ids.extend_from_slice(chunk);
            ids.push(self.sep);
            ids
        };
        Ok(match mode {
            LongText::Truncate => vec![wrap(&pieces[..pieces.len().min(window)])],
            LongText::Chunks if pieces.is_empty() => vec![wrap(&[])],
            LongText::Chunks => pieces.chunks(window).map(wrap).collect(),
        })
    }
}
