//! Drive a node in unit tests: deliver messages, move a virtual clock, look at what it sent.
//! No process, no threads, no sleeping; the same [`Engine`] the real runtime uses.
//!
//! ```
//! use maelstrom::testkit::TestNode;
//! # use maelstrom::{Context, ErrorBody, Init, Node, Request};
//! # #[derive(serde::Deserialize)] #[serde(tag = "type", rename_all = "snake_case")]
//! # enum P { Ping }
//! # struct Pinger;
//! # impl Node for Pinger {
//! #     type Payload = P; type Timer = (); type Token = ();
//! #     fn from_init(_: &Init, _: &mut Context<Self>) -> Self { Pinger }
//! #     fn on_message(&mut self, ctx: &mut Context<Self>, r: Request<P>) -> Result<(), ErrorBody> {
//! #         ctx.reply(&r, &serde_json::json!({"type": "pong"})); Ok(())
//! #     }
//! # }
//! let mut node = TestNode::<Pinger>::new("n0", &["n0", "n1"]);
//! let msg_id = node.request("c1", serde_json::json!({"type": "ping"}));
//! let sent = node.take_sent();
//! assert_eq!(sent[0].body["type"], "pong");
//! assert_eq!(sent[0].body["in_reply_to"], msg_id);
//! ```

use crate::context::{Context, Time};
use crate::engine::Engine;
use crate::node::Node;
use crate::protocol::{Message, MsgId};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// A node under test, on virtual time.
pub struct TestNode<N: Node> {
    engine: Engine<N>,
    now: Time,
    sent: VecDeque<Message<Value>>,
    next_msg_id: MsgId,
    /// Where messages are addressed until `init` gives the node its id.
    address: String,
}

impl<N: Node> TestNode<N> {
    /// A node that has been sent `init` (and answered it), with seed 0.
    pub fn new(node_id: &str, node_ids: &[&str]) -> Self {
        Self::with_seed(node_id, node_ids, 0)
    }

    /// A node that has been sent `init`, with the given RNG seed.
    ///
    /// # Panics
    /// If the node does not answer `init` with `init_ok`.
    pub fn with_seed(node_id: &str, node_ids: &[&str], seed: u64) -> Self {
        let mut node = Self::uninitialised_at(node_id, seed);
        let id = node.request(
            "c0",
            json!({"type": "init", "node_id": node_id, "node_ids": node_ids}),
        );
        let reply = node.take_sent().pop().expect("the node answered init");
        assert_eq!(
            reply.body["type"], "init_ok",
            "init answered with {reply:?}"
        );
        assert_eq!(reply.body["in_reply_to"], id);
        node
    }

    /// A node that has not seen `init` yet. Until it has, messages are addressed to `""`,
    /// which the node cannot answer from; use [`TestNode::uninitialised_at`] to see its
    /// answers.
    pub fn uninitialised(seed: u64) -> Self {
        Self::uninitialised_at("", seed)
    }

    /// A node that has not seen `init` yet, with messages addressed to `node_id` (so that
    /// it can answer them) until `init` gives it an id.
    pub fn uninitialised_at(node_id: &str, seed: u64) -> Self {
        TestNode {
            engine: Engine::new(seed),
            now: Duration::ZERO,
            sent: VecDeque::new(),
            next_msg_id: 1,
            address: node_id.to_owned(),
        }
    }

    /// Delivers a message whose body is given exactly (add `msg_id` yourself if needed).
    pub fn deliver(&mut self, src: &str, body: Value) {
        let dest = match self.engine.context().node_id() {
            "" => self.address.as_str(),
            id => id,
        };
        let line = json!({"src": src, "dest": dest, "body": body});
        self.deliver_line(&line.to_string());
    }

    /// Delivers a request, giving it a fresh `msg_id`, which is returned.
    pub fn request(&mut self, src: &str, mut body: Value) -> MsgId {
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        body["msg_id"] = json!(id);
        self.deliver(src, body);
        id
    }

    /// Delivers one raw input line, as the runtime would.
    pub fn deliver_line(&mut self, line: &str) {
        self.engine.handle_line(line, self.now);
        self.collect();
    }

