//! The counter checker (jepsen-io/maelstrom, `src/maelstrom/workload/pn_counter.clj`,
//! `checker`): every final read equals the acknowledged deltas plus some subset of the
//! indeterminate ones.

use crate::history::{Op, OpType};
use serde_json::{json, Value};

/// Closed integer intervals, sorted, disjoint and not adjacent.
type Intervals = Vec<(i64, i64)>;

fn normalize(mut intervals: Intervals) -> Intervals {
    intervals.sort_unstable();
    let mut merged: Intervals = Vec::with_capacity(intervals.len());
    for (lo, hi) in intervals {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// The counter checker: final `ok` reads must lie in the acceptable set, the sum of `ok`
/// adds plus any subset of the indeterminate ones. Main-phase reads are not checked.
pub fn check(history: &[Op]) -> Value {
    let adds = history
        .iter()
        .filter(|op| op.f == "add" && op.process.is_client());
    let definite: i64 = adds
        .clone()
        .filter(|op| op.kind == OpType::Ok)
        .filter_map(|op| op.value.as_i64())
        .sum();
    let mut acceptable: Intervals = vec![(definite, definite)];
    for delta in adds
        .filter(|op| op.kind == OpType::Info)
        .filter_map(|op| op.value.as_i64())
    {
        let shifted: Intervals = acceptable
            .iter()
            .map(|(lo, hi)| (lo.saturating_add(delta), hi.saturating_add(delta)))
            .collect();
        acceptable.extend(shifted);
        acceptable = normalize(acceptable);
    }
    let finals: Vec<&Op> = history
        .iter()
        .filter(|op| {
            op.f == "read" && op.kind == OpType::Ok && op.is_final && op.process.is_client()
        })
        .collect();
    let inside = |v: &Value| {
        v.as_i64()
            .is_some_and(|x| acceptable.iter().any(|(lo, hi)| (*lo..=*hi).contains(&x)))
    };
    let errors: Vec<&&Op> = finals.iter().filter(|op| !inside(&op.value)).collect();
    json!({
        "valid?": errors.is_empty(),
        "errors": if errors.is_empty() { Value::Null } else { json!(errors) },
        "final-reads": finals.iter().map(|op| op.value.clone()).collect::<Vec<_>>(),
        "acceptable": acceptable.iter().map(|(lo, hi)| json!([lo, hi])).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;

    fn op(kind: OpType, f: &str, value: Value, is_final: bool) -> Op {
        Op {
            index: 0,
            time: 0,
            kind,
            process: Process::Client(0),
            f: f.into(),
            value,
            error: None,
            exception: None,
            is_final,
        }
    }

    #[test]
    fn upstream_worked_example() {
        let h = vec![
            op(OpType::Ok, "add", json!(10), false),
            op(OpType::Info, "add", json!(5), false),
            op(OpType::Info, "add", json!(-1), false),
            op(OpType::Info, "add", json!(-1), false),
            op(OpType::Ok, "read", json!(15), true),
        ];
        let r = check(&h);
        assert_eq!(r["acceptable"], json!([[8, 10], [13, 15]]));
        assert_eq!(r["valid?"], true);
        let mut bad = h.clone();
        bad.push(op(OpType::Ok, "read", json!(11), true));
        bad.push(op(OpType::Ok, "read", json!(99), false));
        let r = check(&bad);
        assert_eq!(r["valid?"], false);
        assert_eq!(
            r["errors"].as_array().unwrap().len(),
            1,
            "main-phase reads are not checked"
        );
        assert_eq!(r["final-reads"], json!([15, 11]));
    }

    #[test]
    fn empty_history_and_floats() {
        assert_eq!(check(&[])["acceptable"], json!([[0, 0]]));
        assert_eq!(check(&[])["valid?"], true);
        let r = check(&[op(OpType::Ok, "read", json!(0.0), true)]);
        assert_eq!(r["valid?"], false, "a float is not the integer total");
    }
}
