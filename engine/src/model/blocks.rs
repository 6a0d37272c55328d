//! Feature blocks: how one input column becomes feature columns.

use serde::{Deserialize, Serialize};

use blueprints::text::{DocFreq, TfidfConfig};

use crate::encode::{CategoricalEncoder, DateEncoder, NumericEncoder};
use crate::features::{FeatureKey, ImageKey, TextEmbeddingKey};

/// What to do with one input column (a blueprint's featurizer choice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BlockSpec {
    /// Number with median imputation and a missing flag.
    Numeric { column: String },
    /// One-hot of frequent levels.
    Categorical {
        column: String,
        min_count: usize,
        max_levels: usize,
    },
    /// Year / month / day of week.
    Date { column: String },
    /// TF-IDF n-grams (one or more analyzers side by side).
    Text {
        column: String,
        analyzers: Vec<TfidfConfig>,
    },
    /// Pretrained CNN features (precomputed, looked up by key).
    Image(ImageKey),
    /// Pretrained sentence embeddings of a text column (precomputed, looked up by key).
    TextEmbedding(TextEmbeddingKey),
}

impl BlockSpec {
    /// The input column this block reads.
    pub fn column(&self) -> &str {
        match self {
            BlockSpec::Numeric { column }
            | BlockSpec::Categorical { column, .. }
            | BlockSpec::Date { column }
            | BlockSpec::Text { column, .. } => column,
            BlockSpec::Image(k) => &k.column,
            BlockSpec::TextEmbedding(k) => &k.column,
        }
    }

    /// The learned features this block reads, if any.
    pub fn learned_key(&self) -> Option<FeatureKey> {
        match self {
            BlockSpec::Image(k) => Some(FeatureKey::Image(k.clone())),
            BlockSpec::TextEmbedding(k) => Some(FeatureKey::TextEmbedding(k.clone())),
            _ => None,
        }
    }

    /// Short readable description, e.g. "TF-IDF(word 1-2 + char 2-5)".
    pub fn describe(&self) -> String {
        match self {
            BlockSpec::Numeric { .. } => "numeric".into(),
            BlockSpec::Categorical { .. } => "one-hot".into(),
            BlockSpec::Date { .. } => "date parts".into(),
            BlockSpec::Text { analyzers, .. } => {
                let parts: Vec<&str> = analyzers.iter().map(|a| a.prefix()).collect();
                format!("TF-IDF({})", parts.join("+"))
            }
            BlockSpec::Image(k) => {
                format!("{} ({})", backbone_label(&k.backbone), k.levels.join("+"))
            }
            BlockSpec::TextEmbedding(k) => backbone_label(&k.model),
        }
    }

    /// Like [`describe`](Self::describe) but with the raw backbone name: stable across releases,
    /// used in leaderboard keys (what a resumed run compares).
    pub fn signature(&self) -> String {
        match self {
            BlockSpec::Image(k) => format!("{} ({})", k.backbone, k.levels.join("+")),
            other => other.describe(),
        }
    }
}

/// The readable name of a zoo backbone ("efficientnet-lite0" → "EfficientNet-Lite0",
/// "mobilenet-v2" → "MobileNetV2", "resnet50-1by2" → "ResNet-50-1by2"); unknown names are
/// returned as given.
pub fn backbone_label(name: &str) -> String {
    match name {
        "mobilenet-v2" => "MobileNetV2".into(),
        "resnet50-1by2" => "ResNet-50-1by2".into(),
        "all-minilm-l6-v2" => "MiniLM-L6 embeddings".into(),
        n if n.starts_with("efficientnet-lite") => {
            format!("EfficientNet-Lite{}", &n["efficientnet-lite".len()..])
        }
        n => n.to_string(),
    }
}

/// A block fitted on training rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FittedBlock {
    /// Fitted numeric encoder.
    Numeric(NumericEncoder),
    /// Fitted one-hot encoder.
    Categorical(CategoricalEncoder),
    /// Fitted date encoder.
    Date(DateEncoder),
    /// Fitted TF-IDF vectorizers for one column.
    Text {
        column: String,
        vectorizers: Vec<blueprints::text::TfidfVectorizer>,
    },
    /// Image features need no fitting: the estimator standardizes.
    Image(ImageKey),
    /// Sentence embeddings need no fitting either (unit vectors, looked up by key).
    TextEmbedding(TextEmbeddingKey),
}

impl FittedBlock {
    /// The learned features this block reads, if any.
    pub fn learned_key(&self) -> Option<FeatureKey> {
        match self {
            FittedBlock::Image(k) => Some(FeatureKey::Image(k.clone())),
            FittedBlock::TextEmbedding(k) => Some(FeatureKey::TextEmbedding(k.clone())),
            _ => None,
        }
    }
}

/// A readable summary of the text settings of `blocks` (e.g. `word 1-2 min_df 2 + char_wb 2-5`),
/// `None` without text blocks.
pub fn describe_text_settings(blocks: &[BlockSpec]) -> Option<String> {
    let parts: Vec<String> = blocks
        .iter()
        .filter_map(|b| match b {
            BlockSpec::Text { analyzers, .. } => Some(
                analyzers
                    .iter()
                    .map(|a| {
                        let (lo, hi) = a.ngram_range;
                        let mut s = format!("{} {lo}-{hi}", a.prefix());
                        if let DocFreq::Count(n) = a.min_df
                            && n > 1
                        {
                            s.push_str(&format!(" min_df {n}"));
                        }
                        s
                    })
                    .collect::<Vec<_>>()
                    .join(" + "),
            ),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}
