//! Feature export (`autopilot featurize`): the feature vectors autopilot computes, written to a
//! file for use elsewhere.
//!
//! * images: `featurize DATA --backbone NAME [--levels high,highest] [--image COL] -o OUT`
//!   (the image column is auto-detected when there is exactly one);
//! * text: `featurize DATA --text COL --featurizer minilm|tfidf -o OUT`.
//!
//! Output formats, by the extension of `OUT`:
//! * `.npy`: a dense `float32` matrix, one row per data row in input order;
//! * `.csv`: a header of feature names, then one row per data row in input order;
//! * `.mtx` (TF-IDF only, for large vocabularies): a Matrix Market `coordinate real general`
//!   sparse matrix, with the feature names one per line in `OUT.vocab.txt`.
//!
//! From a folder of class folders, `OUT.rows.csv` lists each row's image path and class.
//! A row whose image cannot be read is reported (its spreadsheet row and the reason, in
//! [`FeatureOutput::Dense`]) and written
//! as NaN (`.npy`) or empty cells (`.csv`); the other rows go on. Image headers are checked
//! with the shared guarded decoder before the backbone is loaded (non-regular files, unknown
//! formats and decompression bombs are refused per row; truncated files when decoding); when no
//! row has a readable image, `featurize` fails. Missing text is embedded as the empty string
//! by MiniLM and is an all-zero row for TF-IDF. TF-IDF uses the analyzers
//! autopilot picks for the column (word 1–2 grams, plus char 2–5 grams for short texts) fitted
//! on all rows. MiniLM truncates texts to 256 tokens unless `--long-text chunks`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ndarray::Array2;
use rayon::prelude::*;
use sprs::CsMat;

use neural::decode::{DecodeLimits, probe_image};
use neural::text::LongText;
use neural::{DeviceChoice, Precision};

use crate::autopilot::candidates::text_analyzers;
use crate::dataset::{
    self, ColumnType, Dataset, FOLDER_CLASS_COLUMN, FOLDER_IMAGE_COLUMN, LoadOptions,
};
use crate::features::ImageKey;
use crate::features::image::{ImageSettings, featurizer_for};
use crate::features::text::{DEFAULT_TEXT_MODEL, TextEmbeddingSettings, embedder_for};
use crate::project::atomic::write_atomic;
use crate::project::npy::write_npy;

/// A dense TF-IDF output larger than this many cells is refused (use `.mtx`).
pub const MAX_DENSE_TFIDF_CELLS: usize = 50_000_000;

/// Text featurizers of `featurize --text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFeaturizer {
    /// all-MiniLM-L6-v2 sentence embeddings (384 dense values per row).
    Minilm,
    /// TF-IDF n-grams, as autopilot configures them for the column (sparse).
    Tfidf,
}

/// What to featurize: an image column with a backbone, or a text column.
#[derive(Debug, Clone)]
pub struct FeaturizeRequest {
    /// CSV file (or folder of class folders of images).
    pub data: PathBuf,
    /// Image column (default: the only image column of the data).
    pub image: Option<String>,
    /// Text column to featurize instead of images.
    pub text: Option<String>,
    /// Image backbone.
    pub backbone: String,
    /// Image feature levels.
    pub levels: Vec<String>,
    /// Text featurizer.
    pub featurizer: TextFeaturizer,
    /// MiniLM on texts over 256 tokens.
    pub long_text: LongText,
    /// Compute device.
    pub device: DeviceChoice,
    /// Images or texts per forward pass.
    pub batch_size: usize,
    /// Float precision of the image backbone (f16 on a wgpu adapter that has it) or of MiniLM
    /// (f32 or int8); TF-IDF has no precision option and refuses any other than f32.
    pub precision: Precision,
    /// Allow image paths outside the data folder.
    pub allow_outside: bool,
}

/// Output formats (chosen by the output file's extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.npy`, dense float32.
    Npy,
    /// `.csv`, dense with a header.
    Csv,
    /// `.mtx`, Matrix Market sparse (+ `.vocab.txt`).
    Mtx,
}

