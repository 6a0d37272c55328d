//! Peer parity: our estimators on the peer harness's exact folds, next to the peer's numbers.
//!
//! ```text
//! cargo run --release -p autopilot-benches --bin peer_parity -- covers [--backbone mobilenet_v2]
//!     [--models lr,gbdt,snn,blend] [--lists image,all] [--set model.param=value ...]
//! cargo run --release -p autopilot-benches --bin peer_parity -- lyrics [--models lr,nb,gbdt]
//! ```
//!
//! * `covers`: 1,280-d pooled "highest" features of every cover from `neural::ImageFeaturizer`
//!   (cached in `$AUTOPILOT_CACHE/bench/` so reruns are instant), feature lists `image` (image,
//!   standardized on the training rows of each fold) and `all` (image + release year +
//!   log1p(total_tracks), standardized, + album-name TF-IDF word 1–2 and char_wb 2–5, sublinear).
//!   LR picks C ∈ {0.01, 0.1, 1} per fold by an inner 3-fold GroupKFold on balanced accuracy,
//!   like the peer's `GridSearchCV`; the blend is the mean of LR, GBDT and SNN probabilities.
//! * `lyrics`: TF-IDF word 1–2, sublinear, min_df=2 → LR (C=1), complement NB, and GBDT on a
//!   TruncatedSVD(256) of the TF-IDF fitted on each fold's training rows (as the peer's LightGBM).
//!
//! Folds, class order and the peer's scores come from
//! `/work/shared/bench/peer/results/{covers_<backbone>,lyrics}.json` (`PEER_DIR` overrides the
//! folder; `AUTOPILOT_DATA` the data folder). Fit seconds are wall time of `fit` summed over the 5 folds, as in the peer's JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blueprints::decomposition::TruncatedSvd;
use blueprints::linear::LogisticRegression;
use blueprints::metrics::{argmax_rows, balanced_accuracy};
use blueprints::naive_bayes::ComplementNb;
use blueprints::text::{DocFreq, TfidfConfig, TfidfUnion, TfidfVectorizer, hstack_csr};
use blueprints::tree::GradientBoosting;
use blueprints::{Estimator, Features, FitContext};
use ndarray::{Array2, Axis, concatenate};
use neural::featurizer::{FeaturizerConfig, ImageFeaturizer};
use neural::{Backbone, DeviceChoice, FeatureLevel, SelfNormalizingNet};
use serde_json::Value;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const DATA: &str = "/work/shared/data";

/// The shared data folder (`AUTOPILOT_DATA` overrides it, e.g. on a machine with a copy).
fn data_dir() -> PathBuf {
    std::env::var_os("AUTOPILOT_DATA").map_or_else(|| PathBuf::from(DATA), PathBuf::from)
}
const PEER: &str = "/work/shared/bench/peer/results";
const SEED: u64 = 0;

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The peer's JSON: per-row folds, class names, and `results[list][model]`.
struct Peer {
    folds: Vec<usize>,
    classes: Vec<String>,
    results: Value,
}

fn load_peer(file: &str) -> Res<Peer> {
    let dir = std::env::var("PEER_DIR").unwrap_or_else(|_| PEER.to_string());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(Path::new(&dir).join(file))?)?;
    let folds = v["folds"]
        .as_array()
        .ok_or("no folds")?
        .iter()
        .map(|f| f.as_u64().map(|f| f as usize).ok_or("bad fold"))
        .collect::<Result<_, _>>()?;
    let classes = v["classes"]
        .as_array()
        .ok_or("no classes")?
        .iter()
        .map(|c| c.as_str().map(str::to_string).ok_or("bad class"))
        .collect::<Result<_, _>>()?;
    Ok(Peer {
        folds,
        classes,
        results: v["results"].clone(),
    })
}

/// Reads `columns` of a CSV as strings.
fn read_csv(path: &Path, columns: &[&str]) -> Res<Vec<Vec<String>>> {
    let mut r = csv::Reader::from_path(path)?;
    let head = r.headers()?.clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            head.iter()
                .position(|h| h == *c)
                .ok_or(format!("no column {c}"))
        })
        .collect::<Result<_, _>>()?;
    let mut out = vec![Vec::new(); columns.len()];
    for rec in r.records() {
        let rec = rec?;
        for (o, &i) in out.iter_mut().zip(&idx) {
            o.push(rec.get(i).unwrap_or("").to_string());
        }
    }
    Ok(out)
}

