//! Running one case: on its own thread (a large stack, so deep but finite recursion is not
//! mistaken for a bug), panics caught, a deadline, and the memory it reached.

use crate::alloc;
use std::sync::mpsc;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// The bounds: no case may run past 10 s or reach 256 MiB (seeds are a few kB, so
/// anything near that was sized by a header field rather than by the data).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub timeout: Duration,
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(10), memory_bytes: 256 << 20 }
    }
}

/// What a case did.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The input was read (it may have been partly damaged, as long as it said so or coped).
    Accepted,
    /// The input was refused with an error (the expected outcome for most mutations).
    Rejected(String),
    Panicked(String),
    Hung,
    /// Memory beyond the limit: the peak live bytes above the baseline, and the largest request.
    Memory {
        peak: usize,
        largest: usize,
    },
}

impl Verdict {
    /// A bug: a panic, a hang or unbounded memory.
    pub fn is_failure(&self) -> bool {
        matches!(self, Verdict::Panicked(_) | Verdict::Hung | Verdict::Memory { .. })
    }
}

const CASE_THREAD: &str = "svs-fuzz-case";
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
/// One case at a time per process: the allocation counters are process-wide.
static ONE_CASE: Mutex<()> = Mutex::new(());

/// Panics on case threads are recorded (message and place) instead of printed; others go to
/// the previous hook, so a failing test still reports normally.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(CASE_THREAD) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
                *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{message}{place}"));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `case` and judges it. A hung case's thread is left running (it cannot be stopped from
/// outside); the caller reports it and should stop soon after.
pub fn run_case<F>(limits: Limits, case: F) -> (Verdict, Duration)
where
    F: FnOnce() -> Result<(), String> + Send + 'static,
{
    install_panic_hook();
    let _one = ONE_CASE.lock().unwrap_or_else(|e| e.into_inner());
    let baseline = alloc::start();
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name(CASE_THREAD.into()).stack_size(256 << 20).spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(case));
        let _ = tx.send(outcome);
    });
    let handle = match spawned {
        Ok(handle) => handle,
        Err(e) => return (Verdict::Panicked(format!("could not start the case thread: {e}")), Duration::ZERO),
    };
    let outcome = match rx.recv_timeout(limits.timeout) {
        Ok(outcome) => outcome,
        Err(_) => return (Verdict::Hung, started.elapsed()),
    };
    let _ = handle.join();
    let elapsed = started.elapsed();
    let (peak, largest) = alloc::peak_and_largest();
    let verdict = match outcome {
        Err(_) => {
            let message = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
            Verdict::Panicked(message)
        }
        Ok(_) if peak.saturating_sub(baseline) > limits.memory_bytes || largest > limits.memory_bytes => {
            Verdict::Memory { peak: peak.saturating_sub(baseline), largest }
        }
        Ok(Ok(())) => Verdict::Accepted,
        Ok(Err(message)) => Verdict::Rejected(message),
    };
    (verdict, elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_and_hangs_are_caught_and_named() {
        let limits = Limits { timeout: Duration::from_millis(200), ..Limits::default() };
        assert_eq!(run_case(limits, || Ok(())).0, Verdict::Accepted);
        assert_eq!(run_case(limits, || Err("bad".into())).0, Verdict::Rejected("bad".into()));
        let (verdict, _) = run_case(limits, || panic!("boom {}", 7));
        assert!(matches!(&verdict, Verdict::Panicked(m) if m.starts_with("boom 7 at ")), "{verdict:?}");
        let (verdict, _) = run_case(limits, || {
            std::thread::sleep(Duration::from_secs(1));
            Ok(())
        });
        assert_eq!(verdict, Verdict::Hung);
    }
}
