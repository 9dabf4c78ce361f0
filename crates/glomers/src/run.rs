//! One test run from start to verdict, on OS processes and the real clock (jepsen-io/maelstrom,
//! `src/maelstrom/core.clj`, `maelstrom-test`, and `src/maelstrom/db.clj`, `db`;
//! jepsen-io/jepsen, `jepsen/src/jepsen/core.clj`, `run!`): start the nodes, drive the run's
//! state machine ([`crate::model::run`], the same one a simulation drives) on the real
//! clock until it is over, tear down, write the store, analyse.
//!
//! One thread, the core, owns the state machine. It sleeps until the next moment the
//! machine names or the next event from a node's I/O threads ([`crate::process`]: a line
//! on stdout, a write done, an exit), whichever comes first, and acts at the real time it
//! wakes: lines go to the machine as the node printed them, deliveries go to the nodes'
//! stdin writers, journal events to the journal's thread. How late it acts against the
//! machine's schedule is the workbench's self-health.

use crate::checker::{self, Validity};
use crate::clock::{Clock, RealClock};
use crate::health::{self, Health, Measure};
use crate::interrupt::{self, Signals};
use crate::journal::{JournalSink, JournalWriter};
use crate::model::network::MAX_BACKLOG;
use crate::model::run::{Delivery, RunModel, Streams};
use crate::options::TestOptions;
use crate::process::{NodeEvent, NodeIo, NodeProcess, ProcessConfig, MAX_LINE_BYTES};
use crate::progress::{Progress, Ticker};
use crate::run_errors::{self, ClosedStdout, Halt, RunError};
use crate::store::write_history;
use crate::store::{self, files};
use crate::workload::Workload;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// How much the core may have handed a node's stdin writer that is not yet written before
/// deliveries to that node pause (its queue then grows instead, and counts against its
/// senders' backlogs): a node that stops reading its stdin holds back its own deliveries,
/// as a full pipe does, and the workbench's memory stays bounded. About a pipe's worth:
/// 16 KiB routed a third fewer messages under a flood, 1 MiB made clients' requests wait
/// behind a megabyte of it (docs/performance.md).
const WRITE_AHEAD: usize = 64 << 10;
/// How long teardown waits for killed nodes to be gone.
const STOP_WAIT: Duration = Duration::from_secs(5);
/// The longest the core sleeps without looking at the clock.
const MAX_SLEEP: Duration = Duration::from_millis(500);
/// Events handled in one go before the machine is advanced again.
const EVENT_BATCH: usize = 256;

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

