//! Helpers shared by the tree ensembles: seeds, validation split, prediction input checks.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{BlueprintError, Result};
use crate::features::Features;
use crate::fit_input::stratified_split;

/// A well-mixed seed derived from `(seed, index)` (SplitMix64), so that each tree or round
/// gets its own random stream whatever the thread scheduling.
pub(crate) fn mix_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// [`stratified_split`] with a random stream derived from `seed`.
pub(crate) fn stratified_holdout(
    y: &[u32],
    n_classes: usize,
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(seed, 0x5EA1));
    stratified_split(y, n_classes, fraction, &mut rng)
}

/// [`crate::fit_input::random_split`] of `0..n` with a random stream derived from `seed` (the
/// regression counterpart of [`stratified_holdout`]).
pub(crate) fn random_holdout(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(seed, 0x5EA1));
    crate::fit_input::random_split(n, fraction, &mut rng)
}

/// Checks that `x` at predict time is valid and has the block shapes seen in training.
pub(crate) fn check_predict_input(
    x: &Features,
    n_dense: usize,
    n_sparse: usize,
    task: &str,
) -> Result<()> {
    x.validate()?;
    if x.n_dense() != n_dense || x.n_sparse() != n_sparse {
        return Err(BlueprintError::InvalidInput(format!(
            "{task} was fitted on {n_dense} dense + {n_sparse} sparse columns but got {} + {}",
            x.n_dense(),
            x.n_sparse()
        )));
    }
    if x.sparse.as_ref().is_some_and(|s| !s.is_csr()) {
        return Err(BlueprintError::InvalidInput(format!(
            "{task} needs the sparse block in CSR storage"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdout_is_stratified_and_keeps_a_training_row_per_class() {
        let y: Vec<u32> = (0..100)
            .map(|i| {
                if i < 80 {
                    0
                } else if i < 99 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let (tr, va) = stratified_holdout(&y, 3, 0.1, 7);
        assert_eq!(tr.len() + va.len(), 100);
        let count = |rows: &[usize], c: u32| rows.iter().filter(|&&r| y[r] == c).count();
        assert_eq!((count(&va, 0), count(&va, 1), count(&va, 2)), (8, 2, 0));
        assert_eq!(count(&tr, 2), 1);
        assert_ne!(stratified_holdout(&y, 3, 0.1, 8).1, va);
    }
}
