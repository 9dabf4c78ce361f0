//! How the parts of a run tell the orchestrator that something went wrong: a fatal error
//! aborts the run (exit 255), a halted node is a warning carried into the results.

use crate::net::Network;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A run that could not complete (exit 255, no results).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RunError {
    /// The binary could not be started.
    #[error("could not start node {node} ({bin}): {reason}")]
    Spawn {
        /// Node id.
        node: String,
        /// The binary.
        bin: String,
        /// The OS error.
        reason: String,
    },
    /// `init` was not answered properly.
    #[error("node {node} failed init: {reason}")]
    InitFailed {
        /// Node id.
        node: String,
        /// What went wrong, with the node's last stderr lines when it exited.
        reason: String,
    },
    /// A node process stopped before teardown.
    #[error("node {node} exited during the run ({report})")]
    NodeExited {
        /// Node id.
        node: String,
        /// Exit status and last stderr lines.
        report: String,
    },
    /// A node printed something on stdout that is not a message.
    #[error("node {node} printed a line that is not a Maelstrom message\n  line: {line}\n  rule: {rule}")]
    BadOutput {
        /// Node id.
        node: String,
        /// The line, shortened.
        line: String,
        /// The rule it broke.
        rule: String,
    },
    /// A setup RPC failed.
    #[error("setup failed on node {node}: {reason}")]
    SetupFailed {
        /// Node id.
        node: String,
        /// Why.
        reason: String,
    },
    /// The run was interrupted by a signal (Ctrl-C, SIGTERM, SIGHUP).
    #[error("interrupted by a signal (Ctrl-C, SIGTERM or SIGHUP); every node was stopped")]
    Interrupted,
    /// Anything else (I/O on the store, threads).
    #[error("internal error: {0}")]
    Internal(String),
}

impl RunError {
    /// An internal error with a message.
    pub fn internal(message: &str) -> RunError {
        RunError::Internal(message.to_owned())
    }
}

/// Starts a named thread. The machine may refuse one (too many threads, no memory); that is
/// a crashed run with a reason, not a panic.
pub fn spawn_named<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>, RunError> {
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(f)
        .map_err(|e| RunError::Internal(format!("cannot start thread {name}: {e}")))
}

/// A node whose further output is ignored because it sent to an unknown endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Halt {
    /// Node id.
    pub node: String,
    /// The offending line.
    pub line: String,
    /// Why it was refused.
    pub reason: String,
}

/// A node that closed its stdout while it was still meant to be running.
#[derive(Debug, Clone, Serialize)]
pub struct ClosedStdout {
    /// Node id.
    pub node: String,
    /// Seconds since the network was created.
    pub at: f64,
}

/// Shared by every thread of a run.
#[derive(Default)]
pub struct Signals {
    aborted: AtomicBool,
    error: Mutex<Option<(RunError, std::time::Duration)>>,
    halts: Mutex<Vec<Halt>>,
    closed_stdout: Mutex<Vec<ClosedStdout>>,
    net: OnceLock<Arc<Network>>,
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

/// What the signal handler does. The first signal aborts the run in progress: its error is
/// set before anything else (so the nodes' deaths are not taken for crashes), then
/// `kill_nodes` runs, and only then is the network shut down, which may have to wait for
/// routing. Returns false when there is no run to abort (or it was already aborted), and
/// the caller should exit at once.
pub fn interrupt_current(kill_nodes: impl FnOnce()) -> bool {
    let current = CURRENT
        .lock()
        .ok()
        .and_then(|c| c.as_ref().and_then(std::sync::Weak::upgrade));
    match current {
        Some(signals) if !signals.is_aborted() => {
            signals.mark_aborted(RunError::Interrupted);
            kill_nodes();
            signals.abort(RunError::Interrupted);
            true
        }
        _ => {
            kill_nodes();
            false
        }
    }
}

impl Signals {
    /// Signals for a run on `net` (shut down on abort so that every waiter wakes up).
    pub fn new(net: Arc<Network>) -> Arc<Signals> {
        let signals = Signals::default();
        let _ = signals.net.set(net);
        Arc::new(signals)
    }

    /// Aborts the run; the first error wins.
    pub fn abort(&self, error: RunError) {
        self.mark_aborted(error);
        if let Some(net) = self.net.get() {
            net.shut_down();
        }
    }

    /// Records the error (the first wins) and the aborted flag, without touching the
    /// network.
    fn mark_aborted(&self, error: RunError) {
        let at = self.net.get().map(|n| n.clock().now()).unwrap_or_default();
        if let Ok(mut slot) = self.error.lock() {
            if slot.is_none() {
                *slot = Some((error, at));
            }
        }
        self.aborted.store(true, Ordering::SeqCst);
    }

    /// True once the run is aborted.
    pub fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// The error that aborted the run.
    pub fn error(&self) -> Option<RunError> {
        self.error
            .lock()
            .ok()
            .and_then(|e| e.as_ref().map(|(e, _)| e.clone()))
    }

    /// When the run was aborted, on the network's clock.
    pub fn aborted_at(&self) -> Option<std::time::Duration> {
        self.error
            .lock()
            .ok()
            .and_then(|e| e.as_ref().map(|(_, at)| *at))
    }

    /// Records that `node` closed its stdout at `at`.
    pub fn stdout_closed(&self, node: &str, at: std::time::Duration) {
        if let Ok(mut closed) = self.closed_stdout.lock() {
            closed.push(ClosedStdout {
                node: node.to_owned(),
                at: at.as_secs_f64(),
            });
        }
    }

    /// Every node that closed its stdout before teardown.
    pub fn closed_stdout(&self) -> Vec<ClosedStdout> {
        self.closed_stdout
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// Records that `node`'s output is no longer delivered, and warns at once.
    pub fn halt(&self, node: &str, line: &str, reason: &str) {
        eprintln!(
            "WARNING: node {node} sent a message the network refused ({reason}); as in Maelstrom, \
             nothing more from {node} will be delivered for the rest of the run.\n  line: {line}"
        );
        if let Ok(mut halts) = self.halts.lock() {
            halts.push(Halt {
                node: node.to_owned(),
                line: line.to_owned(),
                reason: reason.to_owned(),
            });
        }
    }

    /// Every halt so far.
    pub fn halts(&self) -> Vec<Halt> {
        self.halts.lock().map(|h| h.clone()).unwrap_or_default()
    }
}
