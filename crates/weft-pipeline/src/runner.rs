use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weft_bus::{classify_bus_record, BusReader, BusRecord, BusRecordBody};
use weft_codec::{
    decode_otlp_logs_protobuf, decode_otlp_protobuf, logs_from_otlp, spans_from_otlp,
    ConversionOptions,
};
use weft_observe::prometheus_client::metrics::counter::Counter;
use weft_observe::prometheus_client::metrics::gauge::Gauge;
use weft_observe::prometheus_client::registry::Registry;
use weft_observe::{ComponentMetricFamilies, ComponentMetrics};

use crate::{Clock, LogBatch, PipelineError, Position, Processor, SpanBatch, SystemClock, Tick};

#[derive(Clone)]
pub struct PipelineOptions {
    pub conversion: ConversionOptions,
    pub max_records_per_read: usize,
    pub max_bytes_per_read: usize,
    /// How often processors are ticked and the bus told what may be released.
    pub commit_interval: Duration,
    /// How long the runner waits before giving a failed batch to its processor again.
    pub retry_backoff: RetryBackoff,
    /// The time batches and ticks carry to the processors.
    pub clock: Arc<dyn Clock>,
}

/// Exponential backoff between retries of a failed batch: `min`, doubling, at most `max`.
#[derive(Debug, Clone, Copy)]
pub struct RetryBackoff {
    pub min: Duration,
    pub max: Duration,
}

/// The pipeline was asked to stop while a processor kept failing a batch.
struct Stopped;

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            conversion: ConversionOptions::default(),
            max_records_per_read: 256,
            max_bytes_per_read: 32 * 1024 * 1024,
            commit_interval: Duration::from_millis(500),
            retry_backoff: RetryBackoff {
                min: Duration::from_millis(100),
                max: Duration::from_secs(5),
            },
            clock: Arc::new(SystemClock),
        }
    }
}

#[derive(Clone, Default)]
struct PipelineMetrics {
    records: Counter,
    replayed_records: Counter,
    undecodable_records: Counter,
    bus_errors: Counter,
    spans: Counter,
    log_records: Counter,
    position: Gauge,
    released_position: Gauge,
}

impl PipelineMetrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = PipelineMetrics::default();
        registry.register(
            "weft_pipeline_records",
            "Bus records the pipeline processed",
            metrics.records.clone(),
        );
        registry.register(
            "weft_pipeline_replayed_records",
            "Bus records processed again after a restart because not every processor had made them durable",
            metrics.replayed_records.clone(),
        );
        registry.register(
            "weft_pipeline_undecodable_records",
            "Bus records that were not valid OTLP protobuf and were skipped",
            metrics.undecodable_records.clone(),
        );
        registry.register(
            "weft_pipeline_bus_errors",
            "Failed reads from or releases of the bus (retried)",
            metrics.bus_errors.clone(),
        );
        registry.register(
            "weft_pipeline_spans",
            "Spans converted and handed to processors",
            metrics.spans.clone(),
        );
        registry.register(
            "weft_pipeline_log_records",
            "Log records converted and handed to processors",
            metrics.log_records.clone(),
        );
        registry.register(
            "weft_pipeline_position",
            "Bus position of the last record processed",
            metrics.position.clone(),
        );
        registry.register(
            "weft_pipeline_released_position",
            "Bus position every processor has made durable",
            metrics.released_position.clone(),
        );
        metrics
    }
}

struct Stage {
    processor: Box<dyn Processor>,
    metrics: ComponentMetrics,
}

/// The processors, before they start.
pub struct Pipeline {
    stages: Vec<Stage>,
    options: PipelineOptions,
    metrics: PipelineMetrics,
    families: ComponentMetricFamilies,
}

impl Pipeline {
    pub fn new(
        options: PipelineOptions,
        families: ComponentMetricFamilies,
        registry: &mut Registry,
    ) -> Self {
        Pipeline {
            stages: Vec::new(),
            options,
            metrics: PipelineMetrics::register(registry),
            families,
        }
    }

    pub fn add(&mut self, processor: Box<dyn Processor>) {
        let metrics = self.families.component("processor", processor.name());
        self.stages.push(Stage { processor, metrics });
    }

    /// Starts the pipeline thread.
    pub fn start(self, source: Box<dyn BusReader>) -> Result<PipelineHandle, PipelineError> {
        let stop = Arc::new(AtomicBool::new(false));
        let position = Arc::new(AtomicU64::new(0));
        let runner = Runner {
            stages: self.stages,
            options: self.options,
            metrics: self.metrics,
            source,
            stop: Arc::clone(&stop),
            position: Arc::clone(&position),
        };
        let thread = std::thread::Builder::new()
            .name("weft-pipeline".into())
            .spawn(move || runner.run())
            .map_err(|source| PipelineError::Io {
                path: "weft-pipeline thread".into(),
                source,
            })?;
        Ok(PipelineHandle {
            stop,
            position,
            thread: Some(thread),
        })
    }
}

