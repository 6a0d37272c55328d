//! `autopilot insights`: computes a model's insights (Feature Impact, confusion matrices,
//! activation maps, image embeddings, word clouds) and writes figures, tables and JSON to a folder.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::out::outln;
use autopilot::insights::activation_maps::MapMethod;
use autopilot::insights::{
    ClassFilter, InsightContext, InsightSettings, Selection, write_insights,
};
use autopilot::store::best_model;

/// Whether `--class` filters on the actual or the predicted class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilterBy {
    /// The row's actual class.
    Actual,
    /// The model's out-of-fold prediction.
    Predicted,
}

/// How activation maps are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MapMethodArg {
    /// Grad-CAM when the model's head is differentiable (logistic regression, residual net),
    /// occlusion otherwise.
    Auto,
    /// Grad-CAM (refused for trees, k-NN, naive Bayes).
    GradCam,
    /// Occlusion sensitivity (any model; slower).
    Occlusion,
}

/// Arguments of `autopilot insights`.
#[derive(Debug, Args)]
pub struct InsightsArgs {
    /// Model id (e.g. M7); default: the best cross-validated model.
    pub model: Option<String>,
    /// Project folder (default: the only `*.autopilot` folder in the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Permutation Feature Impact per input column.
    #[arg(long)]
    pub feature_impact: bool,
    /// Confusion matrices (cross-validation, and holdout when unlocked).
    #[arg(long)]
    pub confusion: bool,
    /// Activation maps of image columns.
    #[arg(long)]
    pub activation_maps: bool,
    /// How activation maps are computed.
    #[arg(long = "map-method", value_enum, default_value_t = MapMethodArg::Auto)]
    pub map_method: MapMethodArg,
    /// t-SNE maps of the image features.
    #[arg(long)]
    pub embeddings: bool,
    /// Word clouds of text columns.
    #[arg(long)]
    pub word_cloud: bool,
    /// Output folder (default: `<project>/insights/<model>`).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Activation maps only for images of this class.
    #[arg(long = "class")]
    pub class: Option<String>,
    /// Whether `--class` means the actual or the predicted class.
    #[arg(long, value_enum, default_value_t = FilterBy::Actual)]
    pub by: FilterBy,
    /// Images in the activation-map grid.
    #[arg(long, default_value_t = 12)]
    pub images: usize,
    /// Shuffles per column for Feature Impact.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Seed of the samples and shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Finds the project folder: the given one, or the single `*.autopilot` folder in `cwd`.
pub(crate) fn project_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    Ok(autopilot::project::find_project(given, &cwd)?)
}

/// The model to explain: the given id, or the project's best model (the one `predict best` uses).
pub(crate) fn choose_model(ctx: &InsightContext, given: Option<&str>) -> anyhow::Result<String> {
    match given {
        Some(id) => Ok(ctx.row(id)?.model_id.clone()),
        None => {
            let metric = ctx.target.task.metric();
            let best = best_model(&ctx.project, &ctx.leaderboard, metric);
            best.map(|r| r.model_id.clone()).with_context(|| {
                format!(
                    "{}: no cross-validated model yet; run 'autopilot run' first",
                    ctx.project.dir().display()
                )
            })
        }
    }
}

/// Executes `autopilot insights`.
pub fn execute(args: InsightsArgs) -> anyhow::Result<()> {
    let dir = project_dir(args.project.as_deref())?;
    let mut ctx = InsightContext::open(&dir)?;
    let id = choose_model(&ctx, args.model.as_deref())?;
    let any = args.feature_impact
        || args.confusion
        || args.activation_maps
        || args.embeddings
        || args.word_cloud;
    let selection = if any {
        Selection {
            feature_impact: args.feature_impact,
            confusion: args.confusion,
            activation_maps: args.activation_maps,
            embeddings: args.embeddings,
            word_cloud: args.word_cloud,
        }
    } else {
        Selection::all()
    };
    let mut settings = InsightSettings {
        selection,
        max_images: args.images.max(1),
        class_filter: args.class.map(|c| match args.by {
            FilterBy::Actual => ClassFilter::Actual(c),
            FilterBy::Predicted => ClassFilter::Predicted(c),
        }),
        map_method: match args.map_method {
            MapMethodArg::Auto => None,
            MapMethodArg::GradCam => Some(MapMethod::GradCam),
            MapMethodArg::Occlusion => Some(MapMethod::Occlusion),
        },
        seed: args.seed,
        ..InsightSettings::default()
    };
    settings.feature_impact.repeats = args.repeats.max(1);
    let out_dir = args
        .output
        .unwrap_or_else(|| ctx.project.path(&format!("insights/{id}")));
    let out = write_insights(&mut ctx, &id, &settings, &out_dir)?;
    outln!(
        "Insights of {id} ({}) in {}",
        out.blueprint,
        out_dir.display()
    )?;
    if let Some(fi) = &out.feature_impact {
        outln!("{}", fi.render_text())?;
    }
    if let Some(c) = &out.confusion_cv {
        outln!("{}", c.render_text())?;
    }
    if let Some(c) = &out.confusion_holdout {
        outln!("{}", c.render_text())?;
    }
    for n in &out.notes {
        outln!("note: {n}")?;
    }
    outln!("{} files written:", out.files.len())?;
    for f in &out.files {
        outln!("  {}", f.display())?;
    }
    Ok(())
}
