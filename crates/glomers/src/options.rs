//! `glomers test` options: Maelstrom's flags with their defaults and validation
//! (jepsen-io/maelstrom, `src/maelstrom/core.clj`, `test-opt-spec` and `opt-spec`;
//! jepsen-io/jepsen, `jepsen/src/jepsen/cli.clj`, `test-opt-spec`), plus our `--seed` and
//! `--store`.

use crate::model::network::{Latency, LatencyDist};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The most nodes a run may have. Maelstrom sets no bound; we refuse more than this rather
/// than let a typo (`--node-count 10000`) spawn thousands of processes, each with four
/// workbench threads and three pipes, and fail halfway with the machine's limits.
pub const MAX_NODE_COUNT: u64 = 256;

/// The flags of `glomers test`, as typed.
#[derive(Debug, Clone, Args)]
pub struct TestArgs {
    /// The node binary to test.
    #[arg(long, value_name = "FILE")]
    pub bin: Option<PathBuf>,
    /// The workload.
    #[arg(short = 'w', long, default_value = "lin-kv")]
    pub workload: String,
    /// Number of nodes, named n0..n(N-1).
    #[arg(long, value_name = "NUM", value_parser = clap::value_parser!(u64).range(1..))]
    pub node_count: Option<u64>,
    /// A node name (repeatable).
    #[arg(short = 'n', long = "node", value_name = "HOST")]
    pub node: Vec<String>,
    /// Comma-separated node names.
    #[arg(long, value_name = "LIST")]
    pub nodes: Option<String>,
    /// A file with one node name per line.
    #[arg(long, value_name = "FILE")]
    pub nodes_file: Option<PathBuf>,
    /// Total requests per second over all clients.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Seconds the main phase lasts.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub time_limit: u64,
    /// Client threads: a number, or `Kn` for K per node.
    #[arg(long, default_value = "1n")]
    pub concurrency: String,
    /// Mean one-way latency between nodes (and to services), in ms.
    #[arg(long, default_value_t = 0)]
    pub latency: u64,
    /// Latency distribution.
    #[arg(long, value_enum, default_value = "constant")]
    pub latency_dist: LatencyDist,
    /// Faults to inject: `partition`.
    #[arg(long, value_name = "FAULTS")]
    pub nemesis: Option<String>,
    /// Mean seconds between nemesis operations (fractions like 1/2 allowed).
    #[arg(long, default_value = "10")]
    pub nemesis_interval: String,
    /// `total`, or the minimum fraction of ok operations.
    #[arg(long, value_name = "EXPECTED")]
    pub availability: Option<String>,
    /// Consistency models (txn workloads), comma-separated.
    #[arg(long, default_value = "strict-serializable")]
    pub consistency_models: String,
    /// Keys (txn and kafka workloads).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub key_count: Option<u64>,
    /// Longest transaction.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_txn_length: u64,
    /// Writes per key before it is retired.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_writes_per_key: u64,
    /// Broadcast topology.
    #[arg(long, default_value = "grid")]
    pub topology: String,
    /// Copy node stderr into the console log.
    #[arg(long)]
    pub log_stderr: bool,
    /// Log every message as it is sent.
    #[arg(long)]
    pub log_net_send: bool,
    /// Log every message as it is delivered.
    #[arg(long)]
    pub log_net_recv: bool,
    /// Repeat the test, stopping at the first invalid run.
    #[arg(long, default_value_t = 1)]
    pub test_count: u64,
    /// Seed for every random choice of the workbench (printed, stored in the results).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where runs are stored.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// For the workbench's own tests: every delivery thread stalls this long before each
    /// delivery, so that the run falls behind on purpose.
    #[arg(long, hide = true, default_value_t = 0)]
    pub test_delivery_stall_ms: u64,
    /// Accepted for compatibility (Jepsen's); has no effect.
    #[arg(long)]
    pub leave_db_running: bool,
    /// Accepted for compatibility (Jepsen's); has no effect.
    #[arg(long)]
    pub logging_json: bool,
    /// Accepted for compatibility (Jepsen's SSH options); no effect.
    #[arg(long, hide = true)]
    pub username: Option<String>,
    /// Accepted for compatibility; no effect.
    #[arg(long, hide = true)]
    pub password: Option<String>,
    /// Accepted for compatibility; no effect.
    #[arg(long, hide = true)]
    pub strict_host_key_checking: bool,
    /// Accepted for compatibility; no effect.
    #[arg(long, hide = true)]
    pub no_ssh: bool,
    /// Accepted for compatibility; no effect.
    #[arg(long, hide = true)]
    pub ssh_private_key: Option<String>,
    /// Arguments passed to the node binary.
    #[arg(value_name = "ARGS")]
    pub args: Vec<String>,
}

