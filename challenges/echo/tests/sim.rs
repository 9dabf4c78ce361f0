//! This crate's rows of the suite, in simulation, on 20 seeds each. A failure names its
//! seed and the line that replays it.

use glomers::challenge::simulate_rows;
use glomers::sim::engine;

#[test]
fn row_1() {
    let passed = simulate_rows("1", engine::<echo::EchoNode>, 1..21)
        .unwrap_or_else(|failures| panic!("{failures}"));
    assert!(passed >= 20);
}
