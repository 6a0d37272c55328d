//! The leaderboard: every trained model with its validation, cross-validation and holdout scores,
//! ranked by a chosen metric.
//!
//! Scores are kept for every [`Metric`]. `validation` is fold 0's score (available as soon as the
//! first fold is trained), `cv_mean`/`cv_std` appear once all folds are scored (`cv_std` is the
//! population standard deviation across folds, like `numpy.std`). Holdout scores are recorded as
//! soon as they are computed but shown only once the holdout is unlocked (as in DataRobot,
//! unlocking is permanent for the project), so that model choice is not tuned on the holdout.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use blueprints::metrics::{Metric, Truth, fmt_score};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::dataset::{Target, Task};
use crate::partition::Partition;

/// A score for each metric that is defined on the rows scored.
pub type Scores = BTreeMap<Metric, f64>;

/// Scores predictions `proba` against `truth` on every metric of its kind (classification or
/// regression); metrics undefined on these rows (e.g. AUC when only one class is present) are
/// left out.
pub fn score_all(truth: Truth, proba: ArrayView2<f32>) -> Scores {
    truth
        .metrics()
        .iter()
        .filter_map(|&m| m.score_truth(truth, proba).ok().map(|s| (m, s)))
        .collect()
}

/// Mean and population standard deviation, per metric, over per-fold scores (a metric counts
/// only if every fold has it).
pub fn mean_std(folds: &[Scores]) -> (Scores, Scores) {
    let mut mean = Scores::new();
    let mut std = Scores::new();
    if folds.is_empty() {
        return (mean, std);
    }
    for m in Metric::ALL {
        let v: Option<Vec<f64>> = folds.iter().map(|f| f.get(&m).copied()).collect();
        if let Some(v) = v {
            let mu = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / v.len() as f64;
            mean.insert(m, mu);
            std.insert(m, var.sqrt());
        }
    }
    (mean, std)
}

/// One model on the leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardRow {
    /// Unique id within the project (`M1`, `M2`, ...).
    pub model_id: String,
    /// Readable blueprint, e.g. "Majority Class Baseline".
    pub blueprint: String,
    /// Name of the feature list the model was trained on.
    pub feature_list: String,
    /// Percentage of the training rows used.
    pub sample_pct: f64,
    /// Fold 0's scores.
    pub validation: Scores,
    /// Mean over all folds (once every fold is scored).
    pub cv_mean: Option<Scores>,
    /// Standard deviation over all folds (once every fold is scored).
    pub cv_std: Option<Scores>,
    /// Per-fold scores, in fold order (fold 0 first).
    pub cv_folds: Vec<Scores>,
    /// Holdout scores: stored, displayed only when the holdout is unlocked.
    pub holdout: Option<Scores>,
    /// Seconds to fit on one fold's training rows (mean over the folds fitted).
    pub fit_seconds: f64,
    /// Seconds to predict 1,000 rows.
    pub predict_seconds_per_1000: f64,
    /// The model this one was derived from (retrained, tuned, blended ...), if any.
    pub parent: Option<String>,
    /// Hyperparameters as name → value.
    pub params: BTreeMap<String, String>,
    /// What was trained (blueprint, sample, parameters): a resumed run skips rows whose key exists.
    #[serde(default)]
    pub key: String,
    /// For blenders: the member model ids.
    #[serde(default)]
    pub members: Vec<String>,
    /// Hyperparameters chosen by the search inside the blueprint: name → the value chosen in
    /// each fold model (one value for a stage model).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub searched: BTreeMap<String, Vec<String>>,
    /// Binary targets: the positive-class probability from which `predict` calls a row
    /// positive, chosen on the out-of-fold predictions to maximise F1, with that F1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
}

/// A binary model's decision threshold (see [`LeaderboardRow::threshold`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Rows whose positive-class probability is at least this are predicted positive.
    pub value: f32,
    /// The F1 of the positive class at this threshold, out of fold.
    pub f1: f64,
}

