//! The CPU inference path: the same network as [`crate::net::BackboneNet`] (weights loaded
//! through burn, batch norms folded), run with its own kernels on NHWC buffers — 1×1
//! convolutions on a register-blocked GEMM ([`pointwise`](mod@pointwise), [`panel_gemm`]) with
//! bias, residual and activation applied in registers, depthwise convolutions in register groups of
//! pixels ([`depthwise`](mod@depthwise)), the stem as im2col + GEMM ([`dense`]); kernels for
//! AVX-512, AVX2 or any CPU, picked at run time ([`simd`]). Images of a batch run in parallel (rayon), each on one thread,
//! each expanding block in L2-sized row bands ([`banded`]); a batch smaller than the thread count
//! splits each layer's rows instead. Results do not depend on the batch composition or the
//! thread count. [`tail`] runs the part after the trunk map (the fine-tuned CNN's);
//! [`resnet`](mod@resnet) runs the bottleneck ResNet on the same GEMM and im2col;
//! [`CpuBackbone`] is either network.
//! [`int8_gemm`] is the 1×1 convolutions' int8 kernel, for `Precision::Int8`.

pub mod banded;
pub mod dense;
pub mod depthwise;
pub mod depthwise_grad;
pub mod geometry;
pub mod int8_gemm;
pub mod panel_gemm;
pub mod pointwise;
pub mod resnet;
pub mod simd;
pub mod tail;

use std::time::Instant;

use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use rayon::prelude::*;

use crate::backbone::{ArchSpec, Backbone, PaddingStyle};
use crate::error::{NeuralError, Result};
use crate::kept::with_kept;
use crate::level::FeatureLevel;
use crate::net::{BackboneNet, ConvBnAct, InvertedResidual};
use crate::network::Network;
use depthwise::{DepthwiseWeights, depthwise};
use geometry::ConvGeometry;
use int8_gemm::InputRange;
use pointwise::{PointwiseWeights, pointwise};
use simd::Activation;

/// One inverted-residual block.
#[derive(Debug, Clone)]
struct Block {
    expand: Option<PointwiseWeights>,
    depthwise: DepthwiseWeights,
    kernel: usize,
    stride: usize,
    project: PointwiseWeights,
    residual: bool,
}

impl Block {
    fn of(b: &InvertedResidual) -> Result<Self> {
        let (dw, kernel, stride) = depthwise_of(&b.depthwise)?;
        Ok(Block {
            expand: b.expand.as_ref().map(dense).transpose()?,
            depthwise: dw,
            kernel,
            stride,
            project: dense(&b.project)?,
            residual: b.residual,
        })
    }

    /// Runs the block on the `h × w × c` map in `ws.x`, leaving its output there; returns the
    /// output's shape. Banded (expand, depthwise and project per L2-sized band of rows) when
    /// the block expands and the image has its thread to itself, else layer by layer.
    fn run(
        &self,
        padding: PaddingStyle,
        (h, w, c): (usize, usize, usize),
        ws: &mut Workspace,
        parallel: bool,
        clock: &mut Clock,
    ) -> (usize, usize, usize) {
        let dg = ConvGeometry::new(h, w, self.kernel, self.stride, padding);
        let out_px = dg.out_h * dg.out_w;
        if let (Some(expand), false) = (&self.expand, parallel) {
            let block = banded::ExpandedBlock {
                expand,
                depthwise: &self.depthwise,
                geometry: &dg,
                project: &self.project,
                residual: self.residual,
            };
            let out = sized(&mut ws.hidden, out_px * self.project.n);
            banded::run(&block, &ws.x[..h * w * c], &mut ws.bands, out);
            std::mem::swap(&mut ws.x, &mut ws.hidden);
            clock.lap("banded block");
        } else {
            self.layer_by_layer(&dg, (h, w, c), ws, parallel, clock);
        }
        (dg.out_h, dg.out_w, self.project.n)
    }

