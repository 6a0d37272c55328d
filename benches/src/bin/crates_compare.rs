//! Our estimators next to linfa and smartcore on the same data, folds and settings, in one run
//! (docs/benchmarks/crates.md).
//!
//! ```text
//! cargo run --release -p autopilot-benches --features crates --bin crates_compare -- \
//!     [--rows 3000] [--features 100] [--classes 5] [--tsne-rows 1000] [--csv data.csv]
//! ```
//!
//! * Dense data (LR, kNN, forests, t-SNE): `rows × features`, seeded; `features / 5` informative
//!   columns drawn around two centroids per class (so the classes are not linearly separable),
//!   the rest pure N(0, 1) noise; imbalanced classes. Standardized on each fold's training rows
//!   (outside the timings, the same matrix for every library).
//! * Count data (multinomial NB): bag-of-words counts from a per-class word distribution, 200
//!   words, 40–160 tokens a row. Sparse data (truncated SVD): the same generator with 1,000
//!   words, `log1p` and L2-normalised rows (like TF-IDF), 50 components.
//! * `--csv PATH`: also runs LR, kNN and the forests on a CSV with a header, numeric feature
//!   columns and the label in the last column.
//! * One stratified 5-fold split (seeded) shared by every library; times are wall seconds of
//!   fit + predict summed over the 5 folds; BA is the mean of the per-fold balanced accuracies.
//!   Ours runs on the global rayon pool (all cores) and again on a one-thread pool; linfa and
//!   smartcore are single-threaded.
//! * linfa-bayes 0.8.0 (and 0.8.1) leaves a `dbg!` in `MultinomialNb::fit` that prints every
//!   class histogram to stderr: run with `2>/dev/null` (its time still includes the formatting).
//! * linfa is 0.8.0 (0.8.1 pins `sprs = "=0.11.2"`, which cannot live next to our sprs 0.11.6);
//!   linfa-reduction is left out for the same reason (its linfa-kernel needs sprs on ndarray 0.16).

use std::collections::HashMap;
use std::time::Instant;

use autopilot::insights::tsne::{TsneOptions, tsne};
use blueprints::decomposition::TruncatedSvd;
use blueprints::knn::Knn;
use blueprints::linear::LogisticRegression;
use blueprints::metrics::{argmax_rows, balanced_accuracy};
use blueprints::naive_bayes::MultinomialNb;
use blueprints::tree::{ForestParams, RandomForest};
use blueprints::{Estimator, Features, FitContext};
use linfa::prelude::*;
use linfa_nn::distance::L2Dist;
use linfa_nn::{CommonNearestNeighbour, NearestNeighbour};
use ndarray::Array2;
use ndarray016 as nd16;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smartcore::linalg::basic::matrix::DenseMatrix;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const SEED: u64 = 0;
const FOLDS: usize = 5;
const C: f64 = 1.0;
const K: usize = 10;
const TREES: usize = 100;
const DEPTH: usize = 12;

/// A row-major dense data set with labels `0..n_classes`.
struct Data {
    name: String,
    n: usize,
    d: usize,
    x: Vec<f64>,
    y: Vec<u32>,
    n_classes: usize,
}

