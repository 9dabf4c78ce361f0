//! The `raft` node binary: runs [`raft::RaftNode`] over stdin/stdout.

fn main() -> anyhow::Result<()> {
    maelstrom::run::<raft::RaftNode>()?;
    Ok(())
}
