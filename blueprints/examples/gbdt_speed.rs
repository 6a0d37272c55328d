//! Fit-time and balanced-accuracy benchmark of the tree models on a seeded synthetic problem shaped
//! like the covers task: 1,264 rows × 1,280 dense "image" features (a few informative latent
//! directions + noise), 6 imbalanced classes, optionally a 10,000-column sparse TF-IDF-like block.
//! Runs 5 stratified folds and prints fit seconds (sum over folds) and mean balanced accuracy.
//!
//! ```text
//! cargo run --release -p autopilot-blueprints --example gbdt_speed -- [--sparse] [--rf|--et]
//!     [--npy DIR] [--quick] [name=value ...]
//! ```
//! `--quick` runs fold 0 only. `name=value` pairs are passed to `set_param`. `--npy DIR` writes `x.npy`, `y.npy`, `folds.npy`
//! (and the sparse block as `sp_indptr.npy`, `sp_indices.npy`, `sp_data.npy`) for the LightGBM
//! side-by-side in `gbdt_speed_lightgbm.py`.

use std::io::Write;
use std::time::Instant;

use blueprints::metrics::{argmax_rows, balanced_accuracy};
use blueprints::tree::{GradientBoosting, RandomForest};
use blueprints::{Estimator, Features, FitContext};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N: usize = 1264;
const D: usize = 1280;
const K: usize = 6;
const LATENT: usize = 12;
const VOCAB: usize = 10_000;

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u: f32 = rng.random_range(f32::EPSILON..1.0);
    let v: f32 = rng.random_range(0.0..1.0);
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
}