impl Threshold {
    /// The max-F1 threshold of a binary target's out-of-fold probabilities `oof` (rows ×
    /// classes) over the `rows` scored; `None` for other tasks.
    pub fn choose(target: &Target, oof: ArrayView2<f32>, rows: &[usize]) -> Option<Threshold> {
        let p = target.positive? as usize;
        if target.task != Task::Binary || oof.ncols() <= p {
            return None;
        }
        let positive: Vec<bool> = rows
            .iter()
            .map(|&r| target.labels[r] as usize == p)
            .collect();
        let scores: Vec<f32> = rows.iter().map(|&r| oof[[r, p]]).collect();
        let (value, f1) = blueprints::metrics::best_f1_threshold(&positive, &scores)?;
        Some(Threshold { value, f1 })
    }
}

impl LeaderboardRow {
    /// A row with no scores yet.
    pub fn new(model_id: &str, blueprint: &str, feature_list: &str) -> Self {
        Self {
            model_id: model_id.to_string(),
            blueprint: blueprint.to_string(),
            feature_list: feature_list.to_string(),
            sample_pct: 100.0,
            validation: Scores::new(),
            cv_mean: None,
            cv_std: None,
            cv_folds: Vec::new(),
            holdout: None,
            fit_seconds: 0.0,
            predict_seconds_per_1000: 0.0,
            parent: None,
            params: BTreeMap::new(),
            key: String::new(),
            members: Vec::new(),
            searched: BTreeMap::new(),
            threshold: None,
        }
    }

    /// Records what the search inside the blueprint chose in each of `models` (the fold models):
    /// the estimator's hyperparameters and, when searched, the TF-IDF settings (`tfidf`), in
    /// [`searched`](Self::searched), and shows them in `params`: the value when every fold chose
    /// the same, else the per-fold values joined by `/`.
    pub fn record_search(&mut self, models: &[crate::model::Model], text_searched: bool) {
        let mut searched: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in models {
            for (name, value) in m.estimator.searched_params() {
                searched.entry(name).or_default().push(value);
            }
        }
        // A regressor's target transform, when some fold chose one.
        if models
            .iter()
            .any(|m| m.target_transform != crate::model::TargetTransform::Identity)
        {
            for m in models {
                searched
                    .entry("target_transform".into())
                    .or_default()
                    .push(m.target_transform.name().into());
            }
        }
        if text_searched {
            for m in models {
                searched
                    .entry("tfidf".into())
                    .or_default()
                    .push(m.text_settings().unwrap_or_default());
            }
        }
        for (name, values) in &searched {
            let mut distinct = values.clone();
            distinct.dedup();
            let shown = if distinct.len() == 1 {
                distinct[0].clone()
            } else {
                values.join("/")
            };
            self.params.insert(name.clone(), shown);
        }
        self.searched = searched;
    }

    /// Records per-fold scores (fold 0 first): sets `validation` to fold 0, and the CV mean and
    /// std once `k` folds are present.
    pub fn set_folds(&mut self, folds: Vec<Scores>, k: usize) {
        self.validation = folds.first().cloned().unwrap_or_default();
        if folds.len() >= k && k > 0 {
            let (mean, std) = mean_std(&folds);
            self.cv_mean = Some(mean);
            self.cv_std = Some(std);
        } else {
            self.cv_mean = None;
            self.cv_std = None;
        }
        self.cv_folds = folds;
    }

    /// The score used for ranking: the CV mean when available, else the validation score.
    pub fn rank_score(&self, metric: Metric) -> Option<f64> {
        self.cv_mean
            .as_ref()
            .and_then(|m| m.get(&metric))
            .or_else(|| self.validation.get(&metric))
            .copied()
    }
}

/// All models of a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// Rows in insertion order.
    pub rows: Vec<LeaderboardRow>,
    /// Whether holdout scores may be shown (set once, never cleared).
    #[serde(default)]
    pub holdout_unlocked: bool,
}

