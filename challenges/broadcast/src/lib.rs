//! Challenges 3a-3e: every value broadcast to any node must reach every node, quickly,
//! cheaply, and despite partitions.
//!
//! The design (see the README for the reasoning and the figures):
//! - **A hub.** The first node of `init`'s list relays for everyone (the topology Maelstrom
//!   suggests is ignored). A value takes two hops, leaf -> hub -> leaves: the 200 ms floor at
//!   100 ms per hop.
//! - **Leaves send at once, the hub batches.** A leaf forwards each new value to the hub
//!   immediately (one message); the hub sends each leaf, every flush interval, one message
//!   with everything new for it. At 25 nodes that is about 24 / flush messages per second
//!   whatever the broadcast rate.
//! - **Reliability without acknowledgement traffic.** The hub's log is numbered; each batch
//!   says which range `[from, to)` of it it covers, and carries the hub's acknowledgement of
//!   the leaf's own values. A leaf that finds a gap in the ranges asks for a resend (`nack`);
//!   a leaf whose values are not acknowledged resends them. When there is nothing new, the
//!   hub's heartbeat (an empty batch) lets leaves spot gaps at the end. None of this costs a
//!   message while the network is healthy.

use maelstrom::{Context, ErrorBody, Init, Node, Request, Time};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

/// The knobs, from the environment (milliseconds), with the defaults chosen by the sweep in
/// `docs/broadcast.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// `BROADCAST_FLUSH_MS`: how often the hub sends each leaf what is new for it.
    pub flush: Duration,
    /// `BROADCAST_RETRY_MS`: how long a leaf waits for the hub's acknowledgement before
    /// sending its unacknowledged values again.
    pub retry: Duration,
    /// `BROADCAST_HEARTBEAT_MS`: the longest the hub stays silent towards a leaf.
    pub heartbeat: Duration,
    /// `BROADCAST_NACK_MS`: how long a gap must persist before a leaf asks for a resend
    /// (reordered batches fill gaps by themselves).
    pub nack: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            flush: Duration::from_millis(150),
            retry: Duration::from_millis(1000),
            heartbeat: Duration::from_millis(1000),
            nack: Duration::from_millis(300),
        }
    }
}

impl Config {
    /// The defaults, overridden by any `BROADCAST_*_MS` variable that is set.
    pub fn from_env() -> Self {
        let get = |name: &str, default: Duration| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|ms| *ms > 0)
                .map_or(default, Duration::from_millis)
        };
        let d = Config::default();
        Config {
            flush: get("BROADCAST_FLUSH_MS", d.flush),
            retry: get("BROADCAST_RETRY_MS", d.retry),
            heartbeat: get("BROADCAST_HEARTBEAT_MS", d.heartbeat),
            nack: get("BROADCAST_NACK_MS", d.nack),
        }
    }
}

/// Everything a broadcast node receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// A client's new value.
    Broadcast {
        /// The value (any JSON).
        message: Value,
    },
    /// A client asks for every value seen.
    Read,
    /// Maelstrom's suggested topology (ignored: we use a hub).
    Topology {
        /// The neighbour map.
        #[serde(default)]
        topology: Value,
    },
    /// Hub to leaf: the hub's log entries `[from, to)` that did not come from this leaf.
    Batch {
        /// First log index covered.
        from: u64,
        /// One past the last log index covered.
        to: u64,
        /// The values.
        values: Vec<Value>,
        /// The highest sequence number up to which the hub has all of this leaf's values.
        ack: u64,
    },
    /// Leaf to hub: the leaf's own values, numbered from 1.
    Up {
        /// `(sequence number, value)` pairs.
        items: Vec<(u64, Value)>,
    },
    /// Leaf to hub: "I have your log up to `have`; send me the rest again".
    Nack {
        /// The leaf's contiguous log position.
        have: u64,
    },
}

