//! The burn engine: the same net, loss and Adam as the native engine, on any burn device — a
//! GPU (or a software adapter) through wgpu, or burn's CPU backend — with gradients from burn's
//! autodiff.
//!
//! Everything random (initial weights, shuffles, dropout draws) comes from the host's seeded
//! generator in the native engine's order, so both engines start from the same weights, see the
//! same batches and drop the same units. The sparse block stays sparse on the host: each batch
//! uploads only the columns it touches (`B × T`, densified) and the matching `T` rows of the
//! sparse-input weights, selected on the device; Adam updates only those rows (lazy Adam, as
//! the native engine).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};
use ndarray::{Array1, Array2};
use rand_chacha::ChaCha8Rng;

use blueprints::error::{BlueprintError, Result};

use super::forward::sparse_columns_of;
use super::layers::{AlphaDropout, Dense, NetWeights, SELU_ALPHA, SELU_LAMBDA};
use super::train::{Target, TrainSet, Trainer};
use super::{PREDICT_CHUNK, TASK};
use crate::precision::host_f32;

/// Residual scaling `1/√2` (as in the native forward pass).
const RESIDUAL_SCALE: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// The net's tensors on the device (also the shape of Adam's moments).
#[derive(Clone)]
pub struct DeviceWeights {
    input_dense: Option<Tensor<2>>,
    input_sparse: Option<Tensor<2>>,
    input_bias: Tensor<1>,
    blocks: Vec<(Tensor<2>, Tensor<1>)>,
    head_w: Tensor<2>,
    head_b: Tensor<1>,
}

impl DeviceWeights {
    fn upload(w: &NetWeights, device: &Device) -> Self {
        let nonempty = |a: &Array2<f32>| (a.nrows() > 0).then(|| upload2(a, device));
        Self {
            input_dense: nonempty(&w.input_dense),
            input_sparse: nonempty(&w.input_sparse),
            input_bias: upload1(&w.input_bias, device),
            blocks: w
                .blocks
                .iter()
                .map(|d| (upload2(&d.w, device), upload1(&d.b, device)))
                .collect(),
            head_w: upload2(&w.head.w, device),
            head_b: upload1(&w.head.b, device),
        }
    }

    fn zeros_like(&self) -> Self {
        let z2 = |t: &Tensor<2>| t.zeros_like();
        let z1 = |t: &Tensor<1>| t.zeros_like();
        Self {
            input_dense: self.input_dense.as_ref().map(z2),
            input_sparse: self.input_sparse.as_ref().map(z2),
            input_bias: z1(&self.input_bias),
            blocks: self.blocks.iter().map(|(w, b)| (z2(w), z1(b))).collect(),
            head_w: z2(&self.head_w),
            head_b: z1(&self.head_b),
        }
    }

    fn download(&self, hidden: usize) -> Result<NetWeights> {
        let dense_or_empty = |t: &Option<Tensor<2>>| match t {
            Some(t) => download2(t.clone()),
            None => Ok(Array2::zeros((0, hidden))),
        };
        Ok(NetWeights {
            input_dense: dense_or_empty(&self.input_dense)?,
            input_sparse: dense_or_empty(&self.input_sparse)?,
            input_bias: download1(self.input_bias.clone())?,
            blocks: self
                .blocks
                .iter()
                .map(|(w, b)| {
                    Ok(Dense {
                        w: download2(w.clone())?,
                        b: download1(b.clone())?,
                    })
                })
                .collect::<Result<_>>()?,
            head: Dense {
                w: download2(self.head_w.clone())?,
                b: download1(self.head_b.clone())?,
            },
        })
    }

    /// The same tensors as autodiff leaves whose gradients are kept (the sparse-input weights
    /// are left out: their batch rows become a leaf of their own).
    fn leaves(&self) -> Self {
        let l2 = |t: &Tensor<2>| t.clone().autodiff().require_grad();
        let l1 = |t: &Tensor<1>| t.clone().autodiff().require_grad();
        Self {
            input_dense: self.input_dense.as_ref().map(l2),
            input_sparse: None,
            input_bias: l1(&self.input_bias),
            blocks: self.blocks.iter().map(|(w, b)| (l2(w), l1(b))).collect(),
            head_w: l2(&self.head_w),
            head_b: l1(&self.head_b),
        }
    }
}

