//! The tail's layers on channels-last maps `[b, h, w, c]`, for training: a 1×1 convolution is
//! then one matrix product `[b·h·w, c] × [c, o]`, whose backward pass is two more with long
//! inner dimensions — on burn's CPU backend about twice as fast, forward and backward, as its
//! `conv2d` (`neural_bench finetune_profile`). A dense stride-1 `k × k` convolution is one
//! product too, over the `k²` shifted copies of the padded map. On burn's CPU backend a depthwise
//! convolution ([`super::depthwise_op`]) and each ReLU6 or ReLU ([`super::clamp_op`]) are our own
//! operations; any other convolution (and a depthwise one on wgpu) stays burn's, with the map
//! turned channels-first around it. The weights are the modules' own (`[o, c, k, k]`), so stored
//! tails, the CPU kernels and Grad-CAM read them unchanged.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::{Tensor, s};

use super::clamp_op::{Bounds, clamp_cpu};
use super::depthwise_op::depthwise_channels_last;
use crate::net::{ConvBnAct, InvertedResidual};
use crate::resnet::{Bottleneck, ConvRelu};

/// `[b, c, h, w]` → `[b, h, w, c]`.
pub fn from_channels_first(x: Tensor<4>) -> Tensor<4> {
    x.permute([0, 2, 3, 1])
}

/// `[b, h, w, c]` → `[b, c, h, w]`.
pub fn to_channels_first(x: Tensor<4>) -> Tensor<4> {
    x.permute([0, 3, 1, 2])
}

/// Global average pool `[b, h, w, c]` → `[b, c]`.
pub fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [b, h, w, c] = x.dims();
    x.reshape([b, h * w, c]).mean_dim(1).reshape([b, c])
}

/// Whether `conv` is a plain 1×1 convolution (any stride; a 1×1 kernel reads no padding).
fn is_pointwise(conv: &Conv2d) -> bool {
    conv.kernel_size == [1, 1] && conv.groups == 1 && conv.dilation == [1, 1]
}

/// `conv` on a channels-last map: a matrix product for a 1×1 kernel (the strided positions
/// picked first) or a dense one keeping the map's size, else burn's convolution on the map
/// turned channels-first.
fn convolve(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    if let Some(p) = same_size_padding(conv) {
        return dense_same_size(conv, x, p);
    }
    if !is_pointwise(conv) {
        return depthwise_channels_last(conv, &x)
            .unwrap_or_else(|| from_channels_first(conv.forward(to_channels_first(x))));
    }
    let [sh, sw] = conv.stride;
    let x = if sh > 1 || sw > 1 {
        x.slice(s![.., ..;sh as isize, ..;sw as isize, ..])
    } else {
        x
    };
    let [b, h, w, c] = x.dims();
    product(conv, x.reshape([b * h * w, c]), [b, h, w])
}

/// `conv` as the product of `patches` (`[b·h·w, k²·c]`: for each output position its inputs,
/// tap by tap, channels fastest) and its weight turned to match (`[o, c, k, k]` → `[k²·c, o]`),
/// plus its bias: the `[b, h, w, o]` map.
fn product(conv: &Conv2d, patches: Tensor<2>, [b, h, w]: [usize; 3]) -> Tensor<4> {
    let [o, c, k, k2] = conv.weight.dims();
    let weight = conv
        .weight
        .val()
        .permute([0, 2, 3, 1])
        .reshape([o, k * k2 * c])
        .transpose();
    let mut y = patches.matmul(weight);
    if let Some(bias) = &conv.bias {
        y = y.add(bias.val().reshape([1, o]));
    }
    y.reshape([b, h, w, o])
}

/// The padding `k / 2` of a dense stride-1 convolution with an odd `k × k` kernel (k > 1) that
/// keeps the map's size, or `None` for any other.
fn same_size_padding(conv: &Conv2d) -> Option<usize> {
    let [k, k2] = conv.kernel_size;
    let p = k / 2;
    let plain = k == k2 && k % 2 == 1 && k > 1 && conv.groups == 1;
    let unit = conv.stride == [1, 1] && conv.dilation == [1, 1];
    let padded = matches!(conv.padding, PaddingConfig2d::Same)
        || conv.padding == PaddingConfig2d::Explicit(p, p, p, p);
    (plain && unit && padded).then_some(p)
}

/// A dense `k × k` convolution keeping the map's size, as one matrix product: the `k²` shifted
/// copies of the zero-padded map side by side (`[b·h·w, k²·c]`) times the weight (`[k²·c, o]`).
fn dense_same_size(conv: &Conv2d, x: Tensor<4>, p: usize) -> Tensor<4> {
    let [b, h, w, c] = x.dims();
    let k = conv.kernel_size[0];
    let device = x.device();
    let rows = Tensor::<4>::zeros([b, p, w, c], &device);
    let x = Tensor::cat(vec![rows.clone(), x, rows], 1);
    let cols = Tensor::<4>::zeros([b, h + 2 * p, p, c], &device);
    let x = Tensor::cat(vec![cols.clone(), x, cols], 2);
    let mut shifted = Vec::with_capacity(k * k);
    for i in 0..k {
        for j in 0..k {
            shifted.push(x.clone().slice(s![.., i..i + h, j..j + w, ..]));
        }
    }
    product(
        conv,
        Tensor::cat(shifted, 3).reshape([b * h * w, k * k * c]),
        [b, h, w],
    )
}

