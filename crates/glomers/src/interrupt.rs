//! How a signal (Ctrl-C, SIGTERM, SIGHUP) interrupts the run in progress: the handler sets
//! the run's flag, kills the nodes and wakes the run's core, which stores what it has.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How a signal reaches the run in progress: a flag, and a way to wake its core.
pub struct Signals {
    interrupted: AtomicBool,
    wake: Box<dyn Fn() + Send + Sync>,
}

/// The run in progress, for the signal handler.
static CURRENT: Mutex<Option<std::sync::Weak<Signals>>> = Mutex::new(None);

/// Makes `signals` the run a signal interrupts (until the next call).
pub fn set_current(signals: &Arc<Signals>) {
    if let Ok(mut current) = CURRENT.lock() {
        *current = Some(Arc::downgrade(signals));
    }
}

/// Ends the window in which a signal interrupts the run: once its nodes are stopped, a
/// signal has nothing to tear down and exits at once.
pub fn clear_current() {
    if let Ok(mut current) = CURRENT.lock() {
        *current = None;
    }
}

/// What the signal handler does. The first signal interrupts the run in progress: the flag
/// is set before anything else (so the nodes' deaths are not taken for crashes), then
/// `kill_nodes` runs, then the run's core is woken to store what it has. Returns false when
/// there is no run to interrupt (or it already was), and the caller should exit at once.
pub fn interrupt_current(kill_nodes: impl FnOnce()) -> bool {
    let current = CURRENT
        .lock()
        .ok()
        .and_then(|c| c.as_ref().and_then(std::sync::Weak::upgrade));
    match current {
        Some(signals) if !signals.interrupted.swap(true, Ordering::SeqCst) => {
            kill_nodes();
            (signals.wake)();
            true
        }
        _ => {
            kill_nodes();
            false
        }
    }
}

impl Signals {
    /// Signals for a run whose core `wake` wakes.
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Arc<Signals> {
        Arc::new(Signals {
            interrupted: AtomicBool::new(false),
            wake: Box::new(wake),
        })
    }

    /// True once a signal interrupted the run.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}
