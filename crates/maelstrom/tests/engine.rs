//! The library's protocol behaviour, driven through the test kit on virtual time.

#![allow(clippy::unwrap_used)]

use maelstrom::services::{LIN_KV, LIN_TSO, SEQ_KV};
use maelstrom::testkit::{MemKv, TestNode};
use maelstrom::{Context, Engine, ErrorBody, ErrorCode, Init, Node, Request, TimerId};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Payload {
    /// Ask a peer something and report the outcome to the client later.
    Ask { peer: String, timeout_ms: u64 },
    /// Set a timer.
    Remind { after_ms: u64, label: String },
    /// Cancel the last timer.
    Forget,
    /// Fail on purpose with the given code.
    Refuse { code: u32 },
    /// A peer's question.
    Question,
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Answered(Value),
    Failed(ErrorBody),
}

#[derive(Default)]
struct Prober {
    outcomes: Vec<(String, Outcome)>,
    fired: Vec<(Duration, String)>,
    last_timer: Option<TimerId>,
    inits_seen_peers: Vec<String>,
}

impl Node for Prober {
    type Payload = Payload;
    type Timer = String;
    type Token = (String, Outcome);

    fn from_init(_init: &Init, ctx: &mut Context<Self>) -> Self {
        Prober {
            inits_seen_peers: ctx.peers().map(str::to_owned).collect(),
            ..Default::default()
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        r: Request<Payload>,
    ) -> Result<(), ErrorBody> {
        match r.payload {
            Payload::Ask {
                ref peer,
                timeout_ms,
            } => {
                let peer = peer.clone();
                let question = json!({"type": "question"});
                ctx.rpc(
                    &peer.clone(),
                    &question,
                    Duration::from_millis(timeout_ms),
                    |result| (peer, result.map_or_else(Outcome::Failed, Outcome::Answered)),
                );
            }
            Payload::Remind {
                after_ms,
                ref label,
            } => {
                self.last_timer =
                    Some(ctx.set_timer(Duration::from_millis(after_ms), label.clone()));
            }
            Payload::Forget => {
                if let Some(id) = self.last_timer.take() {
                    ctx.cancel_timer(id);
                }
            }
            Payload::Refuse { code } => return Err(ErrorBody::new(ErrorCode(code), "refused")),
            Payload::Question => ctx.reply(&r, &json!({"type": "answer", "n": 42})),
        }
        Ok(())
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>, label: String) {
        self.fired.push((ctx.now(), label));
    }

    fn on_reply(&mut self, _ctx: &mut Context<Self>, peer_and_outcome: (String, Outcome)) {
        self.outcomes.push(peer_and_outcome);
    }
}

fn node() -> TestNode<Prober> {
    TestNode::new("n1", &["n0", "n1", "n2"])
}

#[test]
fn init_gives_ids_and_peers() {
    let node = node();
    assert_eq!(node.context().node_id(), "n1");
    assert_eq!(node.node().inits_seen_peers, ["n0", "n2"]);
}

#[test]
fn messages_before_init_get_error_11_from_their_dest_and_init_still_works() {
    let mut node = TestNode::<Prober>::uninitialised_at("n0", 3);
    node.deliver("n2", json!({"type": "question", "msg_id": 5}));
    node.deliver("n2", json!({"type": "question"}));
    let sent = node.take_sent();
    assert_eq!(
        sent.len(),
        1,
        "only the request with a msg_id can be answered"
    );
    assert_eq!((sent[0].src.as_str(), sent[0].dest.as_str()), ("n0", "n2"));
    assert_eq!(
        sent[0].body,
        json!({"type": "error", "code": 11, "text": "node has not received init yet", "in_reply_to": 5})
    );
    node.deliver(
        "c0",
        json!({"type": "init", "msg_id": 1, "node_id": "n0", "node_ids": ["n0"]}),
    );
    let sent = node.take_sent();
    assert_eq!(sent[0].src, "n0");
    assert_eq!(sent[0].body, json!({"type": "init_ok", "in_reply_to": 1}));
}

#[test]
fn messages_before_init_that_name_no_dest_go_unanswered() {
    let mut node = TestNode::<Prober>::uninitialised(3);
    node.deliver("n2", json!({"type": "question", "msg_id": 5}));
    for line in [
        r#"{"src":"n2","body":{"type":"question","msg_id":6}}"#,
        r#"{"src":"n2","dest":null,"body":{"type":"question","msg_id":7}}"#,
        r#"{"src":"n2","dest":3,"body":{"type":"question","msg_id":8}}"#,
        r#"{"src":"c0","dest":"","body":{"type":"init","msg_id":9,"node_id":3}}"#,
    ] {
        node.deliver_line(line);
    }
    assert!(node.take_sent().is_empty());
    // Whatever the dest, nothing ever leaves with an empty src.
    node.deliver_line(r#"{"src":"n2","dest":"n7","body":{"type":"question","msg_id":10}}"#);
    let sent = node.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].src, "n7");
}

