//! Running the suite's rows: building the solutions, each row's options, a run in process
//! mode or in simulation.

use super::evaluation::{RowResult, RunVerdict};
use super::table::select;
use super::table::Challenge;
use super::ChallengeError;
use crate::options::{TestArgs, TestOptions};
use crate::progress::Progress;
use crate::run::{run_test, RunReport};
use crate::sim::{NodeFactory, Simulation};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

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
