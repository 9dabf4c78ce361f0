//! `exceptions`: indeterminate completions caused by exceptions, grouped by class, most
//! frequent first. Always valid; it is there to explain.

use crate::history::{Op, OpType};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The `exceptions` result.
pub fn check(history: &[Op]) -> Value {
    let mut by_class: BTreeMap<String, (u64, &Op)> = BTreeMap::new();
    for op in history
        .iter()
        .filter(|op| op.kind == OpType::Info && op.exception.is_some())
    {
        let class = op
            .exception
            .as_ref()
            .and_then(|e| e.get("class"))
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        by_class.entry(class).or_insert((0, op)).0 += 1;
    }
    if by_class.is_empty() {
        return json!({"valid?": true});
    }
    let mut groups: Vec<(String, u64, &Op)> = by_class
        .into_iter()
        .map(|(c, (n, op))| (c, n, op))
        .collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let exceptions: Vec<Value> = groups
        .into_iter()
        .map(|(class, count, example)| json!({"class": class, "count": count, "example": example}))
        .collect();
    json!({"valid?": true, "exceptions": exceptions})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;

    #[test]
    fn groups_by_class_most_frequent_first() {
        let info = |class: &str| Op {
            index: 0,
            time: 0,
            kind: OpType::Info,
            process: Process::Client(0),
            f: "echo".into(),
            value: Value::Null,
            error: None,
            exception: Some(json!({"class": class})),
            is_final: false,
        };
        let r = check(&[info("a"), info("b"), info("b")]);
        assert_eq!(r["exceptions"][0]["class"], "b");
        assert_eq!(r["exceptions"][0]["count"], 2);
        assert_eq!(r["exceptions"][1]["class"], "a");
        assert_eq!(check(&[]), json!({"valid?": true}));
    }
}
