//! This crate's rows of the suite, in simulation, on 20 seeds each. A failure names its
//! seed and the line that replays it.

use glomers::challenge::simulate_rows;
use glomers::sim::engine;

#[test]
fn row_6a() {
    let passed = simulate_rows("6a", engine::<txn::TxnNode>, 1..21)
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert!(passed >= 20);
}

#[test]
fn row_6b() {
    let passed = simulate_rows("6b", engine::<txn::TxnNode>, 1..21)
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert!(passed >= 20);
}

#[test]
fn row_6c() {
    let passed = simulate_rows("6c", engine::<txn::TxnNode>, 1..21)
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert!(passed >= 20);
}

#[test]
fn row_6c_partition() {
    let passed = simulate_rows("6c-partition", engine::<txn::TxnNode>, 1..21)
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert!(passed >= 20);
}
