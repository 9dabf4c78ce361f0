//! The txn-rw-register workload (spec: workloads §10): clients send transactions of reads
//! and unique writes over a small, slowly retiring pool of integer keys; the history is
//! checked by the Elle rw-register analysis in [`crate::elle`] against
//! `--consistency-models`, then passed through Maelstrom's wrapper (search timeouts
//! ignored, the verdict strictly true or false).

use super::txn_generator::TxnGenerator;
use super::{Call, Completion, Generator, Workload};
use crate::client::{FieldType, ResponseSchema};
use crate::elle::rw_register;
use crate::history::Op;
use crate::options::TestOptions;
use serde_json::{json, Value};

const TXN_OK: ResponseSchema = ResponseSchema {
    kind: "txn_ok",
    required: &[("txn", FieldType::Txn("w"))],
};

/// The txn-rw-register workload.
pub struct TxnRwRegister;

impl Workload for TxnRwRegister {
    fn name(&self) -> &'static str {
        "txn-rw-register"
    }

    fn generator(&self, options: &TestOptions) -> Box<dyn Generator> {
        Box::new(TxnGenerator::new(options))
    }

    fn reusable_client(&self) -> bool {
        true
    }

    fn idempotent(&self, _f: &str) -> bool {
        false
    }

    fn invoke(&self, rpc: Call<'_>) -> Completion {
        super::txn(rpc, &TXN_OK)
    }

    fn check(&self, history: &[Op], options: &TestOptions) -> Value {
        check(history, &options.consistency_models)
    }
}

/// Elle's analysis with Maelstrom's wrapper: `cycle-search-timeout` is dropped and the
/// verdict is valid exactly when no other reportable anomaly remains (so an empty
/// transaction graph is invalid). A history the analysis cannot read is `unknown`.
pub fn check(history: &[Op], models: &[String]) -> Value {
    let mut verdict = maelstrom_wrapper(rw_register::check(history, models));
    // Our own target for every txn challenge: no dirty write, no aborted, intermediate or
    // circular read, even when the chosen model would allow them.
    let read_committed = ["read-committed".to_owned()];
    let committed_types = if models == read_committed {
        verdict["anomaly-types"].clone()
    } else {
        maelstrom_wrapper(rw_register::check(history, &read_committed))["anomaly-types"].clone()
    };
    if let Value::Object(map) = &mut verdict {
        map.insert("read-committed-anomaly-types".into(), committed_types);
    }
    verdict
}

/// Maelstrom's wrapper around Elle's result (spec: workloads §10.4).
fn maelstrom_wrapper(
    analysis: Result<serde_json::Map<String, Value>, rw_register::AnalysisError>,
) -> Value {
    match analysis {
        Ok(mut result) => {
            let mut anomalies = match result.remove("anomalies") {
                Some(Value::Object(a)) => a,
                _ => Default::default(),
            };
            anomalies.remove("cycle-search-timeout");
            let types: Vec<String> = anomalies.keys().cloned().collect();
            result.insert("valid?".into(), json!(types.is_empty()));
            result.insert("anomaly-types".into(), json!(types));
            result.insert(
                "anomalies".into(),
                if anomalies.is_empty() {
                    Value::Null
                } else {
                    Value::Object(anomalies)
                },
            );
            Value::Object(result)
        }
        Err(error) => json!({"valid?": "unknown", "error": error.to_string()}),
    }
}
