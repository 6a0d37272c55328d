//! The backbone network on burn: inverted-residual blocks, forward pass with feature taps,
//! and batch-norm folding for inference.

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::backbone::{ArchSpec, BlockSpec, PaddingStyle};
use crate::level::FeatureLevel;

/// Convolution, optional batch norm (folded away by [`ConvBnAct::fuse`]) and optional ReLU6.
#[derive(Module, Debug)]
pub struct ConvBnAct {
    /// The convolution (bias-free until the batch norm is folded in).
    pub conv: Conv2d,
    /// The batch norm; `None` once folded into `conv`.
    pub bn: Option<BatchNorm>,
    /// Whether ReLU6 follows.
    #[module(skip)]
    pub relu6: bool,
}

impl ConvBnAct {
    /// A randomly initialised layer.
    fn new(
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        relu6: bool,
        arch: &ArchSpec,
        device: &Device,
    ) -> Self {
        let padding = match arch.padding {
            PaddingStyle::Symmetric => {
                let p = kernel / 2;
                PaddingConfig2d::Explicit(p, p, p, p)
            }
            PaddingStyle::TfSame => PaddingConfig2d::Same,
        };
        let conv = Conv2dConfig::new(channels, [kernel, kernel])
            .with_stride([stride, stride])
            .with_groups(groups)
            .with_padding(padding)
            .with_bias(false)
            .init(device);
        let bn = BatchNormConfig::new(channels[1])
            .with_epsilon(arch.bn_eps)
            .init(device);
        ConvBnAct {
            conv,
            bn: Some(bn),
            relu6,
        }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = self.conv.forward(x);
        if let Some(bn) = &self.bn {
            x = bn.forward(x);
        }
        if self.relu6 { x.clamp(0.0, 6.0) } else { x }
    }

    /// Folds the batch norm into the convolution's weight and bias (inference only):
    /// `w' = w·γ/√(σ²+ε)`, `b' = β + (b − μ)·γ/√(σ²+ε)`.
    pub fn fuse(mut self) -> Self {
        let Some(bn) = self.bn.take() else {
            return self;
        };
        let scale = bn
            .gamma
            .val()
            .div(bn.running_var.value().add_scalar(bn.epsilon).sqrt());
        let [out_ch] = scale.dims();
        let weight = self
            .conv
            .weight
            .val()
            .mul(scale.clone().reshape([out_ch, 1, 1, 1]));
        let mean = bn.running_mean.value();
        let centred = match self.conv.bias.take() {
            Some(b) => b.val().sub(mean),
            None => mean.neg(),
        };
        let bias = bn.beta.val().add(centred.mul(scale));
        self.conv.weight = Param::from_tensor(weight);
        self.conv.bias = Some(Param::from_tensor(bias));
        self
    }
}

/// MobileNetV2 inverted residual: optional 1×1 expand + ReLU6, k×k depthwise + ReLU6,
/// linear 1×1 projection, identity shortcut when shapes allow.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    /// 1×1 expansion (absent when the expansion ratio is 1).
    pub expand: Option<ConvBnAct>,
    /// k×k depthwise convolution.
    pub depthwise: ConvBnAct,
    /// Linear 1×1 projection.
    pub project: ConvBnAct,
    /// Whether the input is added to the output.
    #[module(skip)]
    pub residual: bool,
}

impl InvertedResidual {
    fn new(spec: &BlockSpec, arch: &ArchSpec, device: &Device) -> Self {
        let hidden = spec.hidden_channels;
        let expand = spec
            .has_expand()
            .then(|| ConvBnAct::new([spec.in_channels, hidden], 1, 1, 1, true, arch, device));
        let depthwise = ConvBnAct::new(
            [hidden, hidden],
            spec.kernel,
            spec.stride,
            hidden,
            true,
            arch,
            device,
        );
        let project = ConvBnAct::new([hidden, spec.out_channels], 1, 1, 1, false, arch, device);
        InvertedResidual {
            expand,
            depthwise,
            project,
            residual: spec.residual(),
        }
    }

