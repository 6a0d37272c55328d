//! Activation maps by **Grad-CAM** (Selvaraju et al., 2017) for models whose head is
//! differentiable (logistic regression, the self-normalizing net).
//!
//! The model reads an image through globally average-pooled activations `f_k = mean_ij A_kij`
//! of one or more backbone levels. Grad-CAM weighs each channel's activation map by the
//! gradient of the class score with respect to it: `∂y/∂A_kij = g_k / Z` with `g_k = ∂y/∂f_k`,
//! so the gradient only has to flow through the head (given by
//! [`Estimator::dense_logit_gradient`](blueprints::Estimator::dense_logit_gradient)), not back
//! through the backbone. The score `y` is the predicted class's centred logit. Each level's map
//! `M_ij = Σ_k g_k A_kij` is the level's contribution to the linearised score per position (its
//! mean is exactly `Σ_k g_k f_k`), bilinearly upsampled to the crop; the levels are summed, the
//! negative part dropped (ReLU: only evidence *for* the class) and the maximum scaled to 1.
//!
//! A fine-tuned CNN runs its own convolutions over the trunk map: its Grad-CAM is taken at its
//! last convolution (the 1×1 head) on the centre view
//! ([`Estimator::class_activation_map`](blueprints::Estimator::class_activation_map); pooling and
//! its classifier are linear, so the gradient there is exact in closed form).
//!
//! As for occlusion, each image is explained by the fold model that did not train on it.

use ndarray::Array2;
use neural::{ImageFeaturizer, LevelMap};

use super::InsightError;
use super::activation_maps::{
    ActivationMap, MapMethod, MapSubject, crop_image, image_block, image_input,
};
use crate::features::FeatureInputs;
use crate::model::Model;

/// Per-level maps `M_ij = Σ_k g_k A_kij` for the gradient `grad` over the levels' pooled
/// features (laid out level after level, as the featurizer concatenates them).
pub fn weighted_level_maps(
    maps: &[LevelMap],
    grad: &[f32],
) -> Result<Vec<Array2<f32>>, InsightError> {
    let total: usize = maps.iter().map(|m| m.channels).sum();
    if total != grad.len() {
        return Err(InsightError::invalid(format!(
            "the gradient has {} entries but the levels have {total} channels",
            grad.len()
        )));
    }
    let mut offset = 0;
    let mut out = Vec::with_capacity(maps.len());
    for m in maps {
        let plane = m.height * m.width;
        let mut acc = vec![0.0f32; plane];
        for (k, &g) in grad[offset..offset + m.channels].iter().enumerate() {
            if g != 0.0 {
                let a = &m.values[k * plane..(k + 1) * plane];
                acc.iter_mut().zip(a).for_each(|(o, &v)| *o += g * v);
            }
        }
        offset += m.channels;
        out.push(
            Array2::from_shape_vec((m.height, m.width), acc)
                .map_err(|e| InsightError::invalid(format!("level map shape: {e}")))?,
        );
    }
    Ok(out)
}

