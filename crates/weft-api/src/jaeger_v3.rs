//! Jaeger's query API v3 over HTTP (`/api/v3`), with jaeger-query's shapes: what every Jaeger
//! UI since v2.15 fills its Service and Operation lists from, and since v2.19 searches with
//! (`/api/v3/trace-summaries`). Answers are proto3 JSON: lowerCamel names, 64-bit integers as
//! decimal strings, zero values left out; traces are OTLP JSON under `result`; errors are
//! `{"error":{"httpCode":N,"message":"..."}}`.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value};
use weft_api_types::jaeger_v3 as v3;

use weft_model::{SpanKind, TraceId};
use weft_storage::{SearchQuery, TraceQuery, TraceSummary, MAX_SEARCH_LIMIT};

use crate::params::{
    parse_go_duration_nanos, parse_trace_id, parse_u64, rfc3339_unix_nanos, ApiError, Params,
};
use crate::query_api::{blocking, otlp_traces_data, parse_span_kind, Store};
use weft_query::tiers::TierChoice;

pub fn router() -> Router<Store> {
    Router::new()
        .route("/api/v3/services", get(services))
        .route("/api/v3/operations", get(operations))
        .route("/api/v3/trace-summaries", get(trace_summaries))
        .route("/api/v3/traces", get(find_traces))
        .route("/api/v3/traces/{trace_id}", get(trace_by_id))
}

/// jaeger-query's v3 error envelope.
pub struct V3Error(pub ApiError);

impl From<ApiError> for V3Error {
    fn from(error: ApiError) -> Self {
        V3Error(error)
    }
}

impl From<weft_storage::StoreError> for V3Error {
    fn from(error: weft_storage::StoreError) -> Self {
        V3Error(error.into())
    }
}

impl IntoResponse for V3Error {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = v3::ErrorAnswer {
            error: v3::ErrorBody {
                http_code: status.as_u16(),
                message: self.0.message,
            },
        };
        (status, Json(body)).into_response()
    }
}

/// A query parameter under its canonical name, else its older snake_case spelling (v2.19
/// renamed them; both are accepted, the canonical one winning, as jaeger-query does). Errors
/// name the spelling the client used.
pub(crate) struct V3Params {
    params: Params,
}

impl V3Params {
    pub(crate) fn parse(
        raw: Option<&str>,
        names: &[(&'static str, &'static str)],
    ) -> Result<Self, ApiError> {
        let allowed: Vec<&str> = names
            .iter()
            .flat_map(|(canonical, alias)| [*canonical, *alias])
            .filter(|name| !name.is_empty())
            .collect();
        Ok(V3Params {
            params: Params::parse(raw, &allowed)?,
        })
    }

    /// The value and the name it came under. Like `url.Values.Get`, a repeated parameter
    /// counts once (its first value).
    pub(crate) fn get<'a>(
        &'a self,
        canonical: &'a str,
        alias: &'a str,
    ) -> Option<(&'a str, &'a str)> {
        [canonical, alias]
            .into_iter()
            .filter(|name| !name.is_empty())
            .find_map(|name| self.params.all(name).next().map(|value| (value, name)))
    }

    pub(crate) fn parsed<T>(
        &self,
        canonical: &str,
        alias: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ApiError> {
        self.get(canonical, alias)
            .map(|(value, name)| {
                parse(value).map_err(|error| {
                    ApiError::invalid(format!("malformed parameter {name}: {error}"))
                })
            })
            .transpose()
    }
}

