//! Why a run stops short and what it warns about: its errors (exit 255, no results) and the
//! warnings carried into its results (halted nodes, closed stdouts).

use serde::Serialize;

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
