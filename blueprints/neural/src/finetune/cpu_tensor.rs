//! Glue for the tail's own autodiff operations on burn's CPU backend (`Autodiff<Flex>`, no
//! checkpointing — the default; [`super::depthwise_op`], [`super::clamp_op`]): tensors in and out
//! of it, and their values as slices.

use burn::tensor::{DType, Shape, Tensor, TensorData};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::ops::{Backward, NodeGuard, OpsKind};
use burn_backend::BackendTypes;
use burn_flex::{Flex, FlexTensor};

/// burn's CPU backend under autodiff.
pub type CpuAutodiff = Autodiff<Flex>;

/// An autodiff tensor of burn's CPU backend (what [`Tensor::try_into_primitive`] gives).
pub type CpuAutodiffTensor = <CpuAutodiff as BackendTypes>::FloatTensorPrimitive;

/// `t` as an f32 autodiff tensor of burn's CPU backend, or `None` (another backend, no
/// autodiff, another float type).
pub fn cpu_autodiff<const D: usize>(t: Tensor<D>) -> Option<CpuAutodiffTensor> {
    if t.dtype() != DType::F32 {
        return None;
    }
    t.try_into_primitive::<CpuAutodiff>().ok()
}

/// `out`, computed by `op`'s forward pass from the tensors whose `nodes` are given, as an
/// autodiff tensor: with `state` for `op`'s backward pass when any of them needs a gradient.
pub fn record<O: Backward<Flex, N>, const N: usize>(
    op: O,
    nodes: [NodeGuard; N],
    state: O::State,
    out: FlexTensor,
) -> CpuAutodiffTensor {
    match op
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

/// `t` back as a tensor.
pub fn from_cpu_autodiff<const D: usize>(t: CpuAutodiffTensor) -> Tensor<D> {
    Tensor::from_primitive::<CpuAutodiff>(t)
}

/// `t` laid out row-major from offset 0 (a copy only when it is not).
pub fn contiguous(t: &FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

/// The values of a contiguous f32 tensor ([`contiguous`]).
///
/// # Panics
/// When `t` is not contiguous f32 (a bug of the caller).
pub fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous f32 tensor")
}

/// The values of an f32 tensor, row-major (`None` for another type).
pub fn values(t: &FlexTensor) -> Option<Vec<f32>> {
    (t.dtype() == DType::F32).then(|| contiguous(t).as_slice::<f32>().map(<[f32]>::to_vec))?
}

/// A CPU tensor of `values` in `shape`.
pub fn flex(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
