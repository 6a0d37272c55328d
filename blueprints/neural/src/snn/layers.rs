//! The arithmetic of the self-normalizing residual net: SELU, AlphaDropout, LeCun-normal
//! initialisation and the weight container shared by the parameters, their gradients and
//! Adam's moment estimates.

use ndarray::{Array1, Array2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// SELU's scale λ (Klambauer et al., 2017).
pub const SELU_LAMBDA: f32 = 1.050_701;
/// SELU's α.
pub const SELU_ALPHA: f32 = 1.673_263_2;

/// `selu(z) = λ z` for `z > 0`, `λ α (e^z − 1)` otherwise.
pub fn selu(z: f32) -> f32 {
    if z > 0.0 {
        SELU_LAMBDA * z
    } else {
        SELU_LAMBDA * SELU_ALPHA * (z.exp() - 1.0)
    }
}

/// `selu'(z)` written with the activation `a = selu(z)` (saves an `exp`).
pub fn selu_grad(z: f32, a: f32) -> f32 {
    if z > 0.0 {
        SELU_LAMBDA
    } else {
        a + SELU_LAMBDA * SELU_ALPHA
    }
}

/// AlphaDropout's affine constants for a drop rate (Keras `AlphaDropout`): a dropped unit is set
/// to `α' = −λα`, then everything is mapped by `a·x + b` so that mean 0 / variance 1 survive.
#[derive(Debug, Clone, Copy)]
pub struct AlphaDropout {
    /// Probability of dropping a unit.
    pub rate: f32,
    /// Multiplier `a`.
    pub scale: f32,
    /// Offset `b`.
    pub shift: f32,
}

impl AlphaDropout {
    /// Constants for `rate` in `[0, 1)`.
    pub fn new(rate: f32) -> Self {
        let alpha_p = -SELU_LAMBDA * SELU_ALPHA;
        let keep = 1.0 - rate;
        let scale = (keep * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
        let shift = -scale * alpha_p * rate;
        Self { rate, scale, shift }
    }

    /// The value a dropped unit takes after the affine map.
    pub fn dropped_value(&self) -> f32 {
        self.scale * (-SELU_LAMBDA * SELU_ALPHA) + self.shift
    }

    /// Draws whether one unit is dropped (one uniform from `rng`; every engine draws through
    /// this, so they consume the seeded stream identically).
    pub fn drops(&self, rng: &mut ChaCha8Rng) -> bool {
        rng.random::<f32>() < self.rate
    }

    /// Applies dropout in place to `x` during training; `mask` receives 1 (kept) or 0 (dropped)
    /// per entry. With rate 0 this is the identity and the mask is all ones.
    pub fn apply(&self, x: &mut Array2<f32>, mask: &mut Array2<f32>, rng: &mut ChaCha8Rng) {
        if self.rate <= 0.0 {
            mask.fill(1.0);
            return;
        }
        let dropped = self.dropped_value();
        for (v, m) in x.iter_mut().zip(mask.iter_mut()) {
            if self.drops(rng) {
                *v = dropped;
                *m = 0.0;
            } else {
                *v = self.scale * *v + self.shift;
                *m = 1.0;
            }
        }
    }
}

/// A draw from `N(0, 1)` (Box–Muller on two uniforms of `rng`).
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// One dense layer `x·W + b` (`W` is `inputs × outputs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    /// Weights, `inputs × outputs`.
    pub w: Array2<f32>,
    /// Bias, `outputs`.
    pub b: Array1<f32>,
}

impl Dense {
    /// Zeros of the given shape.
    pub fn zeros(inputs: usize, outputs: usize) -> Self {
        Self {
            w: Array2::zeros((inputs, outputs)),
            b: Array1::zeros(outputs),
        }
    }

    /// LeCun-normal weights (`N(0, 1/fan_in)`) and zero bias.
    pub fn lecun_normal(
        inputs: usize,
        outputs: usize,
        fan_in: usize,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let std = 1.0 / (fan_in.max(1) as f32).sqrt();
        let w = Array2::from_shape_simple_fn((inputs, outputs), || standard_normal(rng) * std);
        Self {
            w,
            b: Array1::zeros(outputs),
        }
    }
}

/// What a tensor of [`NetWeights`] is, for the optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorKind {
    /// A weight matrix (L2-penalised).
    Weight,
    /// The sparse-input weight rows (L2-penalised; only rows of columns seen in the batch are
    /// updated, like Keras' lazy Adam for embeddings).
    SparseInput,
    /// A bias (not penalised).
    Bias,
}

