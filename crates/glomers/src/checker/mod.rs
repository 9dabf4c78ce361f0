//! Checkers: pure functions from a history (and the network journal) to a verdict with its
//! explanation. [`analyze`] composes them into the results map and merges `valid?` as
//! upstream does (jepsen-io/maelstrom, `src/maelstrom/core.clj`, the `:checker` of
//! `maelstrom-test`; jepsen-io/jepsen, `jepsen/src/jepsen/checker.clj`, `compose` and
//! `merge-valid`).
//!
//! Every checker lives here, so that a reader finds them in one place and they can judge a
//! history from anywhere (a glomers run, a simulation, a Maelstrom store):
//!
//! | checks | module |
//! |---|---|
//! | each workload's own: echo, unique ids, set-full (broadcast, g-set), counters, kafka, lin-kv | [`echo`], [`unique_ids`], [`set_full`], [`counter`], [`kafka`], [`lin_kv`] (on [`linearizable`]) |
//! | transactions (Elle) | `crate::elle` |
//! | every workload's: stats, availability, exceptions, perf, net | [`stats`], [`availability`], [`exceptions`], [`perf`], [`net`] |
//!
//! A workload's `check` names its checker and the options it takes; the generators and
//! clients stay in `crate::workload`.

pub mod availability;
pub mod counter;
pub mod echo;
pub mod exceptions;
pub mod kafka;
pub mod lin_kv;
pub mod linearizable;
pub mod net;
pub mod perf;
pub mod set_full;
pub mod stats;
pub mod unique_ids;

use crate::history::Op;
use crate::options::TestOptions;
use crate::workload::Workload;
use serde_json::{json, Map, Value};

pub use net::{NetEvent, NetTally};

/// A checker's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Validity {
    /// Nothing wrong found.
    Valid,
    /// Something could not be decided (a checker failed).
    Unknown,
    /// An anomaly was found.
    Invalid,
}

impl Validity {
    /// Reads a `valid?` value: `true`, `false`, or anything else (`"unknown"`) as unknown.
    pub fn of(value: &Value) -> Validity {
        match value {
            Value::Bool(true) => Validity::Valid,
            Value::Bool(false) => Validity::Invalid,
            _ => Validity::Unknown,
        }
    }

    /// The JSON form: `true`, `false` or `"unknown"`.
    pub fn to_json(self) -> Value {
        match self {
            Validity::Valid => Value::Bool(true),
            Validity::Invalid => Value::Bool(false),
            Validity::Unknown => Value::String("unknown".into()),
        }
    }

    /// The verdict in a word: `valid`, `invalid` or `unknown` (summaries, pages, the store
    /// list).
    pub fn name(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "invalid",
            Validity::Unknown => "unknown",
        }
    }

    /// The process exit code for this verdict: 0, 1 or 2.
    pub fn exit_code(self) -> i32 {
        match self {
            Validity::Valid => 0,
            Validity::Invalid => 1,
            Validity::Unknown => 2,
        }
    }
}

/// Merges verdicts: invalid beats unknown beats valid; nothing at all is valid.
pub fn merge(verdicts: impl IntoIterator<Item = Validity>) -> Validity {
    verdicts.into_iter().max().unwrap_or(Validity::Valid)
}

/// Runs every checker and builds the results map, `valid?` included.
pub fn analyze(
    workload: &dyn Workload,
    options: &TestOptions,
    history: &[Op],
    journal: &NetTally,
) -> Value {
    let workload_result = guarded(std::panic::AssertUnwindSafe(|| {
        workload.check(history, options)
    }));
    let mut results = Map::new();
    results.insert("perf".into(), perf::check(history));
    results.insert("timeline".into(), json!({"valid?": true}));
    results.insert("exceptions".into(), exceptions::check(history));
    results.insert("stats".into(), stats::check(history));
    results.insert(
        "availability".into(),
        availability::check(history, options.availability),
    );
    results.insert("net".into(), net::check(history, journal));
    results.insert("workload".into(), workload_result);
    let valid = merge(
        results
            .values()
            .map(|r| Validity::of(r.get("valid?").unwrap_or(&Value::Null))),
    );
    results.insert("valid?".into(), valid.to_json());
    Value::Object(results)
}

/// Runs a checker; a panic becomes `{"valid?": "unknown", "error": ...}`, as upstream turns a
/// throwing checker into `:unknown`.
fn guarded(check: impl FnOnce() -> Value + std::panic::UnwindSafe) -> Value {
    std::panic::catch_unwind(check).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "checker panicked".into());
        json!({"valid?": "unknown", "error": message})
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_priorities() {
        use Validity::*;
        assert_eq!(merge([]), Valid);
        assert_eq!(merge([Valid, Unknown]), Unknown);
        assert_eq!(merge([Unknown, Invalid, Valid]), Invalid);
        assert_eq!(Validity::of(&json!("weird")), Unknown);
        assert_eq!(
            (Valid.exit_code(), Invalid.exit_code(), Unknown.exit_code()),
            (0, 1, 2)
        );
    }

    #[test]
    fn a_panicking_checker_is_unknown() {
        let r = guarded(|| panic!("boom"));
        assert_eq!(r, json!({"valid?": "unknown", "error": "boom"}));
    }
}
