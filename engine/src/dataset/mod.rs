//! Dataset ingestion: read a CSV (or a folder of class folders of images), infer column types,
//! validate images, and describe the data ([`profile`]).
//!
//! Row numbers in messages and in [`SkippedRow`] follow spreadsheet numbering: the header is
//! row 1 and the first data record is row 2 (with quoted newlines a record may span several
//! lines; the row number counts records, messages also give the line).

mod csv_source;
mod dates;
mod error;
mod folder;
pub use folder::{FOLDER_CLASS_COLUMN, FOLDER_IMAGE_COLUMN};
mod images;
mod infer;
mod number;
mod profile;
mod target;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use dates::{DateParts, DayMonthOrder, OrderEvidence, parse_date, parse_date_in};
pub use error::DataError;
pub use images::{IMAGE_EXTENSIONS, check_image, has_image_extension};
pub use infer::{MOSTLY_PARSED_SHARE, infer_type, is_id_like};
pub use number::{
    DecimalMark, MarkEvidence, NUMBER_LIMIT, is_out_of_range, number_key, parse_number,
    parse_number_in,
};
pub use profile::{
    ClassCount, ColumnProfile, ColumnWarning, DuplicateImages, Excluded, Leakage, Profile,
    TargetSummary, decimal_mark_warning, leakage_purity, predict_date_order_warning, profile,
    unparsed_cells_warning,
};
pub use target::{
    MAX_NUMERIC_CLASSES, REGRESSION_STRATA, Target, TargetRows, TargetSpec, Task, TaskChoice,
    decide_class,
};

/// The kind of a column, which decides how it is featurized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Paths to image files.
    Image,
    /// Free text (several words, many distinct values).
    Text,
    /// A small set of repeated labels.
    Categorical,
    /// Numbers.
    Numeric,
    /// Dates (year, month, day of week are derived).
    Date,
}

impl ColumnType {
    /// All kinds, in display order.
    pub const ALL: [ColumnType; 5] = [
        ColumnType::Image,
        ColumnType::Text,
        ColumnType::Categorical,
        ColumnType::Numeric,
        ColumnType::Date,
    ];

    /// The lowercase name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Image => "image",
            ColumnType::Text => "text",
            ColumnType::Categorical => "categorical",
            ColumnType::Numeric => "numeric",
            ColumnType::Date => "date",
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A column type name that is not one of `image`, `text`, `categorical`, `numeric`, `date`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown column type '{0}' (expected image, text, categorical, numeric or date)")]
pub struct UnknownColumnType(pub String);

impl FromStr for ColumnType {
    type Err = UnknownColumnType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "image" | "img" => Ok(ColumnType::Image),
            "text" => Ok(ColumnType::Text),
            "categorical" | "category" | "cat" => Ok(ColumnType::Categorical),
            "numeric" | "number" | "num" => Ok(ColumnType::Numeric),
            "date" => Ok(ColumnType::Date),
            _ => Err(UnknownColumnType(s.to_string())),
        }
    }
}

/// Parses a `column=kind` type override as given on the command line (`--type cover=image`).
pub fn parse_type_override(s: &str) -> Result<(String, ColumnType), String> {
    // The kind is after the last `=`: a column name may hold one.
    let (col, kind) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("type override '{s}' must look like COLUMN=KIND"))?;
    let kind = kind.parse::<ColumnType>().map_err(|e| e.to_string())?;
    if col.trim().is_empty() {
        return Err(format!("type override '{s}' has an empty column name"));
    }
    Ok((col.trim().to_string(), kind))
}

/// Refuses a column given two different kinds (`--type x=text --type x=numeric`): which one
/// was meant is not ours to guess. The error names the column and both kinds.
pub fn check_type_overrides(overrides: &[(String, ColumnType)]) -> Result<(), (String, String)> {
    for (i, (col, kind)) in overrides.iter().enumerate() {
        if let Some((_, other)) = overrides[..i].iter().find(|(c, k)| c == col && k != kind) {
            return Err((
                col.clone(),
                format!(
                    "its type is given twice, as {} and as {}; give one",
                    other.as_str(),
                    kind.as_str()
                ),
            ));
        }
    }
    Ok(())
}

/// One column: its name, inferred (or overridden) kind and raw cell values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Header name.
    pub name: String,
    /// Kind of the column.
    pub kind: ColumnType,
    /// Raw cells (trimmed); `None` = missing (empty, `NA`, `N/A`, `NaN`, `null`, `None`, `#N/A`, `?`).
    pub values: Vec<Option<String>>,
}

