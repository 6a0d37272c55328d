//! `autopilot run`: parses the options, runs [`autopilot::session::Session`] (load, profile,
//! partition, learned features, the autopilot) and prints the profile, the partition, progress
//! (a spinner on stderr, an optional JSON event log) and the leaderboard.
//!
//! The project folder defaults to `./<data stem>.autopilot/` in the **current directory** (not
//! next to the data, which may be read-only). Running again with the same data, target and
//! settings reuses the project (its partition and leaderboard); different settings are refused.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use blueprints::metrics::{Metric, fmt_score};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::out::{errln, outln};
use autopilot::autopilot::{Event, Mode};
use autopilot::dataset::{self, ColumnType, Dataset, Profile};
use autopilot::model::FeatureList;
use autopilot::partition::Partition;
use autopilot::project::outputs::check_output;
use autopilot::session::{NO_BACKBONE, RunEvent, RunOptions, Session};

/// Arguments of `autopilot run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A CSV file, or a folder of class folders of images (`DATA/<class>/*.jpg`).
    pub data: PathBuf,
    /// The target column (for a folder of class folders: `class`).
    #[arg(long)]
    pub target: String,
    #[command(flatten)]
    pub task: super::profile::TaskArgs,
    /// Group column: rows of one group (e.g. one artist) stay in one fold, and all in or all
    /// out of the holdout.
    #[arg(long)]
    pub group: Option<String>,
    /// Project folder (default: `./<data stem>.autopilot` in the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Seed for partitioning and every model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Override an inferred column type, e.g. `--type album_name=text` (repeatable).
    #[arg(long = "type", value_name = "COLUMN=KIND", value_parser = dataset::parse_type_override)]
    pub types: Vec<(String, ColumnType)>,
    /// Percentage of rows kept aside as the holdout (0 for none).
    #[arg(long, default_value_t = 20.0)]
    pub holdout_pct: f64,
    /// Number of cross-validation folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Use these folds instead of drawing them: one fold id per CSV data record (0..k, negative
    /// = holdout), as a JSON array, a JSON object with a `folds` array (the peer harness's
    /// results file), or one id per line. In place of --folds and --holdout-pct; --group is
    /// then checked against these folds.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["folds", "holdout_pct"])]
    pub folds_from: Option<PathBuf>,
    /// Allow image paths outside the data folder (`..`, absolute paths, symlinks).
    #[arg(long)]
    pub allow_outside: bool,
    /// How much to try: quick (one stage), full (growing samples), comprehensive (CV everything).
    #[arg(long, default_value = "quick", value_parser = parse_mode)]
    pub mode: Mode,
    /// Do not start a model that would end after this many seconds from the start of the
    /// command (loading, featurization and training all count).
    #[arg(long, value_name = "SECONDS", value_parser = parse_time_limit)]
    pub time_limit: Option<f64>,
    /// Stop after this many leaderboard rows (at least 1: the baseline's).
    #[arg(long, value_parser = parse_max_models)]
    pub max_models: Option<usize>,
    /// Image backbones: the first builds the catalogue, the others retune the best blueprint
    /// (`none`: no image features, image columns are left out).
    #[arg(
        long = "backbone",
        value_delimiter = ',',
        default_values_t = default_backbones(),
        value_parser = parse_backbone
    )]
    pub backbones: Vec<String>,
    /// Compute device of the image backbones: auto (a hardware GPU through wgpu when there is
    /// one, else the CPU), cpu, or wgpu (any wgpu adapter, software ones included).
    #[arg(long, default_value = "auto", value_parser = super::models::parse_device)]
    pub device: neural::DeviceChoice,
    /// Only profile, partition and score the baseline (no blueprints).
    #[arg(long)]
    pub baseline_only: bool,
    /// No progress output (the summary is still printed).
    #[arg(long)]
    pub quiet: bool,
    /// Append machine-readable progress events (one JSON object per line) to this file.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// A user feature list, e.g. `--feature-list top2=cover,album_name` (repeatable): its
    /// blueprints join the catalogue.
    #[arg(long = "feature-list", value_name = "NAME=COL,COL,...", value_parser = parse_feature_list)]
    pub feature_lists: Vec<FeatureList>,
    /// Continue an existing project (finished models are never retrained; rerunning the same
    /// command does the same). Fails when the project does not exist yet.
    #[arg(long)]
    pub resume: bool,
    /// Add the fine-tuned CNN blueprint (a backbone's last stage, with its 1×1 head if it has
    /// one, trained on the image column) in any mode; it joins by itself in comprehensive mode
    /// and on a hardware GPU. Slow on a CPU: its time estimate is printed before it starts.
    #[arg(long)]
    pub fine_tune: bool,
}

