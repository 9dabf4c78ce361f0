//! Elle's list-append analysis (jepsen-io/elle, `src/elle/list_append.clj`, `check` and
//! `graph`) for histories of transactions that append unique elements to lists and read
//! whole lists.
//!
//! Every read of a key is a prefix of the key's one true list, so the longest read is its
//! version order (when all reads are prefixes of one another; otherwise
//! `incompatible-order`). From it: `wr` from the appender of a read's last element to the
//! reader; `ww` from the appender of the element before an append to the appender; `rw`
//! from every transaction that read the state just before an append to the appender. An
//! append nobody read is placed after the last element anyone read. `ok` and `info`
//! transactions take part (an `info` append may have happened); `fail`ed ones only matter
//! for aborted reads and dirty updates.

use super::common::{
    add_cases, conclude, link_order, lost_update_groups, order_step, Interner, Judgement, Meta,
};
use super::graph::{Rels, TxnGraph, Why, RW, WR, WW};
use super::models::UnknownModel;
use crate::history::{pair_client_ops, Op, OpType};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The state before the first append of a key.
const INIT: u32 = u32::MAX;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mop {
    /// A read: `None` for `nil`.
    Read(u32, Option<Vec<u32>>),
    Append(u32, u32),
}

#[derive(Debug, Clone)]
struct Txn {
    meta: Meta,
    mops: Vec<Mop>,
}

/// Why the analysis could not run (the result becomes `unknown`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// An unknown `--consistency-models` name.
    #[error(transparent)]
    Model(#[from] UnknownModel),
    /// A micro-op other than a read or an append.
    #[error("history contained operations other than appends or reads: {0}")]
    MopTypes(String),
    /// The same element appended to a key twice.
    #[error("value {value} appended to key {key} multiple times!")]
    DuplicateAppends {
        /// The key.
        key: String,
        /// The element.
        value: String,
    },
    /// A read element that no transaction appended.
    #[error("No transaction wrote {key} {value}")]
    Phantom {
        /// The key.
        key: String,
        /// The element.
        value: String,
    },
}

fn parse(op: &Op, interner: &mut Interner) -> Result<Vec<Mop>, AnalysisError> {
    let bad = || AnalysisError::MopTypes(op.value.to_string());
    let mops = op.value.as_array().ok_or_else(bad)?;
    mops.iter()
        .map(|m| {
            let parts = m.as_array().filter(|p| p.len() == 3).ok_or_else(bad)?;
            let key = interner.intern(&parts[1]);
            match parts[0].as_str() {
                Some("r") => match &parts[2] {
                    Value::Null => Ok(Mop::Read(key, None)),
                    Value::Array(list) => Ok(Mop::Read(
                        key,
                        Some(list.iter().map(|e| interner.intern(e)).collect()),
                    )),
                    _ => Err(bad()),
                },
                Some("append") => Ok(Mop::Append(key, interner.intern(&parts[2]))),
                _ => Err(bad()),
            }
        })
        .collect()
}

struct Analysis<'h> {
    history: &'h [Op],
    interner: Interner,
    txns: Vec<Txn>,
    /// key -> version order (elements in append order).
    orders: HashMap<u32, Vec<u32>>,
    /// key -> element -> position in the version order.
    positions: HashMap<u32, HashMap<u32, usize>>,
    /// (key, element) -> the `ok` or `info` transaction that appended it.
    writers: HashMap<(u32, u32), u32>,
    graph: TxnGraph,
}

