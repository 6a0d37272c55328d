//! `autopilot featurize`: parses the options, calls [`autopilot::session::featurize`] and writes
//! the output; rows that could not be featurized are listed on stderr. See that module for the
//! formats.

use std::path::PathBuf;

use clap::Args;

use neural::text::LongText;
use neural::{DeviceChoice, Precision};

use super::models::parse_device;
use super::out::errln;
use autopilot::autopilot::candidates::DEFAULT_LEVELS;
use autopilot::project::outputs::check_output;
use autopilot::session::featurize::{
    FeatureOutput, FeaturizeRequest, TextFeaturizer, failures, featurize, format_of, rows_path,
    write_output,
};

/// Arguments of `autopilot featurize`.
#[derive(Debug, Args)]
pub struct FeaturizeArgs {
    /// CSV file (or folder of class folders of images).
    pub data: PathBuf,
    /// Output file: `.npy`, `.csv`, or `.mtx` (TF-IDF only).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Image column (default: the only image column of the data).
    #[arg(long, conflicts_with = "text")]
    pub image: Option<String>,
    /// Text column to featurize instead of images.
    #[arg(long)]
    pub text: Option<String>,
    /// Image backbone.
    #[arg(long, default_value = "efficientnet-lite0")]
    pub backbone: String,
    /// Image feature levels, comma-separated (low, medium, high, highest).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_LEVELS.map(String::from))]
    pub levels: Vec<String>,
    /// Text featurizer.
    #[arg(long, default_value = "minilm", value_parser = parse_featurizer)]
    pub featurizer: TextFeaturizer,
    /// MiniLM on texts over 256 tokens: `truncate`, or `chunks` (the mean of 256-token chunks).
    #[arg(long, default_value = "truncate", value_parser = parse_long_text)]
    pub long_text: LongText,
    /// Compute device: auto, cpu or wgpu.
    #[arg(long, default_value = "auto", value_parser = parse_device)]
    pub device: DeviceChoice,
    /// Images or texts per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Precision of the image backbone or MiniLM: f32; f16 (image backbones on a wgpu GPU with
    /// 16-bit float shaders; features within about 1 % of the largest f32 value); or int8 (1×1
    /// convolutions and MiniLM's weight products on a CPU with AVX-512 VNNI; the largest
    /// difference up to about 10 % of the largest f32 value, per-row cosine ≥ 0.99 for the
    /// backbones, ≥ 0.98 for MiniLM).
    #[arg(long, default_value = "f32", value_parser = parse_precision)]
    pub precision: Precision,
    /// Allow image paths outside the data folder.
    #[arg(long)]
    pub allow_outside: bool,
}

fn parse_precision(s: &str) -> Result<Precision, String> {
    s.parse::<Precision>().map_err(|e| e.to_string())
}

fn parse_long_text(s: &str) -> Result<LongText, String> {
    s.parse::<LongText>().map_err(|e| e.to_string())
}

/// Parses `--featurizer`: minilm or tfidf.
fn parse_featurizer(s: &str) -> Result<TextFeaturizer, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "minilm" => Ok(TextFeaturizer::Minilm),
        "tfidf" => Ok(TextFeaturizer::Tfidf),
        _ => Err(format!("unknown featurizer '{s}'; valid: minilm, tfidf")),
    }
}

impl FeaturizeArgs {
    /// The engine's request for these arguments.
    fn request(&self) -> FeaturizeRequest {
        FeaturizeRequest {
            data: self.data.clone(),
            image: self.image.clone(),
            text: self.text.clone(),
            backbone: self.backbone.clone(),
            levels: self.levels.clone(),
            featurizer: self.featurizer,
            long_text: self.long_text,
            device: self.device,
            batch_size: self.batch_size,
            precision: self.precision,
            allow_outside: self.allow_outside,
        }
    }
}

/// Executes `autopilot featurize`.
pub fn execute(args: FeaturizeArgs) -> anyhow::Result<()> {
    let format = format_of(&args.output)?;
    check_output(&args.output, None, &[&args.data])?;
    let t = std::time::Instant::now();
    let out = featurize(&args.request())?;
    let (rows, cols, n_failed) = match &out {
        FeatureOutput::Dense {
            values,
            failed,
            file_rows,
            ..
        } => {
            for line in failures(failed, file_rows) {
                errln!("{line}");
            }
            let n_failed = failed.iter().filter(|f| f.is_some()).count();
            (values.nrows(), values.ncols(), n_failed)
        }
        FeatureOutput::Sparse { values, .. } => (values.rows(), values.cols(), 0),
    };
    write_output(&out, &args.output, format)?;
    errln!(
        "wrote {rows} rows × {cols} features to {} in {:.1}s{}",
        args.output.display(),
        t.elapsed().as_secs_f64(),
        if n_failed > 0 {
            let rows = if n_failed == 1 { "row" } else { "rows" };
            format!(" ({n_failed} {rows} could not be featurized; see above)")
        } else {
            String::new()
        }
    );
    if let FeatureOutput::Dense {
        folder_rows: Some(_),
        ..
    } = &out
    {
        errln!(
            "each row's image and class: {}",
            rows_path(&args.output).display()
        );
    }
    Ok(())
}
