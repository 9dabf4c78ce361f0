//! Operations and histories, in Jepsen's shape: every invocation and completion, client and
//! nemesis, densely indexed from 0.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{self, BufRead};
use std::path::Path;

/// What an operation record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The operation starts.
    Invoke,
    /// It succeeded.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// It may or may not have happened.
    Info,
}

impl OpType {
    /// The Jepsen keyword form, e.g. `:ok`.
    pub fn keyword(self) -> &'static str {
        match self {
            OpType::Invoke => ":invoke",
            OpType::Ok => ":ok",
            OpType::Fail => ":fail",
            OpType::Info => ":info",
        }
    }
}

/// Who performed an operation: a client process number or the nemesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Process {
    /// A client process. A worker thread starts as process `t` and becomes `t + concurrency`
    /// after each indeterminate (`:info`) completion.
    Client(u64),
    /// The fault injector, recorded as `"nemesis"`.
    Nemesis(NemesisTag),
}

/// The only non-numeric process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NemesisTag {
    /// `"nemesis"`.
    Nemesis,
}

impl Process {
    /// The nemesis process.
    pub const NEMESIS: Process = Process::Nemesis(NemesisTag::Nemesis);

    /// True for client processes.
    pub fn is_client(self) -> bool {
        matches!(self, Process::Client(_))
    }
}

/// One history entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history, dense from 0.
    pub index: u64,
    /// Nanoseconds since the run's relative clock started.
    pub time: u64,
    /// Invocation or completion kind.
    #[serde(rename = "type")]
    pub kind: OpType,
    /// Who did it.
    pub process: Process,
    /// The function, e.g. `echo`, `generate`, `start-partition`.
    pub f: String,
    /// The argument (on invocations) or the result (on completions).
    pub value: Value,
    /// Why it did not succeed, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// Structured exception data, for indeterminate completions caused by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<Value>,
    /// Marks final-phase operations (`:final? true` upstream).
    #[serde(default, rename = "final?", skip_serializing_if = "std::ops::Not::not")]
    pub is_final: bool,
}

impl Op {
    /// A record with no error, exception or final-phase mark: how checkers' tests, benches
    /// and simulations build histories by hand.
    pub fn new(index: u64, time: u64, kind: OpType, process: Process, f: &str, value: Value) -> Op {
        Op {
            index,
            time,
            kind,
            process,
            f: f.to_owned(),
            value,
            error: None,
            exception: None,
            is_final: false,
        }
    }

    /// True for completions of client operations.
    pub fn is_client_completion(&self) -> bool {
        self.process.is_client() && self.kind != OpType::Invoke
    }

    /// The `history.txt` line: process, type, f, value, and error if present, tab-separated.
    pub fn text_line(&self) -> String {
        let process = match self.process {
            Process::Client(p) => p.to_string(),
            Process::Nemesis(_) => ":nemesis".to_string(),
        };
        let mut line = format!(
            "{process}\t{}\t:{}\t{}",
            self.kind.keyword(),
            self.f,
            self.value
        );
        if let Some(error) = &self.error {
            line.push('\t');
            line.push_str(&error.to_string());
        }
        line
    }
}

/// A whole history.
pub type History = Vec<Op>;

/// Pairs each client invocation with its completion, in invocation order: `(invoke index,
/// Some(completion index))`, or `None` for operations still open at the end. A process runs
/// one operation at a time, so its next record after an invocation completes it.
pub fn pair_client_ops(history: &[Op]) -> Vec<(usize, Option<usize>)> {
    let mut open = std::collections::HashMap::new();
    let mut pairs = Vec::new();
    for (i, op) in history.iter().enumerate() {
        let Process::Client(process) = op.process else {
            continue;
        };
        if op.kind == OpType::Invoke {
            open.insert(process, pairs.len());
            pairs.push((i, None));
        } else if let Some(slot) = open.remove(&process) {
            let pair: &mut (usize, Option<usize>) = &mut pairs[slot];
            pair.1 = Some(i);
        }
    }
    pairs
}

/// Reads `history.jsonl` back.
pub fn read_history(path: &Path) -> io::Result<History> {
    read_jsonl(path)
}

/// Reads a JSON-lines file into values, skipping blank lines; errors name the file and line.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<Vec<T>> {
    let file = io::BufReader::new(std::fs::File::open(path)?);
    let mut items = Vec::new();
    for (n, line) in file.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let item = serde_json::from_str(&line).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}:{}: {e}", path.display(), n + 1),
            )
        })?;
        items.push(item);
    }
    Ok(items)
}

/// Counts of client completions so far, for the progress line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// `ok` completions.
    pub ok: u64,
    /// `fail` completions.
    pub fail: u64,
    /// `info` completions.
    pub info: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ops_serialize_in_jepsen_shape() {
        let op = Op {
            index: 3,
            time: 10,
            kind: OpType::Info,
            process: Process::NEMESIS,
            f: "start-partition".into(),
            value: json!("majority"),
            error: None,
            exception: None,
            is_final: false,
        };
        let v = serde_json::to_value(&op).unwrap();
        assert_eq!(
            v,
            json!({"index": 3, "time": 10, "type": "info", "process": "nemesis", "f": "start-partition", "value": "majority"})
        );
        assert_eq!(serde_json::from_value::<Op>(v).unwrap(), op);
        assert_eq!(
            op.text_line(),
            ":nemesis\t:info\t:start-partition\t\"majority\""
        );
        let client: Op = serde_json::from_value(json!({"index": 0, "time": 0, "type": "invoke", "process": 4, "f": "read", "value": null, "final?": true})).unwrap();
        assert_eq!(client.process, Process::Client(4));
        assert!(client.is_final);
    }
}
