//! Feature Impact: permutation importance of each **input column** (an image column, a text
//! column, a number, a category ...), as in DataRobot.
//!
//! For each input column, its values are shuffled across the validation rows and the rows are
//! featurized again through the model's fitted pipeline; the drop in the task's metric (balanced
//! accuracy, AUC for a binary target, RMSE for regression — a rise in error counts as a drop) is
//! the column's impact. Every block of the pipeline encodes a row from that row's own value only
//! (TF-IDF with the fitted vocabulary and IDF, the one-hot, numeric and date encoders, the cached
//! image vectors), so shuffling a column's raw values is *the same* as shuffling the rows of the
//! feature columns that column produced. That is what is done: the validation rows are featurized
//! once and only the column's slice of the feature matrix is permuted, which makes image columns
//! (whose features come from the cache) as cheap as numbers.
//!
//! **Validation data**: out-of-fold. [`permutation_impact_cv`] scores each fold's fitted model on
//! that fold's validation rows (rows are shuffled within their fold), and the predictions of all
//! folds are pooled before the metric is computed, so the baseline is the model's
//! cross-validated out-of-fold score. At most [`FeatureImpactOptions::max_rows`] rows are used
//! (a seeded sample, 2,500 by default as in DataRobot). The holdout is never touched.
//!
//! Each column is shuffled [`FeatureImpactOptions::repeats`] times (seeded); the impact is the mean
//! drop and the spread its standard deviation over the repeats. Impacts are normalized so that the
//! top column is 1 (a column whose shuffling *improves* the score gets a negative impact).

use std::ops::Range;

use blueprints::Features;
use blueprints::metrics::Metric;
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sprs::CsMat;

use super::{FittedBlock, Model, Pipeline};
use crate::dataset::{Target, TargetRows};
use crate::features::FeatureInputs;
use crate::partition::Partition;
use blueprints::metrics::fmt_score;

/// Settings of a Feature Impact computation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImpactOptions {
    /// How many times each column is shuffled (at least 1).
    pub repeats: usize,
    /// Seed of the row sample and of every shuffle.
    pub seed: u64,
    /// Use at most this many validation rows in all (a seeded sample); `None` = all.
    pub max_rows: Option<usize>,
}

impl Default for FeatureImpactOptions {
    fn default() -> Self {
        Self {
            repeats: 5,
            seed: 0,
            max_rows: Some(2_500),
        }
    }
}

/// The impact of one input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnImpact {
    /// The input column.
    pub column: String,
    /// Its kind (`image`, `text`, `numeric`, `categorical`, `date`).
    pub kind: String,
    /// Mean drop of balanced accuracy when the column is shuffled.
    pub drop_mean: f64,
    /// Standard deviation of the drop over the repeats.
    pub drop_std: f64,
    /// `drop_mean` divided by the largest `drop_mean` (the top column is 1).
    pub impact: f64,
    /// `drop_std` on the same scale as `impact`.
    pub impact_std: f64,
}

/// Feature Impact of a model: one entry per input column, most important first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImpact {
    /// The metric whose drop is measured (the task's: balanced accuracy, AUC or RMSE).
    pub metric: String,
    /// The unshuffled score on the rows used.
    pub baseline: f64,
    /// Number of validation rows used.
    pub n_rows: usize,
    /// Shuffles per column.
    pub repeats: usize,
    /// Seed used.
    pub seed: u64,
    /// Columns sorted by impact, highest first (ties by name).
    pub columns: Vec<ColumnImpact>,
}

impl FeatureImpact {
    /// The columns whose impacts add up to `share` (e.g. 0.95) of the total positive impact,
    /// most important first, at most `max_columns` and at least one: a "Reduced" feature list.
    /// Columns with zero or negative impact are never included.
    pub fn reduced(&self, share: f64, max_columns: usize) -> Vec<String> {
        let positive: Vec<&ColumnImpact> =
            self.columns.iter().filter(|c| c.drop_mean > 0.0).collect();
        let total: f64 = positive.iter().map(|c| c.drop_mean).sum();
        let mut out = Vec::new();
        let mut acc = 0.0;
        for c in positive {
            if out.len() >= max_columns.max(1) || (acc >= share * total && !out.is_empty()) {
                break;
            }
            acc += c.drop_mean;
            out.push(c.column.clone());
        }
        out
    }

