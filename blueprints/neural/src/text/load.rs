//! Loading the published `model.safetensors` of all-MiniLM-L6-v2 into [`BertEncoder`] with
//! burn-store's `SafetensorsStore` (Hugging Face key names remapped, PyTorch linear weights
//! transposed and layer-norm `weight`/`bias` renamed by `PyTorchToBurnAdapter`).

use std::path::Path;

use burn::store::{PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::Device;

use super::bert::{BertConfig, BertEncoder};
use crate::error::{NeuralError, Result};
use crate::weights::apply_checkpoint;

/// `(regex, replacement)` pairs mapping Hugging Face `BertModel` keys to [`BertEncoder`] paths.
pub fn minilm_key_remapping() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"^embeddings\.LayerNorm\.", "embeddings.layer_norm."),
        (
            r"^encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.",
            "layers.${1}.${2}.",
        ),
        (
            r"^encoder\.layer\.(\d+)\.attention\.output\.dense\.",
            "layers.${1}.attention_output.",
        ),
        (
            r"^encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.",
            "layers.${1}.attention_norm.",
        ),
        (
            r"^encoder\.layer\.(\d+)\.intermediate\.dense\.",
            "layers.${1}.intermediate.",
        ),
        (
            r"^encoder\.layer\.(\d+)\.output\.dense\.",
            "layers.${1}.output.",
        ),
        (
            r"^encoder\.layer\.(\d+)\.output\.LayerNorm\.",
            "layers.${1}.output_norm.",
        ),
    ]
}

/// Checkpoint keys the encoder deliberately does not use: the position-id buffer and the
/// pooler (sentence-transformers mean-pools the hidden states instead).
fn is_ignored_key(key: &str) -> bool {
    key == "embeddings.position_ids" || key.starts_with("pooler.")
}

/// Builds a MiniLM-L6 encoder on `device` and loads `path` into it. Every parameter must be
/// present with the right shape; checkpoint keys other than the ignored ones must all be used.
pub fn load_minilm(path: &Path, device: &Device) -> Result<BertEncoder> {
    if !path.is_file() {
        return Err(NeuralError::weight_load(path, "file not found"));
    }
    let mut net = BertEncoder::new(&BertConfig::MINILM_L6, device);
    let mut store = SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .allow_partial(true);
    for (from, to) in minilm_key_remapping() {
        store = store.with_key_remapping(from, to);
    }
    apply_checkpoint(&mut net, &mut store, path, "MiniLM", is_ignored_key)?;
    Ok(net)
}
