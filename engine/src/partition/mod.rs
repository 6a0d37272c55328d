//! Row partitioning: a stratified holdout plus stratified k-fold cross-validation, optionally
//! keeping every group (e.g. every artist) inside a single fold.
//!
//! The default matches DataRobot: 20% holdout, 5 folds on the remaining rows, both stratified
//! by class. Every random choice comes from a `ChaCha8Rng` seeded with the given seed, so the
//! same labels, groups and seed always give the same partition.
//!
//! * **Without groups**: rows are shuffled within each class and laid out class after class;
//!   walking that order, a systematic sample of `holdout_pct` of the rows goes to the holdout and
//!   the rest are dealt to folds in turn. Every class is split between holdout and folds (and
//!   between folds) to within one row of its share, and fold sizes differ by at most one.
//! * **With groups** (stratified group k-fold, the idea of scikit-learn's
//!   `StratifiedGroupKFold`): the holdout and the folds are "bins" with target shares
//!   (`holdout_pct`, then `(1 - holdout_pct) / k` each). Groups are visited largest first (ties
//!   in a seeded shuffled order) and each goes, whole, to the bin that keeps the class
//!   distributions closest to the global one: the bin minimising the mean over classes of the
//!   standard deviation, across bins, of `count[bin][class] / (share[bin] × count[class])`.
//!   Ties go to the bin that is least full relative to its share. A group is therefore never in
//!   two folds, nor in both the holdout and a fold.
//!
//! **Rare classes.** A class with fewer rows than folds cannot appear in every validation fold,
//! which makes per-fold scores inconsistent; like DataRobot (which refuses classes below a
//! minimum size) this is an error naming the class and its count. With groups, a class whose rows
//! sit in fewer groups than there are folds is allowed but recorded in [`Partition::warnings`].

pub mod fold_file;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Marker in [`Partition::folds`] for a holdout row.
pub const HOLDOUT: u8 = u8::MAX;

/// The largest number of folds supported.
pub const MAX_FOLDS: usize = 100;

/// Everything that can make partitioning impossible.
#[derive(Debug, Error, PartialEq)]
pub enum PartitionError {
    /// The fold count is outside `2..=MAX_FOLDS`.
    #[error("number of folds must be between 2 and {MAX_FOLDS}, got {0}")]
    BadFoldCount(usize),
    /// The holdout share is outside `[0, 50]` percent.
    #[error("holdout percentage must be between 0 and 50, got {0}")]
    BadHoldoutPct(f64),
    /// Too few rows for the folds (and holdout).
    #[error("{rows} rows are too few for {needed} partitions (folds plus holdout)")]
    TooFewRows { rows: usize, needed: usize },
    /// Too few distinct groups for the folds (and holdout).
    #[error(
        "group column '{column}' has {groups} distinct groups, too few for {needed} partitions (folds plus holdout)"
    )]
    TooFewGroups {
        column: String,
        groups: usize,
        needed: usize,
    },
    /// A class too small to appear in every fold.
    #[error(
        "class '{class}' has only {count} {rows}, fewer than the {folds} folds; every class needs at least one row per fold (drop or merge the class, or use fewer folds)",
        rows = if *.count == 1 { "row" } else { "rows" }
    )]
    RareClass {
        class: String,
        count: usize,
        folds: usize,
    },
    /// A class left with too few rows for the folds once the holdout took its share.
    #[error(
        "class '{class}' has only {count} {rows} outside the {holdout_pct}% holdout, fewer than the {folds} folds; every class needs at least one row per fold (use fewer folds or a smaller --holdout-pct, or drop or merge the class)",
        rows = if *.count == 1 { "row" } else { "rows" }
    )]
    RareClassAfterHoldout {
        class: String,
        count: usize,
        folds: usize,
        holdout_pct: f64,
    },
    /// Inputs of different lengths or labels out of range.
    #[error("invalid partition input: {0}")]
    InvalidInput(String),
    /// A fold ended up with no rows.
    #[error("fold {0} is empty")]
    EmptyFold(usize),
}

/// How to partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionSpec {
    /// Number of cross-validation folds.
    pub k: usize,
    /// Percentage of rows (0–50) kept aside as the holdout.
    pub holdout_pct: f64,
    /// Seed for the shuffles.
    pub seed: u64,
}