impl Column {
    /// The cells parsed as numbers with the column's own decimal mark
    /// ([`Column::decimal_mark`]); `None` where missing or not a finite number.
    pub fn as_f64(&self) -> Vec<Option<f64>> {
        self.as_f64_in(self.decimal_mark())
    }

    /// The cells parsed as numbers written with `mark`.
    pub fn as_f64_in(&self, mark: DecimalMark) -> Vec<Option<f64>> {
        self.values
            .iter()
            .map(|v| parse_number_in(v.as_deref()?, mark))
            .collect()
    }

    /// What the cells show about the column's decimal mark.
    pub fn mark_evidence(&self) -> MarkEvidence {
        MarkEvidence::of_cells(self.values.iter().map(Option::as_deref))
    }

    /// The column's decimal mark (see [`MarkEvidence::decided`]; a point without evidence).
    pub fn decimal_mark(&self) -> DecimalMark {
        self.mark_evidence().mark()
    }

    /// The mark to read the column with when predicting: its own when its cells show one, else
    /// `fitted`, the model's.
    pub fn decimal_mark_or(&self, fitted: DecimalMark) -> DecimalMark {
        self.mark_evidence().decided().unwrap_or(fitted)
    }

    /// The day/month order of the column's `A/B/YYYY` dates (see [`DayMonthOrder::of_cells`]).
    pub fn date_order(&self) -> DayMonthOrder {
        DayMonthOrder::of_cells(self.values.iter().map(Option::as_deref))
    }

    /// The order to read the column's dates in when predicting: its own when any cell shows one
    /// (a file written day-first is read day-first whatever the training file was), else
    /// `fitted`, the order the model was fitted with.
    pub fn date_order_or(&self, fitted: DayMonthOrder) -> DayMonthOrder {
        self.order_evidence().decided().unwrap_or(fitted)
    }

    /// What the cells show about the column's day/month order.
    pub fn order_evidence(&self) -> OrderEvidence {
        OrderEvidence::of_cells(self.values.iter().map(Option::as_deref))
    }

    /// Cells `rows` parsed as numbers written with `mark`.
    pub fn rows_as_f64_in(&self, rows: &[usize], mark: DecimalMark) -> Vec<Option<f64>> {
        rows.iter()
            .map(|&r| parse_number_in(self.values[r].as_deref()?, mark))
            .collect()
    }

    /// Cells `rows` parsed as dates, `A/B/YYYY` in `order`.
    pub fn rows_as_dates_in(&self, rows: &[usize], order: DayMonthOrder) -> Vec<Option<DateParts>> {
        rows.iter()
            .map(|&r| parse_date_in(self.values[r].as_deref()?, order))
            .collect()
    }

    /// The cells parsed as dates in the column's own order ([`Column::date_order`]); `None`
    /// where missing or not a date.
    pub fn as_dates(&self) -> Vec<Option<DateParts>> {
        self.as_dates_in(self.date_order())
    }

    /// The cells parsed as dates, `A/B/YYYY` in `order` (a fitted model's, when predicting).
    pub fn as_dates_in(&self, order: DayMonthOrder) -> Vec<Option<DateParts>> {
        self.values
            .iter()
            .map(|v| parse_date_in(v.as_deref()?, order))
            .collect()
    }

    /// Number of missing cells.
    pub fn n_missing(&self) -> usize {
        self.values.iter().filter(|v| v.is_none()).count()
    }

    /// Number of distinct values as the column's kind reads them: numbers for a numeric column
    /// (`1`, `1.0` and `$1` are one value), dates for a date column, where cells that do not
    /// parse are missing; raw cells otherwise.
    pub fn n_distinct(&self) -> usize {
        use std::collections::HashSet;
        match self.kind {
            ColumnType::Numeric => self
                .as_f64()
                .into_iter()
                .flatten()
                .map(number_key)
                .collect::<HashSet<_>>()
                .len(),
            ColumnType::Date => self
                .values
                .iter()
                .flatten()
                .filter(|v| parse_date(v).is_some())
                .collect::<HashSet<_>>()
                .len(),
            _ => self.values.iter().flatten().collect::<HashSet<_>>().len(),
        }
    }
}

/// A row left out of the dataset, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// Spreadsheet row number in the file: the header is row 1, the first data record row 2.
    /// For a folder of class folders, the 1-based position in the sorted file list plus 1.
    pub row: usize,
    /// The column whose cell caused the skip.
    pub column: String,
    /// Human-readable reason.
    pub reason: String,
}

