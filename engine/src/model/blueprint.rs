//! A blueprint: the feature blocks of a feature list and an estimator template, before fitting
//! (what the autopilot trains and the store saves next to its fitted fold models).

use serde::{Deserialize, Serialize};

use blueprints::Estimator;

use super::BlockSpec;
use crate::features::{FeatureKey, ImageKey};

/// A named list of input columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureList {
    /// Name shown on the leaderboard ("Informative Features", "image only", ...).
    pub name: String,
    /// Input columns.
    pub columns: Vec<String>,
}

/// One blueprint to train: feature blocks and an estimator template (hyperparameters set,
/// not fitted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    /// Feature list name.
    pub feature_list: String,
    /// One block per input column.
    pub blocks: Vec<BlockSpec>,
    /// Estimator with its hyperparameters.
    pub estimator: Box<dyn Estimator>,
    /// Whether each fit chooses its text blocks' TF-IDF settings on inner folds of its training
    /// rows (`autopilot::text_search`); full and comprehensive modes.
    #[serde(default)]
    pub search_text: bool,
}

impl Candidate {
    /// Readable blueprint, e.g. "EfficientNet-Lite0 (high+highest) + TF-IDF(word 1-2) + 3 tabular → Gradient Boosting".
    pub fn describe(&self) -> String {
        self.summary(BlockSpec::describe)
    }

    /// Like [`describe`](Self::describe) with raw backbone names: the stable identity used in
    /// leaderboard keys.
    pub fn signature(&self) -> String {
        self.summary(BlockSpec::signature)
    }

    /// The learned and text blocks by `label`, the count of tabular ones, and the estimator.
    fn summary(&self, label: fn(&BlockSpec) -> String) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut tabular = 0;
        for b in &self.blocks {
            match b {
                BlockSpec::Image(_) | BlockSpec::Text { .. } | BlockSpec::TextEmbedding(_) => {
                    parts.push(label(b))
                }
                _ => tabular += 1,
            }
        }
        if tabular > 0 {
            parts.push(format!("{tabular} tabular"));
        }
        format!("{} → {}", parts.join(" + "), self.estimator.name())
    }

    /// The image backbone used, if the blueprint has an image block.
    pub fn backbone(&self) -> Option<&str> {
        self.blocks.iter().find_map(|b| match b {
            BlockSpec::Image(k) => Some(k.backbone.as_str()),
            _ => None,
        })
    }

    /// A copy whose image blocks (and an estimator carrying pretrained image weights) use
    /// `backbone`.
    pub fn with_backbone(&self, backbone: &str) -> blueprints::error::Result<Candidate> {
        let mut c = self.clone();
        for b in &mut c.blocks {
            if let BlockSpec::Image(k) = b {
                k.backbone = backbone.to_string();
            }
        }
        c.estimator.set_image_backbone(backbone)?;
        Ok(c)
    }

    /// Whether this is the fine-tuned CNN blueprint: its image block is trunk maps.
    pub fn is_fine_tuned(&self) -> bool {
        self.image_keys().iter().any(ImageKey::is_trunk)
    }

    /// Every image key this blueprint needs.
    pub fn image_keys(&self) -> Vec<ImageKey> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                BlockSpec::Image(k) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every learned feature matrix this blueprint reads (images and sentence embeddings).
    pub fn learned_keys(&self) -> Vec<FeatureKey> {
        self.blocks
            .iter()
            .filter_map(BlockSpec::learned_key)
            .collect()
    }
}
