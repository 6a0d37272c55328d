//! Confusion matrix: counts (rows = actual class, columns = predicted class), the row-normalized
//! matrix (each row is the share of that class's rows predicted as each class, so the diagonal is
//! per-class recall), and per-class precision, recall and F1; on the cross-validation
//! out-of-fold predictions and, once unlocked, on the holdout.

use std::fmt::Write as _;

use blueprints::metrics::confusion_matrix;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::InsightError;
use super::charts::{Figure, heat_map};
use super::context::InsightContext;
use crate::dataset::decide_class;

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassStats {
    /// Class name.
    pub class: String,
    /// Rows whose actual class this is.
    pub support: u64,
    /// Rows predicted as this class.
    pub predicted: u64,
    /// Correct / predicted (0 when nothing was predicted as this class).
    pub precision: f64,
    /// Correct / support (0 when the class has no rows).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

/// A confusion matrix with its per-class statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    /// Which predictions: "cross-validation (out-of-fold)" or "holdout".
    pub source: String,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// `counts[actual][predicted]`.
    pub counts: Vec<Vec<u64>>,
    /// Number of rows (the sum of `counts`).
    pub n: u64,
    /// Per-class statistics, in class order.
    pub per_class: Vec<ClassStats>,
    /// Fraction of rows on the diagonal.
    pub accuracy: f64,
    /// Mean recall over the classes with rows.
    pub balanced_accuracy: f64,
}

impl Confusion {
    /// Builds the matrix from labels `y` and probabilities `proba`; the prediction is the
    /// most probable class, or for a binary target with a `positive` class and a `threshold`
    /// the positive class when its probability reaches it (see [`decide_class`]).
    pub fn from_proba(
        source: &str,
        y: &[u32],
        proba: ArrayView2<f32>,
        classes: &[String],
        positive: Option<usize>,
        threshold: Option<f32>,
    ) -> Result<Self, InsightError> {
        if proba.ncols() != classes.len() {
            return Err(InsightError::invalid(format!(
                "{} probability columns for {} classes",
                proba.ncols(),
                classes.len()
            )));
        }
        let pred: Vec<u32> = proba
            .rows()
            .into_iter()
            .map(|row| decide_class(&row.to_vec(), positive, threshold) as u32)
            .collect();
        Self::from_labels(source, y, &pred, classes)
    }

    /// Builds the matrix from actual and predicted labels.
    pub fn from_labels(
        source: &str,
        y: &[u32],
        pred: &[u32],
        classes: &[String],
    ) -> Result<Self, InsightError> {
        let k = classes.len();
        let cm = confusion_matrix(y, pred, k)?;
        let counts: Vec<Vec<u64>> = (0..k).map(|i| cm.row(i).to_vec()).collect();
        let n: u64 = counts.iter().flatten().sum();
        let mut per_class = Vec::with_capacity(k);
        let (mut diag, mut recall_sum, mut present) = (0u64, 0.0, 0usize);
        for (c, class) in classes.iter().enumerate() {
            let tp = counts[c][c];
            let support: u64 = counts[c].iter().sum();
            let predicted: u64 = counts.iter().map(|r| r[c]).sum();
            let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            diag += tp;
            if support > 0 {
                recall_sum += recall;
                present += 1;
            }
            per_class.push(ClassStats {
                class: class.clone(),
                support,
                predicted,
                precision,
                recall,
                f1,
            });
        }
        Ok(Self {
            source: source.to_string(),
            classes: classes.to_vec(),
            counts,
            n,
            per_class,
            accuracy: if n == 0 { 0.0 } else { diag as f64 / n as f64 },
            balanced_accuracy: if present == 0 {
                0.0
            } else {
                recall_sum / present as f64
            },
        })
    }