    /// The impact of `column`, if it is one of the model's inputs.
    pub fn get(&self, column: &str) -> Option<&ColumnImpact> {
        self.columns.iter().find(|c| c.column == column)
    }

    /// A text table: rank, column, kind, normalized impact ± spread, raw drop.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Feature Impact (permutation, {} repeats, {} out-of-fold rows; baseline {} {})",
            self.repeats,
            self.n_rows,
            self.metric,
            fmt_score(self.baseline)
        );
        let _ = writeln!(
            s,
            "  {:>4}  {:<32} {:<12} {:>16} {:>18}",
            "rank", "column", "kind", "impact ± spread", "drop ± std"
        );
        for (i, c) in self.columns.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {:>4}  {:<32} {:<12} {:>7.3} ± {:<6.3} {:>8.4} ± {:<7.4}",
                i + 1,
                c.column,
                c.kind,
                c.impact,
                c.impact_std,
                c.drop_mean,
                c.drop_std
            );
        }
        s
    }
}

/// A fitted model and the rows it is validated on (rows it was not trained on).
#[derive(Debug, Clone, Copy)]
pub struct ValidationSet<'a> {
    /// The fitted model.
    pub model: &'a Model,
    /// Its validation rows (indices into the dataset).
    pub rows: &'a [usize],
}

/// Where each input column's features sit in a pipeline's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ColumnSlices {
    /// Ranges in the dense block.
    pub dense: Vec<Range<usize>>,
    /// Ranges in the sparse block.
    pub sparse: Vec<Range<usize>>,
}

/// The input columns of `pipeline`, in block order, with the ranges of their output columns
/// (dense blocks first, then sparse blocks, as [`Pipeline::transform`] lays them out).
pub(crate) fn column_slices(
    pipeline: &Pipeline,
    inputs: &FeatureInputs,
) -> anyhow::Result<Vec<(String, ColumnSlices)>> {
    let mut out: Vec<(String, ColumnSlices)> = Vec::new();
    let (mut dense_at, mut sparse_at) = (0usize, 0usize);
    for block in &pipeline.blocks {
        let (column, dense_width, sparse_width) = match block {
            FittedBlock::Numeric(e) => (e.column.clone(), e.names().len(), 0),
            FittedBlock::Date(e) => (e.column.clone(), e.names().len(), 0),
            FittedBlock::Image(_) | FittedBlock::TextEmbedding(_) => {
                let key = block.learned_key().expect("a learned block has a key");
                let width = inputs.get(&key)?.features.ncols();
                (key.column().to_string(), width, 0)
            }
            FittedBlock::Categorical(e) => (e.column.clone(), 0, e.width()),
            FittedBlock::Text {
                column,
                vectorizers,
            } => (
                column.clone(),
                0,
                vectorizers.iter().map(|v| v.n_features()).sum(),
            ),
        };
        let idx = match out.iter().position(|(c, _)| *c == column) {
            Some(i) => i,
            None => {
                out.push((column, ColumnSlices::default()));
                out.len() - 1
            }
        };
        if dense_width > 0 {
            out[idx].1.dense.push(dense_at..dense_at + dense_width);
            dense_at += dense_width;
        }
        if sparse_width > 0 {
            out[idx].1.sparse.push(sparse_at..sparse_at + sparse_width);
            sparse_at += sparse_width;
        }
    }
    Ok(out)
}

fn in_ranges(c: usize, ranges: &[Range<usize>]) -> bool {
    ranges.iter().any(|r| r.contains(&c))
}

