//! The wire format: one JSON object per line, `{"src","dest","body"}`, with the body carrying
//! `type`, `msg_id` and `in_reply_to`.
//!
//! Incoming lines are the [`decode`](crate::decode) module's business. Outgoing bodies are the
//! user's payload with the protocol ids spliced into the same JSON object, so no extra fields
//! ever appear.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A message id, unique per sender.
pub type MsgId = u64;

/// A message as it travels between endpoints, with a typed body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message<B> {
    /// Sending endpoint: a node (`n1`), a client (`c3`) or a service (`lin-kv`).
    pub src: String,
    /// Receiving endpoint.
    pub dest: String,
    /// The body: `type`, optional `msg_id`/`in_reply_to`, and the payload's fields.
    pub body: B,
}

/// Why an outgoing message could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The payload could not be serialized at all.
    #[error("payload could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    /// Bodies must be JSON objects so that `type` and the ids can live in them.
    #[error("payload must serialize to a JSON object, got `{0}`")]
    NotAnObject(String),
}

/// Appends one message line (ending in `\n`) to `out`.
///
/// The payload is serialized in place and `msg_id` / `in_reply_to` are inserted before its
/// closing brace, which avoids building an intermediate map. On error `out` is left as it was.
pub fn encode_line<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    src: &str,
    dest: &str,
    payload: &P,
    msg_id: Option<MsgId>,
    in_reply_to: Option<MsgId>,
) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_into(out, src, dest, payload, msg_id, in_reply_to);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_into<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    src: &str,
    dest: &str,
    payload: &P,
    msg_id: Option<MsgId>,
    in_reply_to: Option<MsgId>,
) -> Result<(), EncodeError> {
    out.extend_from_slice(b"{\"src\":");
    serde_json::to_writer(&mut *out, src)?;
    out.extend_from_slice(b",\"dest\":");
    serde_json::to_writer(&mut *out, dest)?;
    out.extend_from_slice(b",\"body\":");
    let body_start = out.len();
    serde_json::to_writer(&mut *out, payload)?;
    let body = &out[body_start..];
    if body.first() != Some(&b'{') || body.last() != Some(&b'}') {
        return Err(EncodeError::NotAnObject(
            String::from_utf8_lossy(body).into_owned(),
        ));
    }
    let empty = body.len() == 2;
    out.pop();
    let mut first = empty;
    let mut push_id = |out: &mut Vec<u8>, key: &[u8], id: MsgId| {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(key);
        let mut digits = itoa_buf(id);
        out.append(&mut digits);
    };
    if let Some(id) = msg_id {
        push_id(out, b"\"msg_id\":", id);
    }
    if let Some(id) = in_reply_to {
        push_id(out, b"\"in_reply_to\":", id);
    }
    out.extend_from_slice(b"}}\n");
    Ok(())
}

fn itoa_buf(mut n: u64) -> Vec<u8> {
    let mut digits = Vec::with_capacity(20);
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    digits
}

/// Shortens a line for log messages, keeping it on one line and valid UTF-8.
pub fn shorten(line: &str, max: usize) -> Cow<'_, str> {
    if line.len() <= max {
        return Cow::Borrowed(line);
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}... ({} bytes)", &line[..end], line.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn encode(payload: &Value, msg_id: Option<u64>, irt: Option<u64>) -> Value {
        let mut out = Vec::new();
        encode_line(&mut out, "n1", "c2", payload, msg_id, irt).unwrap();
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn ids_are_spliced_into_the_body() {
        let v = encode(
            &json!({"type": "echo_ok", "echo": [1, {"a": 2}]}),
            Some(7),
            Some(3),
        );
        assert_eq!(
            v,
            json!({"src": "n1", "dest": "c2", "body":
                {"type": "echo_ok", "echo": [1, {"a": 2}], "msg_id": 7, "in_reply_to": 3}})
        );
        let v = encode(&json!({"type": "x"}), None, None);
        assert_eq!(v["body"], json!({"type": "x"}));
        let v = encode(&json!({}), None, Some(0));
        assert_eq!(v["body"], json!({"in_reply_to": 0}));
        let v = encode(&json!({}), Some(u64::MAX), None);
        assert_eq!(v["body"], json!({"msg_id": u64::MAX}));
    }

    #[test]
    fn non_object_payloads_are_refused_and_leave_no_trace() {
        let mut out = b"keep".to_vec();
        let err = encode_line(&mut out, "a", "b", &json!([1, 2]), None, None).unwrap_err();
        assert!(matches!(err, EncodeError::NotAnObject(_)));
        assert_eq!(out, b"keep");
    }

    #[test]
    fn shorten_respects_char_boundaries() {
        assert_eq!(shorten("abc", 5), "abc");
        let s = shorten("ééééé", 3);
        assert!(s.starts_with("é..."), "{s}");
    }
}
