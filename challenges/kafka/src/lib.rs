//! Challenges 5a-5c: replicated append-only logs, with no message between the nodes per
//! send.
//!
//! - **Every node assigns offsets for every key**, from a node-wide counter whose values are
//!   its own residue class: node `i` of `N` uses offsets `≡ i (mod N)`. Two nodes never pick
//!   the same offset, and a client's successive sends (one at a time, through one node) get
//!   increasing ones. A send is answered at once: nothing crosses the network for it.
//! - **The counter is a Lamport clock.** Nodes gossip every 50 ms: their new entries (all of
//!   their own since the peer's last acknowledgement), their counter and their
//!   acknowledgement of the peer's. A node moves its counter past every counter it hears, so
//!   an offset assigned after hearing of another is larger than it.
//! - **A node's counter is a promise**: every offset it assigns later is larger. Having heard
//!   counter `c` from a peer (with every entry up to it), a node knows all of that peer's
//!   offsets up to `c`. Polls therefore read each key only up to the *horizon*, the smallest
//!   counter heard from any peer: below it no offset can still appear, so a poll never skips
//!   a message that exists, and successive polls never go back.
//! - **Polls are local**; commits are kept per node (clients always talk to the same node).
//!
//! No service is needed, and no offset is agreed per send: the price is that a message shows
//! up in polls one or two gossip rounds after it was sent.

use maelstrom::{Context, ErrorBody, Init, Node, Request};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

/// How often nodes gossip; see the README for the sweep.
pub const GOSSIP_EVERY: Duration = Duration::from_millis(50);
/// At most this many messages per key in one poll reply.
const POLL_LIMIT: usize = 512;

/// One log entry: `(offset, key, message)`.
pub type Entry = (u64, String, Value);

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
    /// Node to node, every gossip round with news.
    Gossip {
        /// The sender's own entries above `ack` as last heard from the receiver, in offset
        /// order.
        entries: Vec<Entry>,
        /// The sender's counter: every offset it assigns from now on is larger, and all its
        /// entries up to it are in `entries` or were acknowledged.
        clock: u64,
        /// The highest counter of the receiver's that the sender has heard, with every
        /// entry up to it.
        ack: u64,
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
}

/// What this node knows of one peer.
#[derive(Debug, Clone, Default)]
struct Peer {
    /// The peer's counter as last heard, with all its entries up to it.
    heard: u64,
    /// Our own counter the peer has acknowledged: our entries up to it are there.
    acked: u64,
    /// Our counter and acknowledgement as last told to the peer.
    told: (u64, u64),
}

/// A kafka node.
#[derive(Debug, Default)]
pub struct KafkaNode {
    index: u64,
    count: u64,
    /// key -> offset -> message: own entries and every peer's.
    logs: HashMap<String, BTreeMap<u64, Value>>,
    /// The last offset assigned here or heard of from a peer.
    clock: u64,
    /// Own entries some peer has not acknowledged, in offset order.
    unacked: VecDeque<Entry>,
    peers: BTreeMap<String, Peer>,
    committed: HashMap<String, u64>,
}

impl KafkaNode {
    /// The local copy of `key`'s log: offset -> message, including entries polls cannot see
    /// yet.
    pub fn log(&self, key: &str) -> Option<&BTreeMap<u64, Value>> {
        self.logs.get(key)
    }

