//! The pretrained backbones: names, input geometry, normalization and block layout.
//!
//! MobileNetV2 and EfficientNet-Lite are stacks of inverted-residual blocks (1×1 expand → k×k
//! depthwise → 1×1 project) between a 3×3 stride-2 stem and a 1×1 head to 1280 channels, with
//! ReLU6 activations. They differ in padding (torchvision pads k/2 on every side, the
//! EfficientNet-Lite port pads TensorFlow-"SAME", asymmetrically), batch-norm epsilon and
//! channel/depth scaling. ResNet-50-1by2 is a ResNet v1 of bottleneck blocks (see
//! [`crate::resnet`]).

use crate::error::{NeuralError, Result};

/// A pretrained ImageNet backbone of the model zoo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backbone {
    /// torchvision MobileNetV2 (IMAGENET1K_V1 weights).
    MobileNetV2,
    /// EfficientNet-Lite0 (224 px).
    EfficientNetLite0,
    /// EfficientNet-Lite1 (240 px).
    EfficientNetLite1,
    /// EfficientNet-Lite2 (260 px).
    EfficientNetLite2,
    /// ResNet-50-1by2 (ResNet-50 at half width), Yahoo's Open-NSFW network: trained on
    /// ImageNet, then fine-tuned to tell NSFW images apart (its classifier has 2 outputs).
    ResNet50Half,
}

/// How a backbone's blocks are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Inverted residuals (1×1 expand → k×k depthwise → 1×1 project) and a 1×1 head.
    InvertedResidual,
    /// ResNet v1 bottlenecks (1×1 reduce, strided → 3×3 → 1×1 expand, with a strided 1×1
    /// projection shortcut in each stage's first block) after a 7×7 stem and a 3×3 max pool;
    /// the last stage feeds the classifier directly.
    Bottleneck,
}

/// Per-channel normalization `(x − mean) / std` on 0..255 pixel values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Per-channel mean (RGB), in 0..255 units.
    pub mean: [f32; 3],
    /// Per-channel standard deviation (RGB), in 0..255 units.
    pub std: [f32; 3],
}

/// Zero padding of the convolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaddingStyle {
    /// `k/2` on every side (PyTorch/torchvision).
    Symmetric,
    /// TensorFlow "SAME": output = ceil(input/stride), the extra pixel goes bottom/right.
    TfSame,
}

/// One stage: `repeats` blocks with the same output channels; only the first one strides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageSpec {
    /// Inverted residuals: the hidden (depthwise) width over the block input width.
    /// Bottlenecks: the output width over the inner (3×3) width.
    pub expand_ratio: usize,
    /// Depthwise kernel size.
    pub kernel: usize,
    /// Stride of the first block.
    pub stride: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Number of blocks.
    pub repeats: usize,
}

/// One inverted-residual block, resolved from its stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSpec {
    /// Input channels.
    pub in_channels: usize,
    /// Hidden channels: the expanded width of an inverted residual (equal to `in_channels`
    /// when there is no expansion), the inner width of a bottleneck.
    pub hidden_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Depthwise kernel size.
    pub kernel: usize,
    /// Depthwise stride.
    pub stride: usize,
}

impl BlockSpec {
    /// Whether the block has a 1×1 expansion convolution.
    pub fn has_expand(&self) -> bool {
        self.hidden_channels != self.in_channels
    }

    /// Whether the block adds its input to its output.
    pub fn residual(&self) -> bool {
        self.stride == 1 && self.in_channels == self.out_channels
    }
}

/// The full layer layout of a backbone.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchSpec {
    /// The block family.
    pub family: Family,
    /// Stem output channels.
    pub stem_channels: usize,
    /// The stages (seven inverted-residual ones, four bottleneck ones).
    pub stages: Vec<StageSpec>,
    /// Head (last 1×1 conv) output channels; a bottleneck net has no head and this is its last
    /// stage's width.
    pub head_channels: usize,
    /// Number of classifier outputs.
    pub num_classes: usize,
    /// Batch-norm epsilon.
    pub bn_eps: f64,
    /// Convolution padding convention.
    pub padding: PaddingStyle,
}

