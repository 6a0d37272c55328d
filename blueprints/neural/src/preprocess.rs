//! Image preprocessing that mirrors the reference PIL pipeline:
//! decode → EXIF orientation → RGB → shorter side to `resize_to` (antialiased bicubic, Pillow's
//! `BICUBIC`) → centre crop → `(x − mean) / std` → CHW `f32`.

use std::path::Path;

use fast_image_resize::images::{Image as FirImage, ImageRef as FirImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use crate::backbone::{Backbone, Normalization};
use crate::decode::{DecodeLimits, decode_image};
use crate::error::{NeuralError, Result};
use crate::level::{TRUNK_VIEWS, TRUNK_ZOOM};

/// Geometry and normalization of a backbone's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreprocessConfig {
    /// The shorter side is resized to this many pixels.
    pub resize_to: usize,
    /// Side of the square centre crop (the network input).
    pub crop: usize,
    /// Per-channel normalization.
    pub norm: Normalization,
}

impl From<Backbone> for PreprocessConfig {
    fn from(b: Backbone) -> Self {
        PreprocessConfig {
            resize_to: b.resize_to(),
            crop: b.input_size(),
            norm: b.normalization(),
        }
    }
}

impl PreprocessConfig {
    /// Number of `f32` values of one preprocessed image (3 × crop × crop).
    pub fn input_len(&self) -> usize {
        3 * self.crop * self.crop
    }
}

/// Size after resizing the shorter side of `w × h` to `resize_to`, rounded like Python's
/// `round()` (half to even), as in `im.resize((round(w*s), round(h*s)))`.
pub fn resized_size(w: u32, h: u32, resize_to: usize) -> (u32, u32) {
    let s = resize_to as f64 / f64::from(w.min(h).max(1));
    let r = |v: u32| ((f64::from(v) * s).round_ties_even() as u32).max(1);
    (r(w), r(h))
}

/// Top-left corner of the centre crop of side `crop` in a `w × h` image: `((w−crop)//2, (h−crop)//2)`.
/// None when the image is smaller than the crop.
pub fn center_crop_origin(w: u32, h: u32, crop: usize) -> Option<(u32, u32)> {
    let c = u32::try_from(crop).ok()?;
    Some((w.checked_sub(c)? / 2, h.checked_sub(c)? / 2))
}

/// Decodes an image file under the default [`DecodeLimits`] (see [`crate::decode`]: regular
/// files only, decompression-bomb and memory limits, truncation refused), applies its EXIF
/// orientation and converts it to 8-bit RGB (grey is replicated, alpha dropped, CMYK/16-bit
/// converted by the decoder).
pub fn load_rgb(path: &Path) -> Result<RgbImage> {
    let img = decode_image(path, &DecodeLimits::default()).map_err(|p| NeuralError::Image {
        path: path.to_path_buf(),
        message: p.reason,
    })?;
    Ok(img.into_rgb8())
}

/// Resizes with a Pillow-like antialiased bicubic (Catmull-Rom, a = −0.5, support scaled
/// when downsampling, 8-bit fixed-point passes).
pub fn resize_bicubic(img: &RgbImage, w: u32, h: u32) -> Result<RgbImage> {
    let src = FirImageRef::new(img.width(), img.height(), img.as_raw(), PixelType::U8x3)
        .map_err(|e| NeuralError::InvalidConfig(format!("resize source: {e}")))?;
    let mut dst = FirImage::new(w, h, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| NeuralError::InvalidConfig(format!("resize: {e}")))?;
    RgbImage::from_raw(w, h, dst.into_vec())
        .ok_or_else(|| NeuralError::InvalidConfig("resize produced a wrong buffer size".into()))
}

/// The longest side an image may have, in multiples of its shorter side, before it is resized:
/// a longer one (a 1 × 60,000 strip, whose resized copy would take gigabytes) is first cut to
/// its centre at this ratio. The centre crop the network sees comes from the middle anyway.
pub const MAX_ASPECT: u32 = 16;

/// The centre of `img` at most [`MAX_ASPECT`] times as long as wide (or wide as long), when it
/// is longer than that.
fn central_strip(img: &RgbImage) -> Option<RgbImage> {
    let (w, h) = img.dimensions();
    let limit = w.min(h).saturating_mul(MAX_ASPECT);
    if w <= limit && h <= limit {
        return None;
    }
    let (cw, ch) = (w.min(limit), h.min(limit));
    Some(image::imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image())
}