/// Reads the pipeline's position (always 0 from `PositionReader::default()`, for a node
/// without a pipeline of its own).
#[derive(Clone, Default)]
pub struct PositionReader(Arc<AtomicU64>);

impl PositionReader {
    pub fn get(&self) -> Position {
        self.0.load(Ordering::Acquire)
    }
}

/// A running pipeline.
pub struct PipelineHandle {
    stop: Arc<AtomicBool>,
    position: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<Result<(), PipelineError>>>,
}

impl PipelineHandle {
    /// Position of the last record processed.
    pub fn position(&self) -> Position {
        self.position.load(Ordering::Acquire)
    }

    /// A cheap handle that reads [`PipelineHandle::position`] from elsewhere (the metrics
    /// endpoint) without owning the pipeline.
    pub fn position_reader(&self) -> PositionReader {
        PositionReader(Arc::clone(&self.position))
    }

    /// Processes what the bus holds now, flushes every processor and stops.
    pub fn shutdown(mut self) -> Result<(), PipelineError> {
        self.stop.store(true, Ordering::Release);
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(PipelineError::Bus("pipeline thread panicked".into())),
            None => Ok(()),
        }
    }
}

struct Runner {
    stages: Vec<Stage>,
    options: PipelineOptions,
    metrics: PipelineMetrics,
    source: Box<dyn BusReader>,
    stop: Arc<AtomicBool>,
    position: Arc<AtomicU64>,
}

impl Runner {
    fn run(mut self) -> Result<(), PipelineError> {
        // No processor keeps anything: nothing to replay.
        let start_after = self
            .lowest_durable_position()
            .unwrap_or_else(|| self.source.head());
        self.source.seek_after(start_after)?;
        // Everything up to the head at start-up was written before this process (re)started.
        let replay_through = self.source.head();
        tracing::info!(start_after, replay_through, "pipeline starting");
        let mut position = start_after;
        let mut last_commit = Instant::now();
        loop {
            let stopping = self.stop.load(Ordering::Acquire);
            let read = self.source.read(
                self.options.max_records_per_read,
                self.options.max_bytes_per_read,
            );
            let records = match read {
                Ok(records) => records,
                Err(error) => {
                    // Keep trying: a stuck pipeline shows as growing lag and, once the bus is
                    // full, as shed requests, rather than as a silently dead thread.
                    self.metrics.bus_errors.inc();
                    tracing::error!(%error, position, "reading the bus failed; retrying");
                    if stopping {
                        break;
                    }
                    std::thread::sleep(self.options.commit_interval);
                    continue;
                }
            };
            let caught_up = records.is_empty();
            let read_at = self.options.clock.now_unix_nanos();
            let mut stopped = false;
            for record in records {
                if record.position <= replay_through {
                    self.metrics.replayed_records.inc();
                }
                let record_position = record.position;
                if self.process_record(record, read_at).is_err() {
                    stopped = true;
                    break;
                }
                position = record_position;
                self.position.store(position, Ordering::Release);
            }
            if stopped {
                tracing::warn!(
                    position,
                    "stopping while a processor fails; its batch is given again after a restart"
                );
                break;
            }
            if caught_up || last_commit.elapsed() >= self.options.commit_interval {
                self.tick_and_release(position);
                last_commit = Instant::now();
            }
            if caught_up {
                if stopping {
                    break;
                }
                self.source.wait(position, self.options.commit_interval);
            }
        }
        let tick = self.tick_at(position);
        for stage in &mut self.stages {
            if let Err(error) = stage.processor.flush(&tick) {
                stage.metrics.errors.inc();
                tracing::error!(processor = stage.processor.name(), %error, "flush at shutdown failed");
            }
        }
        self.tick_and_release(position);
        tracing::info!(position, "pipeline stopped");
        Ok(())
    }

    /// The lowest position every processor has made durable; `None` without processors.
    fn lowest_durable_position(&self) -> Option<Position> {
        self.stages
            .iter()
            .map(|stage| stage.processor.durable_position())
            .min()
    }

    fn process_record(&mut self, record: BusRecord, read_at: u64) -> Result<(), Stopped> {
        self.metrics.records.inc();
        self.metrics.position.set(record.position as i64);
        match classify_bus_record(&record.payload) {
            BusRecordBody::Traces(payload) => self.process_spans(record.position, read_at, payload),
            BusRecordBody::Logs(payload) => self.process_logs(record.position, read_at, payload),
        }
    }

