//! Maelstrom's error registry and the error body nodes send and receive.
//!
//! Whether a code is *definite* decides how the workbench records an operation: a definite
//! error means "this certainly did not happen" (`:fail`), anything else means "it may have
//! happened" (`:info`). When in doubt a node should pick an indefinite code.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// A Maelstrom error code. Codes below 1000 are reserved by Maelstrom; 1000 and above are free
/// for users and are always treated as indefinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// The operation did not finish in time (also what a local RPC timeout reports).
    pub const TIMEOUT: ErrorCode = ErrorCode(0);
    /// The request was aimed at a node that does not exist.
    pub const NODE_NOT_FOUND: ErrorCode = ErrorCode(1);
    /// The operation is not implemented by this node.
    pub const NOT_SUPPORTED: ErrorCode = ErrorCode(10);
    /// Definitely not performed now: no quorum, not initialised, ...
    pub const TEMPORARILY_UNAVAILABLE: ErrorCode = ErrorCode(11);
    /// The request could not be understood, so it cannot have taken effect.
    pub const MALFORMED_REQUEST: ErrorCode = ErrorCode(12);
    /// A generic indefinite failure: the safe default.
    pub const CRASH: ErrorCode = ErrorCode(13);
    /// A generic definite failure.
    pub const ABORT: ErrorCode = ErrorCode(14);
    /// The key does not exist.
    pub const KEY_DOES_NOT_EXIST: ErrorCode = ErrorCode(20);
    /// Refused to create a key that already exists.
    pub const KEY_ALREADY_EXISTS: ErrorCode = ErrorCode(21);
    /// A precondition (such as a cas `from`) did not hold.
    pub const PRECONDITION_FAILED: ErrorCode = ErrorCode(22);
    /// A transaction aborted because of a conflict.
    pub const TXN_CONFLICT: ErrorCode = ErrorCode(30);

    /// Every code Maelstrom registers, in numeric order.
    pub const REGISTERED: [ErrorCode; 11] = [
        Self::TIMEOUT,
        Self::NODE_NOT_FOUND,
        Self::NOT_SUPPORTED,
        Self::TEMPORARILY_UNAVAILABLE,
        Self::MALFORMED_REQUEST,
        Self::CRASH,
        Self::ABORT,
        Self::KEY_DOES_NOT_EXIST,
        Self::KEY_ALREADY_EXISTS,
        Self::PRECONDITION_FAILED,
        Self::TXN_CONFLICT,
    ];

    /// Maelstrom's name for the code; unregistered and custom codes are `unknown`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "timeout",
            1 => "node-not-found",
            10 => "not-supported",
            11 => "temporarily-unavailable",
            12 => "malformed-request",
            13 => "crash",
            14 => "abort",
            20 => "key-does-not-exist",
            21 => "key-already-exists",
            22 => "precondition-failed",
            30 => "txn-conflict",
            _ => "unknown",
        }
    }

    /// True when the error proves the operation did not take place. Unregistered codes,
    /// custom codes included, are indefinite.
    pub fn is_definite(self) -> bool {
        matches!(self.0, 1 | 10 | 11 | 12 | 14 | 20 | 21 | 22 | 30)
    }

    /// True for codes 1000 and above, which Maelstrom leaves to users.
    pub fn is_custom(self) -> bool {
        self.0 >= 1000
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.name())
    }
}

/// The body of an `error` message: a code, an optional text, and any extra fields.
///
/// Handlers return it to refuse a request; RPC callers receive it when a peer or service
/// refuses theirs. Extra fields are carried through because Maelstrom allows them on errors.
///
/// An extra field named like one the body writes itself (`code`, `text`, and on the wire
/// `type`, `msg_id`, `in_reply_to`) is left out when the body is serialized: a JSON object
/// with a key twice means whatever its reader makes of it, so the body's own fields win.
///
/// ```
/// use maelstrom::{ErrorBody, ErrorCode};
/// let refused = ErrorBody::new(ErrorCode::PRECONDITION_FAILED, "expected 3, found 4")
///     .with("found", 4);
/// assert!(refused.is_definite()); // the cas certainly did not happen
/// assert_eq!(refused.code.name(), "precondition-failed");
/// assert!(!ErrorBody::timeout("no answer").is_definite()); // it may have happened
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, thiserror::Error)]
#[error("error {code}: {}", text.as_deref().unwrap_or(""))]
pub struct ErrorBody {
    /// The error code.
    pub code: ErrorCode,
    /// A human-readable explanation, never parsed by Maelstrom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Any other fields the sender attached. Errors received as RPC replies have the
    /// protocol's `type`, `msg_id` and `in_reply_to` taken out.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Keys an error body writes before its extra fields.
const OWN_KEYS: [&str; 2] = ["code", "text"];
/// Keys a reply's body gets from elsewhere: `type` from [`ErrorReply`], the ids from the
/// encoder.
const REPLY_KEYS: [&str; 3] = ["type", "msg_id", "in_reply_to"];

impl ErrorBody {
    fn serialize_with_type<S: Serializer>(
        &self,
        serializer: S,
        kind: Option<&str>,
    ) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(kind) = kind {
            map.serialize_entry("type", kind)?;
        }
        map.serialize_entry("code", &self.code)?;
        if let Some(text) = &self.text {
            map.serialize_entry("text", text)?;
        }
        let reserved =
            |key: &str| OWN_KEYS.contains(&key) || (kind.is_some() && REPLY_KEYS.contains(&key));
        for (key, value) in self.extra.iter().filter(|(k, _)| !reserved(k)) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Serialize for ErrorBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_with_type(serializer, None)
    }
}

