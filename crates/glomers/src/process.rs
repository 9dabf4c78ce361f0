//! Node processes: spawning, the stdin writer, the stdout reader, stderr logs, exit
//! detection and teardown (jepsen-io/maelstrom, `src/maelstrom/process.clj`, `start-node!`,
//! `stdin-thread`, `stdout-thread`, `stderr-thread` and `stop-node!`). Their threads only
//! do I/O: every line read and every exit goes to the run's core ([`crate::run`]) as a
//! [`NodeEvent`], and the core decides what it means.
//!
//! Each node runs in its own process group so that teardown and Ctrl-C kill it together with
//! anything it forked: no orphans, no zombies.

use crate::clock::Clock;
use crate::health::{Health, Measure};
use crate::run_errors::RunError;
use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Lines of stderr (and stdout) kept for crash reports.
const TAIL_LINES: usize = 32;
/// The longest line a node may print on stdout, newline excluded. Maelstrom sets none and
/// buffers a line of any length; a node that prints without a newline would then grow the
/// workbench without bound. No Maelstrom message comes near this (a 3d broadcast read reply
/// is about 10 KiB), and with every node at the limit at once a 25-node run still holds
/// well under the workbench's memory goal. stderr lines past it are logged in pieces.
pub const MAX_LINE_BYTES: usize = 4 << 20;
/// How much of a bad line an error message quotes.
const EXCERPT: usize = 160;

/// Process groups of every live node, for the Ctrl-C handler.
static LIVE_GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Kills every live node's process group (used on Ctrl-C).
pub fn kill_all_groups() {
    let groups = LIVE_GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
    for pgid in groups {
        kill_group(pgid);
    }
}

fn kill_group(pgid: i32) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// What a node's I/O threads tell the run's core. `node` is the node's index in the node
/// order.
#[derive(Debug)]
pub enum NodeEvent {
    /// A complete line on stdout (newline and a trailing `\r` stripped).
    Line {
        /// The node.
        node: usize,
        /// The line.
        line: String,
        /// The line parsed as upstream parses it, or the rule it breaks.
        parsed: Result<crate::wire::Printed, String>,
        /// When it was read.
        read_at: Duration,
    },
    /// A line longer than [`MAX_LINE_BYTES`].
    TooLong {
        /// The node.
        node: usize,
        /// Its first bytes, for the error message.
        excerpt: String,
    },
    /// Its stdout reached end of file.
    StdoutClosed {
        /// The node.
        node: usize,
        /// When, on the run's clock.
        at: Duration,
    },
    /// The process is gone.
    Exited {
        /// The node.
        node: usize,
        /// Exit status and last stderr lines.
        report: String,
    },
    /// Bytes given to [`NodeProcess::deliver`] were written to its stdin (or dropped, if
    /// it no longer reads).
    Written {
        /// The node.
        node: usize,
        /// How many.
        bytes: usize,
    },
    /// A signal interrupted the run.
    Interrupted,
}

/// How much of a node's output may be read ahead of the run's core, counting what the
/// core holds back for room in the network: past it the reader stops, the pipe fills,
/// and the node waits on its own stdout, as on a full socket buffer. One line of any
/// length (up to [`MAX_LINE_BYTES`]) is always let through. Small, about a pipe's worth:
/// the core takes every node's lines in the order they were read, so what one flooding
/// node has read ahead is what a reply from any other node may wait behind.
pub const READ_AHEAD: usize = 64 << 10;

/// The reader's share of [`READ_AHEAD`]: bytes sent to the core and not yet routed, and
/// bytes the core holds back.
#[derive(Default)]
pub struct ReadGate {
    state: Mutex<GateState>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct GateState {
    unrouted: usize,
    held: usize,
    closed: bool,
}

impl ReadGate {
    /// Waits until `bytes` more may be read ahead. False once the gate is closed.
    fn admit(&self, bytes: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if state.closed {
                return false;
            }
            let ahead = state.unrouted + state.held;
            if ahead == 0 || ahead + bytes <= READ_AHEAD {
                state.unrouted += bytes;
                return true;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The core routed (or held) a line of `bytes`, and now holds `held` bytes of this
    /// node's output.
    pub fn routed(&self, bytes: usize, held: usize) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.unrouted = state.unrouted.saturating_sub(bytes);
        state.held = held;
        self.changed.notify_all();
    }

    /// The core now holds `held` bytes of this node's output.
    pub fn set_held(&self, held: usize) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.held != held {
            state.held = held;
            self.changed.notify_all();
        }
    }

