//! The real `txn` binary over pipes: the handshake, transactions, the Fly.io 6c command's
//! stray arguments, bad input answered with the right codes, and a clean exit at EOF.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn runs_transactions_rejects_bad_ones_and_exits_zero_at_eof() {
    // Fly.io's 6c command passes `–-nemesis partition` (en dash) to the binary.
    let mut child = Command::new(env!("CARGO_BIN_EXE_txn"))
        .args(["–-nemesis", "partition"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = [
        r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#,
        r#"{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":2,"txn":[["r",1,null],["w",1,3],["r",1,null]]}}"#,
        "not json",
        r#"{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":3,"txn":[["append",1,3]]}}"#,
        r#"{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":4}}"#,
        r#"{"src":"c1","dest":"n0","body":{"type":"commit","msg_id":5}}"#,
        r#"{"src":"c1","dest":"n0","body":{"type":"txn","msg_id":6,"txn":[["r",1,null],["r",2,null]]}}"#,
    ]
    .join("\n");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit status {:?}", output.status);
    let bodies: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("stdout carries only messages")["body"].clone()
        })
        .collect();
    assert_eq!(bodies.len(), 6, "{bodies:#?}");
    assert_eq!(bodies[0]["type"], "init_ok");
    assert_eq!(
        bodies[1],
        json!({"type": "txn_ok", "txn": [["r", 1, null], ["w", 1, 3], ["r", 1, 3]], "in_reply_to": 2})
    );
    let codes: Vec<(Value, Value)> = bodies[2..5]
        .iter()
        .map(|b| (b["in_reply_to"].clone(), b["code"].clone()))
        .collect();
    assert_eq!(
        codes,
        [
            (json!(3), json!(12)),
            (json!(4), json!(12)),
            (json!(5), json!(10))
        ]
    );
    assert_eq!(
        bodies[5],
        json!({"type": "txn_ok", "txn": [["r", 1, 3], ["r", 2, null]], "in_reply_to": 6})
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not json"),
        "the bad line is logged: {stderr}"
    );
}
