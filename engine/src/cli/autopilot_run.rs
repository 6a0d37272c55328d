//! The blueprint part of `autopilot run`: image features, catalogue, the autopilot schedule,
//! with progress on stderr and an optional JSON event log.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use super::run::{Prepared, RunArgs};
use crate::autopilot::candidates::{catalogue, feature_lists};
use crate::autopilot::{Autopilot, AutopilotOptions, Event, Mode};
use crate::dataset::ColumnType;
use crate::images::{ImageSettings, image_features};
use crate::leaderboard::Leaderboard;
use crate::model::{FeatureInputs, ImageKey};

/// Featurizes images for the backbones the run needs, builds the catalogue and runs the autopilot.
pub(crate) fn run_autopilot(prep: &Prepared, args: &RunArgs) -> anyhow::Result<Leaderboard> {
    let ds = &prep.dataset;
    let mut informative = prep.profile.feature_columns.clone();
    let image_cols: Vec<String> = informative
        .iter()
        .filter(|c| ds.column(c).is_some_and(|c| c.kind == ColumnType::Image))
        .cloned()
        .collect();
    let backbones: Vec<String> = match args.mode {
        Mode::Quick => args.backbones.iter().take(2).cloned().collect(),
        _ => args.backbones.clone(),
    };
    let mut inputs = FeatureInputs::new(ds);
    let mut usable_backbones = Vec::new();
    for b in &backbones {
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
        eprintln!(
            "warning: image columns {} are left out: no backbone could featurize them",
            image_cols.join(", ")
        );
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
    let mut cands = catalogue(ds, &lists, &first, args.mode == Mode::Quick);
    // MiniLM sentence-embedding blueprints for text columns (embeddings cached in the project).
    match crate::text_embeddings::text_embedding_blueprints(
        &prep.project,
        &lists,
        &first,
        args.mode == Mode::Quick,
        args.device,
        &mut inputs,
    ) {
        Ok(more) => cands.extend(more),
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
    let on_event = {
        let bar = bar.clone();
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
    )?;
    ap.run(cands)?;
    bar.finish_and_clear();
    Ok(ap.leaderboard().clone())
}
