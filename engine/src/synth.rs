//! A seeded generator of a small multimodal classification dataset (images, text, numbers,
//! categories, dates, a leaking group column), for demos and tests.
//!
//! Each class has its own signal in every modality, blurred by noise so that no single
//! feature is perfect (except `artist`, which leaks like `artist_name` in the Spotify covers):
//! * `image`: a PNG under `images/` with a class-specific shape (disc, square, cross, ...) in a
//!   class-tinted colour on a noisy background, at a random position and size;
//! * `caption`: a few class-specific words mixed with shared filler words (and some words of
//!   other classes);
//! * `price`: a number whose mean shifts with the class; some values missing;
//! * `colour`: a category that matches the class 60% of the time; some values missing;
//! * `date`: a `YYYY-MM-DD` date (no signal);
//! * `artist`: a group column; each artist belongs to one class;
//! * `label`: the target.

use std::io;
use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSpec {
    /// Number of rows.
    pub n_rows: usize,
    /// Number of classes (at least 2).
    pub n_classes: usize,
    /// Random seed: the same seed writes the same files.
    pub seed: u64,
    /// Width and height of each image, in pixels.
    pub image_size: u32,
}

impl Default for DemoSpec {
    fn default() -> Self {
        Self {
            n_rows: 240,
            n_classes: 3,
            seed: 42,
            image_size: 48,
        }
    }
}

/// Name of the CSV file written by [`write_demo_dataset`].
pub const DEMO_CSV: &str = "demo.csv";
/// Target column of the demo dataset.
pub const DEMO_TARGET: &str = "label";
/// Group column of the demo dataset.
pub const DEMO_GROUP: &str = "artist";
/// Artists per class in the demo dataset.
pub const ARTISTS_PER_CLASS: usize = 4;

const CLASS_NAMES: [&str; 6] = ["circle", "square", "cross", "stripes", "ring", "triangle"];
const CLASS_COLOURS: [[u8; 3]; 6] = [
    [200, 60, 50],
    [50, 150, 210],
    [70, 180, 80],
    [220, 190, 40],
    [160, 80, 200],
    [240, 130, 40],
];
const COLOUR_NAMES: [&str; 6] = ["red", "blue", "green", "yellow", "purple", "orange"];
const CLASS_WORDS: [[&str; 5]; 6] = [
    ["round", "orbit", "wheel", "moon", "bubble"],
    ["boxy", "grid", "brick", "tile", "frame"],
    ["plus", "junction", "crossing", "intersect", "cross"],
    ["lines", "striped", "zebra", "barcode", "banded"],
    ["hoop", "halo", "donut", "loop", "circlet"],
    ["peak", "pyramid", "arrow", "wedge", "spire"],
];
const FILLER: [&str; 16] = [
    "a",
    "the",
    "picture",
    "of",
    "with",
    "some",
    "bright",
    "simple",
    "shape",
    "on",
    "noisy",
    "background",
    "nice",
    "small",
    "art",
    "print",
];

/// Class name of class `k`.
pub fn class_name(k: usize) -> String {
    CLASS_NAMES
        .get(k)
        .map_or_else(|| format!("class{k}"), |s| s.to_string())
}

