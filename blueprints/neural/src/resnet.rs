//! The bottleneck ResNet on burn (ResNet-50-1by2): forward pass with feature taps, and its
//! weights read from the published ONNX graph with every batch norm folded in.

use std::path::Path;

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};

use crate::backbone::{ArchSpec, BlockSpec, Family};
use crate::error::{NeuralError, Result};
use crate::level::FeatureLevel;
use crate::net::global_avg_pool;
use crate::onnx::{Constant, ConvLayer, read_convolutions};

/// A convolution with bias (batch norm folded in) and an optional ReLU.
#[derive(Module, Debug)]
pub struct ConvRelu {
    /// The convolution.
    pub conv: Conv2d,
    /// Whether ReLU follows.
    #[module(skip)]
    pub relu: bool,
}

impl ConvRelu {
    fn new(
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        relu: bool,
        device: &Device,
    ) -> Self {
        let p = kernel / 2;
        let conv = Conv2dConfig::new(channels, [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
            .init(device);
        ConvRelu { conv, relu }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.conv.forward(x);
        if self.relu { y.clamp_min(0.0) } else { y }
    }
}

/// ResNet v1 bottleneck: 1×1 reduce (strided) → 3×3 → 1×1 expand, plus the input or its strided
/// 1×1 projection, then ReLU.
#[derive(Module, Debug)]
pub struct Bottleneck {
    /// 1×1 reduction, carrying the block's stride.
    pub reduce: ConvRelu,
    /// 3×3 convolution.
    pub conv: ConvRelu,
    /// 1×1 expansion (no ReLU before the sum).
    pub expand: ConvRelu,
    /// Projection shortcut of a stage's first block.
    pub shortcut: Option<ConvRelu>,
}

impl Bottleneck {
    fn new(spec: &BlockSpec, device: &Device) -> Self {
        let (i, h, o) = (spec.in_channels, spec.hidden_channels, spec.out_channels);
        Bottleneck {
            reduce: ConvRelu::new([i, h], 1, spec.stride, true, device),
            conv: ConvRelu::new([h, h], spec.kernel, 1, true, device),
            expand: ConvRelu::new([h, o], 1, 1, false, device),
            shortcut: (!spec.residual())
                .then(|| ConvRelu::new([i, o], 1, spec.stride, false, device)),
        }
    }

    /// Forward pass.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self
            .expand
            .forward(self.conv.forward(self.reduce.forward(x.clone())));
        let shortcut = match &self.shortcut {
            Some(s) => s.forward(x),
            None => x,
        };
        y.add(shortcut).clamp_min(0.0)
    }

    /// The block's convolutions in the order the published graph lists them: reduce, 3×3,
    /// shortcut (first blocks only), expand.
    fn convs_mut(&mut self) -> Vec<&mut ConvRelu> {
        let mut convs = vec![&mut self.reduce, &mut self.conv];
        if let Some(s) = self.shortcut.as_mut() {
            convs.push(s);
        }
        convs.push(&mut self.expand);
        convs
    }
}

/// A bottleneck ResNet (batch norms folded into the convolutions).
#[derive(Module, Debug)]
pub struct ResNet {
    /// 7×7 stride-2 stem (followed by a 3×3 stride-2 max pool).
    pub stem: ConvRelu,
    /// The bottleneck blocks.
    pub blocks: Vec<Bottleneck>,
    /// The classifier on the pooled last stage.
    pub classifier: Linear,
    /// Index of the last block of each stage.
    #[module(skip)]
    pub stage_ends: Vec<usize>,
}

impl ResNet {
    /// A randomly initialised network with the given layout.
    pub fn new(arch: &ArchSpec, device: &Device) -> Self {
        let stem = ConvRelu::new([3, arch.stem_channels], 7, 2, true, device);
        let blocks = arch
            .blocks()
            .iter()
            .map(|s| Bottleneck::new(s, device))
            .collect();
        let classifier = LinearConfig::new(arch.head_channels, arch.num_classes).init(device);
        ResNet {
            stem,
            blocks,
            classifier,
            stage_ends: arch.stage_ends(),
        }
    }

    /// Like [`crate::net::BackboneNet::forward_maps`]: the unpooled maps of `levels` (stage
    /// outputs; see [`FeatureLevel::stage`]) and, if `logits`, the classifier's output. Stops
    /// after the deepest stage needed.
    pub fn forward_maps(
        &self,
        input: Tensor<4>,
        levels: &[FeatureLevel],
        logits: bool,
    ) -> (Vec<Tensor<4>>, Option<Tensor<2>>) {
        let last_block = self.blocks.len().saturating_sub(1);
        let tap = |l: &FeatureLevel| {
            l.stage(Family::Bottleneck)
                .and_then(|s| self.stage_ends.get(s).copied())
                .unwrap_or(last_block)
        };
        let last_needed = if logits {
            last_block
        } else {
            levels.iter().map(tap).max().unwrap_or(0)
        };
        let mut x = max_pool_same(self.stem.forward(input));
        let mut maps: Vec<Option<Tensor<4>>> = vec![None; levels.len()];
        for (i, block) in self.blocks.iter().take(last_needed + 1).enumerate() {
            x = block.forward(x);
            for (slot, level) in maps.iter_mut().zip(levels) {
                if tap(level) == i {
                    *slot = Some(x.clone());
                }
            }
        }
        let out_logits = logits.then(|| self.classifier.forward(global_avg_pool(x)));
        (maps.into_iter().flatten().collect(), out_logits)
    }

