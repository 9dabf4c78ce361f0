//! The simulation driver end to end: exact replay, the network model as the simulated
//! nodes see it, and deliberately broken nodes judged as a process run would judge them.

use glomers::checker::Validity;
use glomers::misbehave::{Misbehave, Mode};
use glomers::model::network::EventKind;
use glomers::model::node::SimNode;
use glomers::sim::{SimReport, Simulation};
use maelstrom::{Context, ErrorBody, Init, Node, Request};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

const PARTITIONED: &str =
    "-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glomers-sim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn file(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn one_seed_replays_byte_for_byte_and_another_seed_differs() {
    let simulation = Simulation::of::<broadcast::BroadcastNode>(PARTITIONED).unwrap();
    let root = scratch("replay");
    let first = simulation.clone().seed(11).run();
    assert!(first.is_valid(), "{}", first.explain());
    let again = simulation.clone().seed(11).run();
    let (a, b) = (first.store(&root).unwrap(), again.store(&root).unwrap());
    assert_ne!(a, b, "two run directories");
    for name in [
        "history.jsonl",
        "messages.jsonl",
        "results.json",
        "history.txt",
    ] {
        assert!(
            file(&a, name) == file(&b, name),
            "{name} differs between replays"
        );
    }
    assert!(!file(&a, "messages.jsonl").is_empty());
    // results.json names no wall-clock figure; the report keeps it apart.
    assert!(!String::from_utf8_lossy(&file(&a, "results.json")).contains("wall"));
    let other = simulation.seed(12).run();
    assert_ne!(first.history, other.history);
    assert_eq!(first.replay, format!("{PARTITIONED} --seed 11"));
    let _ = std::fs::remove_dir_all(&root);
}

/// Node-to-node messages as the simulated network delivered them: (sent, received) times
/// by message id.
fn transit(report: &SimReport) -> Vec<(String, String, Duration, Option<Duration>)> {
    let mut by_id = std::collections::BTreeMap::new();
    for (time, kind, message) in &report.journal {
        let entry = by_id.entry(message.id).or_insert((
            message.src.clone(),
            message.dest.clone(),
            *time,
            None,
        ));
        if *kind == EventKind::Recv {
            entry.3 = Some(*time);
        }
    }
    by_id.into_values().collect()
}

fn is_node(id: &str) -> bool {
    id.starts_with('n')
}

