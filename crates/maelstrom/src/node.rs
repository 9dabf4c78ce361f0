//! The trait a node implements, and what its handlers receive.

use crate::context::Context;
use crate::error::ErrorBody;
use crate::protocol::MsgId;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What `init` told the node: its own id and every node's id, in the same order everywhere.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Init {
    /// This node's id, e.g. `n0`.
    pub node_id: String,
    /// All node ids of the cluster, this node included.
    pub node_ids: Vec<String>,
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

/// A reply to one of our RPCs that was not an error. The body is kept as JSON because the
/// replying party (a peer, a service) decides its shape; parse it with [`Reply::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Who answered.
    pub src: String,
    /// The whole reply body, `type` and ids included.
    pub body: Value,
}

impl Reply {
    /// Parses the reply body into the type the caller expects. A body that does not fit is
    /// reported as error 12 so that callers can treat it like any other failed RPC.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ErrorBody> {
        T::deserialize(&self.body).map_err(|e| {
            ErrorBody::malformed_request(format!("reply from {} did not parse: {e}", self.src))
        })
    }

    /// The reply's `type` field, if any.
    pub fn kind(&self) -> Option<&str> {
        self.body.get("type").and_then(Value::as_str)
    }
}

/// The outcome of an RPC: the reply, or the error the peer sent, or a local timeout (code 0,
/// indefinite).
pub type RpcResult = Result<Reply, ErrorBody>;

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
    /// RPC tokens: what the node needs to remember about an outstanding request.
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

    /// An RPC sent with [`Context::rpc`] was answered, or its deadline passed.
    fn on_reply(&mut self, ctx: &mut Context<Self>, token: Self::Token, result: RpcResult) {
        let _ = (ctx, token, result);
    }
}
