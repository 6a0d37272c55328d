//! Dataset profile: per-column summary, class counts, duplicates, constant and ID-like columns,
//! target leakage, and the default list of informative features.
//!
//! **Leakage rule.** For a non-image column other than the target, take the rows where the
//! column and the target are present and whose column value occurs at least twice. The column
//! *nearly determines* the target when those rows are at least 20% of all rows (the column
//! repeats: not an ID), and the *conditional purity* (share of those rows whose class is the
//! majority class of their value) is at least 0.95 and clearly above the majority-class share
//! of the same rows (`purity >= baseline + (1 - baseline) / 2`). Such a column leaks — it
//! names groups whose class was assigned per group, like `artist_name` in the Spotify covers —
//! unless what it says is what a feature says:
//! * a number or date whose neighbouring values mostly share their class (sorted, consecutive
//!   values' majority classes agree clearly more often than chance,
//!   `agreement >= chance + (1 - chance) / 2`) predicts by its magnitude — `age > 40` — and is
//!   kept;
//! * a column with fewer than [`LEAKAGE_MIN_LEVELS`] repeated values that does not determine
//!   the target exactly (purity below 0.999) is a strong feature, like a mushroom's odour, and
//!   is kept.
//!
//! A kept column that nearly determines the target gets a warning (it may still be known only
//! after the outcome). A leaking column is excluded from the features; if it is also the group
//! column it is excluded as "group column" and still listed as leakage.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Column, ColumnType, DataError, Dataset, DayMonthOrder, DecimalMark, NUMBER_LIMIT,
    OrderEvidence, SkippedRow, Target, TargetSpec, Task, file_row, is_id_like, is_out_of_range,
    parse_date,
};

/// Minimum conditional purity for a column to be flagged as leakage.
pub const LEAKAGE_MIN_PURITY: f64 = 0.95;
/// Minimum share of rows whose value repeats for a column to be considered for leakage.
pub const LEAKAGE_MIN_REPEATED_SHARE: f64 = 0.2;
/// Purity from which a column determines the target exactly (a leak however few its values).
const EXACT_PURITY: f64 = 0.999;
/// Fewest repeated values for a column that nearly determines the target to name groups.
pub const LEAKAGE_MIN_LEVELS: usize = 10;

/// Summary of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Inferred or overridden kind.
    pub kind: ColumnType,
    /// Number of missing cells (for a numeric column, also the cells that are not numbers,
    /// which are read as missing; see [`Profile::warnings`]).
    pub missing: usize,
    /// Number of distinct non-missing values.
    pub distinct: usize,
    /// Up to three example values (first distinct values in row order, shortened).
    pub examples: Vec<String>,
    /// Whether the column looks like an identifier.
    pub id_like: bool,
}

/// Number of rows of one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCount {
    /// Class name.
    pub class: String,
    /// Number of rows.
    pub count: usize,
}

/// Rows whose image files in one column are byte-identical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateImages {
    /// Image column.
    pub column: String,
    /// SHA-256 of the file content, hex.
    pub sha256: String,
    /// 0-based row indices into the loaded dataset.
    pub rows: Vec<usize>,
    /// The cell values (paths) of those rows.
    pub paths: Vec<String>,
    /// Classes of those rows (differing classes mean contradictory labels).
    pub classes: Vec<String>,
}

impl DuplicateImages {
    /// One line, however many rows share the image: its distinct paths (the first three), the
    /// rows, and the classes with their counts (`conflicting` when they differ).
    pub fn describe(&self) -> String {
        const SHOWN_PATHS: usize = 3;
        let mut paths: Vec<&str> = Vec::new();
        for p in &self.paths {
            if !paths.contains(&p.as_str()) {
                paths.push(p);
            }
        }
        let more = match paths.len().saturating_sub(SHOWN_PATHS) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        let mut classes: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &self.classes {
            *classes.entry(c).or_default() += 1;
        }
        let classes = match classes.len() {
            1 => self.classes[0].clone(),
            _ => {
                let counts: Vec<String> = classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
                format!("conflicting classes: {}", counts.join(", "))
            }
        };
        let shown: Vec<&str> = paths.iter().take(SHOWN_PATHS).copied().collect();
        format!(
            "{}{more}: {} rows [{classes}]",
            shown.join(" = "),
            self.rows.len()
        )
    }
}

/// A column flagged as target leakage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leakage {
    /// Column name.
    pub column: String,
    /// Conditional purity of the target given the column (see the module rule).
    pub purity: f64,
    /// Human-readable reason.
    pub reason: String,
}

/// Something about a column's cells that the user should know (the column is still used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnWarning {
    /// Column name.
    pub column: String,
    /// Number of cells concerned.
    pub cells: usize,
    /// Up to three of those cells' values (shortened).
    pub examples: Vec<String>,
    /// Human-readable message naming the column, the count and an example.
    pub message: String,
}