/// Replies to clients: exactly the fields the workload's closed schemas allow.
#[derive(Debug, Serialize)]
#[allow(clippy::enum_variant_names)] // the protocol's names
#[serde(tag = "type", rename_all = "snake_case")]
enum Reply<'a> {
    BroadcastOk,
    ReadOk { messages: &'a [Value] },
    TopologyOk,
}

/// Timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// The hub's flush.
    Flush,
    /// A leaf's check for unacknowledged values and gaps.
    Check,
}

/// What the hub knows about one leaf.
#[derive(Debug, Default)]
struct Leaf {
    /// Log entries before this index have been sent (or belong to the leaf).
    sent_upto: u64,
    /// The leaf's values are all here up to this sequence number...
    up_acked: u64,
    /// ...and these beyond it.
    up_beyond: BTreeSet<u64>,
    /// The acknowledgement changed since the last batch.
    ack_dirty: bool,
    /// When the hub last sent this leaf anything.
    last_sent: Time,
}

/// The role-specific state.
#[derive(Debug)]
enum Role {
    /// The relay.
    Hub {
        /// Every value, in arrival order, with the node it came from.
        log: Vec<(Value, String)>,
        leaves: BTreeMap<String, Leaf>,
    },
    /// Everyone else.
    Leaf {
        hub: String,
        /// Own values the hub has not acknowledged, by sequence number.
        unacked: BTreeMap<u64, Value>,
        next_seq: u64,
        last_up: Time,
        /// The hub's log is here up to this index...
        have: u64,
        /// ...and these ranges arrived beyond it.
        ranges: BTreeMap<u64, u64>,
        /// Since when a gap has been open, and when we last asked about it.
        gap_since: Option<Time>,
        last_nack: Option<Time>,
    },
}

/// A broadcast node: a hub or a leaf.
#[derive(Debug)]
pub struct BroadcastNode {
    config: Config,
    seen: HashSet<String>,
    values: Vec<Value>,
    role: Role,
}

impl BroadcastNode {
    /// A node with an explicit configuration (tests); [`Node::from_init`] reads the
    /// environment.
    pub fn with_config(init: &Init, ctx: &mut Context<Self>, config: Config) -> Self {
        let hub = init
            .node_ids
            .first()
            .cloned()
            .unwrap_or_else(|| init.node_id.clone());
        let role = if hub == init.node_id {
            let leaves: BTreeMap<String, Leaf> = ctx
                .peers()
                .map(|p| (p.to_owned(), Leaf::default()))
                .collect();
            if !leaves.is_empty() {
                ctx.set_timer(config.flush, Timer::Flush);
            }
            Role::Hub {
                log: Vec::new(),
                leaves,
            }
        } else {
            ctx.set_timer(CHECK_EVERY, Timer::Check);
            Role::Leaf {
                hub,
                unacked: BTreeMap::new(),
                next_seq: 1,
                last_up: Duration::ZERO,
                have: 0,
                ranges: BTreeMap::new(),
                gap_since: None,
                last_nack: None,
            }
        };
        BroadcastNode {
            config,
            seen: HashSet::new(),
            values: Vec::new(),
            role,
        }
    }

    /// Every value this node has, in the order it learnt them.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Adds a value; false if it was already known.
    fn learn(&mut self, value: &Value) -> bool {
        if self.seen.insert(value.to_string()) {
            self.values.push(value.clone());
            true
        } else {
            false
        }
    }

