//! Reopening a project's training data after `run`: the dataset as `run` loaded it, its target,
//! partition and profile. Used by tuning, insights and the post-autopilot stages.

use anyhow::Context as _;

use crate::dataset::{self, Dataset, Profile, Target};
use crate::features::{self, FeatureInputs, FeatureKey, FeatureSettings};
use crate::partition::Partition;
use crate::project::{self, Project, data_fingerprint};

/// The training data of a project, reloaded from its settings.
#[derive(Debug)]
pub struct ProjectData {
    /// The project.
    pub project: Project,
    /// The dataset, loaded with the project's settings (same rows as at `run`).
    pub dataset: Dataset,
    /// Target labels and classes.
    pub target: Target,
    /// Folds and holdout.
    pub partition: Partition,
    /// The profile written by `run`, when saved.
    pub profile: Option<Profile>,
}

impl ProjectData {
    /// Reloads the data of `project`; errors when the data file is gone or changed so that the
    /// partition no longer fits. When the data file is the one `run` profiled (same SHA-256), its
    /// images are not decoded again: the rows `run` skipped are skipped again (image files that
    /// broke since then get no features: see [`crate::features`]).
    pub fn load(project: Project) -> anyhow::Result<ProjectData> {
        let s = &project.settings;
        let profile: Option<Profile> = project.load_json_opt(project::PROFILE_FILE)?;
        let mut opts = s.load_options();
        if let Some(p) = &profile
            && s.data_sha256.is_some()
            && s.data_sha256 == data_fingerprint(&s.data_path)?
        {
            opts.known_image_problems = Some(
                p.skipped
                    .iter()
                    .filter(|r| r.column != s.target)
                    .cloned()
                    .collect(),
            );
        }
        let dataset = dataset::load(&s.data_path, &opts).with_context(|| {
            format!(
                "reloading the training data of project {}",
                project.dir().display()
            )
        })?;
        let target = dataset.target_with(&s.target_spec())?;
        let partition: Partition = project.load_json(project::PARTITION_FILE)?;
        if partition.n_rows() != dataset.n_rows() {
            anyhow::bail!(
                "{}: the partition covers {} rows but {} has {} rows now",
                project.path(project::PARTITION_FILE).display(),
                partition.n_rows(),
                s.data_path.display(),
                dataset.n_rows()
            );
        }
        Ok(ProjectData {
            project,
            dataset,
            target,
            partition,
            profile,
        })
    }

    /// Feature inputs with the learned features of `keys`, from the project's cache (what is not
    /// cached yet is computed and added to it).
    pub fn inputs(&self, keys: &[FeatureKey]) -> anyhow::Result<FeatureInputs<'_>> {
        features::materialize(
            Some(&self.project),
            &self.dataset,
            keys,
            &FeatureSettings::default(),
        )
    }
}
