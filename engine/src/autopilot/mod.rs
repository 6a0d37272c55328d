//! The autopilot: stages on growing samples (each blueprint searching its own hyperparameters on
//! inner folds, [`blueprints::search`]), cross-validation of the survivors (the best, and the
//! best of every estimator family and feature list), retuning of the best blueprint with each
//! alternative image backbone, a Reduced feature list, and blenders of the best of them all.
//!
//! Every finished model is written to the project (atomically) before the next one starts, and
//! models already on the leaderboard are not trained again, so a killed run resumes where it stopped.

pub mod blend;
pub mod candidates;
pub mod evaluate;
mod runner;
#[cfg(test)]
mod scheduler_tests;
pub mod text_search;
pub mod tuning;

pub use runner::{Autopilot, AutopilotOptions, Event, Mode, REDUCED_LIST, REDUCED_SHARE};
