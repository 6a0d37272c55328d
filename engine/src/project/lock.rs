//! One writer per project: an advisory exclusive lock on the project folder itself.
//!
//! Every command that writes a project (`run`, `tune`) holds a [`WriterLock`] for as long as it
//! writes; a second writer is refused at once with an error naming the holder (pid, command,
//! start time, read back from `<project>/writer.lock`). Readers (`leaderboard`, `report`,
//! `predict`) never take the lock: every project file is replaced atomically, so they see whole
//! files.
//!
//! The lock is the operating system's (`flock` on Unix), not a file's existence: it is released
//! when its holder exits, however it exits, so a lock file left behind by a killed process blocks
//! nothing. On Unix the lock is taken on the folder, which no one deletes while a writer runs
//! (a lock on `writer.lock` would let a second writer in once the file was deleted or replaced);
//! `writer.lock` only records the holder, replaced whole (a link there is replaced, never
//! followed). Where a folder cannot be locked (Windows; some network file systems) the lock is
//! taken on `writer.lock`, which is then never deleted. A writer that takes the lock removes the
//! temp files that killed writers left behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ProjectError;

/// Name of the file inside the project folder that records the lock's holder.
pub const LOCK_FILE: &str = "writer.lock";

/// Who holds (or last held) a project's writer lock, as stored in the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// Process id.
    pub pid: u32,
    /// The command, e.g. `autopilot run`.
    pub command: String,
    /// When the lock was taken, UTC.
    pub started: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {}, '{}', started {}",
            self.pid, self.command, self.started
        )
    }
}