    /// A value from a client or a leaf, at the hub: it joins the log.
    fn hub_learns(&mut self, value: Value, origin: &str) {
        if self.learn(&value) {
            if let Role::Hub { log, .. } = &mut self.role {
                log.push((value, origin.to_owned()));
            }
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        let Role::Hub { log, leaves } = &mut self.role else {
            return;
        };
        let now = ctx.now();
        for (name, leaf) in leaves.iter_mut() {
            let start = leaf.sent_upto as usize;
            let values: Vec<Value> = log
                .get(start..)
                .unwrap_or_default()
                .iter()
                .filter(|(_, origin)| origin != name)
                .map(|(v, _)| v.clone())
                .collect();
            let heartbeat_due = now.saturating_sub(leaf.last_sent) >= self.config.heartbeat;
            if values.is_empty() && !leaf.ack_dirty && !heartbeat_due {
                continue;
            }
            let to = log.len() as u64;
            let batch = Payload::Batch {
                from: leaf.sent_upto,
                to,
                values,
                ack: leaf.up_acked,
            };
            ctx.send(name, &batch);
            leaf.sent_upto = to;
            leaf.ack_dirty = false;
            leaf.last_sent = now;
        }
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        let now = ctx.now();
        let Role::Leaf {
            hub,
            unacked,
            last_up,
            have,
            ranges,
            gap_since,
            last_nack,
            ..
        } = &mut self.role
        else {
            return;
        };
        if !unacked.is_empty() && now.saturating_sub(*last_up) >= self.config.retry {
            let items: Vec<(u64, Value)> = unacked.iter().map(|(s, v)| (*s, v.clone())).collect();
            ctx.send(hub, &Payload::Up { items });
            *last_up = now;
        }
        if ranges.is_empty() {
            *gap_since = None;
            return;
        }
        let open_since = *gap_since.get_or_insert(now);
        let asked_recently = last_nack.is_some_and(|t| now.saturating_sub(t) < self.config.nack);
        if now.saturating_sub(open_since) >= self.config.nack && !asked_recently {
            ctx.send(hub, &Payload::Nack { have: *have });
            *last_nack = Some(now);
        }
    }
}

/// How often a leaf checks for unacknowledged values and gaps.
const CHECK_EVERY: Duration = Duration::from_millis(100);

impl Node for BroadcastNode {
    type Payload = Payload;
    type Timer = Timer;
    type Token = ();