#[test]
fn malformed_init_gets_error_12_from_its_dest() {
    let mut node = TestNode::<Prober>::uninitialised_at("n0", 0);
    node.deliver("c0", json!({"type": "init", "msg_id": 1, "node_id": 3}));
    node.deliver(
        "c0",
        json!({"type": "init", "msg_id": 2, "node_id": "", "node_ids": [""]}),
    );
    let sent = node.take_sent();
    assert_eq!(sent.len(), 2);
    for (m, id) in sent.iter().zip([1, 2]) {
        assert_eq!((m.src.as_str(), m.dest.as_str()), ("n0", "c0"));
        assert_eq!(
            (&m.body["code"], &m.body["in_reply_to"]),
            (&json!(12), &json!(id))
        );
    }
    assert!(node.context().node_id().is_empty());
}

#[test]
fn a_second_init_is_answered_and_changes_nothing() {
    let mut node = node();
    node.request(
        "c1",
        json!({"type": "ask", "peer": "n0", "timeout_ms": 100}),
    );
    node.request(
        "c1",
        json!({"type": "remind", "after_ms": 50, "label": "kept"}),
    );
    node.take_sent();
    let id = node.request(
        "c9",
        json!({"type": "init", "node_id": "n2", "node_ids": ["n2", "n5"]}),
    );
    let sent = node.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].src.as_str(), sent[0].dest.as_str()), ("n1", "c9"));
    assert_eq!(sent[0].body, json!({"type": "init_ok", "in_reply_to": id}));
    // The same node: its ids, its peers, its pending RPC and timer.
    assert_eq!(node.context().node_id(), "n1");
    assert_eq!(node.context().node_ids(), ["n0", "n1", "n2"]);
    assert_eq!(node.node().inits_seen_peers, ["n0", "n2"]);
    assert_eq!(node.context().pending_rpcs(), 1);
    node.advance(Duration::from_millis(50));
    assert_eq!(
        node.node().fired,
        [(Duration::from_millis(50), "kept".into())]
    );
    // A malformed second init is refused like any malformed request.
    let id = node.request("c9", json!({"type": "init", "node_id": 7}));
    let sent = node.take_sent();
    assert_eq!(sent[0].src, "n1");
    assert_eq!(
        (&sent[0].body["code"], &sent[0].body["in_reply_to"]),
        (&json!(12), &json!(id))
    );
}

#[test]
fn a_type_that_is_not_a_string_gets_error_12() {
    let mut node = node();
    let cases = [
        (json!(5), "body's type is not a string"),
        (json!(["question"]), "body's type is not a string"),
        (json!({"type": "question"}), "body's type is not a string"),
        (json!(null), "body has no type field"),
    ];
    for (ty, text) in cases {
        let id = node.request("c1", json!({"type": ty}));
        let sent = node.take_sent();
        assert_eq!(sent.len(), 1, "type {ty}");
        assert_eq!(
            sent[0].body,
            json!({"type": "error", "code": 12, "text": text, "in_reply_to": id}),
            "type {ty}"
        );
    }
}

#[test]
fn rpc_reply_reaches_the_token_and_clears_the_pending_entry() {
    let mut node = node();
    node.request(
        "c1",
        json!({"type": "ask", "peer": "n2", "timeout_ms": 100}),
    );
    let sent = node.take_sent();
    assert_eq!(sent[0].dest, "n2");
    let msg_id = sent[0].body["msg_id"].as_u64().unwrap();
    assert_eq!(node.context().pending_rpcs(), 1);
    node.deliver(
        "n2",
        json!({"type": "answer", "n": 1, "in_reply_to": msg_id}),
    );
    assert_eq!(node.context().pending_rpcs(), 0);
    assert_eq!(
        node.node().outcomes,
        [(
            "n2".into(),
            Outcome::Answered(json!({"type": "answer", "n": 1, "in_reply_to": msg_id}))
        )]
    );
    // A duplicate (late) reply is dropped, not fatal.
    node.deliver(
        "n2",
        json!({"type": "answer", "n": 1, "in_reply_to": msg_id}),
    );
    assert_eq!(node.node().outcomes.len(), 1);
    assert!(node.take_sent().is_empty());
}

