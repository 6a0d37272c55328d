//! The backbone network of either family, behind one forward pass.

use std::path::Path;

use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;

use crate::backbone::{Backbone, Family};
use crate::error::Result;
use crate::level::FeatureLevel;
use crate::net::{BackboneNet, NetOutput, redraw_weights};
use crate::precision::Precision;
use crate::resnet::ResNet;
use crate::weights::load_backbone;

/// A backbone's network on burn, batch norms folded.
#[derive(Debug)]
pub enum Network {
    /// MobileNetV2 / EfficientNet-Lite.
    Inverted(Box<BackboneNet>),
    /// ResNet-50-1by2.
    Bottleneck(Box<ResNet>),
}

impl Network {
    /// `backbone`'s network with the weights of `path` (a PyTorch checkpoint, or the ONNX
    /// graph for the bottleneck ResNet).
    pub fn load(backbone: Backbone, path: &Path, device: &Device) -> Result<Self> {
        let arch = backbone.arch();
        Ok(match arch.family {
            Family::InvertedResidual => {
                Network::Inverted(Box::new(load_backbone(backbone, path, device)?.fuse()))
            }
            Family::Bottleneck => {
                Network::Bottleneck(Box::new(ResNet::from_onnx(&arch, path, device)?))
            }
        })
    }

    /// `backbone`'s layout (batch norms folded) with burn's initial weights: a placeholder to
    /// load or redraw weights into.
    pub fn placeholder(backbone: Backbone, device: &Device) -> Self {
        let arch = backbone.arch();
        match arch.family {
            Family::InvertedResidual => {
                Network::Inverted(Box::new(BackboneNet::new(&arch, device).fuse()))
            }
            Family::Bottleneck => Network::Bottleneck(Box::new(ResNet::new(&arch, device))),
        }
    }

    /// `backbone`'s layout with weights redrawn from `rng` ([`redraw_weights`] at `gain`).
    pub fn untrained(backbone: Backbone, gain: f64, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        match Self::placeholder(backbone, device) {
            Network::Inverted(n) => Network::Inverted(Box::new(redraw_weights(*n, gain, rng))),
            Network::Bottleneck(n) => Network::Bottleneck(Box::new(redraw_weights(*n, gain, rng))),
        }
    }

    /// The network with its weights in `precision`'s float type.
    pub fn cast(self, precision: Precision) -> Self {
        match self {
            Network::Inverted(n) => Network::Inverted(Box::new(precision.cast_module(*n))),
            Network::Bottleneck(n) => Network::Bottleneck(Box::new(precision.cast_module(*n))),
        }
    }

    /// The features of `levels` (pooled, or a trunk flattened) and, if `logits`, the
    /// classifier's output.
    pub fn forward(&self, input: Tensor<4>, levels: &[FeatureLevel], logits: bool) -> NetOutput {
        NetOutput::from_maps(self.forward_maps(input, levels, logits), levels)
    }

    /// The unpooled maps of `levels` and, if `logits`, the classifier's output.
    pub fn forward_maps(
        &self,
        input: Tensor<4>,
        levels: &[FeatureLevel],
        logits: bool,
    ) -> (Vec<Tensor<4>>, Option<Tensor<2>>) {
        match self {
            Network::Inverted(n) => n.forward_maps(input, levels, logits),
            Network::Bottleneck(n) => n.forward_maps(input, levels, logits),
        }
    }
}
