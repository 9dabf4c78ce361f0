//! What every Elle analysis shares once it has a dependency graph: the models' verdict
//! rules, real-time and process order, the cycle search over every component, cycle
//! explanations and the result map.

use super::cycles::{self, Cycle};
use super::graph::{Rels, TxnGraph, DATA, PROCESS, REALTIME};
use super::models::{self, UnknownModel};
use crate::history::{Op, OpType, Process};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// How long the typed cycle search may spend on one component (Elle's budget).
pub const CYCLE_SEARCH_BUDGET: Duration = Duration::from_millis(1000);

/// Where a transaction sits in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Index of the completion in the history slice.
    pub completion: usize,
    /// Index of the invocation in the history slice.
    pub invocation: usize,
    /// How it ended.
    pub kind: OpType,
    /// Who ran it.
    pub process: Process,
}

impl Meta {
    /// The transaction of an invocation and its completion. One still open at the end may
    /// have happened: it counts as indeterminate, at its invocation.
    pub fn of(history: &[Op], invocation: usize, completion: Option<usize>) -> Meta {
        let (completion, kind) = match completion {
            Some(c) => (c, history[c].kind),
            None => (invocation, OpType::Info),
        };
        Meta {
            completion,
            invocation,
            kind,
            process: history[invocation].process,
        }
    }
}

/// Files each non-empty list of cases under its anomaly's name.
pub fn add_cases<'a>(
    anomalies: &mut BTreeMap<String, Vec<Value>>,
    cases: impl IntoIterator<Item = (&'a str, Vec<Value>)>,
) {
    for (name, found) in cases {
        if !found.is_empty() {
            anomalies.insert(name.into(), found);
        }
    }
}

