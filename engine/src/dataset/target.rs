//! The target: which task it poses (binary, multiclass or regression), why, and what each row's
//! true value is.
//!
//! Detection: a numeric column with more than [`MAX_NUMERIC_CLASSES`] distinct values is a
//! regression target; two classes make a binary task (its positive class named by the user or
//! guessed: `1`/`true`/`yes`/`positive`, else the rarer class); everything else is multiclass.
//! `--task` overrides the guess. Regression rows also get a stratum (their quantile of
//! [`REGRESSION_STRATA`]), so folds and samples balance the target's range the way stratified
//! folds balance classes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use blueprints::metrics::{Metric, Truth};
use blueprints::params::TargetKind;
use serde::{Deserialize, Serialize};

use super::{
    ColumnType, DataError, Dataset, DecimalMark, NUMBER_LIMIT, is_out_of_range, number_key,
    parse_number, parse_number_in,
};

/// A numeric target with more distinct values than this is a regression target (unless the user
/// asks for classification).
pub const MAX_NUMERIC_CLASSES: usize = 20;

/// Quantile strata of a regression target (for stratified folds and samples).
pub const REGRESSION_STRATA: usize = 5;

/// The learning task a target poses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Three or more classes.
    #[default]
    Multiclass,
    /// Two classes, one of them positive.
    Binary,
    /// A real number.
    Regression,
}

impl Task {
    /// The metric the leaderboard ranks by: balanced accuracy, AUC or RMSE.
    pub fn metric(self) -> Metric {
        match self {
            Task::Multiclass => Metric::BalancedAccuracy,
            Task::Binary => Metric::Auc,
            Task::Regression => Metric::Rmse,
        }
    }

    /// The metrics shown for this task, in display order.
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            Task::Regression => &Metric::REGRESSION,
            _ => &Metric::CLASSIFICATION,
        }
    }

    /// The classification task of `n_classes` classes: binary for two, else multiclass.
    pub fn of_classes(n_classes: usize) -> Task {
        if n_classes == 2 {
            Task::Binary
        } else {
            Task::Multiclass
        }
    }

    /// True for regression.
    pub fn is_regression(self) -> bool {
        self == Task::Regression
    }

    /// The kind of target, as hyperparameters that act on one kind name it.
    pub fn target_kind(self) -> TargetKind {
        if self.is_regression() {
            TargetKind::Regression
        } else {
            TargetKind::Classification
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Multiclass => "multiclass",
            Task::Binary => "binary",
            Task::Regression => "regression",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The task the user asks for (`--task`); `None` where it is detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskChoice {
    /// Binary or multiclass, by the number of classes.
    Classification,
    /// A real number.
    Regression,
}

impl FromStr for TaskChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classification" => Ok(TaskChoice::Classification),
            "regression" => Ok(TaskChoice::Regression),
            // Binary or multiclass follows from the number of classes; a choice could only be
            // contradicted by the data.
            other @ ("binary" | "multiclass") => Err(format!(
                "task '{other}' is not a choice: ask for classification, and two classes make \
                 it binary, more make it multiclass"
            )),
            other => Err(format!(
                "unknown task '{other}'; expected classification or regression"
            )),
        }
    }
}

/// What the user says about the target: its column, the task and the positive class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSpec {
    /// The target column.
    pub column: String,
    /// The task (`None`: detected).
    pub task: Option<TaskChoice>,
    /// The positive class of a binary target (`None`: guessed).
    pub positive: Option<String>,
}

impl TargetSpec {
    /// A spec for `column` with the task and positive class detected.
    pub fn column(column: &str) -> Self {
        Self {
            column: column.to_string(),
            ..Self::default()
        }
    }
}

impl From<&str> for TargetSpec {
    fn from(column: &str) -> Self {
        TargetSpec::column(column)
    }
}

impl From<&TargetSpec> for TargetSpec {
    fn from(spec: &TargetSpec) -> Self {
        spec.clone()
    }
}

/// The target: its task and one true value per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Target column name.
    pub column: String,
    /// The task.
    #[serde(default)]
    pub task: Task,
    /// Why this task was chosen (shown by the profile).
    #[serde(default)]
    pub reason: String,
    /// Class names, sorted (numerically when all classes are numbers); empty for regression.
    pub classes: Vec<String>,
    /// Per row, the index into `classes`; for regression, the row's quantile stratum.
    pub labels: Vec<u32>,
    /// Per row, the value of a regression target (empty for classification).
    #[serde(default)]
    pub values: Vec<f32>,
    /// Index of the positive class of a binary target.
    #[serde(default)]
    pub positive: Option<u32>,
}

