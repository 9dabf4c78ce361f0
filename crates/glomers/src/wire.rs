//! What a line a node prints becomes on the wire.
//!
//! Upstream never forwards the text a node printed: it parses every stdout line into a map and
//! writes a freshly generated object to the receiver (jepsen-io/maelstrom,
//! `src/maelstrom/process.clj`, `parse-msg` and `stdin-thread`). Whatever the parse folds
//! away is gone for the receiver: a key printed twice arrives once, holding the value printed
//! last; whitespace and escapes are the writer's, not the node's. We do the same, so that a
//! node whose serializer prints a key twice sees, and is judged on, what Maelstrom delivers.
//!
//! Keys keep the position of their first appearance (a Clojure array map replaces a value in
//! place); upstream's maps of more than eight keys iterate in hash order, which no node may
//! rely on, so we keep insertion order there too.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// Maps with more keys than this find duplicates through an index instead of a scan.
const SCAN_LIMIT: usize = 16;

/// A JSON value as upstream's parser leaves it: objects in first-appearance order, one
/// entry per key (the last value printed wins).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(n)
            .map(Json::Number)
            .ok_or_else(|| E::custom("a number JSON cannot write"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries: Vec<(String, Json)> = Vec::new();
        let mut index: Option<HashMap<String, usize>> = None;
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            if entries.len() == SCAN_LIMIT && index.is_none() {
                index = Some(
                    entries
                        .iter()
                        .enumerate()
                        .map(|(i, (k, _))| (k.clone(), i))
                        .collect(),
                );
            }
            let existing = match &index {
                Some(index) => index.get(&key).copied(),
                None => entries.iter().position(|(k, _)| *k == key),
            };
            match existing {
                Some(i) => entries[i].1 = value,
                None => {
                    if let Some(index) = index.as_mut() {
                        index.insert(key.clone(), entries.len());
                    }
                    entries.push((key, value));
                }
            }
        }
        Ok(Json::Object(entries))
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// A stdout line that is a message: its endpoints and the body the receiver will get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printed {
    /// Sender, as the node wrote it.
    pub src: String,
    /// Receiver.
    pub dest: String,
    /// The body as upstream regenerates it: a JSON object, duplicate keys folded.
    pub body: String,
}

/// Reads one stdout line (without its newline) as upstream does, or says which rule it
/// breaks. The whole line is parsed once, as upstream parses it, so a key printed twice in
/// the envelope counts with its last value too.
pub fn parse_line(line: &str) -> Result<Printed, String> {
    const SHAPE: &str = "malformed-message: a message is one JSON object with exactly src, \
                         dest, body (and optionally an integer id)";
    let value: Json = serde_json::from_str(line).map_err(|e| {
        format!("line-not-valid-json: every stdout line must be one JSON message (logs go to stderr): {e}")
    })?;
    let Json::Object(entries) = value else {
        return Err(format!("{SHAPE}: got {}", crate::process::shorten(line)));
    };
    let (mut src, mut dest, mut body) = (None, None, None);
    for (key, value) in entries {
        match (key.as_str(), value) {
            ("src", Json::String(s)) => src = Some(s),
            ("dest", Json::String(s)) => dest = Some(s),
            ("body", Json::Null) => body = None,
            ("body", object @ Json::Object(_)) => body = Some(object),
            ("body", other) => {
                let text = serde_json::to_string(&other).unwrap_or_default();
                return Err(format!(
                    "malformed-message: body must be a JSON object, got {}",
                    crate::process::shorten(&text)
                ));
            }
            ("id", Json::Null) => {}
            ("id", Json::Number(n)) if n.is_i64() || n.is_u64() => {}
            (key @ ("src" | "dest" | "id"), _) => {
                return Err(format!("{SHAPE}: `{key}` has the wrong type"))
            }
            (other, _) => return Err(format!("{SHAPE}: unknown key `{other}`")),
        }
    }
    let (Some(src), Some(dest)) = (src, dest) else {
        return Err(format!("{SHAPE}: src and dest are required"));
    };
    let body = match body {
        None => "{}".to_owned(),
        Some(body) => serde_json::to_string(&body)
            .map_err(|e| format!("malformed-message: the body cannot be written: {e}"))?,
    };
    Ok(Printed { src, dest, body })
}

