//! `autopilot run`: load and profile the data, partition it, persist everything in a project
//! folder, and fill the leaderboard (for now with the majority-class baseline).
//!
//! The project folder defaults to `./<data stem>.autopilot/` in the **current directory** (not
//! next to the data, which may be read-only). Running again with the same data, target and
//! settings reuses the project (its partition and leaderboard); different settings are refused.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use blueprints::metrics::Metric;
use clap::Args;

use super::out::outln;
use crate::autopilot::Mode;
use crate::autopilot::project_data::best_model;
use crate::dataset::{self, ColumnType, Dataset, LoadOptions, Profile, Target};
use crate::leaderboard::{self, Leaderboard};
use crate::partition::{self, Partition, PartitionSpec, fold_file};
use crate::project::{self, Project, ProjectSettings};

/// Arguments of `autopilot run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A CSV file, or a folder of class folders of images (`DATA/<class>/*.jpg`).
    pub data: PathBuf,
    /// The target column (for a folder of class folders: `class`).
    #[arg(long)]
    pub target: String,
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
    /// results file), or one id per line. Replaces --folds, --holdout-pct and --group's split.
    #[arg(long, value_name = "FILE")]
    pub folds_from: Option<PathBuf>,
    /// Allow image paths outside the data folder (`..`, absolute paths, symlinks).
    #[arg(long)]
    pub allow_outside: bool,
    /// How much to try: quick (one stage), full (growing samples), comprehensive (CV everything).
    #[arg(long, value_enum, default_value_t = Mode::Quick)]
    pub mode: Mode,
    /// Do not start a model that would end after this many seconds from the start of the
    /// command (loading, featurization and training all count).
    #[arg(long, value_name = "SECONDS", value_parser = parse_time_limit)]
    pub time_limit: Option<f64>,
    /// Stop after this many leaderboard rows.
    #[arg(long)]
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
    pub feature_lists: Vec<crate::autopilot::FeatureList>,
    /// Continue an existing project (finished models are never retrained; rerunning the same
    /// command does the same). Fails when the project does not exist yet.
    #[arg(long)]
    pub resume: bool,
}

/// Parses `name=col1,col2` into a feature list.
pub fn parse_feature_list(s: &str) -> Result<crate::autopilot::FeatureList, String> {
    let (name, cols) = s
        .split_once('=')
        .ok_or_else(|| format!("feature list '{s}' is not of the form name=col1,col2"))?;
    let columns: Vec<String> = cols
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if name.trim().is_empty() || columns.is_empty() {
        return Err(format!(
            "feature list '{s}' needs a name and at least one column"
        ));
    }
    Ok(crate::autopilot::FeatureList {
        name: name.trim().to_string(),
        columns,
    })
}

