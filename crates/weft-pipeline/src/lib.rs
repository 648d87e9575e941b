//! The pipeline: bus records in, Weft spans (and log records) out to every processor.
//!
//! Architecture invariant: this crate knows neither the WAL nor Kafka. It reads a `weft_bus::BusReader`
//! and the binary wires in the WAL (all-in-one) or, later, a Kafka consumer (distributed), so the
//! same processors run in both shapes.
//!
//! Exactly-once is built on positions: every bus record has a position (the WAL's LSN, a Kafka
//! offset), every processor reports the highest position whose effects it has made durable, the
//! runner starts reading after the lowest of those, skips for each processor what it already
//! has, and tells the bus it may forget what all of them have.

pub(crate) mod capture;
mod clock;
mod runner;

pub use capture::CaptureSink;
pub use clock::{Clock, ManualClock, SystemClock, Tick};
pub use runner::{Pipeline, PipelineHandle, PipelineOptions, PositionReader, RetryBackoff};

use weft_model::{LogRecord, Span};

/// A position within the bus partition the pipeline reads (see `weft_bus`: one pipeline per
/// partition).
pub use weft_bus::Position;

/// The spans of one bus record.
#[derive(Debug)]
pub struct SpanBatch {
    pub position: Position,
    /// Shared so a processor that keeps spans (the store's memtable) holds them without a copy.
    pub spans: std::sync::Arc<Vec<Span>>,
    /// When the runner read the record, by the pipeline's [`Clock`]: a processor's "now" for
    /// this batch (it reads no clock of its own).
    pub read_at_unix_nanos: u64,
}

/// The log records of one bus record.
#[derive(Debug)]
pub struct LogBatch {
    pub position: Position,
    pub records: std::sync::Arc<Vec<LogRecord>>,
    /// As [`SpanBatch::read_at_unix_nanos`].
    pub read_at_unix_nanos: u64,
}

impl From<weft_bus::BusError> for PipelineError {
    fn from(error: weft_bus::BusError) -> Self {
        PipelineError::Bus(error.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("bus error: {0}")]
    Bus(String),
    #[error("processor {processor} failed: {message}")]
    Processor { processor: String, message: String },
    #[error("i/o error on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A component the pipeline feeds: span metrics, topology, a store writer, the sampler …
///
/// Processors run on the pipeline thread, one batch at a time, in bus order.
pub trait Processor: Send {
    /// The configured name, used in metrics and logs.
    fn name(&self) -> &str;

    /// Takes one batch. Its effects need not be durable yet; see [`Processor::durable_position`].
    ///
    /// **Failure contract.** `Err` means the batch was not taken: the runner gives the same
    /// batch again (with backoff) until it is, and never skips it; the pipeline waits
    /// meanwhile. So a processor that fails must either have left no effect of the batch or
    /// recognise the effect it left when the batch comes again. Likewise
    /// [`Processor::durable_position`] passes a batch only once its effects are durable.
    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError>;

    /// Takes one batch of log records. Most processors read spans only: for them a logs
    /// record is an empty span batch at its position, so their positions (and what they let
    /// the bus forget) move past it.
    fn process_logs(&mut self, batch: &LogBatch) -> Result<(), PipelineError> {
        self.process(&SpanBatch {
            position: batch.position,
            spans: std::sync::Arc::new(Vec::new()),
            read_at_unix_nanos: batch.read_at_unix_nanos,
        })
    }

    /// Called about twice a second and when the bus is idle, so time-based work (flushes,
    /// closing buckets, checkpoints) happens without new spans. `tick` says the time, by the
    /// pipeline's clock, and whether the pipeline has processed everything the bus holds.
    fn tick(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        let _ = tick;
        Ok(())
    }

    /// The highest position whose effects survive a crash. A processor that keeps nothing
    /// returns the last position it processed.
    fn durable_position(&self) -> Position;

    /// Makes everything processed so far durable (graceful shutdown), at the time `tick` says.
    fn flush(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        let _ = tick;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
