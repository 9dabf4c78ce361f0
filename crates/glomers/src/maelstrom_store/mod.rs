//! Re-checking a run that real Maelstrom stored: `glomers analyze` on a directory holding
//! `history.edn`, `history.txt`, `results.edn` and `jepsen.log`.
//!
//! The history and the options are read back, our checkers judge them, and each checker's
//! verdict is set beside the one Maelstrom stored, so that a user of both sees check by check
//! where they agree. Where the store cannot tell us what Maelstrom saw, the comparison says so
//! instead of guessing:
//!
//! - **Stale `:f`/`:value` in `history.edn`.** Jepsen 0.3.0 to 0.3.5 (Maelstrom 0.2.3 and
//!   0.2.4) printed, for operations whose map carried extra keys, the `:f` and `:value` of an
//!   earlier version of the map (jepsen-io/jepsen, `generator.clj`, `fill-in-op`; fixed in
//!   commit 7c28ed45, released in 0.3.6). Kafka's final assign and poll are such operations.
//!   Its checker, and `history.txt`, saw the real values, so every operation's `:f` and
//!   `:value` are taken from `history.txt` when it lines up with `history.edn` operation by
//!   operation; without it, the comparison says the history may be stale.
//! - **The network journal is Fressian** (`net-messages.fressian`), which we do not read: the
//!   `net` checker is not recomputed, and Maelstrom's own figures stand in its row.
//! - **Options** come from the test map Jepsen logs at the start of `jepsen.log` ("Running
//!   test:"). Its `:argv`, the command line as typed, is parsed as `glomers test` parses its
//!   own, which gives every option its Maelstrom default and resolves it the same way; a map
//!   without `:argv` is read key by key. (The map's `:nemesis` is the nemesis object, not the
//!   faults asked for, so faults come from `:argv` alone.)
//! - **Kafka keys** stay as written. Maelstrom's kafka client speaks JSON, whose keys are
//!   strings, so its histories carry string keys (`"9"`); only the stale values above carry
//!   integers. Upstream's checker compares keys with `=`, so `9` and `"9"` are two keys
//!   here too.

pub mod edn;

use crate::checker::{self, NetTally, Validity};
use crate::history::{History, Op, OpType, Process};
use crate::options::{TestArgs, TestOptions};
use clojure_reader::edn::{read, read_string};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The files of a Maelstrom store directory.
pub mod files {
    /// One operation per line, as `prn` prints it.
    pub const HISTORY_EDN: &str = "history.edn";
    /// One operation per line, tab-separated: process, type, f, value, error.
    pub const HISTORY_TEXT: &str = "history.txt";
    /// The checkers' results map.
    pub const RESULTS_EDN: &str = "results.edn";
    /// Jepsen's log, which starts with the test map.
    pub const LOG: &str = "jepsen.log";
}

/// Why a Maelstrom store could not be re-checked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file is missing or unreadable.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// A line of `history.edn` is not an operation.
    #[error("{path}:{line}: {why}")]
    BadHistory {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// `jepsen.log` has no test map, or one whose options do not fit.
    #[error("{0}: {1}")]
    BadOptions(PathBuf, String),
    /// The stored workload is not one glomers has.
    #[error("workload {0} is not implemented")]
    UnknownWorkload(String),
}

/// True for a directory Maelstrom wrote (and glomers did not).
pub fn is_maelstrom_store(dir: &Path) -> bool {
    dir.join(files::HISTORY_EDN).is_file() && !dir.join(crate::store::files::TEST).exists()
}

/// A Maelstrom run as read back.
#[derive(Debug, Clone)]
pub struct StoredRun {
    /// The options of its test map.
    pub options: TestOptions,
    /// Its history, in our shape.
    pub history: History,
    /// `results.edn` as JSON, when it is there and readable.
    pub results: Option<Value>,
    /// What the reader could not take at face value, one sentence each.
    pub notes: Vec<String>,
    /// False when the history may hold values the checker never saw (a kafka history.edn
    /// without a history.txt to correct it).
    pub trusted: bool,
}