impl Default for PartitionSpec {
    fn default() -> Self {
        Self {
            k: 5,
            holdout_pct: 20.0,
            seed: 0,
        }
    }
}

/// Which rows are holdout and which fold every other row validates in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    /// Row indices of the holdout, ascending.
    pub holdout: Vec<usize>,
    /// Per row: the fold (`0..k`) in which it is a validation row, or [`HOLDOUT`].
    pub folds: Vec<u8>,
    /// Number of folds.
    pub k: usize,
    /// Seed used (0 for imported folds).
    pub seed: u64,
    /// Holdout percentage requested (0 for imported folds).
    pub holdout_pct: f64,
    /// The column whose groups never straddle folds, if any.
    pub group_column: Option<String>,
    /// Non-fatal issues noticed while partitioning (rare classes, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The file the fold ids were imported from (`--folds-from`), if any.
    #[serde(default)]
    pub imported_from: Option<String>,
}

/// Dense group ids (first appearance order) for a column's values. Every missing value gets a
/// group of its own, so rows with no group are free to go anywhere.
pub fn group_ids(values: &[Option<String>]) -> Vec<usize> {
    let mut ids = std::collections::BTreeMap::<&str, usize>::new();
    let mut next = 0usize;
    values
        .iter()
        .map(|v| match v {
            Some(s) => *ids.entry(s.as_str()).or_insert_with(|| {
                next += 1;
                next - 1
            }),
            None => {
                next += 1;
                next - 1
            }
        })
        .collect()
}

impl Partition {
    /// Stratified holdout + k-fold partition of rows with `labels` (`0..classes.len()`).
    /// `classes` names the labels (for error messages).
    pub fn stratified(
        labels: &[u32],
        classes: &[String],
        spec: &PartitionSpec,
    ) -> Result<Partition, PartitionError> {
        check_spec(spec)?;
        let counts = class_counts(labels, classes.len())?;
        let bins = spec.k + usize::from(spec.holdout_pct > 0.0);
        if labels.len() < bins {
            return Err(PartitionError::TooFewRows {
                rows: labels.len(),
                needed: bins,
            });
        }
        check_rare_classes(&counts, classes, spec.k)?;

        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let mut order: Vec<usize> = Vec::with_capacity(labels.len());
        for c in 0..classes.len() {
            let mut rows: Vec<usize> = (0..labels.len())
                .filter(|&r| labels[r] as usize == c)
                .collect();
            rows.shuffle(&mut rng);
            order.extend(rows);
        }
        let frac = spec.holdout_pct / 100.0;
        let offset: f64 = rand::Rng::random::<f64>(&mut rng);
        let fold_offset = rand::Rng::random_range(&mut rng, 0..spec.k);
        let mut folds = vec![0u8; labels.len()];
        let mut dealt = 0usize;
        for (i, &row) in order.iter().enumerate() {
            // Systematic sampling: row i is holdout when the running share crosses an integer.
            let before = (i as f64 * frac + offset).floor();
            let after = ((i + 1) as f64 * frac + offset).floor();
            if frac > 0.0 && after > before {
                folds[row] = HOLDOUT;
            } else {
                folds[row] = ((dealt + fold_offset) % spec.k) as u8;
                dealt += 1;
            }
        }
        // Each class's rows are dealt to consecutive folds: with at least k of them left after
        // the holdout, every fold validates every class.
        let mut kept = vec![0usize; classes.len()];
        for (&y, &f) in labels.iter().zip(&folds) {
            kept[y as usize] += usize::from(f != HOLDOUT);
        }
        if let Some(c) = (0..classes.len()).find(|&c| counts[c] > 0 && kept[c] < spec.k) {
            return Err(PartitionError::RareClassAfterHoldout {
                class: classes[c].clone(),
                count: kept[c],
                folds: spec.k,
                holdout_pct: spec.holdout_pct,
            });
        }
        Self::from_assignment(folds, spec.k, spec.seed, spec.holdout_pct, None, Vec::new())
    }

