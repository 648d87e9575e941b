//! Time: one [`Clock`] trait so a component's time-dependent logic — windows closing, buckets
//! closing, traces completing, checkpoints falling due — can be tested with a [`ManualClock`].
//! Reading the system clock is the only thing here that touches the outside world.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system clock now, in Unix nanoseconds (0 before 1970, saturating after 2554).
pub fn now_unix_nanos() -> u64 {
    SystemClock.now_unix_nanos()
}

/// Wall-clock time in Unix nanoseconds.
pub trait Clock: Send + Sync + 'static {
    fn now_unix_nanos(&self) -> u64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_nanos(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
            })
    }
}

/// A clock that moves only when told: for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_unix_nanos: AtomicU64,
}

impl ManualClock {
    pub fn at(now_unix_nanos: u64) -> Self {
        ManualClock {
            now_unix_nanos: AtomicU64::new(now_unix_nanos),
        }
    }

    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.now_unix_nanos.fetch_add(nanos, Ordering::AcqRel);
    }

    pub fn set(&self, now_unix_nanos: u64) {
        self.now_unix_nanos.store(now_unix_nanos, Ordering::Release);
    }
}

impl Clock for ManualClock {
    fn now_unix_nanos(&self) -> u64 {
        self.now_unix_nanos.load(Ordering::Acquire)
    }
}
