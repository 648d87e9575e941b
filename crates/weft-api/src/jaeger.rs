//! Jaeger's query HTTP API (the one Jaeger UI and Grafana's Jaeger data source call), with its
//! exact JSON shapes, on the same port as Weft's own API.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use weft_api_types::jaeger_v1 as v1;

use weft_model::{
    AttributeValue, KeyValue, LogRecord, Span, SpanId, SpanKind, StatusCode as SpanStatus,
};
use weft_storage::{SearchQuery, StatusFilter, TraceQuery};

use crate::distinct::DistinctValues;
use crate::params::{
    now_unix_nanos, parse_go_duration_nanos, parse_json_tags, parse_lookback_nanos, parse_trace_id,
    parse_u64, split_attribute, ApiError, Params,
};
use crate::query_api::{blocking, parse_span_kind, trace_query, Store};
use weft_query::tiers::{spans_time_range, Tier, TierChoice};

pub fn router() -> Router<Store> {
    Router::new()
        .route("/api/services", get(services))
        .route(
            "/api/services/{service}/operations",
            get(service_operations),
        )
        .route("/api/operations", get(operations))
        .route("/api/traces", get(find_traces))
        .route("/api/traces/{trace_id}", get(trace_by_id))
        .route(
            "/api/transform",
            axum::routing::post(transform).layer(axum::extract::DefaultBodyLimit::max(
                MAX_TRANSFORM_BODY_BYTES,
            )),
        )
}

/// Largest OTLP/JSON file the UI's upload may send to `/api/transform` (the ingest limit).
const MAX_TRANSFORM_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Jaeger's error envelope; the HTTP status matches `errors[0].code`.
pub struct JaegerError(pub ApiError);

impl From<ApiError> for JaegerError {
    fn from(error: ApiError) -> Self {
        JaegerError(error)
    }
}

impl From<weft_storage::StoreError> for JaegerError {
    fn from(error: weft_storage::StoreError) -> Self {
        JaegerError(error.into())
    }
}

impl IntoResponse for JaegerError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = v1::Envelope {
            errors: Some(vec![v1::StructuredError {
                code: Some(status.as_u16()),
                msg: self.0.message,
                trace_id: None,
            }]),
            ..v1::Envelope::of((), 0)
        };
        (status, Json(body)).into_response()
    }
}

pub fn envelope<T>(data: T, total: usize) -> Json<v1::Envelope<T>> {
    Json(v1::Envelope::of(data, total))
}

fn micros(nanos: u64) -> u64 {
    nanos / 1_000
}

fn parse_micros_as_nanos(text: &str) -> Result<u64, String> {
    parse_u64(text).map(|micros| micros.saturating_mul(1_000))
}

