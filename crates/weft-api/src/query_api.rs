//! Weft's own query API under `/api/v1` (documented in `docs/openapi.yaml`).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prost::Message;
use serde_json::Value;
use weft_model::SpanKind;
use weft_storage::{SearchQuery, StatusFilter, TraceQuery, TraceSummary};

use crate::distinct::DistinctValues;
use crate::params::{
    parse_go_duration_nanos, parse_time_nanos, parse_trace_id, parse_u64, split_attribute,
    ApiError, Params,
};
use weft_query::tiers::TierChoice;

/// The hot and cold tiers the query routes read.
pub type Store = Arc<weft_query::tiers::Tiers>;

/// Set to `true` on a trace answer cut at `weft_storage::DEFAULT_MAX_TRACE_SPANS` spans.
const TRUNCATED_HEADER: &str = "weft-trace-truncated";
/// `hot` or `cold`: the tier a trace answer came from.
const TIER_HEADER: &str = "weft-tier";

/// The `tier` parameter, `Auto` when absent.
pub fn tier_choice(params: &Params) -> Result<TierChoice, ApiError> {
    Ok(params
        .parsed("tier", TierChoice::parse)?
        .unwrap_or(TierChoice::Auto))
}

const DEFAULT_LOOKBACK_NANOS: u64 = 3_600 * 1_000_000_000;
const DEFAULT_LIMIT: usize = 20;

pub fn router() -> Router<Store> {
    Router::new()
        .route("/api/v1/traces/{trace_id}", get(trace_by_id))
        .route("/api/v1/search", get(search))
        .route("/api/v1/services", get(services))
        .route("/api/v1/services/{service}/operations", get(operations))
        .route("/api/v1/attributes", get(attribute_keys))
        .route("/api/v1/attributes/{key}/values", get(attribute_values))
        .route("/api/v1/catalog", get(catalog))
}

/// Runs a blocking store call off the async runtime.
pub async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|error| ApiError {
            code: weft_model::ErrorCode::Internal,
            message: format!("query task failed: {error}"),
        })?
}

pub fn parse_span_kind(text: &str) -> Result<SpanKind, String> {
    match text.to_ascii_lowercase().as_str() {
        "unspecified" => Ok(SpanKind::Unspecified),
        "internal" => Ok(SpanKind::Internal),
        "server" => Ok(SpanKind::Server),
        "client" => Ok(SpanKind::Client),
        "producer" => Ok(SpanKind::Producer),
        "consumer" => Ok(SpanKind::Consumer),
        _ => Err("expected internal, server, client, producer, consumer or unspecified".into()),
    }
}

/// `start`/`end` bounds of a trace lookup, parsed with `parse`.
pub fn trace_query(
    trace_id: &str,
    params: &Params,
    parse: impl Fn(&str) -> Result<u64, String> + Copy,
) -> Result<TraceQuery, ApiError> {
    let query = TraceQuery {
        start_unix_nanos: params.parsed("start", parse)?,
        end_unix_nanos: params.parsed("end", parse)?,
        ..TraceQuery::new(parse_trace_id(trace_id)?)
    };
    if let (Some(start), Some(end)) = (query.start_unix_nanos, query.end_unix_nanos) {
        if start > end {
            return Err(ApiError::invalid(
                "start is after end: the time range is inverted",
            ));
        }
    }
    Ok(query)
}

async fn trace_by_id(
    State(store): State<Store>,
    Path(trace_id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["start", "end", "tier"])?;
    let query = trace_query(&trace_id, &params, parse_time_nanos)?;
    let choice = tier_choice(&params)?;
    let max_spans = query.max_spans;
    let (mut spans, tier) = blocking(move || Ok(store.trace(&query, choice)?)).await?;
    if spans.is_empty() {
        return Err(ApiError::not_found(format!("trace {trace_id} not found")));
    }
    let truncated = spans.len() > max_spans;
    spans.truncate(max_spans);
    let wants_protobuf = headers
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/x-protobuf"));
    let traces_data = traces_data_of(spans);
    // A cut trace says so in a header, so the body stays plain OTLP.
    let truncated_header = (
        axum::http::HeaderName::from_static(TRUNCATED_HEADER),
        if truncated { "true" } else { "false" },
    );
    let tier_header = (
        axum::http::HeaderName::from_static(TIER_HEADER),
        tier.as_str(),
    );
    Ok(if wants_protobuf {
        (
            [
                (CONTENT_TYPE, "application/x-protobuf"),
                truncated_header,
                tier_header,
            ],
            traces_data.encode_to_vec(),
        )
            .into_response()
    } else {
        (
            [
                (CONTENT_TYPE, "application/json"),
                truncated_header,
                tier_header,
            ],
            weft_codec::encode_otlp_json(&traces_data),
        )
            .into_response()
    })
}

