//! The design matrix of a linear model: the dense block centred and scaled by the training
//! rows' column statistics (optional), the sparse block as is (never densified).

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use super::objective::Design;
use crate::features::Features;

/// A design matrix and the column statistics its dense block was standardised with (mean 0 and
/// scale 1 when not standardised).
pub struct Standardized<'a> {
    /// Mean subtracted from each dense column.
    pub mean: Vec<f64>,
    /// Scale each dense column was divided by.
    pub scale: Vec<f64>,
    /// The design matrix.
    pub design: Design<'a>,
}

impl<'a> Standardized<'a> {
    /// The design of `x`, its dense block standardised when `standardize`.
    pub fn new(x: &'a Features, standardize: bool) -> Self {
        let n_dense = x.n_dense();
        let (mean, scale) = match (&x.dense, standardize) {
            (Some(d), true) => column_stats(d.view()),
            _ => (vec![0.0; n_dense], vec![1.0; n_dense]),
        };
        let dense = x.dense.as_ref().filter(|d| d.ncols() > 0).map(|d| {
            let mut out = Array2::<f64>::zeros(d.dim());
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(d.axis_iter(Axis(0)))
                .for_each(|(mut o, r)| {
                    for (j, (ov, &rv)) in o.iter_mut().zip(r.iter()).enumerate() {
                        *ov = (rv as f64 - mean[j]) / scale[j];
                    }
                });
            out
        });
        let design = Design {
            dense,
            sparse: x.sparse.as_ref(),
            sparse_csc: x.sparse.as_ref().map(|s| s.to_csc()),
            n_rows: x.n_rows(),
        };
        Self {
            mean,
            scale,
            design,
        }
    }
}

/// Column means and scales of a dense block (scale 1 for constant columns).
fn column_stats(x: ArrayView2<f32>) -> (Vec<f64>, Vec<f64>) {
    let n = x.nrows().max(1) as f64;
    let cols: Vec<(f64, f64)> = (0..x.ncols())
        .into_par_iter()
        .map(|j| {
            let col = x.column(j);
            let mean = col.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = col.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
            let sd = var.sqrt();
            (
                mean,
                if sd > 1e-12 * mean.abs().max(1.0) {
                    sd
                } else {
                    1.0
                },
            )
        })
        .collect();
    cols.into_iter().unzip()
}
