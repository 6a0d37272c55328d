//! The blueprint part of `autopilot run`: image features, catalogue, the autopilot schedule,
//! with progress on stderr and an optional JSON event log.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use super::run::{NO_BACKBONE, Prepared, RunArgs};
use crate::autopilot::candidates::{catalogue, feature_lists};
use crate::autopilot::{Autopilot, AutopilotOptions, Event, Mode};
use crate::dataset::ColumnType;
use crate::images::{ImageSettings, image_features};
use crate::leaderboard::Leaderboard;
use crate::model::{FeatureInputs, ImageKey};
use crate::project::ProjectError;

/// What the blueprint part of a run leaves.
pub(crate) struct AutopilotOutcome {
    /// The leaderboard after the run.
    pub leaderboard: Leaderboard,
    /// What `--time-limit` kept from starting (featurizations and blueprints), in order.
    pub skipped_for_time: Vec<String>,
}

/// Whether `--time-limit` is used up, counting from `started` (the start of the command).
fn time_is_up(args: &RunArgs, started: Instant) -> bool {
    args.time_limit
        .is_some_and(|limit| started.elapsed().as_secs_f64() >= limit)
}

/// Whether a `Skipped` event's reason is the time limit (the scheduler's reasons for it start
/// with the flag's name).
fn is_time_skip(reason: &str) -> bool {
    reason.starts_with("--time-limit")
}

