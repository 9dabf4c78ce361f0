//! Consistency models and anomaly classes, as Elle 0.2.2 relates them: which anomalies a
//! model prohibits, and which models an anomaly rules out. The data is Elle's three DAGs
//! (model implication, anomaly implication, direct proscriptions), transcribed as tables so
//! that every verdict is traceable to upstream's definitions.

use std::collections::{BTreeSet, VecDeque};

/// Stronger model -> models it implies (canonical names).
const MODEL_EDGES: &[(&str, &[&str])] = &[
    ("causal-cerone", &["read-atomic"]),
    ("PL-2+", &["PL-CS", "PL-2L"]),
    ("PL-3", &["view-serializable", "PL-2.99", "PL-3U", "PL-SI"]),
    ("PL-CS", &["PL-2"]),
    ("PL-FCV", &["PL-2+"]),
    ("PL-2", &["PL-1"]),
    ("PL-3U", &["PL-FCV"]),
    ("monotonic-atomic-view", &["PL-2"]),
    ("PL-2L", &["PL-2"]),
    ("PL-MSR", &["PL-2"]),
    (
        "parallel-snapshot-isolation",
        &["causal-cerone", "update-atomic"],
    ),
    ("prefix", &["causal-cerone"]),
    ("read-atomic", &["monotonic-atomic-view"]),
    ("PL-2.99", &["PL-CS", "monotonic-atomic-view"]),
    ("update-atomic", &["read-atomic"]),
    ("session-serializable", &["1SR"]),
    (
        "PL-SI",
        &[
            "PL-FCV",
            "monotonic-atomic-view",
            "PL-MSR",
            "parallel-snapshot-isolation",
            "prefix",
        ],
    ),
    (
        "PL-SS",
        &[
            "PL-3",
            "linearizable",
            "PL-SI",
            "strong-snapshot-isolation",
            "strong-session-serializable",
            "session-serializable",
        ],
    ),
    ("strong-session-PL-1", &["PL-1"]),
    ("strong-session-PL-2", &["PL-2", "strong-session-PL-1"]),
    ("strong-PL-1", &["strong-session-PL-1"]),
    ("strong-PL-2", &["strong-session-PL-2", "strong-PL-1"]),
    (
        "strong-session-serializable",
        &["PL-3", "strong-session-snapshot-isolation"],
    ),
    (
        "strong-session-snapshot-isolation",
        &["PL-SI", "strong-session-PL-2"],
    ),
    (
        "strong-snapshot-isolation",
        &["strong-session-snapshot-isolation", "strong-PL-2"],
    ),
    ("linearizable", &["sequential"]),
    ("sequential", &["causal"]),
    ("causal", &["writes-follow-reads", "PRAM"]),
    (
        "PRAM",
        &["monotonic-reads", "monotonic-writes", "read-your-writes"],
    ),
];

/// Friendly name -> canonical name.
const CANONICAL: &[(&str, &str)] = &[
    ("consistent-view", "PL-2+"),
    ("conflict-serializable", "PL-3"),
    ("cursor-stability", "PL-CS"),
    ("forward-consistent-view", "PL-FCV"),
    ("monotonic-snapshot-read", "PL-MSR"),
    ("monotonic-view", "PL-2L"),
    ("read-committed", "PL-2"),
    ("read-uncommitted", "PL-1"),
    ("repeatable-read", "PL-2.99"),
    ("serializable", "PL-3"),
    ("snapshot-isolation", "PL-SI"),
    ("strict-serializable", "PL-SS"),
    ("strong-serializable", "PL-SS"),
    ("update-serializable", "PL-3U"),
    ("strong-session-read-uncommitted", "strong-session-PL-1"),
    ("strong-session-read-committed", "strong-session-PL-2"),
    ("strong-read-uncommitted", "strong-PL-1"),
    ("strong-read-committed", "strong-PL-2"),
];

