//! The project store: one folder per project that survives restarts.
//!
//! ```text
//! <project>/
//!   project.json      settings: data path, target, group, seed, type overrides, folds, ...
//!   profile.json      the dataset profile
//!   partition.json    holdout rows and per-row fold ids
//!   leaderboard.json  every model's scores
//!   models/<id>/...   fitted models, predictions (.npy)
//!   features/...      cached feature matrices (.npy)
//!   writer.lock       who writes the project now (see [`lock`])
//! ```
//!
//! Every write is atomic (see [`atomic`]): a crash leaves either the previous file or the new
//! one. Matrices are `.npy` files (see [`npy`]). One process writes a project at a time (see
//! [`lock`]); outputs of other commands never land on a project's files (see [`outputs`]).

pub mod atomic;
pub mod lock;
pub mod npy;
pub mod outputs;

pub use lock::WriterLock;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dataset::ColumnType;

/// Settings file name.
pub const PROJECT_FILE: &str = "project.json";
/// Profile file name.
pub const PROFILE_FILE: &str = "profile.json";
/// Partition file name.
pub const PARTITION_FILE: &str = "partition.json";
/// Leaderboard file name.
pub const LEADERBOARD_FILE: &str = "leaderboard.json";
/// Version of the on-disk layout; bumped when files change incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// Errors of the project store. Every variant names the file or folder concerned.
#[derive(Debug, Error)]
pub enum ProjectError {
    /// The folder has no `project.json`.
    #[error(
        "{dir}: not an autopilot project (no {PROJECT_FILE}); create one with 'autopilot run DATA --target COL --project {dir}'"
    )]
    NotAProject { dir: PathBuf },
    /// No project folder was given and none (or more than one) is in the current folder.
    #[error("{what}")]
    NotFound { what: String },
    /// `create` on a folder that already holds a project.
    #[error("{dir}: a project already exists here")]
    AlreadyExists { dir: PathBuf },
    /// A file could not be read or written. The OS error is shown in the message and is not
    /// also a `source()`, so an error chain (`{:#}`) prints it once.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The project path exists but is a file, not a folder.
    #[error("{dir}: exists and is not a folder; choose another --project")]
    NotAFolder { dir: PathBuf },
    /// Another process holds the project's writer lock.
    #[error(
        "{dir}: another autopilot process is writing this project ({holder}); wait for it to end or stop it"
    )]
    Locked { dir: PathBuf, holder: String },
    /// An output path would overwrite a project file or an input.
    #[error("{path}: refusing to write there: {reason}")]
    ProtectedOutput { path: PathBuf, reason: String },
    /// A file exists but is not valid JSON of the expected shape.
    #[error("{path}: corrupt or unreadable project file: {message}")]
    Corrupt { path: PathBuf, message: String },
    /// A stored matrix is malformed or has the wrong shape.
    #[error("{path}: bad array: {reason}")]
    BadArray { path: PathBuf, reason: String },
    /// The project was created for other data or settings.
    #[error(
        "{dir}: the existing project was created with different settings ({details}); use another --project folder"
    )]
    Mismatch { dir: PathBuf, details: String },
    /// The project was written by an incompatible version.
    #[error(
        "{path}: project format {found} is not supported (this autopilot reads format {FORMAT_VERSION})"
    )]
    Version { path: PathBuf, found: u32 },
}

