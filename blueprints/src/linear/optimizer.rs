//! Quasi-Newton minimisation of smooth convex objectives with an optional L1 term.
//!
//! * Without L1 this is L-BFGS (memory 10, backtracking Armijo line search starting at the unit
//!   step, scaled initial Hessian `s·y / y·y`).
//! * With an L1 term `sum_i l1[i] * |x_i|` it is OWL-QN (Andrew & Gao, 2007): the same two-loop
//!   recursion on the smooth part, driven by the L1 pseudo-gradient, with the search direction
//!   and every trial point projected onto the orthant of the current iterate.
//!
//! Stopping rules follow SciPy's L-BFGS-B as used by scikit-learn: the largest absolute
//! (pseudo-)gradient component is at most `tol`, or the relative decrease of the objective is
//! below `64 * f64::EPSILON`, or `max_iter` iterations have run.

use std::collections::VecDeque;

use rayon::prelude::*;

/// Vector length above which the vector operations below run in parallel.
const PAR_LEN: usize = 1 << 15;
/// Chunk length of the parallel vector operations (fixed, so sums are reproducible).
const PAR_CHUNK: usize = 1 << 13;

/// `a · b`; for long vectors a parallel sum of fixed chunks, added in order (deterministic).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    if a.len() < PAR_LEN {
        return crate::numeric::dot(a, b);
    }
    let parts: Vec<f64> = a
        .par_chunks(PAR_CHUNK)
        .zip(b.par_chunks(PAR_CHUNK))
        .map(|(x, y)| crate::numeric::dot(x, y))
        .collect();
    parts.iter().sum()
}

/// Settings of one minimisation.
#[derive(Debug, Clone)]
pub struct OptimOptions {
    /// Maximum number of quasi-Newton iterations.
    pub max_iter: usize,
    /// Tolerance on the largest absolute (pseudo-)gradient component.
    pub tol: f64,
    /// Number of correction pairs kept.
    pub memory: usize,
}

impl Default for OptimOptions {
    fn default() -> Self {
        Self {
            max_iter: 100,
            tol: 1e-4,
            memory: 10,
        }
    }
}

/// Where a minimisation ended.
#[derive(Debug, Clone)]
pub struct OptimResult {
    /// The minimiser found.
    pub x: Vec<f64>,
    /// Objective value at `x` (smooth part plus L1 term).
    pub value: f64,
    /// Iterations run.
    pub iterations: usize,
    /// Whether a stopping rule other than `max_iter` ended the run.
    pub converged: bool,
}

