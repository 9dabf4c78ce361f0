//! This crate's rows of the suite, in simulation, on 20 seeds each. A failure names its
//! seed and the line that replays it.

use glomers::challenge::assert_rows_pass_in_simulation;
use glomers::sim::engine;

#[test]
fn row_6a() {
    assert_rows_pass_in_simulation("6a", engine::<txn::TxnNode>);
}

#[test]
fn row_6b() {
    assert_rows_pass_in_simulation("6b", engine::<txn::TxnNode>);
}

#[test]
fn row_6c() {
    assert_rows_pass_in_simulation("6c", engine::<txn::TxnNode>);
}

#[test]
fn row_6c_partition() {
    assert_rows_pass_in_simulation("6c-partition", engine::<txn::TxnNode>);
}