/// Runs one test and stores it under `store_root`.
///
/// Whatever happens after the run directory exists (a node crashes, init fails, a signal
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
    let health = Arc::new(Health::default());
    let journal_path = dir.join(files::MESSAGES);
    let sink = JournalSink::file(&journal_path)
        .map_err(|e| RunError::Internal(format!("creating {}: {e}", journal_path.display())))?;
    let journal = JournalWriter::start(sink)
        .map_err(|e| RunError::Internal(format!("cannot start the journal thread: {e}")))?;
    let (events_tx, events) = mpsc::channel();
    let interrupt = events_tx.clone();
    let signals = Signals::new(move || {
        let _ = interrupt.send(NodeEvent::Interrupted);
    });
    interrupt::set_current(&signals);
    let watchdog = Watchdog::start(clock.clone(), health.clone());
    let config = ProcessConfig {
        bin: options.bin.clone(),
        args: options.args.clone(),
        log_dir: dir.join(files::NODE_LOGS),
        log_stderr: options.log_stderr,
        env: options.node_env.clone(),
        delivery_stall: Duration::from_millis(options.test_delivery_stall_ms),
    };
    let io = NodeIo {
        events: events_tx,
        clock: clock.clone(),
        health: health.clone(),
    };
    let mut core = Core {
        options,
        clock: clock.clone(),
        health: health.clone(),
        signals: signals.clone(),
        journal: &journal,
        events,
        nodes: Vec::new(),
        unwritten: vec![0; options.nodes.len()],
        paused: vec![false; options.nodes.len()],
        held: vec![0; options.nodes.len()],
        closed_stdout: Vec::new(),
        halts_warned: 0,
        failed_at: None,
        stopping: false,
    };
    let mut model = None;
    let mut started = Ok(());
    for (index, node) in options.nodes.iter().enumerate() {
        match NodeProcess::spawn(&config, index, node, &io) {
            Ok(process) => core.nodes.push(process),
            Err(error) => {
                started = Err(error);
                break;
            }
        }
    }
    let result = match started {
        Ok(()) => {
            let mut run = RunModel::new(
                options,
                workload.clone(),
                Streams::new(options.seed),
                clock.now(),
            );
            run.measure_lateness(health.clone());
            let mut ticker = progress.ticker(clock.now(), options.time_limit);
            let outcome = core.drive(&mut run, &mut ticker);
            ticker.stop();
            model = Some(run);
            outcome
        }
        Err(error) => Err(error),
    };
    let stopped_at = clock.now();
    for node in &mut core.nodes {
        node.stop();
    }
    interrupt::clear_current();
    watchdog.stop();
    let failed_at = core.failed_at;
    let closed_stdout = std::mem::take(&mut core.closed_stdout);
    drop(core);
    let journal = journal.finish();
    if let Some(error) = &journal.error {
        store_errors.push(error.clone());
    }
    let (history, halts, peak_queued, throttled) = match &model {
        Some(model) => (
            model.history().to_vec(),
            model.halts().to_vec(),
            model.peak_queued(),
            model.throttled(),
        ),
        None => Default::default(),
    };
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
                    "backlog-limit-per-sender": MAX_BACKLOG,
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
    match &outcome {
        Ok(results) => {
            let path = dir.join(files::RESULTS);
            stored(errors, &path, store::write_json(&path, results));
        }
        Err(error) => {
            let when = failed_at.unwrap_or(stopped_at);
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
    let record = store::RunRecord {
        options,
        history: &history,
        outcome: outcome.as_ref().map_err(ToString::to_string),
        reproduce: options.command_line(),
    };
    stored(
        errors,
        &dir.join(files::REPORT),
        store::write_pages(&dir, &record),
    );
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

/// The process driver's core: the run's state machine on the real clock, and what it
/// knows of the node processes.
struct Core<'a> {
    options: &'a TestOptions,
    clock: Arc<dyn Clock>,
    health: Arc<Health>,
    signals: Arc<Signals>,
    journal: &'a JournalWriter,
    events: mpsc::Receiver<NodeEvent>,
    nodes: Vec<NodeProcess>,
    /// Bytes handed to each node's stdin writer and not yet written.
    unwritten: Vec<usize>,
    /// Whether each node's deliveries are paused for [`WRITE_AHEAD`].
    paused: Vec<bool>,
    /// The bytes of each node's output the machine held back, as its reader last heard.
    held: Vec<usize>,
    closed_stdout: Vec<ClosedStdout>,
    /// Halts already warned about.
    halts_warned: usize,
    /// When the run failed, on the run's clock.
    failed_at: Option<Duration>,
    /// Teardown has begun: nodes are being killed.
    stopping: bool,
}

impl Core<'_> {
    /// Drives `model` to its end and through teardown: once it is over, every node is
    /// killed and what they still print is routed until they are gone, as a process run's
    /// network runs until its nodes stop.
    fn drive(&mut self, model: &mut RunModel, ticker: &mut Ticker) -> Result<(), RunError> {
        let mut recovering = false;
        let mut outcome = None;
        let mut stop_by = Duration::MAX;
        loop {
            let now = self.clock.now();
            model.advance(now);
            self.flush(model, now);
            ticker.tick(now, model.tally(), model.sent_count());
            if model.recovering() && !recovering {
                recovering = true;
                eprintln!("Waiting for recovery...");
            }
            if model.is_done() && outcome.is_none() {
                outcome = Some(self.teardown(model));
                stop_by = now + STOP_WAIT;
            }
            if self.stopping && (self.nodes.iter().all(|n| n.exited().is_some()) || now >= stop_by)
            {
                break;
            }
            let wake = if self.stopping {
                model.next_timer().map(|at| at.min(stop_by))
            } else {
                model.next_wake()
            };
            let wake = [wake, ticker.next_due()].into_iter().flatten().min();
            let sleep = wake.map_or(MAX_SLEEP, |at| at.saturating_sub(now).min(MAX_SLEEP));
            match self.events.recv_timeout(sleep) {
                Ok(event) => {
                    // Everything waiting is handled at one instant, after what was due;
                    // the loop's next turn advances the machine and hands on what it made.
                    let now = self.clock.now();
                    model.advance(now);
                    self.handle(model, event, now);
                    for _ in 0..EVENT_BATCH {
                        let Ok(event) = self.events.try_recv() else {
                            break;
                        };
                        self.handle(model, event, now);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    model.fail(RunError::internal("every node I/O thread is gone"));
                }
            }
        }
        outcome.unwrap_or_else(|| Err(RunError::internal("the run ended before teardown")))
    }

    /// The run is over: decides its outcome as upstream does at teardown, and kills every
    /// node.
    fn teardown(&mut self, model: &mut RunModel) -> Result<(), RunError> {
        let outcome = match model.outcome() {
            Some(Ok(())) => {
                model.tear_down();
                // Upstream notices dead nodes here: any node already gone crashes the run.
                match self.nodes.iter().find_map(|n| Some((n.id(), n.exited()?))) {
                    Some((node, report)) => Err(RunError::NodeExited {
                        node: node.to_owned(),
                        report,
                    }),
                    None => Ok(()),
                }
            }
            Some(Err(RunError::InitFailed { node, reason })) => {
                let gone = self
                    .nodes
                    .iter()
                    .find(|n| n.id() == node)
                    .and_then(NodeProcess::exited);
                Err(RunError::InitFailed {
                    node: node.clone(),
                    reason: match gone {
                        Some(report) => format!("{reason}; the process is gone ({report})"),
                        None => reason.clone(),
                    },
                })
            }
            Some(Err(error)) => Err(error.clone()),
            None => Err(RunError::internal("teardown before the end")),
        };
        // A node that closed stdout but still runs is not a crash upstream either (its
        // reader just stops); name it, since nothing it wrote afterwards was read.
        let nodes = &self.nodes;
        self.closed_stdout.retain(|c| {
            nodes
                .iter()
                .any(|n| n.id() == c.node && n.exited().is_none())
        });
        self.stopping = true;
        for node in &self.nodes {
            node.kill();
        }
        outcome
    }

    /// Hands on what the machine produced: journal events, deliveries, service notes,
    /// halts, and how much of each node's output it holds back.
    fn flush(&mut self, model: &mut RunModel, now: Duration) {
        for event in model.take_journal() {
            self.journal.write(event);
        }
        for Delivery { node, line, due } in model.take_deliveries() {
            let Some(i) = self.options.nodes.iter().position(|n| *n == node) else {
                continue;
            };
            self.unwritten[i] += line.len();
            if let Some(process) = self.nodes.get(i) {
                process.deliver(line, due);
            }
            if self.unwritten[i] > WRITE_AHEAD && !self.paused[i] {
                self.paused[i] = true;
                model.pause_deliveries(&node);
            }
        }
        for line in model.take_log() {
            eprintln!("{line}");
        }
        for Halt { node, line, reason } in &model.halts()[self.halts_warned..] {
            eprintln!(
                "WARNING: node {node} sent a message the network refused ({reason}); as in \
                 Maelstrom, nothing more from {node} will be delivered for the rest of the \
                 run.\n  line: {line}"
            );
        }
        self.halts_warned = model.halts().len();
        for (i, node) in self.options.nodes.iter().enumerate() {
            if self.held[i] > 0 {
                let held = model.held_bytes(node);
                self.held[i] = held;
                if let Some(process) = self.nodes.get(i) {
                    process.gate().set_held(held);
                }
            }
        }
        if model.outcome().is_some_and(Result::is_err) && self.failed_at.is_none() {
            self.failed_at = Some(now);
        }
    }

    fn handle(&mut self, model: &mut RunModel, event: NodeEvent, now: Duration) {
        let options = self.options;
        let id = |node: usize| options.nodes.get(node).map_or("", String::as_str);
        match event {
            NodeEvent::Line {
                node,
                line,
                parsed,
                read_at,
            } => {
                let name = id(node);
                model.node_printed_parsed(name, &line, parsed, now);
                self.health
                    .record(Measure::StdoutRouting, now.saturating_sub(read_at));
                let held = model.held_bytes(name);
                self.held[node] = held;
                if let Some(process) = self.nodes.get(node) {
                    process.gate().routed(line.len(), held);
                }
            }
            NodeEvent::TooLong { node, excerpt } => model.fail(RunError::BadOutput {
                node: id(node).to_owned(),
                line: excerpt,
                rule: format!(
                    "line-too-long: a message is one line of at most {MAX_LINE_BYTES} bytes; \
                     this node printed more without a newline"
                ),
            }),
            NodeEvent::StdoutClosed { node, at } => {
                if !self.stopping {
                    self.closed_stdout.push(ClosedStdout {
                        node: id(node).to_owned(),
                        at: at.as_secs_f64(),
                    });
                }
            }
            NodeEvent::Exited { node, report } => {
                if !self.stopping {
                    model.fail(if self.signals.is_interrupted() {
                        RunError::Interrupted
                    } else {
                        RunError::NodeExited {
                            node: id(node).to_owned(),
                            report,
                        }
                    });
                }
            }
            NodeEvent::Written { node, bytes } => {
                self.unwritten[node] = self.unwritten[node].saturating_sub(bytes);
                if self.paused[node] && self.unwritten[node] <= WRITE_AHEAD / 2 {
                    self.paused[node] = false;
                    model.resume_deliveries(id(node), now);
                }
            }
            NodeEvent::Interrupted => model.fail(RunError::Interrupted),
        }
    }
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
        let thread = run_errors::spawn_named("watchdog".into(), move || {
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