/// The true values of some rows, owned (see [`Target::rows`]).
#[derive(Debug, Clone, PartialEq)]
pub enum TargetRows {
    /// Class indices.
    Classes(Vec<u32>),
    /// Regression values.
    Values(Vec<f32>),
}

impl TargetRows {
    /// The rows as a [`Truth`] to score against.
    pub fn truth(&self) -> Truth<'_> {
        match self {
            TargetRows::Classes(y) => Truth::Classes(y),
            TargetRows::Values(y) => Truth::Values(y),
        }
    }
}

impl Target {
    /// A classification target of `classes` with one label per row (binary for two classes,
    /// the second one positive).
    pub fn of_classes(column: &str, classes: Vec<String>, labels: Vec<u32>) -> Target {
        let task = Task::of_classes(classes.len());
        Target {
            column: column.to_string(),
            task,
            reason: format!("{task}: {} classes", classes.len()),
            classes,
            labels,
            values: Vec::new(),
            positive: (task == Task::Binary).then_some(1),
        }
    }

    /// A regression target with one value per row (strata by quantile).
    pub fn of_values(column: &str, values: Vec<f32>) -> Target {
        Target {
            column: column.to_string(),
            task: Task::Regression,
            reason: "regression".into(),
            classes: Vec::new(),
            labels: quantile_strata(&values, REGRESSION_STRATA),
            values,
            positive: None,
        }
    }

    /// Number of rows per class, aligned with `classes` (empty for regression).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.classes.len()];
        if !self.task.is_regression() {
            for &l in &self.labels {
                counts[l as usize] += 1;
            }
        }
        counts
    }

    /// Columns of a prediction matrix: one per class, or one value for regression.
    pub fn n_outputs(&self) -> usize {
        if self.task.is_regression() {
            1
        } else {
            self.classes.len()
        }
    }

    /// The names of the strata folds are balanced on: the classes, or the regression quantiles.
    pub fn strata_names(&self) -> Vec<String> {
        if self.task.is_regression() {
            (1..=REGRESSION_STRATA)
                .map(|q| format!("quantile {q} of {REGRESSION_STRATA}"))
                .collect()
        } else {
            self.classes.clone()
        }
    }

    /// The true values of `rows`.
    pub fn rows(&self, rows: &[usize]) -> TargetRows {
        if self.task.is_regression() {
            TargetRows::Values(rows.iter().map(|&r| self.values[r]).collect())
        } else {
            TargetRows::Classes(rows.iter().map(|&r| self.labels[r]).collect())
        }
    }

    /// Row `row`'s true value as text: its class, or its number.
    pub fn value_name(&self, row: usize) -> String {
        if self.task.is_regression() {
            self.values[row].to_string()
        } else {
            self.classes[self.labels[row] as usize].clone()
        }
    }

    /// The positive class's name (binary targets).
    pub fn positive_class(&self) -> Option<&str> {
        self.positive.map(|p| self.classes[p as usize].as_str())
    }
}

/// Names that mark the positive class of a binary target, compared case-insensitively.
const POSITIVE_NAMES: [&str; 6] = ["1", "true", "yes", "y", "positive", "pos"];

