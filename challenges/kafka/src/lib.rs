//! Challenges 5a-5c: replicated append-only logs with one agreed offset sequence per key.
//!
//! - **Each key has an owner**, chosen by a stable hash of the key over `init`'s node list,
//!   so every node agrees without asking anyone. The owner alone assigns offsets: 0, 1, 2,
//!   ... in arrival order. That makes offsets unique, dense and increasing per key, and a
//!   client's successive sends (one at a time, through one node) get increasing offsets.
//! - **Sends to another node's key are forwarded** to the owner (one request, one reply) and
//!   answered with the owner's offset.
//! - **Owners replicate** each key's new entries to the other nodes in one batch per peer per
//!   flush (50 ms), stating where each range starts. A replica only ever holds a prefix of
//!   the owner's log: a range that does not continue it is refused and re-requested (`nack`),
//!   so polls never see a hole.
//! - **Polls are local**: messages from the requested offset to the end of the local prefix.
//!   Commits are kept per node (clients always talk to the same node); listing returns them.
//!
//! No service is needed: a single writer per key gives linearizable offsets by itself.

use maelstrom::{Context, ErrorBody, Init, Node, Request};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

const FLUSH_EVERY: Duration = Duration::from_millis(50);
const FORWARD_TIMEOUT: Duration = Duration::from_millis(2000);
/// At most this many messages per key in one poll reply.
const POLL_LIMIT: usize = 512;

/// Everything a kafka node receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// A client appends `msg` to `key`.
    Send {
        /// The key.
        key: String,
        /// The message.
        msg: Value,
    },
    /// A client reads from the given offsets on.
    Poll {
        /// key -> first offset wanted.
        offsets: BTreeMap<String, u64>,
    },
    /// A client records how far it has processed.
    CommitOffsets {
        /// key -> offset.
        offsets: BTreeMap<String, u64>,
    },
    /// A client asks for committed offsets.
    ListCommittedOffsets {
        /// The keys.
        keys: Vec<String>,
    },
    /// Node to owner: a forwarded send.
    Append {
        /// The key.
        key: String,
        /// The message.
        msg: Value,
    },
    /// Owner to node: new log entries, key -> (first offset, messages).
    Replicate {
        /// The ranges.
        entries: BTreeMap<String, (u64, Vec<Value>)>,
    },
    /// Node to owner: "my copy of `key` ends at `have`; resend from there".
    Nack {
        /// The key.
        key: String,
        /// The length of the replica.
        have: u64,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // the protocol's names
enum Reply<'a> {
    SendOk {
        offset: u64,
    },
    PollOk {
        msgs: BTreeMap<&'a str, Vec<(u64, &'a Value)>>,
    },
    CommitOffsetsOk,
    ListCommittedOffsetsOk {
        offsets: BTreeMap<&'a str, u64>,
    },
    AppendOk {
        offset: u64,
    },
}

/// The owner's answer to a forwarded send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppendOk {
    offset: u64,
}

/// A forwarded send, answered: the client to answer and the owner's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    src: String,
    msg_id: Option<u64>,
    result: Result<AppendOk, ErrorBody>,
}

/// A kafka node.
#[derive(Debug, Default)]
pub struct KafkaNode {
    id: String,
    nodes: Vec<String>,
    /// key -> messages by offset (a prefix of the owner's log, or the log itself).
    logs: HashMap<String, Vec<Value>>,
    committed: HashMap<String, u64>,
    /// (peer, owned key) -> how far the peer has been sent.
    sent: BTreeMap<(String, String), u64>,
    /// Owned keys with entries some peer has not been sent.
    dirty: BTreeSet<String>,
}

impl KafkaNode {
    /// The node that assigns offsets for `key`.
    pub fn owner(&self, key: &str) -> &str {
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        self.nodes
            .get((hash % self.nodes.len().max(1) as u64) as usize)
            .map_or(&self.id, String::as_str)
    }

    /// The local copy of `key`'s log.
    pub fn log(&self, key: &str) -> &[Value] {
        self.logs.get(key).map_or(&[], Vec::as_slice)
    }