/// A loaded table: typed columns of equal length, plus the rows that were left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// The CSV file or folder the data came from.
    pub source: PathBuf,
    /// The folder relative image paths are resolved against (the CSV's folder).
    pub base_dir: PathBuf,
    /// The columns, in file order.
    pub columns: Vec<Column>,
    /// Rows that were left out (unreadable image, missing target, ...).
    pub skipped: Vec<SkippedRow>,
}

impl Dataset {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    /// The spreadsheet row (header = 1) of loaded row `index`, counting the rows skipped
    /// before it — the number every message gives a row.
    pub fn file_row(&self, index: usize) -> usize {
        file_row(&self.skipped, index)
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column named `name`, or an [`DataError::UnknownColumn`] naming the file.
    pub fn require_column(&self, name: &str) -> Result<&Column, DataError> {
        self.column(name).ok_or_else(|| DataError::UnknownColumn {
            path: self.source.clone(),
            column: name.to_string(),
            available: name_list(&self.column_names()),
        })
    }

    /// Column names in file order.
    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// Resolves an image cell value to a path (relative values are relative to `base_dir`).
    pub fn image_path(&self, value: &str) -> PathBuf {
        images::resolve(&self.base_dir, value)
    }

    /// Refuses the first cell of `column` whose path leaves the data folder (`..`, an absolute
    /// path, a symlink out), as loading refuses an image column's without `--allow-outside`: for
    /// a column loaded as something else and read as image paths.
    pub fn require_paths_inside(&self, column: &str) -> Result<(), DataError> {
        let col = self.require_column(column)?;
        match images::first_outside(&self.base_dir, &col.values) {
            Some((i, v)) => Err(DataError::PathEscapes {
                path: self.source.clone(),
                row: self.file_row(i),
                column: column.to_string(),
                value: v.clone(),
                base: self.base_dir.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// How to load a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Target column: rows with a missing target are skipped and reported; must exist.
    pub target: Option<String>,
    /// Column kinds that replace the inferred ones.
    pub type_overrides: Vec<(String, ColumnType)>,
    /// Allow image paths outside the data folder (via `..`, absolute paths or symlinks).
    pub allow_outside: bool,
    /// Images with more pixels than this (read from the header, before decoding) are refused.
    pub max_image_pixels: u64,
    /// If more than this share of rows has an unreadable image, loading fails.
    pub max_bad_row_share: f64,
    /// Decode every image to validate it (in parallel); otherwise only paths are checked.
    pub check_images: bool,
    /// The image problems found when these data were last checked (a project reopening the data
    /// `run` checked): no image is decoded again, those rows are skipped as they were, and the
    /// other paths are only checked to be regular files.
    pub known_image_problems: Option<Vec<SkippedRow>>,
    /// Read every column as text (no type inference), unless overridden.
    pub all_text: bool,
}

/// Pillow's default `MAX_IMAGE_PIXELS` (the limit of the shared image decoder).
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = neural::decode::DEFAULT_MAX_PIXELS;

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            target: None,
            type_overrides: Vec::new(),
            allow_outside: false,
            max_image_pixels: DEFAULT_MAX_IMAGE_PIXELS,
            max_bad_row_share: 0.1,
            check_images: true,
            known_image_problems: None,
            all_text: false,
        }
    }
}

/// Loads a CSV file, or a folder of class folders of images (`data/<class>/*.jpg`, which becomes
/// the two columns `image` and `class`), infers column types, applies overrides, checks image
/// paths (and decodes images when `check_images`), and drops rows with a bad image or a missing
/// target, listing them in [`Dataset::skipped`].
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Dataset, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::NotFound {
            path: path.to_path_buf(),
        },
        _ => DataError::Io {
            path: path.to_path_buf(),
            error: e,
        },
    })?;
    let raw = if meta.is_dir() {
        folder::read_class_folders(path)?
    } else {
        csv_source::read_csv(path)?
    };
    finish(raw, opts)
}

/// A table as read, before typing and checks.
pub(crate) struct RawTable {
    pub source: PathBuf,
    pub base_dir: PathBuf,
    pub names: Vec<String>,
    /// Column-major cells.
    pub cells: Vec<Vec<Option<String>>>,
    /// Kinds known from the source (the folder reader knows its columns).
    pub known_kinds: Vec<Option<ColumnType>>,
}

