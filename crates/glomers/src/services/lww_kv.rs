//! `lww-kv` as upstream really behaves (jepsen-io/maelstrom, `src/maelstrom/service.clj`,
//! `lww-kv` wrapped by `eventual`, see `Eventual`'s `handle!`): two independent replicas that
//! never converge (the gossip result is computed and discarded upstream); each request goes
//! to one of them by a fair coin. `cas` never creates a missing key.

use super::kv::{apply, Flavor, State};
use super::Service;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{Map, Value};

const LWW: Flavor = Flavor {
    create_if_not_exists: false,
    pr_str_from: false,
};

/// The last-write-wins KV store.
pub struct LwwKv {
    replicas: [State; 2],
    rng: Pcg64Mcg,
}

impl LwwKv {
    /// Two empty replicas.
    pub fn new(rng: Pcg64Mcg) -> Self {
        LwwKv {
            replicas: [State::default(), State::default()],
            rng,
        }
    }
}

impl Service for LwwKv {
    fn name(&self) -> &'static str {
        "lww-kv"
    }

    fn handle(&mut self, _src: &str, body: &Map<String, Value>) -> Option<Value> {
        let replica = usize::from(self.rng.gen_bool(0.5));
        let (next, reply) = apply(&self.replicas[replica], body, LWW)?;
        self.replicas[replica] = next;
        Some(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::super::kv::tests::req;
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn replicas_diverge_and_cas_never_creates() {
        let mut kv = LwwKv::new(Pcg64Mcg::seed_from_u64(5));
        let reply = kv.handle("n0", &req(json!({"type": "cas", "key": "k", "from": 0, "to": 1, "create_if_not_exists": true})));
        assert_eq!(reply.unwrap()["code"], 20);
        kv.handle("n0", &req(json!({"type": "write", "key": "k", "value": 1})));
        let reads: Vec<Value> = (0..40)
            .map(|_| {
                kv.handle("n0", &req(json!({"type": "read", "key": "k"})))
                    .unwrap()
            })
            .collect();
        assert!(reads.iter().any(|r| r["value"] == 1), "one replica has it");
        assert!(
            reads.iter().any(|r| r["code"] == 20),
            "the other never learns it"
        );
        kv.handle(
            "n0",
            &req(json!({"type": "write", "key": "s", "value": "b"})),
        );
        kv.handle(
            "n0",
            &req(json!({"type": "write", "key": "s", "value": "b"})),
        );
        let texts: Vec<Value> = (0..20)
            .filter_map(|_| {
                kv.handle(
                    "n0",
                    &req(json!({"type": "cas", "key": "s", "from": "a", "to": "c"})),
                )
            })
            .filter(|r| r["code"] == 22)
            .map(|r| r["text"].clone())
            .collect();
        assert!(
            texts.contains(&json!("current value \"b\" is not a")),
            "{texts:?}"
        );
    }
}
