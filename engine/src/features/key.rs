//! What identifies a learned feature matrix: the column and the pretrained model that turns it
//! into vectors.

use serde::{Deserialize, Serialize};

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

impl ImageKey {
    /// Whether it holds unpooled trunk maps (the fine-tuned CNN's input, levels `trunk`,
    /// `trunk2` or `trunk3`) rather than pooled features.
    pub fn is_trunk(&self) -> bool {
        self.levels
            .iter()
            .any(|l| neural::FeatureLevel::from_name(l).is_ok_and(|level| !level.is_pooled()))
    }
}

/// Identifies a precomputed sentence-embedding matrix of a text column (e.g. MiniLM).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TextEmbeddingKey {
    /// Text column.
    pub column: String,
    /// Zoo name of the sentence encoder (e.g. `all-minilm-l6-v2`).
    pub model: String,
}

/// Any learned feature matrix: what [`FeatureInputs`](super::FeatureInputs) holds and the
/// feature cache stores.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FeatureKey {
    /// Pretrained CNN features of an image column.
    Image(ImageKey),
    /// Sentence embeddings of a text column.
    TextEmbedding(TextEmbeddingKey),
}

impl FeatureKey {
    /// The input column.
    pub fn column(&self) -> &str {
        match self {
            FeatureKey::Image(k) => &k.column,
            FeatureKey::TextEmbedding(k) => &k.column,
        }
    }

    /// The pretrained model's zoo name (backbone or sentence encoder).
    pub fn model(&self) -> &str {
        match self {
            FeatureKey::Image(k) => &k.backbone,
            FeatureKey::TextEmbedding(k) => &k.model,
        }
    }

    /// "image features of 'cover' (efficientnet-lite0)", for messages.
    pub fn describe(&self) -> String {
        let what = match self {
            FeatureKey::Image(_) => "image features",
            FeatureKey::TextEmbedding(_) => "text embeddings",
        };
        format!("{what} of '{}' ({})", self.column(), self.model())
    }
}

impl From<ImageKey> for FeatureKey {
    fn from(k: ImageKey) -> Self {
        FeatureKey::Image(k)
    }
}

impl From<TextEmbeddingKey> for FeatureKey {
    fn from(k: TextEmbeddingKey) -> Self {
        FeatureKey::TextEmbedding(k)
    }
}
