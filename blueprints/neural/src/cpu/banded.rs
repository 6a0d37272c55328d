//! An inverted-residual block with an expansion (1×1 expand → depthwise → 1×1 project), run in
//! bands of output rows so the expanded map — the block's largest tensor, up to 112×112×96 —
//! never leaves the L2 cache: each band expands only the input rows it needs that the previous
//! band has not (the overlap is moved to the front of the band buffer, not recomputed), runs
//! the depthwise convolution on the band and projects its rows straight into the output.
//! Single-threaded: used when the images of a batch run in parallel.

use super::depthwise::{DepthwiseWeights, depthwise_rows};
use super::geometry::ConvGeometry;
use super::pointwise::{PointwiseWeights, pointwise};
use super::sized;

/// Bytes of expanded rows a band aims to hold (about a quarter of a 1 MiB L2).
const BAND_BYTES: usize = 256 * 1024;

/// The weights of one block with an expansion.
pub struct ExpandedBlock<'a> {
    pub expand: &'a PointwiseWeights,
    pub depthwise: &'a DepthwiseWeights,
    pub geometry: &'a ConvGeometry,
    pub project: &'a PointwiseWeights,
    pub residual: bool,
}

/// Scratch buffers reused across blocks and images.
#[derive(Default)]
pub struct BandBuffers {
    expanded: Vec<f32>,
    filtered: Vec<f32>,
}

/// Output rows per band for a block: enough input rows to fill [`BAND_BYTES`], at least one.
fn band_rows(g: &ConvGeometry, expanded_row_bytes: usize) -> usize {
    let input_rows = (BAND_BYTES / expanded_row_bytes.max(1)).max(g.kernel);
    ((input_rows - g.kernel) / g.stride + 1).min(g.out_h).max(1)
}

/// Runs the block on `x` (`in_h × in_w × expand.k`, NHWC) into `out` (`out_h × out_w ×
/// project.n`); `out` must not alias `x`.
pub fn run(block: &ExpandedBlock, x: &[f32], bufs: &mut BandBuffers, out: &mut [f32]) {
    let g = block.geometry;
    let (c_in, hidden, c_out) = (block.expand.k, block.depthwise.channels, block.project.n);
    let expanded_row = g.in_w * hidden;
    let rows_per_band = band_rows(g, expanded_row * 4);
    let capacity = ((rows_per_band - 1) * g.stride + g.kernel).min(g.in_h);
    let expanded = sized(&mut bufs.expanded, capacity * expanded_row);
    let filtered = sized(&mut bufs.filtered, rows_per_band * g.out_w * hidden);
    // Input rows `lo..hi` are expanded in `expanded`, starting at its first row.
    let (mut lo, mut hi) = (0usize, 0usize);
    for oy0 in (0..g.out_h).step_by(rows_per_band) {
        let oy1 = (oy0 + rows_per_band).min(g.out_h);
        let need_lo = (oy0 * g.stride).saturating_sub(g.pad_top);
        let need_hi = ((oy1 - 1) * g.stride + g.kernel)
            .saturating_sub(g.pad_top)
            .min(g.in_h);
        if need_lo < hi {
            // Keep the rows both bands need, at the front.
            expanded.copy_within((need_lo - lo) * expanded_row..(hi - lo) * expanded_row, 0);
        } else {
            hi = need_lo;
        }
        lo = need_lo;
        if hi < need_hi {
            let px = g.in_w;
            pointwise(
                &x[hi * px * c_in..need_hi * px * c_in],
                (need_hi - hi) * px,
                block.expand,
                None,
                &mut expanded[(hi - lo) * expanded_row..(need_hi - lo) * expanded_row],
                false,
            );
            hi = need_hi;
        }
        let band_px = (oy1 - oy0) * g.out_w;
        depthwise_rows(
            &expanded[..(hi - lo) * expanded_row],
            lo,
            g,
            block.depthwise,
            oy0..oy1,
            &mut filtered[..band_px * hidden],
        );
        let rows = oy0 * g.out_w * c_out..oy1 * g.out_w * c_out;
        let residual = block.residual.then(|| &x[rows.clone()]);
        pointwise(
            &filtered[..band_px * hidden],
            band_px,
            block.project,
            residual,
            &mut out[rows],
            false,
        );
    }
}
