//! This crate's rows of the suite, in simulation, on 20 seeds each. A failure names its
//! seed and the line that replays it.

use glomers::challenge::assert_rows_pass_in_simulation;
use glomers::sim::engine;

#[test]
fn row_1() {
    assert_rows_pass_in_simulation("1", engine::<echo::EchoNode>);
}
