//! Crash-safe file writes and JSON helpers.
//!
//! Every write goes to a temporary file in the destination's folder, is flushed and fsynced, then
//! renamed over the destination (an atomic replace on POSIX file systems), and the folder is
//! fsynced so the rename itself survives a crash. A reader therefore sees either the old file or
//! the complete new one, never a half-written file.
//!
//! A destination that is a symbolic link is followed (the file it names is replaced, the link
//! kept); one that is a device or a FIFO (`-o /dev/stdout`, `/dev/full`, a named pipe) is
//! written through, never renamed over.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ProjectError;

/// Writes `bytes` to `path` atomically (temp file in the same folder, fsync, rename).
/// Creates the parent folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProjectError> {
    write_atomic_with(path, |w| {
        w.write_all(bytes).map_err(|e| ProjectError::io(path, e))
    })
}

/// Like [`write_atomic`], with the contents streamed by `write` into a buffered writer on the
/// temp file (nothing is held in memory whole).
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), ProjectError>,
) -> Result<(), ProjectError> {
    let resolved = follow_link(path);
    let path = resolved.as_path();
    if is_special_file(path) {
        return write_through(path, write);
    }
    let io = |e| ProjectError::io(path, e);
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(io)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(parent)
        .map_err(io)?;
    // Temp files are created owner-only; a project file is an ordinary readable file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    {
        let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        write(&mut out)?;
        out.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    sync_dir(parent);
    Ok(())
}

/// The file a symbolic link names (the path itself when it is no link, or a link to nothing yet,
/// which [`write_through`] then creates).
fn follow_link(path: &Path) -> PathBuf {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    match is_link.then(|| std::fs::canonicalize(path)) {
        Some(Ok(target)) => target,
        _ => path.to_path_buf(),
    }
}

/// True for an existing destination that is neither a regular file nor a folder (a device, a
/// FIFO, a socket) or a link to nothing: renaming over it would replace it.
fn is_special_file(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) => !m.is_file() && !m.is_dir(),
        Err(_) => false,
    }
}

/// Writes straight into `path` (opened for writing, created if missing; no temp file, no rename).
fn write_through(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), ProjectError>,
) -> Result<(), ProjectError> {
    let io = |e| ProjectError::io(path, e);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write(&mut out)?;
    out.flush().map_err(io)
}

/// Best-effort fsync of a folder (makes a rename durable on Unix; a no-op elsewhere).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// How [`save_json`] lays out its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonLayout {
    /// Indented, one value a line: for the files people read (leaderboard, profile, …).
    Pretty,
    /// No whitespace: for fitted models, whose weight arrays would grow 2–3× indented.
    Compact,
}

/// Serializes `value` as JSON laid out as `layout`, streamed atomically to `path`.
pub fn save_json<T: Serialize + ?Sized>(
    path: &Path,
    value: &T,
    layout: JsonLayout,
) -> Result<(), ProjectError> {
    write_atomic_with(path, |w| {
        match layout {
            JsonLayout::Pretty => serde_json::to_writer_pretty(&mut *w, value),
            JsonLayout::Compact => serde_json::to_writer(&mut *w, value),
        }
        .map_err(|e| json_error(path, e))?;
        w.write_all(b"\n").map_err(|e| ProjectError::io(path, e))
    })
}

/// Reads JSON from `path`, streamed. A missing file is [`ProjectError::Io`] with `NotFound`;
/// invalid or mistyped JSON is [`ProjectError::Corrupt`] naming the file, line and column.
pub fn load_json<T: DeserializeOwned>(path: &Path) -> Result<T, ProjectError> {
    let file = std::fs::File::open(path).map_err(|e| ProjectError::io(path, e))?;
    serde_json::from_reader(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| json_error(path, e))
}

