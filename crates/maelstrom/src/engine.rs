//! The sans-IO engine: turns input lines and the passage of time into calls on a [`Node`]
//! and output lines. The stdin/stdout runtime and the test kit are both thin shells around it.
//!
//! The engine owns everything the protocol requires of every node, so users never write it:
//! the `init` handshake, message-id allocation, matching replies to pending RPCs, RPC
//! timeouts, timers, and answering bad input with the right error code instead of crashing.

use crate::context::{Context, Time};
use crate::decode::{decode_line_with, Dest, Incoming};
use crate::error::ErrorBody;
use crate::node::{Init, Node, Request};
use crate::protocol::MsgId;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde_json::Value;

/// Drives one node. Feed it lines with [`Engine::handle_line`], let time pass with
/// [`Engine::handle_deadlines`], and take what it wrote from [`Engine::output`].
///
/// ```
/// # use maelstrom::{ErrorBody, Handler};
/// # #[derive(serde::Deserialize)] #[serde(tag = "type", rename_all = "snake_case")]
/// # enum Payload { Ping }
/// # #[derive(Default)] struct Pinger;
/// # impl Handler for Pinger {
/// #     type Payload = Payload; type Reply = serde_json::Value;
/// #     fn handle(&mut self, _: Payload) -> Result<serde_json::Value, ErrorBody> {
/// #         Ok(serde_json::json!({"type": "pong"}))
/// #     }
/// # }
/// use std::time::Duration;
/// let mut engine = maelstrom::Engine::<Pinger>::new(0);
/// // Before init the node answers error 11, from the id the message was sent to.
/// engine.handle_line(r#"{"src":"c1","dest":"n0","body":{"type":"ping","msg_id":1}}"#, Duration::ZERO);
/// let init = r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#;
/// engine.handle_line(init, Duration::ZERO);
/// let out = String::from_utf8(std::mem::take(engine.output())).unwrap();
/// assert!(out.lines().next().unwrap().contains(r#""code":11"#));
/// assert!(out.lines().nth(1).unwrap().contains("init_ok"));
/// ```
pub struct Engine<N: Node> {
    node: Option<N>,
    ctx: Context<N>,
    seed: u64,
    /// The current request's sender, kept for an error reply after the handler consumed
    /// the request; reused so that the hot path does not allocate for it.
    replying_to: String,
}

impl<N: Node> Engine<N> {
    /// A fresh engine, waiting for `init`. The node's RNG is derived from `seed` and the node
    /// id, so nodes of one run differ while the run stays reproducible.
    pub fn new(seed: u64) -> Self {
        Engine {
            node: None,
            ctx: Context::new(Pcg64Mcg::seed_from_u64(seed)),
            seed,
            replying_to: String::new(),
        }
    }

    /// The node, once `init` has created it.
    pub fn node(&self) -> Option<&N> {
        self.node.as_ref()
    }

    /// The node's context (ids, pending RPCs, ...).
    pub fn context(&self) -> &Context<N> {
        &self.ctx
    }

