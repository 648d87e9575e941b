//! An OTLP/gRPC client that sends already-encoded requests as they are. A load generator that
//! decodes a pre-encoded request just so tonic can encode it again measures itself, not the
//! server; tests also use it to send bytes no well-behaved client would.

use prost::Message;
use weft_codec::otlp_proto::collector::trace::v1::ExportTraceServiceResponse;

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

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
        destination: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        destination.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        source: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Self::Item>, tonic::Status> {
        ExportTraceServiceResponse::decode(source)
            .map(Some)
            .map_err(|error| tonic::Status::internal(format!("invalid export response: {error}")))
    }
}

/// `TraceService/Export` with a body of raw bytes.
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
        self.grpc
            .ready()
            .await
            .map_err(|error| tonic::Status::unavailable(format!("connecting: {error}")))?;
        self.grpc
            .unary(
                tonic::Request::new(body),
                tonic::codegen::http::uri::PathAndQuery::from_static(EXPORT_PATH),
                RawCodec,
            )
            .await
            .map(tonic::Response::into_inner)
    }
}
