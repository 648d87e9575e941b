use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use prost::Message;
use tokio::net::TcpListener;
use weft_codec::{decode_otlp_json, decode_otlp_logs_json, decode_zipkin_json, otlp_from_spans};
use weft_model::ErrorCode;

use crate::compression::decompress_body;
use crate::grpc::{export_response, logs_export_response};
use crate::ingestor::Signal;
use crate::{http_status, ExportOutcome, IngestError, Ingestor, Receiver, ShutdownSignal};

const OTLP_HTTP: &str = "otlp_http";
/// The logs route's counters are kept apart, so spans and log records never add up.
const OTLP_HTTP_LOGS: &str = "otlp_http_logs";
const ZIPKIN: &str = "zipkin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OtlpFormat {
    Protobuf,
    Json,
}

impl OtlpFormat {
    fn content_type(self) -> &'static str {
        match self {
            OtlpFormat::Protobuf => "application/x-protobuf",
            OtlpFormat::Json => "application/json",
        }
    }
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

/// An error as an OTLP/HTTP response: a `google.rpc.Status` in the request's format, and
/// `Retry-After` on retryable errors as the OTLP spec's throttling rules expect.
fn otlp_error_response(error: &IngestError, format: OtlpFormat) -> Response {
    let grpc_code = crate::grpc_code(error.code) as i32;
    let body = match format {
        OtlpFormat::Protobuf => tonic_types::pb::Status {
            code: grpc_code,
            message: error.message.clone(),
            details: Vec::new(),
        }
        .encode_to_vec(),
        OtlpFormat::Json => serde_json::to_vec(&serde_json::json!({
            "code": grpc_code,
            "message": error.message,
        }))
        .expect("a json literal serializes"),
    };
    with_retry_after(
        (
            http_status(error.code),
            [(CONTENT_TYPE, format.content_type())],
            body,
        )
            .into_response(),
        error,
    )
}

fn with_retry_after(mut response: Response, error: &IngestError) -> Response {
    if let Some(delay) = error.retry_after {
        let seconds = delay.as_secs().max(1).to_string();
        response.headers_mut().insert(
            RETRY_AFTER,
            HeaderValue::from_str(&seconds).expect("digits are a valid header"),
        );
    }
    response
}

/// The proto3 JSON mapping writes int64 as a string (`"rejectedSpans":"3"`); the generated
/// serde code writes a number, so this response is written out by hand.
fn export_response_json(signal: Signal, outcome: &ExportOutcome) -> Vec<u8> {
    let partial = outcome.rejected_spans > 0 || !outcome.message.is_empty();
    let rejected_field = match signal {
        Signal::Spans => "rejectedSpans",
        Signal::Logs => "rejectedLogRecords",
    };
    let body = if partial {
        serde_json::json!({
            "partialSuccess": {
                rejected_field: outcome.rejected_spans.to_string(),
                "errorMessage": outcome.message,
            }
        })
    } else {
        serde_json::json!({})
    };
    serde_json::to_vec(&body).expect("a json literal serializes")
}

/// Reads the whole body, refusing more than `max_bytes` (checked against Content-Length first,
/// so an honest oversized request is refused before any byte is read), then decompresses it.
async fn read_body(
    request: Request,
    max_bytes: usize,
    timeout: std::time::Duration,
) -> Result<bytes::Bytes, IngestError> {
    let too_large = || {
        IngestError::new(
            ErrorCode::PayloadTooLarge,
            format!("request body exceeds the limit of {max_bytes} bytes"),
        )
    };
    let headers = request.headers().clone();
    let declared_length = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > max_bytes as u64) {
        return Err(too_large());
    }
    let body = tokio::time::timeout(
        timeout,
        axum::body::to_bytes(request.into_body(), max_bytes),
    )
    .await
    .map_err(|_| {
        IngestError::new(
            ErrorCode::RequestTimeout,
            format!(
                "request body not received within {}s",
                timeout.as_secs_f64()
            ),
        )
    })?
    .map_err(|error| {
        if std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
        {
            too_large()
        } else {
            IngestError::new(
                ErrorCode::InvalidArgument,
                format!("failed to read request body: {error}"),
            )
        }
    })?;
    let encoding = headers
        .get(CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok());
    decompress_body(encoding, body, max_bytes)
}

/// A bound HTTP listener and the routes it serves: the OTLP/HTTP and Zipkin receivers.
pub struct HttpReceiver {
    name: &'static str,
    listener: TcpListener,
    router: Router,
}

impl HttpReceiver {
    /// Binds `address` serving `routes`: (path, handler, the receiver name and signal its
    /// counters are kept under).
    async fn bind(
        name: &'static str,
        address: SocketAddr,
        routes: Vec<(
            &str,
            axum::routing::MethodRouter<Ingestor>,
            &'static str,
            Signal,
        )>,
        ingestor: Ingestor,
    ) -> std::io::Result<HttpReceiver> {
        let mut router = Router::new();
        for (path, route, receiver, signal) in routes {
            ingestor.register_receiver(receiver, signal);
            router = router.route(path, route);
        }
        Ok(HttpReceiver {
            name,
            listener: TcpListener::bind(address).await?,
            router: router.with_state(ingestor),
        })
    }
}

impl Receiver for HttpReceiver {
    fn name(&self) -> &'static str {
        self.name
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
            axum::serve(self.listener, self.router)
                .with_graceful_shutdown(shutdown)
                .await
        })
    }
}

/// OTLP/HTTP `POST /v1/traces` and `POST /v1/logs` on one port, as OTLP's 4318: binary
/// protobuf or JSON, optionally gzip- or zstd-compressed.
pub struct OtlpHttpReceiver;

