use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use weft_codec::otlp_proto::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use weft_codec::otlp_proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use crate::{ExportOutcome, Ingestor, Receiver, ShutdownSignal};

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

struct GrpcTraceService {
    ingestor: Ingestor,
}

#[tonic::async_trait]
impl TraceService for GrpcTraceService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let outcome = self
            .ingestor
            .export(NAME, request.into_inner(), None, (0, String::new()))
            .await
            .map_err(|error| error.to_grpc_status())?;
        Ok(tonic::Response::new(export_response(&outcome)))
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
            let max_bytes = self.ingestor.config().max_request_bytes;
            let service = TraceServiceServer::new(GrpcTraceService {
                ingestor: self.ingestor.clone(),
            })
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .max_decoding_message_size(max_bytes);
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(self.listener);
            tonic::transport::Server::builder()
                .max_connection_age(self.max_connection_age)
                .max_connection_age_grace(Duration::from_secs(30))
                .http2_keepalive_interval(Some(Duration::from_secs(30)))
                .tcp_nodelay(true)
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
                Box::pin(async move {
                    let response = response.await;
                    drop(permit);
                    response
                })
            }
            Err(error) => {
                let response = error.to_grpc_status().into_http();
                Box::pin(async move { Ok(response) })
            }
        }
    }
}
