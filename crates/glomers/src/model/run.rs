//! A whole test run as one state machine: the network model, every client endpoint and its
//! requests (init, setup, the workload's operations), the services, the generator's
//! schedule (stagger, final phase), the nemesis schedule and the history. Events go in with
//! the time they happen (a line a node printed, "time is now t"); actions come out (deliver
//! this line to that node, journal this send or delivery). Nothing here sleeps, spawns or
//! reads a clock, so one seed gives one run (jepsen-io/maelstrom, `src/maelstrom/core.clj`
//! and `net.clj`; jepsen-io/jepsen, `generator.clj` and `core.clj`, are the rules it
//! follows; `crate::run` states each of them where the process driver applies them).
//!
//! A driver calls [`RunModel::advance`] at each moment [`RunModel::next_wake`] names (or
//! later, on a real clock), hands every [`Delivery`] to its node, feeds whatever the node
//! prints back through [`RunModel::node_printed`], and stops when [`RunModel::is_done`].
//! Ties at one instant are broken by the order events were scheduled, never by a hash map
//! or a thread.

use crate::client::{match_reply, RpcError};
use crate::health::{Health, Measure};
use crate::history::{Op, OpType, Process, Tally};
use crate::model::network::{
    is_client, Consumer, EventKind, NetError, NetMessage, NetworkModel, MAX_BACKLOG,
};
use crate::nemesis::{self, Shape};
use crate::options::TestOptions;
use crate::run_errors::{Halt, RunError};
use crate::services::{self, Service};
use crate::stagger::{Decision, Stagger};
use crate::workload::{
    malformed_reply, rpc_failure, Completion, Generator, Invocation, Session, Setup, Step, Then,
    Workload,
};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Map, Value};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// How long a node has to answer `init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The quiet period before a workload's final operations.
pub const RECOVERY_WAIT: Duration = Duration::from_secs(10);

/// The independent random streams of a run, each drawn from the one seed in a fixed order,
/// so that adding draws to one purpose never shifts another's.
#[derive(Debug, Clone)]
pub struct Streams {
    /// Latency draws.
    pub network: Pcg64Mcg,
    /// The generator's choices and the stagger's gaps.
    pub generator: Pcg64Mcg,
    /// Partition shapes and gaps.
    pub nemesis: Pcg64Mcg,
    /// The services' own randomness (seq-kv's and lww-kv's stale reads).
    pub services: u64,
    /// In-process nodes' randomness (each mixes in its own id).
    pub nodes: u64,
}

impl Streams {
    /// The streams of `seed`.
    pub fn new(seed: u64) -> Self {
        let mut seeds = Pcg64Mcg::seed_from_u64(seed);
        Streams {
            network: Pcg64Mcg::seed_from_u64(seeds.gen()),
            generator: Pcg64Mcg::seed_from_u64(seeds.gen()),
            nemesis: Pcg64Mcg::seed_from_u64(seeds.gen()),
            services: seeds.gen(),
            nodes: seeds.gen(),
        }
    }
}

/// A line for a node to read, at the moment it is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The node.
    pub node: String,
    /// The message, as the line the node reads.
    pub line: String,
    /// The moment the model says it is due (its deadline, or when its receiver was free to
    /// take it, if later): a driver that delivers later than this is late.
    pub due: Duration,
}

/// One journal event: a message entered the network, or reached its receiver.
pub type JournalEvent = (Duration, EventKind, Arc<NetMessage>);

/// Why the init reply (or its absence) fails a node's init, if it does.
pub fn init_failure(reply: &Result<Map<String, Value>, RpcError>) -> Option<String> {
    Some(match reply {
        Ok(body) if body.get("type").and_then(Value::as_str) == Some("init_ok") => return None,
        Ok(body) => format!("expected init_ok, got {}", Value::Object(body.clone())),
        Err(RpcError::Timeout) => format!(
            "node did not respond to init within {} s",
            INIT_TIMEOUT.as_secs()
        ),
        Err(RpcError::Error { code, text }) => format!(
            "answered init with error {code}: {}",
            text.clone().unwrap_or_default()
        ),
        Err(RpcError::Net(e)) => e.to_string(),
        Err(RpcError::Closed) => "the run was shut down".into(),
    })
}

/// The `init` body for `node`.
pub fn init_body(node: &str, nodes: &[String]) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("type".into(), json!("init"));
    body.insert("node_id".into(), json!(node));
    body.insert("node_ids".into(), json!(nodes));
    body
}

/// What fires at a scheduled moment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Wake {
    /// An endpoint's consumer: it takes its next message, or delivers the one it holds.
    Consumer(String),
    /// A client's request with this `msg_id` has waited as long as it may.
    Deadline(String, u64),
}

/// Who a client endpoint works for.
enum Owner {
    /// Sends `init` to this node.
    Init(String),
    /// Sends the workload's setup request to this node.
    Setup(String, Setup),
    /// Worker thread `t`.
    Worker(usize),
    /// Nobody: a node's setup client when the workload has no setup request (it stays open
    /// until the end all the same, as upstream's do).
    Idle,
}

/// A client endpoint: one outstanding request at most, as upstream's client.
struct Caller {
    owner: Owner,
    next_msg_id: u64,
    /// The `msg_id` of the request it waits on.
    pending: Option<u64>,
}

/// A request of an operation waiting for its reply.
struct Awaiting {
    sent: Map<String, Value>,
    reply: &'static crate::client::ResponseSchema,
    idempotent: bool,
    then: Then,
}

/// An operation in flight on a worker.
struct InFlight {
    invocation: Invocation,
    process: u64,
    awaiting: Option<Awaiting>,
}

/// A line a node printed that waits for room in the network.
struct HeldLine {
    printed: crate::wire::Printed,
    /// The line as an error message quotes it.
    excerpt: String,
    bytes: usize,
}

