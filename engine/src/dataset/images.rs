//! Image cells: path resolution, the "stays inside the data folder" rule, and validation
//! through the shared guarded decoder ([`neural::decode`]: regular files only, header limits
//! before decoding, a memory budget, truncated files refused).

use std::path::{Component, Path, PathBuf};

use neural::decode::{DecodeLimits, check_regular_file, decode_image};
use rayon::prelude::*;

use super::{Column, ColumnType, DataError, LoadOptions, SkippedRow};

/// File extensions recognised as images (lowercase).
pub const IMAGE_EXTENSIONS: [&str; 8] = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"];

/// True when `value` ends in one of [`IMAGE_EXTENSIONS`] (case-insensitive).
pub fn has_image_extension(value: &str) -> bool {
    Path::new(value)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Resolves a cell value against the data folder (absolute values are kept).
pub(crate) fn resolve(base_dir: &Path, value: &str) -> PathBuf {
    let p = Path::new(value);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

/// Removes `.` and resolves `..` without touching the file system.
fn normalize_lexically(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// True when `value` stays inside `base_dir`, both lexically (`..`, absolute paths) and after
/// following symlinks (when the file exists).
pub(crate) fn stays_inside(base_dir: &Path, value: &str) -> bool {
    let abs_base = std::path::absolute(base_dir).unwrap_or_else(|_| base_dir.to_path_buf());
    let abs_base = normalize_lexically(&abs_base);
    let target = normalize_lexically(&resolve(&abs_base, value));
    if !target.starts_with(&abs_base) {
        return false;
    }
    match (target.canonicalize(), abs_base.canonicalize()) {
        (Ok(t), Ok(b)) => t.starts_with(b),
        // A file that does not exist is reported as unreadable later, not as escaping.
        _ => true,
    }
}

/// The first cell of `values` (index and value) whose path leaves `base_dir`
/// ([`stays_inside`]).
pub(crate) fn first_outside<'v>(
    base_dir: &Path,
    values: &'v [Option<String>],
) -> Option<(usize, &'v String)> {
    values.iter().enumerate().find_map(|(i, v)| {
        v.as_ref()
            .filter(|v| !stays_inside(base_dir, v))
            .map(|v| (i, v))
    })
}

/// Decodes one image through the shared guarded decoder ([`neural::decode::decode_image`]):
/// non-regular files (a FIFO would block forever), headers announcing more than `max_pixels`
/// pixels or more than the decoding memory budget (refused before decoding) and truncated files
/// are errors. Returns `(width, height)`, or the reason without the path.
///
/// A truncated image (e.g. a JPEG cut short, which the decoder would otherwise complete with
/// grey) is **skipped** like any unreadable image, never featurized from partial data.
pub fn check_image(path: &Path, max_pixels: u64) -> Result<(u32, u32), String> {
    decode_image(path, &DecodeLimits::with_max_pixels(max_pixels))
        .map(|img| (img.width(), img.height()))
        .map_err(|p| p.reason)
}

/// Checks every image cell: paths must stay inside the data folder (an error unless
/// `allow_outside`); with `check_images`, each file is decoded in parallel and failures are
/// returned as `(row index, skipped row)`, sorted by row.
pub(crate) fn check_image_columns(
    source: &Path,
    base_dir: &Path,
    columns: &[Column],
    opts: &LoadOptions,
) -> Result<Vec<(usize, SkippedRow)>, DataError> {
    let mut tasks: Vec<(usize, &str, &str)> = Vec::new();
    for col in columns.iter().filter(|c| c.kind == ColumnType::Image) {
        if !opts.allow_outside
            && let Some((i, v)) = first_outside(base_dir, &col.values)
        {
            return Err(DataError::PathEscapes {
                path: source.to_path_buf(),
                row: i + 2,
                column: col.name.clone(),
                value: v.clone(),
                base: base_dir.to_path_buf(),
            });
        }
        for (i, v) in col.values.iter().enumerate() {
            let Some(v) = v else { continue };
            tasks.push((i, col.name.as_str(), v.as_str()));
        }
    }
    // Rows already known to have an unreadable image (a project reopening the data it checked).
    let known: std::collections::BTreeMap<usize, &SkippedRow> = opts
        .known_image_problems
        .iter()
        .flatten()
        .map(|s| (s.row, s))
        .collect();
    let check = |&(i, column, value): &(usize, &str, &str)| {
        let path = resolve(base_dir, value);
        if let Some(&k) = known.get(&(i + 2))
            && k.column == column
        {
            return Some((i, k.clone()));
        }
        let result = if value.contains("://") {
            Err(
                "an address, not a file: images are read from files (a path relative to the \
                 CSV), never downloaded"
                    .to_string(),
            )
        } else if opts.check_images && opts.known_image_problems.is_none() {
            check_image(&path, opts.max_image_pixels).map(|_| ())
        } else {
            // Only the path is checked, but a FIFO or a folder is still refused by name.
            check_regular_file(&path).map(|_| ()).map_err(|p| p.reason)
        };
        // Hints for a file that is not there: a Windows path, or a name listed from a class
        // folder that is not UTF-8 (read with U+FFFD in its place).
        let result = result.map_err(|reason| match path.exists() {
            false if value.contains('\\') => {
                format!("{reason} (folders in a path are separated by '/')")
            }
            false if value.contains('\u{FFFD}') => {
                format!("{reason} (its name is not valid UTF-8: rename the file)")
            }
            _ => reason,
        });
        result.err().map(|reason| {
            (
                i,
                SkippedRow {
                    row: i + 2,
                    column: column.to_string(),
                    reason: format!("{}: {reason}", path.display()),
                },
            )
        })
    };
    let mut problems: Vec<(usize, SkippedRow)> = tasks.par_iter().filter_map(check).collect();
    problems.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.column.cmp(&b.1.column)));
    problems.dedup_by_key(|p| p.0);
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_escape_rules() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        assert!(stays_inside(base, "a/b.png"));
        assert!(stays_inside(base, "a/../b.png"));
        assert!(!stays_inside(base, "../b.png"));
        assert!(!stays_inside(base, "a/../../b.png"));
        assert!(!stays_inside(base, "/etc/passwd.png"));
        let inside = base.join("x.png");
        assert!(stays_inside(base, inside.to_str().unwrap()));
    }

    #[test]
    fn extensions() {
        assert!(has_image_extension("a/B.JPG"));
        assert!(has_image_extension("x.webp"));
        assert!(!has_image_extension("x.txt"));
        assert!(!has_image_extension("jpg"));
    }
}
