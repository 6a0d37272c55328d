//! The neural crate's integration tests, in one binary (each binary links burn and wgpu).

mod common;
mod int8;
mod minilm;
mod pipeline;
mod reference;
mod resnet;
mod wgpu;
