//! `autopilot profile`: load a dataset and print its profile (a table, or JSON).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::out::{out, outln};
use autopilot::dataset::{self, ColumnType, LoadOptions, Profile, TargetSpec, TaskChoice};

/// How many skipped rows `run` lists on the console (all of them are in `profile.json`).
pub(crate) const SKIPPED_ON_CONSOLE: usize = 5;

/// Arguments of `autopilot profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// A CSV file, or a folder of class folders of images (`DATA/<class>/*.jpg`).
    pub data: PathBuf,
    /// The target column (for a folder of class folders: `class`).
    #[arg(long)]
    pub target: String,
    #[command(flatten)]
    pub task: TaskArgs,
    /// Override an inferred column type, e.g. `--type album_name=text` (repeatable).
    /// Kinds: image, text, categorical, numeric, date.
    #[arg(long = "type", value_name = "COLUMN=KIND", value_parser = dataset::parse_type_override)]
    pub types: Vec<(String, ColumnType)>,
    /// The group column for group cross-validation (e.g. an artist); excluded from features.
    #[arg(long)]
    pub group: Option<String>,
    /// Allow image paths outside the data folder (`..`, absolute paths, symlinks).
    #[arg(long)]
    pub allow_outside: bool,
    /// Skip decoding images (only check their paths).
    #[arg(long)]
    pub no_image_check: bool,
    /// Print the profile as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// How the target is read: `--task` and `--positive` (shared by `profile` and `run`).
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    /// The task: classification (binary or multiclass by the number of classes) or regression.
    /// Default: detected (a numeric target with more than 20 distinct values is regression).
    #[arg(long, value_parser = parse_task)]
    pub task: Option<TaskChoice>,
    /// The positive class of a binary target (default: a class named 1/true/yes/positive,
    /// else the rarer class).
    #[arg(long, value_name = "CLASS")]
    pub positive: Option<String>,
}

impl TaskArgs {
    /// The target spec for column `target`.
    pub fn spec(&self, target: &str) -> TargetSpec {
        TargetSpec {
            column: target.to_string(),
            task: self.task,
            positive: self.positive.clone(),
        }
    }
}

/// Parses `--task`.
fn parse_task(s: &str) -> Result<TaskChoice, String> {
    s.parse()
}

/// Executes `autopilot profile`.
pub fn execute(args: ProfileArgs) -> anyhow::Result<()> {
    let opts = LoadOptions {
        target: Some(args.target.clone()),
        type_overrides: args.types,
        allow_outside: args.allow_outside,
        check_images: !args.no_image_check,
        ..LoadOptions::default()
    };
    let ds = dataset::load(&args.data, &opts)?;
    let profile = dataset::profile(&ds, args.task.spec(&args.target), args.group.as_deref())?;
    if args.json {
        let json = serde_json::to_string_pretty(&profile).context("serializing the profile")?;
        outln!("{json}")?;
    } else {
        out!("{}", profile.render_text())?;
    }
    Ok(())
}

/// Console lines (each starting with a newline) on what loading left out or read specially:
/// the profile's warnings, and the first [`SKIPPED_ON_CONSOLE`] skipped rows with their row,
/// column and reason. Empty when there is nothing to say.
pub(crate) fn describe_data_problems(p: &Profile) -> String {
    let mut s = String::new();
    for w in &p.warnings {
        s.push_str(&format!("\n  warning: {}", w.message));
    }
    if p.skipped.is_empty() {
        return s;
    }
    s.push_str(&format!("\n  skipped rows ({}):", p.skipped.len()));
    for r in p.skipped.iter().take(SKIPPED_ON_CONSOLE) {
        s.push_str(&format!(
            "\n    row {}, column '{}': {}",
            r.row, r.column, r.reason
        ));
    }
    if p.skipped.len() > SKIPPED_ON_CONSOLE {
        s.push_str(&format!(
            "\n    ... and {} more (all in profile.json)",
            p.skipped.len() - SKIPPED_ON_CONSOLE
        ));
    }
    s
}
