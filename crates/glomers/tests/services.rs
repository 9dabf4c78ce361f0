//! The node library's service clients against the workbench's real services: the requests
//! `maelstrom::services` builds are understood, and its decoders read the replies.

#![allow(clippy::unwrap_used)]

use glomers::client::{match_reply, RpcError};
use glomers::services::{self, Service};
use maelstrom::services::{
    cas_outcome, read_value, timestamp, write_done, CasOutcome, KvRequest, RawResult,
};
use maelstrom::{ErrorBody, ErrorCode};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// The four services as a run holds them, and one client's message ids.
struct Harness {
    services: Vec<Box<dyn Service>>,
    next_msg_id: u64,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            services: services::all(7),
            next_msg_id: 1,
        }
    }

    /// Sends what the library would send and hands the reply back as the library sees it.
    fn call(&mut self, service: &str, request: &impl Serialize) -> RawResult {
        let Value::Object(mut body) = serde_json::to_value(request).unwrap() else {
            panic!("not an object")
        };
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        body.insert("msg_id".into(), msg_id.into());
        let endpoint = self
            .services
            .iter_mut()
            .find(|s| s.name() == service)
            .unwrap();
        let reply = services::answer(endpoint.as_mut(), "c0", &Value::Object(body).to_string())
            .unwrap_or_else(|why| panic!("{service}: {why}"));
        match match_reply(&reply, msg_id).expect("a reply to the request") {
            Ok(reply) => Ok(Value::Object(reply)),
            Err(RpcError::Error { code, text }) => Err(ErrorBody {
                code,
                text,
                extra: Map::new(),
            }),
            Err(other) => panic!("{service}: {other}"),
        }
    }
}

#[test]
fn lin_kv_read_write_cas_through_the_library_encoding() {
    let mut h = Harness::new();
    let key = "counter";
    let r = h.call("lin-kv", &KvRequest::Read::<'_, str, i64> { key });
    assert_eq!(read_value::<i64>(r), Ok(None));
    let r = h.call(
        "lin-kv",
        &KvRequest::Cas {
            key,
            from: &0,
            to: &1,
            create_if_not_exists: false,
        },
    );
    assert_eq!(cas_outcome(r), Ok(CasOutcome::KeyMissing));
    let r = h.call(
        "lin-kv",
        &KvRequest::Cas {
            key,
            from: &0,
            to: &1,
            create_if_not_exists: true,
        },
    );
    assert_eq!(cas_outcome(r), Ok(CasOutcome::Swapped));
    let r = h.call(
        "lin-kv",
        &KvRequest::Cas {
            key,
            from: &0,
            to: &2,
            create_if_not_exists: false,
        },
    );
    assert_eq!(cas_outcome(r), Ok(CasOutcome::ValueDiffers));
    let r = h.call("lin-kv", &KvRequest::Write { key, value: &5 });
    assert_eq!(write_done(r), Ok(()));
    let r = h.call("lin-kv", &KvRequest::Read::<'_, str, i64> { key });
    assert_eq!(read_value::<i64>(r), Ok(Some(5)));
}

#[test]
fn seq_kv_and_lww_kv_and_lin_tso() {
    let mut h = Harness::new();
    let r = h.call(
        "seq-kv",
        &KvRequest::Write {
            key: "k",
            value: &json!([1, 2]),
        },
    );
    assert_eq!(write_done(r), Ok(()));
    // After its own write this client reads the newest state.
    let r = h.call("seq-kv", &KvRequest::Read::<'_, str, Value> { key: "k" });
    assert_eq!(read_value::<Value>(r), Ok(Some(json!([1, 2]))));
    // lww-kv never creates on cas.
    let r = h.call(
        "lww-kv",
        &KvRequest::Cas {
            key: "k",
            from: &0,
            to: &1,
            create_if_not_exists: true,
        },
    );
    assert_eq!(cas_outcome(r), Ok(CasOutcome::KeyMissing));
    let first = timestamp(h.call("lin-tso", &json!({"type": "ts"}))).unwrap();
    let second = timestamp(h.call("lin-tso", &json!({"type": "ts"}))).unwrap();
    assert_eq!((first, second), (0, 1));
    // A hand-written body works too: the services take any JSON key and value.
    let written = h.call("lin-kv", &json!({"type": "write", "key": "k", "value": 1}));
    assert_eq!(write_done(written), Ok(()));
    let error =
        read_value::<i64>(h.call("lin-kv", &KvRequest::Read::<'_, str, i64> { key: "absent" }));
    assert_eq!(error, Ok(None));
    assert_eq!(ErrorCode::KEY_DOES_NOT_EXIST.name(), "key-does-not-exist");
}