/// Dense block, optional sparse block, labels.
fn make_data(with_sparse: bool) -> (Features, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let shares = [0.28, 0.22, 0.16, 0.14, 0.11, 0.09];
    let y: Vec<u32> = (0..N)
        .map(|_| {
            let mut u: f64 = rng.random();
            shares
                .iter()
                .position(|&s| {
                    u -= s;
                    u < 0.0
                })
                .unwrap_or(K - 1) as u32
        })
        .collect();
    let means: Vec<Vec<f32>> = (0..K)
        .map(|_| (0..LATENT).map(|_| 0.55 * normal(&mut rng)).collect())
        .collect();
    let loadings: Vec<Vec<f32>> = (0..LATENT)
        .map(|_| {
            (0..D)
                .map(|_| {
                    if rng.random_bool(0.2) {
                        normal(&mut rng)
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let mut x = Array2::<f32>::zeros((N, D));
    for i in 0..N {
        let z: Vec<f32> = means[y[i] as usize]
            .iter()
            .map(|m| m + normal(&mut rng))
            .collect();
        for j in 0..D {
            let signal: f32 = (0..LATENT).map(|l| loadings[l][j] * z[l]).sum();
            // Non-negative like pooled ReLU activations.
            x[[i, j]] = (0.6 * signal + normal(&mut rng) + 1.0).max(0.0);
        }
    }
    let sparse = with_sparse.then(|| {
        let mut t = sprs::TriMat::new((N, VOCAB));
        for (i, &c) in y.iter().enumerate() {
            let mut cols: Vec<usize> = (0..6)
                .map(|_| {
                    if rng.random_bool(0.25) {
                        c as usize * 150 + rng.random_range(0..150)
                    } else {
                        rng.random_range(0..VOCAB)
                    }
                })
                .collect();
            cols.sort_unstable();
            cols.dedup();
            let w = 1.0 / (cols.len() as f32).sqrt();
            for col in cols {
                t.add_triplet(i, col, w);
            }
        }
        t.to_csr()
    });
    (
        Features {
            dense: Some(x),
            sparse,
            names: vec![],
        },
        y,
    )
}

/// Stratified 5-fold assignment (seeded).
fn folds(y: &[u32]) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut fold = vec![0; y.len()];
    for c in 0..K as u32 {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
        rand::seq::SliceRandom::shuffle(rows.as_mut_slice(), &mut rng);
        for (j, r) in rows.into_iter().enumerate() {
            fold[r] = j % 5;
        }
    }
    fold
}

fn write_npy(
    path: &std::path::Path,
    dtype: &str,
    shape: &[usize],
    bytes: &[u8],
) -> std::io::Result<()> {
    let shape_s = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape_s}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::fs::File::create(path)?;
    f.write_all(b"\x93NUMPY\x01\x00")?;
    f.write_all(&(header.len() as u16).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    f.write_all(bytes)
}

fn le<T: Copy>(v: &[T], f: impl Fn(T) -> Vec<u8>) -> Vec<u8> {
    v.iter().flat_map(|&x| f(x)).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_sparse = args.iter().any(|a| a == "--sparse");
    let mut model: Box<dyn Estimator> = if args.iter().any(|a| a == "--rf") {
        Box::new(RandomForest::default())
    } else if args.iter().any(|a| a == "--et") {
        Box::new(RandomForest::extra_trees())
    } else {
        Box::new(GradientBoosting::default())
    };
    for a in &args {
        if let Some((k, v)) = a.split_once('=') {
            model.set_param(k, v)?;
        }
    }
    let t0 = Instant::now();
    let (x, y) = make_data(with_sparse);
    let fold = folds(&y);
    println!(
        "data: {} rows, {} dense + {} sparse columns ({:.1}s)",
        x.n_rows(),
        x.n_dense(),
        x.n_sparse(),
        t0.elapsed().as_secs_f64()
    );
    if let Some(i) = args.iter().position(|a| a == "--npy") {
        let dir = std::path::PathBuf::from(args.get(i + 1).ok_or("--npy needs a folder")?);
        std::fs::create_dir_all(&dir)?;
        let d = x.dense.as_ref().ok_or("no dense block")?;
        let flat: Vec<f32> = d.iter().copied().collect();
        write_npy(
            &dir.join("x.npy"),
            "<f4",
            &[N, D],
            &le(&flat, |v: f32| v.to_le_bytes().to_vec()),
        )?;
        write_npy(
            &dir.join("y.npy"),
            "<i8",
            &[N],
            &le(&y, |v: u32| (v as i64).to_le_bytes().to_vec()),
        )?;
        write_npy(
            &dir.join("folds.npy"),
            "<i8",
            &[N],
            &le(&fold, |v: usize| (v as i64).to_le_bytes().to_vec()),
        )?;
        if let Some(s) = &x.sparse {
            let ip: Vec<i64> = s.indptr().raw_storage().iter().map(|&v| v as i64).collect();
            let ix: Vec<i64> = s.indices().iter().map(|&v| v as i64).collect();
            write_npy(
                &dir.join("sp_indptr.npy"),
                "<i8",
                &[ip.len()],
                &le(&ip, |v: i64| v.to_le_bytes().to_vec()),
            )?;
            write_npy(
                &dir.join("sp_indices.npy"),
                "<i8",
                &[ix.len()],
                &le(&ix, |v: i64| v.to_le_bytes().to_vec()),
            )?;
            write_npy(
                &dir.join("sp_data.npy"),
                "<f4",
                &[s.data().len()],
                &le(s.data(), |v: f32| v.to_le_bytes().to_vec()),
            )?;
        }
        println!("wrote npy files to {}", dir.display());
    }
    println!(
        "model: {} {}",
        model.name(),
        args.iter()
            .filter(|a| a.contains('='))
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (mut fit_s, mut bas) = (0.0, Vec::new());
    let n_folds = if args.iter().any(|a| a == "--quick") {
        1
    } else {
        5
    };
    for f in 0..n_folds {
        let train: Vec<usize> = (0..N).filter(|&i| fold[i] != f).collect();
        let test: Vec<usize> = (0..N).filter(|&i| fold[i] == f).collect();
        let (xtr, xte) = (x.select_rows(&train), x.select_rows(&test));
        let ytr: Vec<u32> = train.iter().map(|&i| y[i]).collect();
        let yte: Vec<u32> = test.iter().map(|&i| y[i]).collect();
        let t = Instant::now();
        model.fit(&xtr, &ytr, &FitContext::new(K, 0))?;
        let secs = t.elapsed().as_secs_f64();
        let p = model.predict_proba(&xte)?;
        let ba = balanced_accuracy(&yte, &argmax_rows(p.view()), K)?;
        let rounds = model
            .as_any_rounds()
            .map(|r| format!(", {r} rounds"))
            .unwrap_or_default();
        println!("fold {f}: fit {secs:.2}s, BA {ba:.4}{rounds}");
        fit_s += secs;
        bas.push(ba);
    }
    let mean = bas.iter().sum::<f64>() / n_folds as f64;
    let sd = (bas.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / n_folds as f64).sqrt();
    println!("TOTAL fit {fit_s:.2}s over {n_folds} folds, BA {mean:.4} ± {sd:.4}");
    Ok(())
}

/// Rounds kept by a boosting model, read back from its serialized form (examples only see the trait).
trait RoundsOf {
    fn as_any_rounds(&self) -> Option<usize>;
}

impl RoundsOf for Box<dyn Estimator> {
    fn as_any_rounds(&self) -> Option<usize> {
        let v = serde_json::to_value(self).ok()?;
        v.get("fitted")?
            .get("n_rounds")?
            .as_u64()
            .map(|r| r as usize)
    }
}
