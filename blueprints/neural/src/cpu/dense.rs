//! Dense `k × k` convolutions as im2col + GEMM: the stem (from a CHW image) and the ResNet's
//! 3×3 convolutions and stem (from an NHWC map). The input is first copied into a zero-padded
//! HWC buffer, so each patch row of the im2col matrix is `k` contiguous runs of
//! `k · channels` values; row tiles of that matrix go to the pointwise GEMM. Both buffers are
//! the thread's, reused from call to call ([`with_kept`]).

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::pointwise::{PointwiseWeights, pointwise};
use crate::kept::with_kept;

/// Output rows (of the feature map) per im2col tile.
const TILE_ROWS: usize = 8;

/// The padded input's buffer, kept by the thread for its next convolution.
#[derive(Default)]
struct PaddedBuffer(Vec<f32>);

/// An im2col tile's buffer, kept likewise.
#[derive(Default)]
struct TileBuffer(Vec<f32>);

/// How the input of a convolution is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `channels × h × w` (an image).
    ChannelsFirst,
    /// `h × w × channels` (a feature map).
    ChannelsLast,
}

/// Convolves a CHW image (`in_channels × in_h × in_w`) into `out` (`out_h × out_w × n`).
/// `layer.k` must be `kernel² · in_channels`, ordered kernel row, kernel column, channel.
pub fn stem(
    image: &[f32],
    in_channels: usize,
    geom: &ConvGeometry,
    layer: &PointwiseWeights,
    out: &mut [f32],
    parallel: bool,
) {
    conv(
        image,
        Layout::ChannelsFirst,
        in_channels,
        geom,
        layer,
        out,
        parallel,
    );
}

/// Convolves `input` (laid out as `layout`, `in_channels` deep) into `out`
/// (`out_h × out_w × n`, NHWC); the weights as for [`stem`].
pub fn conv(
    input: &[f32],
    layout: Layout,
    in_channels: usize,
    geom: &ConvGeometry,
    layer: &PointwiseWeights,
    out: &mut [f32],
    parallel: bool,
) {
    let n = layer.n;
    let chunk = TILE_ROWS * geom.out_w * n;
    let out = &mut out[..geom.out_h * geom.out_w * n];
    with_kept(|buffer: &mut PaddedBuffer| {
        let padded = Padded::new(
            input,
            layout,
            in_channels,
            geom,
            std::mem::take(&mut buffer.0),
        );
        let run_tile = |(t, dst): (usize, &mut [f32])| {
            let y0 = t * TILE_ROWS;
            let rows = dst.len() / (geom.out_w * n);
            with_kept(|cols: &mut TileBuffer| {
                padded.im2col(geom, y0, rows, &mut cols.0);
                pointwise(&cols.0, rows * geom.out_w, layer, None, dst, false);
            });
        };
        if parallel {
            out.par_chunks_mut(chunk).enumerate().for_each(run_tile);
        } else {
            out.chunks_mut(chunk).enumerate().for_each(run_tile);
        }
        buffer.0 = padded.data;
    });
}

/// The input in HWC order with the convolution's zero border (enough for every output).
struct Padded {
    data: Vec<f32>,
    width: usize,
    channels: usize,
}

impl Padded {
    /// Copies `input` into `data` (resized; its old contents are overwritten).
    fn new(
        input: &[f32],
        layout: Layout,
        channels: usize,
        g: &ConvGeometry,
        mut data: Vec<f32>,
    ) -> Self {
        let height = ((g.out_h - 1) * g.stride + g.kernel).max(g.pad_top + g.in_h);
        let width = ((g.out_w - 1) * g.stride + g.kernel).max(g.pad_left + g.in_w);
        data.clear();
        data.resize(height * width * channels, 0.0);
        let plane = g.in_h * g.in_w;
        for y in 0..g.in_h {
            let row =
                &mut data[((y + g.pad_top) * width + g.pad_left) * channels..][..g.in_w * channels];
            match layout {
                Layout::ChannelsLast => {
                    row.copy_from_slice(&input[y * g.in_w * channels..(y + 1) * g.in_w * channels])
                }
                Layout::ChannelsFirst => {
                    for (x, px) in row.chunks_exact_mut(channels).enumerate() {
                        for (ci, v) in px.iter_mut().enumerate() {
                            *v = input[ci * plane + y * g.in_w + x];
                        }
                    }
                }
            }
        }
        Padded {
            data,
            width,
            channels,
        }
    }