    /// Stratified group partition: rows sharing a group id (see [`group_ids`]) always land in
    /// the same fold, or all in the holdout. `group_column` names the column for messages.
    pub fn grouped(
        labels: &[u32],
        classes: &[String],
        groups: &[usize],
        group_column: &str,
        spec: &PartitionSpec,
    ) -> Result<Partition, PartitionError> {
        check_spec(spec)?;
        let n_classes = classes.len();
        let counts = class_counts(labels, n_classes)?;
        if groups.len() != labels.len() {
            return Err(PartitionError::InvalidInput(format!(
                "{} labels but {} group values",
                labels.len(),
                groups.len()
            )));
        }
        let has_holdout = spec.holdout_pct > 0.0;
        let n_bins = spec.k + usize::from(has_holdout);
        if labels.len() < n_bins {
            return Err(PartitionError::TooFewRows {
                rows: labels.len(),
                needed: n_bins,
            });
        }
        check_rare_classes(&counts, classes, spec.k)?;

        // Per-group class counts, with groups renumbered densely.
        let n_groups = groups.iter().copied().max().map_or(0, |m| m + 1);
        let mut group_counts = vec![vec![0usize; n_classes]; n_groups];
        for (&g, &y) in groups.iter().zip(labels) {
            group_counts[g][y as usize] += 1;
        }
        let used: Vec<usize> = (0..n_groups)
            .filter(|&g| group_counts[g].iter().any(|&c| c > 0))
            .collect();
        if used.len() < n_bins {
            return Err(PartitionError::TooFewGroups {
                column: group_column.to_string(),
                groups: used.len(),
                needed: n_bins,
            });
        }

        let mut warnings = Vec::new();
        for (c, name) in classes.iter().enumerate() {
            let spread = used.iter().filter(|&&g| group_counts[g][c] > 0).count();
            if spread > 0 && spread < spec.k {
                warnings.push(format!(
                    "class '{name}' occurs in only {spread} groups of '{group_column}', fewer than the {} folds; some folds will not validate it",
                    spec.k
                ));
            }
        }

        // Bin shares: folds first, then the holdout as the last bin.
        let frac = spec.holdout_pct / 100.0;
        let mut shares = vec![(1.0 - frac) / spec.k as f64; spec.k];
        if has_holdout {
            shares.push(frac);
        }

        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let mut order = used;
        order.shuffle(&mut rng);
        let size = |g: usize| group_counts[g].iter().sum::<usize>();
        order.sort_by_key(|&g| std::cmp::Reverse(size(g))); // stable: ties keep the shuffle

        let totals: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        let mut bin_counts = vec![vec![0usize; n_classes]; n_bins];
        let mut bin_sizes = vec![0usize; n_bins];
        let mut group_bin = vec![0usize; n_groups];
        for (placed, &g) in order.iter().enumerate() {
            // With as many groups left as empty bins, each goes to an empty bin: no fold is
            // left without rows (a placement that fills every bin anyway is unchanged).
            let empty = bin_sizes.iter().filter(|&&s| s == 0).count();
            let only_empty = order.len() - placed <= empty;
            let mut best: Option<(f64, f64, usize)> = None;
            for b in (0..n_bins).filter(|&b| !only_empty || bin_sizes[b] == 0) {
                let cost = imbalance(&bin_counts, &shares, &totals, b, &group_counts[g]);
                let fill = bin_sizes[b] as f64 / shares[b];
                let better = match best {
                    None => true,
                    Some((bc, bf, _)) => {
                        cost < bc - 1e-12 || ((cost - bc).abs() <= 1e-12 && fill < bf)
                    }
                };
                if better {
                    best = Some((cost, fill, b));
                }
            }
            let b = best.map_or(0, |(_, _, b)| b);
            for c in 0..n_classes {
                bin_counts[b][c] += group_counts[g][c];
            }
            bin_sizes[b] += size(g);
            group_bin[g] = b;
        }

        let folds: Vec<u8> = groups
            .iter()
            .map(|&g| {
                if group_bin[g] == spec.k {
                    HOLDOUT
                } else {
                    group_bin[g] as u8
                }
            })
            .collect();
        Self::from_assignment(
            folds,
            spec.k,
            spec.seed,
            spec.holdout_pct,
            Some(group_column.to_string()),
            warnings,
        )
    }