/// Bilinear resize of `map` to `size × size` (pixel centres aligned, edges clamped).
pub fn upsample(map: &Array2<f32>, size: usize) -> Array2<f32> {
    let (h, w) = map.dim();
    let coord = |d: usize, n: usize| -> (usize, usize, f32) {
        let s = ((d as f32 + 0.5) * n as f32 / size as f32 - 0.5).clamp(0.0, (n - 1) as f32);
        let i0 = s.floor() as usize;
        let i1 = (i0 + 1).min(n - 1);
        (i0, i1, s - i0 as f32)
    };
    Array2::from_shape_fn((size, size), |(y, x)| {
        let (y0, y1, fy) = coord(y, h);
        let (x0, x1, fx) = coord(x, w);
        let top = map[[y0, x0]] * (1.0 - fx) + map[[y0, x1]] * fx;
        let bottom = map[[y1, x0]] * (1.0 - fx) + map[[y1, x1]] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

/// Grad-CAM map of `subject`'s image explained by `model`, whose image block must read the
/// subject's column with the same backbone and levels as `featurizer`. `Ok(None)` when
/// the model's estimator is not differentiable.
pub fn grad_cam_map(
    model: &Model,
    inputs: &FeatureInputs,
    featurizer: &ImageFeaturizer,
    subject: MapSubject,
) -> Result<Option<ActivationMap>, InsightError> {
    let MapSubject {
        column,
        row,
        file_row,
        actual,
        decision,
    } = subject;
    let x = model.pipeline.transform(inputs, &[row])?;
    let probs = model.predict_features(&x)?;
    let predicted = decision.class(&probs.row(0).to_vec());
    let cfg = *featurizer.preprocess_config();
    let crop = cfg.crop;
    let mut heat = Array2::<f32>::zeros((crop, crop));
    let own_map = model.estimator.class_activation_map(&x, predicted)?;
    let grad = match own_map {
        Some(_) => None,
        None => match model.estimator.dense_logit_gradient(&x, predicted)? {
            Some(g) => Some(g),
            None => return Ok(None),
        },
    };
    let input = image_input(inputs, featurizer, column, row)?;
    if let Some(map) = own_map {
        // A fine-tuned network: its own last convolution, on the centre view.
        heat += &upsample(&map, crop);
    } else if let Some(grad) = grad {
        let dense = image_block(model, inputs, featurizer, column)?;
        if dense.end > grad.len() {
            return Err(InsightError::invalid(format!(
                "the gradient has {} entries, fewer than the '{column}' block needs",
                grad.len()
            )));
        }
        let maps = featurizer.level_maps(input.clone())?;
        for m in &weighted_level_maps(&maps, &grad[dense])? {
            heat += &upsample(m, crop);
        }
    }
    heat.mapv_inplace(|v| v.max(0.0));
    let max = heat.iter().copied().fold(0.0f32, f32::max);
    if max > 0.0 {
        heat.mapv_inplace(|v| v / max);
    }
    Ok(Some(ActivationMap {
        row,
        file_row,
        actual,
        predicted: predicted as u32,
        probability: probs[[0, predicted]],
        heat,
        crop: crop_image(&input, crop, &cfg.norm),
        method: MapMethod::GradCam,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use neural::FeatureLevel;

    #[test]
    fn weighted_maps_average_to_the_linearised_score() {
        let maps = vec![
            LevelMap {
                level: FeatureLevel::High,
                channels: 2,
                height: 2,
                width: 2,
                values: vec![1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 1.0, 1.0],
            },
            LevelMap {
                level: FeatureLevel::Highest,
                channels: 1,
                height: 1,
                width: 1,
                values: vec![5.0],
            },
        ];
        let grad = [0.5f32, -2.0, 0.1];
        let w = weighted_level_maps(&maps, &grad).unwrap();
        assert_eq!(w[0], ndarray::array![[0.5, 1.0], [-0.5, 0.0]]);
        // mean of level 0 = 0.5·mean(1,2,3,4) − 2·mean(0,0,1,1) = 1.25 − 1 = 0.25.
        assert!((w[0].mean().unwrap() - 0.25).abs() < 1e-6);
        assert!((w[1][[0, 0]] - 0.5).abs() < 1e-6);
        assert!(weighted_level_maps(&maps, &grad[..2]).is_err());
    }

    #[test]
    fn upsampling_keeps_constants_and_orders_a_ramp() {
        let c = Array2::from_elem((3, 3), 2.5f32);
        assert!(upsample(&c, 10).iter().all(|&v| (v - 2.5).abs() < 1e-6));
        let ramp = ndarray::array![[0.0f32, 1.0], [0.0, 1.0]];
        let up = upsample(&ramp, 8);
        let row: Vec<f32> = up.row(3).to_vec();
        assert!(row.windows(2).all(|p| p[0] <= p[1]), "{row:?}");
        assert_eq!(up[[0, 0]], 0.0);
        assert_eq!(up[[7, 7]], 1.0);
        // One pixel up to many: constant.
        let one = ndarray::array![[4.0f32]];
        assert!(upsample(&one, 5).iter().all(|&v| v == 4.0));
    }
}