const SERVICE_NAME: (&str, &str) = ("query.serviceName", "query.service_name");
const OPERATION_NAME: (&str, &str) = ("query.operationName", "query.operation_name");
const START_TIME_MIN: (&str, &str) = ("query.startTimeMin", "query.start_time_min");
const START_TIME_MAX: (&str, &str) = ("query.startTimeMax", "query.start_time_max");
const DURATION_MIN: (&str, &str) = ("query.durationMin", "query.duration_min");
const DURATION_MAX: (&str, &str) = ("query.durationMax", "query.duration_max");
const SEARCH_DEPTH: (&str, &str) = ("query.searchDepth", "query.search_depth");
/// The oldest spelling of the search depth (before `query.search_depth`).
const NUM_TRACES: (&str, &str) = ("query.num_traces", "");
const RAW_TRACES: (&str, &str) = ("query.rawTraces", "query.raw_traces");
const ATTRIBUTES: (&str, &str) = ("query.attributes", "");

const FIND_PARAMETERS: [(&str, &str); 10] = [
    SERVICE_NAME,
    OPERATION_NAME,
    START_TIME_MIN,
    START_TIME_MAX,
    DURATION_MIN,
    DURATION_MAX,
    SEARCH_DEPTH,
    NUM_TRACES,
    RAW_TRACES,
    ATTRIBUTES,
];

/// jaeger-query's default search depth when none is given.
const DEFAULT_SEARCH_DEPTH: usize = 100;

async fn services(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v3::Services>, V3Error> {
    V3Params::parse(raw.as_deref(), &[])?;
    let services = blocking(move || Ok(store.services()?)).await?;
    Ok(Json(v3::Services { services }))
}

/// A span kind as Jaeger's storage names it; Jaeger stores an unset kind as `internal`.
fn jaeger_kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified => "internal",
        other => other.as_str(),
    }
}

async fn operations(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v3::Operations>, V3Error> {
    let params = V3Params::parse(
        raw.as_deref(),
        &[("service", ""), ("spanKind", "span_kind")],
    )?;
    let service = params
        .get("service", "")
        .map(|(value, _)| value.to_owned())
        .unwrap_or_default();
    let kind = params.parsed("spanKind", "span_kind", parse_span_kind)?;
    let operations = blocking(move || Ok(store.operations(&service, kind)?)).await?;
    let mut listed: Vec<(String, &str)> = operations
        .iter()
        .map(|operation| {
            (
                operation.name.clone(),
                jaeger_kind_name(operation.span_kind),
            )
        })
        .collect();
    // An unset kind and `internal` are one kind here: list such a name once.
    listed.dedup();
    let operations = listed
        .into_iter()
        .map(|(name, kind)| v3::Operation {
            name,
            span_kind: kind.to_owned(),
        })
        .collect();
    Ok(Json(v3::Operations { operations }))
}

/// An RFC 3339 time (nanoseconds allowed), as Go's `time.RFC3339Nano` parses it.
pub(crate) fn parse_rfc3339_nanos(text: &str) -> Result<u64, String> {
    rfc3339_unix_nanos(text)
        .map_err(|error| {
            format!(
                "expected an RFC 3339 time like 2026-01-02T15:04:05.123Z, got {text:?}: {error}"
            )
        })?
        .ok_or_else(|| format!("time {text:?} is before 1970"))
}

/// `query.rawTraces` and `rawTraces` (accepted; Weft always answers the stored spans).
fn parse_raw_traces(text: &str) -> Result<bool, String> {
    text.parse::<bool>()
        .map_err(|_| format!("expected true or false, got {text:?}"))
}

/// `query.attributes`: one JSON object of string values (`{"http.status_code":"200"}`).
fn parse_attributes(text: &str) -> Result<Vec<(String, String)>, String> {
    let object: Map<String, Value> =
        serde_json::from_str(text).map_err(|error| format!("expected a JSON object: {error}"))?;
    object
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key, text)),
            other => Err(format!(
                "the value of {key:?} must be a string, got {other}"
            )),
        })
        .collect()
}

