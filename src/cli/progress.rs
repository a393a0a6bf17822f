//! Progress on stderr for long runs: a bar with the elapsed time and an ETA, drawn only on a
//! terminal, so CI logs and pipes get the summary rather than a stream of redraws.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::core::train::Control;

/// A run this short never shows a bar (it would only flicker).
const QUIET_FOR: Duration = Duration::from_secs(1);
/// How often the bar reads the step count.
const TICK: Duration = Duration::from_millis(100);

/// A progress bar on stderr, drawn only on a terminal (indicatif hides it otherwise).
pub fn progress_bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    let template = format!("{{bar:40}} {{pos}}/{{len}} {what}, {{elapsed}} elapsed, ETA {{eta}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// Runs `f` (a training run of `steps` steps, stopped by `stop`) with a bar of its finished
/// steps once it has taken longer than [`QUIET_FOR`]. Off a terminal there is no bar and no
/// extra thread.
pub fn with_steps<R>(steps: usize, stop: &AtomicBool, f: impl FnOnce(Control<'_>) -> R) -> R {
    let done = AtomicUsize::new(0);
    if !std::io::stderr().is_terminal() {
        return f(Control { stop, done: &done });
    }
    let finished = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            std::thread::park_timeout(QUIET_FOR);
            if finished.load(Ordering::Acquire) {
                return;
            }
            let bar = progress_bar(steps, "steps");
            while !finished.load(Ordering::Acquire) {
                bar.set_position(done.load(Ordering::Relaxed) as u64);
                std::thread::park_timeout(TICK);
            }
            bar.finish_and_clear();
        });
        let out = f(Control { stop, done: &done });
        finished.store(true, Ordering::Release);
        watcher.thread().unpark();
        out
    })
}
