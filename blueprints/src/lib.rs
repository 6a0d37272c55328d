//! Blueprint tasks: the building blocks autopilot combines into models.
//!
//! * [`features`]: the feature matrix every estimator consumes (a dense block and/or a sparse block).
//! * [`estimator`]: the [`estimator::Estimator`] trait, typed hyperparameters, fitting context.
//! * [`metrics`]: classification metrics (balanced accuracy, log loss, AUC, ...).

pub mod blend;
pub mod decomposition;
pub mod error;
pub mod estimator;
pub mod features;
pub mod fit_input;
pub mod knn;
pub mod linear;
pub mod metrics;
pub mod naive_bayes;
pub mod numeric;
pub mod params;
pub mod search;
#[cfg(test)]
pub(crate) mod testing;
pub mod text;
pub mod tree;

pub use error::BlueprintError;
pub use estimator::{Estimator, FitContext};
pub use features::Features;
pub use params::{ParamDomain, ParamSpec, SearchDim};
