//! The bottleneck ResNet ([`crate::resnet::ResNet`]) on the CPU kernels, on NHWC maps: the
//! 7×7 stem and the 3×3 convolutions as im2col + GEMM ([`dense`](mod@super::dense)), the 1×1
//! convolutions on the GEMM with bias, shortcut and ReLU applied before the store
//! ([`pointwise`](mod@super::pointwise)), a strided 1×1 on a subsampled copy of its input, and
//! the TensorFlow-"SAME" 3×3/2 max pool.

use crate::backbone::{Family, PaddingStyle};
use crate::error::Result;
use crate::level::FeatureLevel;
use crate::resnet::{ConvRelu, ResNet};

use super::dense::{self, Layout};
use super::geometry::ConvGeometry;
use super::int8_gemm::InputRange;
use super::pointwise::{PointwiseWeights, pointwise};
use super::simd::Activation;
use super::{
    Clock, CpuOutput, average_pool, channels_first, classify, conv_weights, forward_batch,
    linear_of, load_err, sized,
};

/// One bottleneck: 1×1 reduce (carrying the stride), 3×3, 1×1 expand + shortcut, ReLU.
#[derive(Debug, Clone)]
pub(super) struct Bottleneck {
    reduce: PointwiseWeights,
    conv: PointwiseWeights,
    expand: PointwiseWeights,
    shortcut: Option<PointwiseWeights>,
    /// Stride of the reduction (and of the shortcut's projection).
    stride: usize,
    kernel: usize,
}

/// The maps of one image, reused from image to image by a worker.
#[derive(Default)]
pub(super) struct Maps {
    /// The current map (a block's input, then its output).
    pub(super) x: Vec<f32>,
    /// The input subsampled for a strided block.
    strided: Vec<f32>,
    reduced: Vec<f32>,
    convolved: Vec<f32>,
    projected: Vec<f32>,
    out: Vec<f32>,
}

/// A 1×1 or `k × k` convolution of the burn network, with its stride, as GEMM weights.
fn weights_of(layer: &ConvRelu) -> Result<(PointwiseWeights, usize)> {
    let act = if layer.relu {
        Activation::Relu
    } else {
        Activation::Identity
    };
    let [sh, sw] = layer.conv.stride;
    if sh != sw {
        return Err(load_err(format!("unexpected stride {sh}×{sw}")));
    }
    Ok((conv_weights(&layer.conv, act)?, sh))
}

impl Bottleneck {
    /// Copies a block of the burn network (batch norms already folded).
    pub(super) fn from_burn(b: &crate::resnet::Bottleneck) -> Result<Self> {
        let (reduce, stride) = weights_of(&b.reduce)?;
        let (conv, conv_stride) = weights_of(&b.conv)?;
        if b.expand.relu {
            return Err(load_err("a ReLU before the shortcut's sum".into()));
        }
        let (mut expand, expand_stride) = weights_of(&b.expand)?;
        // The block's ReLU follows the sum with the shortcut, which the GEMM adds before its
        // activation.
        expand.act = Activation::Relu;
        let shortcut = b.shortcut.as_ref().map(weights_of).transpose()?;
        let [_, _, kernel, _] = b.conv.conv.weight.val().dims();
        let shortcut_stride = shortcut.as_ref().map_or(stride, |s| s.1);
        if conv_stride != 1 || expand_stride != 1 || shortcut_stride != stride {
            return Err(load_err(format!(
                "strides {stride}/{conv_stride}/{expand_stride}/{shortcut_stride}: only the \
                 reduction and its projection may stride"
            )));
        }
        if shortcut.is_none() && (stride != 1 || reduce.k != expand.n) {
            return Err(load_err(
                "an identity shortcut needs the block's input shape".into(),
            ));
        }
        Ok(Bottleneck {
            reduce,
            conv,
            expand,
            shortcut: shortcut.map(|s| s.0),
            stride,
            kernel,
        })
    }

