//! Reopening a project's training data after `run`: the dataset as `run` loaded it, its target,
//! partition and profile. Used by tuning, insights and the post-autopilot stages.

use std::path::Path;

use anyhow::Context as _;

use crate::dataset::{self, Dataset, Profile, SkippedRow, Target, check_image};
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
    /// images are not decoded again: the rows `run` skipped are skipped again, and an image file
    /// gone since then is an error naming it (one that no longer decodes is found by
    /// [`inputs`](Self::inputs)).
    pub fn load(project: Project) -> anyhow::Result<ProjectData> {
        let s = &project.settings;
        let profile: Option<Profile> = project.load_json_opt(project::PROFILE_FILE)?;
        let mut opts = s.load_options();
        let now = data_fingerprint(&s.data_path)?;
        // The models, folds and out-of-fold predictions belong to the file `run` read.
        if s.data_sha256.is_some() && now.is_some() && s.data_sha256 != now {
            anyhow::bail!(
                "{}: the training data changed since project {} was made (SHA-256 differs): its \
                 models, folds and predictions belong to the old file; restore it, or start a \
                 new project on the new one",
                s.data_path.display(),
                project.dir().display()
            );
        }
        if let Some(p) = &profile
            && s.data_sha256.is_some()
        {
            opts.known_image_problems = Some(
                p.skipped
                    .iter()
                    .filter(|r| r.column != s.target)
                    .cloned()
                    .collect(),
            );
            // An image gone since `run` is named below rather than counted against the share.
            opts.max_bad_row_share = 1.0;
        }
        let dataset = dataset::load(&s.data_path, &opts).with_context(|| {
            format!(
                "reloading the training data of project {}",
                project.dir().display()
            )
        })?;
        if let Some(known) = &opts.known_image_problems {
            let gone: Vec<SkippedRow> = dataset
                .skipped
                .iter()
                .filter(|r| r.column != s.target)
                .filter(|r| !known.iter().any(|k| k.row == r.row && k.column == r.column))
                .cloned()
                .collect();
            if !gone.is_empty() {
                return Err(broken_since_run(&s.data_path, &gone));
            }
        }
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
    /// An image that `run` featurized and that cannot be featurized now is an error naming it
    /// (training on zeros in its place would be silent loss).
    pub fn inputs(&self, keys: &[FeatureKey]) -> anyhow::Result<FeatureInputs<'_>> {
        let inputs = features::materialize(
            Some(&self.project),
            &self.dataset,
            keys,
            &FeatureSettings::default(),
        )?;
        let max_pixels = self.project.settings.load_options().max_image_pixels;
        let broken: Vec<SkippedRow> = inputs
            .unfeaturized_rows()?
            .into_iter()
            .map(|(r, column)| {
                let value = self.dataset.require_column(&column)?.values[r].as_deref();
                let path = self.dataset.image_path(value.unwrap_or_default());
                let why = check_image(&path, max_pixels)
                    .err()
                    .unwrap_or_else(|| "the backbone could not featurize it".into());
                Ok(SkippedRow {
                    row: self.dataset.file_row(r),
                    column,
                    reason: format!("{}: {why}", path.display()),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        if !broken.is_empty() {
            return Err(broken_since_run(&self.project.settings.data_path, &broken));
        }
        Ok(inputs)
    }
}

/// The error for image cells that were readable when the project ran and are not now.
fn broken_since_run(data: &Path, rows: &[SkippedRow]) -> anyhow::Error {
    const LISTED: usize = 5;
    let listed: Vec<String> = rows
        .iter()
        .take(LISTED)
        .map(|r| format!("row {}, column '{}': {}", r.row, r.column, r.reason))
        .collect();
    let more = match rows.len().saturating_sub(LISTED) {
        0 => String::new(),
        n => format!("; … and {n} more"),
    };
    let count = match rows.len() {
        1 => "1 image that was readable when the project ran is not".to_string(),
        n => format!("{n} images that were readable when the project ran are not"),
    };
    anyhow::anyhow!(
        "{}: {count} now: {}{more}; restore the files, or run a new project on the data as they are",
        data.display(),
        listed.join("; ")
    )
}