fn labels(genre: &[String], classes: &[String]) -> Res<Vec<u32>> {
    genre
        .iter()
        .map(|g| {
            classes
                .iter()
                .position(|c| c == g)
                .map(|i| i as u32)
                .ok_or_else(|| format!("unknown class {g}").into())
        })
        .collect()
}

fn cache_root() -> PathBuf {
    match std::env::var_os("AUTOPILOT_CACHE") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/autopilot")
        }
    }
}

/// Image features of every cover, from the cache or computed (and cached, atomically).
fn cover_features(csv: &Path, covers: &[String], backbone: Backbone) -> Res<Array2<f32>> {
    let dir = cache_root().join("bench");
    let file = dir.join(format!("covers_{}_highest.f32", backbone.name()));
    if let Ok(bytes) = std::fs::read(&file)
        && bytes.len() >= 16
    {
        let n = u64::from_le_bytes(bytes[0..8].try_into()?) as usize;
        let d = u64::from_le_bytes(bytes[8..16].try_into()?) as usize;
        if n == covers.len() && bytes.len() == 16 + 4 * n * d {
            let v: Vec<f32> = bytes[16..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            println!("image features: cached {}", file.display());
            return Ok(Array2::from_shape_vec((n, d), v)?);
        }
    }
    let base = csv.parent().unwrap_or(Path::new("."));
    let paths: Vec<PathBuf> = covers.iter().map(|c| base.join(c)).collect();
    let mut config = FeaturizerConfig::new(backbone);
    config.device = DeviceChoice::Cpu;
    config.levels = vec![FeatureLevel::Highest];
    let featurizer = ImageFeaturizer::new(config)?;
    let t = Instant::now();
    let f = featurizer.featurize_paths(&paths)?;
    println!(
        "image features: {} images with {} in {:.1}s ({} failed), loadavg {}",
        paths.len(),
        backbone.name(),
        t.elapsed().as_secs_f64(),
        f.n_failed(),
        loadavg()
    );
    std::fs::create_dir_all(&dir)?;
    let mut bytes = Vec::with_capacity(16 + 4 * f.values.len());
    bytes.extend_from_slice(&(f.values.nrows() as u64).to_le_bytes());
    bytes.extend_from_slice(&(f.values.ncols() as u64).to_le_bytes());
    for v in f.values.iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &file)?;
    Ok(f.values)
}

/// Standardizes the columns of `x` with the mean / std of `train` rows (std 1 when constant).
fn standardize(x: &Array2<f32>, train: &[usize]) -> Array2<f32> {
    let mut out = x.clone();
    let n = train.len().max(1) as f64;
    for mut col in out.axis_iter_mut(Axis(1)) {
        let m = train.iter().map(|&r| col[r] as f64).sum::<f64>() / n;
        let v = train
            .iter()
            .map(|&r| (col[r] as f64 - m).powi(2))
            .sum::<f64>()
            / n;
        let sd = if v.sqrt() > 1e-12 { v.sqrt() } else { 1.0 };
        col.mapv_inplace(|x| ((x as f64 - m) / sd) as f32);
    }
    out
}

fn docs(text: &[String], rows: &[usize]) -> Vec<Option<String>> {
    rows.iter().map(|&r| Some(text[r].clone())).collect()
}

/// One fold's training and test features.
struct FoldData {
    train: Features,
    test: Features,
}

/// Per-model scores over the folds.
#[derive(Default)]
struct Score {
    ba: Vec<f64>,
    fit_seconds: f64,
}

impl Score {
    fn mean_std(&self) -> (f64, f64) {
        let n = self.ba.len().max(1) as f64;
        let m = self.ba.iter().sum::<f64>() / n;
        let v = self.ba.iter().map(|b| (b - m).powi(2)).sum::<f64>() / n;
        (m, v.sqrt())
    }
}

/// Indices of rows whose fold is / is not `f`.
fn split(folds: &[usize], f: usize) -> (Vec<usize>, Vec<usize>) {
    let train = (0..folds.len()).filter(|&i| folds[i] != f).collect();
    let test = (0..folds.len()).filter(|&i| folds[i] == f).collect();
    (train, test)
}

