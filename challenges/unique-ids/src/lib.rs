//! Challenge 2: globally unique ids with no coordination at all.
//!
//! Node `i` of `N` hands out `i, i + N, i + 2N, ...`: the residue modulo `N` says which node
//! made an id and the quotient counts that node's ids, so two nodes can never collide and
//! no message ever crosses the network. Ids stay small integers (the k-th id of a run is
//! about `k`), which keeps them compact and comparable, as the checker needs.

use maelstrom::{ErrorBody, Handler, Init};
use serde::{Deserialize, Serialize};

/// What the node accepts.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// A client asks for a fresh id.
    Generate,
}

/// What it answers.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// A fresh id.
    GenerateOk {
        /// The id.
        id: u64,
    },
}

/// Hands out ids from its own residue class.
#[derive(Debug)]
pub struct UniqueIdsNode {
    next: u64,
    stride: u64,
}

impl Default for UniqueIdsNode {
    /// A single node's generator, until `init` says where it stands.
    fn default() -> Self {
        UniqueIdsNode::new(0, 1)
    }
}

impl UniqueIdsNode {
    /// A generator for node `index` of `count`.
    pub fn new(index: u64, count: u64) -> Self {
        UniqueIdsNode {
            next: index,
            stride: count.max(1),
        }
    }

    /// The next id; never repeats for this node, never produced by another.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next;
        self.next += self.stride;
        id
    }
}

impl Handler for UniqueIdsNode {
    type Payload = Payload;
    type Reply = Reply;

    fn init(&mut self, init: &Init) {
        // Maelstrom always lists the node itself; if some harness does not, uniqueness
        // cannot be guaranteed without coordination, so say so loudly.
        let index = init.index().unwrap_or_else(|| {
            tracing::error!(
                node = init.node_id,
                "node id missing from node_ids: ids may collide"
            );
            0
        });
        *self = UniqueIdsNode::new(index as u64, init.node_ids.len() as u64);
    }

    fn handle(&mut self, Payload::Generate: Payload) -> Result<Reply, ErrorBody> {
        Ok(Reply::GenerateOk { id: self.next_id() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maelstrom::testkit::TestNode;
    use serde_json::json;
    use std::collections::BTreeSet;

    #[test]
    fn ids_from_all_nodes_never_collide() {
        let names = ["n0", "n1", "n2"];
        let mut seen = BTreeSet::new();
        for name in names {
            let mut node = TestNode::<UniqueIdsNode>::new(name, &names);
            for _ in 0..1000 {
                node.request("c9", json!({"type": "generate"}));
            }
            for reply in node.take_sent() {
                assert_eq!(reply.body["type"], "generate_ok");
                assert!(seen.insert(reply.body["id"].as_u64().unwrap()));
            }
        }
        assert_eq!(seen.len(), 3000);
        assert_eq!(seen.last(), Some(&2999), "ids stay dense");
    }
}
