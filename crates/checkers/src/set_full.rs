//! Jepsen's `set-full` checker (jepsen-io/jepsen, `jepsen/src/jepsen/checker.clj`,
//! `set-full`), as Maelstrom's broadcast and g-set workloads use it: every acknowledged
//! element must show up in reads, and stay.

use crate::history::{Op, OpType, Process};
use crate::json_order::compare;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// How many stale elements the result details.
const WORST_STALE: usize = 8;

/// What is known of one broadcast value, as `set-full` tracks it.
struct Element<'a> {
    value: &'a Value,
    /// The first op (an `ok` add completion or an `ok` read) that showed the value exists.
    known: Option<&'a Op>,
    /// The latest-invoked ok read that contained it (its invocation).
    last_present: Option<&'a Op>,
    /// The latest-invoked ok read that did not contain it (its invocation).
    last_absent: Option<&'a Op>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Stable,
    Lost,
    NeverRead,
}

impl Element<'_> {
    fn outcome(&self) -> Outcome {
        let index = |op: Option<&Op>| op.map_or(-1, |op| op.index as i64);
        let (present, absent) = (index(self.last_present), index(self.last_absent));
        if self.last_present.is_some() && absent < present {
            Outcome::Stable
        } else if let (Some(known), Some(_)) = (self.known, self.last_absent) {
            if present < absent && (known.index as i64) < absent {
                Outcome::Lost
            } else {
                Outcome::NeverRead
            }
        } else {
            Outcome::NeverRead
        }
    }

    fn known_time(&self) -> u64 {
        self.known.map_or(0, |op| op.time)
    }

    /// Milliseconds from known to the last read that missed it (0 if none missed it).
    fn stable_latency(&self) -> u64 {
        let stable_time = self.last_absent.map_or(0, |op| op.time + 1);
        stable_time.saturating_sub(self.known_time()) / 1_000_000
    }

    /// Milliseconds from known to the last read that saw it.
    fn lost_latency(&self) -> u64 {
        let lost_time = self.last_present.map_or(0, |op| op.time + 1);
        lost_time.saturating_sub(self.known_time()) / 1_000_000
    }
}

/// Jepsen's `set-full` checker over the operations `add_f` (adds: `broadcast` for
/// jepsen-io/maelstrom's `src/maelstrom/workload/broadcast.clj`, `add` for `g_set.clj`) and
/// `read`.
pub fn check(history: &[Op], add_f: &str) -> Value {
    let mut elements: Vec<Element> = Vec::new();
    let mut by_value: HashMap<String, usize> = HashMap::new();
    let mut open_reads: HashMap<u64, &Op> = HashMap::new();
    for op in history {
        let Process::Client(process) = op.process else {
            continue;
        };
        let f = if op.f == add_f { "add" } else { op.f.as_str() };
        match (f, op.kind) {
            ("add", OpType::Invoke) => {
                let key = op.value.to_string();
                if let std::collections::hash_map::Entry::Vacant(slot) = by_value.entry(key) {
                    slot.insert(elements.len());
                    elements.push(Element {
                        value: &op.value,
                        known: None,
                        last_present: None,
                        last_absent: None,
                    });
                }
            }
            ("add", OpType::Ok) => {
                if let Some(&i) = by_value.get(&op.value.to_string()) {
                    elements[i].known.get_or_insert(op);
                }
            }
            ("read", OpType::Invoke) => {
                open_reads.insert(process, op);
            }
            ("read", kind) => {
                let Some(invoke) = open_reads.remove(&process) else {
                    continue;
                };
                if kind != OpType::Ok {
                    continue;
                }
                let seen: HashSet<String> = op
                    .value
                    .as_array()
                    .map(|a| a.iter().map(Value::to_string).collect())
                    .unwrap_or_default();
                for element in &mut elements {
                    let slot = if seen.contains(&element.value.to_string()) {
                        element.known.get_or_insert(op);
                        &mut element.last_present
                    } else {
                        &mut element.last_absent
                    };
                    if slot.is_none_or(|prev| invoke.index > prev.index) {
                        *slot = Some(invoke);
                    }
                }
            }
            _ => {}
        }
    }
    summarize(&elements, add_f)
}

