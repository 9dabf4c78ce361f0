//! Challenge 1: answer every `echo` with an `echo_ok` carrying the same value.

use maelstrom::{ErrorBody, Handler};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the node accepts: `echo` may be any JSON value.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// A client asks for its value back.
    Echo {
        /// Whatever the client sent.
        echo: Value,
    },
}

/// What it answers.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The value, unchanged.
    EchoOk {
        /// The client's value.
        echo: Value,
    },
}

/// A stateless echo server.
#[derive(Debug, Default)]
pub struct EchoNode;

impl Handler for EchoNode {
    type Payload = Payload;
    type Reply = Reply;

    fn handle(&mut self, Payload::Echo { echo }: Payload) -> Result<Reply, ErrorBody> {
        Ok(Reply::EchoOk { echo })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maelstrom::testkit::TestNode;
    use serde_json::json;

    #[test]
    fn echoes_any_json_value_with_exactly_the_protocol_fields() {
        let mut node = TestNode::<EchoNode>::new("n0", &["n0"]);
        for value in [
            json!("Please echo 35"),
            json!(null),
            json!({"a": [1, 2.5, {"b": true}]}),
        ] {
            let id = node.request("c1", json!({"type": "echo", "echo": value}));
            let sent = node.take_sent();
            assert_eq!(sent.len(), 1);
            assert_eq!(sent[0].src, "n0");
            assert_eq!(sent[0].dest, "c1");
            assert_eq!(
                sent[0].body,
                json!({"type": "echo_ok", "echo": value, "in_reply_to": id})
            );
        }
    }

    #[test]
    fn bad_input_is_answered_not_fatal() {
        let mut node = TestNode::<EchoNode>::new("n0", &["n0"]);
        node.deliver_line("this is not json");
        assert!(node.take_sent().is_empty());
        let id = node.request("c1", json!({"type": "frobnicate"}));
        let id2 = node.request("c1", json!({"type": "echo"}));
        let sent = node.take_sent();
        assert_eq!(sent[0].body["code"], 10);
        assert_eq!(sent[0].body["in_reply_to"], id);
        assert_eq!(sent[1].body["code"], 12);
        assert_eq!(sent[1].body["in_reply_to"], id2);
        let id3 = node.request("c1", json!({"type": "echo", "echo": 1}));
        assert_eq!(node.take_sent()[0].body["in_reply_to"], id3);
    }
}
