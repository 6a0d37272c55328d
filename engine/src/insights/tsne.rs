//! Exact t-SNE (van der Maaten & Hinton, 2008) for a few thousand points at most: Gaussian
//! affinities calibrated to a perplexity by binary search, Student-t similarities in 2-D,
//! gradient descent with momentum, per-coordinate gains and early exaggeration (the schedule of
//! the reference implementation and scikit-learn's exact method). O(n²) memory and time per
//! iteration, parallel over rows; seeded, so the same input and seed give the same map.

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr_normal::standard_normal;
use rayon::prelude::*;

use super::InsightError;

/// t-SNE settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TsneOptions {
    /// Effective number of neighbours (capped at `(n − 1) / 3`).
    pub perplexity: f64,
    /// Gradient steps.
    pub iterations: usize,
    /// Seed of the initial layout.
    pub seed: u64,
}

impl Default for TsneOptions {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            iterations: 750,
            seed: 0,
        }
    }
}

/// A few lines of Box–Muller so that no extra crate is needed for normal draws.
mod rand_distr_normal {
    use rand::Rng;

    /// One standard normal draw.
    pub fn standard_normal<R: Rng>(rng: &mut R) -> f64 {
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Squared Euclidean distances between the rows of `x`.
fn squared_distances(x: ArrayView2<f32>) -> Vec<f64> {
    let n = x.nrows();
    let norms: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| r.iter().map(|&v| f64::from(v) * f64::from(v)).sum())
        .collect();
    let mut d = vec![0.0; n * n];
    d.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        let xi = x.row(i);
        for j in 0..n {
            if i != j {
                let dot: f64 = xi
                    .iter()
                    .zip(x.row(j).iter())
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum();
                row[j] = (norms[i] + norms[j] - 2.0 * dot).max(0.0);
            }
        }
    });
    d
}

/// Conditional affinities `p_{j|i}` for one row, with the Gaussian width found by binary search
/// so that the entropy is `ln(perplexity)`.
fn row_affinities(d: &[f64], i: usize, perplexity: f64, out: &mut [f64]) {
    let target = perplexity.ln();
    let (mut beta, mut lo, mut hi) = (1.0f64, f64::NEG_INFINITY, f64::INFINITY);
    // Shift by the smallest distance for numerical stability.
    let dmin = d
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, &v)| v)
        .fold(f64::INFINITY, f64::min);
    for _ in 0..100 {
        let mut sum = 0.0;
        let mut weighted = 0.0;
        for (j, (&dj, o)) in d.iter().zip(out.iter_mut()).enumerate() {
            *o = if j == i {
                0.0
            } else {
                (-(dj - dmin) * beta).exp()
            };
            sum += *o;
            weighted += (dj - dmin) * *o;
        }
        let sum = sum.max(1e-300);
        let entropy = sum.ln() + beta * weighted / sum;
        for o in out.iter_mut() {
            *o /= sum;
        }
        let diff = entropy - target;
        if diff.abs() < 1e-5 {
            break;
        }
        if diff > 0.0 {
            lo = beta;
            beta = if hi.is_finite() {
                (beta + hi) / 2.0
            } else {
                beta * 2.0
            };
        } else {
            hi = beta;
            beta = if lo.is_finite() {
                (beta + lo) / 2.0
            } else {
                beta / 2.0
            };
        }
    }
}

