//! Judging a row's runs: its targets (limits on figures of the results), whether the check
//! was complete, and the verdict on each run.

use super::table::Challenge;
use crate::checker::Validity;
use crate::run::RunReport;
use serde_json::Value;

/// An upper limit. Fly.io's pages say a figure must be "below" theirs, so their limits are
/// strict; ours allow the limit itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// The limit.
    pub value: f64,
    /// True for "below" (`<`), false for "at most" (`<=`).
    pub strict: bool,
}

impl Limit {
    /// A published limit: the figure must be below it.
    pub const fn below(value: f64) -> Limit {
        Limit {
            value,
            strict: true,
        }
    }

    /// One of our targets: the figure may reach it.
    pub const fn at_most(value: f64) -> Limit {
        Limit {
            value,
            strict: false,
        }
    }

    fn allows(self, x: f64) -> bool {
        if self.strict {
            x < self.value
        } else {
            x <= self.value
        }
    }

    fn sign(self) -> &'static str {
        if self.strict {
            "<"
        } else {
            "<="
        }
    }
}

/// A limit on one figure of a run's results.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// `net.all.msgs-per-op` within the limit.
    MsgsPerOp(Limit),
    /// Median stable latency (`workload.stable-latencies.0.5`), in ms, within the limit.
    MedianLatency(Limit),
    /// Maximum stable latency (`workload.stable-latencies.1`), in ms, within the limit.
    MaxLatency(Limit),
    /// `workload.lost-count` is 0.
    NothingLost,
    /// `availability.ok-fraction` at least this.
    Availability(f64),
    /// Our checker, run at read committed, finds nothing (no G0, G1a, G1b, G1c), whatever
    /// model the row's command checks.
    ReadCommitted,
}

impl Target {
    /// The figure this target reads, from a results map.
    pub fn figure(self, results: &Value) -> Option<f64> {
        match self {
            Target::MsgsPerOp(_) => results["net"]["all"]["msgs-per-op"].as_f64(),
            Target::MedianLatency(_) => results["workload"]["stable-latencies"]["0.5"].as_f64(),
            Target::MaxLatency(_) => results["workload"]["stable-latencies"]["1"].as_f64(),
            Target::NothingLost => results["workload"]["lost-count"].as_f64(),
            Target::Availability(_) => results["availability"]["ok-fraction"].as_f64(),
            Target::ReadCommitted => results["workload"]["read-committed-anomaly-types"]
                .as_array()
                .map(|types| types.len() as f64),
        }
    }

    /// True when the results meet the target.
    pub fn met(self, results: &Value) -> bool {
        let Some(x) = self.figure(results) else {
            return false;
        };
        match self {
            Target::MsgsPerOp(limit) | Target::MedianLatency(limit) | Target::MaxLatency(limit) => {
                limit.allows(x)
            }
            Target::NothingLost | Target::ReadCommitted => x == 0.0,
            Target::Availability(floor) => x >= floor,
        }
    }

    /// How the target reads in the scoreboard, e.g. `msgs-per-op 4.28 < 30`.
    pub fn describe(self, results: &Value) -> String {
        let digits = if matches!(self, Target::Availability(_)) {
            4
        } else {
            2
        };
        let figure = self
            .figure(results)
            .map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"));
        match self {
            Target::MsgsPerOp(l) => format!("msgs-per-op {figure} {} {}", l.sign(), l.value),
            Target::MedianLatency(l) => format!("median {figure} {} {} ms", l.sign(), l.value),
            Target::MaxLatency(l) => format!("max {figure} {} {} ms", l.sign(), l.value),
            Target::NothingLost => format!("lost {figure} = 0"),
            Target::Availability(floor) => format!("availability {figure} >= {floor}"),
            Target::ReadCommitted => format!("read-committed anomalies {figure} = 0"),
        }
    }
}