/// "up to ~4.2 min per fit …": a slow estimator's up-front estimate, for the console.
pub(crate) fn fit_estimate(seconds: f64) -> String {
    let t = if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{:.1} min", seconds / 60.0)
    };
    format!(
        "estimate: up to ~{t} per fit (from one timed training step; early stopping usually ends sooner)"
    )
}

/// Parses `name=col1,col2` into a feature list.
pub fn parse_feature_list(s: &str) -> Result<FeatureList, String> {
    let (name, cols) = s
        .split_once('=')
        .ok_or_else(|| format!("feature list '{s}' is not of the form name=col1,col2"))?;
    let columns: Vec<String> = cols.split(',').map(|c| c.trim().to_string()).collect();
    if name.trim().is_empty() || columns.iter().all(String::is_empty) {
        return Err(format!(
            "feature list '{s}' needs a name and at least one column"
        ));
    }
    Ok(FeatureList {
        name: name.trim().to_string(),
        columns,
    })
}

/// Parses `--max-models`: a count of at least one (the baseline is the first row).
pub fn parse_max_models(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "'{s}' is not a number of models of at least 1 (the baseline is the first; \
             --baseline-only trains it alone)"
        )),
    }
}

/// Parses `--time-limit`: a positive, finite number of seconds.
pub fn parse_time_limit(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

/// Parses `--mode`: quick, full or comprehensive.
pub fn parse_mode(s: &str) -> Result<Mode, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "quick" => Ok(Mode::Quick),
        "full" => Ok(Mode::Full),
        "comprehensive" => Ok(Mode::Comprehensive),
        _ => Err(format!(
            "unknown mode '{s}'; valid: quick, full, comprehensive"
        )),
    }
}

/// Parses a `--backbone` name into its zoo name (or [`NO_BACKBONE`]); an unknown name lists
/// the valid ones.
pub fn parse_backbone(s: &str) -> Result<String, String> {
    if s.trim().eq_ignore_ascii_case(NO_BACKBONE) {
        return Ok(NO_BACKBONE.to_string());
    }
    neural::Backbone::from_name(s)
        .map(|b| b.name().to_string())
        .map_err(|_| {
            let valid: Vec<&str> = neural::Backbone::ALL.iter().map(|b| b.name()).collect();
            format!(
                "unknown backbone '{s}'; valid: {}, or {NO_BACKBONE} (no image features)",
                valid.join(", ")
            )
        })
}

fn default_backbones() -> Vec<String> {
    autopilot::features::image::DEFAULT_BACKBONES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

impl RunArgs {
    /// The engine's options for these arguments.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            data: self.data.clone(),
            target: self.target.clone(),
            task: self.task.task,
            positive: self.task.positive.clone(),
            group: self.group.clone(),
            project: self.project.clone(),
            seed: self.seed,
            types: self.types.clone(),
            holdout_pct: self.holdout_pct,
            folds: self.folds,
            folds_from: self.folds_from.clone(),
            allow_outside: self.allow_outside,
            mode: self.mode,
            time_limit: self.time_limit,
            max_models: self.max_models,
            backbones: self.backbones.clone(),
            device: self.device,
            baseline_only: self.baseline_only,
            feature_lists: self.feature_lists.clone(),
            resume: self.resume,
            fine_tune: self.fine_tune,
        }
    }
}

