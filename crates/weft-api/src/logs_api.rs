//! The logs API: a trace's log records, and log search by time, service, text and severity
//! (documented in `docs/openapi.yaml`).

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use weft_api_types::{LogRecordAnswer, LogScope, LogSearchAnswer, TraceLogsAnswer};
use weft_model::{severity_floor_of, AttributeValue, KeyValue, LogRecord, TraceId};
use weft_storage::LogQuery;

use crate::jaeger::attribute_json;
use crate::params::{parse_trace_id, parse_u64, ApiError, Params};
use crate::query_api::{blocking, tier_choice, Store};
use weft_query::tiers::{Tier, TierChoice};

const DEFAULT_LOOKBACK_NANOS: u64 = 3_600 * 1_000_000_000;
const DEFAULT_LIMIT: u64 = 100;
/// Most records one search answers: a page, not a dump.
const MAX_LIMIT: u64 = 1_000;

pub fn router() -> Router<Store> {
    Router::new()
        .route("/api/v1/traces/{trace_id}/logs", get(trace_logs))
        .route("/api/v1/logs", get(search_logs))
}

async fn trace_logs(
    State(store): State<Store>,
    Path(trace_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TraceLogsAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["tier"])?;
    let choice = tier_choice(&params)?;
    let trace_id = parse_trace_id(&trace_id)?;
    let (records, tier) = blocking(move || {
        // The spans' heads say which tier holds the trace and when it ran; nothing more of
        // them is decoded.
        let (summary, found_in) = store.trace_summary(&trace_id, choice)?;
        let time_range = summary.as_ref().map(|summary| {
            (
                summary.start_unix_nanos,
                summary.start_unix_nanos + summary.duration_nanos,
            )
        });
        let tier = match choice {
            TierChoice::Hot => Some(Tier::Hot),
            TierChoice::Cold => Some(Tier::Cold),
            TierChoice::Auto | TierChoice::All => summary.is_some().then_some(found_in),
        };
        Ok(store.trace_logs(&trace_id, time_range, tier)?)
    })
    .await?;
    Ok(Json(TraceLogsAnswer {
        trace_id: trace_id.to_hex(),
        tier: tier.as_str().to_owned(),
        logs: records.iter().map(log_record_answer).collect(),
    }))
}

const SEARCH_PARAMETERS: [&str; 10] = [
    "service", "q", "severity", "traceId", "start", "end", "lookback", "limit", "tier", "text",
];

fn log_query(params: &Params) -> Result<LogQuery, ApiError> {
    let (start, end) = params.time_range(DEFAULT_LOOKBACK_NANOS)?;
    if start > end {
        return Err(ApiError::invalid(format!(
            "start {start} is after end {end}"
        )));
    }
    let limit = params.parsed("limit", parse_u64)?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::invalid(format!(
            "invalid limit {limit}: expected 1 to {MAX_LIMIT}"
        )));
    }
    let min_severity = params.parsed("severity", |text| {
        severity_floor_of(text)
            .ok_or_else(|| "expected trace, debug, info, warn, error or fatal".to_owned())
    })?;
    let text = match (params.single("q")?, params.single("text")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "give the text to find as q or as text, not both",
            ))
        }
        (query, text) => query.or(text).map(str::to_owned),
    };
    let trace_id: Option<TraceId> = params.single("traceId")?.map(parse_trace_id).transpose()?;
    Ok(LogQuery {
        start_unix_nanos: start,
        end_unix_nanos: end,
        service: params.single("service")?.map(str::to_owned),
        text,
        min_severity,
        trace_id,
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    })
}

async fn search_logs(
    State(store): State<Store>,
    RawQuery(raw): RawQuery,
) -> Result<Json<LogSearchAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &SEARCH_PARAMETERS)?;
    let query = log_query(&params)?;
    let tier = match tier_choice(&params)? {
        TierChoice::Auto | TierChoice::Hot => Tier::Hot,
        TierChoice::Cold => Tier::Cold,
        TierChoice::All => {
            return Err(ApiError::invalid(
                "log search reads one tier: use tier=hot (the default) or tier=cold",
            ))
        }
    };
    let limit = query.limit;
    let result = blocking(move || {
        let log_store = match tier {
            Tier::Hot => &store.logs.hot,
            Tier::Cold => &store.logs.cold,
        };
        Ok(log_store.search(&query)?)
    })
    .await?;
    Ok(Json(LogSearchAnswer {
        tier: tier.as_str().to_owned(),
        logs: result.records.iter().map(log_record_answer).collect(),
        scanned_records: result.scanned_records,
        limit: limit as u64,
    }))
}

/// One record in the API's JSON: IDs in hex, times as decimal strings (64-bit), the body
/// as text, attributes as an object.
pub fn log_record_answer(record: &LogRecord) -> LogRecordAnswer {
    LogRecordAnswer {
        time_unix_nano: record.time_unix_nanos.to_string(),
        observed_time_unix_nano: record.observed_time_unix_nanos.to_string(),
        trace_id: record.trace_id.map(|id| id.to_hex()),
        span_id: record.span_id.map(|id| id.to_hex()),
        severity_number: record.severity_number,
        severity_text: record.severity_text.clone(),
        severity: record.severity_name().to_owned(),
        service_name: record.service_name.to_string(),
        body: record.body_text().to_string(),
        attributes: attributes_json(&record.attributes),
        resource: attributes_json(&record.resource.attributes),
        scope: LogScope {
            name: record.scope.name.to_string(),
            version: record.scope.version.to_string(),
        },
        event_name: record.event_name.clone(),
    }
}

/// Attributes as a JSON object (a repeated key keeps its last value, as OTLP's own JSON
/// readers do).
fn attributes_json(attributes: &[KeyValue]) -> Value {
    attribute_json(&AttributeValue::Map(attributes.to_vec()))
}
