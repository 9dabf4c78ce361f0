//! Node processes: spawning, the stdin delivery loop, stdout routing, stderr logs, exit
//! detection and teardown (jepsen-io/maelstrom, `src/maelstrom/process.clj`, `start-node!`,
//! `stdin-thread`, `stdout-thread`, `stderr-thread` and `stop-node!`).
//!
//! Each node runs in its own process group so that teardown and Ctrl-C kill it together with
//! anything it forked: no orphans, no zombies.

use crate::health::Measure;
use crate::net::{NetError, Network, Take};
use crate::signals::{RunError, Signals};
use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
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

/// A way to run nodes. Process mode is the only driver today; an in-process driver for
/// sans-IO nodes on virtual time will sit behind the same interface.
pub trait NodeDriver {
    /// Starts node `id`; its messages flow through `net`.
    fn start(
        &self,
        id: &str,
        net: &Arc<Network>,
        signals: &Arc<Signals>,
    ) -> Result<Box<dyn RunningNode>, RunError>;
}

/// A started node.
pub trait RunningNode: Send {
    /// The node id.
    fn id(&self) -> &str;
    /// If the node has already stopped: how (exit status and last stderr lines).
    fn exited(&self) -> Option<String>;
    /// Stops the node for good and waits (bounded) for it to be gone.
    fn stop(&mut self);
}

/// Spawns node binaries as OS processes, as upstream does.
pub struct ProcessDriver {
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
    /// A test-only stall of every delivery thread between taking a message and delivering
    /// it, to make the workbench fall behind on purpose (self-health tests).
    pub delivery_stall: Duration,
}

impl NodeDriver for ProcessDriver {
    fn start(
        &self,
        id: &str,
        net: &Arc<Network>,
        signals: &Arc<Signals>,
    ) -> Result<Box<dyn RunningNode>, RunError> {
        Ok(Box::new(NodeProcess::spawn(self, id, net, signals)?))
    }
}

/// One node process and its I/O threads.
pub struct NodeProcess {
    id: String,
    pgid: i32,
    stopping: Arc<AtomicBool>,
    exit: Arc<Mutex<Option<String>>>,
    waiter: Option<JoinHandle<()>>,
    exited_rx: mpsc::Receiver<()>,
}

impl NodeProcess {
    fn spawn(
        driver: &ProcessDriver,
        id: &str,
        net: &Arc<Network>,
        signals: &Arc<Signals>,
    ) -> Result<Self, RunError> {
        let spawn_error = |reason: String| RunError::Spawn {
            node: id.to_owned(),
            bin: driver.bin.display().to_string(),
            reason,
        };
        if driver.bin.is_dir() {
            return Err(spawn_error("is a directory, not a node binary".into()));
        }
        if !driver.bin.is_file() {
            return Err(spawn_error("no such file".into()));
        }
        let mut child: Child = niced(&driver.bin)
            .args(&driver.args)
            .envs(&driver.env)
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
        let stopping = Arc::new(AtomicBool::new(false));
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));

        let name = |what: &str| format!("{id}-{what}");
        let (deliver_net, deliver_id, stall) = (net.clone(), id.to_owned(), driver.delivery_stall);
        spawn_thread(name("stdin"), move || {
            deliver(&deliver_net, &deliver_id, stdin, stall)
        })?;

        let (route_net, route_id, route_signals, route_stopping) = (
            net.clone(),
            id.to_owned(),
            signals.clone(),
            stopping.clone(),
        );
        spawn_thread(name("stdout"), move || {
            route_stdout(&route_net, &route_id, stdout, &route_signals);
            if !route_stopping.load(Ordering::SeqCst) {
                route_signals.stdout_closed(&route_id, route_net.clock().now());
            }
        })?;

        let log_path = driver.log_dir.join(format!("{id}.log"));
        let (tail, echo, log_id) = (stderr_tail.clone(), driver.log_stderr, id.to_owned());
        let (eof_tx, eof_rx) = mpsc::channel();
        spawn_thread(name("stderr"), move || {
            log_stderr(&log_id, stderr, &log_path, &tail, echo);
            let _ = eof_tx.send(());
        })?;

        let exit = Arc::new(Mutex::new(None));
        let (exited_tx, exited_rx) = mpsc::channel();
        let (w_exit, w_stopping, w_signals, w_id) = (
            exit.clone(),
            stopping.clone(),
            signals.clone(),
            id.to_owned(),
        );
        let waiter = spawn_thread(name("wait"), move || {
            let status = child.wait();
            // Give stderr a moment to drain so the report shows the node's last words.
            let _ = eof_rx.recv_timeout(Duration::from_secs(1));
            let description = describe_exit(status, &stderr_tail);
            if let Ok(mut slot) = w_exit.lock() {
                *slot = Some(description.clone());
            }
            if let Ok(mut groups) = LIVE_GROUPS.lock() {
                groups.remove(&pgid);
            }
            if !w_stopping.load(Ordering::SeqCst) {
                w_signals.abort(RunError::NodeExited {
                    node: w_id,
                    report: description,
                });
            }
            let _ = exited_tx.send(());
        })?;
        Ok(NodeProcess {
            id: id.to_owned(),
            pgid,
            stopping,
            exit,
            waiter: Some(waiter),
            exited_rx,
        })
    }
}