    /// Lets a waiting reader go: the run is over.
    pub fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.closed = true;
        self.changed.notify_all();
    }
}

/// How node processes are started, as upstream starts them.
pub struct ProcessConfig {
    /// The binary (absolute path).
    pub bin: std::path::PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Where `<node>.log` files go.
    pub log_dir: std::path::PathBuf,
    /// Echo stderr lines to the console.
    pub log_stderr: bool,
    /// Extra environment for the nodes.
    pub env: std::collections::BTreeMap<String, String>,
    /// A test-only stall of every write to a node's stdin, to make the workbench fall
    /// behind on purpose (self-health tests).
    pub delivery_stall: Duration,
}

/// What the I/O threads of every node share with the run's core.
#[derive(Clone)]
pub struct NodeIo {
    /// Where events go.
    pub events: mpsc::Sender<NodeEvent>,
    /// The run's clock.
    pub clock: Arc<dyn Clock>,
    /// Where delivery lateness goes.
    pub health: Arc<Health>,
}

/// One node process and its I/O threads: a writer for its stdin, readers for its stdout
/// and stderr, and a thread that waits for it to exit.
pub struct NodeProcess {
    id: String,
    pgid: i32,
    gate: Arc<ReadGate>,
    stdin: Option<mpsc::Sender<(String, Duration)>>,
    exit: Arc<Mutex<Option<String>>>,
    waiter: Option<JoinHandle<()>>,
    exited_rx: mpsc::Receiver<()>,
}

impl NodeProcess {
    /// Starts node `id` (number `index` in the node order).
    pub fn spawn(
        config: &ProcessConfig,
        index: usize,
        id: &str,
        io: &NodeIo,
    ) -> Result<Self, RunError> {
        let spawn_error = |reason: String| RunError::Spawn {
            node: id.to_owned(),
            bin: config.bin.display().to_string(),
            reason,
        };
        if config.bin.is_dir() {
            return Err(spawn_error("is a directory, not a node binary".into()));
        }
        if !config.bin.is_file() {
            return Err(spawn_error("no such file".into()));
        }
        let mut child: Child = niced(&config.bin)
            .args(&config.args)
            .envs(&config.env)
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| spawn_error(e.to_string()))?;
        let pgid = child.id() as i32;
        if let Ok(mut groups) = LIVE_GROUPS.lock() {
            groups.insert(pgid);
        }
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| RunError::internal("node stdin missing"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| RunError::internal("node stdout missing"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| RunError::internal("node stderr missing"))?;
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let name = |what: &str| format!("{id}-{what}");

        let (lines, to_write) = mpsc::channel();
        let (writer_io, stall) = (io.clone(), config.delivery_stall);
        spawn_thread(name("stdin"), move || {
            write_stdin(index, stdin, &to_write, &writer_io, stall)
        })?;

        let gate = Arc::new(ReadGate::default());
        let (reader_io, reader_gate) = (io.clone(), gate.clone());
        spawn_thread(name("stdout"), move || {
            read_stdout(index, stdout, &reader_io, &reader_gate)
        })?;

        let log_path = config.log_dir.join(format!("{id}.log"));
        let (tail, echo, log_id) = (stderr_tail.clone(), config.log_stderr, id.to_owned());
        let (eof_tx, eof_rx) = mpsc::channel();
        spawn_thread(name("stderr"), move || {
            log_stderr(&log_id, stderr, &log_path, &tail, echo);
            let _ = eof_tx.send(());
        })?;

        let exit = Arc::new(Mutex::new(None));
        let (exited_tx, exited_rx) = mpsc::channel();
        let (w_exit, w_events) = (exit.clone(), io.events.clone());
        let waiter = spawn_thread(name("wait"), move || {
            let status = child.wait();
            // Give stderr a moment to drain so the report shows the node's last words.
            let _ = eof_rx.recv_timeout(Duration::from_secs(1));
            let report = describe_exit(status, &stderr_tail);
            if let Ok(mut slot) = w_exit.lock() {
                *slot = Some(report.clone());
            }
            if let Ok(mut groups) = LIVE_GROUPS.lock() {
                groups.remove(&pgid);
            }
            let _ = w_events.send(NodeEvent::Exited {
                node: index,
                report,
            });
            let _ = exited_tx.send(());
        })?;
        Ok(NodeProcess {
            id: id.to_owned(),
            pgid,
            gate,
            stdin: Some(lines),
            exit,
            waiter: Some(waiter),
            exited_rx,
        })
    }