/// What a node printed while its sender's backlog was full, in order: nothing it prints
/// after a held line overtakes it.
struct Held {
    lines: VecDeque<HeldLine>,
    bytes: usize,
    /// When the first of them was held.
    since: Duration,
}

/// One concurrency slot: thread `t` talks to node `t mod N`.
struct Worker {
    node: String,
    /// Its process number from now on.
    process: u64,
    /// Its client endpoint, opened at its first operation.
    client: Option<String>,
    session: Session,
    op: Option<InFlight>,
    /// When its last operation completed (when it became free for the generator).
    free_since: Duration,
}

/// Where the run is.
enum Phase {
    /// Waiting for these nodes' `init_ok` (or their failure, see `start_failures`).
    Init(BTreeSet<String>),
    /// Waiting for this many setup replies.
    Setup(usize),
    /// Clients at the global rate, the nemesis on its schedule.
    Main { cutoff: Duration, stagger: Stagger },
    /// The quiet period before the final operations.
    Recovery(Duration),
    /// Every thread runs its own final sequence.
    Final {
        deadline: Option<Duration>,
        finished: Vec<bool>,
        next: Vec<Option<(Invocation, Duration)>>,
    },
    /// Over: `outcome` says how.
    Done,
}

/// The run's state machine. See the module documentation.
pub struct RunModel {
    options: TestOptions,
    workload: Arc<dyn Workload>,
    net: NetworkModel,
    /// Every endpoint's consumer, with the moment its wake is scheduled for.
    consumers: BTreeMap<String, (Consumer, Option<Duration>)>,
    services: BTreeMap<&'static str, Box<dyn Service>>,
    callers: BTreeMap<String, Caller>,
    next_client: u64,
    setup_clients: Vec<String>,
    workers: Vec<Worker>,
    generator: Box<dyn Generator>,
    generator_rng: Pcg64Mcg,
    nemesis: nemesis::Schedule,
    wakes: BinaryHeap<Reverse<(Duration, u64, Wake)>>,
    wake_seq: u64,
    phase: Phase,
    /// Init and setup failures by node index: the first in node order is the one reported,
    /// once every node has answered or timed out, as a process run reports it.
    start_failures: BTreeMap<usize, RunError>,
    outcome: Option<Result<(), RunError>>,
    epoch: Duration,
    history: Vec<Op>,
    outbox: Vec<Delivery>,
    journal: Vec<JournalEvent>,
    halts: Vec<Halt>,
    halted: BTreeSet<String>,
    log: Vec<String>,
    /// The latest moment [`RunModel::advance`] ran to.
    now: Duration,
    /// Lines held back by [`MAX_BACKLOG`], by the node that printed them.
    held: BTreeMap<String, Held>,
    /// How long nodes' output waited for room, in all.
    throttled: Duration,
    /// Nodes whose deliveries wait until the driver has written what it was given.
    paused: BTreeSet<String>,
    /// Where lateness against the model's schedule goes, when time is real.
    health: Option<Arc<Health>>,
    /// After a successful end, node-to-node traffic is still routed (a process driver
    /// stopping its nodes).
    tearing_down: bool,
    tally: Tally,
}

impl RunModel {
    /// A run of `workload` with `options`, its randomness from `streams`, starting at
    /// `now`: every node and service endpoint exists, and each node's `init` is sent.
    pub fn new(
        options: &TestOptions,
        workload: Arc<dyn Workload>,
        streams: Streams,
        now: Duration,
    ) -> Self {
        let generator = workload.generator(options);
        let mut model = RunModel {
            options: options.clone(),
            net: NetworkModel::new(options.latency, streams.network),
            consumers: BTreeMap::new(),
            services: BTreeMap::new(),
            callers: BTreeMap::new(),
            next_client: 0,
            setup_clients: Vec::new(),
            workers: Vec::new(),
            generator,
            generator_rng: streams.generator,
            nemesis: nemesis::Schedule::new(options.nemesis_interval, streams.nemesis),
            wakes: BinaryHeap::new(),
            wake_seq: 0,
            phase: Phase::Init(options.nodes.iter().cloned().collect()),
            start_failures: BTreeMap::new(),
            outcome: None,
            epoch: now,
            history: Vec::new(),
            outbox: Vec::new(),
            journal: Vec::new(),
            halts: Vec::new(),
            halted: BTreeSet::new(),
            log: Vec::new(),
            now,
            workload,
            held: BTreeMap::new(),
            throttled: Duration::ZERO,
            paused: BTreeSet::new(),
            health: None,
            tearing_down: false,
            tally: Tally::default(),
        };
        for service in services::all(streams.services) {
            model.register(service.name());
            model.services.insert(service.name(), service);
        }
        for node in &options.nodes {
            model.register(node);
        }
        model.workers = (0..options.concurrency)
            .map(|t| Worker {
                node: options.nodes[t % options.nodes.len()].clone(),
                process: t as u64,
                client: None,
                session: Session::new(),
                op: None,
                free_since: now,
            })
            .collect();
        for node in options.nodes.clone() {
            let client = model.open_client(Owner::Init(node.clone()));
            let body = init_body(&node, &options.nodes);
            if let Err(e) = model.call(&client, &node, body, INIT_TIMEOUT, now) {
                model.init_answered(&node, Some(e.to_string()));
            }
        }
        model
    }

    /// Measures, from now on, how late each scheduled moment is acted on (deliveries to
    /// clients and services, client timeouts, the generator, the nemesis) into `health`: on
    /// a real clock the driver may act after the moment [`RunModel::next_wake`] named.
    pub fn measure_lateness(&mut self, health: Arc<Health>) {
        self.health = Some(health);
    }

    fn late(&self, measure: Measure, due: Duration, now: Duration) {
        if let Some(health) = &self.health {
            health.record(measure, now.saturating_sub(due));
        }
    }

    /// Client completions so far.
    pub fn tally(&self) -> Tally {
        self.tally
    }