impl Data {
    fn rows(&self, idx: &[usize]) -> Vec<f64> {
        let mut out = Vec::with_capacity(idx.len() * self.d);
        for &i in idx {
            out.extend_from_slice(&self.x[i * self.d..(i + 1) * self.d]);
        }
        out
    }
    fn labels(&self, idx: &[usize]) -> Vec<u32> {
        idx.iter().map(|&i| self.y[i]).collect()
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Imbalanced class of one row: weights 1, 0.8, 0.6, … (renormalised).
fn draw_class(rng: &mut ChaCha8Rng, k: usize) -> u32 {
    let w: Vec<f64> = (0..k).map(|c| 1.0 - 0.8 * c as f64 / k as f64).collect();
    let mut u = rng.random::<f64>() * w.iter().sum::<f64>();
    for (c, wc) in w.iter().enumerate() {
        if u < *wc {
            return c as u32;
        }
        u -= wc;
    }
    (k - 1) as u32
}

fn gaussian_data(n: usize, d: usize, k: usize) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let inf = (d / 5).max(2);
    let centroids: Vec<Vec<f64>> = (0..2 * k)
        .map(|_| (0..inf).map(|_| 0.9 * normal(&mut rng)).collect())
        .collect();
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let c = draw_class(&mut rng, k);
        let centre = &centroids[2 * c as usize + rng.random_range(0..2)];
        for j in 0..d {
            let mean = if j < inf { centre[j] } else { 0.0 };
            x.push(mean + normal(&mut rng));
        }
        y.push(c);
    }
    Data {
        name: format!("synthetic dense {n}×{d}, {k} classes ({inf} informative)"),
        n,
        d,
        x,
        y,
        n_classes: k,
    }
}

/// Bag-of-words counts: each class boosts its own 15 % of the vocabulary over a shared base.
fn count_data(n: usize, vocab: usize, k: usize, seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dists: Vec<Vec<f64>> = (0..k)
        .map(|_| {
            let mut p: Vec<f64> = (0..vocab).map(|j| 1.0 / (1.0 + j as f64).sqrt()).collect();
            for _ in 0..vocab * 15 / 100 {
                p[rng.random_range(0..vocab)] *= 2.5;
            }
            let s: f64 = p.iter().sum();
            let mut acc = 0.0;
            p.iter()
                .map(|v| {
                    acc += v / s;
                    acc
                })
                .collect()
        })
        .collect();
    let mut x = vec![0.0; n * vocab];
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = draw_class(&mut rng, k);
        let len = rng.random_range(40..160);
        for _ in 0..len {
            let u = rng.random::<f64>();
            let j = dists[c as usize].partition_point(|&v| v < u).min(vocab - 1);
            x[i * vocab + j] += 1.0;
        }
        y.push(c);
    }
    Data {
        name: format!("synthetic counts {n}×{vocab}, {k} classes"),
        n,
        d: vocab,
        x,
        y,
        n_classes: k,
    }
}

fn csv_data(path: &str) -> Res<Data> {
    let mut reader = csv::Reader::from_path(path)?;
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut d = 0;
    for rec in reader.records() {
        let rec = rec?;
        d = rec.len() - 1;
        for j in 0..d {
            x.push(rec[j].trim().parse::<f64>().unwrap_or(0.0));
        }
        let next = names.len() as u32;
        y.push(*names.entry(rec[d].to_string()).or_insert(next));
    }
    let n = y.len();
    Ok(Data {
        name: format!("{path} ({n}×{d}, {} classes)", names.len()),
        n,
        d,
        x,
        y,
        n_classes: names.len(),
    })
}

/// Stratified folds: each class's rows shuffled (seeded) and dealt round-robin.
fn stratified_folds(y: &[u32], k: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
    let mut fold = vec![0; y.len()];
    let classes = y.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut next = 0;
    for c in 0..classes {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] as usize == c).collect();
        for i in (1..rows.len()).rev() {
            rows.swap(i, rng.random_range(0..=i));
        }
        for r in rows {
            fold[r] = next % k;
            next += 1;
        }
    }
    fold
}

/// One fold, already standardized (dense data) or raw (counts).
struct Fold {
    n_tr: usize,
    n_te: usize,
    d: usize,
    xtr: Vec<f64>,
    ytr: Vec<u32>,
    xte: Vec<f64>,
    yte: Vec<u32>,
}