/// Preprocesses a decoded RGB image into a normalised CHW buffer of `cfg.input_len()` values.
pub fn preprocess_rgb(img: &RgbImage, cfg: &PreprocessConfig) -> Result<Vec<f32>> {
    if img.width() == 0 || img.height() == 0 {
        return Err(NeuralError::InvalidConfig("empty image".into()));
    }
    let strip = central_strip(img);
    let img = strip.as_ref().unwrap_or(img);
    let (w, h) = resized_size(img.width(), img.height(), cfg.resize_to);
    let resized_copy;
    let resized = if (w, h) == img.dimensions() {
        img
    } else {
        resized_copy = resize_bicubic(img, w, h)?;
        &resized_copy
    };
    let (left, top) = center_crop_origin(w, h, cfg.crop).ok_or_else(|| {
        NeuralError::InvalidConfig(format!(
            "resized image {w}×{h} is smaller than the {} crop",
            cfg.crop
        ))
    })?;
    Ok(normalize_crop(resized, left, top, cfg))
}

/// Crops `cfg.crop²` pixels at `(left, top)` and normalises them into CHW order.
fn normalize_crop(img: &RgbImage, left: u32, top: u32, cfg: &PreprocessConfig) -> Vec<f32> {
    let c = cfg.crop;
    let plane = c * c;
    let mut out = vec![0f32; 3 * plane];
    let raw = img.as_raw();
    let stride = img.width() as usize * 3;
    for y in 0..c {
        let row = &raw[(top as usize + y) * stride + left as usize * 3..][..c * 3];
        for (x, px) in row.chunks_exact(3).enumerate() {
            for ch in 0..3 {
                out[ch * plane + y * c + x] =
                    (f32::from(px[ch]) - cfg.norm.mean[ch]) / cfg.norm.std[ch];
            }
        }
    }
    out
}

