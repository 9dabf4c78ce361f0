//! The workbench's own health: how late it was, everywhere its lateness changes what a node
//! experiences.
//!
//! A starved machine stalls the workbench itself: deliveries leave late, client timeouts fire
//! late, the generator falls behind its schedule. A node judged through such a run is judged
//! on a network that was not the model's (a 7 s stall once turned a correct kafka solution
//! invalid). Maelstrom has no such check. We measure each kind of lateness and, past
//! [`SPOILED_MS`], flag the run as spoiled by load. The flag never changes `valid?`: a run
//! that is both late and invalid shows both, and the challenge suite reports it as
//! "spoiled by load: rerun" only when it would otherwise have failed.

use serde_json::{json, Map, Value};
use std::sync::Mutex;
use std::time::Duration;

/// Lateness, in milliseconds, past which a run is flagged as spoiled by load. Healthy runs on
/// a 2-core machine stay below 10 ms (docs/performance.md); the stalls that have changed
/// verdicts lasted seconds. A second sits far from both.
pub const SPOILED_MS: f64 = 1000.0;

/// Values below this many microseconds get a bucket each; above, buckets grow
/// geometrically (64 per power of two, under 2% wide), so a histogram stays a few kilobytes
/// however many samples it takes.
const EXACT_US: u64 = 1024;
const SUB_BUCKETS: u64 = 64;

/// A bounded histogram of lateness samples, in microseconds.
#[derive(Debug, Clone, Default)]
pub struct Lateness {
    counts: Vec<u64>,
    total: u64,
    max_us: u64,
}

fn bucket_of(us: u64) -> usize {
    if us < EXACT_US {
        return us as usize;
    }
    let msb = 63 - u64::from(us.leading_zeros());
    let shift = msb - 6;
    (EXACT_US + (msb - 10) * SUB_BUCKETS + ((us >> shift) & (SUB_BUCKETS - 1))) as usize
}

fn lower_bound_of(bucket: usize) -> u64 {
    let bucket = bucket as u64;
    if bucket < EXACT_US {
        return bucket;
    }
    let rest = bucket - EXACT_US;
    let msb = rest / SUB_BUCKETS + 10;
    let sub = rest % SUB_BUCKETS;
    (1 << msb) | (sub << (msb - 6))
}

impl Lateness {
    /// Adds one sample.
    pub fn record(&mut self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let bucket = bucket_of(us);
        if bucket >= self.counts.len() {
            self.counts.resize(bucket + 1, 0);
        }
        self.counts[bucket] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(us);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest sample, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }

    /// The `q` quantile in milliseconds (the lower bound of its bucket; exact below 1 ms),
    /// with the nearest-rank rule.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        if q >= 1.0 {
            return Some(self.max_ms());
        }
        let rank = ((q * self.total as f64).floor() as u64).min(self.total - 1);
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen > rank {
                return Some(lower_bound_of(bucket) as f64 / 1000.0);
            }
        }
        Some(self.max_ms())
    }

    /// `{"count", "p50", "p99", "max"}` in milliseconds (`null` without samples).
    pub fn summary(&self) -> Value {
        let at = |q| self.quantile_ms(q).map_or(Value::Null, |ms| json!(ms));
        json!({"count": self.total, "p50": at(0.5), "p99": at(0.99), "max": at(1.0)})
    }
}

/// Where the workbench measures its own lateness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A message handed to its receiver after the moment the model says it is due.
    Delivery,
    /// A message a node printed, from the moment it was ready to enter the network until
    /// the network took it (routing waiting for the workbench's locks or its journal; a
    /// sender waiting for its own backlog to drain is the model, not lateness).
    StdoutRouting,
    /// A client noticing its request timed out after the timeout.
    ClientTimeout,
    /// The generator's loop waking later than it asked to (it sleeps until the next
    /// operation is due, at most 100 ms at a time, or until a thread frees up).
    Generator,
    /// The nemesis starting or healing a partition after its scheduled moment.
    Nemesis,
    /// A workbench thread that asked to sleep 10 ms waking up later than that: the process
    /// itself not being scheduled.
    Scheduler,
}

impl Measure {
    /// Every measure, in report order (which is also declaration order: a measure's
    /// discriminant is its index).
    pub const ALL: [Measure; 6] = [
        Measure::Delivery,
        Measure::StdoutRouting,
        Measure::ClientTimeout,
        Measure::Generator,
        Measure::Nemesis,
        Measure::Scheduler,
    ];

