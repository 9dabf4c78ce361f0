//! Every broadcast row of the suite, in simulation, on 20 seeds each (more with
//! `cargo test -p broadcast --release -- --ignored`). A failure names its seed and the
//! line that replays it.

use glomers::challenge::simulate_rows;
use glomers::sim::engine;

const SEEDS: std::ops::Range<u64> = 1..21;

fn rows(ids: &[&str], seeds: std::ops::Range<u64>) {
    for id in ids {
        if let Err(failures) = simulate_rows(id, engine::<broadcast::BroadcastNode>, seeds.clone())
        {
            panic!("{failures}");
        }
    }
}

#[test]
fn one_node_five_nodes_and_partitions() {
    rows(&["3a", "3b", "3c"], SEEDS);
}

#[test]
fn efficient_broadcast_meets_every_limit() {
    rows(&["3d", "3e"], SEEDS);
}

#[test]
fn efficient_broadcast_loses_nothing_under_partitions() {
    rows(&["3d-partition"], SEEDS);
}

#[test]
#[ignore = "a thousand seeds: run with --release -- --ignored"]
fn partitions_on_a_thousand_seeds() {
    rows(&["3c"], 1..1001);
}
