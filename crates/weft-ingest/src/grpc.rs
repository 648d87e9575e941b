use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use prost::Message;
use tokio::net::TcpListener;
use tonic::codec::{CompressionEncoding, DecodeBuf, EnabledCompressionEncodings, EncodeBuf};
use weft_codec::otlp_proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use weft_model::ErrorCode;

use crate::{ExportOutcome, IngestError, Ingestor, Receiver, ShutdownSignal};

const NAME: &str = "otlp_grpc";

/// OTLP/gRPC `TraceService/Export`, with gzip and zstd request compression.
pub struct OtlpGrpcReceiver {
    listener: TcpListener,
    ingestor: Ingestor,
    max_connection_age: Duration,
}

impl OtlpGrpcReceiver {
    /// Binds `address`. `max_connection_age` closes connections (gracefully, with GOAWAY) after
    /// that long, so clients reconnect and spread across collectors behind a balancer or DNS.
    pub async fn bind(
        address: SocketAddr,
        ingestor: Ingestor,
        max_connection_age: Duration,
    ) -> std::io::Result<Self> {
        ingestor.register_receiver(NAME);
        Ok(OtlpGrpcReceiver {
            listener: TcpListener::bind(address).await?,
            ingestor,
            max_connection_age,
        })
    }
}

pub(crate) fn export_response(outcome: &ExportOutcome) -> ExportTraceServiceResponse {
    // The OTLP spec: leave partial_success unset when everything was accepted.
    let partial = outcome.rejected_spans > 0 || !outcome.message.is_empty();
    ExportTraceServiceResponse {
        partial_success: partial.then(|| ExportTracePartialSuccess {
            rejected_spans: outcome.rejected_spans as i64,
            error_message: outcome.message.clone(),
        }),
    }
}

const SERVICE_NAME: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Hands the handler the request's protobuf bytes rather than a decoded message. The handler
/// decodes them itself, so a malformed request is INVALID_ARGUMENT with prost's reason (tonic's
/// own codec reports INTERNAL), and a request that validation leaves untouched goes to the bus
/// as the very bytes received, without being encoded again.
#[derive(Clone, Copy, Default)]
struct RawRequestCodec;

struct RawRequestDecoder;
struct ResponseEncoder;

impl tonic::codec::Codec for RawRequestCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = bytes::Bytes;
    type Encoder = ResponseEncoder;
    type Decoder = RawRequestDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ResponseEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawRequestDecoder
    }
}

impl tonic::codec::Decoder for RawRequestDecoder {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, source: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        use bytes::Buf;
        Ok(Some(source.copy_to_bytes(source.remaining())))
    }
}

impl tonic::codec::Encoder for ResponseEncoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Self::Item,
        destination: &mut EncodeBuf<'_>,
    ) -> Result<(), Self::Error> {
        item.encode(destination)
            .map_err(|error| tonic::Status::internal(format!("encoding the response: {error}")))
    }
}

/// `TraceService/Export` as a tower service, routed by tonic like generated code would be.
#[derive(Clone)]
struct TraceExportService {
    ingestor: Ingestor,
}

impl tonic::server::NamedService for TraceExportService {
    const NAME: &'static str = SERVICE_NAME;
}

struct ExportMethod {
    ingestor: Ingestor,
}

impl tonic::server::UnaryService<bytes::Bytes> for ExportMethod {
    type Response = ExportTraceServiceResponse;
    type Future = Pin<
        Box<dyn Future<Output = Result<tonic::Response<Self::Response>, tonic::Status>> + Send>,
    >;

    fn call(&mut self, request: tonic::Request<bytes::Bytes>) -> Self::Future {
        let ingestor = self.ingestor.clone();
        Box::pin(async move {
            let outcome = ingestor
                .export_protobuf(NAME, request.into_inner())
                .await
                .map_err(|error| error.to_grpc_status())?;
            Ok(tonic::Response::new(export_response(&outcome)))
        })
    }
}