/// A JSON error on `path`: an I/O failure as [`ProjectError::Io`], anything else (syntax, types,
/// a value JSON cannot hold) as [`ProjectError::Corrupt`] with serde's line and column.
fn json_error(path: &Path, e: serde_json::Error) -> ProjectError {
    match e.io_error_kind() {
        Some(kind) => ProjectError::io(path, std::io::Error::new(kind, e)),
        None => ProjectError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    }
}

/// Like [`load_json`], but `Ok(None)` when the file does not exist.
pub fn load_json_opt<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ProjectError> {
    if !path.exists() {
        return Ok(None);
    }
    load_json(path).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_written_temp_file_never_replaces_a_good_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leaderboard.json");
        save_json(&path, &vec![1, 2, 3], JsonLayout::Pretty).unwrap();
        // Simulate a crash mid-write: a temp file with partial content is left in the folder,
        // and never renamed.
        let mut partial = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir.path())
            .unwrap();
        partial.write_all(b"[1, 2").unwrap();
        let (_file, _kept) = partial.keep().unwrap();
        let back: Vec<i32> = load_json(&path).unwrap();
        assert_eq!(back, vec![1, 2, 3]);
        // A later good write still replaces the file completely.
        save_json(&path, &vec![4], JsonLayout::Pretty).unwrap();
        let back: Vec<i32> = load_json(&path).unwrap();
        assert_eq!(back, vec![4]);
    }

    #[test]
    fn failed_serialization_leaves_the_old_file() {
        use std::collections::BTreeMap;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        save_json(&path, &"good", JsonLayout::Pretty).unwrap();
        // Maps with non-string keys cannot be JSON: the write fails before touching the file.
        let mut bad = BTreeMap::new();
        bad.insert(vec![1u8], 1);
        assert!(save_json(&path, &bad, JsonLayout::Pretty).is_err());
        assert_eq!(load_json::<String>(&path).unwrap(), "good");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp file left behind");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_through_and_a_link_followed_never_replaced() {
        use std::os::unix::fs::FileTypeExt as _;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), "through the pipe");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );

        let file = dir.path().join("real.csv");
        std::fs::write(&file, "old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        // A link to nothing yet creates the file it names.
        let dangling = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink(dir.path().join("made.csv"), &dangling).unwrap();
        write_atomic(&dangling, b"made").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("made.csv")).unwrap(),
            "made"
        );
    }

    #[test]
    fn a_folder_in_place_of_a_file_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_json::<Vec<i32>>(dir.path()).unwrap_err();
        assert!(matches!(e, ProjectError::Io { .. }), "{e:?}");
    }

    #[test]
    fn compact_and_pretty_read_back_alike() {
        let dir = tempfile::tempdir().unwrap();
        let value: Vec<Vec<f32>> = (0..50)
            .map(|i| (0..40).map(|j| (i * 40 + j) as f32 / 7.0).collect())
            .collect();
        let (pretty, compact) = (dir.path().join("p.json"), dir.path().join("c.json"));
        save_json(&pretty, &value, JsonLayout::Pretty).unwrap();
        save_json(&compact, &value, JsonLayout::Compact).unwrap();
        assert_eq!(load_json::<Vec<Vec<f32>>>(&pretty).unwrap(), value);
        assert_eq!(load_json::<Vec<Vec<f32>>>(&compact).unwrap(), value);
        let size = |p: &Path| std::fs::metadata(p).unwrap().len();
        // Two levels deep already 1.5× smaller (a fitted model's arrays sit deeper).
        assert!(
            3 * size(&compact) < 2 * size(&pretty),
            "{} vs {}",
            size(&compact),
            size(&pretty)
        );
    }

    #[test]
    fn corrupt_json_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.json");
        std::fs::write(&path, b"{ not json").unwrap();
        let e = load_json::<serde_json::Value>(&path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("profile.json"), "{e}");
        assert!(
            load_json_opt::<serde_json::Value>(&dir.path().join("absent.json"))
                .unwrap()
                .is_none()
        );
    }
}