    /// Encoded output lines, each ending in `\n`. The caller writes and clears it.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.ctx.out
    }

    /// When the engine next needs [`Engine::handle_deadlines`] to be called, if ever.
    pub fn next_deadline(&self) -> Option<Time> {
        self.ctx.next_deadline()
    }

    /// Fires every timer and RPC timeout due at or before `now`, earliest first.
    pub fn handle_deadlines(&mut self, now: Time) {
        self.ctx.now = self.ctx.now.max(now);
        loop {
            let timer = self
                .ctx
                .timers
                .first_key_value()
                .map(|(k, _)| *k)
                .filter(|k| k.0 <= now);
            let rpc = self
                .ctx
                .rpc_deadlines
                .first()
                .copied()
                .filter(|k| k.0 <= now);
            match (timer, rpc) {
                (Some(t), Some(r)) if r.0 < t.0 => self.expire_rpc(r),
                (Some(t), _) => self.fire_timer(t),
                (None, Some(r)) => self.expire_rpc(r),
                (None, None) => break,
            }
        }
    }

    fn fire_timer(&mut self, key: (Time, crate::context::TimerId)) {
        let Some(timer) = self.ctx.timers.remove(&key) else {
            return;
        };
        self.ctx.timer_deadlines.remove(&key.1);
        if let Some(node) = self.node.as_mut() {
            node.on_timer(&mut self.ctx, timer);
        }
    }

    fn expire_rpc(&mut self, key: (Time, MsgId)) {
        self.ctx.rpc_deadlines.remove(&key);
        let Some(pending) = self.ctx.rpcs.remove(&key.1) else {
            return;
        };
        let error = if pending.unsent {
            ErrorBody::abort(format!("request to {} could not be encoded", pending.dest))
        } else {
            tracing::debug!(msg_id = key.1, dest = pending.dest, "rpc timed out");
            ErrorBody::timeout(format!(
                "no reply from {} to msg {} in time",
                pending.dest, key.1
            ))
        };
        let token = (pending.complete)(&pending.dest, Err(error));
        if let Some(node) = self.node.as_mut() {
            node.on_reply(&mut self.ctx, token);
        }
    }

    /// Handles one input line (without its line terminator). Never panics on bad input: it
    /// logs the problem to stderr and, when the message can be answered, answers with error
    /// 10, 11 or 12.
    pub fn handle_line(&mut self, line: &str, now: Time) {
        self.handle_incoming(decode_line_with(line, self.dest_wanted()), now);
    }

    /// Whether lines decoded for this engine need their `dest`: only until `init`.
    pub fn dest_wanted(&self) -> Dest {
        match self.node {
            None => Dest::Keep,
            Some(_) => Dest::Drop,
        }
    }

    /// Handles a line decoded earlier with [`decode_line_with`], possibly on another thread;
    /// see [`Engine::dest_wanted`].
    pub fn handle_incoming(&mut self, incoming: Incoming<N::Payload>, now: Time) {
        self.ctx.now = self.ctx.now.max(now);
        match incoming {
            Incoming::Skip => {}
            Incoming::Init {
                src,
                dest,
                msg_id,
                init,
            } => self.handle_init(&src, dest.as_deref(), msg_id, init),
            Incoming::Reply {
                src,
                in_reply_to,
                result,
            } => self.handle_reply(&src, in_reply_to, result),
            Incoming::Request {
                src,
                dest,
                msg_id,
                kind,
                payload,
            } => {
                let Some(node) = self.node.as_mut() else {
                    tracing::warn!(src, kind, "message before init");
                    let error =
                        ErrorBody::temporarily_unavailable("node has not received init yet");
                    self.reply_error_before_init(&src, dest.as_deref(), msg_id, &error);
                    return;
                };
                match payload {
                    Ok(payload) => {
                        let request = Request {
                            src,
                            msg_id,
                            payload,
                        };
                        self.replying_to.clone_from(&request.src);
                        if let Err(error) = node.on_message(&mut self.ctx, request) {
                            let src = &self.replying_to;
                            tracing::debug!(src, kind, "handler refused: {error}");
                            self.ctx.reply_error(src, msg_id, &error);
                        }
                    }
                    Err(error) => self.ctx.reply_error(&src, msg_id, &error),
                }
            }
        }
    }

    /// Answers from the address the message was sent to, the only id the node can claim
    /// before `init`; without one it stays silent, since an answer from `""` is what
    /// Maelstrom takes for a broken node.
    fn reply_error_before_init(
        &mut self,
        src: &str,
        dest: Option<&str>,
        msg_id: Option<MsgId>,
        error: &ErrorBody,
    ) {
        match dest.filter(|d| !d.is_empty()) {
            Some(dest) => self.ctx.reply_error_from(dest, src, msg_id, error),
            None => tracing::warn!(
                src,
                "not answering: the message names no dest to answer from"
            ),
        }
    }

    fn handle_init(
        &mut self,
        src: &str,
        dest: Option<&str>,
        msg_id: Option<MsgId>,
        init: Result<Init, ErrorBody>,
    ) {
        if self.node.is_some() {
            // The node and its ids stay as the first init made them: re-creating the node
            // would throw its state away, and changing its id under it would break whatever
            // it built from that id (keys, peer lists). The init is still answered, as the
            // Go library does, so that a client re-sending an init whose answer it missed is
            // not left waiting.
            match init {
                Ok(init) => {
                    if init.node_id != self.ctx.node_id || init.node_ids != self.ctx.node_ids {
                        tracing::warn!(
                            src,
                            node_id = init.node_id,
                            "a second init names other ids; keeping the first ones"
                        );
                    } else {
                        tracing::info!(src, "a second init; the node keeps its state");
                    }
                    self.ctx.reply_to(src, msg_id, &InitOk::new());
                }
                Err(error) => self.ctx.reply_error(src, msg_id, &error),
            }
            return;
        }
        let init = match init {
            Ok(init) => init,
            Err(error) => {
                self.reply_error_before_init(src, dest, msg_id, &error);
                return;
            }
        };
        self.ctx.node_id.clone_from(&init.node_id);
        self.ctx.node_ids.clone_from(&init.node_ids);
        self.ctx.rng = Pcg64Mcg::seed_from_u64(self.seed ^ stable_hash(&init.node_id));
        tracing::info!(
            node_id = init.node_id,
            nodes = init.node_ids.len(),
            "initialised"
        );
        self.node = Some(N::from_init(&init, &mut self.ctx));
        self.ctx.reply_to(src, msg_id, &InitOk::new());
    }

    fn handle_reply(&mut self, src: &str, in_reply_to: MsgId, result: Result<Value, ErrorBody>) {
        let Some(pending) = self.ctx.rpcs.remove(&in_reply_to) else {
            tracing::debug!(
                src,
                in_reply_to,
                "dropping a reply nobody waits for (late or unknown)"
            );
            return;
        };
        self.ctx
            .rpc_deadlines
            .remove(&(pending.deadline, in_reply_to));
        let token = (pending.complete)(src, result);
        if let Some(node) = self.node.as_mut() {
            node.on_reply(&mut self.ctx, token);
        }
    }
}

#[derive(serde::Serialize)]
struct InitOk {
    #[serde(rename = "type")]
    kind: &'static str,
}

impl InitOk {
    fn new() -> Self {
        InitOk { kind: "init_ok" }
    }
}

/// FNV-1a: stable across runs and platforms, unlike `DefaultHasher`.
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