fn make_folds(data: &Data, standardize: bool) -> Vec<Fold> {
    let f = stratified_folds(&data.y, FOLDS);
    (0..FOLDS)
        .map(|k| {
            let tr: Vec<usize> = (0..data.n).filter(|&i| f[i] != k).collect();
            let te: Vec<usize> = (0..data.n).filter(|&i| f[i] == k).collect();
            let (mut xtr, mut xte) = (data.rows(&tr), data.rows(&te));
            if standardize {
                let d = data.d;
                for j in 0..d {
                    let col = xtr.iter().skip(j).step_by(d);
                    let mean = col.clone().sum::<f64>() / tr.len() as f64;
                    let var = col.map(|v| (v - mean).powi(2)).sum::<f64>() / tr.len() as f64;
                    let sd = if var > 1e-24 { var.sqrt() } else { 1.0 };
                    for v in xtr.iter_mut().skip(j).step_by(d) {
                        *v = (*v - mean) / sd;
                    }
                    for v in xte.iter_mut().skip(j).step_by(d) {
                        *v = (*v - mean) / sd;
                    }
                }
            }
            Fold {
                n_tr: tr.len(),
                n_te: te.len(),
                d: data.d,
                xtr,
                ytr: data.labels(&tr),
                xte,
                yte: data.labels(&te),
            }
        })
        .collect()
}

// ---- conversions (through row-major Vec<f64>) ----

fn ours(n: usize, d: usize, x: &[f64]) -> Features {
    Features::dense(
        Array2::from_shape_vec((n, d), x.iter().map(|&v| v as f32).collect()).expect("shape"),
    )
}
fn l16(n: usize, d: usize, x: &[f64]) -> nd16::Array2<f64> {
    nd16::Array2::from_shape_vec((n, d), x.to_vec()).expect("shape")
}
fn l16y(y: &[u32]) -> nd16::Array1<usize> {
    y.iter().map(|&v| v as usize).collect()
}
fn sc(n: usize, d: usize, x: &[f64]) -> DenseMatrix<f64> {
    DenseMatrix::new(n, d, x.to_vec(), false).expect("shape")
}

/// Result of one library on one algorithm: seconds over all folds and mean balanced accuracy.
#[derive(Clone, Copy)]
struct Score {
    secs: f64,
    ba: f64,
}

/// Runs `fit_predict` on every fold: wall time of the closure summed, BA averaged.
fn run_folds(
    folds: &[Fold],
    n_classes: usize,
    mut fit_predict: impl FnMut(&Fold) -> Res<Vec<u32>>,
) -> Res<Score> {
    let (mut secs, mut ba) = (0.0, 0.0);
    for f in folds {
        let t = Instant::now();
        let pred = fit_predict(f)?;
        secs += t.elapsed().as_secs_f64();
        ba += balanced_accuracy(&f.yte, &pred, n_classes)?;
    }
    Ok(Score {
        secs,
        ba: ba / folds.len() as f64,
    })
}

fn ours_fit_predict(est: &dyn Estimator, f: &Fold, n_classes: usize) -> Res<Vec<u32>> {
    let mut e = est.clone_box();
    e.fit(
        &ours(f.n_tr, f.d, &f.xtr),
        &f.ytr,
        &FitContext::new(n_classes, SEED),
    )?;
    let p = e.predict_proba(&ours(f.n_te, f.d, &f.xte))?;
    Ok(argmax_rows(p.view()))
}

/// Ours on the global pool and on a one-thread pool.
fn run_ours(est: &dyn Estimator, folds: &[Fold], n_classes: usize) -> Res<(Score, Score)> {
    let all = run_folds(folds, n_classes, |f| ours_fit_predict(est, f, n_classes))?;
    let one_pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let one = one_pool.install(|| {
        run_folds(folds, n_classes, |f| ours_fit_predict(est, f, n_classes))
            .map_err(|e| e.to_string())
    })?;
    Ok((all, one))
}

struct Table {
    rows: Vec<String>,
}

