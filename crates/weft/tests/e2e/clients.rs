//! Minimal Rust clients for what the SDKs cannot send: raw bytes over gRPC, generated batches.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use weft_codec::otlp_proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use weft_codec::otlp_proto::collector::trace::v1::ExportTraceServiceResponse;
use weft_codec::ExportTraceServiceRequest;

pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// (trace id hex, span id hex) of every span in a request, in order, repeats kept.
pub fn span_key_list(request: &ExportTraceServiceRequest) -> Vec<(String, String)> {
    request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| &scope.spans)
        .map(|span| (hex(&span.trace_id), hex(&span.span_id)))
        .collect()
}

/// (trace id hex, span id hex) of every span in a request.
pub fn span_keys(request: &ExportTraceServiceRequest) -> HashSet<(String, String)> {
    span_key_list(request).into_iter().collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn generated_batches(
    seed: u64,
    count: usize,
    traces_per_batch: usize,
) -> Vec<ExportTraceServiceRequest> {
    let mut generator = weft_gen::TraceGenerator::new(seed);
    (0..count)
        .map(|_| generator.next_batch(traces_per_batch, now_nanos()).request)
        .collect()
}

pub async fn grpc_client(endpoint: &str) -> TraceServiceClient<tonic::transport::Channel> {
    TraceServiceClient::connect(endpoint.to_owned())
        .await
        .unwrap()
}

/// Sends arbitrary bytes as the body of `TraceService/Export`.
pub async fn raw_grpc_export(
    endpoint: &str,
    body: Vec<u8>,
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    weft_gen::RawExportClient::new(channel, false)
        .export(bytes::Bytes::from(body))
        .await
}
