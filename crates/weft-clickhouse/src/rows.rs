//! A span as a row of the `spans` table and back, losing nothing: typed attributes in parallel
//! arrays (arrays and maps as OTLP `AnyValue` bytes), the rest as OTLP protobuf parts. A log
//! record as a row of `logs` likewise: body and attributes as `AnyValue` bytes, resource and
//! scope as the span rows keep them, plus the text a search looks in.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use weft_codec::ConversionOptions;
use weft_model::{
    AttributeValue, KeyValue, LogRecord, Span, SpanId, SpanKind, Status, StatusCode, TraceId,
};

use weft_codec::attribute_value_type::{
    ARRAY as VALUE_ARRAY, BOOL as VALUE_BOOL, BYTES as VALUE_BYTES, DOUBLE as VALUE_DOUBLE,
    EMPTY as VALUE_EMPTY, INT as VALUE_INT, MAP as VALUE_MAP, STRING as VALUE_STRING,
};

/// One row of `spans`, its fields in [`crate::schema::SPAN_COLUMNS`] order.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct SpanRow {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// All zeros for a root span.
    pub parent_span_id: [u8; 8],
    /// Unix nanoseconds (`DateTime64(9)` or `Int64`: both an `i64` on the wire).
    pub start_time: i64,
    pub duration_nanos: u64,
    pub service_name: String,
    pub name: String,
    pub kind: i8,
    pub status_code: i8,
    pub status_message: String,
    pub trace_state: String,
    pub flags: u32,
    pub dropped_attributes_count: u32,
    #[serde(rename = "attributes.key")]
    pub attribute_keys: Vec<String>,
    #[serde(rename = "attributes.type")]
    pub attribute_types: Vec<i8>,
    #[serde(rename = "attributes.str")]
    pub attribute_strings: Vec<String>,
    #[serde(rename = "attributes.int")]
    pub attribute_ints: Vec<i64>,
    #[serde(rename = "attributes.double")]
    pub attribute_doubles: Vec<f64>,
    #[serde(rename = "attributes.bool")]
    pub attribute_bools: Vec<u8>,
    #[serde(rename = "attributes.bytes")]
    pub attribute_bytes: Vec<serde_bytes::ByteBuf>,
    /// The resource's scalar attributes as text, for search (see [`search_text`]).
    #[serde(rename = "resource_attributes.key")]
    pub resource_attribute_keys: Vec<String>,
    #[serde(rename = "resource_attributes.value")]
    pub resource_attribute_values: Vec<String>,
    /// The values of the span's business keys (derived at ingest).
    pub business_keys: Vec<String>,
    /// Events and links as an OTLP `Span` holding only those; empty when there are none.
    #[serde(with = "serde_bytes")]
    pub detail: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub resource: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub scope: Vec<u8>,
}

impl SpanRow {
    pub fn from_span(span: &Span) -> Self {
        let mut row = SpanRow {
            trace_id: *span.trace_id.as_bytes(),
            span_id: *span.span_id.as_bytes(),
            parent_span_id: span
                .parent_span_id
                .map(|parent| *parent.as_bytes())
                .unwrap_or_default(),
            start_time: i64::try_from(span.start_time_unix_nanos).unwrap_or(i64::MAX),
            duration_nanos: span.duration_nanos(),
            service_name: span.service_name.clone(),
            name: span.name.clone(),
            kind: i8::try_from(span.kind.to_otlp()).unwrap_or(0),
            status_code: i8::try_from(span.status.code.to_otlp()).unwrap_or(0),
            status_message: span.status.message.clone(),
            trace_state: span.trace_state.clone(),
            flags: span.flags,
            dropped_attributes_count: span.dropped_attributes_count,
            attribute_keys: Vec::with_capacity(span.attributes.len()),
            attribute_types: Vec::with_capacity(span.attributes.len()),
            attribute_strings: Vec::with_capacity(span.attributes.len()),
            attribute_ints: Vec::with_capacity(span.attributes.len()),
            attribute_doubles: Vec::with_capacity(span.attributes.len()),
            attribute_bools: Vec::with_capacity(span.attributes.len()),
            attribute_bytes: Vec::with_capacity(span.attributes.len()),
            resource_attribute_keys: Vec::new(),
            resource_attribute_values: Vec::new(),
            business_keys: span
                .business_keys
                .iter()
                .map(|key| key.value.clone())
                .collect(),
            detail: weft_codec::encode_span_detail(span).unwrap_or_default(),
            resource: weft_codec::encode_resource(&span.resource),
            scope: weft_codec::encode_scope(&span.scope),
        };
        for attribute in &span.attributes {
            row.push_attribute(attribute);
        }
        for attribute in &span.resource.attributes {
            if let Some(text) = search_text(&attribute.value) {
                row.resource_attribute_keys.push(attribute.key.clone());
                row.resource_attribute_values.push(text);
            }
        }
        row
    }

