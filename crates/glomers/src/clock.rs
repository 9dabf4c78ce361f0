//! Time, behind an interface so that an in-process driver can later run nodes on virtual
//! time. The process driver uses the real monotonic clock.

use std::time::{Duration, Instant};

/// A source of "time since the run started" that can also wait.
pub trait Clock: Send + Sync {
    /// Time since the clock's epoch.
    fn now(&self) -> Duration;
    /// Blocks until `now() >= deadline`.
    fn sleep_until(&self, deadline: Duration);
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct RealClock {
    epoch: Instant,
}

impl RealClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        RealClock {
            epoch: Instant::now(),
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RealClock {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn sleep_until(&self, deadline: Duration) {
        let now = self.now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
    }
}
