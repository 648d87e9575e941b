//! The log store: committing 100 000 records (100 bus positions of 1 000, one flush), and
//! finding one trace's records among 100 000 committed ones, with and without a time hint.
//!
//! `cargo bench -p weft-store --bench logs`

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use weft_model::{
    AttributeValue, InstrumentationScope, KeyValue, LogRecord, Resource, SpanId, TraceId,
};
use weft_store::{LogStore, LogStoreConfig};

/// 2026-11-21T10:00:00Z.
const BASE: u64 = 1_795_255_200 * 1_000_000_000;
const RECORDS: usize = 100_000;
const PER_POSITION: usize = 1_000;
/// Records of one trace; one record in ten has no trace.
const PER_TRACE: usize = 8;
/// Nanoseconds between records: 100 000 over 50 minutes.
const STEP: u64 = 50 * 60 * 1_000_000_000 / RECORDS as u64;

fn trace_id(index: usize) -> TraceId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(
        &(index as u64 + 1)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .to_be_bytes(),
    );
    bytes[8..].copy_from_slice(&(index as u64 + 1).to_be_bytes());
    TraceId::from_bytes(bytes)
}

/// Records spread over 50 minutes, from five services, about 120 bytes of body and four
/// attributes each: a trace's records are within a few milliseconds of each other.
fn records() -> Vec<Arc<Vec<LogRecord>>> {
    let services = ["checkout", "payments", "inventory", "frontend", "shipping"];
    let resources: Vec<Arc<Resource>> = services
        .iter()
        .map(|service| {
            Arc::new(Resource {
                attributes: vec![
                    KeyValue::new(
                        "service.name",
                        AttributeValue::String((*service).to_owned()),
                    ),
                    KeyValue::new(
                        "host.name",
                        AttributeValue::String(format!("{service}-7d9f")),
                    ),
                    KeyValue::new(
                        "deployment.environment",
                        AttributeValue::String("prod".to_owned()),
                    ),
                ],
                ..Resource::default()
            })
        })
        .collect();
    let scope = Arc::new(InstrumentationScope {
        name: "io.weft.bench".to_owned(),
        version: "1.0.0".to_owned(),
        ..InstrumentationScope::default()
    });
    let all: Vec<LogRecord> = (0..RECORDS)
        .map(|index| {
            let traced = index % 10 != 9;
            let trace = index / PER_TRACE;
            let service = trace % services.len();
            LogRecord {
                time_unix_nanos: BASE + index as u64 * STEP,
                observed_time_unix_nanos: BASE + index as u64 * STEP + 1_000,
                trace_id: traced.then(|| trace_id(trace)),
                span_id: traced.then(|| SpanId::from_bytes((index as u64 + 1).to_be_bytes())),
                severity_number: [9, 9, 9, 13, 17][index % 5],
                severity_text: ["INFO", "INFO", "INFO", "WARN", "ERROR"][index % 5].to_owned(),
                body: AttributeValue::String(format!(
                    "handled request {index} for customer {} in {} ms: status={} path=/api/v1/orders/{}",
                    index % 977,
                    index % 311,
                    [200, 200, 404, 500][index % 4],
                    index * 7
                )),
                attributes: vec![
                    KeyValue::new("http.method", AttributeValue::String("GET".to_owned())),
                    KeyValue::new("http.status_code", AttributeValue::Int([200, 200, 404, 500][index % 4])),
                    KeyValue::new("user.id", AttributeValue::String(format!("u-{}", index % 4_001))),
                    KeyValue::new("retry", AttributeValue::Bool(index % 13 == 0)),
                ],
                dropped_attributes_count: 0,
                flags: 1,
                event_name: String::new(),
                resource: Arc::clone(&resources[service]),
                scope: Arc::clone(&scope),
                service_name: services[service].to_owned(),
            }
        })
        .collect();
    all.chunks(PER_POSITION)
        .map(|chunk| Arc::new(chunk.to_vec()))
        .collect()
}

fn write_all(store: &LogStore, batches: &[Arc<Vec<LogRecord>>]) {
    for (position, batch) in (1u64..).zip(batches) {
        store.write(position, Arc::clone(batch)).unwrap();
    }
}

fn write_and_flush(criterion: &mut Criterion) {
    let batches = records();
    let mut group = criterion.benchmark_group("logs_write_flush");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("100k_records", |bench| {
        bench.iter_batched(
            || {
                let directory = tempfile::tempdir().unwrap();
                let store = LogStore::open(LogStoreConfig::new(directory.path())).unwrap();
                (directory, store)
            },
            |(directory, store)| {
                write_all(&store, &batches);
                store.flush().unwrap();
                (directory, store)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn logs_of_trace(criterion: &mut Criterion) {
    let batches = records();
    let directory = tempfile::tempdir().unwrap();
    let store = LogStore::open(LogStoreConfig::new(directory.path())).unwrap();
    write_all(&store, &batches);
    store.flush().unwrap();
    let traces = RECORDS / PER_TRACE;
    let mut group = criterion.benchmark_group("logs_of_trace_among_100k");
    let mut next = 0usize;
    group.bench_function("no_hint", |bench| {
        bench.iter(|| {
            next = (next + 7_919) % traces;
            let found = store.logs_of_trace(&trace_id(next), None).unwrap();
            assert!(!found.is_empty());
            found
        })
    });
    group.bench_function("hint_1s", |bench| {
        bench.iter(|| {
            next = (next + 7_919) % traces;
            // What a trace view passes: the spans' range widened by a margin.
            let time = BASE + (next * PER_TRACE) as u64 * STEP;
            let hint = (time - 500_000_000, time + 500_000_000);
            let found = store.logs_of_trace(&trace_id(next), Some(hint)).unwrap();
            assert!(!found.is_empty());
            found
        })
    });
    group.finish();
}

criterion_group!(benches, write_and_flush, logs_of_trace);
criterion_main!(benches);
