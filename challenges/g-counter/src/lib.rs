//! Challenge 4: a grow-only counter kept in `seq-kv`, correct although `seq-kv` may serve
//! stale reads.
//!
//! - **One key per node, one writer per key.** Node `n` keeps its own total under key `n`;
//!   nobody else writes it, so the node's in-memory total is authoritative for it and a
//!   plain `write` (no read-modify-write, no cas loop) stores it. Adds are acknowledged at
//!   once and written by a 100 ms flush.
//! - **Forcing freshness.** A `seq-kv` read may come from any state no older than the last
//!   one *this requester* observed, and reads alone never move that floor (Maelstrom issue
//!   47). So each refresh first writes a fresh value to the node's own `sync-<n>` key: a
//!   write that changes the store is applied to the newest state and lifts the floor there.
//!   The reads of the other nodes' keys that follow then see every write the store had
//!   accepted before the sync.
//! - **Reads from a cache.** Clients get the node's own total plus the latest refreshed
//!   totals of the others, at once; the cache is refreshed every 200 ms and only grows.
//! - **No wrapping.** An add that would take a total past `u64::MAX` is refused with error
//!   12 (a negative or fractional delta already is, as a delta that does not parse), and
//!   a read whose sum would not fit gets error 14 rather than a wrapped number.

use maelstrom::services::SEQ_KV;
use maelstrom::{Context, ErrorBody, Init, Node, Request};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const REFRESH_EVERY: Duration = Duration::from_millis(200);
const RPC_TIMEOUT: Duration = Duration::from_millis(1000);

/// The counter protocol.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// Add a non-negative delta. A negative or fractional delta does not parse as a `u64`
    /// and is answered with error 12 by the library.
    Add {
        /// The amount.
        delta: u64,
    },
    /// Read the total.
    Read,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Reply {
    AddOk,
    ReadOk { value: u64 },
}

/// Timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Write the own total if it changed.
    Flush,
    /// Refresh the other nodes' totals.
    Refresh,
}

/// A finished `seq-kv` request: what it was for, and how it went.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// Writing the own total.
    WriteOwn {
        /// The total written.
        total: u64,
        /// Whether the write was acknowledged.
        done: Result<(), ErrorBody>,
    },
    /// The freshness write that starts a refresh.
    Sync(Result<(), ErrorBody>),
    /// Reading another node's total.
    ReadPeer {
        /// Whose total.
        peer: String,
        /// The total, `None` if the peer has not written one yet.
        total: Result<Option<u64>, ErrorBody>,
    },
}

/// A counter node.
#[derive(Debug, Default)]
pub struct CounterNode {
    key: String,
    peers: Vec<String>,
    total: u64,
    written: u64,
    writing: bool,
    others: BTreeMap<String, u64>,
    sync_seq: u64,
    refreshing: usize,
}

impl CounterNode {
    /// The total this node would report now, or `None` if it does not fit a `u64` (the
    /// other nodes' totals come from `seq-kv` and may be anything a `u64` holds).
    pub fn value(&self) -> Option<u64> {
        self.others
            .values()
            .try_fold(self.total, |sum, total| sum.checked_add(*total))
    }

    /// Refuses an add that would take the node's own total, or the total it knows of, past
    /// `u64::MAX`, rather than wrapping: a wrapped total is a wrong answer that every later
    /// read would repeat.
    fn add(&mut self, delta: u64) -> Result<(), ErrorBody> {
        let total = self.total.checked_add(delta);
        let known = self.value().and_then(|value| value.checked_add(delta));
        match (total, known) {
            (Some(total), Some(_)) => {
                self.total = total;
                Ok(())
            }
            // Error 12, not 22: the client stated no condition that could fail; it asks for
            // a count this counter cannot hold, a request that cannot be carried out as
            // asked. The code is definite, telling the checker the add did not happen,
            // which is true: the total is left as it was.
            _ => Err(ErrorBody::malformed_request(format!(
                "adding {delta} would overflow the counter"
            ))),
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.total != self.written && !self.writing {
            self.writing = true;
            let (key, total) = (self.key.clone(), self.total);
            SEQ_KV.write(ctx, &key, &total, RPC_TIMEOUT, move |done| {
                Token::WriteOwn { total, done }
            });
        }
    }

    fn refresh(&mut self, ctx: &mut Context<Self>) {
        if self.refreshing > 0 || self.peers.is_empty() {
            return;
        }
        self.sync_seq += 1;
        self.refreshing = 1;
        let key = format!("sync-{}", self.key);
        SEQ_KV.write(ctx, &key, &self.sync_seq, RPC_TIMEOUT, Token::Sync);
    }
}

impl Node for CounterNode {
    type Payload = Payload;
    type Timer = Timer;
    type Token = Token;

