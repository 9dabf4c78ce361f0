//! Cycle search and classification (Elle's `elle.txn` cycle anomalies).
//!
//! Within each strongly connected component of the dependency graph we look, worst first,
//! for a cycle of each prohibited shape: G0 (ww only), G1c (ww and wr, at least one wr),
//! G-single-item (exactly one rw), G-nonadjacent-item (two or more rw, none adjacent) and
//! G2-item (two or more rw, some adjacent), each also in a `-process` and a `-realtime`
//! variant that must use at least one edge of that kind. A search is a breadth-first walk
//! over (transaction, cycle-so-far summary) states from one starting edge of the shape's
//! distinguishing kind, so the cycle it returns is a shortest one of that shape through
//! that edge. "Cycle exists" checks (an SCC in the subgraph defining a model) back the
//! typed search up: they decide validity even when no typed cycle is named.

use super::graph::{tarjan, Rels, TxnGraph, DATA, PROCESS, REALTIME, RW, WR, WW};
use super::models;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The data-dependency shape of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    /// Only ww edges.
    G0,
    /// ww and wr edges, at least one wr.
    G1c,
    /// Exactly one rw edge.
    GSingleItem,
    /// At least two rw edges, no two adjacent.
    GNonadjacentItem,
    /// At least two rw edges, two of them adjacent.
    G2Item,
}

impl Shape {
    const ALL: [Shape; 5] = [
        Shape::G0,
        Shape::G1c,
        Shape::GSingleItem,
        Shape::GNonadjacentItem,
        Shape::G2Item,
    ];

    fn name(self) -> &'static str {
        match self {
            Shape::G0 => "G0",
            Shape::G1c => "G1c",
            Shape::GSingleItem => "G-single-item",
            Shape::GNonadjacentItem => "G-nonadjacent-item",
            Shape::G2Item => "G2-item",
        }
    }

    fn data_rels(self) -> Rels {
        match self {
            Shape::G0 => WW,
            Shape::G1c => WW | WR,
            _ => DATA,
        }
    }

    /// The kind of edge every cycle of this shape contains, where searches start.
    fn start_rel(self) -> Rels {
        match self {
            Shape::G0 => WW,
            Shape::G1c => WR,
            _ => RW,
        }
    }
}

/// A found cycle: transactions `cycle[0] -> cycle[1] -> ... -> cycle[0]`, and the
/// relation each step used.
#[derive(Debug, Clone, PartialEq)]
pub struct Cycle {
    /// The anomaly name, e.g. `G1c` or `G-single-item-realtime`.
    pub anomaly: String,
    /// The transactions in order; the first is not repeated.
    pub txns: Vec<u32>,
    /// `steps[i]` orders `txns[i]` before `txns[(i + 1) % len]`.
    pub steps: Vec<Rels>,
}

/// Names a cycle by its edges, as Elle's cycle explainer does.
pub fn classify(steps: &[Rels]) -> String {
    let count = |r: Rels| steps.iter().filter(|s| **s == r).count();
    let rw = count(RW);
    let adjacent = (0..steps.len()).any(|i| steps[i] == RW && steps[(i + 1) % steps.len()] == RW);
    let base = if rw == 1 {
        "G-single-item"
    } else if rw > 1 {
        if adjacent {
            "G2-item"
        } else {
            "G-nonadjacent-item"
        }
    } else if count(WR) > 0 {
        "G1c"
    } else {
        "G0"
    };
    let suffix = if count(REALTIME) > 0 {
        "-realtime"
    } else if count(PROCESS) > 0 {
        "-process"
    } else {
        ""
    };
    format!("{base}{suffix}")
}

/// A "cycle exists" case: some SCC in a model's defining subgraph.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleExists {
    /// E.g. `PL-2-cycle-exists`.
    pub anomaly: String,
    /// The friendly model it rules out.
    pub not: String,
    /// The subgraph, as relation names.
    pub subgraph: String,
    /// The smallest such SCC.
    pub scc: Vec<u32>,
}

