//! Turning an input line into an event for the engine.
//!
//! Decoding is pure (no node state), so the runtime does it on the stdin thread while the
//! event loop handles the previous batch. The common case, a request the node understands,
//! takes one pass over the line: the body is handed straight to the user's payload type
//! through a "tap" that notes `type`, `msg_id` and `in_reply_to` as they stream past. Every
//! other case (replies, `init`, bad input) falls back to a plain two-pass decode, which is
//! also the reference behaviour the fast path must agree with.

use crate::error::ErrorBody;
use crate::node::{Init, Reply, RpcResult};
use crate::protocol::{shorten, Envelope, MsgId, PayloadOnly};
use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess,
    Visitor,
};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Longest excerpt of a bad line that goes into a log message.
const LOG_EXCERPT: usize = 200;

/// One decoded input line.
#[derive(Debug)]
pub enum Incoming<P> {
    /// Nothing to act on (blank, not JSON, not a message); already logged.
    Skip,
    /// The `init` handshake.
    Init {
        /// The sender (the init client).
        src: String,
        /// The id to answer.
        msg_id: Option<MsgId>,
        /// The parsed init, or error 12.
        init: Result<Init, ErrorBody>,
    },
    /// A reply to one of the node's RPCs (it carries `in_reply_to`).
    Reply {
        /// Who answered.
        src: String,
        /// The RPC it answers.
        in_reply_to: MsgId,
        /// The reply, or the error it carried.
        result: RpcResult,
    },
    /// Anything else: a request or a one-way message.
    Request {
        /// The sender.
        src: String,
        /// The id to answer, if any.
        msg_id: Option<MsgId>,
        /// The body's `type` (empty if it had none).
        kind: String,
        /// The parsed payload, or the error (10 or 12) to answer with; already logged.
        payload: Result<P, ErrorBody>,
    },
}

/// Decodes one line (without its terminator). Never panics; problems are logged to stderr.
pub fn decode_line<P: DeserializeOwned>(line: &str) -> Incoming<P> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return Incoming::Skip;
    }
    let mut tap = Tap::default();
    let mut de = serde_json::Deserializer::from_str(line);
    let fast = EnvelopeSeed::<P> {
        tap: &mut tap,
        payload: PhantomData,
    }
    .deserialize(&mut de)
    .and_then(|decoded| de.end().map(|()| decoded));
    match fast {
        Ok((src, payload))
            if tap.in_reply_to.is_none() && tap.kind.as_deref().is_some_and(|k| k != "init") =>
        {
            let kind = tap.kind.map(Cow::into_owned).unwrap_or_default();
            Incoming::Request {
                src: src.into_owned(),
                msg_id: tap.msg_id,
                kind,
                payload: Ok(payload),
            }
        }
        Ok(_) => decode_slowly(line, None),
        Err(e) => decode_slowly(line, Some(e)),
    }
}

/// The reference decode: envelope and body header first, then whatever the header says the
/// body is. `payload_error` is the fast path's error, if it ran, so the payload is not parsed
/// twice just to learn why it failed.
fn decode_slowly<P: DeserializeOwned>(
    line: &str,
    payload_error: Option<serde_json::Error>,
) -> Incoming<P> {
    let Envelope { src, body: header } = match serde_json::from_str(line) {
        Ok(envelope) => envelope,
        Err(e) => {
            tracing::warn!(
                "skipping input that is not a message ({e}): {}",
                shorten(line, LOG_EXCERPT)
            );
            return Incoming::Skip;
        }
    };
    let src = src.into_owned();
    if let Some(in_reply_to) = header.in_reply_to {
        let result = match serde_json::from_str::<PayloadOnly<Value>>(line).map(|m| m.body) {
            Ok(body) if header.kind.as_deref() == Some("error") => Err(serde_json::from_value::<
                ErrorBody,
            >(body)
            .unwrap_or_else(|e| {
                ErrorBody::crash(format!("unreadable error reply from {src}: {e}"))
            })),
            Ok(body) => Ok(Reply {
                src: src.clone(),
                body,
            }),
            Err(e) => Err(ErrorBody::crash(format!(
                "unreadable reply from {src}: {e}"
            ))),
        };
        return Incoming::Reply {
            src,
            in_reply_to,
            result,
        };
    }
    let msg_id = header.msg_id;
    let Some(kind) = header.kind.map(Cow::into_owned) else {
        tracing::warn!("message without a type: {}", shorten(line, LOG_EXCERPT));
        let payload = Err(ErrorBody::malformed_request("body has no type field"));
        return Incoming::Request {
            src,
            msg_id,
            kind: String::new(),
            payload,
        };
    };
    if kind == "init" {
        let init = serde_json::from_str::<PayloadOnly<Init>>(line)
            .map(|m| m.body)
            .map_err(|e| {
                tracing::error!(src, "malformed init: {e}");
                ErrorBody::malformed_request(format!("malformed init: {e}"))
            });
        return Incoming::Init { src, msg_id, init };
    }
    let parsed = match payload_error {
        Some(e) => Err(e),
        None => serde_json::from_str::<PayloadOnly<P>>(line).map(|m| m.body),
    };
    let payload = parsed.map_err(|e| {
        let error = if is_unknown_type(&e, &kind) {
            ErrorBody::not_supported(format!("unsupported message type `{kind}`"))
        } else {
            ErrorBody::malformed_request(format!("malformed `{kind}` message: {e}"))
        };
        tracing::warn!(
            src,
            "{}: {}",
            error.text.as_deref().unwrap_or(""),
            shorten(line, LOG_EXCERPT)
        );
        error
    });
    Incoming::Request {
        src,
        msg_id,
        kind,
        payload,
    }
}

