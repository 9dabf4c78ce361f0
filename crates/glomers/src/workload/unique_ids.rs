//! The unique-ids workload (jepsen-io/maelstrom, `src/maelstrom/workload/unique_ids.clj`,
//! `workload`; jepsen-io/jepsen, `jepsen/src/jepsen/checker.clj`, `unique-ids`): clients ask
//! for ids; no id may be acknowledged twice.

use super::{Generator, Invocation, Session, Step, Workload};
use crate::client::{FieldType, ResponseSchema};
use crate::history::Op;
use crate::options::TestOptions;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};

const SCHEMA: ResponseSchema = ResponseSchema {
    kind: "generate_ok",
    required: &[("id", FieldType::Any)],
};

/// The unique-ids workload.
pub struct UniqueIds;

struct GenerateForever;

impl Generator for GenerateForever {
    fn next(&mut self, _rng: &mut Pcg64Mcg, _now: std::time::Duration) -> Invocation {
        Invocation::new("generate", Value::Null)
    }
}

impl Workload for UniqueIds {
    fn name(&self) -> &'static str {
        "unique-ids"
    }

    fn generator(&self, _options: &TestOptions) -> Box<dyn Generator> {
        Box::new(GenerateForever)
    }

    fn reusable_client(&self) -> bool {
        true
    }

    fn operation(&self, _invocation: &Invocation, _session: &mut Session) -> Step {
        Step::last(json!({"type": "generate"}), &SCHEMA, false, |mut reply| {
            reply.remove("id").unwrap_or(Value::Null)
        })
    }

    fn check(&self, history: &[Op], _options: &TestOptions) -> Value {
        crate::checker::unique_ids::check(history)
    }
}