    /// Imports externally computed fold ids, one per row: `0..k` for cross-validation rows,
    /// any negative value for holdout rows. `k` is the largest id + 1; every fold must be used.
    pub fn from_fold_ids(ids: Vec<i32>) -> Result<Partition, PartitionError> {
        let max = ids.iter().copied().max().unwrap_or(-1);
        if max < 1 {
            return Err(PartitionError::BadFoldCount((max + 1).max(0) as usize));
        }
        let k = max as usize + 1;
        if k > MAX_FOLDS {
            return Err(PartitionError::BadFoldCount(k));
        }
        let folds: Vec<u8> = ids
            .iter()
            .map(|&i| if i < 0 { HOLDOUT } else { i as u8 })
            .collect();
        Self::from_assignment(folds, k, 0, 0.0, None, Vec::new())
    }

    fn from_assignment(
        folds: Vec<u8>,
        k: usize,
        seed: u64,
        holdout_pct: f64,
        group_column: Option<String>,
        warnings: Vec<String>,
    ) -> Result<Partition, PartitionError> {
        let holdout = (0..folds.len()).filter(|&r| folds[r] == HOLDOUT).collect();
        let p = Partition {
            holdout,
            folds,
            k,
            seed,
            holdout_pct,
            group_column,
            warnings,
            imported_from: None,
        };
        p.validate()?;
        Ok(p)
    }

    /// Checks internal consistency (fold ids in range, every fold used, `holdout` agrees with
    /// `folds`). Run after loading a partition from disk.
    pub fn validate(&self) -> Result<(), PartitionError> {
        if self.k < 2 || self.k > MAX_FOLDS {
            return Err(PartitionError::BadFoldCount(self.k));
        }
        let mut sizes = vec![0usize; self.k];
        for (r, &f) in self.folds.iter().enumerate() {
            if f == HOLDOUT {
                continue;
            }
            match sizes.get_mut(f as usize) {
                Some(s) => *s += 1,
                None => {
                    return Err(PartitionError::InvalidInput(format!(
                        "row {r} has fold {f}, outside 0..{}",
                        self.k
                    )));
                }
            }
        }
        if let Some(f) = sizes.iter().position(|&s| s == 0) {
            return Err(PartitionError::EmptyFold(f));
        }
        let expected: Vec<usize> = (0..self.folds.len())
            .filter(|&r| self.folds[r] == HOLDOUT)
            .collect();
        if expected != self.holdout {
            return Err(PartitionError::InvalidInput(
                "holdout rows disagree with fold ids".into(),
            ));
        }
        Ok(())
    }

    /// Number of rows partitioned.
    pub fn n_rows(&self) -> usize {
        self.folds.len()
    }

    /// Rows used to train the model validated on `fold`: every cross-validation row not in it.
    pub fn train_rows(&self, fold: usize) -> Vec<usize> {
        (0..self.folds.len())
            .filter(|&r| self.folds[r] != HOLDOUT && self.folds[r] as usize != fold)
            .collect()
    }

    /// Validation rows of `fold`.
    pub fn valid_rows(&self, fold: usize) -> Vec<usize> {
        (0..self.folds.len())
            .filter(|&r| self.folds[r] as usize == fold && self.folds[r] != HOLDOUT)
            .collect()
    }

    /// Every cross-validation row (all rows not in the holdout).
    pub fn cv_rows(&self) -> Vec<usize> {
        (0..self.folds.len())
            .filter(|&r| self.folds[r] != HOLDOUT)
            .collect()
    }

    /// The holdout rows (empty when there is no holdout).
    pub fn holdout_rows(&self) -> &[usize] {
        &self.holdout
    }

    /// The fold of `row`, or `None` for a holdout row.
    pub fn fold_of(&self, row: usize) -> Option<usize> {
        self.folds
            .get(row)
            .filter(|&&f| f != HOLDOUT)
            .map(|&f| f as usize)
    }

    /// Number of validation rows in each fold.
    pub fn fold_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0usize; self.k];
        for &f in &self.folds {
            if let Some(s) = sizes.get_mut(f as usize) {
                *s += 1;
            }
        }
        sizes
    }
}

