//! The context handed to every handler: the node's view of the world and its outbox.

use crate::error::{ErrorBody, ErrorReply};
use crate::node::{Node, Request};
use crate::protocol::{encode_line, MsgId};
use rand_pcg::Pcg64Mcg;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Time as the node sees it: how long since the runtime started. Virtual in tests.
pub type Time = Duration;

/// Identifies a timer so that it can be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

/// Turns an RPC's raw outcome (the reply body, or the error) into the node's token; the
/// first argument is the party asked, for the error a body that does not parse becomes.
pub(crate) type Completion<T> = Box<dyn FnOnce(&str, Result<Value, ErrorBody>) -> T + Send>;

pub(crate) struct PendingRpc<T> {
    pub complete: Completion<T>,
    pub dest: String,
    pub deadline: Time,
    /// The request could not be encoded, so it never left: report a definite failure.
    pub unsent: bool,
}

/// Everything a handler may read or do. Effects are recorded, not performed: sends become
/// encoded lines in the outbox, RPCs and timers become entries the engine resolves later.
pub struct Context<N: Node> {
    pub(crate) node_id: String,
    pub(crate) node_ids: Vec<String>,
    pub(crate) now: Time,
    pub(crate) rng: Pcg64Mcg,
    pub(crate) next_msg_id: MsgId,
    pub(crate) next_timer_id: u64,
    pub(crate) out: Vec<u8>,
    pub(crate) rpcs: BTreeMap<MsgId, PendingRpc<N::Token>>,
    pub(crate) rpc_deadlines: BTreeSet<(Time, MsgId)>,
    pub(crate) timers: BTreeMap<(Time, TimerId), N::Timer>,
    pub(crate) timer_deadlines: BTreeMap<TimerId, Time>,
}