#[test]
fn the_simulated_network_keeps_the_model_latency_order_and_partitions() {
    // Constant latency: every node-to-node message takes exactly the latency, clients'
    // messages none, unless a message waited behind the head of its receiver's line: then
    // it arrives the moment the head does (head-of-line blocking). Between nodes, each
    // destination receives in send order.
    let report = Simulation::of::<broadcast::BroadcastNode>(
        "-w broadcast --node-count 5 --time-limit 5 --rate 20 --latency 40 --latency-dist constant",
    )
    .unwrap()
    .seed(3)
    .run();
    assert!(report.is_valid(), "{}", report.explain());
    let messages = transit(&report);
    let received: std::collections::BTreeSet<(&str, Duration)> = messages
        .iter()
        .filter_map(|(_, dest, _, at)| Some((dest.as_str(), (*at)?)))
        .collect();
    let (mut exact, mut blocked) = (0, 0);
    for (src, dest, sent, at) in &messages {
        let at = at.expect("healthy network: everything arrives");
        let latency = if is_node(src) && is_node(dest) {
            Duration::from_millis(40)
        } else {
            Duration::ZERO
        };
        if at == *sent + latency {
            exact += 1;
            continue;
        }
        assert!(at > *sent + latency, "{src} -> {dest} arrived early");
        // It waited: something else reached `dest` earlier at that same moment.
        let earlier = messages
            .iter()
            .filter(|m| m.1 == *dest && m.3 == Some(at))
            .count();
        assert!(
            earlier >= 2 && received.contains(&(dest.as_str(), at)),
            "{src} -> {dest}"
        );
        blocked += 1;
    }
    assert!(
        exact > 300 && blocked > 0,
        "{exact} on time, {blocked} behind the head of the line"
    );
    let mut last: std::collections::BTreeMap<&str, u64> = Default::default();
    for (_, kind, message) in &report.journal {
        if *kind == EventKind::Recv && is_node(&message.src) && is_node(&message.dest) {
            let previous = last.insert(&message.dest, message.id);
            assert!(
                previous < Some(message.id),
                "{} received out of order",
                message.dest
            );
        }
    }

    // Exponential latency: the draws average the mean. On a fixed seed: with a fresh one
    // each run, 290 draws put the mean below the bound about one run in twenty (its
    // standard error is 50 / sqrt(290) = 2.9 ms).
    let report = Simulation::of::<broadcast::BroadcastNode>(
        "-w broadcast --node-count 5 --time-limit 10 --rate 20 --latency 50 --latency-dist exponential",
    )
    .unwrap()
    .seed(4)
    .run();
    let draws: Vec<f64> = transit(&report)
        .into_iter()
        .filter(|(s, d, _, _)| is_node(s) && is_node(d))
        .filter_map(|(_, _, sent, received)| Some((received? - sent).as_secs_f64() * 1000.0))
        .collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    // Head-of-line waits only lengthen transit: the mean is at least the drawn mean, less
    // the truncation to whole milliseconds.
    assert!(
        (45.0..80.0).contains(&mean),
        "mean transit {mean} ms over {}",
        draws.len()
    );

    // Partitions: some node-to-node messages are never delivered, client messages always are.
    let report = Simulation::of::<broadcast::BroadcastNode>(PARTITIONED)
        .unwrap()
        .seed(2)
        .run();
    assert!(report.is_valid(), "{}", report.explain());
    let messages = transit(&report);
    let dropped: Vec<_> = messages.iter().filter(|m| m.3.is_none()).collect();
    assert!(!dropped.is_empty(), "the nemesis cut some link");
    assert!(dropped.iter().all(|(s, d, _, _)| is_node(s) && is_node(d)));
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BroadcastRequest {
    Topology {},
    Broadcast { message: Value },
    Read {},
}

/// Keeps what it is told and tells no one: valid on one node, loses values on five.
struct Forgetful(Vec<Value>);

impl Node for Forgetful {
    type Payload = BroadcastRequest;
    type Timer = ();
    type Token = ();

    fn from_init(_: &Init, _: &mut Context<Self>) -> Self {
        Forgetful(Vec::new())
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        req: Request<BroadcastRequest>,
    ) -> Result<(), ErrorBody> {
        let reply = match req.payload {
            BroadcastRequest::Topology {} => json!({"type": "topology_ok"}),
            BroadcastRequest::Broadcast { message } => {
                self.0.push(message);
                json!({"type": "broadcast_ok"})
            }
            BroadcastRequest::Read {} => json!({"type": "read_ok", "messages": self.0}),
        };
        ctx.reply_to(&req.src, req.msg_id, &reply);
        Ok(())
    }

    fn on_timer(&mut self, _: &mut Context<Self>, (): ()) {}
}

#[test]
fn a_node_that_does_not_gossip_loses_values_and_the_report_says_how_to_replay_it() {
    let one = Simulation::of::<Forgetful>("-w broadcast --node-count 1 --time-limit 5 --rate 10")
        .unwrap()
        .run();
    assert!(one.is_valid(), "{}", one.explain());
    let five = Simulation::of::<Forgetful>("-w broadcast --node-count 5 --time-limit 5 --rate 10")
        .unwrap()
        .seed(9)
        .run();
    assert_eq!(five.validity(), Some(Validity::Invalid));
    assert!(five.results()["workload"]["lost-count"].as_u64() > Some(0));
    assert!(
        five.explain().ends_with("--rate 10 --seed 9"),
        "{}",
        five.explain()
    );
}

/// A node outside the library (the library never prints anything but messages): it answers
/// `init`, then prints a log line on stdout.
#[derive(Default)]
struct Chatty {
    out: Vec<String>,
    wake: Option<Duration>,
}

impl SimNode for Chatty {
    fn deliver(&mut self, line: &str, now: Duration) {
        let message: Value = serde_json::from_str(line).unwrap_or_default();
        if message["body"]["type"] == "init" {
            let reply = json!({"src": message["dest"], "dest": message["src"],
                "body": {"type": "init_ok", "in_reply_to": message["body"]["msg_id"]}});
            self.out.push(reply.to_string());
            self.wake = Some(now + Duration::from_millis(5));
        }
    }

    fn wake(&mut self, now: Duration) {
        if self.wake.is_some_and(|at| at <= now) {
            self.wake = None;
            self.out.push("debug: hello".into());
        }
    }

    fn next_wake(&self) -> Option<Duration> {
        self.wake
    }

    fn take_output(&mut self) -> Vec<String> {
        std::mem::take(&mut self.out)
    }
}

#[test]
fn garbage_on_a_simulated_nodes_stdout_crashes_the_run_naming_node_line_and_rule() {
    let report = Simulation::with_factory("-w broadcast --node-count 2 --time-limit 5", |_| {
        Box::<Chatty>::default()
    })
    .unwrap()
    .run();
    let Err(error) = &report.outcome else {
        panic!("a node printing garbage must crash the run");
    };
    let error = error.to_string();
    assert!(error.contains("node n0"), "{error}");
    assert!(error.contains("debug: hello"), "{error}");
    assert!(error.contains("line-not-valid-json"), "{error}");
}

#[test]
fn two_processes_replaying_one_seed_write_identical_files() {
    let root = scratch("processes");
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_glomers"))
            .args(["challenge", "3c", "--sim", "--seed", "4", "--store"])
            .arg(&root)
            .output()
            .expect("glomers runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::canonicalize(root.join("latest")).expect("a stored run")
    };
    let (a, b) = (run(), run());
    assert_ne!(a, b);
    for name in ["history.jsonl", "messages.jsonl", "results.json"] {
        assert!(
            file(&a, name) == file(&b, name),
            "{name} differs between processes"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// The `misbehave` modes that act through messages alone, each as a type.
macro_rules! modes {
    ($($mode:ident = $name:literal),* $(,)?) => {
        $(
            struct $mode;
            impl Mode for $mode {
                fn name() -> String {
                    $name.into()
                }
            }
        )*
    };
}

modes! {
    Good = "good",
    WrongEcho = "wrong-echo",
    DupIds = "dup-ids",
    ExtraKey = "extra-key",
    Slow = "slow",
    Gossip = "gossip",
    Flood = "flood",
    BroadcastOnce = "broadcast-once",
    CounterRmw = "counter-rmw",
    GSetLocal = "g-set-local",
    LinKvProxy = "lin-kv-proxy",
    LinKvLocal = "lin-kv-local",
    LwwKvProxy = "lww-kv-proxy",
    ListAppendLocal = "list-append-local",
    KafkaLocal = "kafka-local",
    TxnDirty = "txn-dirty",
}

const LIN_KV: &str =
    "-w lin-kv --node-count 2 --concurrency 2n --time-limit 4 --rate 100 --latency 5";
const LIST_APPEND: &str = "-w txn-list-append --time-limit 3 --rate 200 --concurrency 4";

/// Each broken node on the command of its process-mode test in `tests/runs.rs`, with the
/// verdict that test asserts: the simulation must give the same one.
#[test]
fn misbehaving_nodes_get_the_verdict_of_their_process_runs() {
    use glomers::sim::engine;
    let cases: &[(&str, glomers::sim::NodeFactory, String, Validity)] = &[
        ("good", engine::<Misbehave<Good>>, "-w echo --node-count 1 --time-limit 5".into(), Validity::Valid),
        ("wrong-echo", engine::<Misbehave<WrongEcho>>, "-w echo --node-count 1 --time-limit 2 --rate 20".into(), Validity::Invalid),
        ("dup-ids", engine::<Misbehave<DupIds>>, "-w unique-ids --node-count 2 --time-limit 2 --rate 50".into(), Validity::Invalid),
        ("extra-key", engine::<Misbehave<ExtraKey>>, "-w echo --node-count 1 --time-limit 2 --rate 20".into(), Validity::Invalid),
        ("slow", engine::<Misbehave<Slow>>, "-w echo --node-count 1 --time-limit 8 --rate 1".into(), Validity::Invalid),
        ("gossip", engine::<Misbehave<Gossip>>, "-w echo --node-count 5 --time-limit 3 --rate 50".into(), Validity::Valid),
        ("flood", engine::<Misbehave<Flood>>, "-w echo --node-count 2 --time-limit 3 --rate 20".into(), Validity::Valid),
        ("broadcast-once", engine::<Misbehave<BroadcastOnce>>, "-w broadcast --node-count 5 --time-limit 6 --rate 30 --nemesis partition --nemesis-interval 1".into(), Validity::Invalid),
        ("g-set-local, 1 node", engine::<Misbehave<GSetLocal>>, "-w g-set --time-limit 3 --rate 50 --node-count 1".into(), Validity::Valid),
        ("g-set-local, 3 nodes", engine::<Misbehave<GSetLocal>>, "-w g-set --time-limit 3 --rate 50 --node-count 3".into(), Validity::Invalid),
        ("lin-kv-proxy", engine::<Misbehave<LinKvProxy>>, LIN_KV.into(), Validity::Valid),
        ("lin-kv-local", engine::<Misbehave<LinKvLocal>>, LIN_KV.into(), Validity::Invalid),
        ("lww-kv-proxy", engine::<Misbehave<LwwKvProxy>>, LIN_KV.into(), Validity::Invalid),
        ("list-append-local, 1 node", engine::<Misbehave<ListAppendLocal>>, format!("{LIST_APPEND} --node-count 1"), Validity::Valid),
        ("list-append-local, 2 nodes", engine::<Misbehave<ListAppendLocal>>, format!("{LIST_APPEND} --node-count 2"), Validity::Invalid),
        ("kafka-local", engine::<Misbehave<KafkaLocal>>, "-w kafka --node-count 2 --concurrency 2n --time-limit 4 --rate 200".into(), Validity::Invalid),
        ("txn-dirty", engine::<Misbehave<TxnDirty>>, "-w txn-rw-register --node-count 2 --concurrency 2n --time-limit 4 --rate 300 --latency 5 --consistency-models read-committed".into(), Validity::Invalid),
    ];
    let mut wrong = Vec::new();
    for (name, nodes, command, expected) in cases {
        let report = Simulation::with_factory(command, *nodes)
            .unwrap()
            .seed(1)
            .run();
        if report.validity() != Some(*expected) {
            wrong.push(format!(
                "{name}: {:?}, not {expected:?}\n{}",
                report.validity(),
                report.explain()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// Stale `seq-kv` reads make a read-modify-write counter's final reads wrong on most seeds,
/// not all: as in process mode, some seed of eight shows it.
#[test]
fn a_read_modify_write_counter_fails_on_some_simulated_seed() {
    let simulation = Simulation::with_factory(
        "-w g-counter --node-count 3 --time-limit 3 --rate 50",
        glomers::sim::engine::<Misbehave<CounterRmw>>,
    )
    .unwrap();
    let invalid = (1..=8)
        .find(|seed| simulation.clone().seed(*seed).run().validity() == Some(Validity::Invalid));
    assert!(
        invalid.is_some(),
        "a stale-reading counter passed 8 simulated seeds"
    );
}
