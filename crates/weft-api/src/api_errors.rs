//! Errors in the envelope of the API a path belongs to: Jaeger's v1 (`errors[0].msg`), its v3
//! (`error.message`) or Weft's own (`error.code`, `error.message`). One place, so a miss and a
//! shed query read alike to the client whatever produced them.

use axum::response::{IntoResponse, Response};

use crate::params::ApiError;

/// An error answered in the envelope of the API that `path` belongs to.
pub fn api_error_response(path: &str, error: ApiError) -> Response {
    if path.starts_with("/api/v3/") {
        crate::jaeger_v3::V3Error(error).into_response()
    } else if path.starts_with("/api/") && !path.starts_with("/api/v1/") {
        crate::jaeger::JaegerError(error).into_response()
    } else {
        error.into_response()
    }
}
