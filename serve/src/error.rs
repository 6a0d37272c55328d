//! Errors of the API: a status and a message, answered as `{"error": message}`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use autopilot::project::ProjectError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the user.
    pub message: String,
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request is malformed or asks for something invalid.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// An engine error on a well-formed request: 409 when another process writes the project,
    /// 500 for a broken or unreadable project file, else 400 (the request asked for something
    /// the project cannot do; the engine's message says why).
    pub fn engine(e: anyhow::Error) -> Self {
        let status = match ProjectError::find_in(&e) {
            Some(ProjectError::Locked { .. }) => StatusCode::CONFLICT,
            Some(ProjectError::Io { .. } | ProjectError::Corrupt { .. }) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, format!("{e:#}"))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::engine(e)
    }
}

impl From<ProjectError> for ApiError {
    fn from(e: ProjectError) -> Self {
        Self::engine(e.into())
    }
}

/// The longest message answered; a longer one (a huge value echoed back) is cut.
const MAX_MESSAGE_CHARS: usize = 2000;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut message = self.message;
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
            let more = message[cut..].chars().count();
            message.truncate(cut);
            message.push_str(&format!("… ({more} more characters)"));
        }
        (self.status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// Answers every error as `{"error": message}`: axum's own rejections (malformed JSON, a wrong
/// content type, a body over the limit, a bad path parameter) come as plain text otherwise.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    // The rejection's own headers (e.g. `Allow` on a 405) are kept; its body becomes JSON.
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let (json, body) = ApiError::new(status, message).into_response().into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(json.headers);
    Response::from_parts(parts, body)
}

/// Runs blocking engine work off the async threads; a panic becomes a 500.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        )
    })?
}
