//! Turning an input line into an event for the engine.
//!
//! Decoding is pure (no node state), so the runtime does it on the stdin thread while the
//! event loop handles the previous batch. The common case, a request the node understands,
//! takes one pass over the line: the body is handed straight to the user's payload type
//! through a "tap" that notes `type`, `msg_id` and `in_reply_to` as they stream past. Every
//! other case (replies, `init`, bad input) goes to [`decode_line_reference`], which first
//! splits the envelope and the body into their fields and then looks at them. The reference
//! is the behaviour the fast path must match; a differential test (`tests/decode.rs`) feeds
//! both generated and mutated lines and insists on the same result.
//!
//! What both follow, chosen for what a JSON object *means* to Maelstrom (whose parser keeps
//! the last of duplicated keys) rather than what a strict parser would refuse:
//!
//! - A key given twice in the envelope or the body counts with its last value. Deeper, inside
//!   the payload's own fields, a repeated key means what the payload type makes of it (a JSON
//!   value or a map keeps the last one, serde's derive refuses it: error 12), on both paths
//!   alike, since both give those fields to serde_json as they are.
//! - `"msg_id": null` and `"in_reply_to": null` are the same as leaving the key out; any
//!   other value that is not an unsigned integer makes the line unanswerable, so it is
//!   skipped.
//! - A `dest` that is missing or not a string is unknown, never a reason to skip.
//! - A body that is not an object is skipped: it has no `msg_id` to answer.
//! - A `type` that is missing, `null` or not a string is error 12.
//! - A field nobody reads is only checked for being JSON, so a number no float can hold is
//!   harmless there; a reply's body is read whole, as a JSON value.
//!
//! The one way to make the two differ is a payload type whose own `Deserialize` keeps
//! something other than the last of keys repeated at the body's top level: the fast path
//! shows it every occurrence, the reference only the last.

use crate::error::ErrorBody;
use crate::node::Init;
use crate::protocol::{shorten, MsgId};
use serde::de::value::{BorrowedStrDeserializer, StringDeserializer, UnitDeserializer};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess,
    Visitor,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Longest excerpt of a bad line that goes into a log message.
const LOG_EXCERPT: usize = 200;

/// The body fields the protocol owns; an error reply's `extra` leaves them out, so that a
/// relayed error does not carry stale ids.
const PROTOCOL_KEYS: [&str; 3] = ["type", "msg_id", "in_reply_to"];

/// One decoded input line.
#[derive(Debug, PartialEq)]
pub enum Incoming<P> {
    /// Nothing to act on (blank, not JSON, not a message); already logged.
    Skip,
    /// The `init` handshake.
    Init {
        /// The sender (the init client).
        src: String,
        /// The id the message was addressed to, if it named one; before `init` is
        /// understood, the only id an error answer can be sent from.
        dest: Option<String>,
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
        /// The reply's body, or the error it carried.
        result: Result<Value, ErrorBody>,
    },
    /// Anything else: a request or a one-way message.
    Request {
        /// The sender.
        src: String,
        /// The id the message was addressed to, if it named one; what a node that has not
        /// seen `init` answers from.
        dest: Option<String>,
        /// The id to answer, if any.
        msg_id: Option<MsgId>,
        /// The body's `type` (empty if it had none or it was not a string).
        kind: String,
        /// The parsed payload, or the error (10 or 12) to answer with; already logged.
        payload: Result<P, ErrorBody>,
    },
}

/// Whether a decoded message keeps its `dest`. Only a node that has not seen `init` needs it
/// (it is the one id such a node can answer from); afterwards dropping it saves an
/// allocation per message on the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// Keep `dest` (when it is a string).
    Keep,
    /// Leave `dest` out: the node knows its id.
    Drop,
}

/// Decodes one line (without its terminator), keeping `dest`. Never panics; problems are
/// logged to stderr.
pub fn decode_line<P: DeserializeOwned>(line: &str) -> Incoming<P> {
    decode_line_with(line, Dest::Keep)
}

