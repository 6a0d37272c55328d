//! A depthwise convolution on a channels-last map as one autodiff operation of burn's CPU
//! backend (`Autodiff<Flex>`): the forward pass is the inference kernel
//! ([`crate::cpu::depthwise`]), the backward pass [`crate::cpu::depthwise_grad`]. burn's own
//! `conv2d` runs a depthwise layer one channel at a time, forward and backward (27 ms for a
//! 960-channel 3×3 at 7×7, batch 32, one thread: `neural_bench finetune_profile`), and bounded
//! the inverted-residual tails' training. Maps on any other backend (wgpu) or without
//! autodiff get `None` and stay on burn's convolution.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

use super::cpu_tensor::{contiguous, cpu_autodiff, flex, from_cpu_autodiff, record, slice, values};
use crate::backbone::PaddingStyle;
use crate::cpu::depthwise::{DepthwiseWeights, depthwise};
use crate::cpu::depthwise_grad::depthwise_grads;
use crate::cpu::geometry::ConvGeometry;

/// `conv` (a depthwise convolution, its bias included) on the channels-last map `x`
/// (`[b, h, w, c]` → `[b, out_h, out_w, c]`) as one operation with its own backward pass, or
/// `None` when it does not apply (another backend, no autodiff, not f32, a layer that is not
/// depthwise or has a padding other than symmetric `k/2` or `Same`).
pub fn depthwise_channels_last(conv: &Conv2d, x: &Tensor<4>) -> Option<Tensor<4>> {
    let [b, h, w, c] = x.dims();
    let geom = geometry(conv, [h, w, c])?;
    let weight = conv.weight.val();
    let bias = match &conv.bias {
        Some(bias) => bias.val(),
        None => Tensor::<1>::zeros([c], &x.device()).autodiff(),
    };
    let (xp, wp, bp) = (
        cpu_autodiff(x.clone())?,
        cpu_autodiff(weight)?,
        cpu_autodiff(bias)?,
    );
    let (weight_values, bias_values) = (values(wp.primitive())?, values(bp.primitive())?);
    let x_values = contiguous(xp.primitive());
    let weights = DepthwiseWeights {
        weight: tap_major(&weight_values, c, geom.kernel),
        bias: bias_values,
        channels: c,
        relu6: false,
    };
    let out = forward(&x_values, &geom, &weights, b);
    let state = DepthwiseState {
        x: x_values,
        weight: weights.weight,
        geom,
        channels: c,
    };
    let nodes = [xp.node(), wp.node(), bp.node()];
    let output = record(DepthwiseBackward, nodes, state, out);
    Some(from_cpu_autodiff(output))
}

/// The layer's geometry on an `h × w × c` map when `conv` is a depthwise convolution (one
/// filter per channel, square kernel and stride, no dilation) with a padding the CPU kernels
/// share: symmetric `k/2` or burn's `Same` (TensorFlow's, the extra pixel after).
fn geometry(conv: &Conv2d, [h, w, c]: [usize; 3]) -> Option<ConvGeometry> {
    let [o, per_group, k, k2] = conv.weight.dims();
    let [s, s2] = conv.stride;
    let depthwise = conv.groups == c && o == c && per_group == 1;
    let square = k == k2 && s == s2 && conv.dilation == [1, 1] && k % 2 == 1;
    let style = match conv.padding {
        PaddingConfig2d::Same => PaddingStyle::TfSame,
        PaddingConfig2d::Explicit(t, l, b, r) if [t, l, b, r] == [k / 2; 4] => {
            PaddingStyle::Symmetric
        }
        _ => return None,
    };
    (depthwise && square && h > 0 && w > 0).then(|| ConvGeometry::new(h, w, k, s, style))
}

/// The module's `[c, 1, k, k]` weight as `k² × c` (tap-major, channel fastest).
fn tap_major(weight: &[f32], c: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0f32; weight.len()];
    for (ch, filter) in weight.chunks_exact(k * k).enumerate() {
        for (tap, &v) in filter.iter().enumerate() {
            out[tap * c + ch] = v;
        }
    }
    out
}

/// A `k² × c` weight gradient back in the module's `[c, 1, k, k]` layout.
fn channel_major(weight: &[f32], c: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0f32; weight.len()];
    for (tap, row) in weight.chunks_exact(c).enumerate() {
        for (ch, &v) in row.iter().enumerate() {
            out[ch * k * k + tap] = v;
        }
    }
    out
}

/// The layer on a batch of `b` images, each on one thread.
fn forward(x: &FlexTensor, g: &ConvGeometry, layer: &DepthwiseWeights, b: usize) -> FlexTensor {
    let c = layer.channels;
    let x = slice(x);
    let (in_len, out_len) = (g.in_h * g.in_w * c, g.out_h * g.out_w * c);
    let mut out = vec![0f32; b * out_len];
    out.par_chunks_mut(out_len)
        .zip(x.par_chunks(in_len))
        .for_each(|(out, x)| depthwise(x, g, layer, out, false));
    flex(out, [b, g.out_h, g.out_w, c])
}

/// What the backward pass reads: the input, the weights (tap-major) and the geometry.
#[derive(Debug, Clone)]
struct DepthwiseState {
    x: FlexTensor,
    weight: Vec<f32>,
    geom: ConvGeometry,
    channels: usize,
}

#[derive(Debug)]
struct DepthwiseBackward;

impl Backward<Flex, 3> for DepthwiseBackward {
    type State = DepthwiseState;

