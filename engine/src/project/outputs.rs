//! Output guards: a file a command writes on request (`export -o`, `predict -o`, `report -o`)
//! never replaces a project's own files or the data it reads.
//!
//! Paths are compared after resolving `.`, `..` and symbolic links; an output that does not
//! exist yet is resolved through its deepest existing ancestor.

use std::path::{Component, Path, PathBuf};

use super::ProjectError;

/// Refuses `output` when it lies inside the `project` folder, is one of `inputs`, or is a folder.
pub fn check_output(
    output: &Path,
    project: Option<&Path>,
    inputs: &[&Path],
) -> Result<(), ProjectError> {
    let out = resolve(output);
    let refuse = |reason: String| {
        Err(ProjectError::ProtectedOutput {
            path: output.to_path_buf(),
            reason,
        })
    };
    if let Some(dir) = project {
        let dir = resolve(dir);
        if out.starts_with(&dir) {
            return refuse(format!(
                "it is inside the project folder {} (choose a path outside it)",
                dir.display()
            ));
        }
    }
    for input in inputs {
        if out == resolve(input) {
            return refuse(format!(
                "it is the input {} (choose another output file)",
                input.display()
            ));
        }
    }
    if out.is_dir() {
        return refuse("it is a folder (give a file name)".into());
    }
    Ok(())
}

/// `path` made absolute, with symbolic links, `.` and `..` resolved, whether or not it exists.
pub fn resolve(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |d| d.join(path))
    };
    // The longest prefix that exists is canonicalized; the missing rest is applied lexically.
    let parts: Vec<Component> = abs.components().collect();
    let (mut out, rest) = (0..=parts.len())
        .rev()
        .find_map(|k| {
            let prefix: PathBuf = parts[..k].iter().collect();
            std::fs::canonicalize(prefix).ok().map(|c| (c, &parts[k..]))
        })
        .unwrap_or((PathBuf::new(), &parts[..]));
    for c in rest {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_missing_paths_through_their_existing_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir(root.join("p")).unwrap();
        assert_eq!(
            resolve(&tmp.path().join("p/new/../x.json")),
            root.join("p/x.json")
        );
        assert_eq!(resolve(&tmp.path().join("p/./a/b")), root.join("p/a/b"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("p"), root.join("link")).unwrap();
            assert_eq!(resolve(&root.join("link/y.csv")), root.join("p/y.csv"));
        }
    }

    #[test]
    fn refuses_project_files_and_inputs_only() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("p.autopilot");
        std::fs::create_dir(&proj).unwrap();
        let data = tmp.path().join("data.csv");
        std::fs::write(&data, "a\n1\n").unwrap();
        let inside = proj.join("leaderboard.json");
        let e = check_output(&inside, Some(&proj), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("inside the project folder"), "{e}");
        let sneaky = tmp.path().join("x/../p.autopilot/models/new.apm");
        assert!(check_output(&sneaky, Some(&proj), &[]).is_err());
        let e = check_output(&tmp.path().join("./data.csv"), Some(&proj), &[&data])
            .unwrap_err()
            .to_string();
        assert!(e.contains("is the input"), "{e}");
        check_output(&tmp.path().join("preds.csv"), Some(&proj), &[&data]).unwrap();
        let e = check_output(tmp.path(), None, &[]).unwrap_err().to_string();
        assert!(e.contains("it is a folder (give a file name)"), "{e}");
        // A sibling whose name starts like the project is not inside it.
        check_output(&tmp.path().join("p.autopilot2/x"), Some(&proj), &[&data]).unwrap();
    }
}