/// The writer lock of one project; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct WriterLock {
    /// The locked folder or file: closing it releases the lock.
    _locked: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the writer lock of project folder `dir` (created if missing) for `command`, without
    /// waiting: [`ProjectError::Locked`] names the other writer when there is one.
    pub fn acquire(dir: &Path, command: &str) -> Result<WriterLock, ProjectError> {
        super::ensure_folder(dir)?;
        let path = dir.join(LOCK_FILE);
        let io = |source| ProjectError::io(&path, source);
        let held = |()| ProjectError::Locked {
            dir: dir.to_path_buf(),
            holder: recorded_holder(dir)
                .map_or_else(|| "holder unknown".to_string(), |h| h.to_string()),
        };
        let holder = LockHolder {
            pid: std::process::id(),
            command: command.to_string(),
            started: super::utc_timestamp(),
        };
        let mut bytes = serde_json::to_vec(&holder).unwrap_or_default();
        bytes.push(b'\n');
        let locked = match lock_folder(dir) {
            Some(folder) => {
                let folder = folder.map_err(held)?;
                // A new file renamed over the old name: whatever `writer.lock` was (a link to
                // another file, say), only the name is replaced.
                let tmp = dir.join(".writer.lock.tmp");
                let mut file = File::create(&tmp).map_err(io)?;
                file.write_all(&bytes).map_err(io)?;
                file.sync_data().map_err(io)?;
                std::fs::rename(&tmp, &path).map_err(io)?;
                folder
            }
            // The locked file itself records the holder: replacing it would free the name for
            // a second writer.
            None => {
                let mut file = lock_file(&path)?.map_err(held)?;
                file.set_len(0).map_err(io)?;
                file.seek(SeekFrom::Start(0)).map_err(io)?;
                file.write_all(&bytes).map_err(io)?;
                file.sync_data().map_err(io)?;
                file
            }
        };
        remove_stale_temp_files(dir);
        Ok(WriterLock {
            _locked: locked,
            path,
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Removes the temp files (`.tmp-*`) that writers killed mid-write left in project folder
/// `dir` and its `models/<id>/` folders: only a writer writes there, and the lock says none is
/// running. (The feature cache and insights folders are written without the lock: left alone.)
fn remove_stale_temp_files(dir: &Path) {
    let models = std::fs::read_dir(dir.join("models"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path());
    for folder in std::iter::once(dir.to_path_buf()).chain(models) {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let stale = entry.file_name().to_string_lossy().starts_with(".tmp-")
                && entry.file_type().is_ok_and(|t| t.is_file());
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The folder `dir` locked (`Ok`), held by another writer (`Err`), or `None` where a folder
/// cannot be locked here.
fn lock_folder(dir: &Path) -> Option<Result<File, ()>> {
    if !cfg!(unix) {
        return None;
    }
    let folder = File::open(dir).ok()?;
    match folder.try_lock() {
        Ok(()) => Some(Ok(folder)),
        Err(TryLockError::WouldBlock) => Some(Err(())),
        Err(TryLockError::Error(_)) => None,
    }
}

/// `path` opened (created if missing) and locked (`Ok(Ok)`), or held by another writer.
fn lock_file(path: &Path) -> Result<Result<File, ()>, ProjectError> {
    let io = |source| ProjectError::io(path, source);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(Ok(file)),
        Err(TryLockError::WouldBlock) => Ok(Err(())),
        Err(TryLockError::Error(e)) => Err(io(e)),
    }
}

/// The holder recorded in the lock file of project folder `dir`, if it can be read. A recorded
/// holder is not necessarily alive: only a failed [`WriterLock::acquire`] says it is.
pub fn recorded_holder(dir: &Path) -> Option<LockHolder> {
    let mut text = String::new();
    let mut file = File::open(dir.join(LOCK_FILE)).ok()?;
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_is_refused_with_the_holder_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p.autopilot");
        let first = WriterLock::acquire(&dir, "autopilot run").unwrap();
        assert!(first.path().is_file());
        // flock locks belong to an open file: a second open in the same process conflicts too.
        let e = WriterLock::acquire(&dir, "autopilot tune").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, ProjectError::Locked { .. }), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())) && msg.contains("autopilot run"),
            "{msg}"
        );
        drop(first);
        let again = WriterLock::acquire(&dir, "autopilot tune").unwrap();
        assert_eq!(recorded_holder(&dir).unwrap().command, "autopilot tune");
        drop(again);
    }

    #[test]
    fn a_stale_lock_file_from_a_dead_process_does_not_block() {
        let tmp = tempfile::tempdir().unwrap();
        let stale = LockHolder {
            pid: u32::MAX - 1,
            command: "autopilot run".into(),
            started: "2001-01-01T00:00:00Z".into(),
        };
        std::fs::write(
            tmp.path().join(LOCK_FILE),
            serde_json::to_vec(&stale).unwrap(),
        )
        .unwrap();
        let lock = WriterLock::acquire(tmp.path(), "autopilot tune").unwrap();
        let now = recorded_holder(tmp.path()).unwrap();
        assert_eq!(now.pid, std::process::id());
        assert_eq!(now.command, "autopilot tune");
        drop(lock);
    }

    /// Deleting or replacing `writer.lock` (it looks stale to a user) lets no second writer in,
    /// and a link in its place is replaced, its target untouched.
    #[cfg(unix)]
    #[test]
    fn a_deleted_or_linked_lock_file_lets_no_second_writer_in() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p.autopilot");
        let first = WriterLock::acquire(&dir, "autopilot run").unwrap();
        std::fs::remove_file(dir.join(LOCK_FILE)).unwrap();
        let e = WriterLock::acquire(&dir, "autopilot tune").unwrap_err();
        assert!(matches!(e, ProjectError::Locked { .. }), "{e}");
        drop(first);
        let victim = tmp.path().join("victim.txt");
        std::fs::write(&victim, "keep me").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(LOCK_FILE)).unwrap();
        let lock = WriterLock::acquire(&dir, "autopilot tune").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert!(!dir.join(LOCK_FILE).is_symlink());
        assert_eq!(recorded_holder(&dir).unwrap().command, "autopilot tune");
        drop(lock);
    }

    #[test]
    fn the_next_writer_removes_temp_files_left_by_a_killed_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("models/M3")).unwrap();
        std::fs::create_dir_all(dir.join("features/x")).unwrap();
        for f in [
            ".tmp-abc",
            "models/M3/.tmp-def",
            "features/x/.tmp-ghi",
            "models/M3/oof.npy",
        ] {
            std::fs::write(dir.join(f), "x").unwrap();
        }
        let lock = WriterLock::acquire(dir, "autopilot run").unwrap();
        assert!(!dir.join(".tmp-abc").exists() && !dir.join("models/M3/.tmp-def").exists());
        assert!(dir.join("features/x/.tmp-ghi").exists() && dir.join("models/M3/oof.npy").exists());
        drop(lock);
    }

    #[test]
    fn a_regular_file_is_not_a_project_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("p.autopilot");
        std::fs::write(&file, "x").unwrap();
        let e = WriterLock::acquire(&file, "autopilot run")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a folder"), "{e}");
        assert!(!e.contains("os error"), "{e}");
    }
}
