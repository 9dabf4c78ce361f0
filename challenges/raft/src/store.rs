//! The state machine the log drives: a map of registers with Maelstrom's `lin-kv` requests
//! (jepsen-io/maelstrom, `doc/services.md` and `src/maelstrom/service.clj`, the KV
//! service): read, write, and compare-and-set, keys and values any JSON; and transactions
//! of the `txn-rw-register` and `txn-list-append` workloads (jepsen-io/maelstrom,
//! `doc/workloads.md`), each applied whole, at its place in the log.

use maelstrom::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A client reads a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Read {
    /// The key.
    pub key: Value,
}

/// A client sets a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Write {
    /// The key.
    pub key: Value,
    /// Its new value.
    pub value: Value,
}

/// A client sets a key to `to` if it holds `from`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cas {
    /// The key.
    pub key: Value,
    /// The value it must hold.
    pub from: Value,
    /// Its new value.
    pub to: Value,
    /// A missing key counts as holding `from`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_if_not_exists: bool,
}

/// A client's transaction: micro-ops run in order, all or none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Txn {
    /// The micro-ops.
    pub txn: Vec<MicroOp>,
}

/// A request the log orders, as clients send it (the node's messages carry the same
/// requests, declared once here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Op {
    /// A read.
    Read(Read),
    /// A write.
    Write(Write),
    /// A compare-and-set.
    Cas(Cas),
    /// A transaction.
    Txn(Txn),
}

/// A micro-op's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Function {
    /// Read a key: its value (a register's, or a list), or `null` if never written.
    #[serde(rename = "r")]
    Read,
    /// Set a register.
    #[serde(rename = "w")]
    Write,
    /// Append an element to a list (a missing key is the empty list).
    #[serde(rename = "append")]
    Append,
}

/// `[f, key, value]`: a read's value is filled in by the store.
pub type MicroOp = (Function, Value, Value);

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
    /// The transaction took effect; its reads are filled in.
    TxnOk {
        /// The micro-ops, reads with their values.
        txn: Vec<MicroOp>,
    },
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
            Op::Read(Read { key }) => match self.values.get(&key.to_string()) {
                Some(value) => Ok(Answer::ReadOk {
                    value: value.clone(),
                }),
                None => Err(missing()),
            },
            Op::Write(Write { key, value }) => {
                self.values.insert(key.to_string(), value.clone());
                Ok(Answer::WriteOk)
            }
            Op::Cas(Cas {
                key,
                from,
                to,
                create_if_not_exists,
            }) => match self.values.get_mut(&key.to_string()) {
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
            Op::Txn(Txn { txn }) => self.transact(txn.clone()).map(|txn| Answer::TxnOk { txn }),
        }
    }

    /// Runs a transaction against a private copy of the keys it touches, and installs the
    /// copy only if every micro-op succeeded: an append to a key that holds something other
    /// than a list aborts the whole transaction (code 14, definite), having changed nothing.
    /// Applied at one index of the log, between the request and its answer, a transaction
    /// is strictly serializable.
    fn transact(&mut self, mut txn: Vec<MicroOp>) -> Result<Vec<MicroOp>, ErrorBody> {
        let mut touched: BTreeMap<String, Value> = BTreeMap::new();
        for (f, key, value) in &mut txn {
            let text = key.to_string();
            let current = touched
                .entry(text.clone())
                .or_insert_with(|| self.values.get(&text).cloned().unwrap_or(Value::Null));
            match f {
                Function::Read => *value = current.clone(),
                Function::Write => *current = value.clone(),
                Function::Append => match current {
                    Value::Array(list) => list.push(value.clone()),
                    Value::Null => *current = Value::Array(vec![value.clone()]),
                    other => {
                        return Err(ErrorBody::abort(format!(
                            "cannot append to key {key}: it holds {other}, not a list"
                        )))
                    }
                },
            }
        }
        let writes = txn.iter().filter(|(f, ..)| *f != Function::Read);
        let written: BTreeSet<String> = writes.map(|(_, key, _)| key.to_string()).collect();
        for (text, value) in touched {
            if written.contains(&text) {
                self.values.insert(text, value);
            }
        }
        Ok(txn)
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
    fn transactions_read_their_own_writes_and_apply_whole_or_not_at_all() {
        let mut s = Store::default();
        let txn = |s: &mut Store, body: Value| s.apply(&op(json!({"type": "txn", "txn": body})));
        assert_eq!(
            txn(
                &mut s,
                json!([
                    ["r", 1, null],
                    ["w", 1, 2],
                    ["r", 1, null],
                    ["append", 3, 7]
                ])
            ),
            Ok(Answer::TxnOk {
                txn: serde_json::from_value(json!([
                    ["r", 1, null],
                    ["w", 1, 2],
                    ["r", 1, 2],
                    ["append", 3, 7]
                ]))
                .unwrap()
            })
        );
        let refused = txn(&mut s, json!([["w", 9, 1], ["append", 1, 8]])).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ABORT, "key 1 holds a register");
        assert_eq!(
            txn(
                &mut s,
                json!([["r", 9, null], ["append", 3, 8], ["r", 3, null]])
            ),
            Ok(Answer::TxnOk {
                txn: serde_json::from_value(json!([
                    ["r", 9, null],
                    ["append", 3, 8],
                    ["r", 3, [7, 8]]
                ]))
                .unwrap()
            }),
            "the aborted write to 9 never happened"
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
