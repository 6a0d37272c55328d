//! Featurization throughput on the Spotify covers (1,264 JPEGs): images/s per backbone, split
//! into decode+resize and forward time.
//!
//! `cargo run --release -p autopilot-neural --example featurize_speed -- [CSV] [BACKBONE,...] [BATCH]`
//! (defaults: /work/shared/data/covers-spotify/albums.csv, all four backbones, 16).

use std::path::{Path, PathBuf};

use neural::featurizer::{FeaturizerConfig, ImageFeaturizer};
use neural::{Backbone, DeviceChoice};

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cover_paths(csv_path: &Path) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let mut reader = csv::Reader::from_path(csv_path)?;
    let col = reader
        .headers()?
        .iter()
        .position(|h| h == "cover")
        .ok_or("no `cover` column")?;
    let mut paths = Vec::new();
    for record in reader.records() {
        let record = record?;
        paths.push(base.join(record.get(col).ok_or("short row")?));
    }
    Ok(paths)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let csv_path = PathBuf::from(
        args.first()
            .map_or("/work/shared/data/covers-spotify/albums.csv", |s| {
                s.as_str()
            }),
    );
    if !csv_path.is_file() {
        println!("SKIP: {} not found", csv_path.display());
        return Ok(());
    }
    let backbones: Vec<Backbone> = match args.get(1) {
        Some(list) => list
            .split(',')
            .map(Backbone::from_name)
            .collect::<Result<_, _>>()?,
        None => Backbone::ALL.to_vec(),
    };
    let batch: usize = args.get(2).map_or(Ok(16), |s| s.parse())?;
    let paths = cover_paths(&csv_path)?;
    println!(
        "{} images, batch {batch}, {} CPUs",
        paths.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for backbone in backbones {
        let mut config = FeaturizerConfig::new(backbone);
        config.device = DeviceChoice::Cpu;
        config.batch_size = batch;
        let featurizer = ImageFeaturizer::new(config)?;
        // Warm-up forward (allocations, kernel selection), as the peer harness does.
        let c = backbone.input_size();
        featurizer.run_batch(vec![0.0; batch * 3 * c * c], batch, false)?;
        let before = loadavg();
        let (features, t) = featurizer.featurize_paths_timed(&paths)?;
        println!(
            "{:<20} {:>6.1} img/s  wall {:>6.1}s  decode+resize {:>6.1}s  forward {:>6.1}s ({:.1} img/s)  dim {}  failed {}  loadavg {} -> {}",
            backbone.name(),
            paths.len() as f64 / t.total_seconds,
            t.total_seconds,
            t.preprocess_seconds,
            t.forward_seconds,
            paths.len() as f64 / t.forward_seconds,
            featurizer.feature_dim(),
            features.n_failed(),
            before,
            loadavg()
        );
    }
    Ok(())
}