fn check_spec(spec: &PartitionSpec) -> Result<(), PartitionError> {
    if spec.k < 2 || spec.k > MAX_FOLDS {
        return Err(PartitionError::BadFoldCount(spec.k));
    }
    if !(0.0..=50.0).contains(&spec.holdout_pct) {
        return Err(PartitionError::BadHoldoutPct(spec.holdout_pct));
    }
    Ok(())
}

fn class_counts(labels: &[u32], n_classes: usize) -> Result<Vec<usize>, PartitionError> {
    let mut counts = vec![0usize; n_classes];
    for (r, &y) in labels.iter().enumerate() {
        match counts.get_mut(y as usize) {
            Some(c) => *c += 1,
            None => {
                return Err(PartitionError::InvalidInput(format!(
                    "label {y} at row {r} is outside 0..{n_classes}"
                )));
            }
        }
    }
    Ok(counts)
}

fn check_rare_classes(
    counts: &[usize],
    classes: &[String],
    k: usize,
) -> Result<(), PartitionError> {
    // Classes with zero rows are ignored: they simply do not occur in this data.
    if let Some((c, &n)) = counts.iter().enumerate().find(|&(_, &n)| n > 0 && n < k) {
        return Err(PartitionError::RareClass {
            class: classes[c].clone(),
            count: n,
            folds: k,
        });
    }
    Ok(())
}

