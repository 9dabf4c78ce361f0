//! Workloads: each one owns its generator and its client (how an operation becomes RPCs and
//! back), in one file per workload, and names the checker that judges its history (in
//! `crate::checker`, or `crate::elle` for transactions).

pub mod broadcast;
pub mod counter;
pub mod echo;
pub mod g_set;
pub mod kafka;
pub mod lin_kv;
pub mod txn_generator;
pub mod txn_list_append;
pub mod txn_rw_register;
pub mod unique_ids;

use crate::client::{ResponseSchema, RpcError};
use crate::history::{Op, OpType};
use crate::options::TestOptions;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// What a generator asks a worker to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The function.
    pub f: String,
    /// Its argument.
    pub value: Value,
    /// A final-phase operation.
    pub is_final: bool,
    /// Client-side parameters that are not part of the history (kafka's
    /// seek-to-beginning).
    pub extra: Option<Value>,
}

impl Invocation {
    /// A main-phase invocation.
    pub fn new(f: &str, value: Value) -> Self {
        Invocation {
            f: f.to_owned(),
            value,
            is_final: false,
            extra: None,
        }
    }

    /// A final-phase invocation.
    pub fn final_op(f: &str, value: Value) -> Self {
        Invocation {
            f: f.to_owned(),
            value,
            is_final: true,
            extra: None,
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// `ok`, `fail` or `info`.
    pub kind: OpType,
    /// The result (or, on failure, the invocation's value).
    pub value: Value,
    /// Why it did not succeed.
    pub error: Option<Value>,
    /// Structured exception data, for indeterminate completions caused by one.
    pub exception: Option<Value>,
}

impl Completion {
    /// A success with this value.
    pub fn ok(value: Value) -> Self {
        Completion {
            kind: OpType::Ok,
            value,
            error: None,
            exception: None,
        }
    }

    /// An indeterminate completion caused by an exception (the worker gets a new process).
    pub fn exception(invocation: &Invocation, class: &str, message: String, data: Value) -> Self {
        Completion {
            kind: OpType::Info,
            value: invocation.value.clone(),
            error: Some(Value::String(format!("indeterminate: {message}"))),
            exception: Some(json!({"class": class, "message": message, "data": data})),
        }
    }
}

/// Produces the operations of one run.
pub trait Generator: Send {
    /// The next main-phase operation; `now` is the time since the run started.
    fn next(&mut self, rng: &mut Pcg64Mcg, now: Duration) -> Invocation;

    /// The next main-phase operation for worker thread `thread` (lin-kv's generator gives
    /// each group of threads its own key and reserves some threads for reads); by default
    /// the thread does not matter.
    fn next_for(&mut self, _thread: usize, rng: &mut Pcg64Mcg, now: Duration) -> Invocation {
        self.next(rng, now)
    }

    /// Learns how an operation by worker thread `thread` ended (kafka's generator steers
    /// assigns and its final phase by what was sent and polled).
    fn observe(&mut self, _thread: usize, _invocation: &Invocation, _completion: &Completion) {}

    /// Whether the workload has a final phase (heal, recovery wait, final operations).
    fn has_final_phase(&self) -> bool {
        false
    }

    /// The next final-phase operation of worker thread `thread` and how long to wait before
    /// it, or `None` once that thread is done.
    fn final_next(
        &mut self,
        _thread: usize,
        _rng: &mut Pcg64Mcg,
    ) -> Option<(Invocation, Duration)> {
        None
    }

    /// The longest the final phase may last (no new operation starts after it).
    fn final_limit(&self) -> Option<Duration> {
        None
    }
}

/// Elle's exponential key choice (base 2) over a pool of `n` positions: position `i` with
/// probability `2^i / (2^n - 1)`, so the last position is the hottest (about half the
/// draws), the one before it half as hot, and so on.
pub fn elle_key_position(rng: &mut Pcg64Mcg, n: usize) -> usize {
    let n = n.max(1);
    let scale = 2.0 * (2f64.powi(n as i32) - 1.0);
    let u = rand::Rng::gen::<f64>(rng) * scale;
    let i = ((u + 2.0).log2() - 1.0).floor();
    (i.max(0.0) as usize).min(n - 1)
}

/// Adds the final phase of broadcast, g-set and the counters to a main-phase generator:
/// one final read on every thread.
#[derive(Debug)]
pub struct WithFinalRead<G> {
    main: G,
    done: std::collections::BTreeSet<usize>,
}

impl<G: Generator> WithFinalRead<G> {
    /// `main`, followed by one final read per thread.
    pub fn new(main: G) -> Self {
        WithFinalRead {
            main,
            done: Default::default(),
        }
    }
}

impl<G: Generator> Generator for WithFinalRead<G> {
    fn next(&mut self, rng: &mut Pcg64Mcg, now: Duration) -> Invocation {
        self.main.next(rng, now)
    }

    fn has_final_phase(&self) -> bool {
        true
    }

    fn final_next(&mut self, thread: usize, _rng: &mut Pcg64Mcg) -> Option<(Invocation, Duration)> {
        self.done
            .insert(thread)
            .then(|| (Invocation::final_op("read", Value::Null), Duration::ZERO))
    }
}

/// A workload: generator, client and checker.
pub trait Workload: Send + Sync {
    /// The name, as given to `-w`.
    fn name(&self) -> &'static str;

    /// A fresh generator for one run.
    fn generator(&self, options: &TestOptions) -> Box<dyn Generator>;

    /// Whether a worker keeps its client endpoint after an indeterminate completion.
    fn reusable_client(&self) -> bool;

    /// The request sent once to each node before any operation (broadcast's `topology`),
    /// or `None`. An error refuses the options before anything is sent (lin-kv's
    /// concurrency rule); either way an error aborts the run.
    fn setup(&self, _node: &str, _options: &TestOptions) -> Result<Option<Setup>, String> {
        Ok(None)
    }

    /// Whether Maelstrom's error wrapper applies (definite codes `fail`, timeouts `info` or
    /// `fail`). Without it (g-set and the counters), every error is an exception `info`.
    fn error_wrapper(&self) -> bool {
        true
    }

    /// Per-request client timeout.
    fn rpc_timeout(&self, _options: &TestOptions) -> Duration {
        Duration::from_millis(5000)
    }

    /// One operation as a state machine over its requests: the first [`Step`] for
    /// `invocation`. `session` is workload state that lives as long as the client (kafka's
    /// offsets). The workload never waits for a reply: a driver sends each request and
    /// hands the validated reply to the step's continuation.
    fn operation(&self, invocation: &Invocation, session: &mut Session) -> Step;

    /// Judges the history: a JSON object with at least `valid?`.
    fn check(&self, history: &[Op], options: &TestOptions) -> Value;
}

/// The workloads this workbench knows, by name.
pub fn by_name(name: &str) -> Option<Box<dyn Workload>> {
    match name {
        "broadcast" => Some(Box::new(broadcast::Broadcast)),
        "g-counter" => Some(Box::new(counter::Counter::G)),
        "g-set" => Some(Box::new(g_set::GSet)),
        "kafka" => Some(Box::new(kafka::Kafka)),
        "lin-kv" => Some(Box::new(lin_kv::LinKv)),
        "pn-counter" => Some(Box::new(counter::Counter::PN)),
        "echo" => Some(Box::new(echo::Echo)),
        "txn-list-append" => Some(Box::new(txn_list_append::TxnListAppend)),
        "txn-rw-register" => Some(Box::new(txn_rw_register::TxnRwRegister)),
        "unique-ids" => Some(Box::new(unique_ids::UniqueIds)),
        _ => None,
    }
}

/// Every workload name Maelstrom accepts (`-w`).
pub const MAELSTROM_WORKLOADS: [&str; 10] = [
    "broadcast",
    "echo",
    "g-counter",
    "g-set",
    "kafka",
    "lin-kv",
    "pn-counter",
    "txn-list-append",
    "txn-rw-register",
    "unique-ids",
];

/// A node's setup request, declared with the reply it expects.
pub struct Setup {
    /// What the request is called in errors (`topology`).
    pub name: &'static str,
    /// The request body (`msg_id` is added by the client).
    pub body: Map<String, Value>,
    /// The closed schema the reply must match.
    pub reply: &'static ResponseSchema,
    /// How long the node has to answer.
    pub timeout: Duration,
}

impl Setup {
    /// Why a setup reply (or its absence) aborts the run, if it does.
    pub fn judge(&self, reply: Result<Map<String, Value>, RpcError>) -> Result<(), String> {
        let reply = reply.map_err(|e| format!("{}: {e}", self.name))?;
        self.reply
            .check(&reply)
            .map_err(|errors| format!("malformed {}: {}", self.reply.kind, errors.join("; ")))
    }
}

/// Workload state that lives as long as one client endpoint; a new client starts empty.
pub type Session = Map<String, Value>;

/// What follows a validated reply: the next step of the operation.
pub type Then = Box<dyn FnOnce(Map<String, Value>, &mut Session) -> Step + Send>;

/// One request of an operation, declared once where the workload builds it, with the
/// reply it expects beside it (as Maelstrom's `defrpc` declares each RPC's request and
/// response together).
pub struct Rpc {
    /// The request body (`msg_id` is added by the client).
    pub body: Value,
    /// The closed schema the reply must match.
    pub reply: &'static ResponseSchema,
    /// True when the request has no side effect: a timeout or an indefinite error then
    /// means it certainly did not happen (`fail`, not `info`).
    pub idempotent: bool,
    /// What the validated reply leads to.
    pub then: Then,
}

/// Where an operation is: waiting for a request to be answered, or done.
pub enum Step {
    /// Send this request and continue with its reply.
    Rpc(Rpc),
    /// The operation is over.
    Done(Completion),
}

impl Step {
    /// A request whose reply leads to `then`.
    pub fn rpc(
        body: Value,
        reply: &'static ResponseSchema,
        idempotent: bool,
        then: impl FnOnce(Map<String, Value>, &mut Session) -> Step + Send + 'static,
    ) -> Step {
        Step::Rpc(Rpc {
            body,
            reply,
            idempotent,
            then: Box::new(then),
        })
    }

    /// A request whose validated reply completes the operation `ok` with `value(reply)`.
    pub fn last(
        body: Value,
        reply: &'static ResponseSchema,
        idempotent: bool,
        value: impl FnOnce(Map<String, Value>) -> Value + Send + 'static,
    ) -> Step {
        Step::rpc(body, reply, idempotent, |r, _| {
            Step::Done(Completion::ok(value(r)))
        })
    }
}

/// How a failed request ends its operation.
pub fn rpc_failure(
    workload: &dyn Workload,
    invocation: &Invocation,
    idempotent: bool,
    error: RpcError,
) -> Completion {
    if workload.error_wrapper() {
        map_error(idempotent, invocation, error)
    } else {
        Completion::exception(invocation, "rpc-error", error.to_string(), Value::Null)
    }
}

/// How a reply that breaks its closed schema ends its operation (an exception `info`).
pub fn malformed_reply(
    invocation: &Invocation,
    sent: Map<String, Value>,
    received: Map<String, Value>,
    schema: &ResponseSchema,
    errors: Vec<String>,
) -> Completion {
    Completion::exception(
        invocation,
        "malformed-rpc-response",
        format!("Malformed RPC response: {}", errors.join("; ")),
        json!({"sent": sent, "received": received, "expected-type": schema.kind, "errors": errors}),
    )
}

/// The operation of the set and counter workloads (broadcast, g-set, g-counter,
/// pn-counter): an add sends `{"type": add_type, add_field: value}` and completes with the
/// value; any other function is a `read` (idempotent when `read_idempotent`) whose reply
/// field `read_field` is the completion value.
pub fn add_or_read(
    invocation: &Invocation,
    (add_type, add_field, add_ok): (&str, &str, &'static ResponseSchema),
    (read_ok, read_field, read_idempotent): (&'static ResponseSchema, &'static str, bool),
) -> Step {
    if invocation.f == add_type {
        let mut request = Map::new();
        request.insert("type".into(), json!(add_type));
        request.insert(add_field.into(), invocation.value.clone());
        let value = invocation.value.clone();
        Step::last(Value::Object(request), add_ok, false, |_| value)
    } else {
        Step::last(
            json!({"type": "read"}),
            read_ok,
            read_idempotent,
            move |mut reply| reply.remove(read_field).unwrap_or(Value::Null),
        )
    }
}

/// The operation of both transactional workloads (txn-rw-register, txn-list-append): the
/// generated micro-ops go out as `{"type": "txn", "txn": [...]}` and the reply's `txn` is
/// the completion value, trusted verbatim for the checker to judge (jepsen-io/maelstrom,
/// `src/maelstrom/workload/txn_list_append.clj` and `txn_rw_register.clj`, `client`).
pub fn txn(invocation: &Invocation, txn_ok: &'static ResponseSchema) -> Step {
    let request = json!({"type": "txn", "txn": invocation.value});
    Step::last(request, txn_ok, false, |mut reply| {
        reply.remove("txn").unwrap_or(Value::Null)
    })
}

/// Maelstrom's error-to-operation mapping (jepsen-io/maelstrom, `src/maelstrom/client.clj`,
/// `with-errors`).
pub fn map_error(idempotent: bool, invocation: &Invocation, error: RpcError) -> Completion {
    let indefinite = if idempotent {
        OpType::Fail
    } else {
        OpType::Info
    };
    let (kind, error) = match error {
        RpcError::Timeout => (indefinite, Value::String("net-timeout".into())),
        RpcError::Error { code, text } => {
            let kind = if code.is_definite() {
                OpType::Fail
            } else {
                indefinite
            };
            (kind, json!([code.name(), text]))
        }
        RpcError::Net(e) => {
            return Completion::exception(invocation, "network", e.to_string(), Value::Null)
        }
        RpcError::Closed => {
            return Completion::exception(
                invocation,
                "shutdown",
                "the run is shutting down".into(),
                Value::Null,
            )
        }
    };
    Completion {
        kind,
        value: invocation.value.clone(),
        error: Some(error),
        exception: None,
    }
}

/// Used by checkers: the code of an `[name text]` error, if it is one.
pub fn error_name(error: &Value) -> Option<&str> {
    error
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
}
