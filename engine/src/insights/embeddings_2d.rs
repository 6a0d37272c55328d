//! Image embeddings: the backbone features of the images projected to 2-D with t-SNE
//! ([`super::tsne`]), drawn as thumbnails at their coordinates, framed in their class's colour;
//! plus one picture per class where that class's images are shown and the others are grey dots.
//!
//! Features are standardized per column before t-SNE (so that no channel dominates the
//! distances). At most [`EmbeddingOptions::max_points`] images are placed (a seeded sample,
//! stratified by class).

use std::collections::BTreeMap;
use std::path::PathBuf;

use image::RgbImage;
use ndarray::Array2;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::InsightError;
use super::charts::{Figure, class_colour, draw_text_on, encode_png, outline, paste};
use super::tsne::{TsneOptions, tsne};
use crate::dataset::Dataset;
use crate::features::FeatureMatrix;

/// Settings of the embedding picture.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingOptions {
    /// At most this many images.
    pub max_points: usize,
    /// Thumbnail side in pixels.
    pub thumbnail: u32,
    /// Canvas side in pixels (the map; the legend is added below).
    pub canvas: u32,
    /// t-SNE settings (its seed also draws the sample).
    pub tsne: TsneOptions,
}

impl Default for EmbeddingOptions {
    fn default() -> Self {
        Self {
            max_points: 600,
            thumbnail: 40,
            canvas: 1200,
            tsne: TsneOptions::default(),
        }
    }
}

/// One image on the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingPoint {
    /// Dataset row.
    pub row: usize,
    /// Its row in the data file (header = row 1), as messages name rows (0 in files written
    /// before it was recorded).
    #[serde(default)]
    pub file_row: usize,
    /// t-SNE coordinates.
    pub x: f64,
    /// t-SNE coordinates.
    pub y: f64,
    /// Actual class index.
    pub class: u32,
}

/// A 2-D map of one image column's backbone features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Image column.
    pub column: String,
    /// Backbone that made the features.
    pub backbone: String,
    /// The images placed.
    pub points: Vec<EmbeddingPoint>,
}