impl<N: Node> Context<N> {
    pub(crate) fn new(rng: Pcg64Mcg) -> Self {
        Context {
            node_id: String::new(),
            node_ids: Vec::new(),
            now: Duration::ZERO,
            rng,
            next_msg_id: 1,
            next_timer_id: 0,
            out: Vec::with_capacity(64 * 1024),
            rpcs: BTreeMap::new(),
            rpc_deadlines: BTreeSet::new(),
            timers: BTreeMap::new(),
            timer_deadlines: BTreeMap::new(),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Every node id of the cluster, in `init` order, this node included.
    pub fn node_ids(&self) -> &[String] {
        &self.node_ids
    }

    /// The other nodes of the cluster.
    pub fn peers(&self) -> impl Iterator<Item = &str> + '_ {
        self.node_ids
            .iter()
            .map(String::as_str)
            .filter(move |id| *id != self.node_id)
    }

    /// The current time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// The node's seeded random number generator: the only randomness a node should use,
    /// so that a seed replays a run.
    pub fn rng(&mut self) -> &mut Pcg64Mcg {
        &mut self.rng
    }

    /// Number of RPCs still waiting for a reply or a timeout.
    pub fn pending_rpcs(&self) -> usize {
        self.rpcs.len()
    }

    /// Sends a message that expects no reply (no `msg_id`).
    pub fn send<P: Serialize + ?Sized>(&mut self, dest: &str, payload: &P) {
        self.emit(dest, payload, None, None);
    }

    /// Answers a request. A request without `msg_id` cannot be answered (nobody could match
    /// the reply), so nothing is sent and a debug line is logged.
    pub fn reply<Q, P: Serialize + ?Sized>(&mut self, request: &Request<Q>, payload: &P) {
        self.reply_to(&request.src, request.msg_id, payload);
    }

    /// Answers a message given by its sender and `msg_id`; useful when the reply is sent
    /// later than the handler that received the request.
    pub fn reply_to<P: Serialize + ?Sized>(
        &mut self,
        dest: &str,
        msg_id: Option<MsgId>,
        payload: &P,
    ) {
        match msg_id {
            Some(id) => {
                self.emit(dest, payload, None, Some(id));
            }
            None => tracing::debug!(dest, "not replying to a message without msg_id"),
        }
    }

    /// Answers a request with an error. Extra fields of the error that the reply writes
    /// itself (`type`, `code`, `text`, the ids) are not repeated, so relaying an error
    /// received from a peer puts each key on the wire once.
    pub fn reply_error(&mut self, dest: &str, msg_id: Option<MsgId>, error: &ErrorBody) {
        self.reply_to(dest, msg_id, &ErrorReply(error));
    }

    /// Answers with an error from `src` rather than the node's id: before `init` the node
    /// has no id, and the address the message was sent to is the one its sender expects
    /// an answer from.
    pub(crate) fn reply_error_from(
        &mut self,
        src: &str,
        dest: &str,
        msg_id: Option<MsgId>,
        error: &ErrorBody,
    ) {
        match msg_id {
            Some(id) => {
                if let Err(e) =
                    encode_line(&mut self.out, src, dest, &ErrorReply(error), None, Some(id))
                {
                    tracing::error!(dest, "error reply not sent: {e}");
                }
            }
            None => tracing::debug!(dest, "not replying to a message without msg_id"),
        }
    }

    /// Sends a request and expects a reply before `timeout`.
    ///
    /// `complete` names the reply type: the reply body is parsed into `R` (a body that does
    /// not fit becomes error 12), and `complete` makes the node's token of it, or of the
    /// error the peer sent, or of a local timeout (code 0, indefinite). The token then comes
    /// to [`Node::on_reply`]. A token variant that holds the result is itself such a
    /// function. The pending entry is removed either way, so late replies are dropped rather
    /// than leaked.
    ///
    /// ```
    /// # use maelstrom::{Context, ErrorBody, MsgId};
    /// # use std::time::Duration;
    /// #[derive(serde::Deserialize)]
    /// struct AppendOk { offset: u64 }
    ///
    /// enum Token {
    ///     /// A client's append, forwarded to the key's owner; the client is answered later.
    ///     Forwarded { client: String, msg_id: Option<MsgId>, result: Result<AppendOk, ErrorBody> },
    /// }
    /// # struct Kafka;
    /// # impl maelstrom::Node for Kafka {
    /// #   type Payload = (); type Timer = (); type Token = Token;
    /// #   fn from_init(_: &maelstrom::Init, _: &mut Context<Self>) -> Self { Kafka }
    /// #   fn on_message(&mut self, _: &mut Context<Self>, _: maelstrom::Request<()>) -> Result<(), ErrorBody> { Ok(()) }
    /// # }
    /// # fn forward(ctx: &mut Context<Kafka>, client: String, msg_id: Option<MsgId>) {
    /// let append = serde_json::json!({"type": "append", "key": "k1", "msg": 5});
    /// ctx.rpc("n1", &append, Duration::from_millis(200), move |result| {
    ///     Token::Forwarded { client, msg_id, result }
    /// });
    /// # }
    /// ```
    pub fn rpc<P, R, F>(&mut self, dest: &str, payload: &P, timeout: Duration, complete: F) -> MsgId
    where
        P: Serialize + ?Sized,
        R: DeserializeOwned,
        F: FnOnce(Result<R, ErrorBody>) -> N::Token + Send + 'static,
    {
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        let deadline = self.now + timeout;
        // A request that could not be encoded never left: it is reported as a definite
        // failure at the next deadline check instead of waiting out the timeout.
        let unsent = !self.emit(dest, payload, Some(msg_id), None);
        let due = if unsent { self.now } else { deadline };
        let complete: Completion<N::Token> = Box::new(move |dest, outcome| {
            complete(outcome.and_then(|body| parse_reply(dest, body)))
        });
        self.rpcs.insert(
            msg_id,
            PendingRpc {
                complete,
                dest: dest.to_owned(),
                deadline,
                unsent,
            },
        );
        self.rpc_deadlines.insert((due, msg_id));
        msg_id
    }

    /// Asks to be handed `timer` after `after` has elapsed.
    ///
    /// ```
    /// # use maelstrom::{Context, ErrorBody, Init, Node, Request};
    /// # use std::time::Duration;
    /// #[derive(Debug, PartialEq)]
    /// enum Timer { Gossip }
    /// # #[derive(serde::Deserialize)] #[serde(tag = "type", rename_all = "snake_case")]
    /// # enum Payload {}
    /// struct Gossiper { rounds: u32 }
    /// impl Node for Gossiper {
    ///     type Payload = Payload;
    ///     type Timer = Timer;
    ///     type Token = ();
    ///     fn from_init(_: &Init, ctx: &mut Context<Self>) -> Self {
    ///         ctx.set_timer(Duration::from_millis(100), Timer::Gossip);
    ///         Gossiper { rounds: 0 }
    ///     }
    ///     fn on_message(&mut self, _: &mut Context<Self>, _: Request<Payload>) -> Result<(), ErrorBody> {
    ///         Ok(())
    ///     }
    ///     fn on_timer(&mut self, ctx: &mut Context<Self>, Timer::Gossip: Timer) {
    ///         self.rounds += 1;
    ///         let peers: Vec<String> = ctx.peers().map(str::to_owned).collect();
    ///         for peer in peers {
    ///             ctx.send(&peer, &serde_json::json!({"type": "gossip", "round": self.rounds}));
    ///         }
    ///         ctx.set_timer(Duration::from_millis(100), Timer::Gossip);
    ///     }
    /// }
    /// let mut node = maelstrom::testkit::TestNode::<Gossiper>::new("n0", &["n0", "n1"]);
    /// node.advance(Duration::from_millis(250)); // virtual time: returns at once
    /// assert_eq!(node.node().rounds, 2);
    /// assert_eq!(node.take_sent_to("n1").len(), 2);
    /// ```
    pub fn set_timer(&mut self, after: Duration, timer: N::Timer) -> TimerId {
        let id = TimerId(self.next_timer_id);
        self.next_timer_id += 1;
        let at = self.now + after;
        self.timers.insert((at, id), timer);
        self.timer_deadlines.insert(id, at);
        id
    }

    /// Cancels a timer that has not fired yet, returning its value.
    pub fn cancel_timer(&mut self, id: TimerId) -> Option<N::Timer> {
        let at = self.timer_deadlines.remove(&id)?;
        self.timers.remove(&(at, id))
    }

    /// The earliest moment something is due: a timer or an RPC deadline.
    pub(crate) fn next_deadline(&self) -> Option<Time> {
        let timer = self.timers.keys().next().map(|(t, _)| *t);
        let rpc = self.rpc_deadlines.iter().next().map(|(t, _)| *t);
        match (timer, rpc) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Encodes a message into the outbox; false (and an error log) if it cannot be encoded.
    fn emit<P: Serialize + ?Sized>(
        &mut self,
        dest: &str,
        payload: &P,
        msg_id: Option<MsgId>,
        in_reply_to: Option<MsgId>,
    ) -> bool {
        match encode_line(
            &mut self.out,
            &self.node_id,
            dest,
            payload,
            msg_id,
            in_reply_to,
        ) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(dest, "message not sent: {e}");
                false
            }
        }
    }
}

/// Parses a reply body into the type its caller expects. A body that does not fit is error
/// 12, so that callers treat it like any other failed RPC.
fn parse_reply<R: DeserializeOwned>(src: &str, body: Value) -> Result<R, ErrorBody> {
    R::deserialize(body)
        .map_err(|e| ErrorBody::malformed_request(format!("reply from {src} did not parse: {e}")))
}