fn upload2(a: &Array2<f32>, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = a.iter().copied().collect();
    Tensor::from_data(TensorData::new(values, [a.nrows(), a.ncols()]), device)
}

fn upload1(a: &Array1<f32>, device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(a.to_vec(), [a.len()]), device)
}

fn read_error(e: impl std::fmt::Display) -> BlueprintError {
    BlueprintError::Numeric {
        task: TASK.into(),
        reason: format!("could not read a tensor back from the device: {e}"),
    }
}

fn download2(t: Tensor<2>) -> Result<Array2<f32>> {
    let [r, c] = t.dims();
    let values = host_f32(t).map_err(read_error)?;
    Array2::from_shape_vec((r, c), values).map_err(read_error)
}

fn download1(t: Tensor<1>) -> Result<Array1<f32>> {
    let values = host_f32(t).map_err(read_error)?;
    Ok(Array1::from(values))
}

/// SELU with the native engine's constants. The exponential sees `min(z, 0)` so that large
/// positive pre-activations cannot overflow into a `0 · ∞` gradient.
fn selu(z: Tensor<2>) -> Tensor<2> {
    let positive = z.clone().greater_scalar(0.0);
    let negative = z
        .clone()
        .clamp_max(0.0)
        .exp()
        .sub_scalar(1.0)
        .mul_scalar(SELU_LAMBDA * SELU_ALPHA);
    negative.mask_where(positive, z.mul_scalar(SELU_LAMBDA))
}

/// One mini-batch on the device.
struct DeviceBatch {
    rows: usize,
    dense: Option<Tensor<2>>,
    /// The touched sparse columns densified (`B × T`) and their indices (`T`).
    sparse: Option<(Tensor<2>, Tensor<1, Int>)>,
}

/// AlphaDropout of one layer as `x · mul + add` (`mul` = scale or 0, `add` = shift or the
/// dropped value).
struct DropoutDraw {
    mul: Tensor<2>,
    add: Tensor<2>,
}

/// Logits of a batch. `sparse_rows` are the sparse-input weight rows of the batch's touched
/// columns; `drops` holds one draw per layer (empty: no dropout).
fn forward(
    w: &DeviceWeights,
    sparse_rows: Option<&Tensor<2>>,
    batch: &DeviceBatch,
    drops: &[DropoutDraw],
) -> Tensor<2> {
    let mut z: Option<Tensor<2>> = None;
    if let (Some(x), Some(wd)) = (&batch.dense, &w.input_dense) {
        z = Some(x.clone().matmul(wd.clone()));
    }
    if let (Some((xs, _)), Some(ws)) = (&batch.sparse, sparse_rows) {
        let s = xs.clone().matmul(ws.clone());
        z = Some(match z {
            Some(z) => z + s,
            None => s,
        });
    }
    let bias = w.input_bias.clone().unsqueeze::<2>();
    let z = match z {
        Some(z) => z + bias,
        None => {
            let hidden = w.input_bias.dims()[0];
            Tensor::<2>::zeros([batch.rows, hidden], &w.input_bias.device()) + bias
        }
    };
    let drop = |a: Tensor<2>, layer: usize| match drops.get(layer) {
        Some(d) => a * d.mul.clone() + d.add.clone(),
        None => a,
    };
    let mut h = drop(selu(z), 0);
    for (i, (bw, bb)) in w.blocks.iter().enumerate() {
        let z = h.clone().matmul(bw.clone()) + bb.clone().unsqueeze::<2>();
        h = (h + drop(selu(z), i + 1)).mul_scalar(RESIDUAL_SCALE);
    }
    h.matmul(w.head_w.clone()) + w.head_b.clone().unsqueeze::<2>()
}

/// Adam's constants for one step.
struct AdamStep {
    b1: f32,
    b2: f32,
    eps: f32,
    lr_t: f32,
}

