//! `net`: message statistics from the journal, init and service traffic included.
//!
//! `msgs-per-op` is distinct messages over client invocations, for `all` and `servers` only
//! (never for `clients`), and only when there were invocations. Upstream computes it as a
//! 32-bit float; we round through `f32` the same way.

use crate::history::{Op, OpType};
use crate::net::{is_client, EventKind};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;

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

#[derive(Default)]
struct Subset {
    sends: u64,
    recvs: u64,
    ids: HashSet<u64>,
}

impl Subset {
    fn add(&mut self, event: &NetEvent) {
        match event.kind {
            EventKind::Send => self.sends += 1,
            EventKind::Recv => self.recvs += 1,
        }
        self.ids.insert(event.message.id);
    }

    fn to_json(&self, op_count: u64, with_per_op: bool) -> Value {
        let mut v = json!({"send-count": self.sends, "recv-count": self.recvs, "msg-count": self.ids.len()});
        if with_per_op && op_count > 0 {
            v["msgs-per-op"] = json!(float32(self.ids.len() as f32 / op_count as f32));
        }
        v
    }
}

/// A 32-bit float as upstream prints it (`8.181818`), carried in a JSON number.
fn float32(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// The `net` result.
pub fn check(history: &[Op], journal: &[NetEvent]) -> Value {
    let (mut all, mut clients, mut servers) =
        (Subset::default(), Subset::default(), Subset::default());
    for event in journal {
        all.add(event);
        if is_client(&event.message.src) || is_client(&event.message.dest) {
            clients.add(event);
        } else {
            servers.add(event);
        }
    }
    let op_count = history
        .iter()
        .filter(|op| op.kind == OpType::Invoke && op.process.is_client())
        .count() as u64;
    json!({
        "all": all.to_json(op_count, true),
        "clients": clients.to_json(op_count, false),
        "servers": servers.to_json(op_count, true),
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
        let r = check(&[invoke.clone(), invoke.clone(), invoke, nemesis], &journal);
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
        let r = check(&[], &journal);
        assert!(
            r["all"].get("msgs-per-op").is_none(),
            "no ops, no msgs-per-op"
        );
    }
}