    /// Forward pass.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let mut x = match &self.expand {
            Some(e) => e.forward(input.clone()),
            None => input.clone(),
        };
        x = self.depthwise.forward(x);
        x = self.project.forward(x);
        if self.residual { x.add(input) } else { x }
    }

    fn fuse(self) -> Self {
        InvertedResidual {
            expand: self.expand.map(ConvBnAct::fuse),
            depthwise: self.depthwise.fuse(),
            project: self.project.fuse(),
            residual: self.residual,
        }
    }
}

/// What a forward pass returns.
#[derive(Debug, Clone)]
pub struct NetOutput {
    /// Pooled features per requested level, each `[batch, channels]`, in request order.
    pub levels: Vec<Tensor<2>>,
    /// Classifier logits `[batch, classes]` when requested.
    pub logits: Option<Tensor<2>>,
}

/// A MobileNetV2 / EfficientNet-Lite network.
#[derive(Module, Debug)]
pub struct BackboneNet {
    /// 3×3 stride-2 stem.
    pub stem: ConvBnAct,
    /// Inverted-residual blocks.
    pub blocks: Vec<InvertedResidual>,
    /// 1×1 conv to 1280 channels.
    pub head: ConvBnAct,
    /// ImageNet classifier.
    pub classifier: Linear,
    /// Index of the last block of each stage.
    #[module(skip)]
    pub stage_ends: Vec<usize>,
}

/// Scale of [`redraw_weights`] as burn initialises convolutions and linear layers
/// (Kaiming-uniform with gain 1/√3: weights in ±1/√fan-in).
pub const BURN_DEFAULT_GAIN: f64 = 1.0;

/// Scale of [`redraw_weights`] that keeps the activations' scale through ReLU layers (He:
/// weights in ±√(6/fan-in)), so a deep random stack's outputs do not shrink towards zero.
pub const HE_GAIN: f64 = 2.449_489_742_783_178; // √6

/// `module` with every float parameter redrawn from `rng`: weights uniform in
/// ±`gain`/√fan-in, vectors (biases) zero. Depends only on `rng`, not on the device's shared
/// generator, so concurrent callers with the same seed get the same weights. Meant for
/// batch-norm-free (fused) modules.
pub fn redraw_weights<M: Module>(module: M, gain: f64, rng: &mut ChaCha8Rng) -> M {
    struct Redraw<'a>(&'a mut ChaCha8Rng, f64);
    impl ModuleMapper for Redraw<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let t = param.val();
            let dims = t.dims();
            let n: usize = dims.iter().product();
            // Linear weights are `[inputs, outputs]`; convolutions `[out, in / groups, kh, kw]`.
            let fan_in = match D {
                1 => 0,
                2 => dims[0],
                _ => dims[1..].iter().product(),
            };
            let values: Vec<f32> = if fan_in == 0 {
                vec![0.0; n]
            } else {
                let bound = (self.1 / (fan_in as f64).sqrt()) as f32;
                (0..n).map(|_| self.0.random_range(-bound..bound)).collect()
            };
            Param::from_tensor(Tensor::from_data(
                TensorData::new(values, dims.to_vec()),
                &t.device(),
            ))
        }
    }
    module.map(&mut Redraw(rng, gain))
}

/// Global average pool `[b, c, h, w]` → `[b, c]`.
pub fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h * w]).mean_dim(2).reshape([b, c])
}

impl NetOutput {
    /// The output of a forward pass that returned `(maps, logits)` for `levels`: each level's
    /// map pooled, or a trunk's map flattened (channels first).
    pub fn from_maps(
        (maps, logits): (Vec<Tensor<4>>, Option<Tensor<2>>),
        levels: &[FeatureLevel],
    ) -> Self {
        let levels = maps
            .into_iter()
            .zip(levels)
            .map(|(m, l)| {
                if l.is_pooled() {
                    global_avg_pool(m)
                } else {
                    m.flatten(1, 3)
                }
            })
            .collect();
        NetOutput { levels, logits }
    }
}