pub use checkers::availability::{Availability, TotalTag};

/// Validated options of one test run; stored as `test.json` so that `analyze` can re-run the
/// checkers exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestOptions {
    /// The workload name.
    pub workload: String,
    /// Absolute path of the node binary.
    pub bin: PathBuf,
    /// Arguments for the binary.
    pub args: Vec<String>,
    /// Node ids, in `init` order.
    pub nodes: Vec<String>,
    /// Client threads.
    pub concurrency: usize,
    /// Requests per second over all clients.
    pub rate: f64,
    /// Main-phase seconds.
    pub time_limit: u64,
    /// Latency between non-client endpoints.
    pub latency: Latency,
    /// Faults: `partition` or nothing.
    pub nemesis: BTreeSet<String>,
    /// Mean seconds between nemesis operations.
    pub nemesis_interval: f64,
    /// Expected availability.
    pub availability: Option<Availability>,
    /// Consistency models (txn workloads).
    pub consistency_models: Vec<String>,
    /// `--key-count`.
    pub key_count: Option<u64>,
    /// `--max-txn-length`.
    pub max_txn_length: u64,
    /// `--max-writes-per-key`.
    pub max_writes_per_key: u64,
    /// `--topology`.
    pub topology: String,
    /// `--log-stderr`.
    pub log_stderr: bool,
    /// `--log-net-send`.
    pub log_net_send: bool,
    /// `--log-net-recv`.
    pub log_net_recv: bool,
    /// The run's seed.
    pub seed: u64,
    /// Extra environment variables for the node processes (set by sweeps, not a flag;
    /// recorded so that a stored run says how its nodes were tuned).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_env: BTreeMap<String, String>,
    /// `--test-delivery-stall-ms` (hidden; for self-health tests).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub test_delivery_stall_ms: u64,
}

impl TestOptions {
    /// Maelstrom's defaults for `workload` on one node `n0`, with `/bin/true` as the binary
    /// and seed 1: for checker tests and benchmarks that need options but run no node.
    pub fn example(workload: &str) -> Self {
        TestOptions {
            workload: workload.to_owned(),
            bin: PathBuf::from("/bin/true"),
            args: Vec::new(),
            nodes: vec!["n0".to_owned()],
            concurrency: 1,
            rate: 5.0,
            time_limit: 60,
            latency: Latency {
                mean: 0,
                dist: LatencyDist::Constant,
            },
            nemesis: BTreeSet::new(),
            nemesis_interval: 10.0,
            availability: None,
            consistency_models: vec!["strict-serializable".to_owned()],
            key_count: None,
            max_txn_length: 4,
            max_writes_per_key: 16,
            topology: "grid".to_owned(),
            log_stderr: false,
            log_net_send: false,
            log_net_recv: false,
            seed: 1,
            node_env: BTreeMap::new(),
            test_delivery_stall_ms: 0,
        }
    }

    /// True with `--nemesis partition`.
    pub fn partitions(&self) -> bool {
        self.nemesis.contains("partition")
    }