    fn process_spans(
        &mut self,
        position: Position,
        read_at_unix_nanos: u64,
        payload: &[u8],
    ) -> Result<(), Stopped> {
        let request = match decode_otlp_protobuf(payload) {
            Ok(request) => request,
            Err(error) => {
                self.metrics.undecodable_records.inc();
                tracing::error!(position, %error, "skipping undecodable bus record");
                return Ok(());
            }
        };
        let converted = spans_from_otlp(request, &self.options.conversion);
        if converted.invalid_spans > 0 {
            tracing::warn!(
                position,
                invalid = converted.invalid_spans,
                "bus record held spans with invalid ids"
            );
        }
        let batch = SpanBatch {
            position,
            spans: Arc::new(converted.spans),
            read_at_unix_nanos,
        };
        let span_count = batch.spans.len() as u64;
        self.metrics.spans.inc_by(span_count);
        self.for_each_stage(position, span_count, converted.invalid_spans, |processor| {
            processor.process(&batch)
        })
    }

    fn process_logs(
        &mut self,
        position: Position,
        read_at_unix_nanos: u64,
        payload: &[u8],
    ) -> Result<(), Stopped> {
        let request = match decode_otlp_logs_protobuf(payload) {
            Ok(request) => request,
            Err(error) => {
                self.metrics.undecodable_records.inc();
                tracing::error!(position, %error, "skipping undecodable bus record of logs");
                return Ok(());
            }
        };
        let converted = logs_from_otlp(request);
        if converted.invalid_records > 0 {
            tracing::warn!(
                position,
                invalid = converted.invalid_records,
                "bus record held log records with invalid ids"
            );
        }
        let batch = LogBatch {
            position,
            records: Arc::new(converted.records),
            read_at_unix_nanos,
        };
        let record_count = batch.records.len() as u64;
        self.metrics.log_records.inc_by(record_count);
        self.for_each_stage(
            position,
            record_count,
            converted.invalid_records,
            |processor| processor.process_logs(&batch),
        )
    }

    /// Hands a batch of `items` (spans or log records; `invalid` more could not be converted)
    /// to every processor that has not made its position durable already.
    ///
    /// A processor that fails is given the same batch again, with backoff, until it takes it:
    /// a batch is never skipped (see [`Processor::process`]). Meanwhile the pipeline does not
    /// move on, so the trouble shows as lag, then as shed requests once the bus is full. When
    /// the pipeline is asked to stop meanwhile, it stops here ([`Stopped`]); the failing
    /// processor's durable position is still before this batch, so a restart gives it again.
    fn for_each_stage(
        &mut self,
        position: Position,
        items: u64,
        invalid: u64,
        mut process: impl FnMut(&mut dyn Processor) -> Result<(), PipelineError>,
    ) -> Result<(), Stopped> {
        for stage in &mut self.stages {
            // A processor that made this record durable before a restart must not see it twice.
            if position <= stage.processor.durable_position() {
                continue;
            }
            stage.metrics.received.inc_by(items + invalid);
            stage.metrics.dropped.inc_by(invalid);
            let mut backoff = self.options.retry_backoff.min;
            loop {
                match process(stage.processor.as_mut()) {
                    Ok(()) => {
                        stage.metrics.sent.inc_by(items);
                        break;
                    }
                    Err(error) => {
                        stage.metrics.errors.inc();
                        tracing::error!(processor = stage.processor.name(), position, %error, retry_in = ?backoff, "processor failed on a batch; retrying it");
                        if self.stop.load(Ordering::Acquire) {
                            return Err(Stopped);
                        }
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(self.options.retry_backoff.max);
                    }
                }
            }
        }
        Ok(())
    }

    /// Now, by the pipeline's clock, and whether `position` is the bus's head.
    fn tick_at(&self, position: Position) -> Tick {
        Tick {
            now_unix_nanos: self.options.clock.now_unix_nanos(),
            caught_up: self.source.head() <= position,
        }
    }

    fn tick_and_release(&mut self, position: Position) {
        let head = self.source.head();
        let tick = self.tick_at(position);
        for stage in &mut self.stages {
            if let Err(error) = stage.processor.tick(&tick) {
                stage.metrics.errors.inc();
                tracing::error!(processor = stage.processor.name(), %error, "processor tick failed");
            }
            stage
                .metrics
                .lag_records
                .set(head.saturating_sub(position) as i64);
        }
        let durable = self
            .lowest_durable_position()
            .unwrap_or(position)
            .min(position);
        self.metrics.released_position.set(durable as i64);
        if let Err(error) = self.source.release_through(durable) {
            self.metrics.bus_errors.inc();
            tracing::error!(%error, durable, "releasing the bus failed; will retry");
        }
    }
}
