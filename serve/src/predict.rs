//! `POST /api/predict` (multipart): scores an uploaded CSV with a project model, exactly as
//! `autopilot predict` does ([`autopilot::store::load_predictor`] +
//! [`autopilot::model::Predictor::predict_csv`], the project's feature cache as its source).
//!
//! Fields: `model` (an id or `best`), `csv` (the file, UTF-8 CSV with a `.csv` name) and any
//! number of `files`: the images the CSV names, each under the relative path its cell gives (the
//! browser sends a chosen folder's relative paths), or as bare file names (dropped images), which
//! are put where the CSV's cells name a file of that name. Everything is written into a fresh temporary
//! folder; image cells resolve against it, and never outside it (absolute paths and `..` are
//! refused whatever the project allows). The answer holds the output table (the columns of
//! `autopilot predict`), the CSV text itself and the rows that could not be scored.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use serde::Serialize;

use autopilot::dataset::has_image_extension;
use autopilot::model::{FeatureSource, RowProblem};
use autopilot::store::{load_predictor, resolve_model_id};

use crate::error::{ApiError, ApiResult, blocking};
use crate::state::AppState;

/// Most files in one upload.
const MAX_FILES: usize = 10_000;

/// What a scoring returns.
#[derive(Debug, Serialize)]
pub struct Scored {
    /// The model that scored.
    pub model: String,
    /// Output columns (as `autopilot predict` writes them).
    pub columns: Vec<String>,
    /// Output rows, in input order (empty cells where a row was not scored).
    pub rows: Vec<Vec<String>>,
    /// The output as CSV text (what `autopilot predict -o` writes).
    pub csv: String,
    /// Rows scored.
    pub predicted: usize,
    /// Rows without a score, and why.
    pub problems: Vec<RowProblem>,
    /// Cells read as missing, by column (a numeric column's cells that are not numbers).
    pub warnings: Vec<String>,
}

/// The uploaded parts.
#[derive(Default)]
struct Upload {
    model: Option<String>,
    csv: Option<(String, Vec<u8>)>,
    files: Vec<(PathBuf, Vec<u8>)>,
}

/// The handler.
pub async fn predict(
    State(state): State<Arc<AppState>>,
    mut multipart: Multipart,
) -> ApiResult<Json<Scored>> {
    let mut up = Upload::default();
    let field_error = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(e.status(), format!("reading the upload: {}", e.body_text()))
    };
    while let Some(field) = multipart.next_field().await.map_err(field_error)? {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(field_error)?.to_vec();
        // A field given twice would have the last one win unseen.
        if (name == "model" && up.model.is_some()) || (name == "csv" && up.csv.is_some()) {
            return Err(ApiError::bad(format!(
                "the '{name}' field is given more than once"
            )));
        }
        match name.as_str() {
            "model" => {
                up.model = Some(
                    String::from_utf8(bytes)
                        .map_err(|_| ApiError::bad("the model field is not text"))?,
                )
            }
            "csv" => up.csv = Some((file_name.unwrap_or_default(), bytes)),
            "files" => {
                if up.files.len() >= MAX_FILES {
                    return Err(ApiError::bad(format!("more than {MAX_FILES} files")));
                }
                let rel = image_path(&file_name.unwrap_or_default())?;
                up.files.push((rel, bytes));
            }
            other => return Err(ApiError::bad(format!("unexpected field '{other}'"))),
        }
    }
    let (csv_name, csv) = up
        .csv
        .ok_or_else(|| ApiError::bad("no 'csv' file in the upload"))?;
    let which = up.model.unwrap_or_else(|| "best".into());
    let scored = blocking(move || {
        check_csv(&csv_name, &csv)?;
        score(&state, &which, &csv_name, &csv, &up.files)
    })
    .await?;
    Ok(Json(scored))
}

/// A relative image path from an upload's file name: plain components only, an image
/// extension, at most 8 deep.
fn image_path(name: &str) -> ApiResult<PathBuf> {
    let bad = || {
        ApiError::bad(format!(
            "refused file name '{name}': give a relative image path"
        ))
    };
    if name.is_empty() || name.contains('\\') || name.contains('\0') || name.contains(':') {
        return Err(bad());
    }
    let p = Path::new(name);
    let plain = p.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain || p.components().count() > 8 {
        return Err(bad());
    }
    if !has_image_extension(name) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("'{name}' is not an image file (by its extension)"),
        ));
    }
    Ok(p.to_path_buf())
}

/// Refuses what is not a CSV: another extension, binary or non-UTF-8 content, no header, no
/// data row, or a malformed record.
fn check_csv(name: &str, bytes: &[u8]) -> ApiResult<()> {
    let unsupported = |why: &str| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("'{name}' is not a CSV file: {why}"),
        )
    };
    if !name.to_ascii_lowercase().ends_with(".csv") {
        return Err(unsupported("the name must end in .csv"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| unsupported("not UTF-8 text"))?;
    if text.contains('\0') {
        return Err(unsupported("binary content"));
    }
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = r
        .headers()
        .map_err(|e| unsupported(&format!("unreadable header ({e})")))?;
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(unsupported("no header row"));
    }
    let mut rows = 0;
    for rec in r.records() {
        rec.map_err(|e| ApiError::bad(format!("'{name}': {e}")))?;
        rows += 1;
    }
    if rows == 0 {
        return Err(ApiError::bad(format!("'{name}' has no data rows")));
    }
    Ok(())
}

