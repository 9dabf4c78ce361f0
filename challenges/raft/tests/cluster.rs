//! Raft clusters on virtual time: every node a `TestNode`, messages routed between them at
//! once (or dropped across a cut), clients' requests and answers by hand.

use maelstrom::testkit::TestNode;
use maelstrom::{Message, MsgId};
use raft::RaftNode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

struct Cluster {
    nodes: BTreeMap<String, TestNode<RaftNode>>,
    /// Pairs of nodes that cannot reach each other (both directions are listed).
    cut: BTreeSet<(String, String)>,
    /// Everything the nodes sent to clients.
    to_clients: Vec<Message<Value>>,
    next_client: usize,
}

impl Cluster {
    fn new(count: usize, seed: u64) -> Self {
        let ids: Vec<String> = (0..count).map(|i| format!("n{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let nodes = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                (
                    id.clone(),
                    TestNode::with_seed(id, &refs, seed * 100 + i as u64),
                )
            })
            .collect();
        Cluster {
            nodes,
            cut: BTreeSet::new(),
            to_clients: Vec::new(),
            next_client: 0,
        }
    }

    /// Delivers what the nodes sent until nothing is in flight.
    fn route(&mut self) {
        loop {
            let sent: Vec<Message<Value>> = self
                .nodes
                .values_mut()
                .flat_map(|n| n.take_sent())
                .collect();
            if sent.is_empty() {
                return;
            }
            for m in sent {
                if !self.nodes.contains_key(&m.dest) {
                    self.to_clients.push(m);
                } else if !self.cut.contains(&(m.src.clone(), m.dest.clone())) {
                    self.node(&m.dest).deliver(&m.src, m.body);
                }
            }
        }
    }

    /// Lets `time` pass in steps of a millisecond, routing after each.
    fn run(&mut self, time: Duration) {
        for _ in 0..time.as_millis() {
            for node in self.nodes.values_mut() {
                node.advance(Duration::from_millis(1));
            }
            self.route();
        }
    }

    fn node(&mut self, id: &str) -> &mut TestNode<RaftNode> {
        self.nodes.get_mut(id).expect("a node of the cluster")
    }

    fn leaders(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.node().is_leader())
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn the_leader(&self) -> String {
        let leaders = self.leaders();
        assert_eq!(leaders.len(), 1, "one leader: {leaders:?}");
        leaders[0].clone()
    }

    fn followers(&self) -> Vec<String> {
        let leader = self.the_leader();
        self.nodes
            .keys()
            .filter(|id| **id != leader)
            .cloned()
            .collect()
    }

    /// Sends a request from a new client; returns the client and the request's id.
    fn request(&mut self, node: &str, body: Value) -> (String, MsgId) {
        self.next_client += 1;
        let client = format!("c{}", self.next_client);
        let msg_id = self.node(node).request(&client, body);
        self.route();
        (client, msg_id)
    }

    /// The answer to a request, if it came.
    fn answer(&self, (client, msg_id): &(String, MsgId)) -> Option<Value> {
        self.to_clients
            .iter()
            .find(|m| m.dest == *client && m.body["in_reply_to"] == *msg_id)
            .map(|m| m.body.clone())
    }

    /// Sends a request and lets up to two seconds pass for its answer.
    fn call(&mut self, node: &str, body: Value) -> Value {
        let request = self.request(node, body);
        for _ in 0..2000 {
            if let Some(answer) = self.answer(&request) {
                return answer;
            }
            self.run(Duration::from_millis(1));
        }
        panic!("no answer from {node} to {request:?}")
    }

    fn partition(&mut self, side: &[&str]) {
        let ids: Vec<String> = self.nodes.keys().cloned().collect();
        for a in &ids {
            for b in &ids {
                if side.contains(&a.as_str()) != side.contains(&b.as_str()) {
                    self.cut.insert((a.clone(), b.clone()));
                }
            }
        }
    }

    /// Cuts the link between two nodes only.
    fn cut_link(&mut self, a: &str, b: &str) {
        self.cut.insert((a.to_owned(), b.to_owned()));
        self.cut.insert((b.to_owned(), a.to_owned()));
    }

    fn heal(&mut self) {
        self.cut.clear();
    }
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn one_leader_is_elected_and_every_node_follows_it() {
    for seed in 0..5 {
        let mut c = Cluster::new(3, seed);
        c.run(2 * SECOND);
        let leader = c.the_leader();
        let term = c.nodes[&leader].node().term();
        for (id, n) in &c.nodes {
            assert_eq!(
                n.node().leader(),
                Some(leader.as_str()),
                "seed {seed}: {id}"
            );
            assert_eq!(n.node().term(), term, "seed {seed}: {id}");
        }
        c.run(5 * SECOND);
        assert_eq!(
            c.the_leader(),
            leader,
            "seed {seed}: heartbeats keep the leader"
        );
        assert_eq!(c.nodes[&leader].node().term(), term);
    }
}