/// A copy of `x` where, for the columns in `slices`, row `i` takes the values of row `perm[i]`.
pub(crate) fn permute_slices(
    x: &Features,
    slices: &ColumnSlices,
    perm: &[usize],
) -> anyhow::Result<Features> {
    let n = x.n_rows();
    if perm.len() != n {
        return Err(anyhow::Error::msg(format!(
            "permutation of {} rows for a matrix of {n} rows",
            perm.len()
        )));
    }
    let dense = match &x.dense {
        Some(d) if !slices.dense.is_empty() => {
            let mut out = d.clone();
            for r in &slices.dense {
                for (i, &p) in perm.iter().enumerate() {
                    for c in r.clone() {
                        out[[i, c]] = d[[p, c]];
                    }
                }
            }
            Some(out)
        }
        other => other.clone(),
    };
    let sparse = match &x.sparse {
        Some(s) if !slices.sparse.is_empty() => {
            let mut indptr = Vec::with_capacity(n + 1);
            let mut indices = Vec::with_capacity(s.nnz());
            let mut data = Vec::with_capacity(s.nnz());
            indptr.push(0usize);
            let mut row: Vec<(usize, f32)> = Vec::new();
            for (i, &p) in perm.iter().enumerate() {
                row.clear();
                if let Some(own) = s.outer_view(i) {
                    row.extend(
                        own.iter()
                            .filter(|(c, _)| !in_ranges(*c, &slices.sparse))
                            .map(|(c, &v)| (c, v)),
                    );
                }
                if let Some(other) = s.outer_view(p) {
                    row.extend(
                        other
                            .iter()
                            .filter(|(c, _)| in_ranges(*c, &slices.sparse))
                            .map(|(c, &v)| (c, v)),
                    );
                }
                row.sort_unstable_by_key(|e| e.0);
                for &(c, v) in &row {
                    indices.push(c);
                    data.push(v);
                }
                indptr.push(indices.len());
            }
            Some(
                CsMat::try_new((n, s.cols()), indptr, indices, data)
                    .map_err(|e| anyhow::Error::msg(format!("permuted sparse block: {}", e.3)))?,
            )
        }
        other => other.clone(),
    };
    Ok(Features {
        dense,
        sparse,
        names: Vec::new(),
    })
}

/// A seed for one (repeat, column, set) triple: SplitMix64 of the mixed values.
fn sub_seed(seed: u64, parts: &[u64]) -> u64 {
    let mut z = seed;
    for &p in parts {
        z = z
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(p.wrapping_mul(0xD1B5_4A32_D192_ED03));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

/// Picks at most `max_rows` rows over all sets, proportionally to their sizes (seeded),
/// keeping each set's rows in ascending order.
fn sample_sets(sets: &[ValidationSet], max_rows: Option<usize>, seed: u64) -> Vec<Vec<usize>> {
    let total: usize = sets.iter().map(|s| s.rows.len()).sum();
    let cap = max_rows.unwrap_or(usize::MAX).max(1);
    sets.iter()
        .enumerate()
        .map(|(i, s)| {
            if total <= cap {
                return s.rows.to_vec();
            }
            let take = ((s.rows.len() as f64 * cap as f64 / total as f64).round() as usize)
                .clamp(1.min(s.rows.len()), s.rows.len());
            let mut rows = s.rows.to_vec();
            let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, &[u64::MAX, i as u64]));
            rows.shuffle(&mut rng);
            rows.truncate(take);
            rows.sort_unstable();
            rows
        })
        .collect()
}

struct PreparedSet<'a> {
    model: &'a Model,
    x: Features,
    slices: Vec<(String, ColumnSlices)>,
}

/// `metric` of the sets' predictions stacked in order, oriented so that higher is better.
fn pooled_score(metric: Metric, y: &TargetRows, parts: &[Array2<f32>]) -> anyhow::Result<f64> {
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let pred = ndarray::concatenate(Axis(0), &views)?;
    Ok(metric.oriented(metric.score_truth(y.truth(), pred.view())?))
}

