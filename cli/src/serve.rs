//! `autopilot serve [--project DIR] [--port N] [--host ADDR --token T]`: starts the local web
//! app over a project (the `autopilot-serve` crate) and prints its address.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use super::insights::project_dir;
use super::out::outln;
use autopilot_serve::{DEFAULT_MAX_UPLOAD, DEFAULT_PORT, ServeOptions, Server};

/// Arguments of `autopilot serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Project folder (default: the only `*.autopilot` folder in the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Address to listen on; anything but a loopback address requires --token.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Token every request must carry (at least 8 characters); open the printed address.
    #[arg(long)]
    pub token: Option<String>,
    /// Largest upload (a CSV with its images), in MiB (at least 1).
    #[arg(long = "max-upload-mb", default_value_t = (DEFAULT_MAX_UPLOAD >> 20) as u32,
          value_parser = clap::value_parser!(u32).range(1..=1 << 20))]
    pub max_upload_mb: u32,
}

/// Executes `autopilot serve`: serves until the process is stopped.
pub fn execute(args: ServeArgs) -> anyhow::Result<()> {
    let dir = project_dir(args.project.as_deref())?;
    let opts = ServeOptions {
        project: dir.clone(),
        host: args.host,
        port: args.port,
        token: args.token.clone(),
        max_upload: (args.max_upload_mb as usize) << 20,
    };
    let server = Server::start(opts)?;
    let query = args
        .token
        .as_deref()
        .map(|t| format!("?token={t}"))
        .unwrap_or_default();
    outln!(
        "Serving {} at http://{}/{query} (Ctrl-C stops it)",
        dir.display(),
        server.addr()
    )?;
    server.wait();
    Ok(())
}
