//! The key-value state machine shared by the KV services, and `lin-kv`: one register map,
//! requests applied one at a time in the order the service takes them (linearizable).

use super::{error, pr_str, Service};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A KV state. Keys are compared by structural JSON equality, so the canonical JSON text of
/// a key identifies it (`1` and `1.0` differ, as in Clojure). States are shared and copied on
/// write, since `seq-kv` keeps many of them.
pub type State = Arc<BTreeMap<String, Value>>;

/// How a KV service renders the code-22 text and treats `create_if_not_exists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavor {
    /// `cas` on a missing key may create it.
    pub create_if_not_exists: bool,
    /// Render `from` in the code-22 text with `pr-str` (else plain string conversion).
    pub pr_str_from: bool,
}

/// `lin-kv` and `seq-kv` behave alike per request.
pub const STANDARD: Flavor = Flavor {
    create_if_not_exists: true,
    pr_str_from: true,
};

/// Applies one request to `state`: the new state and the reply, or `None` for an unknown
/// request type (no reply).
pub fn apply(state: &State, body: &Map<String, Value>, flavor: Flavor) -> Option<(State, Value)> {
    let key = || body.get("key").unwrap_or(&Value::Null).to_string();
    match body.get("type").and_then(Value::as_str)? {
        "read" => Some(match state.get(&key()) {
            Some(value) => (state.clone(), json!({"type": "read_ok", "value": value})),
            None => (state.clone(), error(20, "key does not exist".into())),
        }),
        "write" => {
            let value = body.get("value").cloned().unwrap_or(Value::Null);
            Some((with(state, key(), value), json!({"type": "write_ok"})))
        }
        "cas" => {
            let from = body.get("from").unwrap_or(&Value::Null);
            let to = body.get("to").cloned().unwrap_or(Value::Null);
            let create = flavor.create_if_not_exists
                && body
                    .get("create_if_not_exists")
                    .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)));
            Some(match state.get(&key()) {
                Some(current) if current == from => {
                    (with(state, key(), to), json!({"type": "cas_ok"}))
                }
                Some(current) => {
                    let from_text = if flavor.pr_str_from {
                        pr_str(from)
                    } else {
                        plain(from)
                    };
                    (
                        state.clone(),
                        error(
                            22,
                            format!("current value {} is not {from_text}", pr_str(current)),
                        ),
                    )
                }
                None if create => (with(state, key(), to), json!({"type": "cas_ok"})),
                None => (state.clone(), error(20, "key does not exist".into())),
            })
        }
        _ => None,
    }
}

fn with(state: &State, key: String, value: Value) -> State {
    let mut next = (**state).clone();
    next.insert(key, value);
    Arc::new(next)
}

/// Clojure's `str`: strings without quotes, `nil` as empty.
fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => pr_str(other),
    }
}

/// The linearizable KV store.
#[derive(Debug, Default)]
pub struct LinKv {
    state: State,
}

impl Service for LinKv {
    fn name(&self) -> &'static str {
        "lin-kv"
    }

    fn handle(&mut self, _src: &str, body: &Map<String, Value>) -> Option<Value> {
        let (next, reply) = apply(&self.state, body, STANDARD)?;
        self.state = next;
        Some(reply)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn req(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn read_write_cas_and_their_errors() {
        let mut kv = LinKv::default();
        let mut call = |v: Value| kv.handle("n0", &req(v));
        assert_eq!(
            call(json!({"type": "read", "key": "x"})).unwrap()["code"],
            20
        );
        assert_eq!(
            call(json!({"type": "cas", "key": "x", "from": 1, "to": 2})).unwrap()["code"],
            20
        );
        assert_eq!(
            call(
                json!({"type": "cas", "key": "x", "from": 1, "to": 2, "create_if_not_exists": true})
            )
            .unwrap()["type"],
            "cas_ok"
        );
        let err = call(json!({"type": "cas", "key": "x", "from": "1", "to": 3})).unwrap();
        assert_eq!(
            err,
            json!({"type": "error", "code": 22, "text": "current value 2 is not \"1\""})
        );
        assert_eq!(
            call(json!({"type": "cas", "key": "x", "from": 2, "to": [1, 2]})).unwrap()["type"],
            "cas_ok"
        );
        assert_eq!(
            call(json!({"type": "read", "key": "x"})).unwrap(),
            json!({"type": "read_ok", "value": [1, 2]})
        );
        assert_eq!(
            call(json!({"type": "write", "key": 1, "value": null})).unwrap()["type"],
            "write_ok"
        );
        assert_eq!(
            call(json!({"type": "read", "key": 1})).unwrap()["value"],
            Value::Null
        );
        assert_eq!(
            call(json!({"type": "read", "key": 1.0})).unwrap()["code"],
            20,
            "1.0 is another key"
        );
        assert!(call(json!({"type": "frob"})).is_none());
        assert!(call(json!({"key": 1})).is_none());
    }
}
