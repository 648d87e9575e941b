//! The pipeline's time: one clock the runner reads and hands to processors (with each batch and
//! each tick), so their time-dependent logic — windows closing, buckets closing, traces
//! completing, checkpoints falling due — is tested deterministically with a [`ManualClock`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// What a processor's [`crate::Processor::tick`] is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Now, by the pipeline's clock.
    pub now_unix_nanos: u64,
    /// The pipeline has processed everything the bus held when the tick was sent: nothing
    /// older waits, so a processor may take the clock, not its newest span, as its head.
    pub caught_up: bool,
}

impl Tick {
    /// Whether at least `interval` has passed since `since_unix_nanos`.
    pub fn elapsed_since(&self, since_unix_nanos: u64, interval: Duration) -> bool {
        self.now_unix_nanos.saturating_sub(since_unix_nanos)
            >= u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX)
    }
}