impl ArchSpec {
    /// The blocks, stage after stage.
    pub fn blocks(&self) -> Vec<BlockSpec> {
        let mut blocks = Vec::new();
        let mut in_channels = self.stem_channels;
        for stage in &self.stages {
            for r in 0..stage.repeats {
                let hidden_channels = match self.family {
                    Family::InvertedResidual => in_channels * stage.expand_ratio,
                    Family::Bottleneck => stage.out_channels / stage.expand_ratio,
                };
                blocks.push(BlockSpec {
                    in_channels,
                    hidden_channels,
                    out_channels: stage.out_channels,
                    kernel: stage.kernel,
                    stride: if r == 0 { stage.stride } else { 1 },
                });
                in_channels = stage.out_channels;
            }
        }
        blocks
    }

    /// Multiply-adds of one forward pass on a `side` × `side` image, to the logits: every
    /// convolution and the classifier (batch norms folded away, activations and pooling not
    /// counted), the figure torchvision quotes as "GFLOPS". Both padding styles give
    /// `ceil(side / stride)` outputs.
    pub fn multiply_adds(&self, side: usize) -> u64 {
        if self.family == Family::Bottleneck {
            return self.bottleneck_multiply_adds(side);
        }
        let mut hw = side.div_ceil(2);
        let mut macs = (hw * hw * 3 * 3 * 3 * self.stem_channels) as u64;
        let mut last = self.stem_channels;
        for b in self.blocks() {
            if b.has_expand() {
                macs += (hw * hw * b.in_channels * b.hidden_channels) as u64;
            }
            hw = hw.div_ceil(b.stride);
            macs += (hw * hw * b.kernel * b.kernel * b.hidden_channels) as u64;
            macs += (hw * hw * b.hidden_channels * b.out_channels) as u64;
            last = b.out_channels;
        }
        macs += (hw * hw * last * self.head_channels) as u64;
        macs + (self.head_channels * self.num_classes) as u64
    }

    /// [`ArchSpec::multiply_adds`] of a bottleneck net: the 7×7 stem, every block's three
    /// convolutions and projection shortcut, and the classifier.
    fn bottleneck_multiply_adds(&self, side: usize) -> u64 {
        let mut hw = side.div_ceil(2);
        let mut macs = (hw * hw * 7 * 7 * 3 * self.stem_channels) as u64;
        hw = hw.div_ceil(2); // the max pool
        for b in self.blocks() {
            hw = hw.div_ceil(b.stride);
            let pixels = (hw * hw) as u64;
            let (i, h, o) = (b.in_channels, b.hidden_channels, b.out_channels);
            macs += pixels * (i * h + b.kernel * b.kernel * h * h + h * o) as u64;
            if !b.residual() {
                macs += pixels * (i * o) as u64;
            }
        }
        macs + (self.head_channels * self.num_classes) as u64
    }

    /// Values in the largest tensor of one image's forward pass on a `side` × `side` input:
    /// the input, every convolution's output and every k×k convolution's padded input (in
    /// case a kernel pads a copy). Bounds how many images a device's largest buffer holds.
    pub fn largest_map(&self, side: usize) -> usize {
        let stem_kernel = match self.family {
            Family::InvertedResidual => 3,
            Family::Bottleneck => 7,
        };
        let padded_input = side + stem_kernel - 1;
        let mut hw = side.div_ceil(2);
        let mut largest = (3 * padded_input * padded_input).max(self.stem_channels * hw * hw);
        if self.family == Family::Bottleneck {
            // The 3×3 max pool's padded input.
            largest = largest.max(self.stem_channels * (hw + 2) * (hw + 2));
        }
        hw = self.stem_side(side);
        for b in self.blocks() {
            let padded = hw + b.kernel - 1;
            largest = largest.max(b.hidden_channels * padded * padded);
            hw = hw.div_ceil(b.stride);
            largest = largest.max(b.hidden_channels.max(b.out_channels) * hw * hw);
        }
        largest.max(self.head_channels * hw * hw)
    }

