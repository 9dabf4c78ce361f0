//! Two real `unique-ids` processes, 100,000 requests each: 200,000 distinct ids.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const REQUESTS: usize = 100_000;

fn ids_from(node: &str) -> Vec<serde_json::Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_unique-ids"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = format!(
        r#"{{"src":"c0","dest":"{node}","body":{{"type":"init","msg_id":1,"node_id":"{node}","node_ids":["n0","n1"]}}}}"#
    );
    input.push('\n');
    for i in 0..REQUESTS {
        input.push_str(&format!(
            r#"{{"src":"c{}","dest":"{node}","body":{{"type":"generate","msg_id":{}}}}}"#,
            i % 7 + 2,
            i + 2
        ));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ids = Vec::new();
    for line in stdout.lines() {
        let message: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if message["body"]["type"] == "generate_ok" {
            ids.push(message["body"]["id"].clone());
        }
    }
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success());
    ids
}

#[test]
fn two_processes_give_two_hundred_thousand_distinct_ids() {
    let mut all = ids_from("n0");
    all.extend(ids_from("n1"));
    assert_eq!(all.len(), 2 * REQUESTS);
    let distinct: HashSet<String> = all.iter().map(|id| id.to_string()).collect();
    assert_eq!(distinct.len(), 2 * REQUESTS);
    assert!(all.iter().all(|id| id.is_u64()), "ids are compact integers");
}
