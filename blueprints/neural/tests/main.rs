//! The neural crate's integration tests, in one binary (each binary links burn and wgpu).

mod common;
mod minilm;
mod pipeline;
mod reference;
mod wgpu;
