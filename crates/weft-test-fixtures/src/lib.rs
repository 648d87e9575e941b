//! A hand-made trace and what its services logged, in OTLP: three spans of two services (an
//! HTTP server span with an error, a database client span with a link, the database's server
//! span) with every attribute value type, an event and trace flags; and log records on a span,
//! on an unknown span of the trace, and outside any trace. The unit tests of the processors,
//! the query role and the API share it, and the API's golden files are its answers.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};

/// The trace's start: 2026-11-21T10:00:00Z.
pub const BASE: u64 = 1_795_255_200_000_000_000;
/// The trace's ID.
pub const TRACE: [u8; 16] = [
    0x69, 0x20, 0x37, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
];

fn value(value: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

fn attribute(key: &str, value_of: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value(value_of),
        key_strindex: 0,
    }
}

fn text(key: &str, text: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(text.into()))
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![text("service.name", service), text("host.name", "host-1")],
        dropped_attributes_count: 0,
        entity_refs: vec![],
    })
}

/// The fixture's span IDs: 1 (root), 2 (query client), 3 (database).
pub fn span_id(last: u8) -> Vec<u8> {
    vec![0, 0, 0, 0, 0, 0, 0, last]
}

/// The trace: root `GET /orders/{id}` on `orders`, `SELECT orders` under it, `orders-db.Query`
/// under that on `orders-db`.
pub fn fixture() -> ExportTraceServiceRequest {
    let root = Span {
        trace_id: TRACE.to_vec(),
        span_id: span_id(1),
        trace_state: "vendor=1".into(),
        name: "GET /orders/{id}".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: BASE,
        end_time_unix_nano: BASE + 250_000_000,
        attributes: vec![
            text("http.request.method", "GET"),
            attribute("http.response.status_code", any_value::Value::IntValue(500)),
            attribute("weft.ratio", any_value::Value::DoubleValue(0.25)),
            attribute("weft.cached", any_value::Value::BoolValue(false)),
            attribute("weft.raw", any_value::Value::BytesValue(vec![0xde, 0xad])),
            attribute(
                "weft.tags",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![
                        value(any_value::Value::StringValue("a".into())).unwrap(),
                        value(any_value::Value::IntValue(2)).unwrap(),
                    ],
                }),
            ),
            attribute(
                "weft.map",
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![text("inner", "x")],
                }),
            ),
            text("order.id", "ORD-1"),
        ],
        events: vec![span::Event {
            time_unix_nano: BASE + 200_000_000,
            name: "exception".into(),
            attributes: vec![
                text("exception.type", "ValueError"),
                text("exception.message", "order 1 not found"),
            ],
            dropped_attributes_count: 0,
        }],
        status: Some(Status {
            message: "order lookup failed".into(),
            code: status::StatusCode::Error as i32,
        }),
        flags: 0x301,
        ..Span::default()
    };
    let client = Span {
        trace_id: TRACE.to_vec(),
        span_id: span_id(2),
        parent_span_id: span_id(1),
        name: "SELECT orders".into(),
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: BASE + 10_000_000,
        end_time_unix_nano: BASE + 60_000_000,
        attributes: vec![text("db.system.name", "postgresql")],
        links: vec![span::Link {
            trace_id: TRACE.to_vec(),
            span_id: span_id(1),
            attributes: vec![text("link.reason", "retry")],
            ..span::Link::default()
        }],
        flags: 0x301,
        ..Span::default()
    };
    let database = Span {
        trace_id: TRACE.to_vec(),
        span_id: span_id(3),
        parent_span_id: span_id(2),
        name: "orders-db.Query".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: BASE + 12_000_000,
        end_time_unix_nano: BASE + 58_000_000,
        status: Some(Status {
            message: String::new(),
            code: status::StatusCode::Ok as i32,
        }),
        flags: 0x301,
        ..Span::default()
    };
    let scope = |spans| ScopeSpans {
        scope: Some(InstrumentationScope {
            name: "weft.test".into(),
            version: "1.0".into(),
            ..InstrumentationScope::default()
        }),
        spans,
        schema_url: String::new(),
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: resource("orders"),
                scope_spans: vec![scope(vec![root, client])],
                schema_url: String::new(),
            },
            ResourceSpans {
                resource: resource("orders-db"),
                scope_spans: vec![scope(vec![database])],
                schema_url: String::new(),
            },
        ],
    }
}

/// What the fixture's services logged: on the query span, under the trace with a span
/// ID the trace does not have (so on the root), and outside any trace.
pub fn log_fixture() -> weft_codec::ExportLogsServiceRequest {
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    let record = |time: u64, severity: i32, text_of_severity: &str, body: &str| LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: time + 1_000,
        severity_number: severity,
        severity_text: text_of_severity.into(),
        body: value(any_value::Value::StringValue(body.into())),
        ..LogRecord::default()
    };
    let on_query = LogRecord {
        trace_id: TRACE.to_vec(),
        span_id: span_id(2),
        attributes: vec![text("db.statement", "SELECT * FROM orders WHERE id = ?")],
        ..record(BASE + 15_000_000, 13, "WARN", "slow query took 120 ms")
    };
    let unknown_span = LogRecord {
        trace_id: TRACE.to_vec(),
        span_id: span_id(9),
        ..record(BASE + 1_000_000, 9, "", "request received")
    };
    let outside = LogRecord {
        attributes: vec![attribute("pool.idle", any_value::Value::IntValue(12))],
        ..record(BASE + 2_000_000, 9, "INFO", "heartbeat: pool healthy")
    };
    weft_codec::ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource("orders"),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "orders.http".into(),
                    version: "2.1.0".into(),
                    ..InstrumentationScope::default()
                }),
                log_records: vec![on_query, unknown_span, outside],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The fixture's trace ID in hex.
pub fn trace_hex() -> String {
    hex_of(&TRACE)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
