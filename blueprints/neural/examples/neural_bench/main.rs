//! The neural crate's benchmark and profiling programs, in one binary: every program that links
//! this crate carries burn and wgpu (about 100 MB each), so seven examples cost CI's disk seven
//! times what one does (a CI build once ran out of disk while linking them).
//!
//! ```text
//! cargo run --release -p autopilot-neural --example neural_bench -- PROGRAM [ARGS]
//! target/release/examples/neural_bench PROGRAM [ARGS]
//! ```
//! PROGRAM is one of [`PROGRAMS`]; each module's documentation gives its arguments.

mod cpu_kernels_speed;
mod featurize_speed;
mod finetune_profile;
mod forward_profile;
mod gpu_check;
mod minilm_speed;
mod snn_speed;

use std::process::ExitCode;

use neural::Backbone;

/// The result every program returns.
type Outcome = Result<(), Box<dyn std::error::Error>>;

/// The backbones a comma-separated argument names (zoo names), or `default` without one.
fn backbone_list(
    arg: Option<&str>,
    default: &[Backbone],
) -> Result<Vec<Backbone>, Box<dyn std::error::Error>> {
    match arg {
        Some(list) => Ok(list
            .split(',')
            .map(Backbone::from_name)
            .collect::<Result<_, _>>()?),
        None => Ok(default.to_vec()),
    }
}

/// A program's entry point, called with the arguments after its name.
type Program = fn(Vec<String>) -> Outcome;

/// Each program's name and entry point.
const PROGRAMS: [(&str, Program); 7] = [
    ("cpu_kernels_speed", cpu_kernels_speed::main),
    ("featurize_speed", featurize_speed::main),
    ("finetune_profile", finetune_profile::main),
    ("forward_profile", forward_profile::main),
    ("gpu_check", gpu_check::main),
    ("minilm_speed", minilm_speed::main),
    ("snn_speed", snn_speed::main),
];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    let names: Vec<&str> = PROGRAMS.iter().map(|(n, _)| *n).collect();
    let Some((_, program)) = PROGRAMS.iter().find(|(n, _)| *n == name) else {
        eprintln!(
            "usage: neural_bench PROGRAM [ARGS], PROGRAM one of: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    match program(args.collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
