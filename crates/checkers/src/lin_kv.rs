//! lin-kv histories judged for linearizability key by key (Knossos's `cas-register` per
//! independent key, as jepsen-io/maelstrom's `src/maelstrom/workload/lin_kv.clj` checks it).

use crate::history::{pair_client_ops, Op, OpType};
use crate::linearizable::{self, Operation, RegisterOp, Verdict};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Splits the history by key and checks each key's register (Knossos's verdict merged
/// over keys: any `false` is false, else any `unknown` is unknown).
pub fn check(history: &[Op]) -> Value {
    let mut values: HashMap<String, u32> = HashMap::from([("null".to_owned(), 0)]);
    let mut texts: Vec<Value> = vec![Value::Null];
    let mut intern = |v: &Value| -> u32 {
        let text = v.to_string();
        let next = values.len() as u32;
        *values.entry(text).or_insert_with(|| {
            texts.push(v.clone());
            next
        })
    };
    // key -> (operations, history positions of their completions or invocations)
    let mut per_key: BTreeMap<String, (Value, Vec<Operation>, Vec<usize>)> = BTreeMap::new();
    for (inv, completion) in pair_client_ops(history) {
        let invoke = &history[inv];
        let done = completion.map(|c| &history[c]);
        let kind = done.map_or(OpType::Info, |d| d.kind);
        let key = invoke.value[0].clone();
        let entry = per_key
            .entry(key.to_string())
            .or_insert_with(|| (key.clone(), Vec::new(), Vec::new()));
        // A failed operation did not happen, but its key is still one upstream's
        // independent checker judges (valid, with nothing to order).
        if kind == OpType::Fail {
            continue;
        }
        let op = match invoke.f.as_str() {
            "read" if kind == OpType::Ok => {
                RegisterOp::Read(intern(&done.map_or(Value::Null, |d| d.value[1].clone())))
            }
            // An indeterminate read changes nothing: leave it out.
            "read" => continue,
            "write" => RegisterOp::Write(intern(&invoke.value[1])),
            "cas" => RegisterOp::Cas(intern(&invoke.value[1][0]), intern(&invoke.value[1][1])),
            _ => continue,
        };
        entry.1.push(Operation {
            op,
            invoked: inv as u64,
            completed: (kind == OpType::Ok).then(|| completion.unwrap_or(inv) as u64),
        });
        entry.2.push(completion.unwrap_or(inv));
    }
    let mut results = Map::new();
    let mut failures = Vec::new();
    let mut any_unknown = false;
    for (text, (key, ops, positions)) in &per_key {
        let op_json =
            |i: usize| serde_json::to_value(&history[positions[i]]).unwrap_or(Value::Null);
        let result = match linearizable::check(ops) {
            Verdict::Linearizable => json!({"valid?": true, "op-count": ops.len()}),
            Verdict::NotLinearizable { op, states, before } => {
                failures.push(key.clone());
                json!({
                    "valid?": false,
                    "op-count": ops.len(),
                    "op": op_json(op),
                    "possible-values": states.iter().map(|s| texts[*s as usize].clone()).collect::<Vec<_>>(),
                    "previous-ok": before.iter().map(|i| op_json(*i)).collect::<Vec<_>>(),
                    "explanation": explain(
                        text,
                        &describe(&history[positions[op]]),
                        &states.iter().map(|s| texts[*s as usize].to_string()).collect::<Vec<_>>(),
                    ),
                })
            }
            Verdict::GaveUp(configurations) => {
                any_unknown = true;
                json!({"valid?": "unknown", "op-count": ops.len(), "error": format!(
                    "search gave up after {configurations} configurations")})
            }
        };
        results.insert(text.clone(), result);
    }
    let valid = if !failures.is_empty() {
        json!(false)
    } else if any_unknown {
        json!("unknown")
    } else {
        json!(true)
    };
    json!({"valid?": valid, "results": results, "failures": failures})
}

/// Why an operation cannot be placed, naming every value the register could hold when it
/// must have taken effect (one per order of the operations before it that survived).
fn explain(key: &str, op: &str, values: &[String]) -> String {
    let held = match values {
        [] => "no value at all".to_owned(),
        [one] => format!("only {one}, whatever the order of the operations before it"),
        [init @ .., last] => format!(
            "{} or {last}, depending on the order of the operations before it, and none of \
             them explains it",
            init.join(", ")
        ),
    };
    format!(
        "no order of the operations on key {key} explains {op}: when it must have taken \
         effect, the register could hold {held}"
    )
}

/// `read [0,1] by process 3 (history index 17)`.
fn describe(op: &Op) -> String {
    let process = serde_json::to_string(&op.process).unwrap_or_default();
    format!(
        "{} {} by process {process} (history index {})",
        op.f, op.value, op.index
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;

    fn op(index: usize, process: u64, kind: OpType, f: &str, value: Value) -> Op {
        Op::new(
            index as u64,
            index as u64,
            kind,
            Process::Client(process),
            f,
            value,
        )
    }

    #[test]
    fn keys_are_checked_independently_and_failures_named() {
        use OpType::*;
        let h = vec![
            op(0, 0, Invoke, "write", json!([1, 3])),
            op(1, 0, Ok, "write", json!([1, 3])),
            op(2, 0, Invoke, "write", json!([2, 4])),
            op(3, 0, Ok, "write", json!([2, 4])),
            op(4, 1, Invoke, "read", json!([1, null])),
            op(5, 1, Ok, "read", json!([1, 3])),
            op(6, 1, Invoke, "read", json!([2, null])),
            op(7, 1, Ok, "read", json!([2, 3])),
            op(8, 0, Invoke, "cas", json!([2, [0, 1]])),
            op(9, 0, Fail, "cas", json!([2, [0, 1]])),
        ];
        let r = check(&h);
        assert_eq!(r["valid?"], json!(false), "{r:#}");
        assert_eq!(r["failures"], json!([2]));
        assert_eq!(r["results"]["1"]["valid?"], json!(true));
        assert_eq!(r["results"]["2"]["op"]["index"], json!(7));
        assert_eq!(r["results"]["2"]["possible-values"], json!([4]));
        let valid = check(&h[..6]);
        assert_eq!(valid["valid?"], json!(true));
    }

    #[test]
    fn a_key_whose_only_operation_failed_is_listed_as_valid() {
        use OpType::*;
        let h = vec![
            op(0, 0, Invoke, "cas", json!([5, [0, 1]])),
            op(1, 0, Fail, "cas", json!([5, [0, 1]])),
        ];
        let r = check(&h);
        assert_eq!(r["valid?"], json!(true), "{r:#}");
        assert_eq!(r["results"]["5"], json!({"valid?": true, "op-count": 0}));
    }

    #[test]
    fn explanations_name_every_value_the_register_could_hold() {
        let one = explain("1", "read [1,3]", &["4".into()]);
        assert!(
            one.ends_with("could hold only 4, whatever the order of the operations before it"),
            "{one}"
        );
        let many = explain("1", "read [1,3]", &["null".into(), "1".into(), "2".into()]);
        assert!(
            many.contains("could hold null, 1 or 2, depending on the order"),
            "{many}"
        );
        assert!(!many.contains("only"), "{many}");
    }
}
