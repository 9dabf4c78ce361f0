//! Write [Maelstrom](https://github.com/jepsen-io/maelstrom) nodes as sans-IO state machines.
//!
//! A node implements [`Node`]: each handler gets one event (a message, a timer, an RPC reply
//! or timeout) and a [`Context`] through which it sends messages, makes RPCs and sets timers.
//! [`run`] drives it over stdin/stdout; [`testkit::TestNode`] drives the very same code on
//! virtual time in unit tests. The library answers `init`, allocates message ids, matches
//! replies, times out RPCs, and answers bad input with error 10, 11 or 12 instead of
//! crashing. See the crate README for a complete echo node.

pub mod context;
pub mod decode;
pub mod engine;
pub mod error;
pub mod node;
pub mod protocol;
pub mod runtime;
pub mod services;
pub mod testkit;

pub use context::{Context, Time, TimerId};
pub use engine::Engine;
pub use error::{ErrorBody, ErrorCode};
pub use node::{Handler, Init, Node, Request};
pub use protocol::{Message, MsgId};
pub use runtime::{run, RuntimeError};
