//! The router, and the JSON of the leaderboard, a model and the project's status.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` , `GET /assets/<name>` | the page ([`crate::assets`]) |
//! | `GET /api/status` | leaderboard version, the writer (a run) if any, jobs running: polled for live updates |
//! | `GET /api/leaderboard` | every row (holdout scores only once unlocked), best, metrics |
//! | `POST /api/holdout/unlock` | unlocks the holdout (permanent, like `leaderboard --holdout`) |
//! | `GET /api/models/<id>` | blueprint diagram, parameters, folds, members, tunable parameters |
//! | `GET /api/models/<id>/insights/<kind>` | an insight, computed on demand ([`crate::insights`]) |
//! | `GET /api/models/<id>/rows?actual=&predicted=` | rows of a confusion cell |
//! | `GET /api/models/<id>/maps/<n>/<view>` | an activation map's image |
//! | `GET /api/image/<row>` | a data row's image ([`crate::images`]) |
//! | `POST /api/tune`, `GET /api/jobs` | advanced tuning in the background ([`crate::jobs`]) |
//! | `POST /api/predict` | scoring an uploaded CSV ([`crate::predict`]) |

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use autopilot::leaderboard::LeaderboardRow;
use autopilot::project::{LEADERBOARD_FILE, lock};
use autopilot::store;

use crate::error::{ApiError, ApiResult, blocking, json_errors};
use crate::state::AppState;
use crate::{assets, guard, images, insights, predict, tune};

/// Every route, behind the [`guard`].
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/status", get(status))
        .route("/api/leaderboard", get(leaderboard))
        .route("/api/holdout/unlock", post(unlock_holdout))
        .route("/api/models/{id}", get(model))
        .route("/api/models/{id}/insights/{kind}", get(insights::insight))
        .route("/api/models/{id}/rows", get(insights::rows))
        .route("/api/models/{id}/maps/{n}/{view}", get(insights::map_image))
        .route("/api/image/{row}", get(images::image))
        .route("/api/tune", post(tune::start))
        .route("/api/jobs", get(tune::list))
        .route("/api/predict", post(predict::predict))
        .fallback(|| async { ApiError::not_found("no such page") })
        .layer(DefaultBodyLimit::max(state.opts.max_upload))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

/// The blueprint family of a row: its estimator (what follows the arrow of the blueprint).
fn family(r: &LeaderboardRow) -> String {
    r.blueprint
        .rsplit_once('→')
        .map_or(r.blueprint.as_str(), |(_, e)| e)
        .trim()
        .to_string()
}

/// A row as the page sees it: holdout scores only when unlocked.
fn row_json(project: &autopilot::project::Project, r: &LeaderboardRow, unlocked: bool) -> Value {
    let mut r = r.clone();
    let holdout_scored = r.holdout.is_some();
    if !unlocked {
        r.holdout = None;
    }
    let mut v = serde_json::to_value(&r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("family".into(), family(&r).into());
        o.insert("holdout_scored".into(), holdout_scored.into());
        o.insert(
            "deployable".into(),
            store::is_deployable(project, &r.model_id).into(),
        );
        o.insert(
            "cross_validated".into(),
            store::has_saved_model(project, &r.model_id).into(),
        );
    }
    v
}

/// `GET /api/leaderboard`.
async fn leaderboard(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    blocking(move || {
        let project = state.project()?;
        let lb = store::leaderboard(&project).map_err(|e| ApiError::engine(e.into()))?;
        let task = store::task(&project).map_err(|e| ApiError::engine(e.into()))?;
        let best = store::best_model(&project, &lb, task.metric()).map(|r| r.model_id.clone());
        let rows: Vec<Value> = lb
            .rows
            .iter()
            .map(|r| row_json(&project, r, lb.holdout_unlocked))
            .collect();
        let metrics: Vec<Value> = task
            .metrics()
            .iter()
            .map(|m| json!({ "name": m.name(), "higher_is_better": m.higher_is_better() }))
            .collect();
        Ok(Json(json!({
            "project": project.dir().display().to_string(),
            "target": project.settings.target,
            "holdout_unlocked": lb.holdout_unlocked,
            "task": task.as_str(),
            "metric": task.metric().name(),
            "best": best,
            "metrics": metrics,
            "rows": rows,
        })))
    })
    .await
}

/// `POST /api/holdout/unlock`.
async fn unlock_holdout(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    blocking(move || {
        let project = state.project()?;
        store::unlock_holdout(&project, "autopilot serve (unlock holdout)")
            .map_err(|e| ApiError::engine(e.into()))?;
        Ok(Json(json!({ "holdout_unlocked": true })))
    })
    .await
}

/// The process writing the project, when one is (its lock is recorded and it is alive).
fn writer(dir: &std::path::Path) -> Option<String> {
    let h = lock::recorded_holder(dir)?;
    if h.pid == std::process::id() {
        return None;
    }
    let alive = cfg!(unix) && std::path::Path::new(&format!("/proc/{}", h.pid)).exists();
    alive.then(|| h.to_string())
}

/// `GET /api/status`: what the page polls.
async fn status(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    blocking(move || {
        let lb = state.dir.join(LEADERBOARD_FILE);
        let version = std::fs::metadata(&lb)
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Ok(Json(json!({
            "version": version.to_string(),
            "writer": writer(&state.dir),
            "tuning": state.jobs.running(),
        })))
    })
    .await
}

/// `GET /api/models/<id>`.
async fn model(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        let project = state.project()?;
        let lb = store::leaderboard(&project).map_err(|e| ApiError::engine(e.into()))?;
        let row = lb
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("no model '{id}'")))?;
        let saved =
            store::saved_model_opt(&project, &id).map_err(|e| ApiError::engine(e.into()))?;
        let kinds = store::profile(&project).ok().map(|p| p.columns);
        let kind_of = |col: &str| -> Value {
            kinds
                .as_ref()
                .and_then(|cs| cs.iter().find(|c| c.name == col))
                .map_or(Value::Null, |c| serde_json::to_value(c.kind).unwrap_or_default())
        };
        let diagram = match &saved {
            Some(s) => {
                let c = &s.candidate;
                let kind = store::task(&project)
                    .map_err(|e| ApiError::engine(e.into()))?
                    .target_kind();
                let params: Vec<_> = c
                    .estimator
                    .params()
                    .into_iter()
                    .filter(|p| p.applies_to(kind))
                    .collect();
                json!({
                    "feature_list": c.feature_list,
                    "inputs": c.blocks.iter().map(|b| json!({ "column": b.column(), "kind": kind_of(b.column()) })).collect::<Vec<_>>(),
                    "featurizers": c.blocks.iter().map(|b| json!({ "column": b.column(), "block": b.describe() })).collect::<Vec<_>>(),
                    "estimator": c.estimator.name(),
                    "estimator_params": params,
                })
            }
            None if !row.members.is_empty() => json!({
                "members": row.members,
                "estimator": family(row),
            }),
            None => Value::Null,
        };
        let tunable = autopilot::session::tune::tunable(&project, &id)
            .map(|(_, params)| params)
            .map_err(|e| format!("{e:#}"));
        Ok(Json(json!({
            "row": row_json(&project, row, lb.holdout_unlocked),
            "classes": saved.as_ref().map(|s| s.classes.clone()),
            "diagram": diagram,
            "tunable": tunable.as_ref().ok(),
            "not_tunable": tunable.as_ref().err(),
        })))
    })
    .await
}
