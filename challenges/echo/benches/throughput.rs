//! End-to-end throughput of the `echo` binary: a stream of requests written to its stdin,
//! every reply read back from its stdout. Run with `cargo bench -p echo --bench throughput`.

use criterion::{criterion_main, Criterion, Throughput};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const MESSAGES: usize = 200_000;

fn input() -> Vec<u8> {
    let mut input = Vec::with_capacity(MESSAGES * 100);
    input.extend_from_slice(
        br#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#,
    );
    input.push(b'\n');
    for i in 0..MESSAGES {
        let line = format!(
            r#"{{"id":{i},"src":"c1","dest":"n0","body":{{"type":"echo","msg_id":{},"echo":"Please echo {}"}}}}"#,
            i + 2,
            i % 128
        );
        input.extend_from_slice(line.as_bytes());
        input.push(b'\n');
    }
    input
}

/// Streams the input through a fresh process and counts the replies.
fn stream(input: &'static [u8]) -> usize {
    let mut child = Command::new(env!("CARGO_BIN_EXE_echo"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("echo binary starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writer = std::thread::spawn(move || stdin.write_all(input));
    let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout is piped"));
    let replies = stdout.split(b'\n').count();
    writer
        .join()
        .expect("writer thread")
        .expect("input written");
    child.wait().expect("echo exits");
    replies
}

fn bench(c: &mut Criterion) {
    let input: &'static [u8] = Box::leak(input().into_boxed_slice());
    assert_eq!(stream(input), MESSAGES + 1, "every request is answered");
    let mut group = c.benchmark_group("echo process");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.bench_function("stdin to stdout", |b| b.iter(|| stream(input)));
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
