//! Challenges 6a-6c: a totally available key-value store with read-committed transactions.
//!
//! - **Every transaction runs on the node that received it**, atomically (the node is a
//!   single state machine), and is answered at once: no node ever waits on another, so it
//!   stays available through any partition.
//! - **Only a transaction's final write per key leaves it**, all under one timestamp, and
//!   only after it ran to the end: other transactions never see intermediate or
//!   unfinished writes, and since nothing aborts, nothing aborted is ever read.
//! - **Timestamps are Lamport clocks** `(counter, node index)`. Applying a write raises the
//!   local counter past it, so a transaction's timestamp exceeds that of every value it
//!   read. Each key keeps the value with the highest timestamp (last writer wins), so every
//!   node installs versions of a key in one order, timestamp order.
//! - **Replication**: each node logs its committed write sets and streams them to every
//!   peer in batches (every 50 ms); peers acknowledge how much of the log they hold, and
//!   what is not acknowledged is sent again, so nodes converge once a partition heals.
//! - **Nothing wraps.** Keys and written values that are numbers but not 64-bit integers,
//!   replication positions past `u64::MAX` and acknowledgements of entries never written
//!   are error 12; a write when a peer's timestamp has left the clock no successor is error
//!   14. Each is refused before it changes anything.
//!
//! Why that is read committed: every write-read and write-write dependency between
//! transactions points from a lower timestamp to a higher one, so they cannot form a cycle
//! (no G0, no G1c); G1a and G1b are excluded above. What it does not give: reads see a
//! node's local, possibly stale state, and two transactions can read the same value and
//! both overwrite it, so lost updates, read skew and stale reads are all possible.

use maelstrom::{Context, ErrorBody, Init, Node, Request};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A peer that has not acknowledged anything new for this long is sent its backlog again.
const RESEND_AFTER: Duration = Duration::from_millis(500);
/// At most this many write sets per replication message.
const BATCH_LIMIT: usize = 2000;

/// A micro-operation's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Function {
    /// Read a key.
    #[serde(rename = "r")]
    Read,
    /// Write a key.
    #[serde(rename = "w")]
    Write,
}

/// `[f, key, value]`.
pub type MicroOp = (Function, Value, Value);

/// A Lamport timestamp: counter, then the writer's index in the node list.
pub type Timestamp = (u64, u32);

/// One committed transaction's final writes, as replicated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteSet {
    /// When it committed.
    pub ts: Timestamp,
    /// `[key, value]` pairs.
    pub writes: Vec<(Value, Value)>,
}