#[test]
fn rpc_timeout_is_an_indefinite_code_0_and_late_replies_are_dropped() {
    let mut node = node();
    node.request(
        "c1",
        json!({"type": "ask", "peer": "n0", "timeout_ms": 100}),
    );
    let msg_id = node.take_sent()[0].body["msg_id"].as_u64().unwrap();
    node.advance(Duration::from_millis(99));
    assert!(node.node().outcomes.is_empty());
    node.advance(Duration::from_millis(1));
    let (peer, outcome) = &node.node().outcomes[0];
    assert_eq!(peer, "n0");
    let Outcome::Failed(e) = outcome else {
        panic!("expected a timeout, got {outcome:?}")
    };
    assert_eq!(e.code, ErrorCode::TIMEOUT);
    assert!(!e.is_definite());
    assert_eq!(node.context().pending_rpcs(), 0);
    node.deliver("n0", json!({"type": "answer", "in_reply_to": msg_id}));
    assert_eq!(node.node().outcomes.len(), 1);
}

#[test]
fn error_replies_arrive_as_errors_with_extra_fields() {
    let mut node = node();
    node.request(
        "c1",
        json!({"type": "ask", "peer": "n0", "timeout_ms": 100}),
    );
    let msg_id = node.take_sent()[0].body["msg_id"].as_u64().unwrap();
    node.deliver(
        "n0",
        json!({"type": "error", "code": 1001, "text": "nope", "hint": [1], "in_reply_to": msg_id}),
    );
    let Outcome::Failed(e) = &node.node().outcomes[0].1 else {
        panic!()
    };
    assert_eq!(e.code, ErrorCode(1001));
    assert_eq!(e.extra["hint"], json!([1]));
}

