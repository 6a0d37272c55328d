//! `f32` matrices stored as NumPy `.npy` files (format 1.0, little-endian `<f4`, C order), so
//! features and predictions can be opened with `numpy.load` for inspection.
//!
//! Layout: the magic `\x93NUMPY`, version bytes `1 0`, a little-endian `u16` header length, an
//! ASCII header `{'descr': '<f4', 'fortran_order': False, 'shape': (ROWS, COLS), }` padded with
//! spaces and ending in `\n` so the data starts at a multiple of 64 bytes, then `ROWS × COLS`
//! little-endian `f32` values row by row.

use std::path::Path;

use ndarray::{Array2, ArrayView2};

use super::ProjectError;
use super::atomic::write_atomic;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Encodes a matrix as `.npy` bytes.
pub fn encode_npy(x: ArrayView2<f32>) -> Vec<u8> {
    let (rows, cols) = x.dim();
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + rows * cols * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in x.iter() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes `.npy` bytes holding a 2-D little-endian `f32` C-order array. `path` is for messages.
pub fn decode_npy(bytes: &[u8], path: &Path) -> Result<Array2<f32>, ProjectError> {
    let bad = |reason: String| ProjectError::BadArray {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy file (bad magic)".into()));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(format!("unsupported .npy version {v}"))),
    };
    let data_start = start + header_len;
    let header = bytes
        .get(start..data_start)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("truncated or non-text header".into()))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if !(compact.contains("'descr':'<f4'") || compact.contains("\"descr\":\"<f4\"")) {
        return Err(bad(format!(
            "expected little-endian float32 ('<f4'), header is {}",
            header.trim()
        )));
    }
    if compact.contains("'fortran_order':True") {
        return Err(bad("Fortran-ordered arrays are not supported".into()));
    }
    let shape_src = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad(format!("no shape in header {}", header.trim())))?;
    let dims: Vec<usize> = shape_src
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad(format!("bad shape ({shape_src})")))?;
    let [rows, cols] = dims[..] else {
        return Err(bad(format!("expected a 2-D array, shape is ({shape_src})")));
    };
    let n = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| bad("shape overflows".into()))?;
    let data = &bytes[data_start.min(bytes.len())..];
    if data.len() != n {
        return Err(bad(format!(
            "shape ({rows}, {cols}) needs {n} data bytes, file has {}",
            data.len()
        )));
    }
    let values: Vec<f32> = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Array2::from_shape_vec((rows, cols), values).map_err(|e| bad(e.to_string()))
}

/// Writes a matrix to `path` as `.npy`, atomically.
pub fn write_npy(path: &Path, x: ArrayView2<f32>) -> Result<(), ProjectError> {
    write_atomic(path, &encode_npy(x))
}

/// Reads a `.npy` matrix; with `expect_shape`, refuses a matrix of any other shape
/// (`None` in either position accepts any size there).
pub fn read_npy(
    path: &Path,
    expect_shape: (Option<usize>, Option<usize>),
) -> Result<Array2<f32>, ProjectError> {
    let bytes = std::fs::read(path).map_err(|e| ProjectError::io(path, e))?;
    let x = decode_npy(&bytes, path)?;
    let (rows, cols) = x.dim();
    let ok = expect_shape.0.is_none_or(|r| r == rows) && expect_shape.1.is_none_or(|c| c == cols);
    if !ok {
        let show = |d: Option<usize>| d.map_or("any".to_string(), |v| v.to_string());
        return Err(ProjectError::BadArray {
            path: path.to_path_buf(),
            reason: format!(
                "shape ({rows}, {cols}) but expected ({}, {})",
                show(expect_shape.0),
                show(expect_shape.1)
            ),
        });
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn round_trips_and_checks_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let x = array![[1.0f32, -2.5, 3.25], [f32::MAX, 0.0, 1e-7]];
        write_npy(&path, x.view()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0, "data is 64-byte aligned");
        assert_eq!(bytes.len(), 10 + header_len + 6 * 4);
        assert_eq!(read_npy(&path, (Some(2), Some(3))).unwrap(), x);
        assert_eq!(read_npy(&path, (None, None)).unwrap(), x);
        let e = read_npy(&path, (Some(5), None)).unwrap_err().to_string();
        assert!(
            e.contains("expected (5, any)") && e.contains("x.npy"),
            "{e}"
        );
    }

    #[test]
    fn decodes_bytes_written_by_numpy() {
        // `np.save(f, np.array([[1, 2], [3, 4]], dtype='<f4'))` with numpy 2.4.6.
        let mut bytes = b"\x93NUMPY\x01\x00v\x00".to_vec();
        let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }".to_string();
        while header.len() < 0x75 {
            header.push(' ');
        }
        header.push('\n');
        bytes.extend_from_slice(header.as_bytes());
        for v in [1.0f32, 2.0, 3.0, 4.0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let x = decode_npy(&bytes, Path::new("np.npy")).unwrap();
        assert_eq!(x, array![[1.0f32, 2.0], [3.0, 4.0]]);
        assert_eq!(
            encode_npy(x.view()),
            bytes,
            "our encoding is byte-identical to numpy's"
        );
    }

    #[test]
    fn refuses_truncated_or_wrong_dtype() {
        let x = array![[1.0f32, 2.0]];
        let mut bytes = encode_npy(x.view());
        bytes.pop();
        assert!(
            decode_npy(&bytes, Path::new("t.npy"))
                .unwrap_err()
                .to_string()
                .contains("data bytes")
        );
        let mut f8 = encode_npy(x.view());
        let at = f8.windows(3).position(|w| w == b"<f4").unwrap();
        f8[at + 2] = b'8';
        let e = decode_npy(&f8, Path::new("t.npy")).unwrap_err().to_string();
        assert!(e.contains("float32"), "{e}");
        assert!(decode_npy(b"hello", Path::new("t.npy")).is_err());
    }
}