/// A subgraph defining a model: a relation set, optionally extended by one step of `rw`
/// (Elle's sequential extension, used for snapshot isolation).
struct ExistsSpec {
    model: &'static str,
    rels: Rels,
    extended_by_rw: bool,
}

const EXISTS_SPECS: [ExistsSpec; 13] = [
    ExistsSpec {
        model: "PL-1",
        rels: WW,
        extended_by_rw: false,
    },
    ExistsSpec {
        model: "PL-2",
        rels: WW | WR,
        extended_by_rw: false,
    },
    ExistsSpec {
        model: "PL-SI",
        rels: WW | WR,
        extended_by_rw: true,
    },
    ExistsSpec {
        model: "PL-2.99",
        rels: DATA,
        extended_by_rw: false,
    },
    ExistsSpec {
        model: "PL-3",
        rels: DATA,
        extended_by_rw: false,
    },
    ExistsSpec {
        model: "strong-session-PL-1",
        rels: WW | PROCESS,
        extended_by_rw: false,
    },
    ExistsSpec {
        model: "strong-session-PL-2",
        rels: WW | WR | PROCESS,
        extended_by_rw: false,
    },
    ExistsSpec {
        model: "strong-session-snapshot-isolation",
        rels: WW | WR | PROCESS,
        extended_by_rw: true,
    },
    ExistsSpec {
        model: "strong-session-serializable",
        rels: DATA | PROCESS,
        extended_by_rw: false,
    },
    ExistsSpec {
        model: "strong-PL-1",
        rels: WW | REALTIME,
        extended_by_rw: false,
    },
    ExistsSpec {
        model: "strong-PL-2",
        rels: WW | WR | REALTIME,
        extended_by_rw: false,
    },
    ExistsSpec {
        model: "strong-snapshot-isolation",
        rels: WW | WR | REALTIME,
        extended_by_rw: true,
    },
    ExistsSpec {
        model: "PL-SS",
        rels: DATA | REALTIME,
        extended_by_rw: false,
    },
];

fn rels_text(rels: Rels, extended: bool) -> String {
    let names: Vec<&str> = [WW, WR, RW, PROCESS, REALTIME]
        .into_iter()
        .filter(|r| rels & r != 0)
        .map(super::graph::rel_name)
        .collect();
    if extended {
        format!("[{}] then one rw", names.join(" "))
    } else {
        format!("[{}]", names.join(" "))
    }
}

/// What one component's search found.
#[derive(Debug, Default)]
pub struct ComponentFindings {
    /// Named cycles, at most one per anomaly type.
    pub cycles: Vec<Cycle>,
    /// Cycle-exists cases not made redundant by a named cycle.
    pub exists: Vec<CycleExists>,
    /// The search ran out of time on this component.
    pub timed_out: Option<String>,
}

