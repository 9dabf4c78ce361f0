//! The `kafka` node binary: runs [`kafka::KafkaNode`] over stdin/stdout.

fn main() -> anyhow::Result<()> {
    maelstrom::run::<kafka::KafkaNode>()?;
    Ok(())
}