fn finish(raw: RawTable, opts: &LoadOptions) -> Result<Dataset, DataError> {
    let RawTable {
        source,
        base_dir,
        names,
        cells,
        known_kinds,
    } = raw;
    let unknown = |column: &str| DataError::UnknownColumn {
        path: source.clone(),
        column: column.to_string(),
        available: name_list(&names),
    };
    if let Some(t) = &opts.target
        && !names.contains(t)
    {
        return Err(unknown(t));
    }
    for (col, _) in &opts.type_overrides {
        if !names.contains(col) {
            return Err(unknown(col));
        }
    }
    check_type_overrides(&opts.type_overrides).map_err(|(column, message)| {
        DataError::InvalidColumn {
            path: source.clone(),
            column,
            message,
        }
    })?;
    let n_rows = cells.first().map_or(0, Vec::len);
    if n_rows == 0 {
        return Err(DataError::NoRows {
            path: source,
            detail: String::new(),
            skipped: Vec::new(),
        });
    }
    let mut columns: Vec<Column> = names
        .iter()
        .zip(cells)
        .zip(known_kinds)
        .map(|((name, values), known)| {
            let kind = opts
                .type_overrides
                .iter()
                .rev()
                .find(|(c, _)| c == name)
                .map(|(_, k)| *k)
                .or(opts.all_text.then_some(ColumnType::Text))
                .or(known)
                .unwrap_or_else(|| infer_type(&values));
            Column {
                name: name.clone(),
                kind,
                values,
            }
        })
        .collect();

    // Rows to drop: index -> first reason.
    let mut bad: BTreeMap<usize, SkippedRow> = BTreeMap::new();
    let image_problems = images::check_image_columns(&source, &base_dir, &columns, opts)?;
    let n_image_bad = image_problems.len();
    for (i, s) in image_problems {
        bad.entry(i).or_insert(s);
    }
    if n_image_bad > 0 && (n_image_bad as f64) > opts.max_bad_row_share * n_rows as f64 {
        let examples = bad
            .values()
            .take(3)
            .map(|s| format!("row {} column '{}': {}", s.row, s.column, s.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(DataError::TooManyBadRows {
            path: source,
            bad: n_image_bad,
            total: n_rows,
            share: 100.0 * n_image_bad as f64 / n_rows as f64,
            allowed: 100.0 * opts.max_bad_row_share,
            examples,
        });
    }
    if let Some(t) = &opts.target
        && let Some(col) = columns.iter().find(|c| &c.name == t)
    {
        let numbers = col.as_f64();
        for (i, v) in col.values.iter().enumerate() {
            // A numeric target's cell that is no number is as missing as an empty one.
            let reason = match v.as_deref() {
                None => "target value is missing".to_string(),
                Some(v) if col.kind == ColumnType::Numeric && numbers[i].is_none() => {
                    let shown = profile::shorten(v, 40);
                    if is_out_of_range(v) {
                        format!("target value '{shown}' is beyond ±{NUMBER_LIMIT:.1e}")
                    } else {
                        format!("target value '{shown}' is not a number (the column is numeric)")
                    }
                }
                Some(_) => continue,
            };
            bad.entry(i).or_insert(SkippedRow {
                row: i + 2,
                column: t.clone(),
                reason,
            });
        }
    }
    if !bad.is_empty() {
        for col in &mut columns {
            let values = std::mem::take(&mut col.values);
            col.values = values
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !bad.contains_key(i))
                .map(|(_, v)| v)
                .collect();
        }
    }
    let skipped: Vec<SkippedRow> = bad.into_values().collect();
    let ds = Dataset {
        source,
        base_dir,
        columns,
        skipped,
    };
    if ds.n_rows() == 0 {
        return Err(DataError::NoRows {
            path: ds.source.clone(),
            detail: match ds.skipped.first() {
                Some(first) => format!(
                    " (all {} rows were skipped; the first, row {}, for column '{}': {})",
                    ds.skipped.len(),
                    first.row,
                    first.column,
                    first.reason
                ),
                None => String::new(),
            },
            skipped: ds.skipped,
        });
    }
    Ok(ds)
}

/// Column names for a message: all of them, or the first [`LISTED_NAMES`] and how many more (a
/// file of 1,600 feature columns would bury the message).
fn name_list<S: AsRef<str>>(names: &[S]) -> String {
    const LISTED_NAMES: usize = 20;
    let shown: Vec<&str> = names.iter().take(LISTED_NAMES).map(AsRef::as_ref).collect();
    match names.len().checked_sub(LISTED_NAMES) {
        Some(more) if more > 0 => format!("{}, … and {more} more", shown.join(", ")),
        _ => shown.join(", "),
    }
}

/// The spreadsheet row (header = 1) of loaded row `index`, counting the rows skipped before it.
pub(crate) fn file_row(skipped: &[SkippedRow], index: usize) -> usize {
    let mut row = index + 2;
    for s in skipped {
        if s.row <= row {
            row += 1;
        }
    }
    row
}
