//! One test run from start to verdict (jepsen-io/maelstrom, `src/maelstrom/core.clj`,
//! `maelstrom-test`, and `src/maelstrom/db.clj`, `db`; jepsen-io/jepsen,
//! `jepsen/src/jepsen/core.clj`, `run!`): start the nodes, `init` them, run the main phase
//! (clients at the global rate, nemesis on its schedule), the final phase if the workload
//! has one, tear down, write the store, analyse.

use crate::checker::{self, Validity};
use crate::client::{Client, ClientIds, RpcError};
use crate::clock::{Clock, RealClock};
use crate::health::{self, Health, Measure};
use crate::history::{write_history, OpType, Process};
use crate::nemesis::{self, Shape};
use crate::net::{JournalSink, Network};
use crate::options::TestOptions;
use crate::process::{NodeDriver, ProcessDriver, RunningNode};
use crate::progress::Progress;
use crate::recorder::Recorder;
use crate::schedule::{Decision, Stagger};
use crate::services;
use crate::signals::{self, Halt, RunError, Signals};
use crate::store::{self, files};
use crate::workload::{perform, Completion, Generator, Invocation, Workload};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// How long a node has to answer `init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The quiet period before a workload's final operations.
const RECOVERY_WAIT: Duration = Duration::from_secs(10);

/// What a run produced.
pub struct RunReport {
    /// The run directory.
    pub dir: PathBuf,
    /// The options it ran with.
    pub options: TestOptions,
    /// The results map, or why the run crashed.
    pub outcome: Result<Value, RunError>,
    /// Nodes whose output stopped being delivered.
    pub halts: Vec<Halt>,
    /// Store files that could not be written (a full disk, say), each naming its file. The
    /// verdict, if reached, stands: it is in `outcome` and printed.
    pub store_errors: Vec<String>,
}

impl RunReport {
    /// The verdict, if the run got that far.
    pub fn validity(&self) -> Option<Validity> {
        self.outcome
            .as_ref()
            .ok()
            .map(|r| Validity::of(&r["valid?"]))
    }

    /// The process exit code: 0, 1 or 2 by verdict, 255 for a crashed run.
    pub fn exit_code(&self) -> i32 {
        self.validity().map_or(255, Validity::exit_code)
    }

    /// True when the workbench fell behind enough to spoil the run's timing.
    pub fn spoiled_by_load(&self) -> bool {
        self.outcome.as_ref().is_ok_and(health::spoiled)
    }
}

/// Everything the threads of a run share.
struct Run {
    options: TestOptions,
    workload: Arc<dyn Workload>,
    clock: Arc<dyn Clock>,
    net: Arc<Network>,
    signals: Arc<Signals>,
    recorder: Arc<Recorder>,
    client_ids: Arc<ClientIds>,
}