/// The search both `trace-summaries` and `traces` run, from their shared parameters.
fn find_query(params: &V3Params) -> Result<SearchQuery, ApiError> {
    let start = params.parsed(START_TIME_MIN.0, START_TIME_MIN.1, parse_rfc3339_nanos)?;
    let end = params.parsed(START_TIME_MAX.0, START_TIME_MAX.1, parse_rfc3339_nanos)?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ApiError::invalid(format!(
            "{} and {} are required",
            START_TIME_MIN.0, START_TIME_MAX.0
        )));
    };
    if start > end {
        return Err(ApiError::invalid(format!(
            "{} must be before {}",
            START_TIME_MIN.0, START_TIME_MAX.0
        )));
    }
    let depth = match params.parsed(SEARCH_DEPTH.0, SEARCH_DEPTH.1, parse_u64)? {
        Some(depth) => Some(depth),
        None => params.parsed(NUM_TRACES.0, NUM_TRACES.1, parse_u64)?,
    };
    // Bounded like every search (the UI offers up to 1500); 0 means the default.
    let limit = match depth {
        None | Some(0) => DEFAULT_SEARCH_DEPTH,
        Some(depth) => usize::try_from(depth).unwrap_or(usize::MAX),
    }
    .min(MAX_SEARCH_LIMIT);
    params.parsed(RAW_TRACES.0, RAW_TRACES.1, parse_raw_traces)?;
    let mut attributes = params
        .parsed(ATTRIBUTES.0, ATTRIBUTES.1, parse_attributes)?
        .unwrap_or_default();
    let status = crate::jaeger::take_status_tags(&mut attributes);
    let span_kind = crate::jaeger::take_span_kind_tag(&mut attributes)?;
    let query = SearchQuery {
        start_unix_nanos: start,
        end_unix_nanos: end,
        service: params
            .get(SERVICE_NAME.0, SERVICE_NAME.1)
            .map(|(value, _)| value.to_owned()),
        operation: params
            .get(OPERATION_NAME.0, OPERATION_NAME.1)
            .map(|(value, _)| value.to_owned()),
        span_kind,
        attributes,
        business_key: None,
        status,
        min_duration_nanos: params.parsed(
            DURATION_MIN.0,
            DURATION_MIN.1,
            parse_go_duration_nanos,
        )?,
        max_duration_nanos: params.parsed(
            DURATION_MAX.0,
            DURATION_MAX.1,
            parse_go_duration_nanos,
        )?,
        trace_id_prefix: None,
        root_service: None,
        root_operation: None,
        limit,
    };
    query.validate()?;
    Ok(query)
}

/// A trace summary as jaeger-query's `TraceSummary` message in proto3 JSON: zero values are
/// left out, 64-bit times are decimal strings.
fn trace_summary(summary: &TraceSummary) -> v3::TraceSummary {
    // The root is the span without a parent; a trace whose root never arrived has none.
    let root = |text: &str| {
        if summary.root_span_found {
            text.to_owned()
        } else {
            String::new()
        }
    };
    let started = summary.start_unix_nanos > 0;
    v3::TraceSummary {
        trace_id: summary.trace_id.to_hex(),
        root_service_name: root(&summary.root_service_name),
        root_operation_name: root(&summary.root_span_name),
        min_start_time_unix_nano: started.then(|| summary.start_unix_nanos.to_string()),
        max_end_time_unix_nano: started
            .then(|| (summary.start_unix_nanos + summary.duration_nanos).to_string()),
        span_count: summary.span_count as u64,
        error_span_count: summary.error_count as u64,
        services: summary
            .services
            .iter()
            .map(|service| v3::ServiceSummary {
                name: service.service_name.clone(),
                span_count: service.span_count as u64,
                error_span_count: service.error_count as u64,
            })
            .collect(),
    }
}

