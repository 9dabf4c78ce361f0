//! The broadcast workload (jepsen-io/maelstrom, `src/maelstrom/workload/broadcast.clj`,
//! `client` and `workload`): a `topology` message at setup, then a 50/50 mix of `broadcast`
//! (unique integers 0, 1, 2, ...) and `read`, a heal and a quiet period, and a final read on
//! every client thread. Checked with Jepsen's `set-full`.

use super::{add_or_read, Generator, Invocation, Session, Setup, Step, WithFinalRead, Workload};

use crate::client::{FieldType, ResponseSchema};
use crate::history::Op;
use crate::options::TestOptions;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const TOPOLOGY_OK: ResponseSchema = ResponseSchema {
    kind: "topology_ok",
    required: &[],
};
const BROADCAST_OK: ResponseSchema = ResponseSchema {
    kind: "broadcast_ok",
    required: &[],
};
const READ_OK: ResponseSchema = ResponseSchema {
    kind: "read_ok",
    required: &[("messages", FieldType::Array)],
};
const SETUP_TIMEOUT: Duration = Duration::from_millis(5000);

/// The broadcast workload.
pub struct Broadcast;

/// The neighbour map Maelstrom sends for a topology shape over `nodes` (in test order).
pub fn topology(shape: &str, nodes: &[String]) -> BTreeMap<String, Vec<String>> {
    let n = nodes.len();
    let mut map = BTreeMap::new();
    match shape {
        "line" => {
            if n < 2 {
                return map;
            }
            for i in 0..n {
                let mut neighbours = Vec::new();
                if i > 0 {
                    neighbours.push(nodes[i - 1].clone());
                }
                if i + 1 < n {
                    neighbours.push(nodes[i + 1].clone());
                }
                map.insert(nodes[i].clone(), neighbours);
            }
        }
        "total" => {
            for node in nodes {
                map.insert(
                    node.clone(),
                    nodes.iter().filter(|o| *o != node).cloned().collect(),
                );
            }
        }
        "tree" | "tree2" | "tree3" | "tree4" => {
            let branching = shape
                .strip_prefix("tree")
                .and_then(|b| b.parse().ok())
                .unwrap_or(2usize);
            let mut lists: Vec<Vec<String>> = vec![Vec::new(); n];
            let (mut tier_start, mut tier_len) = (0usize, 1usize);
            while tier_start + tier_len < n {
                let next_start = tier_start + tier_len;
                let next_len = (tier_len * branching).min(n - next_start);
                for (k, child) in (next_start..next_start + next_len).enumerate() {
                    let parent = tier_start + k / branching;
                    lists[parent].push(nodes[child].clone());
                    lists[child].insert(0, nodes[parent].clone());
                }
                tier_start = next_start;
                tier_len = next_len;
            }
            for (node, list) in nodes.iter().zip(lists) {
                map.insert(node.clone(), list);
            }
        }
        _ => {
            // grid
            let side = (n as f64).sqrt().ceil() as usize;
            for idx in 0..n {
                let (i, j) = ((idx / side) as isize, (idx % side) as isize);
                let neighbours = [(i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)]
                    .into_iter()
                    .filter(|(r, c)| *r >= 0 && *c >= 0 && (*c as usize) < side)
                    .map(|(r, c)| r as usize * side + c as usize)
                    .filter(|k| *k < n)
                    .map(|k| nodes[k].clone())
                    .collect();
                map.insert(nodes[idx].clone(), neighbours);
            }
        }
    }
    map
}

/// A 50/50 mix of adds of 0, 1, 2, ... (under the name `add_f`) and reads.
pub struct AddOrReadGenerator {
    add_f: &'static str,
    next_value: u64,
}

impl AddOrReadGenerator {
    /// Adds are invocations of `add_f`.
    pub fn new(add_f: &'static str) -> Self {
        AddOrReadGenerator {
            add_f,
            next_value: 0,
        }
    }
}

impl Generator for AddOrReadGenerator {
    fn next(&mut self, rng: &mut Pcg64Mcg, _now: Duration) -> Invocation {
        if rng.gen_bool(0.5) {
            let value = self.next_value;
            self.next_value += 1;
            Invocation::new(self.add_f, json!(value))
        } else {
            Invocation::new("read", Value::Null)
        }
    }
}

impl Workload for Broadcast {
    fn name(&self) -> &'static str {
        "broadcast"
    }

    fn generator(&self, _options: &TestOptions) -> Box<dyn Generator> {
        Box::new(WithFinalRead::new(AddOrReadGenerator::new("broadcast")))
    }

    fn reusable_client(&self) -> bool {
        false
    }

    fn setup(&self, _node: &str, options: &TestOptions) -> Result<Option<Setup>, String> {
        let mut body = Map::new();
        body.insert("type".into(), json!("topology"));
        body.insert(
            "topology".into(),
            json!(topology(&options.topology, &options.nodes)),
        );
        Ok(Some(Setup {
            name: "topology",
            body,
            reply: &TOPOLOGY_OK,
            timeout: SETUP_TIMEOUT,
        }))
    }

    fn operation(&self, invocation: &Invocation, _session: &mut Session) -> Step {
        add_or_read(
            invocation,
            ("broadcast", "message", &BROADCAST_OK),
            (&READ_OK, "messages", true),
        )
    }

    fn check(&self, history: &[Op], _options: &TestOptions) -> Value {
        crate::checker::set_full::check(history, "broadcast")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize, base: usize) -> Vec<String> {
        (base..base + n).map(|i| format!("n{i}")).collect()
    }

    fn show(map: &BTreeMap<String, Vec<String>>) -> String {
        map.iter()
            .map(|(k, v)| format!("{k}:{}", v.join(",")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn topologies_match_upstream_examples() {
        let five = names(5, 1);
        assert_eq!(
            show(&topology("grid", &five)),
            "n1:n4,n2 n2:n5,n3,n1 n3:n2 n4:n1,n5 n5:n2,n4"
        );
        assert_eq!(
            show(&topology("tree2", &five)),
            "n1:n2,n3 n2:n1,n4,n5 n3:n1 n4:n2 n5:n2"
        );
        assert_eq!(
            show(&topology("line", &five)),
            "n1:n2 n2:n1,n3 n3:n2,n4 n4:n3,n5 n5:n4"
        );
        assert_eq!(
            show(&topology("total", &names(3, 0))),
            "n0:n1,n2 n1:n0,n2 n2:n0,n1"
        );
        assert!(topology("line", &names(1, 0)).is_empty());
        assert_eq!(show(&topology("grid", &names(1, 0))), "n0:");
        let tree3 = topology("tree3", &names(13, 0));
        assert_eq!(tree3["n0"], ["n1", "n2", "n3"]);
        assert_eq!(tree3["n1"], ["n0", "n4", "n5", "n6"]);
        assert_eq!(tree3["n12"], ["n3"]);
        let grid = topology("grid", &names(25, 0));
        assert!(grid.values().all(|v| (2..=4).contains(&v.len())));
    }
}
