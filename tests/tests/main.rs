//! End-to-end tests of the `autopilot` CLI, in one binary (each binary links burn and wgpu).

mod end_to_end;
mod report_browser;