    /// Appends one attribute: its type, and its value in that type's column (the other
    /// columns hold their zero value, as the arrays stay parallel).
    fn push_attribute(&mut self, attribute: &KeyValue) {
        let (mut string, mut int, mut double, mut boolean, mut bytes) =
            (String::new(), 0, 0.0, false, Vec::new());
        let kind = match &attribute.value {
            AttributeValue::Empty => VALUE_EMPTY,
            AttributeValue::String(text) => {
                string = text.clone();
                VALUE_STRING
            }
            AttributeValue::Bool(flag) => {
                boolean = *flag;
                VALUE_BOOL
            }
            AttributeValue::Int(number) => {
                int = *number;
                VALUE_INT
            }
            AttributeValue::Double(number) => {
                double = *number;
                VALUE_DOUBLE
            }
            AttributeValue::Bytes(value) => {
                bytes = value.clone();
                VALUE_BYTES
            }
            AttributeValue::Array(_) => {
                bytes = weft_codec::encode_any_value(&attribute.value);
                VALUE_ARRAY
            }
            AttributeValue::Map(_) => {
                bytes = weft_codec::encode_any_value(&attribute.value);
                VALUE_MAP
            }
        };
        self.attribute_keys.push(attribute.key.clone());
        self.attribute_types.push(kind);
        self.attribute_strings.push(string);
        self.attribute_ints.push(int);
        self.attribute_doubles.push(double);
        self.attribute_bools.push(u8::from(boolean));
        self.attribute_bytes.push(serde_bytes::ByteBuf::from(bytes));
    }

    /// The span, without the fields derived from its resource and attributes (service name,
    /// host, business keys): [`spans_from_rows`] fills those for a whole answer at once.
    fn into_span(self) -> Result<Span, String> {
        let attribute_count = self.attribute_keys.len();
        let lengths = [
            self.attribute_types.len(),
            self.attribute_strings.len(),
            self.attribute_ints.len(),
            self.attribute_doubles.len(),
            self.attribute_bools.len(),
            self.attribute_bytes.len(),
        ];
        if lengths.iter().any(|length| *length != attribute_count) {
            return Err("attribute columns of different lengths".into());
        }
        let mut attributes = Vec::with_capacity(attribute_count);
        for index in 0..attribute_count {
            let value = match self.attribute_types[index] {
                VALUE_EMPTY => AttributeValue::Empty,
                VALUE_STRING => AttributeValue::String(self.attribute_strings[index].clone()),
                VALUE_BOOL => AttributeValue::Bool(self.attribute_bools[index] != 0),
                VALUE_INT => AttributeValue::Int(self.attribute_ints[index]),
                VALUE_DOUBLE => AttributeValue::Double(self.attribute_doubles[index]),
                VALUE_BYTES => AttributeValue::Bytes(self.attribute_bytes[index].to_vec()),
                VALUE_ARRAY | VALUE_MAP => {
                    weft_codec::decode_any_value(&self.attribute_bytes[index])
                        .map_err(|error| format!("attribute value: {error}"))?
                }
                other => return Err(format!("unknown attribute value type {other}")),
            };
            attributes.push(KeyValue::new(self.attribute_keys[index].clone(), value));
        }
        let start = u64::try_from(self.start_time)
            .map_err(|_| format!("negative start time {}", self.start_time))?;
        let mut span = Span {
            trace_id: TraceId::from_bytes(self.trace_id),
            span_id: SpanId::from_bytes(self.span_id),
            parent_span_id: (self.parent_span_id != [0; 8])
                .then(|| SpanId::from_bytes(self.parent_span_id)),
            trace_state: self.trace_state,
            flags: self.flags,
            name: self.name,
            kind: SpanKind::from_otlp(i32::from(self.kind)),
            start_time_unix_nanos: start,
            end_time_unix_nanos: start.saturating_add(self.duration_nanos),
            attributes,
            dropped_attributes_count: self.dropped_attributes_count,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Status {
                code: StatusCode::from_otlp(i32::from(self.status_code)),
                message: self.status_message,
            },
            resource: Arc::new(
                weft_codec::decode_resource(&self.resource)
                    .map_err(|error| format!("resource: {error}"))?,
            ),
            scope: Arc::new(
                weft_codec::decode_scope(&self.scope).map_err(|error| format!("scope: {error}"))?,
            ),
            service_name: String::new(),
            host_name: None,
            environment: None,
            region: None,
            business_keys: Vec::new(),
        };
        if !self.detail.is_empty() {
            weft_codec::decode_span_detail(&self.detail, &mut span)
                .map_err(|error| format!("span detail: {error}"))?;
        }
        Ok(span)
    }
}

