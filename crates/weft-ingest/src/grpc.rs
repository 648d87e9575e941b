use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use prost::Message;
use tokio::net::TcpListener;
use tonic::codec::{CompressionEncoding, DecodeBuf, EnabledCompressionEncodings, EncodeBuf};
use weft_codec::otlp_proto::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use weft_codec::otlp_proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use weft_model::ErrorCode;

use crate::ingestor::Signal;
use crate::{ExportOutcome, IngestError, Ingestor, Receiver, ShutdownSignal};

const NAME: &str = "otlp_grpc";
/// The logs service's counters are kept apart, so spans and log records never add up.
const LOGS_NAME: &str = "otlp_grpc_logs";

/// OTLP/gRPC `TraceService/Export` and `LogsService/Export` on one port, with gzip and zstd
/// request compression.
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
        ingestor.register_receiver(NAME, Signal::Spans);
        ingestor.register_receiver(LOGS_NAME, Signal::Logs);
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

pub(crate) fn logs_export_response(outcome: &ExportOutcome) -> ExportLogsServiceResponse {
    let partial = outcome.rejected_spans > 0 || !outcome.message.is_empty();
    ExportLogsServiceResponse {
        partial_success: partial.then(|| ExportLogsPartialSuccess {
            rejected_log_records: outcome.rejected_spans as i64,
            error_message: outcome.message.clone(),
        }),
    }
}

/// One OTLP signal's `Export` method: where it is routed and how a request is taken.
trait OtlpSignal: Send + Sync + 'static {
    const SERVICE: &'static str;
    const EXPORT_PATH: &'static str;
    /// The receiver name its counters are kept under.
    const RECEIVER: &'static str;

    /// Ingests the request's protobuf bytes; answers the encoded response.
    fn export(
        ingestor: Ingestor,
        body: bytes::Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, IngestError>> + Send>>;
}

struct TraceSignal;

impl OtlpSignal for TraceSignal {
    const SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const EXPORT_PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    const RECEIVER: &'static str = NAME;

    fn export(
        ingestor: Ingestor,
        body: bytes::Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, IngestError>> + Send>> {
        Box::pin(async move {
            let outcome = ingestor.export_protobuf(Self::RECEIVER, body).await?;
            Ok(export_response(&outcome).encode_to_vec())
        })
    }
}

struct LogsSignal;

impl OtlpSignal for LogsSignal {
    const SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const EXPORT_PATH: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    const RECEIVER: &'static str = LOGS_NAME;

    fn export(
        ingestor: Ingestor,
        body: bytes::Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, IngestError>> + Send>> {
        Box::pin(async move {
            let outcome = ingestor.export_logs_protobuf(Self::RECEIVER, body).await?;
            Ok(logs_export_response(&outcome).encode_to_vec())
        })
    }
}

/// Hands the handler the request's protobuf bytes rather than a decoded message. The handler
/// decodes them itself, so a malformed request is INVALID_ARGUMENT with prost's reason (tonic's
/// own codec reports INTERNAL), and a request that validation leaves untouched goes to the bus
/// as the very bytes received, without being encoded again. The response arrives encoded.
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawRequestDecoder;
struct RawResponseEncoder;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = bytes::Bytes;
    type Encoder = RawResponseEncoder;
    type Decoder = RawRequestDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawResponseEncoder
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

impl tonic::codec::Encoder for RawResponseEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Self::Item,
        destination: &mut EncodeBuf<'_>,
    ) -> Result<(), Self::Error> {
        use bytes::BufMut;
        destination.put_slice(&item);
        Ok(())
    }
}

/// A signal's `Export` as a tower service, routed by tonic like generated code would be.
struct ExportService<S> {
    ingestor: Ingestor,
    signal: PhantomData<fn() -> S>,
}

impl<S> ExportService<S> {
    fn new(ingestor: Ingestor) -> Self {
        ExportService {
            ingestor,
            signal: PhantomData,
        }
    }
}

impl<S> Clone for ExportService<S> {
    fn clone(&self) -> Self {
        ExportService::new(self.ingestor.clone())
    }
}

impl<S: OtlpSignal> tonic::server::NamedService for ExportService<S> {
    const NAME: &'static str = S::SERVICE;
}

struct ExportMethod<S> {
    ingestor: Ingestor,
    signal: PhantomData<fn() -> S>,
}

impl<S: OtlpSignal> tonic::server::UnaryService<bytes::Bytes> for ExportMethod<S> {
    type Response = Vec<u8>;
    type Future = Pin<
        Box<dyn Future<Output = Result<tonic::Response<Self::Response>, tonic::Status>> + Send>,
    >;

    fn call(&mut self, request: tonic::Request<bytes::Bytes>) -> Self::Future {
        let ingestor = self.ingestor.clone();
        Box::pin(async move {
            let response = S::export(ingestor, request.into_inner())
                .await
                .map_err(|error| error.to_grpc_status())?;
            Ok(tonic::Response::new(response))
        })
    }
}

impl<S, RequestBody> tower::Service<http::Request<RequestBody>> for ExportService<S>
where
    S: OtlpSignal,
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
        if request.uri().path() != S::EXPORT_PATH {
            let status = tonic::Status::unimplemented(format!(
                "unknown method {}: weft serves {}",
                request.uri().path(),
                S::EXPORT_PATH
            ));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let ingestor = self.ingestor.clone();
        Box::pin(async move {
            let mut accepted = EnabledCompressionEncodings::default();
            accepted.enable(CompressionEncoding::Gzip);
            accepted.enable(CompressionEncoding::Zstd);
            let max_bytes = ingestor.config().max_request_bytes;
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .apply_compression_config(accepted, EnabledCompressionEncodings::default())
                .apply_max_message_size_config(Some(max_bytes), None);
            let method = ExportMethod::<S> {
                ingestor,
                signal: PhantomData,
            };
            Ok(grpc.unary(method, request).await)
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
            let traces = ExportService::<TraceSignal>::new(self.ingestor.clone());
            let logs = ExportService::<LogsSignal>::new(self.ingestor.clone());
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
                .add_service(traces)
                .add_service(logs)
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
        let receiver = if request.uri().path().starts_with(LogsSignal::EXPORT_PATH) {
            LogsSignal::RECEIVER
        } else {
            TraceSignal::RECEIVER
        };
        match self.ingestor.admit(receiver) {
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
