//! Linear models: multinomial logistic regression and its solvers.

pub mod logistic;
pub mod objective;
pub mod optimizer;
pub mod scores;

pub use logistic::{FittedLinear, LogisticRegression};

#[cfg(test)]
mod tests;