impl Dataset {
    /// The target in column `spec.column`, its task detected or as `spec` asks.
    ///
    /// Errors: unknown column, a missing value (load with [`super::LoadOptions::target`] set to
    /// skip such rows instead), a constant target, a regression target with a cell that is not
    /// a number (naming the row), a date target with many values, more classes than half the
    /// rows (an ID or free-text column), or a `positive` that is not one of two classes.
    pub fn target_with(&self, spec: &TargetSpec) -> Result<Target, DataError> {
        let name = spec.column.as_str();
        let col = self.require_column(name)?;
        let invalid = |message: String| DataError::InvalidColumn {
            path: self.source.clone(),
            column: name.to_string(),
            message,
        };
        let mut values = Vec::with_capacity(col.values.len());
        for (i, v) in col.values.iter().enumerate() {
            match v {
                Some(v) => values.push(v.as_str()),
                None => {
                    return Err(DataError::MissingTarget {
                        path: self.source.clone(),
                        row: self.file_row(i),
                        column: name.to_string(),
                    });
                }
            }
        }
        let mark = col.decimal_mark();
        if col.kind == ColumnType::Numeric {
            values = one_spelling_per_number(&values, mark);
        }
        let distinct: BTreeSet<&str> = values.iter().copied().collect();
        if distinct.is_empty() {
            return Err(DataError::NoRows {
                path: self.source.clone(),
                detail: String::new(),
                skipped: Vec::new(),
            });
        }
        if distinct.len() == 1 {
            return Err(DataError::OneClass {
                path: self.source.clone(),
                column: name.to_string(),
                class: distinct.first().map_or("", |v| v).to_string(),
            });
        }
        let many = distinct.len() > MAX_NUMERIC_CLASSES;
        let task = match spec.task {
            Some(TaskChoice::Regression) => Task::Regression,
            Some(TaskChoice::Classification) => Task::Multiclass,
            None if many && col.kind == ColumnType::Numeric => Task::Regression,
            None if many && col.kind == ColumnType::Date => {
                return Err(DataError::RegressionTarget {
                    path: self.source.clone(),
                    column: name.to_string(),
                    distinct: distinct.len(),
                    kind: col.kind,
                });
            }
            None => Task::Multiclass,
        };
        if task.is_regression() {
            if spec.positive.is_some() {
                return Err(invalid(
                    "--positive names a class, but the target is a regression target".into(),
                ));
            }
            let mut numbers = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                match parse_number_in(v, mark) {
                    Some(x) => numbers.push(x as f32),
                    None if is_out_of_range(v) => {
                        return Err(invalid(format!(
                            "row {}: '{v}' is beyond ±{NUMBER_LIMIT:.1e}, the range a \
                             regression target may take",
                            self.file_row(i)
                        )));
                    }
                    None => {
                        return Err(invalid(format!(
                            "row {}: '{v}' is not a number; a regression target must be numeric",
                            self.file_row(i)
                        )));
                    }
                }
            }
            let reason = match spec.task {
                Some(_) => "regression, as asked (--task regression)".to_string(),
                None => format!(
                    "regression: a numeric column with {} distinct values (more than {MAX_NUMERIC_CLASSES}; \
                     --task classification to treat them as classes)",
                    distinct.len()
                ),
            };
            return Ok(Target {
                column: name.to_string(),
                task,
                reason,
                classes: Vec::new(),
                labels: quantile_strata(&numbers, REGRESSION_STRATA),
                values: numbers,
                positive: None,
            });
        }
        if 2 * distinct.len() > values.len() {
            return Err(invalid(format!(
                "target has {} distinct values for {} rows: too many classes to learn \
                 (fewer than two rows per class on average; is it an ID or free text?)",
                distinct.len(),
                values.len()
            )));
        }
        let mut classes: Vec<String> = distinct.iter().map(|c| c.to_string()).collect();
        let numeric: Option<Vec<f64>> = classes.iter().map(|c| parse_number(c)).collect();
        if let Some(nums) = numeric {
            let mut pairs: Vec<(f64, String)> = nums.into_iter().zip(classes).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            classes = pairs.into_iter().map(|p| p.1).collect();
        }
        let index: BTreeMap<&str, u32> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u32))
            .collect();
        let labels: Vec<u32> = values.iter().map(|v| index[v]).collect();
        let mut target = Target {
            column: name.to_string(),
            task: Task::Multiclass,
            reason: format!("multiclass: {} classes", classes.len()),
            classes,
            labels,
            values: Vec::new(),
            positive: None,
        };
        if Task::of_classes(target.classes.len()) == Task::Binary {
            let (positive, why) =
                positive_class(&target, spec.positive.as_deref()).map_err(invalid)?;
            target.task = Task::Binary;
            target.positive = Some(positive);
            target.reason = format!(
                "binary: two classes, positive class '{}' ({why})",
                target.classes[positive as usize]
            );
        } else if let Some(p) = &spec.positive {
            return Err(invalid(format!(
                "--positive '{p}': the target has {} classes, not two",
                target.classes.len()
            )));
        }
        Ok(target)
    }

    /// The target in column `name`, its task detected (see [`Dataset::target_with`]).
    pub fn target(&self, name: &str) -> Result<Target, DataError> {
        self.target_with(&TargetSpec::column(name))
    }
}

