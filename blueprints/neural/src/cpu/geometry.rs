//! Output size and zero padding of a square-kernel convolution over an `h × w` map.

use crate::backbone::PaddingStyle;

/// Spatial geometry of one convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero rows added above the input.
    pub pad_top: usize,
    /// Zero columns added left of the input.
    pub pad_left: usize,
}

/// Output size and leading padding of one axis.
fn axis(input: usize, kernel: usize, stride: usize, style: PaddingStyle) -> (usize, usize) {
    match style {
        PaddingStyle::Symmetric => {
            let pad = kernel / 2;
            ((input + 2 * pad).saturating_sub(kernel) / stride + 1, pad)
        }
        PaddingStyle::TfSame => {
            let out = input.div_ceil(stride);
            let total = ((out.max(1) - 1) * stride + kernel).saturating_sub(input);
            (out, total / 2)
        }
    }
}

impl ConvGeometry {
    /// Geometry of a `kernel × kernel` convolution with `stride` and the given padding style.
    pub fn new(
        in_h: usize,
        in_w: usize,
        kernel: usize,
        stride: usize,
        style: PaddingStyle,
    ) -> Self {
        let (out_h, pad_top) = axis(in_h, kernel, stride, style);
        let (out_w, pad_left) = axis(in_w, kernel, stride, style);
        ConvGeometry {
            in_h,
            in_w,
            out_h,
            out_w,
            kernel,
            stride,
            pad_top,
            pad_left,
        }
    }

    /// The kernel offsets `k` (rows or columns) whose input index `o·stride + k − pad`
    /// falls inside `0..input`, for output index `o`.
    #[inline]
    pub fn valid_taps(&self, o: usize, input: usize, pad: usize) -> std::ops::Range<usize> {
        let start = o * self.stride;
        // input index = start + k - pad must be >= 0 and < input.
        let lo = pad.saturating_sub(start);
        let hi = (input + pad).saturating_sub(start).min(self.kernel);
        lo..hi.max(lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_matches_pytorch_sizes() {
        let g = ConvGeometry::new(224, 224, 3, 2, PaddingStyle::Symmetric);
        assert_eq!((g.out_h, g.out_w, g.pad_top), (112, 112, 1));
        let g = ConvGeometry::new(7, 7, 3, 1, PaddingStyle::Symmetric);
        assert_eq!((g.out_h, g.pad_top), (7, 1));
    }

    #[test]
    fn tf_same_pads_the_extra_pixel_after() {
        // 224 / 2 with k = 3: total padding 1, none before.
        let g = ConvGeometry::new(224, 224, 3, 2, PaddingStyle::TfSame);
        assert_eq!((g.out_h, g.pad_top), (112, 0));
        // 57 / 2 with k = 5: out 29, total (28·2 + 5 − 57) = 4, 2 before.
        let g = ConvGeometry::new(57, 57, 5, 2, PaddingStyle::TfSame);
        assert_eq!((g.out_h, g.pad_top), (29, 2));
        // stride 1, k = 5: 2 on each side.
        let g = ConvGeometry::new(14, 14, 5, 1, PaddingStyle::TfSame);
        assert_eq!((g.out_h, g.pad_top), (14, 2));
    }

    #[test]
    fn valid_taps_clip_at_the_borders() {
        let g = ConvGeometry::new(4, 4, 3, 1, PaddingStyle::Symmetric);
        assert_eq!(g.valid_taps(0, 4, 1), 1..3);
        assert_eq!(g.valid_taps(1, 4, 1), 0..3);
        assert_eq!(g.valid_taps(3, 4, 1), 0..2);
    }
}
