//! The kafka workload (jepsen-io/maelstrom, `src/maelstrom/workload/kafka.clj`, `workload`,
//! built on jepsen-io/jepsen, `jepsen/src/jepsen/tests/kafka.clj`, `workload`): clients
//! `send` numbered messages to string keys and `poll` them back from their assigned keys,
//! committing what they read; an `assign` now and then, crashes that replace the client, and
//! a final phase in which every thread re-reads everything from the beginning. Checked with
//! `jepsen.tests.kafka`'s `analysis`:
//! per-key version orders from sends and polls, then inconsistent offsets, duplicates, G1a,
//! lost writes, poll skips and non-monotonic polls (between and within polls),
//! non-monotonic sends, unseen messages and realtime cycles (G1c-realtime).
//!
//! History shapes: a send is `[["send", k, m]]` (completed `ok` as
//! `[["send", k, [offset, m]]]`), a poll completes `ok` as `[["poll", {k: [[offset, m]...]}]]`,
//! an assign's value is the list of keys.

use super::{Completion, Generator, Invocation, Session, Step, Workload};
use crate::checker::kafka::{key_text, reads_of, send_of};
use crate::client::{FieldType, ResponseSchema};
use crate::history::{Op, OpType, Process};
use crate::options::TestOptions;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SEND_OK: ResponseSchema = ResponseSchema {
    kind: "send_ok",
    required: &[("offset", FieldType::Int)],
};
const POLL_OK: ResponseSchema = ResponseSchema {
    kind: "poll_ok",
    required: &[("msgs", FieldType::Map)],
};
const COMMIT_OK: ResponseSchema = ResponseSchema {
    kind: "commit_offsets_ok",
    required: &[],
};
const LIST_OK: ResponseSchema = ResponseSchema {
    kind: "list_committed_offsets_ok",
    required: &[("offsets", FieldType::Map)],
};
/// One op in this many becomes an `assign` of its key.
const ASSIGN_EVERY: u32 = 64;
/// Mean seconds between crashes per client.
const CRASH_INTERVAL_S: f64 = 30.0;
/// The final phase's cap.
const FINAL_LIMIT: Duration = Duration::from_secs(10);

/// The kafka workload.
pub struct Kafka;

/// Elle's list-append key scheme with one micro-op per transaction: `key_count` hot slots
/// picked with an exponential bias, messages 1..=max per key, then the key retires and a
/// fresh one takes its slot.
struct KafkaGenerator {
    slots: Vec<u64>,
    next_key: u64,
    written: BTreeMap<u64, u64>,
    max_writes: u64,
    concurrency: usize,
    next_crash: Option<Duration>,
    /// Highest offset per key seen by an `ok` send or poll (main phase).
    highest: BTreeMap<String, i64>,
    /// Highest offset per key polled `ok` (main phase).
    polled: BTreeMap<String, i64>,
    /// Per thread in the final phase: steps done, and the highest offset it polled per key.
    finals: BTreeMap<usize, (u8, BTreeMap<String, i64>)>,
}

impl KafkaGenerator {
    fn new(options: &TestOptions) -> Self {
        let key_count = options.key_count.unwrap_or(10).max(1);
        KafkaGenerator {
            slots: (0..key_count).collect(),
            next_key: key_count,
            written: BTreeMap::new(),
            max_writes: options.max_writes_per_key,
            concurrency: options.concurrency.max(1),
            next_crash: None,
            highest: BTreeMap::new(),
            polled: BTreeMap::new(),
            finals: BTreeMap::new(),
        }
    }

    /// A slot index, drawn as Elle draws keys (the last slot hottest).
    fn slot(&self, rng: &mut Pcg64Mcg) -> usize {
        super::elle_key_position(rng, self.slots.len())
    }

