//! The `unique-ids` node binary: runs [`unique_ids::UniqueIdsNode`] over stdin/stdout.

fn main() -> anyhow::Result<()> {
    maelstrom::run::<unique_ids::UniqueIdsNode>()?;
    Ok(())
}
