//! Log records in the all-in-one shape: the pipeline processor that writes them into the hot
//! log store, the maintenance thread both log stores share, and the gauges they report.
//!
//! Logs follow spans through the tiers: every record lands in the hot log store (kept as long
//! as the hot spans, `--retention`); the cold writer copies the records of the traces it keeps
//! into the cold log store along with their spans (`--cold-retention`). Records without a
//! trace stay hot only: no sampling decision can keep them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use weft_pipeline::{
    Clock, LogBatch, PipelineError, Position, Processor, SpanBatch, SystemClock, Tick,
};
use weft_store::{LogStore, StoreError};

/// How often retention and compaction run over the log stores.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(30);

/// Writes every log record into the hot log store and commits it on the flush interval (or
/// once the memtable holds `flush_max_records`).
pub struct LogWriter {
    store: Arc<LogStore>,
    flush_interval: Duration,
    flush_max_records: usize,
    /// When the memtable was last committed, by the pipeline's clock (the first tick's time
    /// until then).
    last_flush_unix_nanos: Option<u64>,
    /// The newest position seen, logs or not.
    last_position: Position,
}

impl LogWriter {
    pub fn new(store: Arc<LogStore>, flush_interval: Duration, flush_max_records: usize) -> Self {
        LogWriter {
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

impl Processor for LogWriter {
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
        if self.store.memtable_records() >= self.flush_max_records {
            self.commit(batch.read_at_unix_nanos)?;
        }
        Ok(())
    }

    fn tick(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        let since = *self
            .last_flush_unix_nanos
            .get_or_insert(tick.now_unix_nanos);
        if self.store.memtable_records() > 0 && tick.elapsed_since(since, self.flush_interval) {
            self.commit(tick.now_unix_nanos)?;
        }
        Ok(())
    }

    fn durable_position(&self) -> Position {
        // With nothing waiting in the memtable, every record up to the last one seen is either
        // committed or held no logs at all.
        if self.store.memtable_records() == 0 {
            self.last_position
        } else {
            self.store.durable_position()
        }
    }

    fn flush(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        self.commit(tick.now_unix_nanos)
    }
}

/// Gauges of both log stores, refreshed by the maintenance thread and on scrape-free ticks.
#[derive(Clone, Default)]
pub struct LogStoreGauges {
    hot_records: Gauge,
    hot_files: Gauge,
    hot_bytes: Gauge,
    cold_records: Gauge,
    cold_files: Gauge,
    cold_bytes: Gauge,
}

impl LogStoreGauges {
    pub fn register(registry: &mut Registry) -> Self {
        let gauges = LogStoreGauges::default();
        for (name, help, gauge) in [
            (
                "weft_logs_hot_records",
                "Log records committed to the hot log store",
                &gauges.hot_records,
            ),
            (
                "weft_logs_hot_files",
                "Parquet files of the hot log store",
                &gauges.hot_files,
            ),
            (
                "weft_logs_hot_bytes",
                "Bytes on disk of the hot log store",
                &gauges.hot_bytes,
            ),
            (
                "weft_logs_cold_records",
                "Log records committed to the cold log store",
                &gauges.cold_records,
            ),
            (
                "weft_logs_cold_files",
                "Parquet files of the cold log store",
                &gauges.cold_files,
            ),
            (
                "weft_logs_cold_bytes",
                "Bytes on disk of the cold log store",
                &gauges.cold_bytes,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        gauges
    }

    fn refresh(&self, hot: &LogStore, cold: &LogStore) {
        let hot = hot.stats();
        let cold = cold.stats();
        weft_observe::set_count(&self.hot_records, hot.records);
        weft_observe::set_count(&self.hot_files, hot.files as u64);
        weft_observe::set_count(&self.hot_bytes, hot.bytes);
        weft_observe::set_count(&self.cold_records, cold.records);
        weft_observe::set_count(&self.cold_files, cold.files as u64);
        weft_observe::set_count(&self.cold_bytes, cold.bytes);
    }
}

/// Runs retention and compaction on both log stores until `stop` is set.
pub fn spawn_maintenance(
    hot: Arc<LogStore>,
    cold: Arc<LogStore>,
    gauges: LogStoreGauges,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("weft-log-maintenance".into())
        .spawn(move || {
            let mut next = Instant::now();
            while !stop.load(Ordering::Acquire) {
                if Instant::now() >= next {
                    for (tier, store) in [("hot", &hot), ("cold", &cold)] {
                        if let Err(error) = store.maintain(SystemClock.now_unix_nanos()) {
                            tracing::warn!(tier, %error, "log store maintenance failed; retrying later");
                        }
                    }
                    gauges.refresh(&hot, &cold);
                    next = Instant::now() + MAINTENANCE_INTERVAL;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .expect("spawning the log maintenance thread")
}