/// The positive class of a two-class target and why: the one the user named, a class named like
/// a positive answer, else the rarer class (the second on a tie).
fn positive_class(target: &Target, asked: Option<&str>) -> Result<(u32, &'static str), String> {
    if let Some(p) = asked {
        return target
            .classes
            .iter()
            .position(|c| c == p)
            // `--positive 1.0` for class `1`, as the target's cells are read.
            .or_else(|| {
                let x = parse_number(p)?;
                target
                    .classes
                    .iter()
                    .position(|c| parse_number(c) == Some(x))
            })
            .map(|i| (i as u32, "as asked"))
            .ok_or_else(|| {
                format!(
                    "--positive '{p}' is not a class (classes: {})",
                    target.classes.join(", ")
                )
            });
    }
    if let Some(i) = target.classes.iter().position(|c| {
        POSITIVE_NAMES.contains(&c.to_ascii_lowercase().as_str()) || parse_number(c) == Some(1.0)
    }) {
        return Ok((i as u32, "its name"));
    }
    let counts = target.class_counts();
    Ok(match counts[0].cmp(&counts[1]) {
        std::cmp::Ordering::Less => (0, "the rarer class; --positive to choose"),
        std::cmp::Ordering::Greater => (1, "the rarer class; --positive to choose"),
        std::cmp::Ordering::Equal => (1, "the second of two equal classes; --positive to choose"),
    })
}

/// The cells of a numeric column with each number's spellings (`1`, `1.0`, `01`) replaced by
/// its most common one (the first in sort order on a tie): one number, one class.
fn one_spelling_per_number<'a>(values: &[&'a str], mark: DecimalMark) -> Vec<&'a str> {
    let mut spellings: HashMap<u64, BTreeMap<&'a str, usize>> = HashMap::new();
    for v in values {
        if let Some(x) = parse_number_in(v, mark) {
            *spellings
                .entry(number_key(x))
                .or_default()
                .entry(v)
                .or_default() += 1;
        }
    }
    let chosen: HashMap<u64, &'a str> = spellings
        .into_iter()
        .map(|(bits, counts)| {
            let best = counts
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(s, _)| *s)
                .unwrap_or_default();
            (bits, best)
        })
        .collect();
    values
        .iter()
        .map(|v| parse_number_in(v, mark).map_or(*v, |x| chosen[&number_key(x)]))
        .collect()
}

/// Each value's quantile stratum `0..k` by rank (ties broken by row order), so strata have equal
/// sizes even when many values repeat.
fn quantile_strata(values: &[f32], k: usize) -> Vec<u32> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut strata = vec![0u32; values.len()];
    for (rank, &r) in order.iter().enumerate() {
        strata[r] = (rank * k / values.len()) as u32;
    }
    strata
}