/// Spans as OTLP `TracesData`, one `ResourceSpans` per service instance and one `ScopeSpans`
/// per library (see [`group_by_resource_and_scope`]).
fn traces_data_of(
    spans: Vec<weft_model::Span>,
) -> opentelemetry_proto::tonic::trace::v1::TracesData {
    let request = weft_codec::otlp_from_spans(&group_by_resource_and_scope(spans));
    opentelemetry_proto::tonic::trace::v1::TracesData {
        resource_spans: request.resource_spans,
    }
}

/// Spans as OTLP/JSON `TracesData` (hex IDs, 64-bit integers as strings, enums as numbers).
pub fn otlp_traces_data(spans: Vec<weft_model::Span>) -> Value {
    serde_json::to_value(traces_data_of(spans)).expect("otlp messages always serialize to json")
}

/// Orders a trace's spans so each distinct resource and scope forms one run (in order of first
/// appearance, spans in start order within it): the OTLP answer then has one `ResourceSpans`
/// per service instance and one `ScopeSpans` per library, as an SDK would have sent them,
/// instead of one per change of service along the time line.
fn group_by_resource_and_scope(spans: Vec<weft_model::Span>) -> Vec<weft_model::Span> {
    let mut resources = DistinctValues::new();
    let mut scopes = DistinctValues::new();
    let mut keyed: Vec<((usize, usize), weft_model::Span)> = spans
        .into_iter()
        .map(|span| {
            let group = (
                resources.index_of(&span.resource).0,
                scopes.index_of(&span.scope).0,
            );
            (group, span)
        })
        .collect();
    // Stable: spans keep their start order within a group.
    keyed.sort_by_key(|(group, _)| *group);
    keyed.into_iter().map(|(_, span)| span).collect()
}

/// A trace summary as the API answers it.
pub fn trace_summary_answer(summary: &TraceSummary) -> weft_api_types::TraceSummary {
    weft_api_types::TraceSummary {
        trace_id: summary.trace_id.to_hex(),
        root_service_name: summary.root_service_name.clone(),
        root_span_name: summary.root_span_name.clone(),
        root_span_found: summary.root_span_found,
        start_time_unix_nano: summary.start_unix_nanos.to_string(),
        duration_nanos: summary.duration_nanos,
        span_count: summary.span_count as u64,
        error_count: summary.error_count as u64,
        services: summary
            .services
            .iter()
            .map(|service| weft_api_types::ServiceSpanCount {
                service_name: service.service_name.clone(),
                span_count: service.span_count as u64,
                error_count: service.error_count as u64,
            })
            .collect(),
    }
}

const SEARCH_PARAMETERS: [&str; 18] = [
    "tier",
    "service",
    "operation",
    "spanKind",
    "attribute",
    "businessKey",
    "status",
    "minDuration",
    "maxDuration",
    "start",
    "end",
    "lookback",
    "traceIdPrefix",
    "rootService",
    "rootOperation",
    "limit",
    // Aliases that read naturally in a URL.
    "attr",
    "error",
];

fn search_query(params: &Params) -> Result<SearchQuery, ApiError> {
    let (start, end) = params.time_range(DEFAULT_LOOKBACK_NANOS)?;
    let mut status = params.parsed("status", |text| match text {
        "error" => Ok(StatusFilter::Error),
        "ok" => Ok(StatusFilter::Ok),
        "unset" => Ok(StatusFilter::Unset),
        _ => Err("expected error, ok or unset".to_owned()),
    })?;
    if params.parsed("error", |text| {
        text.parse::<bool>().map_err(|e| e.to_string())
    })? == Some(true)
    {
        status = Some(StatusFilter::Error);
    }
    let limit = params
        .parsed("limit", parse_u64)?
        .unwrap_or(DEFAULT_LIMIT as u64);
    let query = SearchQuery {
        start_unix_nanos: start,
        end_unix_nanos: end,
        service: params.single("service")?.map(str::to_owned),
        operation: params.single("operation")?.map(str::to_owned),
        span_kind: params.parsed("spanKind", parse_span_kind)?,
        attributes: params
            .all("attribute")
            .chain(params.all("attr"))
            .map(|text| split_attribute(text, '='))
            .collect::<Result<_, _>>()?,
        business_key: params.single("businessKey")?.map(str::to_owned),
        status,
        min_duration_nanos: params.parsed("minDuration", parse_go_duration_nanos)?,
        max_duration_nanos: params.parsed("maxDuration", parse_go_duration_nanos)?,
        trace_id_prefix: params.single("traceIdPrefix")?.map(str::to_ascii_lowercase),
        root_service: params.single("rootService")?.map(str::to_owned),
        root_operation: params.single("rootOperation")?.map(str::to_owned),
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    };
    query.validate()?;
    Ok(query)
}