/// Searches one strongly connected component (of the whole graph) for every reportable
/// cycle type, within `budget`.
pub fn search_component(
    graph: &TxnGraph,
    component: &[u32],
    reportable: &BTreeSet<String>,
    extra: Rels,
    budget: Duration,
) -> ComponentFindings {
    let deadline = Instant::now() + budget;
    let mut findings = ComponentFindings::default();

    // Cycle exists, weakest models first; a model ruled out rules out those above it.
    let mut redundant: BTreeSet<String> = BTreeSet::new();
    for spec in &EXISTS_SPECS {
        let anomaly = format!("{}-cycle-exists", spec.model);
        if redundant.contains(spec.model) || !reportable.contains(&anomaly) {
            continue;
        }
        if spec.rels & !(DATA | extra) != 0 {
            continue;
        }
        if let Some(scc) = smallest_scc(graph, component, spec) {
            findings.exists.push(CycleExists {
                anomaly,
                not: models::friendly(spec.model).to_owned(),
                subgraph: rels_text(spec.rels, spec.extended_by_rw),
                scc,
            });
            redundant.extend(models::impossible_models_from([spec.model]));
        }
    }

    // Typed cycles, worst first; a found type makes the types it implies redundant.
    let variants: Vec<(Rels, &str)> = [(0, ""), (PROCESS, "-process"), (REALTIME, "-realtime")]
        .into_iter()
        .filter(|(v, _)| *v == 0 || extra & v != 0)
        .collect();
    let mut skip: BTreeSet<String> = BTreeSet::new();
    'shapes: for shape in Shape::ALL {
        for &(variant, suffix) in &variants {
            let name = format!("{}{suffix}", shape.name());
            if skip.contains(&name) || !reportable.contains(&name) {
                continue;
            }
            if Instant::now() > deadline {
                findings.timed_out = Some(name);
                break 'shapes;
            }
            match find_cycle(graph, component, shape, variant, deadline) {
                Search::Found(cycle) => {
                    skip.extend(models::implied_anomalies([name.as_str()]));
                    findings.cycles.push(cycle);
                }
                Search::None => {}
                Search::OutOfTime => {
                    findings.timed_out = Some(name);
                    break 'shapes;
                }
            }
        }
    }

    let found: Vec<&str> = findings.cycles.iter().map(|c| c.anomaly.as_str()).collect();
    let impossible = models::impossible_models(found);
    findings
        .exists
        .retain(|e| !impossible.contains(models::canonical(&e.not)));
    findings
}

fn smallest_scc(graph: &TxnGraph, component: &[u32], spec: &ExistsSpec) -> Option<Vec<u32>> {
    let member: HashMap<u32, ()> = component.iter().map(|v| (*v, ())).collect();
    let step = |v: u32, mask: Rels| -> Vec<u32> {
        graph
            .out(v)
            .iter()
            .filter(|(w, r)| r & mask != 0 && member.contains_key(w))
            .map(|(w, _)| *w)
            .collect()
    };
    let sccs = tarjan(component, |v| {
        let mut next = step(v, spec.rels);
        if spec.extended_by_rw {
            let via: Vec<u32> = next.iter().flat_map(|y| step(*y, RW)).collect();
            next.extend(via);
            next.sort_unstable();
            next.dedup();
        }
        next
    });
    sccs.into_iter().min_by_key(Vec::len)
}

enum Search {
    Found(Cycle),
    None,
    OutOfTime,
}

/// What a partial cycle has used so far, packed into a small integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Summary {
    rw: u8,
    last_rw: bool,
    wr: bool,
    variant: bool,
}

impl Summary {
    fn code(self) -> usize {
        (self.rw as usize) * 8
            + (self.last_rw as usize) * 4
            + (self.wr as usize) * 2
            + self.variant as usize
    }

    fn after(self, rel: Rels, variant: Rels) -> Summary {
        Summary {
            rw: (self.rw + u8::from(rel == RW)).min(2),
            last_rw: rel == RW,
            wr: self.wr || rel == WR,
            variant: self.variant || (variant != 0 && rel == variant),
        }
    }
}

const CODES: usize = 24;

fn single_bits(rels: Rels) -> impl Iterator<Item = Rels> {
    [WW, WR, RW, PROCESS, REALTIME]
        .into_iter()
        .filter(move |r| rels & r != 0)
}

/// Whether a shape allows taking an edge of `rel` from a state.
fn may_take(shape: Shape, state: Summary, rel: Rels, at_start: bool) -> bool {
    match shape {
        Shape::GSingleItem => rel != RW || state.rw == 0,
        Shape::GNonadjacentItem => rel != RW || !state.last_rw,
        // A G2-item search starts on an rw edge followed by another: that pair is the
        // adjacency.
        Shape::G2Item => !at_start || rel == RW,
        _ => true,
    }
}

fn closes(shape: Shape, state: Summary, first_rw: bool, needs_variant: bool) -> bool {
    if needs_variant && !state.variant {
        return false;
    }
    match shape {
        Shape::G0 => true,
        Shape::G1c => state.wr,
        Shape::GSingleItem => state.rw == 1,
        Shape::GNonadjacentItem => state.rw >= 2 && !(state.last_rw && first_rw),
        Shape::G2Item => state.rw >= 2,
    }
}

