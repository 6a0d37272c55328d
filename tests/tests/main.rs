//! End-to-end tests of the `autopilot` CLI, in one binary (each binary links burn and wgpu).

mod architecture;
#[path = "../../cli/tests/common.rs"]
mod common;
mod end_to_end;
mod report_browser;