/// Featurizes images for the backbones the run needs, builds the catalogue and runs the
/// autopilot. `--time-limit` counts from `started`: backbones after the first are not
/// featurized once it is used up, and the scheduler starts no model that would end after it.
pub(crate) fn run_autopilot(
    prep: &Prepared,
    args: &RunArgs,
    started: Instant,
) -> anyhow::Result<AutopilotOutcome> {
    let mut skipped_for_time = Vec::new();
    let ds = &prep.dataset;
    let mut informative = prep.profile.feature_columns.clone();
    let image_cols: Vec<String> = informative
        .iter()
        .filter(|c| ds.column(c).is_some_and(|c| c.kind == ColumnType::Image))
        .cloned()
        .collect();
    let mut backbones: Vec<String> = match args.mode {
        Mode::Quick => args.backbones.iter().take(2).cloned().collect(),
        _ => args.backbones.clone(),
    };
    backbones.retain(|b| b != NO_BACKBONE);
    let mut inputs = FeatureInputs::new(ds);
    let mut usable_backbones = Vec::new();
    for (i, b) in backbones.iter().enumerate() {
        if i > 0 && !image_cols.is_empty() && time_is_up(args, started) {
            if !args.quiet {
                eprintln!("not featurizing with {b}: --time-limit reached");
            }
            skipped_for_time.push(format!("image features from {b}"));
            continue;
        }
        let mut all_ok = true;
        for col in &image_cols {
            let key = ImageKey {
                column: col.clone(),
                backbone: b.clone(),
                levels: crate::autopilot::candidates::DEFAULT_LEVELS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            };
            if !args.quiet {
                eprintln!("featurizing '{col}' with {b} ...");
            }
            let t = std::time::Instant::now();
            match image_features(
                Some(&prep.project),
                ds,
                &key,
                &ImageSettings {
                    device: args.device,
                    ..ImageSettings::default()
                },
            ) {
                Ok(m) => {
                    if !args.quiet {
                        let bad = m.ok.iter().filter(|o| !**o).count();
                        eprintln!(
                            "  {} images in {:.1}s ({bad} without features)",
                            m.ok.len(),
                            t.elapsed().as_secs_f64()
                        );
                    }
                    inputs.images.insert(key, Arc::new(m));
                }
                // A feature cache that cannot be read or written ends the run: models are never
                // trained on a quietly smaller feature set.
                Err(e) if ProjectError::find_in(&e).is_some() => {
                    return Err(e.context(format!("caching the features of '{col}' ({b})")));
                }
                Err(e) => {
                    eprintln!("warning: no image features from {b}: {e:#}");
                    all_ok = false;
                }
            }
        }
        if all_ok {
            usable_backbones.push(b.clone());
        }
    }
    if !image_cols.is_empty() && usable_backbones.is_empty() {
        if backbones.is_empty() {
            eprintln!(
                "note: image columns {} are left out (--backbone {NO_BACKBONE})",
                image_cols.join(", ")
            );
        } else {
            eprintln!(
                "warning: image columns {} are left out: no backbone could featurize them",
                image_cols.join(", ")
            );
        }
        informative.retain(|c| !image_cols.contains(c));
    }
    let user: Vec<crate::autopilot::FeatureList> = args
        .feature_lists
        .iter()
        .map(|l| crate::autopilot::FeatureList {
            name: l.name.clone(),
            // Image columns no backbone could featurize are left out here too.
            columns: l
                .columns
                .iter()
                .filter(|c| !image_cols.contains(c) || !usable_backbones.is_empty())
                .cloned()
                .collect(),
        })
        .filter(|l| !l.columns.is_empty())
        .collect();
    let lists = feature_lists(ds, &informative, &user);
    crate::autopilot::project_data::save_feature_lists(&prep.project, &lists)?;
    let first = usable_backbones.first().cloned().unwrap_or_default();
    let mut cands = catalogue(ds, &lists, &first, args.mode);
    // MiniLM sentence-embedding blueprints for text columns (embeddings cached in the project).
    match crate::text_embeddings::text_embedding_blueprints(
        &prep.project,
        &lists,
        &first,
        args.mode,
        args.device,
        &mut inputs,
    ) {
        Ok(more) => cands.extend(more),
        Err(e) if ProjectError::find_in(&e).is_some() => {
            return Err(e.context("caching the text embeddings"));
        }
        Err(e) => eprintln!("warning: no MiniLM text blueprints: {e:#}"),
    }
    let options = AutopilotOptions {
        mode: args.mode,
        max_models: args.max_models,
        time_limit_s: args.time_limit,
        seed: args.seed,
        backbones: usable_backbones,
    };
    let mut log = match &args.events {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening event log {}", p.display()))?,
        ),
        None => None,
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let time_skips: RefCell<Vec<String>> = RefCell::default();
    let on_event = {
        let bar = bar.clone();
        let time_skips = &time_skips;
        Box::new(move |e: &Event| {
            if let Some(f) = log.as_mut()
                && let Ok(line) = serde_json::to_string(e)
            {
                let _ = writeln!(f, "{line}");
            }
            match e {
                Event::Stage { name, models } => bar.println(format!("== {name}: {models} models")),
                Event::Started {
                    model_id,
                    blueprint,
                    sample_pct,
                } => bar.set_message(format!("{model_id} {blueprint} ({sample_pct}%)")),
                Event::Finished {
                    model_id,
                    score,
                    seconds,
                } => bar.println(format!(
                    "   {model_id}: balanced accuracy {} ({seconds:.1}s)",
                    score.map_or("-".into(), |s| format!("{s:.4}"))
                )),
                Event::Failed {
                    model_id,
                    blueprint,
                    error,
                } => bar.println(format!("   {model_id} failed ({blueprint}): {error}")),
                Event::Skipped { blueprint, reason } => {
                    if is_time_skip(reason) {
                        time_skips.borrow_mut().push(blueprint.clone());
                    }
                    bar.println(format!("   skipped {blueprint}: {reason}"))
                }
            }
        })
    };
    let mut ap = Autopilot::new(
        &prep.project,
        inputs,
        &prep.target.labels,
        &prep.target.classes,
        &prep.partition,
        options,
        on_event,
    )?
    .with_start(started);
    ap.run(cands)?;
    bar.finish_and_clear();
    let leaderboard = ap.leaderboard().clone();
    drop(ap);
    skipped_for_time.extend(time_skips.into_inner());
    Ok(AutopilotOutcome {
        leaderboard,
        skipped_for_time,
    })
}
