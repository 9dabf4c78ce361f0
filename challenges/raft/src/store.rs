//! The state machine the log drives: a map of registers with Maelstrom's `lin-kv` requests
//! (jepsen-io/maelstrom, `doc/services.md` and `src/maelstrom/service.clj`, the KV
//! service): read, write, and compare-and-set, keys and values any JSON.

use maelstrom::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A request the log orders, as clients send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Op {
    /// Read a key.
    Read {
        /// The key.
        key: Value,
    },
    /// Set a key.
    Write {
        /// The key.
        key: Value,
        /// Its new value.
        value: Value,
    },
    /// Set a key to `to` if it holds `from`.
    Cas {
        /// The key.
        key: Value,
        /// The value it must hold.
        from: Value,
        /// Its new value.
        to: Value,
        /// A missing key counts as holding `from`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        create_if_not_exists: bool,
    },
}

/// A successful answer, as clients receive it (and as a leader sends it to the node that
/// forwarded the request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // the protocol's names
pub enum Answer {
    /// The key's value.
    ReadOk {
        /// The value.
        value: Value,
    },
    /// The write took effect.
    WriteOk,
    /// The compare-and-set took effect.
    CasOk,
}

/// The registers. Keys are compared as JSON, by their canonical text.
#[derive(Debug, Clone, Default)]
pub struct Store {
    values: BTreeMap<String, Value>,
}

impl Store {
    /// Applies one op. Every node applies the same ops in the same order, so every node's
    /// store goes through the same states.
    pub fn apply(&mut self, op: &Op) -> Result<Answer, ErrorBody> {
        match op {
            Op::Read { key } => match self.values.get(&key.to_string()) {
                Some(value) => Ok(Answer::ReadOk {
                    value: value.clone(),
                }),
                None => Err(missing()),
            },
            Op::Write { key, value } => {
                self.values.insert(key.to_string(), value.clone());
                Ok(Answer::WriteOk)
            }
            Op::Cas {
                key,
                from,
                to,
                create_if_not_exists,
            } => match self.values.get_mut(&key.to_string()) {
                Some(current) if current == from => {
                    *current = to.clone();
                    Ok(Answer::CasOk)
                }
                Some(current) => Err(ErrorBody::new(
                    ErrorCode::PRECONDITION_FAILED,
                    format!("expected {from}, found {current}"),
                )),
                None if *create_if_not_exists => {
                    self.values.insert(key.to_string(), to.clone());
                    Ok(Answer::CasOk)
                }
                None => Err(missing()),
            },
        }
    }
}

fn missing() -> ErrorBody {
    ErrorBody::new(ErrorCode::KEY_DOES_NOT_EXIST, "key does not exist")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(body: Value) -> Op {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn registers_read_write_and_compare_and_set_with_lin_kv_errors() {
        let mut s = Store::default();
        let read = op(json!({"type": "read", "key": 1}));
        assert_eq!(
            s.apply(&read).unwrap_err().code,
            ErrorCode::KEY_DOES_NOT_EXIST
        );
        let cas = op(json!({"type": "cas", "key": 1, "from": 2, "to": 3}));
        assert_eq!(
            s.apply(&cas).unwrap_err().code,
            ErrorCode::KEY_DOES_NOT_EXIST
        );
        s.apply(&op(json!({"type": "write", "key": 1, "value": 4})))
            .unwrap();
        assert_eq!(
            s.apply(&cas).unwrap_err().code,
            ErrorCode::PRECONDITION_FAILED
        );
        s.apply(&op(json!({"type": "cas", "key": 1, "from": 4, "to": 2})))
            .unwrap();
        assert_eq!(s.apply(&read), Ok(Answer::ReadOk { value: json!(2) }));
        assert_eq!(
            s.apply(&op(json!({"type": "read", "key": "1"})))
                .unwrap_err()
                .code,
            ErrorCode::KEY_DOES_NOT_EXIST,
            "the string \"1\" is another key"
        );
    }

    #[test]
    fn cas_may_create_a_missing_key_when_asked() {
        let mut s = Store::default();
        let create = op(json!({"type": "cas", "key": "k", "from": 1, "to": 2,
                               "create_if_not_exists": true}));
        assert_eq!(s.apply(&create), Ok(Answer::CasOk));
        assert_eq!(
            s.apply(&op(json!({"type": "read", "key": "k"}))),
            Ok(Answer::ReadOk { value: json!(2) })
        );
    }
}