impl ProjectError {
    /// An [`ProjectError::Io`] on `path`.
    pub fn io(path: &Path, error: std::io::Error) -> Self {
        ProjectError::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    /// The project-store error in `e`'s chain, if any: a project file that could not be read or
    /// written, as opposed to, say, a model that could not run.
    pub fn find_in(e: &anyhow::Error) -> Option<&ProjectError> {
        e.chain().find_map(|c| c.downcast_ref::<ProjectError>())
    }
}

/// Creates folder `dir` if missing; [`ProjectError::NotAFolder`] when it is a file.
pub(crate) fn ensure_folder(dir: &Path) -> Result<(), ProjectError> {
    if dir.exists() && !dir.is_dir() {
        return Err(ProjectError::NotAFolder {
            dir: dir.to_path_buf(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| ProjectError::io(dir, e))
}

/// The settings a project is created with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSettings {
    /// Absolute path of the CSV file or image folder.
    pub data_path: PathBuf,
    /// SHA-256 of the data file (hex), to notice when the data changed; `None` for a folder.
    #[serde(default)]
    pub data_sha256: Option<String>,
    /// Target column.
    pub target: String,
    /// The task the user asked for (`--task`); `None`: detected from the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<crate::dataset::TaskChoice>,
    /// The positive class of a binary target the user named (`--positive`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<String>,
    /// Group column (rows of one group never straddle folds), if any.
    pub group: Option<String>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Column kinds forced by the user.
    #[serde(default)]
    pub type_overrides: BTreeMap<String, ColumnType>,
    /// Number of cross-validation folds.
    pub folds: usize,
    /// Holdout percentage.
    pub holdout_pct: f64,
    /// Whether image paths may point outside the data folder.
    #[serde(default)]
    pub allow_outside: bool,
    /// SHA-256 of the fold file given with `--folds-from` (the folds were imported, not drawn).
    #[serde(default)]
    pub folds_sha256: Option<String>,
    /// Creation time, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    #[serde(default)]
    pub created: String,
    /// Version of autopilot that created the project.
    #[serde(default)]
    pub autopilot_version: String,
    /// On-disk layout version ([`FORMAT_VERSION`]).
    pub format: u32,
}

impl ProjectSettings {
    /// Settings for `data_path` (made absolute) and `target`, with the defaults: no group,
    /// seed 0, 5 folds, 20% holdout, stamped with the current time and version.
    pub fn new(data_path: &Path, target: &str) -> Self {
        let data_path = std::fs::canonicalize(data_path).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|d| d.join(data_path))
                .unwrap_or_else(|_| data_path.to_path_buf())
        });
        Self {
            data_path,
            data_sha256: None,
            target: target.to_string(),
            task: None,
            positive: None,
            group: None,
            seed: 0,
            type_overrides: BTreeMap::new(),
            folds: 5,
            holdout_pct: 20.0,
            allow_outside: false,
            folds_sha256: None,
            created: utc_timestamp(),
            autopilot_version: env!("CARGO_PKG_VERSION").to_string(),
            format: FORMAT_VERSION,
        }
    }

    /// The target as the user specified it (column, task, positive class).
    pub fn target_spec(&self) -> crate::dataset::TargetSpec {
        crate::dataset::TargetSpec {
            column: self.target.clone(),
            task: self.task,
            positive: self.positive.clone(),
        }
    }

    /// How `run` loads the data of these settings (reopening a project loads it the same way).
    pub fn load_options(&self) -> crate::dataset::LoadOptions {
        crate::dataset::LoadOptions {
            target: Some(self.target.clone()),
            type_overrides: self
                .type_overrides
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            allow_outside: self.allow_outside,
            ..crate::dataset::LoadOptions::default()
        }
    }

    /// The settings that define a project's results, as `name: old -> new` for each that
    /// differs in `other` (empty when the two describe the same project).
    pub fn differences(&self, other: &ProjectSettings) -> Vec<String> {
        let mut d = Vec::new();
        let mut cmp = |name: &str, a: String, b: String| {
            if a != b {
                d.push(format!("{name}: {a} -> {b}"));
            }
        };
        cmp(
            "data",
            self.data_path.display().to_string(),
            other.data_path.display().to_string(),
        );
        cmp("target", self.target.clone(), other.target.clone());
        // Values as the command line gives them; "(none)" for a setting not given.
        let given = |v: Option<String>| v.unwrap_or_else(|| "(none)".into());
        let task = |s: &ProjectSettings| given(s.task.map(|t| format!("{t:?}").to_lowercase()));
        cmp("task (--task)", task(self), task(other));
        cmp(
            "positive class (--positive)",
            given(self.positive.clone()),
            given(other.positive.clone()),
        );
        cmp(
            "group (--group)",
            given(self.group.clone()),
            given(other.group.clone()),
        );
        cmp("seed", self.seed.to_string(), other.seed.to_string());
        let types = |s: &ProjectSettings| {
            let t: Vec<String> = s
                .type_overrides
                .iter()
                .map(|(c, k)| format!("{c}={}", format!("{k:?}").to_lowercase()))
                .collect();
            given((!t.is_empty()).then(|| t.join(" ")))
        };
        cmp("types (--type)", types(self), types(other));
        cmp("folds", self.folds.to_string(), other.folds.to_string());
        let fold_file = |s: &ProjectSettings| {
            given(
                s.folds_sha256
                    .as_ref()
                    .map(|h| format!("a file with SHA-256 {}…", h.get(..12).unwrap_or(h))),
            )
        };
        cmp(
            "fold file (--folds-from)",
            fold_file(self),
            fold_file(other),
        );
        cmp(
            "holdout %",
            self.holdout_pct.to_string(),
            other.holdout_pct.to_string(),
        );
        if let (Some(a), Some(b)) = (&self.data_sha256, &other.data_sha256)
            && a != b
        {
            d.push("data file content changed (SHA-256 differs)".to_string());
        }
        d
    }
}

