//! The pipeline processor that writes log records into the hot log store, through the seam.
//!
//! Logs follow spans through the tiers: every record lands in the hot log store (kept as long
//! as the hot spans, `--retention`); the cold writer copies the records of the traces it keeps
//! into the cold log store along with their spans (`--cold-retention`). Records without a
//! trace stay hot only: no sampling decision can keep them.

use std::sync::Arc;
use std::time::Duration;

use weft_pipeline::{LogBatch, PipelineError, Position, Processor, SpanBatch, Tick};
use weft_storage::{LogWriter, StoreError};

/// Writes every log record into the hot log store and commits it on the flush interval (or
/// once the memtable holds `flush_max_records`).
pub struct LogStoreWriter {
    store: Arc<dyn LogWriter>,
    flush_interval: Duration,
    flush_max_records: usize,
    /// When the memtable was last committed, by the pipeline's clock (the first tick's time
    /// until then).
    last_flush_unix_nanos: Option<u64>,
    /// The newest position seen, logs or not.
    last_position: Position,
}

impl LogStoreWriter {
    pub fn new(
        store: Arc<dyn LogWriter>,
        flush_interval: Duration,
        flush_max_records: usize,
    ) -> Self {
        LogStoreWriter {
            last_position: store.durable_position(),
            store,
            flush_interval,
            flush_max_records,
            last_flush_unix_nanos: None,
        }
    }

    fn commit(&mut self, now_unix_nanos: u64) -> Result<(), PipelineError> {
        self.store.flush().map_err(processor_error)?;
        self.last_flush_unix_nanos = Some(now_unix_nanos);
        Ok(())
    }
}

fn processor_error(error: StoreError) -> PipelineError {
    PipelineError::Processor {
        processor: "logs".into(),
        message: error.to_string(),
    }
}

impl Processor for LogStoreWriter {
    fn name(&self) -> &str {
        "logs"
    }

    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError> {
        self.last_position = self.last_position.max(batch.position);
        Ok(())
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<(), PipelineError> {
        self.store
            .write(batch.position, Arc::clone(&batch.records))
            .map_err(processor_error)?;
        // Only once the records are in the memtable: with an empty memtable this position
        // counts as durable (see `durable_position`), so a failed write must not move it.
        self.last_position = self.last_position.max(batch.position);
        if self.store.pending_records() >= self.flush_max_records {
            self.commit(batch.read_at_unix_nanos)?;
        }
        Ok(())
    }

    fn tick(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        let since = *self
            .last_flush_unix_nanos
            .get_or_insert(tick.now_unix_nanos);
        if self.store.pending_records() > 0 && tick.elapsed_since(since, self.flush_interval) {
            self.commit(tick.now_unix_nanos)?;
        }
        Ok(())
    }

    fn durable_position(&self) -> Position {
        // With nothing waiting in the memtable, every record up to the last one seen is either
        // committed or held no logs at all.
        if self.store.pending_records() == 0 {
            self.last_position
        } else {
            self.store.durable_position()
        }
    }

    fn flush(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        self.commit(tick.now_unix_nanos)
    }
}
