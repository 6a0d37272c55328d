//! The `autopilot` command-line tool.

fn main() {
    std::process::exit(autopilot_cli::main_with_args(std::env::args_os()));
}
