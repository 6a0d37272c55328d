//! A deployable model: what `autopilot predict` applies to new rows.
//!
//! **Which model predicts.** A cross-validated blueprint predicts new rows with the **mean of
//! its fold models' probabilities** (the fold models are kept; nothing is refitted). This is
//! exactly the predictor whose holdout score the leaderboard shows (the holdout is scored with
//! the same mean), each fold model saw 80% of the training rows, and no extra training is
//! needed. A blender applies its blender (fitted on the members' out-of-fold predictions) to the
//! members' fold-mean predictions, as it was scored on the holdout.
//!
//! **New data.** Columns are matched by name and checked against the training schema: a missing
//! input column is an error naming it; extra columns are ignored. A category not seen in
//! training (or a missing value) sets no one-hot column ("unknown"). A row whose image cannot be
//! read is **not predicted**: its probability and prediction cells are left empty and the row is
//! reported (a model trained with images has never seen a row without image features, so a
//! prediction "from the other columns" would be one it was not validated for). An empty image
//! cell is treated as in training (zero image features), with a warning naming the rows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use blueprints::blend::Blender;

use super::{FittedBlock, FoldMean, Model};
use crate::dataset::{self, ColumnType, LoadOptions, Task, unparsed_cells_warning};
use crate::features::{self, FeatureInputs, FeatureKey, FeatureSettings, ImageKey};
use crate::project::Project;

/// One cross-validated blueprint's fold models.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberModel {
    /// Leaderboard id of the blueprint.
    pub model_id: String,
    /// Readable blueprint.
    pub blueprint: String,
    /// One fitted model per CV fold.
    pub folds: Vec<Model>,
}

impl MemberModel {
    /// Mean of the fold models' probabilities for `rows`.
    pub fn predict_proba(
        &self,
        inputs: &FeatureInputs,
        rows: &[usize],
    ) -> anyhow::Result<Array2<f32>> {
        let mut mean = FoldMean::default();
        for (i, m) in self.folds.iter().enumerate() {
            // An edited model can hold arrays of the wrong shape, which the estimators assert
            // against: an error naming the model, not a crash.
            let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                m.predict_proba(inputs, rows)
            }))
            .map_err(|_| {
                anyhow::anyhow!(
                    "inconsistent model: fold model {i} of {} failed while predicting \
                     (a damaged or edited model?)",
                    self.model_id
                )
            })??;
            mean.add(&p)?;
        }
        mean.mean()
            .with_context(|| format!("model {} has no fold models", self.model_id))
    }
}

/// A model ready to predict new data: one blueprint, or a blender of several.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Predictor {
    /// Leaderboard id of the model.
    pub model_id: String,
    /// Readable blueprint.
    pub blueprint: String,
    /// Target column name (output columns are `<target>_<class>_PROBABILITY`).
    pub target: String,
    /// Class names, index = label (empty for regression).
    pub classes: Vec<String>,
    /// The task: a regressor writes one value per row.
    #[serde(default)]
    pub task: Task,
    /// Binary targets: the index of the positive class ...
    #[serde(default)]
    pub positive: Option<usize>,
    /// ... and the positive-class probability from which a row is predicted positive (the
    /// model's max-F1 threshold; the most probable class without one).
    #[serde(default)]
    pub threshold: Option<f32>,
    /// The blueprint (one member), or a blender's members.
    pub members: Vec<MemberModel>,
    /// The fitted blender, for a blender model.
    pub blender: Option<Box<dyn Blender>>,
    /// Column kinds forced at training (applied to the new data where present).
    #[serde(default)]
    pub type_overrides: BTreeMap<String, ColumnType>,
    /// Columns copied to the output when present in the new data (ID-like columns of training).
    #[serde(default)]
    pub id_columns: Vec<String>,
    /// Whether image paths may point outside the data folder.
    #[serde(default)]
    pub allow_outside: bool,
}

/// A row that was not predicted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowProblem {
    /// Spreadsheet row number in the input (header = 1, first data row = 2).
    pub row: usize,
    /// Column concerned.
    pub column: String,
    /// Why.
    pub reason: String,
}

/// What [`Predictor::predict_csv`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionReport {
    /// Data rows in the input.
    pub rows: usize,
    /// Rows with a prediction.
    pub predicted: usize,
    /// Rows without one, and why.
    pub problems: Vec<RowProblem>,
    /// Cells read as missing, by column (a numeric column's cells that are not numbers).
    pub warnings: Vec<String>,
    /// Output columns.
    pub columns: Vec<String>,
}

/// Where the learned features of new data come from.
#[derive(Debug, Clone, Default)]
pub struct FeatureSource<'a> {
    /// A project whose feature cache is used (and extended with the new rows).
    pub project: Option<&'a Project>,
    /// Weight files by backbone name (from an exported model), instead of the model zoo.
    pub weights: BTreeMap<String, PathBuf>,
}

