//! `GET /api/image/<row>?size=N&column=NAME`: the image of a data row, looked up by row id in the
//! project's data (never by a path from the request), decoded with the engine's guarded decoder
//! and sent as PNG, optionally as a thumbnail of at most `size` pixels.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use autopilot::dataset::ColumnType;

use crate::error::{ApiError, ApiResult, blocking};
use crate::state::AppState;

/// Largest thumbnail side.
const MAX_SIDE: u32 = 512;

/// Query of an image request.
#[derive(Debug, Deserialize)]
pub struct ImageQuery {
    /// Longest side of a thumbnail; the image as decoded without it.
    pub size: Option<u32>,
    /// The image column (default: the first one).
    pub column: Option<String>,
}

/// The handler.
pub async fn image(
    State(state): State<Arc<AppState>>,
    Path(row): Path<usize>,
    Query(q): Query<ImageQuery>,
) -> ApiResult<Response> {
    let png = blocking(move || {
        let data = state.data()?;
        let ds = &data.dataset;
        let column = ds
            .columns
            .iter()
            .filter(|c| c.kind == ColumnType::Image)
            .find(|c| q.column.as_ref().is_none_or(|n| *n == c.name))
            .ok_or_else(|| ApiError::not_found("no such image column in the project's data"))?;
        let value = column
            .values
            .get(row)
            .ok_or_else(|| ApiError::not_found(format!("no row {row}")))?
            .as_deref()
            .ok_or_else(|| ApiError::not_found(format!("row {row} has no image")))?;
        let img = neural::preprocess::load_rgb(&ds.image_path(value))
            .map_err(|_| ApiError::not_found(format!("row {row}: the image cannot be read")))?;
        let img = match q.size {
            Some(s) => {
                // The longest side at most `s`, the aspect kept; never enlarged.
                let s = s.clamp(8, MAX_SIDE);
                let (w, h) = img.dimensions();
                let k = (f64::from(s) / f64::from(w.max(h))).min(1.0);
                let (tw, th) = (
                    ((f64::from(w) * k).round() as u32).max(1),
                    ((f64::from(h) * k).round() as u32).max(1),
                );
                image::imageops::thumbnail(&img, tw, th)
            }
            None => img,
        };
        autopilot::insights::charts::encode_png(&img)
            .map_err(|e| ApiError::engine(anyhow::Error::new(e)))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    )
        .into_response())
}
