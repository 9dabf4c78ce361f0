//! The `broadcast` node binary: runs [`broadcast::BroadcastNode`] over stdin/stdout.

fn main() -> anyhow::Result<()> {
    maelstrom::run::<broadcast::BroadcastNode>()?;
    Ok(())
}