/// What a kafka history read from history.edn alone may hold.
const STALE_RISK: &str = "; Jepsen 0.3.0-0.3.5 (Maelstrom 0.2.3, 0.2.4) printed stale :f/:value \
     there for operations that carried extra keys (kafka's final assign and poll), so a kafka \
     verdict from it cannot be trusted";

/// Reads a Maelstrom store directory.
pub fn read_store(dir: &Path) -> Result<StoredRun, StoreError> {
    let read_file = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| StoreError::Io(path, e))
    };
    let mut notes = Vec::new();
    let log_path = dir.join(files::LOG);
    let options = options_from_log(&read_file(files::LOG)?)
        .map_err(|why| StoreError::BadOptions(log_path, why))?;
    let edn_path = dir.join(files::HISTORY_EDN);
    let mut history =
        history_from_edn(&read_file(files::HISTORY_EDN)?).map_err(|(line, why)| {
            StoreError::BadHistory {
                path: edn_path,
                line,
                why,
            }
        })?;
    // Only kafka's operations carry the extra keys that made Jepsen 0.3.0-0.3.5 print stale
    // values; elsewhere history.edn is what the checker saw.
    let kafka = options.workload == "kafka";
    let mut trusted = true;
    match read_file(files::HISTORY_TEXT) {
        Ok(text) => match take_text_values(&mut history, &text) {
            Ok(0) => {}
            Ok(n) => notes.push(format!(
                "{n} operations of history.edn carried a :f or :value other than history.txt's \
                 (the stale values Jepsen 0.3.0-0.3.5 printed); history.txt's were used"
            )),
            Err(why) => {
                trusted = !kafka;
                notes.push(format!(
                    "history.txt does not line up with history.edn ({why}): history.edn was \
                     used as it is{}",
                    if kafka { STALE_RISK } else { "" }
                ));
            }
        },
        Err(_) => {
            trusted = !kafka;
            notes.push(format!(
                "no history.txt: history.edn was used as it is{}",
                if kafka { STALE_RISK } else { "" }
            ));
        }
    }
    let results = read_file(files::RESULTS_EDN)
        .ok()
        .and_then(|text| match read_string(&text) {
            Ok(value) => Some(edn::to_json(&value)),
            Err(e) => {
                notes.push(format!(
                    "results.edn does not parse ({e:?}): no stored verdicts"
                ));
                None
            }
        });
    if results.is_none() && !notes.iter().any(|n| n.starts_with("results.edn")) {
        notes.push("no results.edn: no stored verdicts to compare with".to_owned());
    }
    Ok(StoredRun {
        options,
        history,
        results,
        notes,
        trusted,
    })
}

/// The options in the test map Jepsen logs after "Running test:": its command line if it
/// has one, else its entries. Each top-level entry is read on its own (the map as a whole
/// also holds objects and generators printed for people, not for a reader).
pub fn options_from_log(log: &str) -> Result<TestOptions, String> {
    let found = test_map_entries(log)?;
    if let Some(Value::Array(argv)) = found.get("argv") {
        let words: Vec<&str> = argv.iter().filter_map(Value::as_str).skip(1).collect();
        return TestArgs::parse_words(&words)
            .and_then(|args| args.resolve())
            .map_err(|e| format!("the test's command line: {}", e.0));
    }
    options_from_entries(found)
}

