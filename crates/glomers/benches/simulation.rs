//! How fast the simulation runs a challenge: the 3d command (25 nodes, rate 100, latency
//! 100, 20 s of virtual time) on one seed, and the 3c command (5 nodes, partitions) on one
//! seed, our broadcast solution in-process. Each is measured per delivered message too
//! (criterion's throughput), the simulator's cost of moving one line from a node's stdout
//! through the network model into another node's handler. A third run isolates the
//! workbench's share: two `misbehave flood` nodes whose handlers do nothing with the 20,000
//! `noise` messages a second they send each other.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use glomers::misbehave::{Misbehave, Mode};
use glomers::model::network::EventKind;
use glomers::sim::{engine, NodeFactory, SimReport, Simulation};
use std::time::Duration;

/// `misbehave flood 50`: every 5 ms, 50 messages to random peers.
struct Flood50;

impl Mode for Flood50 {
    fn name() -> String {
        "flood".into()
    }

    fn flood_batch() -> usize {
        50
    }
}

const RUNS: &[(&str, &str, NodeFactory)] = &[
    (
        "broadcast/3d",
        "-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100",
        engine::<broadcast::BroadcastNode>,
    ),
    (
        "broadcast/3c",
        "-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition",
        engine::<broadcast::BroadcastNode>,
    ),
    (
        "flood/2-nodes",
        "-w echo --node-count 2 --time-limit 3 --rate 20",
        engine::<Misbehave<Flood50>>,
    ),
];

fn delivered(report: &SimReport) -> u64 {
    let count = report
        .journal
        .iter()
        .filter(|(_, kind, _)| *kind == EventKind::Recv)
        .count();
    count as u64
}

fn simulate(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulate");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (name, command, nodes) in RUNS {
        let simulation = Simulation::with_factory(command, *nodes).unwrap().seed(1);
        let report = simulation.run();
        assert!(report.is_valid(), "{}", report.explain());
        group.throughput(Throughput::Elements(delivered(&report)));
        group.bench_with_input(BenchmarkId::from_parameter(name), &simulation, |b, s| {
            b.iter(|| s.run())
        });
    }
    group.finish();
}

fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    simulate(&mut criterion);
}

criterion_main!(benches);