impl RunningNode for NodeProcess {
    fn id(&self) -> &str {
        &self.id
    }

    fn exited(&self) -> Option<String> {
        self.exit.lock().ok().and_then(|e| e.clone())
    }

    fn stop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
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
    crate::signals::spawn_named(name, f)
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

/// The node's delivery loop: take, wait out the latency, write one line. Writes to a dead
/// process fail silently and messages keep being consumed (and lost), as upstream.
fn deliver(net: &Network, id: &str, stdin: ChildStdin, stall: Duration) {
    let mut stdin = Some(stdin);
    loop {
        // The moment this consumer is free to take: a message is due at its deadline or
        // now, whichever is later; any wait beyond that is the workbench's.
        let free = net.clock().now();
        match net.take(id, None) {
            Take::Message(deadline, message) => {
                if !stall.is_zero() {
                    std::thread::sleep(stall);
                }
                if !net.await_delivery(deadline, free, &message) {
                    return;
                }
                if let Some(pipe) = stdin.as_mut() {
                    let mut line = message.to_line();
                    line.push('\n');
                    if pipe
                        .write_all(line.as_bytes())
                        .and_then(|()| pipe.flush())
                        .is_err()
                    {
                        stdin = None;
                    }
                }
            }
            Take::Dropped | Take::Empty => {}
            Take::Closed => return,
        }
    }
}

/// Reads stdout line by line and sends each message into the network. A line that is not a
/// message fails the run at once; a message to an unknown endpoint stops all further output
/// of this node from being delivered, as upstream does.
fn route_stdout(net: &Network, id: &str, stdout: std::process::ChildStdout, signals: &Signals) {
    let mut reader = BufReader::with_capacity(256 * 1024, stdout);
    let mut raw = Vec::new();
    let mut halted = false;
    loop {
        match read_line_bounded(&mut reader, &mut raw, MAX_LINE_BYTES) {
            Ok(Line::End) | Err(_) => return,
            Ok(Line::TooLong) => {
                if !halted {
                    signals.abort(RunError::BadOutput {
                        node: id.to_owned(),
                        line: shorten(&String::from_utf8_lossy(&raw)),
                        rule: format!(
                            "line-too-long: a message is one line of at most {MAX_LINE_BYTES} \
                             bytes; this node printed more without a newline"
                        ),
                    });
                    halted = true;
                }
                // Keep draining, so the node is not blocked on a full pipe while it is torn
                // down; nothing more is kept.
                continue;
            }
            Ok(Line::Complete) => {}
        }
        if halted {
            continue;
        }
        let text = String::from_utf8_lossy(&raw);
        let line = text.trim_end_matches(['\n', '\r']);
        match crate::wire::parse_line(line) {
            Ok(printed) => {
                let ready_at = net.clock().now();
                match net.send_when_room(&printed.src, &printed.dest, printed.body) {
                    // A flood waiting for its own backlog to drain is the model's
                    // backpressure, not the workbench's lateness: not measured.
                    Ok((_, waited)) => net.health().record(
                        Measure::StdoutRouting,
                        net.clock()
                            .now()
                            .saturating_sub(ready_at)
                            .saturating_sub(waited),
                    ),
                    Err(NetError::ShutDown) => return,
                    Err(e @ NetError::UnknownEndpoint { .. }) => {
                        halted = true;
                        signals.halt(id, &shorten(line), &e.to_string());
                    }
                }
            }
            Err(rule) => {
                signals.abort(RunError::BadOutput {
                    node: id.to_owned(),
                    line: shorten(line),
                    rule,
                });
                halted = true;
            }
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
