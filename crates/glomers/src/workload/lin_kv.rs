//! The lin-kv workload (jepsen-io/maelstrom, `src/maelstrom/workload/lin_kv.clj`, `workload`,
//! built on jepsen-io/jepsen, `jepsen/src/jepsen/tests/linearizable_register.clj`, `test`):
//! reads, writes and compare-and-sets on integer keys, each key a linearizable register
//! checked on its own (Knossos's `cas-register`, initial value `nil`).
//!
//! Jepsen's independent concurrent generator: threads form groups of `2n` (n nodes), each
//! group works on one key at a time (group g starts on key g), and moves to the next unused
//! key once 21 distinct processes have asked for operations on its key (process limit 20).
//! Threads `0..n` (absolute ids, so only in group 0: [QUIRK], kept) only read; the others
//! draw writes (1/3) and compare-and-sets (2/3) of values 0..=4. History values are
//! `[k v]` tuples: read `[k nil]` -> `[k value]`, write `[k x]`, cas `[k [a b]]`.

use super::{Completion, Generator, Invocation, Session, Setup, Step, Workload};
use crate::checker::linearizable::{self, Operation, RegisterOp, Verdict};
use crate::client::{FieldType, ResponseSchema};
use crate::history::{pair_client_ops, Op, OpType};
use crate::options::TestOptions;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

const READ_OK: ResponseSchema = ResponseSchema {
    kind: "read_ok",
    required: &[("value", FieldType::Any)],
};
const WRITE_OK: ResponseSchema = ResponseSchema {
    kind: "write_ok",
    required: &[],
};
const CAS_OK: ResponseSchema = ResponseSchema {
    kind: "cas_ok",
    required: &[],
};
/// Distinct processes allowed per key before its group moves on.
const PROCESS_LIMIT: usize = 20;

/// The lin-kv workload.
pub struct LinKv;

/// The independent concurrent generator (see the module docs).
pub struct LinKvGenerator {
    nodes: usize,
    concurrency: usize,
    /// Each thread's current process.
    process: Vec<u64>,
    /// Per group: its key and the processes that worked on it.
    groups: Vec<(u64, BTreeSet<u64>)>,
    next_key: u64,
}

impl LinKvGenerator {
    /// A generator for these options (concurrency a multiple of twice the node count).
    pub fn new(options: &TestOptions) -> Self {
        let nodes = options.nodes.len().max(1);
        let concurrency = options.concurrency.max(1);
        let group_count = (concurrency / (2 * nodes)).max(1);
        LinKvGenerator {
            nodes,
            concurrency,
            process: (0..concurrency as u64).collect(),
            groups: (0..group_count as u64)
                .map(|k| (k, BTreeSet::new()))
                .collect(),
            next_key: group_count as u64,
        }
    }
}

impl Generator for LinKvGenerator {
    fn next(&mut self, rng: &mut Pcg64Mcg, now: Duration) -> Invocation {
        self.next_for(0, rng, now)
    }

    fn next_for(&mut self, thread: usize, rng: &mut Pcg64Mcg, _now: Duration) -> Invocation {
        let group = (thread / (2 * self.nodes)).min(self.groups.len() - 1);
        let process = self.process.get(thread).copied().unwrap_or(thread as u64);
        let (key, processes) = &mut self.groups[group];
        if !processes.contains(&process) {
            if processes.len() >= PROCESS_LIMIT {
                *key = self.next_key;
                self.next_key += 1;
                processes.clear();
            }
            processes.insert(process);
        }
        let key = *key;
        if thread < self.nodes {
            return Invocation::new("read", json!([key, null]));
        }
        let value = |rng: &mut Pcg64Mcg| rng.gen_range(0..=4u8);
        if rng.gen_ratio(1, 3) {
            Invocation::new("write", json!([key, value(rng)]))
        } else {
            Invocation::new("cas", json!([key, [value(rng), value(rng)]]))
        }
    }

    fn observe(&mut self, thread: usize, _invocation: &Invocation, completion: &Completion) {
        if completion.kind == OpType::Info {
            if let Some(p) = self.process.get_mut(thread) {
                *p += self.concurrency as u64;
            }
        }
    }
}

