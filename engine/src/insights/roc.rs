//! The ROC curve of a binary model's out-of-fold positive-class probabilities, with its AUC and
//! the decision threshold `predict` applies.

use blueprints::metrics::{binary_auc, precision_recall_curve, roc_curve};
use serde::{Deserialize, Serialize};

use super::InsightError;
use super::charts::{Figure, XySeries, XyStyle, xy_chart};
use super::regression::{LiftBin, lift_bins, lift_figure};
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
    /// `(recall, precision)` from the highest score down.
    #[serde(default)]
    pub precision_recall: Vec<(f64, f64)>,
    /// The rows in ten bins by positive-class probability: mean probability vs positive rate.
    #[serde(default)]
    pub lift: Vec<LiftBin>,
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
        let precision_recall = precision_recall_curve(positive, scores).ok_or_else(none)?;
        let actual: Vec<f32> = positive.iter().map(|&p| f32::from(u8::from(p))).collect();
        Ok(Self {
            source: source.to_string(),
            positive: positive_class.to_string(),
            points,
            auc,
            threshold,
            precision_recall,
            lift: lift_bins(&actual, scores),
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

    /// The precision–recall curve, with the positive rate as the chance level.
    pub fn precision_recall_figure(&self, title: &str) -> Result<Figure, InsightError> {
        let base = self.precision_recall.last().map_or(0.0, |p| p.1);
        xy_chart(
            title,
            "recall",
            "precision",
            &[
                XySeries {
                    name: "precision-recall".into(),
                    points: self.precision_recall.clone(),
                    style: XyStyle::Line,
                },
                XySeries {
                    name: "positive rate".into(),
                    points: vec![(0.0, base), (1.0, base)],
                    style: XyStyle::Reference,
                },
            ],
        )
    }

    /// The lift chart: mean positive-class probability and positive rate per bin.
    pub fn lift_figure(&self, title: &str) -> Result<Figure, InsightError> {
        lift_figure(&self.lift, title, &format!("share of '{}'", self.positive))
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
        // Perfect ranking: precision 1 until every positive is found; the top bin is all positive.
        assert_eq!(r.precision_recall[..2], [(0.5, 1.0), (1.0, 1.0)]);
        assert_eq!(r.lift.len(), 4);
        assert!((r.lift[3].mean_actual - 1.0).abs() < 1e-12 && r.lift[0].mean_actual == 0.0);
        assert!(r.precision_recall_figure("pr").unwrap().png.len() > 1000);
        assert!(r.lift_figure("lift").unwrap().png.len() > 1000);
    }
}
