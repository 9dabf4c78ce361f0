//! What the terminal shows while a run is going: a header, then a live progress line on a
//! TTY or a plain line every few seconds otherwise. Everything goes to stderr, so stdout
//! holds only the summary.

use crate::clock::Clock;
use crate::net::Network;
use crate::options::TestOptions;
use crate::recorder::Recorder;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
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

    /// Starts the progress thread; stop it with [`Reporter::stop`].
    pub fn spawn_reporter(
        self,
        recorder: Arc<Recorder>,
        net: Arc<Network>,
        clock: Arc<dyn Clock>,
        time_limit: u64,
    ) -> Reporter {
        let stop = Arc::new(AtomicBool::new(false));
        if self == Progress::Quiet {
            return Reporter { stop, thread: None };
        }
        let (flag, live) = (stop.clone(), self == Progress::Live);
        let start = clock.now();
        // Progress is a courtesy: a machine that cannot start its thread runs without it.
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                let period = if live {
                    Duration::from_millis(250)
                } else {
                    Duration::from_secs(5)
                };
                let mut next = start + period;
                while !flag.load(Ordering::SeqCst) {
                    if clock.now() < next {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    next += period;
                    let tally = recorder.tally();
                    let elapsed = (clock.now() - start).as_secs_f64();
                    let line = format!(
                        "[{elapsed:6.1}s / {time_limit}s] ops ok {} fail {} info {} | messages {}",
                        tally.ok,
                        tally.fail,
                        tally.info,
                        net.sent_count()
                    );
                    if live {
                        eprint!("\r{line}\x1b[K");
                        let _ = std::io::stderr().flush();
                    } else {
                        eprintln!("{line}");
                    }
                }
                if live {
                    eprint!("\r\x1b[K");
                }
            });
        Reporter {
            stop,
            thread: thread.ok(),
        }
    }
}

/// The running progress thread.
pub struct Reporter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reporter {
    /// Stops the progress line.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
