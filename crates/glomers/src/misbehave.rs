//! A node that breaks the rules on purpose, for the workbench's negative tests (the
//! `misbehave` binary) and for simulation tests that must show the same verdict as a
//! process run of that binary. Its mode names the misbehaviour (`Mode`: the binary takes it
//! from its first argument, a simulation from a type):
//!
//! - `wrong-echo`: echoes a different value;
//! - `dup-ids`: every node hands out the same ids;
//! - `extra-key`: echo replies carry an extra body key;
//! - `non-json`: prints a log line on stdout after a few requests;
//! - `exit`: exits after a few requests;
//! - `no-init`: never answers `init`;
//! - `slow`: answers echo after 6 s (past the client timeout), to a then-closed client;
//! - `gossip`: behaves, and also sends a one-way `noise` message to every peer per echo
//!   (load for the network benchmarks);
//! - `flood [BATCH]`: behaves, and every 5 ms sends BATCH (default 20; the first numeric
//!   argument) `noise` messages to random peers;
//! - `broadcast-once`: broadcast that tells each peer once and never retries;
//! - `counter-rmw`: a g-counter that keeps one shared key in `seq-kv` with a read-then-cas
//!   loop and answers reads from a plain `seq-kv` read (stale reads are allowed there);
//! - `g-set-local`: a g-set whose nodes never share their elements (valid on one node only);
//! - `lin-kv-proxy`: lin-kv requests forwarded to the lin-kv service (linearizable);
//! - `lww-kv-proxy`: lin-kv requests forwarded to the lww-kv service (last write wins: its
//!   reads may be stale, so the store is not linearizable);
//! - `lin-kv-local`: lin-kv served from each node's own map (stale across nodes);
//! - `list-append-local`: txn-list-append served from each node's own lists, each
//!   transaction atomically (strict serializable on one node only);
//! - `kafka-local`: kafka logs kept per node, offsets assigned without coordination;
//! - `txn-dirty`: a txn store that applies each write the moment it runs, streams every
//!   write (intermediate ones too) to its peers one message at a time, and answers every
//!   fifth transaction with a definite error after applying it;
//! - `no-newline`: after `init`, prints bytes on stdout forever without a newline;
//! - `dup-key`: broadcast that tells each peer once, printing the body's `type` twice
//!   (`noise` first, `share` last), as some serde layouts do; upstream delivers the last;
//! - `close-stdout`: after a few requests, points its stdout at /dev/null and keeps running;
//! - `good`: behaves (echo and generate).
//!
//! `non-json`, `exit`, `no-init`, `no-newline`, `dup-key` and `close-stdout` act on the
//! process itself (its stdout, its exit), so they mean something only in the binary.

use maelstrom::services::{CasOutcome, SEQ_KV};
use maelstrom::{Context, ErrorBody, Init, Node, Request};
use rand::Rng;
use serde_json::{json, Value};
use std::marker::PhantomData;
use std::time::Duration;

const FLOOD_EVERY: Duration = Duration::from_millis(5);
/// The default batch of the `flood` mode.
const FLOOD_BATCH: usize = 20;

/// The messages, RPC tokens and timers of every mode: public for the `Node` impl, not
/// reachable from outside (nobody builds them but the node itself).
mod protocol {
    use maelstrom::services::CasOutcome;
    use maelstrom::ErrorBody;
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum Payload {
        Echo {
            echo: Value,
        },
        Generate,
        Noise,
        Topology,
        Broadcast {
            message: Value,
        },
        Read {
            /// lin-kv's key.
            #[serde(default)]
            key: Option<Value>,
        },
        Write {
            key: Value,
            value: Value,
        },
        Cas {
            key: Value,
            from: Value,
            to: Value,
        },
        Share {
            message: Value,
        },
        Add {
            #[serde(default)]
            delta: i64,
            /// g-set's add.
            #[serde(default)]
            element: Option<Value>,
        },
        Send {
            key: String,
            msg: Value,
        },
        Poll {
            offsets: std::collections::BTreeMap<String, usize>,
        },
        CommitOffsets,
        ListCommittedOffsets,
        Txn {
            txn: Vec<(String, Value, Value)>,
        },
        Apply {
            key: Value,
            value: Value,
        },
    }

