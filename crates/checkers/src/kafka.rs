//! The kafka checker (jepsen-io/jepsen, `jepsen/src/jepsen/tests/kafka.clj`, `checker`, as
//! Maelstrom's kafka workload configures it): offsets agreed per key, no lost or duplicated
//! messages, polls in order, and the error types Maelstrom does not allow.

use crate::history::{Op, OpType, Process};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Error types that do not make a run invalid with Maelstrom's settings.
const ALLOWED: [&str; 6] = [
    "int-send-skip",
    "G0",
    "G0-process",
    "G0-realtime",
    "PL-1-cycle-exists",
    "strong-PL-1-cycle-exists",
];
/// How many examples each error type keeps.
const EXAMPLES: usize = 8;

/// A key as the checker compares it. Upstream's checker compares keys with `=`, so the
/// integer `9` and the string `"9"` are different keys. (Maelstrom's own histories only
/// carry strings, and poll results are JSON objects, whose keys are strings; an integer key
/// comes from a history built elsewhere.)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// A string key.
    Text(String),
    /// Any other key, as its JSON text.
    Other(String),
}

impl Key {
    fn of(value: &Value) -> Key {
        match value {
            Value::String(s) => Key::Text(s.clone()),
            other => Key::Other(other.to_string()),
        }
    }

    /// The name of the key where it must be a string (a JSON object's key).
    pub fn label(&self) -> String {
        match self {
            Key::Text(s) | Key::Other(s) => s.clone(),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Text(s) => write!(f, "{}", Value::String(s.clone())),
            Key::Other(s) => f.write_str(s),
        }
    }
}

impl serde::Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Key::Text(s) => serializer.serialize_str(s),
            Key::Other(text) => serde_json::from_str::<Value>(text)
                .unwrap_or(Value::Null)
                .serialize(serializer),
        }
    }
}

/// A message as canonical JSON text (`1` and `1.0` differ).
pub type Msg = String;

/// The send in an op's value: `(key, message, offset if known)`.
pub fn send_of(op: &Op) -> Option<(Key, Msg, Option<i64>)> {
    let mop = op.value.get(0)?;
    if mop.get(0)?.as_str()? != "send" {
        return None;
    }
    let key = Key::of(mop.get(1)?);
    match mop.get(2)? {
        Value::Array(pair) if op.kind == OpType::Ok && pair.len() == 2 => {
            Some((key, pair[1].to_string(), pair[0].as_i64()))
        }
        message => Some((key, message.to_string(), None)),
    }
}