/// `x` clamped to `bounds`: our operation on burn's CPU autodiff backend, burn's clamp elsewhere
/// (`clamp_min` for a ReLU: one bound, one comparison).
fn activation(x: Tensor<4>, bounds: Bounds) -> Tensor<4> {
    clamp_cpu(&x, bounds).unwrap_or_else(|| {
        if bounds.max.is_finite() {
            x.clamp(bounds.min, bounds.max)
        } else {
            x.clamp_min(bounds.min)
        }
    })
}

/// [`ConvBnAct::forward`] on a channels-last map.
fn conv_bn_act(layer: &ConvBnAct, x: Tensor<4>) -> Tensor<4> {
    if layer.bn.is_some() {
        // Unfused batch norm normalises channel dimension 1: the layer as it is.
        return from_channels_first(layer.forward(to_channels_first(x)));
    }
    let y = convolve(&layer.conv, x);
    if layer.relu6 {
        activation(y, Bounds::RELU6)
    } else {
        y
    }
}

/// [`ConvRelu::forward`] on a channels-last map.
fn conv_relu(layer: &ConvRelu, x: Tensor<4>) -> Tensor<4> {
    let y = convolve(&layer.conv, x);
    if layer.relu {
        activation(y, Bounds::RELU)
    } else {
        y
    }
}

/// [`InvertedResidual::forward`] on a channels-last map.
pub fn inverted_residual(block: &InvertedResidual, input: Tensor<4>) -> Tensor<4> {
    let mut x = match &block.expand {
        Some(e) => conv_bn_act(e, input.clone()),
        None => input.clone(),
    };
    x = conv_bn_act(&block.depthwise, x);
    x = conv_bn_act(&block.project, x);
    if block.residual { x.add(input) } else { x }
}

/// [`Bottleneck::forward`] on a channels-last map.
pub fn bottleneck(block: &Bottleneck, x: Tensor<4>) -> Tensor<4> {
    let y = conv_relu(
        &block.expand,
        conv_relu(&block.conv, conv_relu(&block.reduce, x.clone())),
    );
    let shortcut = match &block.shortcut {
        Some(s) => conv_relu(s, x),
        None => x,
    };
    activation(y.add(shortcut), Bounds::RELU)
}

/// The 1×1 head on a channels-last map.
pub fn head(layer: &ConvBnAct, x: Tensor<4>) -> Tensor<4> {
    conv_bn_act(layer, x)
}

#[cfg(test)]
pub(super) mod tests {
    use autopilot_testkit::max_abs_diff;
    use burn::module::Module;
    use burn::tensor::{Device, TensorData};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::backbone::Backbone;
    use crate::device::{DeviceChoice, select_device};
    use crate::net::BackboneNet;
    use crate::network::Network;

