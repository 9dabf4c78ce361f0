//! The echo checker (jepsen-io/maelstrom, `src/maelstrom/workload/echo.clj`, `checker`):
//! every answer carries the string its request sent.

use crate::history::{pair_client_ops, Op, OpType};
use serde_json::{json, Value};

/// Every `ok` or `fail` completion must carry the invoked string under `echo`. `info`
/// completions are never checked. A `fail` keeps the invocation's string as its value, so
/// it always counts as a mismatch: a [QUIRK] kept for verdict compatibility.
pub fn check(history: &[Op]) -> Value {
    let mut errors = Vec::new();
    for (invoke, completion) in pair_client_ops(history) {
        let Some(completion) = completion.map(|c| &history[c]) else {
            continue;
        };
        if !matches!(completion.kind, OpType::Ok | OpType::Fail) || completion.f != "echo" {
            continue;
        }
        let expected = &history[invoke].value;
        let got = completion.value.get("echo");
        if got != Some(expected) {
            errors.push(json!([
                "Expected a message with :echo",
                expected,
                "But received",
                completion.value
            ]));
        }
    }
    json!({"valid?": errors.is_empty(), "errors": errors})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Process;

    fn op(index: u64, kind: OpType, process: u64, value: Value) -> Op {
        Op {
            index,
            time: index,
            kind,
            process: Process::Client(process),
            f: "echo".into(),
            value,
            error: None,
            exception: None,
            is_final: false,
        }
    }

    #[test]
    fn matching_echoes_are_valid() {
        let h = vec![
            op(0, OpType::Invoke, 0, json!("Please echo 1")),
            op(1, OpType::Invoke, 1, json!("Please echo 2")),
            op(
                2,
                OpType::Ok,
                1,
                json!({"type": "echo_ok", "echo": "Please echo 2", "in_reply_to": 1}),
            ),
            op(
                3,
                OpType::Ok,
                0,
                json!({"type": "echo_ok", "echo": "Please echo 1", "in_reply_to": 1}),
            ),
        ];
        assert_eq!(check(&h), json!({"valid?": true, "errors": []}));
    }

    #[test]
    fn a_wrong_echo_and_a_definite_failure_are_errors_but_info_is_not() {
        let h = vec![
            op(0, OpType::Invoke, 0, json!("Please echo 1")),
            op(
                1,
                OpType::Ok,
                0,
                json!({"type": "echo_ok", "echo": "Please echo 9"}),
            ),
            op(2, OpType::Invoke, 0, json!("Please echo 3")),
            op(3, OpType::Fail, 0, json!("Please echo 3")),
            op(4, OpType::Invoke, 0, json!("Please echo 4")),
            op(5, OpType::Info, 0, json!("Please echo 4")),
        ];
        let result = check(&h);
        assert_eq!(result["valid?"], false);
        assert_eq!(result["errors"].as_array().unwrap().len(), 2);
        assert_eq!(result["errors"][0][1], "Please echo 1");
    }
}
