#![doc = include_str!("../README.md")]
//!
//! Checkers that judge any history: pure functions from a history (and, for `net`, the
//! network journal's tally) to a verdict with its explanation. Nothing here starts a process
//! or reads a clock, so they build and test alone, and judge histories from a glomers run, a
//! simulation, or a store that real Maelstrom wrote.
//!
//! | checks | module |
//! |---|---|
//! | each workload's own: echo, unique ids, set-full (broadcast, g-set), counters, kafka, lin-kv | [`echo`], [`unique_ids`], [`set_full`], [`counter`], [`kafka`], [`lin_kv`] (on [`linearizable`]) |
//! | transactions (Elle) | [`elle`] |
//! | every workload's: stats, availability, exceptions, perf, net | [`stats`], [`availability`], [`exceptions`], [`perf`], [`net`] |
//! | histories in Jepsen's shape | [`history`] |
//! | JSON values ordered as Clojure's `compare` orders them | [`json_order`] |

pub mod availability;
pub mod counter;
pub mod echo;
pub mod elle;
pub mod exceptions;
pub mod history;
pub mod json_order;
pub mod kafka;
pub mod lin_kv;
pub mod linearizable;
pub mod net;
pub mod perf;
pub mod set_full;
pub mod stats;
pub mod unique_ids;

use serde_json::{json, Value};

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

/// Runs a checker; a panic becomes `{"valid?": "unknown", "error": ...}`, as upstream turns a
/// throwing checker into `:unknown`.
pub fn guarded(check: impl FnOnce() -> Value + std::panic::UnwindSafe) -> Value {
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
