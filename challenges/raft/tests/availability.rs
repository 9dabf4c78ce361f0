//! How close the store comes to what Raft allows under the suite's partitions, measured on
//! simulated runs of the rows `raft-3` and `raft-5`:
//!
//! ```text
//! cargo test --release -p raft --test availability -- --ignored --nocapture
//! ```
//!
//! Every client operation is classed twice. *Served*: it got an answer that is not a
//! refusal for want of a leader (`ok`, or a definite error of the store's own such as a
//! failed compare-and-set), rather than code 11, a timeout or no answer. *Servable*: when it
//! was invoked, the network (as the nemesis recorded it) had a node with two-way links to a
//! majority, and the client's node was that node, a neighbour of it, or a neighbour of a
//! neighbour (a relay). Raft can serve nothing else: a leader needs a majority's
//! acknowledgements, and this store forwards at most twice. The figures are printed, not
//! asserted: they are measurements (the README keeps them).

use glomers::challenge::{options_for, select};
use glomers::history::{Op, OpType, Process};
use glomers::sim::{engine, Simulation, IN_PROCESS};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

const SEEDS: u64 = 100;

/// node -> the nodes it receives nothing from.
type Grudge = BTreeMap<String, BTreeSet<String>>;

#[derive(Debug, Default)]
struct Tally {
    operations: usize,
    served: usize,
    servable: usize,
    served_of_servable: usize,
}

fn grudge_of(value: &Value) -> Grudge {
    value[1]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(node, from)| {
            let from = from.as_array().into_iter().flatten();
            let from = from.filter_map(Value::as_str).map(str::to_owned).collect();
            (node.clone(), from)
        })
        .collect()
}

fn servable(client_node: &str, nodes: &[String], grudge: &Grudge) -> bool {
    let hears = |a: &str, b: &str| grudge.get(a).is_none_or(|from| !from.contains(b));
    let linked = |a: &str, b: &str| a == b || (hears(a, b) && hears(b, a));
    let majority = nodes.len() / 2 + 1;
    nodes.iter().any(|leader| {
        nodes.iter().filter(|n| linked(leader, n)).count() >= majority
            && nodes
                .iter()
                .any(|relay| linked(client_node, relay) && linked(relay, leader))
    })
}

fn refused(op: &Op) -> bool {
    let code = op.error.as_ref().and_then(|e| e[0].as_str()).unwrap_or("");
    op.kind == OpType::Info
        || (op.kind == OpType::Fail
            && matches!(code, "temporarily-unavailable" | "timeout" | "net-timeout"))
}

fn tally(history: &[Op], nodes: &[String], into: &mut Tally) {
    // One pass: the grudge in force when each operation is invoked decides whether it was
    // servable; its completion, whether it was served.
    let mut grudge = Grudge::new();
    let mut servable_when_invoked: HashMap<u64, bool> = HashMap::new();
    for op in history {
        let process = match (&op.process, op.f.as_str()) {
            (Process::Nemesis(_), "start-partition") if op.value.is_array() => {
                grudge = grudge_of(&op.value);
                continue;
            }
            (Process::Nemesis(_), "stop-partition") => {
                grudge.clear();
                continue;
            }
            (Process::Nemesis(_), _) => continue,
            (Process::Client(process), _) => *process,
        };
        if op.kind == OpType::Invoke {
            let node = &nodes[process as usize % nodes.len()];
            servable_when_invoked.insert(process, servable(node, nodes, &grudge));
            continue;
        }
        let Some(can) = servable_when_invoked.remove(&process) else {
            continue;
        };
        let served = !refused(op);
        into.operations += 1;
        into.served += usize::from(served);
        into.servable += usize::from(can);
        into.served_of_servable += usize::from(can && served);
    }
}

#[test]
#[ignore = "a measurement: 100 simulated minutes per row"]
fn served_against_what_raft_allows() {
    println!("| row | operations | served | servable (the limit) | served of servable |");
    println!("|---|---|---|---|---|");
    for id in ["raft-3", "raft-5"] {
        let Ok(rows) = select(&[id.to_owned()]) else {
            panic!("no row {id}");
        };
        let row = rows[0];
        let options = options_for(&row, Path::new(IN_PROCESS), 0).expect("the row's options");
        let nodes = options.nodes.clone();
        let simulation = Simulation::from_options(options, engine::<raft::RaftNode>, id);
        let mut t = Tally::default();
        for seed in 1..=SEEDS {
            let report = simulation.clone().seed(seed).run();
            assert!(report.is_valid(), "{}", report.explain());
            tally(&report.history, &nodes, &mut t);
        }
        let share = |n: usize, of: usize| n as f64 / of.max(1) as f64;
        println!(
            "| {id} | {} | {:.4} | {:.4} | {:.4} |",
            t.operations,
            share(t.served, t.operations),
            share(t.servable, t.operations),
            share(t.served_of_servable, t.servable),
        );
    }
}
