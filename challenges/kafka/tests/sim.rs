//! This crate's rows of the suite, in simulation, on 20 seeds each. A failure names its
//! seed and the line that replays it.

use glomers::challenge::assert_rows_pass_in_simulation;
use glomers::sim::engine;

#[test]
fn row_5a() {
    assert_rows_pass_in_simulation("5a", engine::<kafka::KafkaNode>);
}

#[test]
fn row_5b() {
    assert_rows_pass_in_simulation("5b", engine::<kafka::KafkaNode>);
}

#[test]
fn row_5c() {
    assert_rows_pass_in_simulation("5c", engine::<kafka::KafkaNode>);
}