    /// Runs the block on the `h × w × c` map in `maps.x`, leaving its output there; returns
    /// the output's shape.
    pub(super) fn run(
        &self,
        [h, w, c]: [usize; 3],
        maps: &mut Maps,
        parallel: bool,
        clock: &mut Clock,
    ) -> [usize; 3] {
        let Maps {
            x,
            strided,
            reduced,
            convolved,
            projected,
            out,
        } = maps;
        let g = ConvGeometry::new(h, w, 1, self.stride, PaddingStyle::Symmetric);
        let px = g.out_h * g.out_w;
        let input: &[f32] = if self.stride == 1 {
            &x[..h * w * c]
        } else {
            subsample(&x[..h * w * c], (h, w, c), &g, sized(strided, px * c));
            clock.lap("subsample");
            &strided[..px * c]
        };
        let hidden = self.reduce.n;
        pointwise(
            input,
            px,
            &self.reduce,
            None,
            sized(reduced, px * hidden),
            parallel,
        );
        clock.lap("reduce 1×1");
        let g3 = ConvGeometry::new(g.out_h, g.out_w, self.kernel, 1, PaddingStyle::Symmetric);
        dense::conv(
            &reduced[..px * hidden],
            Layout::ChannelsLast,
            hidden,
            &g3,
            &self.conv,
            sized(convolved, px * hidden),
            parallel,
        );
        clock.lap("3×3");
        let o = self.expand.n;
        let shortcut: &[f32] = match &self.shortcut {
            Some(p) => {
                pointwise(input, px, p, None, sized(projected, px * o), parallel);
                clock.lap("projection 1×1");
                &projected[..px * o]
            }
            None => &x[..px * o],
        };
        pointwise(
            &convolved[..px * hidden],
            px,
            &self.expand,
            Some(shortcut),
            sized(out, px * o),
            parallel,
        );
        clock.lap("expand 1×1 + shortcut");
        std::mem::swap(x, out);
        [g.out_h, g.out_w, o]
    }
}

/// Every `stride`-th pixel of every `stride`-th row (a strided 1×1 convolution's inputs).
fn subsample(x: &[f32], (_, w, c): (usize, usize, usize), g: &ConvGeometry, out: &mut [f32]) {
    for (p, dst) in out.chunks_exact_mut(c).enumerate() {
        let (oy, ox) = (p / g.out_w, p % g.out_w);
        let src = (oy * g.stride * w + ox * g.stride) * c;
        dst.copy_from_slice(&x[src..src + c]);
    }
}

/// Max pool of the `h × w × c` map `x` over `g`'s windows (the padding never wins).
fn max_pool(x: &[f32], (h, w, c): (usize, usize, usize), g: &ConvGeometry, out: &mut [f32]) {
    for (p, dst) in out.chunks_exact_mut(c).enumerate() {
        let (oy, ox) = (p / g.out_w, p % g.out_w);
        dst.fill(f32::NEG_INFINITY);
        for ky in g.valid_taps(oy, h, g.pad_top) {
            let iy = oy * g.stride + ky - g.pad_top;
            for kx in g.valid_taps(ox, w, g.pad_left) {
                let ix = ox * g.stride + kx - g.pad_left;
                let src = &x[(iy * w + ix) * c..][..c];
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = d.max(v);
                }
            }
        }
    }
}

/// The bottleneck ResNet ready for CPU inference.
#[derive(Debug, Clone)]
pub struct CpuResNet {
    stem: PointwiseWeights,
    stem_kernel: usize,
    stem_stride: usize,
    blocks: Vec<Bottleneck>,
    classifier: PointwiseWeights,
    stage_ends: Vec<usize>,
}

impl CpuResNet {
    /// Copies the weights of a [`ResNet`] (batch norms already folded by its loader).
    pub fn from_burn(net: &ResNet) -> Result<Self> {
        let (stem, stem_stride) = weights_of(&net.stem)?;
        let [_, in_channels, stem_kernel, _] = net.stem.conv.weight.val().dims();
        if in_channels != 3 {
            return Err(load_err(format!("a stem of {in_channels} input channels")));
        }
        let blocks = net
            .blocks
            .iter()
            .map(Bottleneck::from_burn)
            .collect::<Result<Vec<_>>>()?;
        Ok(CpuResNet {
            stem,
            stem_kernel,
            stem_stride,
            blocks,
            classifier: linear_of(&net.classifier)?,
            stage_ends: net.stage_ends.clone(),
        })
    }

