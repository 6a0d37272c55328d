//! Reading a folder of class folders of images (`data/<class>/*.jpg`) as a two-column table.

use std::path::Path;

use super::images::has_image_extension;
use super::{ColumnType, DataError, RawTable};

/// Name of the image column of a folder dataset.
pub const FOLDER_IMAGE_COLUMN: &str = "image";
/// Name of the class column of a folder dataset.
pub const FOLDER_CLASS_COLUMN: &str = "class";

/// Lists `dir/<class>/…/<image>` (sorted by class, then path; images in sub-folders of a class
/// folder belong to it, as in torchvision's `ImageFolder`; hidden entries and symbolic links to
/// folders ignored) as rows `(image = "<class>/<path>", class = "<class>")`.
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
        list_images(&class_dir, "", &mut files).map_err(io)?;
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

/// Appends the images under `dir` to `out` as paths relative to the class folder (`prefix` is
/// `dir`'s, with a trailing `/`), descending into sub-folders.
fn list_images(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            list_images(&entry.path(), &format!("{prefix}{name}/"), out)?;
        } else if has_image_extension(&name) {
            out.push(format!("{prefix}{name}"));
        }
    }
    Ok(())
}