    /// One block a layer at a time over the whole map (each layer's rows split across threads
    /// when `parallel`); leaves the block's output in `ws.x`.
    fn layer_by_layer(
        &self,
        dg: &ConvGeometry,
        (h, w, c): (usize, usize, usize),
        ws: &mut Workspace,
        parallel: bool,
        clock: &mut Clock,
    ) {
        let hidden_c = self.depthwise.channels;
        let out_px = dg.out_h * dg.out_w;
        if let Some(e) = &self.expand {
            pointwise(
                &ws.x[..h * w * c],
                h * w,
                e,
                None,
                sized(&mut ws.hidden, h * w * hidden_c),
                parallel,
            );
            clock.lap("expand");
        }
        let dw_in: &[f32] = if self.expand.is_some() {
            &ws.hidden
        } else {
            &ws.x
        };
        depthwise(
            &dw_in[..h * w * hidden_c],
            dg,
            &self.depthwise,
            sized(&mut ws.spatial, out_px * hidden_c),
            parallel,
        );
        clock.lap("depthwise");
        let residual = self.residual.then_some(&ws.x[..out_px * self.project.n]);
        let out = sized(&mut ws.hidden, out_px * self.project.n);
        pointwise(
            &ws.spatial[..out_px * hidden_c],
            out_px,
            &self.project,
            residual,
            out,
            parallel,
        );
        std::mem::swap(&mut ws.x, &mut ws.hidden);
        clock.lap("project");
    }
}

/// A backbone ready for CPU inference.
#[derive(Debug, Clone)]
pub struct CpuNet {
    stem: PointwiseWeights,
    stem_kernel: usize,
    stem_stride: usize,
    in_channels: usize,
    blocks: Vec<Block>,
    head: PointwiseWeights,
    classifier: PointwiseWeights,
    stage_ends: Vec<usize>,
    padding: PaddingStyle,
}

/// A backbone of either family ready for CPU inference.
#[derive(Debug, Clone)]
pub enum CpuBackbone {
    /// MobileNetV2 / EfficientNet-Lite.
    Inverted(Box<CpuNet>),
    /// The bottleneck ResNet.
    Bottleneck(Box<resnet::CpuResNet>),
}

impl CpuBackbone {
    /// Copies the weights of `net` (`backbone`'s network on burn, batch norms folded).
    pub fn from_network(net: &Network, backbone: Backbone) -> Result<Self> {
        Ok(match net {
            Network::Inverted(n) => {
                CpuBackbone::Inverted(Box::new(CpuNet::from_burn(n, &backbone.arch())?))
            }
            Network::Bottleneck(n) => {
                CpuBackbone::Bottleneck(Box::new(resnet::CpuResNet::from_burn(n)?))
            }
        })
    }

    /// The same network with its GEMMs in int8 (see each family's `to_int8`).
    pub fn to_int8(&self) -> Self {
        match self {
            CpuBackbone::Inverted(n) => CpuBackbone::Inverted(Box::new(n.to_int8())),
            CpuBackbone::Bottleneck(n) => CpuBackbone::Bottleneck(Box::new(n.to_int8())),
        }
    }

    /// [`CpuNet::forward`] of either family.
    pub fn forward(
        &self,
        input: &[f32],
        n: usize,
        size: usize,
        levels: &[FeatureLevel],
        logits: bool,
    ) -> Result<CpuOutput> {
        match self {
            CpuBackbone::Inverted(net) => net.forward(input, n, size, levels, logits),
            CpuBackbone::Bottleneck(net) => net.forward(input, n, size, levels, logits),
        }
    }
}

/// Pooled features and logits of a batch, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuOutput {
    /// `n × Σ channels of the levels`, levels in request order.
    pub features: Vec<f32>,
    /// `n × classes` when requested.
    pub logits: Option<Vec<f32>>,
}

fn load_err(message: String) -> NeuralError {
    NeuralError::InvalidConfig(format!("building the CPU network: {message}"))
}

fn host<const D: usize>(t: Tensor<D>) -> Result<(Vec<f32>, [usize; D])> {
    let dims = t.dims();
    let v = t
        .into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| load_err(format!("{e:?}")))?;
    Ok((v, dims))
}

fn bias_of(conv: &Conv2d, n: usize) -> Result<Vec<f32>> {
    match &conv.bias {
        Some(b) => Ok(host(b.val())?.0),
        None => Ok(vec![0.0; n]),
    }
}

