//! Deterministic simulation: test any `maelstrom::Node` with a Maelstrom command line,
//! in-process and on virtual time, from its own crate's tests.
//!
//! ```no_run
//! # use glomers::sim::Simulation;
//! # struct MyNode;
//! # fn node_type<N>() {}
//! # fn example<N: maelstrom::Node + Send + 'static>() where N::Timer: Send, N::Token: Send {
//! let run = Simulation::of::<N>("-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition")
//!     .expect("a valid command")
//!     .seed(7)
//!     .run();
//! assert!(run.is_valid(), "{}", run.explain());
//! # }
//! ```
//!
//! The run is the one a process run of the same command would be: the same workload
//! generator, client operations and error mapping, services, network model, nemesis,
//! final phases and checkers, all from [`crate::model::run`]; only the driver differs
//! ([`driver`]: nodes in-process, time virtual, one thread). The node still reads and
//! prints JSON lines, so its decoding, encoding and the stdout rules are exercised. One
//! seed gives byte-identical `history.jsonl`, `messages.jsonl` and `results.json`, in any
//! process; the only wall-clock figure, `glomers.wall-time-s`, is left out of
//! `results.json` and kept in [`SimReport::wall_time`].

pub mod driver;

use crate::checker::{self, NetTally, Validity};
use crate::history::Op;
use crate::journal::write_journal_line;
use crate::model::node::SimNode;
use crate::model::run::{JournalEvent, RunModel, Streams};
use crate::options::{TestArgs, TestOptions, UsageError};
use crate::run::RunReport;
use crate::run_errors::{Halt, RunError};
use crate::store::write_history;
use crate::store::{self, files};
use crate::workload::Workload;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Makes one node, its randomness from `seed` (each node mixes in its own id at `init`).
pub type NodeFactory = fn(u64) -> Box<dyn SimNode>;

/// The factory of a library node type: its sans-IO engine.
pub fn engine<N: maelstrom::Node + Send + 'static>(seed: u64) -> Box<dyn SimNode>
where
    N::Timer: Send,
    N::Token: Send,
{
    Box::new(maelstrom::Engine::<N>::new(seed))
}

/// A simulated test: options (from a Maelstrom command line) and the nodes to run.
#[derive(Clone)]
pub struct Simulation {
    options: TestOptions,
    nodes: NodeFactory,
    /// The command it came from, without its seed.
    command: String,
}

impl Simulation {
    /// A simulation of node type `N` under `command`: `glomers test`'s flags, without
    /// `--bin` (a `--bin` given is ignored; arguments for a binary are too).
    pub fn of<N: maelstrom::Node + Send + 'static>(command: &str) -> Result<Self, UsageError>
    where
        N::Timer: Send,
        N::Token: Send,
    {
        Self::with_factory(command, engine::<N>)
    }

    /// A simulation whose nodes `nodes` makes.
    pub fn with_factory(command: &str, nodes: NodeFactory) -> Result<Self, UsageError> {
        let mut words: Vec<&str> = command.split_whitespace().collect();
        if !words.contains(&"--bin") {
            words.extend(["--bin", IN_PROCESS]);
        }
        let options = TestArgs::parse_words(&words)?.resolve()?;
        // The seed is the simulation's own (see `seed`): the replay line states it once.
        let mut kept = Vec::new();
        let mut words = command.split_whitespace();
        while let Some(word) = words.next() {
            if word == "--seed" {
                words.next();
            } else {
                kept.push(word);
            }
        }
        Ok(Self::from_options(options, nodes, &kept.join(" ")))
    }

    /// A simulation of resolved options; `command` is how a person would ask for it again,
    /// without the seed (the replay line adds it).
    pub fn from_options(mut options: TestOptions, nodes: NodeFactory, command: &str) -> Self {
        options.bin = PathBuf::from(IN_PROCESS);
        Simulation {
            options,
            nodes,
            command: command.to_owned(),
        }
    }

    /// The same simulation on another seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.options.seed = seed;
        self
    }

    /// Its options.
    pub fn options(&self) -> &TestOptions {
        &self.options
    }

    /// Runs it to the verdict.
    pub fn run(&self) -> SimReport {
        let started = Instant::now();
        let options = &self.options;
        let Some(workload) = crate::workload::by_name(&options.workload) else {
            return SimReport::crashed(
                self,
                RunError::Internal(format!("workload {} is not implemented", options.workload)),
            );
        };
        let workload: Arc<dyn Workload> = Arc::from(workload);
        let streams = Streams::new(options.seed);
        let node_seed = streams.nodes;
        let mut model = RunModel::new(options, workload.clone(), streams, Duration::ZERO);
        let mut nodes: Vec<(String, Box<dyn SimNode>)> = options
            .nodes
            .iter()
            .map(|id| (id.clone(), (self.nodes)(node_seed)))
            .collect();
        let mut journal = Vec::new();
        let mut tally = NetTally::default();
        let ended = driver::drive(&mut model, &mut nodes, |event| {
            tally.add(event.1, event.2.id, &event.2.src, &event.2.dest);
            journal.push(event);
        });
        let history = model.history().to_vec();
        let halts = model.halts().to_vec();
        let outcome = match model.outcome() {
            Some(Ok(())) => {
                let mut results = checker::analyze(workload.as_ref(), options, &history, &tally);
                results["glomers"] = json!({
                    "seed": options.seed,
                    "driver": "simulation",
                    "halted-nodes": halts,
                    "closed-stdout": [],
                    "virtual-time-s": ended.as_secs_f64(),
                    "network-queues": {"peak-queued": model.peak_queued()},
                });
                Ok(results)
            }
            Some(Err(error)) => Err(error.clone()),
            None => Err(RunError::internal("the simulation ended before the run")),
        };
        SimReport {
            options: options.clone(),
            replay: self.replay(),
            outcome,
            history,
            journal,
            halts,
            virtual_time: ended,
            wall_time: started.elapsed(),
        }
    }

    /// The line that replays this simulation exactly: its command and seed.
    pub fn replay(&self) -> String {
        format!("{} --seed {}", self.command, self.options.seed)
    }
}