/// The class predicted from one row's probabilities `p`: for two classes with a `positive`
/// one and a `threshold`, the positive class when its probability reaches the threshold;
/// otherwise the most probable class (the first on ties).
pub fn decide_class(p: &[f32], positive: Option<usize>, threshold: Option<f32>) -> usize {
    match (positive, threshold) {
        (Some(pos), Some(t)) if p.len() == 2 && pos < 2 => {
            if p[pos] >= t {
                pos
            } else {
                1 - pos
            }
        }
        _ => p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map_or(0, |(k, _)| k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Column, Dataset};

    fn dataset(kind: ColumnType, values: &[&str]) -> Dataset {
        Dataset {
            source: "t.csv".into(),
            base_dir: ".".into(),
            columns: vec![Column {
                name: "y".into(),
                kind,
                values: values.iter().map(|v| Some(v.to_string())).collect(),
            }],
            skipped: Vec::new(),
        }
    }

    fn spec(task: Option<TaskChoice>, positive: Option<&str>) -> TargetSpec {
        TargetSpec {
            column: "y".into(),
            task,
            positive: positive.map(str::to_string),
        }
    }

    #[test]
    fn a_numeric_target_with_many_values_is_regression_with_balanced_strata() {
        let values: Vec<String> = (0..50).map(|i| format!("{}", (i * 7) % 50)).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let t = dataset(ColumnType::Numeric, &refs).target("y").unwrap();
        assert_eq!(t.task, Task::Regression);
        assert!(t.reason.contains("50 distinct values"), "{}", t.reason);
        assert_eq!(t.n_outputs(), 1);
        assert_eq!(t.values[1], 7.0);
        let mut sizes = [0usize; REGRESSION_STRATA];
        for (&s, &v) in t.labels.iter().zip(&t.values) {
            sizes[s as usize] += 1;
            assert_eq!(s as usize, v as usize / 10, "value {v} in stratum {s}");
        }
        assert_eq!(sizes, [10; REGRESSION_STRATA]);
        let rows = t.rows(&[0, 1]);
        assert_eq!(rows, TargetRows::Values(vec![0.0, 7.0]));
        // Asked for classification, the same column has 50 classes: refused as too many.
        let e = dataset(ColumnType::Numeric, &refs)
            .target_with(&spec(Some(TaskChoice::Classification), None))
            .unwrap_err();
        assert!(e.to_string().contains("too many classes"), "{e}");
    }

    #[test]
    fn two_classes_are_binary_with_a_positive_class() {
        let ds = dataset(ColumnType::Categorical, &["no", "yes", "no", "no"]);
        let t = ds.target("y").unwrap();
        assert_eq!((t.task, t.positive_class()), (Task::Binary, Some("yes")));
        let ds = dataset(ColumnType::Categorical, &["rock", "jazz", "rock", "rock"]);
        let t = ds.target("y").unwrap();
        assert_eq!(t.positive_class(), Some("jazz"), "the rarer class");
        assert!(t.reason.contains("rarer"), "{}", t.reason);
        let t = ds.target_with(&spec(None, Some("rock"))).unwrap();
        assert_eq!(t.positive_class(), Some("rock"));
        let e = ds.target_with(&spec(None, Some("pop"))).unwrap_err();
        assert!(e.to_string().contains("'pop' is not a class"), "{e}");
        assert_eq!(Task::Binary.metric(), Metric::Auc);
    }

    /// One number, one class: `1`, `1.0` and `01` are one class, named by its most common
    /// spelling; a `1.0`/`0.0` target has `1.0` as its positive class, as `1`/`0` has `1`.
    #[test]
    fn spellings_of_one_number_are_one_class() {
        let ds = dataset(
            ColumnType::Numeric,
            &["1", "1.0", "01", "1.0", "2", "2.0", "3", "-0", "0", "0"],
        );
        let t = ds.target("y").unwrap();
        assert_eq!(t.classes, ["0", "1.0", "2", "3"]);
        assert_eq!(t.labels, [1, 1, 1, 1, 2, 2, 3, 0, 0, 0]);
        let ds = dataset(ColumnType::Numeric, &["0.0", "1.0", "0.0", "1.0"]);
        let t = ds.target("y").unwrap();
        assert_eq!((t.task, t.positive_class()), (Task::Binary, Some("1.0")));
        // `--positive` is read as the cells are.
        let t = ds.target_with(&spec(None, Some("0"))).unwrap();
        assert_eq!(t.positive_class(), Some("0.0"));
        // 15 numbers, each written two ways: 15 classes, not a regression on 30 values.
        let values: Vec<String> = (0..60)
            .map(|i| match i % 2 {
                0 => format!("{}", i % 15),
                _ => format!("{}.0", i % 15),
            })
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let t = dataset(ColumnType::Numeric, &refs).target("y").unwrap();
        assert_eq!((t.task, t.classes.len()), (Task::Multiclass, 15));
        // Equal classes: the second is positive, and the reason says why.
        let t = dataset(ColumnType::Categorical, &["a", "b", "b", "a"])
            .target("y")
            .unwrap();
        assert_eq!(t.positive_class(), Some("b"));
        assert!(
            t.reason.contains("the second of two equal classes"),
            "{}",
            t.reason
        );
    }

    #[test]
    fn bad_regression_targets_are_refused_with_the_row() {
        let ds = dataset(ColumnType::Text, &["1.5", "2", "many", "4"]);
        let e = ds
            .target_with(&spec(Some(TaskChoice::Regression), None))
            .unwrap_err();
        assert!(
            e.to_string().contains("row 4: 'many' is not a number"),
            "{e}"
        );
        let ds = dataset(ColumnType::Numeric, &["3", "3", "3"]);
        let e = ds
            .target_with(&spec(Some(TaskChoice::Regression), None))
            .unwrap_err();
        assert!(e.to_string().contains("one value only"), "{e}");
        let ds = dataset(ColumnType::Numeric, &["1", "2", "3", "4"]);
        let e = ds
            .target_with(&spec(Some(TaskChoice::Regression), Some("1")))
            .unwrap_err();
        assert!(e.to_string().contains("regression target"), "{e}");
        let ds = dataset(ColumnType::Categorical, &["a", "b", "c", "a", "b", "c"]);
        let e = ds.target_with(&spec(None, Some("a"))).unwrap_err();
        assert!(e.to_string().contains("3 classes, not two"), "{e}");
    }
}