/// An op as upstream's checker sees it: Maelstrom renames `broadcast` to `add` before
/// handing the history to `set-full` (jepsen-io/maelstrom,
/// `src/maelstrom/workload/broadcast.clj`, `checker`), so that is the `f` its results show.
fn as_checked(op: Option<&Op>, add_f: &str) -> Value {
    let mut value = serde_json::to_value(op).unwrap_or(Value::Null);
    if op.is_some_and(|op| op.f == add_f) {
        value["f"] = json!("add");
    }
    value
}

fn summarize(elements: &[Element], add_f: &str) -> Value {
    let sorted = |mut values: Vec<&Value>| -> Vec<Value> {
        values.sort_by(|a, b| compare(a, b).unwrap_or(Ordering::Equal));
        values.into_iter().cloned().collect()
    };
    let with = |outcome: Outcome| elements.iter().filter(move |e| e.outcome() == outcome);
    let lost = sorted(with(Outcome::Lost).map(|e| e.value).collect());
    let never_read = sorted(with(Outcome::NeverRead).map(|e| e.value).collect());
    let stable: Vec<&Element> = with(Outcome::Stable).collect();
    let stale: Vec<&&Element> = stable.iter().filter(|e| e.stable_latency() > 0).collect();
    let mut worst: Vec<&&Element> = stale.clone();
    worst.sort_by_key(|e| std::cmp::Reverse(e.stable_latency()));
    let worst_stale: Vec<Value> = worst
        .iter()
        .take(WORST_STALE)
        .map(|e| {
            json!({
                "element": e.value,
                "outcome": "stable",
                "stable-latency": e.stable_latency(),
                // Only a lost element has one; these are all stable.
                "lost-latency": Value::Null,
                "known": as_checked(e.known, add_f),
                "last-absent": e.last_absent,
            })
        })
        .collect();
    let valid = if !lost.is_empty() {
        json!(false)
    } else if stable.is_empty() {
        json!("unknown")
    } else {
        json!(true)
    };
    let mut result = json!({
        "valid?": valid,
        "attempt-count": elements.len(),
        "stable-count": stable.len(),
        "lost-count": lost.len(),
        "lost": lost,
        "never-read-count": never_read.len(),
        "never-read": never_read,
        "stale-count": stale.len(),
        "stale": sorted(stale.iter().map(|e| e.value).collect()),
        "worst-stale": worst_stale,
        "duplicated-count": 0,
        "duplicated": {},
    });
    // Ours, not upstream's: which lost values, acknowledged when, missed by which read.
    let lost_details: Vec<Value> = with(Outcome::Lost)
        .take(WORST_STALE)
        .map(|e| json!({"element": e.value, "known": as_checked(e.known, add_f), "last-present": e.last_present, "last-absent": e.last_absent}))
        .collect();
    if !lost_details.is_empty() {
        result["lost-details"] = Value::Array(lost_details);
    }
    if let Some(q) = latency_quantiles(stable.iter().map(|e| e.stable_latency()).collect()) {
        result["stable-latencies"] = q;
    }
    if let Some(q) = latency_quantiles(with(Outcome::Lost).map(Element::lost_latency).collect()) {
        result["lost-latencies"] = q;
    }
    result
}

