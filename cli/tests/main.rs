//! The engine's integration tests, in one binary: each test binary links burn and wgpu, so one
//! binary instead of seven saves minutes of linking and gigabytes of disk.

mod common;
mod featurize_cli;
mod fine_tune_cli;
mod ingestion;
mod insights;
mod kill_resume;
mod models_cli;
mod product_cli;
mod reliability_cli;
mod reliability_input;
mod reliability_project;
mod run_cli;
mod tasks_cli;
