//! Checks and bookkeeping shared by every estimator's `fit`: input validation, the mapping
//! between the classes present in a training fold and the full label set, row weights, the
//! stratified validation split, and the column check at predict time.

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::error::{BlueprintError, Result};
use crate::estimator::FitContext;
use crate::features::Features;
use crate::numeric::floor_and_normalize;
use crate::params::{Access, Param, TargetKind};

/// Validates a fit call: finite features with rows and columns, one label per row, every label
/// below `ctx.n_classes`, and (when given) one finite non-negative sample weight per row with a
/// positive total.
pub fn check_fit_input(x: &Features, y: &[u32], ctx: &FitContext) -> Result<()> {
    x.validate()?;
    check_labels(x.n_rows(), y, ctx)
}

/// The label and sample-weight half of [`check_fit_input`], for inputs that are not `Features`.
pub fn check_labels(n_rows: usize, y: &[u32], ctx: &FitContext) -> Result<()> {
    if ctx.n_classes == 0 {
        return Err(BlueprintError::InvalidInput(
            "n_classes must be at least 1".into(),
        ));
    }
    if n_rows != y.len() {
        return Err(BlueprintError::InvalidInput(format!(
            "feature matrix has {n_rows} rows but there are {} labels",
            y.len()
        )));
    }
    if y.is_empty() {
        return Err(BlueprintError::InvalidInput("no training rows".into()));
    }
    if let Some((i, &c)) = y
        .iter()
        .enumerate()
        .find(|(_, c)| **c as usize >= ctx.n_classes)
    {
        return Err(BlueprintError::InvalidInput(format!(
            "label {c} at row {i} is not below n_classes = {}",
            ctx.n_classes
        )));
    }
    check_sample_weights(y.len(), ctx)
}

/// One finite non-negative sample weight per row with a positive total, when `ctx` has any.
fn check_sample_weights(n_rows: usize, ctx: &FitContext) -> Result<()> {
    if let Some(w) = &ctx.sample_weight {
        if w.len() != n_rows {
            return Err(BlueprintError::InvalidInput(format!(
                "{} sample weights for {} rows",
                w.len(),
                n_rows
            )));
        }
        if let Some((i, v)) = w
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return Err(BlueprintError::InvalidInput(format!(
                "sample weight {v} at row {i} is not finite and >= 0"
            )));
        }
        if w.iter().map(|&v| v as f64).sum::<f64>() <= 0.0 {
            return Err(BlueprintError::InvalidInput(
                "sample weights sum to zero".into(),
            ));
        }
    }
    Ok(())
}

/// Validates a regression fit call: finite features with rows and columns, one finite target
/// per row, and sample weights as in [`check_labels`].
pub fn check_regression_input(x: &Features, y: &[f32], ctx: &FitContext) -> Result<()> {
    x.validate()?;
    check_targets(x.n_rows(), y, ctx)
}

/// The target and sample-weight half of [`check_regression_input`], for inputs that are not
/// `Features` (blenders).
pub fn check_targets(n_rows: usize, y: &[f32], ctx: &FitContext) -> Result<()> {
    if n_rows != y.len() {
        return Err(BlueprintError::InvalidInput(format!(
            "feature matrix has {n_rows} rows but there are {} targets",
            y.len()
        )));
    }
    if y.is_empty() {
        return Err(BlueprintError::InvalidInput("no training rows".into()));
    }
    if let Some((i, v)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(BlueprintError::InvalidInput(format!(
            "target {v} at row {i} is not finite"
        )));
    }
    check_sample_weights(n_rows, ctx)
}

/// A regression fit's targets made ready (after [`check_regression_input`]): the targets and
/// the row weights (the sample weights, or 1), both in `f64`.
#[derive(Debug, Clone)]
pub struct FitTargets {
    /// Target of each row.
    pub y: Vec<f64>,
    /// Weight of each row.
    pub weights: Vec<f64>,
}

impl FitTargets {
    /// Checks the regression fit input and prepares its targets and row weights.
    pub fn new(x: &Features, y: &[f32], ctx: &FitContext) -> Result<Self> {
        check_regression_input(x, y, ctx)?;
        Ok(Self::from_checked(y, ctx))
    }

    /// Targets and weights of input already checked with [`check_targets`].
    pub fn from_checked(y: &[f32], ctx: &FitContext) -> Self {
        let weights = match &ctx.sample_weight {
            Some(w) => w.iter().map(|&v| f64::from(v)).collect(),
            None => vec![1.0; y.len()],
        };
        Self {
            y: y.iter().map(|&v| f64::from(v)).collect(),
            weights,
        }
    }

    /// Weighted mean of the targets over `rows`.
    pub fn mean(&self, rows: &[usize]) -> f64 {
        let (s, w) = rows.iter().fold((0.0, 0.0), |(s, w), &r| {
            (s + self.weights[r] * self.y[r], w + self.weights[r])
        });
        if w > 0.0 { s / w } else { 0.0 }
    }
}

