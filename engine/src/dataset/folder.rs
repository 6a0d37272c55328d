//! Reading a folder of class folders of images (`data/<class>/*.jpg`) as a two-column table.

use std::path::Path;

use super::images::has_image_extension;
use super::{ColumnType, DataError, RawTable};

/// Name of the image column of a folder dataset.
pub const FOLDER_IMAGE_COLUMN: &str = "image";
/// Name of the class column of a folder dataset.
pub const FOLDER_CLASS_COLUMN: &str = "class";

/// Lists `dir/<class>/<image>` (sorted by class, then file name; hidden entries ignored) as
/// rows `(image = "<class>/<file>", class = "<class>")`.
pub(crate) fn read_class_folders(dir: &Path) -> Result<RawTable, DataError> {
    let io = |e: std::io::Error| DataError::Io {
        path: dir.to_path_buf(),
        error: e,
    };
    let mut classes: Vec<(String, std::path::PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        classes.push((name, entry.path()));
    }
    classes.sort();
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (class, class_dir) in classes {
        let io = |e: std::io::Error| DataError::Io {
            path: class_dir.clone(),
            error: e,
        };
        let mut files: Vec<String> = Vec::new();
        for entry in std::fs::read_dir(&class_dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && has_image_extension(&name) {
                files.push(name);
            }
        }
        files.sort();
        for f in files {
            images.push(Some(format!("{class}/{f}")));
            labels.push(Some(class.clone()));
        }
    }
    if images.is_empty() {
        return Err(DataError::NoClassFolders {
            path: dir.to_path_buf(),
        });
    }
    Ok(RawTable {
        source: dir.to_path_buf(),
        base_dir: dir.to_path_buf(),
        names: vec![FOLDER_IMAGE_COLUMN.into(), FOLDER_CLASS_COLUMN.into()],
        cells: vec![images, labels],
        known_kinds: vec![Some(ColumnType::Image), Some(ColumnType::Categorical)],
    })
}