/// `{0, 0.5, 0.95, 0.99, 1}` quantiles with upstream's rule: `sorted[min(n-1, floor(n·p))]`.
fn latency_quantiles(mut latencies: Vec<u64>) -> Option<Value> {
    if latencies.is_empty() {
        return None;
    }
    latencies.sort_unstable();
    let n = latencies.len();
    let at = |p: f64| latencies[((n as f64 * p).floor() as usize).min(n - 1)];

    Some(json!({"0": at(0.0), "0.5": at(0.5), "0.95": at(0.95), "0.99": at(0.99), "1": at(1.0)}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;
    use serde_json::json;

    /// Builds a history from (process, type, f, value, time-ms) tuples.
    fn history(ops: &[(u64, OpType, &str, Value, u64)]) -> Vec<Op> {
        ops.iter()
            .enumerate()
            .map(|(i, (p, kind, f, value, ms))| Op {
                index: i as u64,
                time: ms * 1_000_000,
                kind: *kind,
                process: Process::Client(*p),
                f: (*f).into(),
                value: value.clone(),
                error: None,
                exception: None,
                is_final: false,
            })
            .collect()
    }

    use OpType::{Fail, Info, Invoke, Ok};

    #[test]
    fn a_value_every_later_read_has_is_stable_with_its_latency() {
        let h = history(&[
            (0, Invoke, "broadcast", json!(0), 0),
            (0, Ok, "broadcast", json!(0), 1),
            (1, Invoke, "read", Value::Null, 50),
            (1, Ok, "read", json!([]), 51),
            (1, Invoke, "read", Value::Null, 300),
            (1, Ok, "read", json!([0]), 301),
        ]);
        let r = check(&h, "broadcast");
        assert_eq!(r["valid?"], true);
        assert_eq!(
            (r["stable-count"].as_u64(), r["stale-count"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(
            r["stable-latencies"],
            json!({"0": 49, "0.5": 49, "0.95": 49, "0.99": 49, "1": 49})
        );
        assert_eq!(r["worst-stale"][0]["element"], 0);
        // As upstream's set-full sees it: stable, so no lost latency, and the
        // acknowledged broadcast as the `add` Maelstrom renames it to.
        assert_eq!(r["worst-stale"][0]["lost-latency"], Value::Null);
        assert_eq!(r["worst-stale"][0]["known"]["f"], "add");
        assert_eq!(r["worst-stale"][0]["known"]["type"], "ok");
        assert_eq!(r["worst-stale"][0]["last-absent"]["f"], "read");
    }

    #[test]
    fn a_value_missing_from_a_later_read_is_lost() {
        let h = history(&[
            (0, Invoke, "broadcast", json!(7), 0),
            (0, Ok, "broadcast", json!(7), 1),
            (1, Invoke, "read", Value::Null, 10),
            (1, Ok, "read", json!([7]), 11),
            (2, Invoke, "read", Value::Null, 500),
            (2, Ok, "read", json!([]), 501),
        ]);
        let r = check(&h, "broadcast");
        assert_eq!(r["valid?"], false);
        assert_eq!(r["lost"], json!([7]));
        assert_eq!(r["lost-details"][0]["known"]["index"], 1);
        assert_eq!(r["lost-details"][0]["last-absent"]["index"], 4);
        assert_eq!(r["lost-details"][0]["last-absent"]["process"], 2);
        // Last seen at 10 ms (+1 ns), known at 1 ms: 9 ms, truncated.
        assert_eq!(r["lost-latencies"]["1"], 9);
    }

    #[test]
    fn a_read_concurrent_with_the_ack_does_not_make_it_lost() {
        // The absent read was invoked before the broadcast completed: never-read, not lost.
        let h = history(&[
            (0, Invoke, "broadcast", json!(2), 0),
            (0, Ok, "broadcast", json!(2), 1),
            (2, Invoke, "read", Value::Null, 2),
            (2, Ok, "read", json!([2]), 3),
            (1, Invoke, "read", Value::Null, 4),
            (0, Invoke, "broadcast", json!(1), 5),
            (0, Ok, "broadcast", json!(1), 6),
            (1, Ok, "read", json!([2]), 7),
        ]);
        let r = check(&h, "broadcast");
        assert_eq!(r["valid?"], true);
        assert_eq!(r["never-read"], json!([1]));
        assert_eq!(r["stable-count"], 1);
        assert_eq!(r["stale-count"], 0);
    }

    #[test]
    fn failed_and_indeterminate_operations_and_phantoms() {
        let h = history(&[
            (0, Invoke, "broadcast", json!(3), 0),
            (0, Info, "broadcast", json!(3), 1),
            (1, Invoke, "read", Value::Null, 2),
            (1, Fail, "read", Value::Null, 3),
            (2, Invoke, "read", Value::Null, 4),
            (2, Ok, "read", json!([3, 99]), 5),
        ]);
        let r = check(&h, "broadcast");
        assert_eq!(r["attempt-count"], 1, "99 was never added: ignored");
        assert_eq!(
            r["stable-count"], 1,
            "an indeterminate add that shows up is stable"
        );
        assert_eq!(r["valid?"], true);
    }

    #[test]
    fn nothing_stable_is_unknown() {
        let h = history(&[
            (0, Invoke, "broadcast", json!(0), 0),
            (0, Info, "broadcast", json!(0), 1),
        ]);
        let r = check(&h, "broadcast");
        assert_eq!(r["valid?"], "unknown");
        assert_eq!(r["never-read"], json!([0]));
        assert!(r.get("stable-latencies").is_none());
    }

    #[test]
    fn latency_quantiles_use_upstream_floor_rule() {
        let q = latency_quantiles((0..10).collect()).unwrap();
        assert_eq!(q, json!({"0": 0, "0.5": 5, "0.95": 9, "0.99": 9, "1": 9}));
    }
}
