//! The design claim, checked by the workbench's own Elle checker without processes or real
//! time: two `TxnNode`s on virtual time, four clients sending Elle-style transactions, a
//! network that delays, reorders, duplicates and (during partitions) drops replication
//! messages. Every history must be read committed (no G0, G1a, G1b, G1c, cyclic versions),
//! on every seed, and the replicas must agree once the network heals.

#![allow(clippy::unwrap_used)]

use glomers::history::{Op, OpType, Process};
use glomers::options::TestOptions;
use glomers::workload::txn_generator::TxnGenerator;
use glomers::workload::txn_rw_register::check;
use maelstrom::testkit::TestNode;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};
use std::time::Duration;
use txn::TxnNode;

const NODES: [&str; 2] = ["n0", "n1"];

/// A replication message in flight: when it arrives, from which node, to which, and what.
struct InFlight {
    at: Duration,
    from: usize,
    to: usize,
    body: Value,
}

fn record(history: &mut Vec<Op>, process: u64, kind: OpType, value: Value, time: Duration) {
    let (index, time) = (history.len() as u64, time.as_nanos() as u64);
    history.push(Op::new(
        index,
        time,
        kind,
        Process::Client(process),
        "txn",
        value,
    ));
}

/// One simulated run; returns the history and the two nodes' final stores agree.
fn simulate(seed: u64, steps: usize) -> (Vec<Op>, bool) {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut nodes = [
        TestNode::<TxnNode>::with_seed("n0", &NODES, seed),
        TestNode::<TxnNode>::with_seed("n1", &NODES, seed + 1),
    ];
    let options = TestOptions {
        key_count: Some(3 + seed % 4),
        ..TestOptions::example("txn-rw-register")
    };
    let mut generator = TxnGenerator::new(&options);
    let mut history = Vec::new();
    let mut network: Vec<InFlight> = Vec::new();
    let mut now = Duration::ZERO;
    let mut partitioned = false;
    for step in 0..steps {
        let healed = step >= steps * 9 / 10;
        if !healed && rng.gen_ratio(1, 200) {
            partitioned = !partitioned;
        }
        if healed {
            partitioned = false;
        }
        // A client transaction on its node, answered at once.
        if !healed {
            let process = rng.gen_range(0..4u64);
            let node = (process % 2) as usize;
            let txn = generator.txn(&mut rng);
            record(&mut history, process, OpType::Invoke, txn.clone(), now);
            nodes[node].request(&format!("c{process}"), json!({"type": "txn", "txn": txn}));
            let reply = nodes[node].take_sent_to(&format!("c{process}"));
            assert_eq!(reply.len(), 1);
            assert_eq!(reply[0].body["type"], "txn_ok", "{:?}", reply[0].body);
            record(
                &mut history,
                process,
                OpType::Ok,
                reply[0].body["txn"].clone(),
                now,
            );
        }
        // Time passes; timers fire; new messages enter the network.
        let dt = Duration::from_millis(rng.gen_range(0..20));
        now += dt;
        for (i, node) in nodes.iter_mut().enumerate() {
            node.advance(dt);
            for m in node.take_sent_to(NODES[1 - i]) {
                if partitioned && rng.gen_bool(0.9) {
                    continue;
                }
                let copies = if rng.gen_ratio(1, 20) { 2 } else { 1 };
                for _ in 0..copies {
                    let delay = Duration::from_millis(rng.gen_range(0..300));
                    network.push(InFlight {
                        at: now + delay,
                        from: i,
                        to: 1 - i,
                        body: m.body.clone(),
                    });
                }
            }
        }
        // Deliver what is due, in arrival order (delays reorder messages).
        network.sort_by_key(|m| m.at);
        let due = network.iter().take_while(|m| m.at <= now).count();
        for m in network.drain(..due).collect::<Vec<_>>() {
            nodes[m.to].deliver(NODES[m.from], m.body);
        }
    }
    let agree = (0..50).all(|k| {
        let key = json!(k);
        nodes[0].node().get(&key) == nodes[1].node().get(&key)
    });
    (history, agree)
}

#[test]
fn every_simulated_history_is_read_committed_and_replicas_converge() {
    for seed in 0..20 {
        let (history, agree) = simulate(seed, 2000);
        let result = check(&history, &["read-committed".to_owned()]);
        assert_eq!(result["valid?"], json!(true), "seed {seed}: {result:#}");
        assert!(agree, "seed {seed}: replicas disagree after healing");
        // The design is not serializable, and the checker sees that on some seed.
        if seed == 0 {
            let strict = check(&history, &["serializable".to_owned()]);
            assert_eq!(strict["valid?"], json!(false), "{strict:#}");
        }
    }
}