async fn trace_summaries(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v3::TraceSummaries>, V3Error> {
    let params = V3Params::parse(raw.as_deref(), &FIND_PARAMETERS)?;
    let query = find_query(&params)?;
    let found = blocking(move || Ok(store.search(&query, TierChoice::Auto)?)).await?;
    let summaries = found
        .traces
        .iter()
        .map(|found| trace_summary(&found.summary))
        .collect();
    Ok(Json(v3::TraceSummaries { summaries }))
}

async fn find_traces(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v3::Traces>, V3Error> {
    let params = V3Params::parse(raw.as_deref(), &FIND_PARAMETERS)?;
    let query = find_query(&params)?;
    let traces = blocking(move || {
        let found = store.search(&query, TierChoice::Auto)?;
        let mut spans = Vec::new();
        for found in &found.traces {
            let trace_query = TraceQuery::new(found.summary.trace_id);
            let (mut trace, _) = store.trace(&trace_query, TierChoice::Auto)?;
            trace.truncate(trace_query.max_spans);
            spans.extend(trace);
        }
        Ok(spans)
    })
    .await?;
    if traces.is_empty() {
        return Err(ApiError::not_found("No traces found").into());
    }
    Ok(Json(v3::Traces {
        result: proto3_traces_data(traces),
    }))
}

const TRACE_PARAMETERS: [(&str, &str); 3] = [
    ("startTime", "start_time"),
    ("endTime", "end_time"),
    ("rawTraces", "raw_traces"),
];

async fn trace_by_id(
    State(store): State<Store>,
    Path(trace_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v3::Traces>, V3Error> {
    let params = V3Params::parse(raw.as_deref(), &TRACE_PARAMETERS)?;
    let trace_id: TraceId = parse_trace_id(&trace_id).map_err(|error| {
        ApiError::invalid(format!("malformed parameter trace_id: {}", error.message))
    })?;
    let query = TraceQuery {
        start_unix_nanos: params.parsed("startTime", "start_time", parse_rfc3339_nanos)?,
        end_unix_nanos: params.parsed("endTime", "end_time", parse_rfc3339_nanos)?,
        ..TraceQuery::new(trace_id)
    };
    params.parsed("rawTraces", "raw_traces", parse_raw_traces)?;
    let max_spans = query.max_spans;
    let (mut spans, _) = blocking(move || Ok(store.trace(&query, TierChoice::Auto)?)).await?;
    if spans.is_empty() {
        return Err(ApiError::not_found("trace not found").into());
    }
    spans.truncate(max_spans);
    Ok(Json(v3::Traces {
        result: proto3_traces_data(spans),
    }))
}

/// OTLP/JSON `TracesData` as jaeger-query writes it (Go's `jsonpb`): fields holding their
/// zero value are left out. The Jaeger UI's schemas insist on it — a root span's
/// `parentSpanId: ""` fails its span-ID pattern and `status: null` its status object, and
/// the UI then refuses the whole trace.
fn proto3_traces_data(spans: Vec<weft_model::Span>) -> Value {
    let mut data = otlp_traces_data(spans);
    leave_out_zero_values(&mut data);
    data
}

fn is_zero_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(_) => false,
    }
}

/// Drops zero-valued fields of every message, recursively. An `AnyValue` (the `value` of a
/// `KeyValue`, or an element of an array value) keeps its one field whatever it holds —
/// `{"boolValue": false}` is a value, not an unset message — as `jsonpb` keeps a set oneof.
pub(crate) fn leave_out_zero_values(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|_, field| !is_zero_value(field));
            for (name, field) in fields.iter_mut() {
                if name == "value" {
                    leave_out_zero_values_in_any_value(field);
                } else {
                    leave_out_zero_values(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(leave_out_zero_values),
        _ => {}
    }
}

fn leave_out_zero_values_in_any_value(value: &mut Value) {
    let Value::Object(one_of) = value else {
        return;
    };
    if let Some(Value::Object(array)) = one_of.get_mut("arrayValue") {
        array.retain(|_, values| !is_zero_value(values));
        if let Some(Value::Array(values)) = array.get_mut("values") {
            values
                .iter_mut()
                .for_each(leave_out_zero_values_in_any_value);
        }
    }
    if let Some(list) = one_of.get_mut("kvlistValue") {
        leave_out_zero_values(list);
    }
}