/// Every trainable tensor of the net. The same shape holds gradients and Adam's moments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetWeights {
    /// Input layer rows for the dense features (`n_dense × hidden`), its bias is shared with
    /// the sparse rows.
    pub input_dense: Array2<f32>,
    /// Input layer rows for the sparse features (`n_sparse × hidden`).
    pub input_sparse: Array2<f32>,
    /// Input layer bias.
    pub input_bias: Array1<f32>,
    /// Residual blocks (`hidden × hidden`).
    pub blocks: Vec<Dense>,
    /// Softmax head (`hidden × classes`).
    pub head: Dense,
}

impl NetWeights {
    /// A net with LeCun-normal weights (fan-in of the input layer = all input columns).
    pub fn init(
        n_dense: usize,
        n_sparse: usize,
        hidden: usize,
        n_blocks: usize,
        n_classes: usize,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let fan_in = n_dense + n_sparse;
        let input_dense = Dense::lecun_normal(n_dense, hidden, fan_in, rng).w;
        let input_sparse = Dense::lecun_normal(n_sparse, hidden, fan_in, rng).w;
        let blocks = (0..n_blocks)
            .map(|_| Dense::lecun_normal(hidden, hidden, hidden, rng))
            .collect();
        let head = Dense::lecun_normal(hidden, n_classes, hidden, rng);
        Self {
            input_dense,
            input_sparse,
            input_bias: Array1::zeros(hidden),
            blocks,
            head,
        }
    }

    /// All zeros, shaped like `other`.
    pub fn zeros_like(other: &NetWeights) -> Self {
        let z2 = |a: &Array2<f32>| Array2::zeros(a.raw_dim());
        Self {
            input_dense: z2(&other.input_dense),
            input_sparse: z2(&other.input_sparse),
            input_bias: Array1::zeros(other.input_bias.len()),
            blocks: other
                .blocks
                .iter()
                .map(|d| Dense::zeros(d.w.nrows(), d.w.ncols()))
                .collect(),
            head: Dense::zeros(other.head.w.nrows(), other.head.w.ncols()),
        }
    }

    /// Hidden width.
    pub fn hidden(&self) -> usize {
        self.input_bias.len()
    }

    /// Every tensor as a flat slice with its kind; the order is fixed so that parameters,
    /// gradients and moments line up.
    pub fn tensors_mut(&mut self) -> Vec<(&mut [f32], TensorKind)> {
        let mut out: Vec<(&mut [f32], TensorKind)> = Vec::new();
        fn flat2(a: &mut Array2<f32>) -> &mut [f32] {
            a.as_slice_mut().expect("owned arrays are contiguous")
        }
        out.push((flat2(&mut self.input_dense), TensorKind::Weight));
        out.push((flat2(&mut self.input_sparse), TensorKind::SparseInput));
        out.push((
            self.input_bias.as_slice_mut().expect("contiguous"),
            TensorKind::Bias,
        ));
        for d in &mut self.blocks {
            out.push((d.w.as_slice_mut().expect("contiguous"), TensorKind::Weight));
            out.push((d.b.as_slice_mut().expect("contiguous"), TensorKind::Bias));
        }
        out.push((
            self.head.w.as_slice_mut().expect("contiguous"),
            TensorKind::Weight,
        ));
        out.push((
            self.head.b.as_slice_mut().expect("contiguous"),
            TensorKind::Bias,
        ));
        out
    }

