//! Elle's rw-register analysis (spec: workloads §8 and §10) for histories of read/write
//! transactions over registers with unique writes per key.
//!
//! 1. Per key, a version graph: `nil` precedes every value written or read; in an `ok`
//!    transaction that read `v` first and finally wrote `v'`, `v` precedes `v'` (Elle's
//!    writes-follow-reads, as Maelstrom configures it); and, stricter than upstream, the
//!    order of states one `ok` transaction passes through (see [`intra_txn_versions`]).
//!    A source that would make some key's versions cyclic is reported (`cyclic-versions`)
//!    and left out.
//! 2. Transaction edges: `wr` from the unique `ok` writer of a value to its readers; for
//!    each version edge `v1 -> v2`, `ww` from writers of `v1` to writers of `v2` and `rw`
//!    from readers of `v1` to writers of `v2`; plus realtime or process order when the
//!    chosen models need it.
//! 3. Non-cycle anomalies (`internal`, `G1a`, `G1b`, `lost-update`) and cycle anomalies
//!    per strongly connected component ([`super::cycles`]), judged against the models.

use super::cycles::{self, Cycle, CycleExists};
use super::graph::{rel_name, Rels, TxnGraph, Why, DATA, PROCESS, REALTIME, RW, WR, WW};
use super::models;
use crate::history::{pair_client_ops, Op, OpType, Process};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// How long the typed cycle search may spend on one component (Elle's budget).
pub const CYCLE_SEARCH_BUDGET: Duration = Duration::from_millis(1000);

/// The interned `nil` value.
const NIL: u32 = 0;

/// A micro-operation with interned key and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mop {
    write: bool,
    key: u32,
    value: u32,
}

/// One completed transaction.
#[derive(Debug, Clone)]
struct Txn {
    /// Index of the completion in the history slice.
    completion: usize,
    /// Index of the invocation in the history slice.
    invocation: usize,
    kind: OpType,
    process: Process,
    mops: Vec<Mop>,
    /// Keys to the value of the first mop on them, when that mop is a read.
    ext_reads: Vec<(u32, u32)>,
    /// Keys to the last value written.
    ext_writes: Vec<(u32, u32)>,
}

/// Interns keys and values by their JSON text, so that `1` and `1.0` (and `"1"`) differ,
/// as they do under Clojure's `=`.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    values: Vec<Value>,
}

impl Interner {
    fn new() -> Self {
        let mut i = Interner::default();
        i.intern(&Value::Null);
        i
    }

    fn intern(&mut self, v: &Value) -> u32 {
        let text = v.to_string();
        if let Some(id) = self.ids.get(&text) {
            return *id;
        }
        let id = self.values.len() as u32;
        self.ids.insert(text, id);
        self.values.push(v.clone());
        id
    }

    fn value(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }
}

/// Why the analysis could not run (the workload result becomes `unknown`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// An unknown `--consistency-models` name.
    #[error(transparent)]
    Model(#[from] models::UnknownModel),
    /// Keys of different JSON types.
    #[error("History includes a mix of different types for transaction keys: {0}")]
    KeyTypes(String),
    /// Two successful transactions wrote the same value to a key.
    #[error("Key {key} had value {value} written by more than one op: {ops:?}")]
    DuplicateWrite {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// History indices of the writers.
        ops: Vec<u64>,
    },
    /// A transaction value that is not a list of `[f, k, v]` micro-ops.
    #[error("op {index}: {problem}")]
    Malformed {
        /// History index.
        index: u64,
        /// What is wrong.
        problem: String,
    },
}

fn key_class(v: &Value) -> &'static str {
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

fn parse_mops(
    op: &Op,
    interner: &mut Interner,
    key_classes: &mut BTreeSet<&'static str>,
) -> Result<Vec<Mop>, AnalysisError> {
    let malformed = |problem: String| AnalysisError::Malformed {
        index: op.index,
        problem,
    };
    let Some(mops) = op.value.as_array() else {
        return Err(malformed(format!(
            "transaction is not a list: {}",
            op.value
        )));
    };
    mops.iter()
        .map(|mop| {
            let parts = mop.as_array().filter(|p| p.len() == 3);
            let Some([f, k, v]) = parts.map(|p| [&p[0], &p[1], &p[2]]) else {
                return Err(malformed(format!("micro-op is not [f, k, v]: {mop}")));
            };
            let write = match f.as_str() {
                Some("r") => false,
                Some("w") => true,
                _ => return Err(malformed(format!("unknown micro-op function {f}"))),
            };
            key_classes.insert(key_class(k));
            Ok(Mop {
                write,
                key: interner.intern(k),
                value: interner.intern(v),
            })
        })
        .collect()
}