/// One Adam update of a tensor (`decay`: L2 added to the gradient); returns `(p, m, v)`.
fn adam_update<const D: usize>(
    p: Tensor<D>,
    g: Tensor<D>,
    m: Tensor<D>,
    v: Tensor<D>,
    decay: f32,
    s: &AdamStep,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let g = if decay > 0.0 {
        g + p.clone().mul_scalar(decay)
    } else {
        g
    };
    let m = m.mul_scalar(s.b1) + g.clone().mul_scalar(1.0 - s.b1);
    let v = v.mul_scalar(s.b2) + (g.clone() * g).mul_scalar(1.0 - s.b2);
    let p = p - (m.clone() / v.clone().sqrt().add_scalar(s.eps)).mul_scalar(s.lr_t);
    (p, m, v)
}

/// Training state of the burn engine.
pub struct BurnTrainer<'a> {
    set: &'a TrainSet<'a>,
    device: Device,
    hidden: usize,
    weights: DeviceWeights,
    m: DeviceWeights,
    v: DeviceWeights,
    dropout: AlphaDropout,
    lr: f32,
    l2: f32,
    step: i32,
}

impl<'a> BurnTrainer<'a> {
    /// Uploads `weights` to `device` (a burn device without autodiff: leaves get it per step).
    pub fn new(
        set: &'a TrainSet<'a>,
        weights: &NetWeights,
        device: Device,
        dropout: f32,
        lr: f32,
        l2: f32,
    ) -> Self {
        let w = DeviceWeights::upload(weights, &device);
        Self {
            set,
            hidden: weights.hidden(),
            m: w.zeros_like(),
            v: w.zeros_like(),
            weights: w,
            device,
            dropout: AlphaDropout::new(dropout),
            lr,
            l2,
            step: 0,
        }
    }

    fn batch(&self, rows: &[usize]) -> DeviceBatch {
        let set = self.set;
        let dense = (set.dense.ncols() > 0).then(|| {
            let nd = set.dense.ncols();
            let mut values: Vec<f32> = Vec::with_capacity(rows.len() * nd);
            for &r in rows {
                values.extend(set.dense.row(r).iter());
            }
            Tensor::from_data(TensorData::new(values, [rows.len(), nd]), &self.device)
        });
        let sparse = set.sparse.and_then(|csr| {
            let cols = sparse_columns_of(csr, rows);
            if cols.is_empty() {
                return None;
            }
            let t = cols.len();
            let mut values = vec![0f32; rows.len() * t];
            for (i, &r) in rows.iter().enumerate() {
                if let Some(row) = csr.outer_view(r) {
                    for (c, &v) in row.iter() {
                        if let Ok(j) = cols.binary_search(&c) {
                            values[i * t + j] += v;
                        }
                    }
                }
            }
            let x = Tensor::from_data(TensorData::new(values, [rows.len(), t]), &self.device);
            let idx: Vec<i64> = cols.iter().map(|&c| c as i64).collect();
            let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [t]), &self.device);
            Some((x, idx))
        });
        DeviceBatch {
            rows: rows.len(),
            dense,
            sparse,
        }
    }

    /// Dropout draws for every layer of a `b`-row batch, in the native engine's order.
    fn draws(&self, b: usize, rng: &mut ChaCha8Rng) -> Vec<DropoutDraw> {
        let d = &self.dropout;
        if d.rate <= 0.0 {
            return Vec::new();
        }
        let dropped = d.dropped_value();
        let n = b * self.hidden;
        (0..=self.weights.blocks.len())
            .map(|_| {
                let (mut mul, mut add) = (Vec::with_capacity(n), Vec::with_capacity(n));
                for _ in 0..n {
                    if d.drops(rng) {
                        mul.push(0.0);
                        add.push(dropped);
                    } else {
                        mul.push(d.scale);
                        add.push(d.shift);
                    }
                }
                let shape = [b, self.hidden];
                DropoutDraw {
                    mul: Tensor::from_data(TensorData::new(mul, shape), &self.device),
                    add: Tensor::from_data(TensorData::new(add, shape), &self.device),
                }
            })
            .collect()
    }

    /// The batch loss `Σ_i w_i·loss_i / B` from the head outputs (cross-entropy through
    /// `log_softmax` for classes, squared error for values), as [`TrainSet::output_gradient`]
    /// differentiates it.
    fn batch_loss(&self, outputs: Tensor<2>, rows: &[usize]) -> Tensor<1> {
        let set = self.set;
        let inv_b = 1.0 / rows.len() as f32;
        let k = set.target.n_outputs();
        let tensor = |t: Vec<f32>, cols: usize| {
            Tensor::<2>::from_data(TensorData::new(t, [rows.len(), cols]), &self.device)
        };
        match set.target {
            Target::Classes { y, .. } => {
                // `w_i / B` at each row's class, 0 elsewhere.
                let mut t = vec![0f32; rows.len() * k];
                for (i, &r) in rows.iter().enumerate() {
                    t[i * k + y[r] as usize] = set.weights[r] as f32 * inv_b;
                }
                (log_softmax(outputs, 1) * tensor(t, k)).sum().neg()
            }
            Target::Values(y) => {
                let values = rows.iter().map(|&r| y[r]).collect();
                let w = rows
                    .iter()
                    .map(|&r| set.weights[r] as f32 * inv_b)
                    .collect();
                let err = outputs - tensor(values, 1);
                (err.clone() * err * tensor(w, 1)).sum()
            }
        }
    }
}