    /// Side of the map after the stem (and, in a bottleneck net, the max pool) on a
    /// `side` × `side` input.
    pub fn stem_side(&self, side: usize) -> usize {
        match self.family {
            Family::InvertedResidual => side.div_ceil(2),
            Family::Bottleneck => side.div_ceil(2).div_ceil(2),
        }
    }

    /// Index (into [`ArchSpec::blocks`]) of the last block of each stage.
    pub fn stage_ends(&self) -> Vec<usize> {
        let mut ends = Vec::with_capacity(self.stages.len());
        let mut n = 0;
        for stage in &self.stages {
            n += stage.repeats;
            ends.push(n - 1);
        }
        ends
    }
}

/// torchvision `_make_divisible`-free MobileNetV2 at width 1.0: (t, c, n, s) per stage.
const MOBILENET_V2_STAGES: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// EfficientNet-Lite base stages (repeats, kernel, stride, expand, out) before scaling.
const LITE_STAGES: [(usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
];

/// EfficientNet `round_filters`: scale by the width multiplier, round to a multiple of 8,
/// never more than 10% down.
fn round_filters(filters: usize, width: f64) -> usize {
    let divisor = 8.0;
    let scaled = filters as f64 * width;
    let mut rounded = ((scaled + divisor / 2.0) / divisor).floor() * divisor;
    rounded = rounded.max(divisor);
    if rounded < 0.9 * scaled {
        rounded += divisor;
    }
    rounded as usize
}

/// EfficientNet `round_repeats`: ceil(depth × repeats).
fn round_repeats(repeats: usize, depth: f64) -> usize {
    (depth * repeats as f64 - 1e-9).ceil() as usize
}

impl Backbone {
    /// Every backbone of the zoo.
    pub const ALL: [Backbone; 5] = [
        Backbone::MobileNetV2,
        Backbone::EfficientNetLite0,
        Backbone::EfficientNetLite1,
        Backbone::EfficientNetLite2,
        Backbone::ResNet50Half,
    ];

    /// The zoo name (`mobilenet-v2`, `efficientnet-lite0`, …).
    pub fn name(self) -> &'static str {
        match self {
            Backbone::MobileNetV2 => "mobilenet-v2",
            Backbone::EfficientNetLite0 => "efficientnet-lite0",
            Backbone::EfficientNetLite1 => "efficientnet-lite1",
            Backbone::EfficientNetLite2 => "efficientnet-lite2",
            Backbone::ResNet50Half => "resnet50-1by2",
        }
    }

    /// The block family.
    pub fn family(self) -> Family {
        self.arch().family
    }

    /// Whether the backbone's classifier predicts the 1,000 ImageNet classes (ResNet-50-1by2's
    /// predicts NSFW / not NSFW).
    pub fn classifies_imagenet(self) -> bool {
        self.own_class_names().is_none()
    }

    /// The names of the classifier's classes when they are not ImageNet's, in output order.
    pub fn own_class_names(self) -> Option<&'static [&'static str]> {
        match self {
            Backbone::ResNet50Half => Some(&["safe for work", "NSFW"]),
            _ => None,
        }
    }

    /// Parses a zoo name (also accepts `_` for `-`, case-insensitive).
    pub fn from_name(name: &str) -> Result<Self> {
        let norm = name.trim().to_ascii_lowercase().replace('_', "-");
        let norm = if norm == "mobilenetv2" {
            "mobilenet-v2".to_string()
        } else {
            norm
        };
        Backbone::ALL
            .into_iter()
            .find(|b| b.name() == norm)
            .ok_or_else(|| NeuralError::UnknownBackbone(name.to_string()))
    }

    /// Side of the square network input (the centre crop).
    pub fn input_size(self) -> usize {
        match self {
            Backbone::MobileNetV2 | Backbone::EfficientNetLite0 | Backbone::ResNet50Half => 224,
            Backbone::EfficientNetLite1 => 240,
            Backbone::EfficientNetLite2 => 260,
        }
    }

    /// The shorter image side is resized to this before the centre crop.
    pub fn resize_to(self) -> usize {
        match self {
            Backbone::MobileNetV2 | Backbone::ResNet50Half => 256,
            _ => self.input_size() + 32,
        }
    }

    /// Input normalization.
    pub fn normalization(self) -> Normalization {
        match self {
            Backbone::MobileNetV2 => Normalization {
                mean: [0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0],
                std: [0.229 * 255.0, 0.224 * 255.0, 0.225 * 255.0],
            },
            // Caffe's: the training set's channel means, no scaling (the network takes RGB;
            // the loader flips the stem's BGR input channels).
            Backbone::ResNet50Half => Normalization {
                mean: [123.0, 117.0, 104.0],
                std: [1.0; 3],
            },
            _ => Normalization {
                mean: [127.0; 3],
                std: [128.0; 3],
            },
        }
    }

    /// The layer layout.
    pub fn arch(self) -> ArchSpec {
        match self {
            Backbone::MobileNetV2 => ArchSpec {
                family: Family::InvertedResidual,
                stem_channels: 32,
                stages: MOBILENET_V2_STAGES
                    .iter()
                    .map(|&(t, c, n, s)| StageSpec {
                        expand_ratio: t,
                        kernel: 3,
                        stride: s,
                        out_channels: c,
                        repeats: n,
                    })
                    .collect(),
                head_channels: 1280,
                num_classes: 1000,
                bn_eps: 1e-5,
                padding: PaddingStyle::Symmetric,
            },
            Backbone::EfficientNetLite0 => lite_arch(1.0, 1.0),
            Backbone::EfficientNetLite1 => lite_arch(1.0, 1.1),
            Backbone::EfficientNetLite2 => lite_arch(1.1, 1.2),
            Backbone::ResNet50Half => resnet50_half_arch(),
        }
    }
}

