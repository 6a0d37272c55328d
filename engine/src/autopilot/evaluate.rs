//! Training and scoring one blueprint: on one fold (a stage) or on every fold (cross-validation).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::dataset::Target;
use crate::features::FeatureInputs;
use crate::leaderboard::{Scores, score_all};
use crate::model::{Candidate, FoldMean, Model};
use crate::partition::Partition;

/// A blueprint fitted on some rows and scored on others.
pub struct FoldFit {
    /// The fitted model.
    pub model: Model,
    /// Probabilities for the validation rows.
    pub valid_proba: Array2<f32>,
    /// Seconds spent in featurization + fit.
    pub fit_seconds: f64,
    /// Seconds spent predicting the validation rows.
    pub predict_seconds: f64,
}

/// Fits `c` on `train` rows and predicts `valid` rows.
pub fn fit_fold(
    c: &Candidate,
    inputs: &FeatureInputs,
    target: &Target,
    train: &[usize],
    valid: &[usize],
    seed: u64,
) -> anyhow::Result<FoldFit> {
    let t0 = Instant::now();
    // The TF-IDF settings search scores classifiers; a regression keeps the settings as set.
    let blocks = if c.search_text && !target.task.is_regression() {
        super::text_search::choose_text_blocks(
            c,
            inputs,
            &target.labels,
            target.classes.len(),
            train,
            seed,
        )
        .with_context(|| format!("choosing the TF-IDF settings of {}", c.describe()))?
    } else {
        c.blocks.clone()
    };
    let model = Model::fit(
        &blocks,
        c.estimator.clone(),
        inputs,
        train,
        &target.rows(train),
        &target.classes,
        seed,
    )
    .with_context(|| format!("fitting {}", c.describe()))?;
    let fit_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let valid_proba = model.predict_proba(inputs, valid)?;
    let predict_seconds = t1.elapsed().as_secs_f64();
    Ok(FoldFit {
        model,
        valid_proba,
        fit_seconds,
        predict_seconds,
    })
}

/// A deterministic sample of `pct` percent of `rows`, stratified by label (at least one row per
/// class present; regression labels are the target's quantile strata), in ascending row order.
pub fn sample_rows(rows: &[usize], labels: &[u32], pct: f64, seed: u64) -> Vec<usize> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    if pct >= 100.0 {
        return rows.to_vec();
    }
    let mut by_class: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &r in rows {
        by_class.entry(labels[r]).or_default().push(r);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (_, mut members) in by_class {
        members.shuffle(&mut rng);
        let take = ((members.len() as f64 * pct / 100.0).round() as usize).clamp(1, members.len());
        out.extend_from_slice(&members[..take]);
    }
    out.sort_unstable();
    out
}

/// Cross-validation of one blueprint on every fold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CvResult {
    /// Scores of each fold's validation rows.
    pub fold_scores: Vec<Scores>,
    /// Out-of-fold probabilities for every row (`n_rows × classes`); holdout rows are zero.
    #[serde(skip)]
    pub oof: Array2<f32>,
    /// Holdout probabilities: mean of the fold models' predictions (`holdout rows × classes`).
    #[serde(skip)]
    pub holdout_proba: Array2<f32>,
    /// Scores on the holdout.
    pub holdout_scores: Option<Scores>,
    /// Mean fit seconds per fold.
    pub fit_seconds: f64,
    /// Prediction seconds per 1,000 rows (measured on validation rows).
    pub predict_seconds_per_1000: f64,
    /// The fold models (for prediction on new data: their mean).
    #[serde(skip)]
    pub models: Vec<Model>,
}

/// Fits `c` on each fold's training rows, predicts its validation rows and the holdout.
pub fn cross_validate(
    c: &Candidate,
    inputs: &FeatureInputs,
    target: &Target,
    partition: &Partition,
    seed: u64,
) -> anyhow::Result<CvResult> {
    match cross_validate_until(c, inputs, target, partition, seed, &|| false)? {
        CvOutcome::Finished(r) => Ok(*r),
        CvOutcome::Stopped { .. } => anyhow::bail!("cross-validation stopped"),
    }
}

/// How a cross-validation that may be stopped ended.
#[derive(Debug)]
pub enum CvOutcome {
    /// Every fold was fitted (boxed: the result is large, the stop small).
    Finished(Box<CvResult>),
    /// `stop` said so between two folds; nothing of the partial model is kept.
    Stopped {
        /// Folds that were fitted before the stop.
        folds_done: usize,
    },
}