/// Decodes one line (without its terminator), keeping `dest` or not. Never panics; problems
/// are logged to stderr.
pub fn decode_line_with<P: DeserializeOwned>(line: &str, dest: Dest) -> Incoming<P> {
    let Some(line) = message_text(line) else {
        return Incoming::Skip;
    };
    let mut tap = Tap::default();
    let mut de = serde_json::Deserializer::from_str(line);
    let fast = EnvelopeSeed::<P> {
        tap: &mut tap,
        keep_dest: dest == Dest::Keep,
        payload: PhantomData,
    }
    .deserialize(&mut de)
    .and_then(|decoded| de.end().map(|()| decoded));
    match fast {
        Ok(fields)
            if tap.in_reply_to.is_none() && tap.kind.as_deref().is_some_and(|k| k != "init") =>
        {
            Incoming::Request {
                src: fields.src.into_owned(),
                dest: fields.dest.map(Cow::into_owned),
                msg_id: tap.msg_id,
                kind: tap.kind.map(Cow::into_owned).unwrap_or_default(),
                payload: Ok(fields.payload),
            }
        }
        // The fast path's own error is not reused: a duplicated key, say, fails the payload's
        // derive but not the reference, and the reference is what counts.
        _ => decode_text(line, dest),
    }
}

/// The reference decode that [`decode_line`] agrees with: the envelope's fields are read
/// with the last of duplicated keys winning, then the body's, then the body becomes an
/// `init`, a reply or the payload. Slower, and exposed so that tools and tests can hold
/// the fast path to it.
pub fn decode_line_reference<P: DeserializeOwned>(line: &str) -> Incoming<P> {
    match message_text(line) {
        Some(line) => decode_text(line, Dest::Keep),
        None => Incoming::Skip,
    }
}

/// The line without a trailing `\r`, or nothing if it is blank.
fn message_text(line: &str) -> Option<&str> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    (!line.trim().is_empty()).then_some(line)
}

fn decode_text<P: DeserializeOwned>(line: &str, keep_dest: Dest) -> Incoming<P> {
    let skip = |why: &str| {
        tracing::warn!(
            "skipping input that is not a message ({why}): {}",
            shorten(line, LOG_EXCERPT)
        );
        Incoming::Skip
    };
    let fields = match serde_json::from_str::<EnvelopeFields>(line) {
        Ok(fields) => fields,
        Err(e) => return skip(&e.to_string()),
    };
    let Some(Ok(src)) = fields
        .src
        .map(|raw| serde_json::from_str::<String>(raw.get()))
    else {
        return skip("no string `src`");
    };
    let dest = fields
        .dest
        .filter(|_| keep_dest == Dest::Keep)
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
    let Some(body) = fields.body else {
        return skip("no `body`");
    };
    // Replies are common (every service call has one) and their body is wanted as a JSON
    // value anyway, so a body that reads as one is looked at as one first. Its top-level
    // keys are the raw fields' last occurrences, so this decides nothing the raw fields
    // below would decide otherwise.
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body.get()) {
        let id = |key| match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(id) => id.as_u64().map(Some).ok_or(()),
        };
        match (id("msg_id"), id("in_reply_to")) {
            (Ok(_), Ok(Some(in_reply_to))) => return reply(src, in_reply_to, Ok(map)),
            (Ok(_), Ok(None)) => {}
            _ => return skip("`msg_id` or `in_reply_to` is not an unsigned integer"),
        }
    }
    let body = match Body::parse(body) {
        Ok(body) => body,
        Err(e) => return skip(&format!("body: {e}")),
    };
    let (Ok(msg_id), Ok(in_reply_to)) = (body.id("msg_id"), body.id("in_reply_to")) else {
        return skip("`msg_id` or `in_reply_to` is not an unsigned integer");
    };
    if let Some(in_reply_to) = in_reply_to {
        // Only a body that is no JSON value gets here (a number too large for a float, say).
        let map = serde_json::from_str::<Map<String, Value>>(&body.text);
        return reply(src, in_reply_to, map);
    }
    let kind = match body
        .get("type")
        .map(|raw| serde_json::from_str::<Option<String>>(raw.get()))
    {
        Some(Ok(Some(kind))) => kind,
        other => {
            let text = match other {
                None | Some(Ok(None)) => "body has no type field",
                Some(_) => "body's type is not a string",
            };
            tracing::warn!(src, "{text}: {}", shorten(line, LOG_EXCERPT));
            return Incoming::Request {
                src,
                dest,
                msg_id,
                kind: String::new(),
                payload: Err(ErrorBody::malformed_request(text)),
            };
        }
    };
    if kind == "init" {
        let init = serde_json::from_str::<Init>(&body.text)
            .map_err(|e| format!("malformed init: {e}"))
            .and_then(|init| match init.node_id.is_empty() {
                // An empty id is what a broken node sends from; refusing it keeps the node
                // from becoming one.
                true => Err("malformed init: node_id is empty".to_owned()),
                false => Ok(init),
            })
            .map_err(|text| {
                tracing::error!(src, "{text}");
                ErrorBody::malformed_request(text)
            });
        return Incoming::Init {
            src,
            dest,
            msg_id,
            init,
        };
    }
    let payload = serde_json::from_str::<P>(&body.text).map_err(|e| {
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
        dest,
        msg_id,
        kind,
        payload,
    }
}

