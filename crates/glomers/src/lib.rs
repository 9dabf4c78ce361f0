//! glomers: a native, Maelstrom-compatible workbench for testing Gossip Glomers nodes.
//!
//! It spawns the same node binaries Maelstrom would, simulates the same network (latency,
//! partitions), drives the same workloads and runs the same checkers, so its verdict on a
//! node is the one Maelstrom would give. Where to find things:
//!
//! | concern | module |
//! |---|---|
//! | command-line options | [`options`] |
//! | one run, start to verdict | [`run`] |
//! | node processes | [`process`] |
//! | the network model, as a state machine on passed-in time | [`model`] |
//! | the process driver: one core thread on the run model, I/O threads per node | [`run`], [`process`] |
//! | the network journal on disk | [`journal`] |
//! | what a printed line becomes on the wire | [`wire`] |
//! | partitions: shapes and schedule | [`nemesis`] |
//! | client dispatch: the global rate and thread rotation | [`stagger`] |
//! | why a run stops short; how a signal stops it | [`run_errors`], [`interrupt`] |
//! | JSON values ordered as Clojure's `compare` orders them | [`json_order`] |
//! | client ids and response schemas | [`client`] |
//! | workloads (generator and client each) | [`workload`] |
//! | every checker, history in, verdict out | [`checker`] |
//! | transactional anomalies (Elle) | [`elle`] |
//! | the store layout | [`store`] |
//! | a store real Maelstrom wrote, re-checked | [`maelstrom_store`] |
//! | the pages of a run: report, message diagram, timeline | [`pages`] |
//! | `glomers serve`: the store over HTTP on loopback | [`serve`] |
//! | the workbench's own lateness (self-health) | [`health`] |
//! | the challenge suite | [`challenge`] |

pub use checkers::{elle, history, json_order};

pub mod analyze;
pub mod challenge;
pub mod checker;
pub mod client;
pub mod clock;
pub mod health;
pub mod interrupt;
pub mod journal;
pub mod maelstrom_store;
pub mod misbehave;
pub mod model;
pub mod nemesis;
pub mod options;
pub mod pages;
pub mod plot;
pub mod process;
pub mod progress;
pub mod report;
pub mod run;
pub mod run_errors;
pub mod serve;
pub mod services;
pub mod sim;
pub mod stagger;
pub mod store;
pub mod sweep;
pub mod wire;
pub mod workload;