    fn from_init(init: &Init, ctx: &mut Context<Self>) -> Self {
        Self::with_config(init, ctx, Config::from_env())
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        request: Request<Payload>,
    ) -> Result<(), ErrorBody> {
        let src = request.src.as_str();
        match request.payload {
            Payload::Broadcast { message } => {
                ctx.reply_to(src, request.msg_id, &Reply::BroadcastOk);
                match &mut self.role {
                    Role::Hub { .. } => self.hub_learns(message, ""),
                    Role::Leaf { .. } => {
                        if self.learn(&message) {
                            if let Role::Leaf {
                                hub,
                                unacked,
                                next_seq,
                                last_up,
                                ..
                            } = &mut self.role
                            {
                                let seq = *next_seq;
                                *next_seq += 1;
                                unacked.insert(seq, message.clone());
                                ctx.send(
                                    hub,
                                    &Payload::Up {
                                        items: vec![(seq, message)],
                                    },
                                );
                                *last_up = ctx.now();
                            }
                        }
                    }
                }
            }
            Payload::Read => ctx.reply_to(
                src,
                request.msg_id,
                &Reply::ReadOk {
                    messages: &self.values,
                },
            ),
            Payload::Topology { .. } => ctx.reply_to(src, request.msg_id, &Reply::TopologyOk),
            Payload::Up { items } => {
                for (seq, value) in items {
                    let fresh = match &mut self.role {
                        Role::Hub { leaves, .. } => leaves.get_mut(src).is_some_and(|leaf| {
                            leaf.ack_dirty = true;
                            seq > leaf.up_acked && leaf.up_beyond.insert(seq) && {
                                while leaf.up_beyond.remove(&(leaf.up_acked + 1)) {
                                    leaf.up_acked += 1;
                                }
                                true
                            }
                        }),
                        Role::Leaf { .. } => false,
                    };
                    if fresh {
                        self.hub_learns(value, src);
                    }
                }
            }
            Payload::Nack { have } => {
                if let Role::Hub { leaves, .. } = &mut self.role {
                    if let Some(leaf) = leaves.get_mut(src) {
                        leaf.sent_upto = leaf.sent_upto.min(have);
                    }
                }
            }
            Payload::Batch {
                from,
                to,
                values,
                ack,
            } => {
                for value in &values {
                    self.learn(value);
                }
                if let Role::Leaf {
                    unacked,
                    have,
                    ranges,
                    gap_since,
                    ..
                } = &mut self.role
                {
                    unacked.retain(|seq, _| *seq > ack);
                    ranges.insert(from, to.max(from));
                    while let Some((&start, &end)) = ranges.first_key_value() {
                        if start > *have {
                            break;
                        }
                        *have = (*have).max(end);
                        ranges.remove(&start);
                    }
                    if ranges.is_empty() {
                        *gap_since = None;
                    }
                }
            }
        }
        Ok(())
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>, timer: Timer) {
        match timer {
            Timer::Flush => {
                self.flush(ctx);
                ctx.set_timer(self.config.flush, Timer::Flush);
            }
            Timer::Check => {
                self.check(ctx);
                ctx.set_timer(CHECK_EVERY, Timer::Check);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maelstrom::testkit::TestNode;
    use maelstrom::Message;
    use serde_json::json;

    const NODES: [&str; 3] = ["n0", "n1", "n2"];

    fn config() -> Config {
        Config::default()
    }

    /// A small cluster on one virtual clock, with a switchable link filter. Messages between
    /// nodes are delivered after `latency`; clients are outside it.
    struct Cluster {
        nodes: Vec<TestNode<BroadcastNode>>,
        in_flight: Vec<(Duration, Message<Value>)>,
        latency: Duration,
        cut: Vec<(String, String)>,
        sent_between_nodes: usize,
    }

    impl Cluster {
        fn new(n: usize) -> Cluster {
            let names: Vec<&str> = NODES[..n].to_vec();
            let nodes = names
                .iter()
                .map(|id| {
                    let mut node = TestNode::<BroadcastNode>::uninitialised(0);
                    node.deliver(
                        "c0",
                        json!({"type": "init", "msg_id": 1, "node_id": id, "node_ids": names}),
                    );
                    node.take_sent();
                    node
                })
                .collect();
            Cluster {
                nodes,
                in_flight: Vec::new(),
                latency: Duration::from_millis(100),
                cut: Vec::new(),
                sent_between_nodes: 0,
            }
        }

        fn index(id: &str) -> usize {
            id[1..].parse().unwrap()
        }

        fn collect(&mut self, now: Duration) -> Vec<Message<Value>> {
            let mut to_clients = Vec::new();
            for node in &mut self.nodes {
                for m in node.take_sent() {
                    if m.dest.starts_with('n') {
                        self.sent_between_nodes += 1;
                        self.in_flight.push((now + self.latency, m));
                    } else {
                        to_clients.push(m);
                    }
                }
            }
            to_clients
        }

        /// Runs the cluster for `d` in 10 ms steps.
        fn run(&mut self, d: Duration) {
            let step = Duration::from_millis(10);
            let mut t = Duration::ZERO;
            while t < d {
                for node in &mut self.nodes {
                    node.advance(step);
                }
                let now = self.nodes[0].now();
                self.collect(now);
                let (due, later): (Vec<_>, Vec<_>) =
                    self.in_flight.drain(..).partition(|(at, _)| *at <= now);
                self.in_flight = later;
                for (_, m) in due {
                    if self.cut.iter().any(|(a, b)| *a == m.src && *b == m.dest) {
                        continue;
                    }
                    let i = Cluster::index(&m.dest);
                    self.nodes[i].deliver(&m.src, m.body);
                }
                t += step;
            }
        }

        fn broadcast(&mut self, node: usize, value: u64) {
            self.nodes[node].request("c9", json!({"type": "broadcast", "message": value}));
            let now = self.nodes[0].now();
            let replies = self.collect(now);
            assert_eq!(replies.len(), 1);
            assert_eq!(
                replies[0].body,
                json!({"type": "broadcast_ok", "in_reply_to": replies[0].body["in_reply_to"]})
            );
        }

        fn read(&self, node: usize) -> Vec<u64> {
            let mut v: Vec<u64> = self.nodes[node]
                .node()
                .values()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            v.sort_unstable();
            v
        }

        fn partition(&mut self, a: &str, b: &str) {
            self.cut.push((a.into(), b.into()));
            self.cut.push((b.into(), a.into()));
        }
    }

    #[test]
    fn values_reach_every_node_in_two_hops_plus_a_flush() {
        let mut c = Cluster::new(3);
        c.broadcast(1, 10);
        c.broadcast(0, 20);
        c.run(Duration::from_millis(100 + 150 + 100 + 20));
        for i in 0..3 {
            assert_eq!(c.read(i), [10, 20], "node {i}");
        }
    }

    #[test]
    fn client_replies_carry_exactly_the_protocol_fields() {
        let mut node = TestNode::<BroadcastNode>::new("n0", &["n0"]);
        let t = node.request("c1", json!({"type": "topology", "topology": {"n0": []}}));
        let b = node.request(
            "c1",
            json!({"type": "broadcast", "message": {"any": ["json"]}}),
        );
        let r = node.request("c1", json!({"type": "read"}));
        let sent = node.take_sent();
        assert_eq!(
            sent[0].body,
            json!({"type": "topology_ok", "in_reply_to": t})
        );
        assert_eq!(
            sent[1].body,
            json!({"type": "broadcast_ok", "in_reply_to": b})
        );
        assert_eq!(
            sent[2].body,
            json!({"type": "read_ok", "messages": [{"any": ["json"]}], "in_reply_to": r})
        );
    }

    #[test]
    fn a_quiet_healthy_cluster_sends_nothing_but_heartbeats() {
        let mut c = Cluster::new(3);
        c.broadcast(1, 1);
        c.run(Duration::from_millis(500));
        let after_delivery = c.sent_between_nodes;
        assert_eq!(
            after_delivery, 3,
            "one up, one batch to the other leaf, one ack-carrying batch"
        );
        c.run(Duration::from_secs(3));
        let heartbeats = c.sent_between_nodes - after_delivery;
        assert!(
            heartbeats <= 2 * 3,
            "at most one heartbeat per leaf per second, got {heartbeats}"
        );
    }

    #[test]
    fn leaf_values_survive_a_partition_from_the_hub() {
        let mut c = Cluster::new(3);
        c.partition("n1", "n0");
        c.broadcast(1, 5);
        c.broadcast(0, 6);
        c.run(Duration::from_secs(3));
        assert_eq!(c.read(0), [6]);
        assert_eq!(c.read(1), [5]);
        c.cut.clear();
        c.run(Duration::from_secs(3));
        for i in 0..3 {
            assert_eq!(c.read(i), [5, 6], "node {i}");
        }
    }

    #[test]
    fn batches_lost_at_the_end_are_recovered_through_heartbeat_and_nack() {
        let mut c = Cluster::new(3);
        c.partition("n0", "n2");
        c.broadcast(1, 1);
        c.run(Duration::from_millis(600));
        assert_eq!(c.read(2), Vec::<u64>::new());
        c.cut.clear();
        // No new values after the heal: only the heartbeat reveals the gap.
        c.run(Duration::from_secs(3));
        assert_eq!(c.read(2), [1]);
    }

    #[test]
    fn the_hub_acknowledges_and_leaves_stop_resending() {
        let mut c = Cluster::new(2);
        c.broadcast(1, 9);
        c.run(Duration::from_secs(1));
        match &c.nodes[1].node().role {
            Role::Leaf { unacked, .. } => assert!(unacked.is_empty()),
            Role::Hub { .. } => panic!("n1 is a leaf"),
        }
    }

    #[test]
    fn configuration_comes_from_the_environment() {
        assert_eq!(Config::from_env(), config(), "no variables set in tests");
    }
}