    /// The `glomers test` arguments that give these options again (the report page's
    /// reproduce line): the same seed gives the same operations and faults at the same times.
    pub fn command_words(&self) -> Vec<String> {
        let mut words: Vec<String> = ["-w", &self.workload, "--bin"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        words.push(self.bin.display().to_string());
        let mut flag = |name: &str, value: String| {
            words.push(format!("--{name}"));
            words.push(value);
        };
        let numbered = (0..self.nodes.len()).all(|i| self.nodes[i] == format!("n{i}"));
        if numbered {
            flag("node-count", self.nodes.len().to_string());
        } else {
            flag("nodes", self.nodes.join(","));
        }
        flag("concurrency", self.concurrency.to_string());
        flag("rate", self.rate.to_string());
        flag("time-limit", self.time_limit.to_string());
        if self.latency.mean > 0 {
            flag("latency", self.latency.mean.to_string());
        }
        if self.latency.dist != LatencyDist::Constant {
            let dist = serde_json::to_value(self.latency.dist).unwrap_or_default();
            flag("latency-dist", dist.as_str().unwrap_or_default().to_owned());
        }
        if !self.nemesis.is_empty() {
            let nemesis: Vec<&str> = self.nemesis.iter().map(String::as_str).collect();
            flag("nemesis", nemesis.join(","));
            flag("nemesis-interval", self.nemesis_interval.to_string());
        }
        match self.availability {
            Some(Availability::Total(_)) => flag("availability", "total".into()),
            Some(Availability::Fraction(x)) => flag("availability", x.to_string()),
            None => {}
        }
        if self.workload.starts_with("txn") {
            flag("consistency-models", self.consistency_models.join(","));
            flag("max-txn-length", self.max_txn_length.to_string());
            flag("max-writes-per-key", self.max_writes_per_key.to_string());
        }
        if let Some(keys) = self.key_count {
            flag("key-count", keys.to_string());
        }
        if self.workload == "broadcast" {
            flag("topology", self.topology.clone());
        }
        flag("seed", self.seed.to_string());
        for (on, name) in [
            (self.log_stderr, "--log-stderr"),
            (self.log_net_send, "--log-net-send"),
            (self.log_net_recv, "--log-net-recv"),
        ] {
            if on {
                words.push(name.into());
            }
        }
        words.extend(self.args.iter().cloned());
        words
    }

    /// [`TestOptions::command_words`] as one line a shell takes.
    pub fn command_line(&self) -> String {
        let quoted: Vec<String> = self.command_words().iter().map(|w| shell_word(w)).collect();
        format!("glomers test {}", quoted.join(" "))
    }
}

/// `word` as a shell reads it back: bare when it is plain, in single quotes otherwise.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./,:=+@".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A bad command line: exit 254.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

const TOPOLOGIES: [&str; 7] = ["line", "grid", "tree", "tree2", "tree3", "tree4", "total"];

impl TestArgs {
    /// Parses a command's flags as typed (`-w echo --node-count 1 ...`, without the
    /// program and subcommand names).
    pub fn parse_words<S: AsRef<str>>(words: &[S]) -> Result<TestArgs, UsageError> {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            args: TestArgs,
        }
        let argv = std::iter::once("test").chain(words.iter().map(AsRef::as_ref));
        <Command as clap::Parser>::try_parse_from(argv)
            .map(|c| c.args)
            .map_err(|e| UsageError(e.to_string()))
    }

