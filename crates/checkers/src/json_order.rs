//! Ordering JSON values the way Clojure's `compare` orders the values checkers sort:
//! numbers with numbers, strings with strings, booleans with booleans, arrays by length then
//! element by element. Anything else cannot be compared, which upstream reports by throwing.

use serde_json::Value;
use std::cmp::Ordering;

/// Compares two values, or `None` when upstream's comparator would throw.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => Some(x.cmp(&y)),
                (_, _, Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
            }
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(x.len().cmp(&y.len()));
            }
            for (p, q) in x.iter().zip(y) {
                match compare(p, q)? {
                    Ordering::Equal => continue,
                    other => return Some(other),
                }
            }
            Some(Ordering::Equal)
        }
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compares_like_clojure() {
        assert_eq!(compare(&json!(1), &json!(2.5)), Some(Ordering::Less));
        assert_eq!(
            compare(&json!(u64::MAX), &json!(1)),
            Some(Ordering::Greater)
        );
        assert_eq!(compare(&json!(-3), &json!(u64::MAX)), Some(Ordering::Less));
        assert_eq!(compare(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(
            compare(&json!([1, 2]), &json!([0, 0, 0])),
            Some(Ordering::Less)
        );
        assert_eq!(compare(&json!(1), &json!("1")), None);
        assert_eq!(compare(&json!({}), &json!({})), None);
    }
}