impl BackboneNet {
    /// A randomly initialised network with the given layout.
    pub fn new(arch: &ArchSpec, device: &Device) -> Self {
        let stem = ConvBnAct::new([3, arch.stem_channels], 3, 2, 1, true, arch, device);
        let specs = arch.blocks();
        let blocks = specs
            .iter()
            .map(|s| InvertedResidual::new(s, arch, device))
            .collect();
        let last = specs.last().map_or(arch.stem_channels, |s| s.out_channels);
        let head = ConvBnAct::new([last, arch.head_channels], 1, 1, 1, true, arch, device);
        let classifier = LinearConfig::new(arch.head_channels, arch.num_classes).init(device);
        BackboneNet {
            stem,
            blocks,
            head,
            classifier,
            stage_ends: arch.stage_ends(),
        }
    }

    /// Folds every batch norm into its convolution (for inference).
    pub fn fuse(self) -> Self {
        BackboneNet {
            stem: self.stem.fuse(),
            blocks: self
                .blocks
                .into_iter()
                .map(InvertedResidual::fuse)
                .collect(),
            head: self.head.fuse(),
            classifier: self.classifier,
            stage_ends: self.stage_ends,
        }
    }

    /// Forward pass on a normalised NCHW batch, returning the pooled features of `levels` (in
    /// that order; the trunk's map flattened, channels first) and, if `logits`, the classifier
    /// output. Stops early when the deeper layers are not needed.
    pub fn forward(&self, input: Tensor<4>, levels: &[FeatureLevel], logits: bool) -> NetOutput {
        NetOutput::from_maps(self.forward_maps(input, levels, logits), levels)
    }

