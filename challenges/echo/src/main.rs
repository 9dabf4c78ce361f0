//! The `echo` node binary: runs [`echo::EchoNode`] over stdin/stdout.

fn main() -> anyhow::Result<()> {
    maelstrom::run::<echo::EchoNode>()?;
    Ok(())
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
