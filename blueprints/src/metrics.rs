//! Classification and regression metrics, computed the way scikit-learn computes them.
//!
//! Labels are `u32` class indices `0..n_classes`; probabilities are `rows × n_classes`.
//! Every function checks its inputs and returns [`BlueprintError::InvalidInput`] instead of
//! panicking. Scores are returned as `f64`.
//!
//! Conventions (matching `sklearn.metrics`):
//! * [`balanced_accuracy`]: mean recall over the classes present in `y_true` (classes that are
//!   only predicted do not count).
//! * [`macro_f1`]: unweighted mean F1 over the classes present in `y_true` or `y_pred`; a class
//!   with no true and no predicted rows is left out, a class with a zero denominator scores 0.
//! * [`log_loss`]: probabilities clipped to `[1e-15, 1 - 1e-15]`, each row renormalised to sum 1.
//! * [`roc_auc_ovr`]: one-vs-rest AUC with tied scores counted as half. A class that is absent
//!   from `y_true` (or that is every row, so there are no negatives) has no defined AUC and is
//!   skipped: the macro average is over the remaining classes, the weighted average weights them
//!   by their prevalence. If no class has a defined AUC the result is an error.
//! * [`confusion_matrix`]: counts, rows = actual class, columns = predicted class.
//! * Regression ([`rmse`], [`mae`], [`r2`], [`rmsle`]): predictions are the first column of the
//!   prediction matrix; R² of a constant target is an error (sklearn returns 1 or 0), RMSLE of a
//!   value at or below −1 is an error (sklearn raises).

use std::fmt;
use std::str::FromStr;

use ndarray::{Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{BlueprintError, Result};

/// Probability clipping bound used by [`log_loss`].
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// The metrics a leaderboard can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Mean per-class recall (the default project metric).
    BalancedAccuracy,
    /// Fraction of rows whose most probable class is the true one.
    Accuracy,
    /// Multiclass cross-entropy (lower is better).
    #[serde(rename = "logloss")]
    LogLoss,
    /// One-vs-rest ROC AUC, macro average.
    Auc,
    /// Macro-averaged F1.
    F1,
    /// Root mean squared error (regression; lower is better).
    Rmse,
    /// Mean absolute error (regression; lower is better).
    Mae,
    /// Coefficient of determination (regression; higher is better).
    R2,
    /// Root mean squared error of `ln(1 + value)` (regression, values above −1; lower is better).
    Rmsle,
}

/// The true values a prediction matrix is scored against.
#[derive(Debug, Clone, Copy)]
pub enum Truth<'a> {
    /// Class indices (the matrix holds class probabilities).
    Classes(&'a [u32]),
    /// Real values (the matrix's first column holds the predictions).
    Values(&'a [f32]),
}

impl Truth<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Truth::Classes(y) => y.len(),
            Truth::Values(y) => y.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kind of target these are the truth of.
    pub fn kind(&self) -> crate::params::TargetKind {
        match self {
            Truth::Classes(_) => crate::params::TargetKind::Classification,
            Truth::Values(_) => crate::params::TargetKind::Regression,
        }
    }

    /// The metrics defined for this kind of truth, in display order.
    pub fn metrics(&self) -> &'static [Metric] {
        match self {
            Truth::Classes(_) => &Metric::CLASSIFICATION,
            Truth::Values(_) => &Metric::REGRESSION,
        }
    }
}

impl Metric {
    /// Every metric, in display order.
    pub const ALL: [Metric; 9] = [
        Metric::BalancedAccuracy,
        Metric::Accuracy,
        Metric::LogLoss,
        Metric::Auc,
        Metric::F1,
        Metric::Rmse,
        Metric::Mae,
        Metric::R2,
        Metric::Rmsle,
    ];

    /// The classification metrics, in display order.
    pub const CLASSIFICATION: [Metric; 5] = [
        Metric::BalancedAccuracy,
        Metric::Accuracy,
        Metric::LogLoss,
        Metric::Auc,
        Metric::F1,
    ];

    /// The regression metrics, in display order.
    pub const REGRESSION: [Metric; 4] = [Metric::Rmse, Metric::Mae, Metric::R2, Metric::Rmsle];