/// serde reports a `type` that matches no variant of an internally tagged enum with this
/// wording; it is the one way to tell "unknown type" (error 10) from "bad fields" (error 12)
/// without asking users to list their types twice. The variant named must be the message's
/// own type: an unknown variant of a nested enum (a micro-op's function, say) is a bad
/// field.
fn is_unknown_type(error: &serde_json::Error, kind: &str) -> bool {
    error
        .to_string()
        .starts_with(&format!("unknown variant `{kind}`,"))
}

/// The protocol fields noted while the payload is parsed.
#[derive(Default)]
struct Tap<'de> {
    kind: Option<Cow<'de, str>>,
    msg_id: Option<MsgId>,
    in_reply_to: Option<MsgId>,
}

/// Reads a string, borrowing it from the input when it has no escapes.
struct CowStr;

impl<'de> DeserializeSeed<'de> for CowStr {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for CowStr {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

fn replay_str<'de, S: DeserializeSeed<'de>, E: de::Error>(
    seed: S,
    s: Cow<'de, str>,
) -> Result<S::Value, E> {
    match s {
        Cow::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::new(s)),
        Cow::Owned(s) => seed.deserialize(StringDeserializer::new(s)),
    }
}

/// The envelope `{src, dest, body, id?}`: takes `src`, feeds `body` through the tap.
struct EnvelopeSeed<'t, 'de, P> {
    tap: &'t mut Tap<'de>,
    payload: PhantomData<P>,
}

impl<'t, 'de, P: Deserialize<'de>> DeserializeSeed<'de> for EnvelopeSeed<'t, 'de, P> {
    type Value = (Cow<'de, str>, P);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'t, 'de, P: Deserialize<'de>> Visitor<'de> for EnvelopeSeed<'t, 'de, P> {
    type Value = (Cow<'de, str>, P);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut src, mut body) = (None, None);
        while let Some(key) = map.next_key_seed(CowStr)? {
            match &*key {
                "src" => src = Some(map.next_value_seed(CowStr)?),
                "body" => {
                    let seed = BodySeed::<P> {
                        tap: &mut *self.tap,
                        payload: PhantomData,
                    };
                    body = Some(map.next_value_seed(seed)?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let src = src.ok_or_else(|| de::Error::missing_field("src"))?;
        let body = body.ok_or_else(|| de::Error::missing_field("body"))?;
        Ok((src, body))
    }
}

/// Parses the payload from the body, with the tap in between.
struct BodySeed<'t, 'de, P> {
    tap: &'t mut Tap<'de>,
    payload: PhantomData<P>,
}

impl<'t, 'de, P: Deserialize<'de>> DeserializeSeed<'de> for BodySeed<'t, 'de, P> {
    type Value = P;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<P, D::Error> {
        P::deserialize(TapDeserializer {
            inner: d,
            tap: self.tap,
        })
    }
}

/// A deserializer that forwards to `inner` but watches the body's map go by.
struct TapDeserializer<'t, 'de, D> {
    inner: D,
    tap: &'t mut Tap<'de>,
}

impl<'t, 'de, D: Deserializer<'de>> Deserializer<'de> for TapDeserializer<'t, 'de, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(TapVisitor {
            visitor,
            tap: self.tap,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // Externally tagged enums are not Maelstrom bodies; the tap sees no `type` and the
        // line takes the slow path.
        self.inner.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

struct TapVisitor<'t, 'de, V> {
    visitor: V,
    tap: &'t mut Tap<'de>,
}

impl<'t, 'de, V: Visitor<'de>> Visitor<'de> for TapVisitor<'t, 'de, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.visitor.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(TapMap {
            map,
            tap: self.tap,
            last: Field::Other,
        })
    }
}

#[derive(Clone, Copy)]
enum Field {
    Type,
    MsgId,
    InReplyTo,
    Other,
}

struct TapMap<'t, 'de, A> {
    map: A,
    tap: &'t mut Tap<'de>,
    last: Field,
}

impl<'t, 'de, A: MapAccess<'de>> MapAccess<'de> for TapMap<'t, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.map.next_key_seed(CowStr)? else {
            return Ok(None);
        };
        self.last = match &*key {
            "type" => Field::Type,
            "msg_id" => Field::MsgId,
            "in_reply_to" => Field::InReplyTo,
            _ => Field::Other,
        };
        replay_str(seed, key).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        match self.last {
            Field::Type => {
                let kind = self.map.next_value_seed(CowStr)?;
                self.tap.kind = Some(kind.clone());
                replay_str(seed, kind)
            }
            Field::MsgId | Field::InReplyTo => {
                let id: MsgId = self.map.next_value()?;
                match self.last {
                    Field::MsgId => self.tap.msg_id = Some(id),
                    _ => self.tap.in_reply_to = Some(id),
                }
                seed.deserialize(IntoDeserializer::<A::Error>::into_deserializer(id))
            }
            Field::Other => self.map.next_value_seed(seed),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum P {
        Echo { echo: Value },
        Add { delta: i64 },
        ReadOk { value: i64 },
    }

    fn request(line: &str) -> (String, Option<u64>, String, Result<P, u32>) {
        match decode_line::<P>(line) {
            Incoming::Request {
                src,
                msg_id,
                kind,
                payload,
            } => (src, msg_id, kind, payload.map_err(|e| e.code.0)),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn fast_path_notes_ids_wherever_they_appear() {
        let (src, id, kind, p) = request(
            r#"{"id":3,"body":{"msg_id":9,"echo":{"type":"inner"},"type":"echo"},"src":"c\u0031","dest":"n0"}"#,
        );
        assert_eq!((src.as_str(), id, kind.as_str()), ("c1", Some(9), "echo"));
        assert_eq!(
            p,
            Ok(P::Echo {
                echo: json!({"type": "inner"})
            })
        );
        let (_, id, _, p) = request(r#"{"src":"n1","dest":"n0","body":{"type":"add","delta":-4}}"#);
        assert_eq!((id, p), (None, Ok(P::Add { delta: -4 })));
    }

    #[test]
    fn unknown_types_and_bad_fields_are_classified() {
        assert_eq!(
            request(r#"{"src":"c1","dest":"n0","body":{"type":"zap","msg_id":2}}"#).3,
            Err(10)
        );
        assert_eq!(
            request(r#"{"src":"c1","dest":"n0","body":{"type":"add","msg_id":2}}"#).3,
            Err(12)
        );
        assert_eq!(
            request(r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":"x","msg_id":2}}"#).3,
            Err(12)
        );
        assert_eq!(
            request(r#"{"src":"c1","dest":"n0","body":{"msg_id":2}}"#).3,
            Err(12)
        );
    }

    #[test]
    fn replies_are_routed_even_when_they_parse_as_payload() {
        let line =
            r#"{"src":"lin-kv","dest":"n0","body":{"type":"read_ok","value":5,"in_reply_to":7}}"#;
        match decode_line::<P>(line) {
            Incoming::Reply {
                src,
                in_reply_to,
                result,
            } => {
                assert_eq!((src.as_str(), in_reply_to), ("lin-kv", 7));
                assert_eq!(result.unwrap().body["value"], 5);
            }
            other => panic!("{other:?}"),
        }
        let line =
            r#"{"src":"lin-kv","dest":"n0","body":{"type":"error","code":22,"in_reply_to":8}}"#;
        assert!(
            matches!(decode_line::<P>(line), Incoming::Reply { result: Err(e), .. } if e.code.0 == 22)
        );
    }

    #[test]
    fn garbage_is_skipped() {
        for line in [
            "",
            "  ",
            "nope",
            "[1,2]",
            r#"{"src":"c1"}"#,
            r#"{"src":"c1","body":{}} trailing"#,
        ] {
            assert!(matches!(decode_line::<P>(line), Incoming::Skip), "{line:?}");
        }
    }
}
