//! The store: one directory per run, `store/<workload>/<timestamp>/`, with `latest` links
//! (jepsen-io/jepsen, `jepsen/src/jepsen/store.clj`, `path` and `update-symlinks!`).

use crate::checker::{NetEvent, NetTally};
use crate::history::Op;
use crate::options::TestOptions;
use serde_json::Value;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// File names inside a run directory.
pub mod files {
    /// The options of the run, for `analyze`.
    pub const TEST: &str = "test.json";
    /// The checkers' results.
    pub const RESULTS: &str = "results.json";
    /// One operation per line.
    pub const HISTORY: &str = "history.jsonl";
    /// The history as upstream's `history.txt` prints it.
    pub const HISTORY_TEXT: &str = "history.txt";
    /// The network journal.
    pub const MESSAGES: &str = "messages.jsonl";
    /// Per-node stderr logs.
    pub const NODE_LOGS: &str = "node-logs";
    /// Why a crashed run crashed.
    pub const ERROR: &str = "error.txt";
    /// Every operation's latency against time.
    pub const LATENCY_RAW: &str = "latency-raw.svg";
    /// Latency quantiles per time window.
    pub const LATENCY_QUANTILES: &str = "latency-quantiles.svg";
    /// Operations per second.
    pub const RATE: &str = "rate.svg";
    /// Each client operation over time, one lane per thread (a page to open in a browser).
    pub const TIMELINE: &str = "timeline.html";
    /// The messages as a diagram (a page).
    pub const MESSAGES_DIAGRAM: &str = "messages.html";
    /// The report of the run (a page): verdict, failures drawn, links to the rest.
    pub const REPORT: &str = "index.html";
}

/// Writes `history.jsonl` (one op per line) and `history.txt`.
pub fn write_history(dir: &Path, history: &[Op]) -> io::Result<()> {
    let mut jsonl = io::BufWriter::new(std::fs::File::create(dir.join(files::HISTORY))?);
    let mut txt = io::BufWriter::new(std::fs::File::create(dir.join(files::HISTORY_TEXT))?);
    for op in history {
        serde_json::to_writer(&mut jsonl, op)?;
        jsonl.write_all(b"\n")?;
        writeln!(txt, "{}", op.text_line())?;
    }
    jsonl.flush()?;
    txt.flush()
}

/// Creates `store/<workload>/<timestamp>/` and its `node-logs/`, and points `store/current`
/// at it.
pub fn create_run_dir(store: &Path, workload: &str) -> io::Result<PathBuf> {
    let parent = store.join(workload);
    std::fs::create_dir_all(&parent)?;
    let stamp = timestamp(SystemTime::now());
    let mut dir = parent.join(&stamp);
    let mut n = 1;
    while dir.exists() {
        dir = parent.join(format!("{stamp}-{n}"));
        n += 1;
    }
    std::fs::create_dir_all(dir.join(files::NODE_LOGS))?;
    link(&store.join("current"), &dir)?;
    Ok(dir)
}

/// Points `store/latest` and `store/<workload>/latest` at a finished run.
pub fn mark_latest(store: &Path, workload: &str, dir: &Path) -> io::Result<()> {
    link(&store.join("latest"), dir)?;
    link(&store.join(workload).join("latest"), dir)
}

fn link(at: &Path, target: &Path) -> io::Result<()> {
    let target = std::fs::canonicalize(target)?;
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(target, at)
}

/// A sortable UTC timestamp with milliseconds: `20240131T142301.123+0000`.
pub fn timestamp(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:03}+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Tallies a stored journal for the statistics, one line at a time: a journal of any size is
/// read in constant memory (bodies are skipped).
pub fn tally_journal(dir: &Path) -> io::Result<NetTally> {
    let path = dir.join(files::MESSAGES);
    let mut reader = io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path)?);
    let mut tally = NetTally::default();
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(tally);
        }
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        let event: NetEvent = serde_json::from_str(&line).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}:{n}: {e}", path.display()),
            )
        })?;
        tally.add_event(&event);
    }
}

/// Writes a JSON file, pretty-printed.
pub fn write_json(path: &Path, value: &Value) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::fs::write(path, text)
}

/// What the pages of a run are drawn from.
pub struct RunRecord<'a> {
    /// The run's options.
    pub options: &'a TestOptions,
    /// Its history.
    pub history: &'a [Op],
    /// Its results, or why it crashed.
    pub outcome: Result<&'a Value, String>,
    /// The command that runs it again.
    pub reproduce: String,
}

/// Draws the pages of the run in `dir` from its record and its journal: `timeline.html`,
/// `messages.html`, the SVG plots (each only when it has something to show), and last the
/// report `index.html`, which links whatever the directory holds.
pub fn write_pages(dir: &Path, run: &RunRecord) -> io::Result<()> {
    use crate::pages::{messages::Diagram, report, timeline};
    use crate::plot;
    let workload = run.options.workload.as_str();
    let history = run.history;
    // A run reached through `latest` is named by its own directory.
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let title = match real.file_name() {
        Some(name) => format!("{workload} {}", name.to_string_lossy()),
        None => workload.to_owned(),
    };
    std::fs::write(
        dir.join(files::TIMELINE),
        timeline::timeline_html(history, run.options.concurrency, &title),
    )?;
    let journal = dir.join(files::MESSAGES);
    if journal.is_file() {
        let mut diagram = Diagram::new(&run.options.nodes);
        diagram.read_journal(&journal)?;
        std::fs::write(
            dir.join(files::MESSAGES_DIAGRAM),
            diagram.html(history, &title),
        )?;
    }
    let charts = [
        (files::LATENCY_RAW, plot::latency_raw_svg(history, workload)),
        (
            files::LATENCY_QUANTILES,
            plot::latency_quantiles_svg(history, workload),
        ),
        (files::RATE, plot::rate_svg(history, workload)),
    ];
    for (name, chart) in charts {
        if let Some(svg) = chart {
            std::fs::write(dir.join(name), svg)?;
        }
    }
    let mut links = Vec::new();
    for (what, name) in [
        ("the messages, as a diagram", files::MESSAGES_DIAGRAM),
        ("each client operation over time", files::TIMELINE),
        ("every operation's latency", files::LATENCY_RAW),
        ("latency quantiles over time", files::LATENCY_QUANTILES),
        ("operations per second", files::RATE),
        ("the checkers' results", files::RESULTS),
        ("why the run crashed", files::ERROR),
        ("the history, one operation per line", files::HISTORY),
        ("the history as text", files::HISTORY_TEXT),
        ("the network journal", files::MESSAGES),
        ("the run's options", files::TEST),
    ] {
        if dir.join(name).is_file() {
            links.push((what.to_owned(), name.to_owned()));
        }
    }
    let mut logs: Vec<String> = std::fs::read_dir(dir.join(files::NODE_LOGS))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    logs.sort_by_key(|name| (name.len(), name.clone()));
    for log in logs {
        links.push((
            "a node's stderr".to_owned(),
            format!("{}/{log}", files::NODE_LOGS),
        ));
    }
    let page = report::RunPage {
        title,
        options: run.options,
        history,
        outcome: run.outcome.as_ref().map(|r| *r).map_err(String::as_str),
        reproduce: run.reproduce.clone(),
        links,
    };
    std::fs::write(dir.join(files::REPORT), report::report_html(&page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_sortable_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_706_711_181_123);
        assert_eq!(timestamp(t), "20240131T142621.123+0000");
        assert_eq!(timestamp(UNIX_EPOCH), "19700101T000000.000+0000");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
