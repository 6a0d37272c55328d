//! `autopilot serve`: a local web app over one project — the leaderboard (live while a run
//! writes the project), a model's page (blueprint, parameters, folds, confusion matrix with its
//! rows, Feature Impact), image embeddings, activation maps, word clouds, advanced tuning and
//! scoring of new data.
//!
//! The server is axum on tokio; the page (plain HTML/JS/CSS in `assets/`) is compiled into the
//! binary. Every answer comes from the engine: the leaderboard and models through
//! [`autopilot::store`], insights through [`autopilot::insights::write_insights`] (computed on
//! demand and cached in `<project>/insights/<model>/`, like `autopilot insights`), tuning through
//! [`autopilot::session::tune`], scoring through [`autopilot::store::load_predictor`] and
//! [`autopilot::model::Predictor::predict_csv`] (the same output as `autopilot predict`).
//!
//! Safety ([`guard`]): it binds 127.0.0.1 unless told otherwise, and another address needs a
//! token, checked on every request; on a loopback address the `Host` header must name it (no DNS
//! rebinding); state-changing requests need the app's own header and a same-origin `Origin`;
//! files are served only from the project, images by row id; uploads are size-limited and
//! validated.

mod api;
mod assets;
mod error;
pub mod guard;
mod images;
mod insights;
mod jobs;
mod predict;
mod state;
mod tune;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

pub use state::AppState;

/// Default port of `autopilot serve`.
pub const DEFAULT_PORT: u16 = 8765;

/// Default largest upload (a CSV with its images), in bytes.
pub const DEFAULT_MAX_UPLOAD: usize = 64 << 20;

/// How to serve a project.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The project folder.
    pub project: PathBuf,
    /// Address to listen on (127.0.0.1 by default).
    pub host: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// Token every request must carry; required when `host` is not a loopback address.
    pub token: Option<String>,
    /// Largest request body, in bytes.
    pub max_upload: usize,
}

impl ServeOptions {
    /// Serving `project` on 127.0.0.1 at [`DEFAULT_PORT`], no token.
    pub fn new(project: PathBuf) -> Self {
        Self {
            project,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            token: None,
            max_upload: DEFAULT_MAX_UPLOAD,
        }
    }

    /// Refuses a non-loopback address without a token, a short token, and one with characters
    /// a URL or a cookie would change (it travels in both).
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(t) = &self.token {
            if t.len() < 8 {
                anyhow::bail!("--token must have at least 8 characters");
            }
            if !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c))
            {
                anyhow::bail!("--token may hold only letters, digits and . _ ~ -");
            }
        }
        if !self.host.is_loopback() && self.token.is_none() {
            anyhow::bail!(
                "listening on {} (not a loopback address) requires --token: anyone who can reach it could read the project and start training",
                self.host
            );
        }
        Ok(())
    }
}

/// A running server (see [`Server::start`]).
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Checks the options, opens the project, binds and serves on a background thread.
    pub fn start(opts: ServeOptions) -> anyhow::Result<Server> {
        opts.check()?;
        let state = Arc::new(AppState::open(&opts)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let addr = SocketAddr::new(opts.host, opts.port);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .with_context(|| format!("listening on {addr}"))?;
        let addr = listener.local_addr()?;
        let app = api::router(state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("autopilot-serve".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })?;
        Ok(Server {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
