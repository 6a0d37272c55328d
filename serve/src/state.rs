//! What every request shares: the project folder, the options, the project's data (loaded once,
//! on first use), the background jobs and a lock that runs one insight computation at a time.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use autopilot::project::Project;
use autopilot::store::ProjectData;

use crate::ServeOptions;
use crate::jobs::Jobs;

/// The server's shared state.
pub struct AppState {
    /// The project folder.
    pub dir: PathBuf,
    /// The options it was started with.
    pub opts: ServeOptions,
    /// Background tuning jobs.
    pub jobs: Jobs,
    /// Held while insights are computed (one at a time; the cache is then read by the others).
    pub insights_lock: Arc<tokio::sync::Mutex<()>>,
    /// Where insights are cached: the project's `insights/`, or a temporary folder for as long
    /// as the app runs when the project cannot be written.
    pub insights: autopilot::insights::InsightsFolder,
    data: Mutex<Option<Arc<ProjectData>>>,
}

impl AppState {
    /// Opens the project of `opts` (it must exist).
    pub fn open(opts: &ServeOptions) -> anyhow::Result<AppState> {
        let project = Project::open(&opts.project)?;
        Ok(AppState {
            dir: project.dir().to_path_buf(),
            opts: opts.clone(),
            jobs: Jobs::default(),
            insights_lock: Arc::new(tokio::sync::Mutex::new(())),
            insights: autopilot::insights::InsightsFolder::of(&project)?,
            data: Mutex::new(None),
        })
    }

    /// The project, opened afresh (its settings are small; files are read per request).
    pub fn project(&self) -> anyhow::Result<Project> {
        Ok(Project::open(&self.dir)?)
    }

    /// The project's data as `run` loaded it (rows, labels, folds), loaded on first use.
    pub fn data(&self) -> anyhow::Result<Arc<ProjectData>> {
        let mut slot = self.data.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
        }
        let d = Arc::new(ProjectData::load(self.project()?)?);
        *slot = Some(d.clone());
        Ok(d)
    }

    /// The project folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