/// Splits `0..n` into (train, validation) for a regression hold-out: about `fraction` of the
/// rows (shuffled with `rng`) go to validation, at least one row stays in training. Both ascending.
pub fn random_split<R: Rng + ?Sized>(
    n: usize,
    fraction: f64,
    rng: &mut R,
) -> (Vec<usize>, Vec<usize>) {
    stratified_split(&vec![0u32; n], 1, fraction, rng)
}

/// The classes present in a training fold, in increasing order, and how they map back to the
/// full label set `0..n_classes`. Estimators fit on the compact labels `0..present.len()` and
/// [`ClassMap::expand`] widens their probabilities back, giving absent classes the floor
/// probability ([`crate::numeric::PROB_FLOOR`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMap {
    /// Total number of classes the caller expects in the output.
    pub n_classes: usize,
    /// Original labels of the classes present in the training labels, sorted.
    pub present: Vec<u32>,
}

impl ClassMap {
    /// Collects the present classes from `y` (labels must already be checked `< n_classes`).
    pub fn from_labels(y: &[u32], n_classes: usize) -> Self {
        let mut seen = vec![false; n_classes];
        for &c in y {
            if let Some(s) = seen.get_mut(c as usize) {
                *s = true;
            }
        }
        let present = (0..n_classes as u32)
            .filter(|&c| seen[c as usize])
            .collect();
        Self { n_classes, present }
    }

    /// Number of classes present in the training fold.
    pub fn n_present(&self) -> usize {
        self.present.len()
    }

    /// Labels renumbered to `0..n_present()`.
    pub fn compact(&self, y: &[u32]) -> Vec<u32> {
        let mut lookup = vec![0u32; self.n_classes];
        for (i, &c) in self.present.iter().enumerate() {
            lookup[c as usize] = i as u32;
        }
        y.iter()
            .map(|&c| lookup.get(c as usize).copied().unwrap_or(0))
            .collect()
    }

    /// Widens `rows × n_present` probabilities to `rows × n_classes` (absent classes get the
    /// floor), floors and renormalises every row and converts to `f32`.
    pub fn expand(&self, compact: ArrayView2<f64>) -> Array2<f32> {
        let mut full = Array2::<f64>::zeros((compact.nrows(), self.n_classes));
        for (j, &c) in self.present.iter().enumerate() {
            full.column_mut(c as usize).assign(&compact.column(j));
        }
        floor_and_normalize(&mut full);
        full.mapv(|v| v as f32)
    }
}

crate::choice_enum! {
    /// How rows are weighted by class (scikit-learn's `class_weight`).
    pub enum ClassWeight {
        /// Row weights as given.
        None = "none",
        /// Row weights times `n_rows / (n_present_classes * count(class))`.
        Balanced = "balanced",
    }
}

impl ClassWeight {
    /// `Balanced` when `balanced`, else `None`.
    pub fn from_balanced(balanced: bool) -> Self {
        if balanced {
            ClassWeight::Balanced
        } else {
            ClassWeight::None
        }
    }

    /// The `class_weight` hyperparameter as the tree ensembles and the SNN declare it.
    pub fn param<E: 'static>(access: Access<E, ClassWeight>) -> Param<E> {
        Param::choice(
            "class_weight",
            access,
            "balanced gives every class the same total weight",
        )
        .only_for(TargetKind::Classification)
    }

    /// Whether classes are reweighted to equal total weight.
    pub fn is_balanced(self) -> bool {
        self == ClassWeight::Balanced
    }
}

/// Per-row weights: the caller's sample weights (or 1) times, when `balanced`, the class weight
/// `n_rows / (n_present_classes * count(class))` (scikit-learn's `class_weight="balanced"`,
/// counted over the classes present in `y_compact`).
pub fn row_weights(
    y_compact: &[u32],
    n_present: usize,
    sample_weight: Option<&[f32]>,
    balanced: bool,
) -> Vec<f64> {
    let mut w: Vec<f64> = match sample_weight {
        Some(sw) => sw.iter().map(|&v| v as f64).collect(),
        None => vec![1.0; y_compact.len()],
    };
    if balanced {
        let mut counts = vec![0usize; n_present];
        for &c in y_compact {
            counts[c as usize] += 1;
        }
        let n = y_compact.len() as f64;
        for (wi, &c) in w.iter_mut().zip(y_compact) {
            *wi *= n / (n_present as f64 * counts[c as usize] as f64);
        }
    }
    w
}

/// A fit's labels made ready (after [`check_fit_input`]): the present classes, the labels in
/// their compact numbering and the row weights.
#[derive(Debug, Clone)]
pub struct FitLabels {
    /// Present classes and the full class count.
    pub classes: ClassMap,
    /// Labels in `0..classes.n_present()`.
    pub y: Vec<u32>,
    /// Per-row weights ([`row_weights`]).
    pub weights: Vec<f64>,
}

