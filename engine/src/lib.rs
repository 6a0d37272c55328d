//! Autopilot engine: data ingestion, partitioning, project store, scheduler, insights and CLI.

pub mod cli;