/// Everything a txn node receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// A client transaction.
    Txn {
        /// Micro-ops, executed in order.
        txn: Vec<MicroOp>,
    },
    /// Peer to peer: write sets `first`, `first + 1`, ... of the sender's log.
    Replicate {
        /// The log position of the first entry.
        first: u64,
        /// The entries.
        entries: Vec<WriteSet>,
    },
    /// Peer to peer: "I hold the first `upto` entries of your log".
    ReplicateOk {
        /// Entries held, contiguously from the start.
        upto: u64,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Reply<'a> {
    TxnOk { txn: &'a [MicroOp] },
}

/// Replication state towards one peer.
#[derive(Debug, Default, Clone)]
struct PeerLink {
    /// Entries the peer confirmed.
    acked: u64,
    /// Entries sent (possibly not yet received).
    sent: u64,
    /// `acked` when last checked for progress.
    acked_at_check: u64,
}

/// A txn node.
#[derive(Debug, Default)]
pub struct TxnNode {
    index: u32,
    clock: u64,
    /// key (as JSON text) -> (value, timestamp of the write that installed it).
    store: HashMap<String, (Value, Timestamp)>,
    /// Own committed write sets not yet acknowledged by every peer; entry `i` is log
    /// position `log_start + i`.
    log: VecDeque<WriteSet>,
    log_start: u64,
    peers: BTreeMap<String, PeerLink>,
    /// peer -> how many of its log entries we hold contiguously.
    received: HashMap<String, u64>,
}

impl TxnNode {
    /// The current value of `key` here, `null` if never written.
    pub fn get(&self, key: &Value) -> &Value {
        self.store
            .get(&key.to_string())
            .map_or(&Value::Null, |(v, _)| v)
    }

    fn log_end(&self) -> u64 {
        self.log_start + self.log.len() as u64
    }

    /// Installs `value` unless the key already holds a later write.
    fn install(&mut self, key: &Value, value: Value, ts: Timestamp) {
        self.clock = self.clock.max(ts.0);
        let slot = self
            .store
            .entry(key.to_string())
            .or_insert((Value::Null, (0, 0)));
        if ts > slot.1 {
            *slot = (value, ts);
        }
    }

    /// Runs a transaction against the local state; returns it with reads filled in, or
    /// refuses it before it touches anything.
    fn execute(&mut self, mut txn: Vec<MicroOp>) -> Result<Vec<MicroOp>, ErrorBody> {
        check_numbers(&txn)?;
        let has_writes = txn.iter().any(|(f, ..)| *f == Function::Write);
        let ts = match (has_writes, self.clock.checked_add(1)) {
            (false, _) => None,
            (true, Some(next)) => Some((next, self.index)),
            // Error 14: a peer's timestamp (anything a `u64` holds) can leave the clock no
            // successor, and a write needs one; refusing before anything is installed makes
            // this a definite failure.
            (true, None) => {
                return Err(ErrorBody::abort(
                    "the Lamport clock is exhausted: no timestamp is left for a write",
                ))
            }
        };
        let mut own: BTreeMap<String, Value> = BTreeMap::new();
        for (f, key, value) in &mut txn {
            let text = key.to_string();
            match f {
                Function::Read => {
                    *value = own.get(&text).unwrap_or_else(|| self.get(key)).clone();
                }
                Function::Write => {
                    own.insert(text, value.clone());
                }
            }
        }
        if let Some(ts) = ts {
            self.clock = ts.0;
            // Final writes only, in first-write order of their keys.
            let mut writes: Vec<(Value, Value)> = Vec::with_capacity(own.len());
            for (_, key, _) in txn.iter().filter(|(f, ..)| *f == Function::Write) {
                if let Some(value) = own.remove(&key.to_string()) {
                    writes.push((key.clone(), value));
                }
            }
            for (key, value) in &writes {
                self.install(key, value.clone(), ts);
            }
            if !self.peers.is_empty() {
                self.log.push_back(WriteSet { ts, writes });
            }
        }
        Ok(txn)
    }

    /// Sends every peer what it has not been sent.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        let end = self.log_end();
        for (peer, link) in &mut self.peers {
            if link.sent >= end {
                continue;
            }
            let from = (link.sent - self.log_start) as usize;
            let entries: Vec<WriteSet> = self
                .log
                .iter()
                .skip(from)
                .take(BATCH_LIMIT)
                .cloned()
                .collect();
            let first = link.sent;
            link.sent += entries.len() as u64;
            ctx.send(peer, &Payload::Replicate { first, entries });
        }
    }

    /// Drops log entries every peer holds.
    fn forget_acknowledged(&mut self) {
        let end = self.log_end();
        let all_acked = self.peers.values().map(|l| l.acked).min().unwrap_or(end);
        while self.log_start < all_acked && !self.log.is_empty() {
            self.log.pop_front();
            self.log_start += 1;
        }
    }

    /// Peers that made no progress since the last check get their backlog again.
    fn check_progress(&mut self) {
        for link in self.peers.values_mut() {
            if link.acked < link.sent && link.acked == link.acked_at_check {
                link.sent = link.acked;
            }
            link.acked_at_check = link.acked;
        }
    }
}

/// Refuses, with error 12, a transaction with a key or written value that is a number no
/// 64-bit integer holds: serde_json keeps such a number as a float, so it would be stored,
/// replicated and read back as a different value from the one the client wrote.
fn check_numbers(txn: &[MicroOp]) -> Result<(), ErrorBody> {
    let lossy = |v: &Value| matches!(v, Value::Number(n) if n.is_f64());
    for (f, key, value) in txn {
        if lossy(key) || (*f == Function::Write && lossy(value)) {
            return Err(ErrorBody::malformed_request(format!(
                "micro-op [{f:?}, {key}, {value}]: numbers must be 64-bit integers"
            )));
        }
    }
    Ok(())
}

/// Timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Replicate what is new.
    Flush,
    /// Resend to peers that stopped acknowledging.
    Resend,
}

impl Node for TxnNode {
    type Payload = Payload;
    type Timer = Timer;
    type Token = ();