#[test]
fn message_ids_are_unique_and_increasing() {
    let mut node = node();
    for _ in 0..5 {
        node.request(
            "c1",
            json!({"type": "ask", "peer": "n0", "timeout_ms": 100}),
        );
    }
    let ids: Vec<u64> = node
        .take_sent()
        .iter()
        .map(|m| m.body["msg_id"].as_u64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[test]
fn timers_fire_in_deadline_order_at_their_deadlines_and_can_be_cancelled() {
    let mut node = node();
    node.request(
        "c1",
        json!({"type": "remind", "after_ms": 300, "label": "late"}),
    );
    node.request(
        "c1",
        json!({"type": "remind", "after_ms": 100, "label": "early"}),
    );
    node.request(
        "c1",
        json!({"type": "remind", "after_ms": 200, "label": "cancelled"}),
    );
    node.request("c1", json!({"type": "forget"}));
    node.advance(Duration::from_secs(1));
    assert_eq!(
        node.node().fired,
        [
            (Duration::from_millis(100), "early".into()),
            (Duration::from_millis(300), "late".into())
        ]
    );
}

#[test]
fn handler_errors_and_bad_requests_get_the_right_codes() {
    let mut node = node();
    let a = node.request("c1", json!({"type": "refuse", "code": 14}));
    let b = node.request("c1", json!({"type": "nonsense"}));
    let c = node.request(
        "c1",
        json!({"type": "remind", "after_ms": "soon", "label": "x"}),
    );
    let d = node.request("c1", json!({"no_type": true}));
    node.deliver_line(r#"{"src":"c1","dest":"n1","body":{"type":"refuse","msg_id":"#);
    node.deliver_line("");
    node.deliver_line(r#"{"src":"c1","dest":"n1","body":{"type":"refuse","msg_id":"seven"}}"#);
    let sent = node.take_sent();
    let codes: Vec<(u64, u64)> = sent
        .iter()
        .map(|m| {
            (
                m.body["in_reply_to"].as_u64().unwrap(),
                m.body["code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(codes, [(a, 14), (b, 10), (c, 12), (d, 12)]);
    assert!(sent
        .iter()
        .all(|m| m.body["type"] == "error" && m.dest == "c1"));
}

#[test]
fn same_seed_same_randomness() {
    use rand::Rng;
    struct Roller(u64);
    impl Node for Roller {
        type Payload = Payload;
        type Timer = ();
        type Token = ();
        fn from_init(_: &Init, ctx: &mut Context<Self>) -> Self {
            Roller(ctx.rng().gen())
        }
        fn on_message(
            &mut self,
            _: &mut Context<Self>,
            _: Request<Payload>,
        ) -> Result<(), ErrorBody> {
            Ok(())
        }
    }
    let roll = |seed, id| {
        TestNode::<Roller>::with_seed(id, &["n0", "n1"], seed)
            .node()
            .0
    };
    assert_eq!(roll(7, "n0"), roll(7, "n0"));
    assert_ne!(roll(7, "n0"), roll(7, "n1"));
    assert_ne!(roll(7, "n0"), roll(8, "n0"));
}

/// A node that drives the service clients, one call per request.
#[derive(Default)]
struct KvUser {
    results: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KvCall {
    Read {
        key: Value,
    },
    Write {
        key: Value,
        value: Value,
    },
    Cas {
        key: Value,
        from: Value,
        to: Value,
        create: bool,
    },
    Ts,
}

/// Each call's outcome, as the service clients decode it, said in one line.
struct KvToken(String);

fn said<T: std::fmt::Debug>(call: &'static str) -> impl FnOnce(Result<T, ErrorBody>) -> KvToken {
    move |outcome| KvToken(format!("{call} {:?}", outcome.map_err(|e| e.code.0)))
}

impl Node for KvUser {
    type Payload = KvCall;
    type Timer = ();
    type Token = KvToken;
    fn from_init(_: &Init, _: &mut Context<Self>) -> Self {
        KvUser::default()
    }
    fn on_message(&mut self, ctx: &mut Context<Self>, r: Request<KvCall>) -> Result<(), ErrorBody> {
        let t = Duration::from_secs(1);
        match &r.payload {
            KvCall::Read { key } => LIN_KV.read(ctx, key, t, said::<Option<Value>>("read")),
            KvCall::Write { key, value } => LIN_KV.write(ctx, key, value, t, said("write")),
            KvCall::Cas {
                key,
                from,
                to,
                create,
            } => LIN_KV.cas(ctx, key, from, to, *create, t, said("cas")),
            KvCall::Ts => LIN_TSO.ts(ctx, t, said("ts")),
        };
        Ok(())
    }
    fn on_reply(&mut self, _: &mut Context<Self>, KvToken(text): KvToken) {
        self.results.push(text);
    }
}

#[test]
fn kv_and_tso_clients_against_an_in_memory_service() {
    let mut node = TestNode::<KvUser>::new("n0", &["n0"]);
    let mut kv = MemKv::new("lin-kv");
    let mut tso = MemKv::new("lin-tso");
    let calls = [
        json!({"type": "read", "key": "x"}),
        json!({"type": "cas", "key": "x", "from": 1, "to": 2, "create": false}),
        json!({"type": "cas", "key": "x", "from": 1, "to": 2, "create": true}),
        json!({"type": "cas", "key": "x", "from": 1, "to": 3, "create": false}),
        json!({"type": "cas", "key": "x", "from": 2, "to": 3, "create": false}),
        json!({"type": "write", "key": "y", "value": [1, 2]}),
        json!({"type": "read", "key": "y"}),
    ];
    for call in calls {
        node.request("c1", call);
        assert_eq!(kv.serve(&mut node), 1);
    }
    node.request("c1", json!({"type": "ts"}));
    node.request("c1", json!({"type": "ts"}));
    tso.serve(&mut node);
    assert_eq!(
        node.node().results,
        [
            "read Ok(None)",
            "cas Ok(KeyMissing)",
            "cas Ok(Swapped)",
            "cas Ok(ValueDiffers)",
            "cas Ok(Swapped)",
            "write Ok(())",
            "read Ok(Some(Array [Number(1), Number(2)]))",
            "ts Ok(0)",
            "ts Ok(1)",
        ]
    );
    assert_eq!(kv.get(&json!("x")), Some(&json!(3)));
    assert_eq!(SEQ_KV.name(), "seq-kv");
}

#[test]
fn cas_request_omits_create_flag_unless_set() {
    let mut node = TestNode::<KvUser>::new("n0", &["n0"]);
    node.request(
        "c1",
        json!({"type": "cas", "key": "k", "from": 1, "to": 2, "create": false}),
    );
    node.request(
        "c1",
        json!({"type": "cas", "key": "k", "from": 1, "to": 2, "create": true}),
    );
    let sent = node.take_sent();
    assert_eq!(sent[0].dest, "lin-kv");
    assert_eq!(
        sent[0].body,
        json!({"type": "cas", "key": "k", "from": 1, "to": 2, "msg_id": 1})
    );
    assert_eq!(sent[1].body["create_if_not_exists"], true);
}

/// Relays a request to a peer and the peer's answer, error or not, back to the client.
struct Relay;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RelayCall {
    Relay { peer: String },
    Fail,
}

impl Node for Relay {
    type Payload = RelayCall;
    type Timer = ();
    type Token = (String, Option<u64>, Result<Value, ErrorBody>);
    fn from_init(_: &Init, _: &mut Context<Self>) -> Self {
        Relay
    }
    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        r: Request<RelayCall>,
    ) -> Result<(), ErrorBody> {
        match r.payload {
            RelayCall::Relay { ref peer } => {
                let (client, id) = (r.src.clone(), r.msg_id);
                let question = json!({"type": "question"});
                ctx.rpc(peer, &question, Duration::from_secs(1), move |result| {
                    (client, id, result)
                });
                Ok(())
            }
            RelayCall::Fail => Err(ErrorBody::new(ErrorCode(1001), "own")
                .with("type", "x")
                .with("code", 5)
                .with("text", "shadow")
                .with("msg_id", 1)
                .with("in_reply_to", 2)
                .with("hint", true)),
        }
    }
    fn on_reply(&mut self, ctx: &mut Context<Self>, (client, id, result): Self::Token) {
        match result {
            Ok(_) => ctx.reply_to(&client, id, &json!({"type": "relayed"})),
            Err(e) => ctx.reply_error(&client, id, &e),
        }
    }
}

/// Checks that no object in a JSON text has a key twice, at any depth.
struct UniqueKeys;

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("`{key}` twice")));
            }
            map.next_value_seed(UniqueKeys)?;
        }
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(UniqueKeys)?.is_some() {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The engine's output since the last call, one body per line, each checked for repeated
/// keys on the raw text (parsing into a `Value` first would hide them).
fn take_bodies<N: Node>(engine: &mut Engine<N>) -> Vec<Value> {
    let out = std::mem::take(engine.output());
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let text = std::str::from_utf8(l).unwrap();
            let mut de = serde_json::Deserializer::from_str(text);
            serde::de::DeserializeSeed::deserialize(UniqueKeys, &mut de)
                .unwrap_or_else(|e| panic!("{e} in {text}"));
            serde_json::from_str::<Value>(text).unwrap()["body"].clone()
        })
        .collect()
}

#[test]
fn relayed_and_returned_errors_put_each_key_on_the_wire_once() {
    let mut engine = Engine::<Relay>::new(0);
    let t = Duration::ZERO;
    engine.handle_line(
        r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1"]}}"#,
        t,
    );
    take_bodies(&mut engine);
    engine.handle_line(
        r#"{"src":"c1","dest":"n0","body":{"type":"relay","peer":"n1","msg_id":4}}"#,
        t,
    );
    let rpc = take_bodies(&mut engine)[0]["msg_id"].as_u64().unwrap();
    // The peer's error carries its own ids, and a code given twice (the last counts).
    engine.handle_line(
        &format!(
            r#"{{"src":"n1","dest":"n0","body":{{"type":"error","code":1,"code":22,"text":"no","in_reply_to":{rpc},"msg_id":99,"hint":1}}}}"#
        ),
        t,
    );
    assert_eq!(
        take_bodies(&mut engine),
        [json!({"type": "error", "code": 22, "text": "no", "hint": 1, "in_reply_to": 4})]
    );
    // A handler's error whose extra fields shadow every key the reply writes itself.
    engine.handle_line(
        r#"{"src":"c1","dest":"n0","body":{"type":"fail","msg_id":5}}"#,
        t,
    );
    assert_eq!(
        take_bodies(&mut engine),
        [json!({"type": "error", "code": 1001, "text": "own", "hint": true, "in_reply_to": 5})]
    );
}