impl BurnTrainer<'_> {
    /// Gradients of the batch loss by autodiff, shaped like the weights except `input_sparse`,
    /// which holds the gradient of the batch's touched rows only (`T × hidden`, in the order of
    /// the batch's column indices).
    fn gradients(
        &self,
        rows: &[usize],
        batch: &DeviceBatch,
        drops: &[DropoutDraw],
    ) -> Result<DeviceWeights> {
        let leaves = self.weights.leaves();
        let sparse_leaf = match (&batch.sparse, &self.weights.input_sparse) {
            (Some((_, idx)), Some(ws)) => {
                Some(ws.clone().select(0, idx.clone()).autodiff().require_grad())
            }
            _ => None,
        };
        let outputs = forward(&leaves, sparse_leaf.as_ref(), batch, drops);
        let loss = self.batch_loss(outputs, rows);
        let grads = loss.backward();
        let g2 = |t: &Tensor<2>, what: &str| t.grad(&grads).ok_or_else(|| missing_gradient(what));
        let g1 = |t: &Tensor<1>, what: &str| t.grad(&grads).ok_or_else(|| missing_gradient(what));
        Ok(DeviceWeights {
            input_dense: leaves
                .input_dense
                .as_ref()
                .map(|t| g2(t, "dense input weights"))
                .transpose()?,
            input_sparse: sparse_leaf
                .as_ref()
                .map(|t| g2(t, "sparse input weights"))
                .transpose()?,
            input_bias: g1(&leaves.input_bias, "input bias")?,
            blocks: leaves
                .blocks
                .iter()
                .map(|(w, b)| Ok((g2(w, "block weights")?, g1(b, "block bias")?)))
                .collect::<Result<_>>()?,
            head_w: g2(&leaves.head_w, "head weights")?,
            head_b: g1(&leaves.head_b, "head bias")?,
        })
    }
}

fn missing_gradient(what: &str) -> BlueprintError {
    BlueprintError::Numeric {
        task: TASK.into(),
        reason: format!("burn returned no gradient for the {what}"),
    }
}