/// Minimises `f(x) + sum_i l1[i] * |x_i|` from `x0`. `f` writes its gradient into the second
/// argument and returns its value. Pass `l1 = None` (or all zeros) for plain L-BFGS.
pub fn minimize<F>(f: F, x0: Vec<f64>, l1: Option<&[f64]>, opts: &OptimOptions) -> OptimResult
where
    F: Fn(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let l1 = l1.filter(|w| w.iter().any(|&v| v > 0.0));
    let l1_term = |x: &[f64]| l1.map_or(0.0, |w| w.iter().zip(x).map(|(a, b)| a * b.abs()).sum());

    let mut x = x0;
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g) + l1_term(&x);
    let mut pg = pseudo_gradient(&x, &g, l1);
    let mut s_hist: VecDeque<Vec<f64>> = VecDeque::new();
    let mut y_hist: VecDeque<Vec<f64>> = VecDeque::new();
    let mut rho_hist: VecDeque<f64> = VecDeque::new();
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];

    for iter in 0..opts.max_iter {
        if max_abs(&pg) <= opts.tol {
            return OptimResult {
                x,
                value: fx,
                iterations: iter,
                converged: true,
            };
        }
        // Two-loop recursion: d = -H * pg.
        let mut d: Vec<f64> = pg.iter().map(|v| -v).collect();
        let k = s_hist.len();
        let mut alpha = vec![0.0; k];
        for i in (0..k).rev() {
            alpha[i] = rho_hist[i] * dot(&s_hist[i], &d);
            axpy(-alpha[i], &y_hist[i], &mut d);
        }
        if let (Some(s), Some(y)) = (s_hist.back(), y_hist.back()) {
            let gamma = dot(s, y) / dot(y, y);
            d.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..k {
            let beta = rho_hist[i] * dot(&y_hist[i], &d);
            axpy(alpha[i] - beta, &s_hist[i], &mut d);
        }
        if l1.is_some() {
            // Keep only components that descend along the pseudo-gradient.
            for (di, &pgi) in d.iter_mut().zip(&pg) {
                if *di * pgi >= 0.0 {
                    *di = 0.0;
                }
            }
        }
        let mut dir_deriv = dot(&d, &pg);
        if dir_deriv >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
            d = pg.iter().map(|v| -v).collect();
            dir_deriv = dot(&d, &pg);
        }
        // Orthant of the current iterate (OWL-QN).
        let orthant: Vec<f64> = if l1.is_some() {
            x.iter()
                .zip(&pg)
                .map(|(&xi, &pgi)| {
                    if xi != 0.0 {
                        xi.signum()
                    } else {
                        -pgi.signum()
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut step = if s_hist.is_empty() {
            1.0 / norm2(&pg).max(1e-300)
        } else {
            1.0
        };
        step = step.min(1.0);
        let mut accepted = false;
        let mut f_new = fx;
        for _ in 0..60 {
            let trial = |(i, xn): (usize, &mut f64)| {
                let mut v = x[i] + step * d[i];
                if l1.is_some() && v * orthant[i] <= 0.0 {
                    v = 0.0;
                }
                *xn = v;
            };
            if n < PAR_LEN {
                x_new.iter_mut().enumerate().for_each(trial);
            } else {
                x_new.par_iter_mut().enumerate().for_each(trial);
            }
            f_new = f(&x_new, &mut g_new) + l1_term(&x_new);
            let decrease: f64 = if l1.is_some() {
                pg.iter()
                    .zip(x_new.iter().zip(&x))
                    .map(|(p, (a, b))| p * (a - b))
                    .sum()
            } else {
                step * dir_deriv
            };
            if f_new.is_finite() && f_new <= fx + 1e-4 * decrease {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            // No progress possible along this direction: we are at the numerical optimum.
            return OptimResult {
                x,
                value: fx,
                iterations: iter + 1,
                converged: true,
            };
        }
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-10 * dot(&y, &y).max(1e-300) && sy > 0.0 {
            if s_hist.len() == opts.memory {
                s_hist.pop_front();
                y_hist.pop_front();
                rho_hist.pop_front();
            }
            rho_hist.push_back(1.0 / sy);
            s_hist.push_back(s);
            y_hist.push_back(y);
        }
        let rel_decrease = (fx - f_new) / fx.abs().max(f_new.abs()).max(1.0);
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        fx = f_new;
        pg = pseudo_gradient(&x, &g, l1);
        if rel_decrease <= 64.0 * f64::EPSILON {
            return OptimResult {
                x,
                value: fx,
                iterations: iter + 1,
                converged: true,
            };
        }
    }
    let converged = max_abs(&pg) <= opts.tol;
    OptimResult {
        x,
        value: fx,
        iterations: opts.max_iter,
        converged,
    }
}

/// The L1 pseudo-gradient (the minimum-norm subgradient); equals `g` without L1.
fn pseudo_gradient(x: &[f64], g: &[f64], l1: Option<&[f64]>) -> Vec<f64> {
    let Some(w) = l1 else { return g.to_vec() };
    x.iter()
        .zip(g)
        .zip(w)
        .map(|((&xi, &gi), &lam)| {
            if lam == 0.0 {
                gi
            } else if xi > 0.0 {
                gi + lam
            } else if xi < 0.0 {
                gi - lam
            } else if gi + lam < 0.0 {
                gi + lam
            } else if gi - lam > 0.0 {
                gi - lam
            } else {
                0.0
            }
        })
        .collect()
}

/// `y += a * x`.
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    if y.len() < PAR_LEN {
        y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += a * xi);
    } else {
        y.par_chunks_mut(PAR_CHUNK)
            .zip(x.par_chunks(PAR_CHUNK))
            .for_each(|(yc, xc)| yc.iter_mut().zip(xc).for_each(|(yi, xi)| *yi += a * xi));
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn norm2(v: &[f64]) -> f64 {
    dot(v, v).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(x) = 0.5 * sum_i a_i (x_i - c_i)^2, minimiser c.
    fn quadratic(x: &[f64], g: &mut [f64]) -> f64 {
        let a = [1.0, 10.0, 100.0];
        let c = [1.0, -2.0, 0.05];
        let mut f = 0.0;
        for i in 0..3 {
            g[i] = a[i] * (x[i] - c[i]);
            f += 0.5 * a[i] * (x[i] - c[i]).powi(2);
        }
        f
    }

    #[test]
    fn lbfgs_finds_quadratic_minimum() {
        let r = minimize(
            quadratic,
            vec![0.0; 3],
            None,
            &OptimOptions {
                tol: 1e-10,
                max_iter: 200,
                memory: 10,
            },
        );
        assert!(r.converged);
        for (xi, ci) in r.x.iter().zip([1.0, -2.0, 0.05]) {
            assert!((xi - ci).abs() < 1e-8, "{:?}", r.x);
        }
    }

    #[test]
    fn owlqn_soft_thresholds() {
        // Separable: minimiser is soft-threshold(c_i, l1_i / a_i) = [0.5, -1.99, 0].
        let l1 = [0.5, 0.1, 10.0];
        let r = minimize(
            quadratic,
            vec![0.0; 3],
            Some(&l1),
            &OptimOptions {
                tol: 1e-10,
                max_iter: 500,
                memory: 10,
            },
        );
        let want = [0.5, -2.0 + 0.01, 0.0];
        for (xi, wi) in r.x.iter().zip(want) {
            assert!((xi - wi).abs() < 1e-7, "{:?}", r.x);
        }
        assert_eq!(r.x[2], 0.0);
    }
}
