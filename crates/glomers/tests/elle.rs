//! Hand-built transactional histories, one per anomaly class, each detected with the right
//! name under the right models; clean histories that stay valid; and a property test that
//! random serial executions are always valid, even under strict serializability. The same
//! for list-append histories.
#![allow(clippy::unwrap_used)]

use glomers::history::{Op, OpType, Process};
use glomers::options::TestOptions;
use glomers::workload::txn_generator::TxnGenerator;
use glomers::workload::txn_list_append::TxnListAppend;
use glomers::workload::txn_rw_register::check;
use glomers::workload::Workload;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Builds a history record by record.
#[derive(Default)]
struct H(Vec<Op>);

impl H {
    fn push(&mut self, process: u64, kind: OpType, value: Value) -> &mut Self {
        let index = self.0.len() as u64;
        self.0.push(Op::new(
            index,
            index * 1000,
            kind,
            Process::Client(process),
            "txn",
            value,
        ));
        self
    }

    fn invoke(&mut self, p: u64, txn: Value) -> &mut Self {
        let request: Vec<Value> = txn
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                if m[0] == "r" {
                    json!(["r", m[1], null])
                } else {
                    m.clone()
                }
            })
            .collect();
        self.push(p, OpType::Invoke, Value::Array(request))
    }

    fn ok(&mut self, p: u64, txn: Value) -> &mut Self {
        self.push(p, OpType::Ok, txn)
    }

    /// An invocation immediately followed by its successful completion.
    fn txn(&mut self, p: u64, txn: Value) -> &mut Self {
        self.invoke(p, txn.clone()).ok(p, txn)
    }

    /// Two transactions that overlap in time: both invoked, then both complete `ok`.
    fn concurrent(&mut self, (p, a): (u64, Value), (q, b): (u64, Value)) -> &mut Self {
        self.invoke(p, a.clone())
            .invoke(q, b.clone())
            .ok(p, a)
            .ok(q, b)
    }

    fn failed(&mut self, p: u64, txn: Value) -> &mut Self {
        self.invoke(p, txn.clone()).push(p, OpType::Fail, txn)
    }

    /// A harmless write and read on a separate key, so that the dependency graph is not
    /// empty (an empty graph is itself invalid).
    fn with_an_edge(&mut self) -> &mut Self {
        self.txn(7, json!([["w", 99, 1]]))
            .txn(7, json!([["r", 99, 1]]))
    }

    /// Judged as a txn-list-append history.
    fn check_append(&self, model: &str) -> Value {
        let options = TestOptions {
            consistency_models: vec![model.to_owned()],
            ..TestOptions::example("txn-list-append")
        };
        TxnListAppend.check(&self.0, &options)
    }

    fn check(&self, model: &str) -> Value {
        check(&self.0, &[model.to_owned()])
    }
}

