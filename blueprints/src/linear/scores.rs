//! Linear class scores `X·W + b` over a dense block and a CSR block side by side, by row chunks.

use ndarray::{Array2, ArrayView2, Axis, s};
use sprs::CsMat;

/// Rows per parallel chunk. Fixed (not derived from the thread count) so that sums over chunks
/// happen in the same order on every machine: same data, same model.
pub const ROW_CHUNK: usize = 256;

/// Scores for rows `r0..r0 + dense_chunk.nrows()` (or `n_rows` when there is no dense block):
/// `dense_chunk · W[..n_dense] + sparse[rows] · W[n_dense..] + b`, shape `rows × W.ncols()`.
pub fn chunk_scores(
    dense_chunk: Option<ArrayView2<f64>>,
    sparse: Option<&CsMat<f32>>,
    r0: usize,
    n_rows: usize,
    w: ArrayView2<f64>,
    b: &[f64],
) -> Array2<f64> {
    let m = w.ncols();
    let n_dense = dense_chunk.as_ref().map_or(0, |d| d.ncols());
    let mut z = match &dense_chunk {
        Some(d) if n_dense > 0 => d.dot(&w.slice(s![..n_dense, ..])),
        _ => Array2::zeros((n_rows, m)),
    };
    if let Some(sp) = sparse {
        // Raw-slice loops: rows have few non-zeros and `m` is small, so per-call overhead matters.
        let w_sparse = w.slice(s![n_dense.., ..]);
        let w_owned;
        let w_flat: &[f64] = match w_sparse.as_slice() {
            Some(sl) => sl,
            None => {
                w_owned = w_sparse.iter().copied().collect::<Vec<f64>>();
                &w_owned
            }
        };
        for (i, mut zrow) in z.axis_iter_mut(Axis(0)).enumerate() {
            let Some(row) = sp.outer_view(r0 + i) else {
                continue;
            };
            let mut acc = vec![0.0f64; m];
            for (j, &v) in row.iter() {
                let v = v as f64;
                for (a, &wv) in acc.iter_mut().zip(&w_flat[j * m..(j + 1) * m]) {
                    *a += v * wv;
                }
            }
            zrow.iter_mut().zip(&acc).for_each(|(zv, a)| *zv += a);
        }
    }
    for mut zrow in z.axis_iter_mut(Axis(0)) {
        zrow.iter_mut().zip(b).for_each(|(zv, bv)| *zv += bv);
    }
    z
}
