use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use weft_codec::otlp_proto::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};
use weft_codec::ExportTraceServiceRequest;
use weft_observe::prometheus_client::registry::Registry;
use weft_observe::ComponentMetricFamilies;

use weft_bus::{BusError, BusReader, BusRecord, PartitionId};

use super::*;

/// An in-memory bus: records 1..=n, and the release point the pipeline reports.
#[derive(Clone, Default)]
struct MemoryBus {
    /// Reads that fail before reads succeed again.
    failing_reads: Arc<Mutex<usize>>,
    records: Arc<Mutex<Vec<BusRecord>>>,
    released: Arc<Mutex<Position>>,
    cursor: Arc<Mutex<usize>>,
}

impl MemoryBus {
    fn push_spans(&self, span_count: u8) {
        let mut records = self.records.lock().unwrap();
        let position = records.len() as u64 + 1;
        let spans = (0..span_count)
            .map(|index| OtlpSpan {
                trace_id: vec![position as u8; 16],
                span_id: vec![index + 1; 8],
                name: format!("op-{position}-{index}"),
                ..OtlpSpan::default()
            })
            .collect();
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        records.push(BusRecord {
            position,
            payload: request.encode_to_vec(),
        });
    }
}

impl BusReader for MemoryBus {
    fn partition(&self) -> PartitionId {
        PartitionId(0)
    }
    fn seek_after(&mut self, position: Position) -> Result<(), BusError> {
        *self.cursor.lock().unwrap() = position as usize;
        Ok(())
    }
    fn read(&mut self, max_records: usize, _: usize) -> Result<Vec<BusRecord>, BusError> {
        {
            let mut failing = self.failing_reads.lock().unwrap();
            if *failing > 0 {
                *failing -= 1;
                return Err(BusError("disk on fire".into()));
            }
        }
        let records = self.records.lock().unwrap();
        let mut cursor = self.cursor.lock().unwrap();
        let batch: Vec<_> = records
            .iter()
            .skip(*cursor)
            .take(max_records)
            .cloned()
            .collect();
        *cursor += batch.len();
        Ok(batch)
    }
    fn head(&self) -> Position {
        self.records.lock().unwrap().len() as u64
    }
    fn wait(&mut self, _: Position, timeout: Duration) {
        std::thread::sleep(timeout.min(Duration::from_millis(5)));
    }
    fn release_through(&mut self, position: Position) -> Result<(), BusError> {
        *self.released.lock().unwrap() = position;
        Ok(())
    }
}

fn pipeline_with(processors: Vec<Box<dyn Processor>>) -> Pipeline {
    let mut registry = Registry::default();
    let families = ComponentMetricFamilies::register(&mut registry);
    let mut pipeline = Pipeline::new(
        PipelineOptions {
            commit_interval: Duration::from_millis(10),
            ..PipelineOptions::default()
        },
        families,
        &mut registry,
    );
    for processor in processors {
        pipeline.add(processor);
    }
    pipeline
}

fn capture_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn capture_sink_sees_every_span_once_and_bus_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.tsv");
    let bus = MemoryBus::default();
    for _ in 0..10 {
        bus.push_spans(3);
    }
    let sink = CaptureSink::open(&path, Duration::from_millis(1)).unwrap();
    let handle = pipeline_with(vec![Box::new(sink)])
        .start(Box::new(bus.clone()))
        .unwrap();
    handle.shutdown().unwrap();
    let lines = capture_lines(&path);
    assert_eq!(lines.len(), 30);
    assert!(lines[0].starts_with(
        "1\t01010101010101010101010101010101\t0101010101010101\tunknown_service\top-1-0"
    ));
    assert_eq!(*bus.released.lock().unwrap(), 10);
}

