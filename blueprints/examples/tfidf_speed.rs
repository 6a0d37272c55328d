//! TF-IDF speed check against scikit-learn on the real data.
//!
//! `cargo run --release -p autopilot-blueprints --example tfidf_speed`
//!
//! * word (1, 2) sublinear `min_df=2` fit+transform on all lyrics of
//!   `/work/shared/data/lyrics-spotify/songs.csv` (column `lyrics`);
//! * char_wb (2, 5) sublinear fit+transform on `album_name` of
//!   `/work/shared/data/covers-spotify/albums.csv`.
//!
//! Prints seconds, n_features and nnz, then (when `$PYTHON`, default `python3`, can import
//! scikit-learn) times sklearn's `TfidfVectorizer(...).fit_transform` on the same column in the
//! same session and prints its numbers next to ours. Skips a file that is absent.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use blueprints::text::{DocFreq, TfidfConfig, TfidfVectorizer};

const LYRICS: &str = "/work/shared/data/lyrics-spotify/songs.csv";
const ALBUMS: &str = "/work/shared/data/covers-spotify/albums.csv";

fn read_column(
    path: &str,
    column: &str,
) -> Result<Vec<Option<String>>, Box<dyn std::error::Error>> {
    let mut reader = csv::Reader::from_path(path)?;
    let idx = reader
        .headers()?
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| format!("{path} has no column {column}"))?;
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = rec?;
        out.push(rec.get(idx).filter(|s| !s.is_empty()).map(str::to_string));
    }
    Ok(out)
}

/// `Σ v` and `Σ v·(col+1)·(row+1)` over stored values: a cheap fingerprint of the whole matrix
/// (values, columns and rows) that the sklearn side prints too.
fn fingerprint(x: &sprs::CsMat<f32>) -> (f64, f64) {
    x.iter().fold((0.0, 0.0), |(s, w), (&v, (r, c))| {
        (
            s + f64::from(v),
            w + f64::from(v) * (c + 1) as f64 * (r + 1) as f64,
        )
    })
}

/// Best of `reps` runs of fit_transform: (seconds, n_features, nnz, fingerprint).
fn time_rust(
    config: &TfidfConfig,
    docs: &[Option<String>],
    reps: usize,
) -> (f64, usize, usize, (f64, f64)) {
    let mut best = f64::INFINITY;
    let mut shape = (0, 0);
    let mut print = (0.0, 0.0);
    for _ in 0..reps {
        let start = Instant::now();
        let mut v = TfidfVectorizer::new(config.clone()).expect("valid config");
        let x = v.fit_transform(docs).expect("fit_transform");
        best = best.min(start.elapsed().as_secs_f64());
        shape = (x.cols(), x.nnz());
        print = fingerprint(&x);
    }
    (best, shape.0, shape.1, print)
}

/// Best of 3 sklearn runs, timed inside Python (reading the CSV is not timed).
fn time_sklearn(path: &str, column: &str, kwargs: &str) -> Option<String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = format!(
        "import time, pandas as pd\n\
         from sklearn.feature_extraction.text import TfidfVectorizer\n\
         t = pd.read_csv('{path}')['{column}'].fillna('').tolist()\n\
         best = 1e9\n\
         for _ in range(3):\n\
         \x20   s = time.perf_counter(); X = TfidfVectorizer({kwargs}).fit_transform(t); best = min(best, time.perf_counter() - s)\n\
         X = X.tocoo(); fp = (float(X.data.sum()), float((X.data * (X.col + 1.0) * (X.row + 1.0)).sum()))\n\
         print(f'{{best:.3f}} s, n_features {{X.shape[1]}}, nnz {{X.nnz}}, fingerprint ({{fp[0]:.6e}}, {{fp[1]:.9e}})')\n"
    );
    let out = Command::new(python).arg("-c").arg(script).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "  (sklearn run failed: {})",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn bench(name: &str, path: &str, column: &str, config: TfidfConfig, sk_kwargs: &str) {
    if !Path::new(path).exists() {
        println!("{name}: {path} is absent, skipping");
        return;
    }
    let docs = match read_column(path, column) {
        Ok(d) => d,
        Err(e) => {
            println!("{name}: cannot read {path}: {e}");
            return;
        }
    };
    let (secs, n_features, nnz, (s, w)) = time_rust(&config, &docs, 5);
    println!(
        "{name}: {} docs, rust {secs:.3} s (best of 5, {} rayon threads), n_features {n_features}, nnz {nnz}, \
         fingerprint ({s:.6e}, {w:.9e})",
        docs.len(),
        rayon::current_num_threads()
    );
    match time_sklearn(path, column, sk_kwargs) {
        Some(line) => println!("{name}: sklearn TfidfVectorizer({sk_kwargs}) best of 3: {line}"),
        None => println!(
            "{name}: sklearn not available (set PYTHON to an interpreter with scikit-learn and pandas)"
        ),
    }
}

fn main() {
    let word = TfidfConfig {
        min_df: DocFreq::Count(2),
        ..TfidfConfig::word(1, 2)
    };
    bench(
        "lyrics word(1,2) min_df=2",
        LYRICS,
        "lyrics",
        word,
        "ngram_range=(1, 2), sublinear_tf=True, min_df=2",
    );
    bench(
        "albums char_wb(2,5)",
        ALBUMS,
        "album_name",
        TfidfConfig::char_wb(2, 5),
        "analyzer='char_wb', ngram_range=(2, 5), sublinear_tf=True",
    );
}