    /// Messages sent so far.
    pub fn sent_count(&self) -> u64 {
        self.net.sent_count()
    }

    /// How long nodes' output waited for room in the network, in all.
    pub fn throttled(&self) -> Duration {
        self.throttled
    }

    /// The bytes of `node`'s lines held back for room: a driver stops reading a node's
    /// output while it has too much held, so that what it holds stays bounded.
    pub fn held_bytes(&self, node: &str) -> usize {
        self.held.get(node).map_or(0, |h| h.bytes)
    }

    /// Stops delivering to `node` (its driver has too much not yet written to it), as a
    /// full pipe stops a process run's delivery: what is sent to it waits in its queue and
    /// counts against its senders' backlogs.
    pub fn pause_deliveries(&mut self, node: &str) {
        self.paused.insert(node.to_owned());
    }

    /// Resumes deliveries to `node` at `now`.
    pub fn resume_deliveries(&mut self, node: &str, now: Duration) {
        if self.paused.remove(node) {
            if let Some((_, scheduled)) = self.consumers.get_mut(node) {
                if scheduled.is_none_or(|at| at > now) {
                    *scheduled = Some(now);
                    self.schedule(now, Wake::Consumer(node.to_owned()));
                }
            }
        }
    }

    /// After a successful end, keeps routing what nodes print (sends and deliveries, no
    /// operations) while a driver stops them, as a process run's network runs until its
    /// nodes are gone. [`RunModel::next_timer`] names the next delivery.
    pub fn tear_down(&mut self) {
        self.tearing_down = true;
    }

    /// True during the quiet period before the final operations.
    pub fn recovering(&self) -> bool {
        matches!(self.phase, Phase::Recovery(_))
    }

    /// The earliest scheduled timer (a delivery or a deadline), whatever the phase.
    pub fn next_timer(&self) -> Option<Duration> {
        self.wakes.peek().map(|Reverse((at, _, _))| *at)
    }

    /// True while events still change the run: it is not over, or it ended well and is
    /// being torn down.
    fn routing(&self) -> bool {
        match &self.outcome {
            None => true,
            Some(Ok(())) => self.tearing_down,
            Some(Err(_)) => false,
        }
    }

    /// True once the run is over (see [`RunModel::outcome`]).
    pub fn is_done(&self) -> bool {
        self.outcome.is_some()
    }

    /// How the run ended: `None` while it runs.
    pub fn outcome(&self) -> Option<&Result<(), RunError>> {
        self.outcome.as_ref()
    }

    /// The history recorded so far.
    pub fn history(&self) -> &[Op] {
        &self.history
    }

    /// Nodes whose output stopped being delivered.
    pub fn halts(&self) -> &[Halt] {
        &self.halts
    }