    /// Loads the published ONNX graph (`path`): each convolution's bias and batch norm
    /// (`Add(bias)`, `Sub(mean)`, `Mul(scale)`, `Add(shift)` after it) are folded into its
    /// weights, the stem's input channels are flipped from Caffe's BGR to RGB, and the
    /// `MatMul` + `Add` becomes the classifier. Every shape is checked against `arch`.
    pub fn from_onnx(arch: &ArchSpec, path: &Path, device: &Device) -> Result<Self> {
        if !path.is_file() {
            return Err(NeuralError::weight_load(path, "file not found"));
        }
        let err = |m: String| NeuralError::weight_load(path, m);
        let graph = read_convolutions(path, 4)?;
        let mut net = ResNet::new(arch, device);
        let mut targets: Vec<&mut ConvRelu> = vec![&mut net.stem];
        for block in net.blocks.iter_mut() {
            targets.extend(block.convs_mut());
        }
        if targets.len() != graph.convs.len() {
            return Err(err(format!(
                "{} convolutions in the graph, {} in the network",
                graph.convs.len(),
                targets.len()
            )));
        }
        for (k, (target, layer)) in targets.into_iter().zip(&graph.convs).enumerate() {
            // Shapes first: `fold` divides by the (then non-zero) output channels.
            let want = target.conv.weight.val().dims();
            if layer.weight.dims != want {
                return Err(err(format!(
                    "convolution {k}: weight {:?}, the network's is {want:?}",
                    layer.weight.dims
                )));
            }
            let (mut weight, bias) =
                fold(layer).map_err(|m| err(format!("convolution {k}: {m}")))?;
            if k == 0 {
                weight = flip_input_channels(&weight, &want);
            }
            target.conv.weight = param(weight, want.to_vec(), device);
            target.conv.bias = Some(param(bias, vec![want[0]], device));
        }
        let [(w, Some(b))] = graph.dense.as_slice() else {
            return Err(err(format!(
                "expected one MatMul + Add classifier, found {} products",
                graph.dense.len()
            )));
        };
        let want = [arch.head_channels, arch.num_classes];
        if w.dims != want || b.values.len() != arch.num_classes {
            return Err(err(format!(
                "classifier {:?} + {:?}, expected {want:?}",
                w.dims, b.dims
            )));
        }
        net.classifier.weight = param(w.values.clone(), want.to_vec(), device);
        net.classifier.bias = Some(param(b.values.clone(), vec![arch.num_classes], device));
        Ok(net)
    }
}

/// 3×3 stride-2 max pool with TensorFlow-"SAME" padding: the padding pixels go bottom/right,
/// as in the Keras port the weights were trained through.
fn max_pool_same(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let pad = |n: usize| (n.div_ceil(2).saturating_sub(1) * 2 + 3).saturating_sub(n);
    let (ph, pw) = (pad(h), pad(w));
    let options = MaxPoolOptions::new([3, 3])
        .with_stride([2, 2])
        .with_padding_pairs([(ph / 2, ph - ph / 2), (pw / 2, pw - pw / 2)]);
    max_pool2d(x, options)
}

/// `(weight, bias)` of a convolution with its `Add(bias) → Sub(mean) → Mul(scale) →
/// Add(shift)` folded in: `w·scale` and `(bias − mean)·scale + shift`, per output channel.
fn fold(layer: &ConvLayer) -> std::result::Result<(Vec<f32>, Vec<f32>), String> {
    let out = layer.weight.dims[0];
    let ops: Vec<&str> = layer.affine.iter().map(|(o, _)| o.as_str()).collect();
    if ops != ["Add", "Sub", "Mul", "Add"] {
        return Err(format!("constants {ops:?}, expected Add, Sub, Mul, Add"));
    }
    let channel = |c: &Constant| -> std::result::Result<Vec<f32>, String> {
        if c.values.len() == out {
            Ok(c.values.clone())
        } else {
            Err(format!("{} constants for {out} channels", c.values.len()))
        }
    };
    let [bias, mean, scale, shift] = [0, 1, 2, 3].map(|i| channel(&layer.affine[i].1));
    let (bias, mean, scale, shift) = (bias?, mean?, scale?, shift?);
    let per_out = layer.weight.values.len() / out;
    let weight = layer
        .weight
        .values
        .iter()
        .enumerate()
        .map(|(i, w)| w * scale[i / per_out])
        .collect();
    let bias = (0..out)
        .map(|o| (bias[o] - mean[o]) * scale[o] + shift[o])
        .collect();
    Ok((weight, bias))
}

/// An `[out, in, kh, kw]` weight with its input channels in reverse order.
fn flip_input_channels(weight: &[f32], dims: &[usize; 4]) -> Vec<f32> {
    let [out, inp, kh, kw] = *dims;
    let plane = kh * kw;
    let mut flipped = vec![0.0; weight.len()];
    for o in 0..out {
        for c in 0..inp {
            let from = (o * inp + c) * plane;
            let to = (o * inp + inp - 1 - c) * plane;
            flipped[to..to + plane].copy_from_slice(&weight[from..from + plane]);
        }
    }
    flipped
}

fn param<const D: usize>(values: Vec<f32>, dims: Vec<usize>, device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, dims), device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::Backbone;
    use burn::tensor::Distribution;

