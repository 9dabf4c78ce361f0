//! The g-counter and pn-counter workloads (jepsen-io/maelstrom,
//! `src/maelstrom/workload/g_counter.clj`, `workload`, and
//! `src/maelstrom/workload/pn_counter.clj`, `workload` and `checker`): `add` deltas and
//! `read` the total; after the heal and the quiet period every final read must equal the
//! acknowledged deltas plus some subset of the indeterminate ones.

use super::{add_or_read, Generator, Invocation, Session, Step, WithFinalRead, Workload};
use crate::client::{FieldType, ResponseSchema};
use crate::history::Op;
use crate::options::TestOptions;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};
use std::time::Duration;

const ADD_OK: ResponseSchema = ResponseSchema {
    kind: "add_ok",
    required: &[],
};
const READ_OK: ResponseSchema = ResponseSchema {
    kind: "read_ok",
    required: &[("value", FieldType::Int)],
};

/// A counter workload; `grow_only` filters out negative deltas.
pub struct Counter {
    grow_only: bool,
}

impl Counter {
    /// The g-counter workload.
    pub const G: Counter = Counter { grow_only: true };
    /// The pn-counter workload.
    pub const PN: Counter = Counter { grow_only: false };
}

struct CounterGenerator {
    grow_only: bool,
}

impl Generator for CounterGenerator {
    /// A 50/50 mix of reads and adds of `-5..=4`; for g-counter, negative adds are dropped
    /// and the mix drawn again (so 1/3 adds of `0..=4`, 2/3 reads).
    fn next(&mut self, rng: &mut Pcg64Mcg, _now: Duration) -> Invocation {
        loop {
            if rng.gen_bool(0.5) {
                return Invocation::new("read", Value::Null);
            }
            let delta: i64 = rng.gen_range(-5..=4);
            if !self.grow_only || delta >= 0 {
                return Invocation::new("add", json!(delta));
            }
        }
    }
}

impl Workload for Counter {
    fn name(&self) -> &'static str {
        if self.grow_only {
            "g-counter"
        } else {
            "pn-counter"
        }
    }

    fn generator(&self, _options: &TestOptions) -> Box<dyn Generator> {
        Box::new(WithFinalRead::new(CounterGenerator {
            grow_only: self.grow_only,
        }))
    }

    fn reusable_client(&self) -> bool {
        false
    }

    fn error_wrapper(&self) -> bool {
        false
    }

    fn operation(&self, invocation: &Invocation, _session: &mut Session) -> Step {
        add_or_read(
            invocation,
            ("add", "delta", &ADD_OK),
            (&READ_OK, "value", false),
        )
    }

    fn check(&self, history: &[Op], _options: &TestOptions) -> Value {
        crate::checker::counter::check(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::SeedableRng;

    #[test]
    fn g_counter_mix_is_a_third_adds_of_non_negative_deltas() {
        let mut g = CounterGenerator { grow_only: true };
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let ops: Vec<Invocation> = (0..30_000)
            .map(|_| g.next(&mut rng, Duration::ZERO))
            .collect();
        let adds: Vec<i64> = ops
            .iter()
            .filter(|i| i.f == "add")
            .map(|i| i.value.as_i64().unwrap())
            .collect();
        let share = adds.len() as f64 / ops.len() as f64;
        assert!((share - 1.0 / 3.0).abs() < 0.02, "{share}");
        assert!(adds.iter().all(|d| (0..=4).contains(d)));
        let mut pn = CounterGenerator { grow_only: false };
        assert!((0..1000)
            .map(|_| pn.next(&mut rng, Duration::ZERO))
            .any(|i| i.value.as_i64().is_some_and(|d| d < 0)));
    }
}
