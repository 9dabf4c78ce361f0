//! A node as the simulation runs it: in the workbench's own process, on virtual time, and
//! still through its protocol: it is handed each message as the JSON line a process would
//! read on stdin, and what it says comes back as the lines it would print, so decoding,
//! encoding and the workbench's stdout rules ([`crate::wire`]) apply as in a process run.
//!
//! Any `maelstrom::Node` is one, through the library's sans-IO [`maelstrom::Engine`]: its
//! timers and RPC deadlines run on the time the driver passes in.

use std::time::Duration;

/// What the simulation needs of a node.
pub trait SimNode: Send {
    /// The node reads one line (without its newline) at `now`.
    fn deliver(&mut self, line: &str, now: Duration);

    /// Time has reached `now`: timers and RPC deadlines due by then fire.
    fn wake(&mut self, now: Duration);

    /// When the node next needs [`SimNode::wake`], if ever.
    fn next_wake(&self) -> Option<Duration>;

    /// Everything the node printed since the last call, one line each, without newlines.
    fn take_output(&mut self) -> Vec<String>;
}

impl<N: maelstrom::Node + Send> SimNode for maelstrom::Engine<N>
where
    N::Timer: Send,
    N::Token: Send,
{
    fn deliver(&mut self, line: &str, now: Duration) {
        self.handle_deadlines(now);
        self.handle_line(line, now);
    }

    fn wake(&mut self, now: Duration) {
        self.handle_deadlines(now);
    }

    fn next_wake(&self) -> Option<Duration> {
        self.next_deadline()
    }

    fn take_output(&mut self) -> Vec<String> {
        let out = std::mem::take(self.output());
        // The engine only ever writes whole lines; a stray byte sequence that is not UTF-8
        // is kept visible (and refused by the stdout rules) rather than dropped.
        String::from_utf8_lossy(&out)
            .split('\n')
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maelstrom::{Context, ErrorBody, Init, Node, Request};
    use serde::Deserialize;
    use serde_json::{json, Value};

    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Payload {
        Echo { echo: Value },
    }

    /// Echoes, and echoes again 50 ms later from a timer.
    struct Echo;

    impl Node for Echo {
        type Payload = Payload;
        type Timer = (String, Option<u64>, Value);
        type Token = ();

        fn from_init(_: &Init, _: &mut Context<Self>) -> Self {
            Echo
        }

        fn on_message(
            &mut self,
            ctx: &mut Context<Self>,
            req: Request<Payload>,
        ) -> Result<(), ErrorBody> {
            let Payload::Echo { echo } = req.payload;
            ctx.reply_to(
                &req.src,
                req.msg_id,
                &json!({"type": "echo_ok", "echo": echo}),
            );
            ctx.set_timer(Duration::from_millis(50), (req.src, None, echo));
            Ok(())
        }

        fn on_timer(&mut self, ctx: &mut Context<Self>, (src, _, echo): Self::Timer) {
            ctx.send(&src, &json!({"type": "late", "echo": echo}));
        }
    }

    fn parse(lines: &[String]) -> Vec<Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_library_node_runs_in_process_on_virtual_time_through_its_protocol() {
        let mut node: Box<dyn SimNode> = Box::new(maelstrom::Engine::<Echo>::new(7));
        let ms = Duration::from_millis;
        node.deliver(
            r#"{"id":0,"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#,
            ms(0),
        );
        node.deliver(
            r#"{"id":1,"src":"c1","dest":"n0","body":{"type":"echo","msg_id":1,"echo":"hi"}}"#,
            ms(10),
        );
        let out = parse(&node.take_output());
        assert_eq!(out[0]["body"]["type"], "init_ok");
        assert_eq!(
            out[1]["body"],
            json!({"type": "echo_ok", "echo": "hi", "in_reply_to": 1})
        );
        assert_eq!(out[1]["src"], "n0");
        // Its timer runs on the time it is given, not on a clock.
        assert_eq!(node.next_wake(), Some(ms(60)));
        node.wake(ms(59));
        assert!(node.take_output().is_empty());
        node.wake(ms(60));
        let out = parse(&node.take_output());
        assert_eq!(out[0]["body"], json!({"type": "late", "echo": "hi"}));
        assert_eq!(node.next_wake(), None);
        // Bad input is answered as the binary would answer it.
        node.deliver(
            r#"{"src":"c1","dest":"n0","body":{"type":"nope","msg_id":9}}"#,
            ms(70),
        );
        let out = parse(&node.take_output());
        assert_eq!(out[0]["body"]["code"], 10);
        assert!(out
            .iter()
            .all(|m| crate::wire::parse_line(&m.to_string()).is_ok()));
    }
}