fn folded(layer: &ConvBnAct) -> Result<&Conv2d> {
    if layer.bn.is_some() {
        return Err(load_err(
            "batch norms must be folded first (BackboneNet::fuse)".into(),
        ));
    }
    Ok(&layer.conv)
}

/// A dense convolution `[n, cin, k, k]` as a `k²·cin × n` matrix, rows ordered kernel row,
/// kernel column, input channel (the order of [`dense`]'s patches; plain `cin × n` for 1×1).
fn dense(layer: &ConvBnAct) -> Result<PointwiseWeights> {
    conv_weights(folded(layer)?, Activation::from_relu6(layer.relu6))
}

/// [`dense`] of a bare convolution followed by `act`.
fn conv_weights(conv: &Conv2d, act: Activation) -> Result<PointwiseWeights> {
    let (w, [n, cin, kh, kw]) = host(conv.weight.val())?;
    if conv.groups != 1 || kh != kw {
        return Err(load_err(format!(
            "unexpected dense conv {n}×{cin}×{kh}×{kw}, groups {}",
            conv.groups
        )));
    }
    let taps = kh * kw;
    let k = cin * taps;
    let mut weight = vec![0f32; k * n];
    for o in 0..n {
        for ci in 0..cin {
            for t in 0..taps {
                weight[(t * cin + ci) * n + o] = w[(o * cin + ci) * taps + t];
            }
        }
    }
    Ok(PointwiseWeights::new(&weight, bias_of(conv, n)?, k, n, act))
}

/// A linear layer (`[k, n]` weights) as a `k × n` product.
fn linear_of(l: &Linear) -> Result<PointwiseWeights> {
    let (weight, [k, n]) = host(l.weight.val())?;
    let bias = match &l.bias {
        Some(b) => host(b.val())?.0,
        None => vec![0.0; n],
    };
    Ok(PointwiseWeights::new(
        &weight,
        bias,
        k,
        n,
        Activation::Identity,
    ))
}

/// A depthwise convolution `[c, 1, k, k]` as `k² × c`.
fn depthwise_of(layer: &ConvBnAct) -> Result<(DepthwiseWeights, usize, usize)> {
    let conv = folded(layer)?;
    let (w, [c, one, kh, kw]) = host(conv.weight.val())?;
    if one != 1 || conv.groups != c || kh != kw {
        return Err(load_err(format!(
            "unexpected depthwise conv {c}×{one}×{kh}×{kw}"
        )));
    }
    let taps = kh * kw;
    let mut weight = vec![0f32; taps * c];
    for ch in 0..c {
        for t in 0..taps {
            weight[t * c + ch] = w[ch * taps + t];
        }
    }
    let layer = DepthwiseWeights {
        weight,
        bias: bias_of(conv, c)?,
        channels: c,
        relu6: layer.relu6,
    };
    Ok((layer, kh, conv.stride[0]))
}

/// Activations of one image, reused across images of the same worker.
#[derive(Default)]
struct Workspace {
    x: Vec<f32>,
    hidden: Vec<f32>,
    spatial: Vec<f32>,
    bands: banded::BandBuffers,
}

fn sized(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// Mean over the `pixels` rows of an NHWC map with `c` channels.
/// A channels-last map (`pixels × c`) in channels-first order (`c × pixels`), as burn's NCHW.
fn channels_first(x: &[f32], pixels: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0f32; pixels * c];
    for (p, px) in x.chunks_exact(c).enumerate() {
        for (ch, &v) in px.iter().enumerate() {
            out[ch * pixels + p] = v;
        }
    }
    out
}

fn average_pool(x: &[f32], pixels: usize, c: usize) -> Vec<f32> {
    let mut sum = vec![0f32; c];
    for px in x[..pixels * c].chunks_exact(c) {
        for (s, v) in sum.iter_mut().zip(px) {
            *s += v;
        }
    }
    let n = pixels as f32;
    sum.into_iter().map(|s| s / n).collect()
}

/// The head's 1×1 convolution on the `h × w × c` map in `ws.x`, average-pooled.
fn pooled_head(
    head: &PointwiseWeights,
    (h, w, c): (usize, usize, usize),
    ws: &mut Workspace,
    parallel: bool,
) -> Vec<f32> {
    let out = sized(&mut ws.hidden, h * w * head.n);
    pointwise(&ws.x[..h * w * c], h * w, head, None, out, parallel);
    average_pool(&ws.hidden, h * w, head.n)
}

