//! ReLU6 and ReLU (`x.clamp(min, max)`) as one autodiff operation of burn's CPU backend: one
//! pass forward, one backward (the gradient where `min ≤ x ≤ max`, zero elsewhere, as burn's).
//! burn composes a clamp from comparisons and masked fills — two passes forward and two backward
//! for ReLU6 — and its masked fill branches on every value; the tail's ReLU6s took about half
//! of a MobileNetV2 fine-tuning step (`neural_bench finetune_profile`). Maps on any other
//! backend (wgpu) or without autodiff get `None`.

use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

use super::cpu_tensor::{contiguous, cpu_autodiff, flex, from_cpu_autodiff, record, slice};

/// Values per parallel task.
const CHUNK: usize = 1 << 14;

/// Lower and upper bound of a clamp (`f32::INFINITY`: none above).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Lower bound.
    pub min: f32,
    /// Upper bound.
    pub max: f32,
}

impl Bounds {
    /// ReLU6's.
    pub const RELU6: Bounds = Bounds { min: 0.0, max: 6.0 };
    /// ReLU's.
    pub const RELU: Bounds = Bounds {
        min: 0.0,
        max: f32::INFINITY,
    };

    /// `v` clamped (NaN stays NaN, as in burn's clamp); selects, no branches.
    #[inline(always)]
    fn clamp(self, v: f32) -> f32 {
        let low = if v < self.min { self.min } else { v };
        if low > self.max { self.max } else { low }
    }

    /// Whether the gradient passes at input `v` (burn zeroes it only strictly outside).
    #[inline(always)]
    fn passes(self, v: f32) -> bool {
        !(v < self.min || v > self.max)
    }
}

/// `x` clamped to `bounds` as one operation, or `None` off burn's CPU autodiff backend.
pub fn clamp_cpu<const D: usize>(x: &Tensor<D>, bounds: Bounds) -> Option<Tensor<D>> {
    let xp = cpu_autodiff(x.clone())?;
    let input = contiguous(xp.primitive());
    let shape = input.layout().shape().clone();
    let mut out = vec![0f32; shape.num_elements()];
    out.par_chunks_mut(CHUNK)
        .zip(slice(&input).par_chunks(CHUNK))
        .for_each(|(out, x)| {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = bounds.clamp(v);
            }
        });
    let out = flex(out, shape);
    let state = ClampState { x: input, bounds };
    Some(from_cpu_autodiff(record(
        ClampBackward,
        [xp.node()],
        state,
        out,
    )))
}

/// What the backward pass reads: the input and the bounds.
#[derive(Debug, Clone)]
struct ClampState {
    x: FlexTensor,
    bounds: Bounds,
}

#[derive(Debug)]
struct ClampBackward;

impl Backward<Flex, 1> for ClampBackward {
    type State = ClampState;

    fn backward(self, ops: Ops<ClampState, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let [Some(node)] = ops.parents else {
            return;
        };
        let ClampState { x, bounds } = ops.state;
        // The incoming gradient zeroed in place when this step holds its whole buffer alone,
        // else on a copy.
        let n = x.layout().num_elements();
        let whole =
            dy.is_contiguous() && dy.layout().start_offset() == 0 && dy.storage::<f32>().len() == n;
        let mut dx = if whole && dy.is_unique() {
            dy
        } else {
            flex(slice(&contiguous(&dy)).to_vec(), x.layout().shape().clone())
        };
        dx.storage_mut::<f32>()
            .par_chunks_mut(CHUNK)
            .zip(slice(&x).par_chunks(CHUNK))
            .for_each(|(dx, x)| {
                for (d, &v) in dx.iter_mut().zip(x) {
                    // A select and a store every time: a branch per value mispredicts.
                    *d = if bounds.passes(v) { *d } else { 0.0 };
                }
            });
        grads.register::<Flex>(node.id, dx);
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;
    use crate::device::{DeviceChoice, select_device};
    use crate::finetune::channels_last::tests::values;

    /// Output and input gradient of `f` for the loss `Σ f(x)·r`.
    fn output_and_gradient(f: impl Fn(Tensor<2>) -> Tensor<2>, x: &Tensor<2>) -> [Vec<f32>; 2] {
        let x = x.clone().autodiff().require_grad();
        let y = f(x.clone());
        let [n, m] = y.dims();
        let r: Vec<f32> = (0..n * m).map(|i| 1.0 + (i % 7) as f32).collect();
        let r = Tensor::<2>::from_data(TensorData::new(r, [n, m]), &y.device());
        let grads = y.clone().mul(r).sum().backward();
        [values(y), values(x.grad(&grads).expect("input gradient"))]
    }

    /// On burn's CPU backend the operation runs (not burn's clamp) and gives burn's ReLU6 and
    /// ReLU exactly, value and gradient — at the bounds themselves too (0 and 6 pass the
    /// gradient in both) and on a map read transposed; NaN stays NaN.
    #[test]
    fn matches_burns_clamps_and_their_gradients() {
        let device = select_device(DeviceChoice::Cpu).unwrap().device;
        let v: Vec<f32> = (0..CHUNK * 2 + 76)
            .map(|i| (i % 29) as f32 * 0.5 - 4.0)
            .collect();
        assert!(v.contains(&0.0) && v.contains(&6.0) && v.contains(&-4.0) && v.contains(&10.0));
        let n = v.len();
        let x = Tensor::<2>::from_data(TensorData::new(v, [n / 4, 4]), &device);
        let ours = |bounds: Bounds, transpose: bool| {
            move |x: Tensor<2>| {
                let x = if transpose { x.transpose() } else { x };
                clamp_cpu(&x, bounds).expect("the CPU operation, not burn's clamp")
            }
        };
        let cases: [(&str, Bounds, bool); 3] = [
            ("relu6", Bounds::RELU6, false),
            ("relu", Bounds::RELU, false),
            ("relu6 of a transposed map", Bounds::RELU6, true),
        ];
        for (what, bounds, transpose) in cases {
            let burns = move |x: Tensor<2>| {
                let x = if transpose { x.transpose() } else { x };
                x.clamp(bounds.min, bounds.max)
            };
            let want = output_and_gradient(burns, &x);
            let got = output_and_gradient(ours(bounds, transpose), &x);
            assert_eq!(want, got, "{what}");
        }
        let nan = Tensor::<1>::from_data(TensorData::new(vec![f32::NAN, 7.0], [2]), &device);
        let y = values(clamp_cpu(&nan.autodiff(), Bounds::RELU6).unwrap());
        assert!(y[0].is_nan() && y[1] == 6.0);
    }
}
