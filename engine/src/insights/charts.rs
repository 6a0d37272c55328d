//! Figures of the insights, drawn with `plotters`: PNG through the bitmap backend (text with a
//! bundled DejaVu Sans, so no system fonts or fontconfig are needed) and SVG through the SVG
//! backend. Also small raster helpers (PNG encoding, colour maps, pasting images) shared by the
//! image insights.

use std::path::{Path, PathBuf};
use std::sync::Once;

use image::{ImageEncoder, RgbImage};
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::RangedCoordusize;
use plotters::prelude::*;

use super::InsightError;
use crate::project::atomic::write_atomic;

/// The bundled font (DejaVu Sans, Bitstream Vera licence: see `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The family name charts use.
pub const FONT_FAMILY: &str = "sans-serif";

static REGISTER: Once = Once::new();

/// Registers the bundled font with plotters (once per process).
pub fn register_font() {
    REGISTER.call_once(|| {
        // The bundled file is a valid TrueType font; a failure would only lose text.
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT);
    });
}

/// A figure rendered both as PNG bytes and as an SVG document.
#[derive(Debug, Clone)]
pub struct Figure {
    /// PNG file content.
    pub png: Vec<u8>,
    /// SVG document (absent for raster-only figures such as image grids).
    pub svg: Option<String>,
}

impl Figure {
    /// Writes `<dir>/<stem>.png` (and `.svg` when present), atomically; returns the paths.
    pub fn save(&self, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, InsightError> {
        let mut out = Vec::new();
        let png = dir.join(format!("{stem}.png"));
        write_atomic(&png, &self.png)?;
        out.push(png);
        if let Some(svg) = &self.svg {
            let p = dir.join(format!("{stem}.svg"));
            write_atomic(&p, svg.as_bytes())?;
            out.push(p);
        }
        Ok(out)
    }
}

fn draw_err(what: &str, e: impl std::fmt::Display) -> InsightError {
    InsightError::Draw {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// Encodes an RGB image as PNG bytes.
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>, InsightError> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| draw_err("PNG", e))?;
    Ok(out)
}

/// Something that can draw itself on any plotters backend.
pub trait Plot {
    /// Draws on `root` (already filled white).
    fn plot<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Renders `plot` on a `w × h` PNG and SVG.
pub fn render(what: &str, w: u32, h: u32, plot: &impl Plot) -> Result<Figure, InsightError> {
    register_font();
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(what, e))?;
        plot.plot(&root).map_err(|e| draw_err(what, e))?;
        root.present().map_err(|e| draw_err(what, e))?;
    }
    let img = RgbImage::from_raw(w, h, buf).ok_or_else(|| draw_err(what, "bad buffer size"))?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(what, e))?;
        plot.plot(&root).map_err(|e| draw_err(what, e))?;
        root.present().map_err(|e| draw_err(what, e))?;
    }
    Ok(Figure {
        png: encode_png(&img)?,
        svg: Some(svg),
    })
}

/// Draws text on a raster image with the bundled font (top-left anchored).
pub fn draw_text_on(
    img: &mut RgbImage,
    text: &str,
    x: i32,
    y: i32,
    size: f64,
    color: RGBColor,
) -> Result<(), InsightError> {
    register_font();
    let (w, h) = img.dimensions();
    let raw: &mut [u8] = img;
    let root = BitMapBackend::with_buffer(raw, (w, h)).into_drawing_area();
    root.draw(&Text::new(
        text.to_string(),
        (x, y),
        (FONT_FAMILY, size).into_font().color(&color),
    ))
    .map_err(|e| draw_err("text", e))?;
    root.present().map_err(|e| draw_err("text", e))?;
    Ok(())
}

/// Width and height in pixels of `text` at `size` with the bundled font.
pub fn text_size(text: &str, size: f64) -> (u32, u32) {
    register_font();
    let font = (FONT_FAMILY, size).into_font();
    font.box_size(text)
        .unwrap_or((text.len() as u32 * size as u32 / 2, size as u32))
}

