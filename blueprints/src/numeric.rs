//! Small numeric helpers shared by the estimators: stable softmax, log-sum-exp, probability floors.

use ndarray::{Array2, ArrayView2};

/// Smallest probability an estimator reports for any class (also for classes absent from the
/// training fold), so that log loss stays finite. Rows are renormalised after flooring.
pub const PROB_FLOOR: f64 = 1e-7;

/// `log(sum(exp(z)))`, computed without overflow. Returns `-inf` for an empty slice.
pub fn log_sum_exp(z: &[f64]) -> f64 {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + z.iter().map(|&v| (v - max).exp()).sum::<f64>().ln()
}

/// Replaces `z` by `softmax(z)` in place and returns `log(sum(exp(z)))` of the input.
pub fn softmax_in_place(z: &mut [f64]) -> f64 {
    let lse = log_sum_exp(z);
    for v in z.iter_mut() {
        *v = (*v - lse).exp();
    }
    lse
}

/// Row-wise softmax of a score matrix.
pub fn softmax_rows(scores: ArrayView2<f64>) -> Array2<f64> {
    let mut out = scores.to_owned();
    for mut row in out.rows_mut() {
        if let Some(s) = row.as_slice_mut() {
            softmax_in_place(s);
        } else {
            let mut v = row.to_vec();
            softmax_in_place(&mut v);
            row.iter_mut().zip(v).for_each(|(d, s)| *d = s);
        }
    }
    out
}

/// Floors every probability at [`PROB_FLOOR`] and renormalises each row to sum to 1.
/// Non-finite entries (which should never happen) are treated as the floor.
pub fn floor_and_normalize(p: &mut Array2<f64>) {
    for mut row in p.rows_mut() {
        row.mapv_inplace(|v| {
            if v.is_finite() {
                v.max(PROB_FLOOR)
            } else {
                PROB_FLOOR
            }
        });
        let s: f64 = row.sum();
        row.mapv_inplace(|v| v / s);
    }
}

/// Dot product of two equally long slices (four independent accumulators, so it vectorises;
/// the summation order is fixed, so results are reproducible).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_is_stable_for_huge_scores() {
        let mut z = [1000.0, 1000.0 + 2f64.ln()];
        let lse = softmax_in_place(&mut z);
        assert!((z[0] - 1.0 / 3.0).abs() < 1e-12 && (z[1] - 2.0 / 3.0).abs() < 1e-12);
        assert!((lse - (1000.0 + 3f64.ln())).abs() < 1e-9);
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
    }

    #[test]
    fn floor_keeps_rows_normalised() {
        let mut p = array![[1.0, 0.0, 0.0], [0.5, 0.5, f64::NAN]];
        floor_and_normalize(&mut p);
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
            assert!(row.iter().all(|&v| v >= PROB_FLOOR * 0.99));
        }
        let s = softmax_rows(array![[0.0, 0.0]].view());
        assert_eq!(s, array![[0.5, 0.5]]);
    }

    #[test]
    fn dot_handles_tails() {
        let a: Vec<f64> = (1..=7).map(f64::from).collect();
        assert_eq!(dot(&a, &a), 140.0);
        assert_eq!(dot(&[], &[]), 0.0);
    }
}