async fn services(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v1::Envelope<Vec<String>>>, JaegerError> {
    Params::parse(raw.as_deref(), &[])?;
    let services = blocking(move || Ok(store.services()?)).await?;
    let total = services.len();
    Ok(envelope(services, total))
}

async fn service_operations(
    State(store): State<Store>,
    Path(service): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v1::Envelope<Vec<String>>>, JaegerError> {
    Params::parse(raw.as_deref(), &[])?;
    let operations = blocking(move || Ok(store.operations(&service, None)?)).await?;
    let mut names: Vec<String> = operations.into_iter().map(|op| op.name).collect();
    names.dedup();
    let total = names.len();
    Ok(envelope(names, total))
}

async fn operations(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v1::Envelope<Vec<v1::Operation>>>, JaegerError> {
    let params = Params::parse(raw.as_deref(), &["service", "spanKind"])?;
    let service = params
        .single("service")?
        .ok_or_else(|| ApiError::invalid("parameter 'service' is required"))?
        .to_owned();
    let kind = params.parsed("spanKind", parse_span_kind)?;
    let operations = blocking(move || Ok(store.operations(&service, kind)?)).await?;
    let data: Vec<v1::Operation> = operations
        .iter()
        .map(|operation| v1::Operation {
            name: operation.name.clone(),
            span_kind: operation.span_kind.as_str().to_owned(),
        })
        .collect();
    let total = data.len();
    Ok(envelope(data, total))
}

async fn trace_by_id(
    State(store): State<Store>,
    Path(trace_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v1::Envelope<Vec<v1::Trace>>>, JaegerError> {
    let params = Params::parse(raw.as_deref(), &["start", "end", "raw", "prettyPrint"])?;
    let query = trace_query(&trace_id, &params, parse_micros_as_nanos)?;
    let max_spans = query.max_spans;
    let trace = blocking(move || {
        let (spans, tier) = store.trace(&query, TierChoice::Auto)?;
        if spans.is_empty() {
            return Ok(None);
        }
        let (logs, _) = store.trace_logs(&query.trace_id, spans_time_range(&spans), Some(tier))?;
        Ok(Some(capped_jaeger_trace(spans, &logs, max_spans)))
    })
    .await?;
    let trace = trace.ok_or_else(|| ApiError::not_found("trace not found"))?;
    Ok(envelope(vec![trace], 1))
}

const FIND_PARAMETERS: [&str; 14] = [
    "service",
    "operation",
    "tags",
    "tag",
    "start",
    "end",
    "lookback",
    "limit",
    "minDuration",
    "maxDuration",
    "traceID",
    "spanKind",
    "prettyPrint",
    "raw",
];

async fn find_traces(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v1::Envelope<Vec<v1::Trace>>>, JaegerError> {
    let params = Params::parse(raw.as_deref(), &FIND_PARAMETERS)?;
    let trace_ids: Vec<_> = params
        .all("traceID")
        .map(parse_trace_id)
        .collect::<Result<_, _>>()?;
    if trace_ids.len() > weft_storage::MAX_SEARCH_LIMIT {
        return Err(ApiError::invalid(format!(
            "at most {} traceID parameters, got {}",
            weft_storage::MAX_SEARCH_LIMIT,
            trace_ids.len()
        ))
        .into());
    }
    if !trace_ids.is_empty() {
        let (traces, missing) = blocking(move || {
            jaeger_traces(
                &store,
                trace_ids
                    .into_iter()
                    .map(|trace_id| (trace_id, TierChoice::Auto)),
            )
        })
        .await?;
        // jaeger-query names each ID it did not find; the UI's compare view waits for every
        // ID it asked for until it sees either the trace or this.
        let errors: Vec<v1::StructuredError> = missing
            .iter()
            .map(|trace_id| v1::StructuredError {
                code: None,
                msg: "trace not found".to_owned(),
                trace_id: Some(trace_id.to_hex()),
            })
            .collect();
        let total = traces.len();
        let mut answer = envelope(traces, total);
        if !errors.is_empty() {
            answer.0.errors = Some(errors);
        }
        return Ok(answer);
    }
    let query = find_query(&params)?;
    let traces = blocking(move || {
        // Both tiers, transparently: the hot one within its retention, the cold one before.
        let found = store.search(&query, TierChoice::Auto)?;
        // A trace found by the search but gone by the read (retention) is left out.
        jaeger_traces(
            &store,
            found.traces.iter().map(|found| {
                let tier = match found.tier {
                    Tier::Hot => TierChoice::Hot,
                    Tier::Cold => TierChoice::Cold,
                };
                (found.summary.trace_id, tier)
            }),
        )
        .map(|(traces, _)| traces)
    })
    .await?;
    let total = traces.len();
    Ok(envelope(traces, total))
}

/// The traces with these IDs as Jaeger JSON (each cut at the span cap), and the IDs not found.
fn jaeger_traces(
    store: &Store,
    trace_ids: impl IntoIterator<Item = (weft_model::TraceId, TierChoice)>,
) -> Result<(Vec<v1::Trace>, Vec<weft_model::TraceId>), ApiError> {
    let mut traces = Vec::new();
    let mut missing = Vec::new();
    for (trace_id, tier) in trace_ids {
        let query = TraceQuery::new(trace_id);
        let max_spans = query.max_spans;
        let (spans, found_in) = store.trace(&query, tier)?;
        if spans.is_empty() {
            missing.push(trace_id);
            continue;
        }
        let (logs, _) = store.trace_logs(&trace_id, spans_time_range(&spans), Some(found_in))?;
        traces.push(capped_jaeger_trace(spans, &logs, max_spans));
    }
    Ok((traces, missing))
}

/// Jaeger's status conventions among search tags — `error=true|false` and
/// `otel.status_code=ERROR|OK` — taken out of `tags` as a status filter.
pub fn take_status_tags(tags: &mut Vec<(String, String)>) -> Option<StatusFilter> {
    let mut status = None;
    tags.retain(|(key, value)| match (key.as_str(), value.as_str()) {
        ("error", "true") | ("otel.status_code", "ERROR") => {
            status = Some(StatusFilter::Error);
            false
        }
        ("error", "false") => {
            status = Some(StatusFilter::Unset);
            false
        }
        ("otel.status_code", "OK") => {
            status = Some(StatusFilter::Ok);
            false
        }
        _ => true,
    });
    status
}

/// A `span.kind` search tag taken out of `tags` as a span-kind filter.
pub fn take_span_kind_tag(tags: &mut Vec<(String, String)>) -> Result<Option<SpanKind>, ApiError> {
    let Some(index) = tags.iter().position(|(key, _)| key == "span.kind") else {
        return Ok(None);
    };
    let (_, kind) = tags.remove(index);
    parse_span_kind(&kind)
        .map(Some)
        .map_err(|error| ApiError::invalid(format!("invalid span.kind {kind:?}: {error}")))
}

/// `POST /api/transform`: an OTLP/JSON file (the UI's upload) as Jaeger JSON traces.
async fn transform(
    body: axum::body::Bytes,
) -> Result<Json<v1::Envelope<Vec<v1::Trace>>>, JaegerError> {
    let request = weft_codec::decode_otlp_json(&body)
        .map_err(|error| ApiError::invalid(format!("cannot unmarshal OTLP: {error}")))?;
    let traces = blocking(move || {
        let spans =
            weft_codec::spans_from_otlp(request, &weft_codec::ConversionOptions::default()).spans;
        let mut by_trace: Vec<(weft_model::TraceId, Vec<Span>)> = Vec::new();
        let mut index_of: HashMap<weft_model::TraceId, usize> = HashMap::new();
        for span in spans {
            let index = *index_of.entry(span.trace_id).or_insert_with(|| {
                by_trace.push((span.trace_id, Vec::new()));
                by_trace.len() - 1
            });
            by_trace[index].1.push(span);
        }
        Ok(by_trace
            .into_iter()
            .map(|(_, mut spans)| {
                spans.sort_by_key(|span| span.start_time_unix_nanos);
                jaeger_trace(&spans, &[])
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(envelope(traces, 0))
}

fn find_query(params: &Params) -> Result<SearchQuery, ApiError> {
    let service = params
        .single("service")?
        .ok_or_else(|| ApiError::invalid("parameter 'service' is required"))?;
    let now = now_unix_nanos();
    let end = params.parsed("end", parse_micros_as_nanos)?.unwrap_or(now);
    let start = match params.parsed("start", parse_micros_as_nanos)? {
        Some(start) => start,
        None => {
            // The Jaeger UI sends `lookback=custom` with explicit start/end, else its choice
            // (`1h`, `2d`, `1w`).
            let lookback = match params.single("lookback")? {
                None | Some("custom") => 3_600 * 1_000_000_000,
                Some(text) => parse_lookback_nanos(text).map_err(|error| {
                    ApiError::invalid(format!("invalid lookback {text:?}: {error}"))
                })?,
            };
            end.saturating_sub(lookback)
        }
    };
    let mut tags: Vec<(String, String)> = Vec::new();
    if let Some(json) = params.single("tags")? {
        tags.extend(parse_json_tags(json)?);
    }
    for tag in params.all("tag") {
        tags.push(split_attribute(tag, ':')?);
    }
    let status = take_status_tags(&mut tags);
    let span_kind = match take_span_kind_tag(&mut tags)? {
        Some(kind) => Some(kind),
        None => params.parsed("spanKind", parse_span_kind)?,
    };
    // The UI offers up to 1500 results: more than a search returns is a request for all it
    // returns, not an error.
    let limit = params
        .parsed("limit", parse_u64)?
        .filter(|&limit| limit > 0)
        .unwrap_or(20)
        .min(weft_storage::MAX_SEARCH_LIMIT as u64);
    let query = SearchQuery {
        start_unix_nanos: start,
        end_unix_nanos: end,
        service: Some(service.to_owned()),
        operation: params.single("operation")?.map(str::to_owned),
        span_kind,
        attributes: tags,
        business_key: None,
        status,
        min_duration_nanos: params.parsed("minDuration", parse_go_duration_nanos)?,
        max_duration_nanos: params.parsed("maxDuration", parse_go_duration_nanos)?,
        trace_id_prefix: None,
        root_service: None,
        root_operation: None,
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    };
    query.validate()?;
    Ok(query)
}

/// The trace as Jaeger JSON, cut at `max_spans` with a trace-level warning saying so (the
/// store returns one span more than the cap when there were more).
pub fn capped_jaeger_trace(
    mut spans: Vec<Span>,
    logs: &[LogRecord],
    max_spans: usize,
) -> v1::Trace {
    let truncated = spans.len() > max_spans;
    spans.truncate(max_spans);
    let mut trace = jaeger_trace(&spans, logs);
    if truncated {
        trace.warnings = Some(vec![format!(
            "trace has more than {max_spans} spans; only {max_spans} are shown"
        )]);
    }
    trace
}

fn typed_tag(key: &str, kind: &str, value: Value) -> v1::Tag {
    v1::Tag {
        key: key.to_owned(),
        kind: kind.to_owned(),
        value,
    }
}

fn tag(key: &str, value: &AttributeValue) -> v1::Tag {
    match value {
        AttributeValue::String(text) => typed_tag(key, "string", json!(text)),
        AttributeValue::Bool(flag) => typed_tag(key, "bool", json!(flag)),
        AttributeValue::Int(number) => typed_tag(key, "int64", json!(number)),
        AttributeValue::Double(number) => typed_tag(key, "float64", json!(number)),
        AttributeValue::Bytes(bytes) => typed_tag(
            key,
            "binary",
            json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
        AttributeValue::Empty => typed_tag(key, "string", json!("")),
        // Jaeger has no list or map tags; its OTLP translator writes them as JSON text.
        AttributeValue::Array(_) | AttributeValue::Map(_) => {
            typed_tag(key, "string", json!(attribute_json(value).to_string()))
        }
    }
}

/// An attribute value as plain JSON (bytes in base64, maps as objects).
pub fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::Empty => Value::Null,
        AttributeValue::String(text) => json!(text),
        AttributeValue::Bool(flag) => json!(flag),
        AttributeValue::Int(number) => json!(number),
        AttributeValue::Double(number) => json!(number),
        AttributeValue::Bytes(bytes) => {
            json!(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        AttributeValue::Array(values) => Value::Array(values.iter().map(attribute_json).collect()),
        AttributeValue::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|entry| (entry.key.clone(), attribute_json(&entry.value)))
                .collect(),
        ),
    }
}

fn tags_of(attributes: &[KeyValue]) -> Vec<v1::Tag> {
    attributes
        .iter()
        .map(|attribute| tag(&attribute.key, &attribute.value))
        .collect()
}

fn string_tag(key: &str, value: &str) -> v1::Tag {
    typed_tag(key, "string", json!(value))
}

/// One trace in Jaeger's JSON model, as its OTLP translator would write it: span kind, status
/// and scope become tags, events become logs, links become FOLLOWS_FROM references. The
/// trace's log records become span logs too: of the span whose ID they carry, else of the
/// root span (named by a `span.id` field when they carried another one), so none is lost.
pub fn jaeger_trace(spans: &[Span], logs: &[LogRecord]) -> v1::Trace {
    let logs_by_span = logs_by_span(spans, logs);
    // Equal resources from different batches share one process entry.
    let mut resources = DistinctValues::new();
    let mut processes = std::collections::BTreeMap::new();
    let mut json_spans = Vec::with_capacity(spans.len());
    for span in spans {
        let (index, first_appearance) = resources.index_of(&span.resource);
        let process_id = format!("p{}", index + 1);
        if first_appearance {
            let tags: Vec<v1::Tag> = span
                .resource
                .attributes
                .iter()
                .filter(|attribute| attribute.key != "service.name")
                .map(|attribute| tag(&attribute.key, &attribute.value))
                .collect();
            processes.insert(
                process_id.clone(),
                v1::Process {
                    service_name: span.service_name.to_string(),
                    tags,
                },
            );
        }
        let span_logs = logs_by_span
            .get(&span.span_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        json_spans.push(jaeger_span(span, span_logs, &process_id));
    }
    v1::Trace {
        trace_id: spans
            .first()
            .map(|span| span.trace_id.to_hex())
            .unwrap_or_default(),
        spans: json_spans,
        processes,
        warnings: None,
    }
}

/// The log records of each span: by their span ID when the trace has that span, else on the
/// root span (the first without a parent, or the earliest).
fn logs_by_span<'a>(spans: &[Span], logs: &'a [LogRecord]) -> HashMap<SpanId, Vec<&'a LogRecord>> {
    let mut by_span: HashMap<SpanId, Vec<&LogRecord>> = HashMap::new();
    if logs.is_empty() || spans.is_empty() {
        return by_span;
    }
    let known: std::collections::HashSet<SpanId> = spans.iter().map(|span| span.span_id).collect();
    let root = spans
        .iter()
        .find(|span| span.parent_span_id.is_none())
        .or_else(|| spans.iter().min_by_key(|span| span.start_time_unix_nanos))
        .map(|span| span.span_id)
        .expect("spans is not empty");
    for record in logs {
        let owner = record
            .span_id
            .filter(|span_id| known.contains(span_id))
            .unwrap_or(root);
        by_span.entry(owner).or_default().push(record);
    }
    by_span
}

/// A log record as a Jaeger span log: `message` (the body) and `level`, then its attributes.
fn jaeger_log(record: &LogRecord, owner: SpanId) -> v1::Log {
    let mut fields = vec![
        string_tag("message", &record.body_text()),
        string_tag("level", record.severity_name()),
    ];
    if !record.event_name.is_empty() {
        fields.push(string_tag("event", &record.event_name));
    }
    if let Some(span_id) = record.span_id.filter(|span_id| *span_id != owner) {
        fields.push(string_tag("span.id", &span_id.to_hex()));
    }
    fields.extend(tags_of(&record.attributes));
    v1::Log {
        timestamp: micros(record.time_unix_nanos),
        fields,
    }
}

fn reference(ref_type: &str, trace_id: weft_model::TraceId, span_id: SpanId) -> v1::Reference {
    v1::Reference {
        ref_type: ref_type.to_owned(),
        trace_id: trace_id.to_hex(),
        span_id: span_id.to_hex(),
    }
}

fn jaeger_span(span: &Span, span_logs: &[&LogRecord], process_id: &str) -> v1::Span {
    let mut references = Vec::new();
    if let Some(parent) = span.parent_span_id {
        references.push(reference("CHILD_OF", span.trace_id, parent));
    }
    for link in &span.links {
        references.push(reference("FOLLOWS_FROM", link.trace_id, link.span_id));
    }
    let mut tags = tags_of(&span.attributes);
    if !matches!(span.kind, SpanKind::Unspecified) {
        tags.push(string_tag("span.kind", span.kind.as_str()));
    }
    match span.status.code {
        SpanStatus::Error => {
            tags.push(typed_tag("error", "bool", json!(true)));
            tags.push(string_tag("otel.status_code", "ERROR"));
        }
        SpanStatus::Ok => tags.push(string_tag("otel.status_code", "OK")),
        SpanStatus::Unset | SpanStatus::Other(_) => {}
    }
    if !span.status.message.is_empty() {
        tags.push(string_tag("otel.status_description", &span.status.message));
    }
    if !span.scope.name.is_empty() {
        tags.push(string_tag("otel.scope.name", &span.scope.name));
    }
    if !span.scope.version.is_empty() {
        tags.push(string_tag("otel.scope.version", &span.scope.version));
    }
    if !span.trace_state.is_empty() {
        tags.push(string_tag("w3c.tracestate", &span.trace_state));
    }
    let mut timed_logs: Vec<(u64, v1::Log)> = span
        .events
        .iter()
        .map(|event| {
            let mut fields = vec![string_tag("event", &event.name)];
            fields.extend(tags_of(&event.attributes));
            (
                event.time_unix_nanos,
                v1::Log {
                    timestamp: micros(event.time_unix_nanos),
                    fields,
                },
            )
        })
        .chain(
            span_logs
                .iter()
                .map(|record| (record.time_unix_nanos, jaeger_log(record, span.span_id))),
        )
        .collect();
    if !span_logs.is_empty() {
        // Events and records interleave by time (events alone stay as sent).
        timed_logs.sort_by_key(|(time, _)| *time);
    }
    let logs: Vec<v1::Log> = timed_logs.into_iter().map(|(_, log)| log).collect();
    let warnings = (span.end_time_unix_nanos < span.start_time_unix_nanos)
        .then(|| vec!["span ends before it starts; duration shown as 0".to_owned()]);
    v1::Span {
        trace_id: span.trace_id.to_hex(),
        span_id: span.span_id.to_hex(),
        flags: span.flags & 0xff,
        operation_name: span.name.to_string(),
        references,
        start_time: micros(span.start_time_unix_nanos),
        duration: micros(
            span.end_time_unix_nanos
                .saturating_sub(span.start_time_unix_nanos),
        ),
        tags,
        logs,
        process_id: process_id.to_owned(),
        warnings,
    }
}