impl Table {
    fn new() -> Self {
        Self { rows: Vec::new() }
    }
    /// One comparison row: the crate against ours (all threads; ratio also vs ours on 1 thread).
    fn row(&mut self, algo: &str, data: &str, ours: (Score, Score), lib: &str, theirs: Score) {
        let line = format!(
            "| {algo} | {data} | {:.3} s ({:.3} s on 1 thread) | {lib}: {:.3} s | {:.2}× ({:.2}× vs 1 thread) | {:.4} | {:.4} |",
            ours.0.secs,
            ours.1.secs,
            theirs.secs,
            theirs.secs / ours.0.secs,
            theirs.secs / ours.1.secs,
            ours.0.ba,
            theirs.ba
        );
        println!("{line}");
        self.rows.push(line);
    }
}

fn votes(neigh: &[usize], ytr: &[u32], n_classes: usize) -> u32 {
    let mut v = vec![0usize; n_classes];
    for &i in neigh {
        v[ytr[i] as usize] += 1;
    }
    // ties to the lower class (max_by_key keeps the last maximum, so reverse)
    (0..n_classes).rev().max_by_key(|&c| v[c]).unwrap_or(0) as u32
}

fn dense_suite(data: &Data, table: &mut Table) -> Res<()> {
    let folds = make_folds(data, true);
    let k = data.n_classes;
    let tag = format!("{}×{}", data.n, data.d);

    // Logistic regression: L2, C = 1, unweighted, same scale (pre-standardized).
    let lr = LogisticRegression {
        c: C,
        balanced: false,
        standardize: false,
        max_iter: 300,
        tol: 1e-4,
        ..LogisticRegression::default()
    };
    let o = run_ours(&lr, &folds, k)?;
    let t = run_folds(&folds, k, |f| {
        let ds = Dataset::new(l16(f.n_tr, f.d, &f.xtr), l16y(&f.ytr));
        let m = linfa_logistic::MultiLogisticRegression::default()
            .alpha(1.0 / C)
            .max_iterations(300)
            .gradient_tolerance(1e-4)
            .fit(&ds)?;
        Ok(m.predict(&l16(f.n_te, f.d, &f.xte))
            .iter()
            .map(|&c| c as u32)
            .collect())
    })?;
    table.row(
        "logistic regression (L2, C=1)",
        &tag,
        o,
        "linfa-logistic",
        t,
    );
    let t = run_folds(&folds, k, |f| {
        use smartcore::linear::logistic_regression::{
            LogisticRegression as ScLr, LogisticRegressionParameters,
        };
        let m = ScLr::fit(
            &sc(f.n_tr, f.d, &f.xtr),
            &f.ytr,
            LogisticRegressionParameters::default().with_alpha(1.0 / C),
        )?;
        Ok(m.predict(&sc(f.n_te, f.d, &f.xte))?)
    })?;
    table.row("logistic regression (L2, C=1)", &tag, o, "smartcore", t);

    // kNN: k = 10, Euclidean, uniform votes.
    let knn = Knn {
        k: K,
        metric: "euclidean".into(),
        weights: "uniform".into(),
        ..Knn::default()
    };
    let o = run_ours(&knn, &folds, k)?;
    for (algo, name) in [
        (
            CommonNearestNeighbour::LinearSearch,
            "linfa-nn LinearSearch",
        ),
        (CommonNearestNeighbour::KdTree, "linfa-nn KdTree"),
    ] {
        let t = run_folds(&folds, k, |f| {
            let xtr = l16(f.n_tr, f.d, &f.xtr);
            let index = algo.from_batch(&xtr, L2Dist)?;
            let xte = l16(f.n_te, f.d, &f.xte);
            let mut out = Vec::with_capacity(f.n_te);
            for row in xte.rows() {
                let nn: Vec<usize> = index.k_nearest(row, K)?.into_iter().map(|p| p.1).collect();
                out.push(votes(&nn, &f.ytr, k));
            }
            Ok(out)
        })?;
        table.row("kNN (k=10, Euclidean, uniform)", &tag, o, name, t);
    }
    let t = run_folds(&folds, k, |f| {
        use smartcore::neighbors::knn_classifier::{KNNClassifier, KNNClassifierParameters};
        let m = KNNClassifier::fit(
            &sc(f.n_tr, f.d, &f.xtr),
            &f.ytr,
            KNNClassifierParameters::default().with_k(K),
        )?;
        Ok(m.predict(&sc(f.n_te, f.d, &f.xte))?)
    })?;
    table.row(
        "kNN (k=10, Euclidean, uniform)",
        &tag,
        o,
        "smartcore (cover tree)",
        t,
    );

    // Random forest: 100 trees, depth ≤ 12, sqrt(d) features per node, bootstrap, unweighted.
    let m_try = (data.d as f64).sqrt().round() as usize;
    let rf = RandomForest::new(ForestParams {
        n_estimators: TREES,
        max_depth: DEPTH as i64,
        class_weight: "none".into(),
        ..ForestParams::default()
    });
    let o = run_ours(&rf, &folds, k)?;
    let t = run_folds(&folds, k, |f| {
        use smartcore::ensemble::random_forest_classifier::{
            RandomForestClassifier, RandomForestClassifierParameters,
        };
        let m = RandomForestClassifier::fit(
            &sc(f.n_tr, f.d, &f.xtr),
            &f.ytr,
            RandomForestClassifierParameters::default()
                .with_n_trees(TREES as u16)
                .with_max_depth(DEPTH as u16)
                .with_m(m_try)
                .with_seed(SEED),
        )?;
        Ok(m.predict(&sc(f.n_te, f.d, &f.xte))?)
    })?;
    table.row(
        "random forest (100 trees, depth 12, √d)",
        &tag,
        o,
        "smartcore",
        t,
    );
    // Bagged trees (every feature tried at every node), the closest linfa has to a forest.
    let bag = RandomForest::new(ForestParams {
        n_estimators: TREES,
        max_depth: DEPTH as i64,
        max_features: "all".into(),
        class_weight: "none".into(),
        ..ForestParams::default()
    });
    let o = run_ours(&bag, &folds, k)?;
    let t = run_folds(&folds, k, |f| {
        let ds = Dataset::new(l16(f.n_tr, f.d, &f.xtr), l16y(&f.ytr));
        let m = linfa_ensemble::EnsembleLearnerParams::new(
            linfa_trees::DecisionTree::params().max_depth(Some(DEPTH)),
        )
        .ensemble_size(TREES)
        .bootstrap_proportion(1.0)
        .fit(&ds)?;
        let p: nd16::Array1<usize> = m.predict(&l16(f.n_te, f.d, &f.xte));
        Ok(p.iter().map(|&c| c as u32).collect())
    })?;
    table.row(
        "bagged trees (100 trees, depth 12, all features per node)",
        &tag,
        o,
        "linfa-ensemble + linfa-trees",
        t,
    );
    Ok(())
}