async fn search(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<weft_api_types::SearchAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &SEARCH_PARAMETERS)?;
    let query = search_query(&params)?;
    let choice = tier_choice(&params)?;
    let result = blocking(move || Ok(store.search(&query, choice)?)).await?;
    Ok(Json(weft_api_types::SearchAnswer {
        traces: result
            .traces
            .iter()
            .map(|found| weft_api_types::FoundTrace {
                summary: trace_summary_answer(&found.summary),
                tier: found.tier.as_str().to_owned(),
            })
            .collect(),
        partial: result.partial,
        scanned_spans: result.scanned_spans,
        tiers: result
            .tiers
            .iter()
            .map(|tier| tier.as_str().to_owned())
            .collect(),
    }))
}

async fn services(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<weft_api_types::ServicesAnswer>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let services = blocking(move || Ok(store.services()?)).await?;
    Ok(Json(weft_api_types::ServicesAnswer { services }))
}

async fn operations(
    State(store): State<Store>,
    Path(service): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<weft_api_types::OperationsAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["spanKind"])?;
    let kind = params.parsed("spanKind", parse_span_kind)?;
    let operations = blocking(move || Ok(store.operations(&service, kind)?)).await?;
    Ok(Json(weft_api_types::OperationsAnswer {
        operations: operations
            .iter()
            .map(|operation| weft_api_types::Operation {
                name: operation.name.clone(),
                span_kind: operation.span_kind.as_str().to_owned(),
                last_seen_unix_nano: operation.last_seen_unix_nanos.to_string(),
            })
            .collect(),
    }))
}

/// Services, their operations and attribute keys with first/last seen and top values.
async fn catalog(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<weft_api_types::CatalogAnswer>, ApiError> {
    use weft_api_types::{CatalogAnswer, CatalogAttribute, CatalogOperation, CatalogService};
    let params = Params::parse(raw.as_deref(), &["service", "topValues"])?;
    let service = params.single("service")?.map(str::to_owned);
    let top_values = params
        .parsed("topValues", parse_u64)?
        .unwrap_or(10)
        .min(100) as usize;
    let services = blocking(move || Ok(store.catalog(service.as_deref(), top_values)?)).await?;
    let nanos = |unix_nanos: u64| unix_nanos.to_string();
    Ok(Json(CatalogAnswer {
        services: services
            .iter()
            .map(|service| CatalogService {
                name: service.name.clone(),
                first_seen_unix_nano: nanos(service.first_seen_unix_nanos),
                last_seen_unix_nano: nanos(service.last_seen_unix_nanos),
                operations: service
                    .operations
                    .iter()
                    .map(|operation| CatalogOperation {
                        name: operation.name.clone(),
                        span_kind: operation.span_kind.as_str().to_owned(),
                        first_seen_unix_nano: nanos(operation.first_seen_unix_nanos),
                        last_seen_unix_nano: nanos(operation.last_seen_unix_nanos),
                    })
                    .collect(),
                attributes: service
                    .attributes
                    .iter()
                    .map(|attribute| CatalogAttribute {
                        key: attribute.key.clone(),
                        scope: attribute.scope.to_owned(),
                        first_seen_unix_nano: nanos(attribute.first_seen_unix_nanos),
                        last_seen_unix_nano: nanos(attribute.last_seen_unix_nanos),
                        top_values: attribute
                            .top_values
                            .iter()
                            .map(|(value, count)| weft_api_types::ValueCount {
                                value: value.clone(),
                                count: *count,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }))
}

async fn attribute_keys(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<weft_api_types::AttributeKeysAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["service"])?;
    let service = params.single("service")?.map(str::to_owned);
    let keys = blocking(move || Ok(store.attribute_keys(service.as_deref())?)).await?;
    Ok(Json(weft_api_types::AttributeKeysAnswer {
        keys: keys
            .iter()
            .map(|key| weft_api_types::AttributeKey {
                key: key.key.clone(),
                scope: key.scope.to_owned(),
            })
            .collect(),
    }))
}

async fn attribute_values(
    State(store): State<Store>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<weft_api_types::AttributeValuesAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["prefix"])?;
    let prefix = params.single("prefix")?.unwrap_or("").to_owned();
    let values = blocking(move || Ok(store.attribute_values(&key, &prefix)?)).await?;
    Ok(Json(weft_api_types::AttributeValuesAnswer { values }))
}