    /// True when every value is finite.
    pub fn all_finite(&mut self) -> bool {
        self.tensors_mut()
            .into_iter()
            .all(|(t, _)| t.iter().all(|v| v.is_finite()))
    }
}

/// Adam (Kingma & Ba) with L2 weight decay added to the gradient of weight matrices.
#[derive(Debug, Clone)]
pub struct Adam {
    /// Step size.
    pub lr: f32,
    /// L2 penalty coefficient (gradient `+ l2 · w` on weight matrices).
    pub l2: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    step: i32,
    m: NetWeights,
    v: NetWeights,
}

impl Adam {
    /// Optimiser state for `params` with Keras' defaults (β₁ 0.9, β₂ 0.999, ε 1e-7).
    pub fn new(params: &NetWeights, lr: f32, l2: f32) -> Self {
        Self {
            lr,
            l2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            step: 0,
            m: NetWeights::zeros_like(params),
            v: NetWeights::zeros_like(params),
        }
    }

    /// One update of `params` with `grads`. Of the sparse-input rows only `sparse_rows` (the
    /// sparse columns present in the batch, whose gradient rows `grads` holds) are updated.
    pub fn step(&mut self, params: &mut NetWeights, grads: &mut NetWeights, sparse_rows: &[usize]) {
        self.step += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(self.step);
        let c2 = 1.0 - b2.powi(self.step);
        let lr_t = self.lr * c2.sqrt() / c1;
        let (eps, l2) = (self.eps, self.l2);
        let hidden = params.hidden();
        let update = |p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], decay: f32| {
            for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let g = g + decay * *p;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *p -= lr_t * *m / (v.sqrt() + eps);
            }
        };
        let ps = params.tensors_mut();
        let gs = grads.tensors_mut();
        let ms = self.m.tensors_mut();
        let vs = self.v.tensors_mut();
        for ((((p, kind), (g, _)), (m, _)), (v, _)) in ps.into_iter().zip(gs).zip(ms).zip(vs) {
            match kind {
                TensorKind::Weight => update(p, &*g, m, v, l2),
                TensorKind::Bias => update(p, &*g, m, v, 0.0),
                TensorKind::SparseInput => {
                    for &r in sparse_rows {
                        let s = r * hidden..(r + 1) * hidden;
                        update(
                            &mut p[s.clone()],
                            &g[s.clone()],
                            &mut m[s.clone()],
                            &mut v[s],
                            l2,
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn selu_matches_its_definition_and_derivative() {
        assert!((selu(1.0) - 1.050_701).abs() < 1e-6);
        // selu(-1) = λα(e^-1 - 1) = -1.1113307
        assert!((selu(-1.0) + 1.111_330_7).abs() < 1e-5);
        for &z in &[-2.0f32, -0.3, 0.4, 3.0] {
            let h = 1e-3;
            let numeric = (selu(z + h) - selu(z - h)) / (2.0 * h);
            assert!((selu_grad(z, selu(z)) - numeric).abs() < 1e-2, "{z}");
        }
    }

    #[test]
    fn alpha_dropout_keeps_zero_mean_unit_variance() {
        let d = AlphaDropout::new(0.2);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 200_000;
        let mut x = Array2::from_shape_simple_fn((1, n), || standard_normal(&mut rng));
        let mut mask = Array2::zeros((1, n));
        d.apply(&mut x, &mut mask, &mut rng);
        let mean = x.mean().unwrap_or(f32::NAN);
        let var = x
            .mapv(|v| (v - mean) * (v - mean))
            .mean()
            .unwrap_or(f32::NAN);
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
        let kept = mask.sum() / n as f32;
        assert!((kept - 0.8).abs() < 0.01, "{kept}");
    }
}