#[test]
fn restart_replays_only_what_the_sink_had_not_made_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.tsv");
    let bus = MemoryBus::default();
    for _ in 0..4 {
        bus.push_spans(2);
    }
    // First life: everything up to position 4 is committed.
    let sink = CaptureSink::open(&path, Duration::from_millis(1)).unwrap();
    pipeline_with(vec![Box::new(sink)])
        .start(Box::new(bus.clone()))
        .unwrap()
        .shutdown()
        .unwrap();
    // A crash then leaves uncommitted lines (as if the process died mid-flush).
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, b"5\tdead\tbeef\tx\ty\n"))
        .unwrap();
    for _ in 0..3 {
        bus.push_spans(2);
    }
    let sink = CaptureSink::open(&path, Duration::from_millis(1)).unwrap();
    assert_eq!(sink.durable_position(), 4);
    pipeline_with(vec![Box::new(sink)])
        .start(Box::new(bus.clone()))
        .unwrap()
        .shutdown()
        .unwrap();
    let lines = capture_lines(&path);
    assert_eq!(
        lines.len(),
        14,
        "7 records of 2 spans, none twice: {lines:#?}"
    );
    let positions: VecDeque<u64> = lines
        .iter()
        .map(|line| line.split('\t').next().unwrap().parse().unwrap())
        .collect();
    assert!(positions
        .iter()
        .zip(positions.iter().skip(1))
        .all(|(a, b)| a <= b));
}

#[test]
fn slow_flushing_processor_holds_back_release() {
    let dir = tempfile::tempdir().unwrap();
    let bus = MemoryBus::default();
    bus.push_spans(1);
    let fast = CaptureSink::open(dir.path().join("fast.tsv"), Duration::from_millis(1)).unwrap();
    let slow = CaptureSink::open(dir.path().join("slow.tsv"), Duration::from_secs(3600)).unwrap();
    let handle = pipeline_with(vec![Box::new(fast), Box::new(slow)])
        .start(Box::new(bus.clone()))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while handle.position() < 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(handle.position(), 1);
    // Several commit intervals pass; the fast sink is durable, the slow one is not.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        *bus.released.lock().unwrap(),
        0,
        "the slow sink has not flushed yet"
    );
    handle.shutdown().unwrap();
    assert_eq!(*bus.released.lock().unwrap(), 1, "shutdown flushes both");
}

#[test]
fn undecodable_record_is_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.tsv");
    let bus = MemoryBus::default();
    bus.push_spans(1);
    bus.records.lock().unwrap().push(BusRecord {
        position: 2,
        payload: vec![0xff, 0xff, 0xff],
    });
    bus.push_spans(1);
    let sink = CaptureSink::open(&path, Duration::from_millis(1)).unwrap();
    pipeline_with(vec![Box::new(sink)])
        .start(Box::new(bus.clone()))
        .unwrap()
        .shutdown()
        .unwrap();
    assert_eq!(capture_lines(&path).len(), 2);
}

#[test]
fn capture_escapes_tabs_and_newlines_in_names() {
    let mut buffer = String::new();
    capture::push_escaped_for_tests(&mut buffer, "a\tb\nc\\d");
    assert_eq!(buffer, "a\\tb\\nc\\\\d");
}

#[test]
fn bus_read_errors_are_retried_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.tsv");
    let bus = MemoryBus::default();
    bus.push_spans(2);
    *bus.failing_reads.lock().unwrap() = 3;
    let sink = CaptureSink::open(&path, Duration::from_millis(1)).unwrap();
    let handle = pipeline_with(vec![Box::new(sink)])
        .start(Box::new(bus.clone()))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while handle.position() < 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    handle.shutdown().unwrap();
    assert_eq!(
        *bus.failing_reads.lock().unwrap(),
        0,
        "every failing read was retried"
    );
    assert_eq!(capture_lines(&path).len(), 2);
}

/// A batch as a recorder saw it: position, items, and which kind.
type Seen = (Position, usize, &'static str);

/// Records the batches it was given: span batches, and log batches.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Processor for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError> {
        self.seen
            .lock()
            .unwrap()
            .push((batch.position, batch.spans.len(), "spans"));
        Ok(())
    }
    fn process_logs(&mut self, batch: &LogBatch) -> Result<(), PipelineError> {
        self.seen
            .lock()
            .unwrap()
            .push((batch.position, batch.records.len(), "logs"));
        Ok(())
    }
    fn durable_position(&self) -> Position {
        self.seen.lock().unwrap().last().map_or(0, |seen| seen.0)
    }
}

