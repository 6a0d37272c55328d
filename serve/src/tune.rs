//! Advanced tuning from the page: `POST /api/tune` checks the request against the model's
//! tunable parameters ([`autopilot::session::tune::tunable`]), refuses with 409 while another
//! process writes the project, and runs [`autopilot::session::tune::tune`] on a thread as a
//! [`Job`]; the page polls `GET /api/jobs` for its events and result (the new leaderboard rows).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use autopilot::autopilot::tuning::check_value;
use autopilot::session::tune::{TuneRequest, tunable, tune};

use crate::error::{ApiError, ApiResult, blocking};
use crate::jobs::Job;
use crate::state::AppState;

/// Body of `POST /api/tune`.
#[derive(Debug, Deserialize)]
pub struct TuneBody {
    /// The model to retrain.
    pub model: String,
    /// Parameter name → value.
    pub set: BTreeMap<String, String>,
}

/// `GET /api/jobs`.
pub async fn list(State(state): State<Arc<AppState>>) -> Json<Vec<Job>> {
    Json(state.jobs.snapshot())
}

/// `POST /api/tune`: validates and starts a job; answers `202` with the job.
pub async fn start(
    State(state): State<Arc<AppState>>,
    Json(body): Json<TuneBody>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    if body.set.is_empty() {
        return Err(ApiError::bad("no parameter changed: nothing to train"));
    }
    if state.jobs.running() {
        // Answered before the checks below; the job is added only if still none runs then.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "a tuning job is already running; wait for it to end",
        ));
    }
    let st = state.clone();
    let model = body.model.clone();
    let settings: Vec<String> = body
        .set
        .iter()
        .map(|(k, v)| format!("{}={}", k.trim(), v.trim()))
        .collect();
    let checked = settings.clone();
    blocking(move || {
        let project = st.project()?;
        let (_, params) = tunable(&project, &model)?;
        for (name, value) in &body.set {
            let spec = params
                .iter()
                .find(|p| p.name == name.trim())
                .ok_or_else(|| {
                    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                    ApiError::bad(format!(
                        "'{name}' is not a tunable parameter of {model} (parameters: {})",
                        names.join(", ")
                    ))
                })?;
            check_value(spec, value.trim()).map_err(|e| ApiError::bad(e.to_string()))?;
        }
        // Another writer (a run, a CLI tune) is refused now rather than in the background.
        drop(project.lock_for_writing("autopilot serve (check)")?);
        Ok(())
    })
    .await?;
    let busy = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "a tuning job is already running; wait for it to end",
        )
    };
    let job = state
        .jobs
        .push_if_idle(Job {
            id: 0,
            model: body.model.clone(),
            settings: checked.clone(),
            status: "running",
            events: Vec::new(),
            new_models: Vec::new(),
            error: None,
        })
        .ok_or_else(busy)?;
    let id = job.id;
    let st = state.clone();
    let req = TuneRequest {
        model: body.model,
        set: checked,
        search: Vec::new(),
    };
    std::thread::spawn(move || {
        let dir = st.dir.clone();
        let jobs = &st.jobs;
        let run = || {
            tune(&dir, &req, &mut |e| {
                jobs.event(id, serde_json::to_value(e).unwrap_or_default());
            })
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
            .unwrap_or_else(|_| Err(anyhow::anyhow!("tuning stopped on an internal error")));
        jobs.update(id, |j| match result {
            Ok(out) => {
                j.status = "done";
                j.new_models = out.results.into_iter().map(|r| r.id).collect();
            }
            Err(e) => {
                j.status = "failed";
                j.error = Some(format!("{e:#}"));
            }
        });
    });
    Ok((StatusCode::ACCEPTED, Json(job)))
}