/// [`cross_validate`] that asks `stop` before each wave of folds after the first (a safe point:
/// no fold is half-trained) and gives up, discarding the folds done, when it returns true.
///
/// Folds train in waves of as many folds as the thread pool has threads, in parallel: a fold's
/// fit depends only on its rows and its seed (`seed + fold`), so the result is the same as one
/// fold after the other, and the estimators' own parallel loops share the same pool.
pub fn cross_validate_until(
    c: &Candidate,
    inputs: &FeatureInputs,
    target: &Target,
    partition: &Partition,
    seed: u64,
    stop: &dyn Fn() -> bool,
) -> anyhow::Result<CvOutcome> {
    use rayon::prelude::*;
    let n = target.labels.len();
    let k = target.n_outputs();
    let mut oof = Array2::<f32>::zeros((n, k));
    let holdout = partition.holdout_rows().to_vec();
    let mut holdout_mean = FoldMean::default();
    let mut fold_scores = Vec::new();
    let mut models = Vec::new();
    let (mut fit_s, mut pred_s, mut pred_rows) = (0.0, 0.0, 0usize);
    let wave = rayon::current_num_threads().max(1);
    let folds: Vec<usize> = (0..partition.k).collect();
    for chunk in folds.chunks(wave) {
        if chunk[0] > 0 && stop() {
            return Ok(CvOutcome::Stopped {
                folds_done: chunk[0],
            });
        }
        // Each fold's fit, and its predictions for the holdout rows (none without a holdout).
        let fits: Vec<(usize, FoldFit, Array2<f32>)> = chunk
            .par_iter()
            .map(|&fold| {
                let train = partition.train_rows(fold);
                let valid = partition.valid_rows(fold);
                let seed = seed.wrapping_add(fold as u64);
                let fit = fit_fold(c, inputs, target, &train, &valid, seed)?;
                let on_holdout = if holdout.is_empty() {
                    Array2::zeros((0, k))
                } else {
                    fit.model.predict_proba(inputs, &holdout)?
                };
                Ok((fold, fit, on_holdout))
            })
            .collect::<anyhow::Result<_>>()?;
        for (fold, fit, on_holdout) in fits {
            let valid = partition.valid_rows(fold);
            for (i, &r) in valid.iter().enumerate() {
                oof.row_mut(r).assign(&fit.valid_proba.row(i));
            }
            fold_scores.push(score_all(
                target.rows(&valid).truth(),
                fit.valid_proba.view(),
            ));
            holdout_mean.add(&on_holdout)?;
            fit_s += fit.fit_seconds;
            pred_s += fit.predict_seconds;
            pred_rows += valid.len();
            models.push(fit.model);
        }
    }
    let holdout_proba = holdout_mean
        .mean()
        .unwrap_or_else(|| Array2::zeros((holdout.len(), k)));
    let holdout_scores = (!holdout.is_empty())
        .then(|| score_all(target.rows(&holdout).truth(), holdout_proba.view()));
    Ok(CvOutcome::Finished(Box::new(CvResult {
        fold_scores,
        oof,
        holdout_proba,
        holdout_scores,
        fit_seconds: fit_s / partition.k as f64,
        predict_seconds_per_1000: pred_s / pred_rows.max(1) as f64 * 1000.0,
        models,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autopilot::candidates::estimator_by_key;
    use crate::dataset::{Column, ColumnType, Dataset};
    use crate::model::BlockSpec;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn setup() -> (Dataset, Vec<u32>, Partition) {
        let n = 60;
        let values: Vec<Option<String>> = (0..n).map(|i| Some(format!("{}", i % 3))).collect();
        let labels: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        let ds = Dataset {
            source: "t.csv".into(),
            base_dir: ".".into(),
            columns: vec![Column {
                name: "x".into(),
                kind: ColumnType::Numeric,
                values,
            }],
            skipped: vec![],
        };
        let ids: Vec<i32> = (0..n).map(|i| if i >= 50 { -1 } else { i / 10 }).collect();
        (ds, labels, Partition::from_fold_ids(ids).unwrap())
    }

    #[test]
    fn stops_between_folds_and_keeps_nothing() {
        let (ds, labels, p) = setup();
        let c = Candidate {
            feature_list: "all".into(),
            blocks: vec![BlockSpec::Numeric { column: "x".into() }],
            estimator: estimator_by_key("lr").unwrap(),
            search_text: false,
        };
        let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let target = Target::of_classes("y", classes, labels);
        let inputs = FeatureInputs::new(&ds);
        let asked = AtomicUsize::new(0);
        // Stop when asked the second time: after two waves of folds.
        let stop = || asked.fetch_add(1, Ordering::SeqCst) + 1 >= 2;
        // On a two-thread pool a wave is two folds: stopped after four.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let out = pool
            .install(|| cross_validate_until(&c, &inputs, &target, &p, 0, &stop))
            .unwrap();
        assert!(
            matches!(out, CvOutcome::Stopped { folds_done: 4 }),
            "{out:?}"
        );
        // Never stopping: every fold, same as `cross_validate`.
        let full = cross_validate_until(&c, &inputs, &target, &p, 0, &|| false).unwrap();
        let CvOutcome::Finished(full) = full else {
            panic!("stopped without being asked");
        };
        assert_eq!(full.fold_scores.len(), 5);
        assert_eq!(full.models.len(), 5);
        assert_eq!(full.holdout_proba.nrows(), 10);
    }
}
