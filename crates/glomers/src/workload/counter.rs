//! The g-counter and pn-counter workloads (jepsen-io/maelstrom,
//! `src/maelstrom/workload/g_counter.clj`, `workload`, and
//! `src/maelstrom/workload/pn_counter.clj`, `workload` and `checker`): `add` deltas and
//! `read` the total; after the heal and the quiet period every final read must equal the
//! acknowledged deltas plus some subset of the indeterminate ones.

use super::{add_or_read, Generator, Invocation, Session, Step, WithFinalRead, Workload};
use crate::client::{FieldType, ResponseSchema};
use crate::history::{Op, OpType};
use crate::options::TestOptions;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};
use std::time::Duration;

const ADD_OK: ResponseSchema = ResponseSchema {
    kind: "add_ok",
    required: &[],
};
const READ_OK: ResponseSchema = ResponseSchema {
    kind: "read_ok",
    required: &[("value", FieldType::Int)],
};

/// A counter workload; `grow_only` filters out negative deltas.
pub struct Counter {
    grow_only: bool,
}

impl Counter {
    /// The g-counter workload.
    pub const G: Counter = Counter { grow_only: true };
    /// The pn-counter workload.
    pub const PN: Counter = Counter { grow_only: false };
}

struct CounterGenerator {
    grow_only: bool,
}

impl Generator for CounterGenerator {
    /// A 50/50 mix of reads and adds of `-5..=4`; for g-counter, negative adds are dropped
    /// and the mix drawn again (so 1/3 adds of `0..=4`, 2/3 reads).
    fn next(&mut self, rng: &mut Pcg64Mcg, _now: Duration) -> Invocation {
        loop {
            if rng.gen_bool(0.5) {
                return Invocation::new("read", Value::Null);
            }
            let delta: i64 = rng.gen_range(-5..=4);
            if !self.grow_only || delta >= 0 {
                return Invocation::new("add", json!(delta));
            }
        }
    }
}

impl Workload for Counter {
    fn name(&self) -> &'static str {
        if self.grow_only {
            "g-counter"
        } else {
            "pn-counter"
        }
    }

    fn generator(&self, _options: &TestOptions) -> Box<dyn Generator> {
        Box::new(WithFinalRead::new(CounterGenerator {
            grow_only: self.grow_only,
        }))
    }

    fn reusable_client(&self) -> bool {
        false
    }

    fn error_wrapper(&self) -> bool {
        false
    }

    fn operation(&self, invocation: &Invocation, _session: &mut Session) -> Step {
        add_or_read(
            invocation,
            ("add", "delta", &ADD_OK),
            (&READ_OK, "value", false),
        )
    }

    fn check(&self, history: &[Op], _options: &TestOptions) -> Value {
        check(history)
    }
}

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
    use rand::SeedableRng;

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

    #[test]
    fn g_counter_mix_is_a_third_adds_of_non_negative_deltas() {
        let mut g = CounterGenerator { grow_only: true };
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let ops: Vec<Invocation> = (0..30_000)
            .map(|_| g.next(&mut rng, Duration::ZERO))
            .collect();
        let adds: Vec<i64> = ops
            .iter()
            .filter(|i| i.f == "add")
            .map(|i| i.value.as_i64().unwrap())
            .collect();
        let share = adds.len() as f64 / ops.len() as f64;
        assert!((share - 1.0 / 3.0).abs() < 0.02, "{share}");
        assert!(adds.iter().all(|d| (0..=4).contains(d)));
        let mut pn = CounterGenerator { grow_only: false };
        assert!((0..1000)
            .map(|_| pn.next(&mut rng, Duration::ZERO))
            .any(|i| i.value.as_i64().is_some_and(|d| d < 0)));
    }
}