/// An axis of `n` equal segments for `n` bars or cells. (Plotters' integer ranges include their
/// end, so `(0..n).into_segmented()` has an empty segment past the last. A single segment keeps
/// that spare one: plotters maps a one-value range to a point, not onto the axis.)
fn segments(n: usize) -> SegmentedCoord<RangedCoordusize> {
    (0..n.max(2) - 1).into_segmented()
}

/// A colour from a diverging blue (−1) → light grey (0) → red (+1) scale.
pub fn diverging(v: f64) -> RGBColor {
    let v = v.clamp(-1.0, 1.0);
    let mid = (225.0, 225.0, 225.0);
    let (r, g, b) = if v < 0.0 {
        (33.0, 102.0, 172.0)
    } else {
        (178.0, 24.0, 43.0)
    };
    let t = v.abs();
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(mid.0, r), mix(mid.1, g), mix(mid.2, b))
}

/// A colour from a white (0) → dark blue (1) scale, for heat maps.
pub fn sequential(v: f64) -> RGBColor {
    let t = v.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

/// A colour for an activation heat map: transparent-ish blue (0) → yellow → red (1)
/// ("jet"-like, as Grad-CAM pictures use).
pub fn heat(v: f64) -> [u8; 3] {
    let t = v.clamp(0.0, 1.0);
    let r = (1.5 - (4.0 * t - 3.0).abs()).clamp(0.0, 1.0);
    let g = (1.5 - (4.0 * t - 2.0).abs()).clamp(0.0, 1.0);
    let b = (1.5 - (4.0 * t - 1.0).abs()).clamp(0.0, 1.0);
    [(r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8]
}

/// A qualitative colour for class `k` (Tableau 10, then repeating).
pub fn class_colour(k: usize) -> RGBColor {
    const P: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = P[k % P.len()];
    RGBColor(r, g, b)
}

/// Pastes `src` into `dst` with its top-left corner at `(x, y)` (clipped at the edges).
pub fn paste(dst: &mut RgbImage, src: &RgbImage, x: i64, y: i64) {
    let (dw, dh) = (i64::from(dst.width()), i64::from(dst.height()));
    for (sx, sy, p) in src.enumerate_pixels() {
        let (tx, ty) = (x + i64::from(sx), y + i64::from(sy));
        if tx >= 0 && ty >= 0 && tx < dw && ty < dh {
            dst.put_pixel(tx as u32, ty as u32, *p);
        }
    }
}

/// Draws a `thickness`-pixel rectangle outline on a raster image.
pub fn outline(dst: &mut RgbImage, x: i64, y: i64, w: u32, h: u32, thickness: u32, c: [u8; 3]) {
    let (dw, dh) = (i64::from(dst.width()), i64::from(dst.height()));
    let mut put = |px: i64, py: i64| {
        if px >= 0 && py >= 0 && px < dw && py < dh {
            dst.put_pixel(px as u32, py as u32, image::Rgb(c));
        }
    };
    let (w, h, t) = (i64::from(w), i64::from(h), i64::from(thickness));
    for d in 0..t {
        for i in 0..w {
            put(x + i, y + d);
            put(x + i, y + h - 1 - d);
        }
        for j in 0..h {
            put(x + d, y + j);
            put(x + w - 1 - d, y + j);
        }
    }
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A horizontal bar chart, first bar on top, with optional error whiskers (± `errors[i]`).
pub fn bar_chart(
    title: &str,
    x_label: &str,
    labels: &[String],
    values: &[f64],
    errors: &[f64],
) -> Result<Figure, InsightError> {
    if labels.is_empty() || values.len() != labels.len() {
        return Err(draw_err(
            title,
            "a bar chart needs one value per label and at least one bar",
        ));
    }
    let n = labels.len();
    let labels: Vec<String> = labels.iter().map(|l| shorten(l, 28)).collect();
    let label_w = labels
        .iter()
        .map(|l| text_size(l, 14.0).0)
        .max()
        .unwrap_or(40)
        + 16;
    let h = (90 + 32 * n) as u32;
    let lo = values
        .iter()
        .zip(errors.iter().chain(std::iter::repeat(&0.0)))
        .map(|(v, e)| v - e)
        .fold(0.0f64, f64::min);
    let hi = values
        .iter()
        .zip(errors.iter().chain(std::iter::repeat(&0.0)))
        .map(|(v, e)| v + e)
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let pad = (hi - lo) * 0.05;
    let (x0, x1) = (if lo < 0.0 { lo - pad } else { 0.0 }, hi + pad);
    struct Bars<'a> {
        title: &'a str,
        x_label: &'a str,
        labels: &'a [String],
        values: &'a [f64],
        errors: &'a [f64],
        label_w: u32,
        x0: f64,
        x1: f64,
    }
    impl Plot for Bars<'_> {
        fn plot<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
            let Bars {
                title,
                x_label,
                labels,
                values,
                errors,
                label_w,
                x0,
                x1,
            } = *self;
            let n = labels.len();
            let mut chart = ChartBuilder::on(root)
                .caption(title, (FONT_FAMILY, 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(label_w)
                .build_cartesian_2d(x0..x1, segments(n))
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_desc(x_label)
                .label_style((FONT_FAMILY, 14))
                .y_labels(n.max(1))
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) if *i < n => labels[n - 1 - *i].clone(),
                    _ => String::new(),
                })
                .draw()
                .map_err(|e| e.to_string())?;
            let blue = RGBColor(31, 119, 180);
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let y = n - 1 - i;
                    let mut r = Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(y)),
                            (v, SegmentValue::Exact(y + 1)),
                        ],
                        blue.filled(),
                    );
                    r.set_margin(5, 5, 0, 0);
                    r
                }))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(
                    errors
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| **e > 0.0)
                        .map(|(i, &e)| {
                            let y = n - 1 - i;
                            let v = values[i];
                            PathElement::new(
                                vec![
                                    (v - e, SegmentValue::CenterOf(y)),
                                    (v + e, SegmentValue::CenterOf(y)),
                                ],
                                BLACK.stroke_width(2),
                            )
                        }),
                )
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    }
    render(
        title,
        820,
        h,
        &Bars {
            title,
            x_label,
            labels: &labels,
            values,
            errors,
            label_w,
            x0,
            x1,
        },
    )
}

