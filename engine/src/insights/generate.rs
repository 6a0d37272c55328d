//! Computes the selected insights of one model and writes them to a folder: figures (PNG, and
//! SVG for charts), text tables (`.txt`) and data (`.json`). Used by `autopilot insights` and,
//! through [`InsightOutputs`], by the HTML report.
//!
//! Model-based insights (Feature Impact, activation maps) need the model's fitted fold models;
//! for a blender they are computed for its best member, and the outputs say so.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::InsightError;
use super::activation_maps::{
    ActivationMap, Decision, MapMethod, MapSubject, OcclusionOptions, grid_figure, occlusion_map,
};
use super::charts::{Figure, bar_chart};
use super::confusion::{Confusion, confusion_for_model};
use super::context::InsightContext;
use super::embeddings_2d::{EmbeddingOptions, image_embedding, thumbnails};
use super::grad_cam::grad_cam_map;
use super::regression::RegressionFit;
use super::roc::Roc;
use super::word_cloud::{WordCloud, WordCloudOptions, word_cloud, word_cloud_regression};
use crate::dataset::{ColumnType, Task};
use crate::features::ImageKey;
use crate::features::image::{ImageSettings, featurizer_for};
use crate::model::FittedBlock;
use crate::model::importance::{FeatureImpact, FeatureImpactOptions, permutation_impact_cv};
use crate::project::atomic::{JsonLayout, save_json, write_atomic};
use crate::store::SavedModel;

/// Which insights to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Permutation Feature Impact.
    pub feature_impact: bool,
    /// Confusion matrices.
    pub confusion: bool,
    /// Activation maps (Grad-CAM or occlusion).
    pub activation_maps: bool,
    /// t-SNE image embeddings.
    pub embeddings: bool,
    /// Word clouds of text columns.
    pub word_cloud: bool,
}

impl Selection {
    /// Every insight.
    pub fn all() -> Self {
        Self {
            feature_impact: true,
            confusion: true,
            activation_maps: true,
            embeddings: true,
            word_cloud: true,
        }
    }
}

/// Which images the activation maps show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassFilter {
    /// Rows whose actual class is this one.
    Actual(String),
    /// Rows whose out-of-fold prediction is this class.
    Predicted(String),
}

/// Settings of an insights run.
#[derive(Debug, Clone)]
pub struct InsightSettings {
    /// What to compute.
    pub selection: Selection,
    /// Feature Impact settings.
    pub feature_impact: FeatureImpactOptions,
    /// Images in the activation-map grid.
    pub max_images: usize,
    /// Filter of the activation-map images.
    pub class_filter: Option<ClassFilter>,
    /// Activation-map method; `None`: Grad-CAM when the model's head is differentiable,
    /// occlusion otherwise.
    pub map_method: Option<MapMethod>,
    /// Occlusion settings.
    pub occlusion: OcclusionOptions,
    /// Embedding settings.
    pub embeddings: EmbeddingOptions,
    /// Word-cloud settings.
    pub word_cloud: WordCloudOptions,
    /// Seed of every sample (images shown, embedding sample, shuffles).
    pub seed: u64,
}

impl Default for InsightSettings {
    fn default() -> Self {
        Self {
            selection: Selection::all(),
            feature_impact: FeatureImpactOptions::default(),
            max_images: 12,
            class_filter: None,
            map_method: None,
            occlusion: OcclusionOptions::default(),
            embeddings: EmbeddingOptions::default(),
            word_cloud: WordCloudOptions::default(),
            seed: 0,
        }
    }
}

/// One written figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureFile {
    /// Section it belongs to ("Feature Impact", "Confusion matrix", ...).
    pub section: String,
    /// Caption.
    pub caption: String,
    /// The PNG file.
    pub png: PathBuf,
    /// The SVG file, when there is one.
    pub svg: Option<PathBuf>,
}

