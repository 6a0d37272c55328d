//! Loading the published PyTorch checkpoints into [`BackboneNet`] with burn-store's
//! `PytorchStore` and per-family key remapping.

use std::path::Path;

use burn::store::{ApplyResult, ModuleSnapshot, ModuleStore, PytorchStore};
use burn::tensor::Device;

use crate::backbone::{Backbone, Family};
use crate::error::{NeuralError, Result};
use crate::net::BackboneNet;

/// `(regex, replacement)` pairs mapping checkpoint keys to [`BackboneNet`] paths.
/// Patterns are applied in order to each key; all are anchored so a renamed key never
/// matches again.
pub fn key_remapping(backbone: Backbone) -> Vec<(String, String)> {
    let mut map: Vec<(String, String)> = Vec::new();
    let mut add = |from: String, to: String| map.push((from, to));
    match backbone {
        Backbone::MobileNetV2 => {
            // torchvision: features.0 = stem, features.1..=17 = blocks, features.18 = head,
            // classifier.1 = Linear (classifier.0 is Dropout).
            let n_blocks = backbone.arch().blocks().len();
            add(r"^features\.0\.0\.".into(), "stem.conv.".into());
            add(r"^features\.0\.1\.".into(), "stem.bn.".into());
            let head = n_blocks + 1;
            add(format!(r"^features\.{head}\.0\."), "head.conv.".into());
            add(format!(r"^features\.{head}\.1\."), "head.bn.".into());
            add(r"^classifier\.1\.".into(), "classifier.".into());
            for (i, spec) in backbone.arch().blocks().iter().enumerate() {
                let f = i + 1;
                let b = format!("blocks.{i}");
                let parts: &[(&str, &str)] = if spec.has_expand() {
                    &[
                        ("0.0", "expand.conv"),
                        ("0.1", "expand.bn"),
                        ("1.0", "depthwise.conv"),
                        ("1.1", "depthwise.bn"),
                        ("2", "project.conv"),
                        ("3", "project.bn"),
                    ]
                } else {
                    &[
                        ("0.0", "depthwise.conv"),
                        ("0.1", "depthwise.bn"),
                        ("1", "project.conv"),
                        ("2", "project.bn"),
                    ]
                };
                for (from, to) in parts {
                    add(
                        format!(r"^features\.{f}\.conv\.{}\.", from.replace('.', r"\.")),
                        format!("{b}.{to}."),
                    );
                }
            }
        }
        Backbone::EfficientNetLite0 | Backbone::EfficientNetLite1 | Backbone::EfficientNetLite2 => {
            for (from, to) in [
                (r"^_conv_stem\.", "stem.conv."),
                (r"^_bn0\.", "stem.bn."),
                (r"^_conv_head\.", "head.conv."),
                (r"^_bn1\.", "head.bn."),
                (r"^_fc\.", "classifier."),
                (
                    r"^_blocks\.(\d+)\._expand_conv\.",
                    "blocks.${1}.expand.conv.",
                ),
                (r"^_blocks\.(\d+)\._bn0\.", "blocks.${1}.expand.bn."),
                (
                    r"^_blocks\.(\d+)\._depthwise_conv\.",
                    "blocks.${1}.depthwise.conv.",
                ),
                (r"^_blocks\.(\d+)\._bn1\.", "blocks.${1}.depthwise.bn."),
                (
                    r"^_blocks\.(\d+)\._project_conv\.",
                    "blocks.${1}.project.conv.",
                ),
                (r"^_blocks\.(\d+)\._bn2\.", "blocks.${1}.project.bn."),
            ] {
                add(from.into(), to.into());
            }
        }
        // No PyTorch checkpoint: its ONNX graph is read by `ResNet::from_onnx`.
        Backbone::ResNet50Half => {}
    }
    map
}

/// Builds the network for `backbone` and loads the checkpoint at `path` into it. Every
/// parameter must be present with the right shape; keys left over other than
/// `num_batches_tracked` are an error. Batch norms are not folded yet.
pub fn load_backbone(backbone: Backbone, path: &Path, device: &Device) -> Result<BackboneNet> {
    if backbone.family() != Family::InvertedResidual {
        return Err(NeuralError::weight_load(
            path,
            format!("{backbone} is not an inverted-residual network (see `Network::load`)"),
        ));
    }
    if !path.is_file() {
        return Err(NeuralError::weight_load(path, "file not found"));
    }
    let mut net = BackboneNet::new(&backbone.arch(), device);
    let mut store = PytorchStore::from_file(path)
        .map_indices_contiguous(false)
        .allow_partial(true);
    for (from, to) in key_remapping(backbone) {
        store = store.with_key_remapping(from, to);
    }
    let ignored = |k: &str| k.ends_with("num_batches_tracked");
    apply_checkpoint(&mut net, &mut store, path, &backbone.to_string(), ignored)?;
    Ok(net)
}

/// Loads the checkpoint `store` (read from `path`; opened with `allow_partial(true)`, so that
/// what does not fit is counted here) into `net`: every parameter must be present with the
/// right shape, and every checkpoint key used except those `ignored` accepts (`model` names
/// the network in the error).
pub(crate) fn apply_checkpoint<M: ModuleSnapshot, S: ModuleStore>(
    net: &mut M,
    store: &mut S,
    path: &Path,
    model: &str,
    ignored: impl Fn(&str) -> bool,
) -> Result<()> {
    let err = |message: String| NeuralError::weight_load(path, message);
    let result = net.load_from(store).map_err(|e| err(e.to_string()))?;
    let unused: Vec<&String> = result.unused.iter().filter(|k| !ignored(k)).collect();
    if result.errors.is_empty() && result.missing.is_empty() && unused.is_empty() {
        return Ok(());
    }
    Err(err(misfit(&result, &unused, model)))
}

/// One line saying how a checkpoint does not fit `model`: its tensors missing, of the wrong
/// shape or type, and the file's keys left over, each with its first example.
fn misfit(result: &ApplyResult, unused: &[&String], model: &str) -> String {
    let total = result.applied.len() + result.missing.len() + result.errors.len();
    let mut parts = Vec::new();
    if let Some((first, _)) = result.missing.first() {
        parts.push(format!(
            "{} of its {total} tensors missing (first `{first}`)",
            result.missing.len()
        ));
    }
    if let Some(first) = result.errors.first() {
        parts.push(format!(
            "{} tensors that do not fit (first: {first})",
            result.errors.len()
        ));
    }
    if let Some(first) = unused.first() {
        parts.push(format!(
            "{} keys of the file unused (first `{first}`)",
            unused.len()
        ));
    }
    let hint = if result.applied.is_empty() {
        "; is it another model's weights?"
    } else {
        ""
    };
    format!("does not fit {model}: {}{hint}", parts.join(", "))
}
