//! Typed clients for Maelstrom's built-in services: `lin-kv`, `seq-kv`, `lww-kv` and `lin-tso`.
//!
//! A service call is an ordinary RPC whose reply is already decoded into what it means: a
//! read completes with `Option<value>` (a missing key is `None`), a cas with a
//! [`CasOutcome`], a write with `()`, a timestamp request with the timestamp. Each call takes
//! the function that makes the node's token of that outcome; the token comes back to
//! [`Node::on_reply`](crate::Node::on_reply). The decoders ([`read_value`], [`write_done`],
//! [`cas_outcome`], [`timestamp`]) are public for code that sees raw reply bodies.
//!
//! # A read-then-cas loop
//!
//! The token carries the loop's state, so the loop is a small state machine. The important
//! case is the indefinite one: after a timeout (code 0) or a crash (code 13) the cas may or
//! may not have been applied. The loop below stays correct because only this node writes its
//! key: re-reading tells whether our write landed.
//!
//! ```
//! use maelstrom::services::{CasOutcome, SEQ_KV};
//! use maelstrom::{Context, ErrorBody, Init, Node, Request};
//! use std::time::Duration;
//!
//! const TIMEOUT: Duration = Duration::from_millis(500);
//!
//! /// Adds to a per-node total kept in seq-kv under this node's id.
//! struct Adder { pending: u64 }
//!
//! enum Step {
//!     Read(Result<Option<u64>, ErrorBody>),
//!     Cas { from: u64, to: u64, outcome: Result<CasOutcome, ErrorBody> },
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
//!     fn on_reply(&mut self, ctx: &mut Context<Self>, step: Step) {
//!         match step {
//!             Step::Read(Ok(current)) if self.pending > 0 => {
//!                 let from = current.unwrap_or(0);
//!                 let to = from + self.pending;
//!                 let key = ctx.node_id().to_owned();
//!                 SEQ_KV.cas(ctx, &key, &from, &to, true, TIMEOUT, move |outcome| {
//!                     Step::Cas { from, to, outcome }
//!                 });
//!             }
//!             Step::Read(Ok(_)) => {}
//!             Step::Read(Err(_)) => self.read(ctx), // nothing changed: just read again
//!             Step::Cas { from, to, outcome } => match outcome {
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
use crate::node::Node;
use crate::protocol::MsgId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// An RPC's raw outcome: the reply body, or the error.
pub type RawResult = Result<Value, ErrorBody>;

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

    /// Reads `key`; `complete` gets its value, `None` if the key does not exist, or the
    /// error (check [`ErrorBody::is_definite`] before assuming nothing happened).
    pub fn read<N, K, V, F>(
        &self,
        ctx: &mut Context<N>,
        key: &K,
        timeout: Duration,
        complete: F,
    ) -> MsgId
    where
        N: Node,
        K: Serialize + ?Sized,
        V: DeserializeOwned,
        F: FnOnce(Result<Option<V>, ErrorBody>) -> N::Token + Send + 'static,
    {
        let request = KvRequest::Read::<'_, K, ()> { key };
        ctx.rpc(self.service, &request, timeout, move |raw| {
            complete(read_value(raw))
        })
    }

    /// Writes `value` under `key`; `complete` gets `Ok(())` or the error.
    pub fn write<N, K, V, F>(
        &self,
        ctx: &mut Context<N>,
        key: &K,
        value: &V,
        timeout: Duration,
        complete: F,
    ) -> MsgId
    where
        N: Node,
        K: Serialize + ?Sized,
        V: Serialize + ?Sized,
        F: FnOnce(Result<(), ErrorBody>) -> N::Token + Send + 'static,
    {
        let request = KvRequest::Write { key, value };
        ctx.rpc(self.service, &request, timeout, move |raw| {
            complete(write_done(raw))
        })
    }

    /// Sets `key` to `to` if it holds `from` (or, with `create_if_not_exists`, if it is
    /// missing); `complete` gets what it did (see [`CasOutcome`]) or any other error,
    /// after which the cas may or may not have been applied.
    #[allow(clippy::too_many_arguments)]
    pub fn cas<N, K, V, F>(
        &self,
        ctx: &mut Context<N>,
        key: &K,
        from: &V,
        to: &V,
        create_if_not_exists: bool,
        timeout: Duration,
        complete: F,
    ) -> MsgId
    where
        N: Node,
        K: Serialize + ?Sized,
        V: Serialize + ?Sized,
        F: FnOnce(Result<CasOutcome, ErrorBody>) -> N::Token + Send + 'static,
    {
        let request = KvRequest::Cas {
            key,
            from,
            to,
            create_if_not_exists,
        };
        ctx.rpc(self.service, &request, timeout, move |raw| {
            complete(cas_outcome(raw))
        })
    }
}

/// Decodes a read reply: `Ok(Some(value))`, `Ok(None)` when the key does not exist (code 20),
/// or the error (check [`ErrorBody::is_definite`] before assuming nothing happened).
pub fn read_value<T: DeserializeOwned>(result: RawResult) -> Result<Option<T>, ErrorBody> {
    #[derive(Deserialize)]
    struct ReadOk<T> {
        value: T,
    }
    match result {
        Ok(body) => parse::<ReadOk<T>>(body).map(|ok| Some(ok.value)),
        Err(e) if e.code == ErrorCode::KEY_DOES_NOT_EXIST => Ok(None),
        Err(e) => Err(e),
    }
}

/// Decodes a write reply.
pub fn write_done(result: RawResult) -> Result<(), ErrorBody> {
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
pub fn cas_outcome(result: RawResult) -> Result<CasOutcome, ErrorBody> {
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
    /// Asks for a timestamp; `complete` gets it, or the error.
    pub fn ts<N, F>(&self, ctx: &mut Context<N>, timeout: Duration, complete: F) -> MsgId
    where
        N: Node,
        F: FnOnce(Result<u64, ErrorBody>) -> N::Token + Send + 'static,
    {
        let request = serde_json::json!({"type": "ts"});
        ctx.rpc(self.service, &request, timeout, move |raw| {
            complete(timestamp(raw))
        })
    }
}

/// Decodes a `ts_ok` reply into the timestamp.
pub fn timestamp(result: RawResult) -> Result<u64, ErrorBody> {
    #[derive(Deserialize)]
    struct TsOk {
        ts: u64,
    }
    parse::<TsOk>(result?).map(|ok| ok.ts)
}

fn expect_type(result: RawResult, expected: &str) -> Result<(), ErrorBody> {
    let body = result?;
    match body.get("type").and_then(Value::as_str) {
        Some(kind) if kind == expected => Ok(()),
        other => Err(ErrorBody::malformed_request(format!(
            "expected {expected}, got {other:?}"
        ))),
    }
}

fn parse<T: DeserializeOwned>(body: Value) -> Result<T, ErrorBody> {
    T::deserialize(body)
        .map_err(|e| ErrorBody::malformed_request(format!("service reply did not parse: {e}")))
}