impl Leaderboard {
    /// Adds `row`, replacing a row with the same model id.
    pub fn upsert(&mut self, row: LeaderboardRow) {
        match self.rows.iter_mut().find(|r| r.model_id == row.model_id) {
            Some(r) => *r = row,
            None => self.rows.push(row),
        }
    }

    /// The row of model `id`.
    pub fn get(&self, id: &str) -> Option<&LeaderboardRow> {
        self.rows.iter().find(|r| r.model_id == id)
    }

    /// The row whose [`LeaderboardRow::key`] is `key`.
    pub fn by_key(&self, key: &str) -> Option<&LeaderboardRow> {
        self.rows.iter().find(|r| !r.key.is_empty() && r.key == key)
    }

    /// The first unused id of the form `M<n>`.
    pub fn next_model_id(&self) -> String {
        let max = self
            .rows
            .iter()
            .filter_map(|r| {
                r.model_id
                    .strip_prefix('M')
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .max()
            .unwrap_or(0);
        format!("M{}", max + 1)
    }

    /// Rows best first by `metric` (respecting its direction); unscored rows last; ties keep
    /// insertion order.
    pub fn sorted(&self, metric: Metric) -> Vec<&LeaderboardRow> {
        let mut rows: Vec<&LeaderboardRow> = self.rows.iter().collect();
        rows.sort_by(|a, b| match (a.rank_score(metric), b.rank_score(metric)) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                if metric.higher_is_better() {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        rows
    }

    /// The best model: among the rows for which `can_predict` holds (in a project: those with
    /// saved fold models or a saved blender), the best cross-validation mean by `metric`; the
    /// best validation score only when none of them is cross-validated on `metric`. This is the
    /// one definition of "best" (the leaderboard's `*`, `predict best`, `export best`, reports).
    pub fn best_that_predicts(
        &self,
        metric: Metric,
        can_predict: impl Fn(&LeaderboardRow) -> bool,
    ) -> Option<&LeaderboardRow> {
        let cv = |r: &LeaderboardRow| r.cv_mean.as_ref().and_then(|m| m.get(&metric)).copied();
        let validation = |r: &LeaderboardRow| r.validation.get(&metric).copied();
        let candidates: Vec<&LeaderboardRow> =
            self.rows.iter().filter(|r| can_predict(r)).collect();
        let any_cv = candidates.iter().any(|r| cv(r).is_some());
        let score = |r: &LeaderboardRow| if any_cv { cv(r) } else { validation(r) };
        // The first of equally good rows wins (insertion order), as in [`Leaderboard::sorted`].
        candidates
            .into_iter()
            .filter_map(|r| score(r).filter(|s| !s.is_nan()).map(|s| (r, s)))
            .reduce(|best, next| {
                let better = if metric.higher_is_better() {
                    next.1 > best.1
                } else {
                    next.1 < best.1
                };
                if better { next } else { best }
            })
            .map(|(r, _)| r)
    }

    /// [`Leaderboard::best_that_predicts`] when every row can predict (for callers without
    /// the project's files; in a project, pass which rows have saved models).
    pub fn best(&self, metric: Metric) -> Option<&LeaderboardRow> {
        self.best_that_predicts(metric, |_| true)
    }

    /// A text table ranked by `metric`; the row of model `best` (see
    /// [`Leaderboard::best_that_predicts`]) is marked `*`. Holdout shows "locked" until
    /// [`Leaderboard::holdout_unlocked`].
    pub fn render_text(&self, metric: Metric, best: Option<&str>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  {:<5} {:<72} {:<20} {:>6} {:>10} {:>17} {:>10} {:>8} {:>9} {:<6}",
            "id",
            "blueprint",
            "features",
            "sample",
            "validation",
            "cv mean ± std",
            "holdout",
            "fit s",
            "pred s/1k",
            "parent"
        );
        for r in self.sorted(metric) {
            let mark = if best == Some(r.model_id.as_str()) {
                "*"
            } else {
                " "
            };
            let fmt = |v: Option<f64>| v.map_or("-".to_string(), fmt_score);
            let cv = match (
                r.cv_mean.as_ref().and_then(|m| m.get(&metric)),
                r.cv_std.as_ref().and_then(|s| s.get(&metric)),
            ) {
                (Some(m), Some(s)) => format!("{} ± {}", fmt_score(*m), fmt_score(*s)),
                _ => "-".to_string(),
            };
            let holdout = match (&r.holdout, self.holdout_unlocked) {
                (None, _) => "-".to_string(),
                (Some(_), false) => "locked".to_string(),
                (Some(h), true) => fmt(h.get(&metric).copied()),
            };
            let _ = writeln!(
                out,
                "{mark} {:<5} {:<72} {:<20} {:>5.0}% {:>10} {:>17} {:>10} {:>8.3} {:>9.4} {:<6}",
                r.model_id,
                truncate(&r.blueprint, 72),
                truncate(&r.feature_list, 20),
                r.sample_pct,
                fmt(r.validation.get(&metric).copied()),
                cv,
                holdout,
                r.fit_seconds,
                r.predict_seconds_per_1000,
                r.parent.as_deref().unwrap_or("-")
            );
        }
        let _ = write!(
            out,
            "metric: {metric} ({} is better); * = best model that can predict",
            if metric.higher_is_better() {
                "higher"
            } else {
                "lower"
            }
        );
        out
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

/// Blueprint name of the majority-class baseline.
pub const BASELINE_BLUEPRINT: &str = "Majority Class Baseline";

/// Class frequencies of `rows` as probabilities (length `n_classes`).
fn class_frequencies(labels: &[u32], rows: &[usize], n_classes: usize) -> Vec<f32> {
    let mut counts = vec![0f64; n_classes];
    for &r in rows {
        counts[labels[r] as usize] += 1.0;
    }
    let total = rows.len().max(1) as f64;
    counts.iter().map(|c| (c / total) as f32).collect()
}

/// The blueprint name of the regression baseline (the training rows' mean).
pub const MEAN_BASELINE_BLUEPRINT: &str = "Mean Baseline";

/// True for either baseline's blueprint name.
pub fn is_baseline(blueprint: &str) -> bool {
    blueprint == BASELINE_BLUEPRINT || blueprint == MEAN_BASELINE_BLUEPRINT
}

/// What the baseline predicts from `rows`: their class frequencies, or their mean value.
fn baseline_prediction(target: &Target, rows: &[usize]) -> Vec<f32> {
    if target.task.is_regression() {
        let sum: f64 = rows.iter().map(|&r| f64::from(target.values[r])).sum();
        vec![(sum / rows.len().max(1) as f64) as f32]
    } else {
        class_frequencies(&target.labels, rows, target.classes.len())
    }
}

/// Every row of `rows` gets the same probability vector `p`.
fn constant_proba(p: &[f32], n_rows: usize) -> Array2<f32> {
    Array2::from_shape_fn((n_rows, p.len()), |(_, c)| p[c])
}

/// Scores the baseline: the majority-class baseline predicts, on each fold, the training rows'
/// class frequencies for every validation row (the mean baseline their mean value); on the
/// holdout it uses those of all CV rows.
pub fn baseline_row(model_id: &str, target: &Target, partition: &Partition) -> LeaderboardRow {
    let (name, strategy) = if target.task.is_regression() {
        (MEAN_BASELINE_BLUEPRINT, "mean")
    } else {
        (BASELINE_BLUEPRINT, "prior")
    };
    let mut row = LeaderboardRow::new(model_id, name, "(none)");
    let mut folds = Vec::with_capacity(partition.k);
    let mut fit = 0.0;
    let mut predict = 0.0;
    let mut predicted = 0usize;
    for f in 0..partition.k {
        let t0 = std::time::Instant::now();
        let p = baseline_prediction(target, &partition.train_rows(f));
        fit += t0.elapsed().as_secs_f64();
        let valid = partition.valid_rows(f);
        let t1 = std::time::Instant::now();
        let proba = constant_proba(&p, valid.len());
        predict += t1.elapsed().as_secs_f64();
        predicted += valid.len();
        folds.push(score_all(target.rows(&valid).truth(), proba.view()));
    }
    row.set_folds(folds, partition.k);
    let ho = partition.holdout_rows();
    if !ho.is_empty() {
        let p = baseline_prediction(target, &partition.cv_rows());
        let proba = constant_proba(&p, ho.len());
        row.holdout = Some(score_all(target.rows(ho).truth(), proba.view()));
    }
    row.fit_seconds = fit / partition.k as f64;
    row.predict_seconds_per_1000 = if predicted > 0 {
        predict * 1000.0 / predicted as f64
    } else {
        0.0
    };
    row.params.insert("strategy".into(), strategy.into());
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(ba: f64, ll: f64) -> Scores {
        [(Metric::BalancedAccuracy, ba), (Metric::LogLoss, ll)]
            .into_iter()
            .collect()
    }

    fn row(id: &str, folds: Vec<Scores>) -> LeaderboardRow {
        let mut r = LeaderboardRow::new(id, "Test", "all");
        r.set_folds(folds, 2);
        r
    }

    #[test]
    fn sorts_by_metric_direction_and_marks_best() {
        let mut lb = Leaderboard::default();
        lb.upsert(row("M1", vec![scores(0.5, 0.9), scores(0.7, 0.7)])); // ba 0.6, ll 0.8
        lb.upsert(row("M2", vec![scores(0.8, 1.2), scores(0.8, 1.0)])); // ba 0.8, ll 1.1
        lb.upsert(row("M3", vec![scores(0.9, 0.1)])); // only fold 0: ranks on validation
        let ids = |m| {
            lb.sorted(m)
                .iter()
                .map(|r| r.model_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(Metric::BalancedAccuracy), ["M3", "M2", "M1"]);
        assert_eq!(ids(Metric::LogLoss), ["M3", "M1", "M2"]);
        assert_eq!(
            ids(Metric::Auc),
            ["M1", "M2", "M3"],
            "unscored: insertion order"
        );
        // Best ranks on the CV mean: M3 (validation only) is listed first but is not the best.
        assert_eq!(lb.best(Metric::BalancedAccuracy).unwrap().model_id, "M2");
        assert_eq!(lb.best(Metric::LogLoss).unwrap().model_id, "M1");
        assert!(lb.best(Metric::Auc).is_none());
        let m1 = lb.get("M1").unwrap();
        assert!((m1.cv_mean.as_ref().unwrap()[&Metric::BalancedAccuracy] - 0.6).abs() < 1e-12);
        assert!((m1.cv_std.as_ref().unwrap()[&Metric::BalancedAccuracy] - 0.1).abs() < 1e-12);
        assert!(lb.get("M3").unwrap().cv_mean.is_none());
        assert_eq!(lb.next_model_id(), "M4");
        let text = lb.render_text(Metric::BalancedAccuracy, Some("M2"));
        assert!(text.lines().nth(1).unwrap().starts_with("  M3"), "{text}");
        assert!(text.lines().nth(2).unwrap().starts_with("* M2"), "{text}");
    }

    #[test]
    fn best_is_the_best_cv_model_that_can_predict() {
        let mut lb = Leaderboard::default();
        lb.upsert(row("M1", vec![scores(0.95, 0.1)])); // a stage model: validation only
        lb.upsert(row("M2", vec![scores(0.6, 0.9), scores(0.6, 0.9)]));
        lb.upsert(row("M3", vec![scores(0.8, 0.5), scores(0.8, 0.5)]));
        lb.upsert(row("M4", vec![scores(0.7, 0.6), scores(0.7, 0.6)]));
        lb.upsert(row("M5", vec![scores(0.8, 0.5), scores(0.8, 0.5)]));
        let id = |only: &[&str], m| {
            lb.best_that_predicts(m, |r| only.contains(&r.model_id.as_str()))
                .map(|r| r.model_id.clone())
        };
        let ba = Metric::BalancedAccuracy;
        assert_eq!(id(&["M1", "M2", "M3", "M4"], ba).as_deref(), Some("M3"));
        assert_eq!(id(&["M1", "M2", "M4"], ba).as_deref(), Some("M4"));
        assert_eq!(
            id(&["M1", "M2", "M4"], Metric::LogLoss).as_deref(),
            Some("M4")
        );
        // Validation decides only when no model that can predict is cross-validated.
        assert_eq!(id(&["M1"], ba).as_deref(), Some("M1"));
        assert_eq!(id(&[], ba), None);
        // Ties: the first row wins.
        assert_eq!(id(&["M5", "M3"], ba).as_deref(), Some("M3"));
    }

    #[test]
    fn holdout_is_locked_until_unlocked() {
        let mut lb = Leaderboard::default();
        let mut r = row("M1", vec![scores(0.5, 0.9), scores(0.7, 0.7)]);
        r.holdout = Some(scores(0.4321, 1.0));
        lb.upsert(r);
        let text = lb.render_text(Metric::BalancedAccuracy, None);
        assert!(
            text.contains("locked") && !text.contains("0.4321"),
            "{text}"
        );
        lb.holdout_unlocked = true;
        assert!(
            lb.render_text(Metric::BalancedAccuracy, None)
                .contains("0.4321")
        );
        let json = serde_json::to_string(&lb).unwrap();
        assert!(json.contains("\"balanced_accuracy\""), "{json}");
        assert_eq!(serde_json::from_str::<Leaderboard>(&json).unwrap(), lb);
    }

    #[test]
    fn baseline_scores_one_over_n_classes() {
        // Three classes 50/30/20%; folds by row index.
        let labels: Vec<u32> = (0..100)
            .map(|i| {
                if i % 10 < 5 {
                    0
                } else if i % 10 < 8 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let ids: Vec<i32> = (0..100)
            .map(|i| if i >= 80 { -1 } else { i / 16 })
            .collect();
        let p = Partition::from_fold_ids(ids).unwrap();
        let target = Target::of_classes("y", vec!["a".into(), "b".into(), "c".into()], labels);
        let r = baseline_row("M1", &target, &p);
        assert_eq!(r.blueprint, BASELINE_BLUEPRINT);
        assert_eq!(r.cv_folds.len(), 5);
        let ba = r.cv_mean.as_ref().unwrap()[&Metric::BalancedAccuracy];
        assert!((ba - 1.0 / 3.0).abs() < 1e-12, "{ba}");
        // Constant scores: AUC is exactly 0.5 (all ties).
        assert!((r.cv_mean.as_ref().unwrap()[&Metric::Auc] - 0.5).abs() < 1e-12);
        // Holdout rows 80..100 have the same 50/30/20 mix as the CV rows: log loss is the entropy.
        let h = -(0.5f64 * 0.5f64.ln() + 0.3 * 0.3f64.ln() + 0.2 * 0.2f64.ln());
        let ll = r.holdout.as_ref().unwrap()[&Metric::LogLoss];
        assert!((ll - h).abs() < 1e-6, "{ll} vs {h}");
        assert!((r.holdout.as_ref().unwrap()[&Metric::Accuracy] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_regression_baseline_predicts_the_training_mean() {
        // Folds of 10 rows: fold f holds the values 10f..10f+9; no holdout.
        let values: Vec<f32> = (0..50).map(|i| i as f32).collect();
        let p = Partition::from_fold_ids((0..50).map(|i| i / 10).collect()).unwrap();
        let target = Target::of_values("y", values);
        let r = baseline_row("M1", &target, &p);
        assert_eq!(r.blueprint, MEAN_BASELINE_BLUEPRINT);
        assert!(is_baseline(&r.blueprint));
        // Fold 0: train mean = mean(10..50) = 29.5, valid 0..9 → MAE = 29.5 − 4.5 = 25.
        let mae = r.validation[&Metric::Mae];
        assert!((mae - 25.0).abs() < 1e-5, "{mae}");
        assert!(r.validation[&Metric::R2] < 0.0);
        assert!(!r.validation.contains_key(&Metric::BalancedAccuracy));
    }
}
