//! `glomers challenge`: build the solutions, run each challenge's official command on the
//! workbench, and print a scoreboard against the challenges' published limits and our own
//! targets.

use crate::checker::Validity;
use crate::options::{TestArgs, TestOptions};
use crate::progress::Progress;
use crate::run::{run_test, RunReport};
use crate::sim::{engine, NodeFactory, Simulation};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// One row of the suite.
#[derive(Debug, Clone, Copy)]
pub struct Challenge {
    /// The id users type: `1`, `2`, `3a`, ...
    pub id: &'static str,
    /// What it is.
    pub title: &'static str,
    /// The cargo package that builds the solution.
    pub package: &'static str,
    /// The binary's name.
    pub bin: &'static str,
    /// `-w`.
    pub workload: &'static str,
    /// The official flags, after `-w W --bin B`, separated by spaces.
    pub flags: &'static str,
    /// Limits on the results beyond `valid?`: the challenge's own, then ours.
    pub targets: &'static [Target],
    /// The solution's node, for running the row in simulation.
    pub nodes: NodeFactory,
}

/// An upper limit. Fly.io's pages say a figure must be "below" theirs, so their limits are
/// strict; ours allow the limit itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// The limit.
    pub value: f64,
    /// True for "below" (`<`), false for "at most" (`<=`).
    pub strict: bool,
}

impl Limit {
    /// A published limit: the figure must be below it.
    pub const fn below(value: f64) -> Limit {
        Limit {
            value,
            strict: true,
        }
    }

    /// One of our targets: the figure may reach it.
    pub const fn at_most(value: f64) -> Limit {
        Limit {
            value,
            strict: false,
        }
    }

    fn allows(self, x: f64) -> bool {
        if self.strict {
            x < self.value
        } else {
            x <= self.value
        }
    }

    fn sign(self) -> &'static str {
        if self.strict {
            "<"
        } else {
            "<="
        }
    }
}

/// A limit on one figure of a run's results.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// `net.all.msgs-per-op` within the limit.
    MsgsPerOp(Limit),
    /// Median stable latency (`workload.stable-latencies.0.5`), in ms, within the limit.
    MedianLatency(Limit),
    /// Maximum stable latency (`workload.stable-latencies.1`), in ms, within the limit.
    MaxLatency(Limit),
    /// `workload.lost-count` is 0.
    NothingLost,
    /// `availability.ok-fraction` at least this.
    Availability(f64),
    /// Our checker, run at read committed, finds nothing (no G0, G1a, G1b, G1c), whatever
    /// model the row's command checks.
    ReadCommitted,
}

impl Target {
    /// The figure this target reads, from a results map.
    pub fn figure(self, results: &Value) -> Option<f64> {
        match self {
            Target::MsgsPerOp(_) => results["net"]["all"]["msgs-per-op"].as_f64(),
            Target::MedianLatency(_) => results["workload"]["stable-latencies"]["0.5"].as_f64(),
            Target::MaxLatency(_) => results["workload"]["stable-latencies"]["1"].as_f64(),
            Target::NothingLost => results["workload"]["lost-count"].as_f64(),
            Target::Availability(_) => results["availability"]["ok-fraction"].as_f64(),
            Target::ReadCommitted => results["workload"]["read-committed-anomaly-types"]
                .as_array()
                .map(|types| types.len() as f64),
        }
    }

    /// True when the results meet the target.
    pub fn met(self, results: &Value) -> bool {
        let Some(x) = self.figure(results) else {
            return false;
        };
        match self {
            Target::MsgsPerOp(limit) | Target::MedianLatency(limit) | Target::MaxLatency(limit) => {
                limit.allows(x)
            }
            Target::NothingLost | Target::ReadCommitted => x == 0.0,
            Target::Availability(floor) => x >= floor,
        }
    }

