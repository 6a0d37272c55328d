//! Fold ids from a file (`autopilot run --folds-from FILE`), so that a run is scored on exactly
//! the folds of another tool — e.g. the peer harness's results JSON, whose `folds` array holds
//! one fold id per CSV record.
//!
//! Accepted: a JSON array of integers, a JSON object with such an array under `folds`, or text
//! with one integer per line. Ids `0..k` are cross-validation folds, a negative id puts the row
//! in the holdout. The file has one id per data record of the CSV; records the ingestion skipped
//! (reported with their row numbers) are dropped from it, so the ids line up with the loaded
//! rows either way.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::Partition;
use crate::dataset::{Dataset, Target};

/// Fold ids read from a file, with the file's SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldFile {
    /// One id per data record of the source file.
    pub ids: Vec<i32>,
    /// SHA-256 (hex) of the ids, one per line: the same folds give the same hash whatever the
    /// file's format, line endings or other JSON fields.
    pub sha256: String,
}

/// Reads fold ids from `path` (see the module docs for the formats).
pub fn read_fold_file(path: &Path) -> anyhow::Result<FoldFile> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("reading fold ids from {}: {e}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{}: fold file is not UTF-8 text", path.display()))?;
    // A byte-order mark (spreadsheets and Windows editors write one) is no fold id.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let trimmed = text.trim_start();
    let ids = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("{}: invalid JSON: {e}", path.display()))?;
        let array = match &value {
            serde_json::Value::Array(a) => a,
            serde_json::Value::Object(o) => {
                o.get("folds").and_then(|f| f.as_array()).ok_or_else(|| {
                    anyhow::anyhow!("{}: JSON object without a 'folds' array", path.display())
                })?
            }
            _ => unreachable!("checked by the first character"),
        };
        array
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_i64()
                    .and_then(|v| i32::try_from(v).ok())
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "{}: fold id {} is not an integer: {v}",
                            path.display(),
                            i + 1
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<i32>>>()?
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                l.trim().parse::<i32>().map_err(|_| {
                    anyhow::anyhow!(
                        "{}: line {}: '{}' is not a fold id",
                        path.display(),
                        i + 1,
                        l.trim()
                    )
                })
            })
            .collect::<anyhow::Result<Vec<i32>>>()?
    };
    let lines: String = ids.iter().map(|id| format!("{id}\n")).collect();
    let sha256 = format!("{:x}", Sha256::digest(lines.as_bytes()));
    Ok(FoldFile { ids, sha256 })
}

/// The partition of `ds`'s rows given one fold id per record of its source file (or already one
/// per loaded row when nothing was skipped).
pub fn partition_from_file(
    ds: &Dataset,
    file: &FoldFile,
    path: &Path,
) -> anyhow::Result<Partition> {
    let n = ds.n_rows();
    let records = n + ds.skipped.len();
    let ids: Vec<i32> = if file.ids.len() == records {
        // Spreadsheet row numbers of skipped records: record i is row i + 2.
        let skipped: std::collections::BTreeSet<usize> = ds.skipped.iter().map(|s| s.row).collect();
        file.ids
            .iter()
            .enumerate()
            .filter(|(i, _)| !skipped.contains(&(i + 2)))
            .map(|(_, &id)| id)
            .collect()
    } else {
        anyhow::bail!(
            "{}: {} fold ids, but {} has {records} data records ({n} loaded, {} skipped)",
            path.display(),
            file.ids.len(),
            ds.source.display(),
            ds.skipped.len()
        );
    };
    if ids.len() != n {
        anyhow::bail!(
            "{}: the skipped rows of {} do not line up with its records",
            path.display(),
            ds.source.display()
        );
    }
    let mut p =
        Partition::from_fold_ids(ids).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    p.imported_from = Some(path.display().to_string());
    Ok(p)
}

/// Checks imported folds against a classification target: a fold whose training rows (the other
/// folds) hold one class leaves nothing to learn (an error); a fold that validates one class
/// only gets a warning (its AUC is undefined). Regression targets are not checked.
pub fn check_classes(p: &mut Partition, target: &Target, path: &Path) -> anyhow::Result<()> {
    if target.task.is_regression() {
        return Ok(());
    }
    let classes_of = |rows: &[usize]| -> std::collections::BTreeSet<u32> {
        rows.iter().map(|&r| target.labels[r]).collect()
    };
    for fold in 0..p.k {
        let train = classes_of(&p.train_rows(fold));
        if train.len() < 2 {
            let only = train
                .first()
                .map_or("none", |&c| target.classes[c as usize].as_str());
            anyhow::bail!(
                "{}: the rows that train fold {fold} (those of the other folds) hold one class \
                 only ('{only}'): no model can learn from them; give every fold rows of several \
                 classes",
                path.display()
            );
        }
        let valid = classes_of(&p.valid_rows(fold));
        if let (1, Some(&c)) = (valid.len(), valid.first()) {
            p.warnings.push(format!(
                "fold {fold} validates one class only ('{}'): its AUC is undefined and its \
                 balanced accuracy is that class's recall",
                target.classes[c as usize]
            ));
        }
    }
    Ok(())
}