/// A heat map of `values` in [0, 1] (rows × columns), each cell annotated with `cell_text`.
pub fn heat_map(
    title: &str,
    row_title: &str,
    col_title: &str,
    row_labels: &[String],
    col_labels: &[String],
    values: &[Vec<f64>],
    cell_text: &[Vec<String>],
) -> Result<Figure, InsightError> {
    let (nr, nc) = (row_labels.len(), col_labels.len());
    let rl: Vec<String> = row_labels.iter().map(|l| shorten(l, 18)).collect();
    let cl: Vec<String> = col_labels.iter().map(|l| shorten(l, 12)).collect();
    let label_w = rl.iter().map(|l| text_size(l, 14.0).0).max().unwrap_or(40) + 40;
    // Cells wide enough for their text and their column's label, so that neither spills over.
    let widest = |texts: &mut dyn Iterator<Item = &String>| {
        texts.map(|t| text_size(t, 13.0).0).max().unwrap_or(0)
    };
    let cell = 72u32
        .max(widest(&mut cell_text.iter().flatten()) + 16)
        .max(widest(&mut cl.iter()) + 10);
    let w = (label_w + cell * nc as u32 + 60).max(text_size(title, 20.0).0 + 40);
    let h = 110 + cell * nr as u32;
    struct Heat<'a> {
        title: &'a str,
        row_title: &'a str,
        col_title: &'a str,
        rl: &'a [String],
        cl: &'a [String],
        values: &'a [Vec<f64>],
        cell_text: &'a [Vec<String>],
        label_w: u32,
    }
    impl Plot for Heat<'_> {
        fn plot<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
            let Heat {
                title,
                row_title,
                col_title,
                rl,
                cl,
                values,
                cell_text,
                label_w,
            } = *self;
            let (nr, nc) = (rl.len(), cl.len());
            let mut chart = ChartBuilder::on(root)
                .caption(title, (FONT_FAMILY, 20))
                .margin(12)
                .x_label_area_size(48)
                .y_label_area_size(label_w)
                .build_cartesian_2d(segments(nc), segments(nr))
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(col_title)
                .y_desc(row_title)
                .label_style((FONT_FAMILY, 13))
                .x_labels(nc.max(1))
                .y_labels(nr.max(1))
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(j) if *j < nc => cl[*j].clone(),
                    _ => String::new(),
                })
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) if *i < nr => rl[nr - 1 - *i].clone(),
                    _ => String::new(),
                })
                .draw()
                .map_err(|e| e.to_string())?;
            for i in 0..nr {
                for j in 0..nc {
                    let v = values[i][j];
                    let y = nr - 1 - i;
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [
                                (SegmentValue::Exact(j), SegmentValue::Exact(y)),
                                (SegmentValue::Exact(j + 1), SegmentValue::Exact(y + 1)),
                            ],
                            sequential(v).filled(),
                        )))
                        .map_err(|e| e.to_string())?;
                    let colour = if v > 0.5 { WHITE } else { BLACK };
                    let style = (FONT_FAMILY, 13).into_font().color(&colour).pos(
                        plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        ),
                    );
                    chart
                        .draw_series(std::iter::once(Text::new(
                            cell_text[i][j].clone(),
                            (SegmentValue::CenterOf(j), SegmentValue::CenterOf(y)),
                            style,
                        )))
                        .map_err(|e| e.to_string())?;
                }
            }
            Ok(())
        }
    }
    render(
        title,
        w,
        h,
        &Heat {
            title,
            row_title,
            col_title,
            rl: &rl,
            cl: &cl,
            values,
            cell_text,
            label_w,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_chart_is_a_png_and_an_svg_with_the_labels() {
        let f = bar_chart(
            "Feature Impact",
            "impact",
            &["image".into(), "caption".into()],
            &[1.0, 0.4],
            &[0.05, 0.1],
        )
        .unwrap();
        let img = image::load_from_memory(&f.png).unwrap();
        assert!(img.width() > 100 && img.height() > 100);
        // Some pixels are the bar colour.
        let rgb = img.to_rgb8();
        assert!(rgb.pixels().any(|p| p.0 == [31, 119, 180]));
        let svg = f.svg.unwrap();
        assert!(svg.contains("caption") && svg.contains("image"), "{svg}");
    }

    #[test]
    fn a_heat_map_fits_its_title_and_cells_with_no_spare_segment() {
        let title = "M6: confusion matrix, cross-validation (out-of-fold)";
        let labels: Vec<String> = vec!["0".into(), "1".into()];
        let text = vec![vec!["100% (67)".to_string(); 2]; 2];
        let f = heat_map(
            title,
            "actual",
            "predicted",
            &labels,
            &labels,
            &vec![vec![1.0; 2]; 2],
            &text,
        )
        .unwrap();
        let img = image::load_from_memory(&f.png).unwrap().to_rgb8();
        assert!(
            img.width() >= text_size(title, 20.0).0 + 40,
            "title clipped"
        );
        // The cells reach the plot's right and top edges (before, plotters' inclusive integer
        // range left an empty segment after the last column and above the first row), and
        // each is wider than its text.
        let dark = sequential(1.0);
        let xy: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [dark.0, dark.1, dark.2])
            .map(|(x, y, _)| (x, y))
            .collect();
        let left = xy.iter().map(|p| p.0).min().expect("cells drawn");
        let right = xy.iter().map(|p| p.0).max().expect("cells drawn");
        let top = xy.iter().map(|p| p.1).min().expect("cells drawn");
        assert!(
            right + 30 >= img.width(),
            "cells end at {right} of {}",
            img.width()
        );
        assert!(top < 60, "first row starts at {top}");
        let cell = (right - left) / 2;
        assert!(cell > text_size("100% (67)", 13.0).0, "cell {cell} px");
    }

    #[test]
    fn text_is_drawn_with_the_bundled_font() {
        let mut img = RgbImage::from_pixel(80, 30, image::Rgb([255, 255, 255]));
        draw_text_on(&mut img, "Hi", 5, 5, 18.0, BLACK).unwrap();
        assert!(
            img.pixels().any(|p| p.0[0] < 128),
            "no dark pixel: text not drawn"
        );
        let (w, h) = text_size("Hello", 20.0);
        assert!(w > 20 && h > 5, "{w}x{h}");
    }

    #[test]
    fn colour_scales_hit_their_ends() {
        assert_eq!(diverging(-1.0), RGBColor(33, 102, 172));
        assert_eq!(diverging(1.0), RGBColor(178, 24, 43));
        assert_eq!(sequential(0.0), RGBColor(247, 251, 255));
        assert_eq!(heat(0.0)[2], 127);
        assert_eq!(heat(1.0)[0], 127);
    }
}