    /// The `rows · out_w × k² · channels` patch matrix of output rows `y0..y0 + rows`, in
    /// `cols` (resized).
    fn im2col(&self, g: &ConvGeometry, y0: usize, rows: usize, cols: &mut Vec<f32>) {
        let run = g.kernel * self.channels;
        let width = g.kernel * run;
        cols.resize(rows * g.out_w * width, 0.0);
        for (patch, dst) in cols[..rows * g.out_w * width]
            .chunks_exact_mut(width)
            .enumerate()
        {
            let (oy, ox) = (y0 + patch / g.out_w, patch % g.out_w);
            for (ky, part) in dst.chunks_exact_mut(run).enumerate() {
                let start = ((oy * g.stride + ky) * self.width + ox * g.stride) * self.channels;
                part.copy_from_slice(&self.data[start..start + run]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::PaddingStyle;
    use crate::cpu::simd::Activation;

    #[test]
    fn matches_a_naive_convolution_from_either_layout() {
        for (cin, k, stride, n) in [(3, 3, 2, 16), (5, 3, 1, 40), (3, 7, 2, 8)] {
            for (h, w) in [(13, 11), (12, 10)] {
                let val = |i: usize, s: usize| ((i * 7919 + s * 104_729) % 89) as f32 / 22.0 - 2.0;
                let image: Vec<f32> = (0..cin * h * w).map(|i| val(i, 1)).collect();
                let mut hwc = vec![0f32; image.len()];
                for ci in 0..cin {
                    for p in 0..h * w {
                        hwc[p * cin + ci] = image[ci * h * w + p];
                    }
                }
                // PyTorch layout [n][cin][k][k], moved to [(ky·k + kx)·cin + ci][n].
                let torch_w: Vec<f32> = (0..n * cin * k * k).map(|i| val(i, 2) / 8.0).collect();
                let mut weight = vec![0f32; cin * k * k * n];
                for o in 0..n {
                    for ci in 0..cin {
                        for t in 0..k * k {
                            weight[(t * cin + ci) * n + o] = torch_w[(o * cin + ci) * k * k + t];
                        }
                    }
                }
                let bias = (0..n).map(|i| val(i, 3)).collect();
                let layer = PointwiseWeights::new(&weight, bias, cin * k * k, n, Activation::Relu);
                for style in [PaddingStyle::Symmetric, PaddingStyle::TfSame] {
                    let g = ConvGeometry::new(h, w, k, stride, style);
                    let mut want = vec![0f32; g.out_h * g.out_w * n];
                    for oy in 0..g.out_h {
                        for ox in 0..g.out_w {
                            for o in 0..n {
                                let mut v = layer.bias[o];
                                for ci in 0..cin {
                                    for ky in 0..k {
                                        for kx in 0..k {
                                            let iy =
                                                (oy * stride + ky) as isize - g.pad_top as isize;
                                            let ix =
                                                (ox * stride + kx) as isize - g.pad_left as isize;
                                            if iy >= 0
                                                && ix >= 0
                                                && iy < h as isize
                                                && ix < w as isize
                                            {
                                                v += torch_w[((o * cin + ci) * k + ky) * k + kx]
                                                    * image
                                                        [(ci * h + iy as usize) * w + ix as usize];
                                            }
                                        }
                                    }
                                }
                                want[(oy * g.out_w + ox) * n + o] = v.max(0.0);
                            }
                        }
                    }
                    for (layout, input) in [
                        (Layout::ChannelsFirst, &image),
                        (Layout::ChannelsLast, &hwc),
                    ] {
                        for parallel in [false, true] {
                            let mut out = vec![f32::NAN; want.len()];
                            conv(input, layout, cin, &g, &layer, &mut out, parallel);
                            let max = want
                                .iter()
                                .zip(&out)
                                .map(|(a, b)| (a - b).abs())
                                .fold(0f32, f32::max);
                            assert!(
                                max < 1e-4,
                                "{layout:?} {style:?} k{k}/{stride} {h}×{w}: max |Δ| = {max}"
                            );
                        }
                    }
                }
            }
        }
    }
}
