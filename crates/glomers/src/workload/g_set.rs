//! The g-set workload (jepsen-io/maelstrom, `src/maelstrom/workload/g_set.clj`, `client` and
//! `workload`): a 50/50 mix of `add` (unique integers 0, 1, 2, ...) and `read`, a heal and a
//! quiet period, and a final read on every client thread. Checked with Jepsen's `set-full`
//! (jepsen-io/jepsen, `jepsen/src/jepsen/checker.clj`, `set-full`), as broadcast. No error
//! wrapper: every error or timeout is an indeterminate exception.

use super::broadcast::AddOrReadGenerator;
use super::{add_or_read, Generator, Invocation, Session, Step, WithFinalRead, Workload};
use crate::client::{FieldType, ResponseSchema};
use crate::history::Op;
use crate::options::TestOptions;
use serde_json::Value;

const ADD_OK: ResponseSchema = ResponseSchema {
    kind: "add_ok",
    required: &[],
};
/// The schema says `value`, whatever upstream's docstring says (`elements`).
const READ_OK: ResponseSchema = ResponseSchema {
    kind: "read_ok",
    required: &[("value", FieldType::Array)],
};

/// The g-set workload.
pub struct GSet;

impl Workload for GSet {
    fn name(&self) -> &'static str {
        "g-set"
    }

    fn generator(&self, _options: &TestOptions) -> Box<dyn Generator> {
        Box::new(WithFinalRead::new(AddOrReadGenerator::new("add")))
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
            ("add", "element", &ADD_OK),
            (&READ_OK, "value", false),
        )
    }

    fn check(&self, history: &[Op], _options: &TestOptions) -> Value {
        crate::checker::set_full::check(history, "add")
    }
}