/// EfficientNet-Lite layout: stem, head and the repeats of the first and last stage are not scaled.
fn lite_arch(width: f64, depth: f64) -> ArchSpec {
    let last = LITE_STAGES.len() - 1;
    let stages = LITE_STAGES
        .iter()
        .enumerate()
        .map(|(i, &(r, k, s, e, o))| StageSpec {
            expand_ratio: e,
            kernel: k,
            stride: s,
            out_channels: round_filters(o, width),
            repeats: if i == 0 || i == last {
                r
            } else {
                round_repeats(r, depth)
            },
        })
        .collect();
    ArchSpec {
        family: Family::InvertedResidual,
        stem_channels: 32,
        stages,
        head_channels: 1280,
        num_classes: 1000,
        bn_eps: 1e-3,
        padding: PaddingStyle::TfSame,
    }
}

/// ResNet-50-1by2: ResNet-50's (3, 4, 6, 3) bottlenecks at half width (inner widths 32 to 256,
/// outputs 128 to 1024), the stride on each stage's first 1×1 convolution (Caffe's ResNet v1).
fn resnet50_half_arch() -> ArchSpec {
    let stages = [(3, 128, 1), (4, 256, 2), (6, 512, 2), (3, 1024, 2)]
        .map(|(repeats, out_channels, stride)| StageSpec {
            expand_ratio: 4,
            kernel: 3,
            stride,
            out_channels,
            repeats,
        })
        .to_vec();
    ArchSpec {
        family: Family::Bottleneck,
        stem_channels: 64,
        stages,
        head_channels: 1024,
        num_classes: 2,
        bn_eps: 1e-5,
        padding: PaddingStyle::Symmetric,
    }
}

