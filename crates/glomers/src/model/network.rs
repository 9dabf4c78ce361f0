//! The network model as a state machine: Maelstrom's rules for when a message reaches its
//! receiver (jepsen-io/maelstrom, `src/maelstrom/net.clj`), with time passed in rather than
//! read, and no threads.
//!
//! - Every endpoint (node, client, service) has one queue, ordered by delivery deadline
//!   (then send order). Each message gets one latency draw when it is sent; a message from
//!   or to a client has none.
//! - One consumer per endpoint takes the head of its queue, and only then checks
//!   partitions: a message sent during a partition but taken after the heal arrives, one
//!   sent before it but taken during it is dropped.
//! - A consumer that took a message holds it until its deadline and takes nothing else
//!   meanwhile: a message with an earlier deadline that arrives while it waits is
//!   delivered after it (head-of-line blocking, as upstream's single consumer thread
//!   does). [`Consumer`] is that rule as a state machine.
//!
//! The run's state machine ([`crate::model::run`]) holds this model; a process run drives
//! it on the real clock, unit tests and a simulation on virtual time.

pub use checkers::net::{is_client, EventKind};
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;
use std::time::Duration;

/// One message in flight. The body is kept as JSON text: it is delivered as written, and only
/// clients and checkers parse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetMessage {
    /// Global message number, from 0 in send order.
    pub id: u64,
    /// Sender.
    pub src: String,
    /// Receiver.
    pub dest: String,
    /// The body, a JSON object.
    pub body: String,
}