/// The format of an output path, from its extension (an existing folder is refused).
pub fn format_of(path: &Path) -> anyhow::Result<Format> {
    if path.is_dir() {
        bail!(
            "{}: is a folder; the output must be a file ending in .npy, .csv or .mtx",
            path.display()
        );
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("npy") => Ok(Format::Npy),
        Some("csv") => Ok(Format::Csv),
        Some("mtx") => Ok(Format::Mtx),
        _ => bail!(
            "{}: the output must end in .npy, .csv or .mtx",
            path.display()
        ),
    }
}

/// Features computed by `featurize`, before writing.
#[derive(Debug)]
pub enum FeatureOutput {
    /// Dense rows; `failed[r]` holds why row `r` has no features.
    Dense {
        /// `rows × features`.
        values: Array2<f32>,
        /// Column names.
        names: Vec<String>,
        /// Per row: the reason it failed, if it did.
        failed: Vec<Option<String>>,
        /// Per row: its spreadsheet row in the data (header = 1), as every message numbers it.
        file_rows: Vec<usize>,
        /// For a folder of class folders: each row's image path and class, written beside
        /// the output ([`rows_path`]).
        folder_rows: Option<Vec<[String; 2]>>,
    },
    /// Sparse rows (TF-IDF).
    Sparse {
        /// `rows × features`, CSR.
        values: CsMat<f32>,
        /// Column names.
        names: Vec<String>,
    },
}

/// Loads the data with `column` read as plain text, so that no row is dropped (image paths are
/// checked by the featurizer, row by row). Paths outside the data folder are not refused here:
/// only the image column featurized is read, and checked ([`Dataset::require_paths_inside`]).
fn load_keeping_rows(args: &FeaturizeRequest, column: Option<&str>) -> anyhow::Result<Dataset> {
    let opts = LoadOptions {
        type_overrides: column
            .map(|c| vec![(c.to_string(), ColumnType::Text)])
            .unwrap_or_default(),
        check_images: false,
        max_bad_row_share: 1.0,
        allow_outside: true,
        ..LoadOptions::default()
    };
    Ok(dataset::load(&args.data, &opts)?)
}

/// Computes the features `args` ask for (without writing them).
pub fn featurize(args: &FeaturizeRequest) -> anyhow::Result<FeatureOutput> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    match &args.text {
        Some(col) => featurize_text(args, col),
        None => featurize_images(args),
    }
}

fn featurize_text(args: &FeaturizeRequest, column: &str) -> anyhow::Result<FeatureOutput> {
    let ds = load_keeping_rows(args, Some(column))?;
    let col = ds.require_column(column)?;
    let texts: Vec<Option<&str>> = col.values.iter().map(|v| v.as_deref()).collect();
    match args.featurizer {
        TextFeaturizer::Minilm => {
            let settings = TextEmbeddingSettings {
                device: args.device,
                batch_size: args.batch_size,
                long_text: args.long_text,
                precision: args.precision,
            };
            let embedder = embedder_for(DEFAULT_TEXT_MODEL, &settings)?;
            let plain: Vec<&str> = texts.iter().map(|t| t.unwrap_or("")).collect();
            let values = embedder
                .embed(&plain)
                .with_context(|| format!("embedding column '{column}'"))?;
            let names = (0..values.ncols())
                .map(|i| format!("{column}[{DEFAULT_TEXT_MODEL}:{i}]"))
                .collect();
            Ok(FeatureOutput::Dense {
                failed: vec![None; values.nrows()],
                file_rows: file_rows(&ds),
                folder_rows: None,
                values,
                names,
            })
        }
        TextFeaturizer::Tfidf => {
            if args.precision != Precision::F32 {
                bail!(
                    "--precision {} applies to MiniLM and the image backbones, not TF-IDF",
                    args.precision
                );
            }
            let mut union = blueprints::text::TfidfUnion::new(text_analyzers(&ds, column))?;
            let values = union
                .fit_transform(&texts)
                .with_context(|| format!("TF-IDF of column '{column}'"))?;
            let names = union
                .feature_names()
                .into_iter()
                .map(|n| format!("{column}:{n}"))
                .collect();
            Ok(FeatureOutput::Sparse { values, names })
        }
    }
}

