//! Ctrl-C (SIGINT, and SIGTERM on Unix) during `stabcheck scenario`: the first asks the run to
//! stop at the next step boundary, which then writes nothing (the previous report stays); a second
//! one quits at once (every file is written by temp file + rename, so even that leaves no half file).
//!
//! The `ctrlc` crate: one portable handler (Unix signals and the Windows console) run on its own
//! thread, so the handler may print and exit; signal-hook would need a Unix-only path and a
//! second one for Windows.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of an interrupted run: 128 + SIGINT, as shells report a Ctrl-C.
pub const INTERRUPTED_EXIT: u8 = 130;

static STOP: AtomicBool = AtomicBool::new(false);
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// The flag the train loop checks, with the handler installed on first use. Without a handler
/// (another one is installed already) Ctrl-C keeps its default effect, which is still safe.
pub fn stop_flag() -> &'static AtomicBool {
    INSTALLED.get_or_init(|| {
        ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                eprintln!("interrupted again: quitting now");
                std::process::exit(i32::from(INTERRUPTED_EXIT));
            }
            eprintln!("interrupt: stopping at the next step (Ctrl-C again to quit now)");
        })
        .is_ok()
    });
    &STOP
}

/// Whether an interrupt has arrived.
pub fn interrupted() -> bool {
    STOP.load(Ordering::SeqCst)
}