fn find_cycle(
    graph: &TxnGraph,
    component: &[u32],
    shape: Shape,
    variant: Rels,
    deadline: Instant,
) -> Search {
    let allowed = shape.data_rels() | variant;
    // Only edges inside one SCC of the allowed relations can lie on such a cycle.
    let sub_sccs = graph.sccs(allowed, Some(component));
    let start_rel = if variant != 0 {
        variant
    } else {
        shape.start_rel()
    };
    for sub in sub_sccs {
        let local: HashMap<u32, usize> = sub.iter().enumerate().map(|(i, v)| (*v, i)).collect();
        let mut seen = vec![0u32; sub.len() * CODES];
        let mut parent: Vec<(u32, Rels)> = vec![(u32::MAX, 0); sub.len() * CODES];
        let mut generation = 0u32;
        for &a in &sub {
            for &(b, rels) in graph.out(a) {
                if rels & start_rel == 0 || !local.contains_key(&b) {
                    continue;
                }
                if Instant::now() > deadline {
                    return Search::OutOfTime;
                }
                generation += 1;
                let start = Summary {
                    rw: 0,
                    last_rw: false,
                    wr: false,
                    variant: false,
                }
                .after(start_rel, variant);
                let first_rw = start_rel == RW;
                if let Some(path) = bfs(
                    graph,
                    &local,
                    &sub,
                    shape,
                    variant,
                    (a, b, start),
                    first_rw,
                    allowed,
                    &mut seen,
                    &mut parent,
                    generation,
                ) {
                    let mut txns = vec![a, b];
                    let mut steps = vec![start_rel];
                    for (v, rel) in path {
                        txns.push(v);
                        steps.push(rel);
                    }
                    // The last transaction's step returns to `a`.
                    txns.pop();
                    let anomaly = classify(&steps);
                    return Search::Found(Cycle {
                        anomaly,
                        txns,
                        steps,
                    });
                }
            }
        }
    }
    Search::None
}

/// Breadth-first search from `b` back to `a`. Returns the walk after the start edge as
/// (vertex reached, relation used) pairs, ending at `a`.
#[allow(clippy::too_many_arguments)]
fn bfs(
    graph: &TxnGraph,
    local: &HashMap<u32, usize>,
    sub: &[u32],
    shape: Shape,
    variant: Rels,
    (a, b, start): (u32, u32, Summary),
    first_rw: bool,
    allowed: Rels,
    seen: &mut [u32],
    parent: &mut [(u32, Rels)],
    generation: u32,
) -> Option<Vec<(u32, Rels)>> {
    let index = |v: u32, s: Summary| local[&v] * CODES + s.code();
    let decode = |i: usize| -> (u32, usize) { (sub[i / CODES], i % CODES) };
    let mut queue: VecDeque<(u32, Summary)> = VecDeque::new();
    let origin = index(b, start);
    seen[origin] = generation;
    parent[origin] = (u32::MAX, 0);
    queue.push_back((b, start));
    while let Some((v, state)) = queue.pop_front() {
        let at_start = v == b && state == start;
        let here = index(v, state);
        for &(w, rels) in graph.out(v) {
            if !local.contains_key(&w) {
                continue;
            }
            for rel in single_bits(rels & allowed) {
                if !may_take(shape, state, rel, at_start) {
                    continue;
                }
                let next = state.after(rel, variant);
                let slot = index(w, next);
                if seen[slot] == generation {
                    continue;
                }
                seen[slot] = generation;
                parent[slot] = (here as u32, rel);
                if w == a {
                    if closes(shape, next, first_rw, variant != 0) {
                        let mut walk = Vec::new();
                        let mut at = slot;
                        while at != origin {
                            let (from, rel) = parent[at];
                            walk.push((decode(at).0, rel));
                            at = from as usize;
                        }
                        walk.reverse();
                        return Some(walk);
                    }
                    continue;
                }
                queue.push_back((w, next));
            }
        }
    }
    None
}

