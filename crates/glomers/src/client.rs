//! What a client endpoint makes of replies (jepsen-io/maelstrom, `src/maelstrom/client.clj`,
//! `send!`, `recv!` and `rpc!`): one outstanding request per endpoint `c<k>` (the run's state
//! machine, [`crate::model::run`], keeps them), replies matched by integer `in_reply_to`,
//! everything else dropped; and the closed schemas replies must fit.

use crate::model::network::NetError;
use maelstrom::ErrorCode;
use serde_json::{Map, Value};

/// Why an RPC did not return a normal reply.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcError {
    /// Nothing matching arrived in time (code 0, indefinite).
    Timeout,
    /// The node answered with an error body.
    Error {
        /// The code.
        code: ErrorCode,
        /// The text, if any.
        text: Option<String>,
    },
    /// The network refused the request (the client or node endpoint is gone).
    Net(NetError),
    /// The run is shutting down.
    Closed,
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RpcError::Timeout => write!(f, "no reply in time"),
            RpcError::Error { code, text } => {
                write!(f, "error {code}: {}", text.as_deref().unwrap_or(""))
            }
            RpcError::Net(e) => write!(f, "{e}"),
            RpcError::Closed => write!(f, "the run is shutting down"),
        }
    }
}

/// What a message delivered to a client endpoint means for its request `msg_id`: `None`
/// when it is not the answer (not an object, or `in_reply_to` is not that integer: dropped,
/// as upstream's client drops it), else the reply or the error it carries (an error body
/// without an integer code counts as 13, crash).
pub fn match_reply(body: &str, msg_id: u64) -> Option<Result<Map<String, Value>, RpcError>> {
    let Ok(Value::Object(reply)) = serde_json::from_str::<Value>(body) else {
        return None;
    };
    if reply.get("in_reply_to").and_then(Value::as_u64) != Some(msg_id) {
        return None;
    }
    if reply.get("type").and_then(Value::as_str) == Some("error") {
        let code = reply.get("code").and_then(Value::as_u64).unwrap_or(13);
        let text = reply.get("text").and_then(Value::as_str).map(str::to_owned);
        return Some(Err(RpcError::Error {
            code: ErrorCode(code as u32),
            text,
        }));
    }
    Some(Ok(reply))
}

/// A field type in a closed response schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Any JSON value.
    Any,
    /// A JSON integer (`3.0` does not count).
    Int,
    /// An array of integers, or `null`.
    IntArray,
    /// An array of anything, or `null`.
    Array,
    /// An object.
    Map,
    /// A transaction: a list (or `null`) of `["r", k, v]` micro-ops and writes
    /// `[f, k, v]` with this `f` (`w` for registers, `append` for lists).
    Txn(&'static str),
}

impl FieldType {
    fn accepts(self, value: &Value) -> bool {
        match self {
            FieldType::Any => true,
            FieldType::Int => value.is_i64() || value.is_u64(),
            FieldType::IntArray => {
                value.is_null()
                    || value
                        .as_array()
                        .is_some_and(|a| a.iter().all(|v| v.is_i64() || v.is_u64()))
            }
            FieldType::Map => value.is_object(),
            FieldType::Array => value.is_null() || value.is_array(),
            FieldType::Txn(write) => {
                value.is_null()
                    || value.as_array().is_some_and(|mops| {
                        mops.iter().all(|m| {
                            m.as_array()
                                .is_some_and(|m| m.len() == 3 && (m[0] == "r" || m[0] == write))
                        })
                    })
            }
        }
    }
}

/// A closed response schema: `type`, `in_reply_to`, optional `msg_id`, and these fields.
#[derive(Debug, Clone, Copy)]
pub struct ResponseSchema {
    /// The `type` the response must have.
    pub kind: &'static str,
    /// Required fields.
    pub required: &'static [(&'static str, FieldType)],
}

impl ResponseSchema {
    /// Checks a response; the errors name each problem as upstream's schema errors do.
    pub fn check(&self, body: &Map<String, Value>) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        match body.get("type") {
            Some(Value::String(kind)) if kind == self.kind => {}
            other => errors.push(format!(
                "type: expected \"{}\", got {}",
                self.kind,
                show(other)
            )),
        }
        match body.get("in_reply_to") {
            Some(v) if FieldType::Int.accepts(v) => {}
            other => errors.push(format!(
                "in_reply_to: expected an integer, got {}",
                show(other)
            )),
        }
        if let Some(v) = body.get("msg_id") {
            if !FieldType::Int.accepts(v) {
                errors.push(format!("msg_id: expected an integer, got {v}"));
            }
        }
        for (name, field) in self.required {
            match body.get(*name) {
                Some(v) if field.accepts(v) => {}
                Some(v) => errors.push(format!("{name}: expected {field:?}, got {v}")),
                None => errors.push(format!("{name}: missing-required-key")),
            }
        }
        for key in body.keys() {
            let known = matches!(key.as_str(), "type" | "in_reply_to" | "msg_id")
                || self.required.iter().any(|(name, _)| name == key);
            if !known {
                errors.push(format!("{key}: disallowed-key"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "nothing".to_owned(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ECHO: ResponseSchema = ResponseSchema {
        kind: "echo_ok",
        required: &[("echo", FieldType::Any)],
    };

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn closed_schemas_reject_extra_keys_and_wrong_types() {
        assert!(ECHO
            .check(&obj(
                json!({"type": "echo_ok", "echo": 1, "in_reply_to": 2, "msg_id": 5})
            ))
            .is_ok());
        let errors = ECHO
            .check(&obj(
                json!({"type": "echo_ok", "echo": 1, "in_reply_to": 2, "src": "n0"}),
            ))
            .unwrap_err();
        assert_eq!(errors, ["src: disallowed-key"]);
        let errors = ECHO
            .check(&obj(json!({"type": "echo", "in_reply_to": 2.0})))
            .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(FieldType::IntArray.accepts(&json!(null)));
        assert!(!FieldType::IntArray.accepts(&json!([1.5])));
        assert!(!FieldType::Map.accepts(&json!(null)));
    }
}