impl Predictor {
    /// What makes the model unusable, if anything: a task that does not fit its classes, a
    /// member without fold models, fold models fitted for other classes or another task, a
    /// positive class that does not exist. (An edited `.apm` whose checksums were recomputed
    /// loads; this catches what would otherwise fail later with a misleading message.)
    pub fn inconsistency(&self) -> Option<String> {
        let n = self.classes.len();
        let task_fits = match self.task {
            Task::Regression => n == 0,
            Task::Binary => n == 2,
            Task::Multiclass => n >= 2,
        };
        if !task_fits {
            return Some(format!("a {} task with {n} classes", self.task.as_str()));
        }
        if self.members.is_empty() {
            return Some("no member models".into());
        }
        if self.members.len() > 1 && self.blender.is_none() {
            return Some(format!("{} members but no blender", self.members.len()));
        }
        if let Some(p) = self.positive.filter(|&p| p >= n) {
            return Some(format!("positive class {p} of {n} classes"));
        }
        for m in &self.members {
            if m.folds.is_empty() {
                return Some(format!("member {} has no fold models", m.model_id));
            }
            if m.folds
                .iter()
                .any(|f| f.classes != self.classes || f.task != self.task)
            {
                return Some(format!(
                    "member {}'s fold models were fitted for other classes or another task",
                    m.model_id
                ));
            }
        }
        None
    }

    /// Input columns the model reads, sorted.
    pub fn required_columns(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .members
            .iter()
            .flat_map(|m| m.folds.iter())
            .flat_map(|f| f.pipeline.input_columns())
            .collect();
        set.into_iter().collect()
    }

    /// Every fitted block of every member's fold pipelines.
    fn fitted_blocks(&self) -> impl Iterator<Item = &FittedBlock> {
        self.members
            .iter()
            .flat_map(|m| m.folds.iter())
            .flat_map(|f| f.pipeline.blocks.iter())
    }

    /// The columns the model reads as numbers or dates, with that kind, sorted.
    pub fn parsed_columns(&self) -> Vec<(String, ColumnType)> {
        let set: BTreeSet<(String, ColumnType)> = self
            .fitted_blocks()
            .filter_map(|b| match b {
                FittedBlock::Numeric(e) => Some((e.column.clone(), ColumnType::Numeric)),
                FittedBlock::Date(e) => Some((e.column.clone(), ColumnType::Date)),
                _ => None,
            })
            .collect();
        set.into_iter().collect()
    }

    /// The date columns the model reads, with the day/month order it was fitted with.
    fn fitted_date_orders(&self) -> BTreeMap<String, dataset::DayMonthOrder> {
        self.fitted_blocks()
            .filter_map(|b| match b {
                FittedBlock::Date(e) => Some((e.column.clone(), e.order)),
                _ => None,
            })
            .collect()
    }

    /// The numeric columns the model reads, with the decimal mark it was fitted with.
    fn fitted_decimal_marks(&self) -> BTreeMap<String, dataset::DecimalMark> {
        self.fitted_blocks()
            .filter_map(|b| match b {
                FittedBlock::Numeric(e) => Some((e.column.clone(), e.mark)),
                _ => None,
            })
            .collect()
    }

    /// The learned features (image backbones, sentence embeddings) the model reads, sorted.
    pub fn learned_keys(&self) -> Vec<FeatureKey> {
        let set: BTreeSet<FeatureKey> = self
            .fitted_blocks()
            .filter_map(FittedBlock::learned_key)
            .collect();
        set.into_iter().collect()
    }

    /// Image features the model needs.
    pub fn image_keys(&self) -> Vec<ImageKey> {
        self.learned_keys()
            .into_iter()
            .filter_map(|k| match k {
                FeatureKey::Image(k) => Some(k),
                FeatureKey::TextEmbedding(_) => None,
            })
            .collect()
    }

    /// Class probabilities for `rows` of `inputs` (`rows × classes`).
    pub fn predict_proba(
        &self,
        inputs: &FeatureInputs,
        rows: &[usize],
    ) -> anyhow::Result<Array2<f32>> {
        let outputs = if self.task.is_regression() {
            1
        } else {
            self.classes.len()
        };
        let preds: Vec<Array2<f32>> = self
            .members
            .iter()
            .map(|m| {
                let p = m.predict_proba(inputs, rows)?;
                anyhow::ensure!(
                    p.ncols() == outputs,
                    "inconsistent model: member {} gives {} outputs per row, not {outputs}",
                    m.model_id,
                    p.ncols()
                );
                Ok(p)
            })
            .collect::<anyhow::Result<_>>()?;
        match &self.blender {
            Some(b) => {
                let views: Vec<_> = preds.iter().map(|p| p.view()).collect();
                Ok(b.blend(&views)?)
            }
            None => preds.into_iter().next().context("the model has no members"),
        }
    }

