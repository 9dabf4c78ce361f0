//! The pages a run writes, opened in a real browser (headless Chromium): they render, and
//! what they draw is the run's. Ignored in the default test run (it needs Chromium, which
//! `.ci/run` installs from Debian's packages) and run by `.ci/run` with `--ignored`.
//! Screenshots go to `target/browser-artifacts/`, kept by the test run, not committed.

#![allow(clippy::unwrap_used)]

use glomers::sim::Simulation;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|bin| Command::new(bin).arg("--version").output().is_ok())
        .expect("a headless Chromium (`apt-get install chromium`)")
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The page's DOM once its scripts ran, and a screenshot of it.
fn open(page: &Path, screenshot: &str) -> String {
    let url = format!("file://{}", page.display());
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        // This machine's network is closed: no background fetches to wait for.
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ];
    let dom = Command::new(chromium())
        .args(flags)
        .args(["--virtual-time-budget=5000", "--dump-dom", &url])
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let shot = artifacts().join(screenshot);
    let taken = Command::new(chromium())
        .args(flags)
        .args(["--window-size=1400,700"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(taken.status.success() && shot.is_file());
    String::from_utf8(dom.stdout).unwrap()
}

fn store_root(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("glomers-browser-{name}-{}", std::process::id()))
}

fn simulate(command: &str, nodes: glomers::sim::NodeFactory) -> glomers::sim::SimReport {
    Simulation::with_factory(command, nodes)
        .unwrap()
        .seed(1)
        .run()
}

#[test]
#[ignore = "needs headless Chromium; .ci/run runs it"]
fn the_pages_of_a_run_draw_every_message_and_operation_and_the_verdict() {
    let report = simulate(
        "-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition",
        broadcast_once,
    );
    let store = store_root("pages");
    let dir = report.store(&store).unwrap();
    let completed = report
        .history
        .iter()
        .filter(|op| op.process.is_client() && op.kind != glomers::history::OpType::Invoke)
        .count();
    let sent = report
        .journal
        .iter()
        .filter(|(_, kind, _)| *kind == glomers::model::network::EventKind::Send)
        .count();
    let timeline = open(&dir.join("timeline.html"), "timeline.png");
    assert!(
        timeline.contains(&format!(r#"data-drawn="{completed}""#)),
        "the timeline drew a bar for each of the {completed} completed operations"
    );
    let diagram = open(&dir.join("messages.html"), "messages.png");
    assert!(
        diagram.contains(&format!(r#"data-drawn="{sent}""#)),
        "the diagram drew an arrow for each of the {sent} messages"
    );
    assert!(
        diagram.contains("data-ready-ms="),
        "its script ran to the end"
    );
    let index = open(&dir.join("index.html"), "report-broadcast.png");
    assert!(index.contains(r#"<span id="verdict" class="invalid">INVALID</span>"#));
    assert!(
        index.contains(r#"<svg class="lost""#),
        "the lost values are drawn"
    );
    assert!(index.contains("--seed 1</pre>"), "the replay line");
    let _ = std::fs::remove_dir_all(&store);
}

#[test]
#[ignore = "needs headless Chromium; .ci/run runs it"]
fn reports_draw_a_linearizability_failure_and_an_aborted_read() {
    let store = store_root("failures");
    let lww = simulate(
        "-w lin-kv --node-count 2 --concurrency 2n --time-limit 4 --rate 100 --latency 5",
        glomers::sim::engine::<glomers::misbehave::Misbehave<LwwKvProxy>>,
    );
    let dir = lww.store(&store).unwrap();
    let index = open(&dir.join("index.html"), "report-lin-kv.png");
    assert!(index.contains("INVALID</span>"));
    assert!(
        index.contains(r#"<svg class="linear""#),
        "the key's operations are drawn"
    );
    assert!(
        index.contains(r##"stroke="#d22" stroke-width="2""##),
        "the unplaceable one in red"
    );
    let dirty = simulate(
        "-w txn-rw-register --node-count 2 --concurrency 2n --time-limit 4 --rate 300 \
         --latency 5 --consistency-models read-committed",
        glomers::sim::engine::<glomers::misbehave::Misbehave<TxnDirty>>,
    );
    let dir = dirty.store(&store).unwrap();
    let index = open(&dir.join("index.html"), "report-txn.png");
    assert!(index.contains("G1a ("), "{index}");
    assert!(
        index.contains(r#"<svg class="aborted""#),
        "writer and reader are drawn"
    );
    let _ = std::fs::remove_dir_all(&store);
}

macro_rules! modes {
    ($($name:ident = $mode:literal),* $(,)?) => {$(
        struct $name;
        impl glomers::misbehave::Mode for $name {
            fn name() -> String {
                $mode.into()
            }
        }
    )*};
}

modes! {
    BroadcastOnce = "broadcast-once",
    LwwKvProxy = "lww-kv-proxy",
    TxnDirty = "txn-dirty",
}

/// A broadcast that never retries: under partitions it loses values.
fn broadcast_once(seed: u64) -> Box<dyn glomers::model::node::SimNode> {
    glomers::sim::engine::<glomers::misbehave::Misbehave<BroadcastOnce>>(seed)
}
