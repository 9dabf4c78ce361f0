//! The thin runtime that runs a node over stdin and stdout.
//!
//! One thread reads stdin in large chunks, splits it into lines and decodes them (decoding is
//! pure, so it overlaps with the node's work on the other core); the event loop waits for a
//! batch of decoded messages or for the engine's next deadline, whichever comes first, and
//! writes each batch of output with one write. stdout carries only messages; logs go to
//! stderr.

use crate::decode::{decode_line_with, Dest, Incoming};
use crate::engine::Engine;
use crate::node::Node;
use serde::de::DeserializeOwned;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Environment variable holding the log filter (`tracing` syntax, e.g. `debug`); default `info`.
pub const LOG_ENV: &str = "MAELSTROM_LOG";
/// Environment variable holding the node RNG seed; unset means a seed from the clock.
pub const SEED_ENV: &str = "MAELSTROM_SEED";

/// Why the runtime stopped before stdin ended.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Reading stdin or writing stdout failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

enum Input<P> {
    Messages(Vec<Incoming<P>>),
    /// Lines a helper thread is still decoding; they precede the next batch.
    Deferred(mpsc::Receiver<Vec<Incoming<P>>>),
    Eof,
    Failed(io::Error),
}

/// Installs the stderr logger, then runs node `N` until stdin ends.
pub fn run<N: Node>() -> Result<(), RuntimeError>
where
    N::Payload: Send + 'static,
{
    init_logging();
    let seed = seed_from_env();
    tracing::debug!(seed, "starting node runtime");
    run_with(Engine::<N>::new(seed), io::stdin(), io::stdout().lock())
}

/// Runs an engine over any input and output; [`run`] uses stdin and stdout.
///
/// ```
/// # use maelstrom::{ErrorBody, Handler};
/// # #[derive(serde::Deserialize)] #[serde(tag = "type", rename_all = "snake_case")]
/// # enum Payload { Ping }
/// # #[derive(Default)] struct Pinger;
/// # impl Handler for Pinger {
/// #     type Payload = Payload; type Reply = serde_json::Value;
/// #     fn handle(&mut self, _: Payload) -> Result<serde_json::Value, ErrorBody> {
/// #         Ok(serde_json::json!({"type": "pong"}))
/// #     }
/// # }
/// let input = concat!(
///     r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#, "\n",
///     r#"{"src":"c1","dest":"n0","body":{"type":"ping","msg_id":7}}"#, "\n",
/// );
/// let mut output = Vec::new();
/// maelstrom::runtime::run_with(maelstrom::Engine::<Pinger>::new(0), input.as_bytes(), &mut output)?;
/// let lines: Vec<&str> = std::str::from_utf8(&output).unwrap().lines().collect();
/// assert!(lines[0].contains(r#""type":"init_ok""#));
/// assert!(lines[1].contains(r#""type":"pong""#) && lines[1].contains(r#""in_reply_to":7"#));
/// # Ok::<(), maelstrom::RuntimeError>(())
/// ```
pub fn run_with<N: Node, R: Read + Send + 'static, W: Write>(
    mut engine: Engine<N>,
    input: R,
    mut output: W,
) -> Result<(), RuntimeError>
where
    N::Payload: Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel::<Input<N::Payload>>(64);
    // Set once the engine has its id. Lines decoded before that keep their `dest`, which
    // they may need; lines decoded after it are handled after it, so they need none.
    let initialised = Arc::new(AtomicBool::new(engine.dest_wanted() == Dest::Drop));
    let seen_by_reader = Arc::clone(&initialised);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || read_lines(input, tx, &seen_by_reader))?;
    let epoch = Instant::now();
    loop {
        engine.handle_deadlines(epoch.elapsed());
        flush(&mut engine, &mut output)?;
        let input = match engine.next_deadline() {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => rx.recv_timeout(at.saturating_sub(epoch.elapsed())),
        };
        match input {
            Ok(Input::Messages(batch)) => {
                let now = epoch.elapsed();
                for incoming in batch {
                    engine.handle_incoming(incoming, now);
                }
            }
            Ok(Input::Deferred(half)) => {
                // The helper decodes the first half of a large chunk; its lines come first.
                let batch = half.recv().unwrap_or_default();
                let now = epoch.elapsed();
                for incoming in batch {
                    engine.handle_incoming(incoming, now);
                }
            }
            Ok(Input::Eof) | Err(RecvTimeoutError::Disconnected) => {
                flush(&mut engine, &mut output)?;
                tracing::debug!("stdin closed; exiting");
                return Ok(());
            }
            Ok(Input::Failed(e)) => return Err(e.into()),
            Err(RecvTimeoutError::Timeout) => {}
        }
        if engine.dest_wanted() == Dest::Drop && !initialised.load(Ordering::Relaxed) {
            initialised.store(true, Ordering::Relaxed);
        }
    }
}