/// Permutation Feature Impact of the models in `sets`, each on its own validation rows; the
/// predictions of all sets are pooled before scoring (see the module notes). Every model must
/// read the same input columns (they are the folds of one blueprint).
pub fn permutation_impact(
    sets: &[ValidationSet],
    inputs: &FeatureInputs,
    target: &Target,
    options: &FeatureImpactOptions,
) -> anyhow::Result<FeatureImpact> {
    if sets.is_empty() {
        return Err(anyhow::Error::msg(
            "feature impact needs at least one fitted model",
        ));
    }
    let metric = target.task.metric();
    let labels = &target.labels;
    if options.repeats == 0 {
        return Err(anyhow::Error::msg("feature impact needs at least 1 repeat"));
    }
    let rows = sample_sets(sets, options.max_rows, options.seed);
    let n_rows: usize = rows.iter().map(Vec::len).sum();
    if n_rows == 0 {
        return Err(anyhow::Error::msg(
            "feature impact needs validation rows; the model has none",
        ));
    }
    if let Some(&bad) = rows.iter().flatten().find(|&&r| r >= labels.len()) {
        return Err(anyhow::Error::msg(format!(
            "validation row {bad} is out of range ({} labels)",
            labels.len()
        )));
    }
    let all_rows: Vec<usize> = rows.iter().flatten().copied().collect();
    let y = target.rows(&all_rows);
    let mut prepared = Vec::with_capacity(sets.len());
    for (s, r) in sets.iter().zip(&rows) {
        if r.is_empty() {
            continue;
        }
        let x = s.model.pipeline.transform(inputs, r)?;
        let slices = column_slices(&s.model.pipeline, inputs)?;
        prepared.push(PreparedSet {
            model: s.model,
            x,
            slices,
        });
    }
    let columns: Vec<String> = prepared[0].slices.iter().map(|(c, _)| c.clone()).collect();
    for p in &prepared[1..] {
        let other: Vec<&String> = p.slices.iter().map(|(c, _)| c).collect();
        if other.len() != columns.len() || other.iter().zip(&columns).any(|(a, b)| *a != b) {
            return Err(anyhow::Error::msg(
                "feature impact: the fold models read different input columns",
            ));
        }
    }
    let base_pred = prepared
        .iter()
        .map(|p| p.model.predict_features(&p.x))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let baseline = pooled_score(metric, &y, &base_pred)?;

    // One task per (column, repeat): shuffle the column within each set, predict, score.
    let tasks: Vec<(usize, usize)> = (0..columns.len())
        .flat_map(|c| (0..options.repeats).map(move |r| (c, r)))
        .collect();
    let scores: Vec<anyhow::Result<f64>> = tasks
        .par_iter()
        .map(|&(c, r)| {
            let mut pred = Vec::with_capacity(prepared.len());
            for (si, p) in prepared.iter().enumerate() {
                let n = p.x.n_rows();
                let mut perm: Vec<usize> = (0..n).collect();
                let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(
                    options.seed,
                    &[r as u64, c as u64, si as u64],
                ));
                perm.shuffle(&mut rng);
                let xp = permute_slices(&p.x, &p.slices[c].1, &perm)?;
                pred.push(p.model.predict_features(&xp)?);
            }
            pooled_score(metric, &y, &pred)
        })
        .collect();
    let mut impacts = Vec::with_capacity(columns.len());
    for (c, name) in columns.iter().enumerate() {
        let drops: Vec<f64> = scores[c * options.repeats..(c + 1) * options.repeats]
            .iter()
            .map(|s| s.as_ref().map(|s| baseline - s).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
        let mean = drops.iter().sum::<f64>() / drops.len() as f64;
        let var = drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / drops.len() as f64;
        let kind = inputs.dataset.column(name).map_or_else(
            || "unknown".to_string(),
            |col| col.kind.as_str().to_string(),
        );
        impacts.push(ColumnImpact {
            column: name.clone(),
            kind,
            drop_mean: mean,
            drop_std: var.sqrt(),
            impact: 0.0,
            impact_std: 0.0,
        });
    }
    let top = impacts.iter().map(|c| c.drop_mean).fold(0.0f64, f64::max);
    for c in &mut impacts {
        if top > 0.0 {
            c.impact = c.drop_mean / top;
            c.impact_std = c.drop_std / top;
        }
    }
    impacts.sort_by(|a, b| {
        b.drop_mean
            .total_cmp(&a.drop_mean)
            .then_with(|| a.column.cmp(&b.column))
    });
    Ok(FeatureImpact {
        metric: metric.name().into(),
        baseline: metric.oriented(baseline),
        n_rows,
        repeats: options.repeats,
        seed: options.seed,
        columns: impacts,
    })
}

