//! Typed clients for Maelstrom's built-in services: `lin-kv`, `seq-kv`, `lww-kv` and `lin-tso`.
//!
//! A service call is an ordinary RPC: the request goes out through the [`Context`], the reply
//! comes back to [`Node::on_reply`](crate::Node::on_reply) with the token you chose, and the
//! helpers here ([`read_value`], [`write_done`], [`cas_outcome`], [`timestamp`]) turn the
//! raw result into what the call means.
//!
//! # A read-then-cas loop
//!
//! The token carries the loop's state, so the loop is a small state machine. The important
//! case is the indefinite one: after a timeout (code 0) or a crash (code 13) the cas may or
//! may not have been applied. The loop below stays correct because only this node writes its
//! key: re-reading tells whether our write landed.
//!
//! ```
//! use maelstrom::services::{cas_outcome, read_value, CasOutcome, SEQ_KV};
//! use maelstrom::{Context, ErrorBody, Init, Node, Request, RpcResult};
//! use std::time::Duration;
//!
//! const TIMEOUT: Duration = Duration::from_millis(500);
//!
//! /// Adds to a per-node total kept in seq-kv under this node's id.
//! struct Adder { pending: u64 }
//!
//! enum Step {
//!     Read,
//!     Cas { from: u64, to: u64 },
//! }
//!
//! #[derive(serde::Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Payload { Add { delta: u64 } }
//!
//! impl Adder {
//!     fn read(&self, ctx: &mut Context<Self>) {
//!         let key = ctx.node_id().to_owned();
//!         SEQ_KV.read(ctx, &key, TIMEOUT, Step::Read);
//!     }
//! }
//!
//! impl Node for Adder {
//!     type Payload = Payload;
//!     type Timer = ();
//!     type Token = Step;
//!
//!     fn from_init(_: &Init, _: &mut Context<Self>) -> Self { Adder { pending: 0 } }
//!
//!     fn on_message(&mut self, ctx: &mut Context<Self>, req: Request<Payload>) -> Result<(), ErrorBody> {
//!         let Payload::Add { delta } = req.payload;
//!         self.pending += delta;
//!         ctx.reply(&req, &serde_json::json!({"type": "add_ok"}));
//!         if ctx.pending_rpcs() == 0 { self.read(ctx); }
//!         Ok(())
//!     }
//!
//!     fn on_reply(&mut self, ctx: &mut Context<Self>, step: Step, result: RpcResult) {
//!         match step {
//!             Step::Read => match read_value::<u64>(result) {
//!                 Ok(current) if self.pending > 0 => {
//!                     let from = current.unwrap_or(0);
//!                     let to = from + self.pending;
//!                     let key = ctx.node_id().to_owned();
//!                     SEQ_KV.cas(ctx, &key, &from, &to, true, TIMEOUT, Step::Cas { from, to });
//!                 }
//!                 Ok(_) => {}
//!                 Err(_) => self.read(ctx), // nothing changed: just read again
//!             },
//!             Step::Cas { from, to } => match cas_outcome(result) {
//!                 Ok(CasOutcome::Swapped) => { self.pending -= to - from; }
//!                 // Definitely not applied: someone else's value, or no key yet.
//!                 Ok(CasOutcome::ValueDiffers | CasOutcome::KeyMissing) => self.read(ctx),
//!                 // Maybe applied. Only we write this key, so a fresh read settles it: a
//!                 // production node would compare it with `to` before retrying.
//!                 Err(_) => self.read(ctx),
//!             },
//!         }
//!     }
//! }
//! ```

use crate::context::Context;
use crate::error::{ErrorBody, ErrorCode};
use crate::node::{Node, RpcResult};
use crate::protocol::MsgId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A key-value service, named by its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kv {
    service: &'static str,
}

/// The linearizable key-value store.
pub const LIN_KV: Kv = Kv::new("lin-kv");
/// The sequentially consistent key-value store: reads may be stale.
pub const SEQ_KV: Kv = Kv::new("seq-kv");
/// The last-write-wins key-value store.
pub const LWW_KV: Kv = Kv::new("lww-kv");

/// The body of a key-value request, as services expect it.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KvRequest<'a, K: ?Sized, V: ?Sized> {
    /// Read a key.
    Read {
        /// The key.
        key: &'a K,
    },
    /// Set a key, creating it if needed.
    Write {
        /// The key.
        key: &'a K,
        /// The new value.
        value: &'a V,
    },
    /// Compare-and-set.
    Cas {
        /// The key.
        key: &'a K,
        /// The value the key must hold.
        from: &'a V,
        /// The value to store.
        to: &'a V,
        /// Create the key with `to` when it is missing (then `from` is ignored).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        create_if_not_exists: bool,
    },
}