    /// Like [`BackboneNet::forward`], but the activations of `levels` are returned before
    /// pooling (`[batch, channels, h, w]` each): the maps Grad-CAM weighs.
    pub fn forward_maps(
        &self,
        input: Tensor<4>,
        levels: &[FeatureLevel],
        logits: bool,
    ) -> (Vec<Tensor<4>>, Option<Tensor<2>>) {
        let need_head = logits || levels.contains(&FeatureLevel::Highest);
        let tap_blocks: Vec<(FeatureLevel, usize)> = levels
            .iter()
            .filter_map(|l| {
                l.stage(crate::backbone::Family::InvertedResidual)
                    .and_then(|s| self.stage_ends.get(s).map(|&b| (*l, b)))
            })
            .collect();
        let last_needed = if need_head {
            self.blocks.len()
        } else {
            tap_blocks.iter().map(|&(_, b)| b + 1).max().unwrap_or(0)
        };

        let mut taps: Vec<(FeatureLevel, Tensor<4>)> = Vec::with_capacity(levels.len());
        let mut x = self.stem.forward(input);
        for (i, block) in self.blocks.iter().take(last_needed).enumerate() {
            x = block.forward(x);
            for &(level, _) in tap_blocks.iter().filter(|&&(_, b)| b == i) {
                taps.push((level, x.clone()));
            }
        }
        let mut out_logits = None;
        if need_head {
            let head = self.head.forward(x);
            if logits {
                out_logits = Some(self.classifier.forward(global_avg_pool(head.clone())));
            }
            taps.push((FeatureLevel::Highest, head));
        }
        let maps = levels
            .iter()
            .filter_map(|l| taps.iter().find(|(tl, _)| tl == l).map(|(_, t)| t.clone()))
            .collect();
        (maps, out_logits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::Backbone;
    use burn::module::RunningState;
    use burn::tensor::Distribution;

    fn host(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn output_shapes_on_a_tiny_input() {
        let _rng = crate::flex_rng_lock();
        let device = Device::flex();
        device.seed(7);
        for backbone in [Backbone::MobileNetV2, Backbone::EfficientNetLite2] {
            let arch = backbone.arch();
            let net = BackboneNet::new(&arch, &device);
            // 33 px: odd sizes exercise the asymmetric TF padding.
            let x = Tensor::<4>::random([2, 3, 33, 33], Distribution::Default, &device);
            let out = net.forward(x, &FeatureLevel::ALL, true);
            let dims: Vec<[usize; 2]> = out.levels.iter().map(|t| t.dims()).collect();
            let want: Vec<[usize; 2]> = FeatureLevel::ALL
                .iter()
                .map(|l| [2, l.channels(&arch)])
                .collect();
            assert_eq!(dims, want, "{backbone}");
            assert_eq!(out.logits.unwrap().dims(), [2, 1000]);
        }
    }

    #[test]
    fn levels_come_back_in_request_order_without_the_head() {
        let _rng = crate::flex_rng_lock();
        let device = Device::flex();
        let net = BackboneNet::new(&Backbone::EfficientNetLite0.arch(), &device);
        let x = Tensor::<4>::zeros([1, 3, 32, 32], &device);
        let out = net.forward(x, &[FeatureLevel::Medium, FeatureLevel::Low], false);
        let dims: Vec<[usize; 2]> = out.levels.iter().map(|t| t.dims()).collect();
        assert_eq!(dims, vec![[1, 112], [1, 40]]);
        assert!(out.logits.is_none());
    }

    #[test]
    fn tf_same_padding_puts_the_extra_pixel_bottom_right() {
        let _rng = crate::flex_rng_lock();
        // All-ones 4×4 input, all-ones 3×3 kernel, stride 2: TF "SAME" pads (0, 1) on each axis,
        // so the window sums are [[9, 6], [6, 4]] (symmetric padding would give [[4, 6], [6, 9]]).
        let device = Device::flex();
        let mut arch = Backbone::EfficientNetLite0.arch();
        arch.padding = PaddingStyle::TfSame;
        let mut layer = ConvBnAct::new([1, 1], 3, 2, 1, false, &arch, &device);
        layer.bn = None;
        layer.conv.weight = Param::from_tensor(Tensor::ones([1, 1, 3, 3], &device));
        let y = layer.forward(Tensor::ones([1, 1, 4, 4], &device));
        assert_eq!(host(y), vec![9.0, 6.0, 6.0, 4.0]);

        arch.padding = PaddingStyle::Symmetric;
        let mut layer = ConvBnAct::new([1, 1], 3, 2, 1, false, &arch, &device);
        layer.bn = None;
        layer.conv.weight = Param::from_tensor(Tensor::ones([1, 1, 3, 3], &device));
        let y = layer.forward(Tensor::ones([1, 1, 4, 4], &device));
        assert_eq!(host(y), vec![4.0, 6.0, 6.0, 9.0]);
    }

    #[test]
    fn folding_batch_norm_keeps_the_output() {
        let _rng = crate::flex_rng_lock();
        let device = Device::flex();
        device.seed(3);
        let arch = Backbone::MobileNetV2.arch();
        let mut layer = ConvBnAct::new([4, 4], 3, 1, 4, true, &arch, &device);
        let bn = layer.bn.as_mut().unwrap();
        let r = |lo: f64, hi: f64| Tensor::<1>::random([4], Distribution::Uniform(lo, hi), &device);
        bn.gamma = Param::from_tensor(r(0.5, 2.0));
        bn.beta = Param::from_tensor(r(-1.0, 1.0));
        bn.running_mean = RunningState::new(r(-0.5, 0.5));
        bn.running_var = RunningState::new(r(0.2, 3.0));
        let x = Tensor::<4>::random([2, 4, 5, 5], Distribution::Uniform(-3.0, 3.0), &device);
        let before = host(layer.forward(x.clone()));
        let fused = layer.fuse();
        assert!(fused.bn.is_none() && fused.conv.bias.is_some());
        let after = host(fused.forward(x));
        let max = before
            .iter()
            .zip(&after)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max < 1e-5, "max |Δ| = {max}");
        // The ReLU6 clamp is active somewhere, so the test covers both sides of it.
        assert!(before.contains(&0.0) && before.iter().any(|&v| v > 0.0));
    }
}