fn nb_suite(data: &Data, table: &mut Table) -> Res<()> {
    let folds = make_folds(data, false);
    let k = data.n_classes;
    let tag = format!("{}×{} counts", data.n, data.d);
    let nb = MultinomialNb {
        alpha: 1.0,
        fit_prior: true,
        fitted: None,
    };
    let o = run_ours(&nb, &folds, k)?;
    let t = run_folds(&folds, k, |f| {
        let ds = Dataset::new(l16(f.n_tr, f.d, &f.xtr), l16y(&f.ytr));
        let m = linfa_bayes::MultinomialNb::params().alpha(1.0).fit(&ds)?;
        let p: nd16::Array1<usize> = m.predict(&l16(f.n_te, f.d, &f.xte));
        Ok(p.iter().map(|&c| c as u32).collect())
    })?;
    table.row("multinomial NB (α=1)", &tag, o, "linfa-bayes", t);
    let t = run_folds(&folds, k, |f| {
        use smartcore::naive_bayes::multinomial::{MultinomialNB, MultinomialNBParameters};
        let as_u32 = |x: &[f64]| x.iter().map(|&v| v as u32).collect::<Vec<u32>>();
        let xtr = DenseMatrix::new(f.n_tr, f.d, as_u32(&f.xtr), false)?;
        let xte = DenseMatrix::new(f.n_te, f.d, as_u32(&f.xte), false)?;
        let m = MultinomialNB::fit(
            &xtr,
            &f.ytr,
            MultinomialNBParameters::default().with_alpha(1.0),
        )?;
        Ok(m.predict(&xte)?)
    })?;
    table.row("multinomial NB (α=1)", &tag, o, "smartcore", t);
    Ok(())
}