    fn append(&mut self, key: &str, msg: Value) -> u64 {
        let log = self.logs.entry(key.to_owned()).or_default();
        log.push(msg);
        self.dirty.insert(key.to_owned());
        log.len() as u64 - 1
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        let peers: Vec<String> = ctx.peers().map(str::to_owned).collect();
        let dirty = std::mem::take(&mut self.dirty);
        for peer in peers {
            let mut entries = BTreeMap::new();
            for key in &dirty {
                let log = self.log(key);
                let from = self
                    .sent
                    .get(&(peer.clone(), key.clone()))
                    .copied()
                    .unwrap_or(0);
                if (from as usize) < log.len() {
                    entries.insert(key.clone(), (from, log[from as usize..].to_vec()));
                    self.sent
                        .insert((peer.clone(), key.clone()), log.len() as u64);
                }
            }
            if !entries.is_empty() {
                ctx.send(&peer, &Payload::Replicate { entries });
            }
        }
    }
}

/// Timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Replicate what is new.
    Flush,
}

impl Node for KafkaNode {
    type Payload = Payload;
    type Timer = Timer;
    type Token = Forward;

    fn from_init(init: &Init, ctx: &mut Context<Self>) -> Self {
        ctx.set_timer(FLUSH_EVERY, Timer::Flush);
        KafkaNode {
            id: init.node_id.clone(),
            nodes: init.node_ids.clone(),
            ..KafkaNode::default()
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        request: Request<Payload>,
    ) -> Result<(), ErrorBody> {
        let (src, msg_id) = (request.src.as_str(), request.msg_id);
        match request.payload {
            Payload::Send { key, msg } => {
                let owner = self.owner(&key).to_owned();
                if owner == self.id {
                    let offset = self.append(&key, msg);
                    ctx.reply_to(src, msg_id, &Reply::SendOk { offset });
                } else {
                    let src = src.to_owned();
                    let append = Payload::Append { key, msg };
                    ctx.rpc(&owner, &append, FORWARD_TIMEOUT, move |result| Forward {
                        src,
                        msg_id,
                        result,
                    });
                }
            }
            Payload::Append { key, msg } => {
                let offset = self.append(&key, msg);
                ctx.reply_to(src, msg_id, &Reply::AppendOk { offset });
            }
            Payload::Poll { offsets } => {
                let mut msgs = BTreeMap::new();
                for (key, from) in &offsets {
                    let log = self.log(key);
                    let pairs: Vec<(u64, &Value)> = log
                        .iter()
                        .enumerate()
                        .skip(*from as usize)
                        .take(POLL_LIMIT)
                        .map(|(o, m)| (o as u64, m))
                        .collect();
                    if !pairs.is_empty() {
                        msgs.insert(key.as_str(), pairs);
                    }
                }
                ctx.reply_to(src, msg_id, &Reply::PollOk { msgs });
            }
            Payload::CommitOffsets { offsets } => {
                for (key, offset) in offsets {
                    let committed = self.committed.entry(key).or_insert(offset);
                    *committed = (*committed).max(offset);
                }
                ctx.reply_to(src, msg_id, &Reply::CommitOffsetsOk);
            }
            Payload::ListCommittedOffsets { keys } => {
                let offsets = keys
                    .iter()
                    .filter_map(|k| Some((k.as_str(), *self.committed.get(k)?)))
                    .collect();
                ctx.reply_to(src, msg_id, &Reply::ListCommittedOffsetsOk { offsets });
            }
            Payload::Replicate { entries } => {
                for (key, (from, messages)) in entries {
                    let log = self.logs.entry(key.clone()).or_default();
                    let len = log.len() as u64;
                    if from > len {
                        ctx.send(src, &Payload::Nack { key, have: len });
                        continue;
                    }
                    log.extend(messages.into_iter().skip((len - from) as usize));
                }
            }
            Payload::Nack { key, have } => {
                let sent = self
                    .sent
                    .entry((src.to_owned(), key.clone()))
                    .or_insert(have);
                *sent = (*sent).min(have);
                self.dirty.insert(key);
            }
        }
        Ok(())
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>, Timer::Flush: Timer) {
        self.flush(ctx);
        ctx.set_timer(FLUSH_EVERY, Timer::Flush);
    }

    fn on_reply(&mut self, ctx: &mut Context<Self>, forward: Forward) {
        match forward.result {
            Ok(ok) => ctx.reply_to(
                &forward.src,
                forward.msg_id,
                &Reply::SendOk { offset: ok.offset },
            ),
            // The owner may or may not have appended it: indefinite.
            Err(e) => ctx.reply_error(
                &forward.src,
                forward.msg_id,
                &ErrorBody::crash(format!("forwarded send: {e}")),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maelstrom::testkit::TestNode;
    use serde_json::json;

    fn key_owned_by(node: &TestNode<KafkaNode>, owner: &str) -> String {
        (0..100)
            .map(|k| k.to_string())
            .find(|k| node.node().owner(k) == owner)
            .unwrap()
    }

    #[test]
    fn the_owner_assigns_dense_offsets_and_polls_read_from_an_offset() {
        let mut n0 = TestNode::<KafkaNode>::new("n0", &["n0", "n1"]);
        let key = key_owned_by(&n0, "n0");
        for m in 1..=3 {
            n0.request("c1", json!({"type": "send", "key": key, "msg": m}));
        }
        let offsets: Vec<u64> = n0
            .take_sent()
            .iter()
            .map(|m| m.body["offset"].as_u64().unwrap())
            .collect();
        assert_eq!(offsets, [0, 1, 2]);
        let id = n0.request(
            "c1",
            json!({"type": "poll", "offsets": {key.clone(): 1, "nope": 0}}),
        );
        assert_eq!(
            n0.take_sent()[0].body,
            json!({"type": "poll_ok", "msgs": {key: [[1, 2], [2, 3]]}, "in_reply_to": id})
        );
    }

    #[test]
    fn sends_to_other_keys_are_forwarded_and_answered_with_the_owners_offset() {
        let mut n0 = TestNode::<KafkaNode>::new("n0", &["n0", "n1"]);
        let mut n1 = TestNode::<KafkaNode>::new("n1", &["n0", "n1"]);
        let key = key_owned_by(&n0, "n1");
        let client_id = n0.request("c1", json!({"type": "send", "key": key, "msg": 7}));
        let forward = n0.take_sent().pop().unwrap();
        assert_eq!(forward.dest, "n1");
        n1.deliver("n0", forward.body);
        let reply = n1.take_sent().pop().unwrap();
        n0.deliver("n1", reply.body);
        assert_eq!(
            n0.take_sent()[0].body,
            json!({"type": "send_ok", "offset": 0, "in_reply_to": client_id})
        );
    }

    #[test]
    fn replicas_take_only_contiguous_ranges_and_ask_for_gaps() {
        let mut n0 = TestNode::<KafkaNode>::new("n0", &["n0", "n1"]);
        let mut n1 = TestNode::<KafkaNode>::new("n1", &["n0", "n1"]);
        let key = key_owned_by(&n0, "n0");
        n0.request("c1", json!({"type": "send", "key": key, "msg": 1}));
        n0.take_sent();
        n0.advance(FLUSH_EVERY);
        let first = n0.take_sent().pop().unwrap();
        n0.request("c1", json!({"type": "send", "key": key, "msg": 2}));
        n0.take_sent();
        n0.advance(FLUSH_EVERY);
        let second = n0.take_sent().pop().unwrap();
        // The first batch is lost: the second does not continue n1's (empty) copy.
        n1.deliver("n0", second.body.clone());
        assert!(n1.node().log(&key).is_empty());
        let nack = n1.take_sent().pop().unwrap();
        assert_eq!(nack.body, json!({"type": "nack", "key": key, "have": 0}));
        n0.deliver("n1", nack.body);
        n0.advance(FLUSH_EVERY);
        let resend = n0.take_sent().pop().unwrap();
        n1.deliver("n0", resend.body);
        n1.deliver("n0", first.body);
        assert_eq!(
            n1.node().log(&key),
            [json!(1), json!(2)],
            "overlaps are applied once"
        );
    }

    #[test]
    fn commits_are_listed_and_never_go_backwards() {
        let mut n0 = TestNode::<KafkaNode>::new("n0", &["n0"]);
        let first = n0.request("c1", json!({"type": "commit_offsets", "offsets": {"a": 5}}));
        n0.request("c1", json!({"type": "commit_offsets", "offsets": {"a": 3}}));
        let id = n0.request(
            "c1",
            json!({"type": "list_committed_offsets", "keys": ["a", "b"]}),
        );
        let sent = n0.take_sent();
        assert_eq!(
            sent[0].body,
            json!({"type": "commit_offsets_ok", "in_reply_to": first})
        );
        assert_eq!(
            sent[2].body,
            json!({"type": "list_committed_offsets_ok", "offsets": {"a": 5}, "in_reply_to": id})
        );
    }
}