/// How many example values a [`ColumnWarning`] keeps.
const WARNING_EXAMPLES: usize = 3;

/// Warns about the cells of a numeric or date column that are not numbers or dates (read as
/// missing), or `None`.
pub fn unparsed_cells_warning(col: &Column, skipped: &[SkippedRow]) -> Option<ColumnWarning> {
    let (kind, values, parsed): (&str, &str, Vec<bool>) = match col.kind {
        ColumnType::Numeric => {
            let parsed = col.as_f64().iter().map(Option::is_some).collect();
            ("numeric", "numbers", parsed)
        }
        ColumnType::Date => {
            let parsed = col
                .values
                .iter()
                .map(|v| v.as_deref().and_then(parse_date).is_some())
                .collect();
            ("a date column", "dates", parsed)
        }
        _ => return None,
    };
    let bad: Vec<(usize, &str)> = col
        .values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((i, v.as_deref()?)))
        .filter(|&(i, _)| !parsed[i])
        .collect();
    let (first_row, _) = *bad.first()?;
    let present = col.values.iter().flatten().count();
    let mut seen = HashSet::new();
    let examples: Vec<String> = bad
        .iter()
        .filter(|(_, v)| seen.insert(*v))
        .take(WARNING_EXAMPLES)
        .map(|(_, v)| shorten(v, 40))
        .collect();
    let out_of_range =
        if col.kind == ColumnType::Numeric && bad.iter().any(|(_, v)| is_out_of_range(v)) {
            format!(" (numbers beyond ±{NUMBER_LIMIT:.1e} are out of range)")
        } else {
            String::new()
        };
    let message = format!(
        "column '{}' is {kind} but {} of {present} non-empty cells are not {values} \
         (e.g. \"{}\" in row {}){out_of_range}; they are read as missing",
        col.name,
        bad.len(),
        examples[0],
        file_row(skipped, first_row),
    );
    Some(ColumnWarning {
        column: col.name.clone(),
        cells: bad.len(),
        examples,
        message,
    })
}

/// Warns about a date column whose `A/B/YYYY` cells show both orders — some can only be read
/// day-first (`13/08/2000`), some only month-first (`08/13/2000`): cells either order could
/// read (`02/08/2000`) are read in the order most show. `None` otherwise.
fn mixed_date_order_warning(col: &Column, skipped: &[SkippedRow]) -> Option<ColumnWarning> {
    if col.kind != ColumnType::Date {
        return None;
    }
    let evidence = OrderEvidence::of_cells(col.values.iter().map(Option::as_deref));
    let (Some(day_row), Some(month_row)) = (evidence.day_first.1, evidence.month_first.1) else {
        return None;
    };
    let cell = |i: usize| {
        col.values[i]
            .as_deref()
            .map_or(String::new(), |v| shorten(v, 40))
    };
    let order = evidence.order().describe();
    let message = format!(
        "column '{}' mixes day-first dates ({}, e.g. \"{}\" in row {}) and month-first dates \
         ({}, e.g. \"{}\" in row {}); dates either order could read are read {order}",
        col.name,
        evidence.day_first.0,
        cell(day_row),
        file_row(skipped, day_row),
        evidence.month_first.0,
        cell(month_row),
        file_row(skipped, month_row),
    );
    Some(ColumnWarning {
        column: col.name.clone(),
        cells: evidence.day_first.0 + evidence.month_first.0,
        examples: vec![cell(day_row), cell(month_row)],
        message,
    })
}

/// When predicting: warns about a date column read in another order than the model was fitted
/// with (its own unambiguous cells decide, see [`Column::date_order_or`]), or one mixing both
/// orders. `None` otherwise.
pub fn predict_date_order_warning(
    col: &Column,
    fitted: DayMonthOrder,
    skipped: &[SkippedRow],
) -> Option<ColumnWarning> {
    let col = Column {
        kind: ColumnType::Date,
        ..col.clone()
    };
    if let Some(mixed) = mixed_date_order_warning(&col, skipped) {
        return Some(mixed);
    }
    let evidence = OrderEvidence::of_cells(col.values.iter().map(Option::as_deref));
    let read = evidence.decided().filter(|&o| o != fitted)?;
    let (count, row) = match read {
        DayMonthOrder::DayFirst => evidence.day_first,
        DayMonthOrder::MonthFirst => evidence.month_first,
    };
    let row = row?;
    let example = col.values[row]
        .as_deref()
        .map_or(String::new(), |v| shorten(v, 40));
    let message = format!(
        "column '{}' is read {}, as its dates show (e.g. \"{example}\" in row {}), not {} as \
         the model was fitted",
        col.name,
        read.describe(),
        file_row(skipped, row),
        fitted.describe(),
    );
    Some(ColumnWarning {
        column: col.name.clone(),
        cells: count,
        examples: vec![example],
        message,
    })
}