/// A reply, from its body as a JSON object or the reason it is none.
fn reply<P>(
    src: String,
    in_reply_to: MsgId,
    body: Result<Map<String, Value>, serde_json::Error>,
) -> Incoming<P> {
    let result = match body {
        Ok(mut body) if body.get("type").and_then(Value::as_str) == Some("error") => {
            for key in PROTOCOL_KEYS {
                body.remove(key);
            }
            Err(
                ErrorBody::deserialize(Value::Object(body)).unwrap_or_else(|e| {
                    ErrorBody::crash(format!("unreadable error reply from {src}: {e}"))
                }),
            )
        }
        Ok(body) => Ok(Value::Object(body)),
        Err(e) => Err(ErrorBody::crash(format!(
            "unreadable reply from {src}: {e}"
        ))),
    };
    Incoming::Reply {
        src,
        in_reply_to,
        result,
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

/// The envelope's fields as unparsed JSON, the last of duplicated keys winning (a derived
/// struct would reject duplicates instead); other keys are skipped as the fast path skips
/// them.
#[derive(Default)]
struct EnvelopeFields<'a> {
    src: Option<&'a RawValue>,
    dest: Option<&'a RawValue>,
    body: Option<&'a RawValue>,
}

impl<'de> Deserialize<'de> for EnvelopeFields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EnvelopeFieldsVisitor)
    }
}

struct EnvelopeFieldsVisitor;

impl<'de> Visitor<'de> for EnvelopeFieldsVisitor {
    type Value = EnvelopeFields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = EnvelopeFields::default();
        while let Some(key) = map.next_key_seed(CowStr)? {
            let slot = match &*key {
                "src" => &mut fields.src,
                "dest" => &mut fields.dest,
                "body" => &mut fields.body,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(fields)
    }
}

/// A body's top-level fields, unparsed, with each key's last occurrence only, and the body
/// as text with exactly those fields: what the payload's type is given, as if the sender
/// had not repeated itself. Values stay raw so that whatever the payload ignores is only
/// skipped, as on the fast path (a number no float can hold is fine where nobody reads it).
struct Body<'a> {
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
    text: Cow<'a, str>,
}

impl<'a> Body<'a> {
    fn parse(raw: &'a RawValue) -> Result<Self, serde_json::Error> {
        let BodyFields(all) = serde_json::from_str(raw.get())?;
        let n = all.len();
        let mut seen = std::collections::HashSet::with_capacity(n);
        // Walking backwards, the first sight of a key is its last occurrence.
        let mut fields: Vec<_> = all
            .into_iter()
            .rev()
            .filter(|(key, _)| seen.insert(key.clone()))
            .collect();
        fields.reverse();
        let text = if fields.len() == n {
            Cow::Borrowed(raw.get())
        } else {
            let mut text = String::with_capacity(raw.get().len());
            text.push('{');
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&Value::String(key.to_string()).to_string());
                text.push(':');
                text.push_str(value.get());
            }
            text.push('}');
            Cow::Owned(text)
        };
        Ok(Body { fields, text })
    }

    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// An id field: absent or `null` is none; anything but an unsigned integer is an error.
    fn id(&self, key: &str) -> Result<Option<MsgId>, serde_json::Error> {
        match self.get(key) {
            None => Ok(None),
            Some(raw) => serde_json::from_str(raw.get()),
        }
    }
}

struct BodyFields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for BodyFields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(BodyFieldsVisitor)
    }
}

struct BodyFieldsVisitor;

impl<'de> Visitor<'de> for BodyFieldsVisitor {
    type Value = BodyFields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a body object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key_seed(CowStr)? {
            fields.push((key, map.next_value()?));
        }
        Ok(BodyFields(fields))
    }
}

/// The protocol fields noted while the payload is parsed; each notes its key's last value,
/// as the reference does.
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