/// The top-level entries of the logged test map that name options, as JSON.
fn test_map_entries(log: &str) -> Result<Map<String, Value>, String> {
    const KEYS: &[&str] = &[
        "workload",
        "bin",
        "args",
        "nodes",
        "concurrency",
        "rate",
        "time-limit",
        "latency",
        "nemesis",
        "nemesis-interval",
        "availability",
        "consistency-models",
        "key-count",
        "max-txn-length",
        "max-writes-per-key",
        "topology",
        "log-stderr",
        "log-net-send",
        "log-net-recv",
        "argv",
    ];
    let start = log
        .find("Running test:")
        .ok_or("no \"Running test:\" test map in the log")?;
    let lines: Vec<&str> = log[start..].lines().skip(1).collect();
    let mut found = Map::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 && starts_like_a_log_line(line) {
            break;
        }
        // Top-level entries stand one space in (the first right after the brace); deeper
        // lines are parts of a value.
        let Some(entry) = line.strip_prefix("{:").or_else(|| line.strip_prefix(" :")) else {
            continue;
        };
        // A long value starts on the next line.
        let (key, rest) = entry.split_once(' ').unwrap_or((entry, ""));
        if !KEYS.contains(&key) || found.contains_key(key) {
            continue;
        }
        // A value may run over several lines; read on until it is whole.
        let mut text = rest.to_owned();
        for more in lines.iter().skip(i + 1).take(64) {
            if !text.trim().is_empty() && read(&text).is_ok() {
                break;
            }
            text.push('\n');
            text.push_str(more);
        }
        if let Ok((value, _)) = read(&text) {
            found.insert(key.to_owned(), edn::to_json(&value));
        }
    }
    Ok(found)
}

/// Options from the test map's entries, over Maelstrom's defaults for its workload.
fn options_from_entries(found: Map<String, Value>) -> Result<TestOptions, String> {
    let workload = found
        .get("workload")
        .and_then(Value::as_str)
        .ok_or("the test map names no :workload")?
        .to_owned();
    let mut options =
        serde_json::to_value(TestOptions::example(&workload)).map_err(|e| e.to_string())?;
    for (key, value) in found {
        let value = match (key.as_str(), value) {
            // Upstream leaves the latency's distribution out when it is the default.
            ("latency", Value::Object(mut l)) => {
                l.entry("dist").or_insert_with(|| json!("constant"));
                Value::Object(l)
            }
            ("rate" | "nemesis-interval", Value::Number(n)) => json!(n.as_f64()),
            ("nemesis" | "argv", _) => continue,
            ("consistency-models", Value::Null) => json!([]),
            (_, value) => value,
        };
        options[key.replace('-', "_")] = value;
    }
    serde_json::from_value(options).map_err(|e| format!("the test map's options: {e}"))
}

/// Jepsen's log lines start with a date (`2024-01-31 14:26:21,123{GMT}`).
fn starts_like_a_log_line(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-'
}

/// Reads `history.edn`: one operation map per line. The error gives the line (from 1).
pub fn history_from_edn(text: &str) -> Result<History, (usize, String)> {
    let mut history = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value = read_string(line).map_err(|e| (n + 1, format!("not EDN: {e:?}")))?;
        let op = op_from_json(history.len() as u64, &edn::to_json(&value))
            .map_err(|why| (n + 1, why))?;
        history.push(op);
    }
    Ok(history)
}

/// One operation from its JSON form. Indices are given anew, dense from 0, as our checkers
/// expect; Maelstrom's are already so.
fn op_from_json(index: u64, op: &Value) -> Result<Op, String> {
    let Value::Object(map) = op else {
        return Err(format!("an operation is a map, this is {op}"));
    };
    let kind = match map.get("type").and_then(Value::as_str) {
        Some("invoke") => OpType::Invoke,
        Some("ok") => OpType::Ok,
        Some("fail") => OpType::Fail,
        Some("info") => OpType::Info,
        other => return Err(format!("unknown :type {other:?}")),
    };
    let process = match map.get("process") {
        Some(Value::Number(n)) => Process::Client(n.as_u64().ok_or("negative :process")?),
        Some(Value::String(s)) if s == "nemesis" => Process::NEMESIS,
        other => return Err(format!("unknown :process {other:?}")),
    };
    let present = |key: &str| map.get(key).filter(|v| !v.is_null()).cloned();
    let mut op = Op::new(
        index,
        map.get("time").and_then(Value::as_u64).unwrap_or(0),
        kind,
        process,
        map.get("f").and_then(Value::as_str).unwrap_or(""),
        map.get("value").cloned().unwrap_or(Value::Null),
    );
    op.error = present("error");
    op.exception = present("exception");
    op.is_final = map.get("final?") == Some(&Value::Bool(true));
    Ok(op)
}