/// Mean over classes of the std across bins of `count / (share × class total)`, as if `add`
/// (a group's class counts) were placed in bin `target`.
fn imbalance(
    bins: &[Vec<usize>],
    shares: &[f64],
    totals: &[f64],
    target: usize,
    add: &[usize],
) -> f64 {
    let n_bins = bins.len() as f64;
    let mut sum_std = 0.0;
    let mut used = 0usize;
    for (c, &total) in totals.iter().enumerate() {
        if total == 0.0 {
            continue;
        }
        let rel = |b: usize| {
            let extra = if b == target { add[c] } else { 0 };
            (bins[b][c] + extra) as f64 / (shares[b] * total)
        };
        let mean = (0..bins.len()).map(rel).sum::<f64>() / n_bins;
        let var = (0..bins.len())
            .map(|b| (rel(b) - mean).powi(2))
            .sum::<f64>()
            / n_bins;
        sum_std += var.sqrt();
        used += 1;
    }
    if used == 0 {
        0.0
    } else {
        sum_std / used as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|c| format!("class{c}")).collect()
    }

    /// Labels with uneven class sizes (40%, 30%, 20%, 10%) and groups of 1–12 rows whose
    /// members mostly share a class (like an artist's albums sharing a genre).
    fn generated(n_rows: usize, seed: u64) -> (Vec<u32>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut labels = Vec::new();
        let mut groups = Vec::new();
        let mut g = 0usize;
        while labels.len() < n_rows {
            let u: f64 = rng.random();
            let class = if u < 0.4 {
                0
            } else if u < 0.7 {
                1
            } else if u < 0.9 {
                2
            } else {
                3
            };
            let size = rng.random_range(1..=12usize);
            for _ in 0..size.min(n_rows - labels.len()) {
                let y = if rng.random::<f64>() < 0.9 {
                    class
                } else {
                    rng.random_range(0..4u32)
                };
                labels.push(y);
                groups.push(g);
            }
            g += 1;
        }
        (labels, groups)
    }

    fn proportions(labels: &[u32], rows: &[usize], n: usize) -> Vec<f64> {
        let mut c = vec![0.0; n];
        for &r in rows {
            c[labels[r] as usize] += 1.0;
        }
        c.iter().map(|v| v / rows.len() as f64).collect()
    }

    #[test]
    fn stratified_sizes_and_proportions() {
        let (labels, _) = generated(2000, 1);
        let p = Partition::stratified(&labels, &names(4), &PartitionSpec::default()).unwrap();
        assert_eq!(p.n_rows(), 2000);
        let ho = p.holdout_rows().len() as f64 / 2000.0;
        assert!((ho - 0.2).abs() < 0.005, "holdout share {ho}");
        let sizes = p.fold_sizes();
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
        let all: Vec<usize> = (0..2000).collect();
        let global = proportions(&labels, &all, 4);
        for f in 0..5 {
            let prop = proportions(&labels, &p.valid_rows(f), 4);
            for c in 0..4 {
                assert!(
                    (prop[c] - global[c]).abs() < 0.01,
                    "fold {f} class {c}: {prop:?} vs {global:?}"
                );
            }
            // Train and validation rows are disjoint and cover the CV rows.
            let (t, v) = (p.train_rows(f), p.valid_rows(f));
            assert_eq!(t.len() + v.len(), p.cv_rows().len());
            assert!(v.iter().all(|r| !t.contains(r)));
        }
        let hp = proportions(&labels, p.holdout_rows(), 4);
        for c in 0..4 {
            assert!(
                (hp[c] - global[c]).abs() < 0.01,
                "holdout class {c}: {hp:?}"
            );
        }
    }

    /// Eight equal groups, sorted by target stratum, into five folds and a holdout: every bin
    /// gets a group (the greedy placement once left a fold empty).
    #[test]
    fn few_groups_fill_every_fold() {
        let groups: Vec<usize> = (0..40).map(|i| i / 5).collect();
        let labels: Vec<u32> = (0..40).map(|i| (i * 5 / 40) as u32).collect();
        let p = Partition::grouped(&labels, &names(5), &groups, "g", &PartitionSpec::default())
            .unwrap();
        assert!(
            p.fold_sizes().iter().all(|&s| s > 0),
            "{:?}",
            p.fold_sizes()
        );
        assert!(!p.holdout_rows().is_empty());
    }

    #[test]
    fn grouped_folds_never_share_a_group() {
        let (labels, groups) = generated(1500, 2);
        let p = Partition::grouped(
            &labels,
            &names(4),
            &groups,
            "artist",
            &PartitionSpec::default(),
        )
        .unwrap();
        let n_groups = groups.iter().max().unwrap() + 1;
        let mut seen: Vec<Option<u8>> = vec![None; n_groups];
        for (r, &g) in groups.iter().enumerate() {
            match seen[g] {
                None => seen[g] = Some(p.folds[r]),
                Some(f) => assert_eq!(
                    f, p.folds[r],
                    "group {g} straddles partitions {f} and {}",
                    p.folds[r]
                ),
            }
        }
        // Sizes: holdout ≈ 20%, folds ≈ 16% each.
        let ho = p.holdout_rows().len() as f64 / 1500.0;
        assert!((ho - 0.2).abs() < 0.03, "holdout share {ho}");
        for s in p.fold_sizes() {
            let share = s as f64 / 1500.0;
            assert!((share - 0.16).abs() < 0.03, "fold share {share}");
        }
        // Class proportions per fold near the global ones.
        let all: Vec<usize> = (0..1500).collect();
        let global = proportions(&labels, &all, 4);
        for f in 0..5 {
            let prop = proportions(&labels, &p.valid_rows(f), 4);
            for c in 0..4 {
                assert!(
                    (prop[c] - global[c]).abs() < 0.05,
                    "fold {f} class {c}: {prop:?} vs {global:?}"
                );
            }
        }
        assert_eq!(p.group_column.as_deref(), Some("artist"));
    }

    #[test]
    fn same_seed_same_partition_different_seed_different() {
        let (labels, groups) = generated(800, 3);
        let spec = PartitionSpec {
            seed: 7,
            ..Default::default()
        };
        let a = Partition::grouped(&labels, &names(4), &groups, "g", &spec).unwrap();
        let b = Partition::grouped(&labels, &names(4), &groups, "g", &spec).unwrap();
        assert_eq!(a, b);
        let c = Partition::grouped(
            &labels,
            &names(4),
            &groups,
            "g",
            &PartitionSpec {
                seed: 8,
                ..spec.clone()
            },
        )
        .unwrap();
        assert_ne!(a.folds, c.folds);
        let s1 = Partition::stratified(&labels, &names(4), &spec).unwrap();
        let s2 = Partition::stratified(&labels, &names(4), &spec).unwrap();
        let s3 =
            Partition::stratified(&labels, &names(4), &PartitionSpec { seed: 9, ..spec }).unwrap();
        assert_eq!(s1, s2);
        assert_ne!(s1.folds, s3.folds);
    }

    #[test]
    fn errors_instead_of_panics() {
        let cls = names(2);
        let spec = PartitionSpec::default();
        assert_eq!(
            Partition::stratified(&[0, 1, 0], &cls, &spec).unwrap_err(),
            PartitionError::TooFewRows { rows: 3, needed: 6 }
        );
        // Class 1 has 3 rows < 5 folds: the message names it and its count.
        let mut labels = vec![0u32; 50];
        labels.extend([1, 1, 1]);
        let e = Partition::stratified(&labels, &cls, &spec).unwrap_err();
        assert!(e.to_string().contains("'class1' has only 3 rows"), "{e}");
        // 10 rows a class pass the count for 10 folds, but a 20% holdout leaves 8: refused,
        // rather than folds that never see a class (no per-fold AUC, no CV score).
        let ten_each: Vec<u32> = (0..20).map(|i| i % 2).collect();
        let ten_folds = PartitionSpec {
            k: 10,
            holdout_pct: 20.0,
            ..spec.clone()
        };
        let e = Partition::stratified(&ten_each, &cls, &ten_folds).unwrap_err();
        assert!(
            matches!(
                e,
                PartitionError::RareClassAfterHoldout {
                    count: 8,
                    folds: 10,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("outside the 20% holdout"), "{e}");
        // With 4 folds every fold validates both classes.
        let p =
            Partition::stratified(&ten_each, &cls, &PartitionSpec { k: 4, ..ten_folds }).unwrap();
        for f in 0..4u8 {
            for c in 0..2u32 {
                assert!((0..20).any(|r| p.folds[r] == f && ten_each[r] == c));
            }
        }
        // Too few groups.
        let labels: Vec<u32> = (0..40).map(|i| i % 2).collect();
        let groups: Vec<usize> = (0..40).map(|i| i % 4).collect();
        let e = Partition::grouped(&labels, &cls, &groups, "artist", &spec).unwrap_err();
        assert!(
            matches!(
                e,
                PartitionError::TooFewGroups {
                    groups: 4,
                    needed: 6,
                    ..
                }
            ),
            "{e}"
        );
        assert!(Partition::stratified(&[0, 7], &cls, &spec).is_err());
        assert!(
            Partition::stratified(
                &labels,
                &cls,
                &PartitionSpec {
                    k: 1,
                    ..spec.clone()
                }
            )
            .is_err()
        );
        assert!(
            Partition::stratified(
                &labels,
                &cls,
                &PartitionSpec {
                    holdout_pct: 80.0,
                    ..spec
                }
            )
            .is_err()
        );
    }

    #[test]
    fn no_holdout_when_pct_is_zero() {
        let (labels, groups) = generated(300, 4);
        let spec = PartitionSpec {
            holdout_pct: 0.0,
            ..Default::default()
        };
        let p = Partition::grouped(&labels, &names(4), &groups, "g", &spec).unwrap();
        assert!(p.holdout_rows().is_empty());
        assert_eq!(p.cv_rows().len(), 300);
        let p = Partition::stratified(&labels, &names(4), &spec).unwrap();
        assert!(p.holdout_rows().is_empty());
    }

    #[test]
    fn imports_external_fold_ids() {
        let p = Partition::from_fold_ids(vec![0, 1, 2, 1, 0, 2, -1]).unwrap();
        assert_eq!(p.k, 3);
        assert_eq!(p.valid_rows(1), vec![1, 3]);
        assert_eq!(p.train_rows(1), vec![0, 2, 4, 5]);
        assert_eq!(p.holdout_rows(), &[6]);
        assert_eq!(p.fold_of(6), None);
        assert_eq!(
            Partition::from_fold_ids(vec![0, 2, 2]).unwrap_err(),
            PartitionError::EmptyFold(1)
        );
        assert!(Partition::from_fold_ids(vec![0, 0]).is_err());
        assert!(Partition::from_fold_ids(vec![]).is_err());
    }

    #[test]
    fn group_ids_are_dense_and_missing_values_are_singletons() {
        let v = vec![
            Some("b".to_string()),
            None,
            Some("a".to_string()),
            Some("b".to_string()),
            None,
        ];
        assert_eq!(group_ids(&v), vec![0, 1, 2, 0, 3]);
    }
}
