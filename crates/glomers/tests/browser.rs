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

#[test]
#[ignore = "needs headless Chromium; .ci/run runs it"]
fn the_timeline_draws_every_operation_of_a_run() {
    let report = Simulation::with_factory(
        "-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition",
        broadcast_free_node,
    )
    .unwrap()
    .seed(1)
    .run();
    let store = std::env::temp_dir().join(format!("glomers-browser-{}", std::process::id()));
    let dir = report.store(&store).unwrap();
    let completed = report
        .history
        .iter()
        .filter(|op| op.process.is_client() && op.kind != glomers::history::OpType::Invoke)
        .count();
    let dom = open(&dir.join("timeline.html"), "timeline.png");
    assert!(
        dom.contains(&format!(r#"data-drawn="{completed}""#)),
        "the page drew a bar for each of the {completed} completed operations"
    );
    let _ = std::fs::remove_dir_all(&store);
}

/// A broadcast that never retries (`misbehave broadcast-once`): any node serves, a timeline
/// draws whatever the clients saw.
struct BroadcastOnce;

impl glomers::misbehave::Mode for BroadcastOnce {
    fn name() -> String {
        "broadcast-once".into()
    }
}

fn broadcast_free_node(seed: u64) -> Box<dyn glomers::model::node::SimNode> {
    glomers::sim::engine::<glomers::misbehave::Misbehave<BroadcastOnce>>(seed)
}
