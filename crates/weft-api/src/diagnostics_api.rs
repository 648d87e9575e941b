//! The diagnostics API: findings, the interruption rate, service-graph cycles, database, Redis
//! and operation statistics, trace summary rows by finding, and one trace's diagnosis.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use weft_api_types::{
    AnalysisSettings, AssemblerStatus, CyclesAnswer, DatabaseReport, DiagnosedTrace,
    DiagnosedTracesAnswer, DiagnosticsOverview, FindingsAnswer, InterruptionReport,
    OperationsReport, RangedReport, RedisReport, SummaryStoreStatus, TimeRangeAnswer,
    TraceDiagnosisAnswer, TraceDiagnosisSummary, TraceFinding,
};
use weft_diagnose::{
    analyze_spans, span_facts, AnalysisConfig, AssemblerSnapshot, Completion, DiagnosticsSnapshot,
    DiagnosticsSource, FindingKind, Interner, Statistics, StatisticsFilter, TimeRange,
};
use weft_storage::summaries::{SummaryQuery, SummaryReader, TraceSummaryRow};
use weft_storage::TraceQuery;

use crate::params::{parse_go_duration_nanos, parse_trace_id, parse_u64, ApiError, Params};
use crate::query_api::{blocking, tier_choice, Store};

const DEFAULT_LOOKBACK_NANOS: u64 = 3_600 * 1_000_000_000;

/// What the diagnostics API reads: statistics snapshots from a source (the live diagnoser
/// beside the pipeline, or the summary store's committed deltas), the trace summary rows, and
/// the spans (for one trace's diagnosis) — no processor.
#[derive(Clone)]
pub struct DiagnosticsApiState {
    pub source: Arc<dyn DiagnosticsSource>,
    pub summaries: Arc<dyn SummaryReader>,
    /// How one trace's diagnosis is computed: as the processor analyzes a trace.
    pub analysis: AnalysisConfig,
    pub store: Store,
}

/// The same routes answering 501 with `message`, on a node without diagnostics.
pub fn disabled_router(message: &'static str) -> Router {
    let answer = move || async move { ApiError::unimplemented(message) };
    Router::new()
        .route("/api/v1/diagnostics", get(answer))
        .route("/api/v1/diagnostics/findings", get(answer))
        .route("/api/v1/diagnostics/interruptions", get(answer))
        .route("/api/v1/diagnostics/cycles", get(answer))
        .route("/api/v1/diagnostics/traces", get(answer))
        .route("/api/v1/statistics/database", get(answer))
        .route("/api/v1/statistics/redis", get(answer))
        .route("/api/v1/statistics/operations", get(answer))
        .route("/api/v1/traces/{trace_id}/diagnosis", get(answer))
}

pub fn router(state: DiagnosticsApiState) -> Router {
    Router::new()
        .route("/api/v1/diagnostics", get(overview))
        .route("/api/v1/diagnostics/findings", get(findings))
        .route("/api/v1/diagnostics/interruptions", get(interruptions))
        .route("/api/v1/diagnostics/cycles", get(cycles))
        .route("/api/v1/diagnostics/traces", get(traces))
        .route("/api/v1/statistics/database", get(database))
        .route("/api/v1/statistics/redis", get(redis))
        .route("/api/v1/statistics/operations", get(operations))
        .route("/api/v1/traces/{trace_id}/diagnosis", get(trace_diagnosis))
        .with_state(state)
}

const LIST_PARAMETERS: [&str; 6] = ["service", "start", "end", "lookback", "limit", "kind"];

/// The range and filter every list endpoint takes.
fn list_query(
    raw: Option<&str>,
    allowed: &[&str],
) -> Result<(TimeRange, StatisticsFilter), ApiError> {
    let params = Params::parse(raw, allowed)?;
    let (start, end) = params.time_range(DEFAULT_LOOKBACK_NANOS)?;
    if start >= end {
        return Err(ApiError::invalid("start must be before end"));
    }
    let limit = params
        .parsed("limit", parse_u64)?
        .map(|limit| usize::try_from(limit).unwrap_or(usize::MAX));
    if limit == Some(0) || limit.is_some_and(|limit| limit > 1000) {
        return Err(ApiError::invalid("limit must be between 1 and 1000"));
    }
    let kind = params.parsed("kind", parse_kind)?;
    Ok((
        TimeRange {
            start_unix_nanos: start,
            end_unix_nanos: end,
        },
        StatisticsFilter {
            service: params.single("service")?.map(str::to_owned),
            kind,
            limit,
        },
    ))
}

