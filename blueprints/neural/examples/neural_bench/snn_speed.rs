//! Training speed of the self-normalizing net's engines on seeded synthetic data of a chosen size:
//! where does burn on a GPU start to pay off against the native CPU engine?
//!
//! ```text
//! cargo run --release -p autopilot-neural --example neural_bench -- snn_speed \
//!     [--rows 1264] [--dims 1280] [--hidden 256] [--blocks 1] [--batch 64] [--epochs 5] \
//!     [--backends native,burn-cpu,burn-wgpu]
//! ```
//! Every engine runs the same fixed number of epochs (no early stopping) from the same seed, and
//! the program prints seconds per epoch (a warm-up fit of one epoch first, so that wgpu's kernel
//! compilation and autotuning are not counted), training-set balanced accuracy and the largest
//! probability difference from the first engine listed.

use std::time::Instant;

use blueprints::metrics::{argmax_rows, balanced_accuracy};
use blueprints::{Estimator, Features, FitContext};
use ndarray::Array2;
use neural::SelfNormalizingNet;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CLASSES: usize = 6;

/// Rows from `CLASSES` Gaussian clusters in a 16-d latent space, mapped to `dims` columns with
/// noise (a stand-in for pooled image features).
fn synthetic(rows: usize, dims: usize) -> (Features, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let latent = 16;
    let centres: Vec<f32> = (0..CLASSES * latent)
        .map(|_| rng.random::<f32>() * 2.0 - 1.0)
        .collect();
    let mix: Vec<f32> = (0..latent * dims)
        .map(|_| rng.random::<f32>() - 0.5)
        .collect();
    let mut x = Array2::<f32>::zeros((rows, dims));
    let mut y = Vec::with_capacity(rows);
    for i in 0..rows {
        let c = i % CLASSES;
        let z: Vec<f32> = (0..latent)
            .map(|l| centres[c * latent + l] + rng.random::<f32>() - 0.5)
            .collect();
        for j in 0..dims {
            let v: f32 = (0..latent).map(|l| z[l] * mix[l * dims + j]).sum();
            x[[i, j]] = v + rng.random::<f32>() - 0.5;
        }
        y.push(c as u32);
    }
    (Features::dense(x), y)
}

fn net(
    hidden: usize,
    blocks: usize,
    batch: usize,
    epochs: usize,
    backend: &str,
) -> SelfNormalizingNet {
    let mut net = SelfNormalizingNet::default();
    let settings = [
        ("hidden_size", hidden.to_string()),
        ("n_blocks", blocks.to_string()),
        ("batch_size", batch.to_string()),
        ("epochs", epochs.to_string()),
        ("patience", "0".to_string()),
        ("backend", backend.to_string()),
    ];
    for (k, v) in settings {
        net.set_param(k, &v).expect("valid setting");
    }
    net
}

pub fn main(args: Vec<String>) -> super::Outcome {
    let (mut rows, mut dims, mut hidden, mut blocks, mut batch, mut epochs) =
        (1264, 1280, 256, 1, 64, 5);
    let mut backends = "native,burn-cpu,burn-wgpu".to_string();
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--rows" => rows = value()?.parse()?,
            "--dims" => dims = value()?.parse()?,
            "--hidden" => hidden = value()?.parse()?,
            "--blocks" => blocks = value()?.parse()?,
            "--batch" => batch = value()?.parse()?,
            "--epochs" => epochs = value()?.parse()?,
            "--backends" => backends = value()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (x, y) = synthetic(rows, dims);
    let ctx = FitContext::new(CLASSES, 0);
    println!(
        "snn_speed: {rows} rows × {dims} dims, hidden {hidden}, {blocks} block(s), batch {batch}, \
         {epochs} epochs, {} threads",
        rayon::current_num_threads()
    );
    println!("backend     s/epoch   train BA   max |Δp| vs first   trained on");
    let mut first: Option<Array2<f32>> = None;
    for backend in backends.split(',') {
        // Warm-up: one epoch (kernel compilation and autotuning on wgpu).
        let mut warm = net(hidden, blocks, batch, 1, backend);
        if let Err(e) = warm.fit(&x, &y, &ctx) {
            println!("{backend:<10}  unavailable: {e}");
            continue;
        }
        let mut model = net(hidden, blocks, batch, epochs, backend);
        let t = Instant::now();
        model.fit(&x, &y, &ctx)?;
        let per_epoch = t.elapsed().as_secs_f64() / epochs as f64;
        let p = model.predict_proba(&x)?;
        let ba = balanced_accuracy(&y, &argmax_rows(p.view()), CLASSES)?;
        let diff = first.as_ref().map_or(0.0, |f| {
            f.iter()
                .zip(&p)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max)
        });
        println!(
            "{backend:<10}  {per_epoch:>7.3}   {ba:>8.4}   {diff:>17.2e}   {}",
            model.trained_on().unwrap_or("")
        );
        first.get_or_insert(p);
    }
    Ok(())
}
