//! Forward and backward passes of the residual net on one mini-batch.
//!
//! Input layer: `z₀ = x_dense·W_d + x_sparse·W_s + b`, `h₀ = drop(selu(z₀))`.
//! Block `i`: `hᵢ₊₁ = (hᵢ + drop(selu(hᵢ·Wᵢ + bᵢ))) / √2` (the `1/√2` keeps the residual sum at
//! unit variance, so the stack stays self-normalizing). Head: `logits = h_L·W + b`.

use ndarray::{Array2, ArrayView2, Axis};
use rand_chacha::ChaCha8Rng;
use sprs::CsMat;

use super::layers::{AlphaDropout, NetWeights, selu, selu_grad};

/// Residual scaling `1/√2`.
const RESIDUAL_SCALE: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// The rows of one mini-batch: standardized dense values and, optionally, sparse rows.
pub struct BatchInput<'a> {
    /// Dense block of the batch, `B × n_dense` (may have zero columns).
    pub dense: ArrayView2<'a, f32>,
    /// The sparse block (CSR) and the batch's row indices into it.
    pub sparse: Option<(&'a CsMat<f32>, &'a [usize])>,
}

impl BatchInput<'_> {
    fn rows(&self) -> usize {
        self.dense.nrows()
    }
}

/// What the backward pass needs from the forward pass.
pub struct ForwardCache {
    /// Pre-activations of the input layer and of every block.
    z: Vec<Array2<f32>>,
    /// SELU outputs (before dropout) of the input layer and of every block.
    a: Vec<Array2<f32>>,
    /// Dropout masks (1 kept, 0 dropped) of the input layer and of every block.
    mask: Vec<Array2<f32>>,
    /// Inputs of every block and of the head (`h₀ … h_L`).
    h: Vec<Array2<f32>>,
}