    /// True for the regression metrics.
    pub fn is_regression(self) -> bool {
        Metric::REGRESSION.contains(&self)
    }

    /// True when a larger score is better (false for log loss and the regression errors).
    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Metric::LogLoss | Metric::Rmse | Metric::Mae | Metric::Rmsle
        )
    }

    /// The metric's command-line / JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::Accuracy => "accuracy",
            Metric::LogLoss => "logloss",
            Metric::Auc => "auc",
            Metric::F1 => "f1",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Rmsle => "rmsle",
        }
    }

    /// Scores predictions `pred` against `truth`: classification metrics need class labels,
    /// regression metrics real values (else an error).
    pub fn score_truth(self, truth: Truth, pred: ArrayView2<f32>) -> Result<f64> {
        match truth {
            Truth::Classes(y) => self.score(y, pred),
            Truth::Values(y) => self.score_values(y, pred),
        }
    }

    /// Scores regression predictions (the first column of `pred`) against real values `y`.
    pub fn score_values(self, y: &[f32], pred: ArrayView2<f32>) -> Result<f64> {
        if pred.ncols() == 0 {
            return Err(BlueprintError::InvalidInput(
                "regression score: prediction matrix has no columns".into(),
            ));
        }
        let p: Vec<f32> = pred.column(0).to_vec();
        match self {
            Metric::Rmse => rmse(y, &p),
            Metric::Mae => mae(y, &p),
            Metric::R2 => r2(y, &p),
            Metric::Rmsle => rmsle(y, &p),
            _ => Err(BlueprintError::InvalidInput(format!(
                "{self} is a classification metric; the target is numeric"
            ))),
        }
    }

    /// Scores probabilities `proba` (`rows × n_classes`) against labels `y`.
    /// Label-based metrics use the arg-max class of each row.
    pub fn score(self, y: &[u32], proba: ArrayView2<f32>) -> Result<f64> {
        let n_classes = proba.ncols();
        if self.is_regression() {
            return Err(BlueprintError::InvalidInput(format!(
                "{self} is a regression metric; the target is a class"
            )));
        }
        match self {
            Metric::LogLoss => log_loss(y, proba),
            Metric::Auc => roc_auc_ovr(y, proba, AucAverage::Macro),
            _ => {
                let pred = argmax_rows(proba);
                match self {
                    Metric::BalancedAccuracy => balanced_accuracy(y, &pred, n_classes),
                    Metric::Accuracy => accuracy(y, &pred),
                    Metric::F1 => macro_f1(y, &pred, n_classes),
                    _ => unreachable!("handled above"),
                }
            }
        }
    }

    /// `score` oriented so that higher is always better (negated for the lower-is-better
    /// metrics): what rankings sort by.
    pub fn oriented(self, score: f64) -> f64 {
        if self.higher_is_better() {
            score
        } else {
            -score
        }
    }

    /// True when score `a` is better than score `b` for this metric.
    pub fn is_better(self, a: f64, b: f64) -> bool {
        if self.higher_is_better() {
            a > b
        } else {
            a < b
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = BlueprintError;

    fn from_str(s: &str) -> Result<Self> {
        let key = s.trim().to_ascii_lowercase().replace('-', "_");
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == key)
            .ok_or_else(|| {
                BlueprintError::InvalidInput(format!(
                    "unknown metric '{s}'; expected one of {}",
                    Metric::ALL.map(|m| m.name()).join(", ")
                ))
            })
    }
}

/// How [`roc_auc_ovr`] averages the per-class AUCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AucAverage {
    /// Unweighted mean over classes with a defined AUC.
    Macro,
    /// Mean weighted by each class's number of true rows.
    Weighted,
}

