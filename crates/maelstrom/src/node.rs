//! The traits a node implements, and what its handlers receive.
//!
//! Two ways in, on one engine:
//! - [`Handler`]: a node that answers each request with one reply and keeps no timers or
//!   RPCs (echo, unique ids). Its handler returns the reply; the library sends it.
//! - [`Node`]: the whole state machine, for nodes that talk to peers or services, set timers
//!   or answer later than the handler that got the request.
//!
//! Every `Handler` is a `Node`, so the runtime, the test kit and the workbench's simulator
//! take either; moving from one to the other changes the node, not how it is run or tested.

use crate::context::Context;
use crate::error::ErrorBody;
use crate::protocol::MsgId;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What `init` told the node: its own id and every node's id, in the same order everywhere.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Init {
    /// This node's id, e.g. `n0`.
    pub node_id: String,
    /// All node ids of the cluster, this node included.
    pub node_ids: Vec<String>,
}

impl Init {
    /// This node's place in `node_ids`, the same on every node: how nodes split a space
    /// (ids, offsets, timestamps) among themselves without a message. Maelstrom always lists
    /// the node itself; for a harness that does not, this is `None`, and the node decides
    /// what that costs it.
    ///
    /// ```
    /// let init = maelstrom::Init { node_id: "n1".into(), node_ids: vec!["n0".into(), "n1".into()] };
    /// assert_eq!(init.index(), Some(1));
    /// ```
    pub fn index(&self) -> Option<usize> {
        self.node_ids.iter().position(|id| *id == self.node_id)
    }
}

/// A message that is not a reply to one of our RPCs: a client request or a peer's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<P> {
    /// Who sent it; replies go there.
    pub src: String,
    /// The `msg_id` to answer with `in_reply_to`; absent for fire-and-forget messages.
    pub msg_id: Option<MsgId>,
    /// The parsed body.
    pub payload: P,
}

/// A node that answers every request with one reply, computed on the spot.
///
/// This is the shortest way to a working node: declare what it accepts and what it answers,
/// and return the answer. The library sends it with the request's `msg_id` as
/// `in_reply_to`, and an `Err` goes back as a Maelstrom error. A node that needs timers,
/// RPCs or messages to peers implements [`Node`] instead.
///
/// The node starts as its `Default` and learns its id and its peers in [`Handler::init`],
/// so that a node with no use for them (echo) writes nothing for them.
///
/// ```
/// use maelstrom::{ErrorBody, Handler};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// #[serde(tag = "type", rename_all = "snake_case")]
/// enum Payload { Echo { echo: serde_json::Value } }
///
/// #[derive(Serialize)]
/// #[serde(tag = "type", rename_all = "snake_case")]
/// enum Reply { EchoOk { echo: serde_json::Value } }
///
/// #[derive(Default)]
/// struct Echo;
///
/// impl Handler for Echo {
///     type Payload = Payload;
///     type Reply = Reply;
///     fn handle(&mut self, Payload::Echo { echo }: Payload) -> Result<Reply, ErrorBody> {
///         Ok(Reply::EchoOk { echo })
///     }
/// }
///
/// let mut node = maelstrom::testkit::TestNode::<Echo>::new("n0", &["n0"]);
/// let id = node.request("c1", serde_json::json!({"type": "echo", "echo": 7}));
/// let sent = node.take_sent();
/// assert_eq!(sent[0].body, serde_json::json!({"type": "echo_ok", "echo": 7, "in_reply_to": id}));
/// ```
pub trait Handler: Default {
    /// The requests this node accepts, usually a `#[serde(tag = "type")]` enum. An unknown
    /// `type` is answered with error 10, fields that do not fit with error 12.
    type Payload: DeserializeOwned;
    /// What it answers, usually a `#[serde(tag = "type")]` enum of the `*_ok` bodies.
    type Reply: Serialize;

    /// `init` has arrived: the node's id and every node's id, in the same order on every
    /// node. Called once, before any request.
    fn init(&mut self, init: &Init) {
        let _ = init;
    }

    /// Answers one request. A message without `msg_id` is still handled, but its reply
    /// has nowhere to go and is not sent.
    fn handle(&mut self, payload: Self::Payload) -> Result<Self::Reply, ErrorBody>;
}

/// A Maelstrom node as a state machine.
///
/// Each method handles one event and never blocks: effects (messages, RPCs, timers) go
/// through the [`Context`], which the runtime (or the test kit) turns into real I/O. Because
/// handlers take `&mut self`, there are no locks; because time and randomness come from the
/// context, the same node runs unchanged on virtual time in tests.
pub trait Node: Sized {
    /// The messages this node accepts, usually a `#[serde(tag = "type")]` enum. A message
    /// whose `type` is not a variant is answered with error 10, one whose fields do not fit
    /// with error 12.
    type Payload: DeserializeOwned;
    /// Timer values: what the node wants to be reminded of.
    type Timer;
    /// What an RPC hands back to [`Node::on_reply`]: the caller builds it from the parsed
    /// reply (or the error), together with whatever it needs to remember about the request.
    /// See [`Context::rpc`].
    type Token;

    /// Builds the node once `init` arrives. Messages may already be sent from here; the
    /// library answers `init_ok` itself.
    fn from_init(init: &Init, ctx: &mut Context<Self>) -> Self;

    /// Handles a client request or a peer's message. Returning an error answers the request
    /// with that error (if it had a `msg_id`).
    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        request: Request<Self::Payload>,
    ) -> Result<(), ErrorBody>;

    /// A timer set with [`Context::set_timer`] has fired.
    fn on_timer(&mut self, ctx: &mut Context<Self>, timer: Self::Timer) {
        let _ = (ctx, timer);
    }

    /// An RPC sent with [`Context::rpc`] was answered, or its deadline passed: `token` is
    /// what the call's completion made of the parsed reply or the error.
    fn on_reply(&mut self, ctx: &mut Context<Self>, token: Self::Token) {
        let _ = (ctx, token);
    }
}

impl<H: Handler> Node for H {
    type Payload = H::Payload;
    type Timer = ();
    type Token = ();

    fn from_init(init: &Init, _ctx: &mut Context<Self>) -> Self {
        let mut node = H::default();
        node.init(init);
        node
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        request: Request<H::Payload>,
    ) -> Result<(), ErrorBody> {
        let reply = self.handle(request.payload)?;
        ctx.reply_to(&request.src, request.msg_id, &reply);
        Ok(())
    }
}