/// `a · b` into a new row-major array, by the `gemm` crate (runtime-selected AVX-512/AVX2/NEON
/// kernels, one thread: the bags already train in parallel). Any strides, so transposed views
/// cost no copy. Against `ndarray`'s `dot`, which it replaced: docs/benchmarks/estimators.md.
pub fn product(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f32> {
    let (m, k) = a.dim();
    let n = b.ncols();
    assert_eq!(k, b.nrows(), "inner dimensions differ");
    let mut out = Array2::<f32>::zeros((m, n));
    if m == 0 || n == 0 || k == 0 {
        return out;
    }
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    // SAFETY: the pointers and strides come from live ndarray views of exactly these shapes
    // (every element they reach is inside them); `out` is a fresh, exclusively owned array.
    unsafe {
        gemm::gemm::<f32>(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    out
}

fn input_layer(w: &NetWeights, x: &BatchInput) -> Array2<f32> {
    let mut z = if w.input_dense.nrows() > 0 {
        product(x.dense.view(), w.input_dense.view())
    } else {
        Array2::zeros((x.rows(), w.hidden()))
    };
    z += &w.input_bias;
    if let Some((csr, rows)) = x.sparse {
        for (mut zr, &r) in z.axis_iter_mut(Axis(0)).zip(rows) {
            if let Some(row) = csr.outer_view(r) {
                for (c, &v) in row.iter() {
                    zr.scaled_add(v, &w.input_sparse.row(c));
                }
            }
        }
    }
    z
}

/// Logits of a batch without dropout (prediction and validation).
pub fn predict_logits(w: &NetWeights, x: &BatchInput) -> Array2<f32> {
    let mut h = input_layer(w, x).mapv(selu);
    for block in &w.blocks {
        let mut z = product(h.view(), block.w.view());
        z += &block.b;
        z.mapv_inplace(selu);
        h += &z;
        h *= RESIDUAL_SCALE;
    }
    let mut logits = product(h.view(), w.head.w.view());
    logits += &w.head.b;
    logits
}

/// Logits of a training batch with dropout, and the cache for [`backward`].
pub fn forward_train(
    w: &NetWeights,
    x: &BatchInput,
    dropout: &AlphaDropout,
    rng: &mut ChaCha8Rng,
) -> (Array2<f32>, ForwardCache) {
    let n_layers = w.blocks.len() + 1;
    let mut cache = ForwardCache {
        z: Vec::with_capacity(n_layers),
        a: Vec::with_capacity(n_layers),
        mask: Vec::with_capacity(n_layers),
        h: Vec::with_capacity(n_layers),
    };
    let activate = |z: Array2<f32>, cache: &mut ForwardCache, rng: &mut ChaCha8Rng| {
        let a = z.mapv(selu);
        let mut d = a.clone();
        let mut mask = Array2::zeros(a.raw_dim());
        dropout.apply(&mut d, &mut mask, rng);
        cache.z.push(z);
        cache.a.push(a);
        cache.mask.push(mask);
        d
    };
    let mut h = activate(input_layer(w, x), &mut cache, rng);
    for block in &w.blocks {
        let mut z = product(h.view(), block.w.view());
        z += &block.b;
        let d = activate(z, &mut cache, rng);
        let next = (&h + &d) * RESIDUAL_SCALE;
        cache.h.push(h);
        h = next;
    }
    let mut logits = product(h.view(), w.head.w.view());
    logits += &w.head.b;
    cache.h.push(h);
    (logits, cache)
}

/// Gradient of `dropout(selu(z))` with respect to `z`, given the upstream gradient `g`.
fn through_activation(
    g: &Array2<f32>,
    z: &Array2<f32>,
    a: &Array2<f32>,
    mask: &Array2<f32>,
    scale: f32,
) -> Array2<f32> {
    let mut dz = g.clone();
    ndarray::Zip::from(&mut dz)
        .and(z)
        .and(a)
        .and(mask)
        .for_each(|d, &z, &a, &m| *d *= m * scale * selu_grad(z, a));
    dz
}

/// The sparse columns present in a batch, ascending (the sparse-input rows it touches).
pub fn touched_sparse_columns(x: &BatchInput) -> Vec<usize> {
    match x.sparse {
        Some((csr, rows)) => sparse_columns_of(csr, rows),
        None => Vec::new(),
    }
}

/// The columns of `csr` with a stored value in any of `rows`, ascending and unique.
pub fn sparse_columns_of(csr: &CsMat<f32>, rows: &[usize]) -> Vec<usize> {
    let mut cols: Vec<usize> = rows
        .iter()
        .filter_map(|&r| csr.outer_view(r))
        .flat_map(|row| row.indices().to_vec())
        .collect();
    cols.sort_unstable();
    cols.dedup();
    cols
}

/// Fills `grads` with the gradient of the loss whose gradient at the logits is `dlogits`. Of the
/// sparse-input gradient only the rows `sparse_rows` (from [`touched_sparse_columns`]) are
/// written; the others are stale and must not be read. Returns the gradient at the input
/// layer's pre-activations (`B × hidden`).
pub fn backward(
    w: &NetWeights,
    x: &BatchInput,
    cache: &ForwardCache,
    dlogits: &Array2<f32>,
    dropout: &AlphaDropout,
    grads: &mut NetWeights,
    sparse_rows: &[usize],
) -> Array2<f32> {
    let n_blocks = w.blocks.len();
    let scale = if dropout.rate > 0.0 {
        dropout.scale
    } else {
        1.0
    };
    let h_last = &cache.h[n_blocks];
    // `product` returns row-major arrays: the optimizer reads the gradients as flat slices.
    grads.head.w = product(h_last.t(), dlogits.view());
    grads.head.b = dlogits.sum_axis(Axis(0));
    let mut dh = product(dlogits.view(), w.head.w.t());
    for i in (0..n_blocks).rev() {
        dh *= RESIDUAL_SCALE;
        let dz = through_activation(
            &dh,
            &cache.z[i + 1],
            &cache.a[i + 1],
            &cache.mask[i + 1],
            scale,
        );
        grads.blocks[i].w = product(cache.h[i].t(), dz.view());
        grads.blocks[i].b = dz.sum_axis(Axis(0));
        dh += &product(dz.view(), w.blocks[i].w.t());
    }
    let dz0 = through_activation(&dh, &cache.z[0], &cache.a[0], &cache.mask[0], scale);
    if w.input_dense.nrows() > 0 {
        grads.input_dense = product(x.dense.t(), dz0.view());
    }
    grads.input_bias = dz0.sum_axis(Axis(0));
    if let Some((csr, rows)) = x.sparse {
        for &c in sparse_rows {
            grads.input_sparse.row_mut(c).fill(0.0);
        }
        for (g, &r) in dz0.axis_iter(Axis(0)).zip(rows) {
            if let Some(row) = csr.outer_view(r) {
                for (c, &v) in row.iter() {
                    grads.input_sparse.row_mut(c).scaled_add(v, &g);
                }
            }
        }
    }
    dz0
}

/// Gradient of `Σ dlogits ⊙ logits` with respect to the dense inputs of the batch (no dropout:
/// the prediction-time net), `B × n_dense`.
pub fn dense_input_gradient(w: &NetWeights, x: &BatchInput, dlogits: &Array2<f32>) -> Array2<f32> {
    let no_dropout = AlphaDropout::new(0.0);
    let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    let (_, cache) = forward_train(w, x, &no_dropout, &mut rng);
    let mut scratch = NetWeights::zeros_like(w);
    let touched = touched_sparse_columns(x);
    let dz0 = backward(w, x, &cache, dlogits, &no_dropout, &mut scratch, &touched);
    product(dz0.view(), w.input_dense.t())
}

/// Row-wise softmax in place (f32 logits → probabilities).
pub fn softmax_rows_inplace(logits: &mut Array2<f32>) {
    for mut row in logits.axis_iter_mut(Axis(0)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        row.mapv_inplace(|v| {
            let e = (v - max).exp();
            sum += e;
            e
        });
        row.mapv_inplace(|v| v / sum);
    }
}

#[cfg(test)]
mod tests {
    use super::super::layers::NetWeights;
    use super::*;
    use rand::SeedableRng;

    /// Weighted cross-entropy of a batch (no dropout), as the training loop defines it.
    fn loss(w: &NetWeights, x: &BatchInput, y: &[usize]) -> f64 {
        let mut p = predict_logits(w, x);
        softmax_rows_inplace(&mut p);
        y.iter()
            .enumerate()
            .map(|(i, &c)| -(p[[i, c]] as f64).ln())
            .sum::<f64>()
            / y.len() as f64
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (n, nd, ns, h, k) = (5, 3, 4, 6, 3);
        let w0 = NetWeights::init(nd, ns, h, 2, k, &mut rng);
        let dense =
            Array2::from_shape_fn((n, nd), |(i, j)| ((i * 7 + j * 3) % 5) as f32 * 0.4 - 0.8);
        let mut t = sprs::TriMat::new((n, ns));
        t.add_triplet(0, 1, 0.7f32);
        t.add_triplet(2, 3, -0.5f32);
        t.add_triplet(4, 1, 1.2f32);
        let csr = t.to_csr();
        let rows: Vec<usize> = (0..n).collect();
        let x = BatchInput {
            dense: dense.view(),
            sparse: Some((&csr, &rows)),
        };
        let y = [0usize, 2, 1, 1, 0];
        let no_drop = AlphaDropout::new(0.0);
        let (mut p, cache) = forward_train(&w0, &x, &no_drop, &mut rng);
        softmax_rows_inplace(&mut p);
        let mut dl = p.clone();
        for (i, &c) in y.iter().enumerate() {
            dl[[i, c]] -= 1.0;
        }
        dl /= n as f32;
        let mut g = NetWeights::zeros_like(&w0);
        let touched = touched_sparse_columns(&x);
        assert_eq!(touched, vec![1, 3]);
        backward(&w0, &x, &cache, &dl, &no_drop, &mut g, &touched);
        let probe = |get: &dyn Fn(&mut NetWeights) -> &mut f32, analytic: f32| {
            let eps = 1e-2f32;
            let mut wp = w0.clone();
            *get(&mut wp) += eps;
            let mut wm = w0.clone();
            *get(&mut wm) -= eps;
            let numeric = (loss(&wp, &x, &y) - loss(&wm, &x, &y)) / (2.0 * eps as f64);
            assert!(
                (numeric - analytic as f64).abs() < 2e-3 + 0.02 * numeric.abs(),
                "numeric {numeric} analytic {analytic}"
            );
        };
        probe(&|w| &mut w.input_dense[[1, 2]], g.input_dense[[1, 2]]);
        probe(&|w| &mut w.input_sparse[[1, 4]], g.input_sparse[[1, 4]]);
        probe(&|w| &mut w.input_sparse[[3, 0]], g.input_sparse[[3, 0]]);
        probe(&|w| &mut w.input_bias[3], g.input_bias[3]);
        probe(&|w| &mut w.blocks[0].w[[2, 5]], g.blocks[0].w[[2, 5]]);
        probe(&|w| &mut w.blocks[1].b[1], g.blocks[1].b[1]);
        probe(&|w| &mut w.head.w[[4, 2]], g.head.w[[4, 2]]);
        probe(&|w| &mut w.head.b[0], g.head.b[0]);
    }
}