    /// The node id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its stdout reader's share of [`READ_AHEAD`].
    pub fn gate(&self) -> &ReadGate {
        &self.gate
    }

    /// Hands `line` (without its newline) to the node's stdin writer; `due` is when the
    /// network model says it is due, against which the write's lateness is measured.
    pub fn deliver(&self, line: String, due: Duration) {
        if let Some(stdin) = &self.stdin {
            // The writer lives until `stop`.
            let _ = stdin.send((line, due));
        }
    }

    /// If the node has already stopped: how (exit status and last stderr lines).
    pub fn exited(&self) -> Option<String> {
        self.exit.lock().ok().and_then(|e| e.clone())
    }

    /// Kills the node's process group, without waiting.
    pub fn kill(&self) {
        kill_group(self.pgid);
    }

    /// Stops the node for good and waits (bounded) for it to be gone.
    pub fn stop(&mut self) {
        self.stdin = None;
        self.gate.close();
        kill_group(self.pgid);
        if self.exited_rx.recv_timeout(Duration::from_secs(5)).is_ok() {
            if let Some(waiter) = self.waiter.take() {
                let _ = waiter.join();
            }
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if self.waiter.is_some() {
            self.stop();
        }
    }
}

/// How much lower than the workbench's the nodes' CPU priority is.
const NODE_NICENESS: &str = "5";

/// A command for `bin`, run through `nice` when the system has it: on a small machine the
/// simulated network (the workbench's delivery threads) must not wait behind busy nodes,
/// or message timing stops being what the latency model says. `nice` execs the binary, so
/// the process, its argv and its group are the node's own.
fn niced(bin: &Path) -> Command {
    let nice = ["/usr/bin/nice", "/bin/nice"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file());
    match nice {
        Some(nice) => {
            let mut cmd = Command::new(nice);
            cmd.args(["-n", NODE_NICENESS, "--"]).arg(bin);
            cmd
        }
        None => Command::new(bin),
    }
}

fn spawn_thread(
    name: String,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, RunError> {
    crate::run_errors::spawn_named(name, f)
}

fn describe_exit(
    status: std::io::Result<ExitStatus>,
    stderr_tail: &Mutex<VecDeque<String>>,
) -> String {
    let status = match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            _ => s.to_string(),
        },
        Err(e) => format!("unknown exit ({e})"),
    };
    let tail: Vec<String> = stderr_tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    if tail.is_empty() {
        format!("{status}; stderr was empty")
    } else {
        format!("{status}; last stderr lines:\n    {}", tail.join("\n    "))
    }
}

/// The node's stdin writer: each line as the core delivers it. The delivery's lateness is
/// measured here, against the later of the moment it was due and the end of the previous
/// write: a node that does not read its stdin makes its own deliveries wait, and that is
/// not the workbench's lateness. Writes to a dead process fail silently and lines keep
/// being consumed (and lost), as upstream.
fn write_stdin(
    node: usize,
    stdin: ChildStdin,
    lines: &mpsc::Receiver<(String, Duration)>,
    io: &NodeIo,
    stall: Duration,
) {
    let mut stdin = Some(std::io::BufWriter::with_capacity(64 << 10, stdin));
    let mut free = Duration::ZERO;
    // Everything waiting is written, flushed, and acknowledged at once.
    while let Ok(first) = lines.recv() {
        let mut bytes = 0;
        let mut next = Some(first);
        while let Some((mut line, due)) = next {
            if !stall.is_zero() {
                std::thread::sleep(stall);
            }
            io.health.record(
                Measure::Delivery,
                io.clock.now().saturating_sub(due.max(free)),
            );
            bytes += line.len();
            if let Some(pipe) = stdin.as_mut() {
                line.push('\n');
                if pipe.write_all(line.as_bytes()).is_err() {
                    stdin = None;
                }
            }
            free = io.clock.now();
            next = lines.try_recv().ok();
        }
        if stdin.as_mut().is_some_and(|pipe| pipe.flush().is_err()) {
            stdin = None;
        }
        if io.events.send(NodeEvent::Written { node, bytes }).is_err() {
            return;
        }
    }
}

