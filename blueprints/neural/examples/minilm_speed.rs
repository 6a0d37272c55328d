//! MiniLM sentence embeddings per second on the CPU: the host kernels (`text::cpu_bert`), or
//! burn flex with `--burn`.
//!
//! ```text
//! cargo run --release -p autopilot-neural --example minilm_speed -- \
//!     [CSV (default /work/shared/data/lyrics-spotify/songs.csv)] [--column lyrics] \
//!     [--limit N] [--batch 32] [--chunks] [--burn]
//! ```
//! Prints texts/s end to end (tokenization + forward + pooling), the time split and the number
//! of tokens fed to the network. Weights come from the zoo.

use std::time::Instant;

use neural::DeviceChoice;
use neural::text::{LongText, SentenceEmbedder, SentenceEmbedderConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut csv_path = "/work/shared/data/lyrics-spotify/songs.csv".to_string();
    let mut column = "lyrics".to_string();
    let mut limit = usize::MAX;
    let mut batch = 32;
    let mut long_text = LongText::Truncate;
    let mut burn = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--column" => column = args.next().ok_or("--column needs a value")?,
            "--limit" => limit = args.next().ok_or("--limit needs a value")?.parse()?,
            "--batch" => batch = args.next().ok_or("--batch needs a value")?.parse()?,
            "--chunks" => long_text = LongText::Chunks,
            "--burn" => burn = true,
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
    let t = Instant::now();
    let embedder = SentenceEmbedder::new(SentenceEmbedderConfig {
        device: DeviceChoice::Cpu,
        batch_size: batch,
        long_text,
        ..Default::default()
    })?;
    let embedder = if burn {
        embedder.with_burn_forward()
    } else {
        embedder
    };
    println!(
        "model loaded in {:.2}s on {} ({}); rayon threads: {}",
        t.elapsed().as_secs_f64(),
        embedder.device_description(),
        if embedder.uses_fast_cpu() {
            "host kernels"
        } else {
            "burn"
        },
        rayon::current_num_threads()
    );
    // Warm-up on a few texts (allocations, kernels).
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder.embed(&refs[..refs.len().min(8)])?;
    let t = Instant::now();
    let (emb, timing) = embedder.embed_timed(&refs)?;
    let total = t.elapsed().as_secs_f64();
    println!(
        "{} texts ({} sequences, {} tokens, batch {batch}, {long_text:?}) -> {}x{} in {total:.1}s: \
         {:.1} texts/s, {:.0} tokens/s (tokenize {:.2}s, forward {:.1}s)",
        texts.len(),
        timing.sequences,
        timing.tokens,
        emb.nrows(),
        emb.ncols(),
        texts.len() as f64 / total,
        timing.tokens as f64 / total,
        timing.tokenize_seconds,
        timing.forward_seconds
    );
    Ok(())
}
