use std::sync::Arc;

use crate::{AttributeValue, InstrumentationScope, KeyValue, Resource, SpanId, TraceId};

/// One log record, as the OpenTelemetry log data model defines it, with the resource's
/// `service.name` derived once at conversion like [`crate::Span::service_name`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// When the event happened; OTLP's `time_unix_nano`, or the observed time when the
    /// source sent none (the data model's rule for ordering records).
    pub time_unix_nanos: u64,
    /// When the collecting SDK or agent saw it; 0 when not sent.
    pub observed_time_unix_nanos: u64,
    /// `None` for a record logged outside any trace (or with an all-zero ID, which OTLP defines
    /// as absent).
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    /// OTLP's 1–24 scale (1–4 TRACE … 21–24 FATAL); 0 is unspecified.
    pub severity_number: u8,
    /// The source's own level name (`WARNING`, `Error` …), verbatim.
    pub severity_text: String,
    pub body: AttributeValue,
    pub attributes: Vec<KeyValue>,
    pub dropped_attributes_count: u32,
    /// W3C trace flags in the low byte.
    pub flags: u32,
    /// OTLP's `event_name`: set when the record is a named event.
    pub event_name: String,
    pub resource: Arc<Resource>,
    pub scope: Arc<InstrumentationScope>,
    /// `service.name` of the resource, or `unknown_service`.
    pub service_name: String,
}

impl LogRecord {
    /// The body as text: a string body as it is, anything else rendered, so text search and
    /// Jaeger's string fields see every record.
    pub fn body_text(&self) -> String {
        match &self.body {
            AttributeValue::String(text) => text.clone(),
            AttributeValue::Empty => String::new(),
            other => {
                let mut text = String::new();
                render_nested(other, &mut text);
                text
            }
        }
    }

    /// The severity's short name (`INFO`, `ERROR` …) from its number, for records whose source
    /// sent no text.
    pub fn severity_name(&self) -> &str {
        if !self.severity_text.is_empty() {
            return &self.severity_text;
        }
        severity_name_of(self.severity_number)
    }
}

/// The OpenTelemetry short name of a severity number's range.
pub fn severity_name_of(severity_number: u8) -> &'static str {
    match severity_number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "UNSPECIFIED",
    }
}

/// The lowest severity number of a level name (`warn` → 13), case-insensitive; for queries
/// like "this level or worse".
pub fn severity_floor_of(name: &str) -> Option<u8> {
    match name.to_ascii_uppercase().as_str() {
        "TRACE" => Some(1),
        "DEBUG" => Some(5),
        "INFO" => Some(9),
        "WARN" | "WARNING" => Some(13),
        "ERROR" => Some(17),
        "FATAL" | "CRITICAL" => Some(21),
        _ => None,
    }
}

/// A structured body as JSON-like text: `{"user": 42, "tags": ["a", "b"]}`.
fn render_nested(value: &AttributeValue, out: &mut String) {
    use std::fmt::Write;
    match value {
        AttributeValue::Empty => out.push_str("null"),
        AttributeValue::String(text) => {
            let _ = write!(out, "{text:?}");
        }
        AttributeValue::Bool(flag) => {
            let _ = write!(out, "{flag}");
        }
        AttributeValue::Int(number) => {
            let _ = write!(out, "{number}");
        }
        AttributeValue::Double(number) => {
            let _ = write!(out, "{number}");
        }
        AttributeValue::Bytes(bytes) => {
            out.push('"');
            for byte in bytes {
                let _ = write!(out, "{byte:02x}");
            }
            out.push('"');
        }
        AttributeValue::Array(values) => {
            out.push('[');
            for (index, value) in values.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                render_nested(value, out);
            }
            out.push(']');
        }
        AttributeValue::Map(entries) => {
            out.push('{');
            for (index, entry) in entries.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{:?}: ", entry.key);
                render_nested(&entry.value, out);
            }
            out.push('}');
        }
    }
}