impl FitLabels {
    /// Checks the fit input and prepares its labels and row weights.
    pub fn new(
        x: &Features,
        y: &[u32],
        ctx: &FitContext,
        class_weight: ClassWeight,
    ) -> Result<Self> {
        check_fit_input(x, y, ctx)?;
        let classes = ClassMap::from_labels(y, ctx.n_classes);
        let yc = classes.compact(y);
        let weights = row_weights(
            &yc,
            classes.n_present(),
            ctx.sample_weight.as_deref(),
            class_weight.is_balanced(),
        );
        Ok(Self {
            classes,
            y: yc,
            weights,
        })
    }
}

/// Splits `0..y.len()` into (train, validation), stratified by class: about `fraction` of each
/// class (shuffled with `rng`) goes to validation, but every class keeps at least one training
/// row. Both ascending.
pub fn stratified_split<R: Rng + ?Sized>(
    y: &[u32],
    n_classes: usize,
    fraction: f64,
    rng: &mut R,
) -> (Vec<usize>, Vec<usize>) {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &c) in y.iter().enumerate() {
        by_class[c as usize].push(i);
    }
    let mut train = Vec::with_capacity(y.len());
    let mut valid = Vec::new();
    for mut rows in by_class {
        rows.shuffle(rng);
        let n_val =
            ((rows.len() as f64 * fraction).round() as usize).min(rows.len().saturating_sub(1));
        valid.extend_from_slice(&rows[..n_val]);
        train.extend_from_slice(&rows[n_val..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    (train, valid)
}

/// Checks `x` at predict time: valid, with the `n_dense` dense and `n_sparse` sparse columns
/// the model was fitted on.
pub fn check_predict_columns(x: &Features, n_dense: usize, n_sparse: usize) -> Result<()> {
    x.validate()?;
    if x.n_dense() != n_dense || x.n_sparse() != n_sparse {
        return Err(BlueprintError::InvalidInput(format!(
            "model was fitted on {n_dense} dense + {n_sparse} sparse columns but got {} + {}",
            x.n_dense(),
            x.n_sparse()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn class_map_round_trip_and_floor() {
        let m = ClassMap::from_labels(&[2, 0, 2], 4);
        assert_eq!(m.present, vec![0, 2]);
        assert_eq!(m.compact(&[2, 0, 2]), vec![1, 0, 1]);
        let p = m.expand(array![[0.25, 0.75]].view());
        assert_eq!(p.ncols(), 4);
        assert!((p[[0, 2]] - 0.75).abs() < 1e-6);
        assert!(p[[0, 1]] > 0.0 && p[[0, 1]] < 1e-6);
        assert!((p.sum() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn balanced_weights_match_sklearn_formula() {
        // sklearn compute_class_weight("balanced", classes=[0,1], y=[0,0,0,1]) = [0.6667, 2.0]
        let w = row_weights(&[0, 0, 0, 1], 2, None, true);
        assert!((w[0] - 2.0 / 3.0).abs() < 1e-12 && (w[3] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn refuses_bad_labels_and_weights() {
        let x = Features::dense(array![[1.0f32], [2.0]]);
        let ctx = FitContext::new(2, 0);
        assert!(
            check_fit_input(&x, &[0, 2], &ctx)
                .unwrap_err()
                .to_string()
                .contains("label 2")
        );
        assert!(
            check_fit_input(&x, &[0], &ctx)
                .unwrap_err()
                .to_string()
                .contains("2 rows")
        );
        let mut c = ctx.clone();
        c.sample_weight = Some(vec![1.0, f32::NAN]);
        assert!(check_fit_input(&x, &[0, 1], &c).is_err());
        assert!(check_fit_input(&x, &[0, 1], &FitContext::new(0, 0)).is_err());
        assert!(check_fit_input(&x, &[0, 1], &ctx).is_ok());
    }

    #[test]
    fn refuses_bad_targets_and_weights() {
        let x = Features::dense(array![[1.0f32], [2.0]]);
        let ctx = FitContext::new(1, 0);
        assert!(check_regression_input(&x, &[0.5, -3.0], &ctx).is_ok());
        let e = check_regression_input(&x, &[0.5, f32::INFINITY], &ctx).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        assert!(check_regression_input(&x, &[0.5], &ctx).is_err());
        let mut c = ctx.clone();
        c.sample_weight = Some(vec![1.0, -1.0]);
        assert!(check_regression_input(&x, &[0.5, 1.0], &c).is_err());
        c.sample_weight = Some(vec![3.0, 1.0]);
        let t = FitTargets::new(&x, &[1.0, 5.0], &c).unwrap();
        assert_eq!(t.mean(&[0, 1]), 2.0);
        let bad = Features::dense(array![[f32::NAN], [2.0]]);
        assert!(FitTargets::new(&bad, &[1.0, 5.0], &ctx).is_err());
    }
}
