//! The `.apm` file: one self-contained exported model that `autopilot predict` reads on another
//! machine.
//!
//! Layout (all integers little-endian):
//! ```text
//! "AUTOPILOT-APM\0\0\0"   16-byte magic
//! u32                      format version (1)
//! u64                      manifest length in bytes
//! manifest                 JSON: format, created, autopilot_version, model_id, entries
//!                          [{name, size, sha256}] in file order
//! entry bytes              concatenated in manifest order
//! ```
//! Entries: `predictor.json` (the [`Predictor`]: fitted pipelines, estimators, blender, classes,
//! schema) and `weights/<file>` for each image backbone the model uses (the pretrained weight
//! file, also checked against the model zoo's pinned hash). Every entry's SHA-256 is verified
//! on load; any mismatch, truncation or trailing garbage is an error.
//!
//! **Integrity, not authenticity.** The checksums catch corruption (a damaged disk, a truncated
//! copy, a flipped bit), not tampering: the hashes are stored in the file itself, so anyone who
//! can edit an `.apm` can recompute them and the edited file is accepted. (Only the backbone
//! weights are also checked against hashes pinned in this program.) Take `.apm` files only from
//! sources you trust, and protect them as you would a program: write-protected storage, a
//! signed release artifact, or a hash published over a trusted channel and checked before use.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::predictor::Predictor;

const MAGIC: &[u8; 16] = b"AUTOPILOT-APM\0\0\0";
/// Version of the `.apm` layout.
pub const APM_FORMAT: u32 = 1;
const PREDICTOR_ENTRY: &str = "predictor.json";

/// Errors reading or writing an `.apm` file; each names the file.
#[derive(Debug, Error)]
pub enum ApmError {
    /// File system error (the OS error is in the message, not repeated as a `source()`).
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file could not be written.
    #[error(transparent)]
    Write(#[from] crate::project::ProjectError),
    /// Not an `.apm` file, or a damaged one.
    #[error("{path}: not a valid autopilot model file: {reason}")]
    Invalid { path: PathBuf, reason: String },
    /// An entry's bytes do not hash to the recorded SHA-256.
    #[error(
        "{path}: checksum mismatch for '{entry}' (expected {expected}, got {actual}); the file is corrupt"
    )]
    Checksum {
        path: PathBuf,
        entry: String,
        expected: String,
        actual: String,
    },
    /// A weight file needed by the model could not be found to embed.
    #[error("weights for {backbone}: {message}")]
    Weights { backbone: String, message: String },
}

/// One entry of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApmEntry {
    /// Name inside the file (`predictor.json`, `weights/<file>`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// The manifest at the start of an `.apm` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApmManifest {
    /// Layout version ([`APM_FORMAT`]).
    pub format: u32,
    /// Export time (UTC).
    pub created: String,
    /// Version of autopilot that wrote it.
    pub autopilot_version: String,
    /// Leaderboard id of the exported model.
    pub model_id: String,
    /// Backbone name → weight entry name.
    pub weights: BTreeMap<String, String>,
    /// Entries in file order.
    pub entries: Vec<ApmEntry>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Writes `predictor` and the weight files of its image backbones (from the model zoo) to
