//! Activation maps: the [`ActivationMap`] type, its overlay and grid figure, and maps by
//! **occlusion sensitivity**, the method for heads that are not differentiable (Grad-CAM, for
//! those that are, lives in [`super::grad_cam`]).
//!
//! Occlusion sensitivity (Zeiler & Fergus, 2014): a grey square (the
//! backbone's mean colour, i.e. zero after normalization) slides over the network's input crop;
//! each occluded image goes through the backbone again, the model predicts from the new image
//! features (every other column unchanged), and the drop of the probability of the class the
//! model predicted for the intact image is recorded. A pixel's heat is the mean drop of the
//! squares covering it, clipped at zero and scaled so the hottest pixel is 1: where hiding the
//! image costs the prediction the most. It needs nothing of the head but its probabilities, so
//! it works for every estimator (trees, forests, linear models, k-NN).
//!
//! Each image is explained by the fold model that did **not** train on it (out-of-fold), like the
//! model's cross-validation predictions.

use std::ops::Range;

use image::RgbImage;
use ndarray::Array2;
use neural::ImageFeaturizer;
use neural::preprocess::preprocess_rgb;
use serde::{Deserialize, Serialize};

use super::InsightError;
use super::charts::{Figure, class_colour, draw_text_on, encode_png, heat, outline, paste};
use crate::features::FeatureInputs;
use crate::model::Model;
use crate::model::importance::column_slices;

/// Occlusion settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcclusionOptions {
    /// Side of the grey square as a fraction of the crop side.
    pub patch_fraction: f64,
    /// Step between squares as a fraction of the crop side.
    pub stride_fraction: f64,
}

impl Default for OcclusionOptions {
    fn default() -> Self {
        Self {
            patch_fraction: 0.25,
            stride_fraction: 0.125,
        }
    }
}

/// How an activation map was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MapMethod {
    /// Gradient-weighted class activation mapping (differentiable heads).
    GradCam,
    /// Occlusion sensitivity (any head).
    Occlusion,
}

impl MapMethod {
    /// Readable name.
    pub fn label(self) -> &'static str {
        match self {
            MapMethod::GradCam => "Grad-CAM",
            MapMethod::Occlusion => "occlusion",
        }
    }
}

/// The activation map of one image.
#[derive(Debug, Clone)]
pub struct ActivationMap {
    /// Dataset row.
    pub row: usize,
    /// Its row in the data file (header = row 1), as messages name rows.
    pub file_row: usize,
    /// Actual class index.
    pub actual: u32,
    /// Class predicted for the intact image.
    pub predicted: u32,
    /// Its probability.
    pub probability: f32,
    /// Per-pixel heat in [0, 1], `crop × crop` (row-major: `[y, x]`).
    pub heat: Array2<f32>,
    /// The network's input crop as RGB.
    pub crop: RgbImage,
    /// How the heat was computed.
    pub method: MapMethod,
}

/// The RGB picture of a normalized CHW input.
pub(crate) fn crop_image(
    input: &[f32],
    crop: usize,
    norm: &neural::backbone::Normalization,
) -> RgbImage {
    let plane = crop * crop;
    RgbImage::from_fn(crop as u32, crop as u32, |x, y| {
        let i = y as usize * crop + x as usize;
        let px = |c: usize| {
            (input[c * plane + i] * norm.std[c] + norm.mean[c])
                .round()
                .clamp(0.0, 255.0) as u8
        };
        image::Rgb([px(0), px(1), px(2)])
    })
}

/// The dense columns of `model`'s features that hold the backbone features of image column
/// `column`; an error unless they match `featurizer`'s width.
pub(crate) fn image_block(
    model: &Model,
    inputs: &FeatureInputs,
    featurizer: &ImageFeaturizer,
    column: &str,
) -> Result<Range<usize>, InsightError> {
    let dense = column_slices(&model.pipeline, inputs)?
        .into_iter()
        .find(|(c, _)| c == column)
        .and_then(|(_, s)| s.dense.first().cloned())
        .ok_or_else(|| {
            InsightError::invalid(format!("the model does not read image column '{column}'"))
        })?;
    if dense.len() != featurizer.feature_dim() {
        return Err(InsightError::invalid(format!(
            "the model's '{column}' block has {} features but the backbone gives {}",
            dense.len(),
            featurizer.feature_dim()
        )));
    }
    Ok(dense)
}

/// Dataset row `row`'s image in `column`, decoded and preprocessed for `featurizer` (CHW).
pub(crate) fn image_input(
    inputs: &FeatureInputs,
    featurizer: &ImageFeaturizer,
    column: &str,
    row: usize,
) -> Result<Vec<f32>, InsightError> {
    let value = inputs
        .dataset
        .column(column)
        .and_then(|c| c.values.get(row))
        .and_then(|v| v.as_deref())
        .ok_or_else(|| InsightError::invalid(format!("row {row} has no image in '{column}'")))?;
    let img = neural::preprocess::load_rgb(&inputs.dataset.image_path(value))?;
    Ok(preprocess_rgb(&img, featurizer.preprocess_config())?)
}