    /// The counter-rmw mode's RPCs: which client request they serve.
    pub enum Token {
        AddRead {
            delta: i64,
            src: String,
            msg_id: Option<u64>,
            read: Result<Option<i64>, ErrorBody>,
        },
        AddCas {
            delta: i64,
            src: String,
            msg_id: Option<u64>,
            outcome: Result<CasOutcome, ErrorBody>,
        },
        Read {
            src: String,
            msg_id: Option<u64>,
            read: Result<Option<i64>, ErrorBody>,
        },
        /// lin-kv-proxy: a client request forwarded to the lin-kv service.
        Relay {
            src: String,
            msg_id: Option<u64>,
            reply: Result<Value, ErrorBody>,
        },
    }

    pub enum Timer {
        Reply(String, Option<u64>, Value),
        Flood,
        Garbage,
    }
}
use protocol::{Payload, Timer, Token};

const KV_TIMEOUT: Duration = Duration::from_millis(1000);

/// Where a node learns its misbehaviour. A type rather than a value because a
/// `maelstrom::Node` is built by the library at `init`, from nothing but the init message.
pub trait Mode: 'static {
    /// The mode's name (see the module's list).
    fn name() -> String;
    /// `flood`'s messages per 5 ms.
    fn flood_batch() -> usize {
        FLOOD_BATCH
    }
}

/// The `misbehave` binary's mode: its first argument (default `good`), and `flood`'s batch
/// as the first numeric argument after it.
pub struct FromArgs;

impl Mode for FromArgs {
    fn name() -> String {
        std::env::args().nth(1).unwrap_or_else(|| "good".into())
    }

    fn flood_batch() -> usize {
        std::env::args()
            .skip(2)
            .find_map(|b| b.parse().ok())
            .unwrap_or(FLOOD_BATCH)
    }
}

/// The node; `M` says how it misbehaves.
pub struct Misbehave<M> {
    mode: String,
    flood_batch: usize,
    /// `fn() -> M`: the node is `Send` whatever `M` is.
    source: PhantomData<fn() -> M>,
    served: u64,
    values: Vec<Value>,
    logs: std::collections::BTreeMap<String, Vec<Value>>,
    registers: std::collections::BTreeMap<String, Value>,
    lists: std::collections::BTreeMap<String, Vec<Value>>,
}

impl<M: Mode> Misbehave<M> {
    /// lin-kv requests: `lin-kv-proxy` forwards them to the lin-kv service (linearizable),
    /// `lww-kv-proxy` to the lww-kv service (stale reads);
    /// `lin-kv-local` serves them from this node's own map (stale across nodes).
    fn lin_kv(
        &mut self,
        ctx: &mut Context<Self>,
        src: String,
        msg_id: Option<u64>,
        request: Value,
    ) {
        if let Some(service) = match self.mode.as_str() {
            "lin-kv-proxy" => Some("lin-kv"),
            "lww-kv-proxy" => Some("lww-kv"),
            _ => None,
        } {
            ctx.rpc(service, &request, KV_TIMEOUT, move |reply| Token::Relay {
                src,
                msg_id,
                reply,
            });
            return;
        }
        let key = request["key"].to_string();
        let current = self.registers.get(&key).cloned();
        match (request["type"].as_str(), current) {
            (Some("read"), Some(v)) => {
                ctx.reply_to(&src, msg_id, &json!({"type": "read_ok", "value": v}))
            }
            (Some("write"), _) => {
                self.registers.insert(key, request["value"].clone());
                ctx.reply_to(&src, msg_id, &json!({"type": "write_ok"}));
            }
            (Some("cas"), Some(v)) if v == request["from"] => {
                self.registers.insert(key, request["to"].clone());
                ctx.reply_to(&src, msg_id, &json!({"type": "cas_ok"}));
            }
            (Some("cas"), Some(_)) => ctx.reply_error(
                &src,
                msg_id,
                &ErrorBody::new(
                    maelstrom::ErrorCode::PRECONDITION_FAILED,
                    "from does not match",
                ),
            ),
            _ => ctx.reply_error(
                &src,
                msg_id,
                &ErrorBody::new(maelstrom::ErrorCode::KEY_DOES_NOT_EXIST, "no such key"),
            ),
        }
    }
}