    /// Offsets up to here can be polled: no peer can still add one below it.
    pub fn horizon(&self) -> u64 {
        self.peers
            .values()
            .map(|p| p.heard)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// The next offset of this node's residue class above everything it knows of.
    fn next_offset(&mut self) -> u64 {
        let base = self.clock + 1;
        let offset = base + (self.index + self.count - base % self.count) % self.count;
        self.clock = offset;
        offset
    }

    fn append(&mut self, key: String, msg: Value) -> u64 {
        let offset = self.next_offset();
        self.logs
            .entry(key.clone())
            .or_default()
            .insert(offset, msg.clone());
        if !self.peers.is_empty() {
            self.unacked.push_back((offset, key, msg));
        }
        offset
    }

    /// Tells each peer what it has not heard: entries past its acknowledgement, a counter
    /// that moved, or an acknowledgement it has not had. Nothing new, no message.
    fn gossip(&mut self, ctx: &mut Context<Self>) {
        for (id, peer) in &mut self.peers {
            let from = self.unacked.partition_point(|(o, _, _)| *o <= peer.acked);
            let news = (self.clock, peer.heard);
            if from == self.unacked.len() && news == peer.told {
                continue;
            }
            let entries: Vec<Entry> = self.unacked.iter().skip(from).cloned().collect();
            peer.told = news;
            ctx.send(
                id,
                &Payload::Gossip {
                    entries,
                    clock: self.clock,
                    ack: peer.heard,
                },
            );
        }
    }

    fn receive(&mut self, src: &str, entries: Vec<Entry>, clock: u64, ack: u64) {
        let Some(peer) = self.peers.get_mut(src) else {
            tracing::warn!(src, "gossip from a node that is not a peer");
            return;
        };
        peer.heard = peer.heard.max(clock);
        peer.acked = peer.acked.max(ack);
        self.clock = self.clock.max(clock);
        for (offset, key, msg) in entries {
            self.logs.entry(key).or_default().insert(offset, msg);
        }
        let everywhere = self.peers.values().map(|p| p.acked).min().unwrap_or(0);
        while self
            .unacked
            .front()
            .is_some_and(|(o, _, _)| *o <= everywhere)
        {
            self.unacked.pop_front();
        }
    }
}

/// Timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Gossip what is new.
    Gossip,
}

impl Node for KafkaNode {
    type Payload = Payload;
    type Timer = Timer;
    type Token = ();

