//! Sentence embeddings (MiniLM) of text columns, cached in the project by the SHA-256 of each
//! text, model and long-text mode, so that folds, blueprints, reruns and resumed runs never
//! recompute them. Missing text is embedded as the empty string (see
//! [`neural::text::SentenceEmbedder`]: the fixed `[CLS] [SEP]` vector).
//! A cache that cannot be read or written is a [`ProjectError`] in the error chain: a run stops
//! on it, unlike an embedder that cannot run.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::Context;
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use neural::DeviceChoice;
use neural::text::{LongText, SentenceEmbedder, SentenceEmbedderConfig};

use crate::dataset::Dataset;
use crate::model::{FeatureInputs, ImageMatrix, TextEmbeddingKey};
use crate::project::{Project, ProjectError};

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
}

impl Default for TextEmbeddingSettings {
    fn default() -> Self {
        Self {
            device: DeviceChoice::Auto,
            batch_size: 32,
            long_text: LongText::Truncate,
        }
    }
}

/// The cache index: the text hash of each row of `values.npy`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheIndex {
    model: String,
    long_text: String,
    hashes: Vec<String>,
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
    format!("{:x}", Sha256::digest(text.as_bytes()))
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
        ..SentenceEmbedderConfig::default()
    })?)
}

/// Embeddings of `texts` (one row each, input order; `None` = empty text), computing only the
/// texts not yet cached in `project` (everything when `project` is `None`) and adding them to
/// the cache.
pub fn embed_texts(
    project: Option<&Project>,
    texts: &[Option<&str>],
    model: &str,
    settings: &TextEmbeddingSettings,
) -> anyhow::Result<Array2<f32>> {
    let model = if neural::zoo::is_minilm(model) {
        DEFAULT_TEXT_MODEL
    } else {
        model
    };
    let hashes: Vec<String> = texts
        .par_iter()
        .map(|t| text_hash(t.unwrap_or("")))
        .collect();
    let dir = cache_dir(model, settings.long_text);
    let (mut index, mut values) = match project {
        Some(p) => match p.load_json_opt::<CacheIndex>(&format!("{dir}/index.json"))? {
            Some(idx) if !idx.hashes.is_empty() => {
                let v = p.load_matrix(&format!("{dir}/values.npy"), (None, None))?;
                if v.nrows() < idx.hashes.len() {
                    return Err(ProjectError::Corrupt {
                        path: p.path(&dir),
                        message:
                            "text embedding cache index is longer than its values; delete the folder"
                                .into(),
                    }
                    .into());
                }
                (idx, Some(v))
            }
            _ => (CacheIndex::default(), None),
        },
        None => (CacheIndex::default(), None),
    };
    // New texts, each once, in first-seen order (deterministic).
    let mut todo: BTreeMap<&str, usize> = BTreeMap::new();
    {
        let cached: HashMap<&str, usize> = index
            .hashes
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), i))
            .collect();
        for (i, h) in hashes.iter().enumerate() {
            if !cached.contains_key(h.as_str()) {
                todo.entry(h.as_str()).or_insert(i);
            }
        }
    }
    if !todo.is_empty() {
        let embedder = embedder_for(model, settings)?;
        let mut new: Vec<(&str, usize)> = todo.into_iter().collect();
        new.sort_by_key(|&(_, row)| row);
        let new_texts: Vec<&str> = new.iter().map(|&(_, r)| texts[r].unwrap_or("")).collect();
        let fresh = embedder
            .embed(&new_texts)
            .with_context(|| format!("embedding {} texts with {model}", new_texts.len()))?;
        let dim = fresh.ncols();
        let old_rows = values.as_ref().map_or(0, |v| v.nrows());
        let mut all = Array2::<f32>::zeros((old_rows + new.len(), dim));
        if let Some(v) = &values {
            if v.ncols() != dim {
                return Err(ProjectError::BadArray {
                    path: project.map_or_else(|| dir.clone().into(), |p| p.path(&dir)),
                    reason: format!(
                        "text embedding cache for {model} has {} columns, expected {dim}",
                        v.ncols()
                    ),
                }
                .into());
            }
            all.slice_mut(ndarray::s![..old_rows, ..]).assign(v);
        }
        all.slice_mut(ndarray::s![old_rows.., ..]).assign(&fresh);
        index.model = model.to_string();
        index.long_text = mode_name(settings.long_text).to_string();
        index.hashes.extend(new.iter().map(|&(h, _)| h.to_string()));
        if let Some(p) = project {
            // Values first, then the index that refers to them.
            p.save_matrix(&format!("{dir}/values.npy"), all.view())?;
            p.save_json(&format!("{dir}/index.json"), &index)?;
        }
        values = Some(all);
    }
    let values = values.unwrap_or_else(|| Array2::zeros((0, neural::text::MINILM_DIM)));
    let row_of: HashMap<&str, usize> = index
        .hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let mut out = Array2::<f32>::zeros((texts.len(), values.ncols()));
    for (r, h) in hashes.iter().enumerate() {
        let i = row_of
            .get(h.as_str())
            .with_context(|| format!("text of row {r} is missing from the embedding cache"))?;
        out.row_mut(r).assign(&values.row(*i));
    }
    Ok(out)
}

