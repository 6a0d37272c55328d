//! The inner cross-validation of a search: stratified folds of the training rows (by class, or
//! by target quantile for regression), and the scoring of each configuration on them (with
//! successive halving over the folds).

use std::collections::BTreeMap;

use ndarray::Array2;
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::Trial;
use super::grid::Group;
use crate::error::Result;
use crate::estimator::{Estimator, FitContext};
use crate::features::Features;
use crate::metrics::Truth;

/// Fewest rows per inner fold: below this the search is skipped (too noisy to choose anything).
const MIN_ROWS_PER_FOLD: usize = 8;

/// The validation rows of `k` stratified folds of `y` (each class dealt round-robin over the
/// folds after a seeded shuffle), in ascending order. Fewer folds when there are too few rows;
/// none when fewer than two folds are possible.
pub fn stratified_folds(y: &[u32], n_classes: usize, k: usize, seed: u64) -> Vec<Vec<usize>> {
    let k = k.min(y.len() / MIN_ROWS_PER_FOLD);
    if k < 2 {
        return Vec::new();
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes.max(1)];
    for (i, &c) in y.iter().enumerate() {
        if let Some(members) = by_class.get_mut(c as usize) {
            members.push(i);
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x1a2e_f01d);
    let mut folds = vec![Vec::new(); k];
    let mut next = 0usize;
    for mut members in by_class {
        members.shuffle(&mut rng);
        for r in members {
            folds[next % k].push(r);
            next += 1;
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

/// Target quantile bins of a regression search's folds.
const TARGET_BINS: usize = 5;

/// [`stratified_folds`] of real targets: stratified on [`TARGET_BINS`] quantile bins of `y`
/// (by rank; ties by row), so every fold spans the target's range.
pub fn quantile_folds(y: &[f32], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&a, &b| y[a].total_cmp(&y[b]).then(a.cmp(&b)));
    let mut bins = vec![0u32; y.len()];
    for (rank, &r) in order.iter().enumerate() {
        bins[r] = (rank * TARGET_BINS / y.len().max(1)) as u32;
    }
    stratified_folds(&bins, TARGET_BINS, k, seed)
}

/// The inner folds of a search on `truth`.
pub fn folds_of(truth: Truth, n_classes: usize, k: usize, seed: u64) -> Vec<Vec<usize>> {
    match truth {
        Truth::Classes(y) => stratified_folds(y, n_classes, k, seed),
        Truth::Values(y) => quantile_folds(y, k, seed),
    }
}

/// Some rows of a fit's features, truth and weights.
pub struct Sample {
    /// The rows' features.
    pub x: Features,
    classes: Vec<u32>,
    values: Vec<f32>,
    regression: bool,
    /// The context with the rows' weights.
    pub ctx: FitContext,
}

impl Sample {
    /// Rows `rows` of `x`, `truth` and `ctx`'s weights.
    pub fn of(x: &Features, truth: Truth, ctx: &FitContext, rows: &[usize]) -> Sample {
        let (classes, values, regression) = match truth {
            Truth::Classes(y) => (rows.iter().map(|&r| y[r]).collect(), Vec::new(), false),
            Truth::Values(y) => (Vec::new(), rows.iter().map(|&r| y[r]).collect(), true),
        };
        Sample {
            x: x.select_rows(rows),
            classes,
            values,
            regression,
            ctx: FitContext {
                sample_weight: ctx
                    .sample_weight
                    .as_ref()
                    .map(|w| rows.iter().map(|&r| w[r]).collect()),
                ..ctx.clone()
            },
        }
    }

    /// The rows' truth.
    pub fn truth(&self) -> Truth<'_> {
        match self.regression {
            true => Truth::Values(&self.values),
            false => Truth::Classes(&self.classes),
        }
    }
}

/// Out-of-fold predictions of one configuration, filled fold by fold.
struct Pooled {
    values: Vec<(String, String)>,
    oof: Array2<f32>,
    filled: Vec<bool>,
    folds: usize,
    failed: bool,
}

impl Pooled {
    fn trial(&self, truth: Truth) -> Trial {
        let rows: Vec<usize> = (0..truth.len()).filter(|&r| self.filled[r]).collect();
        let p = self.oof.select(ndarray::Axis(0), &rows);
        let mut t = match truth {
            Truth::Classes(y) => {
                let yv: Vec<u32> = rows.iter().map(|&r| y[r]).collect();
                Trial::score(self.values.clone(), &yv, &p, self.folds)
            }
            Truth::Values(y) => {
                let yv: Vec<f32> = rows.iter().map(|&r| y[r]).collect();
                Trial::score_values(self.values.clone(), &yv, &p, self.folds)
            }
        };
        if self.failed {
            t.balanced_accuracy = f64::NAN;
            t.rmse = t.rmse.map(|_| f64::NAN);
        }
        t
    }
}

/// Scores every configuration of `groups` on the inner `folds` (successive halving: with more
/// than three groups, the best third after the first fold go on to the others).
pub fn evaluate(
    base: &dyn Estimator,
    groups: &[Group],
    x: &Features,
    truth: Truth,
    ctx: &FitContext,
    folds: &[Vec<usize>],
) -> Result<Vec<Trial>> {
    let n = truth.len();
    let width = match truth {
        Truth::Classes(_) => ctx.n_classes,
        Truth::Values(_) => 1,
    };
    let mut pooled: Vec<Vec<Pooled>> = groups
        .iter()
        .map(|g| {
            configs_of(g)
                .into_iter()
                .map(|values| Pooled::new(values, n, width))
                .collect()
        })
        .collect();
    let mut alive: Vec<usize> = (0..groups.len()).collect();
    for (f, valid) in folds.iter().enumerate() {
        if f == 1 && groups.len() > 3 {
            alive = best_groups(&pooled, truth, groups.len().div_ceil(3).max(2));
        }
        let train = complement(valid, n);
        let xt = x.select_rows(&train);
        let (classes, values): (Vec<u32>, Vec<f32>) = match truth {
            Truth::Classes(y) => (train.iter().map(|&r| y[r]).collect(), Vec::new()),
            Truth::Values(y) => (Vec::new(), train.iter().map(|&r| y[r]).collect()),
        };
        let yt = match truth {
            Truth::Classes(_) => Truth::Classes(&classes),
            Truth::Values(_) => Truth::Values(&values),
        };
        let xv = x.select_rows(valid);
        let fold_ctx = FitContext {
            n_classes: ctx.n_classes,
            seed: ctx.seed.wrapping_add(f as u64 + 1),
            sample_weight: ctx
                .sample_weight
                .as_ref()
                .map(|w| train.iter().map(|&r| w[r]).collect()),
        };
        for &g in &alive {
            match fit_group(base, &groups[g], &xt, yt, &fold_ctx) {
                Ok(models) => {
                    for (m, p) in models.iter().zip(pooled[g].iter_mut()) {
                        match m.predict_proba(&xv) {
                            Ok(proba) => p.add(valid, &proba),
                            Err(_) => p.failed = true,
                        }
                    }
                }
                Err(_) => pooled[g].iter_mut().for_each(|p| p.failed = true),
            }
        }
    }
    Ok(pooled.iter().flatten().map(|p| p.trial(truth)).collect())
}

impl Pooled {
    fn new(values: Vec<(String, String)>, n: usize, k: usize) -> Self {
        Self {
            values,
            oof: Array2::zeros((n, k)),
            filled: vec![false; n],
            folds: 0,
            failed: false,
        }
    }

    fn add(&mut self, rows: &[usize], proba: &Array2<f32>) {
        for (i, &r) in rows.iter().enumerate() {
            self.oof.row_mut(r).assign(&proba.row(i));
            self.filled[r] = true;
        }
        self.folds += 1;
    }
}

/// Every configuration of a group: its values plus each value of the path dimension.
fn configs_of(g: &Group) -> Vec<Vec<(String, String)>> {
    match &g.path {
        None => vec![g.values.clone()],
        Some((name, values)) => values
            .iter()
            .map(|v| {
                let mut c = g.values.clone();
                c.push((name.clone(), v.clone()));
                c
            })
            .collect(),
    }
}

/// The `keep` groups whose best configuration scores highest so far.
fn best_groups(pooled: &[Vec<Pooled>], truth: Truth, keep: usize) -> Vec<usize> {
    let mut best: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
    for (g, configs) in pooled.iter().enumerate() {
        let top = configs
            .iter()
            .filter_map(|p| p.trial(truth).rank_key())
            .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        if let Some(s) = top {
            best.insert(g, s);
        }
    }
    let mut order: Vec<(usize, (f64, f64))> = best.into_iter().collect();
    order.sort_by(|a, b| {
        b.1.0
            .total_cmp(&a.1.0)
            .then(b.1.1.total_cmp(&a.1.1))
            .then(a.0.cmp(&b.0))
    });
    let mut keep_ids: Vec<usize> = order.into_iter().take(keep).map(|(g, _)| g).collect();
    keep_ids.sort_unstable();
    keep_ids
}

/// Fits `est` as a classifier or a regressor, as `truth` says.
pub(super) fn fit_truth(
    est: &mut dyn Estimator,
    x: &Features,
    truth: Truth,
    ctx: &FitContext,
) -> Result<()> {
    match truth {
        Truth::Classes(y) => est.fit(x, y, ctx),
        Truth::Values(y) => est.fit_regression(x, y, ctx),
    }
}

/// Fits one group on one inner training set: one model per configuration of the group.
fn fit_group(
    base: &dyn Estimator,
    group: &Group,
    x: &Features,
    truth: Truth,
    ctx: &FitContext,
) -> Result<Vec<Box<dyn Estimator>>> {
    let mut est = base.for_inner_fit();
    for (name, value) in &group.values {
        est.set_param(name, value)?;
    }
    let Some((name, values)) = &group.path else {
        fit_truth(est.as_mut(), x, truth, ctx)?;
        return Ok(vec![est]);
    };
    let path = match truth {
        Truth::Classes(y) => est.fit_path(x, y, ctx, name, values),
        Truth::Values(y) => est.fit_regression_path(x, y, ctx, name, values),
    };
    if let Some(models) = path {
        return models;
    }
    values
        .iter()
        .map(|v| {
            let mut e = est.clone_box();
            e.set_param(name, v)?;
            fit_truth(e.as_mut(), x, truth, ctx)?;
            Ok(e)
        })
        .collect()
}

/// Rows `0..n` not in the sorted `rows`.
fn complement(rows: &[usize], n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n - rows.len());
    let mut it = rows.iter().peekable();
    for r in 0..n {
        if it.peek() == Some(&&r) {
            it.next();
        } else {
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_disjoint_and_cover_every_row() {
        let y: Vec<u32> = (0..90)
            .map(|i| if i < 60 { 0 } else { 1 + (i % 2) })
            .collect();
        let folds = stratified_folds(&y, 3, 3, 1);
        assert_eq!(folds.len(), 3);
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..90).collect::<Vec<_>>());
        for f in &folds {
            let zeros = f.iter().filter(|&&r| y[r] == 0).count();
            assert_eq!(zeros, 20, "class 0 split evenly");
        }
        assert_eq!(folds, stratified_folds(&y, 3, 3, 1));
        assert!(stratified_folds(&y[..10], 3, 3, 1).is_empty());
        assert_eq!(complement(&[1, 3], 5), vec![0, 2, 4]);
    }
}