/// Runs one test and stores it under `store_root`.
///
/// Whatever happens after the run directory exists (a node crashes, setup fails, a signal
/// arrives, the disk fills), the directory ends up with the history recorded so far, the
/// journal so far, and either `results.json` or `error.txt` saying why and when the run
/// stopped.
pub fn run_test(
    options: &TestOptions,
    workload: Arc<dyn Workload>,
    store_root: &Path,
    progress: Progress,
) -> Result<RunReport, RunError> {
    let dir = store::create_run_dir(store_root, workload.name()).map_err(|e| {
        RunError::Internal(format!(
            "creating a run directory under {}: {e}",
            store_root.display()
        ))
    })?;
    let mut store_errors = Vec::new();
    let test_path = dir.join(files::TEST);
    stored(
        &mut store_errors,
        &test_path,
        store::write_json(
            &test_path,
            &serde_json::to_value(options).unwrap_or_default(),
        ),
    );
    progress.start(options, &dir);

    let clock: Arc<dyn Clock> = Arc::new(RealClock::new());
    let mut seeds = Pcg64Mcg::seed_from_u64(options.seed);
    let net_rng = Pcg64Mcg::seed_from_u64(seeds.gen());
    let generator_rng = Pcg64Mcg::seed_from_u64(seeds.gen());
    let nemesis_rng = Pcg64Mcg::seed_from_u64(seeds.gen());
    let health = Arc::new(Health::default());
    let journal_path = dir.join(files::MESSAGES);
    let sink = JournalSink::file(&journal_path)
        .map_err(|e| RunError::Internal(format!("creating {}: {e}", journal_path.display())))?;
    let net = Arc::new(
        Network::new(
            options.latency,
            net_rng,
            clock.clone(),
            sink,
            health.clone(),
        )
        .map_err(|e| RunError::Internal(format!("cannot start the journal thread: {e}")))?,
    );
    let signals = Signals::new(net.clone());
    signals::set_current(&signals);
    let watchdog = Watchdog::start(clock.clone(), health.clone());
    let driver = ProcessDriver {
        bin: options.bin.clone(),
        args: options.args.clone(),
        log_dir: dir.join(files::NODE_LOGS),
        log_stderr: options.log_stderr,
        env: options.node_env.clone(),
        delivery_stall: Duration::from_millis(options.test_delivery_stall_ms),
    };
    let mut nodes: Vec<Box<dyn RunningNode>> = Vec::new();
    let mut service_threads = Vec::new();
    let client_ids = Arc::new(ClientIds::default());
    let mut recorded: Option<Arc<Recorder>> = None;
    let mut closed_stdout = Vec::new();
    let result = (|| {
        // The services and every node endpoint exist before any process starts, so early
        // messages queue.
        service_threads = services::start(&net, seeds.gen())?;
        for node in &options.nodes {
            net.register(node);
        }
        for node in &options.nodes {
            nodes.push(driver.start(node, &net, &signals)?);
        }
        init_nodes(&net, &client_ids, &signals, &options.nodes, &nodes)?;
        // The history's clock starts once every node is up, as upstream's relative time does.
        let run = Run {
            options: options.clone(),
            workload: workload.clone(),
            clock: clock.clone(),
            net: net.clone(),
            signals: signals.clone(),
            recorder: Arc::new(Recorder::new(clock.clone())),
            client_ids: client_ids.clone(),
        };
        recorded = Some(run.recorder.clone());
        let setup_clients = setup_nodes(&run)?;
        let reporter = progress.spawn_reporter(
            run.recorder.clone(),
            net.clone(),
            clock.clone(),
            options.time_limit,
        );
        let phases = run_phases(&run, generator_rng, nemesis_rng);
        reporter.stop();
        net.heal();
        for client in setup_clients {
            client.close();
        }
        phases?;
        if let Some(error) = signals.error() {
            return Err(error);
        }
        // Upstream notices dead nodes here, at teardown: any node already gone crashes the run.
        if let Some(node) = nodes.iter().find(|n| n.exited().is_some()) {
            return Err(RunError::NodeExited {
                node: node.id().to_owned(),
                report: node.exited().unwrap_or_default(),
            });
        }
        // A node that closed stdout but still runs is not a crash upstream either (its
        // reader just stops); name it, since nothing it wrote afterwards was read.
        closed_stdout = signals
            .closed_stdout()
            .into_iter()
            .filter(|c| {
                nodes
                    .iter()
                    .any(|n| n.id() == c.node && n.exited().is_none())
            })
            .collect();
        Ok(())
    })();
    let stopped_at = clock.now();
    for node in &mut nodes {
        node.stop();
    }
    signals::clear_current();
    net.shut_down();
    for thread in service_threads {
        let _ = thread.join();
    }
    watchdog.stop();
    let journal = net.finish_journal();
    let (peak_queued, throttled) = net.pressure();
    if let Some(error) = &journal.error {
        store_errors.push(error.clone());
    }
    let halts = signals.halts();
    let history = recorded.map(|r| r.history()).unwrap_or_default();
    let outcome = match result {
        Ok(()) => {
            let mut results =
                checker::analyze(workload.as_ref(), options, &history, &journal.tally);
            let delivery = health.get(Measure::Delivery).summary();
            results["glomers"] = json!({
                "seed": options.seed,
                "halted-nodes": halts,
                "closed-stdout": closed_stdout,
                // Kept under its earlier name for tools that read it; the same figures
                // are in self-health.
                "delivery-lateness-ms": {
                    "deliveries": delivery["count"],
                    "p50": delivery["p50"],
                    "p99": delivery["p99"],
                    "max": delivery["max"],
                },
                "self-health": health.report(),
                "network-queues": {
                    "peak-queued": peak_queued,
                    "backlog-limit-per-sender": crate::net::MAX_BACKLOG,
                    "output-throttled-ms": throttled.as_secs_f64() * 1000.0,
                },
            });
            Ok(results)
        }
        Err(error) => Err(error),
    };
    let errors = &mut store_errors;
    stored(
        errors,
        &dir.join(files::HISTORY),
        write_history(&dir, &history),
    );
    stored(
        errors,
        &dir.join(files::LATENCY_RAW),
        store::write_plots(&dir, &history, workload.name()),
    );
    match &outcome {
        Ok(results) => {
            let path = dir.join(files::RESULTS);
            stored(errors, &path, store::write_json(&path, results));
        }
        Err(error) => {
            let when = signals.aborted_at().unwrap_or(stopped_at);
            let text = format!(
                "{error}\n\nThe run stopped {:.3} s after it began ({}), with {} operations \
                 recorded in {} and {} journal events in {}.\n",
                when.as_secs_f64(),
                store::timestamp(std::time::SystemTime::now()),
                history.len(),
                files::HISTORY,
                journal.events,
                files::MESSAGES,
            );
            let path = dir.join(files::ERROR);
            stored(errors, &path, std::fs::write(&path, text));
        }
    }
    stored(
        errors,
        &store_root.join("latest"),
        store::mark_latest(store_root, workload.name(), &dir),
    );
    Ok(RunReport {
        dir,
        options: options.clone(),
        outcome,
        halts,
        store_errors,
    })
}