impl std::fmt::Display for Backbone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_counts_match_the_checkpoints() {
        // Counts of `_blocks.N` / `features.N` in the published .pth files.
        assert_eq!(Backbone::MobileNetV2.arch().blocks().len(), 17);
        assert_eq!(Backbone::EfficientNetLite0.arch().blocks().len(), 16);
        assert_eq!(Backbone::EfficientNetLite1.arch().blocks().len(), 21);
        assert_eq!(Backbone::EfficientNetLite2.arch().blocks().len(), 21);
    }

    #[test]
    fn lite2_channels_are_scaled_like_the_checkpoint() {
        // `_blocks.N._project_conv.weight` output channels in efficientnet-lite2-9656183e.pth.
        let outs: Vec<usize> = Backbone::EfficientNetLite2
            .arch()
            .stages
            .iter()
            .map(|s| s.out_channels)
            .collect();
        assert_eq!(outs, vec![16, 24, 48, 88, 120, 208, 352]);
        let blocks = Backbone::EfficientNetLite2.arch().blocks();
        assert_eq!(blocks[0].in_channels, 32);
        assert!(!blocks[0].has_expand());
        assert_eq!(blocks[20].hidden_channels, 1248);
    }

    #[test]
    fn multiply_adds_match_the_published_counts() {
        // torchvision: MobileNetV2 (IMAGENET1K_V1) 0.30 GFLOPS = 300.77 M multiply-adds at 224.
        let m = Backbone::MobileNetV2.arch().multiply_adds(224);
        assert!((299_000_000..302_500_000).contains(&m), "{m}");
        // EfficientNet-Lite0: about 0.4 B at 224 (the Lite paper's 407 M FLOPs); bigger inputs
        // and wider/deeper nets cost more.
        let lite: Vec<u64> = [
            Backbone::EfficientNetLite0,
            Backbone::EfficientNetLite1,
            Backbone::EfficientNetLite2,
        ]
        .map(|b| b.arch().multiply_adds(b.input_size()))
        .to_vec();
        assert!((370_000_000..420_000_000).contains(&lite[0]), "{lite:?}");
        assert!(lite[0] < lite[1] && lite[1] < lite[2], "{lite:?}");
        // ResNet-50 is 4.1 G multiply-adds; half the width of every block (not the stem) costs
        // a quarter of its convolutions: about 1.1 G.
        let r = Backbone::ResNet50Half.arch().multiply_adds(224);
        assert!((1_000_000_000..1_200_000_000).contains(&r), "{r}");
    }

    #[test]
    fn largest_map_is_the_widest_activation_padded() {
        // MobileNetV2 at 224: the second block's 96-channel expansion at 112×112, padded by one
        // for its 3×3 depthwise convolution.
        assert_eq!(
            Backbone::MobileNetV2.arch().largest_map(224),
            96 * 114 * 114
        );
        // Lite2 at 260: the same expansion at 130×130.
        assert_eq!(
            Backbone::EfficientNetLite2.arch().largest_map(260),
            96 * 132 * 132
        );
        // ResNet-50-1by2: the full-width stem's 64 channels at 112×112, padded for the max pool.
        assert_eq!(
            Backbone::ResNet50Half.arch().largest_map(224),
            64 * 114 * 114
        );
    }

    #[test]
    fn class_names_match_the_classifiers() {
        for b in Backbone::ALL {
            let classes = b.arch().num_classes;
            match b.own_class_names() {
                Some(names) => assert_eq!(names.len(), classes, "{b}"),
                None => assert_eq!(classes, 1000, "{b}: ImageNet's names"),
            }
        }
        assert!(!Backbone::ResNet50Half.classifies_imagenet());
    }

    #[test]
    fn names_round_trip() {
        for b in Backbone::ALL {
            assert_eq!(Backbone::from_name(b.name()).unwrap(), b);
        }
        assert_eq!(
            Backbone::from_name("EfficientNet_Lite1").unwrap(),
            Backbone::EfficientNetLite1
        );
        let err = Backbone::from_name("resnet50").unwrap_err().to_string();
        assert!(
            err.contains("`resnet50`") && Backbone::ALL.iter().all(|b| err.contains(b.name())),
            "{err}"
        );
        assert_eq!(
            Backbone::from_name("ResNet50_1by2").unwrap(),
            Backbone::ResNet50Half
        );
    }
}