fn flush<N: Node, W: Write>(engine: &mut Engine<N>, output: &mut W) -> io::Result<()> {
    let out = engine.output();
    if !out.is_empty() {
        output.write_all(out)?;
        output.flush()?;
        out.clear();
    }
    Ok(())
}

/// Reads input in chunks and forwards the decoded lines, so the event loop pays one channel
/// hop per chunk rather than per line. A final line without a newline still counts.
fn read_lines<R: Read, P: DeserializeOwned + Send + 'static>(
    mut input: R,
    tx: mpsc::SyncSender<Input<P>>,
    initialised: &AtomicBool,
) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut partial: Vec<u8> = Vec::new();
    let mut helper = None;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Input::Failed(e));
                return;
            }
        };
        let chunk = &buf[..n];
        let Some(last_newline) = chunk.iter().rposition(|b| *b == b'\n') else {
            partial.extend_from_slice(chunk);
            continue;
        };
        let lines = if partial.is_empty() {
            &chunk[..last_newline]
        } else {
            partial.extend_from_slice(&chunk[..last_newline]);
            &partial[..]
        };
        let sent = send_decoded(lines, dest_wanted(initialised), &tx, &mut helper);
        let rest = chunk[last_newline + 1..].to_vec();
        partial.clear();
        partial.extend_from_slice(&rest);
        if !sent {
            return;
        }
    }
    if !partial.is_empty() {
        let _ = tx.send(Input::Messages(decode_lines(
            &partial,
            dest_wanted(initialised),
        )));
    }
    let _ = tx.send(Input::Eof);
}

fn dest_wanted(initialised: &AtomicBool) -> Dest {
    match initialised.load(Ordering::Relaxed) {
        true => Dest::Drop,
        false => Dest::Keep,
    }
}

/// Chunks at least this large are decoded by two threads.
const SPLIT_AT: usize = 64 * 1024;

type HelperJob<P> = (Vec<u8>, Dest, mpsc::SyncSender<Vec<Incoming<P>>>);

/// Decodes complete lines and sends them on. Under a flood (a large chunk), the first half
/// goes to a helper thread so that decoding, the most expensive step, uses both cores; small
/// chunks, the normal case, are decoded here with no extra hop. Returns false once the
/// event loop is gone.
fn send_decoded<P: DeserializeOwned + Send + 'static>(
    lines: &[u8],
    dest: Dest,
    tx: &mpsc::SyncSender<Input<P>>,
    helper: &mut Option<mpsc::Sender<HelperJob<P>>>,
) -> bool {
    let split = (lines.len() >= SPLIT_AT)
        .then(|| lines[lines.len() / 2..].iter().position(|b| *b == b'\n'))
        .flatten()
        .map(|offset| lines.len() / 2 + offset);
    let (Some(split), Some(helper)) = (split, helper_thread(helper)) else {
        return tx.send(Input::Messages(decode_lines(lines, dest))).is_ok();
    };
    let (half_tx, half_rx) = mpsc::sync_channel(1);
    if helper
        .send((lines[..split].to_vec(), dest, half_tx))
        .is_err()
    {
        return tx.send(Input::Messages(decode_lines(lines, dest))).is_ok();
    }
    tx.send(Input::Deferred(half_rx)).is_ok()
        && tx
            .send(Input::Messages(decode_lines(&lines[split + 1..], dest)))
            .is_ok()
}