    /// How the target reads in the scoreboard, e.g. `msgs-per-op 4.28 < 30`.
    pub fn describe(self, results: &Value) -> String {
        let digits = if matches!(self, Target::Availability(_)) {
            4
        } else {
            2
        };
        let figure = self
            .figure(results)
            .map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"));
        match self {
            Target::MsgsPerOp(l) => format!("msgs-per-op {figure} {} {}", l.sign(), l.value),
            Target::MedianLatency(l) => format!("median {figure} {} {} ms", l.sign(), l.value),
            Target::MaxLatency(l) => format!("max {figure} {} {} ms", l.sign(), l.value),
            Target::NothingLost => format!("lost {figure} = 0"),
            Target::Availability(floor) => format!("availability {figure} >= {floor}"),
            Target::ReadCommitted => format!("read-committed anomalies {figure} = 0"),
        }
    }
}

/// Where a results map says its check was not complete: a part verdict `unknown`, or a
/// cycle search that ran out of time (which Maelstrom's txn wrapper hides from `valid?`).
/// A row passes only on a complete check.
pub fn incomplete_checks(results: &Value) -> Vec<String> {
    fn walk(value: &Value, path: &str, found: &mut Vec<String>) {
        let Value::Object(map) = value else {
            return;
        };
        for (key, inner) in map {
            let here = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key == "valid?" && Validity::of(inner) == Validity::Unknown {
                found.push(format!("{here} is unknown"));
            } else if key.ends_with("cycle-search-timeout") {
                found.push(format!("{here}: a cycle search timed out"));
            } else if key != "glomers" {
                walk(inner, &here, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(results, "", &mut found);
    found
}

const ECHO: Challenge = Challenge {
    id: "",
    title: "",
    package: "echo",
    bin: "echo",
    workload: "echo",
    flags: "",
    targets: &[],
    nodes: engine::<echo::EchoNode>,
};
const BROADCAST: Challenge = Challenge {
    package: "broadcast",
    bin: "broadcast",
    workload: "broadcast",
    nodes: engine::<broadcast::BroadcastNode>,
    ..ECHO
};
const BROADCAST_3D: &str = "--node-count 25 --time-limit 20 --rate 100 --latency 100";
const KAFKA: Challenge = Challenge {
    package: "kafka",
    bin: "kafka",
    workload: "kafka",
    nodes: engine::<kafka::KafkaNode>,
    ..ECHO
};
const KAFKA_MULTI: &str = "--node-count 2 --concurrency 2n --time-limit 20 --rate 1000";
const TXN: Challenge = Challenge {
    package: "txn",
    bin: "txn",
    workload: "txn-rw-register",
    targets: &[Target::ReadCommitted],
    nodes: engine::<txn::TxnNode>,
    ..ECHO
};

/// Every challenge implemented so far, in order.
pub const CHALLENGES: &[Challenge] = &[
    Challenge {
        id: "1",
        title: "echo",
        flags: "--node-count 1 --time-limit 10",
        ..ECHO
    },
    Challenge {
        id: "2",
        title: "unique ids",
        package: "unique-ids",
        bin: "unique-ids",
        workload: "unique-ids",
        flags:
            "--time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition",
        targets: &[],
        nodes: engine::<unique_ids::UniqueIdsNode>,
    },
    Challenge {
        id: "3a",
        title: "broadcast 1 node",
        flags: "--node-count 1 --time-limit 20 --rate 10",
        ..BROADCAST
    },
    Challenge {
        id: "3b",
        title: "broadcast 5 nodes",
        flags: "--node-count 5 --time-limit 20 --rate 10",
        ..BROADCAST
    },
    Challenge {
        id: "3c",
        title: "broadcast partitions",
        flags: "--node-count 5 --time-limit 20 --rate 10 --nemesis partition",
        targets: &[Target::NothingLost],
        ..BROADCAST
    },
    Challenge {
        id: "3d",
        title: "broadcast efficient I",
        flags: BROADCAST_3D,
        // The challenge's limits, then ours.
        targets: &[
            Target::MsgsPerOp(Limit::below(30.0)),
            Target::MedianLatency(Limit::below(400.0)),
            Target::MaxLatency(Limit::below(600.0)),
            Target::MsgsPerOp(Limit::at_most(6.0)),
            Target::MedianLatency(Limit::at_most(320.0)),
            Target::MaxLatency(Limit::at_most(500.0)),
        ],
        ..BROADCAST
    },
    Challenge {
        id: "3e",
        title: "broadcast efficient II",
        flags: BROADCAST_3D,
        targets: &[
            Target::MsgsPerOp(Limit::below(20.0)),
            Target::MedianLatency(Limit::below(1000.0)),
            Target::MaxLatency(Limit::below(2000.0)),
            Target::MsgsPerOp(Limit::at_most(6.0)),
            Target::MedianLatency(Limit::at_most(320.0)),
            Target::MaxLatency(Limit::at_most(500.0)),
        ],
        ..BROADCAST
    },
    Challenge {
        id: "4",
        title: "grow-only counter",
        package: "g-counter",
        bin: "g-counter",
        workload: "g-counter",
        flags: "--node-count 3 --rate 100 --time-limit 20 --nemesis partition",
        targets: &[],
        nodes: engine::<g_counter::CounterNode>,
    },
    Challenge {
        id: "5a",
        title: "kafka single node",
        flags: "--node-count 1 --concurrency 2n --time-limit 20 --rate 1000",
        ..KAFKA
    },
    Challenge {
        id: "5b",
        title: "kafka multi node",
        flags: KAFKA_MULTI,
        ..KAFKA
    },
    Challenge {
        id: "5c",
        title: "kafka efficient",
        flags: KAFKA_MULTI,
        targets: &[
            Target::MsgsPerOp(Limit::at_most(5.0)),
            Target::Availability(0.999),
        ],
        ..KAFKA
    },
    Challenge {
        id: "3d-partition",
        title: "broadcast 3d + partitions",
        flags: "--node-count 25 --time-limit 20 --rate 100 --latency 100 --nemesis partition",
        targets: &[Target::NothingLost],
        ..BROADCAST
    },
    Challenge {
        id: "6a",
        title: "txn single node",
        flags: "--node-count 1 --time-limit 20 --rate 1000 --concurrency 2n \
                --consistency-models read-uncommitted --availability total",
        ..TXN
    },
    // 6b is two runs, both under one id.
    Challenge {
        id: "6b",
        title: "txn read uncommitted",
        flags: "--node-count 2 --concurrency 2n --time-limit 20 --rate 1000 \
                --consistency-models read-uncommitted",
        ..TXN
    },
    Challenge {
        id: "6b",
        title: "txn read uncommitted + partitions",
        flags: "--node-count 2 --concurrency 2n --time-limit 20 --rate 1000 \
                --consistency-models read-uncommitted --availability total --nemesis partition",
        ..TXN
    },
    // As Fly.io prints it: the en dash makes `–-nemesis partition` arguments for the binary,
    // so no partition happens.
    Challenge {
        id: "6c",
        title: "txn read committed",
        flags: "--node-count 2 --concurrency 2n --time-limit 20 --rate 1000 \
                --consistency-models read-committed --availability total –-nemesis partition",
        ..TXN
    },
    Challenge {
        id: "6c-partition",
        title: "txn read committed + real partitions",
        flags: "--node-count 2 --concurrency 2n --time-limit 20 --rate 1000 \
                --consistency-models read-committed --availability total --nemesis partition",
        ..TXN
    },
];

/// Why the suite could not run.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// An id that is not in the table.
    #[error("unknown challenge {0:?}; known: {1}")]
    Unknown(String, String),
    /// cargo failed.
    #[error("building the solutions failed: {0}")]
    Build(String),
    /// The command line of a row did not parse (a bug in the table).
    #[error("challenge {0}: {1}")]
    BadRow(&'static str, String),
    /// The workbench could not run a row.
    #[error("challenge {0}: {1}")]
    Run(&'static str, crate::run_errors::RunError),
}

/// The outcome of one row on one or more seeds.
pub struct RowResult {
    /// The challenge.
    pub challenge: Challenge,
    /// One report per seed.
    pub runs: Vec<RunReport>,
}

/// How one run of a row ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunVerdict {
    /// Valid on a complete check, every target met.
    Pass,
    /// Not a pass, on a run the workbench kept to time: the solution's failure.
    Fail(String),
    /// Not a pass, on a run where the workbench itself fell behind: rerun it before blaming
    /// the solution. The reason says what else was wrong, so a late and invalid run shows
    /// both.
    Spoiled(String),
}

impl RowResult {
    /// True when every seed passed.
    pub fn passed(&self) -> bool {
        self.runs.iter().all(|r| self.run_passed(r))
    }

    /// A run passes when it is valid on a complete check and meets every target of its row.
    pub fn run_passed(&self, run: &RunReport) -> bool {
        self.verdict(run) == RunVerdict::Pass
    }

    /// The verdict on one run, with the reason when it is not a pass.
    pub fn verdict(&self, run: &RunReport) -> RunVerdict {
        let why = match &run.outcome {
            Err(e) => e.to_string(),
            Ok(results) => {
                let mut problems = Vec::new();
                if Validity::of(&results["valid?"]) != Validity::Valid {
                    problems.push(format!(
                        "{}, see {}",
                        if Validity::of(&results["valid?"]) == Validity::Invalid {
                            "invalid"
                        } else {
                            "unknown"
                        },
                        run.dir.join("results.json").display()
                    ));
                }
                let incomplete = incomplete_checks(results);
                if !incomplete.is_empty() {
                    problems.push(format!("incomplete check: {}", incomplete.join("; ")));
                }
                let missed: Vec<String> = self
                    .challenge
                    .targets
                    .iter()
                    .filter(|t| !t.met(results))
                    .map(|t| t.describe(results))
                    .collect();
                if !missed.is_empty() {
                    problems.push(format!("targets missed: {}", missed.join(", ")));
                }
                if problems.is_empty() {
                    return RunVerdict::Pass;
                }
                problems.join("; ")
            }
        };
        if run.spoiled_by_load() {
            RunVerdict::Spoiled(why)
        } else {
            RunVerdict::Fail(why)
        }
    }

    /// True when some seed failed on a run the workbench kept to time.
    pub fn failed(&self) -> bool {
        self.runs
            .iter()
            .any(|r| matches!(self.verdict(r), RunVerdict::Fail(_)))
    }
}

/// Resolves ids (`all` for every row) to rows.
pub fn select(ids: &[String]) -> Result<Vec<Challenge>, ChallengeError> {
    if ids.iter().any(|id| id == "all") || ids.is_empty() {
        return Ok(CHALLENGES.to_vec());
    }
    let mut rows = Vec::new();
    for id in ids {
        let matching: Vec<Challenge> = CHALLENGES
            .iter()
            .filter(|c| c.id == id.as_str())
            .copied()
            .collect();
        if matching.is_empty() {
            let mut known: Vec<&str> = CHALLENGES.iter().map(|c| c.id).collect();
            known.dedup();
            return Err(ChallengeError::Unknown(id.clone(), known.join(", ")));
        }
        rows.extend(matching);
    }
    Ok(rows)
}

/// The workspace root: the nearest ancestor of the current directory with a workspace
/// `Cargo.toml`, else the one this binary was built from.
pub fn workspace_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    cwd.ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Builds the rows' binaries in release mode; returns the directory holding them.
pub fn build(rows: &[Challenge]) -> Result<PathBuf, ChallengeError> {
    let root = workspace_root();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&root).args(["build", "--release"]);
    let mut packages: Vec<&str> = rows.iter().map(|c| c.package).collect();
    packages.dedup();
    for package in packages {
        cmd.args(["-p", package]);
    }
    let status = cmd
        .status()
        .map_err(|e| ChallengeError::Build(e.to_string()))?;
    if !status.success() {
        return Err(ChallengeError::Build(format!("cargo exited with {status}")));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target.join("release"))
}

/// The options of a row's official command on one seed.
pub fn options_for(
    challenge: &Challenge,
    bin_dir: &Path,
    seed: u64,
) -> Result<TestOptions, ChallengeError> {
    let bin = bin_dir.join(challenge.bin);
    let mut argv: Vec<String> = vec![
        "-w".into(),
        challenge.workload.into(),
        "--bin".into(),
        bin.display().to_string(),
    ];
    argv.extend(challenge.flags.split_whitespace().map(str::to_owned));
    argv.extend(["--seed".into(), seed.to_string()]);
    let row =
        TestArgs::parse_words(&argv).map_err(|e| ChallengeError::BadRow(challenge.id, e.0))?;
    row.resolve()
        .map_err(|e| ChallengeError::BadRow(challenge.id, e.0))
}

/// Runs a row's command with the given options and prints the run's summary.
pub fn run_options(
    challenge: &Challenge,
    options: &TestOptions,
    store: &Path,
    progress: Progress,
) -> Result<RunReport, ChallengeError> {
    let workload = crate::workload::by_name(challenge.workload)
        .ok_or_else(|| ChallengeError::BadRow(challenge.id, "workload not implemented".into()))?;
    let report = run_test(options, Arc::from(workload), store, progress)
        .map_err(|e| ChallengeError::Run(challenge.id, e))?;
    eprintln!("{}", crate::report::summary(&report));
    Ok(report)
}

/// Runs one row on the given seeds.
pub fn run_row(
    challenge: Challenge,
    bin_dir: &Path,
    seeds: &[u64],
    store: &Path,
    progress: Progress,
) -> Result<RowResult, ChallengeError> {
    let mut runs = Vec::new();
    for seed in seeds {
        let options = options_for(&challenge, bin_dir, *seed)?;
        runs.push(run_options(&challenge, &options, store, progress)?);
    }
    Ok(RowResult { challenge, runs })
}

/// A row's official command as a simulation of `nodes`, replayable by its seed.
fn simulation_of(challenge: &Challenge, nodes: NodeFactory) -> Result<Simulation, ChallengeError> {
    let options = options_for(challenge, Path::new(crate::sim::IN_PROCESS), 0)?;
    let command = format!("glomers challenge {} --sim", challenge.id);
    Ok(Simulation::from_options(options, nodes, &command))
}

/// Runs one row in simulation on the given seeds: the solution's node in-process, on
/// virtual time, with the row's official command. On one seed the run is stored; on more,
/// only runs that do not pass are (a thousand seeds would otherwise leave a thousand
/// directories), each printing the line that replays it.
pub fn run_row_sim(
    challenge: Challenge,
    seeds: &[u64],
    store: &Path,
) -> Result<RowResult, ChallengeError> {
    let started = std::time::Instant::now();
    let simulation = simulation_of(&challenge, challenge.nodes)?;
    let mut row = RowResult {
        challenge,
        runs: Vec::new(),
    };
    for seed in seeds {
        let report = simulation.clone().seed(*seed).run();
        let replay = report.replay.clone();
        let stored = (seeds.len() == 1).then(|| report.store(store));
        let mut run = report.into_run_report(PathBuf::new());
        let passed = row.run_passed(&run);
        // A failing run of a long sweep is replayed to store it: most runs pass, and
        // keeping every report until its verdict is known would hold them all.
        let stored =
            stored.or_else(|| (!passed).then(|| simulation.clone().seed(*seed).run().store(store)));
        match stored {
            Some(Ok(dir)) => run.dir = dir,
            Some(Err(e)) => run.store_errors.push(format!("storing the run: {e}")),
            None => {}
        }
        if !passed {
            eprintln!(
                "challenge {} seed {seed}: {:?}\n  replay: {replay}",
                challenge.id,
                row.verdict(&run)
            );
        }
        row.runs.push(run);
    }
    let passed = row.runs.iter().filter(|r| row.run_passed(r)).count();
    eprintln!(
        "challenge {} ({}): {passed}/{} seeds passed in simulation, {:.2} s",
        challenge.id,
        challenge.title,
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(row)
}

/// Runs every row with id `id` in simulation on `seeds`, with `nodes` as the solution (a
/// challenge crate's own node type, from its tests). Returns how many runs passed, or one
/// line per run that did not, each with its verdict and the line that replays it.
pub fn simulate_rows(
    id: &str,
    nodes: NodeFactory,
    seeds: std::ops::Range<u64>,
) -> Result<usize, String> {
    let rows = select(&[id.to_owned()]).map_err(|e| e.to_string())?;
    let mut failures = Vec::new();
    let mut passed = 0;
    for challenge in rows {
        let simulation = simulation_of(&challenge, nodes).map_err(|e| e.to_string())?;
        let row = RowResult {
            challenge,
            runs: Vec::new(),
        };
        for seed in seeds.clone() {
            let report = simulation.clone().seed(seed).run();
            let replay = report.replay.clone();
            let run = report.into_run_report(PathBuf::new());
            match row.verdict(&run) {
                RunVerdict::Pass => passed += 1,
                verdict => failures.push(format!(
                    "{} ({}) seed {seed}: {verdict:?}; replay: {replay}",
                    challenge.id, challenge.title
                )),
            }
        }
    }
    if failures.is_empty() {
        Ok(passed)
    } else {
        Err(failures.join("\n"))
    }
}

/// A challenge crate's simulation test: every row with id `id` passes on seeds 1-20, or
/// the test fails listing each failing seed with its verdict and replay line.
///
/// # Panics
/// When a run does not pass, or `id` names no row: it is an assertion.
pub fn assert_rows_pass_in_simulation(id: &str, nodes: NodeFactory) {
    if let Err(failures) = simulate_rows(id, nodes, 1..21) {
        panic!("{failures}");
    }
}

/// The scoreboard: one line per row with its verdict and key figures.
pub fn scoreboard(rows: &[RowResult]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<13} {:<36} {:<8} {:>7} {:>7} {:>8} {:>8} {:>8}  {}\n",
        "id",
        "challenge",
        "verdict",
        "ok ops",
        "avail",
        "msgs/op",
        "stbl p50",
        "stbl max",
        "run (last seed)"
    ));
    for row in rows {
        let passed = row.runs.iter().filter(|r| row.run_passed(r)).count();
        let verdict = match (row.passed(), row.failed(), row.runs.len()) {
            (true, _, 1) => "PASS".to_owned(),
            (false, true, 1) => "FAIL".to_owned(),
            (false, false, 1) => "SPOILED".to_owned(),
            (_, _, n) => format!("{passed}/{n}"),
        };
        let Some(last) = row.runs.last() else {
            continue;
        };
        let figures = last.outcome.as_ref().ok();
        let get = |f: &dyn Fn(&Value) -> Option<f64>, digits: usize| {
            figures
                .and_then(f)
                .map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
        };
        out.push_str(&format!(
            "{:<13} {:<36} {:<8} {:>7} {:>7} {:>8} {:>8} {:>8}  {}\n",
            row.challenge.id,
            row.challenge.title,
            verdict,
            get(&|r| r["stats"]["ok-count"].as_f64(), 0),
            get(&|r| r["availability"]["ok-fraction"].as_f64(), 4),
            get(&|r| r["net"]["all"]["msgs-per-op"].as_f64(), 2),
            get(&|r| r["workload"]["stable-latencies"]["0.5"].as_f64(), 0),
            get(&|r| r["workload"]["stable-latencies"]["1"].as_f64(), 0),
            last.dir.display()
        ));
        if let (Some(results), false) = (figures, row.challenge.targets.is_empty()) {
            let targets: Vec<String> = row
                .challenge
                .targets
                .iter()
                .map(|t| {
                    format!(
                        "{} {}",
                        t.describe(results),
                        if t.met(results) { "ok" } else { "MISSED" }
                    )
                })
                .collect();
            out.push_str(&format!("{:<13} targets: {}\n", "", targets.join(", ")));
        }
        for run in &row.runs {
            match row.verdict(run) {
                RunVerdict::Pass => {}
                RunVerdict::Fail(why) => out.push_str(&format!(
                    "{:<13} seed {} failed: {why}\n",
                    "", run.options.seed
                )),
                RunVerdict::Spoiled(why) => out.push_str(&format!(
                    "{:<13} seed {} spoiled by load: rerun (the workbench fell behind; \
                     not a verdict on the solution): {why}\n",
                    "", run.options.seed
                )),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_read_the_right_figures() {
        let r = json!({"net": {"all": {"msgs-per-op": 4.5}},
                       "workload": {"stable-latencies": {"0.5": 300, "1": 501}, "lost-count": 0}});
        assert!(Target::MsgsPerOp(Limit::at_most(6.0)).met(&r));
        assert!(!Target::MsgsPerOp(Limit::at_most(4.0)).met(&r));
        assert!(Target::MedianLatency(Limit::at_most(320.0)).met(&r));
        assert!(!Target::MaxLatency(Limit::at_most(500.0)).met(&r));
        assert!(Target::NothingLost.met(&r));
        assert!(
            !Target::MedianLatency(Limit::at_most(320.0)).met(&json!({})),
            "a missing figure is a miss"
        );
        assert_eq!(
            Target::MaxLatency(Limit::at_most(500.0)).describe(&r),
            "max 501.00 <= 500 ms"
        );
        // Fly.io's limits say "below": reaching one is a miss.
        assert!(Target::MedianLatency(Limit::at_most(300.0)).met(&r));
        assert!(!Target::MedianLatency(Limit::below(300.0)).met(&r));
        assert!(Target::MedianLatency(Limit::below(300.5)).met(&r));
        assert_eq!(
            Target::MedianLatency(Limit::below(300.0)).describe(&r),
            "median 300.00 < 300 ms"
        );
    }

    #[test]
    fn every_row_parses_and_only_the_two_6b_runs_share_an_id() {
        let mut ids: Vec<&str> = CHALLENGES.iter().map(|c| c.id).collect();
        ids.dedup();
        let distinct: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len(), "rows sharing an id are adjacent");
        assert_eq!(ids.len(), CHALLENGES.len() - 1);
        for c in CHALLENGES {
            assert!(crate::workload::by_name(c.workload).is_some(), "{}", c.id);
            assert!(!c.flags.is_empty() && !c.title.is_empty(), "{}", c.id);
            assert!(options_for(c, Path::new("/tmp"), 1).is_ok(), "{}", c.id);
        }
        assert_eq!(select(&["3c".into()]).unwrap()[0].id, "3c");
        let runs = select(&["6b".into()]).unwrap();
        assert_eq!(runs.len(), 2);
        assert!(!options_for(&runs[0], Path::new("/tmp"), 1)
            .unwrap()
            .partitions());
        assert!(options_for(&runs[1], Path::new("/tmp"), 1)
            .unwrap()
            .partitions());
        assert!(select(&["9z".into()]).is_err());
    }

    #[test]
    fn the_printed_6c_command_partitions_nothing() {
        let row = select(&["6c".into()]).unwrap()[0];
        let options = options_for(&row, Path::new("/tmp"), 1).unwrap();
        assert!(!options.partitions());
        assert_eq!(options.args, ["\u{2013}-nemesis", "partition"]);
        assert_eq!(options.consistency_models, ["read-committed"]);
        let strict = select(&["6c-partition".into()]).unwrap()[0];
        assert!(options_for(&strict, Path::new("/tmp"), 1)
            .unwrap()
            .partitions());
    }

    #[test]
    fn only_a_complete_check_passes() {
        let complete = json!({"valid?": true, "workload": {"valid?": true, "anomaly-types": []},
                              "glomers": {"self-health": {"valid?": "unknown"}}});
        assert!(incomplete_checks(&complete).is_empty());
        let timed_out = json!({"valid?": true, "workload": {"valid?": true,
            "cycle-search-timeout": [{"scc-size": 9000}]}});
        assert_eq!(
            incomplete_checks(&timed_out),
            ["workload.cycle-search-timeout: a cycle search timed out"]
        );
        let part_unknown = json!({"valid?": true, "workload": {"valid?": true,
            "results": {"k1": {"valid?": "unknown"}}}});
        assert_eq!(
            incomplete_checks(&part_unknown),
            ["workload.results.k1.valid? is unknown"]
        );
    }

    #[test]
    fn the_read_committed_target_wants_no_anomaly_types() {
        let clean = json!({"workload": {"read-committed-anomaly-types": []}});
        let dirty = json!({"workload": {"read-committed-anomaly-types": ["G1b"]}});
        assert!(Target::ReadCommitted.met(&clean));
        assert!(!Target::ReadCommitted.met(&dirty));
        assert!(
            !Target::ReadCommitted.met(&json!({})),
            "a missing figure is a miss"
        );
    }
}
