//! The ROC curve of a binary model's out-of-fold positive-class probabilities, with its AUC and
//! the decision threshold `predict` applies.

use blueprints::metrics::{binary_auc, roc_curve};
use serde::{Deserialize, Serialize};

use super::InsightError;
use super::charts::{Figure, XySeries, XyStyle, xy_chart};
use crate::leaderboard::Threshold;

/// A binary model's ROC curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Roc {
    /// Which predictions.
    pub source: String,
    /// The positive class.
    pub positive: String,
    /// `(false positive rate, true positive rate)` from (0, 0) to (1, 1).
    pub points: Vec<(f64, f64)>,
    /// Area under the curve.
    pub auc: f64,
    /// The model's decision threshold (max F1 out of fold), if it has one.
    pub threshold: Option<Threshold>,
}

impl Roc {
    /// The curve of `scores` (positive-class probabilities) for the rows where `positive` holds.
    pub fn new(
        source: &str,
        positive_class: &str,
        positive: &[bool],
        scores: &[f32],
        threshold: Option<Threshold>,
    ) -> Result<Self, InsightError> {
        let none = || InsightError::invalid("ROC curve: needs positive and negative rows");
        let points = roc_curve(positive, scores).ok_or_else(none)?;
        let wide: Vec<f64> = scores.iter().map(|&s| f64::from(s)).collect();
        let auc = binary_auc(positive, &wide).ok_or_else(none)?;
        Ok(Self {
            source: source.to_string(),
            positive: positive_class.to_string(),
            points,
            auc,
            threshold,
        })
    }

    /// A text summary.
    pub fn render_text(&self) -> String {
        let t = self.threshold.map_or("none".to_string(), |t| {
            format!("{:.4} (F1 {:.4})", t.value, t.f1)
        });
        format!(
            "{}: positive class '{}', AUC {:.4}, decision threshold {t}\n",
            self.source, self.positive, self.auc
        )
    }

    /// The curve with the chance diagonal.
    pub fn figure(&self, title: &str) -> Result<Figure, InsightError> {
        xy_chart(
            title,
            "false positive rate",
            "true positive rate",
            &[
                XySeries {
                    name: format!("ROC, AUC {:.3}", self.auc),
                    points: self.points.clone(),
                    style: XyStyle::Line,
                },
                XySeries {
                    name: "chance".into(),
                    points: vec![(0.0, 0.0), (1.0, 1.0)],
                    style: XyStyle::Reference,
                },
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_separating_score_has_auc_one() {
        let positive = [false, false, true, true];
        let r = Roc::new("cv", "yes", &positive, &[0.1, 0.2, 0.8, 0.9], None).unwrap();
        assert!((r.auc - 1.0).abs() < 1e-12);
        assert_eq!(r.points[1], (0.0, 0.5));
        assert!(r.render_text().contains("AUC 1.0000"));
        assert!(
            r.figure("roc")
                .unwrap()
                .svg
                .unwrap()
                .contains("false positive rate")
        );
        assert!(Roc::new("cv", "yes", &[true, true], &[0.1, 0.2], None).is_err());
    }
}