    fn from_init(init: &Init, ctx: &mut Context<Self>) -> Self {
        ctx.set_timer(GOSSIP_EVERY, Timer::Gossip);
        let index = init.index().unwrap_or_else(|| {
            tracing::error!(
                node = init.node_id,
                "node id missing from node_ids: offsets may collide"
            );
            0
        });
        KafkaNode {
            index: index as u64,
            count: init.node_ids.len().max(1) as u64,
            peers: ctx
                .peers()
                .map(|p| (p.to_owned(), Peer::default()))
                .collect(),
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
                let offset = self.append(key, msg);
                ctx.reply_to(src, msg_id, &Reply::SendOk { offset });
            }
            Payload::Poll { offsets } => {
                let horizon = self.horizon();
                let mut msgs = BTreeMap::new();
                for (key, from) in &offsets {
                    let Some(log) = self.logs.get(key) else {
                        continue;
                    };
                    if *from > horizon {
                        continue;
                    }
                    let pairs: Vec<(u64, &Value)> = log
                        .range(*from..=horizon)
                        .take(POLL_LIMIT)
                        .map(|(o, m)| (*o, m))
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
            Payload::Gossip {
                entries,
                clock,
                ack,
            } => self.receive(src, entries, clock, ack),
        }
        Ok(())
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>, Timer::Gossip: Timer) {
        self.gossip(ctx);
        ctx.set_timer(GOSSIP_EVERY, Timer::Gossip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maelstrom::testkit::TestNode;
    use serde_json::json;

    fn pair() -> (TestNode<KafkaNode>, TestNode<KafkaNode>) {
        let nodes = ["n0", "n1"];
        (TestNode::new("n0", &nodes), TestNode::new("n1", &nodes))
    }

    fn send(node: &mut TestNode<KafkaNode>, key: &str, msg: u64) -> u64 {
        node.request("c1", json!({"type": "send", "key": key, "msg": msg}));
        let reply = node.take_sent().pop().unwrap();
        assert_eq!(reply.body["type"], "send_ok", "a send is answered at once");
        reply.body["offset"].as_u64().unwrap()
    }

    fn poll(node: &mut TestNode<KafkaNode>, key: &str, from: u64) -> Value {
        node.request("c1", json!({"type": "poll", "offsets": {key: from}}));
        node.take_sent().pop().unwrap().body["msgs"].clone()
    }

    /// Runs one gossip round from `from` to `to`, returning what was said (if anything).
    fn gossip(from: &mut TestNode<KafkaNode>, to: &mut TestNode<KafkaNode>) -> Option<Value> {
        from.advance(GOSSIP_EVERY);
        let said = from.take_sent().pop()?;
        to.deliver(&said.src, said.body.clone());
        Some(said.body)
    }

    #[test]
    fn each_node_assigns_offsets_of_its_own_residue_class_increasing_across_keys() {
        let (mut n0, mut n1) = pair();
        let a: Vec<u64> = (0..3).map(|m| send(&mut n0, "k", m)).collect();
        let b: Vec<u64> = (0..3).map(|m| send(&mut n1, "k", m)).collect();
        assert_eq!(a, [2, 4, 6]);
        assert_eq!(b, [1, 3, 5]);
        assert_eq!(send(&mut n0, "other", 9), 8, "one counter for every key");
    }

    #[test]
    fn a_node_alone_polls_what_it_was_sent_and_keys_with_nothing_are_left_out() {
        let mut n0 = TestNode::<KafkaNode>::new("n0", &["n0"]);
        for m in 1..=3 {
            send(&mut n0, "k", m);
        }
        let id = n0.request(
            "c1",
            json!({"type": "poll", "offsets": {"k": 2, "nope": 0}}),
        );
        assert_eq!(
            n0.take_sent()[0].body,
            json!({"type": "poll_ok", "msgs": {"k": [[2, 2], [3, 3]]}, "in_reply_to": id})
        );
        n0.advance(GOSSIP_EVERY * 4);
        assert!(n0.take_sent().is_empty(), "no peers, no gossip");
    }

    #[test]
    fn polls_see_only_offsets_below_every_peers_promise() {
        let (mut n0, mut n1) = pair();
        let own = send(&mut n0, "k", 10);
        assert_eq!(
            poll(&mut n0, "k", 0),
            json!({}),
            "n1 may still assign an offset below {own}"
        );
        // n0 tells n1 of its entry and counter; n1 moves its counter past it and says so.
        gossip(&mut n0, &mut n1);
        assert_eq!(send(&mut n1, "k", 11), own + 1, "a Lamport clock");
        let told = gossip(&mut n1, &mut n0).unwrap();
        assert_eq!(told["clock"], own + 1);
        assert_eq!(
            poll(&mut n0, "k", 0),
            json!({"k": [[own, 10], [own + 1, 11]]})
        );
        assert_eq!(
            poll(&mut n1, "k", 0),
            json!({"k": [[own, 10]]}),
            "n1 has not heard n0's counter move past its own entry"
        );
        gossip(&mut n0, &mut n1);
        assert_eq!(poll(&mut n1, "k", own + 1), json!({"k": [[own + 1, 11]]}));
    }

    #[test]
    fn entries_are_resent_until_acknowledged_and_then_no_longer() {
        let (mut n0, mut n1) = pair();
        let offset = send(&mut n0, "k", 7);
        n0.advance(GOSSIP_EVERY);
        let lost = n0.take_sent().pop().unwrap();
        assert_eq!(lost.body["entries"], json!([[offset, "k", 7]]));
        // The first round is lost; the next carries the entry again.
        let resent = gossip(&mut n0, &mut n1).unwrap();
        assert_eq!(resent["entries"], lost.body["entries"]);
        assert_eq!(n1.node().log("k").unwrap()[&offset], json!(7));
        let ack = gossip(&mut n1, &mut n0).unwrap();
        assert_eq!(ack["ack"], offset);
        // n0 owes n1 an acknowledgement of n1's counter, then both are quiet.
        let last = gossip(&mut n0, &mut n1).unwrap();
        assert_eq!(last["entries"], json!([]));
        assert_eq!(gossip(&mut n0, &mut n1), None);
        assert_eq!(gossip(&mut n1, &mut n0), None);
        assert!(n0.node().unacked.is_empty());
    }

    #[test]
    fn gossip_out_of_order_never_moves_a_promise_back() {
        let (mut n0, mut n1) = pair();
        send(&mut n0, "k", 1);
        n0.advance(GOSSIP_EVERY);
        let early = n0.take_sent().pop().unwrap();
        send(&mut n0, "k", 2);
        n0.advance(GOSSIP_EVERY);
        let late = n0.take_sent().pop().unwrap();
        n1.deliver("n0", late.body);
        let horizon = n1.node().horizon();
        n1.deliver("n0", early.body);
        assert_eq!(n1.node().horizon(), horizon);
        assert_eq!(n1.node().log("k").unwrap().len(), 2);
    }

    #[test]
    fn gossip_from_a_stranger_is_ignored() {
        let (mut n0, _) = pair();
        n0.deliver(
            "n9",
            json!({"type": "gossip", "entries": [[1, "k", 1]], "clock": 99, "ack": 0}),
        );
        assert_eq!(n0.node().log("k"), None);
        assert_eq!(n0.node().horizon(), 0);
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