/// How an [`XySeries`] is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XyStyle {
    /// Small dots.
    Points,
    /// A line through the points in order.
    Line,
    /// A dashed grey reference line.
    Reference,
}

/// One series of an [`xy_chart`].
#[derive(Debug, Clone)]
pub struct XySeries {
    /// Legend text.
    pub name: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub style: XyStyle,
}

/// A scatter / line chart of `series` on shared axes (ranges fitted to every point).
pub fn xy_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[XySeries],
) -> Result<Figure, InsightError> {
    let all = || series.iter().flat_map(|s| s.points.iter());
    if all().next().is_none() || all().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return Err(draw_err(title, "an xy chart needs finite points"));
    }
    let range = |v: Vec<f64>| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.05).max(1e-9);
        (lo - pad)..(hi + pad)
    };
    let xr = range(all().map(|p| p.0).collect());
    let yr = range(all().map(|p| p.1).collect());
    struct Xy<'a> {
        title: &'a str,
        x_label: &'a str,
        y_label: &'a str,
        series: &'a [XySeries],
        xr: std::ops::Range<f64>,
        yr: std::ops::Range<f64>,
    }
    impl Plot for Xy<'_> {
        fn plot<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
            let mut chart = ChartBuilder::on(root)
                .caption(self.title, (FONT_FAMILY, 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(self.xr.clone(), self.yr.clone())
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc(self.x_label)
                .y_desc(self.y_label)
                .label_style((FONT_FAMILY, 14))
                .draw()
                .map_err(|e| e.to_string())?;
            for (k, s) in self.series.iter().enumerate() {
                let c = class_colour(k);
                let drawn = match s.style {
                    XyStyle::Points => chart.draw_series(
                        s.points
                            .iter()
                            .map(|&p| Circle::new(p, 2, c.mix(0.5).filled())),
                    ),
                    XyStyle::Line => {
                        chart.draw_series(LineSeries::new(s.points.clone(), c.stroke_width(2)))
                    }
                    XyStyle::Reference => chart.draw_series(DashedLineSeries::new(
                        s.points.clone(),
                        6,
                        4,
                        RGBColor(128, 128, 128).stroke_width(1),
                    )),
                }
                .map_err(|e| e.to_string())?;
                let legend = match s.style {
                    XyStyle::Reference => RGBColor(128, 128, 128),
                    _ => c,
                };
                drawn.label(s.name.clone()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 4), (x + 12, y + 4)], legend.filled())
                });
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font((FONT_FAMILY, 13))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    }
    render(
        title,
        720,
        560,
        &Xy {
            title,
            x_label,
            y_label,
            series,
            xr,
            yr,
        },
    )
}