/// Replaces each operation's `:f` and `:value` with the ones `history.txt` printed, and
/// returns how many differed. The two files must agree line by line on process and type.
fn take_text_values(history: &mut [Op], text: &str) -> Result<usize, String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != history.len() {
        return Err(format!(
            "{} lines against {} operations",
            lines.len(),
            history.len()
        ));
    }
    let mut parsed = Vec::with_capacity(lines.len());
    for (n, (line, op)) in lines.iter().zip(history.iter()).enumerate() {
        let fields: Vec<&str> = line.splitn(5, '\t').collect();
        let [process, kind, f, value, ..] = fields[..] else {
            return Err(format!("line {} has {} fields", n + 1, fields.len()));
        };
        let same_process = match op.process {
            Process::Client(p) => process == p.to_string(),
            Process::Nemesis(_) => process == ":nemesis",
        };
        if !same_process || kind != op.kind.keyword() {
            return Err(format!("line {} is another operation", n + 1));
        }
        let read_field = |text: &str| {
            read_string(text)
                .map(|e| edn::to_json(&e))
                .map_err(|e| format!("line {}: {e:?}", n + 1))
        };
        parsed.push((read_field(f)?, read_field(value)?));
    }
    let mut changed = 0;
    for (op, (f, value)) in history.iter_mut().zip(parsed) {
        let f = f.as_str().unwrap_or_default().to_owned();
        if op.f != f || op.value != value {
            changed += 1;
            op.f = f;
            op.value = value;
        }
    }
    Ok(changed)
}

/// One checker's verdict from each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdicts {
    /// The checker (`workload`, `perf`, ...), or `overall` for the merged verdict.
    pub checker: String,
    /// What Maelstrom stored, if it stored this checker.
    pub maelstrom: Option<Validity>,
    /// Ours; `None` where we did not recompute it (`net`).
    pub glomers: Option<Validity>,
}

/// A stored run, judged again.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The run as read.
    pub run: StoredRun,
    /// Our results map.
    pub results: Value,
    /// Checker by checker, `overall` last.
    pub verdicts: Vec<Verdicts>,
}

impl Comparison {
    /// Our merged verdict.
    pub fn validity(&self) -> Validity {
        Validity::of(&self.results["valid?"])
    }

