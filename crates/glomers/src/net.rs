//! The network of a process run: the network model ([`crate::model::network`]: queues,
//! latency, partitions at take time) behind a lock, one thread per endpoint consuming its
//! queue on the real clock (taking the head, sleeping out its latency while the rest of the
//! queue waits: head-of-line, as upstream), and the journal.
//!
//! Every send and every delivery is journaled: written to `messages.jsonl` as it happens
//! (upstream also writes its journal to disk during the run) and counted for the
//! statistics, so that no amount of traffic makes the workbench hold the journal in memory.

use crate::checker::NetTally;
use crate::clock::Clock;
use crate::health::{Health, Measure};
use rand_pcg::Pcg64Mcg;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::model::network::{due, Taken};
pub use crate::model::network::{
    is_client, EventKind, Latency, LatencyDist, NetError, NetMessage, NetworkModel, MAX_BACKLOG,
};

/// What a consumer got from its queue.
#[derive(Debug)]
pub enum Take {
    /// A message, to be delivered at `deadline`.
    Message(Duration, Arc<NetMessage>),
    /// The head was dropped by a partition; ask again.
    Dropped,
    /// Nothing arrived before the wait ended.
    Empty,
    /// The endpoint is gone or the network shut down.
    Closed,
}

struct State {
    /// The queues, partitions and latency draws.
    model: NetworkModel,
    /// Each endpoint's consumer waits on its own condition variable.
    ready: HashMap<String, Arc<Condvar>>,
    /// How long nodes' output waited for room, in all.
    throttled: Duration,
    /// Routers waiting for room now.
    waiting: usize,
}

/// Where the journal goes.
pub enum JournalSink {
    /// Nowhere: only the statistics are kept (unit tests, sweeps of the model).
    Discard,
    /// A `messages.jsonl` file, written as the run goes.
    File(PathBuf, BufWriter<std::fs::File>),
}

impl JournalSink {
    /// Creates (truncates) the journal file.
    pub fn file(path: &Path) -> std::io::Result<JournalSink> {
        let file = std::fs::File::create(path)?;
        Ok(JournalSink::File(
            path.to_owned(),
            BufWriter::with_capacity(1 << 20, file),
        ))
    }
}

/// What the journal thread is asked to do.
enum JournalEntry {
    /// Journal one event.
    Event(Duration, EventKind, Arc<NetMessage>),
    /// Flush, and report what the journal amounts to so far.
    Finish(std::sync::mpsc::Sender<JournalSummary>),
}

/// How many events may wait for the journal thread. Past this, senders and deliveries wait
/// for it (the disk sets the pace instead of memory growing): about 64 Ki messages, a few
/// megabytes, far more than a healthy run ever has waiting.
const JOURNAL_BACKLOG: usize = 1 << 16;

/// Formats and writes the journal on its own thread, so that neither routing nor the
/// delivery threads (the hot path at high fan-out, when many consumers wake at the same
/// deadline) wait for formatting or the disk.
struct Journal {
    sink: JournalSink,
    /// Journal entries written so far: each entry's `id`.
    seq: u64,
    tally: NetTally,
    /// The first write that failed, naming the file; nothing more is written after it, but
    /// the statistics go on.
    error: Option<String>,
}

impl Journal {
    /// Journals events until the first `Finish`; what arrives after it (a delivery that
    /// raced the shutdown) is left out of both the file and the statistics, so the two
    /// always agree with what the run reported.
    fn run(mut self, entries: std::sync::mpsc::Receiver<JournalEntry>) {
        let mut finished: Option<JournalSummary> = None;
        for entry in entries {
            match (entry, &finished) {
                (JournalEntry::Event(time, kind, message), None) => self.log(time, kind, &message),
                (JournalEntry::Event(..), Some(_)) => {}
                (JournalEntry::Finish(reply), _) => {
                    let summary = finished.get_or_insert_with(|| self.finish()).clone();
                    let _ = reply.send(summary);
                }
            }
        }
        if finished.is_none() {
            let _ = self.finish();
        }
    }