    /// Each row divided by its sum (rows without data stay zero).
    pub fn row_normalized(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|r| {
                let s: u64 = r.iter().sum();
                r.iter()
                    .map(|&v| if s == 0 { 0.0 } else { v as f64 / s as f64 })
                    .collect()
            })
            .collect()
    }

    /// Text tables: counts, row-normalized shares, per-class statistics.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let w = self
            .classes
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(5)
            .clamp(6, 24);
        let _ = writeln!(
            s,
            "Confusion matrix, {} ({} rows; rows = actual, columns = predicted)",
            self.source, self.n
        );
        let header: String = self
            .classes
            .iter()
            .map(|c| format!(" {:>w$}", truncate(c, w)))
            .collect();
        let _ = writeln!(s, "  {:<w$}{header}", "counts");
        for (c, row) in self.classes.iter().zip(&self.counts) {
            let cells: String = row.iter().map(|v| format!(" {v:>w$}")).collect();
            let _ = writeln!(s, "  {:<w$}{cells}", truncate(c, w));
        }
        let _ = writeln!(s, "  {:<w$}{header}", "row %");
        for (c, row) in self.classes.iter().zip(self.row_normalized()) {
            let cells: String = row
                .iter()
                .map(|v| format!(" {:>w$}", format!("{:.1}%", v * 100.0)))
                .collect();
            let _ = writeln!(s, "  {:<w$}{cells}", truncate(c, w));
        }
        let _ = writeln!(
            s,
            "  {:<w$} {:>8} {:>9} {:>9} {:>7} {:>7}",
            "class", "support", "predicted", "precision", "recall", "F1"
        );
        for p in &self.per_class {
            let _ = writeln!(
                s,
                "  {:<w$} {:>8} {:>9} {:>9.3} {:>7.3} {:>7.3}",
                truncate(&p.class, w),
                p.support,
                p.predicted,
                p.precision,
                p.recall,
                p.f1
            );
        }
        let _ = write!(
            s,
            "  accuracy {:.4}, balanced accuracy {:.4}",
            self.accuracy, self.balanced_accuracy
        );
        s
    }

    /// The row-normalized heat map, each cell labelled with its share and count.
    pub fn figure(&self, title: &str) -> Result<Figure, InsightError> {
        let norm = self.row_normalized();
        let text: Vec<Vec<String>> = norm
            .iter()
            .zip(&self.counts)
            .map(|(r, c)| {
                r.iter()
                    .zip(c)
                    .map(|(v, n)| format!("{:.0}% ({n})", v * 100.0))
                    .collect()
            })
            .collect();
        heat_map(
            title,
            "actual",
            "predicted",
            &self.classes,
            &self.classes,
            &norm,
            &text,
        )
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The confusion matrices of model `id`: on its out-of-fold predictions (every CV row), and on
/// the holdout when the project's holdout is unlocked and the model has holdout predictions.
pub fn confusion_for_model(
    ctx: &InsightContext,
    id: &str,
) -> Result<(Confusion, Option<Confusion>), InsightError> {
    let oof = ctx.oof(id)?.ok_or_else(|| {
        InsightError::invalid(format!(
            "model {id} has no out-of-fold predictions (only cross-validated models have a confusion matrix)"
        ))
    })?;
    let classes = &ctx.target.classes;
    let labels = &ctx.target.labels;
    let rows = ctx.partition.cv_rows();
    // A binary model's matrix is at its decision threshold, as `predict` applies it.
    let positive = ctx.target.positive.map(|p| p as usize);
    let threshold = ctx.row(id)?.threshold.map(|t| t.value);
    let decide = |y: Vec<u32>, p: ArrayView2<f32>, source: &str| {
        Confusion::from_proba(source, &y, p, classes, positive, threshold)
    };
    let y: Vec<u32> = rows.iter().map(|&r| labels[r]).collect();
    let p = oof.select(ndarray::Axis(0), &rows);
    let cv = decide(y, p.view(), "cross-validation (out-of-fold)")?;
    let holdout = if ctx.leaderboard.holdout_unlocked {
        match ctx.holdout(id)? {
            Some(h) if !ctx.partition.holdout_rows().is_empty() => {
                let yh: Vec<u32> = ctx
                    .partition
                    .holdout_rows()
                    .iter()
                    .map(|&r| labels[r])
                    .collect();
                Some(decide(yh, h.view(), "holdout")?)
            }
            _ => None,
        }
    } else {
        None
    };
    Ok((cv, holdout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn counts_and_statistics_by_hand() {
        let classes: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        // actual:    a a a b b c
        // predicted: a b a b c c
        let y = [0u32, 0, 0, 1, 1, 2];
        let proba = array![
            [0.8f32, 0.1, 0.1],
            [0.2, 0.7, 0.1],
            [0.6, 0.3, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.2, 0.7],
            [0.0, 0.1, 0.9]
        ];
        let c = Confusion::from_proba("cv", &y, proba.view(), &classes, None, None).unwrap();
        assert_eq!(c.counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert_eq!(c.n, 6);
        // a: P 2/2, R 2/3; b: P 1/2, R 1/2; c: P 1/2, R 1.
        assert!((c.per_class[0].precision - 1.0).abs() < 1e-12);
        assert!((c.per_class[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.per_class[0].f1 - 0.8).abs() < 1e-12);
        assert!((c.per_class[2].precision - 0.5).abs() < 1e-12);
        assert!((c.balanced_accuracy - (2.0 / 3.0 + 0.5 + 1.0) / 3.0).abs() < 1e-12);
        assert!((c.accuracy - 4.0 / 6.0).abs() < 1e-12);
        let norm = c.row_normalized();
        assert!((norm[1][2] - 0.5).abs() < 1e-12);
        let text = c.render_text();
        assert!(
            text.contains("precision") && text.contains("66.7%"),
            "{text}"
        );
        let fig = c.figure("Confusion").unwrap();
        assert!(fig.svg.unwrap().contains("predicted"));
        assert!(
            Confusion::from_proba(
                "cv",
                &y,
                proba.slice(ndarray::s![.., ..2]),
                &classes,
                None,
                None
            )
            .is_err()
        );
    }

    #[test]
    fn binary_matrix_is_at_the_decision_threshold() {
        let classes: Vec<String> = vec!["no".into(), "yes".into()];
        let y = [0u32, 0, 1, 1];
        let proba = array![[0.9f32, 0.1], [0.7, 0.3], [0.65, 0.35], [0.2, 0.8]];
        // Arg-max: only the last row is predicted "yes".
        let argmax =
            Confusion::from_proba("cv", &y, proba.view(), &classes, Some(1), None).unwrap();
        assert_eq!(argmax.counts, vec![vec![2, 0], vec![1, 1]]);
        // At threshold 0.3 on "yes", rows 2–4 are.
        let at =
            Confusion::from_proba("cv", &y, proba.view(), &classes, Some(1), Some(0.3)).unwrap();
        assert_eq!(at.counts, vec![vec![1, 1], vec![0, 2]]);
    }
}
