//! The feature matrix: a dense block and/or a sparse CSR block with the same rows, side by side.

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use sprs::CsMat;

use crate::error::{BlueprintError, Result};

/// Features for a set of rows. Column order is dense columns first, then sparse columns.
/// Sparse blocks (TF-IDF) are never densified by estimators that can use them directly.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Features {
    /// Dense block, `rows × dense_cols`.
    pub dense: Option<Array2<f32>>,
    /// Sparse block in CSR, `rows × sparse_cols`.
    pub sparse: Option<CsMat<f32>>,
    /// One name per column (dense then sparse); may be empty when names are unknown.
    pub names: Vec<String>,
}

impl Features {
    /// Dense-only features.
    pub fn dense(x: Array2<f32>) -> Self {
        Self {
            dense: Some(x),
            sparse: None,
            names: Vec::new(),
        }
    }

    /// Sparse-only features.
    pub fn sparse(x: CsMat<f32>) -> Self {
        Self {
            dense: None,
            sparse: Some(x.to_csr()),
            names: Vec::new(),
        }
    }

    /// Number of rows (0 when there is no block).
    pub fn n_rows(&self) -> usize {
        self.dense
            .as_ref()
            .map(|d| d.nrows())
            .or_else(|| self.sparse.as_ref().map(|s| s.rows()))
            .unwrap_or(0)
    }

    /// Number of dense columns.
    pub fn n_dense(&self) -> usize {
        self.dense.as_ref().map_or(0, |d| d.ncols())
    }

    /// Number of sparse columns.
    pub fn n_sparse(&self) -> usize {
        self.sparse.as_ref().map_or(0, |s| s.cols())
    }

    /// Total number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_dense() + self.n_sparse()
    }

    /// Checks the blocks agree on rows, there is at least one column and one row,
    /// and every stored value is finite. Names the first bad cell.
    pub fn validate(&self) -> Result<()> {
        if let (Some(d), Some(s)) = (&self.dense, &self.sparse)
            && d.nrows() != s.rows()
        {
            return Err(BlueprintError::InvalidInput(format!(
                "dense block has {} rows but sparse block has {}",
                d.nrows(),
                s.rows()
            )));
        }
        if self.n_cols() == 0 {
            return Err(BlueprintError::InvalidInput(
                "feature matrix has no columns".into(),
            ));
        }
        if self.n_rows() == 0 {
            return Err(BlueprintError::InvalidInput(
                "feature matrix has no rows".into(),
            ));
        }
        if let Some(d) = &self.dense
            && let Some(((r, c), v)) = d.indexed_iter().find(|(_, v)| !v.is_finite())
        {
            return Err(BlueprintError::InvalidInput(format!(
                "non-finite value {v} at row {r}, column {}",
                self.column_label(c)
            )));
        }
        if let Some(s) = &self.sparse {
            for (r, row) in s.outer_iterator().enumerate() {
                if let Some((c, v)) = row.iter().find(|(_, v)| !v.is_finite()) {
                    return Err(BlueprintError::InvalidInput(format!(
                        "non-finite value {v} at row {r}, column {}",
                        self.column_label(self.n_dense() + c)
                    )));
                }
            }
        }
        Ok(())
    }

    fn column_label(&self, c: usize) -> String {
        match self.names.get(c) {
            Some(n) => format!("{c} ('{n}')"),
            None => c.to_string(),
        }
    }

    /// A copy holding only `rows`, in that order.
    pub fn select_rows(&self, rows: &[usize]) -> Features {
        let dense = self.dense.as_ref().map(|d| d.select(Axis(0), rows));
        let sparse = self.sparse.as_ref().map(|s| {
            let mut b = sprs::TriMat::new((rows.len(), s.cols()));
            for (i, &r) in rows.iter().enumerate() {
                if let Some(row) = s.outer_view(r) {
                    for (c, &v) in row.iter() {
                        b.add_triplet(i, c, v);
                    }
                }
            }
            b.to_csr()
        });
        Features {
            dense,
            sparse,
            names: self.names.clone(),
        }
    }

    /// Value at (row, col) across both blocks (slow path for tests and insights).
    pub fn get(&self, row: usize, col: usize) -> f32 {
        let nd = self.n_dense();
        if col < nd {
            self.dense.as_ref().map_or(0.0, |d| d[[row, col]])
        } else {
            self.sparse
                .as_ref()
                .and_then(|s| s.get(row, col - nd).copied())
                .unwrap_or(0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn select_rows_keeps_both_blocks_aligned() {
        let d = array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let mut t = sprs::TriMat::new((3, 3));
        t.add_triplet(0, 1, 7.0f32);
        t.add_triplet(2, 2, 9.0f32);
        let f = Features {
            dense: Some(d),
            sparse: Some(t.to_csr()),
            names: vec![],
        };
        let s = f.select_rows(&[2, 0]);
        assert_eq!(s.n_rows(), 2);
        assert_eq!(s.get(0, 0), 5.0);
        assert_eq!(s.get(0, 4), 9.0);
        assert_eq!(s.get(1, 3), 7.0);
        assert_eq!(s.get(1, 4), 0.0);
    }

    #[test]
    fn validate_names_non_finite_cell() {
        let f = Features::dense(array![[1.0f32, f32::NAN]]);
        let e = f.validate().unwrap_err().to_string();
        assert!(e.contains("row 0, column 1"), "{e}");
        assert!(Features::default().validate().is_err());
    }
}
