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
use crate::client::{FieldType, ResponseSchema};
use crate::history::{Op, OpType};
use crate::options::TestOptions;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};
use std::collections::BTreeSet;
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
        crate::checker::lin_kv::check(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