/// Canonical model -> the anomalies it prohibits beyond the models it implies.
const DIRECT_PROSCRIPTIONS: &[(&str, &[&str])] = &[
    ("causal-cerone", &["internal", "G1a"]),
    ("PL-CS", &["G1", "G-cursor", "lost-update"]),
    ("PL-2L", &["G1", "G-monotonic"]),
    ("PL-MSR", &["G1", "G-MSR"]),
    ("PL-2+", &["G1", "G-single"]),
    ("PL-FCV", &["G1", "G-SIb"]),
    ("parallel-snapshot-isolation", &["internal", "G1a"]),
    (
        "PL-3",
        &[
            "G1",
            "G2",
            "predicate-read-miss",
            "PL-3-cycle-exists",
            "internal",
        ],
    ),
    ("PL-2", &["G1", "PL-2-cycle-exists"]),
    (
        "PL-1",
        &[
            "G0",
            "duplicate-elements",
            "cyclic-versions",
            "PL-1-cycle-exists",
        ],
    ),
    ("prefix", &["internal", "G1a"]),
    (
        "PL-SI",
        &[
            "internal",
            "G1",
            "G-SI",
            "G-nonadjacent",
            "PL-SI-cycle-exists",
        ],
    ),
    ("read-atomic", &["internal", "G1a", "future-read"]),
    (
        "PL-2.99",
        &["G1", "G2-item", "PL-2.99-cycle-exists", "lost-update"],
    ),
    ("update-atomic", &["lost-update"]),
    (
        "PL-SS",
        &["G1", "G1c-realtime", "G2-realtime", "PL-SS-cycle-exists"],
    ),
    (
        "strong-session-PL-1",
        &["strong-session-PL-1-cycle-exists", "G0-process"],
    ),
    (
        "strong-session-PL-2",
        &["strong-session-PL-2-cycle-exists", "G1c-process"],
    ),
    ("strong-PL-1", &["strong-PL-1-cycle-exists", "G0-realtime"]),
    ("strong-PL-2", &["strong-PL-2-cycle-exists", "G1c-realtime"]),
    (
        "strong-session-snapshot-isolation",
        &[
            "internal",
            "G1-process",
            "G-nonadjacent-process",
            "strong-session-snapshot-isolation-cycle-exists",
        ],
    ),
    (
        "strong-snapshot-isolation",
        &[
            "internal",
            "G1-realtime",
            "G-nonadjacent-realtime",
            "strong-snapshot-isolation-cycle-exists",
        ],
    ),
    (
        "strong-session-serializable",
        &[
            "G1-process",
            "G2-process",
            "strong-session-serializable-cycle-exists",
        ],
    ),
    ("PL-3U", &["G1", "G-update"]),
];

/// Anomaly -> anomalies whose presence it implies.
const IMPLIED_ANOMALIES: &[(&str, &[&str])] = &[
    ("G0", &["G1c", "G0-process"]),
    ("G0-process", &["G1c-process", "G0-realtime"]),
    ("G0-realtime", &["G1c-realtime"]),
    ("G1a", &["G1"]),
    ("G1b", &["G1"]),
    ("G1c", &["G1", "G1c-process"]),
    ("G1c-process", &["G1c-realtime", "G1-process"]),
    ("G1c-realtime", &["G1-realtime"]),
    ("G1", &["G1-process"]),
    ("G1-process", &["G1-realtime"]),
    (
        "G-single-item",
        &["G-single", "G-single-item-process", "G-nonadjacent-item"],
    ),
    (
        "G-single-item-process",
        &[
            "G-single-process",
            "G-single-item-realtime",
            "G-nonadjacent-item-process",
        ],
    ),
    (
        "G-single-item-realtime",
        &["G-single-realtime", "G-nonadjacent-item-realtime"],
    ),
    ("G-single", &["G-nonadjacent", "GSIb", "G-single-process"]),
    (
        "G-single-process",
        &["G-nonadjacent-process", "G-single-realtime"],
    ),
    ("G-single-realtime", &["G-nonadjacent-realtime"]),
    (
        "G-nonadjacent-item",
        &["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"],
    ),
    (
        "G-nonadjacent-item-process",
        &[
            "G-nonadjacent-process",
            "G2-item-process",
            "G-nonadjacent-item-realtime",
        ],
    ),
    (
        "G-nonadjacent-item-realtime",
        &["G2-item-realtime", "G-nonadjacent-realtime"],
    ),
    ("G-nonadjacent", &["G2", "G-nonadjacent-process"]),
    (
        "G-nonadjacent-process",
        &["G2-process", "G-nonadjacent-realtime"],
    ),
    ("G-nonadjacent-realtime", &["G2-realtime"]),
    ("G2", &["G2-process"]),
    ("G2-item", &["G2", "G2-item-process"]),
    ("G2-item-process", &["G2-process", "G2-item-realtime"]),
    ("G2-item-realtime", &["G2-realtime"]),
    ("G2-process", &["G2-realtime"]),
    ("GSIa", &["GSI"]),
    ("GSIb", &["GSI"]),
    ("incompatible-order", &["G1a"]),
    ("future-read", &["G1c"]),
    ("dirty-update", &["G1a"]),
    ("lost-update", &["write-skew", "G2-item"]),
    ("write-skew", &["G2"]),
];

