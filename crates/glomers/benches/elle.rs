//! How long the rw-register checker takes on a history the size of a challenge 6 run: 20 s
//! at rate 1000 (20,000 transactions over four processes). The history comes from a small
//! simulation of a two-node, last-writer-wins store whose replicas lag by 50 ms, the same
//! shape as our read-committed solution's, so the dependency graph is full of read-skew and
//! write-skew cycles: easy at read committed, the hard case under strict serializability.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_main, Criterion};
use glomers::history::{Op, OpType, Process};
use glomers::options::TestOptions;
use glomers::workload::txn_generator::TxnGenerator;
use glomers::workload::txn_rw_register::check;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

const TXNS: usize = 20_000;
const REPLICATION_LAG_MS: u64 = 50;

/// One transaction per millisecond, on process `i % 4`, run by node `process % 2`.
fn lagging_replicas_history() -> Vec<Op> {
    let mut rng = Pcg64Mcg::seed_from_u64(20);
    let mut generator = TxnGenerator::new(&TestOptions::example("txn-rw-register"));
    type Store = BTreeMap<String, (Value, (u64, u64))>;
    let mut stores: [Store; 2] = [Store::new(), Store::new()];
    // (delivery time, receiving node, key, value, timestamp)
    type Replicated = (u64, usize, String, Value, (u64, u64));
    let mut in_flight: VecDeque<Replicated> = VecDeque::new();
    let mut clock = 0u64;
    let mut history = Vec::with_capacity(TXNS * 2);
    for i in 0..TXNS {
        let now = i as u64;
        while in_flight.front().is_some_and(|m| m.0 <= now) {
            let (_, node, key, value, ts) = in_flight.pop_front().unwrap();
            clock = clock.max(ts.0);
            let slot = stores[node].entry(key).or_insert((Value::Null, (0, 0)));
            if ts > slot.1 {
                *slot = (value, ts);
            }
        }
        let process = (i % 4) as u64;
        let node = (process % 2) as usize;
        let txn = generator.txn(&mut rng);
        let mut done = Vec::new();
        let mut own: BTreeMap<String, Value> = BTreeMap::new();
        for m in txn.as_array().unwrap() {
            let key = m[1].to_string();
            if m[0] == "r" {
                let seen = own
                    .get(&key)
                    .cloned()
                    .or_else(|| stores[node].get(&key).map(|s| s.0.clone()))
                    .unwrap_or(Value::Null);
                done.push(json!(["r", m[1], seen]));
            } else {
                own.insert(key, m[2].clone());
                done.push(m.clone());
            }
        }
        if !own.is_empty() {
            clock += 1;
            let ts = (clock, node as u64);
            for (key, value) in own {
                stores[node].insert(key.clone(), (value.clone(), ts));
                in_flight.push_back((now + REPLICATION_LAG_MS, 1 - node, key, value, ts));
            }
        }
        for (kind, value) in [(OpType::Invoke, txn), (OpType::Ok, Value::Array(done))] {
            let index = history.len() as u64;
            let process = Process::Client(process);
            history.push(Op::new(index, now * 1_000_000, kind, process, "txn", value));
        }
    }
    history
}

fn checker(c: &mut Criterion) {
    let history = lagging_replicas_history();
    let mut group = c.benchmark_group("rw-register check, 20k txns");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for model in ["read-committed", "serializable", "strict-serializable"] {
        let verdict = check(&history, &[model.to_owned()]);
        eprintln!(
            "{model}: valid? {} {}",
            verdict["valid?"], verdict["anomaly-types"]
        );
        group.bench_function(model, |b| b.iter(|| check(&history, &[model.to_owned()])));
    }
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::checker);
}
use group::benches;
criterion_main!(benches);