/// Embeddings of every row of `key.column` (see [`embed_texts`]); every row is `ok`.
pub fn text_embeddings(
    project: Option<&Project>,
    ds: &Dataset,
    key: &TextEmbeddingKey,
    settings: &TextEmbeddingSettings,
) -> anyhow::Result<ImageMatrix> {
    let col = ds.require_column(&key.column)?;
    let texts: Vec<Option<&str>> = col.values.iter().map(|v| v.as_deref()).collect();
    let features = embed_texts(project, &texts, &key.model, settings)?;
    Ok(ImageMatrix {
        ok: vec![true; features.nrows()],
        features,
    })
}

/// Computes (or loads from the cache) the embeddings of `keys` not yet in `inputs`, and adds
/// them under [`TextEmbeddingKey::matrix_key`].
pub fn add_text_embeddings(
    project: Option<&Project>,
    keys: &[TextEmbeddingKey],
    inputs: &mut FeatureInputs,
    settings: &TextEmbeddingSettings,
) -> anyhow::Result<()> {
    for key in keys {
        let mk = key.matrix_key();
        if inputs.images.contains_key(&mk) {
            continue;
        }
        let m = text_embeddings(project, inputs.dataset, key, settings)?;
        inputs.images.insert(mk, Arc::new(m));
    }
    Ok(())
}

/// For `autopilot run`: embeds the text columns of `lists` with MiniLM (cached in `project`),
/// adds the matrices to `inputs` and returns the MiniLM blueprints
/// ([`text_embedding_candidates`](crate::autopilot::candidates::text_embedding_candidates)).
/// An error (e.g. weights that cannot be fetched) leaves `inputs` as it was.
pub fn text_embedding_blueprints(
    project: &Project,
    lists: &[crate::autopilot::FeatureList],
    backbone: &str,
    mode: crate::autopilot::Mode,
    device: DeviceChoice,
    inputs: &mut FeatureInputs,
) -> anyhow::Result<Vec<crate::autopilot::candidates::Candidate>> {
    let cands = crate::autopilot::candidates::text_embedding_candidates(
        inputs.dataset,
        lists,
        backbone,
        DEFAULT_TEXT_MODEL,
        mode,
    );
    let mut keys: Vec<TextEmbeddingKey> =
        cands.iter().flat_map(|c| c.text_embedding_keys()).collect();
    keys.sort();
    keys.dedup();
    let settings = TextEmbeddingSettings {
        device,
        ..TextEmbeddingSettings::default()
    };
    let mut computed = Vec::with_capacity(keys.len());
    for key in &keys {
        computed.push((
            key.matrix_key(),
            Arc::new(text_embeddings(
                Some(project),
                inputs.dataset,
                key,
                &settings,
            )?),
        ));
    }
    inputs.images.extend(computed);
    Ok(cands)
}
