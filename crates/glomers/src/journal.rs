//! The network journal of a process run: every send and every delivery, written to
//! `messages.jsonl` as it happens (upstream also writes its journal to disk during the run)
//! and counted for the statistics, so that no amount of traffic makes the workbench hold the
//! journal in memory. Formatting and the disk are on a thread of their own, so that the
//! run's core never waits for them unless the disk falls far behind.

use crate::checker::NetTally;
use crate::model::network::{EventKind, NetMessage};
use crate::model::run::JournalEvent;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Where the journal goes.
pub enum JournalSink {
    /// Nowhere: only the statistics are kept.
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

/// How many events may wait for the journal thread. Past this the run's core waits for it
/// (the disk sets the pace instead of memory growing): about 64 Ki messages, a few
/// megabytes, far more than a healthy run ever has waiting.
const JOURNAL_BACKLOG: usize = 1 << 16;

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

/// The journal's thread, fed in the order events happened.
pub struct JournalWriter {
    events: Option<mpsc::SyncSender<JournalEvent>>,
    thread: Option<JoinHandle<JournalSummary>>,
}

impl JournalWriter {
    /// Starts the thread that writes to `sink`. Fails only if it cannot be started.
    pub fn start(sink: JournalSink) -> std::io::Result<Self> {
        let (events, rx) = mpsc::sync_channel(JOURNAL_BACKLOG);
        let journal = Journal {
            sink,
            seq: 0,
            tally: NetTally::default(),
            error: None,
        };
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || journal.run(rx))?;
        Ok(JournalWriter {
            events: Some(events),
            thread: Some(thread),
        })
    }

    /// Journals one event.
    pub fn write(&self, event: JournalEvent) {
        if let Some(events) = &self.events {
            // The thread lives until `finish`; a failed send means it is gone, and
            // `finish` says so.
            let _ = events.send(event);
        }
    }

    /// Flushes the file and reports what the journal amounts to.
    pub fn finish(mut self) -> JournalSummary {
        self.events = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(summary)) => summary,
            _ => JournalSummary {
                error: Some("the journal thread stopped early".into()),
                ..JournalSummary::default()
            },
        }
    }
}

struct Journal {
    sink: JournalSink,
    /// Entries written so far: each entry's `id`.
    seq: u64,
    tally: NetTally,
    /// The first write that failed, naming the file; nothing more is written after it, but
    /// the statistics go on.
    error: Option<String>,
}

impl Journal {
    fn run(mut self, events: mpsc::Receiver<JournalEvent>) -> JournalSummary {
        for (time, kind, message) in events {
            self.log(time, kind, &message);
        }
        self.finish()
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
            if let Err(e) = write_journal_line(out, seq, time, kind, message) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn message(id: u64, src: &str, dest: &str, body: &str) -> Arc<NetMessage> {
        Arc::new(NetMessage {
            id,
            src: src.into(),
            dest: dest.into(),
            body: body.into(),
        })
    }

    #[test]
    fn the_journal_streams_to_its_file_and_a_failed_write_names_it() {
        let dir = std::env::temp_dir().join(format!("glomers-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("messages.jsonl");
        let journal = JournalWriter::start(JournalSink::file(&path).unwrap()).unwrap();
        let m = message(0, "n0", "n1", "{\"a\":1}");
        journal.write((Duration::from_millis(1), EventKind::Send, m.clone()));
        journal.write((Duration::from_millis(2), EventKind::Recv, m));
        let summary = journal.finish();
        assert_eq!((summary.events, summary.error), (2, None));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(r#"{"id":0,"time":1000000,"type":"send""#));
        assert!(lines[1].ends_with(
            r#""type":"recv","message":{"id":0,"src":"n0","dest":"n1","body":{"a":1}}}"#
        ));
        let _ = std::fs::remove_dir_all(&dir);

        // /dev/full accepts the open and refuses every write, as a full disk does.
        let full =
            JournalWriter::start(JournalSink::file(Path::new("/dev/full")).unwrap()).unwrap();
        for id in 0..10 {
            full.write((
                Duration::ZERO,
                EventKind::Send,
                message(id, "n0", "n0", "{}"),
            ));
        }
        let summary = full.finish();
        assert_eq!(summary.events, 10);
        assert_eq!(
            summary.tally.sent(),
            10,
            "the statistics survive a full disk"
        );
        assert!(summary.error.is_some_and(|e| e.contains("/dev/full")));
    }
}