    /// Validates and resolves the flags, in upstream's order: latency, node list, binary
    /// arguments, concurrency.
    pub fn resolve(&self) -> Result<TestOptions, UsageError> {
        let usage = |m: String| Err(UsageError(m));
        let Some(bin) = &self.bin else {
            return usage("Expected a --bin PATH_TO_BINARY to test".into());
        };
        if !crate::workload::MAELSTROM_WORKLOADS.contains(&self.workload.as_str()) {
            return usage(format!(
                "--workload {} is not one of {}",
                self.workload,
                crate::workload::MAELSTROM_WORKLOADS.join(", ")
            ));
        }
        if !(self.rate >= 0.0 && self.rate.is_finite()) {
            return usage(format!("--rate must not be negative, got {}", self.rate));
        }
        if !TOPOLOGIES.contains(&self.topology.as_str()) {
            return usage(format!(
                "--topology must be one of {}",
                TOPOLOGIES.join(", ")
            ));
        }
        let nodes = self.node_list()?;
        let mut seen = BTreeSet::new();
        if let Some(dup) = nodes.iter().find(|n| !seen.insert(n.as_str())) {
            return usage(format!(
                "node name {dup:?} is given twice: every node needs its own name (its own \
                 queue, process and log)"
            ));
        }
        if nodes.len() as u64 > MAX_NODE_COUNT {
            return usage(format!(
                "{} nodes is more than glomers runs ({MAX_NODE_COUNT}): every node is an OS \
                 process with four workbench threads, and a machine runs out of processes, \
                 threads or pipes long before Maelstrom's JVM would",
                nodes.len()
            ));
        }
        if let Some(bad) = nodes.iter().find(|n| n.is_empty()) {
            return usage(format!("node name {bad:?} is empty"));
        }
        if bin.is_dir() {
            return usage(format!(
                "--bin {}: is a directory, not a node binary",
                bin.display()
            ));
        }
        if let Some(bad) = nodes.iter().find(|n| n.starts_with('c')) {
            return usage(format!(
                "node name {bad:?} starts with `c`, which Maelstrom reserves for clients (it would be counted as one)"
            ));
        }
        let concurrency = parse_concurrency(&self.concurrency, nodes.len())?;
        let nemesis: BTreeSet<String> = match &self.nemesis {
            None => BTreeSet::new(),
            Some(list) => split_list(list).into_iter().collect(),
        };
        if let Some(bad) = nemesis.iter().find(|f| *f != "partition") {
            return usage(format!(
                "--nemesis: unknown fault {bad:?}; the only fault is `partition`"
            ));
        }
        let nemesis_interval = parse_edn_number(&self.nemesis_interval)
            .filter(|x| *x > 0.0)
            .ok_or_else(|| {
                UsageError(format!(
                    "--nemesis-interval must be a positive number, got {:?}",
                    self.nemesis_interval
                ))
            })?;
        let availability = match self.availability.as_deref() {
            None => None,
            Some("total") => Some(Availability::Total(TotalTag::Total)),
            Some(text) => match parse_edn_number(text) {
                Some(x) if (0.0..=1.0).contains(&x) => Some(Availability::Fraction(x)),
                _ => {
                    return usage(format!(
                        "--availability must be `total` or a number in [0, 1], got {text:?}"
                    ))
                }
            },
        };
        let bin = std::fs::canonicalize(bin).unwrap_or_else(|_| absolute(bin));
        Ok(TestOptions {
            workload: self.workload.clone(),
            bin,
            args: self.args.clone(),
            nodes,
            concurrency,
            rate: self.rate,
            time_limit: self.time_limit,
            latency: Latency {
                mean: self.latency,
                dist: self.latency_dist,
            },
            nemesis,
            nemesis_interval,
            availability,
            consistency_models: split_list(&self.consistency_models),
            key_count: self.key_count,
            max_txn_length: self.max_txn_length,
            max_writes_per_key: self.max_writes_per_key,
            topology: if self.topology == "tree" {
                "tree2".into()
            } else {
                self.topology.clone()
            },
            log_stderr: self.log_stderr,
            log_net_send: self.log_net_send,
            log_net_recv: self.log_net_recv,
            seed: self.seed.unwrap_or_else(fresh_seed),
            node_env: BTreeMap::new(),
            test_delivery_stall_ms: self.test_delivery_stall_ms,
        })
    }

