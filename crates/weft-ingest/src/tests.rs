use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft_codec::otlp_proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use weft_codec::ExportTraceServiceRequest;
use weft_observe::prometheus_client::registry::Registry;
use weft_observe::ComponentMetricFamilies;

use weft_bus::BusAppendError;

use super::*;

/// A bus that keeps records in memory, or refuses them when told to.
#[derive(Default)]
struct MemoryBus {
    records: Mutex<Vec<Vec<u8>>>,
    refuse: std::sync::atomic::AtomicBool,
    next: AtomicU64,
}

impl weft_bus::BusWriter for MemoryBus {
    fn append(
        &self,
        payload: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Result<u64, BusAppendError>> + Send>> {
        let result = if self.refuse.load(Ordering::SeqCst) {
            Err(BusAppendError::Backpressure("wal is full".into()))
        } else {
            self.records.lock().unwrap().push(payload);
            Ok(self.next.fetch_add(1, Ordering::SeqCst) + 1)
        };
        Box::pin(async move { result })
    }
}

fn ingestor(bus: Arc<MemoryBus>, max_concurrent_requests: usize) -> Ingestor {
    let mut registry = Registry::default();
    let families = ComponentMetricFamilies::register(&mut registry);
    Ingestor::new(
        bus,
        IngestConfig {
            max_concurrent_requests,
            retry_after: Duration::from_secs(2),
            ..IngestConfig::default()
        },
        &mut registry,
        families,
    )
}

fn request(span_ids: &[Vec<u8>]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: span_ids
                    .iter()
                    .map(|span_id| Span {
                        trace_id: vec![7; 16],
                        span_id: span_id.clone(),
                        ..Span::default()
                    })
                    .collect(),
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

#[tokio::test]
async fn partial_success_keeps_valid_spans_and_names_the_bad_one() {
    let bus = Arc::new(MemoryBus::default());
    let ingestor = ingestor(Arc::clone(&bus), 4);
    let outcome = ingestor
        .export(
            "test",
            request(&[vec![1; 8], vec![2; 3], vec![3; 8]]),
            None,
            (0, String::new()),
        )
        .await
        .unwrap();
    assert_eq!(outcome.accepted_spans, 2);
    assert_eq!(outcome.rejected_spans, 1);
    assert_eq!(
        outcome.message,
        "rejected 1 of 3 spans: span 1: span id must be 8 bytes, got 3"
    );
    assert_eq!(bus.records.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn all_invalid_request_writes_nothing() {
    let bus = Arc::new(MemoryBus::default());
    let ingestor = ingestor(Arc::clone(&bus), 4);
    let outcome = ingestor
        .export("test", request(&[vec![0; 8]]), None, (0, String::new()))
        .await
        .unwrap();
    assert_eq!((outcome.accepted_spans, outcome.rejected_spans), (0, 1));
    assert_eq!(outcome.position, None);
    assert!(bus.records.lock().unwrap().is_empty());
}

#[tokio::test]
async fn full_bus_becomes_resource_exhausted_with_retry_info() {
    let bus = Arc::new(MemoryBus::default());
    bus.refuse.store(true, Ordering::SeqCst);
    let ingestor = ingestor(Arc::clone(&bus), 4);
    let error = ingestor
        .export("test", request(&[vec![1; 8]]), None, (0, String::new()))
        .await
        .unwrap_err();
    assert_eq!(error.code, weft_model::ErrorCode::ResourceExhausted);
    assert_eq!(http_status(error.code), http::StatusCode::TOO_MANY_REQUESTS);
    let status = error.to_grpc_status();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    use tonic_types::StatusExt;
    let retry = status
        .get_details_retry_info()
        .expect("retry info attached");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn admission_sheds_past_the_concurrency_limit() {
    let ingestor = ingestor(Arc::new(MemoryBus::default()), 2);
    let first = ingestor.admit("test").unwrap();
    let _second = ingestor.admit("test").unwrap();
    let error = ingestor.admit("test").err().expect("third is shed");
    assert_eq!(error.code, weft_model::ErrorCode::ResourceExhausted);
    drop(first);
    assert!(ingestor.admit("test").is_ok(), "a freed slot admits again");
}

#[test]
fn gzip_bomb_is_refused_past_the_limit() {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 10 * 1024 * 1024]).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 64 * 1024);
    let error = compression::decompress_body(Some("gzip"), bomb.into(), 1024 * 1024).unwrap_err();
    assert_eq!(error.code, weft_model::ErrorCode::PayloadTooLarge);
    let error = compression::decompress_body(Some("brotli"), bytes::Bytes::new(), 10).unwrap_err();
    assert_eq!(error.code, weft_model::ErrorCode::UnsupportedMediaType);
    let error = compression::decompress_body(Some("gzip"), bytes::Bytes::from_static(b"nope"), 10)
        .unwrap_err();
    assert!(
        error.message.starts_with("invalid gzip body"),
        "{}",
        error.message
    );
}
