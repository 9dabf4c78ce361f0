//! `seq-kv`, as upstream implements it (jepsen-io/maelstrom, `src/maelstrom/service.clj`,
//! `sequential` and `Sequential`'s `handle!`): a ring of the 32 latest states; each requester
//! reads from a random state no older than the last one it saw, and anything that would
//! change that state is applied to the newest state instead.

use super::kv::{apply, State, STANDARD};
use super::Service;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{Map, Value};
use std::collections::{HashMap, VecDeque};

/// How many past states are kept.
const HISTORY: usize = 32;

/// The sequentially consistent KV store.
pub struct SeqKv {
    /// The latest `HISTORY` states; the back is state `latest`.
    states: VecDeque<State>,
    latest: u64,
    /// Each requester's floor: the index of the newest state it has observed.
    floors: HashMap<String, u64>,
    rng: Pcg64Mcg,
}

impl SeqKv {
    /// An empty store (state 0 is the empty map).
    pub fn new(rng: Pcg64Mcg) -> Self {
        SeqKv {
            states: VecDeque::from([State::default()]),
            latest: 0,
            floors: HashMap::new(),
            rng,
        }
    }

    /// The state with index `i`, by upstream's formula: indices older than the buffer wrap
    /// around modulo its length (a [QUIRK] reproduced exactly).
    fn state_at(&self, i: u64) -> &State {
        let len = self.states.len() as u64;
        let index = self.latest - ((self.latest - i) % len);
        let position = (len - 1) - (self.latest - index);
        &self.states[position as usize]
    }
}

impl Service for SeqKv {
    fn name(&self) -> &'static str {
        "seq-kv"
    }

    fn handle(&mut self, src: &str, body: &Map<String, Value>) -> Option<Value> {
        let floor = self.floors.get(src).copied().unwrap_or(0).min(self.latest);
        let i = self.rng.gen_range(floor..=self.latest);
        let state = self.state_at(i).clone();
        let (next, reply) = apply(&state, body, STANDARD)?;
        if *next == *state {
            self.floors.insert(src.to_owned(), i);
            return Some(reply);
        }
        let newest = self.states.back().cloned().unwrap_or_default();
        let (next, reply) = apply(&newest, body, STANDARD)?;
        self.states.push_back(next);
        if self.states.len() > HISTORY {
            self.states.pop_front();
        }
        self.latest += 1;
        self.floors.insert(src.to_owned(), self.latest);
        Some(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::super::kv::tests::req;
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    fn read(kv: &mut SeqKv, src: &str) -> Option<i64> {
        kv.handle(src, &req(json!({"type": "read", "key": "k"})))
            .unwrap()["value"]
            .as_i64()
    }

    #[test]
    fn reads_may_be_stale_but_never_go_backwards_for_one_client() {
        for seed in 0..20 {
            let mut kv = SeqKv::new(Pcg64Mcg::seed_from_u64(seed));
            for v in 0..20 {
                kv.handle(
                    "writer",
                    &req(json!({"type": "write", "key": "k", "value": v})),
                );
            }
            let mut last = -1;
            let mut stale = false;
            for _ in 0..50 {
                let v = read(&mut kv, "reader").unwrap_or(-1);
                assert!(v >= last, "seed {seed}: read {v} after {last}");
                stale |= v < 19;
                last = v;
            }
            if seed == 0 {
                assert!(stale, "some read was stale");
            }
        }
    }

    #[test]
    fn a_mutation_sees_the_newest_state_and_raises_the_floor() {
        let mut kv = SeqKv::new(Pcg64Mcg::seed_from_u64(1));
        for v in 0..10 {
            kv.handle("a", &req(json!({"type": "write", "key": "k", "value": v})));
        }
        // A cas may fail against a stale state (and then raises the floor to that state), but
        // retried it reaches the newest one, and once it succeeds b reads the newest state.
        let cas = req(json!({"type": "cas", "key": "k", "from": 9, "to": 10}));
        let tries = (1..100).find(|_| kv.handle("b", &cas).unwrap()["type"] == "cas_ok");
        assert!(tries.is_some());
        assert_eq!(
            read(&mut kv, "b"),
            Some(10),
            "after its own write, b reads the newest state"
        );
    }

    #[test]
    fn cas_failures_on_the_newest_state_still_push_a_state() {
        let mut kv = SeqKv::new(Pcg64Mcg::seed_from_u64(0));
        kv.handle("a", &req(json!({"type": "write", "key": "k", "value": 1})));
        // Stale state 0 has no key: cas would fail there without change, so it may reply
        // from it; a cas whose result differs from state 0 goes to the newest state.
        let reply = kv.handle("b", &req(json!({"type": "cas", "key": "k", "from": 1, "to": 5, "create_if_not_exists": true})));
        assert_eq!(reply.unwrap()["type"], "cas_ok");
    }

    #[test]
    fn the_buffer_keeps_32_states_and_wraps_old_indices() {
        let mut kv = SeqKv::new(Pcg64Mcg::seed_from_u64(2));
        for v in 0..100 {
            kv.handle("w", &req(json!({"type": "write", "key": "k", "value": v})));
        }
        assert_eq!(kv.states.len(), 32);
        assert_eq!(kv.latest, 100);
        assert_eq!(kv.state_at(100).get("\"k\""), Some(&json!(99)));
        assert_eq!(kv.state_at(69).get("\"k\""), Some(&json!(68)));
        // Index 68 is older than the buffer: upstream's formula wraps it to 100 - (32 % 32).
        assert_eq!(kv.state_at(68).get("\"k\""), Some(&json!(99)));
    }
}