/// The classifier's logits of pooled features.
fn classify(classifier: &PointwiseWeights, pooled: &[f32]) -> Vec<f32> {
    let mut logits = vec![0f32; classifier.n];
    pointwise(pooled, 1, classifier, None, &mut logits, false);
    logits
}

/// Optional per-layer-kind stopwatch of [`CpuNet::profile`].
struct Clock {
    start: Option<Instant>,
    totals: Vec<(&'static str, f64)>,
}

impl Clock {
    fn new(on: bool) -> Self {
        Clock {
            start: on.then(Instant::now),
            totals: Vec::new(),
        }
    }

    fn lap(&mut self, what: &'static str) {
        let Some(start) = self.start else { return };
        let now = Instant::now();
        let secs = (now - start).as_secs_f64();
        match self.totals.iter_mut().find(|(k, _)| *k == what) {
            Some((_, v)) => *v += secs,
            None => self.totals.push((what, secs)),
        }
        self.start = Some(now);
    }
}

/// Runs `forward_image(image, workspace, split_layers)` on each of the `n` images of `input`
/// (`per_image` values each) and stacks their features and logits. The images run in
/// parallel, each on one thread with the workspace that thread keeps ([`with_kept`]); a batch
/// smaller than the thread count runs one image after another with each layer's rows split
/// across threads instead.
fn forward_batch<W: Default + 'static>(
    input: &[f32],
    n: usize,
    per_image: usize,
    forward_image: impl Fn(&[f32], &mut W, bool) -> (Vec<f32>, Option<Vec<f32>>) + Sync,
) -> Result<CpuOutput> {
    if n == 0 || input.len() != n * per_image {
        return Err(NeuralError::InvalidConfig(format!(
            "batch of {n} images ({per_image} values each) needs {} values, got {}",
            n * per_image,
            input.len()
        )));
    }
    let split_layers = n < rayon::current_num_threads();
    let outputs: Vec<(Vec<f32>, Option<Vec<f32>>)> = input
        .par_chunks(per_image)
        .map(|img| with_kept(|ws: &mut W| forward_image(img, ws, split_layers)))
        .collect();
    let mut features = Vec::with_capacity(n * outputs.first().map_or(0, |(f, _)| f.len()));
    let mut all_logits: Option<Vec<f32>> = None;
    for (f, l) in outputs {
        features.extend_from_slice(&f);
        if let Some(l) = l {
            all_logits
                .get_or_insert_with(Vec::new)
                .extend_from_slice(&l);
        }
    }
    Ok(CpuOutput {
        features,
        logits: all_logits,
    })
}

impl CpuNet {
    /// Copies the weights of a batch-norm-folded [`BackboneNet`] (see [`BackboneNet::fuse`]).
    pub fn from_burn(net: &BackboneNet, arch: &ArchSpec) -> Result<Self> {
        let specs = arch.blocks();
        if specs.len() != net.blocks.len() {
            return Err(load_err(format!(
                "{} blocks in the network, {} in the layout",
                net.blocks.len(),
                specs.len()
            )));
        }
        let stem = dense(&net.stem)?;
        let [_, in_channels, stem_kernel, _] = net.stem.conv.weight.val().dims();
        let blocks = net
            .blocks
            .iter()
            .map(Block::of)
            .collect::<Result<Vec<_>>>()?;
        Ok(CpuNet {
            stem,
            stem_kernel,
            stem_stride: net.stem.conv.stride[0],
            in_channels,
            blocks,
            head: dense(&net.head)?,
            classifier: linear_of(&net.classifier)?,
            stage_ends: net.stage_ends.clone(),
            padding: arch.padding,
        })
    }

