//! Settings of one TF-IDF analyzer, mirroring scikit-learn's `TfidfVectorizer` parameters.

use serde::{Deserialize, Serialize};

use crate::error::{BlueprintError, Result};

/// How a document is cut into terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Analyzer {
    /// Word n-grams of tokens matching sklearn's `(?u)\b\w\w+\b` (scikit-learn `analyzer="word"`).
    Word,
    /// Character n-grams inside whitespace-separated words, each word padded with one space on
    /// both sides (scikit-learn `analyzer="char_wb"`).
    CharWb,
}

impl Analyzer {
    /// Default feature-name prefix: `word` or `char`.
    pub fn default_prefix(self) -> &'static str {
        match self {
            Analyzer::Word => "word",
            Analyzer::CharWb => "char",
        }
    }
}

/// A document-frequency bound: an absolute number of documents, or a proportion of the
/// training documents (scikit-learn's int vs float `min_df` / `max_df`).
///
/// Serialized untagged, so JSON `2` is a count and `0.5` (or `1.0`) a proportion, like Python.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DocFreq {
    /// At least / at most this many documents (must be ≥ 1).
    Count(u64),
    /// This proportion of the training documents, in `[0, 1]`.
    Proportion(f64),
}

impl DocFreq {
    /// The bound in documents for a corpus of `n_docs` documents.
    pub fn to_docs(self, n_docs: usize) -> f64 {
        match self {
            DocFreq::Count(c) => c as f64,
            DocFreq::Proportion(p) => p * n_docs as f64,
        }
    }

    fn check(self, name: &str) -> Result<()> {
        let bad = |reason: &str| BlueprintError::InvalidParam {
            name: name.to_string(),
            value: format!("{self:?}"),
            reason: reason.to_string(),
        };
        match self {
            DocFreq::Count(0) => Err(bad("a document count must be at least 1")),
            DocFreq::Proportion(p) if !(0.0..=1.0).contains(&p) => {
                Err(bad("a proportion must lie in [0, 1]"))
            }
            _ => Ok(()),
        }
    }
}

/// Settings of one TF-IDF analyzer. Defaults equal scikit-learn's `TfidfVectorizer()` defaults
/// (word unigrams, lower-casing, no stop words, `min_df=1`, `max_df=1.0`, smooth idf, L2 norm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TfidfConfig {
    /// Word or character (within word boundaries) n-grams.
    pub analyzer: Analyzer,
    /// Smallest and largest n-gram length, inclusive (`ngram_range`).
    pub ngram_range: (usize, usize),
    /// Lower-case the text first (Unicode full case mapping, like Python's `str.lower`).
    pub lowercase: bool,
    /// Drop scikit-learn's English stop words before building word n-grams (word analyzer only).
    pub english_stop_words: bool,
    /// Replace a term count `tf` by `1 + ln(tf)`.
    pub sublinear_tf: bool,
    /// Multiply by the inverse document frequency.
    pub use_idf: bool,
    /// `idf = ln((1 + n) / (1 + df)) + 1` when true, `ln(n / df) + 1` when false.
    pub smooth_idf: bool,
    /// Drop terms found in fewer documents than this.
    pub min_df: DocFreq,
    /// Drop terms found in more documents than this.
    pub max_df: DocFreq,
    /// Keep only this many terms, the most frequent over the training corpus. Ties at the cut keep
    /// the smaller term (deterministic); scikit-learn breaks such ties by numpy's unstable argsort,
    /// so only there the kept set can differ from sklearn's.
    pub max_features: Option<usize>,
    /// Scale every non-empty row to unit Euclidean norm.
    pub l2_norm: bool,
    /// Feature-name prefix (`<prefix>:<term>`); `None` means `word` / `char` by analyzer.
    pub name_prefix: Option<String>,
}

impl Default for TfidfConfig {
    fn default() -> Self {
        Self {
            analyzer: Analyzer::Word,
            ngram_range: (1, 1),
            lowercase: true,
            english_stop_words: false,
            sublinear_tf: false,
            use_idf: true,
            smooth_idf: true,
            min_df: DocFreq::Count(1),
            max_df: DocFreq::Proportion(1.0),
            max_features: None,
            l2_norm: true,
            name_prefix: None,
        }
    }
}

impl TfidfConfig {
    /// Word n-grams `lo..=hi` with sublinear tf (the peer harness's text settings).
    pub fn word(lo: usize, hi: usize) -> Self {
        Self {
            analyzer: Analyzer::Word,
            ngram_range: (lo, hi),
            sublinear_tf: true,
            ..Self::default()
        }
    }

    /// `char_wb` n-grams `lo..=hi` with sublinear tf (the peer harness's album-name settings).
    pub fn char_wb(lo: usize, hi: usize) -> Self {
        Self {
            analyzer: Analyzer::CharWb,
            ngram_range: (lo, hi),
            sublinear_tf: true,
            ..Self::default()
        }
    }

    /// The prefix used in feature names.
    pub fn prefix(&self) -> &str {
        self.name_prefix
            .as_deref()
            .unwrap_or(self.analyzer.default_prefix())
    }

    /// Checks every setting is in its domain (`1 ≤ lo ≤ hi`, bounds, `max_features ≥ 1`).
    pub fn validate(&self) -> Result<()> {
        let (lo, hi) = self.ngram_range;
        if lo < 1 || lo > hi {
            return Err(BlueprintError::InvalidParam {
                name: "ngram_range".into(),
                value: format!("({lo}, {hi})"),
                reason: "need 1 <= min_n <= max_n".into(),
            });
        }
        self.min_df.check("min_df")?;
        self.max_df.check("max_df")?;
        if self.max_features == Some(0) {
            return Err(BlueprintError::InvalidParam {
                name: "max_features".into(),
                value: "0".into(),
                reason: "must be at least 1 (or None for no limit)".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_freq_serde_follows_python_int_vs_float() {
        let c: DocFreq = serde_json::from_str("2").unwrap();
        let p: DocFreq = serde_json::from_str("1.0").unwrap();
        assert_eq!(c, DocFreq::Count(2));
        assert_eq!(p, DocFreq::Proportion(1.0));
        assert_eq!(p.to_docs(10), 10.0);
        assert_eq!(DocFreq::Proportion(0.25).to_docs(10), 2.5);
    }

    #[test]
    fn config_round_trips_and_fills_defaults() {
        let c = TfidfConfig {
            max_features: Some(7),
            ..TfidfConfig::char_wb(2, 5)
        };
        let back: TfidfConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let partial: TfidfConfig =
            serde_json::from_str(r#"{"analyzer":"char_wb","min_df":0.1}"#).unwrap();
        assert_eq!(partial.analyzer, Analyzer::CharWb);
        assert_eq!(partial.min_df, DocFreq::Proportion(0.1));
        assert_eq!(partial.ngram_range, (1, 1));
        assert_eq!(partial.prefix(), "char");
    }

    #[test]
    fn validate_rejects_out_of_domain_settings() {
        assert!(TfidfConfig::word(1, 2).validate().is_ok());
        assert!(TfidfConfig::word(0, 2).validate().is_err());
        assert!(TfidfConfig::word(3, 2).validate().is_err());
        assert!(
            TfidfConfig {
                min_df: DocFreq::Count(0),
                ..TfidfConfig::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            TfidfConfig {
                max_df: DocFreq::Proportion(1.5),
                ..TfidfConfig::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            TfidfConfig {
                max_features: Some(0),
                ..TfidfConfig::default()
            }
            .validate()
            .is_err()
        );
    }
}