    fn log(&mut self, time: Duration, kind: EventKind, message: &NetMessage) {
        self.tally
            .add(kind, message.id, &message.src, &message.dest);
        let seq = self.seq;
        self.seq += 1;
        if self.error.is_some() {
            return;
        }
        if let JournalSink::File(path, out) = &mut self.sink {
            let written = write_journal_line(out, seq, time, kind, message);
            if let Err(e) = written {
                self.error = Some(format!("writing {}: {e}", path.display()));
            }
        }
    }

    fn finish(&mut self) -> JournalSummary {
        if self.error.is_none() {
            if let JournalSink::File(path, out) = &mut self.sink {
                if let Err(e) = out.flush() {
                    self.error = Some(format!("writing {}: {e}", path.display()));
                }
            }
        }
        JournalSummary {
            tally: self.tally.clone(),
            events: self.seq,
            error: self.error.clone(),
        }
    }
}

/// Writes journal entry `seq` (one line of `messages.jsonl`): a send or delivery at `time`.
pub fn write_journal_line(
    out: &mut impl Write,
    seq: u64,
    time: Duration,
    kind: EventKind,
    message: &NetMessage,
) -> std::io::Result<()> {
    let kind = match kind {
        EventKind::Send => "send",
        EventKind::Recv => "recv",
    };
    writeln!(
        out,
        "{{\"id\":{seq},\"time\":{},\"type\":\"{kind}\",\"message\":{}}}",
        time.as_nanos(),
        message.to_line()
    )
}

/// What the journal amounted to, once the run is over.
#[derive(Debug, Clone, Default)]
pub struct JournalSummary {
    /// The statistics of every event, written or not.
    pub tally: NetTally,
    /// Entries in the journal.
    pub events: u64,
    /// Why the file is incomplete, if it is.
    pub error: Option<String>,
}

/// The network shared by every endpoint's threads.
pub struct Network {
    state: Mutex<State>,
    journal: std::sync::mpsc::SyncSender<JournalEntry>,
    /// Signalled when a sender waiting for room may have it.
    room: Condvar,
    shut_down: AtomicBool,
    clock: Arc<dyn Clock>,
    health: Arc<Health>,
}