/// Reads stdout line by line for the core, never more than [`READ_AHEAD`] ahead of it. A
/// line past [`MAX_LINE_BYTES`] is reported once, and the rest is drained unread, so the
/// node is not blocked on a full pipe while it is torn down.
fn read_stdout(node: usize, stdout: std::process::ChildStdout, io: &NodeIo, gate: &ReadGate) {
    let mut reader = BufReader::with_capacity(256 * 1024, stdout);
    let mut raw = Vec::new();
    let mut stopped = false;
    loop {
        match read_line_bounded(&mut reader, &mut raw, MAX_LINE_BYTES) {
            Ok(Line::End) | Err(_) => {
                let at = io.clock.now();
                let _ = io.events.send(NodeEvent::StdoutClosed { node, at });
                return;
            }
            Ok(Line::TooLong) => {
                if !stopped {
                    let excerpt = shorten(&String::from_utf8_lossy(&raw));
                    let _ = io.events.send(NodeEvent::TooLong { node, excerpt });
                    stopped = true;
                }
                continue;
            }
            Ok(Line::Complete) if stopped => continue,
            Ok(Line::Complete) => {}
        }
        let read_at = io.clock.now();
        let line = String::from_utf8_lossy(&raw)
            .trim_end_matches(['\n', '\r'])
            .to_owned();
        if !gate.admit(line.len()) {
            return;
        }
        let parsed = crate::wire::parse_line(&line);
        if io
            .events
            .send(NodeEvent::Line {
                node,
                line,
                parsed,
                read_at,
            })
            .is_err()
        {
            return;
        }
    }
}

/// How a bounded line read ended.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// `buf` holds one line, its newline stripped (or the last bytes before end of file).
    Complete,
    /// `buf` holds the first `max` bytes of a longer line; the rest is still unread.
    TooLong,
    /// End of file, nothing read.
    End,
}

/// Reads up to the next newline, but never buffers more than `max` bytes: the workbench's
/// memory must not depend on what a node prints.
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if buf.is_empty() {
                Line::End
            } else {
                Line::Complete
            });
        }
        let room = max - buf.len();
        match available.iter().position(|b| *b == b'\n') {
            Some(at) if at <= room => {
                buf.extend_from_slice(&available[..at]);
                reader.consume(at + 1);
                return Ok(Line::Complete);
            }
            _ => {
                let take = available.len().min(room);
                buf.extend_from_slice(&available[..take]);
                reader.consume(take);
                if buf.len() == max {
                    // A line of exactly `max` bytes is still a line.
                    return Ok(match reader.fill_buf()?.first() {
                        None => Line::Complete,
                        Some(b'\n') => {
                            reader.consume(1);
                            Line::Complete
                        }
                        Some(_) => Line::TooLong,
                    });
                }
            }
        }
    }
}

fn log_stderr(
    id: &str,
    stderr: std::process::ChildStderr,
    path: &Path,
    tail: &Mutex<VecDeque<String>>,
    echo: bool,
) {
    let mut file = std::fs::File::create(path).ok();
    let mut reader = BufReader::new(stderr);
    let mut raw = Vec::new();
    loop {
        match read_line_bounded(&mut reader, &mut raw, MAX_LINE_BYTES) {
            Ok(Line::End) | Err(_) => return,
            Ok(Line::Complete | Line::TooLong) => {}
        }
        let line = String::from_utf8_lossy(&raw)
            .trim_end_matches('\r')
            .to_owned();
        if let Some(f) = file.as_mut() {
            let _ = writeln!(f, "{line}").and_then(|()| f.flush());
        }
        if echo {
            eprintln!("[{id} stderr] {line}");
        }
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

/// Shortens a line for error messages.
pub fn shorten(line: &str) -> String {
    maelstrom::protocol::shorten(line, EXCERPT).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_lines_never_hold_more_than_the_limit() {
        let input = b"short\r\nexactly8\n0123456789abcdef\nlast".to_vec();
        let mut reader = BufReader::with_capacity(3, &input[..]);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        loop {
            let line = read_line_bounded(&mut reader, &mut buf, 8).unwrap();
            if line == Line::End {
                break;
            }
            got.push((line, String::from_utf8_lossy(&buf).into_owned()));
        }
        assert_eq!(
            got,
            [
                (Line::Complete, "short\r".to_owned()),
                (Line::Complete, "exactly8".to_owned()),
                (Line::TooLong, "01234567".to_owned()),
                (Line::Complete, "89abcdef".to_owned()),
                (Line::Complete, "last".to_owned()),
            ]
        );
    }
}