    /// Lets `by` pass, firing timers and RPC timeouts at their own deadlines, in order.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(at) = self.engine.next_deadline().filter(|at| *at <= target) {
            self.now = self.now.max(at);
            self.engine.handle_deadlines(self.now);
            self.collect();
        }
        self.now = target;
    }

    /// The virtual time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Everything sent since the last call, oldest first.
    pub fn take_sent(&mut self) -> Vec<Message<Value>> {
        self.sent.drain(..).collect()
    }

    /// What was sent to `dest` since the last call; messages to others stay queued.
    pub fn take_sent_to(&mut self, dest: &str) -> Vec<Message<Value>> {
        let mut to_dest = Vec::new();
        self.sent.retain(|m| {
            if m.dest == dest {
                to_dest.push(m.clone());
            }
            m.dest != dest
        });
        to_dest
    }

    /// The node (after `init`).
    ///
    /// # Panics
    /// If `init` has not been delivered.
    pub fn node(&self) -> &N {
        self.engine.node().expect("the node was initialised")
    }

    /// The node's context: ids, pending RPCs.
    pub fn context(&self) -> &Context<N> {
        self.engine.context()
    }

    fn collect(&mut self) {
        let out = self.engine.output();
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let message = serde_json::from_slice(line).expect("the engine writes valid messages");
            self.sent.push_back(message);
        }
        out.clear();
    }
}

/// A linearizable in-memory stand-in for `lin-kv` (or any KV service name) and `lin-tso`,
/// for exercising service clients in unit tests.
#[derive(Debug, Default)]
pub struct MemKv {
    name: String,
    data: BTreeMap<String, Value>,
    next_ts: u64,
}

impl MemKv {
    /// A store answering requests sent to endpoint `name`.
    pub fn new(name: &str) -> Self {
        MemKv {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    /// The value under `key`, if any.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.data.get(&key.to_string())
    }

    /// Answers every request the node has sent to this service so far; returns how many.
    pub fn serve<N: Node>(&mut self, node: &mut TestNode<N>) -> usize {
        let requests = node.take_sent_to(&self.name);
        for request in &requests {
            let mut reply = self.apply(&request.body);
            reply["in_reply_to"] = request.body["msg_id"].clone();
            let name = self.name.clone();
            node.deliver(&name, reply);
        }
        requests.len()
    }

    /// Applies one request body and returns the reply body (without `in_reply_to`).
    pub fn apply(&mut self, body: &Value) -> Value {
        let key = body["key"].to_string();
        match body["type"].as_str() {
            Some("read") => match self.data.get(&key) {
                Some(value) => json!({"type": "read_ok", "value": value}),
                None => json!({"type": "error", "code": 20, "text": "key does not exist"}),
            },
            Some("write") => {
                self.data.insert(key, body["value"].clone());
                json!({"type": "write_ok"})
            }
            Some("cas") => {
                let create = body["create_if_not_exists"].as_bool().unwrap_or(false);
                match self.data.get(&key) {
                    Some(current) if *current == body["from"] => {
                        self.data.insert(key, body["to"].clone());
                        json!({"type": "cas_ok"})
                    }
                    Some(current) => json!({"type": "error", "code": 22,
                        "text": format!("current value {current} is not {}", body["from"])}),
                    None if create => {
                        self.data.insert(key, body["to"].clone());
                        json!({"type": "cas_ok"})
                    }
                    None => json!({"type": "error", "code": 20, "text": "key does not exist"}),
                }
            }
            Some("ts") => {
                self.next_ts += 1;
                json!({"type": "ts_ok", "ts": self.next_ts - 1})
            }
            _ => json!({"type": "error", "code": 10, "text": "unsupported"}),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::{Context, ErrorBody, Init, Node, Request};
    use serde::{Deserialize, Serialize};
    use serde_json::Value;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum EchoPayload {
        Echo { echo: Value },
        EchoOk { echo: Value },
    }

    pub struct EchoNode;

    impl Node for EchoNode {
        type Payload = EchoPayload;
        type Timer = ();
        type Token = ();
        fn from_init(_: &Init, _: &mut Context<Self>) -> Self {
            EchoNode
        }
        fn on_message(
            &mut self,
            ctx: &mut Context<Self>,
            r: Request<EchoPayload>,
        ) -> Result<(), ErrorBody> {
            match r.payload {
                EchoPayload::Echo { ref echo } => {
                    ctx.reply(&r, &EchoPayload::EchoOk { echo: echo.clone() });
                    Ok(())
                }
                EchoPayload::EchoOk { .. } => Err(ErrorBody::not_supported("echo_ok is a reply")),
            }
        }
    }
}