impl Network {
    /// An empty network with the given latency, drawing from `rng`, journaling to `sink`
    /// and measuring its delivery lateness into `health`. Fails only if the journal's
    /// thread cannot be started.
    pub fn new(
        latency: Latency,
        rng: Pcg64Mcg,
        clock: Arc<dyn Clock>,
        sink: JournalSink,
        health: Arc<Health>,
    ) -> std::io::Result<Self> {
        let (journal, entries) = std::sync::mpsc::sync_channel(JOURNAL_BACKLOG);
        let writer = Journal {
            sink,
            seq: 0,
            tally: NetTally::default(),
            error: None,
        };
        std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run(entries))?;
        Ok(Network {
            state: Mutex::new(State {
                model: NetworkModel::new(latency, rng),
                ready: HashMap::new(),
                throttled: Duration::ZERO,
                waiting: 0,
            }),
            room: Condvar::new(),
            journal,
            shut_down: AtomicBool::new(false),
            clock,
            health,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn journal(&self, time: Duration, kind: EventKind, message: &Arc<NetMessage>) {
        // The journal thread lives as long as the network; a failed send means it is gone.
        let _ = self
            .journal
            .send(JournalEntry::Event(time, kind, message.clone()));
    }

    /// The network's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Adds an endpoint with an empty queue.
    pub fn register(&self, id: &str) {
        let mut state = self.lock();
        state.model.register(id);
        state.ready.entry(id.to_owned()).or_default();
    }

    /// Removes an endpoint; what is still queued for it vanishes, and its consumer is woken
    /// to find the endpoint closed.
    pub fn deregister(&self, id: &str) {
        let mut state = self.lock();
        state.model.deregister(id);
        if let Some(ready) = state.ready.remove(id) {
            ready.notify_all();
            self.room.notify_all();
        }
    }

    /// True if `id` is registered.
    pub fn is_registered(&self, id: &str) -> bool {
        self.lock().model.is_registered(id)
    }

    /// Sends a message: numbers it, draws its latency, journals it and queues it.
    pub fn send(&self, src: &str, dest: &str, body: String) -> Result<u64, NetError> {
        let mut state = self.lock();
        self.send_locked(&mut state, src, dest, body)
    }

    /// Sends a message a node printed, first waiting (under the same lock) while `src`
    /// has [`MAX_BACKLOG`] queued, unless it goes to a client: a node's next message to
    /// another node enters the network only when there is room for it. Returns the message
    /// id and how long it waited for room.
    pub fn send_when_room(
        &self,
        src: &str,
        dest: &str,
        body: String,
    ) -> Result<(u64, Duration), NetError> {
        let mut state = self.lock();
        let mut waited = Duration::ZERO;
        if !is_client(dest) && state.model.backlog(src) >= MAX_BACKLOG {
            let started = self.clock.now();
            state.waiting += 1;
            while state.model.backlog(src) >= MAX_BACKLOG
                && !self.shut_down.load(AtomicOrdering::SeqCst)
            {
                state = self
                    .room
                    .wait_timeout(state, Duration::from_millis(100))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            state.waiting -= 1;
            waited = self.clock.now().saturating_sub(started);
            state.throttled += waited;
        }
        let id = self.send_locked(&mut state, src, dest, body)?;
        Ok((id, waited))
    }

    fn send_locked(
        &self,
        state: &mut MutexGuard<'_, State>,
        src: &str,
        dest: &str,
        body: String,
    ) -> Result<u64, NetError> {
        if self.shut_down.load(AtomicOrdering::SeqCst) {
            return Err(NetError::ShutDown);
        }
        let now = self.clock.now();
        let (message, _) = state.model.send(src, dest, body, now)?;
        // Journaled while the routing lock is held, so a send is always journaled before
        // its delivery can be.
        self.journal(now, EventKind::Send, &message);
        if let Some(ready) = state.ready.get(dest) {
            ready.notify_one();
        }
        Ok(message.id)
    }

    /// The most messages the queues ever held, and how long nodes' output waited for room.
    pub fn pressure(&self) -> (usize, Duration) {
        let state = self.lock();
        (state.model.peak_queued(), state.throttled)
    }

    /// Takes the head of `id`'s queue, waiting until `until` (or forever) for one to arrive.
    /// The partition check happens here, as upstream does it.
    pub fn take(&self, id: &str, until: Option<Duration>) -> Take {
        let mut state = self.lock();
        loop {
            if self.shut_down.load(AtomicOrdering::SeqCst) {
                return Take::Closed;
            }
            let Some(ready) = state.ready.get(id).cloned() else {
                return Take::Closed;
            };
            let taken = state.model.take(id);
            if state.waiting > 0 && !matches!(taken, Taken::Empty) {
                self.room.notify_all();
            }
            match taken {
                Taken::Message(deadline, message) => return Take::Message(deadline, message),
                Taken::Dropped(_) => return Take::Dropped,
                Taken::Empty => {}
            }
            match until {
                None => state = ready.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(until) => {
                    let now = self.clock.now();
                    if now >= until {
                        return Take::Empty;
                    }
                    state = ready
                        .wait_timeout(state, until - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }

    /// Waits out a taken message's latency, then journals its delivery. Returns false if the
    /// network shut down meanwhile.
    ///
    /// Lateness is measured against the moment the model says the message is due: its
    /// deadline, or the moment its consumer was free to take it (`free`) if that is later.
    /// Head-of-line blocking is the model's delay; a consumer woken late, or one that took
    /// its message and then waited to be scheduled, is the workbench's.
    pub fn await_delivery(
        &self,
        deadline: Duration,
        free: Duration,
        message: &Arc<NetMessage>,
    ) -> bool {
        let due = due(deadline, free);
        self.clock.sleep_until(deadline);
        let now = self.clock.now();
        if self.shut_down.load(AtomicOrdering::SeqCst) {
            return false;
        }
        self.health
            .record(Measure::Delivery, now.saturating_sub(due));
        self.journal(now, EventKind::Recv, message);
        true
    }

    /// Applies a grudge: each node drops messages from the nodes it names.
    pub fn partition(&self, grudge: &BTreeMap<String, BTreeSet<String>>) {
        self.lock().model.partition(grudge);
    }

    /// Heals every partition.
    pub fn heal(&self) {
        self.lock().model.heal();
    }

    /// Wakes every consumer and makes every later take return `Closed`.
    pub fn shut_down(&self) {
        self.shut_down.store(true, AtomicOrdering::SeqCst);
        let state = self.lock();
        for ready in state.ready.values() {
            ready.notify_all();
        }
        self.room.notify_all();
    }

    /// Flushes the journal file and returns what it amounted to. The journal ends here:
    /// later events are neither written nor counted.
    pub fn finish_journal(&self) -> JournalSummary {
        let (reply, summary) = std::sync::mpsc::channel();
        let asked = self.journal.send(JournalEntry::Finish(reply)).is_ok();
        match summary.recv() {
            Ok(summary) if asked => summary,
            _ => JournalSummary {
                error: Some("the journal thread is gone".into()),
                ..JournalSummary::default()
            },
        }
    }

    /// Number of messages sent so far.
    pub fn sent_count(&self) -> u64 {
        self.lock().model.sent_count()
    }

    /// The run's health measures, delivery lateness among them.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::RealClock;
    use rand::SeedableRng;

    fn net(mean: u64, dist: LatencyDist) -> Network {
        Network::new(
            Latency { mean, dist },
            Pcg64Mcg::seed_from_u64(1),
            Arc::new(RealClock::new()),
            JournalSink::Discard,
            Arc::default(),
        )
        .unwrap()
    }

    #[test]
    fn queues_deliver_by_deadline_and_clients_have_no_latency() {
        let net = net(30, LatencyDist::Constant);
        for id in ["n0", "n1", "c0"] {
            net.register(id);
        }
        net.send("n0", "n1", "{\"a\":1}".into()).unwrap();
        net.send("c0", "n1", "{\"a\":2}".into()).unwrap();
        let Take::Message(d1, m1) = net.take("n1", None) else {
            panic!()
        };
        let Take::Message(d2, m2) = net.take("n1", None) else {
            panic!()
        };
        assert_eq!(
            (m1.body.as_str(), m2.body.as_str()),
            ("{\"a\":2}", "{\"a\":1}")
        );
        assert!(d2 >= d1 + Duration::from_millis(29));
        assert!(matches!(
            net.take("n1", Some(net.clock().now())),
            Take::Empty
        ));
        assert_eq!(
            m2.to_line(),
            r#"{"id":0,"src":"n0","dest":"n1","body":{"a":1}}"#
        );
    }

    #[test]
    fn partitions_drop_at_take_time_one_direction_only() {
        let net = net(0, LatencyDist::Constant);
        for id in ["n0", "n1"] {
            net.register(id);
        }
        net.send("n0", "n1", "{}".into()).unwrap();
        net.send("n1", "n0", "{}".into()).unwrap();
        net.partition(&BTreeMap::from([(
            "n1".to_string(),
            BTreeSet::from(["n0".to_string()]),
        )]));
        assert!(matches!(net.take("n1", None), Take::Dropped));
        assert!(matches!(net.take("n0", None), Take::Message(..)));
        net.send("n0", "n1", "{}".into()).unwrap();
        net.heal();
        assert!(
            matches!(net.take("n1", None), Take::Message(..)),
            "sent during, taken after the heal"
        );
    }

    #[test]
    fn unknown_endpoints_are_refused_and_journal_counts_sends() {
        let net = net(0, LatencyDist::Constant);
        net.register("n0");
        let err = net.send("n0", "c7", "{}".into()).unwrap_err();
        assert_eq!(
            err,
            NetError::UnknownEndpoint {
                role: "dest",
                id: "c7".into()
            }
        );
        net.register("c7");
        net.send("n0", "c7", "{}".into()).unwrap();
        net.deregister("c7");
        assert!(matches!(net.take("c7", None), Take::Closed));
        assert_eq!(net.finish_journal().events, 1);
        net.register("c8");
        net.send("n0", "c8", "{}".into()).unwrap();
        assert_eq!(
            net.finish_journal().events,
            1,
            "the journal ended at the first finish"
        );
        net.shut_down();
        assert_eq!(net.send("n0", "c8", "{}".into()), Err(NetError::ShutDown));
    }

    #[test]
    fn a_sender_over_its_backlog_waits_until_its_messages_are_taken() {
        let net = Arc::new(net(0, LatencyDist::Constant));
        for id in ["n0", "n1", "n2"] {
            net.register(id);
        }
        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_BACKLOG / 4));
        for _ in 0..4 {
            net.send("n0", "n1", big.clone()).unwrap();
        }
        // Someone else's backlog is not n2's problem, and replies to clients never wait.
        assert_eq!(
            net.send_when_room("n2", "n1", "{}".into()).unwrap().1,
            Duration::ZERO
        );
        net.register("c0");
        assert_eq!(
            net.send_when_room("n0", "c0", "{}".into()).unwrap().1,
            Duration::ZERO
        );
        let waiter = {
            let net = net.clone();
            std::thread::spawn(move || net.send_when_room("n0", "n2", "{}".into()))
        };
        std::thread::sleep(Duration::from_millis(300));
        assert!(!waiter.is_finished(), "n0 is over its backlog: it waits");
        assert!(matches!(net.take("n1", None), Take::Message(..)));
        let (_, waited) = waiter.join().unwrap().unwrap();
        assert!(
            waited >= Duration::from_millis(250),
            "it resumed once a message was taken"
        );
        assert_eq!(net.pressure().1, waited);
        assert!(
            matches!(net.take("n2", None), Take::Message(..)),
            "and then it was sent"
        );
    }

    #[test]
    fn the_journal_streams_to_its_file_and_a_failed_write_names_it() {
        let dir = std::env::temp_dir().join(format!("glomers-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("messages.jsonl");
        let net = Network::new(
            Latency {
                mean: 0,
                dist: LatencyDist::Constant,
            },
            Pcg64Mcg::seed_from_u64(1),
            Arc::new(RealClock::new()),
            JournalSink::file(&path).unwrap(),
            Arc::default(),
        )
        .unwrap();
        net.register("n0");
        net.register("n1");
        net.send("n0", "n1", "{\"a\":1}".into()).unwrap();
        let Take::Message(at, m) = net.take("n1", None) else {
            panic!()
        };
        assert!(net.await_delivery(at, at, &m));
        let summary = net.finish_journal();
        assert_eq!((summary.events, summary.error), (2, None));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(r#"{"id":0,"time":"#));
        assert!(lines[1].ends_with(
            r#""type":"recv","message":{"id":0,"src":"n0","dest":"n1","body":{"a":1}}}"#
        ));
        let _ = std::fs::remove_dir_all(&dir);

        // /dev/full accepts the open and refuses every write, as a full disk does.
        let full = Network::new(
            Latency {
                mean: 0,
                dist: LatencyDist::Constant,
            },
            Pcg64Mcg::seed_from_u64(1),
            Arc::new(RealClock::new()),
            JournalSink::file(Path::new("/dev/full")).unwrap(),
            Arc::default(),
        )
        .unwrap();
        full.register("n0");
        for _ in 0..10 {
            full.send("n0", "n0", "{}".into()).unwrap();
        }
        let summary = full.finish_journal();
        assert_eq!(summary.events, 10);
        assert_eq!(
            summary.tally.sent(),
            10,
            "the statistics survive a full disk"
        );
        assert!(summary.error.is_some_and(|e| e.contains("/dev/full")));
    }
}
