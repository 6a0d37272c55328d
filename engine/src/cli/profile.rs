//! `autopilot profile`: load a dataset and print its profile (a table, or JSON).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::dataset::{self, ColumnType, LoadOptions};

/// Arguments of `autopilot profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// A CSV file, or a folder of class folders of images (`DATA/<class>/*.jpg`).
    pub data: PathBuf,
    /// The target column (for a folder of class folders: `class`).
    #[arg(long)]
    pub target: String,
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
    let profile = dataset::profile(&ds, &args.target, args.group.as_deref())?;
    if args.json {
        let json = serde_json::to_string_pretty(&profile).context("serializing the profile")?;
        println!("{json}");
    } else {
        print!("{}", profile.render_text());
    }
    Ok(())
}
