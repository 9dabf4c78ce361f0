//! Records the history as it happens: operations get dense indices and times relative to
//! the start of the run's clock.

use crate::clock::Clock;
use crate::history::{Op, OpType, Process};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The history under construction, shared by the dispatcher, workers and nemesis.
pub struct Recorder {
    clock: Arc<dyn Clock>,
    epoch: Duration,
    ops: Mutex<Vec<Op>>,
    ok: AtomicU64,
    fail: AtomicU64,
    info: AtomicU64,
}

/// Counts of client completions so far, for the progress line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// `ok` completions.
    pub ok: u64,
    /// `fail` completions.
    pub fail: u64,
    /// `info` completions.
    pub info: u64,
}

impl Recorder {
    /// Starts the relative clock now.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let epoch = clock.now();
        Recorder {
            clock,
            epoch,
            ops: Mutex::new(Vec::new()),
            ok: AtomicU64::new(0),
            fail: AtomicU64::new(0),
            info: AtomicU64::new(0),
        }
    }

    /// Appends one record.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        kind: OpType,
        process: Process,
        f: &str,
        value: Value,
        error: Option<Value>,
        exception: Option<Value>,
        is_final: bool,
    ) {
        if process.is_client() {
            match kind {
                OpType::Ok => self.ok.fetch_add(1, Ordering::Relaxed),
                OpType::Fail => self.fail.fetch_add(1, Ordering::Relaxed),
                OpType::Info => self.info.fetch_add(1, Ordering::Relaxed),
                OpType::Invoke => 0,
            };
        }
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let time = self.clock.now().saturating_sub(self.epoch).as_nanos() as u64;
        let index = ops.len() as u64;
        ops.push(Op {
            index,
            time,
            kind,
            process,
            f: f.to_owned(),
            value,
            error,
            exception,
            is_final,
        });
    }

    /// Completion counts so far.
    pub fn tally(&self) -> Tally {
        Tally {
            ok: self.ok.load(Ordering::Relaxed),
            fail: self.fail.load(Ordering::Relaxed),
            info: self.info.load(Ordering::Relaxed),
        }
    }

    /// The history so far.
    pub fn history(&self) -> Vec<Op> {
        self.ops.lock().map(|ops| ops.clone()).unwrap_or_default()
    }
}