/// Writes the demo dataset into `dir` (created if needed): `dir/demo.csv` and `dir/images/*.png`.
/// Returns the CSV path. Classes are balanced (round-robin) and rows shuffled.
pub fn write_demo_dataset(dir: &Path, spec: &DemoSpec) -> io::Result<PathBuf> {
    if spec.n_classes < 2 || spec.n_rows < spec.n_classes || spec.image_size < 8 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "demo dataset needs at least 2 classes, at least one row per class and images of \
                 at least 8 px (got {} rows, {} classes, {} px)",
                spec.n_rows, spec.n_classes, spec.image_size
            ),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    std::fs::create_dir_all(dir.join("images"))?;
    let mut labels: Vec<usize> = (0..spec.n_rows).map(|i| i % spec.n_classes).collect();
    // Fisher-Yates shuffle with our own RNG, so the order depends only on the seed.
    for i in (1..labels.len()).rev() {
        let j = rng.random_range(0..=i);
        labels.swap(i, j);
    }
    let csv_path = dir.join(DEMO_CSV);
    let mut w = csv::Writer::from_path(&csv_path).map_err(io::Error::other)?;
    w.write_record([
        "image", "caption", "price", "colour", "date", "artist", "label",
    ])
    .map_err(io::Error::other)?;
    for (i, &k) in labels.iter().enumerate() {
        let rel = format!("images/img_{i:04}.png");
        draw_image(k, spec.image_size, &mut rng)
            .save(dir.join(&rel))
            .map_err(io::Error::other)?;
        let caption = caption(k, spec.n_classes, &mut rng);
        let price = if rng.random_bool(0.05) {
            String::new()
        } else {
            format!("{:.2}", 20.0 + 15.0 * k as f64 + 12.0 * normal(&mut rng))
        };
        let colour = if rng.random_bool(0.05) {
            String::new()
        } else if rng.random_bool(0.6) {
            COLOUR_NAMES[k % COLOUR_NAMES.len()].to_string()
        } else {
            COLOUR_NAMES[rng.random_range(0..COLOUR_NAMES.len())].to_string()
        };
        let date = format!(
            "{}-{:02}-{:02}",
            rng.random_range(2015..=2024),
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        );
        let artist = format!(
            "artist_{:02}",
            k * ARTISTS_PER_CLASS + rng.random_range(0..ARTISTS_PER_CLASS)
        );
        w.write_record([rel, caption, price, colour, date, artist, class_name(k)])
            .map_err(io::Error::other)?;
    }
    w.flush()?;
    Ok(csv_path)
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn caption(k: usize, n_classes: usize, rng: &mut ChaCha8Rng) -> String {
    let n_words = rng.random_range(6..=10);
    let mut words = Vec::with_capacity(n_words);
    for _ in 0..n_words {
        let r: f64 = rng.random();
        let word = if r < 0.3 {
            let own = k % CLASS_WORDS.len();
            CLASS_WORDS[own][rng.random_range(0..5)]
        } else if r < 0.4 {
            let other = rng.random_range(0..n_classes) % CLASS_WORDS.len();
            CLASS_WORDS[other][rng.random_range(0..5)]
        } else {
            FILLER[rng.random_range(0..FILLER.len())]
        };
        words.push(word);
    }
    words.join(" ")
}

