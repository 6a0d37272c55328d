//! MiniLM sentence embeddings per second on the CPU: the host kernels (`text::cpu_bert`), or
//! burn flex with `--burn`.
//!
//! ```text
//! cargo run --release -p autopilot-neural --example neural_bench -- minilm_speed \
//!     [CSV (default /work/shared/data/lyrics-spotify/songs.csv)] [--column lyrics] \
//!     [--limit N] [--batch 32] [--chunks] [--burn] [--precisions f32,int8]
//! ```
//! Prints texts/s end to end (tokenization + forward + pooling), the time split and the number
//! of tokens fed to the network, for each precision in turn (default f32); every precision after
//! the first also gets its agreement with the first (smallest and mean cosine of the
//! embeddings). Weights come from the zoo.

use std::time::Instant;

use ndarray::Array2;
use neural::text::{LongText, SentenceEmbedder, SentenceEmbedderConfig};
use neural::{DeviceChoice, Precision};

pub fn main(args: Vec<String>) -> super::Outcome {
    let mut csv_path = "/work/shared/data/lyrics-spotify/songs.csv".to_string();
    let mut column = "lyrics".to_string();
    let mut limit = usize::MAX;
    let mut batch = 32;
    let mut long_text = LongText::Truncate;
    let mut burn = false;
    let mut precisions = vec![Precision::F32];
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--column" => column = args.next().ok_or("--column needs a value")?,
            "--limit" => limit = args.next().ok_or("--limit needs a value")?.parse()?,
            "--batch" => batch = args.next().ok_or("--batch needs a value")?.parse()?,
            "--chunks" => long_text = LongText::Chunks,
            "--burn" => burn = true,
            "--precisions" => {
                precisions = args
                    .next()
                    .ok_or("--precisions needs a value")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            other => csv_path = other.to_string(),
        }
    }
    let mut reader = csv::Reader::from_path(&csv_path)?;
    let idx = reader
        .headers()?
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| format!("{csv_path}: no column {column}"))?;
    let mut texts = Vec::new();
    for rec in reader.records().take(limit) {
        texts.push(rec?.get(idx).unwrap_or("").to_string());
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut first: Option<Array2<f32>> = None;
    for precision in precisions {
        let emb = time_one(&refs, batch, long_text, burn, precision)?;
        match &first {
            None => first = Some(emb),
            Some(want) => {
                let cosines: Vec<f32> = want
                    .rows()
                    .into_iter()
                    .zip(emb.rows())
                    .map(|(a, b)| a.dot(&b))
                    .collect();
                println!(
                    "{precision} vs the first precision: embedding cosine ≥ {:.5}, mean {:.5}",
                    cosines.iter().copied().fold(1.0, f32::min),
                    cosines.iter().sum::<f32>() / cosines.len() as f32
                );
            }
        }
    }
    Ok(())
}

/// Loads the model at `precision`, warms it up and times one embedding run over `texts`.
fn time_one(
    texts: &[&str],
    batch: usize,
    long_text: LongText,
    burn: bool,
    precision: Precision,
) -> Result<Array2<f32>, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let embedder = SentenceEmbedder::new(SentenceEmbedderConfig {
        device: DeviceChoice::Cpu,
        batch_size: batch,
        long_text,
        precision,
        ..Default::default()
    })?;
    let embedder = if burn {
        embedder.with_burn_forward()
    } else {
        embedder
    };
    println!(
        "model loaded in {:.2}s on {} ({}, {}); rayon threads: {}",
        t.elapsed().as_secs_f64(),
        embedder.device_description(),
        if embedder.uses_fast_cpu() {
            "host kernels"
        } else {
            "burn"
        },
        embedder.precision(),
        rayon::current_num_threads()
    );
    // Warm-up on a few texts (allocations, kernels).
    embedder.embed(&texts[..texts.len().min(8)])?;
    let t = Instant::now();
    let (emb, timing) = embedder.embed_timed(texts)?;
    let total = t.elapsed().as_secs_f64();
    println!(
        "{} texts ({} sequences, {} tokens, batch {batch}, {long_text:?}, {}) -> {}x{} in {total:.1}s: \
         {:.1} texts/s, {:.0} tokens/s (tokenize {:.2}s, forward {:.1}s)",
        texts.len(),
        timing.sequences,
        timing.tokens,
        embedder.precision(),
        emb.nrows(),
        emb.ncols(),
        texts.len() as f64 / total,
        timing.tokens as f64 / total,
        timing.tokenize_seconds,
        timing.forward_seconds
    );
    Ok(emb)
}