/// What `--bin` says in a simulation's options.
pub const IN_PROCESS: &str = "(in-process)";

/// What a simulation produced.
pub struct SimReport {
    /// Its options (with the seed).
    pub options: TestOptions,
    /// The line that replays it.
    pub replay: String,
    /// The results map, or why the run crashed.
    pub outcome: Result<Value, RunError>,
    /// The history.
    pub history: Vec<Op>,
    /// Every send and delivery, in order.
    pub journal: Vec<JournalEvent>,
    /// Nodes whose output stopped being delivered.
    pub halts: Vec<Halt>,
    /// The simulated time the run took, from the first `init`.
    pub virtual_time: Duration,
    /// The real time the simulation took (not in `results.json`: it is not replayable).
    pub wall_time: Duration,
}

impl SimReport {
    fn crashed(simulation: &Simulation, error: RunError) -> Self {
        SimReport {
            options: simulation.options.clone(),
            replay: simulation.replay(),
            outcome: Err(error),
            history: Vec::new(),
            journal: Vec::new(),
            halts: Vec::new(),
            virtual_time: Duration::ZERO,
            wall_time: Duration::ZERO,
        }
    }

    /// The verdict, if the run got that far.
    pub fn validity(&self) -> Option<Validity> {
        self.outcome
            .as_ref()
            .ok()
            .map(|r| Validity::of(&r["valid?"]))
    }

    /// True for a valid verdict.
    pub fn is_valid(&self) -> bool {
        self.validity() == Some(Validity::Valid)
    }

    /// The results map (`Null` for a crashed run).
    pub fn results(&self) -> &Value {
        self.outcome.as_ref().unwrap_or(&Value::Null)
    }

    /// Why it is not valid, in a few lines: the verdict, what failed, and how to replay it.
    pub fn explain(&self) -> String {
        let what = match &self.outcome {
            Ok(results) => {
                let failed: Vec<String> = results
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(_, part)| part.get("valid?").is_some_and(|v| v != &Value::Bool(true)))
                    .map(|(name, part)| format!("{name}: {part}"))
                    .collect();
                format!("valid? {}\n{}", results["valid?"], failed.join("\n"))
            }
            Err(error) => format!("crashed: {error}"),
        };
        format!("{what}\nreplay: {}", self.replay)
    }

    /// `messages.jsonl`, as a process run writes it.
    pub fn messages_jsonl(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (seq, (time, kind, message)) in self.journal.iter().enumerate() {
            // Writing to memory cannot fail.
            let _ = write_journal_line(&mut out, seq as u64, *time, *kind, message);
        }
        out
    }

    /// Writes a run directory under `store_root` (`glomers analyze` and every later tool
    /// read it as they read a process run's) and returns it.
    pub fn store(&self, store_root: &Path) -> std::io::Result<PathBuf> {
        let dir = store::create_run_dir(store_root, &self.options.workload)?;
        store::write_json(
            &dir.join(files::TEST),
            &serde_json::to_value(&self.options).unwrap_or_default(),
        )?;
        write_history(&dir, &self.history)?;
        let mut messages =
            std::io::BufWriter::new(std::fs::File::create(dir.join(files::MESSAGES))?);
        messages.write_all(&self.messages_jsonl())?;
        messages.flush()?;
        match &self.outcome {
            Ok(results) => {
                // `glomers analyze` keeps this, so that a re-drawn report still names the
                // simulation that replays it.
                let mut results = results.clone();
                results["glomers"]["replay"] = Value::from(self.replay.clone());
                store::write_json(&dir.join(files::RESULTS), &results)?
            }
            Err(error) => std::fs::write(
                dir.join(files::ERROR),
                format!(
                    "{error}\n\nThe simulated run stopped at {:.3} s of virtual time, with {} \
                     operations recorded in {} and {} journal events in {}.\nreplay: {}\n",
                    self.virtual_time.as_secs_f64(),
                    self.history.len(),
                    files::HISTORY,
                    self.journal.len(),
                    files::MESSAGES,
                    self.replay
                ),
            )?,
        }
        store::write_pages(
            &dir,
            &store::RunRecord {
                options: &self.options,
                history: &self.history,
                outcome: self.outcome.as_ref().map_err(ToString::to_string),
                reproduce: self.replay.clone(),
            },
        )?;
        store::mark_latest(store_root, &self.options.workload, &dir)?;
        Ok(dir)
    }

    /// The report a process run would have given, for the scoreboard.
    pub fn into_run_report(self, dir: PathBuf) -> RunReport {
        RunReport {
            dir,
            options: self.options,
            outcome: self.outcome,
            halts: self.halts,
            store_errors: Vec::new(),
        }
    }
}