impl NetMessage {
    /// The line a node receives: `{"id","src","dest","body"}`, as upstream orders them.
    pub fn to_line(&self) -> String {
        let mut line =
            String::with_capacity(self.body.len() + self.src.len() + self.dest.len() + 48);
        line.push_str("{\"id\":");
        line.push_str(&self.id.to_string());
        line.push_str(",\"src\":");
        line.push_str(&json_string(&self.src));
        line.push_str(",\"dest\":");
        line.push_str(&json_string(&self.dest));
        line.push_str(",\"body\":");
        line.push_str(&self.body);
        line.push('}');
        line
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The latency distribution (`--latency-dist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LatencyDist {
    /// Always the mean.
    Constant,
    /// Uniform integer in `[0, 2 × mean)`.
    Uniform,
    /// Exponential with the given mean, truncated to whole milliseconds.
    Exponential,
}

/// Latency between non-client endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    /// Mean one-way latency in milliseconds.
    pub mean: u64,
    /// Distribution.
    pub dist: LatencyDist,
}

impl Latency {
    /// One draw, in whole milliseconds. A mean of 0 gives 0 for every distribution (upstream
    /// crashes or hangs there: a [QUIRK] we do not copy).
    pub fn draw(&self, rng: &mut impl Rng) -> u64 {
        if self.mean == 0 {
            return 0;
        }
        match self.dist {
            LatencyDist::Constant => self.mean,
            LatencyDist::Uniform => rng.gen_range(0..2 * self.mean),
            LatencyDist::Exponential => {
                let u: f64 = rng.gen::<f64>();
                (-(1.0 - u).ln() * self.mean as f64).floor() as u64
            }
        }
    }
}

/// Why the network refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// `src` or `dest` is not a registered endpoint (a closed client, a typo, a service that
    /// does not exist).
    #[error(
        "invalid {role} `{id}`: no such endpoint (is it a closed client or a misspelled node?)"
    )]
    UnknownEndpoint {
        /// `src` or `dest`.
        role: &'static str,
        /// The id.
        id: String,
    },
    /// The run is over: nothing more enters the network (or its journal).
    #[error("the network has shut down")]
    ShutDown,
}

/// What a consumer got when it took from its queue.
#[derive(Debug)]
pub enum Taken {
    /// A message, due at its deadline.
    Message(Duration, Arc<NetMessage>),
    /// The head was dropped by a partition; take again.
    Dropped(Arc<NetMessage>),
    /// The queue is empty (or the endpoint does not exist).
    Empty,
}

struct Queued {
    deadline: Duration,
    message: Arc<NetMessage>,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// Earliest deadline first, then send order: a max-heap of reversed keys.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.deadline, other.message.id).cmp(&(self.deadline, self.message.id))
    }
}

/// Every endpoint's queue, the partitions in force, and the latency draws.
pub struct NetworkModel {
    queues: BTreeMap<String, BinaryHeap<Queued>>,
    /// dest -> the sources whose messages it drops.
    drops: BTreeMap<String, BTreeSet<String>>,
    next_id: u64,
    latency: Latency,
    rng: Pcg64Mcg,
    queued: usize,
    peak_queued: usize,
    /// The cost ([`cost`]) of what each sender has queued.
    backlog: BTreeMap<String, usize>,
}

/// The most a sender may have queued (by [`crate::model::network::cost`]: body bytes plus
/// 128 per message) before the network stops reading what it prints. Upstream's queues
/// are unbounded, so a node that floods faster than its peers read grows the JVM until it
/// dies; ours make the flooding node wait on its pipe, as on a full socket buffer. A limit
/// per sender means a flood never holds back anyone else's output, and replies to
/// clients are never held back. About 14,000 small messages per sender; a healthy run (even
/// 3d: 25 nodes at rate 100, 100 ms latency) has a few hundred queued per node.
pub const MAX_BACKLOG: usize = 2 << 20;

/// What a queued message counts against its sender's backlog: its body, plus what holding
/// any message costs.
pub fn cost(message: &NetMessage) -> usize {
    message.body.len() + 128
}

impl NetworkModel {
    /// An empty network with the given latency, drawing from `rng`.
    pub fn new(latency: Latency, rng: Pcg64Mcg) -> Self {
        NetworkModel {
            queues: BTreeMap::new(),
            drops: BTreeMap::new(),
            next_id: 0,
            latency,
            rng,
            queued: 0,
            peak_queued: 0,
            backlog: BTreeMap::new(),
        }
    }

    fn unqueue(&mut self, message: &NetMessage) {
        self.queued -= 1;
        if let Some(backlog) = self.backlog.get_mut(&message.src) {
            *backlog = backlog.saturating_sub(cost(message));
        }
    }

    /// The cost of what `src` has sent that is still queued.
    pub fn backlog(&self, src: &str) -> usize {
        self.backlog.get(src).copied().unwrap_or(0)
    }

    /// Adds an endpoint with an empty queue (an existing one keeps its queue).
    pub fn register(&mut self, id: &str) {
        self.queues.entry(id.to_owned()).or_default();
    }

    /// Removes an endpoint; what is still queued for it vanishes. True if it existed.
    pub fn deregister(&mut self, id: &str) -> bool {
        match self.queues.remove(id) {
            Some(queue) => {
                for queued in queue {
                    self.unqueue(&queued.message);
                }
                true
            }
            None => false,
        }
    }

    /// True if `id` is registered.
    pub fn is_registered(&self, id: &str) -> bool {
        self.queues.contains_key(id)
    }

    /// Sends a message at `now`: numbers it, draws its latency and queues it. Returns the
    /// message and its deadline.
    pub fn send(
        &mut self,
        src: &str,
        dest: &str,
        body: String,
        now: Duration,
    ) -> Result<(Arc<NetMessage>, Duration), NetError> {
        for (role, id) in [("src", src), ("dest", dest)] {
            if !self.queues.contains_key(id) {
                return Err(NetError::UnknownEndpoint {
                    role,
                    id: id.to_owned(),
                });
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let latency = if is_client(src) || is_client(dest) {
            0
        } else {
            self.latency.draw(&mut self.rng)
        };
        let message = Arc::new(NetMessage {
            id,
            src: src.to_owned(),
            dest: dest.to_owned(),
            body,
        });
        let deadline = now + Duration::from_millis(latency);
        if let Some(queue) = self.queues.get_mut(dest) {
            queue.push(Queued {
                deadline,
                message: message.clone(),
            });
            self.queued += 1;
            self.peak_queued = self.peak_queued.max(self.queued);
            *self.backlog.entry(src.to_owned()).or_default() += cost(&message);
        }
        Ok((message, deadline))
    }

    /// Takes the head of `id`'s queue; the partition check happens here, as upstream
    /// does it.
    pub fn take(&mut self, id: &str) -> Taken {
        let Some(head) = self.queues.get_mut(id).and_then(BinaryHeap::pop) else {
            return Taken::Empty;
        };
        self.unqueue(&head.message);
        let dropped = self
            .drops
            .get(id)
            .is_some_and(|srcs| srcs.contains(&head.message.src));
        if dropped {
            Taken::Dropped(head.message)
        } else {
            Taken::Message(head.deadline, head.message)
        }
    }

    /// The earliest deadline in `id`'s queue, if it has anything queued.
    pub fn next_deadline(&self, id: &str) -> Option<Duration> {
        self.queues
            .get(id)
            .and_then(|q| q.peek())
            .map(|head| head.deadline)
    }

    /// Applies a grudge: each node drops messages from the nodes it names.
    pub fn partition(&mut self, grudge: &BTreeMap<String, BTreeSet<String>>) {
        for (dest, srcs) in grudge {
            self.drops
                .entry(dest.clone())
                .or_default()
                .extend(srcs.iter().cloned());
        }
    }

    /// Heals every partition.
    pub fn heal(&mut self) {
        self.drops.clear();
    }

    /// Messages sent so far.
    pub fn sent_count(&self) -> u64 {
        self.next_id
    }

    /// Messages in all queues now.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// The most messages the queues ever held at once.
    pub fn peak_queued(&self) -> usize {
        self.peak_queued
    }
}

/// When a message a consumer took at `taken` is delivered: at its deadline, or at once if
/// that has passed (it waited behind the head of the line).
pub fn due(deadline: Duration, taken: Duration) -> Duration {
    deadline.max(taken)
}

/// One endpoint's consumer as a state machine: idle, or holding the message it took until
/// that message is due. The head-of-line rule lives here.
#[derive(Debug, Default)]
pub struct Consumer {
    holding: Option<(Duration, Arc<NetMessage>)>,
}

/// What a consumer did when it was polled.
#[derive(Debug, Default)]
pub struct Polled {
    /// Messages delivered, in order, each with the moment it was due.
    pub delivered: Vec<(Duration, Arc<NetMessage>)>,
    /// Messages a partition dropped when they were taken.
    pub dropped: Vec<Arc<NetMessage>>,
    /// When to poll again: the held message's due time (`None`: idle with an empty queue,
    /// poll again when something is sent to it).
    pub wake: Option<Duration>,
}

impl Consumer {
    /// Runs the consumer of `id` up to `now`: delivers what is due, takes the next head
    /// whenever it is free.
    pub fn poll(&mut self, model: &mut NetworkModel, id: &str, now: Duration) -> Polled {
        let mut polled = Polled::default();
        loop {
            if let Some((at, _)) = &self.holding {
                if *at > now {
                    polled.wake = Some(*at);
                    return polled;
                }
                if let Some(held) = self.holding.take() {
                    polled.delivered.push(held);
                }
                continue;
            }
            match model.take(id) {
                Taken::Message(deadline, message) => {
                    self.holding = Some((due(deadline, now), message));
                }
                Taken::Dropped(message) => polled.dropped.push(message),
                Taken::Empty => return polled,
            }
        }
    }

    /// True while it holds a message it took.
    pub fn is_busy(&self) -> bool {
        self.holding.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const MS: Duration = Duration::from_millis(1);

    fn model(mean: u64, dist: LatencyDist, ids: &[&str]) -> NetworkModel {
        let mut m = NetworkModel::new(Latency { mean, dist }, Pcg64Mcg::seed_from_u64(1));
        for id in ids {
            m.register(id);
        }
        m
    }

    #[test]
    fn latency_draws_match_their_distributions() {
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        let n = 200_000;
        let mut mean = |dist| {
            let l = Latency { mean: 100, dist };
            let draws: Vec<u64> = (0..n).map(|_| l.draw(&mut rng)).collect();
            (
                draws.iter().sum::<u64>() as f64 / n as f64,
                *draws.iter().min().unwrap(),
                *draws.iter().max().unwrap(),
            )
        };
        assert_eq!(mean(LatencyDist::Constant), (100.0, 100, 100));
        let (m, lo, hi) = mean(LatencyDist::Uniform);
        assert!((m - 99.5).abs() < 0.5, "uniform mean {m}");
        assert_eq!((lo, hi), (0, 199));
        let (m, lo, hi) = mean(LatencyDist::Exponential);
        assert!((m - 99.5).abs() < 1.5, "exponential mean {m}");
        assert_eq!(lo, 0);
        assert!(hi > 800, "exponential has a long tail: max {hi}");
        for dist in [
            LatencyDist::Constant,
            LatencyDist::Uniform,
            LatencyDist::Exponential,
        ] {
            assert_eq!(Latency { mean: 0, dist }.draw(&mut rng), 0);
        }
    }

    #[test]
    fn same_seed_same_draws() {
        let l = Latency {
            mean: 50,
            dist: LatencyDist::Exponential,
        };
        let draws = |seed| {
            let mut rng = Pcg64Mcg::seed_from_u64(seed);
            (0..100).map(|_| l.draw(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draws(3), draws(3));
        assert_ne!(draws(3), draws(4));
    }

    #[test]
    fn each_message_gets_one_draw_and_clients_none() {
        let mut m = model(100, LatencyDist::Exponential, &["n0", "n1", "c0"]);
        let mut deadlines = Vec::new();
        for i in 0..50 {
            let now = MS * i;
            let (_, deadline) = m.send("n0", "n1", "{}".into(), now).unwrap();
            deadlines.push(deadline - now);
        }
        let distinct: BTreeSet<Duration> = deadlines.iter().copied().collect();
        assert!(
            distinct.len() > 30,
            "a fresh draw per message: {distinct:?}"
        );
        for (src, dest) in [("c0", "n0"), ("n0", "c0")] {
            let (_, deadline) = m.send(src, dest, "{}".into(), MS * 7).unwrap();
            assert_eq!(deadline, MS * 7, "{src} -> {dest} has no latency");
        }
        assert_eq!(m.sent_count(), 52);
    }

    #[test]
    fn partitions_drop_at_take_time_one_direction_only() {
        let mut m = model(0, LatencyDist::Constant, &["n0", "n1"]);
        m.send("n0", "n1", "{}".into(), Duration::ZERO).unwrap();
        m.send("n1", "n0", "{}".into(), Duration::ZERO).unwrap();
        m.partition(&BTreeMap::from([(
            "n1".to_string(),
            BTreeSet::from(["n0".to_string()]),
        )]));
        assert!(
            matches!(m.take("n1"), Taken::Dropped(_)),
            "sent before, taken during"
        );
        assert!(
            matches!(m.take("n0"), Taken::Message(..)),
            "the other direction flows"
        );
        m.send("n0", "n1", "{}".into(), Duration::ZERO).unwrap();
        m.heal();
        assert!(
            matches!(m.take("n1"), Taken::Message(..)),
            "sent during, taken after"
        );
        assert_eq!((m.queued(), m.peak_queued()), (0, 2));
        assert_eq!((m.backlog("n0"), m.backlog("n1")), (0, 0));
    }

    #[test]
    fn constant_latency_keeps_each_destinations_order() {
        let mut m = model(40, LatencyDist::Constant, &["n0", "n1", "n2"]);
        let mut consumer = Consumer::default();
        // As a driver polls: at every send to it, then at every wake.
        let mut delivered = Vec::new();
        let mut wake = None;
        for i in 0..20u64 {
            let src = if i % 2 == 0 { "n0" } else { "n2" };
            let now = MS * i as u32;
            m.send(src, "n1", format!("{{\"i\":{i}}}"), now).unwrap();
            let polled = consumer.poll(&mut m, "n1", now);
            delivered.extend(polled.delivered);
            wake = polled.wake;
        }
        while let Some(at) = wake {
            let polled = consumer.poll(&mut m, "n1", at);
            delivered.extend(polled.delivered);
            wake = polled.wake;
        }
        let polled = Polled {
            delivered,
            ..Polled::default()
        };
        let order: Vec<u64> = polled.delivered.iter().map(|(_, msg)| msg.id).collect();
        assert_eq!(order, (0..20).collect::<Vec<_>>());
        let times: Vec<Duration> = polled.delivered.iter().map(|(at, _)| *at).collect();
        assert_eq!(times[0], MS * 40);
        assert_eq!(times[19], MS * 59);
    }

    #[test]
    fn a_held_message_blocks_the_line_behind_it() {
        // n0's message (100 ms) is taken at once and held; a client request sent a
        // millisecond later has no latency, so its deadline is earlier, but it waits.
        let mut m = model(100, LatencyDist::Constant, &["n0", "n1", "c0"]);
        let mut consumer = Consumer::default();
        let (slow, _) = m.send("n0", "n1", "{}".into(), Duration::ZERO).unwrap();
        let polled = consumer.poll(&mut m, "n1", Duration::ZERO);
        assert!(polled.delivered.is_empty());
        assert_eq!(polled.wake, Some(MS * 100));
        let (fast, fast_deadline) = m.send("c0", "n1", "{}".into(), MS).unwrap();
        assert_eq!(fast_deadline, MS);
        let polled = consumer.poll(&mut m, "n1", MS);
        assert!(polled.delivered.is_empty(), "behind the held message");
        assert_eq!(polled.wake, Some(MS * 100));
        let polled = consumer.poll(&mut m, "n1", MS * 100);
        let got: Vec<(Duration, u64)> = polled
            .delivered
            .iter()
            .map(|(at, msg)| (*at, msg.id))
            .collect();
        assert_eq!(got, [(MS * 100, slow.id), (MS * 100, fast.id)]);
        assert_eq!(polled.wake, None);
        assert!(!consumer.is_busy());
    }

    #[test]
    fn a_message_taken_during_a_partition_is_dropped_by_the_consumer() {
        let mut m = model(10, LatencyDist::Constant, &["n0", "n1"]);
        let mut consumer = Consumer::default();
        m.send("n0", "n1", "{}".into(), Duration::ZERO).unwrap();
        m.send("n0", "n1", "{}".into(), MS).unwrap();
        let polled = consumer.poll(&mut m, "n1", Duration::ZERO);
        assert_eq!(
            polled.wake,
            Some(MS * 10),
            "the first is taken before the partition"
        );
        m.partition(&BTreeMap::from([(
            "n1".to_string(),
            BTreeSet::from(["n0".to_string()]),
        )]));
        let polled = consumer.poll(&mut m, "n1", MS * 10);
        assert_eq!(polled.delivered.len(), 1, "already taken: delivered");
        assert_eq!(
            polled.dropped.len(),
            1,
            "taken during the partition: dropped"
        );
    }

    #[test]
    fn deregistering_drops_what_was_queued() {
        let mut m = model(10, LatencyDist::Constant, &["n0", "c1"]);
        m.send("n0", "c1", "{}".into(), Duration::ZERO).unwrap();
        assert_eq!(m.backlog("n0"), 2 + 128);
        assert!(m.deregister("c1"));
        assert_eq!((m.queued(), m.backlog("n0")), (0, 0));
        assert!(matches!(m.take("c1"), Taken::Empty));
        assert_eq!(
            m.send("n0", "c1", "{}".into(), Duration::ZERO).unwrap_err(),
            NetError::UnknownEndpoint {
                role: "dest",
                id: "c1".into()
            }
        );
    }
}