fn featurize_images(args: &FeaturizeRequest) -> anyhow::Result<FeatureOutput> {
    let column = match &args.image {
        Some(c) => c.clone(),
        None => {
            let probe = load_keeping_rows(args, None)?;
            let images: Vec<&str> = probe
                .columns
                .iter()
                .filter(|c| c.kind == ColumnType::Image)
                .map(|c| c.name.as_str())
                .collect();
            match images.as_slice() {
                [one] => one.to_string(),
                [] => bail!(
                    "{}: no image column found; name one with --image COL, or featurize text with --text COL",
                    args.data.display()
                ),
                many => bail!(
                    "{}: several image columns ({}); pick one with --image COL",
                    args.data.display(),
                    many.join(", ")
                ),
            }
        }
    };
    let ds = load_keeping_rows(args, Some(&column))?;
    if !args.allow_outside {
        ds.require_paths_inside(&column)?;
    }
    let col = ds.require_column(&column)?;
    let key = ImageKey {
        column: column.clone(),
        backbone: args.backbone.clone(),
        levels: args.levels.clone(),
    };
    // Rows without a path are failures; the others go to the featurizer.
    let mut failed: Vec<Option<String>> = vec![None; ds.n_rows()];
    let mut rows = Vec::new();
    let mut paths = Vec::new();
    for (r, v) in col.values.iter().enumerate() {
        match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => {
                rows.push(r);
                paths.push(ds.image_path(v));
            }
            None => failed[r] = Some(format!("no image in column '{column}'")),
        }
    }
    drop_unreadable_images(&mut rows, &mut paths, &mut failed);
    let file_rows = file_rows(&ds);
    if rows.is_empty() {
        bail!(
            "{}: no row of column '{column}' has a readable image; first problems: {}",
            args.data.display(),
            first_failures(&failed, &file_rows, 3)
        );
    }
    let featurizer = featurizer_for(
        &key,
        &ImageSettings {
            device: args.device,
            batch_size: args.batch_size,
            precision: args.precision,
            ..ImageSettings::default()
        },
    )?;
    let out = featurizer
        .featurize_paths(&paths)
        .with_context(|| format!("featurizing '{column}' with {}", args.backbone))?;
    let mut values = Array2::<f32>::from_elem((ds.n_rows(), out.values.ncols()), f32::NAN);
    for (i, &r) in rows.iter().enumerate() {
        match &out.errors[i] {
            Some(e) => failed[r] = Some(e.clone()),
            None => values.row_mut(r).assign(&out.values.row(i)),
        }
    }
    let names = featurizer
        .feature_names()
        .into_iter()
        .map(|n| format!("{column}[{n}]"))
        .collect();
    Ok(FeatureOutput::Dense {
        values,
        names,
        failed,
        file_rows,
        folder_rows: args.data.is_dir().then(|| folder_rows(&ds)).transpose()?,
    })
}

/// The image path and class of each row of a folder dataset.
fn folder_rows(ds: &Dataset) -> anyhow::Result<Vec<[String; 2]>> {
    let image = ds.require_column(FOLDER_IMAGE_COLUMN)?;
    let class = ds.require_column(FOLDER_CLASS_COLUMN)?;
    Ok(image
        .values
        .iter()
        .zip(&class.values)
        .map(|(i, c)| [i.clone().unwrap_or_default(), c.clone().unwrap_or_default()])
        .collect())
}

/// The spreadsheet row of each loaded row of `ds`.
fn file_rows(ds: &Dataset) -> Vec<usize> {
    (0..ds.n_rows()).map(|r| ds.file_row(r)).collect()
}

/// Checks every image's header with the shared guarded decoder before any model is loaded
/// (regular file, known format, pixel and memory limits: a decompression bomb is never
/// decoded); rows that fail are removed from `rows`/`paths` and their reason goes to `failed`.
fn drop_unreadable_images(
    rows: &mut Vec<usize>,
    paths: &mut Vec<PathBuf>,
    failed: &mut [Option<String>],
) {
    let limits = DecodeLimits::default();
    let problems: Vec<Option<String>> = paths
        .par_iter()
        .map(|p| {
            probe_image(p, &limits)
                .err()
                .map(|e| format!("image {}: {e}", p.display()))
        })
        .collect();
    let mut kept = (Vec::new(), Vec::new());
    for ((r, path), problem) in rows.drain(..).zip(paths.drain(..)).zip(problems) {
        match problem {
            Some(why) => failed[r] = Some(why),
            None => {
                kept.0.push(r);
                kept.1.push(path);
            }
        }
    }
    (*rows, *paths) = kept;
}

