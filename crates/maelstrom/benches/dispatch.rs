//! Micro-benchmarks of the per-message path: parse, dispatch to the node, encode the reply.
//!
//! Run with `cargo bench -p maelstrom --bench dispatch`.

use criterion::{black_box, criterion_main, Criterion, Throughput};
use maelstrom::decode::{decode_line, Incoming};
use maelstrom::protocol::encode_line;
use maelstrom::{Context, Engine, ErrorBody, Init, Node, Request};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Payload {
    Echo { echo: Value },
    EchoOk { echo: Value },
}

struct Echo;

impl Node for Echo {
    type Payload = Payload;
    type Timer = ();
    type Token = ();
    fn from_init(_: &Init, _: &mut Context<Self>) -> Self {
        Echo
    }
    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        r: Request<Payload>,
    ) -> Result<(), ErrorBody> {
        if let Payload::Echo { echo } = r.payload {
            ctx.reply_to(&r.src, r.msg_id, &Payload::EchoOk { echo });
        }
        Ok(())
    }
}

const LINE: &str =
    r#"{"id":12,"src":"c1","dest":"n0","body":{"type":"echo","msg_id":2,"echo":"Please echo 35"}}"#;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("message");
    group.throughput(Throughput::Elements(1));
    group.bench_function("handle_line (parse, dispatch, encode)", |b| {
        let mut engine = Engine::<Echo>::new(0);
        engine.handle_line(
            r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#,
            Duration::ZERO,
        );
        b.iter(|| {
            engine.handle_line(black_box(LINE), Duration::ZERO);
            engine.output().clear();
        })
    });
    group.bench_function("decode_line (one pass, payload included)", |b| {
        b.iter(|| {
            matches!(
                decode_line::<Payload>(black_box(LINE)),
                Incoming::Request { .. }
            )
        })
    });
    group.bench_function("parse payload (plain serde, internally tagged)", |b| {
        #[derive(Deserialize)]
        struct Only {
            body: Payload,
        }
        b.iter(|| {
            serde_json::from_str::<Only>(black_box(LINE))
                .map(|o| o.body)
                .is_ok()
        })
    });
    group.bench_function("encode reply", |b| {
        let mut out = Vec::with_capacity(1024);
        let payload = Payload::EchoOk {
            echo: Value::String("Please echo 35".into()),
        };
        b.iter(|| {
            out.clear();
            encode_line(&mut out, "n0", "c1", black_box(&payload), None, Some(2)).is_ok()
        })
    });
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