    fn from_init(init: &Init, ctx: &mut Context<Self>) -> Self {
        ctx.set_timer(FLUSH_EVERY, Timer::Flush);
        ctx.set_timer(RESEND_AFTER, Timer::Resend);
        let index = init.index().unwrap_or(0) as u32;
        TxnNode {
            index,
            peers: ctx
                .peers()
                .map(|p| (p.to_owned(), PeerLink::default()))
                .collect(),
            ..TxnNode::default()
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        request: Request<Payload>,
    ) -> Result<(), ErrorBody> {
        let src = request.src.as_str();
        match request.payload {
            Payload::Txn { txn } => {
                let done = self.execute(txn)?;
                ctx.reply_to(src, request.msg_id, &Reply::TxnOk { txn: &done });
            }
            Payload::Replicate { first, entries } => {
                // Error 12 (logged only: replication carries no msg_id) for a batch whose
                // positions run past the end of any log; nothing of it is installed.
                let last = u64::try_from(entries.len())
                    .ok()
                    .and_then(|n| first.checked_add(n))
                    .ok_or_else(|| {
                        ErrorBody::malformed_request(format!(
                            "{} entries from position {first} overflow the log",
                            entries.len()
                        ))
                    })?;
                for set in entries {
                    for (key, value) in set.writes {
                        self.install(&key, value, set.ts);
                    }
                }
                let held = self.received.entry(src.to_owned()).or_insert(0);
                if first <= *held {
                    *held = (*held).max(last);
                }
                let upto = *held;
                ctx.send(src, &Payload::ReplicateOk { upto });
            }
            Payload::ReplicateOk { upto } => {
                // An acknowledgement of entries never written would let the node drop
                // entries the peer does not hold, and stop sending it new ones; error 12,
                // logged only.
                if upto > self.log_end() {
                    return Err(ErrorBody::malformed_request(format!(
                        "acknowledges {upto} entries of a log of {}",
                        self.log_end()
                    )));
                }
                if let Some(link) = self.peers.get_mut(src) {
                    link.acked = link.acked.max(upto);
                    link.sent = link.sent.max(link.acked);
                }
                self.forget_acknowledged();
            }
        }
        Ok(())
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>, timer: Timer) {
        match timer {
            Timer::Flush => {
                self.flush(ctx);
                ctx.set_timer(FLUSH_EVERY, Timer::Flush);
            }
            Timer::Resend => {
                self.check_progress();
                ctx.set_timer(RESEND_AFTER, Timer::Resend);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maelstrom::testkit::TestNode;
    use serde_json::json;

    fn txn(node: &mut TestNode<TxnNode>, ops: Value) -> Value {
        node.request("c1", json!({"type": "txn", "txn": ops}));
        let replies = node.take_sent_to("c1");
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0].body["type"], "txn_ok", "{:?}", replies[0].body);
        replies[0].body["txn"].clone()
    }

    /// Delivers everything `from` sent to `to`, and `to`'s answers back.
    fn exchange(
        from: &mut TestNode<TxnNode>,
        to: &mut TestNode<TxnNode>,
        to_id: &str,
        from_id: &str,
    ) {
        for m in from.take_sent_to(to_id) {
            to.deliver(from_id, m.body);
        }
        for m in to.take_sent_to(from_id) {
            from.deliver(to_id, m.body);
        }
    }

    #[test]
    fn reads_see_own_writes_and_missing_keys_are_null() {
        let mut n0 = TestNode::<TxnNode>::new("n0", &["n0"]);
        let done = txn(
            &mut n0,
            json!([["r", 1, null], ["w", 1, 5], ["r", 1, null], ["w", 2, 6]]),
        );
        assert_eq!(
            done,
            json!([["r", 1, null], ["w", 1, 5], ["r", 1, 5], ["w", 2, 6]])
        );
        assert_eq!(
            txn(&mut n0, json!([["r", 1, null], ["r", 2, null]])),
            json!([["r", 1, 5], ["r", 2, 6]])
        );
    }

    #[test]
    fn only_final_writes_become_visible() {
        let mut n0 = TestNode::<TxnNode>::new("n0", &["n0", "n1"]);
        txn(&mut n0, json!([["w", 1, 1], ["w", 1, 2]]));
        n0.advance(FLUSH_EVERY);
        let sent = n0.take_sent_to("n1");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].body["entries"][0]["writes"], json!([[1, 2]]));
    }

