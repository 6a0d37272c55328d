//! The fine-tuned tail: a pretrained backbone's last stage or stages and 1×1 head (batch norms
//! folded, the weights trained) with a new linear classifier, on a trunk map
//! ([`FeatureLevel::Trunk`], [`FeatureLevel::Trunk2`] or [`FeatureLevel::Trunk3`]).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::backbone::Backbone;
use crate::level::FeatureLevel;
use crate::net::{
    BackboneNet, ConvBnAct, HE_GAIN, InvertedResidual, global_avg_pool, redraw_weights,
};

/// The trainable part of the network: the blocks after the trunk, head, classifier.
#[derive(Module, Debug)]
pub struct TailNet {
    /// The pretrained blocks after the trunk (batch norms folded in).
    pub blocks: Vec<InvertedResidual>,
    /// The pretrained 1×1 head convolution (to 1280 channels).
    pub head: ConvBnAct,
    /// The new classifier.
    pub classifier: Linear,
}

impl TailNet {
    /// The part of `net` above the `trunk` level (fused here when it is not yet) with a
    /// classifier of `n_outputs` initialised from `rng` (Glorot uniform weights, zero bias).
    pub fn from_backbone(
        net: BackboneNet,
        trunk: FeatureLevel,
        n_outputs: usize,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Self {
        let net = net.fuse();
        let first = trunk
            .stage(crate::backbone::Family::InvertedResidual)
            .map_or(net.blocks.len(), |s| net.stage_ends[s] + 1);
        let in_features = net.classifier.weight.val().dims()[0];
        let bound = (6.0 / (in_features + n_outputs) as f64).sqrt() as f32;
        let weights: Vec<f32> = (0..in_features * n_outputs)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let weight =
            Tensor::<2>::from_data(TensorData::new(weights, [in_features, n_outputs]), device);
        let bias = Tensor::<1>::zeros([n_outputs], device);
        let mut classifier = net.classifier;
        classifier.weight = Param::from_tensor(weight);
        classifier.bias = Some(Param::from_tensor(bias));
        TailNet {
            blocks: net.blocks.into_iter().skip(first).collect(),
            head: net.head,
            classifier,
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
        let net = BackboneNet::new(&backbone.arch(), device);
        Self::from_backbone(
            net,
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

    /// The head's activations `[b, 1280, h, w]` of a trunk batch `[b, c, h, w]`.
    pub fn head_maps(&self, trunk: Tensor<4>) -> Tensor<4> {
        let mut x = trunk;
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.head.forward(x)
    }

    /// The pooled 1280-channel head features of a trunk batch `[b, c, h, w]`.
    pub fn pooled(&self, trunk: Tensor<4>) -> Tensor<2> {
        global_avg_pool(self.head_maps(trunk))
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