/// Parses `--time-limit`: a positive, finite number of seconds.
pub fn parse_time_limit(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

/// `--backbone none`: no image backbone, image columns are left out.
pub const NO_BACKBONE: &str = "none";

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
    crate::images::DEFAULT_BACKBONES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The default project folder for `data`: `./<stem>.autopilot`.
pub fn default_project_dir(data: &Path) -> PathBuf {
    let stem = data.file_stem().or_else(|| data.file_name()).map_or_else(
        || "project".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    PathBuf::from(format!("{stem}.autopilot"))
}

/// A loaded, profiled and partitioned project, ready for training.
pub(crate) struct Prepared {
    pub project: Project,
    pub dataset: Dataset,
    pub profile: Profile,
    pub target: Target,
    pub partition: Partition,
    pub reused: bool,
    /// The project's writer lock, held as long as this value lives.
    pub _lock: project::WriterLock,
}

/// SHA-256 of a data file (hex); `None` for a folder.
fn data_fingerprint(path: &Path) -> anyhow::Result<Option<String>> {
    use sha2::{Digest, Sha256};
    if path.is_dir() {
        return Ok(None);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(format!("{:x}", Sha256::digest(&bytes))))
}

/// Opens or creates the project, loads and profiles the data, and loads or makes the partition.
pub(crate) fn prepare(args: &RunArgs) -> anyhow::Result<Prepared> {
    let mut settings = ProjectSettings::new(&args.data, &args.target);
    settings.group = args.group.clone();
    settings.seed = args.seed;
    settings.type_overrides = args.types.iter().cloned().collect();
    settings.folds = args.folds;
    settings.holdout_pct = args.holdout_pct;
    settings.allow_outside = args.allow_outside;
    settings.data_sha256 = data_fingerprint(&args.data)?;
    // Validate partition settings before creating anything on disk.
    if args.folds < 2 || args.folds > partition::MAX_FOLDS {
        anyhow::bail!(
            "--folds must be between 2 and {}, got {}",
            partition::MAX_FOLDS,
            args.folds
        );
    }
    if args.backbones.len() > 1 && args.backbones.iter().any(|b| b == NO_BACKBONE) {
        anyhow::bail!(
            "--backbone {NO_BACKBONE} leaves image columns out; it cannot be combined with other backbones"
        );
    }
    if !(0.0..=50.0).contains(&args.holdout_pct) {
        anyhow::bail!(
            "--holdout-pct must be between 0 and 50, got {}",
            args.holdout_pct
        );
    }

    let opts = LoadOptions {
        target: Some(args.target.clone()),
        type_overrides: args.types.clone(),
        allow_outside: args.allow_outside,
        ..LoadOptions::default()
    };
    let ds = dataset::load(&args.data, &opts)?;
    let profile = dataset::profile(&ds, &args.target, args.group.as_deref())?;
    let target = ds.target(&args.target)?;
    // Imported folds are checked before anything is written.
    let imported = match &args.folds_from {
        Some(path) => {
            let file = fold_file::read_fold_file(path)?;
            let mut p = fold_file::partition_from_file(&ds, &file, path)?;
            if let Some(g) = &args.group {
                fold_file::check_groups(&mut p, &ds, g)?;
                p.group_column = Some(g.clone());
            }
            settings.folds = p.k;
            settings.holdout_pct = 100.0 * p.holdout_rows().len() as f64 / p.n_rows() as f64;
            settings.folds_sha256 = Some(file.sha256);
            Some(p)
        }
        None => None,
    };

    let dir = args
        .project
        .clone()
        .unwrap_or_else(|| default_project_dir(&args.data));
    if args.resume && !dir.join(project::PROJECT_FILE).is_file() {
        anyhow::bail!(
            "--resume: no project in {} to resume; run without --resume to start one",
            dir.display()
        );
    }
    for list in &args.feature_lists {
        for c in &list.columns {
            ds.require_column(c)?;
            if c == &args.target {
                anyhow::bail!("feature list '{}' contains the target '{c}'", list.name);
            }
        }
    }
    // One writer per project, from before its first file is written until the run ends.
    let lock = project::WriterLock::acquire(&dir, "autopilot run")?;
    let (project, reused) = Project::open_or_create(&dir, settings)?;
    project.save_json(project::PROFILE_FILE, &profile)?;

    let existing: Option<Partition> = project.load_json_opt(project::PARTITION_FILE)?;
    let partition = match existing {
        Some(p) => {
            p.validate().with_context(|| {
                format!(
                    "{}: invalid partition",
                    project.path(project::PARTITION_FILE).display()
                )
            })?;
            if p.n_rows() != ds.n_rows() {
                anyhow::bail!(
                    "{}: the partition covers {} rows but the data now has {}; use a new --project folder",
                    project.path(project::PARTITION_FILE).display(),
                    p.n_rows(),
                    ds.n_rows()
                );
            }
            p
        }
        None => {
            let p = match imported {
                Some(p) => p,
                None => make_partition(&ds, &target, args)?,
            };
            project.save_json(project::PARTITION_FILE, &p)?;
            p
        }
    };
    Ok(Prepared {
        project,
        dataset: ds,
        profile,
        target,
        partition,
        reused,
        _lock: lock,
    })
}

/// Partitions the rows as the arguments ask (group k-fold when `--group` is given).
fn make_partition(ds: &Dataset, target: &Target, args: &RunArgs) -> anyhow::Result<Partition> {
    let spec = PartitionSpec {
        k: args.folds,
        holdout_pct: args.holdout_pct,
        seed: args.seed,
    };
    let p = match &args.group {
        Some(g) => {
            let col = ds.require_column(g)?;
            let ids = partition::group_ids(&col.values);
            Partition::grouped(&target.labels, &target.classes, &ids, g, &spec)?
        }
        None => Partition::stratified(&target.labels, &target.classes, &spec)?,
    };
    Ok(p)
}

/// Adds the majority-class baseline to the leaderboard unless it is already there.
fn ensure_baseline(prep: &Prepared, lb: &mut Leaderboard) -> bool {
    if lb
        .rows
        .iter()
        .any(|r| r.blueprint == leaderboard::BASELINE_BLUEPRINT)
    {
        return false;
    }
    let id = lb.next_model_id();
    let row = leaderboard::baseline_row(
        &id,
        &prep.target.labels,
        prep.target.classes.len(),
        &prep.partition,
    );
    lb.upsert(row);
    true
}

/// A short description of the partition.
pub(crate) fn describe_partition(p: &Partition, ds: &Dataset) -> String {
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
    let mut s = format!(
        "Data: {} ({} rows, {} skipped)\n  columns: {}\n  classes: {}",
        p.source.display(),
        p.n_rows,
        p.skipped.len(),
        p.columns
            .iter()
            .map(|c| format!("{} ({})", c.name, c.kind))
            .collect::<Vec<_>>()
            .join(", "),
        p.class_counts
            .iter()
            .map(|c| format!("{} {}", c.class, c.count))
            .collect::<Vec<_>>()
            .join(", ")
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

/// Executes `autopilot run`. Printing is best effort: a run whose stdout was closed (`| head`)
/// goes on training and writing the project.
pub fn execute(args: RunArgs) -> anyhow::Result<()> {
    // `--time-limit` counts from here: loading and featurization are part of the run.
    let started = Instant::now();
    let prep = prepare(&args)?;
    let _ = outln!(
        "Project: {} ({})",
        prep.project.dir().display(),
        if prep.reused { "reused" } else { "created" }
    );
    let _ = outln!("{}", describe_profile(&prep.profile));
    let _ = outln!("{}", describe_partition(&prep.partition, &prep.dataset));

    let mut lb: Leaderboard = prep
        .project
        .load_json_opt(project::LEADERBOARD_FILE)?
        .unwrap_or_default();
    if ensure_baseline(&prep, &mut lb) {
        prep.project.save_json(project::LEADERBOARD_FILE, &lb)?;
    }
    let mut skipped_for_time = Vec::new();
    if !args.baseline_only {
        let outcome = super::autopilot_run::run_autopilot(&prep, &args, started)?;
        lb = outcome.leaderboard;
        skipped_for_time = outcome.skipped_for_time;
    }
    let metric = Metric::BalancedAccuracy;
    let best = best_model(&prep.project, &lb, metric).map(|r| r.model_id.as_str());
    let _ = outln!("Leaderboard:\n{}", lb.render_text(metric, best));
    if !skipped_for_time.is_empty() {
        let _ = outln!("{}", describe_time_skips(&skipped_for_time));
    }
    Ok(())
}
