//! Minimal Rust clients for what the SDKs cannot send: raw bytes over gRPC, generated batches.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use weft_codec::otlp_proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use weft_codec::otlp_proto::collector::trace::v1::ExportTraceServiceResponse;
use weft_codec::ExportTraceServiceRequest;

pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// (trace id hex, span id hex) of every span in a request.
pub fn span_keys(request: &ExportTraceServiceRequest) -> HashSet<(String, String)> {
    request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| &scope.spans)
        .map(|span| (hex(&span.trace_id), hex(&span.span_id)))
        .collect()
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

#[derive(Clone, Copy, Default)]
struct RawCodec;
struct RawEncoder;
struct ResponseDecoder;

impl tonic::codec::Codec for RawCodec {
    type Encode = bytes::Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> ResponseDecoder {
        ResponseDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = bytes::Bytes;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: bytes::Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Self::Item>, tonic::Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|error| tonic::Status::internal(error.to_string()))
    }
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
    let mut grpc = tonic::client::Grpc::new(channel).max_encoding_message_size(usize::MAX);
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(bytes::Bytes::from(body)),
        http_path(),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

fn http_path() -> tonic::codegen::http::uri::PathAndQuery {
    tonic::codegen::http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    )
}