/// An error body as a reply's payload: `"type": "error"` first, and no extra field the
/// encoder is about to write as well.
pub(crate) struct ErrorReply<'a>(pub &'a ErrorBody);

impl Serialize for ErrorReply<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_with_type(serializer, Some("error"))
    }
}

impl ErrorBody {
    /// An error with a code and an explanation.
    pub fn new(code: ErrorCode, text: impl Into<String>) -> Self {
        ErrorBody {
            code,
            text: Some(text.into()),
            extra: Map::new(),
        }
    }

    /// Attaches an extra field to the error body (one named like a field the body writes
    /// itself is kept but never sent).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Error 10: this node does not implement the request's type.
    pub fn not_supported(text: impl Into<String>) -> Self {
        Self::new(ErrorCode::NOT_SUPPORTED, text)
    }

    /// Error 11: definitely not performed now.
    pub fn temporarily_unavailable(text: impl Into<String>) -> Self {
        Self::new(ErrorCode::TEMPORARILY_UNAVAILABLE, text)
    }

    /// Error 12: the request's fields could not be understood.
    pub fn malformed_request(text: impl Into<String>) -> Self {
        Self::new(ErrorCode::MALFORMED_REQUEST, text)
    }

    /// Error 13: an indefinite failure.
    pub fn crash(text: impl Into<String>) -> Self {
        Self::new(ErrorCode::CRASH, text)
    }

    /// Error 14: a definite failure.
    pub fn abort(text: impl Into<String>) -> Self {
        Self::new(ErrorCode::ABORT, text)
    }

    /// Error 0: what a caller sees when its RPC deadline passes with no reply. Indefinite,
    /// because the request may still have been applied.
    pub fn timeout(text: impl Into<String>) -> Self {
        Self::new(ErrorCode::TIMEOUT, text)
    }

    /// True when the error proves the operation did not take place.
    pub fn is_definite(&self) -> bool {
        self.code.is_definite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_and_definiteness() {
        let definite: Vec<u32> = ErrorCode::REGISTERED
            .iter()
            .filter(|c| c.is_definite())
            .map(|c| c.0)
            .collect();
        assert_eq!(definite, vec![1, 10, 11, 12, 14, 20, 21, 22, 30]);
        assert_eq!(ErrorCode(22).name(), "precondition-failed");
        assert_eq!(ErrorCode(5).name(), "unknown");
        assert!(!ErrorCode(1001).is_definite());
        assert!(ErrorCode(1001).is_custom());
        assert!(ErrorCode::REGISTERED.iter().all(|c| c.name() != "unknown"));
    }

    #[test]
    fn error_body_round_trips_with_extra_fields() {
        let body = ErrorBody::new(ErrorCode(1001), "custom").with("retry_after", 5);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": 1001, "text": "custom", "retry_after": 5})
        );
        let back: ErrorBody = serde_json::from_value(json).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn extra_fields_never_repeat_the_bodys_own_keys() {
        let body = ErrorBody::new(ErrorCode(22), "real")
            .with("code", 5)
            .with("text", "shadow")
            .with("type", "x")
            .with("hint", 1);
        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(text, r#"{"code":22,"text":"real","hint":1,"type":"x"}"#);
        let text = serde_json::to_string(&ErrorReply(&body.with("in_reply_to", 3))).unwrap();
        assert_eq!(text, r#"{"type":"error","code":22,"text":"real","hint":1}"#);
    }
}