/// Share of `x`'s squared Frobenius norm that the projection `t = x V` keeps (V orthonormal):
/// `||X − X V Vᵀ||² / ||X||² = 1 − this`.
fn energy(t: impl Iterator<Item = f64>, total: f64) -> f64 {
    t.map(|v| v * v).sum::<f64>() / total
}

fn svd_suite(data: &Data) -> Res<String> {
    // log1p counts, L2-normalised rows (TF-IDF-like, non-negative, mostly zeros)
    let (n, d) = (data.n, data.d);
    let mut x = data.x.iter().map(|v| v.ln_1p()).collect::<Vec<f64>>();
    for row in x.chunks_mut(d) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        row.iter_mut().for_each(|v| *v /= norm);
    }
    let total: f64 = x.iter().map(|v| v * v).sum();
    let nnz = x.iter().filter(|&&v| v != 0.0).count();
    let comps = 50;
    let mut tri = sprs::TriMat::new((n, d));
    for (i, row) in x.chunks(d).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v != 0.0 {
                tri.add_triplet(i, j, v as f32);
            }
        }
    }
    let csr: sprs::CsMat<f32> = tri.to_csr();
    let time_ours = |csr: &sprs::CsMat<f32>| -> Res<(f64, f64)> {
        let t0 = Instant::now();
        let mut svd = TruncatedSvd::new(comps, SEED);
        let t = svd.fit_transform(csr)?;
        let secs = t0.elapsed().as_secs_f64();
        Ok((secs, energy(t.iter().map(|&v| v as f64), total)))
    };
    let (o_secs, o_e) = time_ours(&csr)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let (o1_secs, _) = pool.install(|| time_ours(&csr).map_err(|e| e.to_string()))?;
    let t0 = Instant::now();
    use smartcore::decomposition::svd::{SVD, SVDParameters};
    let m = SVD::fit(
        &sc(n, d, &x),
        SVDParameters::default().with_n_components(comps),
    )?;
    let t = m.transform(&sc(n, d, &x))?;
    let s_secs = t0.elapsed().as_secs_f64();
    use smartcore::linalg::basic::arrays::Array;
    let s_e = energy(t.iterator(0).copied(), total);
    let line = format!(
        "| truncated SVD (50 comp.), fit+transform | {n}×{d}, {nnz} nnz ({:.1} %) | {o_secs:.3} s ({o1_secs:.3} s on 1 thread) | smartcore SVD (dense): {s_secs:.3} s | {:.2}× ({:.2}× vs 1 thread) | energy kept {o_e:.4} (rel. recon. error {:.4}) | energy kept {s_e:.4} (rel. recon. error {:.4}) |",
        100.0 * nnz as f64 / (n * d) as f64,
        s_secs / o_secs,
        s_secs / o1_secs,
        (1.0 - o_e).max(0.0).sqrt(),
        (1.0 - s_e).max(0.0).sqrt(),
    );
    println!("{line}");
    Ok(line)
}