/// Draws class `k`'s shape on a noisy background.
fn draw_image(k: usize, size: u32, rng: &mut ChaCha8Rng) -> RgbImage {
    let s = size as f64;
    let bg: [f64; 3] = [
        rng.random_range(20.0..120.0),
        rng.random_range(20.0..120.0),
        rng.random_range(20.0..120.0),
    ];
    let base = CLASS_COLOURS[k % CLASS_COLOURS.len()];
    let jitter =
        |c: u8, rng: &mut ChaCha8Rng| (c as f64 + rng.random_range(-50.0..50.0)).clamp(0.0, 255.0);
    let fg = [
        jitter(base[0], rng),
        jitter(base[1], rng),
        jitter(base[2], rng),
    ];
    let cx = s * rng.random_range(0.35..0.65);
    let cy = s * rng.random_range(0.35..0.65);
    let r = s * rng.random_range(0.2..0.35);
    let shape = k % CLASS_NAMES.len();
    let variant = k / CLASS_NAMES.len(); // classes beyond six reuse shapes, scaled differently
    let r = r * (1.0 + 0.25 * variant as f64).min(1.4);
    let mut img = RgbImage::new(size, size);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
        let d = (dx * dx + dy * dy).sqrt();
        let inside = match shape {
            0 => d <= r,
            1 => dx.abs() <= r * 0.85 && dy.abs() <= r * 0.85,
            2 => (dx.abs() <= r * 0.3 && dy.abs() <= r) || (dy.abs() <= r * 0.3 && dx.abs() <= r),
            3 => ((y as f64 / (s / 8.0)).floor() as i64) % 2 == 0,
            4 => d <= r && d >= r * 0.6,
            _ => dy <= r * 0.8 && dy >= -r && dx.abs() <= (dy + r) * 0.6,
        };
        let c = if inside { fg } else { bg };
        let mut out = [0u8; 3];
        for ch in 0..3 {
            out[ch] = (c[ch] + 18.0 * normal(rng)).clamp(0.0, 255.0) as u8;
        }
        *px = Rgb(out);
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path) -> Vec<csv::StringRecord> {
        let mut r = csv::Reader::from_path(dir.join(DEMO_CSV)).unwrap();
        r.records().map(Result::unwrap).collect()
    }

    #[test]
    fn same_seed_same_files_other_seed_differs() {
        let spec = DemoSpec {
            n_rows: 30,
            ..DemoSpec::default()
        };
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        write_demo_dataset(a.path(), &spec).unwrap();
        write_demo_dataset(b.path(), &spec).unwrap();
        write_demo_dataset(
            c.path(),
            &DemoSpec {
                seed: 7,
                ..spec.clone()
            },
        )
        .unwrap();
        let csv_a = std::fs::read(a.path().join(DEMO_CSV)).unwrap();
        assert_eq!(csv_a, std::fs::read(b.path().join(DEMO_CSV)).unwrap());
        assert_ne!(csv_a, std::fs::read(c.path().join(DEMO_CSV)).unwrap());
        let img = "images/img_0007.png";
        assert_eq!(
            std::fs::read(a.path().join(img)).unwrap(),
            std::fs::read(b.path().join(img)).unwrap()
        );
    }

    #[test]
    fn balanced_classes_and_artists_belong_to_one_class() {
        let dir = tempfile::tempdir().unwrap();
        let spec = DemoSpec {
            n_rows: 61,
            n_classes: 4,
            seed: 3,
            image_size: 16,
        };
        write_demo_dataset(dir.path(), &spec).unwrap();
        let rows = read(dir.path());
        assert_eq!(rows.len(), 61);
        let mut counts = std::collections::BTreeMap::new();
        let mut artist_class = std::collections::BTreeMap::new();
        for r in &rows {
            *counts.entry(r[6].to_string()).or_insert(0) += 1;
            let prev = artist_class.insert(r[5].to_string(), r[6].to_string());
            assert!(
                prev.is_none_or(|p| p == r[6]),
                "artist {} in two classes",
                &r[5]
            );
            let img = image::open(dir.path().join(&r[0])).unwrap();
            assert_eq!((img.width(), img.height()), (16, 16));
        }
        // 61 rows round-robin over 4 classes: 16, 15, 15, 15.
        let mut c: Vec<i32> = counts.values().copied().collect();
        c.sort_unstable();
        assert_eq!(c, vec![15, 15, 15, 16]);
    }

    #[test]
    fn class_signal_in_price_and_image_colour() {
        let dir = tempfile::tempdir().unwrap();
        write_demo_dataset(
            dir.path(),
            &DemoSpec {
                n_rows: 90,
                ..DemoSpec::default()
            },
        )
        .unwrap();
        let rows = read(dir.path());
        let mean_price = |class: &str| {
            let v: Vec<f64> = rows
                .iter()
                .filter(|r| &r[6] == class)
                .filter_map(|r| r[2].parse().ok())
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        // Class means are 20, 35, 50 with noise sd 12 over ~30 rows.
        assert!(mean_price("circle") < mean_price("square"));
        assert!(mean_price("square") < mean_price("cross"));
        // The centre pixel of a 'circle' is usually inside the disc, so redder than blue on average.
        let (mut red, mut n) = (0.0, 0.0);
        for r in rows.iter().filter(|r| &r[6] == "circle") {
            let img = image::open(dir.path().join(&r[0])).unwrap().to_rgb8();
            let p = img.get_pixel(24, 24);
            red += p[0] as f64 - p[2] as f64;
            n += 1.0;
        }
        assert!(
            red / n > 40.0,
            "mean red-blue at the centre of circles = {}",
            red / n
        );
    }

    #[test]
    fn rejects_degenerate_specs() {
        let dir = tempfile::tempdir().unwrap();
        let bad = DemoSpec {
            n_classes: 1,
            ..DemoSpec::default()
        };
        assert!(write_demo_dataset(dir.path(), &bad).is_err());
    }
}
