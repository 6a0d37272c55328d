//! The penalised multinomial logistic loss and its gradient, in scikit-learn's scaling:
//! `f(W, b) = (1/S) * [sum_i s_i * loss_i + (1 - l1_ratio) / (2C) * ||W||²]` with `S = sum_i s_i`
//! (same minimiser as `C * sum_i s_i loss_i + 0.5 ||W||²`). The L1 part is handled by the
//! optimiser (OWL-QN). With two classes the model has one score column (class 1 vs class 0,
//! like scikit-learn's binary case); with `K >= 3` it has `K` columns (symmetric softmax).

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;
use sprs::CsMat;

use super::scores::{ROW_CHUNK, chunk_scores};
use crate::numeric::log_sum_exp;

/// Columns of the design matrix (dense block already standardised and in f64).
pub struct Design<'a> {
    /// Dense block, `rows × n_dense` (may have zero columns).
    pub dense: Option<Array2<f64>>,
    /// Sparse block in CSR (rows) ...
    pub sparse: Option<&'a CsMat<f32>>,
    /// ... and the same block in CSC (columns), for the gradient `Xᵀ R` without reductions.
    pub sparse_csc: Option<CsMat<f32>>,
    /// Number of rows.
    pub n_rows: usize,
}

impl Design<'_> {
    /// Total number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_dense() + self.sparse.map_or(0, |s| s.cols())
    }

    /// Number of dense columns.
    pub fn n_dense(&self) -> usize {
        self.dense.as_ref().map_or(0, |d| d.ncols())
    }
}

/// The smooth part of the objective for one training set.
pub struct SoftmaxObjective<'a> {
    /// Design matrix.
    pub design: &'a Design<'a>,
    /// Labels in `0..n_classes`.
    pub y: &'a [u32],
    /// Row weights `s_i` (sample weight times class weight).
    pub weights: &'a [f64],
    /// Number of (present) classes, at least 2.
    pub n_classes: usize,
    /// L2 coefficient on `||W||²` before the `1/S` scaling: `(1 - l1_ratio) / C`.
    pub l2: f64,
}