impl Workload for LinKv {
    fn name(&self) -> &'static str {
        "lin-kv"
    }

    fn generator(&self, options: &TestOptions) -> Box<dyn Generator> {
        Box::new(LinKvGenerator::new(options))
    }

    fn reusable_client(&self) -> bool {
        true
    }

    /// Upstream's generator asserts this as soon as it runs, crashing the test.
    fn setup(&self, _node: &str, options: &TestOptions) -> Result<Option<Setup>, String> {
        let group = 2 * options.nodes.len();
        if options.concurrency < group || options.concurrency % group != 0 {
            return Err(format!(
                "lin-kv needs --concurrency to be a multiple of 2n = {group} (twice the node \
                 count), at least {group}; got {}. Try --concurrency 2n",
                options.concurrency
            ));
        }
        Ok(None)
    }

    fn rpc_timeout(&self, options: &TestOptions) -> Duration {
        Duration::from_millis((10 * options.latency.mean).max(1000))
    }

    fn operation(&self, invocation: &Invocation, _session: &mut Session) -> Step {
        let key = invocation.value[0].clone();
        let argument = invocation.value[1].clone();
        match invocation.f.as_str() {
            // Reads change nothing: an unanswered read certainly did not happen.
            "read" => Step::last(
                json!({"type": "read", "key": key}),
                &READ_OK,
                true,
                move |mut r| json!([key, r.remove("value").unwrap_or(Value::Null)]),
            ),
            "write" => {
                let request = json!({"type": "write", "key": key, "value": argument});
                Step::last(request, &WRITE_OK, false, move |_| json!([key, argument]))
            }
            _ => {
                let request =
                    json!({"type": "cas", "key": key, "from": argument[0], "to": argument[1]});
                Step::last(request, &CAS_OK, false, move |_| json!([key, argument]))
            }
        }
    }

    fn check(&self, history: &[Op], _options: &TestOptions) -> Value {
        check(history)
    }
}

/// Splits the history by key and checks each key's register (Knossos's verdict merged
/// over keys: any `false` is false, else any `unknown` is unknown).
pub fn check(history: &[Op]) -> Value {
    let mut values: HashMap<String, u32> = HashMap::from([("null".to_owned(), 0)]);
    let mut texts: Vec<Value> = vec![Value::Null];
    let mut intern = |v: &Value| -> u32 {
        let text = v.to_string();
        let next = values.len() as u32;
        *values.entry(text).or_insert_with(|| {
            texts.push(v.clone());
            next
        })
    };
    // key -> (operations, history positions of their completions or invocations)
    let mut per_key: BTreeMap<String, (Value, Vec<Operation>, Vec<usize>)> = BTreeMap::new();
    for (inv, completion) in pair_client_ops(history) {
        let invoke = &history[inv];
        let done = completion.map(|c| &history[c]);
        let kind = done.map_or(OpType::Info, |d| d.kind);
        let key = invoke.value[0].clone();
        let entry = per_key
            .entry(key.to_string())
            .or_insert_with(|| (key.clone(), Vec::new(), Vec::new()));
        // A failed operation did not happen, but its key is still one upstream's
        // independent checker judges (valid, with nothing to order).
        if kind == OpType::Fail {
            continue;
        }
        let op = match invoke.f.as_str() {
            "read" if kind == OpType::Ok => {
                RegisterOp::Read(intern(&done.map_or(Value::Null, |d| d.value[1].clone())))
            }
            // An indeterminate read changes nothing: leave it out.
            "read" => continue,
            "write" => RegisterOp::Write(intern(&invoke.value[1])),
            "cas" => RegisterOp::Cas(intern(&invoke.value[1][0]), intern(&invoke.value[1][1])),
            _ => continue,
        };
        entry.1.push(Operation {
            op,
            invoked: inv as u64,
            completed: (kind == OpType::Ok).then(|| completion.unwrap_or(inv) as u64),
        });
        entry.2.push(completion.unwrap_or(inv));
    }
    let mut results = Map::new();
    let mut failures = Vec::new();
    let mut any_unknown = false;
    for (text, (key, ops, positions)) in &per_key {
        let op_json =
            |i: usize| serde_json::to_value(&history[positions[i]]).unwrap_or(Value::Null);
        let result = match linearizable::check(ops) {
            Verdict::Linearizable => json!({"valid?": true, "op-count": ops.len()}),
            Verdict::NotLinearizable { op, states, before } => {
                failures.push(key.clone());
                json!({
                    "valid?": false,
                    "op-count": ops.len(),
                    "op": op_json(op),
                    "possible-values": states.iter().map(|s| texts[*s as usize].clone()).collect::<Vec<_>>(),
                    "previous-ok": before.iter().map(|i| op_json(*i)).collect::<Vec<_>>(),
                    "explanation": explain(
                        text,
                        &describe(&history[positions[op]]),
                        &states.iter().map(|s| texts[*s as usize].to_string()).collect::<Vec<_>>(),
                    ),
                })
            }
            Verdict::GaveUp(configurations) => {
                any_unknown = true;
                json!({"valid?": "unknown", "op-count": ops.len(), "error": format!(
                    "search gave up after {configurations} configurations")})
            }
        };
        results.insert(text.clone(), result);
    }
    let valid = if !failures.is_empty() {
        json!(false)
    } else if any_unknown {
        json!("unknown")
    } else {
        json!(true)
    };
    json!({"valid?": valid, "results": results, "failures": failures})
}

/// Why an operation cannot be placed, naming every value the register could hold when it
/// must have taken effect (one per order of the operations before it that survived).
fn explain(key: &str, op: &str, values: &[String]) -> String {
    let held = match values {
        [] => "no value at all".to_owned(),
        [one] => format!("only {one}, whatever the order of the operations before it"),
        [init @ .., last] => format!(
            "{} or {last}, depending on the order of the operations before it, and none of \
             them explains it",
            init.join(", ")
        ),
    };
    format!(
        "no order of the operations on key {key} explains {op}: when it must have taken \
         effect, the register could hold {held}"
    )
}