/// Where a results map says its check was not complete: a part verdict `unknown`, or a
/// cycle search that ran out of time (which Maelstrom's txn wrapper hides from `valid?`).
/// A row passes only on a complete check.
pub fn incomplete_checks(results: &Value) -> Vec<String> {
    fn walk(value: &Value, path: &str, found: &mut Vec<String>) {
        let Value::Object(map) = value else {
            return;
        };
        for (key, inner) in map {
            let here = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key == "valid?" && Validity::of(inner) == Validity::Unknown {
                found.push(format!("{here} is unknown"));
            } else if key.ends_with("cycle-search-timeout") {
                found.push(format!("{here}: a cycle search timed out"));
            } else if key != "glomers" {
                walk(inner, &here, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(results, "", &mut found);
    found
}

/// The outcome of one row on one or more seeds.
pub struct RowResult {
    /// The challenge.
    pub challenge: Challenge,
    /// One report per seed.
    pub runs: Vec<RunReport>,
}

/// How one run of a row ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunVerdict {
    /// Valid on a complete check, every target met.
    Pass,
    /// Not a pass, on a run the workbench kept to time: the solution's failure.
    Fail(String),
    /// Not a pass, on a run where the workbench itself fell behind: rerun it before blaming
    /// the solution. The reason says what else was wrong, so a late and invalid run shows
    /// both.
    Spoiled(String),
}

impl RowResult {
    /// True when every seed passed.
    pub fn passed(&self) -> bool {
        self.runs.iter().all(|r| self.run_passed(r))
    }

    /// A run passes when it is valid on a complete check and meets every target of its row.
    pub fn run_passed(&self, run: &RunReport) -> bool {
        self.verdict(run) == RunVerdict::Pass
    }

    /// The verdict on one run, with the reason when it is not a pass.
    pub fn verdict(&self, run: &RunReport) -> RunVerdict {
        let why = match &run.outcome {
            Err(e) => e.to_string(),
            Ok(results) => {
                let mut problems = Vec::new();
                if Validity::of(&results["valid?"]) != Validity::Valid {
                    problems.push(format!(
                        "{}, see {}",
                        if Validity::of(&results["valid?"]) == Validity::Invalid {
                            "invalid"
                        } else {
                            "unknown"
                        },
                        run.dir.join("results.json").display()
                    ));
                }
                let incomplete = incomplete_checks(results);
                if !incomplete.is_empty() {
                    problems.push(format!("incomplete check: {}", incomplete.join("; ")));
                }
                let missed: Vec<String> = self
                    .challenge
                    .targets
                    .iter()
                    .filter(|t| !t.met(results))
                    .map(|t| t.describe(results))
                    .collect();
                if !missed.is_empty() {
                    problems.push(format!("targets missed: {}", missed.join(", ")));
                }
                if problems.is_empty() {
                    return RunVerdict::Pass;
                }
                problems.join("; ")
            }
        };
        if run.spoiled_by_load() {
            RunVerdict::Spoiled(why)
        } else {
            RunVerdict::Fail(why)
        }
    }

    /// True when some seed failed on a run the workbench kept to time.
    pub fn failed(&self) -> bool {
        self.runs
            .iter()
            .any(|r| matches!(self.verdict(r), RunVerdict::Fail(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_read_the_right_figures() {
        let r = json!({"net": {"all": {"msgs-per-op": 4.5}},
                       "workload": {"stable-latencies": {"0.5": 300, "1": 501}, "lost-count": 0}});
        assert!(Target::MsgsPerOp(Limit::at_most(6.0)).met(&r));
        assert!(!Target::MsgsPerOp(Limit::at_most(4.0)).met(&r));
        assert!(Target::MedianLatency(Limit::at_most(320.0)).met(&r));
        assert!(!Target::MaxLatency(Limit::at_most(500.0)).met(&r));
        assert!(Target::NothingLost.met(&r));
        assert!(
            !Target::MedianLatency(Limit::at_most(320.0)).met(&json!({})),
            "a missing figure is a miss"
        );
        assert_eq!(
            Target::MaxLatency(Limit::at_most(500.0)).describe(&r),
            "max 501.00 <= 500 ms"
        );
        // Fly.io's limits say "below": reaching one is a miss.
        assert!(Target::MedianLatency(Limit::at_most(300.0)).met(&r));
        assert!(!Target::MedianLatency(Limit::below(300.0)).met(&r));
        assert!(Target::MedianLatency(Limit::below(300.5)).met(&r));
        assert_eq!(
            Target::MedianLatency(Limit::below(300.0)).describe(&r),
            "median 300.00 < 300 ms"
        );
    }

    #[test]
    fn only_a_complete_check_passes() {
        let complete = json!({"valid?": true, "workload": {"valid?": true, "anomaly-types": []},
                              "glomers": {"self-health": {"valid?": "unknown"}}});
        assert!(incomplete_checks(&complete).is_empty());
        let timed_out = json!({"valid?": true, "workload": {"valid?": true,
            "cycle-search-timeout": [{"scc-size": 9000}]}});
        assert_eq!(
            incomplete_checks(&timed_out),
            ["workload.cycle-search-timeout: a cycle search timed out"]
        );
        let part_unknown = json!({"valid?": true, "workload": {"valid?": true,
            "results": {"k1": {"valid?": "unknown"}}}});
        assert_eq!(
            incomplete_checks(&part_unknown),
            ["workload.results.k1.valid? is unknown"]
        );
    }

    #[test]
    fn the_read_committed_target_wants_no_anomaly_types() {
        let clean = json!({"workload": {"read-committed-anomaly-types": []}});
        let dirty = json!({"workload": {"read-committed-anomaly-types": ["G1b"]}});
        assert!(Target::ReadCommitted.met(&clean));
        assert!(!Target::ReadCommitted.met(&dirty));
        assert!(
            !Target::ReadCommitted.met(&json!({})),
            "a missing figure is a miss"
        );
    }
}
