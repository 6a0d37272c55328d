//! Autopilot engine: data ingestion, partitioning, project store, scheduler, insights and CLI.

pub mod cli;
pub mod dataset;
pub mod encode;
pub mod partition;
pub mod synth;
pub mod project;
pub mod leaderboard;