/// A processor that reads spans only (the default `process_logs`).
struct SpansOnly(Recorder);

impl Processor for SpansOnly {
    fn name(&self) -> &str {
        "spans-only"
    }
    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError> {
        self.0.process(batch)
    }
    fn durable_position(&self) -> Position {
        self.0.durable_position()
    }
}

#[test]
fn a_logs_record_reaches_log_readers_and_moves_span_readers_past_it() {
    use weft_codec::otlp_proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    let bus = MemoryBus::default();
    bus.push_spans(2);
    let logs = weft_codec::ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default(), LogRecord::default()],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    bus.records.lock().unwrap().push(BusRecord {
        position: 2,
        payload: weft_bus::logs_bus_record(&logs.encode_to_vec()),
    });
    bus.push_spans(1);
    let reader = Recorder::default();
    let spans_only = SpansOnly(Recorder::default());
    let spans_only_seen = Arc::clone(&spans_only.0.seen);
    pipeline_with(vec![Box::new(reader.clone()), Box::new(spans_only)])
        .start(Box::new(bus.clone()))
        .unwrap()
        .shutdown()
        .unwrap();
    assert_eq!(
        *reader.seen.lock().unwrap(),
        vec![(1, 2, "spans"), (2, 2, "logs"), (3, 1, "spans")]
    );
    // The default `process_logs`: an empty span batch at the record's position.
    assert_eq!(
        *spans_only_seen.lock().unwrap(),
        vec![(1, 2, "spans"), (2, 0, "spans"), (3, 1, "spans")]
    );
    assert_eq!(*bus.released.lock().unwrap(), 3);
}

/// Fails every batch at `failing_position` while `failures_left` lasts (`usize::MAX`: always),
/// recording the batches it takes.
struct Flaky {
    recorder: Recorder,
    failing_position: Position,
    failures_left: Arc<Mutex<usize>>,
    attempts: Arc<Mutex<usize>>,
}

impl Processor for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError> {
        if batch.position == self.failing_position {
            *self.attempts.lock().unwrap() += 1;
            let mut left = self.failures_left.lock().unwrap();
            if *left > 0 {
                *left = left.saturating_sub(1);
                return Err(PipelineError::Processor {
                    processor: "flaky".into(),
                    message: "disk full".into(),
                });
            }
        }
        self.recorder.process(batch)
    }
    fn durable_position(&self) -> Position {
        self.recorder.durable_position()
    }
}

fn flaky(failing_position: Position, failures: usize) -> Flaky {
    Flaky {
        recorder: Recorder::default(),
        failing_position,
        failures_left: Arc::new(Mutex::new(failures)),
        attempts: Arc::new(Mutex::new(0)),
    }
}

fn fast_retries() -> PipelineOptions {
    PipelineOptions {
        commit_interval: Duration::from_millis(10),
        retry_backoff: RetryBackoff {
            min: Duration::from_millis(1),
            max: Duration::from_millis(4),
        },
        ..PipelineOptions::default()
    }
}

fn pipeline_with_options(
    options: PipelineOptions,
    processors: Vec<Box<dyn Processor>>,
) -> Pipeline {
    let mut registry = Registry::default();
    let families = ComponentMetricFamilies::register(&mut registry);
    let mut pipeline = Pipeline::new(options, families, &mut registry);
    for processor in processors {
        pipeline.add(processor);
    }
    pipeline
}

