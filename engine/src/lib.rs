//! Autopilot engine: data ingestion, partitioning, project store, scheduler, insights and CLI.

pub mod autopilot;
pub mod cli;
pub mod dataset;
pub mod encode;
pub mod images;
pub mod insights;
pub mod leaderboard;
pub mod model;
pub mod partition;
pub mod project;
pub mod synth;
pub mod text_embeddings;
