//! Standard output that ends the process quietly when its reader goes away (`stabcheck … | head`).
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe is an error, and `println!` turns it into a
//! panic (exit 101 and a message). Every line the CLI prints goes through [`write`] instead: on a
//! broken pipe the process exits at once with status 141 (128 + SIGPIPE, what a C tool killed by
//! the signal reports) and prints nothing. ripgrep exits 0 there; a gate must not, because the
//! run stopped before any verdict, and 0 means "every gate held".

use std::io::Write;

/// Exit status after a broken pipe on stdout.
pub(crate) const BROKEN_PIPE_EXIT: i32 = 141;

/// `print!` through [`write`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::out::write(format_args!($($arg)*)) };
}

/// `println!` through [`write`].
macro_rules! outln {
    () => { $crate::cli::out::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::out::write(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {out, outln};

/// Writes to stdout (colours stripped when it is not a terminal). A closed reader ends the
/// process quietly with [`BROKEN_PIPE_EXIT`]; any other write error ends it with exit 2 and the
/// error on stderr, as bad I/O does everywhere else.
pub(crate) fn write(args: std::fmt::Arguments<'_>) {
    let mut stdout = anstream::stdout().lock();
    let result = stdout.write_fmt(args).and_then(|()| stdout.flush());
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::exit(BROKEN_PIPE_EXIT)
        }
        Err(e) => {
            eprintln!("error: writing to stdout: {e}");
            std::process::exit(2)
        }
    }
}
