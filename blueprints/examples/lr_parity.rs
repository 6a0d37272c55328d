//! Logistic-regression speed and accuracy check against scikit-learn on synthetic data.
//!
//! ```text
//! cargo run --release -p autopilot-blueprints --example lr_parity -- /tmp/lr_parity
//! python3 blueprints/examples/lr_parity.py /tmp/lr_parity
//! ```
//! Writes two problems to the given folder (raw little-endian arrays that the Python script
//! reads), fits `LogisticRegression` (C=1, balanced, max_iter=100, tol=1e-4: scikit-learn's
//! defaults) on the first 80% of rows and prints fit seconds and hold-out balanced accuracy:
//! * `dense`: 1000 × 1280, 6 classes (embedding-like, standardised inside the model);
//! * `sparse`: 4000 × 50000 CSR, ~0.3% density, 6 classes, rows L2-normalised (TF-IDF-like).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blueprints::estimator::{Estimator, FitContext};
use blueprints::features::Features;
use blueprints::linear::LogisticRegression;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const K: usize = 6;

fn write_raw<T: Copy>(path: &Path, data: &[T]) -> std::io::Result<()> {
    let bytes = unsafe {
        std::slice::from_raw_parts(data.as_ptr() as *const u8, std::mem::size_of_val(data))
    };
    std::fs::File::create(path)?.write_all(bytes)
}

fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    // Box-Muller.
    let u1: f32 = rng.random::<f32>().max(1e-12);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}

fn dense_problem(rng: &mut ChaCha8Rng) -> (Features, Vec<u32>) {
    let (n, d) = (1000, 1280);
    let means: Vec<Vec<f32>> = (0..K)
        .map(|_| (0..d).map(|_| 0.08 * gaussian(rng)).collect())
        .collect();
    let y: Vec<u32> = (0..n).map(|_| rng.random_range(0..K as u32)).collect();
    let mut x = Array2::<f32>::zeros((n, d));
    for i in 0..n {
        for j in 0..d {
            x[[i, j]] = (means[y[i] as usize][j] + gaussian(rng)).max(0.0) * 0.5
                + 0.1 * j as f32 / d as f32;
        }
    }
    (Features::dense(x), y)
}

fn sparse_problem(rng: &mut ChaCha8Rng) -> (Features, Vec<u32>) {
    let (n, d, nnz) = (4000, 50_000, 150);
    let y: Vec<u32> = (0..n).map(|_| rng.random_range(0..K as u32)).collect();
    let mut tri = sprs::TriMat::new((n, d));
    for (i, &yi) in y.iter().enumerate() {
        let mut cols = std::collections::BTreeMap::new();
        while cols.len() < nnz {
            // 6% of words from a class-specific vocabulary of 2000 words, the rest shared.
            let j = if rng.random::<f32>() < 0.06 {
                yi as usize * 2000 + rng.random_range(0..2000)
            } else {
                rng.random_range(0..d)
            };
            cols.insert(j, rng.random::<f32>() + 0.1);
        }
        let norm = cols.values().map(|v| v * v).sum::<f32>().sqrt();
        for (j, v) in cols {
            tri.add_triplet(i, j, v / norm);
        }
    }
    (Features::sparse(tri.to_csr()), y)
}

fn balanced_accuracy(y: &[u32], p: &Array2<f32>) -> f64 {
    let mut hit = [0usize; K];
    let mut tot = [0usize; K];
    for (i, &c) in y.iter().enumerate() {
        let row = p.row(i);
        let pred = (0..K).fold(0, |b, k| if row[k] > row[b] { k } else { b });
        tot[c as usize] += 1;
        hit[c as usize] += usize::from(pred == c as usize);
    }
    let present: Vec<f64> = (0..K)
        .filter(|&k| tot[k] > 0)
        .map(|k| hit[k] as f64 / tot[k] as f64)
        .collect();
    present.iter().sum::<f64>() / present.len() as f64
}

fn run(name: &str, x: Features, y: Vec<u32>, dir: &Path) -> std::io::Result<()> {
    let n = y.len();
    write_raw(&dir.join(format!("{name}_y.u32")), &y)?;
    if let Some(d) = &x.dense {
        std::fs::write(
            dir.join(format!("{name}_shape.txt")),
            format!("{} {}", d.nrows(), d.ncols()),
        )?;
        write_raw(
            &dir.join(format!("{name}_x.f32")),
            d.as_slice().unwrap_or(&[]),
        )?;
    }
    if let Some(s) = &x.sparse {
        std::fs::write(
            dir.join(format!("{name}_shape.txt")),
            format!("{} {}", s.rows(), s.cols()),
        )?;
        let indptr: Vec<u64> = s.indptr().raw_storage().iter().map(|&v| v as u64).collect();
        let indices: Vec<u64> = s.indices().iter().map(|&v| v as u64).collect();
        write_raw(&dir.join(format!("{name}_indptr.u64")), &indptr)?;
        write_raw(&dir.join(format!("{name}_indices.u64")), &indices)?;
        write_raw(&dir.join(format!("{name}_data.f32")), s.data())?;
    }
    let n_train = n * 8 / 10;
    let train: Vec<usize> = (0..n_train).collect();
    let test: Vec<usize> = (n_train..n).collect();
    let (xtr, xte) = (x.select_rows(&train), x.select_rows(&test));
    for c in [1.0, 0.01] {
        let mut lr = LogisticRegression {
            c,
            max_iter: 100,
            tol: 1e-4,
            ..LogisticRegression::default()
        };
        let t = Instant::now();
        lr.fit(&xtr, &y[..n_train], &FitContext::new(K, 0))
            .map_err(std::io::Error::other)?;
        let secs = t.elapsed().as_secs_f64();
        let p = lr.predict_proba(&xte).map_err(std::io::Error::other)?;
        let f = lr.fitted().map_err(std::io::Error::other)?;
        println!(
            "rust {name:6} C={c:<5} fit {secs:.3}s iters {:3} converged {:5} holdout balanced accuracy {:.4}",
            f.iterations,
            f.converged,
            balanced_accuracy(&y[n_train..], &p)
        );
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/lr_parity".into()),
    );
    std::fs::create_dir_all(&dir)?;
    println!("rayon threads: {}", rayon::current_num_threads());
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let (x, y) = dense_problem(&mut rng);
    run("dense", x, y, &dir)?;
    let (x, y) = sparse_problem(&mut rng);
    run("sparse", x, y, &dir)?;
    Ok(())
}
