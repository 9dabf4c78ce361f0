//! A linearizable key-value store on Raft (Ongaro and Ousterhout, "In Search of an
//! Understandable Consensus Algorithm", 2014, and Ongaro's thesis, 2014), serving
//! Maelstrom's `lin-kv` workload on any number of nodes and surviving partitions: the
//! majority side keeps serving, the minority side refuses at once.
//!
//! - [`log`]: the replicated log and the follower's rule for taking entries.
//! - [`store`]: the registers the log drives, with `lin-kv`'s requests and errors.
//! - [`node`]: elections (with pre-vote), replication, commit, and clients' requests.

pub mod log;
pub mod node;
pub mod store;

pub use node::RaftNode;
