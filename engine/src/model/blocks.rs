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
            BlockSpec::Image(k) => format!("{} ({})", k.backbone, k.levels.join("+")),
        }
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
}
