//! An Elle-grade transactional checker: dependency graphs inferred from a history, cycle
//! and non-cycle anomalies, and verdicts against consistency models, each anomaly with a
//! witness. Pure functions of a history; nothing here spawns or waits.
//!
//! | concern | module |
//! |---|---|
//! | models, anomalies and which prohibits what | [`models`] |
//! | the dependency graph and its components | [`graph`] |
//! | finding and naming cycles | [`cycles`] |
//! | verdict rules, order edges, explanations, the result map | [`common`] |
//! | the rw-register analysis | [`rw_register`] |
//! | the list-append analysis | [`list_append`] |

pub mod common;
pub mod cycles;
pub mod graph;
pub mod list_append;
pub mod models;
pub mod rw_register;