/// `read [0,1] by process 3 (history index 17)`.
fn describe(op: &Op) -> String {
    let process = serde_json::to_string(&op.process).unwrap_or_default();
    format!(
        "{} {} by process {process} (history index {})",
        op.f, op.value, op.index
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;
    use rand::SeedableRng;

    fn options(nodes: usize, concurrency: usize) -> TestOptions {
        TestOptions {
            nodes: (0..nodes).map(|i| format!("n{i}")).collect(),
            concurrency,
            ..TestOptions::example("lin-kv")
        }
    }

    #[test]
    fn groups_get_their_own_keys_and_only_the_first_n_threads_read() {
        let mut g = LinKvGenerator::new(&options(2, 8));
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        for _ in 0..50 {
            for t in 0..8 {
                let op = g.next_for(t, &mut rng, Duration::ZERO);
                let key = op.value[0].as_u64().unwrap();
                assert_eq!(key, (t / 4) as u64, "thread {t}");
                assert_eq!(op.f == "read", t < 2, "thread {t}: {op:?}");
                if op.f == "cas" {
                    assert!(op.value[1][0].as_u64().unwrap() <= 4);
                }
            }
        }
    }

    #[test]
    fn a_key_retires_after_twenty_processes() {
        let mut g = LinKvGenerator::new(&options(1, 2));
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let crash = Completion {
            kind: OpType::Info,
            value: Value::Null,
            error: None,
            exception: None,
        };
        let mut keys = Vec::new();
        for _ in 0..15 {
            let op = g.next_for(1, &mut rng, Duration::ZERO);
            keys.push(op.value[0].as_u64().unwrap());
            g.observe(1, &op, &crash);
        }
        // Thread 1 is process 1, 3, 5, ... (a new one after each crash): the first 20 fit
        // on key 0, the 21st moves the group to key 1.
        assert!(keys.iter().all(|k| *k == 0), "{keys:?}");
        for _ in 0..10 {
            let op = g.next_for(1, &mut rng, Duration::ZERO);
            keys.push(op.value[0].as_u64().unwrap());
            g.observe(1, &op, &crash);
        }
        assert_eq!(keys[19], 0);
        assert_eq!(keys[20], 1, "{keys:?}");
    }

    fn op(index: usize, process: u64, kind: OpType, f: &str, value: Value) -> Op {
        Op::new(
            index as u64,
            index as u64,
            kind,
            Process::Client(process),
            f,
            value,
        )
    }

    #[test]
    fn keys_are_checked_independently_and_failures_named() {
        use OpType::*;
        let h = vec![
            op(0, 0, Invoke, "write", json!([1, 3])),
            op(1, 0, Ok, "write", json!([1, 3])),
            op(2, 0, Invoke, "write", json!([2, 4])),
            op(3, 0, Ok, "write", json!([2, 4])),
            op(4, 1, Invoke, "read", json!([1, null])),
            op(5, 1, Ok, "read", json!([1, 3])),
            op(6, 1, Invoke, "read", json!([2, null])),
            op(7, 1, Ok, "read", json!([2, 3])),
            op(8, 0, Invoke, "cas", json!([2, [0, 1]])),
            op(9, 0, Fail, "cas", json!([2, [0, 1]])),
        ];
        let r = check(&h);
        assert_eq!(r["valid?"], json!(false), "{r:#}");
        assert_eq!(r["failures"], json!([2]));
        assert_eq!(r["results"]["1"]["valid?"], json!(true));
        assert_eq!(r["results"]["2"]["op"]["index"], json!(7));
        assert_eq!(r["results"]["2"]["possible-values"], json!([4]));
        let valid = check(&h[..6]);
        assert_eq!(valid["valid?"], json!(true));
    }

    #[test]
    fn a_key_whose_only_operation_failed_is_listed_as_valid() {
        use OpType::*;
        let h = vec![
            op(0, 0, Invoke, "cas", json!([5, [0, 1]])),
            op(1, 0, Fail, "cas", json!([5, [0, 1]])),
        ];
        let r = check(&h);
        assert_eq!(r["valid?"], json!(true), "{r:#}");
        assert_eq!(r["results"]["5"], json!({"valid?": true, "op-count": 0}));
    }

    #[test]
    fn explanations_name_every_value_the_register_could_hold() {
        let one = explain("1", "read [1,3]", &["4".into()]);
        assert!(
            one.ends_with("could hold only 4, whatever the order of the operations before it"),
            "{one}"
        );
        let many = explain("1", "read [1,3]", &["null".into(), "1".into(), "2".into()]);
        assert!(
            many.contains("could hold null, 1 or 2, depending on the order"),
            "{many}"
        );
        assert!(!many.contains("only"), "{many}");
    }
}
