//! A node that breaks the rules on purpose, for the workbench's negative tests. The first
//! argument picks the misbehaviour:
//!
//! - `wrong-echo`: echoes a different value;
//! - `dup-ids`: every node hands out the same ids;
//! - `extra-key`: echo replies carry an extra body key;
//! - `non-json`: prints a log line on stdout after a few requests;
//! - `exit`: exits after a few requests;
//! - `no-init`: never answers `init`;
//! - `slow`: answers echo after 6 s (past the client timeout), to a then-closed client;
//! - `good`: behaves (echo and generate).

use maelstrom::{Context, ErrorBody, Init, Node, Request};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Payload {
    Echo { echo: Value },
    Generate,
}

struct Misbehave {
    mode: String,
    served: u64,
}

impl Node for Misbehave {
    type Payload = Payload;
    type Timer = (String, Option<u64>, Value);
    type Token = ();

    fn from_init(_: &Init, _: &mut Context<Self>) -> Self {
        Misbehave {
            mode: std::env::args().nth(1).unwrap_or_else(|| "good".into()),
            served: 0,
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        r: Request<Payload>,
    ) -> Result<(), ErrorBody> {
        self.served += 1;
        match self.mode.as_str() {
            "non-json" if self.served == 5 => eprint_then_stdout("debug: got a request"),
            "exit" if self.served == 5 => {
                eprintln!("misbehave: exiting on purpose");
                std::process::exit(3)
            }
            _ => {}
        }
        match r.payload {
            Payload::Echo { echo } => match self.mode.as_str() {
                "wrong-echo" => ctx.reply_to(
                    &r.src,
                    r.msg_id,
                    &json!({"type": "echo_ok", "echo": "something else"}),
                ),
                "extra-key" => ctx.reply_to(
                    &r.src,
                    r.msg_id,
                    &json!({"type": "echo_ok", "echo": echo, "node": "n0"}),
                ),
                "slow" => {
                    ctx.set_timer(Duration::from_secs(6), (r.src, r.msg_id, echo));
                }
                _ => ctx.reply_to(&r.src, r.msg_id, &json!({"type": "echo_ok", "echo": echo})),
            },
            Payload::Generate => {
                let id = if self.mode == "dup-ids" {
                    self.served
                } else {
                    self.served * 1000 + ctx.node_id().len() as u64
                };
                let id = if self.mode == "dup-ids" {
                    json!(id)
                } else {
                    json!(format!("{}-{}", ctx.node_id(), id))
                };
                ctx.reply_to(&r.src, r.msg_id, &json!({"type": "generate_ok", "id": id}));
            }
        }
        Ok(())
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>, (src, msg_id, echo): Self::Timer) {
        ctx.reply_to(&src, msg_id, &json!({"type": "echo_ok", "echo": echo}));
    }
}

/// Writes a non-message line to stdout, which is exactly the bug under test.
fn eprint_then_stdout(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}"); // stdout-ok: deliberately broken output for tests
    let _ = out.flush();
}

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("no-init") {
        // Read and ignore everything; never answer.
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink)? > 0 {
            sink.clear();
        }
        return Ok(());
    }
    maelstrom::run::<Misbehave>()?;
    Ok(())
}
