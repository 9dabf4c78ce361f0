//! The `txn` node binary: runs [`txn::TxnNode`] over stdin/stdout.

fn main() -> anyhow::Result<()> {
    maelstrom::run::<txn::TxnNode>()?;
    Ok(())
}
