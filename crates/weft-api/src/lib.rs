//! The HTTP API port: health, Prometheus metrics, Weft's query API (`/api/v1`), the
//! Jaeger-compatible API (`/api`, `/api/v3`), metrics, sampling and diagnostics endpoints, and
//! the web UI's files.
//!
//! Architecture invariant: only this crate and `weft-ingest` know HTTP; the answers' shapes are
//! pinned by golden files.

pub mod api;
pub mod api_errors;
pub mod diagnostics_api;
mod distinct;
pub mod jaeger;
pub mod jaeger_v3;
pub mod logs_api;
pub mod metrics_api;
pub mod params;
pub mod query_admission;
pub mod query_api;
pub mod sampling_api;

#[cfg(test)]
mod openapi_tests;
#[cfg(test)]
mod tests;