/// A scalar attribute value as the text a search compares with what the user typed (the
/// spelling `weft_storage::attribute_value_matches` accepts for it); `None` for bytes, arrays,
/// maps and empty values, which searches never match.
pub fn search_text(value: &AttributeValue) -> Option<String> {
    match value {
        AttributeValue::String(text) => Some(text.clone()),
        AttributeValue::Bool(flag) => Some(flag.to_string()),
        AttributeValue::Int(number) => Some(number.to_string()),
        AttributeValue::Double(number) if number.is_finite() => Some(number.to_string()),
        _ => None,
    }
}

/// Rows read back as spans, with the derived fields filled as ingest fills them.
pub fn spans_from_rows(
    rows: Vec<SpanRow>,
    options: &ConversionOptions,
) -> Result<Vec<Span>, String> {
    let mut spans = rows
        .into_iter()
        .map(SpanRow::into_span)
        .collect::<Result<Vec<_>, _>>()?;
    weft_codec::fill_derived_fields(&mut spans, options);
    Ok(spans)
}

/// One row of `logs`, its fields in [`crate::schema::LOG_COLUMNS`] order.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct LogRow {
    pub time: i64,
    pub observed_time: i64,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub severity_number: u8,
    pub severity_text: String,
    pub service_name: String,
    pub body_text: String,
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    pub attribute_strings: Vec<String>,
    #[serde(with = "serde_bytes")]
    pub attributes: Vec<u8>,
    pub dropped_attributes_count: u32,
    pub flags: u32,
    pub event_name: String,
    #[serde(with = "serde_bytes")]
    pub resource: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub scope: Vec<u8>,
    pub record_hash: u64,
}

impl LogRow {
    pub fn from_record(record: &LogRecord) -> Self {
        let attributes = weft_codec::encode_attribute_map(&record.attributes);
        let body = weft_codec::encode_any_value(&record.body);
        let mut row = LogRow {
            time: i64::try_from(record.time_unix_nanos).unwrap_or(i64::MAX),
            observed_time: i64::try_from(record.observed_time_unix_nanos).unwrap_or(i64::MAX),
            trace_id: record.trace_id.map(|id| *id.as_bytes()).unwrap_or_default(),
            span_id: record.span_id.map(|id| *id.as_bytes()).unwrap_or_default(),
            severity_number: record.severity_number,
            severity_text: record.severity_text.clone(),
            service_name: record.service_name.clone(),
            body_text: record.body_text(),
            body,
            attribute_strings: record
                .attributes
                .iter()
                .filter_map(|attribute| match &attribute.value {
                    AttributeValue::String(text) => Some(text.clone()),
                    _ => None,
                })
                .collect(),
            attributes,
            dropped_attributes_count: record.dropped_attributes_count,
            flags: record.flags,
            event_name: record.event_name.clone(),
            resource: weft_codec::encode_resource(&record.resource),
            scope: weft_codec::encode_scope(&record.scope),
            record_hash: 0,
        };
        row.record_hash = row.content_hash();
        row
    }

    /// FNV-1a over the fields that make a record: stable across builds and versions, so a
    /// replay by a newer processor hashes the same.
    fn content_hash(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for byte in bytes.iter().chain(&[0xff]) {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(&self.observed_time.to_le_bytes());
        feed(&[self.severity_number]);
        feed(self.severity_text.as_bytes());
        feed(&self.body);
        feed(&self.attributes);
        feed(&self.dropped_attributes_count.to_le_bytes());
        feed(&self.flags.to_le_bytes());
        feed(self.event_name.as_bytes());
        feed(&self.resource);
        feed(&self.scope);
        hash
    }

    pub fn into_record(self) -> Result<LogRecord, String> {
        let attributes = match weft_codec::decode_any_value(&self.attributes)
            .map_err(|error| format!("log attributes: {error}"))?
        {
            AttributeValue::Map(attributes) => attributes,
            AttributeValue::Empty => Vec::new(),
            other => return Err(format!("log attributes are not a map: {other:?}")),
        };
        let is_set = |bytes: &[u8]| bytes.iter().any(|byte| *byte != 0);
        Ok(LogRecord {
            time_unix_nanos: u64::try_from(self.time).unwrap_or(0),
            observed_time_unix_nanos: u64::try_from(self.observed_time).unwrap_or(0),
            trace_id: is_set(&self.trace_id).then(|| TraceId::from_bytes(self.trace_id)),
            span_id: is_set(&self.span_id).then(|| SpanId::from_bytes(self.span_id)),
            severity_number: self.severity_number,
            severity_text: self.severity_text,
            body: weft_codec::decode_any_value(&self.body)
                .map_err(|error| format!("log body: {error}"))?,
            attributes,
            dropped_attributes_count: self.dropped_attributes_count,
            flags: self.flags,
            event_name: self.event_name,
            resource: Arc::new(
                weft_codec::decode_resource(&self.resource)
                    .map_err(|error| format!("log resource: {error}"))?,
            ),
            scope: Arc::new(
                weft_codec::decode_scope(&self.scope)
                    .map_err(|error| format!("log scope: {error}"))?,
            ),
            service_name: self.service_name,
        })
    }
}
