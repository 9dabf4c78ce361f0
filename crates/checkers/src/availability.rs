//! `availability`: the fraction of invocations that completed `ok`, against `--availability`.

use crate::history::{Op, OpType};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The availability a run must reach (`--availability`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Availability {
    /// `total`: every operation must succeed.
    Total(TotalTag),
    /// At least this fraction of operations must succeed.
    Fraction(f64),
}

/// The word `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TotalTag {
    /// `"total"`.
    Total,
}

/// The `availability` result.
pub fn check(history: &[Op], expected: Option<Availability>) -> Value {
    let invokes = history
        .iter()
        .filter(|op| op.kind == OpType::Invoke)
        .count();
    let oks = history.iter().filter(|op| op.kind == OpType::Ok).count();
    let fraction = if invokes == 0 {
        1.0
    } else {
        oks as f64 / invokes as f64
    };
    let valid = match expected {
        None => true,
        Some(Availability::Total(_)) => fraction == 1.0,
        Some(Availability::Fraction(x)) => x <= fraction,
    };
    json!({"valid?": valid, "ok-fraction": fraction})
}

#[cfg(test)]
mod tests {
    use super::TotalTag;
    use super::*;
    use crate::history::Process;

    fn op(kind: OpType) -> Op {
        Op {
            index: 0,
            time: 0,
            kind,
            process: Process::Client(0),
            f: "x".into(),
            value: Value::Null,
            error: None,
            exception: None,
            is_final: false,
        }
    }

    #[test]
    fn fraction_against_expectations() {
        let h = vec![
            op(OpType::Invoke),
            op(OpType::Ok),
            op(OpType::Invoke),
            op(OpType::Info),
        ];
        assert_eq!(check(&h, None), json!({"valid?": true, "ok-fraction": 0.5}));
        assert_eq!(
            check(&h, Some(Availability::Total(TotalTag::Total)))["valid?"],
            false
        );
        assert_eq!(check(&h, Some(Availability::Fraction(0.5)))["valid?"], true);
        assert_eq!(
            check(&h, Some(Availability::Fraction(0.51)))["valid?"],
            false
        );
        assert_eq!(
            check(&[], Some(Availability::Total(TotalTag::Total))),
            json!({"valid?": true, "ok-fraction": 1.0})
        );
    }
}