    /// Keys whose acknowledged sends nobody has polled yet.
    fn unseen_keys(&self) -> Vec<String> {
        self.highest
            .iter()
            .filter(|(k, o)| self.polled.get(*k).is_none_or(|p| p < o))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

impl Generator for KafkaGenerator {
    fn next(&mut self, rng: &mut Pcg64Mcg, now: Duration) -> Invocation {
        let gap = |rng: &mut Pcg64Mcg| {
            Duration::from_secs_f64(
                rng.gen::<f64>() * 2.0 * CRASH_INTERVAL_S / self.concurrency as f64,
            )
        };
        let due = *self.next_crash.get_or_insert_with(|| now + gap(rng));
        if now >= due {
            self.next_crash = Some(now + gap(rng));
            return Invocation::new("crash", Value::Null);
        }
        let slot = self.slot(rng);
        let key = self.slots[slot];
        if rng.gen_ratio(1, ASSIGN_EVERY) {
            let mut keys: BTreeSet<String> = BTreeSet::from([key.to_string()]);
            if rng.gen_ratio(1, 3) {
                keys.extend(self.unseen_keys());
            }
            return Invocation::new("assign", json!(keys));
        }
        if rng.gen_bool(0.5) {
            let count = self.written.entry(key).or_insert(0);
            *count += 1;
            let message = *count;
            if message >= self.max_writes {
                self.slots[slot] = self.next_key;
                self.next_key += 1;
            }
            Invocation::new("send", json!([["send", key.to_string(), message]]))
        } else {
            Invocation::new("poll", json!([["poll"]]))
        }
    }

    fn observe(&mut self, thread: usize, invocation: &Invocation, completion: &Completion) {
        if completion.kind != OpType::Ok {
            return;
        }
        let op = Op {
            index: 0,
            time: 0,
            kind: OpType::Ok,
            process: Process::Client(0),
            f: invocation.f.clone(),
            value: completion.value.clone(),
            error: None,
            exception: None,
            is_final: invocation.is_final,
        };
        if invocation.is_final {
            let reached = &mut self.finals.entry(thread).or_default().1;
            for (k, list) in reads_of(&op) {
                if let Some(o) = list.iter().filter_map(|(o, _)| *o).max() {
                    let r = reached.entry(k.label()).or_insert(o);
                    *r = (*r).max(o);
                }
            }
            return;
        }
        if let Some((k, _, Some(offset))) = send_of(&op) {
            let h = self.highest.entry(k.label()).or_insert(offset);
            *h = (*h).max(offset);
        }
        for (k, list) in reads_of(&op) {
            if let Some(o) = list.iter().filter_map(|(o, _)| *o).max() {
                let h = self.highest.entry(k.label()).or_insert(o);
                *h = (*h).max(o);
                let p = self.polled.entry(k.label()).or_insert(o);
                *p = (*p).max(o);
            }
        }
    }

    fn has_final_phase(&self) -> bool {
        true
    }

    /// Crash, assign every key from the beginning, then poll (gaps uniform in [0, 0.4) s)
    /// until this thread's polls reached the highest offset known for every key.
    fn final_next(&mut self, thread: usize, rng: &mut Pcg64Mcg) -> Option<(Invocation, Duration)> {
        let highest = self.highest.clone();
        let (step, reached) = self.finals.entry(thread).or_default();
        *step = step.saturating_add(1);
        match *step {
            1 => Some((Invocation::final_op("crash", Value::Null), Duration::ZERO)),
            2 => {
                let mut assign =
                    Invocation::final_op("assign", json!(highest.keys().collect::<Vec<_>>()));
                assign.extra = Some(json!({"seek-to-beginning?": true}));
                Some((assign, Duration::ZERO))
            }
            _ if highest
                .iter()
                .all(|(k, o)| reached.get(k).is_some_and(|r| r >= o)) =>
            {
                None
            }
            _ => Some((
                Invocation::final_op("poll", json!([["poll"]])),
                Duration::from_secs_f64(rng.gen::<f64>() * 0.4),
            )),
        }
    }

    fn final_limit(&self) -> Option<Duration> {
        Some(FINAL_LIMIT)
    }
}

fn offsets_of(session: &Session) -> Map<String, Value> {
    session
        .get("offsets")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

impl Workload for Kafka {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn generator(&self, options: &TestOptions) -> Box<dyn Generator> {
        Box::new(KafkaGenerator::new(options))
    }

    fn reusable_client(&self) -> bool {
        false
    }

    fn operation(&self, invocation: &Invocation, session: &mut Session) -> Step {
        match invocation.f.as_str() {
            "crash" => Step::Done(Completion {
                kind: OpType::Info,
                value: invocation.value.clone(),
                error: Some(json!("crash")),
                exception: None,
            }),
            "assign" => {
                let keys: Vec<String> = invocation
                    .value
                    .as_array()
                    .map(|a| a.iter().map(key_text).collect())
                    .unwrap_or_default();
                let seek = invocation
                    .extra
                    .as_ref()
                    .is_some_and(|e| e["seek-to-beginning?"] == true);
                let value = invocation.value.clone();
                let request = json!({"type": "list_committed_offsets", "keys": keys});
                // Where each assigned key's reading starts: from the beginning, or from
                // where this client was, or from the committed offset.
                let start = move |committed: Map<String, Value>, session: &mut Session| {
                    let current = offsets_of(session);
                    let offsets: Map<String, Value> = keys
                        .iter()
                        .map(|k| {
                            let start = if seek {
                                json!(0)
                            } else {
                                current
                                    .get(k)
                                    .or(committed.get(k))
                                    .cloned()
                                    .unwrap_or(json!(0))
                            };
                            (k.clone(), start)
                        })
                        .collect();
                    session.insert("offsets".into(), Value::Object(offsets));
                    Step::Done(Completion::ok(value))
                };
                if seek {
                    return start(Map::new(), session);
                }
                // Asking for committed offsets changes nothing: assign is idempotent.
                Step::rpc(request, &LIST_OK, true, move |mut reply, session| {
                    let committed = match reply.remove("offsets") {
                        Some(Value::Object(committed)) => committed,
                        _ => Map::new(),
                    };
                    start(committed, session)
                })
            }
            "send" => {
                let mop = &invocation.value[0];
                let request = json!({"type": "send", "key": mop[1], "msg": mop[2]});
                let (key, message) = (mop[1].clone(), mop[2].clone());
                Step::last(request, &SEND_OK, false, move |r| {
                    json!([[
                        "send",
                        key,
                        [r.get("offset").cloned().unwrap_or(Value::Null), message]
                    ]])
                })
            }
            _ => {
                let mut offsets = offsets_of(session);
                let request = json!({"type": "poll", "offsets": offsets});
                Step::rpc(request, &POLL_OK, false, move |mut reply, session| {
                    let msgs = match reply.remove("msgs") {
                        Some(Value::Object(msgs)) => msgs,
                        _ => Map::new(),
                    };
                    let mut commits = Map::new();
                    for (k, pairs) in &msgs {
                        let highest = pairs.as_array().and_then(|p| {
                            p.iter()
                                .filter_map(|pair| pair.get(0).and_then(Value::as_i64))
                                .max()
                        });
                        if let Some(highest) = highest {
                            let next = offsets
                                .get(k)
                                .and_then(Value::as_i64)
                                .unwrap_or(0)
                                .max(highest + 1);
                            offsets.insert(k.clone(), json!(next));
                            commits.insert(k.clone(), json!(highest.max(0)));
                        }
                    }
                    session.insert("offsets".into(), Value::Object(offsets));
                    let polled = json!([["poll", msgs]]);
                    if commits.is_empty() {
                        return Step::Done(Completion::ok(polled));
                    }
                    let request = json!({"type": "commit_offsets", "offsets": commits});
                    Step::last(request, &COMMIT_OK, false, move |_| polled)
                })
            }
        }
    }

    fn check(&self, history: &[Op], _options: &TestOptions) -> Value {
        crate::checker::kafka::check(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::kafka::check;

    /// A history builder: each call appends an invocation and its completion for a process.
    struct H(Vec<Op>);

    impl H {
        fn op(&mut self, p: u64, f: &str, invoke: Value, kind: OpType, done: Value) -> &mut Self {
            for (k, v) in [(OpType::Invoke, invoke), (kind, done)] {
                let index = self.0.len() as u64;
                self.0
                    .push(Op::new(index, index * 1000, k, Process::Client(p), f, v));
            }
            self
        }
        fn send(&mut self, p: u64, k: &str, m: i64, offset: i64) -> &mut Self {
            self.op(
                p,
                "send",
                json!([["send", k, m]]),
                OpType::Ok,
                json!([["send", k, [offset, m]]]),
            )
        }
        fn send_as(&mut self, p: u64, k: &str, m: i64, kind: OpType) -> &mut Self {
            self.op(
                p,
                "send",
                json!([["send", k, m]]),
                kind,
                json!([["send", k, m]]),
            )
        }
        fn poll(&mut self, p: u64, k: &str, pairs: &[(i64, i64)]) -> &mut Self {
            let pairs: Vec<Value> = pairs.iter().map(|(o, m)| json!([o, m])).collect();
            self.op(
                p,
                "poll",
                json!([["poll"]]),
                OpType::Ok,
                json!([["poll", {k: pairs}]]),
            )
        }
        fn assign(&mut self, p: u64, keys: &[&str]) -> &mut Self {
            self.op(p, "assign", json!(keys), OpType::Ok, json!(keys))
        }
        fn check(&self) -> Value {
            check(&self.0)
        }
    }

    fn types(r: &Value) -> Vec<String> {
        r["error-types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    }

    /// Feeds a step the reply a node would give, with no client, process or clock.
    fn answer(step: Step, reply: Value, session: &mut Session) -> Step {
        let Step::Rpc(rpc) = step else {
            panic!("expected a request")
        };
        let Value::Object(reply) = reply else {
            panic!("a reply is an object")
        };
        assert!(rpc.reply.check(&reply).is_ok(), "{reply:?}");
        (rpc.then)(reply, session)
    }

    #[test]
    fn a_poll_is_a_state_machine_over_poll_then_commit() {
        let mut session = Session::new();
        session.insert("offsets".into(), json!({"k": 0}));
        let step = Kafka.operation(&Invocation::new("poll", json!([["poll"]])), &mut session);
        let Step::Rpc(rpc) = &step else {
            panic!("a poll starts with a request")
        };
        assert_eq!(rpc.body, json!({"type": "poll", "offsets": {"k": 0}}));
        assert!(!rpc.idempotent);
        let reply = json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"k": [[0, 5], [1, 6]]}});
        let step = answer(step, reply, &mut session);
        let Step::Rpc(rpc) = &step else {
            panic!("then it commits what it read")
        };
        assert_eq!(
            rpc.body,
            json!({"type": "commit_offsets", "offsets": {"k": 1}})
        );
        assert_eq!(
            session["offsets"],
            json!({"k": 2}),
            "the next poll starts past it"
        );
        let step = answer(
            step,
            json!({"type": "commit_offsets_ok", "in_reply_to": 2}),
            &mut session,
        );
        let Step::Done(done) = step else {
            panic!("and is done")
        };
        assert_eq!(
            done,
            Completion::ok(json!([["poll", {"k": [[0, 5], [1, 6]]}]]))
        );
        // An assign that seeks to the beginning needs no request at all.
        let mut assign = Invocation::final_op("assign", json!(["k"]));
        assign.extra = Some(json!({"seek-to-beginning?": true}));
        assert!(matches!(
            Kafka.operation(&assign, &mut session),
            Step::Done(_)
        ));
        assert_eq!(session["offsets"], json!({"k": 0}));
    }

    #[test]
    fn integer_and_string_keys_are_different_keys() {
        // A send to the integer key 9 is not a send to "9": the poll of "9" read a message
        // nobody wrote there, which upstream cannot explain (it throws: unknown).
        let send_to_integer_9 = |h: &mut H| {
            h.op(
                0,
                "send",
                json!([["send", 9, 1]]),
                OpType::Ok,
                json!([["send", 9, [0, 1]]]),
            );
        };
        let mut h = H(vec![]);
        send_to_integer_9(&mut h);
        h.poll(1, "9", &[(0, 1)]);
        let r = h.check();
        assert_eq!(r["valid?"], "unknown", "{r:#}");
        assert!(r["error"].as_str().unwrap().contains("for key \"9\""));
        // The same history with the key written as a string throughout is fine.
        let r = H(vec![]).send(0, "9", 1, 0).poll(1, "9", &[(0, 1)]).check();
        assert_eq!(r["valid?"], true, "{r:#}");
        // Integer keys alone are judged like any other.
        let mut h = H(vec![]);
        send_to_integer_9(&mut h);
        let r = h.check();
        assert_eq!(r["unseen"]["unseen"], json!({"9": 1}), "{r:#}");
    }

    #[test]
    fn realtime_lag_is_measured_from_when_the_next_offset_existed() {
        // Upstream's docstring example: offset 1 of x is known to exist from the second
        // send's completion (t=7000); the next poll, invoked at t=8000 by a process that
        // has seen only offset 0, lags by 1000 ns.
        let r = H(vec![])
            .assign(1, &["x"])
            .send(0, "x", 1, 0)
            .poll(1, "x", &[(0, 1)])
            .send(0, "x", 2, 1)
            .poll(1, "x", &[])
            .check();
        let lag = &r["worst-realtime-lag"];
        assert_eq!(lag["key"], "x", "{lag}");
        assert_eq!(lag["process"], 1);
        assert_eq!(
            lag["time"], 8000e-9,
            "the second poll's invocation, in seconds"
        );
        assert_eq!(
            lag["lag"],
            (8000 - 7000) as f64 / 1e9,
            "offset 1 known since the send's completion"
        );
        let none = H(vec![]).send(0, "x", 1, 0).check();
        assert_eq!(none["worst-realtime-lag"], json!({"time": 0.0, "lag": 0.0}));
    }

    #[test]
    fn a_clean_history_is_valid() {
        let r = H(vec![])
            .send(0, "k", 1, 0)
            .send(0, "k", 2, 1)
            .poll(1, "k", &[(0, 1), (1, 2)])
            .check();
        assert_eq!(r["valid?"], true, "{r:#}");
        assert!(types(&r).is_empty());
    }

    #[test]
    fn inconsistent_offsets_and_duplicates() {
        let r = H(vec![])
            .send(0, "k", 1, 0)
            .send(1, "k", 2, 0)
            .send(0, "k", 3, 1)
            .send(0, "k", 3, 2)
            .poll(2, "k", &[(0, 1), (1, 3), (2, 3)])
            .check();
        let t = types(&r);
        assert!(t.contains(&"inconsistent-offsets".into()), "{t:?}");
        assert!(t.contains(&"duplicate".into()), "{t:?}");
        assert_eq!(
            r["inconsistent-offsets"]["errs"][0]["values"],
            json!([1, 2])
        );
        assert_eq!(r["valid?"], false);
    }

    #[test]
    fn lost_write() {
        // 1 at offset 0 was acknowledged; a poll read offset 1 but nobody ever read 1.
        let r = H(vec![])
            .send(0, "k", 1, 0)
            .send(0, "k", 2, 1)
            .poll(1, "k", &[(1, 2)])
            .check();
        assert!(types(&r).contains(&"lost-write".into()), "{r:#}");
        assert_eq!(r["lost-write"]["errs"][0]["value"], 1);
    }

    #[test]
    fn poll_skip_and_nonmonotonic_poll_between_polls() {
        let mut h = H(vec![]);
        h.send(0, "k", 1, 0).send(0, "k", 2, 1).send(0, "k", 3, 2);
        h.poll(1, "k", &[(0, 1)]).poll(1, "k", &[(2, 3)]);
        let r = h.check();
        assert!(types(&r).contains(&"poll-skip".into()), "{r:#}");
        assert_eq!(r["poll-skip"]["errs"][0]["delta"], 2);
        let r = H(vec![])
            .send(0, "k", 1, 0)
            .send(0, "k", 2, 1)
            .poll(1, "k", &[(0, 1), (1, 2)])
            .poll(1, "k", &[(0, 1)])
            .check();
        assert!(types(&r).contains(&"nonmonotonic-poll".into()), "{r:#}");
    }

    #[test]
    fn an_assign_forgets_keys_it_does_not_keep() {
        let mut h = H(vec![]);
        h.send(0, "k", 1, 0).send(0, "k", 2, 1);
        h.poll(1, "k", &[(0, 1), (1, 2)])
            .assign(1, &["other"])
            .poll(1, "k", &[(0, 1), (1, 2)]);
        assert_eq!(
            h.check()["valid?"],
            true,
            "re-reading after reassignment is fine"
        );
        let mut h = H(vec![]);
        h.send(0, "k", 1, 0).send(0, "k", 2, 1);
        h.poll(1, "k", &[(0, 1), (1, 2)])
            .assign(1, &["k"])
            .poll(1, "k", &[(0, 1), (1, 2)]);
        assert!(
            types(&h.check()).contains(&"nonmonotonic-poll".into()),
            "a kept key is still checked"
        );
    }

    #[test]
    fn skips_and_reversals_inside_one_poll() {
        let mut h = H(vec![]);
        h.send(0, "k", 1, 0).send(0, "k", 2, 1).send(0, "k", 3, 2);
        h.poll(1, "k", &[(0, 1), (1, 2), (2, 3)]);
        h.poll(2, "k", &[(0, 1), (2, 3)]);
        h.poll(3, "k", &[(1, 2), (0, 1)]);
        let t = types(&h.check());
        assert!(
            t.contains(&"int-poll-skip".into()) && t.contains(&"int-nonmonotonic-poll".into()),
            "{t:?}"
        );
    }

    #[test]
    fn nonmonotonic_send() {
        let r = H(vec![])
            .send(0, "k", 1, 5)
            .send(0, "k", 2, 3)
            .poll(1, "k", &[(3, 2), (5, 1)])
            .check();
        assert!(types(&r).contains(&"nonmonotonic-send".into()), "{r:#}");
    }

    #[test]
    fn reading_a_failed_send_is_g1a() {
        let mut h = H(vec![]);
        h.send_as(0, "k", 1, OpType::Fail).send(0, "k", 2, 1);
        h.poll(1, "k", &[(0, 1), (1, 2)]);
        assert!(types(&h.check()).contains(&"G1a".into()));
    }

    #[test]
    fn acknowledged_but_never_polled_is_unseen_and_invalid() {
        let r = H(vec![])
            .send(0, "k", 1, 0)
            .send(0, "k", 2, 1)
            .poll(1, "k", &[(0, 1)])
            .check();
        assert_eq!(r["unseen"]["unseen"], json!({"k": 1}));
        assert_eq!(r["unseen"]["messages"], json!({"k": [2]}));
        assert_eq!(r["valid?"], false);
        assert_eq!(r["bad-error-types"], json!(["unseen"]));
    }

    #[test]
    fn an_indeterminate_send_that_was_read_must_have_committed() {
        let mut h = H(vec![]);
        h.send_as(0, "k", 1, OpType::Info).send(0, "k", 2, 1);
        h.poll(1, "k", &[(0, 1), (1, 2)]);
        assert_eq!(h.check()["valid?"], true);
    }

    #[test]
    fn a_poll_that_reads_a_later_send_is_a_realtime_cycle() {
        let mut h = H(vec![]);
        // Process 1 polls first and sees message 1, whose send only starts afterwards.
        h.poll(1, "k", &[(0, 1)]).send(0, "k", 1, 0);
        assert!(types(&h.check()).contains(&"G1c-realtime".into()));
    }

    #[test]
    fn phantom_messages_make_it_unknown_and_nothing_at_all_is_an_empty_graph() {
        let r = H(vec![]).poll(1, "k", &[(0, 42)]).check();
        assert_eq!(r["valid?"], "unknown");
        let r = H(vec![]).check();
        assert_eq!(r["bad-error-types"], json!(["empty-transaction-graph"]));
    }

    fn options(key_count: u64, concurrency: usize) -> TestOptions {
        TestOptions {
            key_count: Some(key_count),
            concurrency,
            max_writes_per_key: 3,
            ..TestOptions::example("kafka")
        }
    }

    #[test]
    fn keys_retire_after_their_last_message_and_assigns_and_crashes_are_mixed_in() {
        use rand::SeedableRng;
        let mut g = KafkaGenerator::new(&options(2, 4));
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let mut per_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let (mut assigns, mut crashes) = (0, 0);
        for i in 0..20_000u64 {
            let op = g.next(&mut rng, Duration::from_millis(i));
            match op.f.as_str() {
                "send" => per_key
                    .entry(op.value[0][1].as_str().unwrap().to_owned())
                    .or_default()
                    .push(op.value[0][2].as_u64().unwrap()),
                "assign" => assigns += 1,
                "crash" => crashes += 1,
                _ => {}
            }
        }
        assert!(
            per_key
                .values()
                .all(|ms| ms.iter().copied().eq(1..=ms.len() as u64) && ms.len() <= 3),
            "messages 1..=3 per key"
        );
        assert!(
            per_key.len() > 100,
            "retired keys are replaced by fresh ones"
        );
        assert!(
            (200..450).contains(&assigns),
            "about 1 op in 64 is an assign: {assigns}"
        );
        // 20 s of ops, 4 clients, one crash per client every 30 s on average: about 2.7.
        assert!((1..=8).contains(&crashes), "{crashes}");
    }

    #[test]
    fn the_final_phase_crashes_seeks_and_polls_until_caught_up() {
        use rand::SeedableRng;
        let mut g = KafkaGenerator::new(&options(1, 1));
        let mut rng = Pcg64Mcg::seed_from_u64(2);
        let send = Invocation::new("send", json!([["send", "0", 1]]));
        g.observe(0, &send, &Completion::ok(json!([["send", "0", [4, 1]]])));
        let steps: Vec<String> = (0..3)
            .map(|_| g.final_next(0, &mut rng).unwrap().0.f)
            .collect();
        assert_eq!(steps, ["crash", "assign", "poll"]);
        let poll = Invocation::final_op("poll", json!([["poll"]]));
        g.observe(
            0,
            &poll,
            &Completion::ok(json!([["poll", {"0": [[3, 9], [4, 1]]}]])),
        );
        assert!(
            g.final_next(0, &mut rng).is_none(),
            "caught up with offset 4"
        );
    }
}