/// Anomaly types that make an analysis inconclusive rather than invalid.
pub const UNKNOWN_ANOMALIES: [&str; 2] = ["empty-transaction-graph", "cycle-search-timeout"];

/// A model name nobody knows: Elle refuses it, and the result becomes `unknown`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown consistency model {0:?}")]
pub struct UnknownModel(pub String);

/// The canonical name of a model (`read-committed` -> `PL-2`).
pub fn canonical(model: &str) -> &str {
    CANONICAL
        .iter()
        .find(|(friendly, _)| *friendly == model)
        .map_or(model, |(_, canonical)| canonical)
}

/// The friendly name of a canonical model (`PL-2` -> `read-committed`).
pub fn friendly(model: &str) -> &str {
    if model == "PL-3" {
        return "serializable";
    }
    if model == "PL-SS" {
        return "strict-serializable";
    }
    CANONICAL
        .iter()
        .find(|(_, canonical)| *canonical == model)
        .map_or(model, |(friendly, _)| friendly)
}

fn known_models() -> BTreeSet<&'static str> {
    let mut known: BTreeSet<&str> = BTreeSet::new();
    for (from, to) in MODEL_EDGES {
        known.insert(from);
        known.extend(to.iter());
    }
    for (friendly, canonical) in CANONICAL {
        known.insert(friendly);
        known.insert(canonical);
    }
    known
}

/// Checks every name and canonicalises it.
pub fn validate(models: &[String]) -> Result<Vec<String>, UnknownModel> {
    let known = known_models();
    models
        .iter()
        .map(|m| {
            if known.contains(m.as_str()) {
                Ok(canonical(m).to_owned())
            } else {
                Err(UnknownModel(m.clone()))
            }
        })
        .collect()
}

/// Breadth-first closure over a table, forwards (`a -> b` edges) or backwards; includes
/// the starting names.
fn closure<'a>(
    table: &[(&str, &[&str])],
    start: impl IntoIterator<Item = &'a str>,
    forwards: bool,
) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = start.into_iter().map(str::to_owned).collect();
    while let Some(x) = queue.pop_front() {
        if seen.contains(&x) {
            continue;
        }
        for (from, tos) in table {
            if forwards && *from == x {
                queue.extend(tos.iter().map(|t| t.to_string()));
            } else if !forwards && tos.contains(&x.as_str()) {
                queue.push_back(from.to_string());
            }
        }
        seen.insert(x);
    }
    seen
}

/// Anomalies that would imply any of `anomalies` (including themselves).
pub fn anomalies_implying<'a>(anomalies: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    closure(IMPLIED_ANOMALIES, anomalies, false)
}

/// Anomalies implied by `anomalies` (including themselves).
pub fn implied_anomalies<'a>(anomalies: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    closure(IMPLIED_ANOMALIES, anomalies, true)
}

/// Every anomaly that must be absent for all of `models` (canonical names) to hold.
pub fn prohibited_by(models: &[String]) -> BTreeSet<String> {
    let implied = closure(MODEL_EDGES, models.iter().map(String::as_str), true);
    let direct: Vec<&str> = DIRECT_PROSCRIPTIONS
        .iter()
        .filter(|(m, _)| implied.contains(*m))
        .flat_map(|(_, anomalies)| anomalies.iter().copied())
        .collect();
    anomalies_implying(direct)
}

