//! The stem: a dense `k × k` strided convolution from a CHW image (3 channels) to NHWC.
//! The image is first copied into a zero-padded HWC buffer, so each patch row of the im2col
//! matrix is `k` contiguous runs of `k · channels` values; row tiles of that matrix go to the
//! pointwise GEMM.

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::pointwise::{PointwiseWeights, pointwise};

/// Output rows (of the feature map) per im2col tile.
const TILE_ROWS: usize = 8;

/// Convolves one CHW image (`in_channels × in_h × in_w`) into `out` (`out_h × out_w × n`).
/// `layer.k` must be `kernel² · in_channels`, ordered kernel row, kernel column, channel.
pub fn stem(
    image: &[f32],
    in_channels: usize,
    geom: &ConvGeometry,
    layer: &PointwiseWeights,
    out: &mut [f32],
    parallel: bool,
) {
    let n = layer.n;
    let padded = Padded::new(image, in_channels, geom);
    let chunk = TILE_ROWS * geom.out_w * n;
    let out = &mut out[..geom.out_h * geom.out_w * n];
    let run_tile = |(t, dst): (usize, &mut [f32])| {
        let y0 = t * TILE_ROWS;
        let rows = dst.len() / (geom.out_w * n);
        let cols = padded.im2col(geom, y0, rows);
        pointwise(&cols, rows * geom.out_w, layer, None, dst, false);
    };
    if parallel {
        out.par_chunks_mut(chunk).enumerate().for_each(run_tile);
    } else {
        out.chunks_mut(chunk).enumerate().for_each(run_tile);
    }
}

/// The input in HWC order with the convolution's zero border (enough for every output).
struct Padded {
    data: Vec<f32>,
    width: usize,
    channels: usize,
}

impl Padded {
    fn new(image: &[f32], channels: usize, g: &ConvGeometry) -> Self {
        let height = ((g.out_h - 1) * g.stride + g.kernel).max(g.pad_top + g.in_h);
        let width = ((g.out_w - 1) * g.stride + g.kernel).max(g.pad_left + g.in_w);
        let mut data = vec![0f32; height * width * channels];
        let plane = g.in_h * g.in_w;
        for y in 0..g.in_h {
            let row =
                &mut data[((y + g.pad_top) * width + g.pad_left) * channels..][..g.in_w * channels];
            for (x, px) in row.chunks_exact_mut(channels).enumerate() {
                for (ci, v) in px.iter_mut().enumerate() {
                    *v = image[ci * plane + y * g.in_w + x];
                }
            }
        }
        Padded {
            data,
            width,
            channels,
        }
    }

    /// The `rows · out_w × k² · channels` patch matrix of output rows `y0..y0 + rows`.
    fn im2col(&self, g: &ConvGeometry, y0: usize, rows: usize) -> Vec<f32> {
        let run = g.kernel * self.channels;
        let width = g.kernel * run;
        let mut cols = vec![0f32; rows * g.out_w * width];
        for (patch, dst) in cols.chunks_exact_mut(width).enumerate() {
            let (oy, ox) = (y0 + patch / g.out_w, patch % g.out_w);
            for (ky, part) in dst.chunks_exact_mut(run).enumerate() {
                let start = ((oy * g.stride + ky) * self.width + ox * g.stride) * self.channels;
                part.copy_from_slice(&self.data[start..start + run]);
            }
        }
        cols
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::PaddingStyle;

    #[test]
    fn matches_a_naive_convolution() {
        let (cin, k, n) = (3, 3, 16);
        for (h, w) in [(13, 11), (12, 10)] {
            let val = |i: usize, s: usize| ((i * 7919 + s * 104_729) % 89) as f32 / 22.0 - 2.0;
            let image: Vec<f32> = (0..cin * h * w).map(|i| val(i, 1)).collect();
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
            let layer = PointwiseWeights::new(&weight, bias, cin * k * k, n, true);
            for style in [PaddingStyle::Symmetric, PaddingStyle::TfSame] {
                let g = ConvGeometry::new(h, w, k, 2, style);
                let mut out = vec![f32::NAN; g.out_h * g.out_w * n];
                stem(&image, cin, &g, &layer, &mut out, true);
                let mut max = 0f32;
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        for o in 0..n {
                            let mut v = layer.bias[o];
                            for ci in 0..cin {
                                for ky in 0..k {
                                    for kx in 0..k {
                                        let iy = (oy * 2 + ky) as isize - g.pad_top as isize;
                                        let ix = (ox * 2 + kx) as isize - g.pad_left as isize;
                                        if iy >= 0 && ix >= 0 && iy < h as isize && ix < w as isize
                                        {
                                            v += torch_w[((o * cin + ci) * k + ky) * k + kx]
                                                * image[(ci * h + iy as usize) * w + ix as usize];
                                        }
                                    }
                                }
                            }
                            let got = out[(oy * g.out_w + ox) * n + o];
                            max = max.max((v.clamp(0.0, 6.0) - got).abs());
                        }
                    }
                }
                assert!(max < 1e-4, "{style:?} {h}×{w}: max |Δ| = {max}");
            }
        }
    }
}