impl<M: Mode> Node for Misbehave<M> {
    type Payload = Payload;
    type Timer = Timer;
    type Token = Token;

    fn from_init(_: &Init, ctx: &mut Context<Self>) -> Self {
        let mode = M::name();
        if mode == "flood" {
            ctx.set_timer(FLOOD_EVERY, Timer::Flood);
        }
        if mode == "no-newline" {
            ctx.set_timer(Duration::from_millis(1), Timer::Garbage);
        }
        Misbehave {
            mode,
            flood_batch: M::flood_batch(),
            source: PhantomData,
            served: 0,
            values: Vec::new(),
            logs: Default::default(),
            registers: Default::default(),
            lists: Default::default(),
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        r: Request<Payload>,
    ) -> Result<(), ErrorBody> {
        self.served += 1;
        match self.mode.as_str() {
            "non-json" if self.served == 5 => eprint_then_stdout("debug: got a request"),
            "exit" if self.served == 5 => {
                eprintln!("misbehave: exiting on purpose");
                std::process::exit(3)
            }
            "close-stdout" if self.served == 5 => {
                if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
                    let _ = nix::unistd::dup2_stdout(&null);
                }
                eprintln!("misbehave: stdout now goes nowhere");
            }
            _ => {}
        }
        match r.payload {
            Payload::Echo { echo } => match self.mode.as_str() {
                "wrong-echo" => ctx.reply_to(
                    &r.src,
                    r.msg_id,
                    &json!({"type": "echo_ok", "echo": "something else"}),
                ),
                "extra-key" => ctx.reply_to(
                    &r.src,
                    r.msg_id,
                    &json!({"type": "echo_ok", "echo": echo, "node": "n0"}),
                ),
                "slow" => {
                    ctx.set_timer(Duration::from_secs(6), Timer::Reply(r.src, r.msg_id, echo));
                }
                "gossip" => {
                    ctx.reply_to(&r.src, r.msg_id, &json!({"type": "echo_ok", "echo": echo}));
                    let peers: Vec<String> = ctx.peers().map(str::to_owned).collect();
                    for peer in peers {
                        ctx.send(&peer, &json!({"type": "noise"}));
                    }
                }
                _ => ctx.reply_to(&r.src, r.msg_id, &json!({"type": "echo_ok", "echo": echo})),
            },
            Payload::Generate => {
                let id = if self.mode == "dup-ids" {
                    self.served
                } else {
                    self.served * 1000 + ctx.node_id().len() as u64
                };
                let id = if self.mode == "dup-ids" {
                    json!(id)
                } else {
                    json!(format!("{}-{}", ctx.node_id(), id))
                };
                ctx.reply_to(&r.src, r.msg_id, &json!({"type": "generate_ok", "id": id}));
            }
            Payload::Noise => {}
            Payload::Txn { mut txn } if self.mode == "list-append-local" => {
                for (f, key, value) in &mut txn {
                    let list = self.lists.entry(key.to_string()).or_default();
                    if f == "r" {
                        *value = if list.is_empty() {
                            Value::Null
                        } else {
                            json!(list)
                        };
                    } else {
                        list.push(value.clone());
                    }
                }
                ctx.reply_to(&r.src, r.msg_id, &json!({"type": "txn_ok", "txn": txn}));
            }
            Payload::Txn { mut txn } => {
                let peers: Vec<String> = ctx.peers().map(str::to_owned).collect();
                for (f, key, value) in &mut txn {
                    if f == "r" {
                        *value = self
                            .registers
                            .get(&key.to_string())
                            .cloned()
                            .unwrap_or(Value::Null);
                    } else {
                        self.registers.insert(key.to_string(), value.clone());
                        for peer in &peers {
                            ctx.send(peer, &json!({"type": "apply", "key": key, "value": value}));
                        }
                    }
                }
                if self.served % 5 == 0 {
                    return Err(ErrorBody::new(
                        maelstrom::ErrorCode::TXN_CONFLICT,
                        "txn conflict (after applying it)",
                    ));
                }
                ctx.reply_to(&r.src, r.msg_id, &json!({"type": "txn_ok", "txn": txn}));
            }
            Payload::Apply { key, value } => {
                self.registers.insert(key.to_string(), value);
            }
            // Broadcast, naively: tell every peer once and never retry.
            Payload::Topology => ctx.reply_to(&r.src, r.msg_id, &json!({"type": "topology_ok"})),
            Payload::Broadcast { message } => {
                ctx.reply_to(&r.src, r.msg_id, &json!({"type": "broadcast_ok"}));
                let peers: Vec<String> = ctx.peers().map(str::to_owned).collect();
                for peer in peers {
                    if self.mode == "dup-key" {
                        eprint_then_stdout(&format!(
                            r#"{{"src":"{}","dest":"{peer}","body":{{"type":"noise","message":{message},"type":"share"}}}}"#,
                            ctx.node_id()
                        ));
                    } else {
                        ctx.send(&peer, &json!({"type": "share", "message": message}));
                    }
                }
                self.values.push(message);
            }
            Payload::Share { message } => self.values.push(message),
            // Kafka with per-node logs and no coordination at all.
            Payload::Send { key, msg } => {
                let log = self.logs.entry(key).or_default();
                log.push(msg);
                ctx.reply_to(
                    &r.src,
                    r.msg_id,
                    &json!({"type": "send_ok", "offset": log.len() - 1}),
                );
            }
            Payload::Poll { offsets } => {
                let mut msgs = serde_json::Map::new();
                for (key, from) in offsets {
                    let pairs: Vec<Value> = self
                        .logs
                        .get(&key)
                        .map_or(&[][..], Vec::as_slice)
                        .iter()
                        .enumerate()
                        .skip(from)
                        .map(|(o, m)| json!([o, m]))
                        .collect();
                    if !pairs.is_empty() {
                        msgs.insert(key, Value::Array(pairs));
                    }
                }
                ctx.reply_to(&r.src, r.msg_id, &json!({"type": "poll_ok", "msgs": msgs}));
            }
            Payload::CommitOffsets => {
                ctx.reply_to(&r.src, r.msg_id, &json!({"type": "commit_offsets_ok"}))
            }
            Payload::ListCommittedOffsets => ctx.reply_to(
                &r.src,
                r.msg_id,
                &json!({"type": "list_committed_offsets_ok", "offsets": {}}),
            ),
            Payload::Add {
                element: Some(element),
                ..
            } => {
                self.values.push(element);
                ctx.reply_to(&r.src, r.msg_id, &json!({"type": "add_ok"}));
            }
            Payload::Read { .. } if self.mode == "g-set-local" => ctx.reply_to(
                &r.src,
                r.msg_id,
                &json!({"type": "read_ok", "value": self.values}),
            ),
            Payload::Add { delta, .. } => add_read(ctx, delta, r.src, r.msg_id),
            Payload::Read { .. } if self.mode == "counter-rmw" => {
                let (src, msg_id) = (r.src, r.msg_id);
                SEQ_KV.read(ctx, "counter", KV_TIMEOUT, move |read| Token::Read {
                    src,
                    msg_id,
                    read,
                });
            }
            Payload::Read { key: Some(key) } => {
                self.lin_kv(ctx, r.src, r.msg_id, json!({"type": "read", "key": key}))
            }
            Payload::Write { key, value } => self.lin_kv(
                ctx,
                r.src,
                r.msg_id,
                json!({"type": "write", "key": key, "value": value}),
            ),
            Payload::Cas { key, from, to } => self.lin_kv(
                ctx,
                r.src,
                r.msg_id,
                json!({"type": "cas", "key": key, "from": from, "to": to}),
            ),
            Payload::Read { .. } => ctx.reply_to(
                &r.src,
                r.msg_id,
                &json!({"type": "read_ok", "messages": self.values}),
            ),
        }
        Ok(())
    }