#[test]
fn requests_through_any_node_are_ordered_by_the_leader() {
    let mut c = Cluster::new(3, 1);
    c.run(2 * SECOND);
    let leader = c.the_leader();
    let followers = c.followers();
    let missing = c.call(&followers[0], json!({"type": "read", "key": 1}));
    assert_eq!(missing["code"], 20, "{missing}");
    let written = c.call(
        &followers[0],
        json!({"type": "write", "key": 1, "value": 3}),
    );
    assert_eq!(written["type"], "write_ok", "{written}");
    let refused = c.call(
        &followers[1],
        json!({"type": "cas", "key": 1, "from": 4, "to": 5}),
    );
    assert_eq!(refused["code"], 22, "{refused}");
    let swapped = c.call(
        &leader,
        json!({"type": "cas", "key": 1, "from": 3, "to": 5}),
    );
    assert_eq!(swapped["type"], "cas_ok", "{swapped}");
    for node in [&leader, &followers[0], &followers[1]] {
        let read = c.call(node, json!({"type": "read", "key": 1}));
        assert_eq!(read["value"], 5, "{node}: {read}");
    }
    c.run(SECOND);
    let logs: Vec<u64> = c.nodes.values().map(|n| n.node().commit_index()).collect();
    assert!(logs.iter().all(|i| *i == logs[0] && *i >= 7), "{logs:?}");
}

#[test]
fn transactions_through_any_node_apply_whole_in_log_order() {
    let mut c = Cluster::new(3, 6);
    c.run(2 * SECOND);
    let follower = c.followers()[0].clone();
    let txn = |ops: Value| json!({"type": "txn", "txn": ops});
    let first = c.call(&follower, txn(json!([["append", "a", 1], ["w", "b", 2]])));
    assert_eq!(first["type"], "txn_ok", "{first}");
    let leader = c.the_leader();
    let second = c.call(
        &leader,
        txn(json!([
            ["r", "a", null],
            ["r", "b", null],
            ["append", "a", 3],
            ["r", "a", null]
        ])),
    );
    assert_eq!(
        second["txn"],
        json!([
            ["r", "a", [1]],
            ["r", "b", 2],
            ["append", "a", 3],
            ["r", "a", [1, 3]]
        ])
    );
}

#[test]
fn a_single_node_serves_alone() {
    let mut c = Cluster::new(1, 1);
    c.run(2 * SECOND);
    assert_eq!(c.the_leader(), "n0");
    c.call("n0", json!({"type": "write", "key": "k", "value": [1]}));
    let read = c.call("n0", json!({"type": "read", "key": "k"}));
    assert_eq!(read["value"], json!([1]));
}

#[test]
fn the_majority_side_elects_a_leader_and_the_minority_refuses_at_once() {
    let mut c = Cluster::new(5, 2);
    c.run(2 * SECOND);
    let old = c.the_leader();
    let old_term = c.nodes[&old].node().term();
    let with_old = c.followers()[0].clone();
    c.partition(&[&old, &with_old]);
    c.run(3 * SECOND);
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1, "the old leader stepped down: {leaders:?}");
    let new = leaders[0].clone();
    assert!(new != old && new != with_old, "{new}");
    assert!(c.nodes[&new].node().term() > old_term);
    let refused = c.call(&old, json!({"type": "write", "key": 1, "value": 1}));
    assert_eq!(
        refused["code"], 11,
        "temporarily unavailable, definite: {refused}"
    );
    let served = c.call(&new, json!({"type": "write", "key": 1, "value": 2}));
    assert_eq!(served["type"], "write_ok");
    c.heal();
    c.run(2 * SECOND);
    assert_eq!(c.the_leader(), new, "the healed minority follows");
    let read = c.call(&old, json!({"type": "read", "key": 1}));
    assert_eq!(read["value"], 2, "{read}");
}