/// Says how a numeric column's decimal mark was read when it is news: a column read with a
/// decimal comma, one read in another mark than the model was `fitted` with (when predicting),
/// or cells only a decimal comma reads in a column read with a decimal point (they are missing).
/// `None` otherwise.
pub fn decimal_mark_warning(
    col: &Column,
    fitted: Option<DecimalMark>,
    skipped: &[SkippedRow],
) -> Option<ColumnWarning> {
    let e = col.mark_evidence();
    let read = match fitted {
        Some(f) => e.decided().unwrap_or(f),
        None => e.mark(),
    };
    let cell = |i: usize| {
        col.values[i]
            .as_deref()
            .map_or(String::new(), |v| shorten(v, 40))
    };
    let example = |(count, first): (usize, Option<usize>)| {
        let i = first?;
        Some((count, cell(i), file_row(skipped, i)))
    };
    let changed = fitted.filter(|&f| f != read).map_or(String::new(), |f| {
        format!(", not {} as the model was fitted", f.describe())
    });
    // A decimal comma is news unless the model was fitted with one; a point only when it changed.
    let news = match read {
        DecimalMark::Comma => fitted != Some(DecimalMark::Comma),
        DecimalMark::Point => !changed.is_empty(),
    };
    let (cells, shown, message) = match read {
        DecimalMark::Point if e.comma.0 > 0 => {
            let (n, v, row) = example(e.comma)?;
            let why = match example(e.point).or_else(|| example(e.ambiguous_comma)) {
                Some((_, w, wrow)) => format!(" (as cells like \"{w}\" in row {wrow} show)"),
                None => String::new(),
            };
            let message = format!(
                "column '{}' is read with a decimal point{why}{changed}, so its cells that only a \
                 decimal comma reads ({n}, e.g. \"{v}\" in row {row}) are read as missing",
                col.name
            );
            (n, v, message)
        }
        _ if news => {
            let shown_by = match read {
                DecimalMark::Comma => e.comma,
                DecimalMark::Point => e.point,
            };
            let (n, v, row) = example(shown_by)?;
            let message = format!(
                "column '{}' is read with {}, as its numbers show (e.g. \"{v}\" in row \
                 {row}){changed}",
                col.name,
                read.describe()
            );
            (n, v, message)
        }
        _ => return None,
    };
    Some(ColumnWarning {
        column: col.name.clone(),
        cells,
        examples: vec![shown],
        message,
    })
}

/// Warns about target classes that differ only in letter case (`Rock`, `rock`, `ROCK`): they are
/// kept apart, which is rarely what the data meant. `None` when there are none.
fn case_variant_classes(target: &str, classes: &[ClassCount]) -> Option<ColumnWarning> {
    let mut by_folded: BTreeMap<String, Vec<&ClassCount>> = BTreeMap::new();
    for c in classes {
        by_folded.entry(c.class.to_lowercase()).or_default().push(c);
    }
    let groups: Vec<&Vec<&ClassCount>> = by_folded.values().filter(|g| g.len() > 1).collect();
    let first = groups.first()?;
    let listed: Vec<String> = first
        .iter()
        .map(|c| format!("'{}' ({} rows)", c.class, c.count))
        .collect();
    let more = match groups.len() {
        1 => String::new(),
        n => format!(", and {} more such groups", n - 1),
    };
    Some(ColumnWarning {
        column: target.to_string(),
        cells: groups.iter().flat_map(|g| g.iter().map(|c| c.count)).sum(),
        examples: first.iter().map(|c| c.class.clone()).collect(),
        message: format!(
            "target '{target}' has classes that differ only in letter case: {}{more}; they are \
             kept apart (fix the labels in the data if they are one class)",
            listed.join(", ")
        ),
    })
}

/// A column left out of the default feature list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    /// Column name.
    pub column: String,
    /// Why: "target", "group column", "leakage: ...", "constant", "empty (every cell missing)",
    /// "ID-like".
    pub reason: String,
}

