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
    /// The run was interrupted.
    #[error("interrupted")]
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

/// Shared by every thread of a run.
#[derive(Default)]
pub struct Signals {
    aborted: AtomicBool,
    error: Mutex<Option<RunError>>,
    halts: Mutex<Vec<Halt>>,
    net: OnceLock<Arc<Network>>,
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
        if let Ok(mut slot) = self.error.lock() {
            if slot.is_none() {
                *slot = Some(error);
            }
        }
        self.aborted.store(true, Ordering::SeqCst);
        if let Some(net) = self.net.get() {
            net.shut_down();
        }
    }

    /// True once the run is aborted.
    pub fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// The error that aborted the run.
    pub fn error(&self) -> Option<RunError> {
        self.error.lock().ok().and_then(|e| e.clone())
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