/// What an insights run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InsightOutputs {
    /// The model asked for.
    pub model_id: String,
    /// The model whose fold models explain it (itself, or a blender's best member).
    pub explained_by: Option<String>,
    /// Its blueprint.
    pub blueprint: String,
    /// Feature Impact.
    pub feature_impact: Option<FeatureImpact>,
    /// Out-of-fold confusion matrix.
    pub confusion_cv: Option<Confusion>,
    /// Holdout confusion matrix (when unlocked).
    pub confusion_holdout: Option<Confusion>,
    /// Binary targets: the out-of-fold ROC curve.
    pub roc: Option<Roc>,
    /// Regression targets: out-of-fold (and, when unlocked, holdout) fit to the actual values.
    pub regression: Vec<RegressionFit>,
    /// Word clouds, one per text column.
    pub word_clouds: Vec<WordCloud>,
    /// Every figure written.
    pub figures: Vec<FigureFile>,
    /// Every file written.
    pub files: Vec<PathBuf>,
    /// Insights that were skipped, and why.
    pub notes: Vec<String>,
}

/// A file-name-safe version of `s`.
pub fn safe_name(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() { "_".into() } else { t }
}

struct Writer<'a> {
    dir: &'a Path,
    out: InsightOutputs,
}

impl Writer<'_> {
    fn text(&mut self, name: &str, text: &str) -> Result<(), InsightError> {
        let p = self.dir.join(name);
        write_atomic(&p, text.as_bytes())?;
        self.out.files.push(p);
        Ok(())
    }

    fn bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), InsightError> {
        let p = self.dir.join(name);
        write_atomic(&p, bytes)?;
        self.out.files.push(p);
        Ok(())
    }

    fn json<T: Serialize>(&mut self, name: &str, v: &T) -> Result<(), InsightError> {
        let p = self.dir.join(name);
        save_json(&p, v, JsonLayout::Pretty)?;
        self.out.files.push(p);
        Ok(())
    }

    fn figure(
        &mut self,
        fig: &Figure,
        stem: &str,
        section: &str,
        caption: &str,
    ) -> Result<(), InsightError> {
        let paths = fig.save(self.dir, stem)?;
        self.out.figures.push(FigureFile {
            section: section.into(),
            caption: caption.into(),
            png: paths[0].clone(),
            svg: paths.get(1).cloned(),
        });
        self.out.files.extend(paths);
        Ok(())
    }
}

/// The model whose fold models explain `id`: itself when it has them, else (a blender) its
/// member with the best cross-validated score that has them.
fn explaining_model(
    ctx: &InsightContext,
    id: &str,
) -> Result<Option<(String, SavedModel)>, InsightError> {
    if let Some(s) = ctx.load_model(id)? {
        return Ok(Some((id.to_string(), s)));
    }
    let row = ctx.row(id)?;
    let mut members: Vec<&crate::leaderboard::LeaderboardRow> = row
        .members
        .iter()
        .filter_map(|m| ctx.leaderboard.get(m))
        .collect();
    let metric = ctx.target.task.metric();
    members.sort_by(|a, b| {
        let s = |r: &crate::leaderboard::LeaderboardRow| {
            r.rank_score(metric)
                .map_or(f64::MIN, |v| metric.oriented(v))
        };
        s(b).total_cmp(&s(a))
    });
    for m in members {
        if let Some(s) = ctx.load_model(&m.model_id)? {
            return Ok(Some((m.model_id.clone(), s)));
        }
    }
    Ok(None)
}

