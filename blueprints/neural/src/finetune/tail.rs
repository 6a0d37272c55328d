//! The fine-tuned tail: a pretrained backbone's last stage and 1×1 head (batch norms folded,
//! the weights trained) with a new linear classifier, on the trunk map ([`FeatureLevel::Trunk`]).

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::backbone::Backbone;
use crate::level::FeatureLevel;
use crate::net::{BackboneNet, ConvBnAct, InvertedResidual, global_avg_pool};

/// The trainable part of the network: last-stage blocks, head, classifier.
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
    /// The tail of `net` (fused here when it is not yet) with a classifier of `n_outputs`
    /// initialised from `rng` (Glorot uniform weights, zero bias).
    pub fn from_backbone(
        net: BackboneNet,
        n_outputs: usize,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Self {
        let net = net.fuse();
        let first = net.stage_ends[FeatureLevel::Trunk.stage().unwrap_or(0)] + 1;
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

    /// A tail of `backbone`'s layout with placeholder weights, to load stored weights into.
    pub fn empty(backbone: Backbone, n_outputs: usize, device: &Device) -> Self {
        let net = BackboneNet::new(&backbone.arch(), device);
        Self::from_backbone(
            net,
            n_outputs,
            &mut rand::SeedableRng::seed_from_u64(0),
            device,
        )
    }

    /// Every weight redrawn from `rng` (uniform in ±1/√fan-in, biases zero): a random start
    /// that depends only on the seed, whatever else uses the device's generator.
    pub fn randomized(self, rng: &mut ChaCha8Rng) -> Self {
        struct Redraw<'a>(&'a mut ChaCha8Rng);
        impl ModuleMapper for Redraw<'_> {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let t = param.val();
                let dims = t.dims();
                let fan_in: usize = dims.iter().skip(1).product::<usize>().max(1);
                let bound = if D == 1 {
                    0.0
                } else {
                    (1.0 / fan_in as f64).sqrt() as f32
                };
                let values: Vec<f32> = (0..dims.iter().product::<usize>())
                    .map(|_| {
                        if bound > 0.0 {
                            self.0.random_range(-bound..bound)
                        } else {
                            0.0
                        }
                    })
                    .collect();
                Param::from_tensor(Tensor::from_data(
                    TensorData::new(values, dims.to_vec()),
                    &t.device(),
                ))
            }
        }
        self.map(&mut Redraw(rng))
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