    /// Output column names: id columns present in the input, one probability column per class
    /// (none for regression), the prediction.
    fn output_columns(&self, passthrough: &[String]) -> Vec<String> {
        let mut cols = passthrough.to_vec();
        if !self.task.is_regression() {
            cols.extend(
                self.classes
                    .iter()
                    .map(|c| format!("{}_{c}_PROBABILITY", self.target)),
            );
        }
        cols.push(format!("{}_PREDICTION", self.target));
        cols
    }

    /// The output cells of one predicted row: the class probabilities and the predicted class
    /// (the positive one of a binary target when its probability reaches the threshold, else
    /// the most probable), or the predicted value of a regression.
    fn output_cells(&self, p: &[f32]) -> Vec<String> {
        if self.task.is_regression() {
            return vec![p.first().map_or_else(String::new, |v| format!("{v}"))];
        }
        let mut cells: Vec<String> = p.iter().map(|v| format!("{v}")).collect();
        let best = crate::dataset::decide_class(p, self.positive, self.threshold);
        cells.push(self.classes.get(best).cloned().unwrap_or_default());
        cells
    }

    /// Predicts every row of the CSV `data` and writes `out` (atomically): rows in input order,
    /// id columns first, then `<target>_<class>_PROBABILITY` per class and `<target>_PREDICTION`.
    /// See the module docs for the handling of missing columns, unseen categories and
    /// unreadable images.
    pub fn predict_csv(
        &self,
        data: &Path,
        out: &Path,
        source: &FeatureSource,
    ) -> anyhow::Result<PredictionReport> {
        // Pass 1: every row as text (no image checks, nothing dropped), and the column names.
        let raw = dataset::load(
            data,
            &LoadOptions {
                all_text: true,
                check_images: false,
                max_bad_row_share: 1.0,
                allow_outside: true,
                ..LoadOptions::default()
            },
        )?;
        let names = raw.column_names();
        let missing: Vec<String> = self
            .required_columns()
            .into_iter()
            .filter(|c| !names.contains(c))
            .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "{}: missing column(s) {} that model {} needs (it reads: {}; the file has: {})",
                data.display(),
                missing
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.model_id,
                self.required_columns().join(", "),
                names.join(", ")
            );
        }
        let n = raw.n_rows();
        // Pass 2: the model's column kinds, images checked; unreadable ones are skipped rows.
        let image_cols: BTreeSet<String> =
            self.image_keys().into_iter().map(|k| k.column).collect();
        let mut overrides: Vec<(String, ColumnType)> = self
            .type_overrides
            .iter()
            .filter(|(c, _)| names.contains(c) && !image_cols.contains(*c))
            .map(|(c, k)| (c.clone(), *k))
            .collect();
        overrides.extend(image_cols.iter().map(|c| (c.clone(), ColumnType::Image)));
        // Columns the model does not read must not drop rows: read them as text.
        let required = self.required_columns();
        overrides.extend(
            names
                .iter()
                .filter(|c| !required.contains(c))
                .map(|c| (c.clone(), ColumnType::Text)),
        );
        // The later kinds above win (a forced kind of a column the model does not read is
        // text here).
        let overrides: BTreeMap<String, ColumnType> = overrides.into_iter().collect();
        let loaded = dataset::load(
            data,
            &LoadOptions {
                type_overrides: overrides.into_iter().collect(),
                check_images: true,
                max_bad_row_share: 1.0,
                allow_outside: self.allow_outside,
                ..LoadOptions::default()
            },
        );
        let mut problems: Vec<RowProblem> = Vec::new();
        // Cells of the columns the model reads as numbers (dates) that are not numbers (dates):
        // read as missing, as in training.
        let mut warnings: Vec<String> = self
            .parsed_columns()
            .into_iter()
            .filter_map(|(name, kind)| Some((raw.column(&name)?, kind)))
            .filter_map(|(c, kind)| {
                let as_parsed = dataset::Column { kind, ..c.clone() };
                unparsed_cells_warning(&as_parsed, &raw.skipped)
            })
            .map(|w| w.message)
            .collect();
        // A column the model reads that is empty in every row: said, as every row then gets
        // the prediction of a missing value (image columns have their own warning below).
        warnings.extend(
            self.required_columns()
                .iter()
                .filter(|name| !image_cols.contains(*name))
                .filter_map(|name| raw.column(name))
                .filter(|c| n > 0 && c.values.iter().all(Option::is_none))
                .map(|c| {
                    format!(
                        "column '{}' is empty in every row ({n}); the model reads it as missing",
                        c.name
                    )
                }),
        );
        // Date columns read in another day/month order than in training, or mixing both.
        warnings.extend(
            self.fitted_date_orders()
                .into_iter()
                .filter_map(|(name, order)| Some((raw.column(&name)?, order)))
                .filter_map(|(c, order)| {
                    dataset::predict_date_order_warning(c, order, &raw.skipped)
                })
                .map(|w| w.message),
        );
        // Numeric columns read with another decimal mark than in training, or with cells only
        // a decimal comma reads among decimal points.
        warnings.extend(
            self.fitted_decimal_marks()
                .into_iter()
                .filter_map(|(name, mark)| Some((raw.column(&name)?, mark)))
                .filter_map(|(c, mark)| dataset::decimal_mark_warning(c, Some(mark), &raw.skipped))
                .map(|w| w.message),
        );
        // Empty image cells are predicted with the image's features missing, as in training.
        warnings.extend(
            image_cols
                .iter()
                .filter_map(|name| raw.column(name))
                .filter_map(|c| empty_image_warning(c, &raw)),
        );
        // Original index of each loaded row, and the predictions by original index.
        let mut proba_of: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
        match loaded {
            Ok(ds) => {
                let skipped: BTreeSet<usize> = ds.skipped.iter().map(|s| s.row - 2).collect();
                problems.extend(ds.skipped.iter().map(|s| RowProblem {
                    row: s.row,
                    column: s.column.clone(),
                    reason: s.reason.clone(),
                }));
                let original: Vec<usize> = (0..n).filter(|i| !skipped.contains(i)).collect();
                if original.len() != ds.n_rows() {
                    anyhow::bail!(
                        "{}: {} rows read but {} kept and {} skipped",
                        data.display(),
                        n,
                        ds.n_rows(),
                        skipped.len()
                    );
                }
                let mut settings = FeatureSettings::default();
                settings.images.weights = source.weights.clone();
                let inputs =
                    features::materialize(source.project, &ds, &self.learned_keys(), &settings)?;
                let unfeaturized = inputs.unfeaturized_rows()?;
                let bad_rows: BTreeSet<usize> = unfeaturized.iter().map(|(r, _)| *r).collect();
                problems.extend(unfeaturized.into_iter().map(|(r, column)| RowProblem {
                    row: original[r] + 2,
                    column,
                    reason: "the image could not be featurized".into(),
                }));
                let rows: Vec<usize> = (0..ds.n_rows()).filter(|r| !bad_rows.contains(r)).collect();
                if !rows.is_empty() {
                    let p = self.predict_proba(&inputs, &rows)?;
                    for (i, &r) in rows.iter().enumerate() {
                        proba_of.insert(original[r], p.row(i).to_vec());
                    }
                }
            }
            Err(crate::dataset::DataError::NoRows { skipped, .. }) if !skipped.is_empty() => {
                // Every row was skipped (unreadable images): nothing to predict, each reported.
                problems.extend(skipped.into_iter().map(|s| RowProblem {
                    row: s.row,
                    column: s.column,
                    reason: s.reason,
                }));
            }
            Err(e) => return Err(e.into()),
        }
        problems.sort_by_key(|p| p.row);

        let passthrough: Vec<String> = self
            .id_columns
            .iter()
            .filter(|c| names.contains(c))
            .cloned()
            .collect();
        let columns = self.output_columns(&passthrough);
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&columns)?;
        let pass_cols: Vec<&dataset::Column> =
            passthrough.iter().filter_map(|c| raw.column(c)).collect();
        for i in 0..n {
            let mut rec: Vec<String> = pass_cols
                .iter()
                .map(|c| c.values[i].clone().unwrap_or_default())
                .collect();
            match proba_of.get(&i) {
                Some(p) => rec.extend(self.output_cells(p)),
                None => rec.extend(std::iter::repeat_n(
                    String::new(),
                    columns.len() - pass_cols.len(),
                )),
            }
            w.write_record(&rec)?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::project::atomic::write_atomic(out, &bytes)?;
        Ok(PredictionReport {
            rows: n,
            predicted: proba_of.len(),
            problems,
            warnings,
            columns,
        })
    }
}

/// Says which rows of image column `col` of `raw` are empty (predicted with that image's
/// features missing, as rows without an image are in training), or `None` when none is.
fn empty_image_warning(col: &dataset::Column, raw: &dataset::Dataset) -> Option<String> {
    let empty: Vec<usize> = (0..col.values.len())
        .filter(|&i| col.values[i].is_none())
        .collect();
    let first = raw.file_row(*empty.first()?);
    let rows = match empty.len() {
        1 => format!("row {first} has"),
        n => format!("{n} rows have (the first: row {first})"),
    };
    Some(format!(
        "column '{}': {rows} no image; predicted with the image's features missing",
        col.name
    ))
}
