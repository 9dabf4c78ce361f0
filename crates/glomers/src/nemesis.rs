//! Partitions: the four grudge shapes Maelstrom picks from (jepsen-io/maelstrom,
//! `src/maelstrom/nemesis.clj`, `package`, which uses jepsen-io/jepsen,
//! `jepsen/src/jepsen/nemesis/combined.clj`, `partition-specs` and `grudge`).
//!
//! A grudge maps each node to the set of nodes it will not hear from; cuts are
//! one-directional entries, so symmetric cuts are symmetric grudges.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// node -> the nodes whose messages it drops.
pub type Grudge = BTreeMap<String, BTreeSet<String>>;

/// The shapes a `start-partition` picks from, uniformly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// One node cut off from all others, both ways.
    One,
    /// The nodes split into halves (the first, smaller part and the rest).
    Majority,
    /// A third (rounded down, of N-1) split off.
    MinorityThird,
    /// Every node sees a majority, no two the same one.
    MajoritiesRing,
}

impl Shape {
    /// All shapes, in upstream's order.
    pub const ALL: [Shape; 4] = [
        Shape::One,
        Shape::Majority,
        Shape::MinorityThird,
        Shape::MajoritiesRing,
    ];

    /// The name recorded in the history (`"majority"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Shape::One => "one",
            Shape::Majority => "majority",
            Shape::MinorityThird => "minority-third",
            Shape::MajoritiesRing => "majorities-ring",
        }
    }

    /// Draws this shape's grudge over `nodes`.
    pub fn grudge(self, nodes: &[String], rng: &mut impl Rng) -> Grudge {
        match self {
            Shape::One => {
                let Some(node) = nodes.choose(rng) else {
                    return Grudge::new();
                };
                let rest: Vec<String> = nodes.iter().filter(|n| *n != node).cloned().collect();
                complete_cut(std::slice::from_ref(node), &rest)
            }
            Shape::Majority => {
                let shuffled = shuffled(nodes, rng);
                let (small, large) = shuffled.split_at(nodes.len() / 2);
                complete_cut(small, large)
            }
            Shape::MinorityThird => {
                let shuffled = shuffled(nodes, rng);
                let (small, large) = shuffled.split_at(nodes.len().saturating_sub(1) / 3);
                complete_cut(small, large)
            }
            Shape::MajoritiesRing if nodes.len() <= 5 => perfect_ring(nodes, rng),
            Shape::MajoritiesRing => stochastic_ring(nodes, rng),
        }
    }
}

fn shuffled(nodes: &[String], rng: &mut impl Rng) -> Vec<String> {
    let mut nodes = nodes.to_vec();
    nodes.shuffle(rng);
    nodes
}

/// Every node of `a` drops every node of `b` and the other way round. Empty sides give an
/// empty grudge.
fn complete_cut(a: &[String], b: &[String]) -> Grudge {
    let mut grudge = Grudge::new();
    if a.is_empty() || b.is_empty() {
        return grudge;
    }
    for x in a {
        grudge.insert(x.clone(), b.iter().cloned().collect());
    }
    for y in b {
        grudge.insert(y.clone(), a.iter().cloned().collect());
    }
    grudge
}

/// N <= 5: shuffle into a ring; for each window of M consecutive positions, the node in the
/// middle of the window drops everyone outside it.
fn perfect_ring(nodes: &[String], rng: &mut impl Rng) -> Grudge {
    let n = nodes.len();
    let mut grudge = Grudge::new();
    if n <= 2 {
        return grudge;
    }
    let ring = shuffled(nodes, rng);
    let m = n / 2 + 1;
    for start in 0..n {
        let window: BTreeSet<&String> = (0..m).map(|k| &ring[(start + k) % n]).collect();
        let middle = &ring[(start + m / 2) % n];
        let outside: BTreeSet<String> = ring
            .iter()
            .filter(|x| !window.contains(x))
            .cloned()
            .collect();
        if !outside.is_empty() {
            grudge.insert(middle.clone(), outside);
        }
    }
    grudge
}

