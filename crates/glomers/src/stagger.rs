//! When client operations start: Jepsen's global stagger (jepsen-io/jepsen,
//! `jepsen/src/jepsen/generator.clj`, `stagger`) and the round-robin choice of a free worker
//! thread (`jepsen/src/jepsen/generator/context.clj`, `some-free-process` and `busy-thread`).

use rand::Rng;
use std::time::Duration;

/// What the dispatcher should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start the next operation on this worker thread.
    Dispatch(usize),
    /// Nothing can start before this moment (or before a worker frees up).
    WaitUntil(Duration),
    /// The main phase is over: no operation starts at or after the cutoff.
    Stop,
}

/// The global rate limiter. One operation is due at once; after each dispatch the next is
/// due a uniform draw in `[0, 2 / rate)` seconds later, counted from the actual dispatch
/// (no catch-up burst when threads were busy). Free threads are chosen in rotation.
#[derive(Debug, Clone)]
pub struct Stagger {
    rate: f64,
    cutoff: Duration,
    next_due: Duration,
    round_robin: usize,
}

impl Stagger {
    /// A schedule starting at `start` and ending at `cutoff`. A rate of 0 starts nothing.
    pub fn new(rate: f64, start: Duration, cutoff: Duration) -> Self {
        Stagger {
            rate,
            cutoff,
            next_due: start,
            round_robin: 0,
        }
    }

    /// The decision at `now`, given which worker threads are busy.
    pub fn decide(&self, now: Duration, busy: &[bool]) -> Decision {
        if now >= self.cutoff || self.rate <= 0.0 || busy.is_empty() {
            return Decision::Stop;
        }
        let n = busy.len();
        let free = (0..n)
            .map(|k| (self.round_robin + k) % n)
            .find(|t| !busy[*t]);
        match free {
            Some(t) if now >= self.next_due => Decision::Dispatch(t),
            Some(_) => Decision::WaitUntil(self.next_due.min(self.cutoff)),
            None => Decision::WaitUntil(self.cutoff),
        }
    }

    /// Records that thread `t` started an operation at `now`, and draws the next gap.
    pub fn dispatched(&mut self, t: usize, threads: usize, now: Duration, rng: &mut impl Rng) {
        self.round_robin = (t + 1) % threads.max(1);
        self.next_due = now + Duration::from_secs_f64(rng.gen::<f64>() * 2.0 / self.rate);
    }

    /// When the next operation is due.
    pub fn next_due(&self) -> Duration {
        self.next_due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn gaps_average_one_over_rate_and_stay_below_twice_that() {
        let mut rng = Pcg64Mcg::seed_from_u64(4);
        let mut stagger = Stagger::new(100.0, Duration::ZERO, 1000 * S);
        let mut now = Duration::ZERO;
        let mut gaps = Vec::new();
        for _ in 0..20_000 {
            assert_eq!(stagger.decide(now, &[false]), Decision::Dispatch(0));
            stagger.dispatched(0, 1, now, &mut rng);
            gaps.push((stagger.next_due() - now).as_secs_f64());
            now = stagger.next_due();
        }
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!((mean - 0.01).abs() < 0.0002, "mean gap {mean}");
        assert!(gaps.iter().all(|g| (0.0..0.02).contains(g)));
    }

    #[test]
    fn first_operation_is_due_at_once_and_nothing_starts_at_the_cutoff() {
        let stagger = Stagger::new(5.0, S, 3 * S);
        assert_eq!(stagger.decide(S, &[false, false]), Decision::Dispatch(0));
        assert_eq!(stagger.decide(3 * S, &[false, false]), Decision::Stop);
        assert_eq!(
            Stagger::new(0.0, S, 3 * S).decide(S, &[false]),
            Decision::Stop
        );
    }

    #[test]
    fn busy_threads_make_it_wait_and_free_ones_rotate() {
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let mut stagger = Stagger::new(1e9, Duration::ZERO, 10 * S);
        let now = Duration::ZERO;
        assert_eq!(
            stagger.decide(now, &[true, true]),
            Decision::WaitUntil(10 * S)
        );
        assert_eq!(
            stagger.decide(now, &[true, false, false]),
            Decision::Dispatch(1)
        );
        stagger.dispatched(1, 3, now, &mut rng);
        let later = stagger.next_due();
        assert_eq!(
            stagger.decide(later, &[false, false, false]),
            Decision::Dispatch(2)
        );
        stagger.dispatched(2, 3, later, &mut rng);
        assert_eq!(
            stagger.decide(stagger.next_due(), &[false, false, false]),
            Decision::Dispatch(0)
        );
    }

    #[test]
    fn the_next_gap_counts_from_the_actual_dispatch() {
        let mut rng = Pcg64Mcg::seed_from_u64(2);
        let mut stagger = Stagger::new(10.0, Duration::ZERO, 100 * S);
        // The thread was busy for 5 s past the due time: no burst afterwards.
        stagger.dispatched(0, 1, 5 * S, &mut rng);
        assert!(stagger.next_due() >= 5 * S);
        assert!(stagger.next_due() < 5 * S + Duration::from_millis(200));
    }
}