impl<RequestBody> tower::Service<http::Request<RequestBody>> for TraceExportService
where
    RequestBody: tonic::codegen::Body<Data = bytes::Bytes> + Send + 'static,
    RequestBody::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        if request.uri().path() != EXPORT_PATH {
            let status = tonic::Status::unimplemented(format!(
                "unknown method {}: weft serves {EXPORT_PATH}",
                request.uri().path()
            ));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let ingestor = self.ingestor.clone();
        Box::pin(async move {
            let mut accepted = EnabledCompressionEncodings::default();
            accepted.enable(CompressionEncoding::Gzip);
            accepted.enable(CompressionEncoding::Zstd);
            let max_bytes = ingestor.config().max_request_bytes;
            let mut grpc = tonic::server::Grpc::new(RawRequestCodec)
                .apply_compression_config(accepted, EnabledCompressionEncodings::default())
                .apply_max_message_size_config(Some(max_bytes), None);
            Ok(grpc.unary(ExportMethod { ingestor }, request).await)
        })
    }
}

impl Receiver for OtlpGrpcReceiver {
    fn name(&self) -> &'static str {
        NAME
    }

    fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    fn run(
        self: Box<Self>,
        shutdown: ShutdownSignal,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
        Box::pin(async move {
            let service = TraceExportService {
                ingestor: self.ingestor.clone(),
            };
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(self.listener);
            tonic::transport::Server::builder()
                .max_connection_age(self.max_connection_age)
                .max_connection_age_grace(Duration::from_secs(30))
                .http2_keepalive_interval(Some(Duration::from_secs(30)))
                // Export requests are ~100 KB to several MB; with HTTP/2's default 64 KiB stream
                // window each one stalls on WINDOW_UPDATE round trips.
                .initial_stream_window_size(Some(4 * 1024 * 1024))
                .initial_connection_window_size(Some(16 * 1024 * 1024))
                .tcp_nodelay(true)
                // Bounds how long a request (body included) may hold an admission slot.
                .timeout(self.ingestor.config().receive_timeout)
                .layer(AdmissionLayer {
                    ingestor: self.ingestor,
                })
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await
                .map_err(std::io::Error::other)
        })
    }
}

/// Sheds requests before tonic reads and decodes their body, so overload costs almost nothing.
#[derive(Clone)]
struct AdmissionLayer {
    ingestor: Ingestor,
}

impl<S> tower::Layer<S> for AdmissionLayer {
    type Service = AdmissionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdmissionService {
            inner,
            ingestor: self.ingestor.clone(),
        }
    }
}

#[derive(Clone)]
struct AdmissionService<S> {
    inner: S,
    ingestor: Ingestor,
}

impl<S, RequestBody> tower::Service<http::Request<RequestBody>> for AdmissionService<S>
where
    S: tower::Service<http::Request<RequestBody>, Response = http::Response<tonic::body::Body>>
        + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        match self.ingestor.admit(NAME) {
            Ok(permit) => {
                let response = self.inner.call(request);
                let max_bytes = self.ingestor.config().max_request_bytes;
                Box::pin(async move {
                    let response = response.await;
                    drop(permit);
                    response.map(|response| oversized_as_resource_exhausted(response, max_bytes))
                })
            }
            Err(error) => {
                let response = error.to_grpc_status().into_http();
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

/// tonic refuses a message over the size limit with OUT_OF_RANGE before the handler runs; gRPC's
/// own status-code table says RESOURCE_EXHAUSTED, which is what OTLP clients expect (and,
/// without RetryInfo, do not retry). Only that check produces OUT_OF_RANGE here.
fn oversized_as_resource_exhausted(
    response: http::Response<tonic::body::Body>,
    max_bytes: usize,
) -> http::Response<tonic::body::Body> {
    let out_of_range = (tonic::Code::OutOfRange as i32).to_string();
    let is_out_of_range = response
        .headers()
        .get(tonic::Status::GRPC_STATUS)
        .is_some_and(|status| status.as_bytes() == out_of_range.as_bytes());
    if !is_out_of_range {
        return response;
    }
    IngestError::new(
        ErrorCode::PayloadTooLarge,
        format!("request exceeds the limit of {max_bytes} bytes"),
    )
    .to_grpc_status()
    .into_http()
}