    fn backward(self, ops: Ops<DepthwiseState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let dy = contiguous(&grads.consume::<Flex>(&ops.node));
        let DepthwiseState {
            x,
            weight,
            geom,
            channels: c,
        } = ops.state;
        let (x_values, dy_values) = (slice(&x), slice(&dy));
        let g = depthwise_grads(x_values, &weight, dy_values, &geom, c, node_x.is_some());
        let k = geom.kernel;
        if let Some(node) = node_x {
            let b = x_values.len() / (geom.in_h * geom.in_w * c);
            grads.register::<Flex>(node.id, flex(g.x, [b, geom.in_h, geom.in_w, c]));
        }
        if let Some(node) = node_weight {
            let dw = channel_major(&g.weight, c, k);
            grads.register::<Flex>(node.id, flex(dw, [c, 1, k, k]));
        }
        if let Some(node) = node_bias {
            grads.register::<Flex>(node.id, flex(g.bias, [c]));
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::nn::conv::Conv2dConfig;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::device::{DeviceChoice, select_device};
    use crate::finetune::channels_last::tests::{
        assert_within_1e5_of_largest, random, values as vals,
    };
    use crate::finetune::channels_last::{from_channels_first, to_channels_first};

    /// Output and the input, weight and bias gradients of `f` for the loss `Σ f(x)·r`.
    fn output_and_gradients(
        conv: &Conv2d,
        f: impl Fn(Tensor<4>) -> Tensor<4>,
        x: &Tensor<4>,
        r: &Tensor<4>,
    ) -> [Vec<f32>; 4] {
        let x = x.clone().autodiff().require_grad();
        let y = f(x.clone());
        let grads = y.clone().mul(r.clone().autodiff()).sum().backward();
        let bias = conv.bias.as_ref().expect("a bias").val();
        [
            vals(y),
            vals(x.grad(&grads).expect("input gradient")),
            vals(conv.weight.val().grad(&grads).expect("weight gradient")),
            vals(bias.grad(&grads).expect("bias gradient")),
        ]
    }

    /// On burn's CPU backend the operation runs (not the fallback) and matches burn's grouped
    /// convolution: output and all three gradients, strides 1 and 2, kernels 3 and 5,
    /// symmetric and `Same` padding, odd maps and a channel count off every vector width.
    #[test]
    fn matches_burns_depthwise_convolution_and_its_gradients() {
        let device = select_device(DeviceChoice::Cpu).unwrap().device;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let c = 37;
        for (k, stride, padding) in [
            (3, 1, PaddingConfig2d::Explicit(1, 1, 1, 1)),
            (3, 2, PaddingConfig2d::Explicit(1, 1, 1, 1)),
            (5, 2, PaddingConfig2d::Same),
            (5, 1, PaddingConfig2d::Explicit(2, 2, 2, 2)),
            (3, 2, PaddingConfig2d::Same),
        ] {
            let conv = Conv2dConfig::new([c, c], [k, k])
                .with_groups(c)
                .with_stride([stride, stride])
                .with_padding(padding.clone())
                .init(&device)
                .train();
            let x = random([3, c, 9, 8], &mut rng, &device);
            let out = conv.forward(x.clone()).dims();
            let r = random(out, &mut rng, &device);
            let want = output_and_gradients(&conv, |x| conv.forward(x), &x, &r);
            let got = output_and_gradients(
                &conv,
                |x| {
                    let y = depthwise_channels_last(&conv, &from_channels_first(x));
                    to_channels_first(y.expect("the CPU operation, not the fallback"))
                },
                &x,
                &r,
            );
            let names = [
                "output",
                "input gradient",
                "weight gradient",
                "bias gradient",
            ];
            for (what, (w, g)) in names.iter().zip(want.iter().zip(&got)) {
                assert_within_1e5_of_largest(w, g, &format!("{k}×{k}/{stride} {padding:?} {what}"));
            }
        }
    }

    /// Without autodiff, or on a layer that is not depthwise, the map comes back untouched; a
    /// depthwise layer without bias runs (with a zero bias).
    #[test]
    fn falls_back_off_autodiff_and_on_other_layers() {
        let device = select_device(DeviceChoice::Cpu).unwrap().device;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let depthwise = Conv2dConfig::new([4, 4], [3, 3])
            .with_groups(4)
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(false)
            .init(&device);
        let x = random([1, 5, 5, 4], &mut rng, &device);
        assert!(depthwise_channels_last(&depthwise, &x).is_none());
        let trained = depthwise.clone().train();
        let want = vals(trained.forward(x.clone().autodiff().permute([0, 3, 1, 2])));
        let got = depthwise_channels_last(&trained, &x.clone().autodiff()).expect("no bias runs");
        assert_within_1e5_of_largest(&want, &vals(to_channels_first(got)), "no bias");
        let dense = Conv2dConfig::new([4, 4], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device)
            .train();
        assert!(depthwise_channels_last(&dense, &x.clone().autodiff()).is_none());
        let valid = Conv2dConfig::new([4, 4], [3, 3])
            .with_groups(4)
            .with_padding(PaddingConfig2d::Valid)
            .init(&device)
            .train();
        assert!(depthwise_channels_last(&valid, &x.autodiff()).is_none());
    }

    #[test]
    fn weight_layouts_round_trip() {
        let (c, k) = (5, 3);
        let w: Vec<f32> = (0..c * k * k).map(|v| v as f32).collect();
        let t = tap_major(&w, c, k);
        // Channel 2's tap 4 (`w[2·9 + 4]`) lands at `t[4·5 + 2]`.
        assert_eq!(t[4 * c + 2], w[2 * k * k + 4]);
        assert_eq!(channel_major(&t, c, k), w);
    }
}
