//! Reading a CSV file into a [`RawTable`]: UTF-8 (BOM tolerated), delimiter sniffed among
//! `,` `;` tab `|`, quoted fields with newlines, strict checks with row/column in every error.

use std::path::{Path, PathBuf};

use super::{DataError, RawTable};

/// Candidate delimiters, in order of preference on ties.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How many records the sniffer looks at.
const SNIFF_RECORDS: usize = 50;

/// Reads `path` as CSV with a header row.
pub(crate) fn read_csv(path: &Path) -> Result<RawTable, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let delimiter = sniff_delimiter(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);

    let mut records = reader.byte_records();
    let header = match records.next() {
        Some(r) => r.map_err(|e| csv_error(path, &e))?,
        None => {
            return Err(DataError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
    };
    let names = header_names(path, &header)?;
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    for (i, record) in records.enumerate() {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let row = i + 2;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != names.len() {
            // A line with only whitespace (or one empty field) is a blank line, not data.
            if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Err(DataError::RaggedRow {
                path: path.to_path_buf(),
                row,
                line,
                expected: names.len(),
                found: record.len(),
            });
        }
        for (j, field) in record.iter().enumerate() {
            let text = std::str::from_utf8(field).map_err(|_| DataError::NotUtf8 {
                path: path.to_path_buf(),
                row,
                line,
                column: names[j].clone(),
            })?;
            cells[j].push(clean_cell(text));
        }
    }
    if cells.first().is_none_or(Vec::is_empty) {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
            detail: " (the file has a header only)".into(),
        });
    }
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let known_kinds = vec![None; names.len()];
    Ok(RawTable {
        source: path.to_path_buf(),
        base_dir,
        names,
        cells,
        known_kinds,
    })
}

/// Trims a cell and maps the usual missing-value markers to `None`.
pub(crate) fn clean_cell(text: &str) -> Option<String> {
    let t = text.trim();
    let missing = t.is_empty()
        || ["na", "n/a", "nan", "null", "none", "#n/a"]
            .iter()
            .any(|m| t.eq_ignore_ascii_case(m));
    (!missing).then(|| t.to_string())
}

fn csv_error(path: &Path, e: &csv::Error) -> DataError {
    let line = e.position().map_or(0, csv::Position::line);
    if let csv::ErrorKind::Utf8 { pos, err } = e.kind() {
        return DataError::NotUtf8 {
            path: path.to_path_buf(),
            row: pos.as_ref().map_or(0, |p| p.record() as usize + 1),
            line,
            column: format!("field {}", err.field() + 1),
        };
    }
    DataError::Csv {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    }
}

fn header_names(path: &Path, header: &csv::ByteRecord) -> Result<Vec<String>, DataError> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (j, field) in header.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|_| DataError::NotUtf8 {
            path: path.to_path_buf(),
            row: 1,
            line: 1,
            column: format!("header field {}", j + 1),
        })?;
        let name = name.trim();
        let name = if name.is_empty() {
            format!("unnamed_{}", j + 1)
        } else {
            name.to_string()
        };
        if let Some(first) = names.iter().position(|n| *n == name) {
            return Err(DataError::DuplicateColumn {
                path: path.to_path_buf(),
                column: name,
                first: first + 1,
                second: j + 1,
            });
        }
        names.push(name);
    }
    Ok(names)
}

/// Picks the delimiter that splits the header into the most fields while keeping the first
/// records' field counts equal to the header's. Falls back to `,`.
pub(crate) fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let mut best = (b',', 1usize, 0usize); // (delimiter, header fields, consistent records)
    for &d in &DELIMITERS {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut counts = Vec::new();
        for rec in reader.byte_records().take(SNIFF_RECORDS) {
            match rec {
                Ok(r) => counts.push(r.len()),
                Err(_) => break,
            }
        }
        let Some((&header, rest)) = counts.split_first() else {
            continue;
        };
        if header < 2 {
            continue;
        }
        let consistent = rest.iter().filter(|&&c| c == header).count();
        // All sampled rows must agree with the header (allowing one stray blank line).
        if rest.len() - consistent > 1 {
            continue;
        }
        if header > best.1 || (header == best.1 && consistent > best.2) {
            best = (d, header, consistent);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_delimiter() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter(b"a;b;c\n1,5;2;3\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n1 2\t3\n"), b'\t');
        assert_eq!(sniff_delimiter(b"a|b\n\"x,y\"|2\n"), b'|');
        // One column: no delimiter splits it; fall back to comma.
        assert_eq!(sniff_delimiter(b"a\n1\n2\n"), b',');
        // A comma inside text must not win over a consistent semicolon.
        assert_eq!(sniff_delimiter(b"t;n\nhello, world;1\nbye;2\n"), b';');
    }

    #[test]
    fn missing_markers_become_none() {
        for m in ["", "  ", "NA", "n/a", "NaN", "null", "None"] {
            assert_eq!(clean_cell(m), None, "{m:?}");
        }
        assert_eq!(clean_cell(" x "), Some("x".into()));
        assert_eq!(clean_cell("0"), Some("0".into()));
    }
}