/// The image paths the CSV's cells name in a subfolder whose file name was uploaded as a bare
/// file (paths that would leave the upload folder are skipped).
fn placed_by_name(csv: &[u8], files: &[(PathBuf, Vec<u8>)]) -> Vec<PathBuf> {
    let bare: Vec<&std::ffi::OsStr> = files
        .iter()
        .filter(|(p, _)| p.components().count() == 1)
        .map(|(p, _)| p.as_os_str())
        .collect();
    if bare.is_empty() {
        return Vec::new();
    }
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(csv);
    let mut out = Vec::new();
    for rec in r.records().flatten() {
        for cell in rec.iter().map(str::trim).filter(|c| has_image_extension(c)) {
            if let Ok(rel) = image_path(cell)
                && rel.components().count() > 1
                && rel.file_name().is_some_and(|n| bare.contains(&n))
            {
                out.push(rel);
            }
        }
    }
    out
}

fn score(
    state: &AppState,
    which: &str,
    csv_name: &str,
    csv: &[u8],
    files: &[(PathBuf, Vec<u8>)],
) -> ApiResult<Scored> {
    let project = state.project()?;
    let id = resolve_model_id(&project, which.trim())?;
    let mut predictor = load_predictor(&project, &id)?;
    // Uploaded data names only uploaded images.
    predictor.allow_outside = false;
    let tmp = tempfile::tempdir().map_err(|e| anyhow::anyhow!("a temporary folder: {e}"))?;
    let io =
        |p: &Path, e: std::io::Error| ApiError::engine(anyhow::anyhow!("{}: {e}", p.display()));
    let data = tmp.path().join("data");
    for (rel, bytes) in files {
        let p = data.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&p, bytes).map_err(|e| io(&p, e))?;
    }
    // Images dropped as bare files go where the CSV's cells name them (`images/a.png` ← `a.png`).
    for rel in placed_by_name(csv, files) {
        let p = data.join(&rel);
        if p.exists() {
            continue;
        }
        let name = rel.file_name().unwrap_or_default();
        if let Some((_, bytes)) = files.iter().find(|(f, _)| f.as_os_str() == name) {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            std::fs::write(&p, bytes).map_err(|e| io(&p, e))?;
        }
    }
    std::fs::create_dir_all(&data).map_err(|e| io(&data, e))?;
    let input = data.join("upload.csv");
    std::fs::write(&input, csv).map_err(|e| io(&input, e))?;
    let out = tmp.path().join("predictions.csv");
    let source = FeatureSource {
        project: Some(&project),
        weights: Default::default(),
    };
    // Messages name the files as the user sent them, not their copies in a temporary folder,
    // and give the web app's remedy, not the command line's.
    let as_sent = |text: &str| {
        text.replace(&input.display().to_string(), csv_name)
            .replace(&format!("{}/", data.display()), "")
            .replace(&data.display().to_string(), "the upload")
            .replace(
                "(pass --allow-outside to permit it)",
                "(upload the image with the CSV and name it by its path relative to the CSV)",
            )
    };
    let mut report = predictor.predict_csv(&input, &out, &source).map_err(|e| {
        let mut e = ApiError::engine(e);
        e.message = as_sent(&e.message);
        e
    })?;
    for p in &mut report.problems {
        p.reason = as_sent(&p.reason);
    }
    for w in &mut report.warnings {
        *w = as_sent(w);
    }
    let text = std::fs::read_to_string(&out).map_err(|e| io(&out, e))?;
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let columns: Vec<String> = r
        .headers()
        .map_err(|e| anyhow::anyhow!("reading the predictions: {e}"))?
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.map(|rec| rec.iter().map(String::from).collect()))
        .collect::<Result<Vec<Vec<String>>, _>>()
        .map_err(|e| anyhow::anyhow!("reading the predictions: {e}"))?;
    Ok(Scored {
        model: id,
        columns,
        rows,
        csv: text,
        predicted: report.predicted,
        problems: report.problems,
        warnings: report.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_stay_inside() {
        assert!(image_path("img/a.png").is_ok());
        assert!(image_path("a.JPG").is_ok());
        for bad in [
            "../a.png",
            "/etc/a.png",
            "a/../../b.png",
            "a\\b.png",
            "",
            "c:/a.png",
        ] {
            assert!(image_path(bad).is_err(), "{bad}");
        }
        assert_eq!(
            image_path("notes.txt").unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn only_csv_text_passes() {
        assert!(check_csv("a.csv", b"x,y\n1,2\n").is_ok());
        assert!(check_csv("a.png", b"x,y\n1,2\n").is_err());
        assert!(check_csv("a.csv", b"\x89PNG\r\n\x1a\n\0\0").is_err());
        assert!(check_csv("a.csv", b"x,y\n").is_err());
    }
}
