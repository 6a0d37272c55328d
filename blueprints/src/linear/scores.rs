//! Linear class scores `X·W + b` over a dense block and a CSR block side by side, by row chunks.

use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;
use sprs::CsMat;

use crate::error::Result;
use crate::features::Features;
use crate::fit_input::{ClassMap, check_predict_columns};

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

/// Scores `X·W + b` (`rows × W.ncols()`) of a linear model fitted on `n_dense + n_sparse`
/// columns, computed in parallel row chunks.
pub fn linear_scores(
    x: &Features,
    (n_dense, n_sparse): (usize, usize),
    w: ArrayView2<f64>,
    b: &[f64],
) -> Result<Array2<f64>> {
    check_predict_columns(x, n_dense, n_sparse)?;
    let mut out = Array2::<f64>::zeros((x.n_rows(), w.ncols()));
    out.axis_chunks_iter_mut(Axis(0), ROW_CHUNK)
        .into_par_iter()
        .enumerate()
        .for_each(|(c, mut o)| {
            let r0 = c * ROW_CHUNK;
            let rows = o.nrows();
            let dense = x
                .dense
                .as_ref()
                .filter(|d| d.ncols() > 0)
                .map(|d| d.slice(s![r0..r0 + rows, ..]).mapv(|v| v as f64));
            let z = chunk_scores(
                dense.as_ref().map(|d| d.view()),
                x.sparse.as_ref(),
                r0,
                rows,
                w,
                b,
            );
            o.assign(&z);
        });
    Ok(out)
}

/// Class probabilities (`rows × n_classes`) of a linear model `W`, `b` fitted on
/// `n_dense + n_sparse` columns: `link` turns each row's scores `X·W + b` ([`linear_scores`])
/// into the probabilities of the `classes.n_present().max(1)` present classes, which are then
/// expanded to every class.
pub fn linear_proba(
    x: &Features,
    shape: (usize, usize),
    w: ArrayView2<f64>,
    b: &[f64],
    classes: &ClassMap,
    link: impl Fn(&[f64], &mut [f64]) + Sync,
) -> Result<Array2<f32>> {
    let z = linear_scores(x, shape, w, b)?;
    let k = classes.n_present().max(1);
    let mut out = Array2::<f64>::zeros((x.n_rows(), k));
    out.axis_chunks_iter_mut(Axis(0), ROW_CHUNK)
        .into_par_iter()
        .zip(z.axis_chunks_iter(Axis(0), ROW_CHUNK))
        .for_each(|(mut o, zc)| {
            let mut p = vec![0.0; k];
            for (zrow, mut orow) in zc.axis_iter(Axis(0)).zip(o.axis_iter_mut(Axis(0))) {
                link(&zrow.to_vec(), &mut p);
                orow.iter_mut().zip(&p).for_each(|(o, v)| *o = *v);
            }
        });
    Ok(classes.expand(out.view()))
}