/// An open project folder.
#[derive(Debug, Clone)]
pub struct Project {
    dir: PathBuf,
    /// The project's settings (as in `project.json`).
    pub settings: ProjectSettings,
}

impl Project {
    /// Creates a project in `dir` (created if missing); fails if one already exists there.
    pub fn create(dir: &Path, settings: ProjectSettings) -> Result<Project, ProjectError> {
        if dir.join(PROJECT_FILE).exists() {
            return Err(ProjectError::AlreadyExists {
                dir: dir.to_path_buf(),
            });
        }
        ensure_folder(dir)?;
        let p = Project {
            dir: dir.to_path_buf(),
            settings,
        };
        p.save_json(PROJECT_FILE, &p.settings)?;
        Ok(p)
    }

    /// Opens the project in `dir`: a clear error when there is none or `project.json` is corrupt.
    pub fn open(dir: &Path) -> Result<Project, ProjectError> {
        let path = dir.join(PROJECT_FILE);
        if dir.exists() && !dir.is_dir() {
            return Err(ProjectError::NotAFolder {
                dir: dir.to_path_buf(),
            });
        }
        if !path.is_file() {
            return Err(ProjectError::NotAProject {
                dir: dir.to_path_buf(),
            });
        }
        let settings: ProjectSettings = atomic::load_json(&path)?;
        if settings.format != FORMAT_VERSION {
            return Err(ProjectError::Version {
                path,
                found: settings.format,
            });
        }
        Ok(Project {
            dir: dir.to_path_buf(),
            settings,
        })
    }

    /// Opens the project in `dir` if there is one with the same defining settings (see
    /// [`ProjectSettings::differences`]), else creates it. The flag says whether it was reused.
    pub fn open_or_create(
        dir: &Path,
        settings: ProjectSettings,
    ) -> Result<(Project, bool), ProjectError> {
        if !dir.join(PROJECT_FILE).exists() {
            return Ok((Project::create(dir, settings)?, false));
        }
        let p = Project::open(dir)?;
        let diff = p.settings.differences(&settings);
        if !diff.is_empty() {
            return Err(ProjectError::Mismatch {
                dir: dir.to_path_buf(),
                details: diff.join("; "),
            });
        }
        Ok((p, true))
    }

    /// Takes the project's writer lock for `command` (see [`lock`]); hold it while writing.
    pub fn lock_for_writing(&self, command: &str) -> Result<WriterLock, ProjectError> {
        WriterLock::acquire(&self.dir, command)
    }

    /// The project folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Absolute location of a file inside the project (`rel` like `"models/M1/model.json"`).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// True when the project holds file `rel`.
    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Writes `value` as indented JSON to `rel`, atomically.
    pub fn save_json<T: Serialize + ?Sized>(
        &self,
        rel: &str,
        value: &T,
    ) -> Result<(), ProjectError> {
        atomic::save_json(&self.path(rel), value, atomic::JsonLayout::Pretty)
    }

    /// Writes `value` as compact JSON to `rel`, atomically (fitted models: their weights).
    pub fn save_json_compact<T: Serialize + ?Sized>(
        &self,
        rel: &str,
        value: &T,
    ) -> Result<(), ProjectError> {
        atomic::save_json(&self.path(rel), value, atomic::JsonLayout::Compact)
    }

    /// Reads JSON file `rel`.
    pub fn load_json<T: DeserializeOwned>(&self, rel: &str) -> Result<T, ProjectError> {
        atomic::load_json(&self.path(rel))
    }

    /// Reads JSON file `rel`, `None` when it does not exist yet.
    pub fn load_json_opt<T: DeserializeOwned>(&self, rel: &str) -> Result<Option<T>, ProjectError> {
        atomic::load_json_opt(&self.path(rel))
    }

    /// Writes a matrix to `rel` as `.npy`, atomically.
    pub fn save_matrix(&self, rel: &str, x: ArrayView2<f32>) -> Result<(), ProjectError> {
        npy::write_npy(&self.path(rel), x)
    }

    /// Reads a `.npy` matrix, refusing any other shape than `expect_shape` (`None` = any).
    pub fn load_matrix(
        &self,
        rel: &str,
        expect_shape: (Option<usize>, Option<usize>),
    ) -> Result<Array2<f32>, ProjectError> {
        npy::read_npy(&self.path(rel), expect_shape)
    }
}

