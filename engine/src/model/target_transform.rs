//! The transform a regressor's target goes through before fitting: `log1p` for a skewed,
//! non-negative target (prices, counts, popularity), chosen on the training rows only;
//! predictions are mapped back with `expm1`.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// How the target is transformed before the estimator sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetTransform {
    /// The values as they are.
    #[default]
    Identity,
    /// `ln(1 + y)`; predictions are mapped back with `exp(p) − 1`.
    Log1p,
}

/// Skewness above which a non-negative target is fitted on the log scale.
const SKEWED: f64 = 1.0;

impl TargetTransform {
    /// `Log1p` when every training value is ≥ 0, their skewness exceeds 1 and the log makes
    /// them less skewed; `Identity` otherwise.
    pub fn choose(y: &[f32]) -> Self {
        if y.len() < 3 || y.iter().any(|&v| v.is_nan() || v < 0.0 || !v.is_finite()) {
            return Self::Identity;
        }
        let raw = skewness(y.iter().map(|&v| v as f64));
        let logged = skewness(y.iter().map(|&v| (v as f64).ln_1p()));
        if raw > SKEWED && logged.abs() < raw {
            Self::Log1p
        } else {
            Self::Identity
        }
    }

    /// The values the estimator is fitted to.
    pub fn forward(self, y: &[f32]) -> Vec<f32> {
        match self {
            Self::Identity => y.to_vec(),
            Self::Log1p => y.iter().map(|&v| v.ln_1p()).collect(),
        }
    }

    /// Maps the estimator's predictions back to the target's scale.
    pub fn inverse(self, p: Array2<f32>) -> Array2<f32> {
        match self {
            Self::Identity => p,
            Self::Log1p => p.mapv(f32::exp_m1),
        }
    }

    /// Name shown in a leaderboard row's parameters.
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "none",
            Self::Log1p => "log1p",
        }
    }
}

/// Sample skewness (third standardized moment); 0 for constant values.
fn skewness(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let (m2, m3) = values.fold((0.0, 0.0), |(m2, m3), v| {
        let d = v - mean;
        (m2 + d * d / n, m3 + d * d * d / n)
    });
    if m2 <= 0.0 { 0.0 } else { m3 / m2.powf(1.5) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_for_a_skewed_positive_target_only() {
        // Exponential-like: most values small, a long right tail.
        let skewed: Vec<f32> = (0..200).map(|i| (i as f32 / 25.0).exp()).collect();
        assert_eq!(TargetTransform::choose(&skewed), TargetTransform::Log1p);
        let symmetric: Vec<f32> = (0..200).map(|i| 1900.0 + i as f32).collect();
        assert_eq!(
            TargetTransform::choose(&symmetric),
            TargetTransform::Identity
        );
        let mut negative = skewed.clone();
        negative[0] = -1.0;
        assert_eq!(
            TargetTransform::choose(&negative),
            TargetTransform::Identity
        );
        assert_eq!(
            TargetTransform::choose(&[5.0; 10]),
            TargetTransform::Identity
        );
    }

    #[test]
    fn inverse_undoes_forward() {
        let y = [0.0f32, 1.5, 10.0, 1000.0];
        let t = TargetTransform::Log1p;
        let back = t.inverse(Array2::from_shape_vec((4, 1), t.forward(&y)).unwrap());
        for (a, b) in y.iter().zip(back.iter()) {
            assert!((a - b).abs() <= 1e-3 * a.max(1.0), "{a} vs {b}");
        }
    }
}
