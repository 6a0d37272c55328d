//! Console output on stdout that survives a reader that went away (`autopilot leaderboard |
//! head -1`). Rust ignores SIGPIPE, so a write to a closed pipe fails with EPIPE; [`write_fmt`]
//! turns that into an error marked [`StdoutClosed`]. [`super::main_with_args`] ends a command
//! that returns it quietly with exit code 0, like other Unix tools; `run` ignores its printing
//! errors and keeps training.
//!
//! Use [`outln!`] and [`out!`] instead of `println!`/`print!` (which panic on EPIPE), and
//! [`errln!`] instead of `eprintln!` (`run … 2>&1 | head` closes stderr too: progress and
//! warnings are then dropped and the command goes on).

use std::fmt;
use std::io::{self, Write as _};

/// Stdout was closed by its reader (EPIPE): nobody reads what the command prints any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stdout was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes `args` to stdout and flushes. A closed pipe gives a `BrokenPipe` error carrying
/// [`StdoutClosed`]; other errors are returned as they are.
pub fn write_fmt(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_fmt(args)
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)
            } else {
                e
            }
        })
}

/// Whether `e`, or one of its causes, is a write to a closed stdout (from [`write_fmt`]).
pub fn is_stdout_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .is_some_and(|inner| inner.is::<StdoutClosed>())
    })
}

/// `println!` to stdout that returns `io::Result<()>` instead of panicking (see the module docs).
macro_rules! outln {
    () => {
        $crate::out::write_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` to stdout that returns `io::Result<()>` instead of panicking (see the module docs).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write_fmt(format_args!($($arg)*))
    };
}

/// `eprintln!` that drops the line when stderr is closed instead of panicking (see the module
/// docs): nobody is left to read a message about it.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub(crate) use {errln, out, outln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_stdout_is_recognised_through_context() {
        let closed = io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed);
        let e = anyhow::Error::from(closed).context("printing the leaderboard");
        assert!(is_stdout_closed(&e));
        // A broken pipe elsewhere (not stdout) is a real error.
        let other = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(!is_stdout_closed(&other));
        assert!(!is_stdout_closed(&anyhow::anyhow!("other")));
    }
}
