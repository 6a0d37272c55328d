//! A fitted decision tree: numeric splits on raw thresholds, a value vector per leaf.

use serde::{Deserialize, Serialize};

use super::binning::BinnedData;

/// One internal node: rows with `x[feature] <= threshold` go left.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SplitNode {
    /// Feature index (dense columns first, then sparse columns).
    pub feature: u32,
    /// Raw threshold (the upper bound of bin `bin`).
    pub threshold: f32,
    /// Bin threshold used while training (go left when bin ≤ `bin`).
    pub bin: u8,
    /// Left child: node index when ≥ 0, leaf `!left` when < 0.
    pub left: i32,
    /// Right child, encoded like `left`.
    pub right: i32,
}

/// A decision tree; each leaf holds `n_outputs` values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tree {
    /// Internal nodes; node 0 is the root (none when the tree is a single leaf).
    pub nodes: Vec<SplitNode>,
    /// Leaf values, `n_leaves × n_outputs`, row-major.
    pub leaf_values: Vec<f32>,
    /// Values per leaf.
    pub n_outputs: usize,
}

impl Tree {
    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.leaf_values.len() / self.n_outputs.max(1)
    }

    /// The values of one leaf.
    pub fn leaf(&self, leaf: usize) -> &[f32] {
        &self.leaf_values[leaf * self.n_outputs..(leaf + 1) * self.n_outputs]
    }

    /// The leaf reached by a row whose feature values `value(feature)` returns.
    pub fn leaf_index(&self, value: impl Fn(usize) -> f32) -> usize {
        self.descend(|n| value(n.feature as usize) <= n.threshold)
    }

    /// The leaf reached by a binned training row.
    pub(crate) fn leaf_index_binned(&self, data: &BinnedData, row: usize) -> usize {
        self.descend(|n| data.bin_at(row, n.feature as usize) <= n.bin)
    }

    fn descend(&self, go_left: impl Fn(&SplitNode) -> bool) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            let child = if go_left(n) { n.left } else { n.right };
            if child < 0 {
                return !child as usize;
            }
            i = child as usize;
        }
    }
}

/// Reads feature values of one row of a [`crate::Features`] matrix without densifying it.
pub(crate) struct RowView<'a> {
    dense: Option<ndarray::ArrayView1<'a, f32>>,
    sparse_idx: &'a [usize],
    sparse_val: &'a [f32],
    n_dense: usize,
}

impl<'a> RowView<'a> {
    /// The view of row `r` (must be in range).
    pub fn new(x: &'a crate::Features, r: usize) -> Self {
        let dense = x.dense.as_ref().map(|d| d.row(r));
        let (sparse_idx, sparse_val) = match x.sparse.as_ref() {
            Some(s) if s.is_csr() && r < s.rows() => {
                let range = s.indptr().outer_inds_sz(r);
                (&s.indices()[range.clone()], &s.data()[range])
            }
            _ => (&[][..], &[][..]),
        };
        Self {
            dense,
            sparse_idx,
            sparse_val,
            n_dense: x.n_dense(),
        }
    }

    /// Value of feature `f`.
    pub fn get(&self, f: usize) -> f32 {
        if f < self.n_dense {
            self.dense.as_ref().map_or(0.0, |d| d[f])
        } else {
            match self.sparse_idx.binary_search(&(f - self.n_dense)) {
                Ok(i) => self.sparse_val[i],
                Err(_) => 0.0,
            }
        }
    }
}
