//! Insights on demand: `GET /api/models/<id>/insights/<kind>` runs
//! [`autopilot::insights::write_insights`] for that one insight into
//! `<project>/insights/<id>/` (the folder `autopilot insights` writes) and keeps the answer there
//! (`serve_<kind>.json`), so each is computed once per model. Embeddings and activation maps are
//! joined with the model's out-of-fold predictions (predicted class and its probability), for
//! hovering and filtering in the page; each activation map's images are served by their index
//! in the answer (`/api/models/<id>/maps/<n>/<image|overlay|bw>`), never by a requested path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use autopilot::dataset::decide_class;
use autopilot::insights::embeddings_2d::Embedding;
use autopilot::insights::{InsightContext, InsightOutputs, InsightSettings, Selection};
use autopilot::project::Project;
use autopilot::store;

use crate::error::{ApiError, ApiResult, blocking};
use crate::state::AppState;

/// Images in the activation-map grid (the page filters them by class and right/wrong).
const MAP_IMAGES: usize = 24;

/// The insights the page asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Confusion,
    FeatureImpact,
    Embeddings,
    ActivationMaps,
    WordClouds,
}

impl Kind {
    fn parse(s: &str) -> ApiResult<Kind> {
        Ok(match s {
            "confusion" => Kind::Confusion,
            "feature_impact" => Kind::FeatureImpact,
            "embeddings" => Kind::Embeddings,
            "activation_maps" => Kind::ActivationMaps,
            "word_clouds" => Kind::WordClouds,
            _ => {
                return Err(ApiError::not_found(format!(
                    "no insight '{s}' (confusion, feature_impact, embeddings, activation_maps, word_clouds)"
                )));
            }
        })
    }

    fn selection(self) -> Selection {
        Selection {
            feature_impact: self == Kind::FeatureImpact,
            confusion: self == Kind::Confusion,
            activation_maps: self == Kind::ActivationMaps,
            embeddings: self == Kind::Embeddings,
            word_cloud: self == Kind::WordClouds,
        }
    }

    /// The cached answer's file name (the confusion matrix changes when the holdout unlocks).
    fn cache_name(self, holdout_unlocked: bool) -> &'static str {
        match self {
            Kind::Confusion if holdout_unlocked => "serve_confusion_holdout.json",
            Kind::Confusion => "serve_confusion.json",
            Kind::FeatureImpact => "serve_feature_impact.json",
            Kind::Embeddings => "serve_embeddings.json",
            Kind::ActivationMaps => "serve_activation_maps.json",
            Kind::WordClouds => "serve_word_clouds.json",
        }
    }
}

/// The insights folder of model `id`, after checking `id` is on the leaderboard.
fn model_dir(state: &AppState, project: &Project, id: &str) -> ApiResult<(PathBuf, bool)> {
    let lb = store::leaderboard(project).map_err(|e| ApiError::engine(e.into()))?;
    let row = lb
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no model '{id}'")))?;
    Ok((state.insights.model(&row.model_id), lb.holdout_unlocked))
}

