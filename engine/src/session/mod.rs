//! The engine's API for front ends (the CLI, tests, a future web app or Python bindings): typed
//! options in, typed results and progress events out, no argument parsing and no printing.
//!
//! - [`run`]: open or create a project, load, profile and partition the data, compute learned
//!   features and run the autopilot ([`Session::prepare`], [`Session::run_autopilot`]).
//! - [`tune`]: retrain a model with changed parameters or a small grid.
//! - [`featurize`]: the feature vectors of one column, written to `.npy`, `.csv` or `.mtx`.
//! - Predictions: [`crate::store::load_predictor`] + [`crate::model::Predictor::predict_csv`];
//!   insights: [`crate::insights::write_insights`].

pub mod featurize;
pub mod memory;
pub mod run;
pub mod tune;

pub use run::{NO_BACKBONE, RunEvent, RunOptions, RunOutcome, Session};
pub use tune::{TuneOutcome, TuneRequest, TunedModel};