/// Computes the insights of model `id` selected in `settings` and writes them into `dir`
/// (created if needed). An insight that does not apply (no image column, no text column, no
/// fold models) is skipped with a note; other errors stop the run.
pub fn write_insights(
    ctx: &mut InsightContext,
    id: &str,
    settings: &InsightSettings,
    dir: &Path,
) -> Result<InsightOutputs, InsightError> {
    std::fs::create_dir_all(dir).map_err(|error| InsightError::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    let row = ctx.row(id)?.clone();
    let mut out = InsightOutputs {
        model_id: id.to_string(),
        explained_by: None,
        blueprint: row.blueprint.clone(),
        feature_impact: None,
        confusion_cv: None,
        confusion_holdout: None,
        roc: None,
        regression: Vec::new(),
        word_clouds: Vec::new(),
        figures: Vec::new(),
        files: Vec::new(),
        notes: Vec::new(),
    };
    let explaining = explaining_model(ctx, id)?;
    if let Some((eid, saved)) = &explaining {
        if eid != id {
            out.notes.push(format!(
                "{id} is a blender; Feature Impact, activation maps and embeddings are those of its best member {eid}"
            ));
        }
        out.explained_by = Some(eid.clone());
        ctx.load_images_for(&saved.folds)?;
    }
    // A regression's embeddings group rows by quantile of the target.
    let classes = ctx.target.strata_names();
    let labels = ctx.target.labels.clone();
    let regression = ctx.target.task.is_regression();
    let mut w = Writer { dir, out };

    if settings.selection.confusion && regression {
        let fit = regression_fit(ctx, id, &mut w);
        or_note(fit, "regression fit", &mut w.out.notes)?;
    } else if settings.selection.confusion {
        if ctx.target.task == Task::Binary {
            let roc = roc_curve_of(ctx, id, &mut w);
            or_note(roc, "ROC curve", &mut w.out.notes)?;
        }
        match confusion_for_model(ctx, id) {
            Ok((cv, holdout)) => {
                w.json("confusion_cv.json", &cv)?;
                w.text("confusion_cv.txt", &cv.render_text())?;
                let fig = cv.figure(&format!("{id}: confusion matrix, cross-validation"))?;
                w.figure(
                    &fig,
                    "confusion_cv",
                    "Confusion matrix",
                    "Cross-validation (out-of-fold), row-normalized",
                )?;
                if let Some(h) = &holdout {
                    w.json("confusion_holdout.json", h)?;
                    w.text("confusion_holdout.txt", &h.render_text())?;
                    let fig = h.figure(&format!("{id}: confusion matrix, holdout"))?;
                    w.figure(
                        &fig,
                        "confusion_holdout",
                        "Confusion matrix",
                        "Holdout, row-normalized",
                    )?;
                } else {
                    w.out.notes.push(
                        "holdout confusion matrix: the holdout is locked (unlock it with 'autopilot leaderboard --holdout') or the model has no holdout predictions".into(),
                    );
                }
                w.out.confusion_cv = Some(cv);
                w.out.confusion_holdout = holdout;
            }
            Err(InsightError::Invalid(m)) => w.out.notes.push(format!("confusion matrix: {m}")),
            Err(e) => return Err(e),
        }
    }

    let Some((eid, saved)) = explaining else {
        w.out.notes.push(format!(
            "{id} has no fitted fold models (baseline or stage model): no Feature Impact, activation maps, embeddings or word clouds"
        ));
        return Ok(w.out);
    };
    let inputs = ctx.inputs();
    if settings.selection.feature_impact {
        let fi = feature_impact_section(&eid, &saved.folds, &inputs, ctx, settings, &mut w);
        or_note(fi, "Feature Impact", &mut w.out.notes)?;
    }

    let fold0 = &saved.folds[0];
    let image_keys: Vec<ImageKey> = fold0
        .pipeline
        .blocks
        .iter()
        .filter_map(|b| match b {
            FittedBlock::Image(k) => Some(k.clone()),
            _ => None,
        })
        .collect();
    let text_columns: Vec<String> = fold0
        .pipeline
        .input_columns()
        .into_iter()
        .filter(|c| {
            ctx.dataset
                .column(c)
                .is_some_and(|c| c.kind == ColumnType::Text)
        })
        .collect();
    let cv_rows = ctx.partition.cv_rows();

    if settings.selection.activation_maps && regression {
        w.out.notes.push(
            "activation maps: not computed for a regression target (they explain a class)".into(),
        );
    } else if settings.selection.activation_maps {
        if image_keys.is_empty() {
            w.out
                .notes
                .push(format!("activation maps: {eid} uses no image column"));
        }
        let oof = ctx.oof(&eid)?;
        // "Predicted" as `predict` decides it: a binary model's threshold applies.
        let decision = Decision {
            positive: ctx.target.positive.map(|p| p as usize),
            threshold: ctx.row(&eid)?.threshold.map(|t| t.value),
        };
        for key in &image_keys {
            let matrix = ctx.image(key).ok_or_else(|| {
                InsightError::invalid(format!("image features of '{}' are not loaded", key.column))
            })?;
            let predicted: Vec<Option<u32>> = (0..labels.len())
                .map(|r| {
                    oof.as_ref()
                        .map(|p| decision.class(&p.row(r).to_vec()) as u32)
                })
                .collect();
            let class_index = |name: &str| -> Result<u32, InsightError> {
                classes
                    .iter()
                    .position(|c| c == name)
                    .map(|i| i as u32)
                    .ok_or_else(|| {
                        InsightError::invalid(format!(
                            "--class '{name}' is not a class (classes: {})",
                            classes.join(", ")
                        ))
                    })
            };
            let mut rows: Vec<usize> = match &settings.class_filter {
                None => cv_rows.iter().copied().filter(|&r| matrix.ok[r]).collect(),
                Some(ClassFilter::Actual(c)) => {
                    let k = class_index(c)?;
                    cv_rows
                        .iter()
                        .copied()
                        .filter(|&r| matrix.ok[r] && labels[r] == k)
                        .collect()
                }
                Some(ClassFilter::Predicted(c)) => {
                    let k = class_index(c)?;
                    cv_rows
                        .iter()
                        .copied()
                        .filter(|&r| matrix.ok[r] && predicted[r] == Some(k))
                        .collect()
                }
            };
            let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
            rows.shuffle(&mut rng);
            rows.truncate(settings.max_images);
            rows.sort_unstable();
            if rows.is_empty() {
                w.out.notes.push(format!(
                    "activation maps of '{}': no image matches the filter",
                    key.column
                ));
                continue;
            }
            let featurizer = featurizer_for(key, &ImageSettings::default())?;
            let mut maps = Vec::with_capacity(rows.len());
            for &r in &rows {
                let fold = ctx
                    .partition
                    .fold_of(r)
                    .unwrap_or(0)
                    .min(saved.folds.len() - 1);
                let subject = MapSubject {
                    column: &key.column,
                    row: r,
                    file_row: ctx.dataset.file_row(r),
                    actual: labels[r],
                    decision,
                };
                maps.push(activation_map(
                    &saved.folds[fold],
                    &inputs,
                    &featurizer,
                    subject,
                    settings,
                )?);
            }
            let method = maps.first().map_or(MapMethod::Occlusion, |m| m.method);
            let filter = match &settings.class_filter {
                None => String::new(),
                Some(ClassFilter::Actual(c)) => format!(", actual class {c}"),
                Some(ClassFilter::Predicted(c)) => format!(", predicted class {c}"),
            };
            let title = format!(
                "{eid}: {} activation maps of '{}'{filter}",
                method.label(),
                key.column
            );
            let fig = grid_figure(&maps, &classes, &title)?;
            let stem = format!("activation_maps_{}", safe_name(&key.column));
            let fine_tuned = key.is_trunk();
            let how = match method {
                MapMethod::GradCam if fine_tuned => {
                    "Grad-CAM at the fine-tuned network's last convolution (centre view): red = activations pushing the predicted class's logit up the most"
                }
                MapMethod::GradCam => {
                    "Grad-CAM through the backbone's pooled levels: red = activations pushing the predicted class's logit up the most"
                }
                MapMethod::Occlusion => {
                    "occlusion sensitivity: red = hiding this region lowers the predicted class's probability most"
                }
            };
            w.figure(
                &fig,
                &stem,
                "Activation maps",
                &format!(
                    "'{}' ({}){filter}, {how}; frame = actual class",
                    key.column, key.backbone
                ),
            )?;
            // Each image on its own (the crop, the colour overlay, the black-and-white view),
            // for front ends that filter and enlarge them: `<stem>/<row>_{image,overlay,bw}.png`.
            let mut summary: Vec<serde_json::Value> = Vec::with_capacity(maps.len());
            for m in &maps {
                let mut files = serde_json::Map::new();
                for (view, img) in [
                    ("image", m.crop.clone()),
                    ("overlay", m.overlay()),
                    ("bw", m.black_and_white()),
                ] {
                    let name = format!("{stem}/row{}_{view}.png", m.file_row);
                    w.bytes(&name, &super::charts::encode_png(&img)?)?;
                    files.insert(view.into(), name.into());
                }
                let image = ctx
                    .dataset
                    .column(&key.column)
                    .and_then(|c| c.values.get(m.row).cloned().flatten());
                summary.push(serde_json::json!({
                    "row": m.row,
                    "file_row": m.file_row,
                    "image": image,
                    "actual": classes[m.actual as usize],
                    "predicted": classes[m.predicted as usize],
                    "probability": m.probability,
                    "method": m.method,
                    "files": files,
                }));
            }
            w.json(&format!("{stem}.json"), &summary)?;
        }
    }

    if settings.selection.embeddings {
        if image_keys.is_empty() {
            w.out
                .notes
                .push(format!("image embeddings: {eid} uses no image column"));
        }
        for key in &image_keys {
            if key.is_trunk() {
                w.out.notes.push(format!(
                    "image embeddings: {eid} reads unpooled trunk maps (the fine-tuned CNN); \
                     see a model on pooled features"
                ));
                continue;
            }
            let matrix = ctx.image(key).ok_or_else(|| {
                InsightError::invalid(format!("image features of '{}' are not loaded", key.column))
            })?;
            let mut emb = image_embedding(
                &key.column,
                &key.backbone,
                &matrix,
                &labels,
                &cv_rows,
                &settings.embeddings,
            )?;
            for p in &mut emb.points {
                p.file_row = ctx.dataset.file_row(p.row);
            }
            let thumbs = thumbnails(&emb, &ctx.dataset, settings.embeddings.thumbnail);
            let stem = format!("embeddings_{}", safe_name(&key.column));
            w.json(&format!("{stem}.json"), &emb)?;
            let fig = emb.figure(&classes, &thumbs, None, &settings.embeddings)?;
            w.figure(
                &fig,
                &stem,
                "Image embeddings",
                &format!(
                    "t-SNE of the {} features of '{}', framed by actual class",
                    key.backbone, key.column
                ),
            )?;
            for (k, class) in classes.iter().enumerate() {
                let fig = emb.figure(&classes, &thumbs, Some(k as u32), &settings.embeddings)?;
                w.figure(
                    &fig,
                    &format!("{stem}_{}", safe_name(class)),
                    "Image embeddings",
                    &format!("Class {class} only (other images as grey dots)"),
                )?;
            }
        }
    }

    if settings.selection.word_cloud {
        if text_columns.is_empty() {
            w.out
                .notes
                .push(format!("word clouds: {eid} uses no text column"));
        }
        for column in &text_columns {
            let col = ctx
                .dataset
                .column(column)
                .ok_or_else(|| InsightError::invalid(format!("no column '{column}'")))?;
            let docs: Vec<Option<&str>> =
                cv_rows.iter().map(|&r| col.values[r].as_deref()).collect();
            let mut o = settings.word_cloud.clone();
            o.seed = settings.seed;
            // A regression has one cloud: n-grams toward a higher prediction in red.
            let wc = if regression {
                let values: Vec<f32> = cv_rows.iter().map(|&r| ctx.target.values[r]).collect();
                let label = format!("higher {}", ctx.target.column);
                word_cloud_regression(column, &docs, &values, &label, &o)?
            } else {
                let y: Vec<u32> = cv_rows.iter().map(|&r| labels[r]).collect();
                word_cloud(column, &docs, &y, &classes, &o)?
            };
            let stem = format!("word_cloud_{}", safe_name(column));
            w.json(&format!("{stem}.json"), &wc)?;
            w.text(&format!("{stem}.txt"), &wc.render_text())?;
            for (k, cloud) in wc.classes.iter().enumerate() {
                let fig = wc.figure(k)?;
                let what = if regression {
                    format!(
                        "'{column}', toward a higher {}: size = document frequency, colour = ridge coefficient (blue: lower … red: higher)",
                        ctx.target.column
                    )
                } else {
                    format!(
                        "'{column}', class {}: size = document frequency, colour = coefficient (blue −1 … red +1)",
                        cloud.class
                    )
                };
                w.figure(
                    &fig,
                    &format!("{stem}_{}", safe_name(&cloud.class)),
                    "Word clouds",
                    &what,
                )?;
            }
            w.out.word_clouds.push(wc);
        }
    }
    let summary = serde_json::json!({
        "model_id": w.out.model_id,
        "explained_by": w.out.explained_by,
        "blueprint": w.out.blueprint,
        "figures": w.out.figures,
        "notes": w.out.notes,
    });
    w.json("insights.json", &summary)?;
    Ok(w.out)
}

/// A section's `Invalid` error (what the data or model cannot give) becomes a note and the
/// other sections still run; I/O and other errors abort.
fn or_note(
    result: Result<(), InsightError>,
    section: &str,
    notes: &mut Vec<String>,
) -> Result<(), InsightError> {
    match result {
        Err(InsightError::Invalid(m)) => {
            notes.push(format!("{section}: {m}"));
            Ok(())
        }
        other => other,
    }
}

/// Permutation Feature Impact of the explaining model `eid` (out of fold), with its chart.
fn feature_impact_section(
    eid: &str,
    folds: &[crate::model::Model],
    inputs: &crate::features::FeatureInputs,
    ctx: &InsightContext,
    settings: &InsightSettings,
    w: &mut Writer,
) -> Result<(), InsightError> {
    let mut o = settings.feature_impact.clone();
    o.seed = settings.seed;
    let fi = permutation_impact_cv(folds, inputs, &ctx.target, &ctx.partition, &o)?;
    w.json("feature_impact.json", &fi)?;
    w.text("feature_impact.txt", &fi.render_text())?;
    let names: Vec<String> = fi
        .columns
        .iter()
        .map(|c| format!("{} ({})", c.column, c.kind))
        .collect();
    let vals: Vec<f64> = fi.columns.iter().map(|c| c.impact).collect();
    let errs: Vec<f64> = fi.columns.iter().map(|c| c.impact_std).collect();
    let fig = bar_chart(
        &format!("{eid}: Feature Impact (permutation, out-of-fold)"),
        &format!("normalized impact (drop of {}, top column = 1)", fi.metric),
        &names,
        &vals,
        &errs,
    )?;
    w.figure(&fig, "feature_impact", "Feature Impact", "Permutation importance per input column; whiskers: ± one standard deviation over the repeats")?;
    w.out.feature_impact = Some(fi);
    Ok(())
}

/// The regression insights of `id`: predicted vs actual and the lift chart, out of fold and (when
/// unlocked) on the holdout.
fn regression_fit(ctx: &InsightContext, id: &str, w: &mut Writer) -> Result<(), InsightError> {
    let Some(oof) = ctx.oof(id)? else {
        w.out.notes.push(format!(
            "predicted vs actual: model {id} has no out-of-fold predictions"
        ));
        return Ok(());
    };
    let values = &ctx.target.values;
    let rows = ctx.partition.cv_rows();
    let actual: Vec<f32> = rows.iter().map(|&r| values[r]).collect();
    let predicted: Vec<f32> = rows.iter().map(|&r| oof[[r, 0]]).collect();
    let mut fits = vec![RegressionFit::new(
        "cross-validation (out-of-fold)",
        &actual,
        &predicted,
    )?];
    let holdout = ctx.partition.holdout_rows();
    if ctx.leaderboard.holdout_unlocked
        && !holdout.is_empty()
        && let Some(h) = ctx.holdout(id)?
    {
        let actual: Vec<f32> = holdout.iter().map(|&r| values[r]).collect();
        fits.push(RegressionFit::new(
            "holdout",
            &actual,
            &h.column(0).to_vec(),
        )?);
    }
    for f in &fits {
        let stem = if f.source == "holdout" {
            "holdout"
        } else {
            "cv"
        };
        w.json(&format!("regression_{stem}.json"), f)?;
        w.text(&format!("regression_{stem}.txt"), &f.render_text())?;
        let fig = f.scatter_figure(&format!("{id}: predicted vs actual, {}", f.source))?;
        w.figure(
            &fig,
            &format!("predicted_vs_actual_{stem}"),
            "Predicted vs actual",
            &format!("{}: one dot per row, dashed: predicted = actual", f.source),
        )?;
        let fig = f.lift_figure(&format!("{id}: lift chart, {}", f.source))?;
        w.figure(
            &fig,
            &format!("lift_{stem}"),
            "Lift chart",
            &format!(
                "{}: rows in ten bins by prediction, mean predicted and mean actual value",
                f.source
            ),
        )?;
    }
    w.out.regression = fits;
    Ok(())
}

/// The out-of-fold ROC curve, precision–recall curve and lift chart of a binary model `id`, with
/// its decision threshold.
fn roc_curve_of(ctx: &InsightContext, id: &str, w: &mut Writer) -> Result<(), InsightError> {
    let (Some(oof), Some(pos)) = (ctx.oof(id)?, ctx.target.positive) else {
        return Ok(());
    };
    let rows = ctx.partition.cv_rows();
    let positive: Vec<bool> = rows.iter().map(|&r| ctx.target.labels[r] == pos).collect();
    let scores: Vec<f32> = rows.iter().map(|&r| oof[[r, pos as usize]]).collect();
    let threshold = ctx.row(id)?.threshold;
    let name = &ctx.target.classes[pos as usize];
    let roc = Roc::new(
        "cross-validation (out-of-fold)",
        name,
        &positive,
        &scores,
        threshold,
    )?;
    w.json("roc_cv.json", &roc)?;
    w.text("roc_cv.txt", &roc.render_text())?;
    let fig = roc.figure(&format!("{id}: ROC curve, positive class '{name}'"))?;
    w.figure(
        &fig,
        "roc_cv",
        "ROC curve",
        "Cross-validation (out-of-fold) positive-class probabilities",
    )?;
    let fig = roc.precision_recall_figure(&format!("{id}: precision-recall, '{name}'"))?;
    w.figure(
        &fig,
        "precision_recall_cv",
        "ROC curve",
        "Precision against recall as the threshold falls, out of fold",
    )?;
    let fig = roc.lift_figure(&format!("{id}: lift, '{name}'"))?;
    w.figure(
        &fig,
        "lift_cv",
        "ROC curve",
        "Rows in ten bins by positive-class probability: mean probability and share of positives, out of fold",
    )?;
    w.out.roc = Some(roc);
    Ok(())
}

/// One image's activation map by the requested method, or by Grad-CAM when the head is
/// differentiable and occlusion otherwise.
fn activation_map(
    model: &crate::model::Model,
    inputs: &crate::features::FeatureInputs,
    featurizer: &neural::ImageFeaturizer,
    subject: MapSubject,
    settings: &InsightSettings,
) -> Result<ActivationMap, InsightError> {
    if settings.map_method != Some(MapMethod::Occlusion) {
        if let Some(map) = grad_cam_map(model, inputs, featurizer, subject)? {
            return Ok(map);
        }
        if settings.map_method == Some(MapMethod::GradCam) {
            return Err(InsightError::invalid(format!(
                "Grad-CAM needs a differentiable head, and {} is not; use occlusion",
                model.estimator.name()
            )));
        }
    }
    occlusion_map(model, inputs, featurizer, subject, &settings.occlusion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_section_becomes_a_note_and_an_io_error_aborts() {
        let mut notes = Vec::new();
        let invalid = Err(InsightError::invalid("no out-of-fold predictions"));
        assert!(or_note(invalid, "ROC curve", &mut notes).is_ok());
        assert_eq!(notes, ["ROC curve: no out-of-fold predictions"]);
        let io = Err(InsightError::Io {
            path: "x".into(),
            error: std::io::Error::other("disk full"),
        });
        assert!(or_note(io, "ROC curve", &mut notes).is_err());
        assert!(or_note(Ok(()), "ROC curve", &mut notes).is_ok());
        assert_eq!(notes.len(), 1);
    }
}
