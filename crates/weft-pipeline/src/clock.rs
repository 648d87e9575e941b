//! The pipeline's time: the runner reads one [`weft_model::Clock`] and hands the time to
//! processors (with each batch and each tick), so they read no clock of their own.

use std::time::Duration;

pub use weft_model::{Clock, ManualClock, SystemClock};

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
