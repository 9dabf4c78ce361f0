//! `net`: message statistics from the journal, init and service traffic included.
//!
//! `msgs-per-op` is distinct messages over client invocations, for `all` and `servers` only
//! (never for `clients`), and only when there were invocations. Upstream computes it as a
//! 32-bit float; we round through `f32` the same way.

use crate::history::{Op, OpType};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// True for client endpoints. Maelstrom's rule is literally "starts with `c`" (a [QUIRK]
/// we keep; node names starting with `c` are rejected at start-up instead).
pub fn is_client(id: &str) -> bool {
    id.starts_with('c')
}

/// Send or delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The message entered the network.
    Send,
    /// The message was handed to its receiver.
    Recv,
}

/// What the statistics need of a journal event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NetEvent {
    /// Send or delivery.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The message's endpoints and id.
    pub message: NetEventMessage,
}

/// The message part of a journal event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NetEventMessage {
    /// Message id.
    pub id: u64,
    /// Sender.
    pub src: String,
    /// Receiver.
    pub dest: String,
}

/// One subset's counts. Every message is journaled at its send, and ids are dense from 0, so
/// distinct ids are kept as a bitset: a flood of millions of messages costs a few megabytes.
#[derive(Debug, Default, Clone)]
struct Subset {
    sends: u64,
    recvs: u64,
    seen: Vec<u64>,
    beyond: std::collections::BTreeSet<u64>,
    distinct: u64,
}

/// Ids below this go in the bitset (at most 8 MiB): 67 million messages, far more than a
/// run sends.
const BITSET_IDS: u64 = 1 << 26;

impl Subset {
    fn add(&mut self, kind: EventKind, id: u64) {
        match kind {
            EventKind::Send => self.sends += 1,
            EventKind::Recv => self.recvs += 1,
        }
        if id >= BITSET_IDS {
            // Only a journal edited by hand has such ids; keep them apart rather than
            // let one line size the bitset.
            if self.beyond.insert(id) {
                self.distinct += 1;
            }
            return;
        }
        let (word, bit) = ((id / 64) as usize, id % 64);
        if word >= self.seen.len() {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & (1 << bit) == 0 {
            self.seen[word] |= 1 << bit;
            self.distinct += 1;
        }
    }

    fn to_json(&self, op_count: u64, with_per_op: bool) -> Value {
        let mut v =
            json!({"send-count": self.sends, "recv-count": self.recvs, "msg-count": self.distinct});
        if with_per_op && op_count > 0 {
            v["msgs-per-op"] = json!(float32(self.distinct as f32 / op_count as f32));
        }
        v
    }
}

/// A 32-bit float as upstream prints it (`8.181818`), carried in a JSON number.
fn float32(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// The journal's statistics, accumulated one event at a time: the network feeds it while a
/// run goes on, `analyze` while it streams `messages.jsonl`, so neither holds the journal.
#[derive(Debug, Default, Clone)]
pub struct NetTally {
    all: Subset,
    clients: Subset,
    servers: Subset,
}

impl NetTally {
    /// Counts one journal event.
    pub fn add(&mut self, kind: EventKind, id: u64, src: &str, dest: &str) {
        self.all.add(kind, id);
        if is_client(src) || is_client(dest) {
            self.clients.add(kind, id);
        } else {
            self.servers.add(kind, id);
        }
    }

    /// Counts a parsed journal event.
    pub fn add_event(&mut self, event: &NetEvent) {
        let m = &event.message;
        self.add(event.kind, m.id, &m.src, &m.dest);
    }

    /// Messages sent so far.
    pub fn sent(&self) -> u64 {
        self.all.sends
    }
}

/// The `net` result of a journal's tally.
pub fn check(history: &[Op], tally: &NetTally) -> Value {
    let op_count = history
        .iter()
        .filter(|op| op.kind == OpType::Invoke && op.process.is_client())
        .count() as u64;
    json!({
        "all": tally.all.to_json(op_count, true),
        "clients": tally.clients.to_json(op_count, false),
        "servers": tally.servers.to_json(op_count, true),
        "valid?": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;

    fn event(kind: EventKind, id: u64, src: &str, dest: &str) -> NetEvent {
        NetEvent {
            kind,
            message: NetEventMessage {
                id,
                src: src.into(),
                dest: dest.into(),
            },
        }
    }

    #[test]
    fn counts_subsets_and_messages_per_op() {
        let mut journal = Vec::new();
        for (id, (src, dest)) in [
            ("c0", "n0"),
            ("n0", "c0"),
            ("n0", "n1"),
            ("n1", "seq-kv"),
            ("seq-kv", "n1"),
        ]
        .iter()
        .enumerate()
        {
            journal.push(event(EventKind::Send, id as u64, src, dest));
            if id != 2 {
                journal.push(event(EventKind::Recv, id as u64, src, dest));
            }
        }
        let invoke = Op {
            index: 0,
            time: 0,
            kind: OpType::Invoke,
            process: Process::Client(0),
            f: "x".into(),
            value: Value::Null,
            error: None,
            exception: None,
            is_final: false,
        };
        let nemesis = Op {
            process: Process::NEMESIS,
            kind: OpType::Info,
            ..invoke.clone()
        };
        let mut tally = NetTally::default();
        for e in &journal {
            tally.add_event(e);
        }
        let r = check(&[invoke.clone(), invoke.clone(), invoke, nemesis], &tally);
        assert_eq!(
            r["all"],
            json!({"send-count": 5, "recv-count": 4, "msg-count": 5, "msgs-per-op": 1.6666666})
        );
        assert_eq!(
            r["clients"],
            json!({"send-count": 2, "recv-count": 2, "msg-count": 2})
        );
        assert_eq!(r["servers"]["msg-count"], 3);
        assert_eq!(r["servers"]["msgs-per-op"], json!(1.0));
        let r = check(&[], &tally);
        let mut hostile = NetTally::default();
        hostile.add(EventKind::Send, u64::MAX - 1, "n0", "n1");
        hostile.add(EventKind::Recv, u64::MAX - 1, "n0", "n1");
        assert_eq!(check(&[], &hostile)["all"]["msg-count"], 1);
        assert!(
            r["all"].get("msgs-per-op").is_none(),
            "no ops, no msgs-per-op"
        );
    }
}