/// Decodes and preprocesses one image file.
pub fn preprocess_path(path: &Path, cfg: &PreprocessConfig) -> Result<Vec<f32>> {
    let img = load_rgb(path)?;
    preprocess_rgb(&img, cfg).map_err(|e| NeuralError::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Decodes one image file into the [`TRUNK_VIEWS`] inputs of a trunk row, side by side (see
/// [`crate::level::TRUNK_VIEWS`]): centre crop, mirrored, zoomed by [`TRUNK_ZOOM`], mirrored.
pub fn preprocess_trunk_views(path: &Path, cfg: &PreprocessConfig) -> Result<Vec<f32>> {
    let img = load_rgb(path)?;
    let image_error = |e: NeuralError| NeuralError::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let centre = preprocess_rgb(&img, cfg).map_err(image_error)?;
    let zoomed_cfg = PreprocessConfig {
        resize_to: (cfg.resize_to as f64 * TRUNK_ZOOM).round() as usize,
        ..*cfg
    };
    let zoomed = preprocess_rgb(&img, &zoomed_cfg).map_err(image_error)?;
    let mut out = Vec::with_capacity(TRUNK_VIEWS * cfg.input_len());
    for view in [&centre, &zoomed] {
        out.extend_from_slice(view);
        out.extend(mirrored(view, cfg.crop));
    }
    Ok(out)
}

/// A CHW image of side `side` flipped left to right.
fn mirrored(chw: &[f32], side: usize) -> impl Iterator<Item = f32> + '_ {
    chw.chunks_exact(side)
        .flat_map(|row| row.iter().rev().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resized_size_rounds_like_python() {
        // Python: s = 256/min(w,h); (round(w*s), round(h*s)).
        assert_eq!(resized_size(640, 640, 256), (256, 256));
        assert_eq!(resized_size(451, 300, 256), (385, 256)); // 384.853… → 385
        assert_eq!(resized_size(300, 451, 272), (272, 409)); // 408.906… → 409
        assert_eq!(resized_size(10, 3, 256), (853, 256)); // 853.33 → 853
        // ties go to even: w*s = 2.5 → 2
        assert_eq!(resized_size(5, 2, 1), (2, 1));
        assert_eq!(resized_size(7, 2, 1), (4, 1)); // 3.5 → 4
    }

    #[test]
    fn a_very_long_strip_is_cut_to_its_centre_before_resizing() {
        // 2 × 60,000: resized whole, 256 × 7,680,000 pixels (5.9 GB).
        let mut img = RgbImage::from_pixel(2, 60_000, image::Rgb([0, 0, 0]));
        for y in 29_990..30_010 {
            for x in 0..2 {
                img.put_pixel(x, y, image::Rgb([255, 255, 255]));
            }
        }
        let strip = central_strip(&img).unwrap();
        assert_eq!(strip.dimensions(), (2, 2 * MAX_ASPECT));
        // The bright middle rows are what the strip keeps.
        assert_eq!(strip.get_pixel(0, MAX_ASPECT)[0], 255);
        let cfg = PreprocessConfig::from(Backbone::MobileNetV2);
        let v = preprocess_rgb(&img, &cfg).unwrap();
        assert_eq!(v.len(), cfg.input_len());
        assert!(v.iter().all(|x| x.is_finite()));
        // Ordinary shapes are left as they are, up to the ratio itself.
        assert!(central_strip(&RgbImage::new(640, 40)).is_none());
        assert!(central_strip(&RgbImage::new(1, 1)).is_none());
        assert_eq!(
            central_strip(&RgbImage::new(641, 40)).unwrap().dimensions(),
            (640, 40)
        );
    }

    #[test]
    fn center_crop_is_floor_of_half_margin() {
        assert_eq!(center_crop_origin(256, 256, 224), Some((16, 16)));
        assert_eq!(center_crop_origin(385, 256, 224), Some((80, 16))); // (385-224)//2 = 80
        assert_eq!(center_crop_origin(200, 256, 224), None);
    }

    #[test]
    fn preprocess_has_the_right_length_and_normalises_flat_colour() {
        let img = RgbImage::from_pixel(300, 200, image::Rgb([127, 255, 0]));
        let cfg = PreprocessConfig::from(Backbone::EfficientNetLite1);
        let v = preprocess_rgb(&img, &cfg).unwrap();
        assert_eq!(v.len(), 3 * 240 * 240);
        let plane = 240 * 240;
        // A flat image stays flat under any normalised resampling filter.
        assert!(v[..plane].iter().all(|&x| x.abs() < 1e-6));
        assert!(v[plane..2 * plane].iter().all(|&x| (x - 1.0).abs() < 1e-6));
        assert!(
            v[2 * plane..]
                .iter()
                .all(|&x| (x + 127.0 / 128.0).abs() < 1e-6)
        );
    }

    #[test]
    fn trunk_views_are_centre_mirror_zoom_mirror() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        pattern(300, 260).save(&path).unwrap();
        let cfg = PreprocessConfig::from(Backbone::MobileNetV2);
        let views = preprocess_trunk_views(&path, &cfg).unwrap();
        let n = cfg.input_len();
        assert_eq!(views.len(), 4 * n);
        assert_eq!(views[..n], preprocess_path(&path, &cfg).unwrap()[..]);
        let (c, m) = (&views[..n], &views[n..2 * n]);
        assert_eq!(m[0], c[cfg.crop - 1]);
        assert_eq!(m[n - 1], c[n - cfg.crop]);
        // The zoomed view shows a different (magnified) centre.
        assert_ne!(views[2 * n..3 * n], views[..n]);
        assert!(views[2 * n..].iter().all(|v| v.is_finite()));
    }

    #[test]
    fn crop_takes_the_centre() {
        // A 4-pixel-wide image already at the target size: crop 2 → columns 1..3.
        let mut img = RgbImage::new(4, 2);
        for (x, _, p) in img.enumerate_pixels_mut() {
            *p = image::Rgb([x as u8 * 10, 0, 0]);
        }
        let cfg = PreprocessConfig {
            resize_to: 2,
            crop: 2,
            norm: Normalization {
                mean: [0.0; 3],
                std: [1.0; 3],
            },
        };
        let v = preprocess_rgb(&img, &cfg).unwrap();
        assert_eq!(&v[..4], &[10.0, 20.0, 10.0, 20.0]);
    }

    /// The synthetic test pattern also generated in Python for the Pillow constants.
    fn pattern(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = |c: u32| ((x * 37 + y * 91 + c * 50 + ((x * y) % 17) * 7) % 256) as u8;
            image::Rgb([v(0), v(1), v(2)])
        })
    }

    /// Pillow 13.0.0 `Image.fromarray(pattern).resize(size, Image.BICUBIC)`, flattened HWC
    /// (printed with numpy by a one-off Python script).
    const PIL_29X17_TO_9X5: [u8; 135] = [
        114, 128, 133, 134, 129, 132, 111, 115, 126, 113, 126, 139, 120, 114, 123, 133, 123, 146,
        139, 132, 126, 118, 137, 126, 142, 152, 120, 123, 144, 119, 122, 130, 135, 132, 123, 108,
        125, 125, 118, 124, 118, 149, 131, 134, 140, 136, 126, 103, 129, 125, 136, 131, 124, 150,
        136, 114, 162, 129, 114, 125, 132, 126, 129, 140, 132, 122, 129, 135, 121, 117, 125, 109,
        124, 126, 121, 128, 123, 148, 140, 121, 126, 147, 142, 122, 131, 173, 93, 131, 161, 104,
        117, 147, 166, 135, 121, 103, 106, 134, 120, 116, 162, 98, 108, 149, 112, 108, 89, 113,
        137, 125, 131, 123, 158, 100, 121, 133, 151, 91, 141, 187, 126, 142, 124, 124, 140, 116,
        113, 134, 104, 152, 147, 108, 183, 127, 81,
    ];
    const PIL_6X4_TO_11X7: [u8; 231] = [
        0, 40, 90, 1, 51, 100, 23, 73, 122, 44, 93, 152, 64, 113, 183, 83, 145, 206, 105, 175, 224,
        136, 195, 255, 166, 215, 237, 188, 237, 82, 198, 248, 0, 23, 70, 130, 32, 85, 145, 56, 115,
        171, 82, 144, 155, 109, 161, 125, 137, 138, 139, 150, 114, 165, 120, 132, 198, 104, 158,
        191, 130, 182, 107, 144, 194, 61, 80, 129, 188, 94, 146, 210, 120, 178, 241, 148, 217, 156,
        177, 232, 32, 217, 124, 33, 217, 17, 72, 93, 33, 96, 8, 70, 120, 39, 97, 144, 61, 111, 157,
        148, 210, 105, 168, 176, 124, 200, 113, 156, 164, 123, 119, 105, 154, 61, 128, 105, 83,
        149, 57, 126, 90, 88, 161, 56, 129, 165, 98, 157, 113, 123, 172, 84, 173, 244, 21, 197,
        173, 37, 234, 44, 68, 153, 30, 101, 32, 75, 134, 38, 109, 157, 82, 139, 179, 116, 161, 223,
        146, 185, 210, 170, 217, 81, 182, 233, 10, 66, 123, 79, 86, 110, 96, 122, 89, 130, 116,
        106, 175, 95, 142, 207, 118, 190, 145, 155, 209, 82, 204, 135, 113, 209, 89, 139, 129, 127,
        118, 85, 150, 106, 0, 47, 119, 16, 72, 137, 52, 122, 174, 95, 158, 220, 138, 188, 245, 172,
        238, 132, 203, 245, 20, 255, 115, 44, 239, 27, 93, 99, 69, 143, 23, 96, 168,
    ];

    fn max_abs_diff(a: &[u8], b: &[u8]) -> i32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (i32::from(x) - i32::from(y)).abs())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn bicubic_downscale_matches_pillow() {
        let out = resize_bicubic(&pattern(29, 17), 9, 5).unwrap();
        let d = max_abs_diff(out.as_raw(), &PIL_29X17_TO_9X5);
        assert!(d <= 1, "max |Δ| vs Pillow = {d}");
    }

    #[test]
    fn bicubic_upscale_matches_pillow() {
        // Known gap: on upscaling (images whose shorter side is below `resize_to`) the border
        // pixels differ from Pillow by a few levels (measured max 5 on this 6×4 pattern);
        // downscaling, the common case, matches within 1.
        let out = resize_bicubic(&pattern(6, 4), 11, 7).unwrap();
        let d = max_abs_diff(out.as_raw(), &PIL_6X4_TO_11X7);
        assert!(d <= 5, "max |Δ| vs Pillow = {d}");
        let mean = out
            .as_raw()
            .iter()
            .zip(&PIL_6X4_TO_11X7)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
            .sum::<f64>()
            / PIL_6X4_TO_11X7.len() as f64;
        assert!(mean < 1.0, "mean |Δ| vs Pillow = {mean}");
    }
}
