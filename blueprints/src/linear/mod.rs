//! Linear models: multinomial logistic regression, ridge regression and their solvers.

pub mod logistic;
pub mod objective;
pub mod optimizer;
pub mod ridge;
pub mod scores;
mod standardize;

pub use logistic::{FittedLinear, LogisticRegression};
pub use ridge::{FittedRidge, Ridge};

#[cfg(test)]
mod ridge_tests;
#[cfg(test)]
mod tests;
