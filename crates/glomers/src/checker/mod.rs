//! Checkers: pure functions from a history (and the network journal) to a verdict with its
//! explanation. [`analyze`] composes them into the results map and merges `valid?` as
//! upstream does (jepsen-io/maelstrom, `src/maelstrom/core.clj`, the `:checker` of
//! `maelstrom-test`; jepsen-io/jepsen, `jepsen/src/jepsen/checker.clj`, `compose` and
//! `merge-valid`).
//!
//! The checkers themselves are the `checkers` crate (re-exported here): they judge any
//! history and build without any process code. What stays is their composition for a run:
//! a workload's `check` names its checker and the options it takes; the generators and
//! clients stay in `crate::workload`.

pub use checkers::{
    availability, counter, echo, exceptions, guarded, kafka, lin_kv, linearizable, merge, net,
    perf, set_full, stats, unique_ids, NetEvent, NetTally, Validity,
};

use crate::history::Op;
use crate::options::TestOptions;
use crate::workload::Workload;
use serde_json::{json, Map, Value};

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