/// Out-of-fold Feature Impact of a cross-validated blueprint: fold `f`'s model (`fold_models[f]`)
/// on fold `f`'s validation rows of `partition`.
pub fn permutation_impact_cv(
    fold_models: &[Model],
    inputs: &FeatureInputs,
    target: &Target,
    partition: &Partition,
    options: &FeatureImpactOptions,
) -> anyhow::Result<FeatureImpact> {
    if fold_models.len() != partition.k {
        return Err(anyhow::Error::msg(format!(
            "{} fold models for a {}-fold partition",
            fold_models.len(),
            partition.k
        )));
    }
    let rows: Vec<Vec<usize>> = (0..partition.k).map(|f| partition.valid_rows(f)).collect();
    let sets: Vec<ValidationSet> = fold_models
        .iter()
        .zip(&rows)
        .map(|(model, rows)| ValidationSet { model, rows })
        .collect();
    permutation_impact(&sets, inputs, target, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use sprs::TriMat;

    #[test]
    fn permuting_a_slice_moves_only_that_slice() {
        let dense = array![
            [1.0f32, 10.0, 100.0],
            [2.0, 20.0, 200.0],
            [3.0, 30.0, 300.0]
        ];
        let mut t = TriMat::new((3, 4));
        // row 0: cols 0, 2; row 1: col 1, 3; row 2: col 2
        t.add_triplet(0, 0, 1.0f32);
        t.add_triplet(0, 2, 2.0);
        t.add_triplet(1, 1, 3.0);
        t.add_triplet(1, 3, 4.0);
        t.add_triplet(2, 2, 5.0);
        let x = Features {
            dense: Some(dense),
            sparse: Some(t.to_csr()),
            names: Vec::new(),
        };
        let slices = ColumnSlices {
            dense: std::iter::once(1..2).collect(),
            sparse: std::iter::once(2..4).collect(),
        };
        let perm = [2usize, 0, 1];
        let y = permute_slices(&x, &slices, &perm).unwrap();
        let d = y.dense.unwrap();
        assert_eq!(d.column(0).to_vec(), vec![1.0, 2.0, 3.0]);
        assert_eq!(d.column(1).to_vec(), vec![30.0, 10.0, 20.0]);
        assert_eq!(d.column(2).to_vec(), vec![100.0, 200.0, 300.0]);
        let s = y.sparse.unwrap().to_dense();
        // Columns 0-1 stay; columns 2-3 come from rows 2, 0, 1.
        assert_eq!(s.row(0).to_vec(), vec![1.0, 0.0, 5.0, 0.0]);
        assert_eq!(s.row(1).to_vec(), vec![0.0, 3.0, 2.0, 0.0]);
        assert_eq!(s.row(2).to_vec(), vec![0.0, 0.0, 0.0, 4.0]);
        assert!(permute_slices(&x, &slices, &[0, 1]).is_err());
    }

    fn impact(col: &str, drop: f64) -> ColumnImpact {
        ColumnImpact {
            column: col.into(),
            kind: "numeric".into(),
            drop_mean: drop,
            drop_std: 0.0,
            impact: 0.0,
            impact_std: 0.0,
        }
    }

    #[test]
    fn reduced_list_covers_the_share_of_positive_impact() {
        let fi = FeatureImpact {
            metric: "balanced_accuracy".into(),
            baseline: 0.9,
            n_rows: 10,
            repeats: 1,
            seed: 0,
            columns: vec![
                impact("a", 0.5),
                impact("b", 0.3),
                impact("c", 0.15),
                impact("d", 0.05),
                impact("e", 0.0),
                impact("f", -0.01),
            ],
        };
        // total positive = 1.0: a+b = 0.8 < 0.9, a+b+c = 0.95 >= 0.9.
        assert_eq!(fi.reduced(0.9, 10), vec!["a", "b", "c"]);
        assert_eq!(fi.reduced(1.0, 10), vec!["a", "b", "c", "d"]);
        assert_eq!(fi.reduced(0.9, 2), vec!["a", "b"]);
        assert_eq!(fi.reduced(0.0, 10), vec!["a"]);
        assert!(fi.render_text().contains("balanced_accuracy"));
    }

    fn column(
        name: &str,
        kind: crate::dataset::ColumnType,
        values: &[&str],
    ) -> crate::dataset::Column {
        crate::dataset::Column {
            name: name.into(),
            kind,
            values: values
                .iter()
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect(),
        }
    }

    /// Shuffling a column's raw values and featurizing again gives exactly the matrix that
    /// [`permute_slices`] makes from the unshuffled features: the premise of the module.
    #[test]
    fn slice_permutation_equals_refeaturizing_shuffled_raw_values() {
        use crate::dataset::{ColumnType, Dataset};
        use crate::model::BlockSpec;
        let ds = Dataset {
            source: "mem.csv".into(),
            base_dir: ".".into(),
            columns: vec![
                column("n", ColumnType::Numeric, &["1", "2", "", "4", "5", "6"]),
                column(
                    "t",
                    ColumnType::Text,
                    &[
                        "red apple",
                        "green pear",
                        "red red",
                        "",
                        "blue sky",
                        "apple pie",
                    ],
                ),
                column("c", ColumnType::Categorical, &["x", "y", "x", "z", "y", ""]),
                column(
                    "d",
                    ColumnType::Date,
                    &[
                        "2020-01-02",
                        "2021-05-06",
                        "",
                        "2019-12-31",
                        "2020-07-07",
                        "2022-02-02",
                    ],
                ),
            ],
            skipped: Vec::new(),
        };
        let specs = vec![
            BlockSpec::Numeric { column: "n".into() },
            BlockSpec::Text {
                column: "t".into(),
                analyzers: vec![
                    blueprints::text::TfidfConfig::word(1, 2),
                    blueprints::text::TfidfConfig::char_wb(2, 3),
                ],
            },
            BlockSpec::Categorical {
                column: "c".into(),
                min_count: 1,
                max_levels: 10,
            },
            BlockSpec::Date { column: "d".into() },
        ];
        let inputs = FeatureInputs::new(&ds);
        let rows: Vec<usize> = (0..6).collect();
        let (pipeline, _) = Pipeline::fit(&specs, &inputs, &rows).unwrap();
        let valid = [1usize, 3, 4, 5];
        let x = pipeline.transform(&inputs, &valid).unwrap();
        let slices = column_slices(&pipeline, &inputs).unwrap();
        assert_eq!(
            slices.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
            ["n", "t", "c", "d"]
        );
        let perm = [2usize, 0, 3, 1];
        for (ci, (name, sl)) in slices.iter().enumerate() {
            let fast = permute_slices(&x, sl, &perm).unwrap();
            let mut shuffled = ds.clone();
            let col = &mut shuffled.columns[ci];
            assert_eq!(&col.name, name);
            let original = col.values.clone();
            for (i, &p) in perm.iter().enumerate() {
                col.values[valid[i]] = original[valid[p]].clone();
            }
            let slow = pipeline
                .transform(&FeatureInputs::new(&shuffled), &valid)
                .unwrap();
            assert_eq!(fast.dense, slow.dense, "dense block, column {name}");
            let (a, b) = (fast.sparse.unwrap(), slow.sparse.unwrap());
            assert_eq!(a.to_dense(), b.to_dense(), "sparse block, column {name}");
        }
    }

    #[test]
    fn sub_seeds_differ() {
        assert_ne!(sub_seed(0, &[0, 1, 0]), sub_seed(0, &[1, 0, 0]));
        assert_eq!(sub_seed(5, &[1, 2]), sub_seed(5, &[1, 2]));
    }
}