impl SoftmaxObjective<'_> {
    /// Score columns: 1 for two classes, `K` otherwise.
    pub fn n_outputs(&self) -> usize {
        if self.n_classes == 2 {
            1
        } else {
            self.n_classes
        }
    }

    /// Length of the parameter vector: `n_cols * m` weights (row-major, column `j` of the design
    /// owns `theta[j*m .. (j+1)*m]`) followed by `m` intercepts.
    pub fn n_params(&self) -> usize {
        (self.design.n_cols() + 1) * self.n_outputs()
    }

    /// Sum of the row weights `S`.
    pub fn weight_sum(&self) -> f64 {
        self.weights.iter().sum()
    }

    /// Objective value; writes the gradient into `grad`.
    pub fn value_grad(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let m = self.n_outputs();
        let d = self.design.n_cols();
        let n = self.design.n_rows;
        let w =
            ArrayView2::from_shape((d, m), &theta[..d * m]).expect("theta has n_params entries");
        let b = &theta[d * m..];
        let s_total = self.weight_sum();

        // Phase 1 (parallel over row chunks): scores, loss, residuals R = s_i * (p - onehot).
        let mut resid = Array2::<f64>::zeros((n, m));
        let losses: Vec<f64> = resid
            .axis_chunks_iter_mut(Axis(0), ROW_CHUNK)
            .into_par_iter()
            .enumerate()
            .map(|(c, r_chunk)| self.chunk_loss(c * ROW_CHUNK, w, b, r_chunk))
            .collect();
        let loss: f64 = losses.iter().sum();

        // Phase 2 (parallel over design columns): G = Xᵀ R, then the L2 term and the 1/S scale.
        let (gw, gb) = grad.split_at_mut(d * m);
        let mut gw = ArrayViewMut2::from_shape((d, m), gw).expect("grad has n_params entries");
        let n_dense = self.design.n_dense();
        let (mut g_dense, mut g_sparse) = gw.view_mut().split_at(Axis(0), n_dense);
        if let Some(xd) = &self.design.dense {
            const COL_CHUNK: usize = 64;
            g_dense
                .axis_chunks_iter_mut(Axis(0), COL_CHUNK)
                .into_par_iter()
                .enumerate()
                .for_each(|(c, mut gc)| {
                    let c0 = c * COL_CHUNK;
                    let xc = xd.slice(s![.., c0..c0 + gc.nrows()]);
                    ndarray::linalg::general_mat_mul(1.0, &xc.t(), &resid, 0.0, &mut gc);
                });
        }
        if let Some(csc) = &self.design.sparse_csc {
            let r_flat = resid
                .as_slice()
                .expect("residuals are a fresh standard-layout array");
            let g_flat = g_sparse
                .as_slice_mut()
                .expect("gradient rows are contiguous");
            g_flat
                .par_chunks_mut(m * 64)
                .enumerate()
                .for_each(|(c, g_block)| {
                    g_block.fill(0.0);
                    for (jj, gj) in g_block.chunks_mut(m).enumerate() {
                        let Some(col) = csc.outer_view(c * 64 + jj) else {
                            continue;
                        };
                        for (i, &v) in col.iter() {
                            let v = v as f64;
                            for (g, &r) in gj.iter_mut().zip(&r_flat[i * m..(i + 1) * m]) {
                                *g += v * r;
                            }
                        }
                    }
                });
        }
        let mut sq = 0.0;
        for (gv, &wv) in gw.iter_mut().zip(w.iter()) {
            *gv = (*gv + self.l2 * wv) / s_total;
            sq += wv * wv;
        }
        for (k, gbk) in gb.iter_mut().enumerate() {
            *gbk = resid.column(k).sum() / s_total;
        }
        (loss + 0.5 * self.l2 * sq) / s_total
    }

    fn chunk_loss(
        &self,
        r0: usize,
        w: ArrayView2<f64>,
        b: &[f64],
        mut r_chunk: ArrayViewMut2<f64>,
    ) -> f64 {
        let rows = r_chunk.nrows();
        let dense = self
            .design
            .dense
            .as_ref()
            .map(|d| d.slice(s![r0..r0 + rows, ..]));
        let z = chunk_scores(dense, self.design.sparse, r0, rows, w, b);
        let mut loss = 0.0;
        let mut probs = vec![0.0; self.n_classes];
        for (i, (zrow, mut rrow)) in z
            .axis_iter(Axis(0))
            .zip(r_chunk.axis_iter_mut(Axis(0)))
            .enumerate()
        {
            let yi = self.y[r0 + i] as usize;
            let si = self.weights[r0 + i];
            if self.n_classes == 2 {
                let zi = zrow[0];
                // softplus(z) - y z, and sigmoid, both stable for large |z|.
                let softplus = if zi > 0.0 {
                    zi + (-zi).exp().ln_1p()
                } else {
                    zi.exp().ln_1p()
                };
                let p1 = if zi >= 0.0 {
                    1.0 / (1.0 + (-zi).exp())
                } else {
                    zi.exp() / (1.0 + zi.exp())
                };
                let y1 = if yi == 1 { 1.0 } else { 0.0 };
                loss += si * (softplus - y1 * zi);
                rrow[0] = si * (p1 - y1);
            } else {
                probs
                    .iter_mut()
                    .zip(zrow.iter())
                    .for_each(|(p, &zv)| *p = zv);
                let lse = log_sum_exp(&probs);
                loss += si * (lse - zrow[yi]);
                for (k, rk) in rrow.iter_mut().enumerate() {
                    let pk = (zrow[k] - lse).exp();
                    *rk = si * (pk - if k == yi { 1.0 } else { 0.0 });
                }
            }
        }
        loss
    }
}
