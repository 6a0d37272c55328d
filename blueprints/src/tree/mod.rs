//! Tree models on one histogram core: LightGBM-style gradient boosting ([`GradientBoosting`])
//! and random forests / extra trees ([`RandomForest`]).
//!
//! * [`binning`]: quantile bins per feature (u8), sparse columns stored sparsely.
//! * [`histogram`]: gradient histograms and split search; [`grower`]: leaf-wise tree growth.
//! * [`model`]: the fitted, serializable [`Tree`].

pub(crate) mod binning;
mod common;
pub mod forest;
pub mod gbdt;
pub(crate) mod grower;
pub(crate) mod histogram;
pub mod model;

pub use forest::{ForestParams, MaxFeatures, RandomForest};
pub use gbdt::{GbdtParams, GradientBoosting, RegressionLoss};
pub use model::Tree;

#[cfg(test)]
mod regression_tests;
#[cfg(test)]
mod tests;