    fn node_list(&self) -> Result<Vec<String>, UsageError> {
        if let Some(n) = self.node_count {
            return Ok((0..n).map(|i| format!("n{i}")).collect());
        }
        let mut nodes = Vec::new();
        if let Some(file) = &self.nodes_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| UsageError(format!("--nodes-file {}: {e}", file.display())))?;
            nodes.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
        if let Some(list) = &self.nodes {
            nodes.extend(split_list(list));
        }
        nodes.extend(self.node.iter().cloned());
        if nodes.is_empty() {
            nodes = (1..=5).map(|i| format!("n{i}")).collect();
        }
        Ok(nodes)
    }
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

/// Splits a comma list, trimming the spaces around commas (upstream's `--consistency-models`
/// needs spaces on both sides: a [QUIRK] we do not copy).
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `^\d+n?$`; `Kn` means K per node.
fn parse_concurrency(text: &str, nodes: usize) -> Result<usize, UsageError> {
    let (digits, per_node) = match text.strip_suffix('n') {
        Some(d) => (d, true),
        None => (text, false),
    };
    let k: usize = digits
        .parse()
        .ok()
        .filter(|_| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            UsageError(format!(
                "--concurrency must look like 10 or 2n, got {text:?}"
            ))
        })?;
    let c = if per_node { k * nodes } else { k };
    if c == 0 {
        return Err(UsageError("--concurrency must be at least 1".into()));
    }
    Ok(c)
}