/// scikit-learn's `GroupKFold(k)`: groups by decreasing size, each to the lightest fold.
fn group_kfold(groups: &[&str], k: usize) -> Vec<usize> {
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for &g in groups {
        *sizes.entry(g).or_default() += 1;
    }
    let mut order: Vec<(&str, usize)> = sizes.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut load = vec![0usize; k];
    let mut fold_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (g, n) in order {
        let f = (0..k).min_by_key(|&f| (load[f], f)).unwrap_or(0);
        load[f] += n;
        fold_of.insert(g, f);
    }
    groups.iter().map(|g| fold_of[g]).collect()
}

fn fit_predict(
    model: &mut dyn Estimator,
    d: &FoldData,
    y_train: &[u32],
    k: usize,
) -> Res<(Array2<f32>, f64)> {
    let t = Instant::now();
    model.fit(&d.train, y_train, &FitContext::new(k, SEED))?;
    let secs = t.elapsed().as_secs_f64();
    Ok((model.predict_proba(&d.test)?, secs))
}

/// LR with C chosen from {0.01, 0.1, 1} by inner 3-fold GroupKFold balanced accuracy, refit.
fn lr_inner_cv(d: &FoldData, y: &[u32], groups: &[&str], k: usize) -> Res<(Array2<f32>, f64, f64)> {
    let t = Instant::now();
    let inner = group_kfold(groups, 3);
    let mut best = (f64::NEG_INFINITY, 1.0);
    for c in [0.01, 0.1, 1.0] {
        let mut sum = 0.0;
        for f in 0..3 {
            let (tr, te) = split(&inner, f);
            let mut m = LogisticRegression::with_c(c);
            let ytr: Vec<u32> = tr.iter().map(|&r| y[r]).collect();
            m.fit(&d.train.select_rows(&tr), &ytr, &FitContext::new(k, SEED))?;
            let p = m.predict_proba(&d.train.select_rows(&te))?;
            let yte: Vec<u32> = te.iter().map(|&r| y[r]).collect();
            sum += balanced_accuracy(&yte, &argmax_rows(p.view()), k)?;
        }
        if sum / 3.0 > best.0 + 1e-12 {
            best = (sum / 3.0, c);
        }
    }
    let mut m = LogisticRegression::with_c(best.1);
    m.fit(&d.train, y, &FitContext::new(k, SEED))?;
    let secs = t.elapsed().as_secs_f64();
    Ok((m.predict_proba(&d.test)?, secs, best.1))
}

/// Applies `--set model.param=value` overrides to `model` named `key`.
fn configure(key: &str, model: &mut dyn Estimator, sets: &[String]) -> Res<()> {
    for s in sets {
        if let Some((name, value)) = s.split_once('=')
            && let Some((m, p)) = name.split_once('.')
            && m == key
        {
            model.set_param(p, value)?;
        }
    }
    Ok(())
}

fn model_by_key(key: &str) -> Option<Box<dyn Estimator>> {
    Some(match key {
        "gbdt" => Box::new(GradientBoosting::default()),
        "snn" => Box::new(SelfNormalizingNet::default()),
        "nb" => Box::new(ComplementNb::default()),
        "lr" => Box::new(LogisticRegression::with_c(1.0)),
        _ => return None,
    })
}

fn print_row(list: &str, model: &str, s: &Score, peer: Option<(&str, &Value)>) {
    let (m, sd) = s.mean_std();
    let peer_txt = match peer {
        Some((name, v)) if v.is_object() => format!(
            "{:<14}{:>7.3} ± {:.3}{:>9.1}",
            name,
            v["ba_mean"].as_f64().unwrap_or(f64::NAN),
            v["ba_std"].as_f64().unwrap_or(f64::NAN),
            v["fit_seconds"].as_f64().unwrap_or(f64::NAN)
        ),
        _ => "-".to_string(),
    };
    println!(
        "{list:<8}{model:<8}{m:>7.3} ± {sd:.3}{:>9.1}    {peer_txt}",
        s.fit_seconds
    );
}

fn header() {
    println!(
        "{:<8}{:<8}{:>15}{:>9}    {:<14}{:>15}{:>9}",
        "list", "model", "BA mean ± std", "fit s", "peer model", "peer BA", "fit s"
    );
}