/// Rows with features, sampled down to `max` (per class in proportion), ascending.
fn pick_rows(
    ok: &[bool],
    labels: &[u32],
    candidates: &[usize],
    max: usize,
    seed: u64,
) -> Vec<usize> {
    let usable: Vec<usize> = candidates.iter().copied().filter(|&r| ok[r]).collect();
    if usable.len() <= max {
        return usable;
    }
    let mut by_class: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &r in &usable {
        by_class.entry(labels[r]).or_default().push(r);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (_, mut rows) in by_class {
        rows.shuffle(&mut rng);
        let take = ((rows.len() * max) as f64 / usable.len() as f64)
            .round()
            .max(1.0) as usize;
        out.extend(rows.into_iter().take(take));
    }
    out.sort_unstable();
    out
}

/// Projects the features of `rows` (those with an image) to 2-D.
pub fn image_embedding(
    column: &str,
    backbone: &str,
    matrix: &FeatureMatrix,
    labels: &[u32],
    rows: &[usize],
    options: &EmbeddingOptions,
) -> Result<Embedding, InsightError> {
    if let Some(&bad) = rows
        .iter()
        .find(|&&r| r >= matrix.ok.len() || r >= labels.len())
    {
        return Err(InsightError::invalid(format!("row {bad} is out of range")));
    }
    let picked = pick_rows(
        &matrix.ok,
        labels,
        rows,
        options.max_points,
        options.tsne.seed,
    );
    let mut x: Array2<f32> = matrix.features.select(ndarray::Axis(0), &picked);
    for mut col in x.columns_mut() {
        let n = col.len().max(1) as f32;
        let mean = col.sum() / n;
        let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
        col.mapv_inplace(|v| if sd > 1e-6 { (v - mean) / sd } else { 0.0 });
    }
    let y = tsne(x.view(), &options.tsne)?;
    Ok(Embedding {
        column: column.to_string(),
        backbone: backbone.to_string(),
        points: picked
            .iter()
            .enumerate()
            .map(|(i, &row)| EmbeddingPoint {
                row,
                file_row: 0,
                x: y[[i, 0]],
                y: y[[i, 1]],
                class: labels[row],
            })
            .collect(),
    })
}

/// Thumbnails of the embedding's images (`None` where an image cannot be read).
pub fn thumbnails(emb: &Embedding, ds: &Dataset, side: u32) -> Vec<Option<RgbImage>> {
    let paths: Vec<Option<PathBuf>> = emb
        .points
        .iter()
        .map(|p| {
            ds.column(&emb.column)
                .and_then(|c| c.values.get(p.row))
                .and_then(|v| v.as_deref())
                .map(|v| ds.image_path(v))
        })
        .collect();
    paths
        .par_iter()
        .map(|p| {
            let img = neural::preprocess::load_rgb(p.as_ref()?).ok()?;
            Some(image::imageops::thumbnail(&img, side, side))
        })
        .collect()
}

impl Embedding {
    /// The map: thumbnails framed in their class colour (all classes), or, with `only`, that
    /// class's thumbnails over grey dots for the others. `thumbs` comes from [`thumbnails`].
    pub fn figure(
        &self,
        classes: &[String],
        thumbs: &[Option<RgbImage>],
        only: Option<u32>,
        options: &EmbeddingOptions,
    ) -> Result<Figure, InsightError> {
        let side = options.canvas;
        let legend_h = 30 * classes.len().div_ceil(4) as u32 + 20;
        let top = 44u32;
        let mut canvas =
            RgbImage::from_pixel(side, side + top + legend_h, image::Rgb([255, 255, 255]));
        let title = match only {
            Some(k) => format!(
                "Image embeddings of '{}' ({}, t-SNE): class {}",
                self.column,
                self.backbone,
                classes.get(k as usize).map_or("?", |s| s.as_str())
            ),
            None => format!(
                "Image embeddings of '{}' ({}, t-SNE), {} images",
                self.column,
                self.backbone,
                self.points.len()
            ),
        };
        draw_text_on(&mut canvas, &title, 12, 10, 20.0, plotters::style::BLACK)?;
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in &self.points {
            x0 = x0.min(p.x);
            x1 = x1.max(p.x);
            y0 = y0.min(p.y);
            y1 = y1.max(p.y);
        }
        let t = options.thumbnail;
        let span = |a: f64, b: f64| if b > a { b - a } else { 1.0 };
        let usable = f64::from(side - t - 20);
        let to_px = |p: &crate::insights::embeddings_2d::EmbeddingPoint| {
            (
                10 + ((p.x - x0) / span(x0, x1) * usable) as i64,
                i64::from(top) + 10 + ((p.y - y0) / span(y0, y1) * usable) as i64,
            )
        };
        // Others first (as dots), then the shown thumbnails on top.
        for p in &self.points {
            if only.is_some_and(|k| k != p.class) {
                let (x, y) = to_px(p);
                let dot = RgbImage::from_pixel(6, 6, image::Rgb([190, 190, 190]));
                paste(
                    &mut canvas,
                    &dot,
                    x + i64::from(t) / 2 - 3,
                    y + i64::from(t) / 2 - 3,
                );
            }
        }
        for (p, thumb) in self.points.iter().zip(thumbs) {
            if only.is_some_and(|k| k != p.class) {
                continue;
            }
            let (x, y) = to_px(p);
            let c = class_colour(p.class as usize);
            match thumb {
                Some(img) => paste(&mut canvas, img, x, y),
                None => paste(
                    &mut canvas,
                    &RgbImage::from_pixel(t, t, image::Rgb([c.0, c.1, c.2])),
                    x,
                    y,
                ),
            }
            let (w, h) = thumb.as_ref().map_or((t, t), |i| i.dimensions());
            outline(&mut canvas, x, y, w, h, 3, [c.0, c.1, c.2]);
        }
        // Legend.
        let ly = side + top;
        for (k, name) in classes.iter().enumerate() {
            let (col, row) = (k as u32 % 4, k as u32 / 4);
            let (x, y) = (12 + col * (side / 4), ly + 8 + row * 30);
            let c = class_colour(k);
            paste(
                &mut canvas,
                &RgbImage::from_pixel(18, 18, image::Rgb([c.0, c.1, c.2])),
                i64::from(x),
                i64::from(y),
            );
            draw_text_on(
                &mut canvas,
                name,
                x as i32 + 24,
                y as i32,
                16.0,
                plotters::style::BLACK,
            )?;
        }
        Ok(Figure {
            png: encode_png(&canvas)?,
            svg: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_stratified_and_skips_rows_without_features() {
        let labels: Vec<u32> = (0..100).map(|i| (i % 2) as u32).collect();
        let mut ok = vec![true; 100];
        ok[0] = false;
        let all: Vec<usize> = (0..100).collect();
        let rows = pick_rows(&ok, &labels, &all, 20, 1);
        assert!(!rows.contains(&0));
        let ones = rows.iter().filter(|&&r| labels[r] == 1).count();
        assert!((9..=11).contains(&ones), "{ones} of {}", rows.len());
        assert_eq!(rows, pick_rows(&ok, &labels, &all, 20, 1));
        assert_eq!(pick_rows(&ok, &labels, &all[..10], 20, 1).len(), 9);
    }
}