/// Parses a JSON value and writes it afresh, as upstream's parse and write do.
pub fn regenerate(raw: &str) -> Result<String, serde_json::Error> {
    let value: Json = serde_json::from_str(raw)?;
    serde_json::to_string(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdout_lines_are_checked_like_upstream() {
        assert_eq!(
            parse_line(r#"{"src":"n0","dest":"c1","body":{"type":"x"},"id":3}"#).unwrap(),
            Printed {
                src: "n0".into(),
                dest: "c1".into(),
                body: r#"{"type":"x"}"#.into()
            }
        );
        assert_eq!(
            parse_line(r#"{"src":"n0","dest":"c1"}"#).unwrap().body,
            "{}"
        );
        assert_eq!(
            parse_line(r#"{"src":"n0","dest":"c1","body":null}"#)
                .unwrap()
                .body,
            "{}"
        );
        let rule = |l| parse_line(l).unwrap_err();
        assert!(rule("hello from my node").starts_with("line-not-valid-json"));
        assert!(rule("").starts_with("line-not-valid-json"));
        assert!(rule(r#"{"src":"n0","dest":"c1","body":{},"extra":1}"#)
            .starts_with("malformed-message"));
        assert!(rule(r#"{"src":"n0","body":{}}"#).starts_with("malformed-message"));
        assert!(
            rule(r#"{"src":"n0","dest":"c1","body":[1]}"#).contains("body must be a JSON object")
        );
        assert!(
            rule(r#"{"src":"n0","dest":"c1","body":{},"id":1.5}"#).starts_with("malformed-message")
        );
        assert!(rule(r#"{"src":"n0","dest":"c1","body":{}} {"#).starts_with("line-not-valid-json"));
        assert!(rule(r#"{"src":"n0","dest":7,"body":{}}"#).contains("`dest` has the wrong type"));
        assert!(rule(r#"[1]"#).starts_with("malformed-message"));
    }

    #[test]
    fn a_key_printed_twice_in_the_envelope_counts_with_its_last_value() {
        let printed =
            parse_line(r#"{"src":"n9","dest":"n1","src":"n0","body":{"a":1},"body":{"b":2}}"#)
                .unwrap();
        assert_eq!(
            printed,
            Printed {
                src: "n0".into(),
                dest: "n1".into(),
                body: r#"{"b":2}"#.into()
            }
        );
    }

    #[test]
    fn a_key_printed_twice_arrives_once_with_the_last_value() {
        let line = r#"{"src":"n0","dest":"n1","body":{"type":"broadcast","message":3,"type":"broadcast_ok","in_reply_to":1}}"#;
        assert_eq!(
            parse_line(line).unwrap().body,
            r#"{"type":"broadcast_ok","message":3,"in_reply_to":1}"#
        );
        assert_eq!(
            regenerate(r#"{"a":{"x":1,"x":2},"b":[{"k":1,"k":{"z":0}}]}"#).unwrap(),
            r#"{"a":{"x":2},"b":[{"k":{"z":0}}]}"#
        );
    }

    #[test]
    fn large_maps_fold_duplicates_too() {
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let raw = format!("{{{},\"k3\":\"late\",\"k39\":null}}", keys.join(","));
        let out: serde_json::Value = serde_json::from_str(&regenerate(&raw).unwrap()).unwrap();
        let map = out.as_object().unwrap();
        assert_eq!(map.len(), 40);
        assert_eq!(map["k3"], "late");
        assert!(map["k39"].is_null());
        assert!(regenerate(&raw)
            .unwrap()
            .starts_with(r#"{"k0":0,"k1":1,"k2":2,"k3":"late""#));
    }

    #[test]
    fn the_writer_not_the_node_decides_spacing_and_escapes() {
        assert_eq!(
            regenerate("{ \"type\" : \"echo\" ,\n \"echo\" : \"\\u0041\\n\" }").unwrap(),
            r#"{"type":"echo","echo":"A\n"}"#
        );
        assert_eq!(
            regenerate(r#"{"a":1.0,"b":-7,"c":1e2}"#).unwrap(),
            r#"{"a":1.0,"b":-7,"c":100.0}"#
        );
    }
}
