use std::sync::Arc;

use crate::{SpanId, TraceId};

/// An attribute value of any type OTLP's `AnyValue` can carry.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// An `AnyValue` with no value set; OTLP allows it and Weft keeps it.
    Empty,
    String(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<AttributeValue>),
    Map(Vec<KeyValue>),
}

impl AttributeValue {
    /// The value as text if it is a string; business keys and derived fields use this.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// A textual rendering for indexing (business keys may be sent as ints).
    pub fn to_index_string(&self) -> Option<String> {
        match self {
            AttributeValue::String(text) => Some(text.clone()),
            AttributeValue::Int(number) => Some(number.to_string()),
            AttributeValue::Bool(flag) => Some(flag.to_string()),
            AttributeValue::Double(number) => Some(number.to_string()),
            _ => None,
        }
    }
}

/// One attribute. Kept as an ordered list rather than a map: OTLP allows (and clients send)
/// duplicate keys, and a lossless round trip must return them as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub value: AttributeValue,
}

impl KeyValue {
    pub fn new(key: impl Into<String>, value: AttributeValue) -> Self {
        KeyValue {
            key: key.into(),
            value,
        }
    }
}

/// Looks up the first attribute with `key`.
pub fn find_attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AttributeValue> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .map(|attribute| &attribute.value)
}

/// Whether `text` contains any of `words`, ignoring ASCII case; empty words match nothing.
/// Keyword rules (exemplars, sampling) use it on the per-span path, so it does not allocate.
pub fn contains_any_word_ignoring_ascii_case(text: &str, words: &[String]) -> bool {
    words.iter().any(|word| {
        !word.is_empty()
            && text
                .as_bytes()
                .windows(word.len())
                .any(|window| window.eq_ignore_ascii_case(word.as_bytes()))
    })
}

/// The entity that produced spans (OTLP `Resource`), shared by all spans of one batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource {
    pub attributes: Vec<KeyValue>,
    pub dropped_attributes_count: u32,
    /// The `schema_url` of the enclosing OTLP `ResourceSpans`.
    pub schema_url: String,
    /// OTLP's (development-status) entity references, kept verbatim.
    pub entity_refs: Vec<EntityRef>,
}

/// A reference to an entity described by some of the resource's attributes (OTLP `EntityRef`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntityRef {
    pub schema_url: String,
    pub entity_type: String,
    pub id_keys: Vec<String>,
    pub description_keys: Vec<String>,
}

/// The instrumentation library that produced spans (OTLP `InstrumentationScope`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstrumentationScope {
    pub name: String,
    pub version: String,
    pub attributes: Vec<KeyValue>,
    pub dropped_attributes_count: u32,
    pub schema_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
    /// A kind number this version of Weft does not know; kept so it round-trips.
    Other(i32),
}

impl SpanKind {
    pub fn from_otlp(value: i32) -> Self {
        match value {
            0 => SpanKind::Unspecified,
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            other => SpanKind::Other(other),
        }
    }

    pub fn to_otlp(self) -> i32 {
        match self {
            SpanKind::Unspecified => 0,
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
            SpanKind::Other(other) => other,
        }
    }

    /// Lower-case name as Jaeger and most UIs print it.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
            SpanKind::Other(_) => "unknown",
        }
    }

    /// The OTLP enum name (`SPAN_KIND_SERVER`), as the spanmetrics connector labels series.
    pub fn otlp_name(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "SPAN_KIND_UNSPECIFIED",
            SpanKind::Internal => "SPAN_KIND_INTERNAL",
            SpanKind::Server => "SPAN_KIND_SERVER",
            SpanKind::Client => "SPAN_KIND_CLIENT",
            SpanKind::Producer => "SPAN_KIND_PRODUCER",
            SpanKind::Consumer => "SPAN_KIND_CONSUMER",
            SpanKind::Other(_) => "SPAN_KIND_UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
    /// A status number this version of Weft does not know; kept so it round-trips.
    Other(i32),
}

impl StatusCode {
    pub fn from_otlp(value: i32) -> Self {
        match value {
            0 => StatusCode::Unset,
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            other => StatusCode::Other(other),
        }
    }

    pub fn to_otlp(self) -> i32 {
        match self {
            StatusCode::Unset => 0,
            StatusCode::Ok => 1,
            StatusCode::Error => 2,
            StatusCode::Other(other) => other,
        }
    }

    /// The OTLP enum name (`STATUS_CODE_ERROR`), as the spanmetrics connector labels series.
    pub fn otlp_name(self) -> &'static str {
        match self {
            StatusCode::Unset => "STATUS_CODE_UNSET",
            StatusCode::Ok => "STATUS_CODE_OK",
            StatusCode::Error => "STATUS_CODE_ERROR",
            StatusCode::Other(_) => "STATUS_CODE_UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    pub code: StatusCode,
    pub message: String,
}

/// A timestamped annotation on a span (OTLP `Span.Event`), e.g. an exception with its stack.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    pub time_unix_nanos: u64,
    pub name: String,
    pub attributes: Vec<KeyValue>,
    pub dropped_attributes_count: u32,
}

/// A reference from a span to a span of this or another trace (OTLP `Span.Link`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Link {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_state: String,
    pub attributes: Vec<KeyValue>,
    pub dropped_attributes_count: u32,
    pub flags: u32,
}

/// A configured business attribute (such as `order.id`) promoted to its own indexed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessKey {
    /// The attribute name it was found under.
    pub name: String,
    pub value: String,
}

/// Weft's flat span: every OTLP field, plus fields derived once at ingest.
///
/// Resource and scope are shared (`Arc`) by all spans of a batch: a batch of 500 spans from one
/// process carries one copy of its 30 resource attributes, not 500.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    /// W3C `tracestate`, verbatim.
    pub trace_state: String,
    /// W3C trace flags in the low byte, OTLP's `SpanFlags` bits above.
    pub flags: u32,
    pub name: String,
    pub kind: SpanKind,
    pub start_time_unix_nanos: u64,
    /// Kept as sent rather than as a duration, so an end before the start survives a round trip.
    pub end_time_unix_nanos: u64,
    pub attributes: Vec<KeyValue>,
    pub dropped_attributes_count: u32,
    pub events: Vec<Event>,
    pub dropped_events_count: u32,
    pub links: Vec<Link>,
    pub dropped_links_count: u32,
    pub status: Status,
    pub resource: Arc<Resource>,
    pub scope: Arc<InstrumentationScope>,

    // Derived at conversion; never sent back to OTLP clients as attributes of their own.
    /// `service.name` of the resource, or `unknown_service` as the OpenTelemetry spec says.
    pub service_name: String,
    /// `host.name` of the resource, if any.
    pub host_name: Option<String>,
    /// `deployment.environment.name` (or the older `deployment.environment`).
    pub environment: Option<String>,
    /// `cloud.region`.
    pub region: Option<String>,
    /// Configured business attributes found on the span or its resource.
    pub business_keys: Vec<BusinessKey>,
}

impl Span {
    pub fn duration_nanos(&self) -> u64 {
        self.end_time_unix_nanos
            .saturating_sub(self.start_time_unix_nanos)
    }

    pub fn is_error(&self) -> bool {
        self.status.code == StatusCode::Error
    }

    pub fn attribute(&self, key: &str) -> Option<&AttributeValue> {
        find_attribute(&self.attributes, key)
    }

    pub fn resource_attribute(&self, key: &str) -> Option<&AttributeValue> {
        find_attribute(&self.resource.attributes, key)
    }
}