    /// Uniform in ±8: wide enough that the ReLU6 clamps.
    pub fn random(shape: [usize; 4], rng: &mut ChaCha8Rng, device: &Device) -> Tensor<4> {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-8.0..8.0)).collect();
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    /// The output, the input's gradient and `weight`'s gradient of `f` on `x`, for the loss
    /// `Σ f(x) · r`.
    fn output_and_gradients(
        f: impl Fn(Tensor<4>) -> Tensor<4>,
        weight: &Tensor<4>,
        x: &Tensor<4>,
        r: &Tensor<4>,
    ) -> [Vec<f32>; 3] {
        let x = x.clone().autodiff().require_grad();
        let y = f(x.clone());
        let grads = y.clone().mul(r.clone().autodiff()).sum().backward();
        [
            values(y),
            values(x.grad(&grads).expect("input gradient")),
            values(weight.grad(&grads).expect("weight gradient")),
        ]
    }

    /// Channels-last and channels-first forward passes agree, and so do their gradients.
    fn assert_same(
        channels_first: impl Fn(Tensor<4>) -> Tensor<4>,
        channels_last: impl Fn(Tensor<4>) -> Tensor<4>,
        weight: &Tensor<4>,
        x: &Tensor<4>,
        r: &Tensor<4>,
    ) {
        let want = output_and_gradients(channels_first, weight, x, r);
        let got = output_and_gradients(
            |x| to_channels_first(channels_last(from_channels_first(x))),
            weight,
            x,
            r,
        );
        let names = ["output", "input gradient", "weight gradient"];
        for (what, (w, g)) in names.iter().zip(want.iter().zip(&got)) {
            assert_within_1e5_of_largest(w, g, what);
        }
    }

    /// `got` agrees with `want` within 1e-5 of `want`'s largest magnitude (at least 1).
    pub fn assert_within_1e5_of_largest(want: &[f32], got: &[f32], what: &str) {
        assert_eq!(want.len(), got.len(), "{what}");
        let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
        let d = max_abs_diff(want, got);
        assert!(
            d < 1e-5 * scale,
            "{what}: max |Δ| {d} (largest |value| {scale})"
        );
    }

    /// Dense convolutions: as one product where they keep the map's size (3×3 and 5×5, explicit
    /// or `Same` padding), burn's otherwise (stride 2, no padding); all as burn computes them.
    #[test]
    fn dense_convolutions_match_burns() {
        use burn::nn::conv::Conv2dConfig;
        let device = select_device(DeviceChoice::Cpu).unwrap().device;
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let cases = [
            (3, 1, PaddingConfig2d::Explicit(1, 1, 1, 1), true),
            (5, 1, PaddingConfig2d::Same, true),
            (3, 1, PaddingConfig2d::Same, true),
            (3, 2, PaddingConfig2d::Explicit(1, 1, 1, 1), false),
            (3, 1, PaddingConfig2d::Valid, false),
        ];
        for (k, stride, padding, one_product) in cases {
            let conv = Conv2dConfig::new([6, 5], [k, k])
                .with_stride([stride, stride])
                .with_padding(padding.clone())
                .init(&device);
            assert_eq!(
                same_size_padding(&conv).is_some(),
                one_product,
                "{k} {padding:?}"
            );
            let x = random([2, 6, 9, 7], &mut rng, &device);
            let want = values(conv.forward(x.clone()));
            let got = values(to_channels_first(convolve(&conv, from_channels_first(x))));
            assert_eq!(want.len(), got.len());
            let d = max_abs_diff(&want, &got);
            assert!(d < 1e-4, "{k}×{k} stride {stride} {padding:?}: max |Δ| {d}");
        }
    }

    /// Strided first bottlenecks (with their projection shortcut) and plain ones, on an odd map
    /// (the stride-2 1×1 convolutions then keep ⌈9/2⌉ positions, as burn's do).
    #[test]
    fn bottlenecks_match_the_channels_first_layers() {
        let device = select_device(DeviceChoice::Cpu).unwrap().device;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let Network::Bottleneck(net) = Network::placeholder(Backbone::ResNet50Half, &device) else {
            panic!("the ResNet is a bottleneck network")
        };
        let net = net.train();
        let strided = net
            .blocks
            .iter()
            .find(|b| b.shortcut.is_some() && b.reduce.conv.stride[0] == 2);
        let plain = net.blocks.last().unwrap();
        for block in [strided.expect("a strided first block"), plain] {
            let c = block.reduce.conv.weight.dims()[1];
            let x = random([2, c, 9, 9], &mut rng, &device);
            let out = block.forward(x.clone()).dims();
            let r = random(out, &mut rng, &device);
            let layers = [&block.reduce, &block.conv, &block.expand];
            for layer in layers.into_iter().chain(&block.shortcut) {
                let weight = layer.conv.weight.val();
                assert_same(
                    |x| block.forward(x),
                    |x| bottleneck(block, x),
                    &weight,
                    &x,
                    &r,
                );
            }
        }
    }

    /// Inverted-residual blocks (strided, residual, with and without an expansion), fused as
    /// the tail trains them and with their batch norms (run as they are).
    #[test]
    fn inverted_residuals_match_the_channels_first_layers() {
        let device = select_device(DeviceChoice::Cpu).unwrap().device;
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for backbone in [Backbone::MobileNetV2, Backbone::EfficientNetLite0] {
            let unfused = BackboneNet::new(&backbone.arch(), &device);
            let Network::Inverted(fused) = Network::placeholder(backbone, &device) else {
                panic!("{backbone} is an inverted-residual network")
            };
            for net in [unfused.valid(), fused.train()] {
                let picks = [0, 1, 2, net.blocks.len() - 1];
                for block in picks.iter().map(|&i| &net.blocks[i]) {
                    let c = block.depthwise.conv.weight.dims()[0];
                    let c_in = block.expand.as_ref().map_or(c, |e| e.conv.weight.dims()[1]);
                    let x = random([2, c_in, 9, 9], &mut rng, &device);
                    let r = random(block.forward(x.clone()).dims(), &mut rng, &device);
                    let weight = block.project.conv.weight.val();
                    if weight.is_tracked() {
                        for weight in [weight, block.depthwise.conv.weight.val()] {
                            assert_same(
                                |x| block.forward(x),
                                |x| inverted_residual(block, x),
                                &weight,
                                &x,
                                &r,
                            );
                        }
                    } else {
                        let want = values(block.forward(x.clone()));
                        let got = values(to_channels_first(inverted_residual(
                            block,
                            from_channels_first(x),
                        )));
                        assert!(max_abs_diff(&want, &got) < 1e-4, "{backbone}");
                    }
                }
                let head = &net.head;
                let c = head.conv.weight.dims()[1];
                let x = random([2, c, 5, 5], &mut rng, &device);
                let want = values(head.forward(x.clone()));
                let got = values(to_channels_first(super::head(head, from_channels_first(x))));
                assert!(max_abs_diff(&want, &got) < 1e-4, "{backbone} head");
            }
        }
    }
}
