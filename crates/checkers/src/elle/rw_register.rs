//! Elle's rw-register analysis (jepsen-io/elle, `elle/rw_register.clj`, as Maelstrom's
//! txn-rw-register workload configures it) for histories of read/write transactions over
//! registers with unique writes per key.
//!
//! 1. Per key, a version graph: `nil` precedes every value written or read; in an `ok`
//!    transaction that read `v` first and finally wrote `v'`, `v` precedes `v'` (Elle's
//!    writes-follow-reads, `wfr-keys? true` in Maelstrom). Nothing else inside a
//!    transaction orders versions: a store may buffer its writes until commit and serve
//!    reads from committed state, so "wrote `a`, then read `b`" says nothing about which was
//!    installed first. A source that would make some key's versions cyclic is reported
//!    (`cyclic-versions`) and left out.
//! 2. Transaction edges: `wr` from the unique `ok` writer of a value to its readers; for
//!    each version edge `v1 -> v2`, `ww` from writers of `v1` to writers of `v2` and `rw`
//!    from readers of `v1` to writers of `v2`; plus realtime or process order when the
//!    chosen models need it.
//! 3. Non-cycle anomalies (`internal`, `G1a`, `G1b`, `lost-update`) and cycle anomalies
//!    per strongly connected component ([`super::cycles`]), judged against the models.

use super::common::{
    add_cases, conclude, key_class, link_order, lost_update_groups, order_step, Interner,
    Judgement, Meta,
};
use super::graph::{Rels, TxnGraph, Why, RW, WR, WW};
use super::models;
use crate::history::{pair_client_ops, Op, OpType};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    meta: Meta,
    mops: Vec<Mop>,
    /// Keys to the value of the first mop on them, when that mop is a read.
    ext_reads: Vec<(u32, u32)>,
    /// Keys to the last value written.
    ext_writes: Vec<(u32, u32)>,
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
        let reads = if t.meta.kind == OpType::Ok {
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
    for t in txns.iter().filter(|t| t.meta.kind == OpType::Ok) {
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
    let sources: [(&'static str, Grapher); 2] = [
        ("initial-state", initial_state_versions),
        ("wfr-keys", writes_follow_reads_versions),
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
        if t.meta.kind != OpType::Ok {
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
    let judgement = Judgement::new(consistency_models)?;
    let mut interner = Interner::default();
    let mut key_classes = BTreeSet::new();
    let mut txns = Vec::new();
    for (inv, completion) in pair_client_ops(history) {
        let meta = Meta::of(history, inv, completion);
        let op = &history[meta.completion];
        if op.f != "txn" {
            continue;
        }
        let mops = parse_mops(op, &mut interner, &mut key_classes)?;
        let (ext_reads, ext_writes) = externals(&mops);
        txns.push(Txn {
            meta,
            mops,
            ext_reads,
            ext_writes,
        });
    }
    txns.sort_by_key(|t| t.meta.completion);
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
    let metas: Vec<Meta> = analysis.txns.iter().map(|t| t.meta).collect();
    link_order(&mut analysis.graph, history.len(), &metas, judgement.extra);
    analysis.graph.freeze();

    add_cases(
        &mut anomalies,
        [
            ("internal", analysis.internal_cases()),
            ("G1a", analysis.g1a_cases()),
            ("G1b", analysis.g1b_cases()),
            ("lost-update", analysis.lost_update_cases()),
        ],
    );

    Ok(conclude(
        &analysis.graph,
        history,
        &metas,
        &judgement,
        anomalies,
        |pair, rel, names| analysis.explain_step(pair, rel, names, &metas),
    ))
}

impl Analysis<'_> {
    fn op_json(&self, t: &Txn) -> Value {
        serde_json::to_value(&self.history[t.meta.completion]).unwrap_or(Value::Null)
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
                            .map(|w| self.history[self.txns[*w as usize].meta.completion].index)
                            .collect(),
                    })
                }
            }
        }
        let none = Vec::new();
        for (&k, edges) in versions {
            for &(v1, v2) in edges {
                let later = ext_writers.get(&(k, v2)).unwrap_or(&none);
                let why = Why {
                    key: k,
                    value: v1,
                    value2: v2,
                };
                for &a in ext_writers.get(&(k, v1)).unwrap_or(&none) {
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

    fn oks(&self) -> impl Iterator<Item = &Txn> {
        self.txns.iter().filter(|t| t.meta.kind == OpType::Ok)
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
            if t.meta.kind == OpType::Fail {
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
            .filter(|(_, t)| t.meta.kind == OpType::Ok)
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
        lost_update_groups(
            by_read,
            |k| self.interner.value(k).clone(),
            |v| self.interner.value(*v).clone(),
            |t| self.op_json(t),
        )
    }

    fn explain_step(
        &self,
        (a, b): (u32, u32),
        rel: Rels,
        names: (&str, &str),
        metas: &[Meta],
    ) -> (Value, String) {
        let (an, bn) = names;
        let why = self.graph.why(a, b, rel);
        let text = |v: u32| self.interner.value(v).to_string();
        let value = |v: u32| self.interner.value(v).clone();
        match (rel, why) {
            (WR, Some(w)) => (
                json!({"type": "wr", "key": value(w.key), "value": value(w.value)}),
                format!("{an} wrote {} = {}, which was read by {bn}", text(w.key), text(w.value)),
            ),
            (WW, Some(w)) => (
                json!({"type": "ww", "key": value(w.key), "value": value(w.value), "value'": value(w.value2)}),
                format!(
                    "{an} set key {} to {}, and {bn} set it to {}, which came later in the version order",
                    text(w.key), text(w.value), text(w.value2)
                ),
            ),
            (RW, Some(w)) => (
                json!({"type": "rw", "key": value(w.key), "value": value(w.value), "value'": value(w.value2)}),
                format!(
                    "{an} read key {} = {}, and {bn} set it to {}, which came later in the version order",
                    text(w.key), text(w.value), text(w.value2)
                ),
            ),
            _ => order_step(self.history, metas, (a, b), rel, names),
        }
    }
}
