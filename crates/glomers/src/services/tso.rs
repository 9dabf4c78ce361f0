//! `lin-tso`: a linearizable timestamp oracle counting from 0.

use super::Service;
use serde_json::{json, Map, Value};

/// The timestamp oracle.
#[derive(Debug, Default)]
pub struct LinTso {
    next: u64,
}

impl Service for LinTso {
    fn name(&self) -> &'static str {
        "lin-tso"
    }

    fn handle(&mut self, _src: &str, body: &Map<String, Value>) -> Option<Value> {
        if body.get("type").and_then(Value::as_str) != Some("ts") {
            return None;
        }
        self.next += 1;
        Some(json!({"type": "ts_ok", "ts": self.next - 1}))
    }
}

#[cfg(test)]
mod tests {
    use super::super::kv::tests::req;
    use super::*;

    #[test]
    fn timestamps_start_at_zero_and_rise() {
        let mut tso = LinTso::default();
        let ts: Vec<Value> = (0..3)
            .map(|_| tso.handle("n0", &req(json!({"type": "ts"}))).unwrap()["ts"].clone())
            .collect();
        assert_eq!(ts, [json!(0), json!(1), json!(2)]);
        assert!(tso.handle("n0", &req(json!({"type": "read"}))).is_none());
    }
}