/// Checks a txn-list-append history against `consistency_models`: Elle's result map
/// (`valid?` may be `unknown`).
pub fn check(
    history: &[Op],
    consistency_models: &[String],
) -> Result<Map<String, Value>, AnalysisError> {
    let judgement = Judgement::new(consistency_models)?;
    let mut interner = Interner::default();
    let mut txns = Vec::new();
    let mut appended: BTreeSet<(u32, u32)> = BTreeSet::new();
    for (inv, completion) in pair_client_ops(history) {
        if history[inv].f != "txn" {
            continue;
        }
        for m in parse(&history[inv], &mut interner)? {
            if let Mop::Append(k, v) = m {
                if !appended.insert((k, v)) {
                    return Err(AnalysisError::DuplicateAppends {
                        key: interner.value(k).to_string(),
                        value: interner.value(v).to_string(),
                    });
                }
            }
        }
        let meta = Meta::of(history, inv, completion);
        let mops = parse(&history[meta.completion], &mut interner)?;
        txns.push(Txn { meta, mops });
    }
    txns.sort_by_key(|t| t.meta.completion);

    let mut anomalies: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut analysis = Analysis {
        history,
        interner,
        graph: TxnGraph::new(txns.len()),
        txns,
        orders: HashMap::new(),
        positions: HashMap::new(),
        writers: HashMap::new(),
    };
    let incompatible = analysis.version_orders();
    if !incompatible.is_empty() {
        anomalies.insert("incompatible-order".into(), incompatible);
    }
    let dirty = analysis.dirty_update_cases()?;
    let (internal, future) = analysis.internal_cases();
    add_cases(
        &mut anomalies,
        [
            ("duplicate-elements", analysis.duplicate_cases()),
            ("dirty-update", dirty),
            ("G1a", analysis.g1a_cases()),
            ("G1b", analysis.g1b_cases()),
            ("lost-update", analysis.lost_update_cases()),
            ("internal", internal),
            ("future-read", future),
        ],
    );

    analysis.link_data();
    let metas: Vec<Meta> = analysis.txns.iter().map(|t| t.meta).collect();
    link_order(&mut analysis.graph, history.len(), &metas, judgement.extra);
    analysis.graph.freeze();
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
    fn possible(&self) -> impl Iterator<Item = (u32, &Txn)> {
        self.txns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.meta.kind != OpType::Fail)
            .map(|(i, t)| (i as u32, t))
    }

    fn oks(&self) -> impl Iterator<Item = (u32, &Txn)> {
        self.possible().filter(|(_, t)| t.meta.kind == OpType::Ok)
    }

    fn op_json(&self, t: &Txn) -> Value {
        serde_json::to_value(&self.history[t.meta.completion]).unwrap_or(Value::Null)
    }

    fn mop_json(&self, m: &Mop) -> Value {
        let v = |x: u32| self.interner.value(x).clone();
        match m {
            Mop::Read(k, None) => json!(["r", v(*k), null]),
            Mop::Read(k, Some(list)) => {
                json!(["r", v(*k), list.iter().map(|e| v(*e)).collect::<Vec<_>>()])
            }
            Mop::Append(k, e) => json!(["append", v(*k), v(*e)]),
        }
    }

    fn list_json(&self, list: &[u32]) -> Value {
        list.iter()
            .map(|e| self.interner.value(*e).clone())
            .collect()
    }

    /// Version orders from the longest read per key, the appenders' index, and the
    /// `incompatible-order` cases.
    fn version_orders(&mut self) -> Vec<Value> {
        let mut reads: BTreeMap<u32, BTreeSet<Vec<u32>>> = BTreeMap::new();
        let mut appends: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut writers = HashMap::new();
        for (i, t) in self.possible() {
            for m in &t.mops {
                match m {
                    Mop::Read(k, Some(list)) if !list.is_empty() => {
                        reads.entry(*k).or_default().insert(list.clone());
                    }
                    Mop::Append(k, e) => {
                        appends.entry(*k).or_default().push(*e);
                        writers.insert((*k, *e), i);
                    }
                    _ => {}
                }
            }
        }
        self.writers = writers;
        let mut cases = Vec::new();
        for (k, elements) in &appends {
            if elements.len() == 1 && !reads.contains_key(k) {
                reads.entry(*k).or_default().insert(elements.clone());
            }
        }
        for (k, lists) in reads {
            let mut sorted: Vec<Vec<u32>> = lists.into_iter().collect();
            sorted.sort_by_key(Vec::len);
            if let Some(pair) = sorted.windows(2).find(|w| !w[1].starts_with(&w[0])) {
                cases.push(json!({
                    "key": self.interner.value(k),
                    "values": [self.list_json(&pair[0]), self.list_json(&pair[1])],
                }));
            }
            let mut order: Vec<u32> = Vec::new();
            let mut seen = BTreeSet::new();
            for e in sorted.last().into_iter().flatten() {
                if seen.insert(*e) {
                    order.push(*e);
                }
            }
            self.positions
                .insert(k, order.iter().enumerate().map(|(i, e)| (*e, i)).collect());
            self.orders.insert(k, order);
        }
        cases
    }

    /// The element appended just before `e` on `k` (or `INIT`); for an append nobody read,
    /// the last element anyone read.
    fn previous(&self, k: u32, e: u32) -> u32 {
        let order = self.orders.get(&k).map_or(&[][..], Vec::as_slice);
        match self.positions.get(&k).and_then(|p| p.get(&e)) {
            Some(0) => INIT,
            Some(i) => order[i - 1],
            None => order.last().copied().unwrap_or(INIT),
        }
    }

    fn link_data(&mut self) {
        // Readers of each state: (key, last element or INIT); info reads are never seen.
        let mut readers: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
        for (i, t) in self.oks() {
            for m in &t.mops {
                if let Mop::Read(k, list) = m {
                    let last = list
                        .as_ref()
                        .and_then(|l| l.last().copied())
                        .unwrap_or(INIT);
                    readers.entry((*k, last)).or_default().push(i);
                }
            }
        }
        let mut edges: Vec<(u32, u32, Rels, Why)> = Vec::new();
        for (i, t) in self.possible() {
            for m in &t.mops {
                match m {
                    Mop::Append(k, e) => {
                        let before = self.previous(*k, *e);
                        let why = Why {
                            key: *k,
                            value: before,
                            value2: *e,
                        };
                        if before != INIT {
                            if let Some(&w) = self.writers.get(&(*k, before)) {
                                edges.push((w, i, WW, why.clone()));
                            }
                        }
                        for &r in readers.get(&(*k, before)).into_iter().flatten() {
                            edges.push((r, i, RW, why.clone()));
                        }
                    }
                    Mop::Read(k, Some(list)) => {
                        if let Some(&last) = list.last() {
                            if let Some(&w) = self.writers.get(&(*k, last)) {
                                let why = Why {
                                    key: *k,
                                    value: last,
                                    value2: last,
                                };
                                edges.push((w, i, WR, why));
                            }
                        }
                    }
                    Mop::Read(..) => {}
                }
            }
        }
        for (a, b, rel, why) in edges {
            self.graph.link(a, b, rel, Some(why));
        }
    }

    /// Reads listing an element twice.
    fn duplicate_cases(&self) -> Vec<Value> {
        let mut cases = Vec::new();
        for (_, t) in self.possible() {
            for m in &t.mops {
                if let Mop::Read(_, Some(list)) = m {
                    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
                    for e in list {
                        *counts.entry(*e).or_default() += 1;
                    }
                    let dups: Map<String, Value> = counts
                        .iter()
                        .filter(|(_, n)| **n > 1)
                        .map(|(e, n)| (self.interner.value(*e).to_string(), json!(n)))
                        .collect();
                    if !dups.is_empty() {
                        cases.push(json!({"op": self.op_json(t), "mop": self.mop_json(m), "duplicates": dups}));
                    }
                }
            }
        }
        cases
    }

    /// Along each key's version order, an element of a failed transaction followed by one
    /// of a committed transaction. A read element nobody appended makes Elle throw.
    fn dirty_update_cases(&self) -> Result<Vec<Value>, AnalysisError> {
        let mut all_writers: HashMap<(u32, u32), usize> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            for m in &t.mops {
                if let Mop::Append(k, e) = m {
                    all_writers.insert((*k, *e), i);
                }
            }
        }
        let mut cases = Vec::new();
        for (k, order) in &self.orders {
            let mut previous: Option<usize> = None;
            let mut run: Vec<u32> = Vec::new();
            for e in order {
                let Some(&writer) = all_writers.get(&(*k, *e)) else {
                    return Err(AnalysisError::Phantom {
                        key: self.interner.value(*k).to_string(),
                        value: self.interner.value(*e).to_string(),
                    });
                };
                let before = previous.map_or(OpType::Ok, |p| self.txns[p].meta.kind);
                let now = self.txns[writer].meta.kind;
                run.push(*e);
                match (before, now) {
                    (OpType::Fail, OpType::Ok) => {
                        cases.push(json!({
                            "key": self.interner.value(*k),
                            "values": self.list_json(&run),
                            "txns": [self.op_json(&self.txns[previous.unwrap_or(writer)]), "...", self.op_json(&self.txns[writer])],
                        }));
                        previous = Some(writer);
                        run = vec![*e];
                    }
                    (_, OpType::Info) | (OpType::Fail, OpType::Fail) => {}
                    _ => {
                        previous = Some(writer);
                        run = vec![*e];
                    }
                }
            }
        }
        Ok(cases)
    }

    /// Reads of an element a failed transaction appended.
    fn g1a_cases(&self) -> Vec<Value> {
        let mut failed: HashMap<(u32, u32), usize> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            if t.meta.kind == OpType::Fail {
                for m in &t.mops {
                    if let Mop::Append(k, e) = m {
                        failed.insert((*k, *e), i);
                    }
                }
            }
        }
        let mut cases = Vec::new();
        for (_, t) in self.oks() {
            for m in &t.mops {
                if let Mop::Read(k, Some(list)) = m {
                    for e in list {
                        if let Some(&w) = failed.get(&(*k, *e)) {
                            cases.push(json!({
                                "op": self.op_json(t), "mop": self.mop_json(m),
                                "writer": self.op_json(&self.txns[w]),
                                "element": self.interner.value(*e),
                            }));
                        }
                    }
                }
            }
        }
        cases
    }

    /// Reads whose last element was another transaction's non-final append to that key.
    fn g1b_cases(&self) -> Vec<Value> {
        let mut intermediate: HashMap<(u32, u32), u32> = HashMap::new();
        for (i, t) in self.txns.iter().enumerate() {
            let mut last: HashMap<u32, u32> = HashMap::new();
            for m in &t.mops {
                if let Mop::Append(k, e) = m {
                    if let Some(previous) = last.insert(*k, *e) {
                        intermediate.insert((*k, previous), i as u32);
                    }
                }
            }
        }
        let mut cases = Vec::new();
        for (i, t) in self.oks() {
            for m in &t.mops {
                if let Mop::Read(k, Some(list)) = m {
                    let Some(&e) = list.last() else { continue };
                    match intermediate.get(&(*k, e)) {
                        Some(&w) if w != i => cases.push(json!({
                            "op": self.op_json(t), "mop": self.mop_json(m),
                            "writer": self.op_json(&self.txns[w as usize]),
                            "element": self.interner.value(e),
                        })),
                        _ => {}
                    }
                }
            }
        }
        cases
    }

    /// `internal`: a read inconsistent with the transaction's own earlier read or appends
    /// (after appends alone, the read must end with them); `future-read`: a read showing an
    /// element the transaction appends later.
    fn internal_cases(&self) -> (Vec<Value>, Vec<Value>) {
        let (mut internal, mut future) = (Vec::new(), Vec::new());
        for (_, t) in self.oks() {
            // key -> (known whole list?, expected list or suffix)
            let mut state: HashMap<u32, (bool, Vec<u32>)> = HashMap::new();
            for m in &t.mops {
                match m {
                    Mop::Append(k, e) => {
                        state.entry(*k).or_insert((false, Vec::new())).1.push(*e);
                    }
                    Mop::Read(k, list) => {
                        let seen = list.clone().unwrap_or_default();
                        if let Some((whole, expected)) = state.get(k) {
                            let fine = if *whole {
                                *expected == seen
                            } else {
                                seen.ends_with(expected)
                            };
                            if !fine {
                                let shown = if *whole {
                                    self.list_json(expected)
                                } else {
                                    let mut v = vec![json!("...")];
                                    v.extend(
                                        expected.iter().map(|e| self.interner.value(*e).clone()),
                                    );
                                    Value::Array(v)
                                };
                                internal.push(json!({"op": self.op_json(t), "mop": self.mop_json(m), "expected": shown}));
                                break;
                            }
                        }
                        state.insert(*k, (true, seen));
                    }
                }
            }
            let mut read: HashMap<(u32, u32), &Mop> = HashMap::new();
            for m in &t.mops {
                match m {
                    Mop::Read(k, Some(list)) => {
                        for e in list {
                            read.entry((*k, *e)).or_insert(m);
                        }
                    }
                    Mop::Append(k, e) => {
                        if let Some(r) = read.get(&(*k, *e)) {
                            future.push(json!({"op": self.op_json(t), "mop": self.mop_json(r), "element": self.interner.value(*e)}));
                            break;
                        }
                    }
                    Mop::Read(..) => {}
                }
            }
        }
        (internal, future)
    }

    /// Two `ok` transactions that read the same state of a key and both appended to it.
    fn lost_update_cases(&self) -> Vec<Value> {
        let mut by_read: BTreeMap<(u32, Vec<u32>), Vec<&Txn>> = BTreeMap::new();
        for (_, t) in self.oks() {
            let mut reads: HashMap<u32, Vec<u32>> = HashMap::new();
            let mut written: BTreeSet<u32> = BTreeSet::new();
            for m in &t.mops {
                match m {
                    Mop::Append(k, _) if !written.contains(k) => {
                        if let Some(v) = reads.get(k) {
                            by_read.entry((*k, v.clone())).or_default().push(t);
                            written.insert(*k);
                        }
                    }
                    Mop::Read(k, list) => {
                        reads
                            .entry(*k)
                            .or_insert_with(|| list.clone().unwrap_or_default());
                    }
                    Mop::Append(..) => {}
                }
            }
        }
        lost_update_groups(
            by_read,
            |k| self.interner.value(k).clone(),
            |v| self.list_json(v),
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
        let text = |v: u32| self.interner.value(v).to_string();
        let value = |v: u32| {
            if v == INIT {
                Value::Null
            } else {
                self.interner.value(v).clone()
            }
        };
        match (rel, self.graph.why(a, b, rel)) {
            (WW, Some(w)) => (
                json!({"type": "ww", "key": value(w.key), "value": value(w.value), "value'": value(w.value2)}),
                format!("{bn} appended {} after {an} appended {} to {}", text(w.value2), text(w.value), text(w.key)),
            ),
            (WR, Some(w)) => (
                json!({"type": "wr", "key": value(w.key), "value": value(w.value)}),
                format!("{bn} observed {an}'s append of {} to key {}", text(w.value), text(w.key)),
            ),
            (RW, Some(w)) if w.value == INIT => (
                json!({"type": "rw", "key": value(w.key), "value": null, "value'": value(w.value2)}),
                format!(
                    "{an} observed the initial (nil) state of {}, which {bn} created by appending {}",
                    text(w.key), text(w.value2)
                ),
            ),
            (RW, Some(w)) => (
                json!({"type": "rw", "key": value(w.key), "value": value(w.value), "value'": value(w.value2)}),
                format!("{an} did not observe {bn}'s append of {} to {}", text(w.value2), text(w.key)),
            ),
            _ => order_step(self.history, metas, (a, b), rel, names),
        }
    }
}
