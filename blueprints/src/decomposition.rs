//! Truncated SVD of a sparse matrix by randomized subspace iteration (Halko, Martinsson & Tropp,
//! 2011), as scikit-learn's `TruncatedSVD(algorithm="randomized")` does for latent semantic
//! analysis: TF-IDF's tens of thousands of sparse columns become a few hundred dense ones, which
//! trees and dense nets can use.
//!
//! Fit on `A` (`n × d`, CSR): a Gaussian `d × l` test matrix (`l = k + oversamples`) is pushed
//! through `A`, then `n_iter` rounds of `Q ← orth(A Aᵀ Q)` (orthonormalized each round, in f64);
//! `B = Qᵀ A` is small (`l × d`), and the eigen-decomposition of `B Bᵀ` (Jacobi) gives the top
//! singular values and right singular vectors. Components are signed so that each one's largest
//! entry is positive (scikit-learn's `svd_flip` on `Vᵀ`), so a seed always gives the same result.
//! `transform(X) = X Vₖ` (no centring, like scikit-learn).

use ndarray::{Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sprs::CsMat;

use crate::error::{BlueprintError, Result};

/// Settings of a truncated SVD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruncatedSvd {
    /// Components kept (at most `min(rows, columns)`).
    pub n_components: usize,
    /// Extra random directions beyond `n_components` (accuracy of the last components).
    pub n_oversamples: usize,
    /// Power (subspace) iterations; scikit-learn's default is 5.
    pub n_iter: usize,
    /// Seed of the random test matrix.
    pub seed: u64,
    fitted: Option<FittedSvd>,
}

/// What fitting produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FittedSvd {
    /// Right singular vectors, `k × d` (one component per row).
    components: Array2<f32>,
    /// Singular values, descending.
    singular_values: Vec<f32>,
}

impl TruncatedSvd {
    /// `n_components` components, 10 oversamples, 5 iterations.
    pub fn new(n_components: usize, seed: u64) -> Self {
        Self {
            n_components,
            n_oversamples: 10,
            n_iter: 5,
            seed,
            fitted: None,
        }
    }

    /// Fits the components on the rows of `x`.
    pub fn fit(&mut self, x: &CsMat<f32>) -> Result<()> {
        let x = csr(x);
        let (n, d) = (x.rows(), x.cols());
        if self.n_components == 0 {
            return Err(BlueprintError::InvalidParam {
                name: "n_components".into(),
                value: "0".into(),
                reason: "truncated SVD needs at least one component".into(),
            });
        }
        if n == 0 || d == 0 {
            return Err(BlueprintError::InvalidInput(format!(
                "truncated SVD of an empty {n} × {d} matrix"
            )));
        }
        if x.data().iter().any(|v| !v.is_finite()) {
            return Err(BlueprintError::InvalidInput(
                "truncated SVD input has NaN or infinite values".into(),
            ));
        }
        let k = self.n_components.min(n).min(d);
        let l = (k + self.n_oversamples).min(n).min(d);
        let xt = x.transpose_view().to_csr();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let omega = Array2::from_shape_fn((d, l), |_| standard_normal(&mut rng));
        let mut q = orthonormalize(sparse_dot(&x, omega.view()));
        for _ in 0..self.n_iter {
            let z = sparse_dot(&xt, q.view());
            q = orthonormalize(sparse_dot(&x, z.view()));
        }
        // Bᵀ = Aᵀ Q (d × l); B Bᵀ = (Aᵀ Q)ᵀ (Aᵀ Q).
        let bt = sparse_dot(&xt, q.view());
        let gram = bt.t().dot(&bt);
        let (values, vectors) = symmetric_eigen(gram);
        let mut components = Array2::<f32>::zeros((k, d));
        let mut singular_values = Vec::with_capacity(k);
        for i in 0..k {
            let s = values[i].max(0.0).sqrt();
            singular_values.push(s as f32);
            if s <= f64::EPSILON * values[0].max(0.0).sqrt().max(1.0) {
                continue; // rank below k: a zero component
            }
            let u = vectors.column(i);
            let mut v = bt.dot(&u) / s;
            // svd_flip on Vᵀ: the largest-magnitude entry of each component is positive.
            let pivot = v
                .iter()
                .copied()
                .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if pivot < 0.0 {
                v.mapv_inplace(|x| -x);
            }
            components
                .row_mut(i)
                .iter_mut()
                .zip(v.iter())
                .for_each(|(c, &x)| *c = x as f32);
        }
        self.fitted = Some(FittedSvd {
            components,
            singular_values,
        });
        Ok(())
    }

