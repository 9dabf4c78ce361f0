//! This crate's rows of the suite, in simulation, on 20 seeds each. A failure names its
//! seed and the line that replays it. The 1000-seed runs are `glomers challenge raft-3
//! raft-5 raft-rw raft-append --sim --seeds 1000` (see the README).

use glomers::challenge::assert_rows_pass_in_simulation;
use glomers::sim::engine;

#[test]
fn row_raft_3() {
    assert_rows_pass_in_simulation("raft-3", engine::<raft::RaftNode>);
}

#[test]
fn row_raft_5() {
    assert_rows_pass_in_simulation("raft-5", engine::<raft::RaftNode>);
}

#[test]
fn row_raft_rw() {
    assert_rows_pass_in_simulation("raft-rw", engine::<raft::RaftNode>);
}

#[test]
fn row_raft_append() {
    assert_rows_pass_in_simulation("raft-append", engine::<raft::RaftNode>);
}
