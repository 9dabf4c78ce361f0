//! This crate's rows of the suite, in simulation, on 20 seeds each. A failure names its
//! seed and the line that replays it.

use glomers::challenge::simulate_rows;
use glomers::sim::engine;

#[test]
fn row_5a() {
    let passed = simulate_rows("5a", engine::<kafka::KafkaNode>, 1..21)
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert!(passed >= 20);
}

#[test]
fn row_5b() {
    let passed = simulate_rows("5b", engine::<kafka::KafkaNode>, 1..21)
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert!(passed >= 20);
}

#[test]
fn row_5c() {
    let passed = simulate_rows("5c", engine::<kafka::KafkaNode>, 1..21)
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert!(passed >= 20);
}