    fn from_init(init: &Init, ctx: &mut Context<Self>) -> Self {
        ctx.set_timer(FLUSH_EVERY, Timer::Flush);
        ctx.set_timer(REFRESH_EVERY, Timer::Refresh);
        CounterNode {
            key: init.node_id.clone(),
            peers: ctx.peers().map(str::to_owned).collect(),
            ..CounterNode::default()
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        request: Request<Payload>,
    ) -> Result<(), ErrorBody> {
        match request.payload {
            Payload::Add { delta } => {
                self.add(delta)?;
                ctx.reply_to(&request.src, request.msg_id, &Reply::AddOk);
            }
            Payload::Read => {
                // Error 14, a definite failure: a read changes nothing, so it certainly did
                // not take effect, and no answer is better than a wrapped or clamped one.
                let value = self.value().ok_or_else(|| {
                    ErrorBody::abort("the counter's total does not fit a 64-bit integer")
                })?;
                ctx.reply_to(&request.src, request.msg_id, &Reply::ReadOk { value });
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
            Timer::Refresh => {
                self.refresh(ctx);
                ctx.set_timer(REFRESH_EVERY, Timer::Refresh);
            }
        }
    }

    fn on_reply(&mut self, ctx: &mut Context<Self>, token: Token) {
        match token {
            Token::WriteOwn { total, done } => {
                self.writing = false;
                if done.is_ok() {
                    self.written = self.written.max(total);
                }
            }
            Token::Sync(done) => match done {
                Ok(()) => {
                    self.refreshing = self.peers.len();
                    for peer in self.peers.clone() {
                        SEQ_KV.read(ctx, &peer.clone(), RPC_TIMEOUT, move |total| {
                            Token::ReadPeer { peer, total }
                        });
                    }
                }
                Err(_) => self.refreshing = 0,
            },
            Token::ReadPeer { peer, total } => {
                if let Ok(Some(total)) = total {
                    let known = self.others.entry(peer).or_insert(0);
                    *known = (*known).max(total);
                }
                self.refreshing = self.refreshing.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maelstrom::testkit::{MemKv, TestNode};
    use serde_json::json;

    #[test]
    fn adds_are_acknowledged_at_once_and_flushed_to_the_own_key() {
        let mut node = TestNode::<CounterNode>::new("n0", &["n0", "n1"]);
        let mut kv = MemKv::new("seq-kv");
        node.request("c1", json!({"type": "add", "delta": 3}));
        node.request("c1", json!({"type": "add", "delta": 4}));
        assert_eq!(node.take_sent_to("c1").len(), 2);
        node.advance(FLUSH_EVERY);
        kv.serve(&mut node);
        assert_eq!(kv.get(&json!("n0")), Some(&json!(7)));
        let id = node.request("c1", json!({"type": "read"}));
        assert_eq!(
            node.take_sent_to("c1")[0].body,
            json!({"type": "read_ok", "value": 7, "in_reply_to": id})
        );
    }

    #[test]
    fn a_refresh_writes_the_sync_key_before_reading_the_others() {
        let mut node = TestNode::<CounterNode>::new("n0", &["n0", "n1", "n2"]);
        let mut kv = MemKv::new("seq-kv");
        kv.apply(&json!({"type": "write", "key": "n1", "value": 5}));
        node.advance(REFRESH_EVERY);
        let first = node.take_sent_to("seq-kv");
        assert_eq!(first.len(), 1, "only the sync write goes first");
        assert_eq!(first[0].body["key"], "sync-n0");
        for m in &first {
            let mut reply = kv.apply(&m.body);
            reply["in_reply_to"] = m.body["msg_id"].clone();
            node.deliver("seq-kv", reply);
        }
        let reads = node.take_sent_to("seq-kv");
        assert_eq!(
            reads
                .iter()
                .map(|m| m.body["key"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["n1", "n2"]
        );
        for m in &reads {
            let mut reply = kv.apply(&m.body);
            reply["in_reply_to"] = m.body["msg_id"].clone();
            node.deliver("seq-kv", reply);
        }
        assert_eq!(node.node().value(), Some(5), "n2's missing key counts as 0");
    }

    #[test]
    fn cached_totals_never_go_backwards() {
        let mut node = TestNode::<CounterNode>::new("n0", &["n0", "n1"]);
        let mut kv = MemKv::new("seq-kv");
        kv.apply(&json!({"type": "write", "key": "n1", "value": 9}));
        node.advance(REFRESH_EVERY);
        kv.serve(&mut node);
        kv.serve(&mut node);
        assert_eq!(node.node().value(), Some(9));
        // A stale read (as seq-kv may serve) cannot lower the total.
        kv.apply(&json!({"type": "write", "key": "n1", "value": 2}));
        node.advance(REFRESH_EVERY);
        kv.serve(&mut node);
        kv.serve(&mut node);
        assert_eq!(node.node().value(), Some(9));
    }

    fn error_code(node: &mut TestNode<CounterNode>, body: serde_json::Value) -> Option<u64> {
        let id = node.request("c1", body);
        let replies = node.take_sent_to("c1");
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0].body["in_reply_to"], id);
        replies[0].body["code"].as_u64()
    }

    #[test]
    fn deltas_that_are_not_u64_get_error_12() {
        let mut node = TestNode::<CounterNode>::new("n0", &["n0"]);
        for delta in [
            "-1",
            "1.5",
            "\"3\"",
            "null",
            "18446744073709551616",
            "1e400",
        ] {
            node.deliver_line(&format!(
                r#"{{"src":"c1","dest":"n0","body":{{"type":"add","msg_id":4,"delta":{delta}}}}}"#
            ));
            let replies = node.take_sent_to("c1");
            assert_eq!(replies.len(), 1, "delta {delta}");
            assert_eq!(replies[0].body["code"], 12, "delta {delta}");
        }
        assert_eq!(node.node().value(), Some(0));
    }

    #[test]
    fn an_add_that_would_overflow_gets_error_12_and_changes_nothing() {
        let mut node = TestNode::<CounterNode>::new("n0", &["n0"]);
        let add = |delta: u64| json!({"type": "add", "delta": delta});
        assert_eq!(error_code(&mut node, add(u64::MAX - 1)), None);
        assert_eq!(error_code(&mut node, add(2)), Some(12));
        assert_eq!(error_code(&mut node, add(u64::MAX)), Some(12));
        assert_eq!(error_code(&mut node, add(1)), None);
        assert_eq!(node.node().value(), Some(u64::MAX));
        assert_eq!(error_code(&mut node, add(1)), Some(12));
        assert_eq!(error_code(&mut node, add(0)), None);
        let id = node.request("c1", json!({"type": "read"}));
        assert_eq!(
            node.take_sent_to("c1")[0].body,
            json!({"type": "read_ok", "value": u64::MAX, "in_reply_to": id})
        );
    }

    #[test]
    fn peer_totals_that_overflow_the_sum_refuse_adds_and_reads() {
        let mut node = TestNode::<CounterNode>::new("n0", &["n0", "n1", "n2"]);
        let mut kv = MemKv::new("seq-kv");
        kv.apply(&json!({"type": "write", "key": "n1", "value": u64::MAX - 5}));
        kv.apply(&json!({"type": "write", "key": "n2", "value": 3}));
        node.advance(REFRESH_EVERY);
        kv.serve(&mut node);
        kv.serve(&mut node);
        assert_eq!(node.node().value(), Some(u64::MAX - 2));
        // The own total would fit, the total the node knows of would not.
        let add = |delta: u64| json!({"type": "add", "delta": delta});
        assert_eq!(error_code(&mut node, add(3)), Some(12));
        assert_eq!(error_code(&mut node, add(2)), None);
        // A peer's total grows behind the node's back: reads fail, they do not wrap.
        kv.apply(&json!({"type": "write", "key": "n2", "value": 10}));
        node.advance(REFRESH_EVERY);
        kv.serve(&mut node);
        kv.serve(&mut node);
        assert_eq!(node.node().value(), None);
        assert_eq!(error_code(&mut node, json!({"type": "read"})), Some(14));
        assert_eq!(error_code(&mut node, add(0)), Some(12));
    }
}