    fn on_reply(&mut self, ctx: &mut Context<Self>, token: Token) {
        match token {
            Token::Relay { src, msg_id, reply } => match reply {
                Ok(mut body) => {
                    if let Some(b) = body.as_object_mut() {
                        b.remove("in_reply_to");
                        b.remove("msg_id");
                    }
                    ctx.reply_to(&src, msg_id, &body);
                }
                Err(e) => ctx.reply_error(&src, msg_id, &e),
            },
            Token::AddRead {
                delta,
                src,
                msg_id,
                read,
            } => match read {
                Ok(current) => {
                    let from = current.unwrap_or(0);
                    let to = from + delta;
                    SEQ_KV.cas(
                        ctx,
                        "counter",
                        &from,
                        &to,
                        true,
                        KV_TIMEOUT,
                        move |outcome| Token::AddCas {
                            delta,
                            src,
                            msg_id,
                            outcome,
                        },
                    );
                }
                Err(_) => add_read(ctx, delta, src, msg_id),
            },
            Token::AddCas {
                delta,
                src,
                msg_id,
                outcome,
            } => match outcome {
                Ok(CasOutcome::Swapped) => ctx.reply_to(&src, msg_id, &json!({"type": "add_ok"})),
                _ => add_read(ctx, delta, src, msg_id),
            },
            Token::Read { src, msg_id, read } => match read {
                Ok(value) => ctx.reply_to(
                    &src,
                    msg_id,
                    &json!({"type": "read_ok", "value": value.unwrap_or(0)}),
                ),
                Err(e) => ctx.reply_error(&src, msg_id, &e),
            },
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>, timer: Timer) {
        match timer {
            Timer::Reply(src, msg_id, echo) => {
                ctx.reply_to(&src, msg_id, &json!({"type": "echo_ok", "echo": echo}))
            }
            Timer::Flood => {
                let peers: Vec<String> = ctx.peers().map(str::to_owned).collect();
                if !peers.is_empty() {
                    for _ in 0..self.flood_batch {
                        let peer = &peers[ctx.rng().gen_range(0..peers.len())];
                        ctx.send(peer, &json!({"type": "noise"}));
                    }
                }
                ctx.set_timer(FLOOD_EVERY, Timer::Flood);
            }
            Timer::Garbage => {
                use std::io::Write;
                let chunk = vec![b'x'; 1 << 16];
                let mut out = std::io::stdout().lock();
                // stdout-ok: deliberately endless output for tests
                let _ = out.write_all(&chunk).and_then(|()| out.flush());
                ctx.set_timer(Duration::from_millis(1), Timer::Garbage);
            }
        }
    }
}

/// `counter-rmw`: the read that starts (or restarts) an add's read-modify-write.
fn add_read<M: Mode>(
    ctx: &mut Context<Misbehave<M>>,
    delta: i64,
    src: String,
    msg_id: Option<u64>,
) {
    SEQ_KV.read(ctx, "counter", KV_TIMEOUT, move |read| Token::AddRead {
        delta,
        src,
        msg_id,
        read,
    });
}

/// Writes a non-message line to stdout, which is exactly the bug under test.
fn eprint_then_stdout(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}"); // stdout-ok: deliberately broken output for tests
    let _ = out.flush();
}
