//! An OTLP/gRPC client that sends already-encoded requests as they are. A load generator that
//! decodes a pre-encoded request just so tonic can encode it again measures itself, not the
//! server; tests also use it to send bytes no well-behaved client would.

use std::marker::PhantomData;

use prost::Message;
use weft_codec::otlp_proto::collector::logs::v1::ExportLogsServiceResponse;
use weft_codec::otlp_proto::collector::trace::v1::ExportTraceServiceResponse;

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const LOGS_EXPORT_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

struct RawCodec<Response>(PhantomData<fn() -> Response>);
struct RawEncoder;
struct ResponseDecoder<Response>(PhantomData<fn() -> Response>);

impl<Response: Message + Default + Send + 'static> tonic::codec::Codec for RawCodec<Response> {
    type Encode = bytes::Bytes;
    type Decode = Response;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder<Response>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> ResponseDecoder<Response> {
        ResponseDecoder(PhantomData)
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: bytes::Bytes,
        destination: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        destination.put_slice(&item);
        Ok(())
    }
}

impl<Response: Message + Default> tonic::codec::Decoder for ResponseDecoder<Response> {
    type Item = Response;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        source: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Self::Item>, tonic::Status> {
        Response::decode(source)
            .map(Some)
            .map_err(|error| tonic::Status::internal(format!("invalid export response: {error}")))
    }
}

/// `TraceService/Export` (and `LogsService/Export`) with a body of raw bytes.
#[derive(Clone)]
pub struct RawExportClient {
    grpc: tonic::client::Grpc<tonic::transport::Channel>,
}

impl RawExportClient {
    /// Connects lazily: the first export dials.
    pub fn new(channel: tonic::transport::Channel, gzip: bool) -> Self {
        let mut grpc = tonic::client::Grpc::new(channel).max_encoding_message_size(usize::MAX);
        if gzip {
            grpc = grpc.send_compressed(tonic::codec::CompressionEncoding::Gzip);
        }
        RawExportClient { grpc }
    }

    pub async fn export(
        &mut self,
        body: bytes::Bytes,
    ) -> Result<ExportTraceServiceResponse, tonic::Status> {
        self.unary(body, EXPORT_PATH).await
    }

    /// `LogsService/Export` on the same channel.
    pub async fn export_logs(
        &mut self,
        body: bytes::Bytes,
    ) -> Result<ExportLogsServiceResponse, tonic::Status> {
        self.unary(body, LOGS_EXPORT_PATH).await
    }

    async fn unary<Response: Message + Default + Send + 'static>(
        &mut self,
        body: bytes::Bytes,
        path: &'static str,
    ) -> Result<Response, tonic::Status> {
        self.grpc
            .ready()
            .await
            .map_err(|error| tonic::Status::unavailable(format!("connecting: {error}")))?;
        self.grpc
            .unary(
                tonic::Request::new(body),
                tonic::codegen::http::uri::PathAndQuery::from_static(path),
                RawCodec::<Response>(PhantomData),
            )
            .await
            .map(tonic::Response::into_inner)
    }
}