    /// The name in `results.json`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Delivery => "delivery",
            Measure::StdoutRouting => "stdout-routing",
            Measure::ClientTimeout => "client-timeout",
            Measure::Generator => "generator",
            Measure::Nemesis => "nemesis",
            Measure::Scheduler => "scheduler",
        }
    }
}

/// Every lateness measure of one run, shared by its threads.
#[derive(Debug, Default)]
pub struct Health {
    measures: [Mutex<Lateness>; 6],
}

impl Health {
    /// Records that something measured by `measure` happened `late` after it was due.
    pub fn record(&self, measure: Measure, late: Duration) {
        self.measures[measure as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(late);
    }

    /// A copy of one measure.
    pub fn get(&self, measure: Measure) -> Lateness {
        self.measures[measure as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The `self-health` entry of `results.json`: every measure, the worst one, and whether
    /// the run is spoiled by load.
    pub fn report(&self) -> Value {
        let mut measures = Map::new();
        let mut worst: Option<(Measure, f64)> = None;
        for m in Measure::ALL {
            let lateness = self.get(m);
            if lateness.count() > 0 && worst.is_none_or(|(_, w)| lateness.max_ms() > w) {
                worst = Some((m, lateness.max_ms()));
            }
            measures.insert(m.name().into(), lateness.summary());
        }
        let spoiled = worst.is_some_and(|(_, ms)| ms > SPOILED_MS);
        json!({
            "spoiled-by-load": spoiled,
            "threshold-ms": SPOILED_MS,
            "worst": worst.map(|(m, ms)| json!({"measure": m.name(), "max-ms": ms})),
            "lateness-ms": measures,
        })
    }
}

/// True when a results map says its run was spoiled by load.
pub fn spoiled(results: &Value) -> bool {
    results["glomers"]["self-health"]["spoiled-by-load"] == Value::Bool(true)
}

/// The sentence a summary prints for a spoiled run.
pub fn warning(results: &Value) -> Option<String> {
    if !spoiled(results) {
        return None;
    }
    let worst = &results["glomers"]["self-health"]["worst"];
    Some(format!(
        "SPOILED BY LOAD: the workbench itself fell {} ms behind ({}), past its {} ms limit; \
         the machine was too busy for this run's timing to be the model's. Rerun it on a \
         quieter machine before trusting its figures or blaming the node.",
        worst["max-ms"],
        worst["measure"].as_str().unwrap_or("?"),
        SPOILED_MS
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_below_a_millisecond_and_tight_above() {
        for us in [0, 1, 500, 1023] {
            assert_eq!(lower_bound_of(bucket_of(us)), us);
        }
        for us in [1024_u64, 1500, 99_999, 7_000_000, u64::MAX / 2] {
            let low = lower_bound_of(bucket_of(us));
            assert!(low <= us && us - low <= us / 60, "{us} -> {low}");
        }
        let mut b = 0;
        for us in (0..5_000_000).step_by(997) {
            assert!(bucket_of(us) >= b, "monotone at {us}");
            b = bucket_of(us);
        }
    }

    #[test]
    fn quantiles_and_the_spoiled_flag() {
        let health = Health::default();
        for ms in 0..100 {
            health.record(Measure::Delivery, Duration::from_micros(ms * 10));
        }
        let d = health.get(Measure::Delivery);
        assert_eq!(d.count(), 100);
        assert_eq!(d.quantile_ms(0.5), Some(0.5));
        assert_eq!(d.quantile_ms(1.0), Some(0.99));
        let report = health.report();
        assert_eq!(report["spoiled-by-load"], false);
        assert_eq!(report["worst"]["measure"], "delivery");
        assert!(report["lateness-ms"]["nemesis"]["p50"].is_null());
        health.record(Measure::Generator, Duration::from_millis(4500));
        let report = health.report();
        assert_eq!(report["spoiled-by-load"], true);
        assert_eq!(
            report["worst"],
            json!({"measure": "generator", "max-ms": 4500.0})
        );
        let results = json!({"glomers": {"self-health": report}});
        assert!(spoiled(&results));
        assert!(warning(&results).is_some_and(|w| w.contains("4500")));
    }
}