/// An EDN number: integer, decimal or ratio (`1/2`).
fn parse_edn_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Some((n, d)) = text.split_once('/') {
        let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
        return (d != 0.0).then_some(n / d);
    }
    text.parse().ok().filter(|x: &f64| x.is_finite())
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Keep seeds short enough to retype.
    (nanos ^ u64::from(std::process::id())) % 1_000_000_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TestArgs,
    }

    fn parse(argv: &[&str]) -> Result<TestOptions, String> {
        let cli = Cli::try_parse_from(std::iter::once("test").chain(argv.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.args.resolve().map_err(|e| e.0)
    }

    #[test]
    fn defaults_and_node_naming() {
        let o = parse(&["--bin", "/bin/true"]).unwrap();
        assert_eq!(o.nodes, ["n1", "n2", "n3", "n4", "n5"]);
        assert_eq!(
            (o.concurrency, o.rate, o.time_limit, o.workload.as_str()),
            (5, 5.0, 60, "lin-kv")
        );
        let o = parse(&[
            "--bin",
            "/bin/true",
            "-w",
            "echo",
            "--node-count",
            "3",
            "--concurrency",
            "2n",
        ])
        .unwrap();
        assert_eq!(o.nodes, ["n0", "n1", "n2"]);
        assert_eq!(o.concurrency, 6);
        let o = parse(&[
            "--bin",
            "/bin/true",
            "--node",
            "a1",
            "--node",
            "b2",
            "--concurrency",
            "7",
        ])
        .unwrap();
        assert_eq!((o.nodes.len(), o.concurrency), (2, 7));
    }

    #[test]
    fn positional_arguments_go_to_the_binary_even_among_options() {
        let o = parse(&[
            "-w",
            "txn-rw-register",
            "--bin",
            "/bin/true",
            "–-nemesis",
            "partition",
            "--rate",
            "9",
        ])
        .unwrap();
        assert_eq!(o.args, ["–-nemesis", "partition"]);
        assert!(o.nemesis.is_empty(), "the en-dash typo is no flag");
        assert_eq!(o.rate, 9.0);
        let o = parse(&["--bin", "/bin/true", "--", "--flag"]).unwrap();
        assert_eq!(o.args, ["--flag"]);
    }

    #[test]
    fn validation_errors() {
        assert!(parse(&[]).unwrap_err().contains("Expected a --bin"));
        assert!(parse(&["--bin", "x", "-w", "nope"]).is_err());
        assert!(parse(&["--bin", "x", "--concurrency", "n"]).is_err());
        assert!(parse(&["--bin", "x", "--concurrency", "2x"]).is_err());
        assert!(parse(&["--bin", "x", "--nemesis", "kill"]).is_err());
        assert!(parse(&["--bin", "x", "--availability", "1.5"]).is_err());
        assert!(parse(&["--bin", "x", "--rate", "-1"]).is_err());
        assert!(parse(&["--bin", "x", "--node-count", "0"]).is_err());
        assert!(parse(&["--bin", "x", "--time-limit", "1.5"]).is_err());
        assert!(parse(&["--bin", "x", "--node", "cache1"])
            .unwrap_err()
            .contains("reserves"));
        assert!(parse(&["--bin", "x", "--latency-dist", "normal"]).is_err());
    }

    #[test]
    fn bad_nodes_and_binaries_fail_fast_with_the_reason() {
        assert!(parse(&["--bin", "x", "--nodes", "n1,n1"])
            .unwrap_err()
            .contains("\"n1\" is given twice"));
        assert!(parse(&["--bin", "x", "--node", "a", "--nodes", "a"])
            .unwrap_err()
            .contains("twice"));
        let absurd = parse(&["--bin", "x", "--node-count", "100000"]).unwrap_err();
        assert!(absurd.contains("more than glomers runs (256)"), "{absurd}");
        assert!(parse(&["--bin", "x", "--node-count", "256"]).is_ok());
        let dir = parse(&["--bin", "/tmp"]).unwrap_err();
        assert!(dir.contains("is a directory"), "{dir}");
    }

    #[test]
    fn the_command_line_gives_the_same_options_back() {
        let argvs: [&[&str]; 3] = [
            &[
                "--bin",
                "/bin/true",
                "-w",
                "broadcast",
                "--node-count",
                "5",
                "--rate",
                "10",
                "--nemesis",
                "partition",
                "--nemesis-interval",
                "1/2",
                "--topology",
                "tree",
                "--latency",
                "100",
                "--latency-dist",
                "exponential",
                "--seed",
                "3",
                "--log-stderr",
                "broadcast-once",
                "it's",
            ],
            &[
                "--bin",
                "/bin/true",
                "-w",
                "txn-rw-register",
                "--nodes",
                "a,b",
                "--concurrency",
                "2n",
                "--availability",
                "0.99",
                "--consistency-models",
                "read-committed",
                "--key-count",
                "3",
                "--max-txn-length",
                "2",
            ],
            &[
                "--bin",
                "/bin/true",
                "-w",
                "kafka",
                "--availability",
                "total",
                "--time-limit",
                "5",
            ],
        ];
        for argv in argvs {
            let o = parse(argv).unwrap();
            let words = o.command_words();
            let again = parse(&words.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
            assert_eq!(again, o, "{words:?}");
        }
        let o = parse(argvs[0]).unwrap();
        let line = o.command_line();
        assert!(line.starts_with(&format!(
            "glomers test -w broadcast --bin {} ",
            o.bin.display()
        )));
        assert!(
            line.ends_with(" --log-stderr broadcast-once 'it'\\''s'"),
            "{line}"
        );
    }

    #[test]
    fn lists_numbers_and_availability() {
        let o = parse(&[
            "--bin",
            "x",
            "--nemesis",
            " partition , partition",
            "--nemesis-interval",
            "1/2",
            "--availability",
            "total",
            "--consistency-models",
            "read-committed,serializable",
        ])
        .unwrap();
        assert!(o.partitions());
        assert_eq!(o.nemesis_interval, 0.5);
        assert_eq!(o.availability, Some(Availability::Total(TotalTag::Total)));
        assert_eq!(o.consistency_models, ["read-committed", "serializable"]);
        let o = parse(&[
            "--bin",
            "x",
            "--availability",
            "0.99",
            "--seed",
            "42",
            "--topology",
            "tree",
        ])
        .unwrap();
        assert_eq!(o.availability, Some(Availability::Fraction(0.99)));
        assert_eq!(o.seed, 42);
        assert_eq!(o.topology, "tree2");
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(serde_json::from_value::<TestOptions>(json).unwrap(), o);
    }
}