/// Everything `autopilot profile` reports about a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The data file or folder.
    pub source: PathBuf,
    /// Number of rows after skipping bad rows.
    pub n_rows: usize,
    /// Target column.
    pub target: String,
    /// Group column, if any.
    pub group: Option<String>,
    /// Per-column summaries, in file order.
    pub columns: Vec<ColumnProfile>,
    /// The task the target poses.
    #[serde(default)]
    pub task: Task,
    /// Why that task (see [`Target::reason`]).
    #[serde(default)]
    pub task_reason: String,
    /// The positive class of a binary target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_class: Option<String>,
    /// Rows per class, in class order (empty for regression).
    pub class_counts: Vec<ClassCount>,
    /// The distribution of a regression target.
    #[serde(default)]
    pub target_summary: Option<TargetSummary>,
    /// Number of rows identical (in every column) to an earlier row.
    pub duplicate_rows: usize,
    /// Groups of rows with byte-identical image files.
    pub duplicate_images: Vec<DuplicateImages>,
    /// Columns with at most one distinct value.
    pub constant_columns: Vec<String>,
    /// Identifier-like columns.
    pub id_like_columns: Vec<String>,
    /// Columns that alone (nearly) determine the target.
    pub leakage: Vec<Leakage>,
    /// Default informative features: every column except target, group, leakage, constant, ID-like.
    pub feature_columns: Vec<String>,
    /// Columns left out of `feature_columns`, with the reason.
    pub excluded: Vec<Excluded>,
    /// Rows left out while loading.
    pub skipped: Vec<SkippedRow>,
    /// Problems with cells of columns that are still used (e.g. stray text in a numeric
    /// column, read as missing).
    #[serde(default)]
    pub warnings: Vec<ColumnWarning>,
}

/// The distribution of a regression target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetSummary {
    /// Smallest value.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// Largest value.
    pub max: f64,
    /// Population standard deviation.
    pub std: f64,
}

/// A target value for people: at most six decimals, without trailing zeros (`17.627`, not
/// `17.627000000000002`); scientific beyond 1e15 or below 1e-4.
fn short_value(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e15).contains(&x.abs()) {
        return format!("{x:.4e}");
    }
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

impl TargetSummary {
    /// `min …, median …, mean …, max …, std …`, each value short (see [`short_value`]): the
    /// one wording of the profile, `run` and the report.
    pub fn describe(&self) -> String {
        format!(
            "min {}, median {}, mean {}, max {}, std {}",
            short_value(self.min),
            short_value(self.median),
            short_value(self.mean),
            short_value(self.max),
            short_value(self.std)
        )
    }

    /// The summary of `values`; `None` when empty.
    pub fn of(values: &[f64]) -> Option<TargetSummary> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some(TargetSummary {
            min: v[0],
            mean,
            median,
            max: v[v.len() - 1],
            std,
        })
    }
}

/// What the leakage rule (module docs) says of a column that nearly determines the target.
enum LeakageVerdict {
    /// It names groups whose class was assigned per group: excluded.
    Leak(Leakage),
    /// It predicts as a feature does: kept, with a warning.
    StrongFeature(ColumnWarning),
}

/// The leakage rule (module docs) applied to `col`; `None` when it does not nearly determine
/// the target.
fn leakage_verdict(
    col: &Column,
    labels: &[u32],
    target: &str,
    distinct: usize,
) -> Option<LeakageVerdict> {
    let (purity, repeated, baseline) = leakage_purity(&col.values, labels);
    let nearly = repeated >= LEAKAGE_MIN_REPEATED_SHARE
        && purity >= LEAKAGE_MIN_PURITY
        && purity >= baseline + (1.0 - baseline) / 2.0;
    if !nearly {
        return None;
    }
    let share = format!(
        "{:.1}% of rows with a repeated value belong to that value's majority class ({distinct} \
         distinct values)",
        purity * 100.0
    );
    let ordered = order_agreement(col, labels)
        .is_some_and(|(agree, chance)| agree >= chance + (1.0 - chance) / 2.0);
    let few_levels = purity < EXACT_PURITY && repeated_levels(&col.values) < LEAKAGE_MIN_LEVELS;
    if ordered || few_levels {
        let how = if ordered {
            "by its magnitude (neighbouring values share their class)"
        } else {
            "with few values"
        };
        return Some(LeakageVerdict::StrongFeature(ColumnWarning {
            column: col.name.clone(),
            cells: 0,
            examples: Vec::new(),
            message: format!(
                "column '{}' nearly determines '{target}' {how}: {share}; kept as a feature — if \
                 it is known only after the outcome, leave it out with --feature-list",
                col.name
            ),
        }));
    }
    Some(LeakageVerdict::Leak(Leakage {
        column: col.name.clone(),
        purity,
        reason: format!("each value (nearly) determines '{target}': {share}"),
    }))
}