/// Finds the project folder: the given one, or the single `*.autopilot` folder in `cwd`.
pub fn find_project(given: Option<&Path>, cwd: &Path) -> Result<PathBuf, ProjectError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(cwd)
        .map_err(|e| ProjectError::io(cwd, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.extension().is_some_and(|e| e == "autopilot")
                && p.join(PROJECT_FILE).is_file()
        })
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ProjectError::NotFound {
            what: format!(
                "no *.autopilot project in {}; pass --project DIR",
                cwd.display()
            ),
        }),
        _ => Err(ProjectError::NotFound {
            what: format!(
                "several projects in {} ({}); pass --project DIR",
                cwd.display(),
                found
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// SHA-256 of a data file (hex), what [`ProjectSettings::data_sha256`] holds; `None` for a
/// folder of class folders.
pub fn data_fingerprint(path: &Path) -> Result<Option<String>, ProjectError> {
    use sha2::{Digest, Sha256};
    if path.is_dir() {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| ProjectError::io(path, e))?;
    Ok(Some(format!("{:x}", Sha256::digest(&bytes))))
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> ProjectSettings {
        let data = dir.join("data.csv");
        std::fs::write(&data, "a,y\n1,x\n").unwrap();
        ProjectSettings::new(&data, "y")
    }

    #[test]
    fn differences_read_as_the_command_line_gives_them() {
        let tmp = tempfile::tempdir().unwrap();
        let a = settings(tmp.path());
        let mut b = a.clone();
        b.positive = Some("yes".into());
        b.folds_sha256 = Some("0123456789abcdef".into());
        assert_eq!(
            a.differences(&b),
            [
                "positive class (--positive): (none) -> yes",
                "fold file (--folds-from): (none) -> a file with SHA-256 0123456789ab…",
            ]
        );
    }

    #[test]
    fn create_open_and_reuse() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("proj");
        let s = settings(tmp.path());
        let p = Project::create(&dir, s.clone()).unwrap();
        assert!(p.exists(PROJECT_FILE));
        assert!(matches!(
            Project::create(&dir, s.clone()),
            Err(ProjectError::AlreadyExists { .. })
        ));
        let q = Project::open(&dir).unwrap();
        assert_eq!(q.settings, s);
        // Same defining settings (another creation time): reused.
        let mut later = s.clone();
        later.created = "2030-01-01T00:00:00Z".into();
        let (_, reused) = Project::open_or_create(&dir, later).unwrap();
        assert!(reused);
        // Another target: refused, naming what differs.
        let mut other = s;
        other.target = "a".into();
        let e = Project::open_or_create(&dir, other)
            .unwrap_err()
            .to_string();
        assert!(e.contains("target: y -> a"), "{e}");
    }

    #[test]
    fn open_errors_name_the_folder_or_file() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Project::open(tmp.path()).unwrap_err();
        assert!(matches!(e, ProjectError::NotAProject { .. }));
        std::fs::write(tmp.path().join(PROJECT_FILE), b"{\"target\": 3").unwrap();
        let e = Project::open(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("project.json") && e.contains("corrupt"), "{e}");
    }

    #[test]
    fn json_and_matrix_round_trip_inside_the_project() {
        let tmp = tempfile::tempdir().unwrap();
        let p = Project::create(&tmp.path().join("p"), settings(tmp.path())).unwrap();
        p.save_json("models/M1/info.json", &vec!["a", "b"]).unwrap();
        assert_eq!(
            p.load_json::<Vec<String>>("models/M1/info.json").unwrap(),
            vec!["a", "b"]
        );
        assert!(
            p.load_json_opt::<Vec<String>>("nothing.json")
                .unwrap()
                .is_none()
        );
        let x = ndarray::array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
        p.save_matrix("features/x.npy", x.view()).unwrap();
        assert_eq!(
            p.load_matrix("features/x.npy", (Some(3), Some(2))).unwrap(),
            x
        );
        assert!(p.load_matrix("features/x.npy", (Some(4), None)).is_err());
    }

    #[test]
    fn formats_utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1709251199` -> 2024-02-29 23:59:59 (a leap day).
        assert_eq!(format_utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn finds_the_single_project_in_a_folder() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(find_project(None, tmp.path()).is_err());
        let a = tmp.path().join("a.autopilot");
        std::fs::create_dir(&a).unwrap();
        std::fs::write(a.join(PROJECT_FILE), "{}").unwrap();
        assert_eq!(find_project(None, tmp.path()).unwrap(), a);
        let b = tmp.path().join("b.autopilot");
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join(PROJECT_FILE), "{}").unwrap();
        let e = find_project(None, tmp.path()).unwrap_err().to_string();
        assert!(e.contains("several projects"), "{e}");
        assert_eq!(find_project(Some(&b), tmp.path()).unwrap(), b);
    }
}
