//! What the terminal shows while a run is going: a header, then a live progress line on a
//! TTY or a plain line every few seconds otherwise. Everything goes to stderr, so stdout
//! holds only the summary.

use crate::history::Tally;
use crate::options::TestOptions;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A line rewritten in place (stderr is a terminal).
    Live,
    /// A line every five seconds (logs, CI).
    Plain,
    /// Nothing (tests).
    Quiet,
}

impl Progress {
    /// Live on a terminal, plain otherwise.
    pub fn detect() -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::Live
        } else {
            Progress::Plain
        }
    }

    /// Prints the run's header: what runs, with which seed, where it is stored.
    pub fn start(self, options: &TestOptions, dir: &Path) {
        if self == Progress::Quiet {
            return;
        }
        eprintln!(
            "glomers: {} on {} node(s), {} s, rate {}, concurrency {}{}; seed {}\n  bin {}\n  run {}",
            options.workload,
            options.nodes.len(),
            options.time_limit,
            options.rate,
            options.concurrency,
            if options.partitions() { ", partitions" } else { "" },
            options.seed,
            options.bin.display(),
            dir.display()
        );
    }

    /// The progress line's schedule for a run of `time_limit` seconds starting at `start`.
    pub fn ticker(self, start: Duration, time_limit: u64) -> Ticker {
        let period = if self == Progress::Live {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(5)
        };
        Ticker {
            progress: self,
            start,
            period,
            next: start + period,
            time_limit,
        }
    }
}

/// Prints the progress line when it is due; the run's core calls it as it goes.
pub struct Ticker {
    progress: Progress,
    start: Duration,
    period: Duration,
    next: Duration,
    time_limit: u64,
}

impl Ticker {
    /// When the next line is due (`None` when quiet).
    pub fn next_due(&self) -> Option<Duration> {
        (self.progress != Progress::Quiet).then_some(self.next)
    }

    /// Prints the line if it is due at `now`.
    pub fn tick(&mut self, now: Duration, tally: Tally, messages: u64) {
        if self.progress == Progress::Quiet || now < self.next {
            return;
        }
        while self.next <= now {
            self.next += self.period;
        }
        let elapsed = now.saturating_sub(self.start).as_secs_f64();
        let line = format!(
            "[{elapsed:6.1}s / {}s] ops ok {} fail {} info {} | messages {messages}",
            self.time_limit, tally.ok, tally.fail, tally.info,
        );
        if self.progress == Progress::Live {
            eprint!("\r{line}\x1b[K");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{line}");
        }
    }

    /// Clears a live line.
    pub fn stop(&self) {
        if self.progress == Progress::Live {
            eprint!("\r\x1b[K");
        }
    }
}
