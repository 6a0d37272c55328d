//! Sparse TF-IDF text features, numerically matching scikit-learn's `TfidfVectorizer`.
//!
//! * [`TfidfConfig`]: one analyzer's settings (word n-grams or `char_wb` n-grams, stop words,
//!   sublinear tf, smooth idf, `min_df` / `max_df` / `max_features`, L2 norm).
//! * [`TfidfVectorizer`]: fit on a fold's training rows, transform any rows → `CsMat<f32>` CSR.
//! * [`TfidfUnion`]: several analyzers on one column, hstacked (e.g. word 1–2 + char_wb 2–5).
//!
//! Feature names are `"<prefix>:<term>"`: `word:love`, `word:love you` (word bigram),
//! `char: lo` (a `char_wb` n-gram keeps its padding space). Missing (`None`) or empty text is an
//! all-zero row. Results do not depend on the number of rayon threads.

mod analyze;
mod config;
mod counting;
mod stop_words;
mod union;
mod vectorizer;
mod vocabulary;
mod word_chars;

#[cfg(test)]
mod sklearn_parity;

pub use analyze::{
    Scratch, for_each_term, for_each_token, is_python_space, is_word_char, word_tokens,
};
pub use config::{Analyzer, DocFreq, TfidfConfig};
pub use stop_words::{ENGLISH_STOP_WORDS, is_english_stop_word};
pub use union::{TfidfUnion, fit_nonempty, hstack_csr};
pub use vectorizer::TfidfVectorizer;
pub use vocabulary::Vocabulary;
