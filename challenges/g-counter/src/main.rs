//! The `g-counter` node binary: runs [`g_counter::CounterNode`] over stdin/stdout.

fn main() -> anyhow::Result<()> {
    maelstrom::run::<g_counter::CounterNode>()?;
    Ok(())
}