/// Warns (in the partition's warnings) when rows of one group of `column` sit in different
/// folds, or in a fold and the holdout: imported folds are not checked against groups otherwise.
pub fn check_groups(p: &mut Partition, ds: &Dataset, column: &str) -> anyhow::Result<()> {
    let values = &ds.require_column(column)?.values;
    let mut seen: std::collections::BTreeMap<&str, u8> = std::collections::BTreeMap::new();
    let mut split = std::collections::BTreeSet::new();
    for (r, v) in values.iter().enumerate() {
        if let Some(v) = v.as_deref()
            && *seen.entry(v).or_insert(p.folds[r]) != p.folds[r]
        {
            split.insert(v);
        }
    }
    if !split.is_empty() {
        let examples: Vec<&str> = split.iter().take(3).copied().collect();
        p.warnings.push(format!(
            "{} groups of '{column}' are split across the imported folds (e.g. {}): their rows \
             validate in one fold while others of the same group train",
            split.len(),
            examples.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_arrays_peer_objects_and_lines() {
        let dir = tempfile::tempdir().unwrap();
        let a = read_fold_file(&write(dir.path(), "a.json", "[0, 1, 2, -1]")).unwrap();
        assert_eq!(a.ids, vec![0, 1, 2, -1]);
        let b = read_fold_file(&write(
            dir.path(),
            "b.json",
            r#"{"n_rows": 3, "folds": [1, 0, 1], "results": {}}"#,
        ))
        .unwrap();
        assert_eq!(b.ids, vec![1, 0, 1]);
        let c = read_fold_file(&write(dir.path(), "c.txt", "0\n1\n\n1\n")).unwrap();
        assert_eq!(c.ids, vec![0, 1, 1]);
        assert_ne!(a.sha256, b.sha256);
        // The same folds hash alike in any format or line ending.
        let crlf = read_fold_file(&write(dir.path(), "b.txt", "1\r\n0\r\n1\r\n")).unwrap();
        assert_eq!(crlf.ids, b.ids);
        assert_eq!(crlf.sha256, b.sha256);
        let bad = read_fold_file(&write(dir.path(), "d.txt", "0\nx\n")).unwrap_err();
        assert!(bad.to_string().contains("line 2"), "{bad}");
        let bad = read_fold_file(&write(dir.path(), "e.json", r#"{"f": [1]}"#)).unwrap_err();
        assert!(bad.to_string().contains("'folds'"), "{bad}");
        let bad = read_fold_file(&write(dir.path(), "f.json", "[0, 1.5]")).unwrap_err();
        assert!(bad.to_string().contains("fold id 2"), "{bad}");
        assert!(read_fold_file(&dir.path().join("missing.json")).is_err());
        // A byte-order mark before lines or JSON.
        let g = read_fold_file(&write(dir.path(), "g.txt", "\u{feff}0\r\n1\r\n")).unwrap();
        assert_eq!(g.ids, vec![0, 1]);
        let h = read_fold_file(&write(dir.path(), "h.json", "\u{feff}[1, 0]")).unwrap();
        assert_eq!(h.ids, vec![1, 0]);
    }

    #[test]
    fn split_groups_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write(
            dir.path(),
            "d.csv",
            "artist,x,y\na,1,p\na,2,q\nb,3,p\nb,4,q\nc,5,p\nc,6,q\n",
        );
        let opts = crate::dataset::LoadOptions {
            target: Some("y".into()),
            ..Default::default()
        };
        let ds = crate::dataset::load(&csv, &opts).unwrap();
        let whole = FoldFile {
            ids: vec![0, 0, 1, 1, 0, 0],
            sha256: String::new(),
        };
        let mut p = partition_from_file(&ds, &whole, &csv).unwrap();
        check_groups(&mut p, &ds, "artist").unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(
            p.imported_from.as_deref(),
            Some(csv.display().to_string().as_str())
        );
        let split = FoldFile {
            ids: vec![0, 1, 1, 1, 0, 0],
            sha256: String::new(),
        };
        let mut p = partition_from_file(&ds, &split, &csv).unwrap();
        check_groups(&mut p, &ds, "artist").unwrap();
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0].contains("1 groups of 'artist'") && p.warnings[0].contains("a"),
            "{:?}",
            p.warnings
        );
        let short = FoldFile {
            ids: vec![0, 1],
            sha256: String::new(),
        };
        assert!(partition_from_file(&ds, &short, &csv).is_err());

        // Folds of one class each: nothing to learn. A fold validating one class: a warning.
        let target = ds.target("y").unwrap();
        let by_class = FoldFile {
            ids: vec![0, 1, 0, 1, 0, 1],
            sha256: String::new(),
        };
        let mut p = partition_from_file(&ds, &by_class, &csv).unwrap();
        let e = check_classes(&mut p, &target, &csv)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train fold 0") && e.contains("one class only ('q')"),
            "{e}"
        );
        let lopsided = FoldFile {
            ids: vec![0, 1, 2, 1, 0, 2],
            sha256: String::new(),
        };
        let mut p = partition_from_file(&ds, &lopsided, &csv).unwrap();
        check_classes(&mut p, &target, &csv).unwrap();
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings[0].starts_with("fold 0 validates one class only ('p')"));
        assert!(p.warnings[1].starts_with("fold 1 validates one class only ('q')"));
    }
}
