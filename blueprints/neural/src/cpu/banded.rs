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

/// Bytes of expanded rows a band aims to hold: half of this CPU's per-core L2 cache, read once
/// at run time (512 KiB where it cannot be read). On a 1 MiB-L2 Zen 5 core, EfficientNet-Lite2
/// ran 184 img/s with a quarter of the L2, 201–204 with a half or all of it (thin bands of its
/// 5×5 stride-2 blocks redo their overlap and feed the GEMM few rows), 200 at 2–4 MiB;
/// MobileNetV2 and Lite0 moved by under 2%.
fn band_bytes() -> usize {
    static BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        l2_cache_bytes().map_or(512 * 1024, |l2| (l2 / 2).clamp(128 * 1024, 4 << 20))
    })
}

/// The per-core L2 cache size from Linux's sysfs, if it says.
fn l2_cache_bytes() -> Option<usize> {
    let dirs = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    dirs.flatten().find_map(|dir| {
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).ok();
        if read("level")?.trim() != "2" {
            return None;
        }
        parse_cache_size(&read("size")?)
    })
}

/// A sysfs cache size such as `1024K` or `2M` in bytes.
fn parse_cache_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let scale = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        _ => return None,
    };
    digits.parse::<usize>().ok().map(|n| n * scale)
}

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

/// Output rows per band for a block: enough input rows to fill [`band_bytes`], at least one.
fn band_rows(g: &ConvGeometry, expanded_row_bytes: usize) -> usize {
    let input_rows = (band_bytes() / expanded_row_bytes.max(1)).max(g.kernel);
    ((input_rows - g.kernel) / g.stride + 1).min(g.out_h).max(1)
}

/// Runs the block on `x` (`in_h × in_w × expand.k`, NHWC) into `out` (`out_h × out_w ×
/// project.n`); `out` must not alias `x`.
pub fn run(block: &ExpandedBlock, x: &[f32], bufs: &mut BandBuffers, out: &mut [f32]) {
    let g = block.geometry;
    let rows_per_band = band_rows(g, g.in_w * block.depthwise.channels * 4);
    run_in_bands(block, x, rows_per_band, bufs, out);
}

/// [`run`] with `rows_per_band` output rows per band (at least one).
fn run_in_bands(
    block: &ExpandedBlock,
    x: &[f32],
    rows_per_band: usize,
    bufs: &mut BandBuffers,
    out: &mut [f32],
) {
    let g = block.geometry;
    let (c_in, hidden, c_out) = (block.expand.k, block.depthwise.channels, block.project.n);
    let expanded_row = g.in_w * hidden;
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{max_abs_diff, pseudo};
    use super::*;
    use crate::backbone::PaddingStyle;
    use crate::cpu::depthwise::depthwise;
    use crate::cpu::simd::Activation;

    #[test]
    fn any_band_height_gives_the_layer_by_layer_block() {
        let (c_in, hidden, c_out) = (8, 24, 8);
        let expand = PointwiseWeights::new(
            &pseudo(c_in * hidden, 1_000_003),
            pseudo(hidden, 2_000_006),
            c_in,
            hidden,
            Activation::Relu6,
        );
        let project = PointwiseWeights::new(
            &pseudo(hidden * c_out, 3_000_009),
            pseudo(c_out, 4_000_012),
            hidden,
            c_out,
            Activation::Identity,
        );
        for (kernel, stride, style) in [
            (3, 1, PaddingStyle::Symmetric),
            (5, 2, PaddingStyle::TfSame),
            (3, 2, PaddingStyle::TfSame),
            (5, 1, PaddingStyle::Symmetric),
        ] {
            let depthwise_layer = DepthwiseWeights {
                weight: pseudo(kernel * kernel * hidden, 5_000_015),
                bias: pseudo(hidden, 6_000_018),
                channels: hidden,
                relu6: true,
            };
            let (h, w) = (23, 19);
            let g = ConvGeometry::new(h, w, kernel, stride, style);
            let x = pseudo(h * w * c_in, 7_777_777 * kernel as u32);
            // Layer by layer over the whole map.
            let mut expanded = vec![0f32; h * w * hidden];
            pointwise(&x, h * w, &expand, None, &mut expanded, false);
            let mut filtered = vec![0f32; g.out_h * g.out_w * hidden];
            depthwise(&expanded, &g, &depthwise_layer, &mut filtered, false);
            let residual = stride == 1;
            let mut want = vec![0f32; g.out_h * g.out_w * c_out];
            let shortcut = residual.then_some(&x[..]);
            pointwise(
                &filtered,
                g.out_h * g.out_w,
                &project,
                shortcut,
                &mut want,
                false,
            );
            assert!(want.iter().any(|v| v.abs() > 0.1));

            let block = ExpandedBlock {
                expand: &expand,
                depthwise: &depthwise_layer,
                geometry: &g,
                project: &project,
                residual,
            };
            let mut bufs = BandBuffers::default();
            for rows in [1, 2, 3, 5, g.out_h] {
                let mut got = vec![f32::NAN; want.len()];
                run_in_bands(&block, &x, rows, &mut bufs, &mut got);
                let diff = max_abs_diff(&got, &want);
                assert!(
                    diff < 1e-4,
                    "{kernel}x{kernel}/{stride}, {rows} rows: {diff}"
                );
            }
        }
    }

    #[test]
    fn reads_sysfs_cache_sizes() {
        assert_eq!(parse_cache_size("1024K\n"), Some(1 << 20));
        assert_eq!(parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(parse_cache_size("4096"), Some(4096));
        assert_eq!(parse_cache_size("12 K"), None);
        assert_eq!(parse_cache_size(""), None);
        assert!((128 * 1024..=4 << 20).contains(&band_bytes()));
    }
}