#[test]
fn a_failing_processor_is_given_the_same_batch_again_and_nothing_is_skipped() {
    // The runner once logged the failure and went on: the batch was lost for that processor
    // while its position moved past it.
    let bus = MemoryBus::default();
    for _ in 0..5 {
        bus.push_spans(1);
    }
    let processor = flaky(2, 3);
    let (seen, attempts) = (
        Arc::clone(&processor.recorder.seen),
        Arc::clone(&processor.attempts),
    );
    let witness = Recorder::default();
    let handle = pipeline_with_options(
        fast_retries(),
        vec![Box::new(processor), Box::new(witness.clone())],
    )
    .start(Box::new(bus.clone()))
    .unwrap();
    // Not stopped meanwhile: a stop while the batch fails would end the retries.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while witness.seen.lock().unwrap().len() < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pipeline did not get past the failing batch"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    handle.shutdown().unwrap();
    let positions = |seen: &Arc<Mutex<Vec<Seen>>>| -> Vec<Position> {
        seen.lock().unwrap().iter().map(|seen| seen.0).collect()
    };
    assert_eq!(
        positions(&seen),
        vec![1, 2, 3, 4, 5],
        "each batch taken once, in order"
    );
    assert_eq!(*attempts.lock().unwrap(), 4, "three failures, then taken");
    assert_eq!(positions(&witness.seen), vec![1, 2, 3, 4, 5]);
    assert_eq!(*bus.released.lock().unwrap(), 5);
}

#[test]
fn stopping_while_a_processor_fails_keeps_its_batch_for_the_restart() {
    let bus = MemoryBus::default();
    for _ in 0..5 {
        bus.push_spans(1);
    }
    let processor = flaky(3, usize::MAX);
    let (seen, attempts) = (
        Arc::clone(&processor.recorder.seen),
        Arc::clone(&processor.attempts),
    );
    let handle = pipeline_with_options(fast_retries(), vec![Box::new(processor)])
        .start(Box::new(bus.clone()))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while *attempts.lock().unwrap() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch was not retried"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    handle.shutdown().unwrap();
    let taken: Vec<Position> = seen.lock().unwrap().iter().map(|seen| seen.0).collect();
    assert_eq!(taken, vec![1, 2], "nothing past the failing batch");
    assert_eq!(
        *bus.released.lock().unwrap(),
        2,
        "the bus keeps the failing batch"
    );

    // After the restart the processor (durable through 2) is given 3 again, then the rest.
    let restarted = Recorder::default();
    restarted
        .seen
        .lock()
        .unwrap()
        .extend(seen.lock().unwrap().iter().copied());
    pipeline_with_options(fast_retries(), vec![Box::new(restarted.clone())])
        .start(Box::new(bus.clone()))
        .unwrap()
        .shutdown()
        .unwrap();
    let taken: Vec<Position> = restarted
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|seen| seen.0)
        .collect();
    assert_eq!(taken, vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_failed_capture_write_keeps_its_lines_and_commits_them_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.tsv");
    let mut sink = CaptureSink::open(&path, Duration::from_secs(3600)).unwrap();
    let batch = |position: Position| {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![OtlpSpan {
                        trace_id: vec![position as u8; 16],
                        span_id: vec![1; 8],
                        ..OtlpSpan::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        SpanBatch {
            position,
            spans: Arc::new(
                weft_codec::spans_from_otlp(request, &weft_codec::ConversionOptions::default())
                    .spans,
            ),
            read_at_unix_nanos: 0,
        }
    };
    sink.process(&batch(1)).unwrap();
    sink.fail_next_write(std::io::Error::other("disk full"));
    // The sink once cleared its buffer before checking the write, then committed position 1
    // with its line lost.
    let stop = Tick {
        now_unix_nanos: 0,
        caught_up: true,
    };
    assert!(sink.flush(&stop).is_err());
    assert_eq!(sink.durable_position(), 0);
    sink.process(&batch(2)).unwrap();
    sink.flush(&stop).unwrap();
    assert_eq!(sink.durable_position(), 2);
    let lines = capture_lines(&path);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("1\t01010101"), "{lines:?}");
    assert!(lines[1].starts_with("2\t02020202"), "{lines:?}");
}