/// What the fast path takes from the envelope.
struct FastFields<'de, P> {
    src: Cow<'de, str>,
    dest: Option<Cow<'de, str>>,
    payload: P,
}

/// The envelope `{src, dest, body, id?}`: takes `src` and `dest`, feeds `body` through the
/// tap.
struct EnvelopeSeed<'t, 'de, P> {
    tap: &'t mut Tap<'de>,
    keep_dest: bool,
    payload: PhantomData<P>,
}

impl<'t, 'de, P: Deserialize<'de>> DeserializeSeed<'de> for EnvelopeSeed<'t, 'de, P> {
    type Value = FastFields<'de, P>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'t, 'de, P: Deserialize<'de>> Visitor<'de> for EnvelopeSeed<'t, 'de, P> {
    type Value = FastFields<'de, P>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut src, mut dest, mut payload) = (None, None, None);
        while let Some(key) = map.next_key_seed(CowStr)? {
            match &*key {
                "src" => src = Some(map.next_value_seed(CowStr)?),
                // Not a string: unknown to the reference, but rare enough to leave to it.
                "dest" if self.keep_dest => dest = Some(map.next_value_seed(CowStr)?),
                "body" => {
                    // A second body replaces the first, protocol fields included.
                    *self.tap = Tap::default();
                    let seed = BodySeed::<P> {
                        tap: &mut *self.tap,
                        payload: PhantomData,
                    };
                    payload = Some(map.next_value_seed(seed)?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let src = src.ok_or_else(|| de::Error::missing_field("src"))?;
        let payload = payload.ok_or_else(|| de::Error::missing_field("body"))?;
        Ok(FastFields { src, dest, payload })
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
                // `null` is an absent id, as in the reference; the payload sees a unit,
                // which reads as `None` wherever an `Option` is expected.
                let id: Option<MsgId> = self.map.next_value()?;
                match self.last {
                    Field::MsgId => self.tap.msg_id = id,
                    _ => self.tap.in_reply_to = id,
                }
                match id {
                    Some(id) => {
                        seed.deserialize(IntoDeserializer::<A::Error>::into_deserializer(id))
                    }
                    None => seed.deserialize(UnitDeserializer::<A::Error>::new()),
                }
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
                ..
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
                assert_eq!(result.unwrap()["value"], 5);
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
    fn dest_is_kept_when_it_is_a_string() {
        let dest = |line: &str| match decode_line::<P>(line) {
            Incoming::Request { dest, .. } | Incoming::Init { dest, .. } => dest,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            dest(r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":1}}"#).as_deref(),
            Some("n0")
        );
        assert_eq!(
            dest(r#"{"src":"c1","body":{"type":"add","delta":1}}"#),
            None
        );
        assert_eq!(
            dest(r#"{"src":"c1","dest":7,"body":{"type":"add","delta":1}}"#),
            None
        );
        assert_eq!(
            dest(r#"{"src":"c0","dest":"n3","body":{"type":"init","msg_id":1,"node_id":"n3","node_ids":["n3"]}}"#)
                .as_deref(),
            Some("n3")
        );
    }

    #[test]
    fn init_with_an_empty_node_id_is_malformed() {
        let line = r#"{"src":"c0","dest":"","body":{"type":"init","msg_id":1,"node_id":"","node_ids":[""]}}"#;
        match decode_line::<P>(line) {
            Incoming::Init { init: Err(e), .. } => assert_eq!(e.code.0, 12),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_replies_leave_the_protocol_fields_out_of_extra() {
        let line = r#"{"src":"n2","dest":"n0","body":{"type":"error","code":22,"text":"no","in_reply_to":8,"msg_id":3,"hint":[1]}}"#;
        match decode_line::<P>(line) {
            Incoming::Reply {
                in_reply_to: 8,
                result: Err(e),
                ..
            } => {
                assert_eq!(e.code.0, 22);
                assert_eq!(e.text.as_deref(), Some("no"));
                assert_eq!(Value::Object(e.extra), json!({"hint": [1]}));
            }
            other => panic!("{other:?}"),
        }
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
            r#"{"src":"c1","dest":"n0","body":[1,2]}"#,
            r#"{"src":5,"dest":"n0","body":{"type":"add","delta":1}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":1,"msg_id":-1}}"#,
            r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":1,"in_reply_to":1.5}}"#,
        ] {
            assert!(matches!(decode_line::<P>(line), Incoming::Skip), "{line:?}");
        }
    }
}
