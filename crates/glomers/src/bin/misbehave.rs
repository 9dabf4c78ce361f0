//! A node that breaks the rules on purpose, for the workbench's negative tests: the mode is
//! the first argument (the list: `glomers::misbehave`).

use glomers::misbehave::{FromArgs, Misbehave};

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("no-init") {
        // Read and ignore everything; never answer.
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink)? > 0 {
            sink.clear();
        }
        return Ok(());
    }
    maelstrom::run::<Misbehave<FromArgs>>()?;
    Ok(())
}