fn helper_thread<P: DeserializeOwned + Send + 'static>(
    helper: &mut Option<mpsc::Sender<HelperJob<P>>>,
) -> Option<&mpsc::Sender<HelperJob<P>>> {
    if helper.is_none() {
        let (jobs, rx) = mpsc::channel::<HelperJob<P>>();
        let spawned = std::thread::Builder::new()
            .name("decode".into())
            .spawn(move || {
                for (bytes, dest, done) in rx {
                    let _ = done.send(decode_lines(&bytes, dest));
                }
            });
        if spawned.is_ok() {
            *helper = Some(jobs);
        }
    }
    helper.as_ref()
}

fn decode_lines<P: DeserializeOwned>(bytes: &[u8], dest: Dest) -> Vec<Incoming<P>> {
    bytes
        .split(|b| *b == b'\n')
        .map(|line| match std::str::from_utf8(line) {
            Ok(line) => decode_line_with(line, dest),
            Err(e) => {
                tracing::warn!("skipping a line that is not UTF-8: {e}");
                Incoming::Skip
            }
        })
        .collect()
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

fn seed_from_env() -> u64 {
    if let Ok(text) = std::env::var(SEED_ENV) {
        match text.trim().parse() {
            Ok(seed) => return seed,
            Err(e) => tracing::warn!("ignoring {SEED_ENV}={text:?}: {e}"),
        }
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::tests_support::EchoNode;

    /// Runs an echo node over `input` and returns every message it wrote.
    fn echo_lines(input: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        run_with(
            Engine::<EchoNode>::new(1),
            io::Cursor::new(input.as_bytes().to_vec()),
            &mut out,
        )
        .unwrap();
        out.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn runs_over_readers_and_ends_cleanly_at_eof() {
        let input = concat!(
            r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#,
            "\r\n",
            "not json\n",
            r#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":2,"echo":"x"}}"#
        );
        let lines = echo_lines(input);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["body"]["type"], "init_ok");
        assert_eq!(lines[1]["body"]["echo"], "x");
        assert_eq!(lines[1]["body"]["in_reply_to"], 2);
    }

    #[test]
    fn a_request_before_init_is_answered_from_its_dest() {
        let input = concat!(
            r#"{"src":"c1","dest":"n3","body":{"type":"echo","msg_id":1,"echo":"x"}}"#,
            "\n",
            r#"{"src":"c0","dest":"n3","body":{"type":"init","msg_id":1,"node_id":"n3","node_ids":["n3"]}}"#,
            "\n",
            r#"{"src":"c1","dest":"n3","body":{"type":"echo","msg_id":2,"echo":"y"}}"#,
            "\n",
        );
        let lines = echo_lines(input);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|m| m["src"] == "n3"), "{lines:?}");
        assert_eq!(lines[0]["body"]["code"], 11);
        assert_eq!(lines[1]["body"]["type"], "init_ok");
        assert_eq!(lines[2]["body"]["echo"], "y");
    }

    #[test]
    fn large_chunks_split_across_decoders_keep_their_order() {
        let mut input = String::from(
            r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#,
        );
        input.push('\n');
        let n = 5000;
        for i in 0..n {
            input.push_str(&format!(
                r#"{{"src":"c1","dest":"n0","body":{{"type":"echo","msg_id":{},"echo":{i}}}}}"#,
                i + 2
            ));
            input.push('\n');
        }
        assert!(input.len() > 4 * SPLIT_AT);
        let mut out = Vec::new();
        run_with(
            Engine::<EchoNode>::new(1),
            io::Cursor::new(input.into_bytes()),
            &mut out,
        )
        .unwrap();
        let echoes: Vec<u64> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .skip(1)
            .map(|l| {
                serde_json::from_slice::<serde_json::Value>(l).unwrap()["body"]["echo"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(echoes, (0..n).collect::<Vec<_>>());
    }
}
