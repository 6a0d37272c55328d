//! `run`: a project prepared from its data ([`Session::prepare`]) and the autopilot run on it
//! ([`Session::run_autopilot`]): image features for each backbone, feature lists, the
//! catalogue (MiniLM blueprints included), the scheduler.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use crate::autopilot::candidates::{
    BUILT_IN_LISTS, DEFAULT_LEVELS, catalogue, feature_lists, fine_tune_candidate,
    text_embedding_candidates,
};
use crate::autopilot::{Autopilot, AutopilotOptions, Event, Mode};
use crate::dataset::{
    self, ColumnType, Dataset, Profile, REGRESSION_STRATA, Target, TargetSpec, TaskChoice,
};
use crate::features::text::DEFAULT_TEXT_MODEL;
use crate::features::{self, FeatureInputs, FeatureKey, FeatureSettings, ImageKey};
use crate::leaderboard::{self, Leaderboard};
use crate::model::{Candidate, FeatureList};
use crate::partition::{self, Partition, PartitionError, PartitionSpec, fold_file};
use crate::project::{self, Project, ProjectError, ProjectSettings, data_fingerprint};
use crate::store;

/// `backbones = ["none"]`: no image backbone, image columns are left out.
pub const NO_BACKBONE: &str = "none";

/// What `run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A CSV file, or a folder of class folders of images.
    pub data: PathBuf,
    /// The target column.
    pub target: String,
    /// The task (`None`: detected from the target).
    pub task: Option<TaskChoice>,
    /// The positive class of a binary target (`None`: guessed).
    pub positive: Option<String>,
    /// Rows of one group stay in one fold (and all in or all out of the holdout).
    pub group: Option<String>,
    /// Project folder (default: [`default_project_dir`]).
    pub project: Option<PathBuf>,
    /// Seed for partitioning and every model.
    pub seed: u64,
    /// Column kinds forced over the inferred ones.
    pub types: Vec<(String, ColumnType)>,
    /// Percentage of rows kept aside as the holdout.
    pub holdout_pct: f64,
    /// Number of cross-validation folds.
    pub folds: usize,
    /// Folds read from a file instead of drawn.
    pub folds_from: Option<PathBuf>,
    /// Allow image paths outside the data folder.
    pub allow_outside: bool,
    /// How much to try.
    pub mode: Mode,
    /// Start nothing that would end after this many seconds from the start of the run.
    pub time_limit: Option<f64>,
    /// Stop after this many leaderboard rows.
    pub max_models: Option<usize>,
    /// Image backbones: the first builds the catalogue, the others retune ([`NO_BACKBONE`]: none).
    pub backbones: Vec<String>,
    /// Compute device of the learned features.
    pub device: neural::DeviceChoice,
    /// Only the baseline (no blueprints).
    pub baseline_only: bool,
    /// User feature lists: their blueprints join the catalogue.
    pub feature_lists: Vec<FeatureList>,
    /// Continue an existing project only (an error when there is none).
    pub resume: bool,
    /// Add the fine-tuned CNN blueprint in any mode (it joins by itself in comprehensive mode
    /// and on a hardware GPU).
    pub fine_tune: bool,
}

impl RunOptions {
    /// The defaults for `data` and `target`: seed 0, 5 folds, 20 % holdout, quick mode, the
    /// default backbones on the automatic device.
    pub fn new(data: &Path, target: &str) -> Self {
        Self {
            data: data.to_path_buf(),
            target: target.to_string(),
            task: None,
            positive: None,
            group: None,
            project: None,
            seed: 0,
            types: Vec::new(),
            holdout_pct: 20.0,
            folds: 5,
            folds_from: None,
            allow_outside: false,
            mode: Mode::Quick,
            time_limit: None,
            max_models: None,
            backbones: features::image::DEFAULT_BACKBONES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            device: neural::DeviceChoice::Auto,
            baseline_only: false,
            feature_lists: Vec::new(),
            resume: false,
            fine_tune: false,
        }
    }

    /// Whether the time limit is used up, counting from `started`.
    fn time_is_up(&self, started: Instant) -> bool {
        self.time_limit
            .is_some_and(|limit| started.elapsed().as_secs_f64() >= limit)
    }
}