fn read_cached(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// `GET /api/models/<id>/insights/<kind>`.
pub async fn insight(
    State(state): State<Arc<AppState>>,
    UrlPath((id, kind)): UrlPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let kind = Kind::parse(&kind)?;
    let st = state.clone();
    let idc = id.clone();
    let (dir, cache, cached) = blocking(move || {
        let (dir, unlocked) = model_dir(&st, &st.project()?, &idc)?;
        let cache = dir.join(kind.cache_name(unlocked));
        let cached = read_cached(&cache);
        Ok((dir, cache, cached))
    })
    .await?;
    if let Some(v) = cached {
        return Ok(Json(v));
    }
    // The guard moves into the computation: a client that goes away does not free the turn
    // while the work it started still runs.
    let one_at_a_time = state.insights_lock.clone().lock_owned().await;
    let st = state.clone();
    let v = blocking(move || {
        let _turn = one_at_a_time;
        if let Some(v) = read_cached(&cache) {
            return Ok(v);
        }
        let v = compute(&st.dir, &id, kind, &dir)?;
        autopilot::project::atomic::save_json(
            &cache,
            &v,
            autopilot::project::atomic::JsonLayout::Pretty,
        )
        .map_err(|e| ApiError::engine(e.into()))?;
        Ok(v)
    })
    .await?;
    Ok(Json(v))
}

fn compute(project_dir: &Path, id: &str, kind: Kind, dir: &Path) -> ApiResult<Value> {
    let mut ctx = InsightContext::open(project_dir).map_err(|e| ApiError::engine(e.into()))?;
    let settings = InsightSettings {
        selection: kind.selection(),
        max_images: MAP_IMAGES,
        ..InsightSettings::default()
    };
    let out = autopilot::insights::write_insights(&mut ctx, id, &settings, dir)
        .map_err(|e| ApiError::engine(e.into()))?;
    let classes = ctx.target.classes.clone();
    let head = json!({
        "model_id": out.model_id,
        "explained_by": out.explained_by,
        "classes": classes,
        "notes": out.notes,
    });
    let body = match kind {
        // A binary model adds its ROC curve; a regression has fits to the actual values instead.
        Kind::Confusion => json!({
            "cv": out.confusion_cv,
            "holdout": out.confusion_holdout,
            "roc": out.roc,
            "regression": out.regression,
        }),
        Kind::FeatureImpact => json!({ "feature_impact": out.feature_impact }),
        Kind::WordClouds => json!({ "word_clouds": out.word_clouds }),
        Kind::Embeddings => json!({ "embeddings": embeddings(&ctx, id, &out)? }),
        Kind::ActivationMaps => json!({ "maps": activation_maps(&out, dir)? }),
    };
    let mut v = head;
    if let (Some(v), Value::Object(b)) = (v.as_object_mut(), body) {
        v.extend(b);
    }
    Ok(v)
}

/// The JSON files of `out` whose name starts with `prefix` (one per image column).
fn json_files<'o>(out: &'o InsightOutputs, prefix: &str) -> Vec<&'o PathBuf> {
    out.files
        .iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
        })
        .collect()
}

fn load<T: serde::de::DeserializeOwned>(p: &Path) -> ApiResult<T> {
    autopilot::project::atomic::load_json(p).map_err(|e| ApiError::engine(e.into()))
}

/// Each embedding's points with the model's out-of-fold prediction and its probability.
fn embeddings(ctx: &InsightContext, id: &str, out: &InsightOutputs) -> ApiResult<Vec<Value>> {
    let oof = ctx.oof(id).map_err(|e| ApiError::engine(e.into()))?;
    let positive = ctx.target.positive.map(|p| p as usize);
    let threshold = ctx
        .row(id)
        .map_err(|e| ApiError::engine(e.into()))?
        .threshold
        .map(|t| t.value);
    let mut all = Vec::new();
    for p in json_files(out, "embeddings_") {
        let emb: Embedding = load(p)?;
        let points: Vec<Value> = emb
            .points
            .iter()
            .map(|pt| {
                let (pred, prob) = oof.as_ref().map_or((None, None), |o| {
                    let k = decide_class(&o.row(pt.row).to_vec(), positive, threshold);
                    (Some(k), Some(o[[pt.row, k]]))
                });
                json!({
                    "row": pt.row, "file_row": pt.file_row, "x": pt.x, "y": pt.y, "actual": pt.class,
                    "predicted": pred, "probability": prob,
                })
            })
            .collect();
        all.push(json!({ "column": emb.column, "backbone": emb.backbone, "points": points }));
    }
    Ok(all)
}

/// Every activation map of every image column, with the column named.
fn activation_maps(out: &InsightOutputs, dir: &Path) -> ApiResult<Vec<Value>> {
    let mut all = Vec::new();
    for p in json_files(out, "activation_maps_") {
        let column = p
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.strip_prefix("activation_maps_"))
            .unwrap_or("")
            .to_string();
        let maps: Vec<Value> = load(&dir.join(p.file_name().unwrap_or_default()))?;
        for mut m in maps {
            if let Some(o) = m.as_object_mut() {
                o.insert("column".into(), column.clone().into());
            }
            all.push(m);
        }
    }
    Ok(all)
}