/// Leave-one-out 1-NN balanced accuracy of a row-major `n × d` embedding.
fn one_nn_ba(x: &[f64], d: usize, y: &[u32], k: usize) -> Res<f64> {
    let n = y.len();
    let pred: Vec<u32> = (0..n)
        .map(|i| {
            let xi = &x[i * d..(i + 1) * d];
            let mut best = (f64::INFINITY, 0);
            for j in 0..n {
                if j != i {
                    let dist: f64 = xi
                        .iter()
                        .zip(&x[j * d..(j + 1) * d])
                        .map(|(a, b)| (a - b).powi(2))
                        .sum();
                    if dist < best.0 {
                        best = (dist, j);
                    }
                }
            }
            y[best.1]
        })
        .collect();
    Ok(balanced_accuracy(y, &pred, k)?)
}

fn tsne_suite(data: &Data, rows: usize) -> Res<String> {
    let n = rows.min(data.n);
    let d = data.d;
    let x = &data.x[..n * d];
    let y = &data.y[..n];
    let k = data.n_classes;
    let input_ba = one_nn_ba(x, d, y, k)?;
    let opts = TsneOptions {
        perplexity: 30.0,
        iterations: 750,
        seed: SEED,
    };
    let xf = Array2::from_shape_vec((n, d), x.iter().map(|&v| v as f32).collect())?;
    let run = || -> Res<(f64, Vec<f64>)> {
        let t0 = Instant::now();
        let e = tsne(xf.view(), &opts)?;
        Ok((t0.elapsed().as_secs_f64(), e.iter().copied().collect()))
    };
    let (o_secs, o_emb) = run()?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let (o1_secs, _) = pool.install(|| run().map_err(|e| e.to_string()))?;
    let o_ba = one_nn_ba(&o_emb, 2, y, k)?;
    let t0 = Instant::now();
    let emb = linfa_tsne::TSneParams::embedding_size(2)
        .perplexity(30.0)
        .approx_threshold(0.5)
        .max_iter(750)
        .transform(l16(n, d, x))?;
    let l_secs = t0.elapsed().as_secs_f64();
    let l_ba = one_nn_ba(&emb.iter().copied().collect::<Vec<_>>(), 2, y, k)?;
    let line = format!(
        "| t-SNE 2-D (perplexity 30, 750 iter.) | first {n} rows of the dense set | exact: {o_secs:.3} s ({o1_secs:.3} s on 1 thread) | linfa-tsne (Barnes-Hut θ=0.5): {l_secs:.3} s | {:.2}× ({:.2}× vs 1 thread) | 1-NN BA {o_ba:.4} | 1-NN BA {l_ba:.4} |\n\n(1-NN leave-one-out BA in the {d}-d input space: {input_ba:.4})",
        l_secs / o_secs,
        l_secs / o1_secs,
    );
    println!("{line}");
    Ok(line)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: usize| {
        arg(&args, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (rows, feats, classes) = (
        num("--rows", 3000),
        num("--features", 100),
        num("--classes", 5),
    );
    let tsne_rows = num("--tsne-rows", 1000);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "rayon threads (ours): {}; CPU: {cpu}; load average at start: {}",
        rayon::current_num_threads(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "| algorithm | data | ours | crate | crate / ours time | ours BA | crate BA |\n|---|---|---|---|---|---|---|"
    );
    let mut table = Table::new();
    let dense = gaussian_data(rows, feats, classes);
    println!("{}", dense.name);
    dense_suite(&dense, &mut table)?;
    let counts = count_data(rows, 200, classes, SEED + 2);
    println!("{}", counts.name);
    nb_suite(&counts, &mut table)?;
    svd_suite(&count_data(rows, 1000, classes, SEED + 3))?;
    tsne_suite(&dense, tsne_rows)?;
    if let Some(path) = arg(&args, "--csv") {
        let data = csv_data(&path)?;
        println!("\n{}", data.name);
        dense_suite(&data, &mut table)?;
    }
    println!(
        "load average at end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}