impl Trainer for BurnTrainer<'_> {
    type Snapshot = DeviceWeights;

    fn step(&mut self, rows: &[usize], rng: &mut ChaCha8Rng) -> Result<()> {
        let batch = self.batch(rows);
        let drops = self.draws(rows.len(), rng);
        let g = self.gradients(rows, &batch, &drops)?;

        self.step += 1;
        let (b1, b2) = (0.9f32, 0.999f32);
        let s = AdamStep {
            b1,
            b2,
            eps: 1e-7,
            lr_t: self.lr * (1.0 - b2.powi(self.step)).sqrt() / (1.0 - b1.powi(self.step)),
        };
        let l2 = self.l2;
        let (w, m, v) = (&mut self.weights, &mut self.m, &mut self.v);
        let update2 = |p: &mut Tensor<2>, m: &mut Tensor<2>, v: &mut Tensor<2>, g: Tensor<2>| {
            let (p2, m2, v2) = adam_update(p.clone(), g, m.clone(), v.clone(), l2, &s);
            (*p, *m, *v) = (p2, m2, v2);
        };
        let update1 = |p: &mut Tensor<1>, m: &mut Tensor<1>, v: &mut Tensor<1>, g: Tensor<1>| {
            let (p2, m2, v2) = adam_update(p.clone(), g, m.clone(), v.clone(), 0.0, &s);
            (*p, *m, *v) = (p2, m2, v2);
        };
        if let (Some(p), Some(md), Some(vd), Some(gd)) = (
            w.input_dense.as_mut(),
            m.input_dense.as_mut(),
            v.input_dense.as_mut(),
            g.input_dense,
        ) {
            update2(p, md, vd, gd);
        }
        update1(
            &mut w.input_bias,
            &mut m.input_bias,
            &mut v.input_bias,
            g.input_bias,
        );
        for (i, (gw, gb)) in g.blocks.into_iter().enumerate() {
            let (pb, mb, vb) = (&mut w.blocks[i], &mut m.blocks[i], &mut v.blocks[i]);
            update2(&mut pb.0, &mut mb.0, &mut vb.0, gw);
            update1(&mut pb.1, &mut mb.1, &mut vb.1, gb);
        }
        update2(&mut w.head_w, &mut m.head_w, &mut v.head_w, g.head_w);
        update1(&mut w.head_b, &mut m.head_b, &mut v.head_b, g.head_b);
        if let (Some((_, idx)), Some(g_rows), Some(ws), Some(ms), Some(vs)) = (
            &batch.sparse,
            g.input_sparse,
            w.input_sparse.take(),
            m.input_sparse.take(),
            v.input_sparse.take(),
        ) {
            let p_rows = ws.clone().select(0, idx.clone());
            let m_rows = ms.clone().select(0, idx.clone());
            let v_rows = vs.clone().select(0, idx.clone());
            let (p2, m2, v2) = adam_update(
                p_rows.clone(),
                g_rows,
                m_rows.clone(),
                v_rows.clone(),
                l2,
                &s,
            );
            // The batch's columns are unique, so adding the change writes each row once.
            let add = IndexingUpdateOp::Add;
            w.input_sparse = Some(ws.select_assign(0, idx.clone(), p2 - p_rows, add));
            m.input_sparse = Some(ms.select_assign(0, idx.clone(), m2 - m_rows, add));
            v.input_sparse = Some(vs.select_assign(0, idx.clone(), v2 - v_rows, add));
        }
        Ok(())
    }

    fn loss(&mut self, rows: &[usize]) -> Result<f64> {
        let mut acc = (0.0f64, 0.0f64);
        for chunk in rows.chunks(PREDICT_CHUNK) {
            let batch = self.batch(chunk);
            let sparse_rows = match (&batch.sparse, &self.weights.input_sparse) {
                (Some((_, idx)), Some(ws)) => Some(ws.clone().select(0, idx.clone())),
                _ => None,
            };
            let outputs = forward(&self.weights, sparse_rows.as_ref(), &batch, &[]);
            self.set
                .accumulate_loss(download2(outputs)?, chunk, &mut acc);
        }
        Ok(acc.0 / acc.1.max(1e-300))
    }

    fn snapshot(&self) -> DeviceWeights {
        self.weights.clone()
    }

    fn restore(&mut self, snapshot: DeviceWeights) {
        self.weights = snapshot;
    }

    fn scale_learning_rate(&mut self, factor: f32) {
        self.lr *= factor;
    }

    fn weights(&self) -> Result<NetWeights> {
        self.weights.download(self.hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::super::forward::{
        BatchInput, backward, forward_train, softmax_rows_inplace, touched_sparse_columns,
    };
    use super::*;
    use ndarray::Axis;
    use rand::SeedableRng;

    fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
        assert_eq!(a.dim(), b.dim());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// burn's autodiff and the hand-written backward pass give the same gradients for the same
    /// weights, batch and dropout draws (AlphaDropout on, a sparse block, unequal row weights,
    /// rows out of order).
    #[test]
    fn autodiff_gradients_match_the_hand_written_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (n, nd, ns, h, k) = (6, 3, 5, 8, 3);
        let w = NetWeights::init(nd, ns, h, 2, k, &mut rng);
        let dense =
            Array2::from_shape_fn((n, nd), |(i, j)| ((i * 7 + j * 3) % 5) as f32 * 0.4 - 0.8);
        let mut t = sprs::TriMat::new((n, ns));
        for &(r, c, v) in &[
            (0, 1, 0.7f32),
            (2, 3, -0.5),
            (4, 1, 1.2),
            (5, 4, 0.3),
            (3, 0, 0.9),
        ] {
            t.add_triplet(r, c, v);
        }
        let csr = t.to_csr();
        let y = [0u32, 2, 1, 1, 0, 2];
        let weights = [1.0, 0.5, 2.0, 1.0, 1.5, 0.8];
        let set = TrainSet {
            dense: &dense,
            sparse: Some(&csr),
            target: Target::Classes {
                y: &y,
                n_classes: k,
            },
            weights: &weights,
        };
        let rows = [4usize, 0, 2, 5, 3];
        let drop_rate = 0.2;

        // Hand-written: the native engine's forward (with its dropout draws) and backward.
        let d = dense.select(Axis(0), &rows);
        let input = BatchInput {
            dense: d.view(),
            sparse: Some((&csr, &rows)),
        };
        let dropout = AlphaDropout::new(drop_rate);
        let (mut probs, cache) =
            forward_train(&w, &input, &dropout, &mut ChaCha8Rng::seed_from_u64(5));
        softmax_rows_inplace(&mut probs);
        for (i, &r) in rows.iter().enumerate() {
            let mut row = probs.row_mut(i);
            row[y[r] as usize] -= 1.0;
            row *= weights[r] as f32 / rows.len() as f32;
        }
        let touched = touched_sparse_columns(&input);
        let mut g = NetWeights::zeros_like(&w);
        backward(&w, &input, &cache, &probs, &dropout, &mut g, &touched);

        // burn: the same draws from the same seed.
        let trainer = BurnTrainer::new(&set, &w, Device::flex(), drop_rate, 1e-3, 0.0);
        let batch = trainer.batch(&rows);
        let drops = trainer.draws(rows.len(), &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(drops.len(), 3, "one draw per layer");
        let gb = trainer.gradients(&rows, &batch, &drops).expect("gradients");
        let tol = 1e-5;
        let dense_g = download2(gb.input_dense.expect("dense gradient")).expect("read");
        assert!(
            max_abs_diff(&dense_g, &g.input_dense) < tol,
            "{dense_g} vs {}",
            g.input_dense
        );
        // The sparse gradient comes as the touched rows, in the batch's column order.
        let sparse_g = download2(gb.input_sparse.expect("sparse gradient")).expect("read");
        assert_eq!(touched, vec![0, 1, 3, 4]);
        let native_rows = g.input_sparse.select(Axis(0), &touched);
        assert!(
            max_abs_diff(&sparse_g, &native_rows) < tol,
            "{sparse_g} vs {native_rows}"
        );
        let bias_g = download1(gb.input_bias).expect("read");
        assert!(
            bias_g
                .iter()
                .zip(&g.input_bias)
                .all(|(a, b)| (a - b).abs() < tol)
        );
        for (i, (bw, bb)) in gb.blocks.into_iter().enumerate() {
            let bw = download2(bw).expect("read");
            assert!(max_abs_diff(&bw, &g.blocks[i].w) < tol, "block {i}");
            let bb = download1(bb).expect("read");
            assert!(
                bb.iter()
                    .zip(&g.blocks[i].b)
                    .all(|(a, b)| (a - b).abs() < tol)
            );
        }
        let head = download2(gb.head_w).expect("read");
        assert!(max_abs_diff(&head, &g.head.w) < tol);
        let head_b = download1(gb.head_b).expect("read");
        assert!(
            head_b
                .iter()
                .zip(&g.head.b)
                .all(|(a, b)| (a - b).abs() < tol)
        );
        // Not vacuous: the gradients are far from zero.
        assert!(g.head.w.iter().map(|v| v.abs()).fold(0.0, f32::max) > 1e-2);
        assert!(native_rows.iter().map(|v| v.abs()).fold(0.0, f32::max) > 1e-3);
    }
}
