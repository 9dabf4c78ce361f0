//! `glomers challenge`: build the solutions, run each challenge's official command on the
//! workbench, and print a scoreboard against our targets (`shared/spec/challenges.md`).

use crate::checker::Validity;
use crate::options::TestArgs;
use crate::progress::Progress;
use crate::run::{run_test, RunReport};
use clap::Parser;
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
    /// The official flags, after `-w W --bin B`.
    pub flags: &'static [&'static str],
}

/// Every challenge implemented so far, in order.
pub const CHALLENGES: &[Challenge] = &[
    Challenge {
        id: "1",
        title: "echo",
        package: "echo",
        bin: "echo",
        workload: "echo",
        flags: &["--node-count", "1", "--time-limit", "10"],
    },
    Challenge {
        id: "2",
        title: "unique ids",
        package: "unique-ids",
        bin: "unique-ids",
        workload: "unique-ids",
        flags: &[
            "--time-limit",
            "30",
            "--rate",
            "1000",
            "--node-count",
            "3",
            "--availability",
            "total",
            "--nemesis",
            "partition",
        ],
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
    Run(&'static str, crate::signals::RunError),
}

/// The outcome of one row on one or more seeds.
pub struct RowResult {
    /// The challenge.
    pub challenge: Challenge,
    /// One report per seed.
    pub runs: Vec<RunReport>,
}

impl RowResult {
    /// True when every seed passed.
    pub fn passed(&self) -> bool {
        self.runs
            .iter()
            .all(|r| r.validity() == Some(Validity::Valid))
    }
}

/// Resolves ids (`all` for every row) to rows.
pub fn select(ids: &[String]) -> Result<Vec<Challenge>, ChallengeError> {
    if ids.iter().any(|id| id == "all") || ids.is_empty() {
        return Ok(CHALLENGES.to_vec());
    }
    ids.iter()
        .map(|id| {
            CHALLENGES
                .iter()
                .find(|c| c.id == id.as_str())
                .copied()
                .ok_or_else(|| {
                    ChallengeError::Unknown(
                        id.clone(),
                        CHALLENGES
                            .iter()
                            .map(|c| c.id)
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })
        })
        .collect()
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

/// Runs one row on the given seeds.
pub fn run_row(
    challenge: Challenge,
    bin_dir: &Path,
    seeds: &[u64],
    store: &Path,
    progress: Progress,
) -> Result<RowResult, ChallengeError> {
    #[derive(Parser)]
    struct Row {
        #[command(flatten)]
        args: TestArgs,
    }
    let mut runs = Vec::new();
    for seed in seeds {
        let bin = bin_dir.join(challenge.bin);
        let mut argv: Vec<String> = vec![
            "test".into(),
            "-w".into(),
            challenge.workload.into(),
            "--bin".into(),
            bin.display().to_string(),
        ];
        argv.extend(challenge.flags.iter().map(|s| s.to_string()));
        argv.extend(["--seed".into(), seed.to_string()]);
        let row = Row::try_parse_from(&argv)
            .map_err(|e| ChallengeError::BadRow(challenge.id, e.to_string()))?;
        let options = row
            .args
            .resolve()
            .map_err(|e| ChallengeError::BadRow(challenge.id, e.0))?;
        let workload = crate::workload::by_name(challenge.workload).ok_or_else(|| {
            ChallengeError::BadRow(challenge.id, "workload not implemented".into())
        })?;
        let report = run_test(&options, Arc::from(workload), store, progress)
            .map_err(|e| ChallengeError::Run(challenge.id, e))?;
        eprintln!("{}", crate::report::summary(&report));
        runs.push(report);
    }
    Ok(RowResult { challenge, runs })
}

/// The scoreboard: one line per row with its verdict and key figures.
pub fn scoreboard(rows: &[RowResult]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<4} {:<12} {:<9} {:>8} {:>8} {:>9} {:>9}  {}\n",
        "id", "challenge", "verdict", "ok ops", "avail", "msgs/op", "p50 ms", "run"
    ));
    for row in rows {
        let passed = row
            .runs
            .iter()
            .filter(|r| r.validity() == Some(Validity::Valid))
            .count();
        let verdict = match (row.passed(), row.runs.len()) {
            (true, 1) => "PASS".to_owned(),
            (false, 1) => "FAIL".to_owned(),
            (_, n) => format!("{passed}/{n}"),
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
            "{:<4} {:<12} {:<9} {:>8} {:>8} {:>9} {:>9}  {}\n",
            row.challenge.id,
            row.challenge.title,
            verdict,
            get(&|r| r["stats"]["ok-count"].as_f64(), 0),
            get(&|r| r["availability"]["ok-fraction"].as_f64(), 4),
            get(&|r| r["net"]["all"]["msgs-per-op"].as_f64(), 2),
            get(&|r| r["perf"]["latency-ms"]["0.5"].as_f64(), 1),
            last.dir.display()
        ));
        for failed in row
            .runs
            .iter()
            .filter(|r| r.validity() != Some(Validity::Valid))
        {
            let why = match &failed.outcome {
                Ok(_) => format!("invalid, see {}", failed.dir.join("results.json").display()),
                Err(e) => e.to_string(),
            };
            out.push_str(&format!(
                "     seed {} failed: {why}\n",
                failed.options.seed
            ));
        }
    }
    out
}