/// A score as the leaderboard and reports show it: four decimals, or four significant digits
/// in scientific notation when that would hide it (an RMSE of `2.0300e38`, a loss of `3.1000e-6`).
pub fn fmt_score(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && a.is_finite() && !(1e-3..1e9).contains(&a) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

/// Index of the largest value (the first one on ties); 0 for an empty row. NaN never wins.
pub fn argmax(row: ArrayView1<f32>) -> usize {
    let mut best = 0;
    let mut best_v = f32::NEG_INFINITY;
    for (i, &v) in row.iter().enumerate() {
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best
}

/// The arg-max class of every row.
pub fn argmax_rows(proba: ArrayView2<f32>) -> Vec<u32> {
    proba.rows().into_iter().map(|r| argmax(r) as u32).collect()
}

fn check_same_len(a: usize, b: usize, what: &str) -> Result<()> {
    if a != b {
        return Err(BlueprintError::InvalidInput(format!(
            "{what}: {a} labels but {b} predictions"
        )));
    }
    if a == 0 {
        return Err(BlueprintError::InvalidInput(format!(
            "{what}: no rows to score"
        )));
    }
    Ok(())
}

fn check_labels(y: &[u32], n_classes: usize, what: &str) -> Result<()> {
    if let Some((i, &l)) = y
        .iter()
        .enumerate()
        .find(|(_, l)| **l as usize >= n_classes)
    {
        return Err(BlueprintError::InvalidInput(format!(
            "{what}: label {l} at row {i} is outside 0..{n_classes}"
        )));
    }
    Ok(())
}

/// Counts, `n_classes × n_classes`: entry `[a, p]` is the number of rows of actual class `a`
/// predicted as `p`.
pub fn confusion_matrix(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Result<Array2<u64>> {
    check_same_len(y_true.len(), y_pred.len(), "confusion matrix")?;
    check_labels(y_true, n_classes, "confusion matrix (actual)")?;
    check_labels(y_pred, n_classes, "confusion matrix (predicted)")?;
    let mut cm = Array2::<u64>::zeros((n_classes, n_classes));
    for (&a, &p) in y_true.iter().zip(y_pred) {
        cm[[a as usize, p as usize]] += 1;
    }
    Ok(cm)
}

/// Fraction of rows where `y_pred == y_true`.
pub fn accuracy(y_true: &[u32], y_pred: &[u32]) -> Result<f64> {
    check_same_len(y_true.len(), y_pred.len(), "accuracy")?;
    let hits = y_true.iter().zip(y_pred).filter(|(a, p)| a == p).count();
    Ok(hits as f64 / y_true.len() as f64)
}

/// Mean recall over the classes present in `y_true`.
pub fn balanced_accuracy(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Result<f64> {
    let cm = confusion_matrix(y_true, y_pred, n_classes)?;
    let mut sum = 0.0;
    let mut present = 0usize;
    for c in 0..n_classes {
        let support: u64 = cm.row(c).sum();
        if support > 0 {
            sum += cm[[c, c]] as f64 / support as f64;
            present += 1;
        }
    }
    // `present >= 1` because y_true is non-empty.
    Ok(sum / present as f64)
}

/// Macro-averaged F1 over the classes that appear in `y_true` or `y_pred`.
pub fn macro_f1(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Result<f64> {
    let cm = confusion_matrix(y_true, y_pred, n_classes)?;
    let mut sum = 0.0;
    let mut used = 0usize;
    for c in 0..n_classes {
        let tp = cm[[c, c]] as f64;
        let actual: u64 = cm.row(c).sum();
        let predicted: u64 = cm.column(c).sum();
        if actual == 0 && predicted == 0 {
            continue;
        }
        // F1 = 2TP / (2TP + FP + FN) = 2TP / (actual + predicted).
        sum += 2.0 * tp / (actual + predicted) as f64;
        used += 1;
    }
    Ok(sum / used as f64)
}

/// Mean negative log-likelihood of the true class. Probabilities are clipped to
/// `[1e-15, 1 - 1e-15]` and each row renormalised (scikit-learn's classic behaviour).
pub fn log_loss(y_true: &[u32], proba: ArrayView2<f32>) -> Result<f64> {
    check_same_len(y_true.len(), proba.nrows(), "log loss")?;
    let k = proba.ncols();
    if k == 0 {
        return Err(BlueprintError::InvalidInput(
            "log loss: probability matrix has no columns".into(),
        ));
    }
    check_labels(y_true, k, "log loss")?;
    let mut total = 0.0f64;
    for (i, (row, &y)) in proba.rows().into_iter().zip(y_true).enumerate() {
        let mut norm = 0.0f64;
        let mut p_true = 0.0f64;
        for (c, &p) in row.iter().enumerate() {
            if !p.is_finite() {
                return Err(BlueprintError::InvalidInput(format!(
                    "log loss: non-finite probability {p} at row {i}, class {c}"
                )));
            }
            let clipped = (p as f64).clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
            norm += clipped;
            if c == y as usize {
                p_true = clipped;
            }
        }
        total -= (p_true / norm).ln();
    }
    Ok(total / y_true.len() as f64)
}

/// Binary ROC AUC of `scores` for `positive` rows (Mann-Whitney U with mid-ranks for ties).
/// `None` when there are no positives or no negatives.
pub fn binary_auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let n = positive.len().min(scores.len());
    let n_pos = positive[..n].iter().filter(|&&p| p).count();
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum_pos = 0.0f64;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid_rank = (i + j) as f64 / 2.0 + 1.0;
        let pos_in_tie = order[i..=j].iter().filter(|&&r| positive[r]).count();
        rank_sum_pos += mid_rank * pos_in_tie as f64;
        i = j + 1;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// Checks a regression pair: equal non-zero lengths and finite values.
fn check_values(y: &[f32], pred: &[f32], what: &str) -> Result<()> {
    check_same_len(y.len(), pred.len(), what)?;
    for (name, v) in [("actual", y), ("predicted", pred)] {
        if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(BlueprintError::InvalidInput(format!(
                "{what}: non-finite {name} value {x} at row {i}"
            )));
        }
    }
    Ok(())
}

/// Root mean squared error.
pub fn rmse(y: &[f32], pred: &[f32]) -> Result<f64> {
    check_values(y, pred, "RMSE")?;
    let sse: f64 = y
        .iter()
        .zip(pred)
        .map(|(&a, &p)| (f64::from(a) - f64::from(p)).powi(2))
        .sum();
    Ok((sse / y.len() as f64).sqrt())
}

/// Mean absolute error.
pub fn mae(y: &[f32], pred: &[f32]) -> Result<f64> {
    check_values(y, pred, "MAE")?;
    let sae: f64 = y
        .iter()
        .zip(pred)
        .map(|(&a, &p)| (f64::from(a) - f64::from(p)).abs())
        .sum();
    Ok(sae / y.len() as f64)
}

/// Coefficient of determination, `1 − SSE / SST`; an error when the actual values are constant.
pub fn r2(y: &[f32], pred: &[f32]) -> Result<f64> {
    check_values(y, pred, "R²")?;
    let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64;
    let sst: f64 = y.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum();
    if sst == 0.0 {
        return Err(BlueprintError::InvalidInput(
            "R²: undefined when the actual values are constant".into(),
        ));
    }
    let sse: f64 = y
        .iter()
        .zip(pred)
        .map(|(&a, &p)| (f64::from(a) - f64::from(p)).powi(2))
        .sum();
    Ok(1.0 - sse / sst)
}

/// Root mean squared logarithmic error, on `ln(1 + v)`; an error when a value is at or below −1.
pub fn rmsle(y: &[f32], pred: &[f32]) -> Result<f64> {
    check_values(y, pred, "RMSLE")?;
    if let Some(v) = y.iter().chain(pred).find(|&&v| v <= -1.0) {
        return Err(BlueprintError::InvalidInput(format!(
            "RMSLE: undefined for the value {v} (values must be above -1)"
        )));
    }
    let sse: f64 = y
        .iter()
        .zip(pred)
        .map(|(&a, &p)| (f64::from(a).ln_1p() - f64::from(p).ln_1p()).powi(2))
        .sum();
    Ok((sse / y.len() as f64).sqrt())
}

/// One step of a threshold sweep: every row scoring at least `threshold` is called positive;
/// `tp` of them are positive, `fp` negative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// The threshold (a distinct score).
    pub threshold: f32,
    /// Positive rows called positive.
    pub tp: usize,
    /// Negative rows called positive.
    pub fp: usize,
}

/// Sweeps the distinct `scores` from the highest down (rows with equal scores are called
/// together) and returns the counts at each, with the numbers of positive and negative rows.
/// `None` when the lengths differ.
pub fn threshold_sweep(
    positive: &[bool],
    scores: &[f32],
) -> Option<(Vec<SweepPoint>, usize, usize)> {
    // A NaN score would tie with nothing (not even itself): no sweep.
    if positive.len() != scores.len() || scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let n_pos = positive.iter().filter(|&&p| p).count();
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut points = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let threshold = scores[order[i]];
        while i < order.len() && scores[order[i]] == threshold {
            if positive[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        points.push(SweepPoint { threshold, tp, fp });
    }
    Some((points, n_pos, positive.len() - n_pos))
}

/// The decision threshold on `scores` (a positive-class probability) that maximises the F1 of
/// the `positive` rows, with that F1: a row is called positive when its score is at least the
/// threshold. Candidate thresholds are the distinct scores; ties go to the higher threshold.
/// `None` without positive rows.
pub fn best_f1_threshold(positive: &[bool], scores: &[f32]) -> Option<(f32, f64)> {
    let (sweep, n_pos, _) = threshold_sweep(positive, scores)?;
    if n_pos == 0 {
        return None;
    }
    let mut best: Option<(f32, f64)> = None;
    for p in sweep {
        let f1 = 2.0 * p.tp as f64 / (n_pos + p.tp + p.fp) as f64;
        if best.is_none_or(|(_, b)| f1 > b) {
            best = Some((p.threshold, f1));
        }
    }
    best
}

/// ROC curve points `(false positive rate, true positive rate)` of `scores` for the `positive`
/// rows, from (0, 0) to (1, 1), one point per distinct score. `None` without positives or negatives.
pub fn roc_curve(positive: &[bool], scores: &[f32]) -> Option<Vec<(f64, f64)>> {
    let (sweep, n_pos, n_neg) = threshold_sweep(positive, scores)?;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut points = vec![(0.0, 0.0)];
    points.extend(
        sweep
            .iter()
            .map(|p| (p.fp as f64 / n_neg as f64, p.tp as f64 / n_pos as f64)),
    );
    Some(points)
}

/// Precision–recall curve points `(recall, precision)` of `scores` for the `positive` rows, one
/// per distinct score from the highest down. `None` without positives.
pub fn precision_recall_curve(positive: &[bool], scores: &[f32]) -> Option<Vec<(f64, f64)>> {
    let (sweep, n_pos, _) = threshold_sweep(positive, scores)?;
    if n_pos == 0 {
        return None;
    }
    Some(
        sweep
            .iter()
            .map(|p| {
                (
                    p.tp as f64 / n_pos as f64,
                    p.tp as f64 / (p.tp + p.fp) as f64,
                )
            })
            .collect(),
    )
}

/// One-vs-rest ROC AUC averaged over classes (see the module notes for skipped classes).
pub fn roc_auc_ovr(y_true: &[u32], proba: ArrayView2<f32>, average: AucAverage) -> Result<f64> {
    check_same_len(y_true.len(), proba.nrows(), "AUC")?;
    let k = proba.ncols();
    check_labels(y_true, k, "AUC")?;
    let mut sum = 0.0f64;
    let mut weight = 0.0f64;
    for c in 0..k {
        let positive: Vec<bool> = y_true.iter().map(|&y| y as usize == c).collect();
        let scores: Vec<f64> = proba.column(c).iter().map(|&p| p as f64).collect();
        if let Some((i, p)) = scores.iter().enumerate().find(|(_, p)| !p.is_finite()) {
            return Err(BlueprintError::InvalidInput(format!(
                "AUC: non-finite probability {p} at row {i}, class {c}"
            )));
        }
        if let Some(auc) = binary_auc(&positive, &scores) {
            let w = match average {
                AucAverage::Macro => 1.0,
                AucAverage::Weighted => positive.iter().filter(|&&p| p).count() as f64,
            };
            sum += w * auc;
            weight += w;
        }
    }
    if weight == 0.0 {
        return Err(BlueprintError::InvalidInput(
            "AUC: undefined when y_true holds a single class".into(),
        ));
    }
    Ok(sum / weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn scores_keep_their_digits_however_large_or_small() {
        assert_eq!(fmt_score(0.87654), "0.8765");
        assert_eq!(fmt_score(0.0), "0.0000");
        assert_eq!(fmt_score(1234567.25), "1234567.2500");
        assert_eq!(fmt_score(2.03e38), "2.0300e38");
        assert_eq!(fmt_score(-3.1e-6), "-3.1000e-6");
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn hand_computed_small_case() {
        // Actual:    0 0 0 1 1 2
        // Predicted: 0 1 0 1 1 1
        let y = [0u32, 0, 0, 1, 1, 2];
        let p = [0u32, 1, 0, 1, 1, 1];
        let cm = confusion_matrix(&y, &p, 3).unwrap();
        assert_eq!(cm, array![[2u64, 1, 0], [0, 2, 0], [0, 1, 0]]);
        assert!(close(accuracy(&y, &p).unwrap(), 4.0 / 6.0, 1e-12));
        // Recalls 2/3, 1, 0 -> mean 5/9.
        assert!(close(
            balanced_accuracy(&y, &p, 3).unwrap(),
            5.0 / 9.0,
            1e-12
        ));
        // F1: class0 2*2/(3+2)=0.8, class1 2*2/(2+4)=2/3, class2 0 -> mean 22/45.
        assert!(close(
            macro_f1(&y, &p, 3).unwrap(),
            (0.8 + 2.0 / 3.0) / 3.0,
            1e-12
        ));
    }

    #[test]
    fn the_f1_threshold_and_the_roc_curve() {
        let positive = [true, true, false, true, false, false];
        let scores = [0.9f32, 0.8, 0.7, 0.6, 0.2, 0.1];
        // At 0.6: tp 3, called 4 → F1 = 6/7, the best (at 0.8: 4/5; at 0.9: 2/4).
        let (t, f1) = best_f1_threshold(&positive, &scores).unwrap();
        assert_eq!(t, 0.6);
        assert!(close(f1, 6.0 / 7.0, 1e-12));
        assert!(best_f1_threshold(&[false, false], &[0.1, 0.2]).is_none());
        let roc = roc_curve(&positive, &scores).unwrap();
        assert_eq!(roc.first(), Some(&(0.0, 0.0)));
        assert_eq!(roc.last(), Some(&(1.0, 1.0)));
        // Trapezoid area under the curve equals the Mann-Whitney AUC.
        let area: f64 = roc
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
            .sum();
        let auc = binary_auc(&positive, &scores.map(f64::from)).unwrap();
        assert!(close(area, auc, 1e-12), "{area} vs {auc}");
    }

    /// sklearn's `precision_recall_curve` docstring example (its points reversed, without the
    /// final (0, 1) anchor).
    #[test]
    fn precision_recall_curve_matches_sklearn() {
        let positive = [false, false, true, true];
        let pr = precision_recall_curve(&positive, &[0.1, 0.4, 0.35, 0.8]).unwrap();
        let expected = [(0.5, 1.0), (0.5, 0.5), (1.0, 2.0 / 3.0), (1.0, 0.5)];
        assert_eq!(pr.len(), expected.len());
        for (a, b) in pr.iter().zip(expected) {
            assert!(close(a.0, b.0, 1e-12) && close(a.1, b.1, 1e-12), "{pr:?}");
        }
        assert!(precision_recall_curve(&[false], &[0.3]).is_none());
        // A non-finite score ends the sweep at once instead of looping.
        assert!(best_f1_threshold(&[true, false], &[f32::NAN, 0.2]).is_none());
        assert!(roc_curve(&[true, false], &[0.5, f32::INFINITY]).is_none());
    }

    /// sklearn's docstring examples: `mean_squared_error`, `mean_absolute_error`, `r2_score`,
    /// `root_mean_squared_log_error`.
    #[test]
    fn regression_metrics_match_sklearn() {
        let y = [3.0f32, -0.5, 2.0, 7.0];
        let p = array![[2.5f32], [0.0], [2.0], [8.0]];
        let score = |m: Metric| m.score_truth(Truth::Values(&y), p.view()).unwrap();
        assert!(close(score(Metric::Rmse), 0.375f64.sqrt(), 1e-7));
        assert!(close(score(Metric::Mae), 0.5, 1e-7));
        assert!(close(score(Metric::R2), 0.948_608_137_044_967_9, 1e-7));
        assert!(rmsle(&[-1.0], &[0.0]).is_err());
        let y = [3.0f32, 5.0, 2.5, 7.0];
        let p = [2.5f32, 5.0, 4.0, 8.0];
        assert!(close(rmsle(&y, &p).unwrap(), 0.199_324_165_6, 1e-6));
        assert!(r2(&[1.0, 1.0], &[1.0, 2.0]).is_err());
        assert!(rmse(&[1.0], &[f32::NAN]).is_err());
        assert!(
            Metric::Rmse
                .score(&[0, 1], array![[0.5f32, 0.5], [0.5, 0.5]].view())
                .is_err()
        );
        assert!(
            Metric::Auc
                .score_truth(Truth::Values(&y), Array2::<f32>::ones((4, 1)).view())
                .is_err()
        );
        assert!(Metric::Rmse.is_regression() && !Metric::Rmse.higher_is_better());
        assert!(Metric::R2.higher_is_better());
        assert_eq!("rmse".parse::<Metric>().unwrap(), Metric::Rmse);
    }

    #[test]
    fn balanced_accuracy_ignores_classes_absent_from_y_true() {
        // Class 2 is predicted but never true: mean over classes 0 and 1 only.
        let y = [0u32, 0, 1, 1];
        let p = [0u32, 2, 1, 1];
        assert!(close(
            balanced_accuracy(&y, &p, 3).unwrap(),
            (0.5 + 1.0) / 2.0,
            1e-12
        ));
        // ... but F1 counts class 2 (predicted) with score 0, like sklearn.
        let f1_0 = 2.0 / 3.0;
        let f1_1 = 1.0;
        assert!(close(
            macro_f1(&y, &p, 3).unwrap(),
            (f1_0 + f1_1) / 3.0,
            1e-12
        ));
    }

    #[test]
    fn log_loss_by_hand_and_with_clipping() {
        let y = [0u32, 1];
        let proba = array![[0.8f32, 0.2], [0.4, 0.6]];
        let expected = -(0.8f64.ln() + 0.6f64.ln()) / 2.0;
        assert!(close(log_loss(&y, proba.view()).unwrap(), expected, 1e-6));
        // A zero probability on the true class is clipped, not infinite.
        let zero = array![[1.0f32, 0.0]];
        let l = log_loss(&[1], zero.view()).unwrap();
        assert!(close(l, -(1e-15f64 / (1.0)).ln(), 1e-6), "{l}");
        // Unnormalised rows are renormalised.
        let un = array![[2.0f32, 2.0]];
        assert!(close(log_loss(&[0], un.view()).unwrap(), 2f64.ln(), 1e-9));
    }

    #[test]
    fn binary_auc_by_hand_with_ties() {
        // Positives scores 0.8, 0.4; negatives 0.4, 0.1.
        // Pairs: (0.8>0.4)=1, (0.8>0.1)=1, (0.4=0.4)=0.5, (0.4>0.1)=1 -> 3.5/4.
        let pos = [true, true, false, false];
        let s = [0.8, 0.4, 0.4, 0.1];
        assert!(close(binary_auc(&pos, &s).unwrap(), 0.875, 1e-12));
        assert!(binary_auc(&[true, true], &[0.1, 0.2]).is_none());
    }

    /// Fixed example scored by scikit-learn 1.9.1 (python3, float64 inputs):
    /// ```python
    /// from sklearn import metrics as m
    /// y = [0,1,2,2,1,0,2,1,0,2,1,1]
    /// P = [[.7,.2,.1],[.1,.6,.3],[.2,.2,.6],[.3,.3,.4],[.5,.4,.1],[.6,.1,.3],
    ///      [.1,.1,.8],[.2,.5,.3],[.3,.4,.3],[.25,.25,.5],[.1,.8,.1],[.4,.35,.25]]
    /// pred = np.argmax(P, 1)
    /// m.balanced_accuracy_score(y, pred); m.accuracy_score(y, pred)
    /// m.log_loss(y, P); m.f1_score(y, pred, average="macro")
    /// m.roc_auc_score(y, P, multi_class="ovr", average="macro")   # and "weighted"
    /// m.confusion_matrix(y, pred)
    /// ```
    #[test]
    fn matches_scikit_learn_on_fixed_example() {
        let y = [0u32, 1, 2, 2, 1, 0, 2, 1, 0, 2, 1, 1];
        let p = array![
            [0.7f32, 0.2, 0.1],
            [0.1, 0.6, 0.3],
            [0.2, 0.2, 0.6],
            [0.3, 0.3, 0.4],
            [0.5, 0.4, 0.1],
            [0.6, 0.1, 0.3],
            [0.1, 0.1, 0.8],
            [0.2, 0.5, 0.3],
            [0.3, 0.4, 0.3],
            [0.25, 0.25, 0.5],
            [0.1, 0.8, 0.1],
            [0.4, 0.35, 0.25]
        ];
        let pred = argmax_rows(p.view());
        assert_eq!(pred, vec![0, 1, 2, 2, 0, 0, 2, 1, 1, 2, 1, 0]);
        // Constants from scikit-learn (see the doc comment above).
        const SK_BALANCED_ACCURACY: f64 = 0.7555555555555555;
        const SK_ACCURACY: f64 = 0.75;
        const SK_LOG_LOSS: f64 = 0.6506758059631615;
        const SK_F1_MACRO: f64 = 0.746031746031746;
        const SK_AUC_MACRO: f64 = 0.9548500881834214;
        const SK_AUC_WEIGHTED: f64 = 0.958994708994709;
        let tol = 1e-6;
        let ba = Metric::BalancedAccuracy.score(&y, p.view()).unwrap();
        assert!(close(ba, SK_BALANCED_ACCURACY, tol), "{ba}");
        let acc = Metric::Accuracy.score(&y, p.view()).unwrap();
        assert!(close(acc, SK_ACCURACY, tol), "{acc}");
        let ll = Metric::LogLoss.score(&y, p.view()).unwrap();
        assert!(close(ll, SK_LOG_LOSS, tol), "{ll}");
        let f1 = Metric::F1.score(&y, p.view()).unwrap();
        assert!(close(f1, SK_F1_MACRO, tol), "{f1}");
        let auc = Metric::Auc.score(&y, p.view()).unwrap();
        assert!(close(auc, SK_AUC_MACRO, tol), "{auc}");
        let aucw = roc_auc_ovr(&y, p.view(), AucAverage::Weighted).unwrap();
        assert!(close(aucw, SK_AUC_WEIGHTED, tol), "{aucw}");
        // sklearn: [[2, 1, 0], [2, 3, 0], [0, 0, 4]]
        assert_eq!(
            confusion_matrix(&y, &pred, 3).unwrap(),
            array![[2u64, 1, 0], [2, 3, 0], [0, 0, 4]]
        );
    }

    #[test]
    fn auc_skips_class_absent_from_y_true() {
        // Class 2 never occurs: macro AUC is the mean over classes 0 and 1 only.
        let y = [0u32, 0, 1, 1];
        let p = array![
            [0.9f32, 0.05, 0.05],
            [0.3, 0.6, 0.1],
            [0.2, 0.7, 0.1],
            [0.5, 0.4, 0.1]
        ];
        let auc0 = binary_auc(&[true, true, false, false], &[0.9, 0.3, 0.2, 0.5]).unwrap();
        let auc1 = binary_auc(&[false, false, true, true], &[0.05, 0.6, 0.7, 0.4]).unwrap();
        let got = roc_auc_ovr(&y, p.view(), AucAverage::Macro).unwrap();
        assert!(close(got, (auc0 + auc1) / 2.0, 1e-12), "{got}");
        assert!(
            roc_auc_ovr(
                &[1, 1],
                array![[0.2f32, 0.8], [0.3, 0.7]].view(),
                AucAverage::Macro
            )
            .is_err()
        );
    }

    #[test]
    fn metric_names_round_trip_and_direction() {
        for m in Metric::ALL {
            assert_eq!(m.to_string().parse::<Metric>().unwrap(), m);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.name()));
        }
        assert!(!Metric::LogLoss.higher_is_better());
        assert!(Metric::Auc.higher_is_better());
        assert!(Metric::LogLoss.is_better(0.1, 0.2));
        assert!("bogus".parse::<Metric>().is_err());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(accuracy(&[], &[]).is_err());
        assert!(accuracy(&[0, 1], &[0]).is_err());
        assert!(balanced_accuracy(&[0, 5], &[0, 1], 2).is_err());
        assert!(log_loss(&[0], array![[f32::NAN, 1.0]].view()).is_err());
        assert!(log_loss(&[2], array![[0.5f32, 0.5]].view()).is_err());
    }
}
