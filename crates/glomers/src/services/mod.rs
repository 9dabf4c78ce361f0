//! Maelstrom's built-in services (jepsen-io/maelstrom, `src/maelstrom/service.clj`,
//! `default-services` and `service-thread`): `lin-kv`, `seq-kv`, `lww-kv` and `lin-tso`,
//! present in every run.
//!
//! Each service is an endpoint of the network with one consumer, as a node is: it takes
//! requests in deadline order (latency and head-of-line as for nodes; partitions never
//! apply to services), handles each atomically, and replies with `in_reply_to` and no
//! `msg_id` ([`crate::model::run`] runs them).
//! The consistency logic lives in pure state machines, one file each, unit-tested directly.

pub mod kv;
pub mod lww_kv;
pub mod seq_kv;
pub mod tso;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde_json::{Map, Value};

/// A service: one request body in, the reply body (without `in_reply_to`) out, or nothing
/// for requests it does not understand (the caller then times out, as upstream).
pub trait Service: Send {
    /// The endpoint id.
    fn name(&self) -> &'static str;
    /// Handles one request from `src`.
    fn handle(&mut self, src: &str, body: &Map<String, Value>) -> Option<Value>;
}

/// The four services, with their randomness drawn from `seed`.
pub fn all(seed: u64) -> Vec<Box<dyn Service>> {
    vec![
        Box::new(kv::LinKv::default()),
        Box::new(seq_kv::SeqKv::new(Pcg64Mcg::seed_from_u64(seed))),
        Box::new(lww_kv::LwwKv::new(Pcg64Mcg::seed_from_u64(
            seed.wrapping_add(1),
        ))),
        Box::new(tso::LinTso::default()),
    ]
}

/// A service's answer to one request body from `src`: the reply body, with `in_reply_to`
/// set to the request's `msg_id`; or why there is none (the caller then times out).
pub fn answer(service: &mut dyn Service, src: &str, body: &str) -> Result<String, String> {
    let Ok(Value::Object(request)) = serde_json::from_str::<Value>(body) else {
        return Err(format!(
            "ignoring a request whose body is not an object: {body}"
        ));
    };
    let Some(mut reply) = service.handle(src, &request) else {
        return Err(format!(
            "no reply to an unsupported request from {src}: {body}"
        ));
    };
    reply["in_reply_to"] = request.get("msg_id").cloned().unwrap_or(Value::Null);
    Ok(reply.to_string())
}

/// Clojure's `pr-str` rendering of a JSON value, used in error texts: strings quoted,
/// `null` as `nil`, arrays as `[1 2 3]`.
pub fn pr_str(value: &Value) -> String {
    match value {
        Value::Null => "nil".into(),
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(pr_str).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{} {}", pr_str(&Value::String(k.clone())), pr_str(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// An error reply body.
pub fn error(code: u32, text: String) -> Value {
    serde_json::json!({"type": "error", "code": code, "text": text})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pr_str_renders_like_clojure() {
        assert_eq!(pr_str(&json!(null)), "nil");
        assert_eq!(pr_str(&json!("a")), "\"a\"");
        assert_eq!(pr_str(&json!([1, [2, "x"]])), "[1 [2 \"x\"]]");
        assert_eq!(pr_str(&json!({"a": 1})), "{\"a\" 1}");
        assert_eq!(pr_str(&json!(1.5)), "1.5");
    }
}
