//! Reading a CSV file into a [`RawTable`]: UTF-8 (BOM tolerated), delimiter sniffed among
//! `,` `;` tab `|`, quoted fields with newlines, strict checks with row/column in every error.
//!
//! Quoting mistakes never lose data silently: a quote that runs to the end of the file, and a
//! cell that swallowed the rows after it (see [`MIN_SWALLOWED_LINES`]), are errors naming the
//! row and the column.

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
        error: e,
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
        Some(r) => r.map_err(|e| csv_error(path, bytes, &e))?,
        None => {
            return Err(DataError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
    };
    let names = header_names(path, &header)?;
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    // (row, line) of each kept record, and where the last record starts: (row, line, byte).
    let mut origins: Vec<(usize, u64)> = Vec::new();
    let mut lines = Lines::default();
    let mut last = start_of(bytes, &mut lines, 1, &header);
    // The spreadsheet row of the next data record: blank lines are not rows (the parser skips
    // empty ones, and whitespace-only ones are skipped below), so every row number given for
    // this file — here and after loading — counts data records only.
    let mut row = 1;
    for record in records {
        let record = record.map_err(|e| csv_error(path, bytes, &e))?;
        let line = lines.at(bytes, record.position());
        // A line with only whitespace (or one empty field) is a blank line, not data.
        if record.len() == 1 && names.len() != 1 && record[0].iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        row += 1;
        last = start_of(bytes, &mut lines, row, &record);
        if record.len() != names.len() {
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
        origins.push((row, line));
    }
    check_last_quote_closed(path, bytes, delimiter, last, &names)?;
    check_swallowed_rows(path, &names, &cells, &origins, delimiter)?;
    if cells.first().is_none_or(Vec::is_empty) {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
            detail: " (the file has a header only)".into(),
            skipped: Vec::new(),
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

/// A cell whose continuation lines include at least this many that look like whole records
/// (as many delimiters as the header) is taken for rows swallowed by an unbalanced quote.
const MIN_SWALLOWED_LINES: usize = 3;

/// Where a record of `bytes` starts: `(row, line, byte offset)`.
fn start_of(
    bytes: &[u8],
    lines: &mut Lines,
    row: usize,
    record: &csv::ByteRecord,
) -> (usize, u64, usize) {
    let pos = record.position();
    (
        row,
        lines.at(bytes, pos),
        pos.map_or(0, |p| p.byte() as usize),
    )
}

/// Lines (from 1) of positions in a file, counted by `\n` as editors count them (the parser's
/// own count is one short after a `\r\n`); positions asked in file order cost one pass.
#[derive(Default)]
struct Lines {
    /// Byte offset counted up to, and the `\n`s before it.
    byte: usize,
    newlines: u64,
}

impl Lines {
    /// The line of `bytes` that holds `pos` (0 without a position). After a `\r\n` the parser
    /// puts the next record's start on the `\n`: that `\n` is counted.
    fn at(&mut self, bytes: &[u8], pos: Option<&csv::Position>) -> u64 {
        let Some(pos) = pos else { return 0 };
        let to = (pos.byte() as usize + 1).min(bytes.len());
        if to < self.byte {
            *self = Lines::default();
        }
        self.newlines += bytes[self.byte..to].iter().filter(|&&b| b == b'\n').count() as u64;
        self.byte = to;
        1 + self.newlines
    }
}

/// The parser accepts a quote that is never closed and silently makes the rest of the file one
/// cell; refuse that, naming the row and the column where the quote opens.
fn check_last_quote_closed(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    (row, line, byte): (usize, u64, usize),
    names: &[String],
) -> Result<(), DataError> {
    let rest = bytes.get(byte..).unwrap_or_default();
    let Some(field) = unclosed_quote_field(rest, delimiter) else {
        return Ok(());
    };
    Err(DataError::UnclosedQuote {
        path: path.to_path_buf(),
        row,
        line,
        column: names
            .get(field)
            .cloned()
            .unwrap_or_else(|| format!("field {}", field + 1)),
        // Lines after the one where the record starts (blank ones not counted).
        lines: rest
            .split(|&b| b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .count()
            .saturating_sub(1),
    })
}

/// Scans one record from its first byte as the CSV parser does (RFC 4180 quoting, `""` inside
/// quotes); returns the 0-based field whose quote is still open at the end of `bytes`.
fn unclosed_quote_field(bytes: &[u8], delimiter: u8) -> Option<usize> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut field = 0;
    for &b in bytes {
        let ends_field = b == delimiter || b == b'\n' || b == b'\r';
        state = match state {
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            State::FieldStart if b == b'"' => State::Quoted,
            _ if ends_field => {
                field = if b == delimiter { field + 1 } else { 0 };
                State::FieldStart
            }
            _ => State::Unquoted,
        };
    }
    (state == State::Quoted).then_some(field)
}

/// Refuses a cell that swallowed the rows after it (an unbalanced quote closed by a later
/// row's quote): the only multi-line cell of its column, with at least
/// [`MIN_SWALLOWED_LINES`] continuation lines holding a whole record's delimiters. Columns with
/// several multi-line cells (lyrics, addresses) are real text and are not judged.
fn check_swallowed_rows(
    path: &Path,
    names: &[String],
    cells: &[Vec<Option<String>>],
    origins: &[(usize, u64)],
    delimiter: u8,
) -> Result<(), DataError> {
    if names.len() < 2 {
        return Ok(());
    }
    let delimiter = char::from(delimiter);
    let record_like = |l: &str| l.matches(delimiter).count() + 1 >= names.len();
    for (j, column) in cells.iter().enumerate() {
        let mut multi_line = column
            .iter()
            .enumerate()
            .filter_map(|(k, v)| Some((k, v.as_deref()?)))
            .filter(|(_, v)| v.contains('\n'));
        let (Some((k, cell)), None) = (multi_line.next(), multi_line.next()) else {
            continue;
        };
        let lines = cell.lines().skip(1).filter(|l| record_like(l)).count();
        if lines >= MIN_SWALLOWED_LINES {
            let (row, line) = origins[k];
            return Err(DataError::SwallowedRows {
                path: path.to_path_buf(),
                row,
                line,
                column: names[j].clone(),
                lines,
            });
        }
    }
    Ok(())
}

/// Trims a cell and maps the usual missing-value markers to `None` (`?` as the UCI
/// repository's files write it).
pub(crate) fn clean_cell(text: &str) -> Option<String> {
    let t = text.trim();
    let missing = t.is_empty()
        || ["na", "n/a", "nan", "null", "none", "#n/a", "?"]
            .iter()
            .any(|m| t.eq_ignore_ascii_case(m));
    (!missing).then(|| t.to_string())
}

fn csv_error(path: &Path, bytes: &[u8], e: &csv::Error) -> DataError {
    let line = Lines::default().at(bytes, e.position());
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
    let given = header
        .iter()
        .enumerate()
        .map(|(j, field)| {
            std::str::from_utf8(field)
                .map(|n| n.trim().to_string())
                .map_err(|_| DataError::NotUtf8 {
                    path: path.to_path_buf(),
                    row: 1,
                    line: 1,
                    column: format!("header field {}", j + 1),
                })
        })
        .collect::<Result<Vec<String>, DataError>>()?;
    let mut names: Vec<String> = Vec::with_capacity(given.len());
    for (j, name) in given.iter().enumerate() {
        // An empty header gets `unnamed_<position>`, with `_` added until no column has it.
        let name = if name.is_empty() {
            let mut unnamed = format!("unnamed_{}", j + 1);
            while given.contains(&unnamed) || names.contains(&unnamed) {
                unnamed.push('_');
            }
            unnamed
        } else {
            name.clone()
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
    fn an_empty_header_gets_a_name_no_column_has() {
        let header = csv::ByteRecord::from(vec!["", "unnamed_1", "x", " "]);
        let names = header_names(Path::new("h.csv"), &header).unwrap();
        assert_eq!(names, ["unnamed_1_", "unnamed_1", "x", "unnamed_4"]);
        let twice = csv::ByteRecord::from(vec!["x", "y", "x"]);
        let e = header_names(Path::new("h.csv"), &twice).unwrap_err();
        assert!(e.to_string().contains("'x'"), "{e}");
    }

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
    fn unclosed_quotes_are_found() {
        assert_eq!(unclosed_quote_field(b"1,\"ok\"\n", b','), None);
        assert_eq!(unclosed_quote_field(b"1,\"a \"\"b\"\" c\"\n", b','), None);
        assert_eq!(unclosed_quote_field(b"1,\"open\n2,x\n3,y\n", b','), Some(1));
        assert_eq!(unclosed_quote_field(b"\"open;x\n", b';'), Some(0));
        // A quote inside an unquoted field is a literal character.
        assert_eq!(unclosed_quote_field(b"5\"10,x\n", b','), None);
        // A closed quote followed by text stays closed.
        assert_eq!(unclosed_quote_field(b"\"a\"b,\"c\"\r\n", b','), None);
    }

    /// Blank lines, empty or whitespace only, are not rows: the row a message gives is the
    /// data record's (as after loading), the line where it is in the file.
    #[test]
    fn blank_lines_do_not_count_as_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blank.csv");
        std::fs::write(&path, "a,b\n1,2\n\n   \n3,4\n5\n").unwrap();
        match read_csv(&path) {
            Err(DataError::RaggedRow { row, line, .. }) => assert_eq!((row, line), (4, 6)),
            Err(other) => panic!("expected a ragged row, got {other}"),
            Ok(_) => panic!("expected a ragged row"),
        }
        std::fs::write(&path, "a,b\n1,2\n  \n3,4\n").unwrap();
        let table = read_csv(&path).unwrap();
        assert_eq!(table.cells[0], [Some("1".into()), Some("3".into())]);
    }

    #[test]
    fn missing_markers_become_none() {
        for m in ["", "  ", "NA", "n/a", "NaN", "null", "None", " ?"] {
            assert_eq!(clean_cell(m), None, "{m:?}");
        }
        assert_eq!(clean_cell(" x "), Some("x".into()));
        assert_eq!(clean_cell("0"), Some("0".into()));
        assert_eq!(clean_cell("??"), Some("??".into()));
    }
}