fn types(result: &Value) -> Vec<String> {
    result["anomaly-types"]
        .as_array()
        .map(|a| a.iter().map(|t| t.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn assert_invalid_with(result: &Value, anomaly: &str) {
    assert_eq!(result["valid?"], json!(false), "{result:#}");
    assert!(
        types(result).contains(&anomaly.to_owned()),
        "want {anomaly}: {result:#}"
    );
}

fn assert_valid(result: &Value) {
    assert_eq!(result["valid?"], json!(true), "{result:#}");
}

#[test]
fn a_store_that_buffers_writes_is_legal_at_read_committed() {
    // T1 writes x, then reads the committed x = 2 (its own write is still buffered), reads
    // y = 1 and writes y; T2 commits x = 2, y = 1 first. No read-your-writes inside a
    // transaction is an `internal` anomaly, which read uncommitted and read committed
    // allow; Elle, as Maelstrom configures it, reports nothing else.
    let t1 = json!([["w", "x", 1], ["r", "x", 2], ["r", "y", 1], ["w", "y", 2]]);
    let t2 = json!([["w", "x", 2], ["w", "y", 1]]);
    let mut h = H::default();
    h.invoke(1, t1.clone())
        .invoke(2, t2.clone())
        .ok(2, t2)
        .ok(1, t1);
    for model in ["read-uncommitted", "read-committed"] {
        let result = h.check(model);
        assert_valid(&result);
        assert_eq!(
            result["read-committed-anomaly-types"],
            json!([]),
            "{result:#}"
        );
    }
    let result = h.check("serializable");
    assert_invalid_with(&result, "internal");
    assert_eq!(types(&result), ["internal"]);
}

#[test]
fn dirty_writes_from_maelstrom_issue_56_are_judged_as_upstream_judges_them() {
    // Two transactions interleaved on one key: t2 wrote 1, t3 overwrote it with 10 while
    // t2 was still running, t2 then wrote 2 and 3 over t3's write, and t3 read 3. A store
    // that installs writes at once has done a dirty write here, but one that buffers them
    // can produce the same reads legally, so nothing orders the versions but the initial
    // state and t3's read of 1 before its write of 11. Without a single edge between the
    // two, the transaction graph is empty, which Maelstrom's wrapper calls invalid.
    let mut h = H::default();
    let t2 = json!([
        ["w", 0, 1],
        ["r", 0, 1],
        ["r", 0, 10],
        ["w", 0, 2],
        ["w", 0, 3],
        ["r", 0, 3]
    ]);
    let t3 = json!([["r", 0, 1], ["w", 0, 10], ["r", 0, 3], ["w", 0, 11]]);
    h.concurrent((2, t2), (3, t3));
    let result = h.check("read-uncommitted");
    assert_invalid_with(&result, "empty-transaction-graph");
    assert_eq!(types(&result), ["empty-transaction-graph"]);
    // At read committed t3's read of t2's intermediate write is G1b.
    let result = h.check("read-committed");
    assert_invalid_with(&result, "G1b");
    assert!(!types(&result).contains(&"G0".to_owned()), "{result:#}");
}

#[test]
fn degenerate_histories_are_invalid_as_upstream_says() {
    // Upstream's transaction graph has vertices only through edges; when it has none,
    // Elle says unknown and Maelstrom's wrapper turns that into invalid.
    let only_failures = {
        let mut h = H::default();
        h.failed(0, json!([["w", 1, 1]]))
            .failed(1, json!([["r", 1, null]]));
        h
    };
    let one_txn = {
        let mut h = H::default();
        h.txn(0, json!([["w", 1, 1], ["r", 2, null]]));
        h
    };
    let nil_reads = {
        let mut h = H::default();
        h.txn(0, json!([["r", 1, null]]))
            .txn(1, json!([["r", 2, null], ["r", 1, null]]));
        h
    };
    let empty = H::default();
    for (name, h) in [
        ("only failures", &only_failures),
        ("one transaction", &one_txn),
        ("reads of nil only", &nil_reads),
        ("no operations", &empty),
    ] {
        for model in ["read-uncommitted", "read-committed", "serializable"] {
            let result = h.check(model);
            assert_eq!(
                result["valid?"],
                json!(false),
                "{name} at {model}: {result:#}"
            );
            assert_eq!(
                types(&result),
                ["empty-transaction-graph"],
                "{name} at {model}"
            );
        }
    }
    // A read of nil while another transaction writes the key is an rw edge: not empty.
    let mut h = H::default();
    h.txn(0, json!([["r", 1, null]]))
        .txn(1, json!([["w", 1, 1]]));
    assert_valid(&h.check("read-committed"));
}

#[test]
fn g0_through_writes_follow_reads() {
    // T1 and T2 each overwrite the other's write on a different key.
    let mut h = H::default();
    h.txn(0, json!([["w", "x", 1], ["w", "y", 1]]))
        .txn(1, json!([["w", "x", 2], ["w", "y", 2]]))
        .txn(2, json!([["r", "x", 1], ["w", "x", 3]]))
        .txn(3, json!([["r", "x", 2], ["w", "x", 4]]));
    // No cycle among those: still valid.
    assert_valid(&h.check("read-uncommitted"));
    let mut h = H::default();
    h.txn(0, json!([["r", "x", 2], ["w", "x", 1], ["w", "y", 1]]))
        .txn(1, json!([["r", "y", 1], ["w", "y", 2], ["w", "x", 2]]));
    let result = h.check("read-uncommitted");
    assert!(
        types(&result).contains(&"G0".to_owned())
            || types(&result).contains(&"cyclic-versions".to_owned()),
        "{result:#}"
    );
}

#[test]
fn aborted_reads_are_g1a_under_read_committed_only() {
    let mut h = H::default();
    h.failed(0, json!([["w", 1, 5]]))
        .txn(1, json!([["r", 1, 5]]))
        .with_an_edge();
    assert_invalid_with(&h.check("read-committed"), "G1a");
    assert_valid(&h.check("read-uncommitted"));
}

#[test]
fn intermediate_reads_are_g1b() {
    let mut h = H::default();
    h.txn(0, json!([["w", 1, 1], ["w", 1, 2]]))
        .txn(1, json!([["r", 1, 1]]))
        .with_an_edge();
    assert_invalid_with(&h.check("read-committed"), "G1b");
    // Reading one's own intermediate write is fine.
    let mut h = H::default();
    h.txn(0, json!([["w", 1, 1], ["r", 1, 1], ["w", 1, 2]]))
        .with_an_edge();
    assert_valid(&h.check("read-committed"));
}

#[test]
fn circular_information_flow_is_g1c() {
    let mut h = H::default();
    h.concurrent(
        (0, json!([["w", 1, 1], ["r", 2, 1]])),
        (1, json!([["w", 2, 1], ["r", 1, 1]])),
    );
    let result = h.check("read-committed");
    assert_invalid_with(&result, "G1c");
    assert_valid(&h.check("read-uncommitted"));
    let explanation = result["anomalies"]["G1c"][0]["explanation"]
        .as_str()
        .unwrap();
    assert!(explanation.contains("which was read by"), "{explanation}");
}

#[test]
fn read_skew_is_g_single_item() {
    let mut h = H::default();
    h.invoke(0, json!([["r", "x", 1], ["r", "y", null]]))
        .txn(1, json!([["w", "y", 1], ["w", "x", 1]]))
        .ok(0, json!([["r", "x", 1], ["r", "y", null]]));
    assert_invalid_with(&h.check("serializable"), "G-single-item");
    assert_invalid_with(&h.check("snapshot-isolation"), "G-single-item");
    assert_valid(&h.check("read-committed"));
}

#[test]
fn write_skew_is_g2_item_and_allowed_by_snapshot_isolation() {
    let mut h = H::default();
    h.concurrent(
        (0, json!([["r", "x", null], ["w", "y", 1]])),
        (1, json!([["r", "y", null], ["w", "x", 1]])),
    );
    assert_invalid_with(&h.check("serializable"), "G2-item");
    assert_valid(&h.check("snapshot-isolation"));
    assert_valid(&h.check("read-committed"));
}

#[test]
fn two_separated_anti_dependencies_are_g_nonadjacent_item() {
    // T1 -rw(a)-> T2 -wr(b)-> T3 -rw(c)-> T4 -wr(d)-> T1.
    let mut h = H::default();
    let txns = [
        json!([["r", "a", null], ["r", "d", 1]]),
        json!([["w", "a", 1], ["w", "b", 1]]),
        json!([["r", "b", 1], ["r", "c", null]]),
        json!([["w", "c", 1], ["w", "d", 1]]),
    ];
    for (p, t) in txns.iter().enumerate() {
        h.invoke(p as u64, t.clone());
    }
    for (p, t) in txns.iter().enumerate() {
        h.ok(p as u64, t.clone());
    }
    assert_invalid_with(&h.check("serializable"), "G-nonadjacent-item");
    assert_invalid_with(&h.check("snapshot-isolation"), "G-nonadjacent-item");
    assert_invalid_with(&h.check("repeatable-read"), "G-nonadjacent-item");
    assert_valid(&h.check("read-committed"));
}

#[test]
fn stale_reads_are_realtime_anomalies_under_strict_serializability() {
    let mut h = H::default();
    h.txn(0, json!([["w", 1, 1]]))
        .txn(1, json!([["r", 1, null]]));
    assert_invalid_with(&h.check("strict-serializable"), "G-single-item-realtime");
    assert_valid(&h.check("serializable"));
}

#[test]
fn process_order_counts_under_strong_session_models() {
    let mut h = H::default();
    h.txn(0, json!([["w", 1, 1]]))
        .txn(0, json!([["r", 1, null]]));
    assert_invalid_with(
        &h.check("strong-session-serializable"),
        "G-single-item-process",
    );
}

#[test]
fn internal_inconsistency_and_lost_updates() {
    let mut h = H::default();
    h.txn(0, json!([["w", 1, 1], ["r", 1, 2]]))
        .txn(1, json!([["w", 1, 2]]));
    assert_invalid_with(&h.check("serializable"), "internal");
    assert!(!types(&h.check("read-committed")).contains(&"internal".to_owned()));

    let mut h = H::default();
    h.concurrent(
        (0, json!([["r", 1, null], ["w", 1, 1]])),
        (1, json!([["r", 1, null], ["w", 1, 2]])),
    );
    assert_invalid_with(&h.check("repeatable-read"), "lost-update");
    assert_valid(&h.check("read-committed"));
}

#[test]
fn cyclic_version_orders_are_reported() {
    let mut h = H::default();
    h.txn(0, json!([["r", 1, 1], ["w", 1, 2]]))
        .txn(1, json!([["r", 1, 2], ["w", 1, 1]]));
    let result = h.check("read-uncommitted");
    assert_invalid_with(&result, "cyclic-versions");
    let case = &result["anomalies"]["cyclic-versions"][0];
    assert_eq!(case["key"], json!(1));
    assert_eq!(case["sources"], json!(["initial-state", "wfr-keys"]));
}

#[test]
fn an_empty_graph_is_invalid_and_broken_histories_are_unknown() {
    let mut h = H::default();
    h.failed(0, json!([["w", 1, 1]]));
    assert_invalid_with(&h.check("read-committed"), "empty-transaction-graph");

    let mut h = H::default();
    h.txn(0, json!([["w", 1, 1]]))
        .txn(1, json!([["w", 1, 1]]))
        .txn(2, json!([["r", 1, 1]]));
    let result = h.check("read-committed");
    assert_eq!(result["valid?"], json!("unknown"), "{result:#}");
    assert!(result["error"]
        .as_str()
        .unwrap()
        .contains("more than one op"));

    let mut h = H::default();
    h.txn(0, json!([["w", 1, 1]]))
        .txn(1, json!([["r", "1", null]]));
    assert_eq!(h.check("read-committed")["valid?"], json!("unknown"));

    let mut h = H::default();
    h.txn(0, json!([["w", 1, 1]])).txn(1, json!([["r", 1, 1]]));
    assert_eq!(h.check("a,b")["valid?"], json!("unknown"));
    assert_eq!(h.check("linearizable")["valid?"], json!(true));
}

#[test]
fn clean_concurrent_read_committed_history_stays_valid() {
    // Non-repeatable reads and stale reads are allowed at read committed.
    let mut h = H::default();
    h.txn(0, json!([["w", 1, 1], ["w", 2, 1]]))
        .invoke(1, json!([["r", 1, 1], ["r", 1, 2]]))
        .txn(0, json!([["r", 1, 1], ["w", 1, 2]]))
        .ok(1, json!([["r", 1, 1], ["r", 1, 2]]))
        .txn(1, json!([["r", 2, null]]));
    let result = h.check("read-committed");
    assert_valid(&result);
    assert_eq!(result["anomaly-types"], json!([]));
    assert_eq!(result["anomalies"], Value::Null);
}

/// Executes random transactions one at a time (registers for `w`, lists for `append`), on
/// several processes, with some that fail (nothing applied) and some indeterminate ones
/// (applied or not).
fn serial(seed: u64, count: usize, write_f: &'static str) -> Vec<Op> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let options = TestOptions {
        key_count: Some(3 + seed % 5),
        max_txn_length: 1 + seed % 6,
        ..TestOptions::example("txn-rw-register")
    };
    let mut generator = TxnGenerator::with_writes(&options, write_f);
    let mut state: BTreeMap<String, Value> = BTreeMap::new();
    let mut h = H::default();
    let mut processes = [0u64, 1, 2, 3];
    for _ in 0..count {
        let slot = rng.gen_range(0..processes.len());
        let p = processes[slot];
        let txn = generator.txn(&mut rng);
        let outcome = rng.gen_range(0..20);
        let apply = outcome < 19 && !(outcome == 18 && rng.gen_bool(0.5));
        let mut done = Vec::new();
        let mut scratch = state.clone();
        for m in txn.as_array().unwrap() {
            let key = m[1].to_string();
            if m[0] == "r" {
                done.push(json!([
                    "r",
                    m[1],
                    scratch.get(&key).cloned().unwrap_or(Value::Null)
                ]));
                continue;
            }
            if write_f == "append" {
                let list = scratch.entry(key).or_insert_with(|| json!([]));
                list.as_array_mut().unwrap().push(m[2].clone());
            } else {
                scratch.insert(key, m[2].clone());
            }
            done.push(m.clone());
        }
        if apply {
            state = scratch;
        }
        h.invoke(p, txn.clone());
        match outcome {
            0..=17 => h.ok(p, Value::Array(done)),
            18 => {
                processes[slot] += 4;
                h.push(p, OpType::Info, txn)
            }
            _ => h.push(p, OpType::Fail, txn),
        };
    }
    h.0
}

#[test]
fn random_serial_histories_are_always_valid() {
    for seed in 0..150 {
        let history = serial(seed, 300, "w");
        for model in [
            "strict-serializable",
            "serializable",
            "read-committed",
            "read-uncommitted",
        ] {
            let result = check(&history, &[model.to_owned()]);
            assert_eq!(
                result["valid?"],
                json!(true),
                "seed {seed}, {model}: {result:#}"
            );
        }
    }
}

// List append.

#[test]
fn append_orders_that_disagree_are_incompatible() {
    let mut h = H::default();
    h.txn(0, json!([["append", "x", 1]]))
        .txn(1, json!([["append", "x", 2]]))
        .txn(2, json!([["r", "x", [1, 2]]]))
        .txn(3, json!([["r", "x", [2, 1]]]));
    assert_invalid_with(&h.check_append("read-committed"), "incompatible-order");
}

#[test]
fn append_aborted_intermediate_and_dirty_update() {
    let mut h = H::default();
    h.failed(0, json!([["append", "x", 1]]))
        .txn(1, json!([["append", "x", 2]]))
        .txn(2, json!([["r", "x", [1, 2]]]));
    let result = h.check_append("read-committed");
    assert_invalid_with(&result, "G1a");
    assert_invalid_with(&result, "dirty-update");

    let mut h = H::default();
    h.txn(0, json!([["append", "x", 1], ["append", "x", 2]]))
        .txn(1, json!([["r", "x", [1]]]));
    assert_invalid_with(&h.check_append("read-committed"), "G1b");
}

#[test]
fn append_write_cycles_are_g0_and_read_cycles_g1c() {
    let mut h = H::default();
    h.concurrent(
        (0, json!([["append", "x", 1], ["append", "y", 1]])),
        (1, json!([["append", "x", 2], ["append", "y", 2]])),
    )
    .txn(2, json!([["r", "x", [1, 2]], ["r", "y", [2, 1]]]));
    let result = h.check_append("read-uncommitted");
    assert_invalid_with(&result, "G0");
    let explanation = result["anomalies"]["G0"][0]["explanation"]
        .as_str()
        .unwrap();
    assert!(explanation.contains("appended 2 after"), "{explanation}");

    let mut h = H::default();
    h.concurrent(
        (0, json!([["append", "x", 1], ["r", "y", [1]]])),
        (1, json!([["append", "y", 1], ["r", "x", [1]]])),
    );
    assert_invalid_with(&h.check_append("read-committed"), "G1c");
}

#[test]
fn append_stale_reads_internal_future_duplicates_and_lost_updates() {
    let mut h = H::default();
    h.txn(0, json!([["append", "x", 1]]))
        .txn(1, json!([["r", "x", null]]));
    assert_invalid_with(
        &h.check_append("strict-serializable"),
        "G-single-item-realtime",
    );
    assert_valid(&h.check_append("serializable"));

    let mut h = H::default();
    h.txn(0, json!([["append", "x", 1], ["r", "x", [2]]]))
        .txn(1, json!([["append", "x", 2]]))
        .txn(2, json!([["r", "x", [2, 1]], ["append", "x", 3]]))
        .txn(3, json!([["r", "y", [5, 5]]]))
        .txn(4, json!([["append", "y", 5]]));
    let result = h.check_append("serializable");
    for anomaly in ["internal", "duplicate-elements"] {
        assert_invalid_with(&result, anomaly);
    }
    let mut h = H::default();
    h.txn(0, json!([["r", "x", [1]], ["append", "x", 1]]));
    assert_invalid_with(&h.check_append("read-atomic"), "future-read");

    let mut h = H::default();
    h.concurrent(
        (0, json!([["r", "x", null], ["append", "x", 1]])),
        (1, json!([["r", "x", null], ["append", "x", 2]])),
    )
    .txn(2, json!([["r", "x", [1, 2]]]));
    assert_invalid_with(&h.check_append("repeatable-read"), "lost-update");
    assert_valid(&h.check_append("read-committed"));
}

#[test]
fn append_histories_upstream_cannot_judge_are_unknown() {
    // No dependency at all: Elle's empty transaction graph is `unknown` here (no wrapper).
    let mut h = H::default();
    h.txn(0, json!([["r", "x", null]]));
    assert_eq!(h.check_append("read-committed")["valid?"], json!("unknown"));
    // An element nobody appended.
    let mut h = H::default();
    h.txn(0, json!([["append", "x", 1]]))
        .txn(1, json!([["r", "x", [1, 9]]]));
    let result = h.check_append("read-committed");
    assert_eq!(result["valid?"], json!("unknown"), "{result:#}");
    assert!(result["error"]
        .as_str()
        .unwrap()
        .contains("No transaction wrote"));
    // The same element appended twice.
    let mut h = H::default();
    h.txn(0, json!([["append", "x", 1]]))
        .txn(1, json!([["append", "x", 1]]));
    assert_eq!(h.check_append("read-committed")["valid?"], json!("unknown"));
}

#[test]
fn random_serial_append_histories_are_always_valid() {
    for seed in 0..100 {
        let h = H(serial(seed, 300, "append"));
        for model in ["strict-serializable", "serializable", "read-committed"] {
            let result = h.check_append(model);
            assert_eq!(
                result["valid?"],
                json!(true),
                "seed {seed}, {model}: {result:#}"
            );
        }
    }
}
