//! The mean of the fold models' predictions: how a cross-validated blueprint predicts.

use ndarray::Array2;

/// Adds up fold predictions in `f64` and divides once: a regression target close to `f32`'s
/// limit (±3.4e38) has fold predictions whose `f32` sum overflows to `inf` although their mean
/// is finite.
#[derive(Debug, Default)]
pub struct FoldMean {
    sum: Option<Array2<f64>>,
    count: usize,
}

impl FoldMean {
    /// Adds one fold model's predictions (`rows × outputs`); an error when the shape differs
    /// from the earlier ones'.
    pub fn add(&mut self, prediction: &Array2<f32>) -> anyhow::Result<()> {
        let p = prediction.mapv(f64::from);
        self.sum = Some(match self.sum.take() {
            Some(s) if s.dim() != p.dim() => anyhow::bail!(
                "fold predictions of shape {:?} and {:?} cannot be averaged",
                s.dim(),
                p.dim()
            ),
            Some(s) => s + p,
            None => p,
        });
        self.count += 1;
        Ok(())
    }

    /// The mean of what was added (`None` when nothing was).
    pub fn mean(self) -> Option<Array2<f32>> {
        let n = self.count as f64;
        self.sum.map(|s| s.mapv(|v| (v / n) as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn predictions_near_the_f32_limit_average_to_a_finite_mean() {
        let mut mean = FoldMean::default();
        for _ in 0..5 {
            mean.add(&array![[3.0e38_f32], [1.0]]).unwrap();
        }
        let m = mean.mean().unwrap();
        assert_eq!(m[[0, 0]], 3.0e38);
        assert_eq!(m[[1, 0]], 1.0);
        assert!(FoldMean::default().mean().is_none());
        assert!(mean_of_two_shapes().is_err());
    }

    fn mean_of_two_shapes() -> anyhow::Result<()> {
        let mut mean = FoldMean::default();
        mean.add(&array![[1.0_f32], [2.0]])?;
        mean.add(&array![[1.0_f32, 2.0]])
    }
}
