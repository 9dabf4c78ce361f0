//! The fast decoder and the reference decoder must read every line the same way: chosen
//! cases first (null ids, duplicated keys, odd types), then a seeded stream of generated and
//! mutated lines.

#![allow(clippy::unwrap_used)]

use maelstrom::decode::{decode_line, decode_line_reference, decode_line_with, Dest, Incoming};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt::Debug;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
enum F {
    #[serde(rename = "r")]
    R,
    #[serde(rename = "w")]
    W,
}

/// A payload like the challenges': internally tagged, with a nested enum and a field that
/// shares a protocol key's name.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum P {
    Echo {
        echo: Value,
    },
    Add {
        delta: u64,
    },
    ReadOk {
        value: i64,
    },
    Txn {
        txn: Vec<(F, Value, Value)>,
    },
    Tagged {
        #[serde(default)]
        msg_id: Option<u64>,
        n: u32,
    },
}

/// A payload that is a plain struct rather than an enum.
#[derive(Debug, PartialEq, Deserialize)]
struct Plain {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    n: Option<i64>,
}

/// Decodes `line` both ways, insists they agree (also when `dest` is dropped), and returns
/// the result.
fn both<Q: DeserializeOwned + PartialEq + Debug>(line: &str) -> Incoming<Q> {
    let fast = decode_line::<Q>(line);
    let reference = decode_line_reference::<Q>(line);
    assert_eq!(fast, reference, "the decoders disagree on {line}");
    let mut without_dest = decode_line_reference::<Q>(line);
    if let Incoming::Request { dest, .. } | Incoming::Init { dest, .. } = &mut without_dest {
        *dest = None;
    }
    assert_eq!(
        decode_line_with::<Q>(line, Dest::Drop),
        without_dest,
        "dropping dest changes more than dest on {line}"
    );
    fast
}

fn request(line: &str) -> (String, Option<u64>, String, Result<P, u32>) {
    match both::<P>(line) {
        Incoming::Request {
            src,
            msg_id,
            kind,
            payload,
            ..
        } => (src, msg_id, kind, payload.map_err(|e| e.code.0)),
        other => panic!("expected a request from {line}, got {other:?}"),
    }
}

