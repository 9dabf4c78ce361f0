//! `perf`: always valid upstream (it draws graphs). We report latency quantiles of `ok`
//! operations instead of drawing, so validity never depends on plotting tools.

use crate::history::{pair_client_ops, Op, OpType};
use serde_json::{json, Value};

/// The `perf` result, with `latency-ms` quantiles (0.5, 0.95, 0.99, 1) of `ok` operations.
pub fn check(history: &[Op]) -> Value {
    let mut latencies: Vec<u64> = pair_client_ops(history)
        .into_iter()
        .filter_map(|(i, c)| c.map(|c| (i, c)))
        .filter(|(_, c)| history[*c].kind == OpType::Ok)
        .map(|(i, c)| history[c].time.saturating_sub(history[i].time))
        .collect();
    latencies.sort_unstable();
    let q = |p: f64| quantile(&latencies, p).map_or(Value::Null, |ns| json!(ns as f64 / 1e6));
    json!({
        "latency-graph": {"valid?": true},
        "rate-graph": {"valid?": true},
        "latency-ms": {"0.5": q(0.5), "0.95": q(0.95), "0.99": q(0.99), "1": q(1.0)},
        "valid?": true,
    })
}

/// The `q`-quantile (nearest rank) of sorted samples; `None` when there are none.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get((last as f64 * q).round() as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let samples: Vec<u64> = (1..=101).collect();
        assert_eq!(quantile(&samples, 0.5), Some(51));
        assert_eq!(quantile(&samples, 0.99), Some(100));
        assert_eq!(quantile(&samples, 1.0), Some(101));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
