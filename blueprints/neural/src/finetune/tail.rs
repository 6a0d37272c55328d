//! The fine-tuned tail: a pretrained backbone's last stage or stages (and, for the
//! inverted-residual nets, their 1×1 head; batch norms folded, the weights trained) with a new
//! linear classifier, on a trunk map ([`FeatureLevel::Trunk`], [`FeatureLevel::Trunk2`] or
//! [`FeatureLevel::Trunk3`]).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::channels_last;
use crate::backbone::Backbone;
use crate::level::FeatureLevel;
use crate::net::{ConvBnAct, HE_GAIN, InvertedResidual, redraw_weights};
use crate::network::Network;
use crate::resnet::Bottleneck;

/// The pretrained layers after the trunk: one family's blocks (the other list stays empty)
/// and the inverted-residual nets' 1×1 head.
#[derive(Module, Debug)]
pub struct TailBody {
    /// MobileNetV2 / EfficientNet-Lite blocks after the trunk.
    pub blocks: Vec<InvertedResidual>,
    /// The ResNet's bottlenecks after the trunk.
    pub bottlenecks: Vec<Bottleneck>,
    /// The 1×1 head convolution (to 1280 channels) of the inverted-residual nets.
    pub head: Option<ConvBnAct>,
}

impl TailBody {
    /// The activations of the last convolution `[b, channels, h, w]` of a trunk batch.
    pub fn forward(&self, trunk: Tensor<4>) -> Tensor<4> {
        channels_last::to_channels_first(self.forward_channels_last(trunk))
    }

    /// [`TailBody::forward`] channels-last, `[b, h, w, channels]` (see [`channels_last`]).
    fn forward_channels_last(&self, trunk: Tensor<4>) -> Tensor<4> {
        let mut x = channels_last::from_channels_first(trunk);
        for block in &self.blocks {
            x = channels_last::inverted_residual(block, x);
        }
        for block in &self.bottlenecks {
            x = channels_last::bottleneck(block, x);
        }
        match &self.head {
            Some(head) => channels_last::head(head, x),
            None => x,
        }
    }
}

/// The trainable part of the network: the pretrained layers after the trunk, a new classifier.
#[derive(Module, Debug)]
pub struct TailNet {
    /// The pretrained layers, trained with a smaller step.
    pub body: TailBody,
    /// The new classifier.
    pub classifier: Linear,
}

/// The first block after `trunk` in a network whose stages end at `stage_ends`.
fn first_block(trunk: FeatureLevel, backbone: Backbone, stage_ends: &[usize]) -> usize {
    trunk
        .stage(backbone.family())
        .map_or(usize::MAX, |s| stage_ends[s] + 1)
}

impl TailNet {
    /// The part of `net` (`backbone`'s network) above the `trunk` level with a classifier of
    /// `n_outputs` replacing `net`'s (Glorot uniform weights from `rng`, zero bias).
    pub fn from_network(
        net: Network,
        backbone: Backbone,
        trunk: FeatureLevel,
        n_outputs: usize,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Self {
        let (body, classifier) = match net {
            Network::Inverted(net) => {
                let net = net.fuse();
                let first = first_block(trunk, backbone, &net.stage_ends);
                let body = TailBody {
                    blocks: net.blocks.into_iter().skip(first).collect(),
                    bottlenecks: Vec::new(),
                    head: Some(net.head),
                };
                (body, net.classifier)
            }
            Network::Bottleneck(net) => {
                let first = first_block(trunk, backbone, &net.stage_ends);
                let body = TailBody {
                    blocks: Vec::new(),
                    bottlenecks: net.blocks.into_iter().skip(first).collect(),
                    head: None,
                };
                (body, net.classifier)
            }
        };
        TailNet {
            body,
            classifier: new_classifier(classifier, n_outputs, rng, device),
        }
    }

    /// A tail of `backbone`'s layout above `trunk` with placeholder weights, to load stored
    /// weights into.
    pub fn empty(
        backbone: Backbone,
        trunk: FeatureLevel,
        n_outputs: usize,
        device: &Device,
    ) -> Self {
        Self::from_network(
            Network::placeholder(backbone, device),
            backbone,
            trunk,
            n_outputs,
            &mut rand::SeedableRng::seed_from_u64(0),
            device,
        )
    }

    /// Every weight redrawn from `rng` ([`redraw_weights`], He scale, so the several blocks of
    /// a two-stage tail do not shrink its outputs to nothing): a random start that depends only
    /// on the seed, whatever else uses the device's generator.
    pub fn randomized(self, rng: &mut ChaCha8Rng) -> Self {
        redraw_weights(self, HE_GAIN, rng)
    }

    /// The last convolution's activations `[b, channels, h, w]` of a trunk batch `[b, c, h,
    /// w]` (the head's 1280 channels, or the ResNet's last bottleneck).
    pub fn head_maps(&self, trunk: Tensor<4>) -> Tensor<4> {
        self.body.forward(trunk)
    }

    /// The pooled features of a trunk batch `[b, c, h, w]`.
    pub fn pooled(&self, trunk: Tensor<4>) -> Tensor<2> {
        channels_last::global_avg_pool(self.body.forward_channels_last(trunk))
    }

    /// Logits of a trunk batch; `keep` (same shape as the pooled features, entries 0 or
    /// 1/(1−p)) applies dropout before the classifier when training.
    pub fn forward(&self, trunk: Tensor<4>, keep: Option<Tensor<2>>) -> Tensor<2> {
        let pooled = self.pooled(trunk);
        let pooled = match keep {
            Some(mask) => pooled.mul(mask),
            None => pooled,
        };
        self.classifier.forward(pooled)
    }
}

/// `classifier` with new `n_outputs`: Glorot uniform weights from `rng`, zero bias.
fn new_classifier(
    mut classifier: Linear,
    n_outputs: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Linear {
    let in_features = classifier.weight.val().dims()[0];
    let bound = (6.0 / (in_features + n_outputs) as f64).sqrt() as f32;
    let weights: Vec<f32> = (0..in_features * n_outputs)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    let weight = Tensor::<2>::from_data(TensorData::new(weights, [in_features, n_outputs]), device);
    classifier.weight = Param::from_tensor(weight);
    classifier.bias = Some(Param::from_tensor(Tensor::<1>::zeros([n_outputs], device)));
    classifier
}