/// N > 5: grow links from the least-connected node until every node reaches a majority,
/// then each node drops everyone it is not linked to.
fn stochastic_ring(nodes: &[String], rng: &mut impl Rng) -> Grudge {
    let n = nodes.len();
    let m = n / 2 + 1;
    let mut links: Vec<BTreeSet<usize>> = (0..n).map(|i| BTreeSet::from([i])).collect();
    while let Some(a) = least_linked(&links, rng, |_| true) {
        if links[a].len() >= m {
            break;
        }
        let Some(b) = least_linked(&links, rng, |b| !links[a].contains(&b)) else {
            break;
        };
        links[a].insert(b);
        links[b].insert(a);
    }
    let mut grudge = Grudge::new();
    for (i, linked) in links.iter().enumerate() {
        let dropped: BTreeSet<String> = (0..n)
            .filter(|j| !linked.contains(j))
            .map(|j| nodes[j].clone())
            .collect();
        if !dropped.is_empty() {
            grudge.insert(nodes[i].clone(), dropped);
        }
    }
    grudge
}

fn least_linked(
    links: &[BTreeSet<usize>],
    rng: &mut impl Rng,
    allowed: impl Fn(usize) -> bool,
) -> Option<usize> {
    let candidates: Vec<usize> = (0..links.len()).filter(|i| allowed(*i)).collect();
    let min = candidates.iter().map(|i| links[*i].len()).min()?;
    let tied: Vec<usize> = candidates
        .into_iter()
        .filter(|i| links[*i].len() == min)
        .collect();
    tied.choose(rng).copied()
}

/// What the nemesis does when its time comes.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Cut the network as `grudge` says (drawn from `shape`).
    Start {
        /// The shape drawn.
        shape: Shape,
        /// Who drops whom.
        grudge: Grudge,
    },
    /// Heal the network.
    Stop,
}

/// The partition schedule, as a state machine on passed-in time: start and stop alternate,
/// the first at once, with gaps uniform in `[0, 2 × interval)` (jepsen-io/jepsen,
/// `jepsen/src/jepsen/nemesis/combined.clj`, `partition-package`, on the generator's
/// `stagger`), until the main phase's cutoff. It draws the shapes, grudges and gaps from its
/// own random stream, so the run's other streams do not depend on it.
#[derive(Debug, Clone)]
pub struct Schedule {
    interval_s: f64,
    partitioned: bool,
    next: Option<Duration>,
    rng: Pcg64Mcg,
}

impl Schedule {
    /// A schedule that does nothing until [`Schedule::start`].
    pub fn new(interval_s: f64, rng: Pcg64Mcg) -> Schedule {
        Schedule {
            interval_s,
            partitioned: false,
            next: None,
            rng,
        }
    }

    /// The first operation is due at `now`.
    pub fn start(&mut self, now: Duration) {
        self.next = Some(now);
    }

    /// When the next operation is due, if one is.
    pub fn next(&self) -> Option<Duration> {
        self.next
    }