/// Key-value pairs.
type Pairs = Vec<(u32, u32)>;

/// A key whose versions are cyclic, the values in the cycle and the sources that made it.
type CyclicVersions = (u32, Vec<u32>, Vec<&'static str>);

/// External reads and external writes.
fn externals(mops: &[Mop]) -> (Pairs, Pairs) {
    let mut seen: BTreeSet<u32> = BTreeSet::new();
    let mut reads = Vec::new();
    let mut writes: BTreeMap<u32, u32> = BTreeMap::new();
    for m in mops {
        if !m.write && !seen.contains(&m.key) {
            reads.push((m.key, m.value));
        }
        seen.insert(m.key);
        if m.write {
            writes.insert(m.key, m.value);
        }
    }
    (reads, writes.into_iter().collect())
}

/// Per key, version edges `(earlier, later)`.
type VersionGraphs = BTreeMap<u32, BTreeSet<(u32, u32)>>;

fn initial_state_versions(txns: &[Txn]) -> VersionGraphs {
    let mut g = VersionGraphs::new();
    for t in txns {
        let reads = if t.kind == OpType::Ok {
            &t.ext_reads[..]
        } else {
            &[]
        };
        for &(k, v) in t.ext_writes.iter().chain(reads) {
            if v != NIL {
                g.entry(k).or_default().insert((NIL, v));
            }
        }
    }
    g
}

fn writes_follow_reads_versions(txns: &[Txn]) -> VersionGraphs {
    let mut g = VersionGraphs::new();
    for t in txns.iter().filter(|t| t.kind == OpType::Ok) {
        for &(k, v) in &t.ext_reads {
            if v == NIL {
                continue;
            }
            if let Some(&(_, v2)) = t.ext_writes.iter().find(|(k2, _)| *k2 == k) {
                g.entry(k).or_default().insert((v, v2));
            }
        }
    }
    g
}

/// Our addition to Elle's inference: the states one `ok` transaction passes through on a
/// key are installed in that order. After the transaction wrote `a`, a read of another
/// value `b` means `b` was installed after `a` (someone overwrote a write still in
/// progress: a dirty write); a write of `b` after reading or writing `a` means `a`
/// precedes `b`. Two reads in a row are not used, since read committed allows a later read
/// to see an older committed version. Writes inside a transaction count as versions,
/// which is what lets dirty writes (G0) show up as ww cycles (Maelstrom issue 56).
fn intra_txn_versions(txns: &[Txn]) -> VersionGraphs {
    let mut g = VersionGraphs::new();
    for t in txns.iter().filter(|t| t.kind == OpType::Ok) {
        // Per key: the current state and whether this transaction wrote it.
        let mut state: BTreeMap<u32, (u32, bool)> = BTreeMap::new();
        for m in &t.mops {
            match (state.get(&m.key).copied(), m.write) {
                (None, w) => {
                    state.insert(m.key, (m.value, w));
                }
                (Some((current, own)), false) => {
                    if m.value != current {
                        if own && m.value != NIL {
                            g.entry(m.key).or_default().insert((current, m.value));
                        }
                        state.insert(m.key, (m.value, false));
                    }
                }
                (Some((current, _)), true) => {
                    if m.value != current {
                        g.entry(m.key).or_default().insert((current, m.value));
                    }
                    state.insert(m.key, (m.value, true));
                }
            }
        }
    }
    g
}

/// Keys whose version graph has a cycle, with the values involved.
fn cyclic_keys(g: &VersionGraphs) -> Vec<(u32, Vec<u32>)> {
    let mut found = Vec::new();
    for (k, edges) in g {
        let mut adjacency: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for &(a, b) in edges {
            adjacency.entry(a).or_default().push(b);
            adjacency.entry(b).or_default();
        }
        let vertices: Vec<u32> = adjacency.keys().copied().collect();
        for scc in super::graph::tarjan(&vertices, |v| {
            adjacency.get(&v).cloned().unwrap_or_default()
        }) {
            found.push((*k, scc));
        }
        if edges.iter().any(|(a, b)| a == b) {
            found.push((
                *k,
                vec![edges.iter().find(|(a, b)| a == b).map_or(0, |e| e.0)],
            ));
        }
    }
    found
}

/// The version graphs from each source in turn, skipping any that would create a cycle.
fn version_graphs(txns: &[Txn]) -> (VersionGraphs, Vec<CyclicVersions>) {
    type Grapher = fn(&[Txn]) -> VersionGraphs;
    let sources: [(&'static str, Grapher); 3] = [
        ("initial-state", initial_state_versions),
        ("wfr-keys", writes_follow_reads_versions),
        ("intra-txn", intra_txn_versions),
    ];
    let mut graphs = VersionGraphs::new();
    let mut used: Vec<&'static str> = Vec::new();
    let mut cyclic = Vec::new();
    for (name, grapher) in sources {
        let mut merged = graphs.clone();
        for (k, edges) in grapher(txns) {
            merged.entry(k).or_default().extend(edges);
        }
        let cycles = cyclic_keys(&merged);
        let mut with_this = used.clone();
        with_this.push(name);
        if cycles.is_empty() {
            graphs = merged;
            used = with_this;
        } else {
            cyclic.extend(
                cycles
                    .into_iter()
                    .map(|(k, scc)| (k, scc, with_this.clone())),
            );
        }
    }
    (graphs, cyclic)
}

type Index = HashMap<(u32, u32), Vec<u32>>;

fn index(txns: &[Txn], pick: impl Fn(&Txn) -> Vec<(u32, u32)>) -> Index {
    let mut idx: Index = HashMap::new();
    for (i, t) in txns.iter().enumerate() {
        if t.kind != OpType::Ok {
            continue;
        }
        for kv in pick(t) {
            let entry = idx.entry(kv).or_default();
            if entry.last() != Some(&(i as u32)) {
                entry.push(i as u32);
            }
        }
    }
    idx
}

/// The analysis of one history: its transactions, their interned values and the
/// dependency graph between them.
struct Analysis<'h> {
    history: &'h [Op],
    interner: Interner,
    txns: Vec<Txn>,
    graph: TxnGraph,
}

/// Checks a txn-rw-register history against `consistency_models`, returning Elle's result
/// map (before Maelstrom's wrapper).
pub fn check(
    history: &[Op],
    consistency_models: &[String],
) -> Result<Map<String, Value>, AnalysisError> {
    let model_names = models::validate(consistency_models)?;
    let prohibited = models::prohibited_by(&model_names);
    let mut reportable = prohibited.clone();
    reportable.extend(models::UNKNOWN_ANOMALIES.iter().map(|s| s.to_string()));
    let extra: Rels = if reportable.iter().any(|a| a.ends_with("-realtime")) {
        REALTIME
    } else if reportable.iter().any(|a| a.ends_with("-process")) {
        PROCESS
    } else {
        0
    };

    let mut interner = Interner::new();
    let mut key_classes = BTreeSet::new();
    let mut txns = Vec::new();
    for (inv, completion) in pair_client_ops(history) {
        let Some(c) = completion else { continue };
        let op = &history[c];
        if op.f != "txn" || op.kind == OpType::Invoke {
            continue;
        }
        let mops = parse_mops(op, &mut interner, &mut key_classes)?;
        let (ext_reads, ext_writes) = externals(&mops);
        txns.push(Txn {
            completion: c,
            invocation: inv,
            kind: op.kind,
            process: op.process,
            mops,
            ext_reads,
            ext_writes,
        });
    }
    txns.sort_by_key(|t| t.completion);
    if key_classes.len() > 1 {
        return Err(AnalysisError::KeyTypes(format!("{key_classes:?}")));
    }

    let mut anomalies: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut analysis = Analysis {
        history,
        interner,
        graph: TxnGraph::new(txns.len()),
        txns,
    };
    let (versions, cyclic) = version_graphs(&analysis.txns);
    for (k, scc, sources) in cyclic {
        anomalies
            .entry("cyclic-versions".into())
            .or_default()
            .push(json!({
                "key": analysis.interner.value(k),
                "scc": scc.iter().map(|v| analysis.interner.value(*v).clone()).collect::<Vec<_>>(),
                "sources": sources,
            }));
    }
    analysis.link_data(&versions)?;
    match extra {
        REALTIME => analysis.link_realtime(),
        PROCESS => analysis.link_process(),
        _ => {}
    }
    analysis.graph.freeze();

    for (name, cases) in [
        ("internal", analysis.internal_cases()),
        ("G1a", analysis.g1a_cases()),
        ("G1b", analysis.g1b_cases()),
        ("lost-update", analysis.lost_update_cases()),
    ] {
        if !cases.is_empty() {
            anomalies.insert(name.into(), cases);
        }
    }

    let empty_graph = analysis.graph.edge_count() == 0;
    let mut cycles: Vec<Cycle> = Vec::new();
    let mut exists: Vec<CycleExists> = Vec::new();
    for component in analysis.graph.sccs(DATA | extra, None) {
        let findings = cycles::search_component(
            &analysis.graph,
            &component,
            &reportable,
            extra,
            CYCLE_SEARCH_BUDGET,
        );
        if let Some(type_) = findings.timed_out {
            anomalies
                .entry("cycle-search-timeout".into())
                .or_default()
                .push(json!({"anomaly-spec-type": type_, "scc-size": component.len()}));
        }
        cycles.extend(findings.cycles);
        exists.extend(findings.exists);
    }
    for (name, list) in cycles::by_type(cycles) {
        let cases = list.iter().map(|c| analysis.explain_cycle(c)).collect();
        anomalies.insert(name, cases);
    }
    for e in exists {
        let scc: Vec<u64> = e
            .scc
            .iter()
            .map(|t| analysis.history[analysis.txns[*t as usize].completion].index)
            .collect();
        anomalies.entry(e.anomaly.clone()).or_default().push(json!({
            "type": e.anomaly, "not": e.not, "subgraph": e.subgraph,
            "scc-size": scc.len(), "scc": scc,
        }));
    }

    Ok(result_map(
        &anomalies,
        empty_graph,
        &prohibited,
        &reportable,
    ))
}

/// Elle's result map: valid unless a prohibited anomaly was found; `unknown` when only
/// inconclusive ones were.
fn result_map(
    anomalies: &BTreeMap<String, Vec<Value>>,
    empty_graph: bool,
    prohibited: &BTreeSet<String>,
    reportable: &BTreeSet<String>,
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
        .filter(|(k, _)| reportable.contains(*k))
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
    let bad = shown.keys().any(|k| prohibited.contains(k));
    result.insert(
        "valid?".into(),
        if bad {
            Value::Bool(false)
        } else {
            json!("unknown")
        },
    );
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

impl Analysis<'_> {
    fn op_json(&self, t: &Txn) -> Value {
        serde_json::to_value(&self.history[t.completion]).unwrap_or(Value::Null)
    }

    fn mop_json(&self, m: &Mop) -> Value {
        json!([
            if m.write { "w" } else { "r" },
            self.interner.value(m.key),
            self.interner.value(m.value)
        ])
    }

    fn link_data(&mut self, versions: &VersionGraphs) -> Result<(), AnalysisError> {
        let ext_writers = index(&self.txns, |t| t.ext_writes.clone());
        let ext_readers = index(&self.txns, |t| t.ext_reads.clone());
        let writers = index(&self.txns, |t| {
            t.mops
                .iter()
                .filter(|m| m.write)
                .map(|m| (m.key, m.value))
                .collect()
        });
        let mut reads: Vec<(&(u32, u32), &Vec<u32>)> = ext_readers.iter().collect();
        reads.sort();
        for (&(k, v), readers) in reads {
            match ext_writers.get(&(k, v)).map(Vec::as_slice) {
                None | Some([]) => {}
                Some([w]) => {
                    for &r in readers {
                        self.graph.link(
                            *w,
                            r,
                            WR,
                            Some(Why {
                                key: k,
                                value: v,
                                value2: v,
                            }),
                        );
                    }
                }
                Some(ws) => {
                    return Err(AnalysisError::DuplicateWrite {
                        key: self.interner.value(k).to_string(),
                        value: self.interner.value(v).to_string(),
                        ops: ws
                            .iter()
                            .map(|w| self.history[self.txns[*w as usize].completion].index)
                            .collect(),
                    })
                }
            }
        }
        let none = Vec::new();
        for (&k, edges) in versions {
            for &(v1, v2) in edges {
                let later = writers.get(&(k, v2)).unwrap_or(&none);
                let why = Why {
                    key: k,
                    value: v1,
                    value2: v2,
                };
                for &a in writers.get(&(k, v1)).unwrap_or(&none) {
                    for &b in later {
                        self.graph.link(a, b, WW, Some(why.clone()));
                    }
                }
                for &a in ext_readers.get(&(k, v1)).unwrap_or(&none) {
                    for &b in later {
                        self.graph.link(a, b, RW, Some(why.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// Elle's transitive reduction of real-time order: each `ok` completion precedes the
    /// completions of later invocations, until another `ok` completion covers it.
    fn link_realtime(&mut self) {
        let mut by_completion: HashMap<usize, u32> = HashMap::new();
        let mut by_invocation: HashMap<usize, u32> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            by_completion.insert(t.completion, i as u32);
            by_invocation.insert(t.invocation, i as u32);
        }
        let mut buffer: Vec<u32> = Vec::new();
        let mut preceded: HashMap<u32, Vec<u32>> = HashMap::new();
        for position in 0..self.history.len() {
            if let Some(&t) = by_invocation.get(&position) {
                for &b in &buffer {
                    preceded.entry(t).or_default().push(b);
                    if self.txns[t as usize].kind == OpType::Ok {
                        self.graph.link(b, t, REALTIME, None);
                    }
                }
            }
            if let Some(&t) = by_completion.get(&position) {
                if self.txns[t as usize].kind == OpType::Ok {
                    if let Some(before) = preceded.remove(&t) {
                        buffer.retain(|b| !before.contains(b));
                    }
                    buffer.push(t);
                } else {
                    preceded.remove(&t);
                }
            }
        }
    }

    fn link_process(&mut self) {
        let mut last: HashMap<Process, u32> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            if t.kind != OpType::Ok {
                continue;
            }
            if let Some(prev) = last.insert(t.process, i as u32) {
                self.graph.link(prev, i as u32, PROCESS, None);
            }
        }
    }

    fn oks(&self) -> impl Iterator<Item = &Txn> {
        self.txns.iter().filter(|t| t.kind == OpType::Ok)
    }

    /// A read that disagrees with the transaction's own last non-nil state of the key.
    fn internal_cases(&self) -> Vec<Value> {
        let mut cases = Vec::new();
        for t in self.oks() {
            let mut state: HashMap<u32, u32> = HashMap::new();
            for m in &t.mops {
                let expected = state.get(&m.key).copied();
                if !m.write {
                    if let Some(e) = expected.filter(|e| *e != NIL && *e != m.value) {
                        cases.push(json!({
                            "op": self.op_json(t),
                            "mop": self.mop_json(m),
                            "expected": self.interner.value(e),
                        }));
                        break;
                    }
                }
                state.insert(m.key, m.value);
            }
        }
        cases
    }

    /// Reads of a value some failed transaction wrote.
    fn g1a_cases(&self) -> Vec<Value> {
        let mut failed: HashMap<(u32, u32), usize> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            if t.kind == OpType::Fail {
                for m in t.mops.iter().filter(|m| m.write) {
                    failed.insert((m.key, m.value), i);
                }
            }
        }
        let mut cases = Vec::new();
        for t in self.oks() {
            for m in t.mops.iter().filter(|m| !m.write) {
                if let Some(&w) = failed.get(&(m.key, m.value)) {
                    cases.push(json!({
                        "op": self.op_json(t),
                        "mop": self.mop_json(m),
                        "writer": self.op_json(&self.txns[w]),
                    }));
                }
            }
        }
        cases
    }

    /// Reads of another transaction's non-final write to the key.
    fn g1b_cases(&self) -> Vec<Value> {
        let mut intermediate: HashMap<(u32, u32), usize> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            let mut last: HashMap<u32, u32> = HashMap::new();
            for m in t.mops.iter().filter(|m| m.write) {
                if let Some(previous) = last.insert(m.key, m.value) {
                    intermediate.insert((m.key, previous), i);
                }
            }
        }
        let mut cases = Vec::new();
        for (i, t) in self
            .txns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == OpType::Ok)
        {
            for m in t.mops.iter().filter(|m| !m.write) {
                match intermediate.get(&(m.key, m.value)) {
                    Some(&w) if w != i => cases.push(json!({
                        "op": self.op_json(t),
                        "mop": self.mop_json(m),
                        "writer": self.op_json(&self.txns[w]),
                    })),
                    _ => {}
                }
            }
        }
        cases
    }

    /// Two `ok` transactions that read the same value of a key and both wrote it.
    fn lost_update_cases(&self) -> Vec<Value> {
        let mut by_read: BTreeMap<(u32, u32), Vec<&Txn>> = BTreeMap::new();
        for t in self.oks() {
            let mut reads: HashMap<u32, u32> = HashMap::new();
            let mut written: BTreeSet<u32> = BTreeSet::new();
            for m in &t.mops {
                if m.write && !written.contains(&m.key) {
                    if let Some(&v) = reads.get(&m.key) {
                        by_read.entry((m.key, v)).or_default().push(t);
                        written.insert(m.key);
                    }
                } else if !m.write {
                    reads.entry(m.key).or_insert(m.value);
                }
            }
        }
        by_read
            .into_iter()
            .filter(|(_, ts)| ts.len() >= 2)
            .map(|((k, v), ts)| {
                json!({
                    "key": self.interner.value(k),
                    "value": self.interner.value(v),
                    "txns": ts.iter().map(|t| self.op_json(t)).collect::<Vec<_>>(),
                })
            })
            .collect()
    }

    fn explain_step(&self, a: u32, b: u32, rel: Rels, names: (&str, &str)) -> (Value, String) {
        let (an, bn) = names;
        let why = self.graph.why(a, b, rel);
        let text = |v: u32| self.interner.value(v).to_string();
        match (rel, why) {
            (WR, Some(w)) => (
                json!({"type": "wr", "key": self.interner.value(w.key), "value": self.interner.value(w.value)}),
                format!("{an} wrote {} = {}, which was read by {bn}", text(w.key), text(w.value)),
            ),
            (WW, Some(w)) => (
                json!({"type": "ww", "key": self.interner.value(w.key), "value": self.interner.value(w.value), "value'": self.interner.value(w.value2)}),
                format!(
                    "{an} set key {} to {}, and {bn} set it to {}, which came later in the version order",
                    text(w.key), text(w.value), text(w.value2)
                ),
            ),
            (RW, Some(w)) => (
                json!({"type": "rw", "key": self.interner.value(w.key), "value": self.interner.value(w.value), "value'": self.interner.value(w.value2)}),
                format!(
                    "{an} read key {} = {}, and {bn} set it to {}, which came later in the version order",
                    text(w.key), text(w.value), text(w.value2)
                ),
            ),
            (REALTIME, _) => {
                let ta = &self.txns[a as usize];
                let tb = &self.txns[b as usize];
                (
                    json!({"type": "realtime", "a'": self.history[ta.completion].index, "b": self.history[tb.invocation].index}),
                    format!(
                        "{an} completed at index {}, before the invocation of {bn}, at index {}",
                        self.history[ta.completion].index, self.history[tb.invocation].index
                    ),
                )
            }
            (PROCESS, _) => {
                let p = serde_json::to_string(&self.txns[a as usize].process).unwrap_or_default();
                (
                    json!({"type": "process", "process": self.txns[a as usize].process}),
                    format!("process {p} executed {an} before {bn}"),
                )
            }
            _ => (json!({"type": rel_name(rel)}), format!("{an} precedes {bn}")),
        }
    }

    /// A cycle as Elle prints it: the transactions, then one sentence per edge.
    fn explain_cycle(&self, cycle: &Cycle) -> Value {
        let n = cycle.txns.len();
        let names: Vec<String> = (1..=n).map(|i| format!("T{i}")).collect();
        let mut text = String::from("Let:\n");
        for (name, t) in names.iter().zip(&cycle.txns) {
            let op = &self.history[self.txns[*t as usize].completion];
            text.push_str(&format!("  {name} = {}\n", op.text_line()));
        }
        text.push_str("\nThen:\n");
        let mut steps = Vec::new();
        for i in 0..n {
            let (a, b) = (cycle.txns[i], cycle.txns[(i + 1) % n]);
            let (step, sentence) =
                self.explain_step(a, b, cycle.steps[i], (&names[i], &names[(i + 1) % n]));
            steps.push(step);
            if i + 1 < n {
                text.push_str(&format!(
                    "  - {} < {}, because {sentence}.\n",
                    names[i],
                    names[i + 1]
                ));
            } else {
                text.push_str(&format!(
                    "  - However, {} < {}, because {sentence}: a contradiction!\n",
                    names[i], names[0]
                ));
            }
        }
        json!({
            "type": cycle.anomaly,
            "cycle": cycle.txns.iter().map(|t| self.op_json(&self.txns[*t as usize])).collect::<Vec<_>>(),
            "steps": steps,
            "explanation": text,
        })
    }
}