    /// `x` projected on the components, `rows × k`.
    pub fn transform(&self, x: &CsMat<f32>) -> Result<Array2<f32>> {
        let f = self.fitted()?;
        if x.cols() != f.components.ncols() {
            return Err(BlueprintError::InvalidInput(format!(
                "truncated SVD was fitted on {} columns but got {}",
                f.components.ncols(),
                x.cols()
            )));
        }
        let x = csr(x);
        let k = f.components.nrows();
        // Column c of the components, contiguous: row c of their transpose.
        let by_column = f.components.t().as_standard_layout().into_owned();
        let mut out = Array2::<f32>::zeros((x.rows(), k));
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(r, mut row)| {
                if let Some(v) = x.outer_view(r) {
                    for (c, &val) in v.iter() {
                        row.scaled_add(val, &by_column.row(c));
                    }
                }
            });
        Ok(out)
    }

    /// Fits on `x`, then projects it.
    pub fn fit_transform(&mut self, x: &CsMat<f32>) -> Result<Array2<f32>> {
        self.fit(x)?;
        self.transform(x)
    }

    /// Singular values of the fitted components, descending.
    pub fn singular_values(&self) -> Result<&[f32]> {
        Ok(&self.fitted()?.singular_values)
    }

    /// The components, `k × columns`.
    pub fn components(&self) -> Result<&Array2<f32>> {
        Ok(&self.fitted()?.components)
    }

    fn fitted(&self) -> Result<&FittedSvd> {
        self.fitted
            .as_ref()
            .ok_or_else(|| BlueprintError::NotFitted("truncated SVD".into()))
    }
}

/// The matrix in CSR storage (converted when it is CSC).
fn csr(x: &CsMat<f32>) -> std::borrow::Cow<'_, CsMat<f32>> {
    if x.is_csr() {
        std::borrow::Cow::Borrowed(x)
    } else {
        std::borrow::Cow::Owned(x.to_csr())
    }
}

/// `a · m` for CSR `a` (`n × d`) and dense `m` (`d × l`), in f64, rows in parallel.
fn sparse_dot(a: &CsMat<f32>, m: ArrayView2<f64>) -> Array2<f64> {
    let mut out = Array2::<f64>::zeros((a.rows(), m.ncols()));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(r, mut row)| {
            if let Some(v) = a.outer_view(r) {
                for (c, &val) in v.iter() {
                    row.scaled_add(f64::from(val), &m.row(c));
                }
            }
        });
    out
}

/// Orthonormal columns spanning those of `y` (modified Gram–Schmidt, done twice for accuracy);
/// a column that is (numerically) dependent on the previous ones becomes zero.
fn orthonormalize(y: Array2<f64>) -> Array2<f64> {
    // Work on rows of the transpose: contiguous memory.
    let mut t = y.t().as_standard_layout().into_owned();
    let l = t.nrows();
    for j in 0..l {
        let (done, mut rest) = t.view_mut().split_at(Axis(0), j);
        let mut row = rest.row_mut(0);
        let original = row.dot(&row).sqrt();
        for _pass in 0..2 {
            for qi in done.rows() {
                let proj = qi.dot(&row);
                row.scaled_add(-proj, &qi);
            }
        }
        let norm = row.dot(&row).sqrt();
        if norm <= 1e-10 * original || norm == 0.0 {
            row.fill(0.0);
        } else {
            row.mapv_inplace(|v| v / norm);
        }
    }
    t.t().as_standard_layout().into_owned()
}

/// Eigenvalues (descending) and eigenvectors (columns, same order) of a symmetric matrix, by
/// cyclic Jacobi rotations.
fn symmetric_eigen(mut a: Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut v = Array2::<f64>::eye(n);
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let mut off = 0.0;
        for p in 0..n {
            for q in p + 1..n {
                off += a[[p, q]] * a[[p, q]];
            }
        }
        if off <= 1e-30 * total.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[[p, q]];
                if apq.abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[[j, j]].total_cmp(&a[[i, i]]).then(i.cmp(&j)));
    let values = order.iter().map(|&i| a[[i, i]]).collect();
    let vectors = Array2::from_shape_fn((n, n), |(r, c)| v[[r, order[c]]]);
    (values, vectors)
}

