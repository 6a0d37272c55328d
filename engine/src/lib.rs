//! Autopilot engine: data ingestion, partitioning, learned features, blueprints, the project
//! store, the scheduler, insights, and the [`session`] API that front ends (the CLI, tests, a
//! web app) call. See `docs/ARCHITECTURE.md` for the layering.

pub mod autopilot;
pub mod dataset;
pub mod encode;
pub mod features;
pub mod insights;
pub mod leaderboard;
pub mod model;
pub mod partition;
pub mod project;
pub mod session;
pub mod store;
pub mod synth;