fn line(body: &str) -> String {
    format!(r#"{{"src":"c1","dest":"n0","body":{body}}}"#)
}

#[test]
fn null_ids_are_absent_ids() {
    let (_, id, _, p) = request(&line(r#"{"type":"echo","msg_id":null,"echo":1}"#));
    assert_eq!((id, p), (None, Ok(P::Echo { echo: json!(1) })));
    let (_, id, _, p) = request(&line(
        r#"{"type":"echo","msg_id":4,"in_reply_to":null,"echo":1}"#,
    ));
    assert_eq!((id, p), (Some(4), Ok(P::Echo { echo: json!(1) })));
    // With a null in_reply_to, a reply-looking body is a request.
    let (_, _, kind, p) = request(&line(r#"{"type":"read_ok","in_reply_to":null,"value":3}"#));
    assert_eq!((kind.as_str(), p), ("read_ok", Ok(P::ReadOk { value: 3 })));
    // A payload that reads `msg_id` itself sees the same as the protocol.
    let (_, id, _, p) = request(&line(r#"{"type":"tagged","msg_id":null,"n":1}"#));
    assert_eq!((id, p), (None, Ok(P::Tagged { msg_id: None, n: 1 })));
    let (_, id, _, p) = request(&line(r#"{"type":"tagged","msg_id":6,"n":1}"#));
    assert_eq!(
        (id, p),
        (
            Some(6),
            Ok(P::Tagged {
                msg_id: Some(6),
                n: 1
            })
        )
    );
    assert!(matches!(
        both::<P>(&line(
            r#"{"type":"init","msg_id":null,"node_id":"n0","node_ids":["n0"]}"#
        )),
        Incoming::Init {
            msg_id: None,
            init: Ok(_),
            ..
        }
    ));
}

#[test]
fn duplicated_keys_count_with_their_last_value() {
    let (src, ..) =
        request(r#"{"src":"x","src":"c1","dest":"n0","body":{"type":"add","delta":1}}"#);
    assert_eq!(src, "c1");
    match both::<P>(r#"{"src":"c1","dest":"a","dest":"n0","body":{"type":"add","delta":1}}"#) {
        Incoming::Request { dest, .. } => assert_eq!(dest.as_deref(), Some("n0")),
        other => panic!("{other:?}"),
    }
    // A second body replaces the first, ids included.
    let (_, id, _, p) = request(
        r#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":9,"echo":1},"body":{"type":"echo","echo":2}}"#,
    );
    assert_eq!((id, p), (None, Ok(P::Echo { echo: json!(2) })));
    let (_, id, _, p) = request(
        r#"{"src":"c1","dest":"n0","body":{"type":"x","in_reply_to":1},"body":{"type":"add","delta":2,"msg_id":3}}"#,
    );
    assert_eq!((id, p), (Some(3), Ok(P::Add { delta: 2 })));
    let (_, id, kind, p) = request(&line(r#"{"type":"zap","type":"add","msg_id":1,"delta":3}"#));
    assert_eq!(
        (id, kind.as_str(), p),
        (Some(1), "add", Ok(P::Add { delta: 3 }))
    );
    let (_, id, _, p) = request(&line(
        r#"{"type":"add","msg_id":1,"msg_id":2,"delta":1,"delta":5}"#,
    ));
    assert_eq!((id, p), (Some(2), Ok(P::Add { delta: 5 })));
    let (_, id, ..) = request(&line(
        r#"{"type":"add","msg_id":1,"msg_id":null,"delta":1}"#,
    ));
    assert_eq!(id, None);
    let (_, _, _, p) = request(&line(r#"{"type":"echo","echo":{"a":1,"a":2}}"#));
    assert_eq!(
        p,
        Ok(P::Echo {
            echo: json!({"a": 2})
        })
    );
    let (.., p) = request(&line(
        r#"{"type":"add","in_reply_to":3,"in_reply_to":null,"delta":1}"#,
    ));
    assert_eq!(p, Ok(P::Add { delta: 1 }));
    assert!(matches!(
        both::<P>(&line(
            r#"{"type":"add_ok","in_reply_to":null,"in_reply_to":3}"#
        )),
        Incoming::Reply { in_reply_to: 3, .. }
    ));
    // A plain struct payload: its derive rejects the duplicate, the reference does not.
    match both::<Plain>(&line(r#"{"type":"t","n":1,"n":2,"msg_id":1}"#)) {
        Incoming::Request { payload, .. } => assert_eq!(
            payload.unwrap(),
            Plain {
                kind: "t".into(),
                n: Some(2)
            }
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_type_that_is_not_a_string_is_error_12() {
    for ty in ["5", "null", "[\"add\"]", "{\"a\":1}", "true"] {
        let (_, id, kind, p) = request(&line(&format!(r#"{{"type":{ty},"msg_id":2,"delta":1}}"#)));
        assert_eq!((id, kind.as_str(), p), (Some(2), "", Err(12)), "type {ty}");
    }
    // With in_reply_to it is still a reply: the type is the caller's to judge.
    assert!(matches!(
        both::<P>(&line(r#"{"type":5,"in_reply_to":2}"#)),
        Incoming::Reply {
            in_reply_to: 2,
            result: Ok(_),
            ..
        }
    ));
}

/// A JSON value that can hold a key twice, so that generated lines can.
#[derive(Clone, Debug)]
enum J {
    Raw(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn num(n: impl ToString) -> J {
        J::Raw(n.to_string())
    }

    fn render(&self, rng: &mut Pcg64Mcg, out: &mut String) {
        match self {
            J::Raw(text) => out.push_str(text),
            J::Str(s) => render_str(s, rng, out),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.render(rng, out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    render_str(key, rng, out);
                    out.push(':');
                    value.render(rng, out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string, now and then with a character escaped, so that both the borrowed and the
/// owned string paths are taken.
fn render_str(s: &str, rng: &mut Pcg64Mcg, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if rng.gen_ratio(1, 12) && c.is_ascii_alphanumeric() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

fn pick<'a>(rng: &mut Pcg64Mcg, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("")
}

/// Any value at all, for replacing a field with one of the wrong type.
fn odd_value(rng: &mut Pcg64Mcg) -> J {
    let raw = [
        "null",
        "true",
        "0",
        "-0",
        "-1",
        "1.5",
        "2.0",
        "1e3",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "1e400",
    ];
    match rng.gen_range(0..4) {
        0 => J::Raw(pick(rng, &raw).into()),
        1 => J::Str(pick(rng, &["", "echo", "add", "init", "error", "7", "n0"]).into()),
        2 => J::Arr(vec![J::num(1), J::Str("r".into())]),
        _ => J::Obj(vec![("a".into(), J::num(1)), ("a".into(), J::num(2))]),
    }
}

fn id(rng: &mut Pcg64Mcg) -> J {
    J::num(rng.gen_range(0..1000u64))
}

/// A body as the node would see it in a run: a request it knows, an unknown one, an init,
/// a reply or an error reply.
fn gen_body(rng: &mut Pcg64Mcg) -> Vec<(String, J)> {
    let mut fields: Vec<(String, J)> = match rng.gen_range(0..9) {
        0 => vec![
            ("type".into(), J::Str("echo".into())),
            ("echo".into(), odd_value(rng)),
        ],
        1 => vec![
            ("type".into(), J::Str("add".into())),
            ("delta".into(), J::num(rng.gen_range(0..100u64))),
        ],
        2 => vec![
            ("type".into(), J::Str("txn".into())),
            (
                "txn".into(),
                J::Arr(vec![
                    J::Arr(vec![J::Str("r".into()), J::num(1), J::Raw("null".into())]),
                    J::Arr(vec![J::Str("w".into()), J::num(1), J::num(5)]),
                ]),
            ),
        ],
        3 => vec![
            ("type".into(), J::Str("tagged".into())),
            ("n".into(), J::num(rng.gen_range(0..10u32))),
        ],
        4 => vec![("type".into(), J::Str("zap".into()))],
        5 => vec![
            ("type".into(), J::Str("init".into())),
            ("node_id".into(), J::Str("n0".into())),
            (
                "node_ids".into(),
                J::Arr(vec![J::Str("n0".into()), J::Str("n1".into())]),
            ),
        ],
        6 => vec![
            ("type".into(), J::Str("read_ok".into())),
            ("value".into(), J::num(rng.gen_range(-5..5i64))),
            ("in_reply_to".into(), id(rng)),
        ],
        7 => vec![
            ("type".into(), J::Str("error".into())),
            ("code".into(), J::num(rng.gen_range(0..31u32))),
            ("text".into(), J::Str("no".into())),
            ("in_reply_to".into(), id(rng)),
        ],
        _ => vec![
            ("type".into(), J::Str("read_ok".into())),
            ("value".into(), J::num(3)),
        ],
    };
    if rng.gen_bool(0.8) {
        fields.push(("msg_id".into(), id(rng)));
    }
    fields
}

/// One change to an object: drop, duplicate, null, retype, rename or add a key, or reorder.
fn mutate(fields: &mut Vec<(String, J)>, rng: &mut Pcg64Mcg) {
    let keys = [
        "type",
        "msg_id",
        "in_reply_to",
        "src",
        "dest",
        "body",
        "echo",
        "delta",
        "n",
        "code",
    ];
    let at = rng.gen_range(0..fields.len().max(1));
    match rng.gen_range(0..7) {
        0 if !fields.is_empty() => {
            fields.remove(at);
        }
        1 if !fields.is_empty() => {
            let mut copy = fields[at].clone();
            if rng.gen_bool(0.5) {
                copy.1 = odd_value(rng);
            }
            let to = rng.gen_range(0..=fields.len());
            fields.insert(to, copy);
        }
        2 if !fields.is_empty() => fields[at].1 = J::Raw("null".into()),
        3 if !fields.is_empty() => fields[at].1 = odd_value(rng),
        4 if !fields.is_empty() => fields[at].0 = pick(rng, &keys).into(),
        5 => {
            let key = pick(rng, &keys).into();
            fields.insert(at.min(fields.len()), (key, odd_value(rng)));
        }
        _ => fields.shuffle(rng),
    }
}

/// A whole line: an envelope around a body, both possibly mutated, the text possibly cut
/// or scribbled on.
fn generate(rng: &mut Pcg64Mcg) -> String {
    let mut body = gen_body(rng);
    for _ in 0..rng.gen_range(0..3) {
        mutate(&mut body, rng);
    }
    let src = pick(rng, &["c1", "n1", "lin-kv", "seq-kv", ""]);
    let mut envelope = vec![
        ("src".to_owned(), J::Str(src.into())),
        ("dest".to_owned(), J::Str("n0".into())),
        ("body".to_owned(), J::Obj(body)),
    ];
    if rng.gen_bool(0.2) {
        envelope.insert(0, ("id".into(), id(rng)));
    }
    if rng.gen_bool(0.3) {
        mutate(&mut envelope, rng);
    }
    if rng.gen_bool(0.05) {
        // A second, different body: the last must win on both paths, ids included.
        let at = rng.gen_range(0..=envelope.len());
        envelope.insert(at, ("body".into(), J::Obj(gen_body(rng))));
    }
    let mut text = String::new();
    J::Obj(envelope).render(rng, &mut text);
    match rng.gen_range(0..20) {
        0 => {
            let mut cut = rng.gen_range(0..=text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        1 => {
            let at = rng.gen_range(0..=text.len());
            if text.is_char_boundary(at) {
                text.insert(at, *[',', '"', '}', '\\', ' '].choose(rng).unwrap_or(&' '));
            }
        }
        2 => text.push_str(pick(rng, &[" ", "\r", " x", "{}"])),
        _ => {}
    }
    text
}

#[derive(Default, Debug)]
struct Seen {
    skip: usize,
    init: usize,
    reply: usize,
    request_ok: usize,
    request_err: usize,
}

/// Runs `lines` generated lines through both decoders. `MAELSTROM_DECODE_SEED` varies the
/// stream for a longer hunt.
fn differential<Q: DeserializeOwned + PartialEq + Debug>(seed: u64, lines: usize) -> Seen {
    let extra: u64 = std::env::var("MAELSTROM_DECODE_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ extra);
    let mut seen = Seen::default();
    for _ in 0..lines {
        let text = generate(&mut rng);
        match both::<Q>(&text) {
            Incoming::Skip => seen.skip += 1,
            Incoming::Init { .. } => seen.init += 1,
            Incoming::Reply { .. } => seen.reply += 1,
            Incoming::Request { payload: Ok(_), .. } => seen.request_ok += 1,
            Incoming::Request {
                payload: Err(_), ..
            } => seen.request_err += 1,
        }
    }
    seen
}

/// How many generated lines to try; `MAELSTROM_DECODE_LINES` for a longer hunt.
fn lines(default: usize) -> usize {
    std::env::var("MAELSTROM_DECODE_LINES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

#[test]
fn generated_and_mutated_lines_decode_the_same_both_ways() {
    let seen = differential::<P>(0x5eed, lines(10_000));
    // The stream must reach every outcome, or agreement would prove little.
    assert!(
        [
            seen.skip,
            seen.init,
            seen.reply,
            seen.request_ok,
            seen.request_err
        ]
        .iter()
        .all(|n| *n > 300),
        "{seen:?}"
    );
}

#[test]
fn generated_lines_decode_the_same_into_plain_and_value_payloads() {
    let seen = differential::<Plain>(7, lines(3_000));
    assert!(seen.request_ok > 100, "{seen:?}");
    let seen = differential::<Value>(8, lines(3_000));
    assert!(seen.request_ok > 100, "{seen:?}");
}
