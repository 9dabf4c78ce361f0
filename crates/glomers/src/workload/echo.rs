//! The echo workload (jepsen-io/maelstrom, `src/maelstrom/workload/echo.clj`, `client` and
//! `checker`): clients send `echo` with a string, the node must answer `echo_ok` with the
//! same value.

use super::{Generator, Invocation, Session, Step, Workload};
use crate::client::{FieldType, ResponseSchema};
use crate::history::Op;
use crate::options::TestOptions;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};

const SCHEMA: ResponseSchema = ResponseSchema {
    kind: "echo_ok",
    required: &[("echo", FieldType::Any)],
};

/// The echo workload.
pub struct Echo;

struct EchoGenerator;

impl Generator for EchoGenerator {
    fn next(&mut self, rng: &mut Pcg64Mcg, _now: std::time::Duration) -> Invocation {
        Invocation::new(
            "echo",
            Value::String(format!("Please echo {}", rng.gen_range(0..128))),
        )
    }
}

impl Workload for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn generator(&self, _options: &TestOptions) -> Box<dyn Generator> {
        Box::new(EchoGenerator)
    }

    fn reusable_client(&self) -> bool {
        false
    }

    fn operation(&self, invocation: &Invocation, _session: &mut Session) -> Step {
        let request = json!({"type": "echo", "echo": invocation.value});
        // The completion value is the whole reply body, as upstream records it.
        Step::last(request, &SCHEMA, false, Value::Object)
    }

    fn check(&self, history: &[Op], _options: &TestOptions) -> Value {
        crate::checker::echo::check(history)
    }
}