/// A short description of the partition.
fn describe_partition(p: &Partition, ds: &Dataset) -> String {
    let sizes = || {
        p.fold_sizes()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = match (&p.imported_from, &p.group_column) {
        (Some(file), _) => format!(
            "Partition: {} folds imported from {file}\n  holdout: {} rows\n  folds:   {}",
            p.k,
            p.holdout.len(),
            sizes()
        ),
        (None, Some(g)) => {
            let groups_in = |rows: &[usize]| -> usize {
                let col = ds.column(g);
                let mut seen = std::collections::BTreeSet::new();
                for &r in rows {
                    if let Some(Some(v)) = col.and_then(|c| c.values.get(r)) {
                        seen.insert(v.as_str());
                    }
                }
                seen.len()
            };
            let folds: Vec<String> = (0..p.k)
                .map(|f| {
                    let rows = p.valid_rows(f);
                    format!("{} ({} groups)", rows.len(), groups_in(&rows))
                })
                .collect();
            format!(
                "Partition: stratified group {}-fold by '{g}' + {}% holdout, seed {}\n  holdout: {} rows ({} groups)\n  folds:   {}",
                p.k,
                p.holdout_pct,
                p.seed,
                p.holdout.len(),
                groups_in(&p.holdout),
                folds.join(", ")
            )
        }
        (None, None) => format!(
            "Partition: stratified {}-fold + {}% holdout, seed {}\n  holdout: {} rows\n  folds:   {}",
            p.k,
            p.holdout_pct,
            p.seed,
            p.holdout.len(),
            sizes()
        ),
    };
    for w in &p.warnings {
        s.push_str(&format!("\n  warning: {w}"));
    }
    s
}

/// A few lines on the data: rows, columns and kinds, classes, leakage, excluded columns.
fn describe_profile(p: &Profile) -> String {
    let target = match &p.target_summary {
        Some(t) => format!("target: {}", t.describe()),
        None => format!(
            "classes: {}",
            p.class_counts
                .iter()
                .map(|c| format!("{} {}", c.class, c.count))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut s = format!(
        "Data: {} ({} rows, {} skipped)\n  columns: {}\n  task: {}\n  {target}",
        p.source.display(),
        p.n_rows,
        p.skipped.len(),
        p.columns
            .iter()
            .map(|c| format!("{} ({})", c.name, c.kind))
            .collect::<Vec<_>>()
            .join(", "),
        p.task_reason,
    );
    s.push_str(&format!("\n  features: {}", p.feature_columns.join(", ")));
    if !p.excluded.is_empty() {
        s.push_str(&format!(
            "\n  excluded: {}",
            p.excluded
                .iter()
                .map(|e| format!("{} ({})", e.column, e.reason))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for l in &p.leakage {
        s.push_str(&format!("\n  leakage: {}: {}", l.column, l.reason));
    }
    if p.duplicate_rows > 0 || !p.duplicate_images.is_empty() {
        s.push_str(&format!(
            "\n  duplicates: {} identical rows, {} groups of identical images",
            p.duplicate_rows,
            p.duplicate_images.len()
        ));
    }
    s.push_str(&super::profile::describe_data_problems(p));
    s
}

/// The console summary of what `--time-limit` kept from starting: how many, then the first
/// few names (each once, in order).
fn describe_time_skips(skipped: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut unique: Vec<&str> = Vec::new();
    for s in skipped {
        if !unique.contains(&s.as_str()) {
            unique.push(s);
        }
    }
    let mut s = format!("skipped for time (--time-limit): {}", unique.len());
    for name in unique.iter().take(SHOWN) {
        s.push_str(&format!("\n  {name}"));
    }
    if unique.len() > SHOWN {
        s.push_str(&format!("\n  … and {} more", unique.len() - SHOWN));
    }
    s
}

/// Executes `autopilot run`.
pub fn execute(args: RunArgs) -> anyhow::Result<()> {
    run_and_print(&args.options(), args.quiet, args.events.as_deref())
}

/// Runs `opts` and prints as `autopilot run` does: progress unless `quiet`, scheduler events
/// appended to `events` as JSON lines. Printing is best effort: a run whose stdout was closed
/// (`| head`) goes on training and writing the project.
pub fn run_and_print(
    opts: &RunOptions,
    quiet: bool,
    events: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    // `--time-limit` counts from here: loading and featurization are part of the run.
    let started = Instant::now();
    let session = Session::prepare(opts)?;
    if let Some(log) = events {
        let mut inputs = vec![opts.data.as_path()];
        inputs.extend(opts.folds_from.as_deref());
        check_output(log, Some(session.project.dir()), &inputs)?;
    }
    let _ = outln!(
        "Project: {} ({})",
        session.project.dir().display(),
        if session.reused { "reused" } else { "created" }
    );
    let _ = outln!("{}", describe_profile(&session.profile));
    let _ = outln!(
        "{}",
        describe_partition(&session.partition, &session.dataset)
    );
    let mut log = match events {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening event log {}", p.display()))?,
        ),
        None => None,
    };
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let metric = session.target.task.metric();
    let outcome = session.run(opts, started, &mut |e: &RunEvent| {
        if let (RunEvent::Autopilot(e), Some(f)) = (e, log.as_mut())
            && let Ok(line) = serde_json::to_string(e)
        {
            let _ = writeln!(f, "{line}");
        }
        print_event(&bar, e, quiet, metric);
    })?;
    bar.finish_and_clear();
    let _ = outln!(
        "Leaderboard:\n{}",
        outcome
            .leaderboard
            .render_text(metric, outcome.best.as_deref())
    );
    if !outcome.skipped_for_time.is_empty() {
        let _ = outln!("{}", describe_time_skips(&outcome.skipped_for_time));
    }
    Ok(())
}

/// Prints `e`'s progress line ([`event_line`]) on stderr and shows a starting model on the bar.
/// Lines go through `suspend`, not `ProgressBar::println`, which writes nothing when stderr is
/// not a terminal (a log file would lose every model's line and time estimate).
fn print_event(bar: &ProgressBar, e: &RunEvent, quiet: bool, metric: Metric) {
    if let RunEvent::Autopilot(Event::Started {
        model_id,
        blueprint,
        sample_pct,
        ..
    }) = e
        && !quiet
    {
        bar.set_message(format!("{model_id} {blueprint} ({sample_pct}%)"));
    }
    if let Some(line) = event_line(e, quiet, metric) {
        bar.suspend(|| errln!("{line}"));
    }
}

/// The progress line of `e`, if it has one (warnings, notes and failures even when `quiet`);
/// scores are in `metric`.
fn event_line(e: &RunEvent, quiet: bool, metric: Metric) -> Option<String> {
    Some(match e {
        RunEvent::Warning(w) => format!("warning: {w}"),
        RunEvent::Note(n) => format!("note: {n}"),
        // No model id: a failed model gets no row, and the next one takes its id.
        RunEvent::Autopilot(Event::Failed {
            blueprint, error, ..
        }) => format!("   failed: {blueprint}: {error}"),
        _ if quiet => return None,
        RunEvent::Featurizing { column, model } => {
            format!("featurizing '{column}' with {model} ...")
        }
        RunEvent::Featurized {
            rows,
            failed,
            seconds,
        } => format!("  {rows} rows in {seconds:.1}s ({failed} without features)"),
        RunEvent::Autopilot(e) => match e {
            Event::Stage { name, models } => format!("== {name}: {models} models"),
            Event::Started {
                model_id,
                blueprint,
                sample_pct,
                fit_estimate_s,
            } => format!(
                "   {model_id} {blueprint} ({sample_pct}%): {}",
                fit_estimate((*fit_estimate_s)?)
            ),
            Event::Finished {
                model_id,
                score,
                seconds,
            } => format!(
                "   {model_id}: {metric} {} ({seconds:.1}s)",
                score.map_or("-".into(), fmt_score)
            ),
            Event::Failed { .. } => return None,
            Event::Skipped { blueprint, reason } => format!("   skipped {blueprint}: {reason}"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_lists_and_model_counts_are_checked_when_parsed() {
        let l = parse_feature_list("a=x, y").unwrap();
        assert_eq!(
            (l.name.as_str(), l.columns),
            ("a", vec!["x".to_string(), "y".into()])
        );
        assert!(parse_feature_list("a=").is_err());
        assert_eq!(parse_max_models("3"), Ok(3));
        assert!(
            parse_max_models("0")
                .unwrap_err()
                .contains("--baseline-only")
        );
    }

    #[test]
    fn failures_and_warnings_are_said_even_when_quiet() {
        let failed = Event::Failed {
            model_id: "M9".into(),
            blueprint: "Mean Blender of M2 + M3".into(),
            error: "non-finite".into(),
        };
        let failed = RunEvent::Autopilot(&failed);
        let line = event_line(&failed, true, Metric::Rmse);
        assert_eq!(
            line.as_deref(),
            Some("   failed: Mean Blender of M2 + M3: non-finite")
        );
        let warning = RunEvent::Warning("w".into());
        assert_eq!(
            event_line(&warning, true, Metric::Rmse).as_deref(),
            Some("warning: w")
        );
        let stage = Event::Stage {
            name: "quick".into(),
            models: 3,
        };
        let stage = RunEvent::Autopilot(&stage);
        assert_eq!(event_line(&stage, true, Metric::Rmse), None);
        assert!(event_line(&stage, false, Metric::Rmse).is_some());
    }
}