impl Kv {
    /// A client for the service at endpoint `service`.
    pub const fn new(service: &'static str) -> Self {
        Kv { service }
    }

    /// The service's endpoint id.
    pub fn name(&self) -> &'static str {
        self.service
    }

    /// Reads `key`; decode the reply with [`read_value`].
    pub fn read<N: Node, K: Serialize + ?Sized>(
        &self,
        ctx: &mut Context<N>,
        key: &K,
        timeout: Duration,
        token: N::Token,
    ) -> MsgId {
        ctx.rpc(
            self.service,
            &KvRequest::Read::<'_, K, ()> { key },
            timeout,
            token,
        )
    }

    /// Writes `value` under `key`; decode the reply with [`write_done`].
    pub fn write<N: Node, K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        ctx: &mut Context<N>,
        key: &K,
        value: &V,
        timeout: Duration,
        token: N::Token,
    ) -> MsgId {
        ctx.rpc(
            self.service,
            &KvRequest::Write { key, value },
            timeout,
            token,
        )
    }

    /// Sets `key` to `to` if it holds `from` (or, with `create_if_not_exists`, if it is
    /// missing); decode the reply with [`cas_outcome`].
    #[allow(clippy::too_many_arguments)]
    pub fn cas<N: Node, K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        ctx: &mut Context<N>,
        key: &K,
        from: &V,
        to: &V,
        create_if_not_exists: bool,
        timeout: Duration,
        token: N::Token,
    ) -> MsgId {
        let request = KvRequest::Cas {
            key,
            from,
            to,
            create_if_not_exists,
        };
        ctx.rpc(self.service, &request, timeout, token)
    }
}

/// Decodes a read reply: `Ok(Some(value))`, `Ok(None)` when the key does not exist (code 20),
/// or the error (check [`ErrorBody::is_definite`] before assuming nothing happened).
pub fn read_value<T: DeserializeOwned>(result: RpcResult) -> Result<Option<T>, ErrorBody> {
    #[derive(Deserialize)]
    struct ReadOk<T> {
        value: T,
    }
    match result {
        Ok(reply) => reply.parse::<ReadOk<T>>().map(|ok| Some(ok.value)),
        Err(e) if e.code == ErrorCode::KEY_DOES_NOT_EXIST => Ok(None),
        Err(e) => Err(e),
    }
}

/// Decodes a write reply.
pub fn write_done(result: RpcResult) -> Result<(), ErrorBody> {
    expect_type(result, "write_ok")
}

/// What a cas did, when the service gave a definite answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasOutcome {
    /// The value was replaced.
    Swapped,
    /// The key held another value (code 22); nothing changed.
    ValueDiffers,
    /// The key does not exist (code 20); nothing changed.
    KeyMissing,
}

/// Decodes a cas reply. `Err` holds any other error, including timeouts, after which the cas
/// may or may not have been applied.
pub fn cas_outcome(result: RpcResult) -> Result<CasOutcome, ErrorBody> {
    match expect_type(result, "cas_ok") {
        Ok(()) => Ok(CasOutcome::Swapped),
        Err(e) if e.code == ErrorCode::PRECONDITION_FAILED => Ok(CasOutcome::ValueDiffers),
        Err(e) if e.code == ErrorCode::KEY_DOES_NOT_EXIST => Ok(CasOutcome::KeyMissing),
        Err(e) => Err(e),
    }
}

/// The linearizable timestamp oracle: unique, increasing timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tso {
    service: &'static str,
}

/// The `lin-tso` service.
pub const LIN_TSO: Tso = Tso { service: "lin-tso" };

impl Tso {
    /// Asks for a timestamp; decode the reply with [`timestamp`].
    pub fn ts<N: Node>(&self, ctx: &mut Context<N>, timeout: Duration, token: N::Token) -> MsgId {
        ctx.rpc(
            self.service,
            &serde_json::json!({"type": "ts"}),
            timeout,
            token,
        )
    }
}

/// Decodes a `ts_ok` reply into the timestamp.
pub fn timestamp(result: RpcResult) -> Result<u64, ErrorBody> {
    #[derive(Deserialize)]
    struct TsOk {
        ts: u64,
    }
    result?.parse::<TsOk>().map(|ok| ok.ts)
}

fn expect_type(result: RpcResult, expected: &str) -> Result<(), ErrorBody> {
    let reply = result?;
    match reply.kind() {
        Some(kind) if kind == expected => Ok(()),
        other => Err(ErrorBody::malformed_request(format!(
            "expected {expected} from {}, got {other:?}",
            reply.src
        ))),
    }
}
