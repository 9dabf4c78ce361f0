//! The scoreboard: one line per row with its verdict and key figures, and what each target
//! read.

use super::evaluation::{RowResult, RunVerdict};
use serde_json::Value;

/// The scoreboard: one line per row with its verdict and key figures.
pub fn scoreboard(rows: &[RowResult]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<13} {:<36} {:<8} {:>7} {:>7} {:>8} {:>8} {:>8}  {}\n",
        "id",
        "challenge",
        "verdict",
        "ok ops",
        "avail",
        "msgs/op",
        "stbl p50",
        "stbl max",
        "run (last seed)"
    ));
    for row in rows {
        let passed = row.runs.iter().filter(|r| row.run_passed(r)).count();
        let verdict = match (row.passed(), row.failed(), row.runs.len()) {
            (true, _, 1) => "PASS".to_owned(),
            (false, true, 1) => "FAIL".to_owned(),
            (false, false, 1) => "SPOILED".to_owned(),
            (_, _, n) => format!("{passed}/{n}"),
        };
        let Some(last) = row.runs.last() else {
            continue;
        };
        let figures = last.outcome.as_ref().ok();
        let get = |f: &dyn Fn(&Value) -> Option<f64>, digits: usize| {
            figures
                .and_then(f)
                .map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
        };
        out.push_str(&format!(
            "{:<13} {:<36} {:<8} {:>7} {:>7} {:>8} {:>8} {:>8}  {}\n",
            row.challenge.id,
            row.challenge.title,
            verdict,
            get(&|r| r["stats"]["ok-count"].as_f64(), 0),
            get(&|r| r["availability"]["ok-fraction"].as_f64(), 4),
            get(&|r| r["net"]["all"]["msgs-per-op"].as_f64(), 2),
            get(&|r| r["workload"]["stable-latencies"]["0.5"].as_f64(), 0),
            get(&|r| r["workload"]["stable-latencies"]["1"].as_f64(), 0),
            last.dir.display()
        ));
        if let (Some(results), false) = (figures, row.challenge.targets.is_empty()) {
            let targets: Vec<String> = row
                .challenge
                .targets
                .iter()
                .map(|t| {
                    format!(
                        "{} {}",
                        t.describe(results),
                        if t.met(results) { "ok" } else { "MISSED" }
                    )
                })
                .collect();
            out.push_str(&format!("{:<13} targets: {}\n", "", targets.join(", ")));
        }
        for run in &row.runs {
            match row.verdict(run) {
                RunVerdict::Pass => {}
                RunVerdict::Fail(why) => out.push_str(&format!(
                    "{:<13} seed {} failed: {why}\n",
                    "", run.options.seed
                )),
                RunVerdict::Spoiled(why) => out.push_str(&format!(
                    "{:<13} seed {} spoiled by load: rerun (the workbench fell behind; \
                     not a verdict on the solution): {why}\n",
                    "", run.options.seed
                )),
            }
        }
    }
    out
}
