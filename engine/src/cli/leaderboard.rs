//! `autopilot leaderboard`.

use clap::Args;

/// Arguments of `autopilot leaderboard`.
#[derive(Debug, Args)]
pub struct LeaderboardArgs {}

/// Executes `autopilot leaderboard`.
pub fn execute(_args: LeaderboardArgs) -> anyhow::Result<()> {
    anyhow::bail!("'autopilot leaderboard' is not implemented yet")
}
