//! Write [Maelstrom](https://github.com/jepsen-io/maelstrom) nodes as sans-IO state machines.
//!
//! A node that answers each request on the spot implements [`Handler`] and returns its reply:
//!
//! ```
//! use maelstrom::{ErrorBody, Handler};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Payload { Echo { echo: serde_json::Value } }
//!
//! #[derive(Serialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Reply { EchoOk { echo: serde_json::Value } }
//!
//! #[derive(Default)]
//! struct Echo;
//!
//! impl Handler for Echo {
//!     type Payload = Payload;
//!     type Reply = Reply;
//!     fn handle(&mut self, Payload::Echo { echo }: Payload) -> Result<Reply, ErrorBody> {
//!         Ok(Reply::EchoOk { echo })
//!     }
//! }
//!
//! // In a binary: `maelstrom::run::<Echo>()`. In a test, on virtual time:
//! let mut node = maelstrom::testkit::TestNode::<Echo>::new("n0", &["n0"]);
//! node.request("c1", serde_json::json!({"type": "echo", "echo": [1, 2]}));
//! assert_eq!(node.take_sent()[0].body["echo"], serde_json::json!([1, 2]));
//! ```
//!
//! A node that talks to peers or services, or sets timers, implements [`Node`]: each handler gets one event (a message, a timer, an RPC reply
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