/// Notes a store file that could not be written, naming it; the run goes on.
fn stored(errors: &mut Vec<String>, path: &Path, written: std::io::Result<()>) {
    if let Err(e) = written {
        errors.push(format!("writing {}: {e}", path.display()));
    }
}

/// A thread that asks to sleep [`WATCHDOG_PERIOD`] over and over and records how much
/// later it woke: when the workbench's process is not scheduled, this sees it whatever the
/// other threads were doing.
struct Watchdog {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const WATCHDOG_PERIOD: Duration = Duration::from_millis(10);

impl Watchdog {
    fn start(clock: Arc<dyn Clock>, health: Arc<Health>) -> Watchdog {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = signals::spawn_named("watchdog".into(), move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let due = clock.now() + WATCHDOG_PERIOD;
                clock.sleep_until(due);
                health.record(Measure::Scheduler, clock.now().saturating_sub(due));
            }
        })
        .ok();
        Watchdog { stop, thread }
    }

    fn stop(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Opens one setup client per node and runs the workload's setup on every node at once
/// (broadcast's `topology`). The clients stay open until the end, as upstream's do.
fn setup_nodes(run: &Run) -> Result<Vec<Client>, RunError> {
    let handles: Vec<_> = run
        .options
        .nodes
        .iter()
        .map(|node| {
            let mut client = Client::open(run.net.clone(), &run.client_ids);
            let (workload, options, node) =
                (run.workload.clone(), run.options.clone(), node.clone());
            signals::spawn_named(format!("setup-{node}"), move || {
                let result = workload
                    .setup(&node, &options)
                    .and_then(|setup| match setup {
                        Some(setup) => {
                            setup.judge(client.rpc(&node, setup.body.clone(), setup.timeout))
                        }
                        None => Ok(()),
                    });
                (client, node, result)
            })
        })
        .collect::<Result<_, _>>()?;
    let mut clients = Vec::new();
    let mut failure = None;
    for handle in handles {
        let (client, node, result) = handle
            .join()
            .map_err(|_| RunError::internal("setup thread panicked"))?;
        clients.push(client);
        if let Err(reason) = result {
            failure.get_or_insert(RunError::SetupFailed { node, reason });
        }
    }
    match failure.or_else(|| run.signals.error()) {
        Some(error) => {
            for client in clients {
                client.close();
            }
            Err(error)
        }
        None => Ok(clients),
    }
}

/// Sends `init` to every node at once through fresh clients, then waits for each answer.
fn init_nodes(
    net: &Arc<Network>,
    client_ids: &ClientIds,
    signals: &Signals,
    node_ids: &[String],
    nodes: &[Box<dyn RunningNode>],
) -> Result<(), RunError> {
    let handles: Vec<_> = node_ids
        .iter()
        .map(|node| {
            let mut client = Client::open(net.clone(), client_ids);
            let (node, ids) = (node.clone(), node_ids.to_vec());
            signals::spawn_named(format!("init-{node}"), move || {
                let mut body = Map::new();
                body.insert("type".into(), json!("init"));
                body.insert("node_id".into(), json!(node));
                body.insert("node_ids".into(), json!(ids));
                let reply = client.rpc(&node, body, INIT_TIMEOUT);
                client.close();
                (node, reply)
            })
        })
        .collect::<Result<_, _>>()?;
    let mut failure = None;
    for handle in handles {
        let (node, reply) = handle
            .join()
            .map_err(|_| RunError::internal("init thread panicked"))?;
        let reason = match reply {
            Ok(body) if body.get("type").and_then(Value::as_str) == Some("init_ok") => continue,
            Ok(body) => format!("expected init_ok, got {}", Value::Object(body)),
            Err(RpcError::Timeout) => format!(
                "node did not respond to init within {} s",
                INIT_TIMEOUT.as_secs()
            ),
            Err(RpcError::Error { code, text }) => format!(
                "answered init with error {code}: {}",
                text.unwrap_or_default()
            ),
            Err(RpcError::Net(e)) => e.to_string(),
            Err(RpcError::Closed) => match signals.error() {
                Some(error) => return Err(error),
                None => "the run was shut down".into(),
            },
        };
        let exited = nodes
            .iter()
            .find(|n| n.id() == node)
            .and_then(|n| n.exited());
        let reason = match exited {
            Some(report) => format!("{reason}; the process is gone ({report})"),
            None => reason,
        };
        failure.get_or_insert(RunError::InitFailed { node, reason });
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The main phase, then the final phase if the workload has one.
fn run_phases(
    run: &Run,
    mut generator_rng: Pcg64Mcg,
    nemesis_rng: Pcg64Mcg,
) -> Result<(), RunError> {
    let mut generator = run.workload.generator(&run.options);
    let cutoff = run.clock.now() + Duration::from_secs(run.options.time_limit);
    let nemesis = run.options.partitions().then(|| {
        let (net, clock, recorder, signals, nodes) = (
            run.net.clone(),
            run.clock.clone(),
            run.recorder.clone(),
            run.signals.clone(),
            run.options.nodes.clone(),
        );
        let interval = run.options.nemesis_interval;
        signals::spawn_named("nemesis".into(), move || {
            partition_schedule(
                &net,
                clock.as_ref(),
                &recorder,
                &signals,
                &nodes,
                interval,
                cutoff,
                nemesis_rng,
            )
        })
    });
    let nemesis = nemesis.transpose()?;
    let mut pool = WorkerPool::start(run)?;
    pool.main_phase(run, generator.as_mut(), &mut generator_rng, cutoff);
    if let Some(nemesis) = nemesis {
        let _ = nemesis.join();
    }
    if generator.has_final_phase() {
        if run.options.partitions() {
            heal_op(&run.net, &run.recorder);
        }
        eprintln!("Waiting for recovery...");
        sleep_unless_aborted(run, run.clock.now() + RECOVERY_WAIT);
        pool.final_phase(run, generator.as_mut(), &mut generator_rng);
    }
    pool.stop();
    Ok(())
}

fn sleep_unless_aborted(run: &Run, until: Duration) {
    while !run.signals.is_aborted() {
        let now = run.clock.now();
        if now >= until {
            return;
        }
        run.clock
            .sleep_until(now + (until - now).min(Duration::from_millis(50)));
    }
}

/// Alternates start and stop of partitions with uniform gaps in `[0, 2 × interval)`,
/// starting at once, until the cutoff.
#[allow(clippy::too_many_arguments)]
fn partition_schedule(
    net: &Network,
    clock: &dyn Clock,
    recorder: &Recorder,
    signals: &Signals,
    nodes: &[String],
    interval: f64,
    cutoff: Duration,
    mut rng: Pcg64Mcg,
) {
    let mut partitioned = false;
    loop {
        if signals.is_aborted() || clock.now() >= cutoff {
            return;
        }
        if partitioned {
            heal_op(net, recorder);
        } else {
            let shape = *Shape::ALL.choose(&mut rng).unwrap_or(&Shape::One);
            recorder.record(
                OpType::Info,
                Process::NEMESIS,
                "start-partition",
                json!(shape.name()),
                None,
                None,
                false,
            );
            let grudge = shape.grudge(nodes, &mut rng);
            net.partition(&grudge);
            recorder.record(
                OpType::Info,
                Process::NEMESIS,
                "start-partition",
                json!(["isolated", grudge]),
                None,
                None,
                false,
            );
        }
        partitioned = !partitioned;
        let wake = clock.now() + nemesis::next_gap(interval, &mut rng);
        while !signals.is_aborted() && clock.now() < wake.min(cutoff) {
            clock.sleep_until(
                (clock.now() + Duration::from_millis(50))
                    .min(wake)
                    .min(cutoff),
            );
        }
        if wake < cutoff {
            net.health()
                .record(Measure::Nemesis, clock.now().saturating_sub(wake));
        }
    }
}

fn heal_op(net: &Network, recorder: &Recorder) {
    recorder.record(
        OpType::Info,
        Process::NEMESIS,
        "stop-partition",
        Value::Null,
        None,
        None,
        false,
    );
    net.heal();
    recorder.record(
        OpType::Info,
        Process::NEMESIS,
        "stop-partition",
        json!("network-healed"),
        None,
        None,
        false,
    );
}

struct Job {
    process: u64,
    invocation: Invocation,
}

struct WorkerSlot {
    jobs: mpsc::Sender<Job>,
    process: u64,
    busy: bool,
    thread: std::thread::JoinHandle<()>,
}

/// One thread per concurrency slot; thread `t` talks to node `t mod N`.
struct WorkerPool {
    slots: Vec<WorkerSlot>,
    done: mpsc::Receiver<Done>,
    /// Completions not yet shown to the generator.
    observed: Vec<(usize, Invocation, Completion)>,
}

/// A worker's report: its thread, its process number from now on, and what happened.
type Done = (usize, u64, Invocation, Completion);

impl WorkerPool {
    fn start(run: &Run) -> Result<WorkerPool, RunError> {
        let (done_tx, done) = mpsc::channel();
        let concurrency = run.options.concurrency;
        let slots = (0..concurrency)
            .map(|t| {
                let (jobs, rx) = mpsc::channel::<Job>();
                let node = run.options.nodes[t % run.options.nodes.len()].clone();
                let ctx = (
                    run.workload.clone(),
                    run.net.clone(),
                    run.recorder.clone(),
                    run.client_ids.clone(),
                    run.options.clone(),
                );
                let done_tx = done_tx.clone();
                let thread = signals::spawn_named(format!("client-{t}"), move || {
                    let (workload, net, recorder, ids, options) = ctx;
                    let mut client: Option<Client> = None;
                    for job in rx {
                        let c = client.get_or_insert_with(|| Client::open(net.clone(), &ids));
                        let completion =
                            perform(workload.as_ref(), c, &node, &job.invocation, &options);
                        let kind = completion.kind;
                        recorder.record(
                            kind,
                            Process::Client(job.process),
                            &job.invocation.f,
                            completion.value.clone(),
                            completion.error.clone(),
                            completion.exception.clone(),
                            job.invocation.is_final,
                        );
                        let mut process = job.process;
                        if kind == OpType::Info {
                            process += concurrency as u64;
                            if !workload.reusable_client() {
                                if let Some(old) = client.take() {
                                    old.close();
                                }
                            }
                        }
                        if done_tx
                            .send((t, process, job.invocation, completion))
                            .is_err()
                        {
                            break;
                        }
                    }
                    if let Some(c) = client {
                        c.close();
                    }
                })?;
                Ok(WorkerSlot {
                    jobs,
                    process: t as u64,
                    busy: false,
                    thread,
                })
            })
            .collect::<Result<_, RunError>>()?;
        Ok(WorkerPool {
            slots,
            done,
            observed: Vec::new(),
        })
    }

    fn mark_done(&mut self, (t, process, invocation, completion): Done) {
        self.slots[t].busy = false;
        self.slots[t].process = process;
        self.observed.push((t, invocation, completion));
    }

    /// Shows the generator every completion since the last call.
    fn feed(&mut self, generator: &mut dyn Generator) {
        for (t, invocation, completion) in self.observed.drain(..) {
            generator.observe(t, &invocation, &completion);
        }
    }

    fn dispatch(&mut self, run: &Run, t: usize, invocation: Invocation) {
        let slot = &mut self.slots[t];
        run.recorder.record(
            OpType::Invoke,
            Process::Client(slot.process),
            &invocation.f,
            invocation.value.clone(),
            None,
            None,
            invocation.is_final,
        );
        slot.busy = slot
            .jobs
            .send(Job {
                process: slot.process,
                invocation,
            })
            .is_ok();
    }

    /// Stagger: one operation due at once, then gaps uniform in `[0, 2 / rate)`; a due
    /// operation waits for a free thread (chosen round robin) and the next gap counts from
    /// the actual dispatch. No operation starts at or after the cutoff.
    fn main_phase(
        &mut self,
        run: &Run,
        generator: &mut dyn Generator,
        rng: &mut Pcg64Mcg,
        cutoff: Duration,
    ) {
        if run.options.rate <= 0.0 {
            sleep_unless_aborted(run, cutoff);
            return;
        }
        let mut stagger = Stagger::new(run.options.rate, run.clock.now(), cutoff);
        let threads = self.slots.len();
        loop {
            while let Ok(done) = self.done.try_recv() {
                self.mark_done(done);
            }
            if run.signals.is_aborted() {
                break;
            }
            let now = run.clock.now();
            let busy: Vec<bool> = self.slots.iter().map(|s| s.busy).collect();
            match stagger.decide(now, &busy) {
                Decision::Stop => break,
                Decision::WaitUntil(until) => {
                    let wait = until.saturating_sub(now).min(Duration::from_millis(100));
                    match self.done.recv_timeout(wait) {
                        Ok(done) => self.mark_done(done),
                        // Woken by the clock: how late against the moment asked for.
                        Err(_) => run.net.health().record(
                            Measure::Generator,
                            run.clock.now().saturating_sub(now + wait),
                        ),
                    }
                }
                Decision::Dispatch(t) => {
                    self.feed(generator);
                    let invocation = generator.next_for(t, rng, now);
                    self.dispatch(run, t, invocation);
                    stagger.dispatched(t, threads, now, rng);
                }
            }
        }
        self.wait_idle(run);
    }

    /// Every thread runs its own final sequence (`Generator::final_next`), all threads at
    /// the same time, until each is done or the generator's time limit passes.
    fn final_phase(&mut self, run: &Run, generator: &mut dyn Generator, rng: &mut Pcg64Mcg) {
        let threads = self.slots.len();
        let deadline = generator.final_limit().map(|limit| run.clock.now() + limit);
        let mut finished = vec![false; threads];
        let mut next: Vec<Option<(Invocation, Duration)>> = vec![None; threads];
        loop {
            while let Ok(done) = self.done.try_recv() {
                self.mark_done(done);
            }
            self.feed(generator);
            let now = run.clock.now();
            if run.signals.is_aborted() || deadline.is_some_and(|d| now >= d) {
                break;
            }
            for t in 0..threads {
                if finished[t] || self.slots[t].busy {
                    continue;
                }
                if next[t].is_none() {
                    match generator.final_next(t, rng) {
                        Some((invocation, delay)) => next[t] = Some((invocation, now + delay)),
                        None => finished[t] = true,
                    }
                }
                if next[t].as_ref().is_some_and(|(_, at)| now >= *at) {
                    if let Some((invocation, _)) = next[t].take() {
                        self.dispatch(run, t, invocation);
                    }
                }
            }
            if finished.iter().all(|f| *f) {
                break;
            }
            let due = next
                .iter()
                .flatten()
                .map(|(_, at)| *at)
                .min()
                .unwrap_or(now + Duration::from_millis(50));
            let wait = due
                .saturating_sub(now)
                .clamp(Duration::from_millis(1), Duration::from_millis(50));
            if let Ok(done) = self.done.recv_timeout(wait) {
                self.mark_done(done);
            }
        }
        self.wait_idle(run);
    }

    fn wait_idle(&mut self, run: &Run) {
        while self.slots.iter().any(|s| s.busy) {
            match self.done.recv_timeout(Duration::from_millis(200)) {
                Ok(done) => self.mark_done(done),
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) if run.signals.is_aborted() => {
                    // Workers blocked in an RPC wake up on shutdown; give them a moment.
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn stop(self) {
        let WorkerPool { slots, done, .. } = self;
        drop(done);
        let threads: Vec<_> = slots.into_iter().map(|s| s.thread).collect();
        for thread in threads {
            let _ = thread.join();
        }
    }
}