    #[test]
    fn stage_outputs_and_logits_have_the_layout_shapes() {
        let _rng = crate::flex_rng_lock();
        let device = Device::flex();
        device.seed(11);
        let arch = Backbone::ResNet50Half.arch();
        let net = ResNet::new(&arch, &device);
        // 65 px: odd sizes exercise the bottom/right max-pool padding.
        let x = Tensor::<4>::random([2, 3, 65, 65], Distribution::Default, &device);
        let (maps, logits) = net.forward_maps(x, &FeatureLevel::ALL, true);
        let dims: Vec<[usize; 4]> = maps.iter().map(|m| m.dims()).collect();
        let want: Vec<[usize; 4]> = FeatureLevel::ALL
            .iter()
            .map(|l| {
                let (c, h, w) = l.map_shape(&arch, 65);
                [2, c, h, w]
            })
            .collect();
        assert_eq!(dims, want);
        assert_eq!(logits.unwrap().dims(), [2, 2]);
    }

    #[test]
    fn the_max_pool_pads_bottom_right_like_tensorflow() {
        let device = Device::flex();
        // 4×4 ramp: TF "SAME" windows start at 0 and 2, so the maxima are at rows/columns 2
        // and 3 (symmetric padding would start at −1 and 1 and give rows 1 and 3).
        let values: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let x = Tensor::<4>::from_data(TensorData::new(values, [1, 1, 4, 4]), &device);
        let y = max_pool_same(x).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(y, vec![10.0, 11.0, 14.0, 15.0]);
    }

    #[test]
    fn a_file_that_is_not_the_graph_is_an_error_naming_it() {
        let device = Device::flex();
        let arch = Backbone::ResNet50Half.arch();
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.onnx");
        let e = ResNet::from_onnx(&arch, &missing, &device).unwrap_err();
        assert!(e.to_string().contains("none.onnx"), "{e}");
        // An empty file is a valid, empty protobuf: no graph.
        let empty = dir.path().join("empty.onnx");
        std::fs::write(&empty, b"").unwrap();
        let e = ResNet::from_onnx(&arch, &empty, &device)
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty.onnx") && e.contains("no graph"), "{e}");
        // A zip (a PyTorch checkpoint, say) is no ONNX model.
        let zip = dir.path().join("weights.pth");
        std::fs::write(&zip, b"PK\x03\x04\x14\x00\x00\x00\x08\x00garbage").unwrap();
        let e = ResNet::from_onnx(&arch, &zip, &device)
            .unwrap_err()
            .to_string();
        assert!(e.contains("weights.pth"), "{e}");
    }

    #[test]
    fn folding_and_flipping_keep_the_arithmetic() {
        let c = |v: &[f32]| Constant {
            dims: vec![1, 1, 1, v.len()],
            values: v.to_vec(),
        };
        let layer = ConvLayer {
            weight: Constant {
                dims: vec![2, 1, 1, 1],
                values: vec![2.0, -1.0],
            },
            affine: vec![
                ("Add".into(), c(&[1.0, 0.0])),
                ("Sub".into(), c(&[0.5, 2.0])),
                ("Mul".into(), c(&[3.0, 0.5])),
                ("Add".into(), c(&[0.0, 1.0])),
            ],
        };
        let (w, b) = fold(&layer).unwrap();
        // x = 1: ((2 + 1) − 0.5)·3 + 0 = 7.5 and ((−1 + 0) − 2)·0.5 + 1 = −0.5.
        assert_eq!((w[0] + b[0], w[1] + b[1]), (7.5, -0.5));
        let mut wrong = layer.clone();
        wrong.affine.swap(1, 2);
        assert!(
            fold(&wrong)
                .unwrap_err()
                .contains("expected Add, Sub, Mul, Add")
        );
        let flipped = flip_input_channels(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3, 1, 1]);
        assert_eq!(flipped, vec![3.0, 2.0, 1.0, 6.0, 5.0, 4.0]);
    }
}