    /// The same network with its 1×1 convolutions in int8 ([`super::int8_gemm`]); the stem,
    /// the 3×3 convolutions and the classifier stay f32. A layer whose input comes out of a
    /// ReLU (every one here) quantizes it as non-negative.
    pub fn to_int8(&self) -> Self {
        // The activation that made the current block's input (the max pool keeps the stem's
        // signs).
        let mut input_act = self.stem.act;
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                let input = InputRange::after(input_act);
                input_act = b.expand.act;
                Bottleneck {
                    reduce: b.reduce.to_int8_for(input),
                    expand: b.expand.to_int8_for(InputRange::after(b.conv.act)),
                    shortcut: b.shortcut.as_ref().map(|s| s.to_int8_for(input)),
                    ..b.clone()
                }
            })
            .collect();
        CpuResNet {
            blocks,
            ..self.clone()
        }
    }

    /// As [`super::CpuNet::forward`]: `n` CHW images of side `size` (normalised), the features
    /// of `levels` in that order (pooled, or a trunk map channels first) and, if `logits`, the
    /// classifier output.
    pub fn forward(
        &self,
        input: &[f32],
        n: usize,
        size: usize,
        levels: &[FeatureLevel],
        logits: bool,
    ) -> Result<CpuOutput> {
        forward_batch(input, n, 3 * size * size, |img, maps, split| {
            self.forward_image(
                img,
                size,
                levels,
                logits,
                maps,
                split,
                &mut Clock::new(false),
            )
        })
    }

    /// Seconds per layer kind for a forward of `n` images of side `size` to the logits, one
    /// image after another, each layer on all threads when `parallel`, else on this one.
    pub fn profile(
        &self,
        input: &[f32],
        n: usize,
        size: usize,
        parallel: bool,
    ) -> Vec<(&'static str, f64)> {
        let mut clock = Clock::new(true);
        let mut maps = Maps::default();
        for img in input.chunks_exact(3 * size * size).take(n) {
            self.forward_image(img, size, &[], true, &mut maps, parallel, &mut clock);
        }
        clock.totals
    }

    /// The block after which `level` is taken (the last one for the highest level).
    fn tap(&self, level: FeatureLevel) -> usize {
        level
            .stage(Family::Bottleneck)
            .and_then(|s| self.stage_ends.get(s).copied())
            .unwrap_or(self.blocks.len().saturating_sub(1))
    }

    #[allow(clippy::too_many_arguments)]
    fn forward_image(
        &self,
        image: &[f32],
        size: usize,
        levels: &[FeatureLevel],
        logits: bool,
        maps: &mut Maps,
        parallel: bool,
        clock: &mut Clock,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        let last_needed = if logits {
            self.blocks.len()
        } else {
            levels.iter().map(|&l| self.tap(l) + 1).max().unwrap_or(0)
        };
        let g = ConvGeometry::new(
            size,
            size,
            self.stem_kernel,
            self.stem_stride,
            PaddingStyle::Symmetric,
        );
        let c = self.stem.n;
        let stem_out = sized(&mut maps.out, g.out_h * g.out_w * c);
        dense::stem(image, 3, &g, &self.stem, stem_out, parallel);
        clock.lap("stem");
        let pool = ConvGeometry::new(g.out_h, g.out_w, 3, 2, PaddingStyle::TfSame);
        max_pool(
            &maps.out[..g.out_h * g.out_w * c],
            (g.out_h, g.out_w, c),
            &pool,
            sized(&mut maps.x, pool.out_h * pool.out_w * c),
        );
        clock.lap("max pool");
        let mut shape = [pool.out_h, pool.out_w, c];
        let mut taken: Vec<Option<Vec<f32>>> = vec![None; levels.len()];
        for (i, block) in self.blocks.iter().take(last_needed).enumerate() {
            shape = block.run(shape, maps, parallel, clock);
            let [h, w, c] = shape;
            for (slot, &level) in taken.iter_mut().zip(levels) {
                if self.tap(level) == i {
                    *slot = Some(if level.is_pooled() {
                        average_pool(&maps.x, h * w, c)
                    } else {
                        channels_first(&maps.x[..h * w * c], h * w, c)
                    });
                }
            }
            clock.lap("pool");
        }
        let out_logits = logits.then(|| {
            let [h, w, c] = shape;
            classify(&self.classifier, &average_pool(&maps.x, h * w, c))
        });
        clock.lap("classifier");
        (taken.into_iter().flatten().flatten().collect(), out_logits)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::max_abs_diff as max_diff;
    use super::*;
    use crate::backbone::Backbone;
    use burn::tensor::{Device, Distribution, Tensor};

    #[test]
    fn int8_quantizes_every_relu_output_as_non_negative() {
        let _rng = crate::flex_rng_lock();
        let net = ResNet::new(&Backbone::ResNet50Half.arch(), &Device::flex());
        let int8 = CpuResNet::from_burn(&net).unwrap().to_int8();
        let unsigned = Some(InputRange::NonNegative);
        for (i, b) in int8.blocks.iter().enumerate() {
            assert_eq!(b.reduce.int8_input(), unsigned, "block {i}");
            assert_eq!(b.expand.int8_input(), unsigned, "block {i}");
            if let Some(s) = &b.shortcut {
                assert_eq!(s.int8_input(), unsigned, "block {i}");
            }
        }
        assert!(int8.blocks.iter().any(|b| b.shortcut.is_some()));
    }

    #[test]
    fn matches_the_burn_resnet_on_every_level_a_trunk_and_the_logits() {
        let _rng = crate::flex_rng_lock();
        let device = Device::flex();
        device.seed(5);
        let arch = Backbone::ResNet50Half.arch();
        let net = ResNet::new(&arch, &device);
        let cpu = CpuResNet::from_burn(&net).unwrap();
        // 3 images of 69 px: odd sizes exercise the bottom/right max-pool padding and the
        // strided 1×1s on odd maps.
        let (n, size) = (3, 69);
        let x = Tensor::<4>::random([n, 3, size, size], Distribution::Default, &device);
        let host_x = x.clone().into_data().try_into_vec_as::<f32>().unwrap();
        let levels = [FeatureLevel::Highest, FeatureLevel::Low, FeatureLevel::High];
        let (maps, want_logits) = net.forward_maps(x.clone(), &levels, true);
        let want = crate::net::NetOutput::from_maps((maps, want_logits), &levels);
        let want_features = Tensor::cat(want.levels, 1)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let want_logits = want
            .logits
            .unwrap()
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let got = cpu.forward(&host_x, n, size, &levels, true).unwrap();
        let scale = want_features.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 1e-3, "nothing non-trivial compared");
        let (df, dl) = (
            max_diff(&got.features, &want_features),
            max_diff(got.logits.as_deref().unwrap(), &want_logits),
        );
        assert!(
            df <= 1e-4 * scale.max(1.0) && dl <= 1e-4 * scale.max(1.0),
            "features {df}, logits {dl} (largest feature {scale})"
        );

        // One image alone (each layer split across threads) gives the batch's first row.
        let dim = got.features.len() / n;
        let one = cpu
            .forward(&host_x[..3 * size * size], 1, size, &levels, false)
            .unwrap();
        assert_eq!(one.features, got.features[..dim]);
        assert!(one.logits.is_none());

        // A trunk level comes back unpooled, channels first, as burn's NCHW.
        let (maps, _) = net.forward_maps(x, &[FeatureLevel::Trunk], false);
        let want_map = maps[0]
            .clone()
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let got = cpu
            .forward(&host_x, n, size, &[FeatureLevel::Trunk], false)
            .unwrap();
        let dm = max_diff(&got.features, &want_map);
        assert!(dm <= 1e-4 * scale.max(1.0), "trunk {dm}");
    }

    #[test]
    fn max_pool_and_subsample_take_the_right_pixels() {
        // 4×4 ramp, one channel: TF "SAME" windows start at 0 and 2 (padding bottom/right).
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let g = ConvGeometry::new(4, 4, 3, 2, PaddingStyle::TfSame);
        let mut out = vec![0f32; 4];
        max_pool(&x, (4, 4, 1), &g, &mut out);
        assert_eq!(out, vec![10.0, 11.0, 14.0, 15.0]);
        // A 1×1 with stride 2 on a 5×5 map reads rows and columns 0, 2 and 4.
        let x: Vec<f32> = (0..25).map(|v| v as f32).collect();
        let g = ConvGeometry::new(5, 5, 1, 2, PaddingStyle::Symmetric);
        let mut out = vec![0f32; g.out_h * g.out_w];
        subsample(&x, (5, 5, 1), &g, &mut out);
        assert_eq!(out, vec![0.0, 2.0, 4.0, 10.0, 12.0, 14.0, 20.0, 22.0, 24.0]);
    }
}
