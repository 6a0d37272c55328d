//! Regression insights on out-of-fold (or holdout) predictions: predicted against actual, the
//! residuals, and a lift chart (rows in ten bins by prediction: mean predicted vs mean actual;
//! binary models draw one too, see [`lift_bins`]).

use blueprints::metrics::{fmt_score, mae, r2, rmse};
use serde::{Deserialize, Serialize};

use super::InsightError;
use super::charts::{Figure, XySeries, XyStyle, xy_chart};

/// Bins of the lift chart.
pub const LIFT_BINS: usize = 10;
/// Most points drawn in the predicted-vs-actual chart (a seeded sample keeps it readable).
pub const MAX_POINTS: usize = 2_000;

/// One bin of the lift chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiftBin {
    /// Rows in the bin.
    pub rows: usize,
    /// Mean prediction of its rows.
    pub mean_predicted: f64,
    /// Mean actual value of its rows.
    pub mean_actual: f64,
}

/// How a regressor's predictions fit the actual values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionFit {
    /// Which predictions ("cross-validation (out-of-fold)", "holdout").
    pub source: String,
    /// Rows scored.
    pub n: usize,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// R² (`None` for a constant actual value).
    pub r2: Option<f64>,
    /// Mean residual (actual − predicted): the bias.
    pub mean_residual: f64,
    /// `(actual, predicted)` of every row (the chart draws at most [`MAX_POINTS`]).
    pub points: Vec<(f32, f32)>,
    /// The lift chart, lowest predictions first.
    pub lift: Vec<LiftBin>,
}

impl RegressionFit {
    /// The fit of `predicted` to `actual` (same length, at least one row).
    pub fn new(source: &str, actual: &[f32], predicted: &[f32]) -> Result<Self, InsightError> {
        let err = |e: blueprints::error::BlueprintError| InsightError::invalid(e.to_string());
        let rmse = rmse(actual, predicted).map_err(err)?;
        let mae = mae(actual, predicted).map_err(err)?;
        let n = actual.len();
        let mean_residual = actual
            .iter()
            .zip(predicted)
            .map(|(&a, &p)| f64::from(a) - f64::from(p))
            .sum::<f64>()
            / n as f64;
        let lift = lift_bins(actual, predicted);
        Ok(Self {
            source: source.to_string(),
            n,
            rmse,
            mae,
            r2: r2(actual, predicted).ok(),
            mean_residual,
            points: actual
                .iter()
                .copied()
                .zip(predicted.iter().copied())
                .collect(),
            lift,
        })
    }

    /// A text summary with the lift table.
    pub fn render_text(&self) -> String {
        let mut s = format!(
            "{}: {} rows, RMSE {}, MAE {}, R² {}, mean residual {}\nlift (bins by prediction):\n  bin  rows  mean predicted  mean actual\n",
            self.source,
            self.n,
            fmt_score(self.rmse),
            fmt_score(self.mae),
            self.r2.map_or("-".into(), |v| format!("{v:.4}")),
            fmt_score(self.mean_residual)
        );
        for (i, b) in self.lift.iter().enumerate() {
            s.push_str(&format!(
                "  {:>3}  {:>4}  {:>14.4}  {:>11.4}\n",
                i + 1,
                b.rows,
                b.mean_predicted,
                b.mean_actual
            ));
        }
        s
    }

    /// Predicted against actual (every `n / MAX_POINTS`-th row), with the diagonal.
    pub fn scatter_figure(&self, title: &str) -> Result<Figure, InsightError> {
        let step = self.points.len().div_ceil(MAX_POINTS).max(1);
        let points: Vec<(f64, f64)> = self
            .points
            .iter()
            .step_by(step)
            .map(|&(a, p)| (f64::from(a), f64::from(p)))
            .collect();
        let lo = points
            .iter()
            .map(|p| p.0.min(p.1))
            .fold(f64::INFINITY, f64::min);
        let hi = points
            .iter()
            .map(|p| p.0.max(p.1))
            .fold(f64::NEG_INFINITY, f64::max);
        xy_chart(
            title,
            "actual",
            "predicted",
            &[
                XySeries {
                    name: "rows".into(),
                    points,
                    style: XyStyle::Points,
                },
                XySeries {
                    name: "predicted = actual".into(),
                    points: vec![(lo, lo), (hi, hi)],
                    style: XyStyle::Reference,
                },
            ],
        )
    }

    /// The lift chart: mean predicted and mean actual per bin.
    pub fn lift_figure(&self, title: &str) -> Result<Figure, InsightError> {
        lift_figure(&self.lift, title, "mean value")
    }
}

/// The rows in [`LIFT_BINS`] equal bins by `predicted` (lowest first), each with its mean
/// prediction and mean `actual` value (for a binary target: the positive class's probability
/// and 1 for a positive row, 0 otherwise).
pub fn lift_bins(actual: &[f32], predicted: &[f32]) -> Vec<LiftBin> {
    let n = actual.len().min(predicted.len());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| predicted[a].total_cmp(&predicted[b]).then(a.cmp(&b)));
    let bins = LIFT_BINS.min(n);
    (0..bins)
        .map(|b| {
            let rows = &order[b * n / bins..(b + 1) * n / bins];
            let mean =
                |v: &[f32]| rows.iter().map(|&r| f64::from(v[r])).sum::<f64>() / rows.len() as f64;
            LiftBin {
                rows: rows.len(),
                mean_predicted: mean(predicted),
                mean_actual: mean(actual),
            }
        })
        .collect()
}

/// The lift chart of `lift`: mean predicted and mean actual per bin, `y_label` on the y axis.
pub fn lift_figure(lift: &[LiftBin], title: &str, y_label: &str) -> Result<Figure, InsightError> {
    let line = |name: &str, f: fn(&LiftBin) -> f64| XySeries {
        name: name.into(),
        points: lift
            .iter()
            .enumerate()
            .map(|(i, b)| ((i + 1) as f64, f(b)))
            .collect(),
        style: XyStyle::Line,
    };
    xy_chart(
        title,
        "bin of rows by prediction (low → high)",
        y_label,
        &[
            line("predicted", |b| b.mean_predicted),
            line("actual", |b| b.mean_actual),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_fit_has_a_rising_lift_and_small_errors() {
        let actual: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let predicted: Vec<f32> = actual.iter().map(|a| a + 1.0).collect();
        let f = RegressionFit::new("cv", &actual, &predicted).unwrap();
        assert!((f.rmse - 1.0).abs() < 1e-9 && (f.mae - 1.0).abs() < 1e-9);
        assert!((f.mean_residual + 1.0).abs() < 1e-9);
        assert_eq!(f.lift.len(), LIFT_BINS);
        assert!((f.lift[0].mean_actual - 4.5).abs() < 1e-9);
        assert!((f.lift[9].mean_predicted - 95.5).abs() < 1e-9);
        assert!(f.render_text().contains("RMSE 1.0000"));
        assert!(
            f.scatter_figure("fit")
                .unwrap()
                .svg
                .unwrap()
                .contains("actual")
        );
        assert!(f.lift_figure("lift").unwrap().png.len() > 1000);
        assert!(RegressionFit::new("cv", &[1.0], &[]).is_err());
    }
}
