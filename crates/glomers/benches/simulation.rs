//! How fast the simulation runs a challenge: the 3d command (25 nodes, rate 100, latency
//! 100, 20 s of virtual time) on one seed, and the 3c command (5 nodes, partitions) on one
//! seed, our broadcast solution in-process. Each is measured per delivered message too
//! (criterion's throughput), the simulator's cost of moving one line from a node's stdout
//! through the network model into another node's handler.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use glomers::model::network::EventKind;
use glomers::sim::Simulation;
use std::time::Duration;

const COMMANDS: &[(&str, &str)] = &[
    (
        "3d",
        "-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100",
    ),
    (
        "3c",
        "-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition",
    ),
];

fn simulate(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulate");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (row, command) in COMMANDS {
        let simulation = Simulation::of::<broadcast::BroadcastNode>(command)
            .unwrap()
            .seed(1);
        let report = simulation.run();
        assert!(report.is_valid(), "{}", report.explain());
        let delivered = report
            .journal
            .iter()
            .filter(|(_, kind, _)| *kind == EventKind::Recv)
            .count();
        group.throughput(Throughput::Elements(delivered as u64));
        group.bench_with_input(BenchmarkId::new("broadcast", row), &simulation, |b, s| {
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