/// How a row's probabilities become its predicted class: the model's binary decision threshold
/// when it has one (as `predict` and the confusion matrix apply it), else the most probable.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Decision {
    /// The positive class of a binary target.
    pub positive: Option<usize>,
    /// The model's decision threshold on the positive class's probability.
    pub threshold: Option<f32>,
}

impl Decision {
    /// The predicted class of probabilities `p`.
    pub fn class(&self, p: &[f32]) -> usize {
        crate::dataset::decide_class(p, self.positive, self.threshold)
    }
}

/// The image an activation map explains: dataset row `row` of image column `column`, its
/// actual class, and how the model's prediction is decided.
#[derive(Debug, Clone, Copy)]
pub struct MapSubject<'a> {
    pub column: &'a str,
    pub row: usize,
    /// `row` in the data file (header = row 1).
    pub file_row: usize,
    pub actual: u32,
    pub decision: Decision,
}

/// Occlusion map of `subject`'s image explained by `model`, whose image block must read the
/// subject's column with the same backbone and levels as `featurizer`.
pub fn occlusion_map(
    model: &Model,
    inputs: &FeatureInputs,
    featurizer: &ImageFeaturizer,
    subject: MapSubject,
    options: &OcclusionOptions,
) -> Result<ActivationMap, InsightError> {
    let MapSubject {
        column,
        row,
        file_row,
        actual,
        decision,
    } = subject;
    if featurizer.levels().iter().any(|l| !l.is_pooled()) {
        return Err(InsightError::invalid(
            "occlusion maps are not available for the fine-tuned CNN (its trunk row holds four \
             views); use Grad-CAM",
        ));
    }
    let input = image_input(inputs, featurizer, column, row)?;
    let dense = image_block(model, inputs, featurizer, column)?;
    let cfg = *featurizer.preprocess_config();
    let crop = cfg.crop;
    let plane = crop * crop;
    let patch = ((crop as f64 * options.patch_fraction).round() as usize).clamp(1, crop);
    let stride = ((crop as f64 * options.stride_fraction).round() as usize).max(1);
    let mut origins = Vec::new();
    let mut y0 = 0;
    loop {
        let mut x0 = 0;
        loop {
            origins.push((y0, x0));
            if x0 + patch >= crop {
                break;
            }
            x0 = (x0 + stride).min(crop - patch);
        }
        if y0 + patch >= crop {
            break;
        }
        y0 = (y0 + stride).min(crop - patch);
    }
    // The intact image first, then one occluded copy per square.
    let dim = featurizer.feature_dim();
    let n = origins.len() + 1;
    let mut probs: Vec<Vec<f32>> = Vec::with_capacity(n);
    let batch = featurizer.batch_size().max(1);
    let mut variants: Vec<Vec<f32>> = Vec::with_capacity(n);
    variants.push(input.clone());
    for &(oy, ox) in &origins {
        let mut v = input.clone();
        for c in 0..3 {
            for y in oy..oy + patch {
                let start = c * plane + y * crop + ox;
                v[start..start + patch].fill(0.0);
            }
        }
        variants.push(v);
    }
    for chunk in variants.chunks(batch) {
        let m = chunk.len();
        let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
        let out = featurizer.run_batch(flat, m, false)?;
        let mut x = model.pipeline.transform(inputs, &vec![row; m])?;
        let d = x
            .dense
            .as_mut()
            .ok_or_else(|| InsightError::invalid("the model has no dense features"))?;
        for i in 0..m {
            for (k, c) in dense.clone().enumerate() {
                d[[i, c]] = out.features[i * dim + k];
            }
        }
        let p = model.predict_features(&x)?;
        probs.extend(p.rows().into_iter().map(|r| r.to_vec()));
    }
    let predicted = decision.class(&probs[0]);
    let p0 = probs[0][predicted];
    let mut sum = Array2::<f32>::zeros((crop, crop));
    let mut cover = Array2::<f32>::zeros((crop, crop));
    for (k, &(oy, ox)) in origins.iter().enumerate() {
        let drop = p0 - probs[k + 1][predicted];
        for y in oy..oy + patch {
            for x in ox..ox + patch {
                sum[[y, x]] += drop;
                cover[[y, x]] += 1.0;
            }
        }
    }
    let mut heat = Array2::<f32>::zeros((crop, crop));
    for ((h, s), c) in heat.iter_mut().zip(sum.iter()).zip(cover.iter()) {
        *h = if *c > 0.0 { (s / c).max(0.0) } else { 0.0 };
    }
    let max = heat.iter().copied().fold(0.0f32, f32::max);
    if max > 0.0 {
        heat.mapv_inplace(|v| v / max);
    }
    Ok(ActivationMap {
        row,
        file_row,
        actual,
        predicted: predicted as u32,
        probability: p0,
        heat,
        crop: crop_image(&input, crop, &cfg.norm),
        method: MapMethod::Occlusion,
    })
}

