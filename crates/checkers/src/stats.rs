//! `stats`: counts of client completions, overall and per function. Every function must
//! succeed at least once, except `crash` and `debug-topic-partitions` (which the kafka
//! checker wraps for every workload upstream).

use crate::history::{Op, OpType};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Default)]
struct Counts {
    count: u64,
    ok: u64,
    fail: u64,
    info: u64,
}

impl Counts {
    fn add(&mut self, kind: OpType) {
        self.count += 1;
        match kind {
            OpType::Ok => self.ok += 1,
            OpType::Fail => self.fail += 1,
            OpType::Info => self.info += 1,
            OpType::Invoke => {}
        }
    }
}

const EXEMPT: [&str; 2] = ["crash", "debug-topic-partitions"];

/// The `stats` result.
pub fn check(history: &[Op]) -> Value {
    let mut all = Counts::default();
    let mut by_f: BTreeMap<&str, Counts> = BTreeMap::new();
    for op in history.iter().filter(|op| op.is_client_completion()) {
        all.add(op.kind);
        by_f.entry(&op.f).or_default().add(op.kind);
    }
    let valid = by_f.iter().all(|(f, c)| c.ok > 0 || EXEMPT.contains(f));
    let by_f: Map<String, Value> = by_f
        .iter()
        .map(|(f, c)| {
            let entry = json!({"valid?": c.ok > 0, "count": c.count, "ok-count": c.ok, "fail-count": c.fail, "info-count": c.info});
            (f.to_string(), entry)
        })
        .collect();
    json!({
        "valid?": valid,
        "count": all.count,
        "ok-count": all.ok,
        "fail-count": all.fail,
        "info-count": all.info,
        "by-f": by_f,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;

    fn op(kind: OpType, f: &str, process: Process) -> Op {
        Op {
            index: 0,
            time: 0,
            kind,
            process,
            f: f.into(),
            value: Value::Null,
            error: None,
            exception: None,
            is_final: false,
        }
    }

    #[test]
    fn every_function_needs_an_ok() {
        let c = Process::Client(0);
        let h = vec![
            op(OpType::Invoke, "read", c),
            op(OpType::Fail, "read", c),
            op(OpType::Invoke, "add", c),
            op(OpType::Ok, "add", c),
            op(OpType::Info, "start-partition", Process::NEMESIS),
        ];
        let r = check(&h);
        assert_eq!(r["valid?"], false);
        assert_eq!(r["count"], 2);
        assert_eq!(
            r["by-f"]["read"],
            json!({"valid?": false, "count": 1, "ok-count": 0, "fail-count": 1, "info-count": 0})
        );
        assert!(r["by-f"].get("start-partition").is_none());
    }

    #[test]
    fn crash_is_exempt_and_empty_is_valid() {
        let c = Process::Client(1);
        assert_eq!(check(&[op(OpType::Info, "crash", c)])["valid?"], true);
        assert_eq!(check(&[])["valid?"], true);
    }
}
