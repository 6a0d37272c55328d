//! Feature blocks: how one input column becomes feature columns.

use serde::{Deserialize, Serialize};

use blueprints::text::TfidfConfig;

use crate::encode::{CategoricalEncoder, DateEncoder, NumericEncoder};

/// Identifies a precomputed image-feature matrix: column, backbone and feature levels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImageKey {
    /// Image column.
    pub column: String,
    /// Backbone name (e.g. `efficientnet-lite0`).
    pub backbone: String,
    /// Feature levels, e.g. `["high", "highest"]`.
    pub levels: Vec<String>,
}

/// Identifies a precomputed sentence-embedding matrix of a text column (e.g. MiniLM).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TextEmbeddingKey {
    /// Text column.
    pub column: String,
    /// Zoo name of the sentence encoder (e.g. `all-minilm-l6-v2`).
    pub model: String,
}

impl TextEmbeddingKey {
    /// The key under which [`FeatureInputs::images`](super::FeatureInputs) holds this matrix:
    /// every precomputed dense matrix lives in that map; text embeddings use the model name as
    /// `backbone` and no levels (no image key has empty levels).
    pub fn matrix_key(&self) -> ImageKey {
        ImageKey {
            column: self.column.clone(),
            backbone: self.model.clone(),
            levels: Vec::new(),
        }
    }
}

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
/// "mobilenet-v2" → "MobileNetV2"); unknown names are returned as given.
pub fn backbone_label(name: &str) -> String {
    match name {
        "mobilenet-v2" => "MobileNetV2".into(),
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