/// `GET /api/models/<id>/maps/<n>/<view>`: the `view` image (`image`, `overlay`, `bw`) of the
/// `n`-th activation map of the cached answer.
pub async fn map_image(
    State(state): State<Arc<AppState>>,
    UrlPath((id, n, view)): UrlPath<(String, usize, String)>,
) -> ApiResult<Response> {
    if !["image", "overlay", "bw"].contains(&view.as_str()) {
        return Err(ApiError::not_found(format!(
            "no view '{view}' (image, overlay, bw)"
        )));
    }
    let png = blocking(move || {
        let (dir, _) = model_dir(&state, &state.project()?, &id)?;
        let cached = read_cached(&dir.join(Kind::ActivationMaps.cache_name(false)))
            .ok_or_else(|| ApiError::not_found("the activation maps are not computed yet"))?;
        let name = cached["maps"][n]["files"][&view]
            .as_str()
            .ok_or_else(|| ApiError::not_found(format!("no activation map {n}")))?
            .to_string();
        // The name was written by the engine (`<stem>/<row>_<view>.png`); check it all the same.
        let rel = Path::new(&name);
        if !rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            return Err(ApiError::bad("bad cached file name"));
        }
        std::fs::read(dir.join(rel)).map_err(|_| ApiError::not_found("the image is gone"))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// `GET /api/models/<id>/rows?actual=A&predicted=P`: the cross-validation rows whose actual and
/// out-of-fold predicted classes are those (either may be left out), with a preview of their
/// cells; what a click on a confusion-matrix cell lists.
pub async fn rows(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    axum::extract::Query(q): axum::extract::Query<RowsQuery>,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        let data = state.data()?;
        let project = state.project()?;
        let classes = &data.target.classes;
        let class = |name: &Option<String>| -> ApiResult<Option<usize>> {
            name.as_ref()
                .map(|n| {
                    classes.iter().position(|c| c == n).ok_or_else(|| {
                        ApiError::bad(format!("'{n}' is not a class ({})", classes.join(", ")))
                    })
                })
                .transpose()
        };
        let (actual, predicted) = (class(&q.actual)?, class(&q.predicted)?);
        model_dir(&state, &project, &id)?;
        let shape = (Some(data.dataset.n_rows()), Some(classes.len()));
        let oof = store::oof(&project, &id, shape)
            .map_err(|e| ApiError::engine(e.into()))?
            .ok_or_else(|| {
                ApiError::not_found(format!("model {id} has no out-of-fold predictions"))
            })?;
        let labels = &data.target.labels;
        // A binary model's prediction is at its decision threshold, as in its confusion matrix.
        let positive = data.target.positive.map(|p| p as usize);
        let lb = store::leaderboard(&project).map_err(|e| ApiError::engine(e.into()))?;
        let threshold = lb
            .rows
            .iter()
            .find(|r| r.model_id == id)
            .and_then(|r| r.threshold)
            .map(|t| t.value);
        let image_col = data
            .dataset
            .columns
            .iter()
            .find(|c| c.kind == autopilot::dataset::ColumnType::Image);
        let preview_cols: Vec<&autopilot::dataset::Column> = data
            .dataset
            .columns
            .iter()
            .filter(|c| {
                c.name != data.target.column && c.kind != autopilot::dataset::ColumnType::Image
            })
            .take(4)
            .collect();
        let mut out = Vec::new();
        let mut total = 0;
        for r in data.partition.cv_rows() {
            let k = decide_class(&oof.row(r).to_vec(), positive, threshold);
            if actual.is_some_and(|a| labels[r] as usize != a) || predicted.is_some_and(|p| k != p)
            {
                continue;
            }
            total += 1;
            if out.len() >= q.limit.unwrap_or(200).min(1000) {
                continue;
            }
            let cells: serde_json::Map<String, Value> = preview_cols
                .iter()
                .map(|c| {
                    let v: String = c.values[r]
                        .as_deref()
                        .unwrap_or("")
                        .chars()
                        .take(80)
                        .collect();
                    (c.name.clone(), v.into())
                })
                .collect();
            out.push(json!({
                "row": r,
                "file_row": data.dataset.file_row(r),
                "actual": classes[labels[r] as usize],
                "predicted": classes[k],
                "probability": oof[[r, k]],
                "image": image_col.is_some_and(|c| c.values[r].is_some()),
                "cells": cells,
            }));
        }
        Ok(Json(json!({ "total": total, "rows": out })))
    })
    .await
}

/// Query of [`rows`].
#[derive(Debug, serde::Deserialize)]
pub struct RowsQuery {
    /// Actual class name.
    pub actual: Option<String>,
    /// Predicted class name.
    pub predicted: Option<String>,
    /// Most rows listed (default 200).
    pub limit: Option<usize>,
}
