//! Errors raised while loading, checking and profiling a dataset.
//!
//! Every message names the file; messages about one cell also name the row (spreadsheet
//! numbering: the header is row 1, the first data record is row 2) and the column.

use std::path::PathBuf;

/// Why a dataset could not be loaded, checked or profiled.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data path does not exist.
    #[error("{path}: no such file or folder")]
    NotFound {
        /// The path that was given.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("{path}: cannot read: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, not repeated as a `source()`).
        error: std::io::Error,
    },
    /// The CSV file has no header row (it is empty or blank).
    #[error("{path}: the CSV file is empty (no header row)")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// The CSV file has a header but no data rows (or every row was skipped).
    #[error("{path}: no data rows{detail}")]
    NoRows {
        /// The file.
        path: PathBuf,
        /// Extra explanation, starting with a separator, or empty.
        detail: String,
        /// The rows skipped, each with its reason (empty when the file had none).
        skipped: Vec<super::SkippedRow>,
    },
    /// The CSV parser failed.
    #[error("{path}: malformed CSV near line {line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// A row has a different number of fields than the header.
    #[error(
        "{path}: row {row} (line {line}) has {found} fields but the header has {expected} \
         (ragged row; check the delimiter and the quoting)"
    )]
    RaggedRow {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number (header = 1).
        row: usize,
        /// 1-based line number where the record starts.
        line: u64,
        /// Number of header fields.
        expected: usize,
        /// Number of fields in this row.
        found: usize,
    },
    /// A quoted field is never closed: the parser would make the rest of the file one cell.
    #[error(
        "{path}: row {row} (line {line}), column '{column}': a quoted field is never closed, so \
         the rest of the file ({lines} more lines) would become this one cell; close the quote \
         (a quote inside a quoted field is written \"\")"
    )]
    UnclosedQuote {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number (header = 1).
        row: usize,
        /// 1-based line number where the record starts.
        line: u64,
        /// The column where the quote opens (or `field N`).
        column: String,
        /// Non-blank lines after the one where that record starts.
        lines: usize,
    },
    /// A cell contains lines that look like whole rows: an unbalanced quote swallowed them.
    #[error(
        "{path}: row {row} (line {line}), column '{column}': the cell spans {lines} lines that \
         look like CSV rows, the only multi-line cell of its column: an unbalanced quote seems \
         to have swallowed the rows after it; fix the quoting"
    )]
    SwallowedRows {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number (header = 1).
        row: usize,
        /// 1-based line number where the record starts.
        line: u64,
        /// The column of the cell.
        column: String,
        /// Continuation lines that look like records.
        lines: usize,
    },
    /// A cell is not valid UTF-8.
    #[error(
        "{path}: row {row} (line {line}), column '{column}': the bytes are not valid UTF-8 \
         (save the file as UTF-8)"
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number (header = 1).
        row: usize,
        /// 1-based line number where the record starts.
        line: u64,
        /// Column name (or `field N` for a header cell).
        column: String,
    },
    /// Two columns share a name.
    #[error("{path}: duplicate column name '{column}' (columns {first} and {second})")]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the second occurrence.
        second: usize,
    },
    /// A column named on the command line or in the options does not exist.
    #[error("{path}: unknown column '{column}' (available: {available})")]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The requested name.
        column: String,
        /// Comma-separated list of the columns that exist.
        available: String,
    },
    /// The target has a missing value in a row (only when the dataset was loaded without a target).
    #[error("{path}: row {row}, column '{column}': the target value is missing")]
    MissingTarget {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number (header = 1), when known.
        row: usize,
        /// The target column.
        column: String,
    },
    /// The target has only one value.
    #[error(
        "{path}: target column '{column}' has one value only ('{class}'): a constant target leaves nothing to learn"
    )]
    OneClass {
        /// The file.
        path: PathBuf,
        /// The target column.
        column: String,
        /// The only class.
        class: String,
    },
    /// The target looks like a regression target.
    #[error(
        "{path}: target column '{column}' is {kind} with {distinct} distinct values; \
         a date target is not supported (convert it to a number, e.g. the year, for regression)"
    )]
    RegressionTarget {
        /// The file.
        path: PathBuf,
        /// The target column.
        column: String,
        /// Number of distinct values.
        distinct: usize,
        /// The column kind (numeric or date).
        kind: super::ColumnType,
    },
    /// An image path points outside the data folder (via `..`, an absolute path or a symlink).
    #[error(
        "{path}: row {row}, column '{column}': image path '{value}' points outside the data folder {base}; \
         refused (pass --allow-outside to permit it)"
    )]
    PathEscapes {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row number (header = 1).
        row: usize,
        /// The image column.
        column: String,
        /// The cell value.
        value: String,
        /// The data folder.
        base: PathBuf,
    },
    /// Too many rows had to be skipped (unreadable images and the like).
    #[error(
        "{path}: {bad} of {total} rows ({share:.1}%) have unreadable data, more than the allowed {allowed:.1}%; \
         first problems: {examples}"
    )]
    TooManyBadRows {
        /// The file.
        path: PathBuf,
        /// Number of bad rows.
        bad: usize,
        /// Number of rows.
        total: usize,
        /// Bad share in percent.
        share: f64,
        /// Allowed share in percent.
        allowed: f64,
        /// The first few problems, rendered.
        examples: String,
    },
    /// A folder given as data has no class folders with images.
    #[error(
        "{path}: folder has no class sub-folders containing images (.jpg, .jpeg, .png, .webp, .bmp, .gif)"
    )]
    NoClassFolders {
        /// The folder.
        path: PathBuf,
    },
    /// A request that makes no sense for this column.
    #[error("{path}: column '{column}': {message}")]
    InvalidColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
}