    /// The side-by-side table and the notes, for the terminal.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let o = &self.run.options;
        let _ = writeln!(
            out,
            "Maelstrom store: -w {} with {} nodes, {} operations",
            o.workload,
            o.nodes.len(),
            self.run.history.len()
        );
        for note in &self.run.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        let _ = writeln!(out, "  {:<14} {:<10} glomers", "checker", "maelstrom");
        let word = |v: Option<Validity>, missing: &'static str| v.map_or(missing, Validity::name);
        for v in &self.verdicts {
            let agreement = match (v.maelstrom, v.glomers) {
                (Some(a), Some(b)) if a == b => "agree",
                (Some(_), Some(_)) => "DIFFER",
                _ => "",
            };
            let line = format!(
                "  {:<14} {:<10} {:<10} {agreement}",
                v.checker,
                word(v.maelstrom, "-"),
                word(v.glomers, "not redone"),
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

/// Reads a Maelstrom store and judges its history with our checkers.
pub fn analyze(dir: &Path) -> Result<Comparison, StoreError> {
    let run = read_store(dir)?;
    let workload = crate::workload::by_name(&run.options.workload)
        .ok_or_else(|| StoreError::UnknownWorkload(run.options.workload.clone()))?;
    let mut results = checker::analyze(
        workload.as_ref(),
        &run.options,
        &run.history,
        &NetTally::default(),
    );
    if !run.trusted && Validity::of(&results["workload"]["valid?"]) == Validity::Invalid {
        // An anomaly found in values Maelstrom's checker may never have seen is no verdict.
        results["workload"]["valid?"] = Validity::Unknown.to_json();
        results["workload"]["glomers"] = json!(
            "invalid on history.edn alone, which may hold stale values (see the notes): unknown"
        );
    }
    let stored_net = run.results.as_ref().and_then(|r| r.get("net")).cloned();
    results["net"] = stored_net.unwrap_or_else(|| json!({"valid?": true}));
    results["net"]["glomers"] =
        json!("not recomputed: Maelstrom's network journal is Fressian; these are its figures");
    let merged = checker::merge(
        results
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| *name != "valid?")
            .map(|(_, r)| Validity::of(r.get("valid?").unwrap_or(&Value::Null))),
    );
    results["valid?"] = merged.to_json();
    let verdicts = compare(run.results.as_ref(), &results);
    Ok(Comparison {
        run,
        results,
        verdicts,
    })
}

/// Sets the checkers of both results maps side by side, in our order, then any only
/// Maelstrom has, then the merged verdict.
pub fn compare(stored: Option<&Value>, ours: &Value) -> Vec<Verdicts> {
    let checkers = |results: Option<&Value>| -> Vec<String> {
        results
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v.get("valid?").is_some())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut names = checkers(Some(ours));
    for name in checkers(stored) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let verdict = |results: Option<&Value>, name: &str| {
        results
            .and_then(|r| r.get(name))
            .and_then(|c| c.get("valid?"))
            .map(Validity::of)
    };
    let mut rows: Vec<Verdicts> = names
        .iter()
        .map(|name| Verdicts {
            checker: name.clone(),
            maelstrom: verdict(stored, name),
            glomers: if name == "net" {
                None
            } else {
                verdict(Some(ours), name)
            },
        })
        .collect();
    rows.push(Verdicts {
        checker: "overall".to_owned(),
        maelstrom: stored.and_then(|r| r.get("valid?")).map(Validity::of),
        glomers: Some(Validity::of(&ours["valid?"])),
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_map_without_argv_is_read_key_by_key() {
        let log = "2024-01-31 14:26:21,123{GMT}\tINFO\t[jepsen test runner] jepsen.core: Running test:\n\
                   {:concurrency 6,\n \
                   :db #object[maelstrom.db$db$reify__1 0x4c \"maelstrom.db$db$reify__1@4c\"],\n \
                   :nodes [\"n0\" \"n1\" \"n2\"],\n \
                   :rate 30,\n \
                   :latency {:mean 10},\n \
                   :nemesis (jepsen.nemesis.ReflCompose ...),\n \
                   :consistency-models\n \
                   [:read-committed],\n \
                   :availability :total,\n \
                   :time-limit 60,\n \
                   :workload :txn-rw-register}\n\
                   2024-01-31 14:26:22,000{GMT}\tINFO\t[jepsen node n0] maelstrom.db: Setting up n0\n";
        let options = options_from_log(log).unwrap();
        assert_eq!(options.workload, "txn-rw-register");
        assert_eq!(options.nodes, ["n0", "n1", "n2"]);
        assert_eq!(
            (options.concurrency, options.rate, options.time_limit),
            (6, 30.0, 60)
        );
        assert_eq!(options.latency.mean, 10);
        assert_eq!(options.consistency_models, ["read-committed"]);
        assert!(matches!(
            options.availability,
            Some(crate::options::Availability::Total(_))
        ));
        // The map's :nemesis is an object, not the faults: none are assumed.
        assert!(options.nemesis.is_empty());
        assert!(options_from_log("no map here").is_err());
    }
}