/// The models (canonical) that cannot hold when `anomalies` are present.
pub fn impossible_models<'a>(anomalies: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let implied = implied_anomalies(anomalies);
    let ruled_out: Vec<&str> = DIRECT_PROSCRIPTIONS
        .iter()
        .filter(|(_, direct)| direct.iter().any(|a| implied.contains(*a)))
        .map(|(m, _)| *m)
        .collect();
    impossible_models_from(ruled_out)
}

/// Models that imply any of `models` (including themselves): if those fail, so do these.
pub fn impossible_models_from<'a>(models: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    closure(MODEL_EDGES, models.into_iter().map(canonical), false)
}

/// Elle's `:not` / `:also-not` boundary: the weakest models the anomalies rule out, and the
/// rest, in friendly names.
pub fn boundary<'a>(
    anomalies: impl IntoIterator<Item = &'a str>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let impossible = impossible_models(anomalies);
    let weakest: BTreeSet<String> = impossible
        .iter()
        .filter(|m| {
            let below = closure(MODEL_EDGES, [m.as_str()], true);
            !impossible
                .iter()
                .any(|other| other != *m && below.contains(other.as_str()))
        })
        .cloned()
        .collect();
    let not = weakest.iter().map(|m| friendly(m).to_owned()).collect();
    let also_not = impossible
        .iter()
        .filter(|m| !weakest.contains(*m))
        .map(|m| friendly(m).to_owned())
        .collect();
    (not, also_not)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prohibited(model: &str) -> BTreeSet<String> {
        prohibited_by(&validate(&[model.to_owned()]).expect("known model"))
    }

    #[test]
    fn read_uncommitted_prohibits_only_write_cycles() {
        let p = prohibited("read-uncommitted");
        for a in [
            "G0",
            "cyclic-versions",
            "PL-1-cycle-exists",
            "duplicate-elements",
        ] {
            assert!(p.contains(a), "{a}");
        }
        for a in ["G1a", "G1b", "G1c", "internal", "lost-update"] {
            assert!(!p.contains(a), "{a}");
        }
    }

    #[test]
    fn read_committed_adds_g1_but_not_internal_or_lost_update() {
        let p = prohibited("read-committed");
        for a in [
            "G0",
            "G1a",
            "G1b",
            "G1c",
            "PL-2-cycle-exists",
            "incompatible-order",
        ] {
            assert!(p.contains(a), "{a}");
        }
        for a in ["internal", "lost-update", "G-single-item", "G2-item"] {
            assert!(!p.contains(a), "{a}");
        }
    }

    #[test]
    fn snapshot_isolation_allows_g2_item_but_not_g_single() {
        let p = prohibited("snapshot-isolation");
        assert!(p.contains("G-single-item"));
        assert!(p.contains("internal"));
        assert!(p.contains("lost-update"));
        assert!(!p.contains("G2-item"));
    }

    #[test]
    fn strict_serializable_prohibits_realtime_cycles() {
        let p = prohibited("strict-serializable");
        for a in [
            "G2-item-realtime",
            "G-single-item-realtime",
            "G1c-realtime",
            "G0-process",
        ] {
            assert!(p.contains(a), "{a}");
        }
        assert!(prohibited("linearizable").is_empty());
    }

    #[test]
    fn unknown_models_are_refused() {
        assert!(validate(&["a,b".to_owned()]).is_err());
        assert_eq!(
            validate(&["serializable".to_owned()]),
            Ok(vec!["PL-3".to_owned()])
        );
    }

    #[test]
    fn boundary_names_the_weakest_model_ruled_out() {
        let (not, also) = boundary(["G1c"]);
        assert_eq!(not, BTreeSet::from(["read-committed".to_owned()]));
        assert!(also.contains("serializable"));
        assert!(also.contains("strict-serializable"));
        let (not, _) = boundary(["G-single-item-realtime"]);
        assert!(not.contains("strong-snapshot-isolation"), "{not:?}");
    }
}
