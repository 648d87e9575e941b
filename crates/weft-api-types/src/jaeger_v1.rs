//! The answers of Jaeger's original query API (`/api`), as jaeger-query's HTTP handlers shape
//! them: every answer is an envelope `{data, total, limit, offset, errors}`, traces in Jaeger's
//! UI model (spans, processes, references, tags, logs). The golden files pin the shapes.

use serde::{Deserialize, Serialize};

/// jaeger-query's envelope. `limit` and `offset` are always 0, as jaeger-query sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
    /// `None` (JSON `null`) when nothing went wrong.
    pub errors: Option<Vec<StructuredError>>,
}

impl<T> Envelope<T> {
    pub fn of(data: T, total: usize) -> Self {
        Envelope {
            data,
            total: total as u64,
            limit: 0,
            offset: 0,
            errors: None,
        }
    }
}

/// An error of the envelope: a failed request's (with its HTTP `code`), or a trace ID asked
/// for and not found (with its `traceID`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuredError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    pub msg: String,
    #[serde(rename = "traceID", default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// `GET /api/operations`: one entry per operation and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    pub span_kind: String,
}

/// `GET /api/dependencies`: a service-graph link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyLink {
    pub parent: String,
    pub child: String,
    pub call_count: u64,
}

/// A trace in Jaeger's UI model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    pub spans: Vec<Span>,
    /// By process ID (`p1`, `p2`, …): one per distinct resource.
    pub processes: std::collections::BTreeMap<String, Process>,
    /// `None` (JSON `null`) unless the trace was cut.
    pub warnings: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    pub service_name: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
    /// The W3C trace flags.
    pub flags: u32,
    pub operation_name: String,
    pub references: Vec<Reference>,
    /// Microseconds since the epoch.
    pub start_time: u64,
    /// Microseconds.
    pub duration: u64,
    pub tags: Vec<Tag>,
    pub logs: Vec<Log>,
    #[serde(rename = "processID")]
    pub process_id: String,
    pub warnings: Option<Vec<String>>,
}

/// `CHILD_OF` (the parent) or `FOLLOWS_FROM` (a link).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    pub ref_type: String,
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
}

/// A typed key-value: `type` is `string`, `bool`, `int64`, `float64` or `binary` (base64).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: serde_json::Value,
}

/// A span log (an event, or a log record of the span): microseconds and fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Log {
    pub timestamp: u64,
    pub fields: Vec<Tag>,
}

/// `GET /api/metrics/{latencies,calls,errors}`: a bare `MetricFamily`, as jaeger-query's
/// metrics reader answers (no envelope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricFamily {
    pub name: String,
    /// `GAUGE`.
    #[serde(rename = "type")]
    pub kind: String,
    pub help: String,
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    pub labels: Vec<Label>,
    pub metric_points: Vec<MetricPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricPoint {
    pub gauge_value: GaugeValue,
    /// RFC 3339 with milliseconds.
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GaugeValue {
    /// A number, or the string `"NaN"` for a point without data (as protobuf JSON writes it).
    pub double_value: serde_json::Value,
}