/// The default project folder for `data`: `./<stem>.autopilot`.
pub fn default_project_dir(data: &Path) -> PathBuf {
    let stem = data.file_stem().or_else(|| data.file_name()).map_or_else(
        || "project".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    PathBuf::from(format!("{stem}.autopilot"))
}

/// Progress of a run, for a front end to show.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// Learned features of a column are being computed.
    Featurizing { column: &'a str, model: &'a str },
    /// They are ready: `rows` rows, `failed` of them without features.
    Featurized {
        rows: usize,
        failed: usize,
        seconds: f64,
    },
    /// Something the user should know that does not stop the run.
    Warning(String),
    /// A remark (e.g. image columns left out on request).
    Note(String),
    /// The scheduler's progress.
    Autopilot(&'a Event),
}

/// What a run leaves besides the project's files.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The leaderboard after the run.
    pub leaderboard: Leaderboard,
    /// The best model that can predict (by balanced accuracy), if any.
    pub best: Option<String>,
    /// What the time limit kept from starting (featurizations and blueprints), in order.
    pub skipped_for_time: Vec<String>,
}

/// A loaded, profiled and partitioned project, ready for training. Holds the project's writer
/// lock as long as it lives.
pub struct Session {
    /// The project.
    pub project: Project,
    /// The data.
    pub dataset: Dataset,
    /// Its profile.
    pub profile: Profile,
    /// Labels and classes.
    pub target: Target,
    /// Folds and holdout.
    pub partition: Partition,
    /// Whether an existing project was reopened.
    pub reused: bool,
    _lock: project::WriterLock,
}

/// Refuses options that cannot work, before anything is read or written.
fn check_options(opts: &RunOptions) -> anyhow::Result<()> {
    if opts.folds < 2 || opts.folds > partition::MAX_FOLDS {
        anyhow::bail!(
            "--folds must be between 2 and {}, got {}",
            partition::MAX_FOLDS,
            opts.folds
        );
    }
    if opts.backbones.len() > 1 && opts.backbones.iter().any(|b| b == NO_BACKBONE) {
        anyhow::bail!(
            "--backbone {NO_BACKBONE} leaves image columns out; it cannot be combined with other backbones"
        );
    }
    if !(0.0..=50.0).contains(&opts.holdout_pct) {
        anyhow::bail!(
            "--holdout-pct must be between 0 and 50, got {}",
            opts.holdout_pct
        );
    }
    dataset::check_type_overrides(&opts.types)
        .map_err(|(column, message)| anyhow::anyhow!("--type {column}: {message}"))?;
    Ok(())
}