#[test]
fn a_node_back_from_a_partition_does_not_depose_the_leader() {
    let mut c = Cluster::new(3, 3);
    c.run(2 * SECOND);
    let leader = c.the_leader();
    let term = c.nodes[&leader].node().term();
    let loner = c.followers()[0].clone();
    c.partition(&[&loner]);
    c.run(5 * SECOND);
    assert_eq!(
        c.nodes[&loner].node().term(),
        term,
        "pre-votes fail, so the term stays"
    );
    c.heal();
    c.run(2 * SECOND);
    assert_eq!(c.the_leader(), leader);
    assert_eq!(c.nodes[&leader].node().term(), term);
    assert_eq!(c.nodes[&loner].node().leader(), Some(leader.as_str()));
}

#[test]
fn a_node_that_cannot_hear_the_leader_cannot_depose_it_through_others() {
    let mut c = Cluster::new(3, 5);
    c.run(2 * SECOND);
    let leader = c.the_leader();
    let term = c.nodes[&leader].node().term();
    let (deaf, other) = (c.followers()[0].clone(), c.followers()[1].clone());
    c.cut_link(&deaf, &leader);
    c.run(5 * SECOND);
    assert_eq!(
        c.the_leader(),
        leader,
        "{other} still hears the leader: no pre-vote"
    );
    assert_eq!(c.nodes[&other].node().term(), term);
    let answer = c.call(&leader, json!({"type": "write", "key": 1, "value": 1}));
    assert_eq!(answer["type"], "write_ok");
    let relayed = c.call(&deaf, json!({"type": "cas", "key": 1, "from": 1, "to": 2}));
    assert_eq!(
        relayed["type"], "cas_ok",
        "served through {other}: {relayed}"
    );
}

#[test]
fn requests_whose_indices_another_leader_won_are_refused_definitely() {
    let mut c = Cluster::new(3, 4);
    c.run(2 * SECOND);
    let old = c.the_leader();
    c.partition(&[&old]);
    // The old leader still takes the writes, but cannot replicate them.
    let lost: Vec<_> = (1..=2)
        .map(|v| c.request(&old, json!({"type": "write", "key": 1, "value": v})))
        .collect();
    c.run(3 * SECOND);
    assert_eq!(c.answer(&lost[0]), None, "it may yet commit: no answer");
    // The new leader's no-op takes the first index, a client's write the second.
    let others: Vec<String> = c.nodes.keys().filter(|id| **id != old).cloned().collect();
    let served = c.call(&others[0], json!({"type": "write", "key": 1, "value": 3}));
    assert_eq!(served["type"], "write_ok");
    c.heal();
    c.run(2 * SECOND);
    for request in &lost {
        let answer = c
            .answer(request)
            .expect("answered once the index committed");
        assert_eq!(answer["code"], 11, "{answer}");
    }
    let read = c.call(&old, json!({"type": "read", "key": 1}));
    assert_eq!(read["value"], 3);
}

#[test]
fn unknown_and_malformed_requests_get_codes_10_and_12() {
    let mut c = Cluster::new(1, 1);
    c.run(SECOND);
    let unknown = c.call("n0", json!({"type": "increment", "key": 1}));
    assert_eq!(unknown["code"], 10, "{unknown}");
    let malformed = c.call("n0", json!({"type": "cas", "key": 1, "to": 2}));
    assert_eq!(malformed["code"], 12, "{malformed}");
    let bad_micro_op = c.call("n0", json!({"type": "txn", "txn": [["x", 1, 2]]}));
    assert_eq!(bad_micro_op["code"], 12, "{bad_micro_op}");
}