impl OtlpHttpReceiver {
    pub async fn bind(address: SocketAddr, ingestor: Ingestor) -> std::io::Result<HttpReceiver> {
        HttpReceiver::bind(
            OTLP_HTTP,
            address,
            vec![
                (
                    "/v1/traces",
                    post(otlp_http_traces),
                    OTLP_HTTP,
                    Signal::Spans,
                ),
                (
                    "/v1/logs",
                    post(otlp_http_logs),
                    OTLP_HTTP_LOGS,
                    Signal::Logs,
                ),
            ],
            ingestor,
        )
        .await
    }
}

async fn otlp_http_traces(State(ingestor): State<Ingestor>, request: Request) -> Response {
    otlp_http_export(ingestor, request, Signal::Spans).await
}

async fn otlp_http_logs(State(ingestor): State<Ingestor>, request: Request) -> Response {
    otlp_http_export(ingestor, request, Signal::Logs).await
}

async fn otlp_http_export(ingestor: Ingestor, request: Request, signal: Signal) -> Response {
    let receiver = match signal {
        Signal::Spans => OTLP_HTTP,
        Signal::Logs => OTLP_HTTP_LOGS,
    };
    let format = match media_type(request.headers()).as_deref() {
        Some("application/x-protobuf") | Some("application/protobuf") => OtlpFormat::Protobuf,
        Some("application/json") => OtlpFormat::Json,
        other => {
            ingestor.count_request(receiver, "invalid");
            let error = IngestError::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "unsupported content-type {:?}: use application/x-protobuf or application/json",
                    other.unwrap_or("")
                ),
            );
            return otlp_error_response(&error, OtlpFormat::Json);
        }
    };
    let _permit = match ingestor.admit(receiver) {
        Ok(permit) => permit,
        Err(error) => return otlp_error_response(&error, format),
    };
    let result = async {
        let body = read_body(
            request,
            ingestor.config().max_request_bytes,
            ingestor.config().receive_timeout,
        )
        .await?;
        let invalid = |error| ingestor.undecodable(receiver, error);
        match (signal, format) {
            (Signal::Spans, OtlpFormat::Protobuf) => ingestor.export_protobuf(receiver, body).await,
            (Signal::Spans, OtlpFormat::Json) => {
                let export_request = decode_otlp_json(&body).map_err(invalid)?;
                ingestor
                    .export(receiver, export_request, None, (0, String::new()))
                    .await
            }
            (Signal::Logs, OtlpFormat::Protobuf) => {
                ingestor.export_logs_protobuf(receiver, body).await
            }
            (Signal::Logs, OtlpFormat::Json) => {
                let export_request = decode_otlp_logs_json(&body).map_err(invalid)?;
                ingestor.export_logs(receiver, export_request, None).await
            }
        }
    }
    .await;
    match result {
        Ok(outcome) => {
            let body = match (format, signal) {
                (OtlpFormat::Protobuf, Signal::Spans) => export_response(&outcome).encode_to_vec(),
                (OtlpFormat::Protobuf, Signal::Logs) => {
                    logs_export_response(&outcome).encode_to_vec()
                }
                (OtlpFormat::Json, signal) => export_response_json(signal, &outcome),
            };
            (
                StatusCode::OK,
                [(CONTENT_TYPE, format.content_type())],
                body,
            )
                .into_response()
        }
        Err(error) => otlp_error_response(&error, format),
    }
}

/// Zipkin v2 `POST /api/v2/spans` (JSON), for instrumentation that still speaks Zipkin.
pub struct ZipkinReceiver;

impl ZipkinReceiver {
    pub async fn bind(address: SocketAddr, ingestor: Ingestor) -> std::io::Result<HttpReceiver> {
        HttpReceiver::bind(
            ZIPKIN,
            address,
            vec![("/api/v2/spans", post(zipkin_spans), ZIPKIN, Signal::Spans)],
            ingestor,
        )
        .await
    }
}

/// Zipkin servers answer errors in plain text.
fn zipkin_error_response(error: &IngestError) -> Response {
    with_retry_after(
        (
            http_status(error.code),
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            error.message.clone(),
        )
            .into_response(),
        error,
    )
}

async fn zipkin_spans(State(ingestor): State<Ingestor>, request: Request) -> Response {
    match media_type(request.headers()).as_deref() {
        None | Some("application/json") => {}
        Some(other) => {
            ingestor.count_request(ZIPKIN, "invalid");
            return zipkin_error_response(&IngestError::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "unsupported content-type {other:?}: weft takes zipkin v2 as application/json"
                ),
            ));
        }
    }
    let _permit = match ingestor.admit(ZIPKIN) {
        Ok(permit) => permit,
        Err(error) => return zipkin_error_response(&error),
    };
    let result = async {
        let body = read_body(
            request,
            ingestor.config().max_request_bytes,
            ingestor.config().receive_timeout,
        )
        .await?;
        let converted =
            decode_zipkin_json(&body).map_err(|error| ingestor.undecodable(ZIPKIN, error))?;
        let reason = converted
            .first_invalid_reason
            .map(|reason| reason.to_string())
            .unwrap_or_default();
        ingestor
            .export(
                ZIPKIN,
                otlp_from_spans(&converted.spans),
                None,
                (converted.invalid_spans, reason),
            )
            .await
    }
    .await;
    match result {
        Ok(outcome) if outcome.rejected_spans == 0 => StatusCode::ACCEPTED.into_response(),
        // Zipkin has no partial success; say what happened in the body of the 202.
        Ok(outcome) => (
            StatusCode::ACCEPTED,
            [(CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&serde_json::json!({
                "acceptedSpans": outcome.accepted_spans,
                "rejectedSpans": outcome.rejected_spans,
                "message": outcome.message,
            }))
            .expect("a json literal serializes"),
        )
            .into_response(),
        Err(error) => zipkin_error_response(&error),
    }
}