    #[test]
    fn replication_converges_to_the_latest_timestamp() {
        let mut n0 = TestNode::<TxnNode>::new("n0", &["n0", "n1"]);
        let mut n1 = TestNode::<TxnNode>::new("n1", &["n0", "n1"]);
        txn(&mut n0, json!([["w", "k", 1]]));
        txn(&mut n1, json!([["w", "k", 2]]));
        txn(&mut n1, json!([["w", "k", 3]]));
        n0.advance(FLUSH_EVERY);
        n1.advance(FLUSH_EVERY);
        exchange(&mut n0, &mut n1, "n1", "n0");
        exchange(&mut n1, &mut n0, "n0", "n1");
        assert_eq!(n0.node().get(&json!("k")), &json!(3));
        assert_eq!(n1.node().get(&json!("k")), &json!(3));
        // A transaction that read 3 writes after it, wherever it runs.
        txn(&mut n0, json!([["r", "k", null], ["w", "k", 4]]));
        n0.advance(FLUSH_EVERY);
        exchange(&mut n0, &mut n1, "n1", "n0");
        assert_eq!(n1.node().get(&json!("k")), &json!(4));
        assert!(n0.node().log.is_empty(), "acknowledged entries are dropped");
    }

    #[test]
    fn lost_batches_are_sent_again() {
        let mut n0 = TestNode::<TxnNode>::new("n0", &["n0", "n1"]);
        let mut n1 = TestNode::<TxnNode>::new("n1", &["n0", "n1"]);
        txn(&mut n0, json!([["w", 1, 1]]));
        n0.advance(FLUSH_EVERY);
        assert_eq!(n0.take_sent_to("n1").len(), 1, "first copy, lost");
        n0.advance(RESEND_AFTER * 2);
        exchange(&mut n0, &mut n1, "n1", "n0");
        assert_eq!(n1.node().get(&json!(1)), &json!(1));
        n0.advance(RESEND_AFTER * 2);
        assert!(n0.take_sent_to("n1").is_empty(), "nothing left to send");
    }

