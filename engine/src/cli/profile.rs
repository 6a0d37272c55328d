//! `autopilot profile`.

use clap::Args;

/// Arguments of `autopilot profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {}

/// Executes `autopilot profile`.
pub fn execute(_args: ProfileArgs) -> anyhow::Result<()> {
    anyhow::bail!("'autopilot profile' is not implemented yet")
}
