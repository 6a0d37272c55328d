//! `autopilot leaderboard`: show a project's models ranked by a metric, or one model's details.
//!
//! Without `--project`, the single `*.autopilot` folder in the current directory is used.
//! Holdout scores show as "locked" until `--holdout` unlocks them; unlocking is recorded in the
//! project and is permanent (as in DataRobot), so later listings show them too.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use blueprints::metrics::{Metric, fmt_score};
use clap::Args;

use super::out::outln;
use autopilot::leaderboard::{Leaderboard, LeaderboardRow, Scores};
use autopilot::project;
use autopilot::store::best_model;

/// Arguments of `autopilot leaderboard`.
#[derive(Debug, Args)]
pub struct LeaderboardArgs {
    /// Project folder (default: the only `*.autopilot` folder in the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Ranking metric: balanced_accuracy, accuracy, logloss, auc or f1 (macro-averaged over the
    /// classes; classification); rmse,
    /// mae, r2 or rmsle (regression). Default: the project's (balanced accuracy for multiclass,
    /// AUC for binary, RMSE for regression).
    #[arg(long)]
    pub metric: Option<Metric>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Unlock and show holdout scores (permanent for the project).
    #[arg(long)]
    pub holdout: bool,
    /// Show the details of this model id (e.g. M1) instead of the whole leaderboard.
    pub model: Option<String>,
}

/// A copy of `row` without holdout scores unless `unlocked`.
fn visible(row: &LeaderboardRow, unlocked: bool) -> LeaderboardRow {
    let mut r = row.clone();
    if !unlocked && r.holdout.is_some() {
        r.holdout = None;
    }
    r
}

fn fmt_scores(s: &Scores) -> String {
    Metric::ALL
        .iter()
        .filter_map(|m| s.get(m).map(|v| format!("{m} {}", fmt_score(*v))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The detail view of one model.
fn render_model(row: &LeaderboardRow, unlocked: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Model {}: {}", row.model_id, row.blueprint);
    let _ = writeln!(
        s,
        "  feature list: {}   sample: {}%",
        row.feature_list, row.sample_pct
    );
    if let Some(p) = &row.parent {
        let _ = writeln!(s, "  parent: {p}");
    }
    if !row.params.is_empty() {
        let params: Vec<String> = row.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(s, "  params: {}", params.join(", "));
    }
    let _ = writeln!(s, "  validation (fold 0): {}", fmt_scores(&row.validation));
    if let Some(t) = &row.threshold {
        let _ = writeln!(
            s,
            "  decision threshold: a row is predicted positive from a positive-class probability \
             of {:.4} (the out-of-fold F1's maximum, {:.4})",
            t.value, t.f1
        );
    }
    if let (Some(m), Some(sd)) = (&row.cv_mean, &row.cv_std) {
        let cv: Vec<String> = Metric::ALL
            .iter()
            .filter_map(|k| {
                Some(format!(
                    "{k} {} ± {}",
                    fmt_score(*m.get(k)?),
                    fmt_score(*sd.get(k)?)
                ))
            })
            .collect();
        let _ = writeln!(s, "  cross-validation: {}", cv.join(", "));
    }
    for (f, sc) in row.cv_folds.iter().enumerate() {
        let _ = writeln!(s, "    fold {f}: {}", fmt_scores(sc));
    }
    match (&row.holdout, unlocked) {
        (None, _) => {
            let _ = writeln!(s, "  holdout: not scored");
        }
        (Some(_), false) => {
            let _ = writeln!(s, "  holdout: locked (unlock with --holdout)");
        }
        (Some(h), true) => {
            let _ = writeln!(s, "  holdout: {}", fmt_scores(h));
        }
    }
    let _ = write!(
        s,
        "  fit: {:.3} s per fold   predict: {:.4} s per 1000 rows",
        row.fit_seconds, row.predict_seconds_per_1000
    );
    s
}

/// Executes `autopilot leaderboard`.
pub fn execute(args: LeaderboardArgs) -> anyhow::Result<()> {
    let project = super::open_project(args.project.as_deref())?;
    let mut lb: Leaderboard = project
        .load_json_opt(project::LEADERBOARD_FILE)?
        .unwrap_or_default();
    if args.holdout && !lb.holdout_unlocked {
        lb = autopilot::store::unlock_holdout(&project, "autopilot leaderboard --holdout")?;
    }
    let unlocked = lb.holdout_unlocked;
    match &args.model {
        Some(id) => {
            let row = lb.get(id).with_context(|| {
                let ids: Vec<&str> = lb.rows.iter().map(|r| r.model_id.as_str()).collect();
                format!(
                    "no model '{id}' in {} (models: {})",
                    project.dir().display(),
                    ids.join(", ")
                )
            })?;
            if args.json {
                outln!("{}", serde_json::to_string_pretty(&visible(row, unlocked))?)?;
            } else {
                outln!("{}", render_model(row, unlocked))?;
            }
        }
        None => {
            let metric = autopilot::store::ranking_metric(&project, args.metric)?;
            let best = best_model(&project, &lb, metric).map(|r| r.model_id.as_str());
            if args.json {
                let rows: Vec<LeaderboardRow> = lb
                    .sorted(metric)
                    .into_iter()
                    .map(|r| visible(r, unlocked))
                    .collect();
                let out = serde_json::json!({
                    "metric": metric,
                    "holdout_unlocked": unlocked,
                    "best": best,
                    "rows": rows,
                });
                outln!("{}", serde_json::to_string_pretty(&out)?)?;
            } else if lb.rows.is_empty() {
                outln!("{}: no models yet", project.dir().display())?;
            } else {
                let better = if metric.higher_is_better() {
                    "higher"
                } else {
                    "lower"
                };
                outln!("Ranked by {} ({better} is better)", metric.name())?;
                outln!("{}", lb.render_text(metric, best))?;
                if let Some(why) = unscored_note(&lb, metric) {
                    outln!("{why}")?;
                }
            }
        }
    }
    Ok(())
}

/// Why every model shows `-` for `metric`, when none has a score for it.
fn unscored_note(lb: &Leaderboard, metric: Metric) -> Option<String> {
    let has = |s: &Scores| s.get(&metric).is_some_and(|v| v.is_finite());
    let scored = lb
        .rows
        .iter()
        .any(|r| has(&r.validation) || r.cv_mean.as_ref().is_some_and(has));
    if scored {
        return None;
    }
    let why = match metric {
        Metric::Rmsle => "it is undefined for targets or predictions at or below -1",
        Metric::Auc => "it needs two classes in each scored fold",
        _ => "it could not be computed for this target",
    };
    Some(format!("no model has a {} score: {why}", metric.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_no_model_has_is_explained() {
        let mut lb = Leaderboard::default();
        let mut row = LeaderboardRow::new("M2", "2 tabular → Ridge Regression", "Informative");
        row.validation.insert(Metric::Rmse, 0.5);
        lb.upsert(row.clone());
        let note = unscored_note(&lb, Metric::Rmsle).expect("a note");
        assert!(note.contains("at or below -1"), "{note}");
        assert_eq!(unscored_note(&lb, Metric::Rmse), None);
        row.validation.insert(Metric::Rmsle, 0.1);
        lb.upsert(row);
        assert_eq!(unscored_note(&lb, Metric::Rmsle), None);
    }
}
