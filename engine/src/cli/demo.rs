//! `autopilot demo`.

use clap::Args;

/// Arguments of `autopilot demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {}

/// Executes `autopilot demo`.
pub fn execute(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("'autopilot demo' is not implemented yet")
}