    /// Lines for the node to read, in order, since the last call.
    pub fn take_deliveries(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.outbox)
    }

    /// Journal events since the last call, in order.
    pub fn take_journal(&mut self) -> Vec<JournalEvent> {
        std::mem::take(&mut self.journal)
    }

    /// What the services said about requests they could not answer, since the last call.
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    /// The most messages the network's queues held at once.
    pub fn peak_queued(&self) -> usize {
        self.net.peak_queued()
    }

    /// The earliest moment something is scheduled: a consumer, a request deadline, the
    /// generator or the nemesis. `None` once the run is over (or nothing can happen until a
    /// node speaks, which in a correct run does not occur).
    pub fn next_wake(&self) -> Option<Duration> {
        if self.is_done() {
            return None;
        }
        let timer = self.wakes.peek().map(|Reverse((at, _, _))| *at);
        let phase = match &self.phase {
            Phase::Main { cutoff, stagger } => {
                // Past the cutoff the phase only waits for the last operations, whose
                // deadlines are timers: nothing of its own is due any more.
                let nemesis = self.nemesis.next();
                let dispatch = (self.options.rate > 0.0
                    && self.workers.iter().any(|w| w.op.is_none()))
                .then(|| stagger.next_due());
                [Some(*cutoff), nemesis, dispatch]
                    .into_iter()
                    .flatten()
                    .filter(|at| *at > self.now)
                    .min()
            }
            Phase::Recovery(until) => Some(*until),
            Phase::Final { deadline, next, .. } => next
                .iter()
                .flatten()
                .map(|(_, at)| *at)
                .chain(*deadline)
                .filter(|at| *at > self.now)
                .min(),
            Phase::Init(..) | Phase::Setup(..) | Phase::Done => None,
        };
        match (timer, phase) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A node printed `line` at `now`. A line that is not a message ends the run; a message
    /// to an unknown endpoint stops all further output of that node from being delivered,
    /// as upstream does.
    ///
    /// While the printing node's sender backlog is at [`MAX_BACKLOG`], its messages to
    /// other nodes (and everything it prints after them) wait for room, as a flooding
    /// process waits on a full pipe; replies to clients are never the ones held back.
    pub fn node_printed(&mut self, node: &str, line: &str, now: Duration) {
        if self.halted.contains(node) || !self.routing() {
            return;
        }
        self.node_printed_parsed(node, line, crate::wire::parse_line(line), now);
    }

    /// [`RunModel::node_printed`] for a line its driver already parsed with
    /// [`crate::wire::parse_line`] (a process driver parses on each node's reader thread,
    /// so that parsing, the dearest step of routing, runs on every core).
    pub fn node_printed_parsed(
        &mut self,
        node: &str,
        line: &str,
        parsed: Result<crate::wire::Printed, String>,
        now: Duration,
    ) {
        if self.halted.contains(node) || !self.routing() {
            return;
        }
        self.now = self.now.max(now);
        match parsed {
            Ok(printed) => {
                let behind = self.held.contains_key(node);
                if behind
                    || (!is_client(&printed.dest) && self.net.backlog(&printed.src) >= MAX_BACKLOG)
                {
                    let held = self.held.entry(node.to_owned()).or_insert_with(|| Held {
                        lines: VecDeque::new(),
                        bytes: 0,
                        since: now,
                    });
                    held.bytes += line.len();
                    held.lines.push_back(HeldLine {
                        printed,
                        excerpt: crate::process::shorten(line),
                        bytes: line.len(),
                    });
                    return;
                }
                if let Err(e) = self.send(&printed.src, &printed.dest, printed.body, now) {
                    self.halt(node, crate::process::shorten(line), &e);
                }
            }
            Err(rule) => self.fail(RunError::BadOutput {
                node: node.to_owned(),
                line: crate::process::shorten(line),
                rule,
            }),
        }
    }

    /// A message to an unknown endpoint: nothing more from `node` is delivered.
    fn halt(&mut self, node: &str, line: String, error: &NetError) {
        self.halted.insert(node.to_owned());
        self.held.remove(node);
        self.halts.push(Halt {
            node: node.to_owned(),
            line,
            reason: error.to_string(),
        });
    }

    /// Sends the held lines that now have room. True if any went.
    fn release_held(&mut self, now: Duration) -> bool {
        if self.held.is_empty() {
            return false;
        }
        let mut progressed = false;
        let nodes: Vec<String> = self.held.keys().cloned().collect();
        for node in nodes {
            while let Some(held) = self.held.get_mut(&node) {
                let Some(front) = held.lines.front() else {
                    self.throttled += now.saturating_sub(held.since);
                    self.held.remove(&node);
                    break;
                };
                let room = is_client(&front.printed.dest)
                    || self.net.backlog(&front.printed.src) < MAX_BACKLOG;
                if !room {
                    break;
                }
                let Some(line) = held.lines.pop_front() else {
                    break;
                };
                held.bytes -= line.bytes;
                progressed = true;
                let printed = line.printed;
                if let Err(e) = self.send(&printed.src, &printed.dest, printed.body, now) {
                    self.halt(&node, line.excerpt, &e);
                }
            }
        }
        progressed
    }

    /// Ends the run with `error` (a node crashed, say); nothing more happens. Operations
    /// in flight complete as indeterminate (`shutdown`), as a process run's clients do
    /// when its network shuts down.
    pub fn fail(&mut self, error: RunError) {
        if self.outcome.is_some() {
            return;
        }
        let now = self.now;
        for t in 0..self.workers.len() {
            let Some(op) = self.workers[t].op.as_ref() else {
                continue;
            };
            let idempotent = op.awaiting.as_ref().is_some_and(|a| a.idempotent);
            let completion = rpc_failure(
                self.workload.as_ref(),
                &op.invocation,
                idempotent,
                RpcError::Closed,
            );
            self.complete(t, completion, now);
        }
        self.outcome = Some(Err(error));
        self.phase = Phase::Done;
    }

    /// Runs everything due at or before `now`, in the order it was scheduled, until nothing
    /// more is.
    pub fn advance(&mut self, now: Duration) {
        self.now = self.now.max(now);
        loop {
            if !self.routing() {
                return;
            }
            let mut progressed = false;
            while let Some(Reverse((at, _, _))) = self.wakes.peek() {
                if *at > now || !self.routing() {
                    break;
                }
                if let Some(Reverse((at, _, wake))) = self.wakes.pop() {
                    self.fire(wake, at, now);
                    progressed = true;
                }
            }
            progressed |= self.release_held(now);
            progressed |= self.step_phase(now);
            if !progressed {
                return;
            }
        }
    }

    fn register(&mut self, id: &str) {
        self.net.register(id);
        self.consumers
            .insert(id.to_owned(), (Consumer::default(), None));
    }

    fn schedule(&mut self, at: Duration, wake: Wake) {
        self.wake_seq += 1;
        self.wakes.push(Reverse((at, self.wake_seq, wake)));
    }

    /// Sends into the network at `now` and journals it; an idle receiver takes it at once.
    fn send(&mut self, src: &str, dest: &str, body: String, now: Duration) -> Result<(), NetError> {
        let (message, _) = self.net.send(src, dest, body, now)?;
        self.journal.push((now, EventKind::Send, message));
        if let Some((consumer, scheduled)) = self.consumers.get_mut(dest) {
            if !consumer.is_busy() && scheduled.is_none_or(|at| at > now) {
                *scheduled = Some(now);
                self.schedule(now, Wake::Consumer(dest.to_owned()));
            }
        }
        Ok(())
    }

    fn fire(&mut self, wake: Wake, at: Duration, now: Duration) {
        match wake {
            Wake::Consumer(id) => {
                let Some((consumer, scheduled)) = self.consumers.get_mut(&id) else {
                    return;
                };
                if *scheduled != Some(at) {
                    return; // superseded
                }
                if self.paused.contains(&id) {
                    *scheduled = None; // resume_deliveries wakes it
                    return;
                }
                let polled = consumer.poll(&mut self.net, &id, now);
                *scheduled = polled.wake;
                if let Some(wake) = polled.wake {
                    self.schedule(wake, Wake::Consumer(id.clone()));
                }
                for (due, message) in polled.delivered {
                    self.journal.push((now, EventKind::Recv, message.clone()));
                    self.receive(&id, &message, due, now);
                }
            }
            Wake::Deadline(client, msg_id) => {
                let Some(caller) = self.callers.get_mut(&client) else {
                    return;
                };
                if caller.pending == Some(msg_id) {
                    caller.pending = None;
                    self.late(Measure::ClientTimeout, at, now);
                    self.answered(&client, Err(RpcError::Timeout), now);
                }
            }
        }
    }

    /// A message reached endpoint `id`.
    fn receive(&mut self, id: &str, message: &NetMessage, due: Duration, now: Duration) {
        if !is_client(id) && !self.services.contains_key(id) {
            // A node's delivery is late or not when its driver writes it.
            self.outbox.push(Delivery {
                node: id.to_owned(),
                line: message.to_line(),
                due,
            });
            return;
        }
        self.late(Measure::Delivery, due, now);
        if let Some(service) = self.services.get_mut(id) {
            let name = service.name();
            match services::answer(service.as_mut(), &message.src, &message.body) {
                Ok(reply) => {
                    if let Err(e) = self.send(name, &message.src, reply, now) {
                        self.log.push(format!("{name}: reply dropped: {e}"));
                    }
                }
                Err(why) => self.log.push(format!("{name}: {why}")),
            }
        } else if let Some(caller) = self.callers.get_mut(id) {
            let Some(msg_id) = caller.pending else {
                return;
            };
            if let Some(answer) = match_reply(&message.body, msg_id) {
                caller.pending = None;
                self.answered(id, answer, now);
            }
        }
    }

    fn open_client(&mut self, owner: Owner) -> String {
        let id = format!("c{}", self.next_client);
        self.next_client += 1;
        self.register(&id);
        self.callers.insert(
            id.clone(),
            Caller {
                owner,
                next_msg_id: 1,
                pending: None,
            },
        );
        id
    }

    fn close_client(&mut self, id: &str) {
        self.net.deregister(id);
        self.consumers.remove(id);
        self.callers.remove(id);
    }

    /// Sends a request from `client` to `node` and arms its deadline.
    fn call(
        &mut self,
        client: &str,
        node: &str,
        mut body: Map<String, Value>,
        timeout: Duration,
        now: Duration,
    ) -> Result<(), NetError> {
        let Some(caller) = self.callers.get_mut(client) else {
            return Err(NetError::UnknownEndpoint {
                role: "src",
                id: client.to_owned(),
            });
        };
        let msg_id = caller.next_msg_id;
        caller.next_msg_id += 1;
        body.insert("msg_id".into(), Value::from(msg_id));
        self.send(client, node, Value::Object(body).to_string(), now)?;
        if let Some(caller) = self.callers.get_mut(client) {
            caller.pending = Some(msg_id);
        }
        self.schedule(now + timeout, Wake::Deadline(client.to_owned(), msg_id));
        Ok(())
    }

    /// `client`'s request was answered (or timed out).
    fn answered(
        &mut self,
        client: &str,
        answer: Result<Map<String, Value>, RpcError>,
        now: Duration,
    ) {
        let Some(caller) = self.callers.get(client) else {
            return;
        };
        match &caller.owner {
            Owner::Init(node) => {
                let node = node.clone();
                self.close_client(client);
                self.init_answered(&node, init_failure(&answer));
            }
            Owner::Setup(node, setup) => {
                let failure = setup.judge(answer).err();
                let node = node.clone();
                self.setup_answered(&node, failure);
            }
            Owner::Worker(t) => {
                let t = *t;
                self.continue_op(t, answer, now);
            }
            Owner::Idle => {}
        }
    }

    /// `node`'s init is over, failed for `failure` if it did.
    fn init_answered(&mut self, node: &str, failure: Option<String>) {
        if let Phase::Init(waiting) = &mut self.phase {
            waiting.remove(node);
        }
        if let Some(reason) = failure {
            let error = RunError::InitFailed {
                node: node.to_owned(),
                reason,
            };
            self.start_failed(node, error);
        }
    }

    /// `node`'s setup is over, failed for `failure` if it did.
    fn setup_answered(&mut self, node: &str, failure: Option<String>) {
        if let Phase::Setup(waiting) = &mut self.phase {
            *waiting = waiting.saturating_sub(1);
        }
        if let Some(reason) = failure {
            let error = RunError::SetupFailed {
                node: node.to_owned(),
                reason,
            };
            self.start_failed(node, error);
        }
    }

    /// Notes `node`'s init or setup failure, to be reported once every node has answered.
    fn start_failed(&mut self, node: &str, error: RunError) {
        let index = self.options.nodes.iter().position(|n| n == node);
        self.start_failures
            .insert(index.unwrap_or(usize::MAX), error);
    }

    /// Ends the run with the first start failure in node order, if there is one.
    fn fail_at_start(&mut self) -> bool {
        match self.start_failures.pop_first() {
            Some((_, error)) => {
                self.fail(error);
                true
            }
            None => false,
        }
    }

    fn record(&mut self, kind: OpType, process: Process, f: &str, value: Value, now: Duration) {
        self.record_op(kind, process, f, value, None, None, false, now);
    }

    #[allow(clippy::too_many_arguments)]
    fn record_op(
        &mut self,
        kind: OpType,
        process: Process,
        f: &str,
        value: Value,
        error: Option<Value>,
        exception: Option<Value>,
        is_final: bool,
        now: Duration,
    ) {
        if let Process::Client(_) = process {
            match kind {
                OpType::Ok => self.tally.ok += 1,
                OpType::Fail => self.tally.fail += 1,
                OpType::Info => self.tally.info += 1,
                OpType::Invoke => {}
            }
        }
        self.history.push(Op {
            index: self.history.len() as u64,
            time: now.saturating_sub(self.epoch).as_nanos() as u64,
            kind,
            process,
            f: f.to_owned(),
            value,
            error,
            exception,
            is_final,
        });
    }

    /// Starts `invocation` on worker `t`.
    fn dispatch(&mut self, t: usize, invocation: Invocation, now: Duration) {
        let process = self.workers[t].process;
        self.record_op(
            OpType::Invoke,
            Process::Client(process),
            &invocation.f,
            invocation.value.clone(),
            None,
            None,
            invocation.is_final,
            now,
        );
        let worker = &mut self.workers[t];
        let step = self.workload.operation(&invocation, &mut worker.session);
        worker.op = Some(InFlight {
            invocation,
            process,
            awaiting: None,
        });
        self.run_step(t, step, now);
    }

    fn run_step(&mut self, t: usize, step: Step, now: Duration) {
        let rpc = match step {
            Step::Done(completion) => return self.complete(t, completion, now),
            Step::Rpc(rpc) => rpc,
        };
        let Some(invocation) = self.workers[t].op.as_ref().map(|op| op.invocation.clone()) else {
            return;
        };
        let Value::Object(request) = rpc.body else {
            let completion = Completion::exception(
                &invocation,
                "internal",
                "request is not an object".into(),
                Value::Null,
            );
            return self.complete(t, completion, now);
        };
        let client = match self.workers[t].client.clone() {
            Some(client) => client,
            None => {
                let client = self.open_client(Owner::Worker(t));
                self.workers[t].client = Some(client.clone());
                client
            }
        };
        let node = self.workers[t].node.clone();
        let timeout = self.workload.rpc_timeout(&self.options);
        match self.call(&client, &node, request.clone(), timeout, now) {
            Ok(()) => {
                if let Some(op) = &mut self.workers[t].op {
                    op.awaiting = Some(Awaiting {
                        sent: request,
                        reply: rpc.reply,
                        idempotent: rpc.idempotent,
                        then: rpc.then,
                    });
                }
            }
            Err(e) => {
                let completion = rpc_failure(
                    self.workload.as_ref(),
                    &invocation,
                    rpc.idempotent,
                    RpcError::Net(e),
                );
                self.complete(t, completion, now);
            }
        }
    }

    fn continue_op(
        &mut self,
        t: usize,
        answer: Result<Map<String, Value>, RpcError>,
        now: Duration,
    ) {
        let Some(op) = self.workers[t].op.as_mut() else {
            return;
        };
        let Some(awaiting) = op.awaiting.take() else {
            return;
        };
        let invocation = op.invocation.clone();
        let step = match answer {
            Err(error) => Step::Done(rpc_failure(
                self.workload.as_ref(),
                &invocation,
                awaiting.idempotent,
                error,
            )),
            Ok(reply) => match awaiting.reply.check(&reply) {
                Err(errors) => Step::Done(malformed_reply(
                    &invocation,
                    awaiting.sent,
                    reply,
                    awaiting.reply,
                    errors,
                )),
                Ok(()) => (awaiting.then)(reply, &mut self.workers[t].session),
            },
        };
        self.run_step(t, step, now);
    }

    fn complete(&mut self, t: usize, completion: Completion, now: Duration) {
        let Some(op) = self.workers[t].op.take() else {
            return;
        };
        self.record_op(
            completion.kind,
            Process::Client(op.process),
            &op.invocation.f,
            completion.value.clone(),
            completion.error.clone(),
            completion.exception.clone(),
            op.invocation.is_final,
            now,
        );
        self.workers[t].free_since = now;
        if completion.kind == OpType::Info {
            self.workers[t].process = op.process + self.options.concurrency as u64;
            if !self.workload.reusable_client() {
                if let Some(client) = self.workers[t].client.take() {
                    self.close_client(&client);
                    self.workers[t].session = Session::new();
                }
            }
        }
        self.generator.observe(t, &op.invocation, &completion);
    }

    fn idle(&self) -> bool {
        self.workers.iter().all(|w| w.op.is_none())
    }

    /// Moves the phases along at `now`. True if anything happened.
    fn step_phase(&mut self, now: Duration) -> bool {
        match &mut self.phase {
            Phase::Init(waiting) if waiting.is_empty() => {
                if self.fail_at_start() {
                    return true;
                }
                // The history's clock starts once every node is up, as upstream's relative
                // time does.
                self.epoch = now;
                self.start_setup(now);
                true
            }
            Phase::Setup(0) => {
                if self.fail_at_start() {
                    return true;
                }
                self.start_main(now);
                true
            }
            Phase::Main { .. } => self.step_main(now),
            Phase::Recovery(until) if now >= *until => {
                let deadline = self.generator.final_limit().map(|limit| now + limit);
                let threads = self.workers.len();
                self.phase = Phase::Final {
                    deadline,
                    finished: vec![false; threads],
                    next: vec![None; threads],
                };
                true
            }
            Phase::Final { .. } => self.step_final(now),
            _ => false,
        }
    }

    fn start_setup(&mut self, now: Duration) {
        let mut waiting = 0;
        for node in self.options.nodes.clone() {
            let setup = match self.workload.setup(&node, &self.options) {
                Ok(setup) => setup,
                Err(reason) => {
                    let error = RunError::SetupFailed {
                        node: node.clone(),
                        reason,
                    };
                    self.start_failed(&node, error);
                    continue;
                }
            };
            let Some(setup) = setup else {
                let client = self.open_client(Owner::Idle);
                self.setup_clients.push(client);
                continue;
            };
            let (body, timeout) = (setup.body.clone(), setup.timeout);
            let client = self.open_client(Owner::Setup(node.clone(), setup));
            self.setup_clients.push(client.clone());
            if let Err(e) = self.call(&client, &node, body, timeout, now) {
                let error = RunError::SetupFailed {
                    node: node.clone(),
                    reason: e.to_string(),
                };
                self.start_failed(&node, error);
                continue;
            }
            waiting += 1;
        }
        self.phase = Phase::Setup(waiting);
    }

    fn start_main(&mut self, now: Duration) {
        let cutoff = now + Duration::from_secs(self.options.time_limit);
        self.phase = Phase::Main {
            cutoff,
            stagger: Stagger::new(self.options.rate, now, cutoff),
        };
        if self.options.partitions() {
            self.nemesis.start(now);
        }
    }

    fn step_main(&mut self, now: Duration) -> bool {
        let Phase::Main { cutoff, .. } = &self.phase else {
            return false;
        };
        let cutoff = *cutoff;
        let mut progressed = false;
        if let Some((due, action)) = self.nemesis.poll(now, cutoff, &self.options.nodes) {
            progressed = true;
            if due < cutoff {
                self.late(Measure::Nemesis, due, now);
            }
            match action {
                Some(nemesis::Action::Start { shape, grudge }) => {
                    self.start_partition(shape, &grudge, now)
                }
                Some(nemesis::Action::Stop) => self.heal(now),
                None => {}
            }
        }
        if self.options.rate > 0.0 {
            loop {
                let busy: Vec<bool> = self.workers.iter().map(|w| w.op.is_some()).collect();
                let Phase::Main { stagger, .. } = &self.phase else {
                    return progressed;
                };
                let due = stagger.next_due();
                let Decision::Dispatch(t) = stagger.decide(now, &busy) else {
                    break;
                };
                // Late only past both the moment it was due and the moment its thread
                // became free: waiting for a busy thread is the schedule's, not lateness.
                self.late(Measure::Generator, due.max(self.workers[t].free_since), now);
                let invocation = self.generator.next_for(t, &mut self.generator_rng, now);
                if let Phase::Main { stagger, .. } = &mut self.phase {
                    stagger.dispatched(t, busy.len(), now, &mut self.generator_rng);
                }
                self.dispatch(t, invocation, now);
                progressed = true;
                if self.is_done() {
                    return true;
                }
            }
        }
        let nemesis_over = self.nemesis.next().is_none_or(|next| next >= cutoff);
        if now >= cutoff && self.idle() && nemesis_over {
            if self.generator.has_final_phase() {
                if self.options.partitions() {
                    self.heal(now);
                }
                self.phase = Phase::Recovery(now + RECOVERY_WAIT);
            } else {
                self.finish();
            }
            return true;
        }
        progressed
    }

    fn start_partition(&mut self, shape: Shape, grudge: &nemesis::Grudge, now: Duration) {
        self.record(
            OpType::Info,
            Process::NEMESIS,
            "start-partition",
            json!(shape.name()),
            now,
        );
        self.net.partition(grudge);
        self.record(
            OpType::Info,
            Process::NEMESIS,
            "start-partition",
            json!(["isolated", grudge]),
            now,
        );
    }

    fn heal(&mut self, now: Duration) {
        self.record(
            OpType::Info,
            Process::NEMESIS,
            "stop-partition",
            Value::Null,
            now,
        );
        self.net.heal();
        self.record(
            OpType::Info,
            Process::NEMESIS,
            "stop-partition",
            json!("network-healed"),
            now,
        );
    }

    fn step_final(&mut self, now: Duration) -> bool {
        let Phase::Final { deadline, .. } = &self.phase else {
            return false;
        };
        let expired = deadline.is_some_and(|d| now >= d);
        let mut progressed = false;
        if !expired {
            for t in 0..self.workers.len() {
                if self.workers[t].op.is_some() {
                    continue;
                }
                let Phase::Final { finished, next, .. } = &mut self.phase else {
                    return progressed;
                };
                if finished[t] {
                    continue;
                }
                if next[t].is_none() {
                    match self.generator.final_next(t, &mut self.generator_rng) {
                        Some((invocation, delay)) => next[t] = Some((invocation, now + delay)),
                        None => finished[t] = true,
                    }
                    progressed = true;
                }
                if next[t].as_ref().is_some_and(|(_, at)| now >= *at) {
                    if let Some((invocation, _)) = next[t].take() {
                        self.dispatch(t, invocation, now);
                        progressed = true;
                        if self.is_done() {
                            return true;
                        }
                    }
                }
            }
        }
        let Phase::Final { finished, .. } = &self.phase else {
            return progressed;
        };
        if (expired || finished.iter().all(|f| *f)) && self.idle() {
            self.finish();
            return true;
        }
        progressed
    }

    /// The run is over: the network heals and the setup clients close, as at upstream's
    /// teardown.
    fn finish(&mut self) {
        self.net.heal();
        for client in std::mem::take(&mut self.setup_clients) {
            self.close_client(&client);
        }
        self.phase = Phase::Done;
        self.outcome = Some(Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload;

    fn echo_options(seed: u64) -> TestOptions {
        let mut options = TestOptions::example("echo");
        options.nodes = vec!["n0".into(), "n1".into()];
        options.concurrency = 2;
        options.time_limit = 5;
        options.rate = 20.0;
        options.latency.mean = 10;
        options.seed = seed;
        options
    }

    fn echo_run(seed: u64) -> (Vec<Op>, Vec<JournalEvent>) {
        let workload: Arc<dyn Workload> = Arc::from(workload::by_name("echo").unwrap());
        let options = echo_options(seed);
        let mut model = RunModel::new(&options, workload, Streams::new(seed), Duration::ZERO);
        let mut journal = Vec::new();
        let mut now = Duration::ZERO;
        while !model.is_done() {
            model.advance(now);
            for Delivery { node, line, .. } in model.take_deliveries() {
                let message: Value = serde_json::from_str(&line).unwrap();
                let mut body = message["body"].clone();
                let kind = body["type"].as_str().unwrap().to_owned();
                body["in_reply_to"] = body["msg_id"].take();
                body["type"] = json!(format!("{kind}_ok"));
                let body: Map<String, Value> = body
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "msg_id" | "node_id" | "node_ids"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let reply = json!({"src": node, "dest": message["src"], "body": body});
                model.node_printed(&node, &reply.to_string(), now);
            }
            journal.extend(model.take_journal());
            if let Some(at) = model.next_wake() {
                now = now.max(at);
            }
        }
        assert!(matches!(model.outcome(), Some(Ok(()))));
        (model.history().to_vec(), journal)
    }

    #[test]
    fn an_echo_run_is_a_pure_function_of_its_seed() {
        let (history, journal) = echo_run(3);
        let invokes = history
            .iter()
            .filter(|op| op.kind == OpType::Invoke)
            .count();
        let oks = history.iter().filter(|op| op.kind == OpType::Ok).count();
        // 5 s at 20 per second.
        assert!((70..=130).contains(&invokes), "{invokes} invocations");
        assert_eq!(invokes, oks);
        // Client messages have no latency: each echo is answered at the instant it starts.
        for pair in history.chunks(2) {
            assert_eq!(pair[0].time, pair[1].time);
            assert_eq!(pair[1].value["echo"], pair[0].value);
        }
        // Two inits, then one request and one reply per operation, each sent and delivered.
        assert_eq!(journal.len(), 4 * (2 + invokes));
        let (again, journal_again) = echo_run(3);
        assert_eq!(history, again);
        assert_eq!(journal, journal_again);
        assert_ne!(history, echo_run(4).0);
    }

    /// A run of `options` whose nodes have answered `init`, at time zero.
    fn started(options: &TestOptions) -> RunModel {
        let workload: Arc<dyn Workload> = Arc::from(workload::by_name("echo").unwrap());
        let mut model = RunModel::new(options, workload, Streams::new(1), Duration::ZERO);
        model.advance(Duration::ZERO);
        for Delivery { node, line, .. } in model.take_deliveries() {
            let init: Value = serde_json::from_str(&line).unwrap();
            let reply = json!({"src": node, "dest": init["src"],
                "body": {"type": "init_ok", "in_reply_to": init["body"]["msg_id"]}});
            model.node_printed(&node, &reply.to_string(), Duration::ZERO);
        }
        model.advance(Duration::ZERO);
        assert!(model.outcome().is_none());
        model
    }

    #[test]
    fn a_node_over_its_backlog_is_held_until_its_messages_are_taken() {
        let mut options = echo_options(1);
        options.rate = 0.0;
        options.latency = crate::model::network::Latency {
            mean: 1000,
            dist: crate::model::network::LatencyDist::Constant,
        };
        let mut model = started(&options);
        let pad = "x".repeat(10_000);
        let line = |i: usize| {
            json!({"src": "n0", "dest": "n1", "body": {"type": "flood", "i": i, "pad": pad}})
                .to_string()
        };
        let ms = Duration::from_millis;
        let mut printed = 0;
        while model.held_bytes("n0") == 0 {
            model.node_printed("n0", &line(printed), ms(1));
            printed += 1;
        }
        // 2 MiB of backlog at about 10 KiB a message: the 208th waits.
        assert_eq!(printed, 208);
        let sent = model.sent_count();
        // What the node prints next waits behind it, even with room.
        model.node_printed("n0", &line(printed), ms(2));
        assert_eq!(model.sent_count(), sent);
        let held = line(207).len() + line(208).len();
        assert_eq!(model.held_bytes("n0"), held);
        // Other nodes' output is not held back.
        let other = json!({"src": "n1", "dest": "n0", "body": {"type": "flood"}});
        model.node_printed("n1", &other.to_string(), ms(2));
        assert_eq!(model.sent_count(), sent + 1);
        // n1's consumer takes the head at once (it then waits out its latency), which
        // makes room for one.
        model.advance(ms(1000));
        assert_eq!(model.held_bytes("n0"), held - line(207).len());
        assert_eq!(model.sent_count(), sent + 2);
        model.advance(ms(1001));
        assert_eq!(model.held_bytes("n0"), 0);
        assert_eq!(model.sent_count(), sent + 3);
        assert_eq!(model.throttled(), ms(1000));
        let journal = model.take_journal();
        let order: Vec<&str> = journal
            .iter()
            .filter(|(_, kind, m)| *kind == EventKind::Send && m.src == "n0" && m.dest == "n1")
            .map(|(_, _, m)| m.body.as_str())
            .skip(207)
            .collect();
        assert_eq!(order.len(), 2);
        assert!(order[0].contains(r#""i":207"#) && order[1].contains(r#""i":208"#));
    }

    #[test]
    fn paused_deliveries_wait_in_the_queue_until_resumed() {
        let mut options = echo_options(1);
        options.rate = 0.0;
        options.latency.mean = 0;
        let mut model = started(&options);
        let ms = Duration::from_millis;
        model.pause_deliveries("n1");
        let line = json!({"src": "n0", "dest": "n1", "body": {"type": "gossip"}}).to_string();
        model.node_printed("n0", &line, ms(1));
        model.advance(ms(3));
        assert!(model.take_deliveries().is_empty());
        model.resume_deliveries("n1", ms(5));
        model.advance(ms(5));
        let delivered = model.take_deliveries();
        assert_eq!(delivered.len(), 1);
        // Due when its receiver was free to take it.
        assert_eq!(
            (delivered[0].node.as_str(), delivered[0].due),
            ("n1", ms(5))
        );
    }

    #[test]
    fn a_node_that_never_answers_init_fails_after_the_init_timeout() {
        let workload: Arc<dyn Workload> = Arc::from(workload::by_name("echo").unwrap());
        let mut model = RunModel::new(&echo_options(1), workload, Streams::new(1), Duration::ZERO);
        model.advance(Duration::ZERO);
        assert_eq!(model.take_deliveries().len(), 2);
        assert_eq!(model.next_wake(), Some(INIT_TIMEOUT));
        model.advance(INIT_TIMEOUT);
        match model.outcome() {
            Some(Err(RunError::InitFailed { node, reason })) => {
                assert_eq!(node, "n0");
                assert!(reason.contains("within 10 s"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_on_stdout_ends_the_run_naming_node_line_and_rule() {
        let workload: Arc<dyn Workload> = Arc::from(workload::by_name("echo").unwrap());
        let mut model = RunModel::new(&echo_options(1), workload, Streams::new(1), Duration::ZERO);
        model.advance(Duration::ZERO);
        model.node_printed("n1", "hello there", Duration::from_millis(3));
        match model.outcome() {
            Some(Err(RunError::BadOutput { node, line, rule })) => {
                assert_eq!((node.as_str(), line.as_str()), ("n1", "hello there"));
                assert!(rule.starts_with("line-not-valid-json"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(model.next_wake(), None);
    }
}
