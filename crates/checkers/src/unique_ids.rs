//! The unique-ids checker (jepsen-io/jepsen, `jepsen/src/jepsen/checker.clj`, `unique-ids`):
//! no id acknowledged twice.

use crate::history::{Op, OpType};
use crate::json_order::compare;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// How many duplicated ids the result lists (the most frequent ones).
const DUPLICATES_SHOWN: usize = 48;

/// Jepsen's unique-ids checker: counts, duplicates (with the 48 most frequent listed) and the
/// range of acknowledged ids. Ids that cannot be ordered against each other (a mix of
/// strings and numbers, objects) make the result `unknown`, as upstream's comparator throws.
pub fn check(history: &[Op]) -> Value {
    let generates = history
        .iter()
        .filter(|op| op.f == "generate" && op.process.is_client());
    let mut attempted = 0u64;
    let mut acknowledged = Vec::new();
    for op in generates {
        match op.kind {
            OpType::Invoke => attempted += 1,
            OpType::Ok => acknowledged.push(&op.value),
            _ => {}
        }
    }
    let mut counts: BTreeMap<String, (u64, &Value)> = BTreeMap::new();
    for id in &acknowledged {
        counts.entry(id.to_string()).or_insert((0, id)).0 += 1;
    }
    let mut duplicated: Vec<(u64, &Value)> =
        counts.values().filter(|(n, _)| *n > 1).copied().collect();
    let duplicated_count = duplicated.len();
    let mut result = json!({
        "attempted-count": attempted,
        "acknowledged-count": acknowledged.len(),
        "duplicated-count": duplicated_count,
    });
    let ordered = sort_ids(
        acknowledged
            .iter()
            .copied()
            .filter(|v| !v.is_null())
            .collect(),
    );
    match ordered {
        Ok(ids) => {
            result["range"] = json!([ids.first(), ids.last()]);
            duplicated.sort_by(|a, b| {
                b.0.cmp(&a.0)
                    .then_with(|| compare(a.1, b.1).unwrap_or(Ordering::Equal))
            });
            duplicated.truncate(DUPLICATES_SHOWN);
            duplicated.sort_by(|a, b| compare(a.1, b.1).unwrap_or(Ordering::Equal));
            let shown: Map<String, Value> = duplicated
                .iter()
                // Upstream's map is keyed by the id itself; JSON keys are strings, so a
                // string id is its own key and any other id is written as JSON.
                .map(|(n, id)| {
                    let key = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
                    (key, Value::from(*n))
                })
                .collect();
            result["duplicated"] = Value::Object(shown);
            result["valid?"] = Value::Bool(duplicated_count == 0);
        }
        Err(message) => {
            result["valid?"] = Value::String("unknown".into());
            result["error"] = Value::String(message);
        }
    }
    result
}

fn sort_ids(mut ids: Vec<&Value>) -> Result<Vec<&Value>, String> {
    for pair in ids.windows(2) {
        if compare(pair[0], pair[1]).is_none() {
            return Err(format!(
                "ids {} and {} cannot be compared (mixed or unorderable id types)",
                pair[0], pair[1]
            ));
        }
    }
    if let Some(first) = ids.first() {
        if let Some(bad) = ids.iter().find(|v| compare(first, v).is_none()) {
            return Err(format!(
                "ids {first} and {bad} cannot be compared (mixed or unorderable id types)"
            ));
        }
    }
    ids.sort_by(|a, b| compare(a, b).unwrap_or(Ordering::Equal));
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;

    fn history(ids: &[Value]) -> Vec<Op> {
        let mut h = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let base = Op {
                index: 0,
                time: 0,
                kind: OpType::Invoke,
                process: Process::Client(i as u64 % 3),
                f: "generate".into(),
                value: Value::Null,
                error: None,
                exception: None,
                is_final: false,
            };
            h.push(base.clone());
            h.push(Op {
                kind: OpType::Ok,
                value: id.clone(),
                ..base
            });
        }
        h.push(Op {
            index: 0,
            time: 0,
            kind: OpType::Invoke,
            process: Process::Client(9),
            f: "generate".into(),
            value: Value::Null,
            error: None,
            exception: None,
            is_final: false,
        });
        h
    }

    #[test]
    fn distinct_ids_are_valid_with_counts_and_range() {
        let r = check(&history(&[json!(5), json!(1), json!(3)]));
        assert_eq!(
            r,
            json!({"valid?": true, "attempted-count": 4, "acknowledged-count": 3, "duplicated-count": 0, "duplicated": {}, "range": [1, 5]})
        );
    }

    #[test]
    fn duplicates_are_found_and_listed() {
        let r = check(&history(&[
            json!("a"),
            json!("b"),
            json!("a"),
            json!("a"),
            json!("b"),
            json!("c"),
        ]));
        assert_eq!(r["valid?"], false);
        assert_eq!(r["duplicated-count"], 2);
        assert_eq!(
            r["duplicated"],
            json!({"a": 3, "b": 2}),
            "keys are the ids themselves"
        );
        assert_eq!(r["range"], json!(["a", "c"]));
    }

    #[test]
    fn integer_and_float_ids_are_distinct_and_mixed_types_are_unknown() {
        let r = check(&history(&[json!(1), json!(1.0)]));
        assert_eq!(r["valid?"], true);
        let r = check(&history(&[json!(1), json!("1")]));
        assert_eq!(r["valid?"], "unknown");
    }
}