/// Lost updates as Elle reports them: every group of two or more `ok` transactions that
/// read the same state of a key and then wrote it, as `{key, value, txns}`.
pub fn lost_update_groups<S, T>(
    groups: BTreeMap<(u32, S), Vec<T>>,
    key: impl Fn(u32) -> Value,
    state: impl Fn(&S) -> Value,
    txn: impl Fn(&T) -> Value,
) -> Vec<Value> {
    groups
        .into_iter()
        .filter(|(_, ts)| ts.len() >= 2)
        .map(|((k, s), ts)| {
            json!({
                "key": key(k),
                "value": state(&s),
                "txns": ts.iter().map(&txn).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// What the chosen models forbid, what is worth reporting, and which order edges the
/// graph needs.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// Anomalies that make the history invalid.
    pub prohibited: BTreeSet<String>,
    /// Prohibited ones plus those that make it inconclusive.
    pub reportable: BTreeSet<String>,
    /// `REALTIME`, `PROCESS` or nothing.
    pub extra: Rels,
}

impl Judgement {
    /// The judgement for `--consistency-models`; none means Elle's default,
    /// strict-serializable.
    pub fn new(consistency_models: &[String]) -> Result<Self, UnknownModel> {
        let default = ["strict-serializable".to_owned()];
        let chosen = if consistency_models.is_empty() {
            &default[..]
        } else {
            consistency_models
        };
        let prohibited = models::prohibited_by(&models::validate(chosen)?);
        let mut reportable = prohibited.clone();
        reportable.extend(models::UNKNOWN_ANOMALIES.iter().map(|s| s.to_string()));
        let extra = if reportable.iter().any(|a| a.ends_with("-realtime")) {
            REALTIME
        } else if reportable.iter().any(|a| a.ends_with("-process")) {
            PROCESS
        } else {
            0
        };
        Ok(Judgement {
            prohibited,
            reportable,
            extra,
        })
    }
}

/// Adds the judgement's order edges. Real time is Elle's transitive reduction: each `ok`
/// completion precedes the completions of later invocations (`ok` or `info`), until another
/// `ok` completion covers it. Process order links each process's `ok` transactions.
pub fn link_order(graph: &mut TxnGraph, history_len: usize, txns: &[Meta], extra: Rels) {
    if extra == REALTIME {
        let mut by_completion: HashMap<usize, u32> = HashMap::new();
        let mut by_invocation: HashMap<usize, u32> = HashMap::new();
        for (i, t) in txns.iter().enumerate() {
            by_completion.insert(t.completion, i as u32);
            by_invocation.insert(t.invocation, i as u32);
        }
        let mut buffer: Vec<u32> = Vec::new();
        let mut preceded: HashMap<u32, Vec<u32>> = HashMap::new();
        for position in 0..history_len {
            if let Some(&t) = by_invocation.get(&position) {
                for &b in &buffer {
                    preceded.entry(t).or_default().push(b);
                    if txns[t as usize].kind != OpType::Fail {
                        graph.link(b, t, REALTIME, None);
                    }
                }
            }
            if let Some(&t) = by_completion.get(&position) {
                let before = preceded.remove(&t);
                if txns[t as usize].kind == OpType::Ok {
                    if let Some(before) = before {
                        buffer.retain(|b| !before.contains(b));
                    }
                    buffer.push(t);
                }
            }
        }
    } else if extra == PROCESS {
        let mut last: HashMap<Process, u32> = HashMap::new();
        for (i, t) in txns.iter().enumerate() {
            if t.kind == OpType::Ok {
                if let Some(prev) = last.insert(t.process, i as u32) {
                    graph.link(prev, i as u32, PROCESS, None);
                }
            }
        }
    }
}

/// Searches every strongly connected component and adds what it finds to `anomalies`:
/// named cycles (explained by `explain`), cycle-exists cases and search timeouts.
pub fn cycle_anomalies(
    graph: &TxnGraph,
    history: &[Op],
    txns: &[Meta],
    judgement: &Judgement,
    anomalies: &mut BTreeMap<String, Vec<Value>>,
    explain: impl Fn(&Cycle) -> Value,
) {
    let mut found: Vec<Cycle> = Vec::new();
    for component in graph.sccs(DATA | judgement.extra, None) {
        let findings = cycles::search_component(
            graph,
            &component,
            &judgement.reportable,
            judgement.extra,
            CYCLE_SEARCH_BUDGET,
        );
        if let Some(type_) = findings.timed_out {
            anomalies
                .entry("cycle-search-timeout".into())
                .or_default()
                .push(json!({"anomaly-spec-type": type_, "scc-size": component.len()}));
        }
        found.extend(findings.cycles);
        for e in findings.exists {
            let scc: Vec<u64> = e
                .scc
                .iter()
                .map(|t| history[txns[*t as usize].completion].index)
                .collect();
            anomalies.entry(e.anomaly.clone()).or_default().push(json!({
                "type": e.anomaly, "not": e.not, "subgraph": e.subgraph,
                "scc-size": scc.len(), "scc": scc,
            }));
        }
    }
    for (name, list) in cycles::by_type(found) {
        anomalies.insert(name, list.iter().map(&explain).collect());
    }
}

/// The end of every analysis: searches the frozen graph's components for cycles (each
/// explained one edge per sentence by `step`) and builds the result map.
pub fn conclude(
    graph: &TxnGraph,
    history: &[Op],
    txns: &[Meta],
    judgement: &Judgement,
    mut anomalies: BTreeMap<String, Vec<Value>>,
    step: impl Fn((u32, u32), Rels, (&str, &str)) -> (Value, String),
) -> Map<String, Value> {
    let empty_graph = graph.edge_count() == 0;
    cycle_anomalies(graph, history, txns, judgement, &mut anomalies, |cycle| {
        explain_cycle(history, txns, cycle, &step)
    });
    result_map(&anomalies, empty_graph, judgement)
}

/// How a realtime or process edge reads; data edges are the analysis's own.
pub fn order_step(
    history: &[Op],
    txns: &[Meta],
    (a, b): (u32, u32),
    rel: Rels,
    (an, bn): (&str, &str),
) -> (Value, String) {
    let (ta, tb) = (&txns[a as usize], &txns[b as usize]);
    if rel == REALTIME {
        let (done, started) = (history[ta.completion].index, history[tb.invocation].index);
        (
            json!({"type": "realtime", "a'": done, "b": started}),
            format!(
                "{an} completed at index {done}, before the invocation of {bn}, at index {started}"
            ),
        )
    } else {
        let p = serde_json::to_string(&ta.process).unwrap_or_default();
        (
            json!({"type": "process", "process": ta.process}),
            format!("process {p} executed {an} before {bn}"),
        )
    }
}

/// A cycle as Elle prints it: the transactions, then one sentence per edge, from `step`.
pub fn explain_cycle(
    history: &[Op],
    txns: &[Meta],
    cycle: &Cycle,
    step: impl Fn((u32, u32), Rels, (&str, &str)) -> (Value, String),
) -> Value {
    let n = cycle.txns.len();
    let names: Vec<String> = (1..=n).map(|i| format!("T{i}")).collect();
    let mut text = String::from("Let:\n");
    for (name, t) in names.iter().zip(&cycle.txns) {
        let op = &history[txns[*t as usize].completion];
        text.push_str(&format!("  {name} = {}\n", op.text_line()));
    }
    text.push_str("\nThen:\n");
    let mut steps = Vec::new();
    for i in 0..n {
        let pair = (cycle.txns[i], cycle.txns[(i + 1) % n]);
        let names_ = (names[i].as_str(), names[(i + 1) % n].as_str());
        let (data, sentence) = step(pair, cycle.steps[i], names_);
        steps.push(data);
        if i + 1 < n {
            text.push_str(&format!(
                "  - {} < {}, because {sentence}.\n",
                names_.0, names_.1
            ));
        } else {
            text.push_str(&format!(
                "  - However, {} < {}, because {sentence}: a contradiction!\n",
                names_.0, names_.1
            ));
        }
    }
    let ops: Vec<Value> = cycle
        .txns
        .iter()
        .map(|t| {
            serde_json::to_value(&history[txns[*t as usize].completion]).unwrap_or(Value::Null)
        })
        .collect();
    json!({"type": cycle.anomaly, "cycle": ops, "steps": steps, "explanation": text})
}

/// Elle's result map: valid unless a prohibited anomaly was found; `unknown` when only
/// inconclusive ones were.
pub fn result_map(
    anomalies: &BTreeMap<String, Vec<Value>>,
    empty_graph: bool,
    judgement: &Judgement,
) -> Map<String, Value> {
    let mut all: BTreeMap<String, Value> = anomalies
        .iter()
        .map(|(k, v)| (k.clone(), Value::Array(v.clone())))
        .collect();
    if empty_graph {
        all.insert("empty-transaction-graph".into(), Value::Bool(true));
    }
    let mut shown: BTreeMap<String, Value> = all
        .iter()
        .filter(|(k, _)| judgement.reportable.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // A concrete anomaly makes a "cycle exists somewhere" report for the same model moot.
    let others: Vec<&str> = shown
        .keys()
        .filter(|k| !k.ends_with("-cycle-exists"))
        .map(String::as_str)
        .collect();
    let impossible = models::impossible_models(others);
    shown.retain(|k, _| {
        k.strip_suffix("-cycle-exists")
            .is_none_or(|model| !impossible.contains(model))
    });
    let mut result = Map::new();
    if shown.is_empty() {
        result.insert("valid?".into(), Value::Bool(true));
        return result;
    }
    let bad = shown.keys().any(|k| judgement.prohibited.contains(k));
    let valid = if bad {
        Value::Bool(false)
    } else {
        json!("unknown")
    };
    result.insert("valid?".into(), valid);
    result.insert(
        "anomaly-types".into(),
        json!(shown.keys().collect::<Vec<_>>()),
    );
    result.insert(
        "anomalies".into(),
        Value::Object(shown.into_iter().collect()),
    );
    let (not, also_not) = models::boundary(all.keys().map(String::as_str));
    result.insert("not".into(), json!(not));
    result.insert("also-not".into(), json!(also_not));
    result
}

/// Interns keys and values by their JSON text, so that `1` and `1.0` (and `"1"`) differ,
/// as they do under Clojure's `=`. Id 0 is `nil`.
#[derive(Debug)]
pub struct Interner {
    ids: HashMap<String, u32>,
    values: Vec<Value>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut i = Interner {
            ids: HashMap::new(),
            values: Vec::new(),
        };
        i.intern(&Value::Null);
        i
    }
}

impl Interner {
    /// The id of `v`.
    pub fn intern(&mut self, v: &Value) -> u32 {
        let text = v.to_string();
        if let Some(id) = self.ids.get(&text) {
            return *id;
        }
        let id = self.values.len() as u32;
        self.ids.insert(text, id);
        self.values.push(v.clone());
        id
    }

    /// The value of an id.
    pub fn value(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }
}

/// The JSON type name of a key, for Elle's "one key type" sanity check.
pub fn key_class(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "double",
        Value::Number(_) => "long",
        Value::String(_) => "string",
        Value::Array(_) => "vector",
        Value::Object(_) => "map",
    }
}
