//! EDN values as the JSON values our histories and results hold.
//!
//! Jepsen prints its histories and results as EDN; glomers keeps the same data as JSON
//! (`history.jsonl`, `results.json`). The mapping is the one our own histories already use:
//! keywords and symbols become their names (`:invoke` -> `"invoke"`), vectors, lists and sets
//! become arrays (sets in EDN order, which the reader sorts), maps become objects whose keys
//! are the printed keys' names. A tagged value is its content, except the two Jepsen records a
//! history may hold: an operation (`#jepsen.history.Op{...}`) is its map, and an independent
//! key's tuple (`#jepsen.independent.Tuple{:key k :value v}`) is the pair `[k v]` that our
//! lin-kv histories write. What JSON has no place for (a Java object, a ratio) keeps its EDN
//! text, or its value as a float.

use clojure_reader::edn::Edn;
use serde_json::{Map, Value};

/// The JSON form of one EDN value.
pub fn to_json(edn: &Edn<'_>) -> Value {
    match edn {
        Edn::Nil => Value::Null,
        Edn::Bool(b) => Value::Bool(*b),
        Edn::Int(i) => Value::from(*i),
        Edn::Double(d) => {
            serde_json::Number::from_f64(d.into_inner()).map_or(Value::Null, Value::Number)
        }
        Edn::Rational((n, d)) => {
            serde_json::Number::from_f64(*n as f64 / *d as f64).map_or(Value::Null, Value::Number)
        }
        Edn::Str(s) => Value::String(unescape(s)),
        Edn::Char(c) => Value::String(c.to_string()),
        Edn::Key(k) | Edn::Symbol(k) => Value::String((*k).to_owned()),
        Edn::Vector(items) | Edn::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Edn::Set(items) => Value::Array(items.iter().map(to_json).collect()),
        Edn::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (key_name(k), to_json(v)))
                .collect::<Map<String, Value>>(),
        ),
        Edn::Tagged(tag, inner) => tagged(tag, inner),
        other => Value::String(other.to_string()),
    }
}

fn tagged(tag: &str, inner: &Edn<'_>) -> Value {
    if tag.ends_with("independent.Tuple") {
        if let Edn::Map(entries) = inner {
            let field = |name| entries.get(&Edn::Key(name)).map_or(Value::Null, to_json);
            return Value::Array(vec![field("key"), field("value")]);
        }
    }
    match inner {
        Edn::Map(_) => to_json(inner),
        _ if tag == "object" => Value::String(format!("#{tag} {inner}")),
        _ => to_json(inner),
    }
}

/// A map key as an object key: a keyword, symbol or string by its name, anything else by
/// its EDN text (an integer key `9` becomes `"9"`).
pub fn key_name(key: &Edn<'_>) -> String {
    match key {
        Edn::Key(k) | Edn::Symbol(k) => (*k).to_owned(),
        Edn::Str(s) => unescape(s),
        other => other.to_string(),
    }
}

/// The reader hands strings over as written, escapes included.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_of(text: &str) -> Value {
        to_json(&clojure_reader::edn::read_string(text).expect("EDN"))
    }

    #[test]
    fn keywords_collections_and_records() {
        assert_eq!(
            json_of(r#"{:type :ok, :f :txn, :value [[:r 9 nil] [:append 2 3]], :final? true}"#),
            json!({"type": "ok", "f": "txn", "value": [["r", 9, null], ["append", 2, 3]], "final?": true})
        );
        assert_eq!(json_of("#{3 1 2}"), json!([1, 2, 3]));
        assert_eq!(json_of("{9 [[0 1]]}"), json!({"9": [[0, 1]]}));
        assert_eq!(
            json_of("#jepsen.independent.Tuple{:key 3, :value [1 2]}"),
            json!([3, [1, 2]])
        );
        assert_eq!(
            json_of("#jepsen.history.Op{:index 4, :f :read}"),
            json!({"index": 4, "f": "read"})
        );
        assert_eq!(json_of(r#""say \"hi\"\n""#), json!("say \"hi\"\n"));
        assert_eq!(json_of("0.5"), json!(0.5));
    }
}