/// Groups cycles by anomaly type.
pub fn by_type(cycles: Vec<Cycle>) -> BTreeMap<String, Vec<Cycle>> {
    let mut grouped: BTreeMap<String, Vec<Cycle>> = BTreeMap::new();
    for c in cycles {
        grouped.entry(c.anomaly.clone()).or_default().push(c);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(u32, u32, Rels)]) -> TxnGraph {
        let mut g = TxnGraph::new(n);
        for &(a, b, r) in edges {
            g.link(a, b, r, None);
        }
        g.freeze();
        g
    }

    fn all_reportable() -> BTreeSet<String> {
        models::prohibited_by(&["PL-SS".to_owned()])
    }

    fn found(g: &TxnGraph, extra: Rels) -> Vec<String> {
        let mut names = Vec::new();
        for c in g.sccs(DATA | extra, None) {
            let f = search_component(g, &c, &all_reportable(), extra, Duration::from_secs(5));
            names.extend(f.cycles.into_iter().map(|c| c.anomaly));
        }
        names
    }

    #[test]
    fn classification_follows_elle() {
        assert_eq!(classify(&[WW, WW]), "G0");
        assert_eq!(classify(&[WW, WR]), "G1c");
        assert_eq!(classify(&[WR, RW]), "G-single-item");
        assert_eq!(classify(&[RW, WR, RW, WW]), "G-nonadjacent-item");
        assert_eq!(classify(&[RW, RW]), "G2-item");
        assert_eq!(classify(&[WR, REALTIME]), "G1c-realtime");
        assert_eq!(classify(&[RW, PROCESS]), "G-single-item-process");
    }

    #[test]
    fn finds_the_worst_shape_in_a_component() {
        assert_eq!(found(&graph(2, &[(0, 1, WW), (1, 0, WW)]), 0), ["G0"]);
        assert_eq!(found(&graph(2, &[(0, 1, WW), (1, 0, WR)]), 0), ["G1c"]);
        assert_eq!(
            found(&graph(3, &[(0, 1, WR), (1, 2, WR), (2, 0, RW)]), 0),
            ["G-single-item"]
        );
        assert_eq!(found(&graph(2, &[(0, 1, RW), (1, 0, RW)]), 0), ["G2-item"]);
        assert_eq!(
            found(
                &graph(4, &[(0, 1, RW), (1, 2, WR), (2, 3, RW), (3, 0, WR)]),
                0
            ),
            ["G-nonadjacent-item"]
        );
        assert_eq!(
            found(&graph(2, &[(0, 1, REALTIME), (1, 0, RW)]), REALTIME),
            ["G-single-item-realtime"]
        );
    }

    #[test]
    fn a_shorter_cycle_of_another_shape_does_not_hide_a_g_single() {
        // 0 -rw-> 1 -rw-> 0 is G2-item, but 0 -rw-> 1 -wr-> 2 -ww-> 0 is G-single-item.
        let g = graph(3, &[(0, 1, RW), (1, 0, RW), (1, 2, WR), (2, 0, WW)]);
        let names = found(&g, 0);
        assert!(names.contains(&"G-single-item".to_owned()), "{names:?}");
    }

    #[test]
    fn cycle_exists_backs_up_the_verdict() {
        let g = graph(2, &[(0, 1, WW), (1, 0, WR)]);
        let f = search_component(&g, &[0, 1], &all_reportable(), 0, Duration::from_secs(5));
        // The named G1c makes the read-committed cycle-exists case redundant.
        assert!(f.exists.is_empty(), "{:?}", f.exists);
        let f = search_component(
            &g,
            &[0, 1],
            &BTreeSet::from(["PL-2-cycle-exists".to_owned()]),
            0,
            Duration::from_secs(5),
        );
        assert_eq!(f.exists.len(), 1);
        assert_eq!(f.exists[0].not, "read-committed");
    }
}
