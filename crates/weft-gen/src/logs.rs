//! The log records a generated batch's services would write: derived from the spans alone, so
//! the traces stay exactly what the seed makes them, with or without logs.

use weft_codec::otlp_proto::collector::logs::v1::ExportLogsServiceRequest;
use weft_codec::otlp_proto::common::v1::{any_value::Value, AnyValue, KeyValue};
use weft_codec::otlp_proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weft_codec::otlp_proto::trace::v1::{status::StatusCode, Span};
use weft_codec::ExportTraceServiceRequest;

/// Database calls at least this slow log a warning, as an ORM's slow-query log would.
const SLOW_QUERY_NANOS: u64 = 500_000_000;

fn text(value: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::StringValue(value.into())),
    })
}

fn attribute(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: text(value),
        key_strindex: 0,
    }
}

fn string_attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(
            |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                Value::StringValue(text) => Some(text.as_str()),
                _ => None,
            },
        )
}

/// Severity numbers of OTLP's scale.
const INFO: i32 = 9;
const WARN: i32 = 13;
const ERROR: i32 = 17;

fn record(span: Option<&Span>, time: u64, severity: (i32, &str), body: String) -> LogRecord {
    LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: time,
        severity_number: severity.0,
        severity_text: severity.1.to_owned(),
        body: text(body),
        trace_id: span.map(|span| span.trace_id.clone()).unwrap_or_default(),
        span_id: span.map(|span| span.span_id.clone()).unwrap_or_default(),
        flags: span.map_or(0, |_| 1),
        ..LogRecord::default()
    }
}

/// The records of one span: an INFO line when a request is handled (root spans), an ERROR
/// with the exception when it fails, a WARN for a slow query.
fn records_of(span: &Span, records: &mut Vec<LogRecord>) {
    let duration_ms = span
        .end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano)
        / 1_000_000;
    if span.parent_span_id.is_empty() {
        records.push(record(
            Some(span),
            span.end_time_unix_nano,
            (INFO, "INFO"),
            format!("request handled: {} in {duration_ms} ms", span.name),
        ));
    }
    if span
        .status
        .as_ref()
        .is_some_and(|status| status.code == StatusCode::Error as i32)
    {
        let message = span
            .status
            .as_ref()
            .map(|status| status.message.as_str())
            .filter(|message| !message.is_empty())
            .unwrap_or("operation failed");
        let mut error = record(
            Some(span),
            span.end_time_unix_nano,
            (ERROR, "ERROR"),
            format!("{} failed: {message}", span.name),
        );
        error
            .attributes
            .push(attribute("code.function", span.name.clone()));
        let exception_type = span
            .events
            .iter()
            .flat_map(|event| &event.attributes)
            .find(|attribute| attribute.key == "exception.type")
            .and_then(|attribute| attribute.value.clone());
        if let Some(exception_type) = exception_type {
            error.attributes.push(KeyValue {
                key: "exception.type".to_owned(),
                value: Some(exception_type),
                key_strindex: 0,
            });
        }
        records.push(error);
    }
    if let Some(statement) =
        string_attribute(span, "db.statement").or_else(|| string_attribute(span, "db.query.text"))
    {
        if span
            .end_time_unix_nano
            .saturating_sub(span.start_time_unix_nano)
            >= SLOW_QUERY_NANOS
        {
            let mut slow = record(
                Some(span),
                span.end_time_unix_nano,
                (WARN, "WARN"),
                format!("slow query took {duration_ms} ms"),
            );
            slow.attributes.push(attribute("db.statement", statement));
            records.push(slow);
        }
    }
}

/// What the services of `request` logged while serving it, plus one heartbeat per service
/// instance that belongs to no trace. Resources are the spans' own.
pub fn logs_for_request(request: &ExportTraceServiceRequest) -> ExportLogsServiceRequest {
    let mut logs = ExportLogsServiceRequest::default();
    for resource_spans in &request.resource_spans {
        let mut records = Vec::new();
        let mut latest = 0u64;
        let mut scope = None;
        for scope_spans in &resource_spans.scope_spans {
            scope = scope.or_else(|| scope_spans.scope.clone());
            for span in &scope_spans.spans {
                latest = latest.max(span.end_time_unix_nano);
                records_of(span, &mut records);
            }
        }
        if latest == 0 {
            continue;
        }
        let mut heartbeat = record(
            None,
            latest,
            (INFO, "INFO"),
            format!(
                "heartbeat: {} requests served since the last one",
                records.len()
            ),
        );
        heartbeat.attributes.push(attribute("log.source", "health"));
        records.push(heartbeat);
        logs.resource_logs.push(ResourceLogs {
            resource: resource_spans.resource.clone(),
            scope_logs: vec![ScopeLogs {
                scope,
                log_records: records,
                schema_url: String::new(),
            }],
            schema_url: resource_spans.schema_url.clone(),
        });
    }
    logs
}