/// How many distinct values occur at least twice.
fn repeated_levels(values: &[Option<String>]) -> usize {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in values.iter().flatten() {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    counts.values().filter(|&&n| n >= 2).count()
}

/// For a numeric or date column: `(agreement, chance)`, where `agreement` is the share of
/// consecutive distinct values (in sorted order) whose majority classes are the same, and
/// `chance` what it would be were the majority classes shuffled (the sum of their squared
/// shares). `None` for other kinds and for fewer than three distinct values.
fn order_agreement(col: &Column, labels: &[u32]) -> Option<(f64, f64)> {
    let keys: Vec<Option<f64>> = match col.kind {
        ColumnType::Numeric => col.as_f64(),
        ColumnType::Date => col
            .as_dates()
            .into_iter()
            .map(|d| {
                d.map(|d| {
                    let (m, day) = (d.month.unwrap_or(0), d.day.unwrap_or(0));
                    f64::from(d.year) * 1e4 + f64::from(m) * 100.0 + f64::from(day)
                })
            })
            .collect(),
        _ => return None,
    };
    // Class counts per distinct key, in key order.
    let mut by_key: BTreeMap<u64, BTreeMap<u32, usize>> = BTreeMap::new();
    for (k, &l) in keys.iter().zip(labels) {
        if let Some(k) = k {
            // Order-preserving bits of an f64 (sign flipped, negatives reversed).
            let b = k.to_bits();
            let ord = if b >> 63 == 1 { !b } else { b | (1 << 63) };
            *by_key.entry(ord).or_default().entry(l).or_default() += 1;
        }
    }
    if by_key.len() < 3 {
        return None;
    }
    let majority: Vec<u32> = by_key
        .values()
        .map(|c| {
            c.iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map_or(0, |(&class, _)| class)
        })
        .collect();
    let pairs = majority.len() - 1;
    let agree = majority.windows(2).filter(|w| w[0] == w[1]).count() as f64 / pairs as f64;
    let mut shares: BTreeMap<u32, usize> = BTreeMap::new();
    for &m in &majority {
        *shares.entry(m).or_default() += 1;
    }
    let n = majority.len() as f64;
    let chance = shares.values().map(|&k| (k as f64 / n).powi(2)).sum();
    Some((agree, chance))
}

/// Conditional purity of `target` given `values` over rows whose value repeats, with the share
/// of such rows and the majority-class share among them: `(purity, repeated_share, baseline)`.
pub fn leakage_purity(values: &[Option<String>], labels: &[u32]) -> (f64, f64, f64) {
    let mut by_value: HashMap<&str, BTreeMap<u32, usize>> = HashMap::new();
    for (v, &l) in values.iter().zip(labels) {
        if let Some(v) = v {
            *by_value
                .entry(v.as_str())
                .or_default()
                .entry(l)
                .or_default() += 1;
        }
    }
    let mut repeated = 0usize;
    let mut pure = 0usize;
    let mut class_totals: BTreeMap<u32, usize> = BTreeMap::new();
    for counts in by_value.values() {
        let n: usize = counts.values().sum();
        if n < 2 {
            continue;
        }
        repeated += n;
        pure += counts.values().max().copied().unwrap_or(0);
        for (&c, &k) in counts {
            *class_totals.entry(c).or_default() += k;
        }
    }
    if repeated == 0 {
        return (0.0, 0.0, 1.0);
    }
    let baseline = class_totals.values().max().copied().unwrap_or(0) as f64 / repeated as f64;
    (
        pure as f64 / repeated as f64,
        repeated as f64 / labels.len().max(1) as f64,
        baseline,
    )
}

/// `s` on one line, cut to `max` characters (with `…`).
pub(crate) fn shorten(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut t: String = flat.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Profiles `ds` for predicting `target`, with rows grouped by `group` in cross-validation.
pub fn profile(
    ds: &Dataset,
    spec: impl Into<TargetSpec>,
    group: Option<&str>,
) -> Result<Profile, DataError> {
    let spec: TargetSpec = spec.into();
    let target = spec.column.as_str();
    let tgt = ds.target_with(&spec)?;
    if let Some(g) = group {
        ds.require_column(g)?;
        if g == target {
            return Err(DataError::InvalidColumn {
                path: ds.source.clone(),
                column: g.to_string(),
                message: "the group column cannot be the target".into(),
            });
        }
    }
    let n = ds.n_rows();
    let class_counts: Vec<ClassCount> = tgt
        .classes
        .iter()
        .zip(tgt.class_counts())
        .map(|(c, k)| ClassCount {
            class: c.clone(),
            count: k,
        })
        .collect();

    let mut columns = Vec::new();
    let mut constant_columns = Vec::new();
    let mut id_like_columns = Vec::new();
    let mut leakage = Vec::new();
    let mut warnings: Vec<ColumnWarning> = case_variant_classes(target, &class_counts)
        .into_iter()
        .collect();
    for col in &ds.columns {
        let warning = unparsed_cells_warning(col, &ds.skipped);
        let unparsed = warning.as_ref().map_or(0, |w| w.cells);
        warnings.extend(warning);
        warnings.extend(mixed_date_order_warning(col, &ds.skipped));
        if col.kind == ColumnType::Numeric {
            warnings.extend(decimal_mark_warning(col, None, &ds.skipped));
        }
        let mut seen = HashSet::new();
        let examples = col
            .values
            .iter()
            .flatten()
            .filter(|v| seen.insert(v.as_str()))
            .take(3)
            .map(|v| shorten(v, 40))
            .collect();
        let distinct = col.n_distinct();
        let id_like = is_id_like(col);
        if distinct <= 1 {
            constant_columns.push(col.name.clone());
        }
        if id_like {
            id_like_columns.push(col.name.clone());
        }
        if col.name != target && col.kind != ColumnType::Image && distinct > 1 {
            match leakage_verdict(col, &tgt.labels, target, distinct) {
                Some(LeakageVerdict::Leak(l)) => leakage.push(l),
                Some(LeakageVerdict::StrongFeature(w)) => warnings.push(w),
                None => {}
            }
        }
        columns.push(ColumnProfile {
            name: col.name.clone(),
            kind: col.kind,
            missing: col.n_missing() + unparsed,
            distinct,
            examples,
            id_like,
        });
    }

    let mut feature_columns = Vec::new();
    let mut excluded = Vec::new();
    for col in &ds.columns {
        let name = col.name.as_str();
        let reason = if name == target {
            Some("target".to_string())
        } else if Some(name) == group {
            Some("group column".to_string())
        } else if let Some(l) = leakage.iter().find(|l| l.column == name) {
            Some(format!("leakage (purity {:.3})", l.purity))
        } else if constant_columns.iter().any(|c| c == name) {
            // A column without one value is empty, not constant.
            let empty = ds.column(name).is_some_and(|c| c.n_distinct() == 0);
            Some(
                if empty {
                    "empty (every cell missing)"
                } else {
                    "constant"
                }
                .to_string(),
            )
        } else if id_like_columns.iter().any(|c| c == name) {
            Some("ID-like".to_string())
        } else {
            None
        };
        match reason {
            Some(reason) => excluded.push(Excluded {
                column: name.to_string(),
                reason,
            }),
            None => feature_columns.push(name.to_string()),
        }
    }

    let mut seen_rows: HashSet<Vec<Option<&str>>> = HashSet::new();
    let mut duplicate_rows = 0;
    for i in 0..n {
        let row: Vec<Option<&str>> = ds.columns.iter().map(|c| c.values[i].as_deref()).collect();
        if !seen_rows.insert(row) {
            duplicate_rows += 1;
        }
    }

    let duplicate_images = duplicate_images(ds, &tgt);
    Ok(Profile {
        source: ds.source.clone(),
        n_rows: n,
        target: target.to_string(),
        task: tgt.task,
        task_reason: tgt.reason.clone(),
        positive_class: tgt.positive_class().map(str::to_string),
        // From the cells as written (the target holds f32 values for training).
        target_summary: ds
            .column(target)
            .filter(|_| tgt.task.is_regression())
            .and_then(|c| TargetSummary::of(&c.as_f64().into_iter().flatten().collect::<Vec<_>>())),
        group: group.map(str::to_string),
        columns,
        class_counts,
        duplicate_rows,
        duplicate_images,
        constant_columns,
        id_like_columns,
        leakage,
        feature_columns,
        excluded,
        skipped: ds.skipped.clone(),
        warnings,
    })
}

/// Hashes every image file (in parallel) and groups rows with identical content.
/// Files that cannot be read are ignored here (loading already reported them).
fn duplicate_images(ds: &Dataset, target: &Target) -> Vec<DuplicateImages> {
    let mut out = Vec::new();
    for col in ds.columns.iter().filter(|c| c.kind == ColumnType::Image) {
        let hashes: Vec<Option<String>> = col
            .values
            .par_iter()
            .map(|v| {
                let bytes =
                    neural::decode::read_regular_file(&ds.image_path(v.as_deref()?)).ok()?;
                let digest = Sha256::digest(&bytes);
                Some(digest.iter().fold(String::with_capacity(64), |mut s, b| {
                    let _ = write!(s, "{b:02x}");
                    s
                }))
            })
            .collect();
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, h) in hashes.iter().enumerate() {
            if let Some(h) = h {
                groups.entry(h.as_str()).or_default().push(i);
            }
        }
        let mut found: Vec<DuplicateImages> = groups
            .into_iter()
            .filter(|(_, rows)| rows.len() > 1)
            .map(|(h, rows)| DuplicateImages {
                column: col.name.clone(),
                sha256: h.to_string(),
                paths: rows.iter().filter_map(|&i| col.values[i].clone()).collect(),
                classes: rows.iter().map(|&i| target.value_name(i)).collect(),
                rows,
            })
            .collect();
        found.sort_by_key(|g| g.rows[0]);
        out.extend(found);
    }
    out
}

impl Profile {
    /// A readable multi-line report (what `autopilot profile` prints).
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Dataset: {}", self.source.display());
        let _ = writeln!(
            s,
            "Rows: {} ({} skipped)   Target: {}   Group: {}",
            self.n_rows,
            self.skipped.len(),
            self.target,
            self.group.as_deref().unwrap_or("-")
        );
        let _ = writeln!(s);
        let w = self
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            s,
            "{:<w$}  {:<16}  {:>7}  {:>8}  examples",
            "column", "type", "missing", "distinct"
        );
        for c in &self.columns {
            let kind = if c.id_like {
                format!("{} (id)", c.kind)
            } else {
                c.kind.to_string()
            };
            let _ = writeln!(
                s,
                "{:<w$}  {:<16}  {:>7}  {:>8}  {}",
                c.name,
                kind,
                c.missing,
                c.distinct,
                c.examples
                    .iter()
                    .map(|e| format!("\"{e}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let _ = writeln!(s);
        if !self.task_reason.is_empty() {
            let _ = writeln!(s, "Task: {}", self.task_reason);
        }
        if let Some(t) = &self.target_summary {
            let _ = writeln!(s, "Target: {}", t.describe());
        } else {
            let _ = writeln!(s, "Classes ({}):", self.class_counts.len());
        }
        let total: usize = self.class_counts.iter().map(|c| c.count).sum();
        const MAX_CLASS_LINES: usize = 30;
        for c in self.class_counts.iter().take(MAX_CLASS_LINES) {
            let _ = writeln!(
                s,
                "  {:<20} {:>6}  {:>5.1}%",
                c.class,
                c.count,
                100.0 * c.count as f64 / total.max(1) as f64
            );
        }
        if self.class_counts.len() > MAX_CLASS_LINES {
            let _ = writeln!(
                s,
                "  ... and {} more classes",
                self.class_counts.len() - MAX_CLASS_LINES
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "Duplicate rows: {}", self.duplicate_rows);
        let dup_imgs: usize = self.duplicate_images.iter().map(|g| g.rows.len()).sum();
        let _ = writeln!(
            s,
            "Duplicate images: {} groups ({} rows)",
            self.duplicate_images.len(),
            dup_imgs
        );
        for g in self.duplicate_images.iter().take(10) {
            let _ = writeln!(s, "  {}", g.describe());
        }
        if self.duplicate_images.len() > 10 {
            let _ = writeln!(
                s,
                "  ... and {} more groups",
                self.duplicate_images.len() - 10
            );
        }
        if !self.leakage.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "Target leakage:");
            for l in &self.leakage {
                let _ = writeln!(s, "  {}: {}", l.column, l.reason);
            }
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Informative features: {}",
            self.feature_columns.join(", ")
        );
        let _ = writeln!(s, "Excluded:");
        for e in &self.excluded {
            let _ = writeln!(s, "  {:<w$}  {}", e.column, e.reason);
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "Warnings:");
            for w in &self.warnings {
                let _ = writeln!(s, "  {}", w.message);
            }
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "Skipped rows ({}):", self.skipped.len());
            for r in self.skipped.iter().take(20) {
                let _ = writeln!(s, "  row {} column '{}': {}", r.row, r.column, r.reason);
            }
            if self.skipped.len() > 20 {
                let _ = writeln!(s, "  ... and {} more", self.skipped.len() - 20);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_values_are_shown_short() {
        assert_eq!(short_value((17.254 + 18.0) / 2.0), "17.627");
        assert_eq!(short_value(1506.64), "1506.64");
        assert_eq!(short_value(-3.0), "-3");
        assert_eq!(short_value(-0.0000001), "-1.0000e-7");
        assert_eq!(short_value(1.358e38), "1.3580e38");
        assert_eq!(short_value(0.0), "0");
    }

    /// What the leakage rule calls a column that nearly determines the target.
    #[test]
    fn group_names_leak_and_features_that_predict_are_kept() {
        let column = |kind, cells: Vec<String>| Column {
            name: "c".into(),
            kind,
            values: cells.into_iter().map(Some).collect(),
        };
        let verdict = |c: &Column, labels: &[u32]| {
            let distinct = c.n_distinct();
            match leakage_verdict(c, labels, "y", distinct) {
                Some(LeakageVerdict::Leak(_)) => "leak",
                Some(LeakageVerdict::StrongFeature(_)) => "kept",
                None => "none",
            }
        };
        // 40 groups of 5 rows, each group's class drawn at random-looking: names groups.
        let group_class = |g: usize| ((g * 7 + g / 3) % 3) as u32;
        let labels: Vec<u32> = (0..200).map(|r| group_class(r / 5)).collect();
        let names = column(
            ColumnType::Categorical,
            (0..200).map(|r| format!("artist{}", r / 5)).collect(),
        );
        assert_eq!(verdict(&names, &labels), "leak");
        // The same groups as numeric codes: neighbouring codes do not share a class.
        let codes = column(
            ColumnType::Numeric,
            (0..200).map(|r| (r / 5).to_string()).collect(),
        );
        assert_eq!(verdict(&codes, &labels), "leak");
        // Ages whose class is `age > 40`, 2 of 100 rows the other way: a feature.
        let ages: Vec<u32> = (0..200).map(|r| 18 + (r * 37 % 60) as u32).collect();
        let mut older: Vec<u32> = ages.iter().map(|&a| u32::from(a > 40)).collect();
        older[3] ^= 1;
        older[7] ^= 1;
        let age = column(
            ColumnType::Numeric,
            ages.iter().map(u32::to_string).collect(),
        );
        assert_eq!(verdict(&age, &older), "kept");
        // A few categories that predict well but not exactly (an odour): a feature.
        let odour_labels: Vec<u32> = (0..200)
            .map(|r| u32::from(r % 4 < 2) ^ u32::from(r == 5))
            .collect();
        let odour = column(
            ColumnType::Categorical,
            (0..200)
                .map(|r| ["almond", "anise", "foul", "none"][r % 4].to_string())
                .collect(),
        );
        assert_eq!(verdict(&odour, &odour_labels), "kept");
        // A recoding of the target, exact: a leak however few its values.
        let recoded = column(
            ColumnType::Categorical,
            labels.iter().map(|l| format!("code{l}")).collect(),
        );
        assert_eq!(verdict(&recoded, &labels), "leak");
        // Noise predicts nothing.
        let noise = column(
            ColumnType::Categorical,
            (0..200).map(|r| format!("n{}", r * 13 % 7)).collect(),
        );
        assert_eq!(verdict(&noise, &labels), "none");
    }

    #[test]
    fn classes_differing_only_in_case_are_named() {
        let counts = |names: &[(&str, usize)]| -> Vec<ClassCount> {
            names
                .iter()
                .map(|&(class, count)| ClassCount {
                    class: class.into(),
                    count,
                })
                .collect()
        };
        let w = case_variant_classes(
            "genre",
            &counts(&[("ROCK", 4), ("Rock", 8), ("pop", 5), ("rock", 4)]),
        )
        .expect("a warning");
        assert_eq!(w.cells, 16);
        assert!(
            w.message.starts_with(
                "target 'genre' has classes that differ only in letter case: 'ROCK' (4 rows), \
                 'Rock' (8 rows), 'rock' (4 rows); they are kept apart"
            ),
            "{}",
            w.message
        );
        assert!(case_variant_classes("genre", &counts(&[("pop", 5), ("rock", 4)])).is_none());
    }

    #[test]
    fn one_image_used_by_many_rows_is_one_short_line() {
        let n = 40;
        let g = DuplicateImages {
            column: "img".into(),
            sha256: "0".repeat(64),
            rows: (0..n).collect(),
            paths: (0..n)
                .map(|i| format!("images/{}.png", if i < 38 { "a" } else { "b" }))
                .collect(),
            classes: (0..n).map(|i| ["x", "y"][i % 2].to_string()).collect(),
        };
        assert_eq!(
            g.describe(),
            "images/a.png = images/b.png: 40 rows [conflicting classes: x 20, y 20]"
        );
    }

    #[test]
    fn a_date_column_mixing_day_and_month_first_is_named() {
        let mut values: Vec<Option<String>> = (1..=12)
            .map(|m| Some(format!("{:02}/{m:02}/2001", m + 12)))
            .collect();
        values.insert(0, None);
        values.push(Some("03/25/2002".into()));
        values.push(Some("02/08/2000".into()));
        let col = Column {
            name: "d".into(),
            kind: ColumnType::Date,
            values,
        };
        let w = mixed_date_order_warning(&col, &[]).expect("a warning");
        assert_eq!(
            w.message,
            "column 'd' mixes day-first dates (12, e.g. \"13/01/2001\" in row 3) and month-first \
             dates (1, e.g. \"03/25/2002\" in row 15); dates either order could read are read \
             day-first"
        );
        // Day-first alone is no mix.
        let day_first = Column {
            values: col.values[..13].to_vec(),
            ..col
        };
        assert!(mixed_date_order_warning(&day_first, &[]).is_none());
    }

    #[test]
    fn cells_of_a_date_column_that_are_not_dates_are_named() {
        let mut values: Vec<Option<String>> = (1..=38)
            .map(|d| Some(format!("2021-03-{:02}", d % 28 + 1)))
            .collect();
        values.insert(4, Some("garbage".into()));
        values.push(Some("2021-02-30".into()));
        values.push(None);
        let col = Column {
            name: "iso".into(),
            kind: ColumnType::Date,
            values,
        };
        let w = unparsed_cells_warning(&col, &[]).expect("a warning");
        assert_eq!(w.cells, 2);
        assert_eq!(w.examples, ["garbage", "2021-02-30"]);
        assert_eq!(
            w.message,
            "column 'iso' is a date column but 2 of 40 non-empty cells are not dates \
             (e.g. \"garbage\" in row 6); they are read as missing"
        );
        // A text column gets no such warning.
        let text = Column {
            kind: ColumnType::Text,
            ..col
        };
        assert!(unparsed_cells_warning(&text, &[]).is_none());
    }
}
