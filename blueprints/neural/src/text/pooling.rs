//! Sentence-transformers pooling: the mean of the token states under the attention mask,
//! then L2 normalisation.

use burn::tensor::Tensor;

/// Mean of `hidden` (`[batch, seq, dim]`) over the positions where `mask` (`[batch, seq]`) is 1,
/// divided by its L2 norm: `[batch, dim]`. The token count is clamped at 1e-9 and the norm at
/// 1e-12, as in sentence-transformers (`torch.clamp` and `F.normalize`).
pub fn mean_pool_normalized(hidden: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
    let [b, s, d] = hidden.dims();
    let summed = (hidden * mask.clone().reshape([b, s, 1]))
        .sum_dim(1)
        .reshape([b, d]);
    let counts = mask.sum_dim(1).clamp_min(1e-9);
    l2_normalized(summed / counts)
}

/// Each row of `x` divided by its L2 norm (clamped at 1e-12).
pub fn l2_normalized(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}