/// `path`, atomically. Returns the manifest.
pub fn write_apm(path: &Path, predictor: &Predictor) -> Result<ApmManifest, ApmError> {
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    let json = serde_json::to_vec(predictor).map_err(|e| ApmError::Invalid {
        path: path.to_path_buf(),
        reason: format!("serializing the model: {e}"),
    })?;
    blobs.push((PREDICTOR_ENTRY.to_string(), json));
    let mut weights = BTreeMap::new();
    let backbones: std::collections::BTreeSet<String> = predictor
        .image_keys()
        .into_iter()
        .map(|k| k.backbone)
        .collect();
    for b in backbones {
        let err = |message: String| ApmError::Weights {
            backbone: b.clone(),
            message,
        };
        let file = neural::zoo::fetch(&b).map_err(|e| err(e.to_string()))?;
        let bytes = std::fs::read(&file).map_err(|e| err(format!("{}: {e}", file.display())))?;
        let name = format!(
            "weights/{}",
            file.file_name()
                .map_or_else(|| format!("{b}.pth"), |n| n.to_string_lossy().into_owned())
        );
        weights.insert(b.clone(), name.clone());
        blobs.push((name, bytes));
    }
    let manifest = ApmManifest {
        format: APM_FORMAT,
        created: crate::project::utc_timestamp(),
        autopilot_version: env!("CARGO_PKG_VERSION").to_string(),
        model_id: predictor.model_id.clone(),
        weights,
        entries: blobs
            .iter()
            .map(|(name, b)| ApmEntry {
                name: name.clone(),
                size: b.len() as u64,
                sha256: sha256_hex(b),
            })
            .collect(),
    };
    let head = serde_json::to_vec(&manifest).map_err(|e| ApmError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let total: usize = blobs.iter().map(|(_, b)| b.len()).sum::<usize>() + head.len() + 28;
    let mut out = Vec::with_capacity(total);
    out.write_all(MAGIC).ok();
    out.extend_from_slice(&APM_FORMAT.to_le_bytes());
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    for (_, b) in &blobs {
        out.extend_from_slice(b);
    }
    crate::project::atomic::write_atomic(path, &out)?;
    Ok(manifest)
}

/// A loaded `.apm`: the predictor and its weight files unpacked (and verified) into a temporary
/// folder that lives as long as this value.
pub struct LoadedApm {
    /// The model.
    pub predictor: Predictor,
    /// The manifest.
    pub manifest: ApmManifest,
    /// Backbone name → unpacked weight file.
    pub weights: BTreeMap<String, PathBuf>,
    _dir: tempfile::TempDir,
}

/// Reads and verifies `path` (magic, version, sizes, every SHA-256, weight hashes against the
/// zoo's pinned ones) and unpacks the weights.
pub fn read_apm(path: &Path) -> Result<LoadedApm, ApmError> {
    let invalid = |reason: String| ApmError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|error| ApmError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    if bytes.len() < 28 || &bytes[..16] != MAGIC {
        return Err(invalid("wrong magic bytes".into()));
    }
    let version = u32::from_le_bytes(bytes[16..20].try_into().unwrap_or_default());
    if version != APM_FORMAT {
        return Err(invalid(format!(
            "format {version} (this autopilot reads format {APM_FORMAT})"
        )));
    }
    let head_len = u64::from_le_bytes(bytes[20..28].try_into().unwrap_or_default()) as usize;
    let head_end = 28usize
        .checked_add(head_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| invalid("truncated manifest".into()))?;
    let manifest: ApmManifest = serde_json::from_slice(&bytes[28..head_end])
        .map_err(|e| invalid(format!("bad manifest: {e}")))?;
    let mut pos = head_end;
    let mut entries: BTreeMap<String, &[u8]> = BTreeMap::new();
    for e in &manifest.entries {
        let end = pos
            .checked_add(e.size as usize)
            .filter(|&x| x <= bytes.len())
            .ok_or_else(|| invalid(format!("truncated at entry '{}'", e.name)))?;
        let blob = &bytes[pos..end];
        let actual = sha256_hex(blob);
        if actual != e.sha256 {
            return Err(ApmError::Checksum {
                path: path.to_path_buf(),
                entry: e.name.clone(),
                expected: e.sha256.clone(),
                actual,
            });
        }
        entries.insert(e.name.clone(), blob);
        pos = end;
    }
    if pos != bytes.len() {
        return Err(invalid(format!(
            "{} unexpected bytes after the last entry",
            bytes.len() - pos
        )));
    }
    let json = entries
        .get(PREDICTOR_ENTRY)
        .ok_or_else(|| invalid(format!("no {PREDICTOR_ENTRY}")))?;
    let predictor: Predictor =
        serde_json::from_slice(json).map_err(|e| invalid(format!("bad model: {e}")))?;
    if let Some(reason) = predictor.inconsistency() {
        return Err(invalid(format!("inconsistent model: {reason}")));
    }
    let dir = tempfile::Builder::new()
        .prefix("autopilot-apm-")
        .tempdir()
        .map_err(|error| ApmError::Io {
            path: std::env::temp_dir(),
            error,
        })?;
    let mut weights = BTreeMap::new();
    for (backbone, entry) in &manifest.weights {
        let blob = entries
            .get(entry)
            .ok_or_else(|| invalid(format!("no entry '{entry}' for {backbone}")))?;
        let b = neural::Backbone::from_name(backbone)
            .map_err(|e| invalid(format!("backbone {backbone}: {e}")))?;
        let pinned = neural::zoo::weight_spec(b).sha256;
        let actual = sha256_hex(blob);
        if actual != pinned {
            return Err(ApmError::Checksum {
                path: path.to_path_buf(),
                entry: entry.clone(),
                expected: pinned,
                actual,
            });
        }
        let file = dir.path().join(format!("{backbone}.pth"));
        std::fs::write(&file, blob).map_err(|error| ApmError::Io {
            path: file.clone(),
            error,
        })?;
        weights.insert(backbone.clone(), file);
    }
    for k in predictor.image_keys() {
        if !weights.contains_key(&k.backbone) {
            return Err(invalid(format!(
                "the model uses {} but the file holds no weights for it",
                k.backbone
            )));
        }
    }
    Ok(LoadedApm {
        predictor,
        manifest,
        weights,
        _dir: dir,
    })
}
