//! The real `echo` binary over pipes: the handshake, bad input, and a clean exit at EOF.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn answers_in_order_skips_garbage_and_exits_zero_at_eof() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_echo"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = [
        r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#,
        r#"{"id":5,"src":"c1","dest":"n0","body":{"type":"echo","msg_id":2,"echo":"Please echo 7"}}"#,
        "this line is not JSON",
        r#"{"src":"c1","dest":"n0","body":{"type":"teleport","msg_id":3}}"#,
        r#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":4,"echo":[1,{"x":null}]}}"#,
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
    let replies: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("stdout carries only messages"))
        .collect();
    let expected = [
        json!({"src": "n0", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1}}),
        json!({"src": "n0", "dest": "c1", "body": {"type": "echo_ok", "echo": "Please echo 7", "in_reply_to": 2}}),
        json!({"src": "n0", "dest": "c1", "body": {"type": "error", "code": 10,
            "text": "unsupported message type `teleport`", "in_reply_to": 3}}),
        json!({"src": "n0", "dest": "c1", "body": {"type": "echo_ok", "echo": [1, {"x": null}], "in_reply_to": 4}}),
    ];
    assert_eq!(replies, expected);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("this line is not JSON"),
        "the bad line is logged: {stderr}"
    );
}
