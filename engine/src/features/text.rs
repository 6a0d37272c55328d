//! Sentence embeddings (MiniLM) of text columns, cached in the project by the SHA-256 of each
//! text, model and long-text mode (see [`super::cache`]). Missing text is embedded as the empty
//! string (see [`neural::text::SentenceEmbedder`]: the fixed `[CLS] [SEP]` vector).

use std::collections::BTreeMap;

use anyhow::Context;
use ndarray::Array2;
use rayon::prelude::*;

use neural::text::{LongText, SentenceEmbedder, SentenceEmbedderConfig};
use neural::{DeviceChoice, Precision};

use super::cache::{Computed, FeatureCache, sha256_hex};
use super::{FeatureMatrix, TextEmbeddingKey};
use crate::dataset::Dataset;
use crate::project::Project;

/// Zoo name of the sentence encoder autopilot uses.
pub const DEFAULT_TEXT_MODEL: &str = neural::zoo::MINILM;

/// Settings of text embedding.
#[derive(Debug, Clone)]
pub struct TextEmbeddingSettings {
    /// Compute device.
    pub device: DeviceChoice,
    /// Sequences per forward pass.
    pub batch_size: usize,
    /// Truncate long texts or average 256-token chunks.
    pub long_text: LongText,
    /// f32, or int8 weight products on a CPU with AVX-512 VNNI (not for a project's cache).
    pub precision: Precision,
}

impl Default for TextEmbeddingSettings {
    fn default() -> Self {
        Self {
            device: DeviceChoice::Auto,
            batch_size: 32,
            long_text: LongText::Truncate,
            precision: Precision::F32,
        }
    }
}

fn mode_name(mode: LongText) -> &'static str {
    match mode {
        LongText::Truncate => "truncate",
        LongText::Chunks => "chunks",
    }
}

fn cache_dir(model: &str, mode: LongText) -> String {
    format!("features/text__{model}__{}", mode_name(mode))
}

/// SHA-256 (hex) of a text's UTF-8 bytes.
pub fn text_hash(text: &str) -> String {
    sha256_hex(text.as_bytes())
}

/// A sentence embedder for the zoo model `model` (only MiniLM for now).
pub fn embedder_for(
    model: &str,
    settings: &TextEmbeddingSettings,
) -> anyhow::Result<SentenceEmbedder> {
    if !neural::zoo::is_minilm(model) {
        anyhow::bail!("unknown text embedding model `{model}` (known: {DEFAULT_TEXT_MODEL})");
    }
    Ok(SentenceEmbedder::new(SentenceEmbedderConfig {
        device: settings.device,
        batch_size: settings.batch_size,
        long_text: settings.long_text,
        precision: settings.precision,
        ..SentenceEmbedderConfig::default()
    })?)
}

/// Embeddings of `texts` (one row each, input order; `None` = empty text), computing only the
/// texts not yet cached in `project` (everything when `project` is `None`) and adding them to
/// the cache. The project cache holds f32 embeddings only.
pub fn embed_texts(
    project: Option<&Project>,
    texts: &[Option<&str>],
    model: &str,
    settings: &TextEmbeddingSettings,
) -> anyhow::Result<Array2<f32>> {
    anyhow::ensure!(
        project.is_none() || settings.precision == Precision::F32,
        "embeddings cached in a project are computed in f32, not {}",
        settings.precision
    );
    let model = if neural::zoo::is_minilm(model) {
        DEFAULT_TEXT_MODEL
    } else {
        model
    };
    let hashes: Vec<Option<String>> = texts
        .par_iter()
        .map(|t| Some(text_hash(t.unwrap_or(""))))
        .collect();
    let about = BTreeMap::from([
        ("model".to_string(), serde_json::json!(model)),
        (
            "long_text".to_string(),
            serde_json::json!(mode_name(settings.long_text)),
        ),
    ]);
    let cache = FeatureCache::new(
        project,
        cache_dir(model, settings.long_text),
        about,
        neural::text::MINILM_DIM,
    );
    let m = cache.rows(&hashes, &mut |rows| {
        let embedder = embedder_for(model, settings)?;
        let new_texts: Vec<&str> = rows.iter().map(|&r| texts[r].unwrap_or("")).collect();
        let values = embedder
            .embed(&new_texts)
            .with_context(|| format!("embedding {} texts with {model}", new_texts.len()))?;
        Ok(Computed {
            failed: vec![false; rows.len()],
            values,
        })
    })?;
    if let Some(r) = m.ok.iter().position(|ok| !ok) {
        anyhow::bail!("text of row {r} is missing from the embedding cache");
    }
    Ok(m.features)
}

/// Embeddings of every row of `key.column` (see [`embed_texts`]); every row is `ok`.
pub fn text_embeddings(
    project: Option<&Project>,
    ds: &Dataset,
    key: &TextEmbeddingKey,
    settings: &TextEmbeddingSettings,
) -> anyhow::Result<FeatureMatrix> {
    let col = ds.require_column(&key.column)?;
    let texts: Vec<Option<&str>> = col.values.iter().map(|v| v.as_deref()).collect();
    let features = embed_texts(project, &texts, &key.model, settings)?;
    Ok(FeatureMatrix {
        ok: vec![true; features.nrows()],
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::ProjectSettings;

    #[test]
    fn a_project_cache_refuses_int8_embeddings() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::create(
            &dir.path().join("p"),
            ProjectSettings::new(std::path::Path::new("fake.csv"), "y"),
        )
        .unwrap();
        let settings = TextEmbeddingSettings {
            precision: Precision::Int8,
            ..TextEmbeddingSettings::default()
        };
        // Refused before any model is loaded.
        let e = embed_texts(
            Some(&project),
            &[Some("a text")],
            DEFAULT_TEXT_MODEL,
            &settings,
        )
        .unwrap_err();
        assert!(e.to_string().contains("f32, not int8"), "{e}");
    }
}
