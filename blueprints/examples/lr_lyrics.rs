//! Logistic regression and naive Bayes on the real lyrics data, same folds and same TF-IDF
//! settings as the Python peer harness (`/work/shared/bench/peer`), and the exact per-fold
//! TF-IDF matrices written out so scikit-learn can be fitted on identical features.
//!
//! ```text
//! python3 blueprints/examples/lr_lyrics_prep.py /work/shared/data/lyrics-spotify/songs.csv \
//!     /work/shared/bench/peer/results/lyrics.json /tmp/lyrics/input.json
//! cargo run --release -p autopilot-blueprints --example lr_lyrics -- /tmp/lyrics
//! python3 blueprints/examples/lr_lyrics_sklearn.py /tmp/lyrics
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blueprints::estimator::{Estimator, FitContext};
use blueprints::features::Features;
use blueprints::linear::LogisticRegression;
use blueprints::naive_bayes::ComplementNb;
use blueprints::text::{DocFreq, TfidfConfig, TfidfVectorizer};
use ndarray::Array2;
use serde::Deserialize;
use sprs::CsMat;

#[derive(Deserialize)]
struct Input {
    docs: Vec<Option<String>>,
    y: Vec<u32>,
    folds: Vec<usize>,
    classes: Vec<String>,
}

fn write_raw<T: Copy>(path: &Path, data: &[T]) -> std::io::Result<()> {
    // SAFETY: plain-old-data slices (u32, u64, f32) viewed as bytes for a raw dump.
    let bytes = unsafe {
        std::slice::from_raw_parts(data.as_ptr() as *const u8, std::mem::size_of_val(data))
    };
    std::fs::File::create(path)?.write_all(bytes)
}

fn write_csr(dir: &Path, name: &str, m: &CsMat<f32>) -> std::io::Result<()> {
    std::fs::write(
        dir.join(format!("{name}_shape.txt")),
        format!("{} {}", m.rows(), m.cols()),
    )?;
    let indptr: Vec<u64> = m.indptr().raw_storage().iter().map(|&v| v as u64).collect();
    let indices: Vec<u64> = m.indices().iter().map(|&v| v as u64).collect();
    write_raw(&dir.join(format!("{name}_indptr.u64")), &indptr)?;
    write_raw(&dir.join(format!("{name}_indices.u64")), &indices)?;
    write_raw(&dir.join(format!("{name}_data.f32")), m.data())
}

fn balanced_accuracy(y: &[u32], p: &Array2<f32>, k: usize) -> f64 {
    let (mut hit, mut tot) = (vec![0usize; k], vec![0usize; k]);
    for (i, &c) in y.iter().enumerate() {
        let row = p.row(i);
        let pred = (0..k).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        tot[c as usize] += 1;
        hit[c as usize] += usize::from(pred == c as usize);
    }
    let r: Vec<f64> = (0..k)
        .filter(|&j| tot[j] > 0)
        .map(|j| hit[j] as f64 / tot[j] as f64)
        .collect();
    r.iter().sum::<f64>() / r.len() as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/lyrics".into()),
    );
    let path = dir.join("input.json");
    if !path.exists() {
        println!(
            "{} not found; run lr_lyrics_prep.py first (skipping)",
            path.display()
        );
        return Ok(());
    }
    let input: Input =
        serde_json::from_reader(std::io::BufReader::new(std::fs::File::open(&path)?))?;
    let k = input.classes.len();
    let n_folds = input.folds.iter().copied().max().map_or(0, |m| m + 1);
    let models: Vec<(&str, Box<dyn Estimator>)> = vec![
        (
            "logreg C=1 none",
            Box::new(LogisticRegression {
                balanced: false,
                max_iter: 5000,
                ..LogisticRegression::default()
            }),
        ),
        (
            "logreg C=1 balanced",
            Box::new(LogisticRegression {
                max_iter: 5000,
                ..LogisticRegression::default()
            }),
        ),
        ("complement_nb", Box::new(ComplementNb::default())),
    ];
    let mut scores = vec![Vec::new(); models.len()];
    let mut secs = vec![0.0; models.len()];
    for f in 0..n_folds {
        let train: Vec<usize> = (0..input.y.len())
            .filter(|&i| input.folds[i] != f)
            .collect();
        let test: Vec<usize> = (0..input.y.len())
            .filter(|&i| input.folds[i] == f)
            .collect();
        let docs = |rows: &[usize]| {
            rows.iter()
                .map(|&i| input.docs[i].clone())
                .collect::<Vec<_>>()
        };
        let (ytr, yte): (Vec<u32>, Vec<u32>) = (
            train.iter().map(|&i| input.y[i]).collect(),
            test.iter().map(|&i| input.y[i]).collect(),
        );
        let mut tfidf = TfidfVectorizer::new(TfidfConfig {
            min_df: DocFreq::Count(2),
            ..TfidfConfig::word(1, 2)
        })?;
        let xtr = tfidf.fit_transform(&docs(&train))?;
        let xte = tfidf.transform(&docs(&test))?;
        write_csr(&dir, &format!("fold{f}_train"), &xtr)?;
        write_csr(&dir, &format!("fold{f}_test"), &xte)?;
        write_raw(&dir.join(format!("fold{f}_ytrain.u32")), &ytr)?;
        write_raw(&dir.join(format!("fold{f}_ytest.u32")), &yte)?;
        let (ftr, fte) = (Features::sparse(xtr), Features::sparse(xte));
        for (m, (_, proto)) in models.iter().enumerate() {
            let mut est = proto.clone();
            let t = Instant::now();
            est.fit(&ftr, &ytr, &FitContext::new(k, 0))?;
            secs[m] += t.elapsed().as_secs_f64();
            scores[m].push(balanced_accuracy(&yte, &est.predict_proba(&fte)?, k));
        }
        println!("fold {f}: {} train × {} terms", ftr.n_rows(), ftr.n_cols());
    }
    for (m, (name, _)) in models.iter().enumerate() {
        let mean = scores[m].iter().sum::<f64>() / scores[m].len() as f64;
        let folds: Vec<String> = scores[m].iter().map(|s| format!("{s:.4}")).collect();
        println!(
            "rust {name:22} BA {mean:.4}  folds [{}]  fit {:.2}s (5 folds)",
            folds.join(", "),
            secs[m]
        );
    }
    Ok(())
}