    /// The operation due at `now`, if any: when it was due, and what to do. Once the
    /// cutoff has passed, a due operation ends the schedule instead (`None` action).
    pub fn poll(
        &mut self,
        now: Duration,
        cutoff: Duration,
        nodes: &[String],
    ) -> Option<(Duration, Option<Action>)> {
        let due = self.next.filter(|next| *next <= now)?;
        if now >= cutoff {
            self.next = None;
            return Some((due, None));
        }
        let action = if self.partitioned {
            Action::Stop
        } else {
            let shape = *Shape::ALL.choose(&mut self.rng).unwrap_or(&Shape::One);
            let grudge = shape.grudge(nodes, &mut self.rng);
            Action::Start { shape, grudge }
        };
        self.partitioned = !self.partitioned;
        let gap = Duration::from_secs_f64(self.rng.gen::<f64>() * 2.0 * self.interval_s);
        self.next = Some(now + gap);
        Some((due, Some(action)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    fn nodes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    fn hears(grudge: &Grudge, node: &str, from: &str) -> bool {
        !grudge.get(node).is_some_and(|d| d.contains(from))
    }

    #[test]
    fn one_isolates_a_single_node_both_ways() {
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let g = Shape::One.grudge(&nodes(5), &mut rng);
        let isolated: Vec<&String> = g
            .iter()
            .filter(|(_, d)| d.len() == 4)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(isolated.len(), 1);
        assert_eq!(g.len(), 5);
        assert!(g
            .values()
            .filter(|d| d.len() == 1)
            .all(|d| d.contains(isolated[0])));
    }

    #[test]
    fn majority_and_minority_third_split_sizes() {
        let mut rng = Pcg64Mcg::seed_from_u64(2);
        let g = Shape::Majority.grudge(&nodes(5), &mut rng);
        let sizes: BTreeSet<usize> = g.values().map(BTreeSet::len).collect();
        assert_eq!(sizes, BTreeSet::from([2, 3]));
        let g = Shape::MinorityThird.grudge(&nodes(5), &mut rng);
        assert_eq!(
            g.values().filter(|d| d.len() == 4).count(),
            1,
            "isolates one of five"
        );
        assert!(
            Shape::MinorityThird.grudge(&nodes(3), &mut rng).is_empty(),
            "a no-op for N <= 3"
        );
        let g = Shape::MinorityThird.grudge(&nodes(25), &mut rng);
        assert_eq!(g.values().filter(|d| d.len() == 17).count(), 8);
    }

    #[test]
    fn perfect_ring_gives_each_node_a_distinct_majority() {
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let all = nodes(5);
        let g = Shape::MajoritiesRing.grudge(&all, &mut rng);
        let mut views = BTreeSet::new();
        for node in &all {
            let view: BTreeSet<&String> = all.iter().filter(|o| hears(&g, node, o)).collect();
            assert_eq!(view.len(), 3, "{node} hears itself and two neighbours");
            views.insert(view);
            for other in &all {
                assert_eq!(
                    hears(&g, node, other),
                    hears(&g, other, node),
                    "symmetric for N = 5"
                );
            }
        }
        assert_eq!(views.len(), 5);
        // N = 3: one-directional.
        let g = Shape::MajoritiesRing.grudge(&nodes(3), &mut rng);
        assert_eq!(g.len(), 3);
        assert!(g.values().all(|d| d.len() == 1));
        let (a, b) = g
            .iter()
            .next()
            .map(|(a, d)| (a.clone(), d.iter().next().unwrap().clone()))
            .unwrap();
        assert!(hears(&g, &b, &a), "the cut is one way");
        assert!(Shape::MajoritiesRing.grudge(&nodes(2), &mut rng).is_empty());
    }

    #[test]
    fn stochastic_ring_gives_everyone_a_majority() {
        for seed in 0..20 {
            let mut rng = Pcg64Mcg::seed_from_u64(seed);
            let all = nodes(25);
            let g = Shape::MajoritiesRing.grudge(&all, &mut rng);
            for node in &all {
                let heard = all.iter().filter(|o| hears(&g, node, o)).count();
                assert!(heard >= 13, "{node} hears {heard}");
                for other in &all {
                    assert_eq!(hears(&g, node, other), hears(&g, other, node));
                }
            }
        }
    }

    #[test]
    fn single_node_shapes_are_no_ops() {
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        for shape in Shape::ALL {
            assert!(shape.grudge(&nodes(1), &mut rng).is_empty(), "{shape:?}");
        }
    }

    #[test]
    fn the_schedule_alternates_from_the_start_with_uniform_gaps_until_the_cutoff() {
        let mut schedule = Schedule::new(10.0, Pcg64Mcg::seed_from_u64(9));
        assert_eq!(schedule.next(), None, "idle until started");
        let start = Duration::from_secs(5);
        schedule.start(start);
        assert_eq!(
            schedule.poll(start - Duration::from_millis(1), Duration::MAX, &nodes(5)),
            None
        );
        let (mut now, mut gaps) = (start, Vec::new());
        for i in 0..10_000 {
            let (due, action) = schedule.poll(now, Duration::MAX, &nodes(5)).unwrap();
            assert_eq!(due, now);
            match action.unwrap() {
                Action::Start { shape, grudge } => {
                    assert_eq!(i % 2, 0, "starts first, then alternates");
                    assert!(Shape::ALL.contains(&shape) && !grudge.is_empty());
                }
                Action::Stop => assert_eq!(i % 2, 1),
            }
            let next = schedule.next().unwrap();
            gaps.push((next - now).as_secs_f64());
            now = next;
        }
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!((mean - 10.0).abs() < 0.3, "{mean}");
        assert!(gaps.iter().all(|g| (0.0..20.0).contains(g)));
        // Due after the cutoff: the schedule ends without acting.
        assert_eq!(schedule.poll(now, now, &nodes(5)), Some((now, None)));
        assert_eq!(schedule.next(), None);
    }
}