fn covers(args: &[String]) -> Res<()> {
    let backbone =
        Backbone::from_name(&arg_value(args, "--backbone").unwrap_or("mobilenet_v2".into()))?;
    let csv = data_dir().join("covers-spotify/albums.csv");
    if !csv.is_file() {
        println!("SKIP: {} not found", csv.display());
        return Ok(());
    }
    let peer = load_peer(&format!(
        "covers_{}.json",
        backbone.name().replace('-', "_")
    ))?;
    let cols = read_csv(
        &csv,
        &[
            "cover",
            "album_name",
            "artist_name",
            "release_date",
            "total_tracks",
            "genre",
        ],
    )?;
    let y = labels(&cols[5], &peer.classes)?;
    let k = peer.classes.len();
    if peer.folds.len() != y.len() {
        return Err("peer folds and CSV rows differ".into());
    }
    let image = cover_features(&csv, &cols[0], backbone)?;
    let mut num = Array2::<f32>::zeros((y.len(), 2));
    for i in 0..y.len() {
        num[[i, 0]] = cols[3][i]
            .get(..4)
            .and_then(|s| s.parse().ok())
            .unwrap_or(f32::NAN);
        num[[i, 1]] = cols[4][i]
            .parse::<f32>()
            .map(|t| t.ln_1p())
            .unwrap_or(f32::NAN);
    }
    let image_num = concatenate(Axis(1), &[image.view(), num.view()])?;
    let models: Vec<String> = arg_value(args, "--models")
        .unwrap_or("lr,gbdt,snn,blend".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let lists: Vec<String> = arg_value(args, "--lists")
        .unwrap_or("image,all".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let sets: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--set")
        .map(|w| w[1].clone())
        .collect();
    println!(
        "covers: {} rows, {k} classes, backbone {}, loadavg {}",
        y.len(),
        backbone.name(),
        loadavg()
    );
    let peer_name = |m: &str| match m {
        "lr" => "logreg",
        "gbdt" => "lightgbm",
        "snn" => "mlp",
        _ => "blend",
    };
    for list in &lists {
        let mut scores: BTreeMap<String, Score> = BTreeMap::new();
        let mut chosen_c = Vec::new();
        for f in 0..5 {
            let (tr, te) = split(&peer.folds, f);
            let fd = match list.as_str() {
                "image" => {
                    let s = standardize(&image, &tr);
                    FoldData {
                        train: Features::dense(s.select(Axis(0), &tr)),
                        test: Features::dense(s.select(Axis(0), &te)),
                    }
                }
                "all" => {
                    let s = standardize(&image_num, &tr);
                    let mut union =
                        TfidfUnion::new(vec![TfidfConfig::word(1, 2), TfidfConfig::char_wb(2, 5)])?;
                    let ttr = union.fit_transform(&docs(&cols[1], &tr))?;
                    let tte = union.transform(&docs(&cols[1], &te))?;
                    let mk = |rows: &[usize], t| Features {
                        dense: Some(s.select(Axis(0), rows)),
                        sparse: Some(t),
                        names: vec![],
                    };
                    FoldData {
                        train: mk(&tr, ttr),
                        test: mk(&te, tte),
                    }
                }
                other => return Err(format!("unknown list {other}").into()),
            };
            let ytr: Vec<u32> = tr.iter().map(|&r| y[r]).collect();
            let yte: Vec<u32> = te.iter().map(|&r| y[r]).collect();
            let groups: Vec<&str> = tr.iter().map(|&r| cols[2][r].as_str()).collect();
            let mut probs: Vec<Array2<f32>> = Vec::new();
            let mut blend_secs = 0.0;
            for m in &models {
                if m == "blend" {
                    continue;
                }
                let (p, secs) = if m == "lr" {
                    let (p, secs, c) = lr_inner_cv(&fd, &ytr, &groups, k)?;
                    chosen_c.push(c);
                    (p, secs)
                } else {
                    let mut model = model_by_key(m).ok_or(format!("unknown model {m}"))?;
                    configure(m, model.as_mut(), &sets)?;
                    fit_predict(model.as_mut(), &fd, &ytr, k)?
                };
                let s = scores.entry(m.clone()).or_default();
                s.ba.push(balanced_accuracy(&yte, &argmax_rows(p.view()), k)?);
                s.fit_seconds += secs;
                blend_secs += secs;
                probs.push(p);
            }
            if models.iter().any(|m| m == "blend") && !probs.is_empty() {
                let mut mean = Array2::<f32>::zeros(probs[0].raw_dim());
                for p in &probs {
                    mean += p;
                }
                mean /= probs.len() as f32;
                let s = scores.entry("blend".into()).or_default();
                s.ba.push(balanced_accuracy(&yte, &argmax_rows(mean.view()), k)?);
                s.fit_seconds += blend_secs;
            }
            eprintln!("  {list} fold {f} done, loadavg {}", loadavg());
        }
        header();
        for m in &models {
            if let Some(s) = scores.get(m) {
                let pm = peer_name(m);
                print_row(list, m, s, Some((pm, &peer.results[list.as_str()][pm])));
            }
        }
        if !chosen_c.is_empty() {
            println!("  LR C per fold: {chosen_c:?}");
        }
    }
    println!("loadavg at end {}", loadavg());
    Ok(())
}

fn lyrics(args: &[String]) -> Res<()> {
    let csv = data_dir().join("lyrics-spotify/songs.csv");
    if !csv.is_file() {
        println!("SKIP: {} not found", csv.display());
        return Ok(());
    }
    let peer = load_peer("lyrics.json")?;
    let cols = read_csv(&csv, &["lyrics", "genre"])?;
    let y = labels(&cols[1], &peer.classes)?;
    let k = peer.classes.len();
    let models: Vec<String> = arg_value(args, "--models")
        .unwrap_or("lr,nb,gbdt".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let sets: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--set")
        .map(|w| w[1].clone())
        .collect();
    println!(
        "lyrics: {} rows, {k} classes, loadavg {}",
        y.len(),
        loadavg()
    );
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    let mut svd_seconds = 0.0;
    for f in 0..5 {
        let (tr, te) = split(&peer.folds, f);
        let mut cfg = TfidfConfig::word(1, 2);
        cfg.min_df = DocFreq::Count(2);
        let mut v = TfidfVectorizer::new(cfg)?;
        let ttr = v.fit_transform(&docs(&cols[0], &tr))?;
        let tte = v.transform(&docs(&cols[0], &te))?;
        let fd = FoldData {
            train: Features::sparse(hstack_csr(&[ttr])?),
            test: Features::sparse(hstack_csr(&[tte])?),
        };
        // Trees get the peer's TruncatedSVD(256) of the TF-IDF (fitted on the training rows).
        let svd_fd = if models.iter().any(|m| m == "gbdt") {
            let t = Instant::now();
            let mut svd = TruncatedSvd::new(256, SEED);
            let train = svd.fit_transform(fd.train.sparse.as_ref().ok_or("no sparse block")?)?;
            let test = svd.transform(fd.test.sparse.as_ref().ok_or("no sparse block")?)?;
            svd_seconds += t.elapsed().as_secs_f64();
            Some(FoldData {
                train: Features::dense(train),
                test: Features::dense(test),
            })
        } else {
            None
        };
        let ytr: Vec<u32> = tr.iter().map(|&r| y[r]).collect();
        let yte: Vec<u32> = te.iter().map(|&r| y[r]).collect();
        for m in &models {
            let mut model = model_by_key(m).ok_or(format!("unknown model {m}"))?;
            configure(m, model.as_mut(), &sets)?;
            let data = match (m.as_str(), &svd_fd) {
                ("gbdt", Some(d)) => d,
                _ => &fd,
            };
            let (p, secs) = fit_predict(model.as_mut(), data, &ytr, k)?;
            let s = scores.entry(m.clone()).or_default();
            s.ba.push(balanced_accuracy(&yte, &argmax_rows(p.view()), k)?);
            s.fit_seconds += secs;
        }
        eprintln!("  lyrics fold {f} done, loadavg {}", loadavg());
    }
    header();
    for m in &models {
        if let Some(s) = scores.get(m) {
            let (list, pm) = match m.as_str() {
                "lr" => ("tfidf", "logreg"),
                "nb" => ("tfidf", "complement_nb"),
                "gbdt" => ("tfidf_svd256", "lightgbm"),
                _ => ("tfidf", "-"),
            };
            let ours = if m == "gbdt" { "tfidf_svd256" } else { "tfidf" };
            print_row(ours, m, s, Some((pm, &peer.results[list][pm])));
        }
    }
    if models.iter().any(|m| m == "gbdt") {
        println!("TruncatedSVD(256) fit + transform, 5 folds: {svd_seconds:.1} s (not in fit s)");
    }
    println!("loadavg at end {}", loadavg());
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("covers") => covers(&args[1..]),
        Some("lyrics") => lyrics(&args[1..]),
        _ => {
            eprintln!("usage: peer_parity covers|lyrics [options] (see the source's doc comment)");
            Ok(())
        }
    }
}
