//! Where a project's insights are kept: `<project>/insights/`, or, when the project cannot be
//! written (a read-only mount, a shared copy), a temporary folder that lives as long as the
//! [`InsightsFolder`] (the report and the web app still work; nothing is cached for next time).

use std::path::{Path, PathBuf};

use crate::project::{Project, ProjectError};

/// The folder insights are written to, one subfolder per model.
#[derive(Debug)]
pub struct InsightsFolder {
    dir: PathBuf,
    /// The temporary folder in use, removed when dropped.
    temporary: Option<tempfile::TempDir>,
}

impl InsightsFolder {
    /// `<project>/insights/` when a file can be written there, else a new temporary folder.
    pub fn of(project: &Project) -> Result<InsightsFolder, ProjectError> {
        let dir = project.path("insights");
        if std::fs::create_dir_all(&dir).is_ok() && tempfile::tempfile_in(&dir).is_ok() {
            return Ok(InsightsFolder {
                dir,
                temporary: None,
            });
        }
        let tmp = tempfile::Builder::new()
            .prefix("autopilot-insights-")
            .tempdir()
            .map_err(|e| ProjectError::io(&dir, e))?;
        Ok(InsightsFolder {
            dir: tmp.path().to_path_buf(),
            temporary: Some(tmp),
        })
    }

    /// The folder of model `id`'s insights.
    pub fn model(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Whether this is a temporary folder (the project could not be written).
    pub fn is_temporary(&self) -> bool {
        self.temporary.is_some()
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_that_cannot_be_written_gets_a_temporary_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("d.csv");
        std::fs::write(&data, "a,y\n1,x\n").unwrap();
        let p = Project::create(
            &tmp.path().join("p"),
            crate::project::ProjectSettings::new(&data, "y"),
        )
        .unwrap();
        let f = InsightsFolder::of(&p).unwrap();
        assert!(!f.is_temporary());
        assert_eq!(f.model("M2"), p.path("insights/M2"));
        // `insights` is a file: nothing can be written under it (root ignores permissions).
        std::fs::remove_dir_all(p.path("insights")).unwrap();
        std::fs::write(p.path("insights"), "x").unwrap();
        let f = InsightsFolder::of(&p).unwrap();
        assert!(f.is_temporary() && f.path().is_dir());
        let gone = f.path().to_path_buf();
        drop(f);
        assert!(!gone.exists());
    }
}