    /// The same network with its expand, project and head 1×1 convolutions in int8
    /// ([`int8_gemm`]); the stem, the depthwise layers and the classifier stay f32. A layer
    /// whose input comes out of a ReLU6 quantizes it as non-negative.
    pub fn to_int8(&self) -> Self {
        // The activation that made the current block's input.
        let mut input_act = self.stem.act;
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                let dw_act = Activation::from_relu6(b.depthwise.relu6);
                let block = Block {
                    expand: b
                        .expand
                        .as_ref()
                        .map(|e| e.to_int8_for(InputRange::after(input_act))),
                    project: b.project.to_int8_for(InputRange::after(dw_act)),
                    ..b.clone()
                };
                // A residual block adds its input to the projection, which has no activation.
                input_act = b.project.act;
                block
            })
            .collect();
        CpuNet {
            blocks,
            head: self.head.to_int8_for(InputRange::after(input_act)),
            ..self.clone()
        }
    }

    /// Runs `n` CHW images of side `size` (normalised, `n·3·size²` values) and returns the
    /// pooled features of `levels` (in that order; the trunk's map unpooled, channels first)
    /// and, if `logits`, the classifier output.
    pub fn forward(
        &self,
        input: &[f32],
        n: usize,
        size: usize,
        levels: &[FeatureLevel],
        logits: bool,
    ) -> Result<CpuOutput> {
        forward_batch(
            input,
            n,
            self.in_channels * size * size,
            |img, ws, split| {
                self.forward_image(img, size, levels, logits, ws, split, &mut Clock::new(false))
            },
        )
    }

    /// Seconds per layer kind (stem, expand, depthwise, project, head, pool) for a forward of
    /// `n` images of side `size`, run one image after another, each layer on all threads.
    pub fn profile(&self, input: &[f32], n: usize, size: usize) -> Vec<(&'static str, f64)> {
        let per_image = self.in_channels * size * size;
        let mut clock = Clock::new(true);
        let mut ws = Workspace::default();
        for img in input.chunks_exact(per_image).take(n) {
            self.forward_image(
                img,
                size,
                &[FeatureLevel::Highest],
                false,
                &mut ws,
                true,
                &mut clock,
            );
        }
        clock.totals
    }

    #[allow(clippy::too_many_arguments)]
    fn forward_image(
        &self,
        image: &[f32],
        size: usize,
        levels: &[FeatureLevel],
        logits: bool,
        ws: &mut Workspace,
        parallel: bool,
        clock: &mut Clock,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        let need_head = logits || levels.contains(&FeatureLevel::Highest);
        let taps: Vec<(FeatureLevel, usize)> = levels
            .iter()
            .filter_map(|l| {
                l.stage(crate::backbone::Family::InvertedResidual)
                    .and_then(|s| self.stage_ends.get(s).map(|&b| (*l, b)))
            })
            .collect();
        let last_needed = if need_head {
            self.blocks.len()
        } else {
            taps.iter().map(|&(_, b)| b + 1).max().unwrap_or(0)
        };
        let mut pooled: Vec<(FeatureLevel, Vec<f32>)> = Vec::with_capacity(levels.len());

        let g = ConvGeometry::new(size, size, self.stem_kernel, self.stem_stride, self.padding);
        let (mut h, mut w, mut c) = (g.out_h, g.out_w, self.stem.n);
        dense::stem(
            image,
            self.in_channels,
            &g,
            &self.stem,
            sized(&mut ws.x, h * w * c),
            parallel,
        );
        clock.lap("stem");
        for (i, b) in self.blocks.iter().take(last_needed).enumerate() {
            (h, w, c) = b.run(self.padding, (h, w, c), ws, parallel, clock);
            for &(level, _) in taps.iter().filter(|&&(_, tb)| tb == i) {
                let values = if level.is_pooled() {
                    average_pool(&ws.x, h * w, c)
                } else {
                    channels_first(&ws.x[..h * w * c], h * w, c)
                };
                pooled.push((level, values));
            }
            clock.lap("pool");
        }
        let mut out_logits = None;
        if need_head {
            let head = pooled_head(&self.head, (h, w, c), ws, parallel);
            clock.lap("head");
            if logits {
                out_logits = Some(classify(&self.classifier, &head));
                clock.lap("classifier");
            }
            pooled.push((FeatureLevel::Highest, head));
        }
        let mut features = Vec::new();
        for l in levels {
            if let Some((_, v)) = pooled.iter().find(|(pl, _)| pl == l) {
                features.extend_from_slice(v);
            }
        }
        (features, out_logits)
    }
}