impl Session {
    /// Opens or creates the project, loads and profiles the data, and loads or makes the
    /// partition.
    pub fn prepare(opts: &RunOptions) -> anyhow::Result<Session> {
        check_options(opts)?;
        let mut settings = ProjectSettings::new(&opts.data, &opts.target);
        settings.group = opts.group.clone();
        settings.task = opts.task;
        settings.positive = opts.positive.clone();
        settings.seed = opts.seed;
        settings.type_overrides = opts.types.iter().cloned().collect();
        settings.folds = opts.folds;
        settings.holdout_pct = opts.holdout_pct;
        settings.allow_outside = opts.allow_outside;
        settings.data_sha256 = data_fingerprint(&opts.data)?;

        let ds = dataset::load(&opts.data, &settings.load_options())?;
        let spec = settings.target_spec();
        let profile = dataset::profile(&ds, &spec, opts.group.as_deref())?;
        let target = ds.target_with(&spec)?;
        // A `--positive` naming the class guessed anyway changes nothing: the project is the
        // same with or without it, so a resume may give it or leave it out.
        if spec.positive.is_some() {
            let guessed = TargetSpec {
                positive: None,
                ..spec.clone()
            };
            if ds.target_with(&guessed)?.positive == target.positive {
                settings.positive = None;
            }
        }
        // Imported folds are checked before anything is written.
        let imported = match &opts.folds_from {
            Some(path) => {
                let file = fold_file::read_fold_file(path)?;
                let mut p = fold_file::partition_from_file(&ds, &file, path)?;
                fold_file::check_classes(&mut p, &target, path)?;
                if let Some(g) = &opts.group {
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

        let dir = opts
            .project
            .clone()
            .unwrap_or_else(|| default_project_dir(&opts.data));
        if opts.resume && !dir.join(project::PROJECT_FILE).is_file() {
            anyhow::bail!(
                "--resume: no project in {} to resume; run without --resume to start one",
                dir.display()
            );
        }
        for (i, list) in opts.feature_lists.iter().enumerate() {
            if let Some(reserved) = BUILT_IN_LISTS
                .iter()
                .find(|b| b.eq_ignore_ascii_case(list.name.trim()))
            {
                anyhow::bail!(
                    "feature list '{}': '{reserved}' is a built-in list's name; give yours another",
                    list.name
                );
            }
            if opts.feature_lists[..i].iter().any(|l| l.name == list.name) {
                anyhow::bail!("feature list '{}' is given twice", list.name);
            }
            // Columns as the command line or the web app gives them: none empty, none twice.
            if list.columns.iter().any(|c| c.is_empty()) {
                anyhow::bail!("feature list '{}' has an empty column name", list.name);
            }
            let cols = &list.columns;
            if let Some(c) =
                (0..cols.len()).find_map(|j| cols[..j].contains(&cols[j]).then_some(&cols[j]))
            {
                anyhow::bail!("feature list '{}' names column '{c}' twice", list.name);
            }
            for c in &list.columns {
                ds.require_column(c)?;
                if c == &opts.target {
                    anyhow::bail!("feature list '{}' contains the target '{c}'", list.name);
                }
            }
        }
        // A new project's partition is made (and its folds checked) before anything is
        // written: a refused run leaves no project behind to block the corrected command.
        let fresh = match imported {
            Some(p) => Some(p),
            None if !dir.join(project::PARTITION_FILE).is_file() => {
                Some(make_partition(&ds, &target, opts)?)
            }
            None => None,
        };
        // One writer per project, from before its first file is written until the run ends.
        let lock = project::WriterLock::acquire(&dir, "autopilot run")?;
        let (project, reused) = Project::open_or_create(&dir, settings)?;
        store::save_profile(&project, &profile)?;

        let partition = match store::partition_opt(&project)? {
            Some(p) => {
                let path = || project.path(project::PARTITION_FILE).display().to_string();
                p.validate()
                    .with_context(|| format!("{}: invalid partition", path()))?;
                if p.n_rows() != ds.n_rows() {
                    anyhow::bail!(
                        "{}: the partition covers {} rows but the data now has {}; use a new --project folder",
                        path(),
                        p.n_rows(),
                        ds.n_rows()
                    );
                }
                p
            }
            None => {
                let p = match fresh {
                    Some(p) => p,
                    // The file was there when checked above and is gone now.
                    None => make_partition(&ds, &target, opts)?,
                };
                store::save_partition(&project, &p)?;
                p
            }
        };
        Ok(Session {
            project,
            dataset: ds,
            profile,
            target,
            partition,
            reused,
            _lock: lock,
        })
    }

    /// The leaderboard with the majority-class baseline on it (added and saved when missing).
    pub fn leaderboard_with_baseline(&self) -> anyhow::Result<Leaderboard> {
        let mut lb = store::leaderboard(&self.project)?;
        if !lb
            .rows
            .iter()
            .any(|r| leaderboard::is_baseline(&r.blueprint))
        {
            let id = lb.next_model_id();
            lb.upsert(leaderboard::baseline_row(
                &id,
                &self.target,
                &self.partition,
            ));
            store::save_leaderboard(&self.project, &lb)?;
        }
        Ok(lb)
    }

    /// The baseline, then (unless `baseline_only`) the autopilot; the time limit counts from
    /// `started` (the start of the command: loading and featurization count).
    pub fn run(
        &self,
        opts: &RunOptions,
        started: Instant,
        on_event: &mut dyn FnMut(&RunEvent),
    ) -> anyhow::Result<RunOutcome> {
        let mut lb = self.leaderboard_with_baseline()?;
        let lost = drop_models_without_files(&self.project, &mut lb)?;
        if !lost.is_empty() {
            on_event(&RunEvent::Warning(format!(
                "{} lost their saved files ({}): trained again",
                lost.join(", "),
                self.project.path("models/<id>/").display()
            )));
        }
        let mut skipped_for_time = Vec::new();
        if !opts.baseline_only {
            let mut failures = Vec::new();
            let (after, skipped) = self.run_autopilot(opts, started, &mut |e| {
                if let RunEvent::Autopilot(Event::Failed {
                    blueprint, error, ..
                }) = e
                {
                    failures.push(format!("{blueprint}: {error}"));
                }
                on_event(e);
            })?;
            // A run whose every model failed has nothing to offer but the baseline.
            if !failures.is_empty()
                && after
                    .rows
                    .iter()
                    .all(|r| leaderboard::is_baseline(&r.blueprint))
            {
                anyhow::bail!(
                    "every model failed ({} tried; the leaderboard holds the baseline only); \
                     the first: {}",
                    failures.len(),
                    failures[0]
                );
            }
            lb = after;
            skipped_for_time = skipped;
        }
        let best = store::best_model(&self.project, &lb, self.target.task.metric())
            .map(|r| r.model_id.clone());
        if best.is_none() && !opts.baseline_only {
            on_event(&RunEvent::Warning(format!(
                "no model can predict yet: {}",
                store::NONE_CROSS_VALIDATED
            )));
        }
        Ok(RunOutcome {
            leaderboard: lb,
            best,
            skipped_for_time,
        })
    }

    /// Image features for each backbone the run needs (backbones after the first are not
    /// featurized once the time limit is up), the catalogue, and the scheduler. Returns the
    /// leaderboard and what the time limit kept from starting.
    fn run_autopilot(
        &self,
        opts: &RunOptions,
        started: Instant,
        on_event: &mut dyn FnMut(&RunEvent),
    ) -> anyhow::Result<(Leaderboard, Vec<String>)> {
        let mut skipped_for_time = Vec::new();
        let ds = &self.dataset;
        let mut informative = self.profile.feature_columns.clone();
        let image_cols: Vec<String> = informative
            .iter()
            .filter(|c| ds.column(c).is_some_and(|c| c.kind == ColumnType::Image))
            .cloned()
            .collect();
        let mut backbones: Vec<String> = match opts.mode {
            Mode::Quick => opts.backbones.iter().take(2).cloned().collect(),
            _ => opts.backbones.clone(),
        };
        backbones.retain(|b| b != NO_BACKBONE);
        let settings = FeatureSettings::on(opts.device);
        let mut inputs = FeatureInputs::new(ds);
        let mut usable_backbones = Vec::new();
        let mut failures = Vec::new();
        for (i, b) in backbones.iter().enumerate() {
            if i > 0 && !image_cols.is_empty() && opts.time_is_up(started) {
                on_event(&RunEvent::Note(format!(
                    "not featurizing with {b}: --time-limit reached"
                )));
                skipped_for_time.push(format!("image features from {b}"));
                continue;
            }
            let mut all_ok = true;
            for col in &image_cols {
                let key = FeatureKey::Image(ImageKey {
                    column: col.clone(),
                    backbone: b.clone(),
                    levels: DEFAULT_LEVELS.iter().map(|s| s.to_string()).collect(),
                });
                match self.featurize(&key, &settings, on_event) {
                    Ok(m) => inputs.insert(key, m),
                    // A feature cache that cannot be read or written ends the run: models are
                    // never trained on a quietly smaller feature set.
                    Err(e) if ProjectError::find_in(&e).is_some() => {
                        return Err(e.context(format!("caching the features of '{col}' ({b})")));
                    }
                    Err(e) => {
                        let failure = format!("no image features from {b}: {e:#}");
                        on_event(&RunEvent::Warning(failure.clone()));
                        failures.push(failure);
                        all_ok = false;
                    }
                }
            }
            if all_ok {
                usable_backbones.push(b.clone());
            }
        }
        if !image_cols.is_empty() && usable_backbones.is_empty() {
            let cols = image_cols.join(", ");
            on_event(&if backbones.is_empty() {
                RunEvent::Note(format!(
                    "image columns {cols} are left out (--backbone {NO_BACKBONE})"
                ))
            } else {
                RunEvent::Warning(format!(
                    "image columns {cols} are left out: no backbone could featurize them"
                ))
            });
            informative.retain(|c| !image_cols.contains(c));
            // Images were all there was to learn from: a leaderboard of the baseline alone
            // would be a failed run that looks like a finished one.
            if informative.is_empty() && !backbones.is_empty() {
                anyhow::bail!(
                    "no model can be trained: the only feature columns are images ({cols}) and no \
                     backbone could featurize them ({})",
                    failures.join("; ")
                );
            }
        }
        if informative.is_empty() {
            let left_out: Vec<String> = self
                .profile
                .excluded
                .iter()
                .filter(|e| e.column != self.profile.target)
                .map(|e| format!("'{}': {}", e.column, e.reason))
                .chain(
                    (!image_cols.is_empty())
                        .then(|| format!("{}: --backbone {NO_BACKBONE}", image_cols.join(", "))),
                )
                .collect();
            if left_out.is_empty() {
                anyhow::bail!(
                    "no model can be trained: the data has no column besides the target '{}'; \
                     --baseline-only trains the baseline alone",
                    self.profile.target
                );
            }
            anyhow::bail!(
                "no model can be trained: no column is left to learn from ({}); \
                 --baseline-only trains the baseline alone",
                left_out.join("; ")
            );
        }
        let user: Vec<FeatureList> = opts
            .feature_lists
            .iter()
            .map(|l| FeatureList {
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
        // A resumed project's list keeps its columns: its models were trained on them.
        let saved = store::feature_lists(&self.project)?;
        for l in &user {
            if let Some(old) = saved.iter().find(|s| s.name == l.name)
                && old.columns != l.columns
            {
                anyhow::bail!(
                    "feature list '{}' is {} in this project, not {}: give the new list another \
                     name, or use another --project folder",
                    l.name,
                    old.columns.join(","),
                    l.columns.join(",")
                );
            }
        }
        if let Some(g) = &self.project.settings.group {
            for l in user.iter().filter(|l| l.columns.contains(g)) {
                on_event(&RunEvent::Warning(format!(
                    "feature list '{}' holds the group column '{g}': validation rows never share \
                     a group with training rows, so its CV scores credit nothing learned from it, \
                     and it helps predictions only for groups seen in training",
                    l.name
                )));
            }
        }
        let lists = feature_lists(ds, &informative, &user);
        store::save_feature_lists(&self.project, &lists)?;
        let first = usable_backbones.first().cloned().unwrap_or_default();
        let task = self.target.task;
        let mut cands = catalogue(ds, &lists, &first, opts.mode, task);
        // MiniLM sentence-embedding blueprints for text columns (embeddings cached in the project).
        let text =
            text_embedding_candidates(ds, &lists, &first, DEFAULT_TEXT_MODEL, opts.mode, task);
        match self.embed_texts(&text, &settings, on_event) {
            Ok(matrices) => {
                for (k, m) in matrices {
                    inputs.insert(k, m);
                }
                cands.extend(text);
            }
            Err(e) if ProjectError::find_in(&e).is_some() => {
                return Err(e.context("caching the text embeddings"));
            }
            Err(e) => on_event(&RunEvent::Warning(format!(
                "no MiniLM text blueprints: {e:#}"
            ))),
        }
        let fine_tunes = self.wanted_fine_tunes(opts, &lists, &first);
        if opts.fine_tune && fine_tunes.is_empty() {
            on_event(&RunEvent::Note(
                "--fine-tune: no fine-tuned CNN in this run (it needs a classification target \
                 and an image column featurized by a backbone)"
                    .into(),
            ));
        }
        for c in fine_tunes {
            let key = c.learned_keys().remove(0);
            if let Some(why) = super::memory::too_large(&key, ds.n_rows()) {
                on_event(&RunEvent::Note(format!("no {}: {why}", c.describe())));
                continue;
            }
            match self.featurize(&key, &settings, on_event) {
                Ok(m) => {
                    inputs.insert(key, m);
                    cands.push(c);
                }
                Err(e) if ProjectError::find_in(&e).is_some() => {
                    return Err(e.context("caching the trunk maps of the fine-tuned CNN"));
                }
                Err(e) => on_event(&RunEvent::Warning(format!(
                    "no fine-tuned CNN blueprint: {e:#}"
                ))),
            }
        }
        let options = AutopilotOptions {
            mode: opts.mode,
            max_models: opts.max_models,
            time_limit_s: opts.time_limit,
            seed: opts.seed,
            backbones: usable_backbones,
        };
        let time_skips = std::cell::RefCell::new(Vec::new());
        let scheduler_events = Box::new(|e: &Event| {
            if let Event::Skipped { blueprint, reason } = e
                && Event::is_time_skip(reason)
            {
                time_skips.borrow_mut().push(blueprint.clone());
            }
            on_event(&RunEvent::Autopilot(e));
        });
        let mut ap = Autopilot::new(
            &self.project,
            inputs,
            &self.target,
            &self.partition,
            options,
            scheduler_events,
        )?
        .with_start(started);
        ap.run(cands)?;
        let leaderboard = ap.leaderboard().clone();
        drop(ap);
        skipped_for_time.extend(time_skips.into_inner());
        Ok((leaderboard, skipped_for_time))
    }

    /// The fine-tuned CNN blueprints on `backbone` this run takes: the last stage trained when
    /// asked for, in comprehensive mode or with a hardware GPU (on a CPU it is slow); in
    /// comprehensive mode also the last two stages, and on a hardware GPU the last two and the
    /// last three, each a blueprint of its own (which depth pays depends on the data:
    /// cross-validation ranks them).
    fn wanted_fine_tunes(
        &self,
        opts: &RunOptions,
        lists: &[FeatureList],
        backbone: &str,
    ) -> Vec<Candidate> {
        let gpu = || {
            opts.device != neural::DeviceChoice::Cpu
                && neural::device::select_device(neural::DeviceChoice::Auto)
                    .is_ok_and(|d| d.adapter.is_some_and(|a| a.is_hardware()))
        };
        fine_tune_depths(opts.mode, opts.fine_tune, gpu)
            .iter()
            .filter_map(|&s| {
                fine_tune_candidate(
                    &self.dataset,
                    lists,
                    backbone,
                    s,
                    self.target.task,
                    opts.device,
                )
            })
            .collect()
    }

    /// The learned features of `key` (from the project's cache where it has them), with
    /// progress events.
    fn featurize(
        &self,
        key: &FeatureKey,
        settings: &FeatureSettings,
        on_event: &mut dyn FnMut(&RunEvent),
    ) -> anyhow::Result<Arc<features::FeatureMatrix>> {
        on_event(&RunEvent::Featurizing {
            column: key.column(),
            model: key.model(),
        });
        let t = Instant::now();
        let m = features::compute(Some(&self.project), &self.dataset, key, settings)?;
        on_event(&RunEvent::Featurized {
            rows: m.ok.len(),
            failed: m.ok.iter().filter(|o| !**o).count(),
            seconds: t.elapsed().as_secs_f64(),
        });
        Ok(Arc::new(m))
    }

    /// The sentence embeddings the MiniLM blueprints `cands` read (all or nothing: an error
    /// leaves the inputs as they were).
    #[allow(clippy::type_complexity)]
    fn embed_texts(
        &self,
        cands: &[Candidate],
        settings: &FeatureSettings,
        on_event: &mut dyn FnMut(&RunEvent),
    ) -> anyhow::Result<Vec<(FeatureKey, Arc<features::FeatureMatrix>)>> {
        let mut keys: Vec<FeatureKey> = cands.iter().flat_map(|c| c.learned_keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .map(|k| Ok((k.clone(), self.featurize(&k, settings, on_event)?)))
            .collect()
    }
}

/// Partitions the rows as the options ask (group k-fold when a group column is given).
fn make_partition(ds: &Dataset, target: &Target, opts: &RunOptions) -> anyhow::Result<Partition> {
    let spec = PartitionSpec {
        k: opts.folds,
        holdout_pct: opts.holdout_pct,
        seed: opts.seed,
    };
    let ids = match &opts.group {
        Some(g) => Some(partition::group_ids(&ds.require_column(g)?.values)),
        None => None,
    };
    let split = |labels: &[u32], names: &[String]| match (&opts.group, &ids) {
        (Some(g), Some(ids)) => Partition::grouped(labels, names, ids, g, &spec),
        _ => Partition::stratified(labels, names, &spec),
    };
    let mut made = split(&target.labels, &target.strata_names());
    // A small regression target has no classes to refuse: its quantile strata get coarser
    // (down to one) until every fold can hold one of each.
    let too_rare = |made: &Result<Partition, PartitionError>| {
        matches!(
            made,
            Err(PartitionError::RareClass { .. } | PartitionError::RareClassAfterHoldout { .. })
        )
    };
    if target.task.is_regression() {
        for strata in (1..REGRESSION_STRATA).rev() {
            if !too_rare(&made) {
                break;
            }
            let labels: Vec<u32> = target
                .labels
                .iter()
                .map(|&l| (l as usize * strata / REGRESSION_STRATA) as u32)
                .collect();
            let names: Vec<String> = (1..=strata)
                .map(|q| format!("quantile {q} of {strata}"))
                .collect();
            made = split(&labels, &names);
        }
    }
    if target.task.is_regression()
        && let Ok(p) = &mut made
    {
        // The strata's spread over groups is a class's concern; a regression has none.
        p.warnings.clear();
    }
    if let Ok(p) = &mut made
        && opts.holdout_pct > 0.0
        && p.holdout.is_empty()
    {
        p.warnings.push(format!(
            "--holdout-pct {} of {} rows is no row: there is no holdout",
            opts.holdout_pct,
            ds.n_rows()
        ));
    }
    // Rows without a group are groups of their own: fine for a few, a group split in name only
    // for many.
    if let (Some(g), Ok(p)) = (&opts.group, &mut made) {
        let col = ds.require_column(g)?;
        let missing = col.n_missing();
        if missing > 0 {
            p.warnings.push(format!(
                "{missing} of {} rows have no '{g}' value; each of them is a group of its own",
                col.values.len()
            ));
        }
    }
    // The message names the file, as every data error does.
    made.with_context(|| ds.source.display().to_string())
}

/// The fine-tuned CNN depths (trained stages) a run schedules: one, two and three stages on a
/// hardware GPU (`hardware_gpu`, probed unless the run is on the CPU), one and two in
/// comprehensive mode on a CPU, one stage when asked for with `--fine-tune`, none otherwise
/// (on a CPU fine-tuning is slow, and slower with each stage).
fn fine_tune_depths(
    mode: Mode,
    asked: bool,
    hardware_gpu: impl FnOnce() -> bool,
) -> &'static [usize] {
    if hardware_gpu() {
        &[1, 2, 3]
    } else if mode == Mode::Comprehensive {
        &[1, 2]
    } else if asked {
        &[1]
    } else {
        &[]
    }
}

/// Removes from `lb` (and saves it) the cross-validated models whose saved files are gone (a
/// deleted `models/<id>/`), with the blenders built on them, so that the run trains them again
/// instead of failing when it reads them; their leftover folders go too. Their ids, in order.
fn drop_models_without_files(
    project: &Project,
    lb: &mut Leaderboard,
) -> anyhow::Result<Vec<String>> {
    let mut lost: Vec<String> = lb
        .rows
        .iter()
        .filter(|r| {
            r.cv_mean.is_some()
                && !leaderboard::is_baseline(&r.blueprint)
                && !store::is_deployable(project, &r.model_id)
        })
        .map(|r| r.model_id.clone())
        .collect();
    if lost.is_empty() {
        return Ok(lost);
    }
    lost.extend(
        lb.rows
            .iter()
            .filter(|r| !lost.contains(&r.model_id) && r.members.iter().any(|m| lost.contains(m)))
            .map(|r| r.model_id.clone())
            .collect::<Vec<_>>(),
    );
    lb.rows.retain(|r| !lost.contains(&r.model_id));
    for id in &lost {
        let dir = project.path(&format!("models/{id}"));
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).map_err(|e| ProjectError::io(&dir, e))?;
        }
    }
    store::save_leaderboard(project, lb)?;
    Ok(lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fine_tune_depths_follow_mode_request_and_hardware() {
        let no_gpu = || false;
        assert_eq!(
            fine_tune_depths(Mode::Quick, false, no_gpu),
            &[] as &[usize]
        );
        assert_eq!(fine_tune_depths(Mode::Quick, true, no_gpu), &[1]);
        assert_eq!(fine_tune_depths(Mode::Full, true, no_gpu), &[1]);
        assert_eq!(
            fine_tune_depths(Mode::Comprehensive, false, no_gpu),
            &[1, 2]
        );
        assert_eq!(fine_tune_depths(Mode::Quick, false, || true), &[1, 2, 3]);
        assert_eq!(
            fine_tune_depths(Mode::Comprehensive, true, || true),
            &[1, 2, 3]
        );
    }
}
