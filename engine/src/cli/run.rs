//! `autopilot run`.

use clap::Args;

/// Arguments of `autopilot run`.
#[derive(Debug, Args)]
pub struct RunArgs {}

/// Executes `autopilot run`.
pub fn execute(_args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("'autopilot run' is not implemented yet")
}