/// A draw from `N(0, 1)` (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    /// An `n × d` matrix `U diag(s) Vᵀ` with random orthonormal `U`, `V`, stored sparse.
    fn low_rank(n: usize, d: usize, s: &[f64], seed: u64) -> (CsMat<f32>, Array2<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let u = orthonormalize(Array2::from_shape_fn((n, s.len()), |_| {
            standard_normal(&mut rng)
        }));
        let v = orthonormalize(Array2::from_shape_fn((d, s.len()), |_| {
            standard_normal(&mut rng)
        }));
        let us = &u * &Array1::from(s.to_vec());
        let dense = us.dot(&v.t());
        let mut tri = sprs::TriMat::new((n, d));
        for ((r, c), &x) in dense.indexed_iter() {
            tri.add_triplet(r, c, x as f32);
        }
        (tri.to_csr(), v)
    }

    #[test]
    fn jacobi_reconstructs_a_symmetric_matrix() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let b = Array2::from_shape_fn((7, 7), |_| standard_normal(&mut rng));
        let m = b.dot(&b.t());
        let (vals, vecs) = symmetric_eigen(m.clone());
        assert!(vals.windows(2).all(|w| w[0] >= w[1]), "{vals:?}");
        let back = vecs
            .dot(&Array2::from_diag(&Array1::from(vals)))
            .dot(&vecs.t());
        let err = (&back - &m).iter().fold(0.0f64, |e, x| e.max(x.abs()));
        assert!(err < 1e-9, "reconstruction error {err}");
        let eye = vecs.t().dot(&vecs);
        let err = (&eye - &Array2::<f64>::eye(7))
            .iter()
            .fold(0.0f64, |e, x| e.max(x.abs()));
        assert!(err < 1e-10, "orthogonality error {err}");
    }

    #[test]
    fn recovers_the_singular_values_and_vectors_of_a_low_rank_matrix() {
        let s = [9.0, 7.0, 5.0, 3.0, 2.0, 1.0];
        let (x, v) = low_rank(120, 80, &s, 7);
        let mut svd = TruncatedSvd::new(4, 3);
        let proj = svd.fit_transform(&x).unwrap();
        assert_eq!(proj.dim(), (120, 4));
        for (got, want) in svd.singular_values().unwrap().iter().zip(&s) {
            assert!(
                (f64::from(*got) - want).abs() < 1e-3 * want,
                "{got} vs {want}"
            );
        }
        let comps = svd.components().unwrap();
        for i in 0..4 {
            let cos: f64 = comps
                .row(i)
                .iter()
                .zip(v.column(i))
                .map(|(&a, &b)| f64::from(a) * b)
                .sum();
            assert!(cos.abs() > 0.9999, "component {i}: |cos| = {}", cos.abs());
        }
        // The projection's column norms are the singular values (X V = U S).
        for (i, &s_i) in s.iter().enumerate().take(4) {
            let norm = proj
                .column(i)
                .iter()
                .map(|&a| f64::from(a).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!((norm - s_i).abs() < 1e-3 * s_i, "column {i}: {norm}");
        }
        // Same seed, same components; other rows project with the same components.
        let mut again = TruncatedSvd::new(4, 3);
        again.fit(&x).unwrap();
        assert_eq!(again.components().unwrap(), comps);
    }

    #[test]
    fn rank_below_k_gives_zero_components_and_bad_input_is_refused() {
        let (x, _) = low_rank(30, 20, &[4.0, 2.0], 11);
        let mut svd = TruncatedSvd::new(5, 0);
        let proj = svd.fit_transform(&x).unwrap();
        let sv = svd.singular_values().unwrap();
        assert!(
            (sv[0] - 4.0).abs() < 1e-3 && (sv[1] - 2.0).abs() < 1e-3,
            "{sv:?}"
        );
        assert!(sv[2..].iter().all(|&v| v < 1e-3), "{sv:?}");
        assert!(proj.iter().all(|v| v.is_finite()));
        assert!(svd.transform(&CsMat::zero((3, 7))).is_err());
        assert!(TruncatedSvd::new(2, 0).transform(&x).is_err());
        assert!(TruncatedSvd::new(0, 0).fit(&x).is_err());
        assert!(TruncatedSvd::new(2, 0).fit(&CsMat::zero((0, 5))).is_err());
        let mut tri = sprs::TriMat::new((2, 2));
        tri.add_triplet(0, 0, f32::NAN);
        assert!(TruncatedSvd::new(1, 0).fit(&tri.to_csr()).is_err());
    }
}