/// Embeds the rows of `x` in 2-D. Needs at least 4 rows; returns `n × 2`.
pub fn tsne(x: ArrayView2<f32>, options: &TsneOptions) -> Result<Array2<f64>, InsightError> {
    let n = x.nrows();
    if n < 4 {
        return Err(InsightError::invalid(format!(
            "t-SNE needs at least 4 points, got {n}"
        )));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(InsightError::invalid("t-SNE input has non-finite values"));
    }
    let perplexity = options
        .perplexity
        .clamp(1.0, ((n - 1) as f64 / 3.0).max(1.0));
    let d = squared_distances(x);
    // Conditional affinities, then symmetrized joint probabilities.
    let mut cond = vec![0.0; n * n];
    cond.par_chunks_mut(n)
        .enumerate()
        .for_each(|(i, row)| row_affinities(&d[i * n..(i + 1) * n], i, perplexity, row));
    drop(d);
    let mut p = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            p[i * n + j] = ((cond[i * n + j] + cond[j * n + i]) / (2.0 * n as f64)).max(1e-12);
        }
        p[i * n + i] = 0.0;
    }
    drop(cond);

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut y: Vec<[f64; 2]> = (0..n)
        .map(|_| {
            [
                1e-4 * standard_normal(&mut rng),
                1e-4 * standard_normal(&mut rng),
            ]
        })
        .collect();
    let mut update = vec![[0.0f64; 2]; n];
    let mut gains = vec![[1.0f64; 2]; n];
    let exaggeration_iters = 250.min(options.iterations / 3);
    let learning_rate = (n as f64 / 12.0 / 4.0).max(50.0);
    let mut q_num = vec![0.0; n * n];
    for it in 0..options.iterations {
        let exaggeration = if it < exaggeration_iters { 12.0 } else { 1.0 };
        let momentum = if it < exaggeration_iters { 0.5 } else { 0.8 };
        // Student-t numerators and their sum.
        q_num.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            for j in 0..n {
                row[j] = if i == j {
                    0.0
                } else {
                    let dx = y[i][0] - y[j][0];
                    let dy = y[i][1] - y[j][1];
                    1.0 / (1.0 + dx * dx + dy * dy)
                };
            }
        });
        // Per-row sums in parallel, then a sequential total: rayon's float reductions split
        // work nondeterministically, and the same seed must give the same picture.
        let row_sums: Vec<f64> = q_num.par_chunks(n).map(|r| r.iter().sum()).collect();
        let z: f64 = row_sums.iter().sum::<f64>().max(1e-300);
        let grad: Vec<[f64; 2]> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut g = [0.0; 2];
                for j in 0..n {
                    if i == j {
                        continue;
                    }
                    let num = q_num[i * n + j];
                    let mult = (exaggeration * p[i * n + j] - num / z) * num;
                    g[0] += 4.0 * mult * (y[i][0] - y[j][0]);
                    g[1] += 4.0 * mult * (y[i][1] - y[j][1]);
                }
                g
            })
            .collect();
        for i in 0..n {
            for c in 0..2 {
                let same_sign = (grad[i][c] > 0.0) == (update[i][c] > 0.0);
                gains[i][c] = if same_sign {
                    (gains[i][c] * 0.8).max(0.01)
                } else {
                    gains[i][c] + 0.2
                };
                update[i][c] = momentum * update[i][c] - learning_rate * gains[i][c] * grad[i][c];
                y[i][c] += update[i][c];
            }
        }
        // Keep the map centred.
        let (mx, my) = y.iter().fold((0.0, 0.0), |(a, b), v| (a + v[0], b + v[1]));
        for v in &mut y {
            v[0] -= mx / n as f64;
            v[1] -= my / n as f64;
        }
    }
    let mut out = Array2::zeros((n, 2));
    for (i, v) in y.iter().enumerate() {
        out[[i, 0]] = v[0];
        out[[i, 1]] = v[1];
    }
    if out.iter().any(|v| !v.is_finite()) {
        return Err(InsightError::invalid(
            "t-SNE diverged (non-finite coordinates)",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well separated Gaussian blobs in 10-D stay three separated groups in 2-D: every
    /// point's nearest map neighbour is from its own blob.
    #[test]
    fn separated_blobs_stay_separated() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let per = 25;
        let mut x = Array2::<f32>::zeros((3 * per, 10));
        for b in 0..3 {
            for i in 0..per {
                for c in 0..10 {
                    let centre = if c == b { 20.0 } else { 0.0 };
                    x[[b * per + i, c]] = centre + standard_normal(&mut rng) as f32;
                }
            }
        }
        let opts = TsneOptions {
            perplexity: 10.0,
            iterations: 300,
            seed: 3,
        };
        let y = tsne(x.view(), &opts).unwrap();
        let n = 3 * per;
        let mut correct = 0;
        for i in 0..n {
            let nearest = (0..n)
                .filter(|&j| j != i)
                .min_by(|&a, &b| {
                    let da = (y[[i, 0]] - y[[a, 0]]).powi(2) + (y[[i, 1]] - y[[a, 1]]).powi(2);
                    let db = (y[[i, 0]] - y[[b, 0]]).powi(2) + (y[[i, 1]] - y[[b, 1]]).powi(2);
                    da.total_cmp(&db)
                })
                .unwrap();
            if nearest / per == i / per {
                correct += 1;
            }
        }
        assert_eq!(correct, n, "nearest neighbours across blobs");
        // Deterministic.
        assert_eq!(y, tsne(x.view(), &opts).unwrap());
        assert!(tsne(x.slice(ndarray::s![..3, ..]), &opts).is_err());
    }

    #[test]
    fn affinities_match_the_perplexity() {
        let d: Vec<f64> = (0..20).map(|j| (j as f64).powi(2) * 0.1).collect();
        let mut p = vec![0.0; 20];
        row_affinities(&d, 0, 5.0, &mut p);
        let h: f64 = -p
            .iter()
            .filter(|&&v| v > 0.0)
            .map(|v| v * v.ln())
            .sum::<f64>();
        assert!((h.exp() - 5.0).abs() < 1e-3, "perplexity {}", h.exp());
        assert_eq!(p[0], 0.0);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