impl ActivationMap {
    /// The crop with the heat blended over it (heat colour weighted by the heat itself, so
    /// cold regions show the image).
    pub fn overlay(&self) -> RgbImage {
        let mut out = self.crop.clone();
        for (x, y, p) in out.enumerate_pixels_mut() {
            let h = self.heat[[y as usize, x as usize]];
            let c = heat(f64::from(h));
            let a = 0.15 + 0.5 * h;
            for (v, &heat) in p.0.iter_mut().zip(&c) {
                *v = (f32::from(*v) * (1.0 - a) + f32::from(heat) * a).round() as u8;
            }
        }
        out
    }

    /// The black-and-white view: the crop in grey levels, darkened where the heat is low, so
    /// the regions the model looks at stay bright.
    pub fn black_and_white(&self) -> RgbImage {
        let mut out = self.crop.clone();
        for (x, y, p) in out.enumerate_pixels_mut() {
            let h = self.heat[[y as usize, x as usize]];
            let luma =
                0.299 * f32::from(p.0[0]) + 0.587 * f32::from(p.0[1]) + 0.114 * f32::from(p.0[2]);
            let v = (luma * (0.15 + 0.85 * h)).round().clamp(0.0, 255.0) as u8;
            p.0 = [v, v, v];
        }
        out
    }
}

/// A grid of overlays, 4 per row, each captioned "actual → predicted (probability)" and framed
/// in the actual class's colour.
pub fn grid_figure(
    maps: &[ActivationMap],
    classes: &[String],
    title: &str,
) -> Result<Figure, InsightError> {
    if maps.is_empty() {
        return Err(InsightError::invalid("no activation maps to draw"));
    }
    let tile = 200u32;
    let caption = 40u32;
    let cols = 4u32.min(maps.len() as u32);
    let rows = (maps.len() as u32).div_ceil(cols);
    let (w, h) = (cols * (tile + 12) + 12, 50 + rows * (tile + caption + 12));
    let mut canvas = RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
    draw_text_on(&mut canvas, title, 12, 12, 20.0, plotters::style::BLACK)?;
    let name = |k: u32| {
        classes
            .get(k as usize)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    };
    for (i, m) in maps.iter().enumerate() {
        let (c, r) = (i as u32 % cols, i as u32 / cols);
        let x = 12 + c * (tile + 12);
        let y = 50 + r * (tile + caption + 12);
        let small = image::imageops::resize(
            &m.overlay(),
            tile,
            tile,
            image::imageops::FilterType::Triangle,
        );
        paste(&mut canvas, &small, i64::from(x), i64::from(y));
        let col = class_colour(m.actual as usize);
        outline(
            &mut canvas,
            i64::from(x),
            i64::from(y),
            tile,
            tile,
            3,
            [col.0, col.1, col.2],
        );
        let ok = if m.actual == m.predicted {
            "✓"
        } else {
            "✗"
        };
        draw_text_on(
            &mut canvas,
            &format!("{} → {} {ok}", name(m.actual), name(m.predicted)),
            x as i32,
            (y + tile + 4) as i32,
            14.0,
            plotters::style::BLACK,
        )?;
        draw_text_on(
            &mut canvas,
            &format!("row {}, p = {:.2}", m.file_row, m.probability),
            x as i32,
            (y + tile + 21) as i32,
            12.0,
            plotters::style::RGBColor(90, 90, 90),
        )?;
    }
    Ok(Figure {
        png: encode_png(&canvas)?,
        svg: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_predicted_class_follows_the_binary_threshold() {
        let p = [0.65f32, 0.35];
        // Arg-max says class 0; a threshold of 0.3 on positive class 1 says 1, as `predict`.
        assert_eq!(Decision::default().class(&p), 0);
        let binary = Decision {
            positive: Some(1),
            threshold: Some(0.3),
        };
        assert_eq!(binary.class(&p), 1);
        assert_eq!(binary.class(&[0.8, 0.2]), 0);
    }

    #[test]
    fn overlay_keeps_cold_pixels_close_to_the_image() {
        let crop = RgbImage::from_pixel(8, 8, image::Rgb([100, 100, 100]));
        let mut heat = Array2::<f32>::zeros((8, 8));
        heat[[0, 0]] = 1.0;
        let m = ActivationMap {
            row: 0,
            file_row: 2,
            actual: 0,
            predicted: 1,
            probability: 0.7,
            heat,
            crop,
            method: MapMethod::Occlusion,
        };
        let o = m.overlay();
        let cold = o.get_pixel(7, 7).0;
        let hot = o.get_pixel(0, 0).0;
        assert!(cold.iter().all(|&v| (80..=120).contains(&v)), "{cold:?}");
        assert!(hot[0] > hot[2], "hot pixel should be red: {hot:?}");
        let fig = grid_figure(&[m], &["a".into(), "b".into()], "maps").unwrap();
        assert!(image::load_from_memory(&fig.png).is_ok());
    }
}
