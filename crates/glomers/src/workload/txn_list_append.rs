//! The txn-list-append workload (jepsen-io/maelstrom,
//! `src/maelstrom/workload/txn_list_append.clj`, `workload`, built on jepsen-io/jepsen,
//! `jepsen/src/jepsen/tests/cycle/append.clj`, `test`): transactions of reads and appends of
//! unique elements over lists, Elle's `wr-txns` generator with `append` for `w`, checked by
//! Elle's list-append analysis ([`crate::elle::list_append`]) against
//! `--consistency-models`. There is no Maelstrom wrapper: an empty graph or a search timeout
//! gives `unknown`.

use super::txn_generator::TxnGenerator;
use super::{Generator, Invocation, Session, Step, Workload};
use crate::client::{FieldType, ResponseSchema};
use crate::elle::list_append;
use crate::history::Op;
use crate::options::TestOptions;
use serde_json::{json, Value};

const TXN_OK: ResponseSchema = ResponseSchema {
    kind: "txn_ok",
    required: &[("txn", FieldType::Txn("append"))],
};

/// The txn-list-append workload.
pub struct TxnListAppend;

impl Workload for TxnListAppend {
    fn name(&self) -> &'static str {
        "txn-list-append"
    }

    fn generator(&self, options: &TestOptions) -> Box<dyn Generator> {
        Box::new(TxnGenerator::with_writes(options, "append"))
    }

    fn reusable_client(&self) -> bool {
        true
    }

    fn operation(&self, invocation: &Invocation, _session: &mut Session) -> Step {
        super::txn(invocation, &TXN_OK)
    }

    fn check(&self, history: &[Op], options: &TestOptions) -> Value {
        match list_append::check(history, &options.consistency_models) {
            Ok(result) => Value::Object(result),
            Err(error) => json!({"valid?": "unknown", "error": error.to_string()}),
        }
    }
}
