//! The answers of Jaeger's API v3 (`/api/v3`) as the Jaeger UI reads them: protobuf JSON of
//! jaeger-idl's `api_v3` messages, so zero values (empty strings, zero counts) are left out.
//! Shapes are Jaeger's; the golden file `weft-api/src/golden/jaeger_v3_answers.txt` pins them.

use serde::{Deserialize, Serialize};

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// `GET /api/v3/services`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Services {
    pub services: Vec<String>,
}

/// `GET /api/v3/operations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operations {
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    /// Lower case; an unset kind is `internal`, as Jaeger stores it.
    pub span_kind: String,
}

/// `GET /api/v3/trace-summaries`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummaries {
    pub summaries: Vec<TraceSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSummary {
    pub trace_id: String,
    /// Left out when the root never arrived.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_service_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_operation_name: String,
    /// Unix nanoseconds as decimal strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_start_time_unix_nano: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_end_time_unix_nano: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub span_count: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_span_count: u64,
    pub services: Vec<ServiceSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSummary {
    pub name: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub span_count: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_span_count: u64,
}

/// `GET /api/v3/dependencies`: the service calls in a time range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dependencies {
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub parent: String,
    pub child: String,
    /// A uint64, so a decimal string in proto3 JSON.
    pub call_count: String,
}

/// `GET /api/v3/traces` and `/api/v3/traces/{id}`: OTLP/JSON `TracesData` under `result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Traces {
    pub result: serde_json::Value,
}

/// Every `/api/v3` error: `{"error": {"httpCode", "message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub http_code: u16,
    pub message: String,
}
