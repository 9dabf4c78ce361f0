//! The transaction dependency graph: vertices are transactions, each edge carries the set
//! of relations (ww, wr, rw, process, realtime) that order its ends, and strongly
//! connected components restricted to any subset of relations.

use std::collections::BTreeMap;

/// Edge relations as bits, so that one edge can carry several.
pub type Rels = u8;
/// T2 overwrote the version T1 installed.
pub const WW: Rels = 1;
/// T2 read T1's write.
pub const WR: Rels = 2;
/// T2 overwrote the version T1 read.
pub const RW: Rels = 4;
/// T1 and T2 ran on the same process, T1 first.
pub const PROCESS: Rels = 8;
/// T1 completed before T2 was invoked.
pub const REALTIME: Rels = 16;
/// The data relations.
pub const DATA: Rels = WW | WR | RW;

/// The name of a single relation bit.
pub fn rel_name(rel: Rels) -> &'static str {
    match rel {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        REALTIME => "realtime",
        _ => "?",
    }
}

/// Why an edge exists, for explanations: the key and the values involved.
#[derive(Debug, Clone, PartialEq)]
pub struct Why {
    /// The key.
    pub key: u32,
    /// The version T1 wrote or read.
    pub value: u32,
    /// The version T2 wrote or read.
    pub value2: u32,
}

/// An edge's relations, and the first reason recorded for each of ww, wr and rw.
type EdgeData = (Rels, [Option<Why>; 3]);

/// A directed graph over transactions `0..n`.
#[derive(Debug, Default)]
pub struct TxnGraph {
    edges: BTreeMap<(u32, u32), EdgeData>,
    out: Vec<Vec<(u32, Rels)>>,
    n: usize,
}

impl TxnGraph {
    /// An empty graph over `n` transactions.
    pub fn new(n: usize) -> Self {
        TxnGraph {
            edges: BTreeMap::new(),
            out: Vec::new(),
            n,
        }
    }

    /// Adds `rel` to the edge `a -> b` (self-edges are dropped), remembering the first
    /// reason given for each data relation.
    pub fn link(&mut self, a: u32, b: u32, rel: Rels, why: Option<Why>) {
        if a == b {
            return;
        }
        let entry = self.edges.entry((a, b)).or_insert((0, [None, None, None]));
        entry.0 |= rel;
        let slot = match rel {
            WW => 0,
            WR => 1,
            RW => 2,
            _ => return,
        };
        if entry.1[slot].is_none() {
            entry.1[slot] = why;
        }
    }

    /// Builds the adjacency lists; call once after the last `link`.
    pub fn freeze(&mut self) {
        let mut out = vec![Vec::new(); self.n];
        for (&(a, b), &(rels, _)) in &self.edges {
            out[a as usize].push((b, rels));
        }
        self.out = out;
    }

    /// The number of edges.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// The vertex count.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True without vertices.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Outgoing edges of `a` (after `freeze`).
    pub fn out(&self, a: u32) -> &[(u32, Rels)] {
        self.out.get(a as usize).map_or(&[], Vec::as_slice)
    }

    /// The relations on `a -> b`.
    pub fn rels(&self, a: u32, b: u32) -> Rels {
        self.edges.get(&(a, b)).map_or(0, |e| e.0)
    }

    /// The reason recorded for relation `rel` on `a -> b`.
    pub fn why(&self, a: u32, b: u32, rel: Rels) -> Option<&Why> {
        let slot = match rel {
            WW => 0,
            WR => 1,
            RW => 2,
            _ => return None,
        };
        self.edges.get(&(a, b)).and_then(|e| e.1[slot].as_ref())
    }

    /// Strongly connected components with a cycle, using only edges with a relation in
    /// `mask` and only vertices in `within` (all when `None`). Each component is sorted;
    /// components come in order of their smallest vertex.
    pub fn sccs(&self, mask: Rels, within: Option<&[u32]>) -> Vec<Vec<u32>> {
        let adjacency = |v: u32| {
            self.out(v)
                .iter()
                .filter(move |(_, r)| r & mask != 0)
                .map(|(w, _)| *w)
        };
        let vertices: Vec<u32> = match within {
            Some(vs) => vs.to_vec(),
            None => (0..self.n as u32).collect(),
        };
        let mut member = vec![within.is_none(); self.n];
        for &v in &vertices {
            member[v as usize] = true;
        }
        tarjan(&vertices, |v| {
            adjacency(v).filter(|w| member[*w as usize]).collect()
        })
    }
}

/// Tarjan's algorithm, iterative. Returns components of two or more vertices.
pub fn tarjan(vertices: &[u32], mut next: impl FnMut(u32) -> Vec<u32>) -> Vec<Vec<u32>> {
    const UNSEEN: u32 = u32::MAX;
    let max = vertices.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut index = vec![UNSEEN; max];
    let mut low = vec![0u32; max];
    let mut on_stack = vec![false; max];
    let mut stack: Vec<u32> = Vec::new();
    let mut counter = 0u32;
    let mut components = Vec::new();
    for &root in vertices {
        if index[root as usize] != UNSEEN {
            continue;
        }
        let mut frames: Vec<(u32, Vec<u32>, usize)> = Vec::new();
        index[root as usize] = counter;
        low[root as usize] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        frames.push((root, next(root), 0));
        while let Some(frame) = frames.last_mut() {
            let v = frame.0;
            if frame.2 < frame.1.len() {
                let w = frame.1[frame.2];
                frame.2 += 1;
                if (w as usize) >= max {
                    continue;
                }
                if index[w as usize] == UNSEEN {
                    index[w as usize] = counter;
                    low[w as usize] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w as usize] = true;
                    let successors = next(w);
                    frames.push((w, successors, 0));
                } else if on_stack[w as usize] {
                    low[v as usize] = low[v as usize].min(index[w as usize]);
                }
                continue;
            }
            frames.pop();
            if let Some(parent) = frames.last() {
                let p = parent.0 as usize;
                low[p] = low[p].min(low[v as usize]);
            }
            if low[v as usize] == index[v as usize] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort_unstable();
                    components.push(component);
                }
            }
        }
    }
    components.sort_by_key(|c| c[0]);
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sccs_respect_the_relation_mask() {
        let mut g = TxnGraph::new(4);
        g.link(0, 1, WW, None);
        g.link(1, 0, RW, None);
        g.link(2, 3, WR, None);
        g.link(3, 2, WR, None);
        g.link(3, 3, WR, None);
        g.freeze();
        assert_eq!(g.sccs(DATA, None), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(g.sccs(WW | WR, None), vec![vec![2, 3]]);
        assert!(g.sccs(WW, None).is_empty());
        assert_eq!(g.sccs(DATA, Some(&[0, 1, 2])), vec![vec![0, 1]]);
    }

    #[test]
    fn tarjan_handles_long_chains_without_recursion() {
        let n = 200_000u32;
        let vertices: Vec<u32> = (0..n).collect();
        let components = tarjan(&vertices, |v| vec![(v + 1) % n]);
        assert_eq!(components.len(), 1);
        assert_eq!(components[0].len(), n as usize);
    }
}