/// The failed rows as `row R: reason`, `R` the spreadsheet row.
pub fn failures<'a>(
    failed: &'a [Option<String>],
    file_rows: &'a [usize],
) -> impl Iterator<Item = String> + 'a {
    failed
        .iter()
        .zip(file_rows)
        .filter_map(|(f, row)| f.as_ref().map(|f| format!("row {row}: {f}")))
}

/// The first `n` of [`failures`], joined.
fn first_failures(failed: &[Option<String>], file_rows: &[usize], n: usize) -> String {
    failures(failed, file_rows)
        .take(n)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes `out` to `path` in `format` (atomically).
pub fn write_output(out: &FeatureOutput, path: &Path, format: Format) -> anyhow::Result<()> {
    if let FeatureOutput::Dense {
        folder_rows: Some(rows),
        ..
    } = out
    {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([FOLDER_IMAGE_COLUMN, FOLDER_CLASS_COLUMN])?;
        for row in rows {
            w.write_record(row)?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        write_atomic(&rows_path(path), &bytes)?;
    }
    match (out, format) {
        (FeatureOutput::Dense { values, .. }, Format::Npy) => write_npy(path, values.view())?,
        (
            FeatureOutput::Dense {
                values,
                names,
                failed,
                ..
            },
            Format::Csv,
        ) => write_atomic(path, &dense_csv(values, names, Some(failed.as_slice()))?)?,
        (FeatureOutput::Dense { .. }, Format::Mtx) => bail!(
            "{}: .mtx is for sparse TF-IDF output; write dense features as .npy or .csv",
            path.display()
        ),
        (FeatureOutput::Sparse { values, names }, Format::Mtx) => {
            // sprs' Matrix Market writer: `coordinate real general`, 1-based, rows in order.
            let mut mtx = Vec::new();
            sprs::io::write_matrix_market_to_bufwrite(&mut mtx, values)
                .with_context(|| format!("writing {}", path.display()))?;
            write_atomic(path, &mtx)?;
            let vocab = vocab_path(path);
            let mut text = String::new();
            for n in names {
                // One name per line: a line break inside an n-gram would shift the lines.
                text.push_str(&n.replace(['\n', '\r'], " "));
                text.push('\n');
            }
            write_atomic(&vocab, text.as_bytes())?;
        }
        (FeatureOutput::Sparse { values, names }, dense_format) => {
            let cells = values.rows().saturating_mul(values.cols());
            if cells > MAX_DENSE_TFIDF_CELLS {
                bail!(
                    "{}: {} rows × {} TF-IDF features is too large to write densely; write a sparse .mtx instead",
                    path.display(),
                    values.rows(),
                    values.cols()
                );
            }
            let dense = values.to_dense();
            match dense_format {
                Format::Npy => write_npy(path, dense.view())?,
                _ => write_atomic(path, &dense_csv(&dense, names, None)?)?,
            }
        }
    }
    Ok(())
}

/// `features.mtx` → `features.mtx.vocab.txt`.
pub fn vocab_path(mtx: &Path) -> PathBuf {
    with_suffix(mtx, ".vocab.txt")
}

/// `features.npy` → `features.npy.rows.csv`: the image path and class of each row, when the
/// data is a folder of class folders.
pub fn rows_path(output: &Path) -> PathBuf {
    with_suffix(output, ".rows.csv")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// CSV bytes: a header of names, one line per row; failed rows have empty cells.
fn dense_csv(
    values: &Array2<f32>,
    names: &[String],
    failed: Option<&[Option<String>]>,
) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(names)?;
    let mut record: Vec<String> = Vec::with_capacity(values.ncols());
    for (r, row) in values.rows().into_iter().enumerate() {
        record.clear();
        let bad = failed.is_some_and(|f| f[r].is_some());
        record.extend(
            row.iter()
                .map(|v| if bad { String::new() } else { v.to_string() }),
        );
        w.write_record(&record)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}
