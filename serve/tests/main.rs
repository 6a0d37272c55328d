//! The serve crate's integration tests, one binary: the HTTP API and its safety rules
//! (`http.rs`), and the app in headless Chromium (`browser.rs`, through `cdp.rs`).

mod browser;
mod cdp;
mod common;
mod http;
mod tasks;