fn parse_kind(text: &str) -> Result<FindingKind, String> {
    FindingKind::parse(text).ok_or_else(|| {
        format!(
            "unknown finding kind; known: {}",
            FindingKind::ALL
                .iter()
                .map(|kind| kind.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn range_answer(range: TimeRange) -> TimeRangeAnswer {
    TimeRangeAnswer {
        start: range.start_unix_nanos.to_string(),
        end: range.end_unix_nanos.to_string(),
    }
}

fn assembler_status(view: &AssemblerSnapshot) -> AssemblerStatus {
    let counters = &view.counters;
    let config = &view.config;
    AssemblerStatus {
        open_traces: view.open_traces as u64,
        open_spans: view.open_spans as u64,
        traces_analyzed: counters.traces_analyzed,
        late_spans: counters.assembler.late_spans,
        dropped_spans: counters.assembler.spans_dropped_over_trace_cap,
        evicted_traces: counters.assembler.traces_evicted,
        cut_traces: counters.assembler.traces_cut_by_age,
        replayed_spans_skipped: counters.replayed_spans_skipped,
        inactivity_timeout_seconds: config.inactivity_timeout.as_secs_f64(),
        max_open_traces: config.max_open_traces as u64,
        max_open_spans: config.max_open_spans as u64,
        max_spans_per_trace: config.max_spans_per_trace as u64,
    }
}

/// Computes an answer from a snapshot on a blocking thread: taking one may read the store,
/// and reports sort and merge bucket tables, which neither the async runtime nor the
/// pipeline's lock should wait for.
async fn from_view<T: Send + 'static>(
    state: &DiagnosticsApiState,
    compute: impl FnOnce(&DiagnosticsSnapshot) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let source = Arc::clone(&state.source);
    blocking(move || {
        let snapshot = source
            .snapshot()
            .map_err(|error| ApiError::internal(error.to_string()))?;
        Ok(compute(&snapshot))
    })
    .await
}

/// Everything about one service (or all): what `weft diagnose` prints.
async fn overview(
    State(state): State<DiagnosticsApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<DiagnosticsOverview>, ApiError> {
    let (range, filter) = list_query(raw.as_deref(), &LIST_PARAMETERS)?;
    let summaries = state.summaries.local_stats();
    from_view(&state, move |view| {
        let statistics = &view.statistics;
        let top = |limit: usize| StatisticsFilter {
            limit: Some(filter.limit.unwrap_or(limit)),
            ..filter.clone()
        };
        DiagnosticsOverview {
            service: filter.service.clone(),
            range: range_answer(range),
            assembler: view.assembler.as_ref().map(assembler_status),
            summary_store: summaries.as_ref().map(|summaries| SummaryStoreStatus {
                files: summaries.files as u64,
                rows: summaries.rows,
                bytes: summaries.bytes,
                committed_position: summaries.position,
            }),
            findings: statistics.findings(range, &top(50)),
            interruptions: statistics.interruptions(range, &top(20)),
            cycles: statistics.graph_cycles(range, &filter),
            database: statistics.database(range, &top(10)),
            redis: statistics.redis(range, &top(10)),
            operations: statistics.operations(range, &top(10)),
        }
    })
    .await
    .map(Json)
}

async fn findings(
    State(state): State<DiagnosticsApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<FindingsAnswer>, ApiError> {
    let (range, filter) = list_query(raw.as_deref(), &LIST_PARAMETERS)?;
    let findings = from_view(&state, move |view| view.statistics.findings(range, &filter)).await?;
    Ok(Json(FindingsAnswer {
        range: range_answer(range),
        findings,
    }))
}

/// The parameters of the report endpoints: no `kind`.
const REPORT_PARAMETERS: [&str; 5] = ["service", "start", "end", "lookback", "limit"];

/// A statistics report for the range and filter of the query, with the range beside it.
async fn report<T: Send + 'static>(
    state: &DiagnosticsApiState,
    raw: Option<&str>,
    read: fn(&Statistics, TimeRange, &StatisticsFilter) -> T,
) -> Result<Json<RangedReport<T>>, ApiError> {
    let (range, filter) = list_query(raw, &REPORT_PARAMETERS)?;
    let report = from_view(state, move |view| read(&view.statistics, range, &filter)).await?;
    Ok(Json(RangedReport {
        range: range_answer(range),
        report,
    }))
}

async fn interruptions(
    State(state): State<DiagnosticsApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RangedReport<InterruptionReport>>, ApiError> {
    report(&state, raw.as_deref(), Statistics::interruptions).await
}

async fn cycles(
    State(state): State<DiagnosticsApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<CyclesAnswer>, ApiError> {
    let (range, filter) = list_query(raw.as_deref(), &["service", "start", "end", "lookback"])?;
    let cycles = from_view(&state, move |view| {
        view.statistics.graph_cycles(range, &filter)
    })
    .await?;
    Ok(Json(CyclesAnswer {
        range: range_answer(range),
        cycles,
    }))
}

async fn database(
    State(state): State<DiagnosticsApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RangedReport<DatabaseReport>>, ApiError> {
    report(&state, raw.as_deref(), Statistics::database).await
}

async fn redis(
    State(state): State<DiagnosticsApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RangedReport<RedisReport>>, ApiError> {
    report(&state, raw.as_deref(), Statistics::redis).await
}

async fn operations(
    State(state): State<DiagnosticsApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RangedReport<OperationsReport>>, ApiError> {
    report(&state, raw.as_deref(), Statistics::operations).await
}

fn diagnosed_trace(row: &TraceSummaryRow) -> DiagnosedTrace {
    let names = |list: &str| {
        list.split(',')
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    };
    DiagnosedTrace {
        trace_id: weft_model::TraceId::from_bytes(row.trace_id).to_hex(),
        root_service: row.root_service.clone(),
        root_operation: row.root_operation.clone(),
        start_time_unix_nano: row.start_unix_nanos.to_string(),
        duration_nanos: row.duration_nanos.to_string(),
        span_count: u64::from(row.span_count),
        error_count: u64::from(row.error_count),
        service_count: u64::from(row.service_count),
        orphan_span_count: u64::from(row.orphan_span_count),
        dropped_span_count: row.dropped_span_count,
        truncated: row.truncated,
        completion: row.completion.clone(),
        findings: names(&row.findings),
        services: names(&row.services),
    }
}

/// Trace summary rows, newest first: traces with a finding of the kinds asked for.
async fn traces(
    State(state): State<DiagnosticsApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<DiagnosedTracesAnswer>, ApiError> {
    let params = Params::parse(
        raw.as_deref(),
        &[
            "service",
            "start",
            "end",
            "lookback",
            "limit",
            "kind",
            "minDuration",
        ],
    )?;
    let (start, end) = params.time_range(DEFAULT_LOOKBACK_NANOS)?;
    if start >= end {
        return Err(ApiError::invalid("start must be before end"));
    }
    let mut kinds = 0u8;
    for text in params.all("kind") {
        kinds |= parse_kind(text)
            .map_err(|error| ApiError::invalid(format!("invalid kind {text:?}: {error}")))?
            .bit();
    }
    let limit = params.parsed("limit", parse_u64)?.unwrap_or(20);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit must be between 1 and 1000"));
    }
    let query = SummaryQuery {
        start_unix_nanos: start,
        end_unix_nanos: end,
        service: params.single("service")?.map(str::to_owned),
        finding_kinds_any: kinds,
        min_duration_nanos: params.parsed("minDuration", parse_go_duration_nanos)?,
        limit: limit as usize,
    };
    let summaries = Arc::clone(&state.summaries);
    let rows = blocking(move || summaries.search(&query).map_err(ApiError::from)).await?;
    Ok(Json(DiagnosedTracesAnswer {
        range: range_answer(TimeRange {
            start_unix_nanos: start,
            end_unix_nanos: end,
        }),
        traces: rows.iter().map(diagnosed_trace).collect(),
    }))
}

/// One trace's diagnosis, computed from its stored spans (either tier), so it is there for any
/// trace the stores hold, whether or not the stream statistics still cover its time.
async fn trace_diagnosis(
    State(state): State<DiagnosticsApiState>,
    Path(trace_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TraceDiagnosisAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["tier"])?;
    let choice = tier_choice(&params)?;
    let trace_id = parse_trace_id(&trace_id)?;
    let store = Arc::clone(&state.store);
    let (spans, tier) = blocking(move || {
        store
            .trace(&TraceQuery::new(trace_id), choice)
            .map_err(ApiError::from)
    })
    .await?;
    if spans.is_empty() {
        return Err(ApiError::not_found(format!("trace {trace_id} not found")));
    }
    let config = state.analysis.clone();
    let mut interner = Interner::new(10_000);
    let facts: Vec<_> = spans
        .iter()
        .map(|span| span_facts(span, &mut interner))
        .collect();
    let diagnosis = analyze_spans(trace_id, &facts, 0, Completion::Inactive, &config);
    let summary = &diagnosis.summary;
    Ok(Json(TraceDiagnosisAnswer {
        trace_id: trace_id.to_hex(),
        tier: tier.as_str().to_owned(),
        summary: TraceDiagnosisSummary {
            root_service: summary.root_service.to_string(),
            root_operation: summary.root_operation.to_string(),
            start_time_unix_nano: summary.start_unix_nanos.to_string(),
            duration_nanos: summary.duration_nanos.to_string(),
            span_count: u64::from(summary.span_count),
            error_count: u64::from(summary.error_count),
            service_count: u64::from(summary.service_count),
            orphan_span_count: u64::from(summary.orphan_span_count),
        },
        findings: diagnosis
            .findings
            .iter()
            .map(|finding| TraceFinding {
                kind: finding.kind.as_str().to_owned(),
                title: finding.kind.title().to_owned(),
                service: finding.service.to_string(),
                operation: finding.operation.to_string(),
                detail: finding.detail.clone(),
                message: finding.message.clone(),
                value: finding.value,
                span_ids: finding.span_ids.iter().map(|id| id.to_hex()).collect(),
            })
            .collect(),
        critical_path: diagnosis
            .critical_path
            .iter()
            .map(|id| id.to_hex())
            .collect(),
        settings: AnalysisSettings {
            bottleneck_share: config.bottleneck_share,
            repeated_call_threshold: config.repeated_call_threshold as u64,
        },
    }))
}
