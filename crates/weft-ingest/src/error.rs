use std::time::Duration;

use weft_model::ErrorCode;

/// A request-level failure, with the code every surface maps the same way.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct IngestError {
    pub code: ErrorCode,
    pub message: String,
    /// For retryable errors: when the client should try again.
    pub retry_after: Option<Duration>,
}

impl IngestError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IngestError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn overloaded(message: impl Into<String>, retry_after: Duration) -> Self {
        IngestError {
            code: ErrorCode::ResourceExhausted,
            message: message.into(),
            retry_after: Some(retry_after),
        }
    }

    /// The gRPC status. Retryable errors carry `google.rpc.RetryInfo`, which OTLP clients
    /// require before they retry `RESOURCE_EXHAUSTED`.
    pub fn to_grpc_status(&self) -> tonic::Status {
        use tonic_types::{ErrorDetails, StatusExt};
        match self.retry_after {
            Some(delay) => tonic::Status::with_error_details(
                grpc_code(self.code),
                self.message.clone(),
                ErrorDetails::with_retry_info(Some(delay)),
            ),
            None => tonic::Status::new(grpc_code(self.code), self.message.clone()),
        }
    }
}

/// The HTTP status for an error code.
pub fn http_status(code: ErrorCode) -> http::StatusCode {
    match code {
        ErrorCode::InvalidArgument => http::StatusCode::BAD_REQUEST,
        ErrorCode::ResourceExhausted => http::StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::PayloadTooLarge => http::StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RequestTimeout => http::StatusCode::REQUEST_TIMEOUT,
        ErrorCode::UnsupportedMediaType => http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::NotFound => http::StatusCode::NOT_FOUND,
        ErrorCode::Unavailable => http::StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => http::StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Unimplemented => http::StatusCode::NOT_IMPLEMENTED,
    }
}

/// The gRPC code for an error code.
pub fn grpc_code(code: ErrorCode) -> tonic::Code {
    match code {
        ErrorCode::InvalidArgument | ErrorCode::UnsupportedMediaType => {
            tonic::Code::InvalidArgument
        }
        // gRPC reports oversized messages as RESOURCE_EXHAUSTED; without RetryInfo OTLP clients
        // do not retry them.
        ErrorCode::ResourceExhausted | ErrorCode::PayloadTooLarge => tonic::Code::ResourceExhausted,
        ErrorCode::NotFound => tonic::Code::NotFound,
        ErrorCode::RequestTimeout => tonic::Code::DeadlineExceeded,
        ErrorCode::Unavailable => tonic::Code::Unavailable,
        ErrorCode::Internal => tonic::Code::Internal,
        ErrorCode::Unimplemented => tonic::Code::Unimplemented,
    }
}