    /// Two nodes writing the same keys while their replication messages are dropped,
    /// duplicated and reordered at random, until the network heals: both end up with the
    /// same store.
    #[test]
    fn replicas_converge_after_loss_duplication_and_reordering() {
        use maelstrom::testkit::TestNode;
        let ids = ["n0", "n1"];
        let mut nodes = [
            TestNode::<TxnNode>::with_seed("n0", &ids, 1),
            TestNode::<TxnNode>::with_seed("n1", &ids, 2),
        ];
        let mut chaos: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            chaos ^= chaos << 13;
            chaos ^= chaos >> 7;
            chaos ^= chaos << 17;
            chaos
        };
        let mut value = 0;
        for round in 0..400 {
            let healed = round >= 300;
            for (i, node) in nodes.iter_mut().enumerate() {
                if !healed {
                    value += 1;
                    let key = next() % 5;
                    txn(
                        node,
                        json!([["r", key, null], ["w", key, value * 2 + i as u64]]),
                    );
                }
                node.advance(Duration::from_millis(25));
            }
            for from in 0..2 {
                let to = 1 - from;
                let mut messages = nodes[from].take_sent_to(ids[to]);
                if !healed {
                    messages.retain(|_| next() % 3 != 0);
                    if messages.len() > 1 && next() % 2 == 0 {
                        messages.reverse();
                    }
                    if let Some(m) = messages.first().cloned() {
                        messages.push(m);
                    }
                }
                for m in messages {
                    nodes[to].deliver(ids[from], m.body);
                }
            }
        }
        for key in 0..5 {
            assert_eq!(
                nodes[0].node().get(&json!(key)),
                nodes[1].node().get(&json!(key)),
                "key {key}"
            );
            assert!(!nodes[0].node().get(&json!(key)).is_null());
        }
        assert!(nodes[0].node().log.is_empty() && nodes[1].node().log.is_empty());
    }

    #[test]
    fn malformed_transactions_get_error_12() {
        let mut n0 = TestNode::<TxnNode>::new("n0", &["n0"]);
        n0.request("c1", json!({"type": "txn", "txn": [["x", 1, null]]}));
        let reply = n0.take_sent_to("c1");
        assert_eq!(reply[0].body["type"], "error");
        assert_eq!(reply[0].body["code"], 12);
        n0.request("c1", json!({"type": "txn"}));
        assert_eq!(n0.take_sent_to("c1")[0].body["code"], 12);
    }

    fn error_code(node: &mut TestNode<TxnNode>, src: &str, body: Value) -> Option<u64> {
        let id = node.request(src, body);
        let replies = node.take_sent_to(src);
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0].body["in_reply_to"], id);
        replies[0].body["code"].as_u64()
    }

    #[test]
    fn a_peer_timestamp_at_the_end_of_the_clock_refuses_writes_not_reads() {
        let mut n0 = TestNode::<TxnNode>::new("n0", &["n0", "n1"]);
        let last = json!({"ts": [u64::MAX, 1], "writes": [[1, 7]]});
        n0.deliver(
            "n1",
            json!({"type": "replicate", "first": 0, "entries": [last]}),
        );
        assert_eq!(n0.take_sent_to("n1")[0].body["upto"], 1);
        assert_eq!(txn(&mut n0, json!([["r", 1, null]])), json!([["r", 1, 7]]));
        let write = json!({"type": "txn", "txn": [["r", 2, null], ["w", 2, 1]]});
        assert_eq!(error_code(&mut n0, "c1", write), Some(14));
        assert_eq!(n0.node().get(&json!(2)), &Value::Null, "nothing installed");
        assert!(n0.node().log.is_empty(), "nothing to replicate");
        assert_eq!(n0.node().clock, u64::MAX);
    }

    #[test]
    fn replication_positions_past_any_log_get_error_12_and_install_nothing() {
        let mut n0 = TestNode::<TxnNode>::new("n0", &["n0", "n1"]);
        let entry = json!({"ts": [3, 1], "writes": [[1, 7]]});
        let batch = json!({"type": "replicate", "first": u64::MAX, "entries": [entry]});
        assert_eq!(error_code(&mut n0, "n1", batch.clone()), Some(12));
        // Without a msg_id (as peers send it) the refusal is only logged.
        n0.deliver("n1", batch);
        assert!(n0.take_sent().is_empty());
        assert_eq!(n0.node().get(&json!(1)), &Value::Null);
        assert_eq!(n0.node().clock, 0);
    }

    #[test]
    fn acknowledgements_of_entries_never_written_get_error_12() {
        let mut n0 = TestNode::<TxnNode>::new("n0", &["n0", "n1"]);
        txn(&mut n0, json!([["w", 1, 1]]));
        n0.advance(FLUSH_EVERY);
        assert_eq!(n0.take_sent_to("n1").len(), 1);
        let ack = |upto: u64| json!({"type": "replicate_ok", "upto": upto});
        assert_eq!(error_code(&mut n0, "n1", ack(u64::MAX)), Some(12));
        assert_eq!(error_code(&mut n0, "n1", ack(2)), Some(12));
        assert_eq!(n0.node().log.len(), 1, "the entry is kept for the peer");
        // The unacknowledged entry is still sent again.
        n0.advance(RESEND_AFTER * 2);
        let resent = n0.take_sent_to("n1");
        assert!(!resent.is_empty());
        assert!(resent.iter().all(|m| m.body["first"] == 0), "{resent:?}");
        n0.deliver("n1", ack(1));
        assert!(n0.node().log.is_empty());
    }

    #[test]
    fn numbers_that_would_come_back_changed_get_error_12() {
        let mut n0 = TestNode::<TxnNode>::new("n0", &["n0"]);
        for ops in [
            r#"[["w",1,18446744073709551616]]"#,
            r#"[["w",1,-9223372036854775809]]"#,
            r#"[["w",1,1.5]]"#,
            r#"[["r",2.5,null]]"#,
            r#"[["r",1,null],["w",1e300,3]]"#,
        ] {
            n0.deliver_line(&format!(
                r#"{{"src":"c1","dest":"n0","body":{{"type":"txn","msg_id":9,"txn":{ops}}}}}"#
            ));
            let replies = n0.take_sent_to("c1");
            assert_eq!(replies[0].body["code"], 12, "{ops}");
        }
        assert_eq!(n0.node().clock, 0, "nothing ran");
        // The extremes of 64-bit integers are fine, and so is any value a read carries.
        let done = txn(
            &mut n0,
            json!([["w", u64::MAX, i64::MIN], ["r", u64::MAX, 0.5]]),
        );
        assert_eq!(
            done,
            json!([["w", u64::MAX, i64::MIN], ["r", u64::MAX, i64::MIN]])
        );
    }
}