/// The messages an `ok` poll read: key -> `[(offset, message)]` in returned order.
pub fn reads_of(op: &Op) -> BTreeMap<Key, Vec<(Option<i64>, Msg)>> {
    let mut reads = BTreeMap::new();
    if op.kind != OpType::Ok || op.f != "poll" {
        return reads;
    }
    let Some(Value::Object(by_key)) = op.value.get(0).and_then(|mop| mop.get(1)) else {
        return reads;
    };
    for (key, pairs) in by_key {
        let list = pairs
            .as_array()
            .map(|pairs| {
                pairs
                    .iter()
                    .filter_map(|p| Some((p.get(0)?.as_i64(), p.get(1)?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        reads.insert(Key::Text(key.clone()), list);
    }
    reads
}

/// A key as the wire carries it: Maelstrom's kafka schema makes every key a string.
pub fn key_text(key: &Value) -> String {
    key.as_str().map_or_else(|| key.to_string(), str::to_owned)
}

/// Per-key version order: offsets with at least one observation, densely indexed.
#[derive(Default)]
struct KeyLog {
    /// offset -> messages seen there.
    offsets: BTreeMap<i64, BTreeSet<Msg>>,
    /// message -> dense indices it appears at (sorted).
    index: HashMap<Msg, Vec<usize>>,
}

impl KeyLog {
    fn finish(&mut self) {
        for (dense, messages) in self.offsets.values().enumerate() {
            for m in messages {
                self.index.entry(m.clone()).or_default().push(dense);
            }
        }
    }
    fn first(&self, m: &Msg) -> Option<usize> {
        self.index.get(m).and_then(|v| v.first().copied())
    }
    fn last(&self, m: &Msg) -> Option<usize> {
        self.index.get(m).and_then(|v| v.last().copied())
    }
}

struct Errors(BTreeMap<&'static str, Vec<Value>>);

impl Errors {
    fn add(&mut self, kind: &'static str, error: Value) {
        self.0.entry(kind).or_default().push(error);
    }
}

/// Checks a kafka history.
pub fn check(history: &[Op]) -> Value {
    let clients: Vec<&Op> = history.iter().filter(|op| op.process.is_client()).collect();
    // Pair completions with their invocations (per process, one at a time).
    let mut invocation_of: HashMap<u64, &Op> = HashMap::new();
    let mut open: HashMap<u64, &Op> = HashMap::new();
    for op in &clients {
        let Process::Client(p) = op.process else {
            continue;
        };
        if op.kind == OpType::Invoke {
            open.insert(p, op);
        } else if let Some(inv) = open.remove(&p) {
            invocation_of.insert(op.index, inv);
        }
    }
    let completions: Vec<&Op> = clients
        .iter()
        .copied()
        .filter(|op| op.kind != OpType::Invoke)
        .collect();

    // Writers, and which sends must have committed.
    let mut writer: HashMap<(Key, Msg), &Op> = HashMap::new();
    for op in completions.iter().filter(|op| op.f == "send") {
        if let Some((k, m, _)) = send_of(op) {
            writer.insert((k, m), op);
        }
    }
    let mut read_somewhere: BTreeSet<(Key, Msg)> = BTreeSet::new();
    for op in &completions {
        for (k, list) in reads_of(op) {
            for (_, m) in list {
                read_somewhere.insert((k.clone(), m));
            }
        }
    }
    let must_commit = |op: &Op, k: &Key, m: &Msg| {
        op.kind == OpType::Ok
            || (op.kind == OpType::Info && read_somewhere.contains(&(k.clone(), m.clone())))
    };
    for (k, m) in &read_somewhere {
        if !writer.contains_key(&(k.clone(), m.clone())) {
            // Upstream throws here ("no writer of value"), so the result is unknown.
            return json!({"valid?": "unknown", "error": format!("no writer of value {m} for key {k}")});
        }
    }

    // Version orders.
    let mut logs: BTreeMap<Key, KeyLog> = BTreeMap::new();
    for op in completions.iter().filter(|op| op.f == "send") {
        if let Some((k, m, Some(offset))) = send_of(op) {
            if must_commit(op, &k, &m) {
                logs.entry(k)
                    .or_default()
                    .offsets
                    .entry(offset)
                    .or_default()
                    .insert(m);
            }
        }
    }
    for op in &completions {
        for (k, list) in reads_of(op) {
            for (offset, m) in list {
                if let Some(offset) = offset {
                    logs.entry(k.clone())
                        .or_default()
                        .offsets
                        .entry(offset)
                        .or_default()
                        .insert(m);
                }
            }
        }
    }
    for log in logs.values_mut() {
        log.finish();
    }

    let mut errors = Errors(BTreeMap::new());
    for (k, log) in &logs {
        for (dense, (offset, messages)) in log.offsets.iter().enumerate() {
            if messages.len() > 1 {
                errors.add("inconsistent-offsets", json!({"key": k, "offset": offset, "index": dense, "values": parse_all(messages)}));
            }
        }
        for (m, indices) in &log.index {
            if indices.len() > 1 {
                let offsets: Vec<i64> = log
                    .offsets
                    .iter()
                    .filter(|(_, ms)| ms.contains(m))
                    .map(|(o, _)| *o)
                    .collect();
                errors.add("duplicate", json!({"key": k, "value": parse(m), "count": indices.len(), "offsets": offsets}));
            }
        }
    }

    // G1a: reads of failed sends.
    for op in &completions {
        for (k, list) in reads_of(op) {
            for (_, m) in list {
                if let Some(w) = writer.get(&(k.clone(), m.clone())) {
                    if w.kind == OpType::Fail {
                        errors.add(
                            "G1a",
                            json!({"key": k, "value": parse(&m), "writer": w, "reader": op}),
                        );
                    }
                }
            }
        }
    }

    // Lost writes.
    for (k, log) in &logs {
        let read_here: BTreeSet<&Msg> = read_somewhere
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, m)| m)
            .collect();
        let Some(bound) = read_here.iter().filter_map(|m| log.first(m)).max() else {
            continue;
        };
        for (m, _) in log.index.iter() {
            let Some(last) = log.last(m) else { continue };
            if last > bound || read_here.contains(m) {
                continue;
            }
            if let Some(w) = writer.get(&(k.clone(), m.clone())) {
                if must_commit(w, k, m) {
                    errors.add("lost-write", json!({"key": k, "value": parse(m), "index": last, "max-read-index": bound, "writer": w}));
                }
            }
        }
    }

    // Per-process scans: polls and sends, with assign resets.
    let mut last_read: HashMap<u64, HashMap<Key, (usize, &Op)>> = HashMap::new();
    let mut last_send: HashMap<u64, HashMap<Key, (usize, &Op)>> = HashMap::new();
    for op in &completions {
        let Process::Client(p) = op.process else {
            continue;
        };
        match (op.f.as_str(), op.kind) {
            ("assign", OpType::Ok | OpType::Info) => {
                let keep: BTreeSet<Key> = invocation_of
                    .get(&op.index)
                    .and_then(|inv| inv.value.as_array())
                    .map(|keys| keys.iter().map(Key::of).collect())
                    .unwrap_or_default();
                last_read
                    .entry(p)
                    .or_default()
                    .retain(|k, _| keep.contains(k));
                last_send
                    .entry(p)
                    .or_default()
                    .retain(|k, _| keep.contains(k));
            }
            ("poll", OpType::Ok) => {
                let memory = last_read.entry(p).or_default();
                for (k, list) in reads_of(op) {
                    let Some(log) = logs.get(&k) else { continue };
                    let indices: Vec<Option<usize>> =
                        list.iter().map(|(_, m)| log.first(m)).collect();
                    if let (Some(Some(first)), Some((prev, prev_op))) =
                        (indices.first(), memory.get(&k))
                    {
                        classify(&mut errors, "", &k, *first as i64 - *prev as i64, || {
                            json!([prev_op, op])
                        });
                    }
                    for pair in indices.windows(2) {
                        if let (Some(a), Some(b)) = (pair[0], pair[1]) {
                            classify(&mut errors, "int-", &k, b as i64 - a as i64, || json!([op]));
                        }
                    }
                    if let Some(Some(last)) = indices.last() {
                        memory.insert(k, (*last, op));
                    }
                }
            }
            ("send", OpType::Ok | OpType::Info) => {
                let Some((k, m, _)) = send_of(op) else {
                    continue;
                };
                let Some(index) = logs.get(&k).and_then(|log| log.first(&m)) else {
                    continue;
                };
                let memory = last_send.entry(p).or_default();
                if let Some((prev, prev_op)) = memory.get(&k) {
                    if index <= *prev {
                        errors.add("nonmonotonic-send", json!({"key": k, "delta": index as i64 - *prev as i64, "ops": [prev_op, op]}));
                    }
                }
                memory.insert(k, (index, op));
            }
            _ => {}
        }
    }

    // Realtime cycles: a poll that read a message whose send began after the poll ended.
    for op in completions
        .iter()
        .filter(|op| op.f == "poll" && op.kind == OpType::Ok)
    {
        for (k, list) in reads_of(op) {
            for (_, m) in list {
                let Some(w) = writer.get(&(k.clone(), m.clone())) else {
                    continue;
                };
                if let Some(send_start) = invocation_of.get(&w.index) {
                    if send_start.index > op.index {
                        errors.add(
                            "G1c-realtime",
                            json!({"key": k, "value": parse(&m), "writer": w, "reader": op}),
                        );
                    }
                }
            }
        }
    }

    let data_ops = completions
        .iter()
        .filter(|op| matches!(op.f.as_str(), "send" | "poll") && op.kind != OpType::Fail)
        .count();
    if data_ops == 0 {
        errors.add("empty-transaction-graph", Value::Null);
    }

    // Unseen: ok sends never polled.
    let mut unseen: BTreeMap<Key, Vec<Msg>> = BTreeMap::new();
    for op in completions
        .iter()
        .filter(|op| op.f == "send" && op.kind == OpType::Ok)
    {
        if let Some((k, m, _)) = send_of(op) {
            if !read_somewhere.contains(&(k.clone(), m.clone())) {
                unseen.entry(k).or_default().push(m);
            }
        }
    }

    let mut result = Map::new();
    let mut types: BTreeSet<&str> = errors.0.keys().copied().collect();
    for (kind, mut errs) in errors.0 {
        let count = errs.len();
        if kind.contains("skip") {
            errs.sort_by_key(|e| std::cmp::Reverse(e["delta"].as_i64().unwrap_or(0)));
        } else if kind.contains("nonmonotonic") {
            errs.sort_by_key(|e| e["delta"].as_i64().unwrap_or(0));
        }
        errs.truncate(if kind == "duplicate" || kind == "inconsistent-offsets" {
            32
        } else {
            EXAMPLES
        });
        result.insert(kind.to_owned(), json!({"count": count, "errs": errs}));
    }
    if !unseen.is_empty() {
        types.insert("unseen");
        let time = completions.last().map_or(0, |op| op.time);
        let counts: Map<String, Value> = unseen
            .iter()
            .map(|(k, ms)| (k.label(), json!(ms.len())))
            .collect();
        let messages: Map<String, Value> = unseen
            .iter()
            .map(|(k, ms)| {
                let mut values: Vec<Value> = ms.iter().map(|m| parse(m)).collect();
                values.sort_by(|a, b| {
                    crate::json_order::compare(a, b).unwrap_or(std::cmp::Ordering::Equal)
                });
                values.truncate(32);
                (k.label(), Value::Array(values))
            })
            .collect();
        result.insert(
            "unseen".into(),
            json!({"time": time, "unseen": counts, "messages": messages}),
        );
    }
    let bad: Vec<&str> = types
        .iter()
        .copied()
        .filter(|t| !ALLOWED.contains(t))
        .collect();
    let causes: BTreeSet<String> = completions
        .iter()
        .filter(|op| op.kind == OpType::Info && matches!(op.f.as_str(), "send" | "poll"))
        .filter_map(|op| op.error.as_ref().map(Value::to_string))
        .collect();
    result.insert("valid?".into(), json!(bad.is_empty()));
    result.insert("bad-error-types".into(), json!(bad));
    result.insert("error-types".into(), json!(types));
    result.insert("info-txn-causes".into(), json!(causes));
    result.insert(
        "worst-realtime-lag".into(),
        worst_realtime_lag(&clients, &invocation_of),
    );
    Value::Object(result)
}

/// The highest offset of each key an `ok` or `info` op shows to exist (`-1` for a key
/// polled empty).
fn max_offsets(op: &Op) -> BTreeMap<Key, i64> {
    let mut known: BTreeMap<Key, i64> = BTreeMap::new();
    for (k, list) in reads_of(op) {
        let highest = list.iter().filter_map(|(o, _)| *o).max().unwrap_or(-1);
        let slot = known.entry(k).or_insert(highest);
        *slot = (*slot).max(highest);
    }
    if matches!(op.kind, OpType::Ok | OpType::Info) && op.f == "send" {
        if let Some((k, _, Some(o))) = send_of(op) {
            let slot = known.entry(k).or_insert(o);
            *slot = (*slot).max(o);
        }
    }
    known
}

/// Upstream's informational `worst-realtime-lag`: over every `ok` poll and every key its
/// process follows, how long before the poll was invoked the offset after the highest one
/// the process has seen was already known to exist; the largest such lag, with its poll's
/// invocation time, process and key. Both times in seconds, as Jepsen 0.3.1 and 0.3.7
/// report them (jepsen-io/jepsen, `jepsen/tests/kafka.clj`, `checker`: `nanos->secs` on
/// `:time` and `:lag`); `{"time": 0.0, "lag": 0.0}` when there is none, as 0.3.7 says.
fn worst_realtime_lag(clients: &[&Op], invocation_of: &HashMap<u64, &Op>) -> Value {
    // key -> offset -> the earliest time that offset was known to exist.
    let mut exists_since: HashMap<Key, Vec<Option<u64>>> = HashMap::new();
    for op in clients {
        for (k, highest) in max_offsets(op) {
            let times = exists_since.entry(k).or_default();
            let mut i = highest;
            while i >= 0 {
                let at = i as usize;
                if times.len() <= at {
                    times.resize(at + 1, None);
                }
                if times[at].is_some() {
                    break;
                }
                times[at] = Some(op.time);
                i -= 1;
            }
        }
    }
    let mut followed: HashMap<u64, BTreeMap<Key, i64>> = HashMap::new();
    let mut worst: Option<(u64, u64, Key, u64)> = None;
    for op in clients.iter().filter(|op| op.kind == OpType::Ok) {
        let Process::Client(process) = op.process else {
            continue;
        };
        match op.f.as_str() {
            "assign" => {
                let old = followed.remove(&process).unwrap_or_default();
                let keys = op.value.as_array().cloned().unwrap_or_default();
                let new = keys
                    .iter()
                    .map(Key::of)
                    .map(|k| {
                        let offset = old.get(&k).copied().unwrap_or(-1);
                        (k, offset)
                    })
                    .collect();
                followed.insert(process, new);
            }
            "poll" => {
                let invoked = invocation_of.get(&op.index).map_or(op.time, |i| i.time);
                let offsets = followed.entry(process).or_default();
                for (k, highest) in max_offsets(op) {
                    let slot = offsets.entry(k).or_insert(highest);
                    *slot = (*slot).max(highest);
                }
                for (k, offset) in offsets.iter() {
                    let next_known = exists_since
                        .get(k)
                        .and_then(|times| times.get((offset + 1) as usize).copied().flatten());
                    let lag = next_known.map_or(0, |at| invoked.saturating_sub(at));
                    if worst.as_ref().is_none_or(|w| lag > w.3) {
                        worst = Some((invoked, process, k.clone(), lag));
                    }
                }
            }
            _ => {}
        }
    }
    match worst {
        Some((time, process, key, lag)) => json!({
            "time": nanos_to_secs(time),
            "process": process,
            "key": key,
            "lag": nanos_to_secs(lag),
        }),
        None => json!({"time": 0.0, "lag": 0.0}),
    }
}

fn nanos_to_secs(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

/// `ops` is only built for an error: a poll's pairs are classified one by one, and
/// rendering its operation each time made the check quadratic in the poll's size.
fn classify(errors: &mut Errors, prefix: &str, key: &Key, delta: i64, ops: impl FnOnce() -> Value) {
    let kind = match (prefix, delta) {
        ("", d) if d > 1 => "poll-skip",
        ("", d) if d < 1 => "nonmonotonic-poll",
        (_, d) if d > 1 => "int-poll-skip",
        (_, d) if d < 1 => "int-nonmonotonic-poll",
        _ => return,
    };
    errors.add(kind, json!({"key": key, "delta": delta, "ops": ops()}));
}

fn parse(m: &str) -> Value {
    serde_json::from_str(m).unwrap_or(Value::Null)
}

fn parse_all(ms: &BTreeSet<Msg>) -> Vec<Value> {
    ms.iter().map(|m| parse(m)).collect()
}