/// Helpers the kernels' tests share.
#[cfg(test)]
pub(crate) mod test_support {
    /// `n` deterministic values in [-2, 2) (a multiplicative hash of the index and `seed`).
    pub fn pseudo(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) % 1000) as f32
                    / 250.0
                    - 2.0
            })
            .collect()
    }

    pub use autopilot_testkit::max_abs_diff;
}

#[cfg(test)]
mod tests {
    use super::test_support::max_abs_diff as max_diff;
    use super::*;
    use burn::tensor::{Device, Distribution, TensorData};

    fn to_vec(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn matches_the_burn_network_on_every_level_and_the_logits() {
        let _rng = crate::flex_rng_lock();
        let device = Device::flex();
        device.seed(11);
        for backbone in [Backbone::MobileNetV2, Backbone::EfficientNetLite0] {
            let arch = backbone.arch();
            let net = BackboneNet::new(&arch, &device).fuse();
            let cpu = CpuNet::from_burn(&net, &arch).unwrap();
            // 3 images of 37 px: odd sizes exercise the asymmetric TF padding.
            let (n, size) = (3, 37);
            let x = Tensor::<4>::random(
                [n, 3, size, size],
                Distribution::Uniform(-2.0, 2.0),
                &device,
            );
            let host_x = x.clone().into_data().try_into_vec_as::<f32>().unwrap();
            let levels = [FeatureLevel::Highest, FeatureLevel::Low, FeatureLevel::High];
            let want = net.forward(x, &levels, true);
            let want_features = to_vec(Tensor::cat(want.levels, 1));
            let want_logits = to_vec(want.logits.unwrap());
            let got = cpu.forward(&host_x, n, size, &levels, true).unwrap();
            let df = max_diff(&got.features, &want_features);
            let dl = max_diff(got.logits.as_deref().unwrap(), &want_logits);
            assert!(
                df < 1e-4 && dl < 1e-4,
                "{backbone}: features {df}, logits {dl}"
            );
            // Something non-trivial was compared.
            assert!(want_features.iter().any(|&v| v.abs() > 1e-3));

            // One image alone (rows split across threads) gives the same row as in the batch.
            let dim = got.features.len() / n;
            let one = cpu
                .forward(&host_x[..3 * size * size], 1, size, &levels, false)
                .unwrap();
            assert_eq!(one.features, got.features[..dim]);
            assert!(one.logits.is_none());

            // The trunk map comes back unpooled, channels first, as burn's NCHW.
            let x = Tensor::<4>::from_data(
                TensorData::new(host_x.clone(), [n, 3, size, size]),
                &device,
            );
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
            assert!(dm < 1e-4, "{backbone}: trunk {dm}");
        }
    }

    #[test]
    fn int8_quantizes_the_outputs_of_a_relu6_as_non_negative() {
        let _rng = crate::flex_rng_lock();
        let arch = Backbone::MobileNetV2.arch();
        let net = BackboneNet::new(&arch, &Device::flex()).fuse();
        let int8 = CpuNet::from_burn(&net, &arch).unwrap().to_int8();
        let (signed, unsigned) = (Some(InputRange::Signed), Some(InputRange::NonNegative));
        for (i, b) in int8.blocks.iter().enumerate() {
            // The first block reads the stem's ReLU6; the others a projection plus shortcut.
            if let Some(e) = &b.expand {
                assert_eq!(
                    e.int8_input(),
                    if i == 0 { unsigned } else { signed },
                    "{i}"
                );
            }
            assert_eq!(b.project.int8_input(), unsigned, "block {i}");
        }
        assert_eq!(int8.head.int8_input(), signed);
        assert_eq!(int8.classifier.int8_input(), None);
    }

    #[test]
    fn rejects_a_wrongly_sized_batch_and_an_unfolded_network() {
        let _rng = crate::flex_rng_lock();
        let device = Device::flex();
        let arch = Backbone::EfficientNetLite0.arch();
        let net = BackboneNet::new(&arch, &device);
        assert!(CpuNet::from_burn(&net, &arch).is_err());
        let cpu = CpuNet::from_burn(&net.fuse(), &arch).unwrap();
        assert!(
            cpu.forward(&[0.0; 10], 1, 32, &[FeatureLevel::High], false)
                .is_err()
        );
    }
}
