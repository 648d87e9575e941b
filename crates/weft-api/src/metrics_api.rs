//! Metric, exemplar and topology queries: Weft's JSON API (`/api/v1/metrics/…`,
//! `/api/v1/topology`), Jaeger's `/api/dependencies` and `/api/metrics/…` (the Monitor tab), and
//! the OpenMetrics exposition of span metrics (`/metrics/spans`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use weft_api_types::jaeger_v1::{
    DependencyLink, Envelope, GaugeValue, Label, Metric, MetricFamily, MetricPoint,
};
use weft_api_types::jaeger_v3 as v3;
use weft_api_types::{
    Exemplar, ExemplarsAnswer, MetricSeries, MetricWindow, OperationEdge, OperationStats, RedStats,
    SeriesAnswer, SeriesPoint, TopOperationsAnswer, TopologyAnswer, TopologyEdge, TopologyNode,
};
use weft_metrics::topology::EdgeKey;
use weft_metrics::{Bucket, ExemplarReason, SeriesKey};
use weft_model::SpanKind;
use weft_storage::metrics::{MetricKey, MetricRow, Resolution};

use crate::jaeger::{envelope, JaegerError};
use crate::jaeger_v3::{parse_rfc3339_nanos, V3Error, V3Params};
use crate::params::{now_unix_nanos, parse_u64, ApiError, Params};
use crate::query_api::{blocking, parse_span_kind};
use weft_storage::metrics::MetricRowsReader;

/// What the metrics API reads: metric rows (beside the pipeline, the metrics processor's,
/// open buckets included; in a query process of its own, the metric store's) and, beside the
/// pipeline, the span metrics' OpenMetrics exposition.
pub struct MetricsApiState {
    pub rows: Arc<dyn MetricRowsReader>,
    /// Writes the exposition of `/metrics/spans`; `None` where no metrics processor runs.
    pub span_exposition: Option<SpanExposition>,
}

/// Encodes an OpenMetrics exposition into the string.
pub type SpanExposition = Arc<dyn Fn(&mut String) -> std::fmt::Result + Send + Sync>;

impl MetricsApiState {
    fn rows(
        &self,
        resolution: Resolution,
        range_secs: std::ops::Range<u64>,
        keep: &dyn Fn(&MetricKey) -> bool,
    ) -> Result<Vec<MetricRow>, weft_storage::StoreError> {
        self.rows.rows(resolution, range_secs, keep)
    }
}

pub type Hub = Arc<MetricsApiState>;

const NANOS_PER_SECOND: u64 = 1_000_000_000;
const DEFAULT_LOOKBACK_NANOS: u64 = 3_600 * NANOS_PER_SECOND;
/// Most points one series answer may hold (Prometheus caps range queries at 11,000 too).
const MAX_POINTS: u64 = 11_000;
/// Longest Jaeger `ratePer` window.
const MAX_RATE_PER_MS: u64 = 86_400_000;
/// Most bucket merges one Jaeger metrics request may cost (points × buckets per rate window ×
/// series groups): about a second of one core.
const MAX_BUCKET_MERGES: u64 = 2_000_000;

pub fn router() -> Router<Hub> {
    Router::new()
        .route("/api/v1/metrics/series", get(series))
        .route("/api/v1/metrics/operations", get(top_operations))
        .route("/api/v1/metrics/exemplars", get(exemplars))
        .route("/api/v1/topology", get(topology))
        .route("/api/dependencies", get(jaeger_dependencies))
        .route("/api/v3/dependencies", get(jaeger_v3_dependencies))
        .route("/api/metrics/minstep", get(jaeger_min_step))
        .route("/api/metrics/{kind}", get(jaeger_metrics))
        .route("/metrics/spans", get(span_exposition))
}

/// The same endpoints on a node started with `--no-stream-metrics`: each answers 501 in its
/// API's envelope (Jaeger's own query service answers its metric endpoints the same way when
/// its metrics storage is off), so a dashboard shows why it is empty instead of an empty chart.
pub fn disabled_router<S: Clone + Send + Sync + 'static>(message: &'static str) -> Router<S> {
    let weft = move || async move { ApiError::unimplemented(message) };
    let jaeger = move || async move { JaegerError(ApiError::unimplemented(message)) };
    let jaeger_v3 = move || async move { V3Error(ApiError::unimplemented(message)) };
    Router::new()
        .route("/api/v1/metrics/series", get(weft))
        .route("/api/v1/metrics/operations", get(weft))
        .route("/api/v1/metrics/exemplars", get(weft))
        .route("/api/v1/topology", get(weft))
        .route("/api/dependencies", get(jaeger))
        .route("/api/v3/dependencies", get(jaeger_v3))
        .route("/api/metrics/minstep", get(jaeger))
        .route("/api/metrics/{kind}", get(jaeger))
        .route("/metrics/spans", get(weft))
}

/// A time range in whole seconds, `[start, end)`, and the resolution that answers it.
#[derive(Debug, Clone, Copy)]
struct Window {
    start_secs: u64,
    end_secs: u64,
    resolution: Resolution,
}

impl Window {
    /// `[start_secs, end_secs)` at the resolution [`auto_resolution`] picks for it now.
    fn automatic(hub: &MetricsApiState, start_secs: u64, end_secs: u64) -> Self {
        Window {
            start_secs,
            end_secs,
            resolution: auto_resolution(
                hub,
                start_secs,
                end_secs,
                now_unix_nanos() / NANOS_PER_SECOND,
            ),
        }
    }

    fn step(&self) -> u64 {
        self.resolution.seconds()
    }

    /// Bucket starts covering the range.
    fn bucket_range(&self) -> std::ops::Range<u64> {
        let step = self.step();
        (self.start_secs - self.start_secs % step)..self.end_secs
    }

    /// Seconds the buckets of the range cover (what rates are per).
    fn seconds(&self) -> u64 {
        self.end_secs - self.bucket_range().start
    }
}

/// The finest resolution that keeps the answer under ~1,500 points and still holds the start of
/// the range (each resolution has its own retention).
fn auto_resolution(
    hub: &MetricsApiState,
    start_secs: u64,
    end_secs: u64,
    now_secs: u64,
) -> Resolution {
    let span = end_secs.saturating_sub(start_secs);
    for resolution in Resolution::ALL {
        let retained_from = now_secs.saturating_sub(hub.rows.retention_of(resolution).as_secs());
        if span / resolution.seconds() <= 1_500 && start_secs >= retained_from {
            return resolution;
        }
    }
    Resolution::OneHour
}

fn window_of(params: &Params, hub: &MetricsApiState) -> Result<Window, ApiError> {
    let (start, end) = params.time_range(DEFAULT_LOOKBACK_NANOS)?;
    if start >= end {
        return Err(ApiError::invalid(
            "start is not before end: the time range is empty or inverted",
        ));
    }
    let (start_secs, end_secs) = (start / NANOS_PER_SECOND, end.div_ceil(NANOS_PER_SECOND));
    let resolution = match params.single("resolution")? {
        None | Some("auto") => Window::automatic(hub, start_secs, end_secs).resolution,
        Some(text) => Resolution::parse(text).ok_or_else(|| {
            ApiError::invalid(format!(
                "invalid resolution {text:?}: expected auto, 30s, 10m or 1h"
            ))
        })?,
    };
    if (end_secs - start_secs) / resolution.seconds() > MAX_POINTS {
        return Err(ApiError::invalid(format!(
            "the range holds more than {MAX_POINTS} buckets at resolution {}: choose a coarser resolution or a shorter range",
            resolution.name()
        )));
    }
    Ok(Window {
        start_secs,
        end_secs,
        resolution,
    })
}

/// Which span series a query selects.
#[derive(Clone)]
struct SeriesFilter {
    services: Vec<String>,
    operation: Option<String>,
    kinds: Vec<SpanKind>,
}

impl SeriesFilter {
    fn accepts(&self, key: &SeriesKey) -> bool {
        (self.services.is_empty() || self.services.contains(&key.service_name))
            && self
                .operation
                .as_ref()
                .is_none_or(|operation| *operation == key.span_name)
            && (self.kinds.is_empty() || self.kinds.contains(&key.span_kind()))
    }
}

/// The series of the required `service` (optionally one `operation` and `spanKind`).
fn series_filter(params: &Params) -> Result<SeriesFilter, ApiError> {
    let service = params
        .single("service")?
        .ok_or_else(|| ApiError::invalid("the service parameter is required"))?;
    Ok(SeriesFilter {
        services: vec![service.to_owned()],
        operation: params.single("operation")?.map(str::to_owned),
        kinds: params
            .parsed("spanKind", parse_span_kind)?
            .into_iter()
            .collect(),
    })
}

fn span_rows(
    hub: &MetricsApiState,
    window: Window,
    filter: &SeriesFilter,
) -> Result<Vec<(u64, SeriesKey, Bucket)>, ApiError> {
    let rows = hub.rows(
        window.resolution,
        window.bucket_range(),
        &|key| matches!(key, MetricKey::Span(series) if filter.accepts(series)),
    )?;
    Ok(rows
        .into_iter()
        .filter_map(
            |MetricRow {
                 start_secs,
                 key,
                 bucket,
             }| match key {
                MetricKey::Span(series) => Some((start_secs, series, bucket)),
                MetricKey::Edge(_) => None,
            },
        )
        .collect())
}

fn millis(nanos: Option<u64>) -> Option<f64> {
    nanos.map(|nanos| nanos as f64 / 1e6)
}

/// Calls, errors and latency of a bucket (or a merge of buckets) over `seconds`.
fn red_stats(bucket: &Bucket, seconds: u64) -> RedStats {
    RedStats {
        calls: bucket.calls,
        calls_per_second: bucket.calls as f64 / seconds.max(1) as f64,
        errors: bucket.errors,
        error_rate: (bucket.calls > 0).then(|| bucket.errors as f64 / bucket.calls as f64),
        p50_millis: millis(bucket.quantile_nanos(0.5)),
        p90_millis: millis(bucket.quantile_nanos(0.9)),
        p95_millis: millis(bucket.quantile_nanos(0.95)),
        p99_millis: millis(bucket.quantile_nanos(0.99)),
        mean_millis: millis(bucket.mean_nanos()),
        min_millis: millis((bucket.calls > 0).then_some(bucket.duration_min_nanos)),
        max_millis: millis((bucket.calls > 0).then_some(bucket.duration_max_nanos)),
    }
}

fn metric_window(window: Window) -> MetricWindow {
    MetricWindow {
        resolution: window.resolution.name().to_owned(),
        step_seconds: window.step(),
        start_unix_seconds: window.bucket_range().start,
        end_unix_seconds: window.end_secs,
    }
}

const SERIES_PARAMETERS: [&str; 8] = [
    "service",
    "operation",
    "spanKind",
    "start",
    "end",
    "lookback",
    "resolution",
    "groupBy",
];

async fn series(
    State(hub): State<Hub>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SeriesAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &SERIES_PARAMETERS)?;
    let window = window_of(&params, &hub)?;
    let filter = series_filter(&params)?;
    let by_operation = match params.single("groupBy")? {
        None => false,
        Some("operation") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "invalid groupBy {other:?}: expected operation"
            )))
        }
    };
    let rows = blocking(move || span_rows(&hub, window, &filter)).await?;
    // (operation, kind) or the whole service -> bucket start -> merged bucket
    let mut groups: BTreeMap<Option<(String, i32)>, BTreeMap<u64, Bucket>> = BTreeMap::new();
    let service = rows.first().map(|(_, key, _)| key.service_name.clone());
    for (start, key, bucket) in rows {
        let group = by_operation.then(|| (key.span_name.clone(), key.span_kind));
        groups
            .entry(group)
            .or_default()
            .entry(start)
            .or_default()
            .merge(&bucket);
    }
    let step = window.step();
    let empty = Bucket::default();
    let series: Vec<MetricSeries> = groups
        .into_iter()
        .map(|(group, buckets)| {
            let mut total = Bucket::default();
            for bucket in buckets.values() {
                total.merge(bucket);
            }
            let points: Vec<SeriesPoint> = window
                .bucket_range()
                .step_by(step as usize)
                .map(|start| {
                    let bucket = buckets.get(&start).unwrap_or(&empty);
                    SeriesPoint {
                        stats: red_stats(bucket, step),
                        time_unix_seconds: start,
                        exemplars: bucket.exemplars.len() as u64,
                    }
                })
                .collect();
            MetricSeries {
                service_name: service.clone().unwrap_or_default(),
                operation: group.as_ref().map(|(name, _)| name.clone()),
                span_kind: group
                    .as_ref()
                    .map(|(_, kind)| SpanKind::from_otlp(*kind).as_str().to_owned()),
                totals: red_stats(&total, window.seconds()),
                points,
            }
        })
        .collect();
    Ok(Json(SeriesAnswer {
        window: metric_window(window),
        series,
    }))
}

const TOP_OPERATION_PARAMETERS: [&str; 8] = [
    "service",
    "spanKind",
    "start",
    "end",
    "lookback",
    "resolution",
    "sortBy",
    "limit",
];

async fn top_operations(
    State(hub): State<Hub>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TopOperationsAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &TOP_OPERATION_PARAMETERS)?;
    let window = window_of(&params, &hub)?;
    let filter = series_filter(&params)?;
    let sort_by = params.single("sortBy")?.unwrap_or("calls").to_owned();
    let quantile = match sort_by.as_str() {
        "calls" | "errors" | "errorRate" => None,
        "p50" => Some(0.5),
        "p90" => Some(0.9),
        "p99" => Some(0.99),
        other => {
            return Err(ApiError::invalid(format!(
                "invalid sortBy {other:?}: expected calls, errors, errorRate, p50, p90 or p99"
            )))
        }
    };
    let limit = params
        .parsed("limit", parse_u64)?
        .unwrap_or(20)
        .clamp(1, 1_000) as usize;
    let rows = blocking(move || span_rows(&hub, window, &filter)).await?;
    let mut operations: BTreeMap<(String, i32), Bucket> = BTreeMap::new();
    for (_, key, bucket) in rows {
        operations
            .entry((key.span_name.clone(), key.span_kind))
            .or_default()
            .merge(&bucket);
    }
    let rank = |bucket: &Bucket| -> f64 {
        match (sort_by.as_str(), quantile) {
            (_, Some(q)) => bucket.quantile_nanos(q).unwrap_or(0) as f64,
            ("errors", _) => bucket.errors as f64,
            ("errorRate", _) => bucket.errors as f64 / bucket.calls.max(1) as f64,
            _ => bucket.calls as f64,
        }
    };
    let mut ranked: Vec<((String, i32), Bucket)> = operations.into_iter().collect();
    ranked.sort_by(|(left_key, left), (right_key, right)| {
        rank(right)
            .total_cmp(&rank(left))
            .then_with(|| left_key.cmp(right_key))
    });
    let seconds = window.seconds();
    let operations: Vec<OperationStats> = ranked
        .into_iter()
        .take(limit)
        .map(|((name, kind), bucket)| OperationStats {
            stats: red_stats(&bucket, seconds),
            operation: name,
            span_kind: SpanKind::from_otlp(kind).as_str().to_owned(),
        })
        .collect();
    Ok(Json(TopOperationsAnswer {
        window: metric_window(window),
        sort_by,
        operations,
    }))
}

const EXEMPLAR_PARAMETERS: [&str; 9] = [
    "service",
    "operation",
    "spanKind",
    "start",
    "end",
    "lookback",
    "resolution",
    "reason",
    "limit",
];

async fn exemplars(
    State(hub): State<Hub>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ExemplarsAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &EXEMPLAR_PARAMETERS)?;
    let window = window_of(&params, &hub)?;
    let filter = series_filter(&params)?;
    let reason = params.parsed("reason", |text| {
        ExemplarReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
            .ok_or_else(|| "expected slowest, sampled, keyword or error_increase".to_owned())
    })?;
    let limit = params
        .parsed("limit", parse_u64)?
        .unwrap_or(100)
        .clamp(1, 10_000) as usize;
    let rows = blocking(move || span_rows(&hub, window, &filter)).await?;
    let mut found: Vec<Exemplar> = Vec::new();
    // Newest buckets first: the most recent evidence is what an investigation wants.
    for (start, key, bucket) in rows.iter().rev() {
        for exemplar in bucket.exemplars.sorted() {
            if reason.is_some_and(|wanted| wanted != exemplar.reason) {
                continue;
            }
            found.push(Exemplar {
                trace_id: exemplar.trace_id().to_hex(),
                span_id: exemplar.span_id().to_hex(),
                reason: exemplar.reason.as_str().to_owned(),
                operation: key.span_name.clone(),
                span_kind: key.span_kind().as_str().to_owned(),
                bucket_start_unix_seconds: *start,
                start_time_unix_nano: exemplar.start_unix_nanos.to_string(),
                duration_millis: exemplar.duration_nanos as f64 / 1e6,
                is_error: exemplar.is_error,
            });
        }
    }
    let truncated = found.len() > limit;
    found.truncate(limit);
    Ok(Json(ExemplarsAnswer {
        window: metric_window(window),
        exemplars: found,
        truncated,
    }))
}

/// The operation-level edges between included services, merged over the window.
fn operation_edges(
    rows: &[MetricRow],
    included: &dyn Fn(&str) -> bool,
    seconds: u64,
) -> Vec<OperationEdge> {
    let mut merged: BTreeMap<&EdgeKey, Bucket> = BTreeMap::new();
    for row in rows {
        if let MetricKey::Edge(edge) = &row.key {
            if included(&edge.client_service) && included(&edge.server_service) {
                merged.entry(edge).or_default().merge(&row.bucket);
            }
        }
    }
    merged
        .into_iter()
        .map(|(edge, bucket)| OperationEdge {
            stats: red_stats(&bucket, seconds),
            caller: edge.client_service.clone(),
            caller_operation: edge.client_operation.clone(),
            callee: edge.server_service.clone(),
            callee_operation: edge.server_operation.clone(),
            callee_uninstrumented: edge.uninstrumented,
        })
        .collect()
}

/// Service-level edges (caller, callee, callee is an uninstrumented peer) of edge rows.
fn service_edges(rows: &[MetricRow]) -> BTreeMap<(String, String, bool), Bucket> {
    let mut edges: BTreeMap<(String, String, bool), Bucket> = BTreeMap::new();
    for row in rows {
        if let MetricKey::Edge(edge) = &row.key {
            edges
                .entry((
                    edge.client_service.clone(),
                    edge.server_service.clone(),
                    edge.uninstrumented,
                ))
                .or_default()
                .merge(&row.bucket);
        }
    }
    edges
}

fn edge_rows(hub: &MetricsApiState, window: Window) -> Result<Vec<MetricRow>, ApiError> {
    Ok(hub.rows(window.resolution, window.bucket_range(), &|key| {
        matches!(key, MetricKey::Edge(_))
    })?)
}

/// The services within `hops` calls (either direction) of `center`.
fn neighbourhood(
    edges: &BTreeMap<(String, String, bool), Bucket>,
    center: &str,
    hops: u64,
) -> BTreeSet<String> {
    let mut reached = BTreeSet::from([center.to_owned()]);
    let mut frontier = vec![center.to_owned()];
    for _ in 0..hops {
        let mut next = Vec::new();
        for (caller, callee, _) in edges.keys() {
            for (from, to) in [(caller, callee), (callee, caller)] {
                if frontier.contains(from) && reached.insert(to.clone()) {
                    next.push(to.clone());
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    reached
}

const TOPOLOGY_PARAMETERS: [&str; 7] = [
    "start",
    "end",
    "lookback",
    "resolution",
    "service",
    "hops",
    "operations",
];

async fn topology(
    State(hub): State<Hub>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TopologyAnswer>, ApiError> {
    let params = Params::parse(raw.as_deref(), &TOPOLOGY_PARAMETERS)?;
    let window = window_of(&params, &hub)?;
    let center = params.single("service")?.map(str::to_owned);
    let hops = params.parsed("hops", parse_u64)?.unwrap_or(1).min(100);
    let with_operations = params
        .parsed("operations", |text| {
            text.parse::<bool>()
                .map_err(|_| "expected true or false".to_owned())
        })?
        .unwrap_or(false);
    // One read of the files: the edges, and the server/consumer series whose calls size nodes.
    let (rows, servers): (Vec<MetricRow>, Vec<MetricRow>) = blocking(move || {
        let served = |key: &MetricKey| match key {
            MetricKey::Span(series) => {
                matches!(series.span_kind(), SpanKind::Server | SpanKind::Consumer)
            }
            MetricKey::Edge(_) => true,
        };
        let rows = hub.rows(window.resolution, window.bucket_range(), &served)?;
        Ok(rows
            .into_iter()
            .partition(|row| matches!(row.key, MetricKey::Edge(_))))
    })
    .await?;
    let edges = service_edges(&rows);
    let kept = center
        .as_ref()
        .map(|center| neighbourhood(&edges, center, hops));
    let included = |service: &str| kept.as_ref().is_none_or(|kept| kept.contains(service));
    let seconds = window.seconds();
    // Service -> (uninstrumented, calls it served)
    let mut nodes: BTreeMap<String, (bool, Bucket)> = BTreeMap::new();
    for row in &servers {
        if let MetricKey::Span(key) = &row.key {
            if included(&key.service_name) {
                nodes
                    .entry(key.service_name.clone())
                    .or_default()
                    .1
                    .merge(&row.bucket);
            }
        }
    }
    let mut edge_list = Vec::new();
    for ((caller, callee, uninstrumented), bucket) in &edges {
        if !(included(caller) && included(callee)) {
            continue;
        }
        nodes.entry(caller.clone()).or_default();
        let callee_node = nodes.entry(callee.clone()).or_default();
        if *uninstrumented {
            callee_node.0 = true;
            callee_node.1.merge(bucket);
        }
        edge_list.push(TopologyEdge {
            stats: red_stats(bucket, seconds),
            caller: caller.clone(),
            callee: callee.clone(),
            callee_uninstrumented: *uninstrumented,
        });
    }
    let node_list: Vec<TopologyNode> = nodes
        .iter()
        .map(|(name, (uninstrumented, served))| TopologyNode {
            stats: red_stats(served, seconds),
            service: name.clone(),
            uninstrumented: *uninstrumented,
        })
        .collect();
    let mut answer = TopologyAnswer {
        window: metric_window(window),
        nodes: node_list,
        edges: edge_list,
        operation_edges: None,
    };
    if with_operations {
        answer.operation_edges = Some(operation_edges(&rows, &included, seconds));
    }
    Ok(Json(answer))
}

fn jaeger_millis(params: &Params, key: &str) -> Result<Option<u64>, ApiError> {
    params.parsed(key, parse_u64)
}

/// A Jaeger range: `endTs` (default now) and `lookback` in milliseconds, and the window of
/// buckets that answers it.
struct JaegerRange {
    end_ms: u64,
    lookback_ms: u64,
    window: Window,
}

fn jaeger_range(
    hub: &MetricsApiState,
    params: &Params,
    default_lookback_ms: u64,
) -> Result<JaegerRange, ApiError> {
    let now_ms = now_unix_nanos() / 1_000_000;
    let end_ms = jaeger_millis(params, "endTs")?.unwrap_or(now_ms);
    // Jaeger takes milliseconds; `2d` and the like are accepted too (the UI's lookback names).
    let lookback_ms = params
        .parsed("lookback", |text| match text.parse::<u64>() {
            Ok(millis) => Ok(millis),
            Err(_) => crate::params::parse_lookback_nanos(text).map(|nanos| nanos / 1_000_000),
        })?
        .unwrap_or(default_lookback_ms);
    let end_secs = end_ms.div_ceil(1_000);
    let start_secs = end_ms.saturating_sub(lookback_ms) / 1_000;
    if start_secs >= end_secs {
        return Err(ApiError::invalid("lookback must be positive"));
    }
    Ok(JaegerRange {
        end_ms,
        lookback_ms,
        window: Window::automatic(hub, start_secs, end_secs),
    })
}

async fn jaeger_dependencies(
    State(hub): State<Hub>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Envelope<Vec<DependencyLink>>>, JaegerError> {
    let params = Params::parse(raw.as_deref(), &["endTs", "lookback", "service"])?;
    let window = jaeger_range(&hub, &params, 24 * 3_600_000)?.window;
    let service = params.single("service")?.map(str::to_owned);
    let rows = blocking(move || edge_rows(&hub, window)).await?;
    let links: Vec<DependencyLink> = service_edges(&rows)
        .into_iter()
        .filter(|((caller, callee, _), _)| {
            service
                .as_ref()
                .is_none_or(|service| service == caller || service == callee)
        })
        .map(|((caller, callee, _), bucket)| DependencyLink {
            parent: caller,
            child: callee,
            call_count: bucket.calls,
        })
        .collect();
    Ok(envelope(links, 0))
}

/// jaeger-query's `GET /api/v3/dependencies?startTime=…&endTime=…` (RFC 3339, both required;
/// the snake_case spellings too): every service-to-service call in the range.
async fn jaeger_v3_dependencies(
    State(hub): State<Hub>,
    RawQuery(raw): RawQuery,
) -> Result<Json<v3::Dependencies>, V3Error> {
    const START: (&str, &str) = ("startTime", "start_time");
    const END: (&str, &str) = ("endTime", "end_time");
    let params = V3Params::parse(raw.as_deref(), &[START, END])?;
    let start = params.parsed(START.0, START.1, parse_rfc3339_nanos)?;
    let end = params.parsed(END.0, END.1, parse_rfc3339_nanos)?;
    let (start, end) = match (start, end) {
        (None, _) => return Err(missing_parameter(START.0)),
        (_, None) => return Err(missing_parameter(END.0)),
        (Some(start), Some(end)) => (start, end),
    };
    if end <= start {
        return Err(ApiError::invalid(format!("{} must be after {}", END.0, START.0)).into());
    }
    let (start_secs, end_secs) = (start / NANOS_PER_SECOND, end.div_ceil(NANOS_PER_SECOND));
    let window = Window::automatic(&hub, start_secs, end_secs);
    let rows = blocking(move || edge_rows(&hub, window)).await?;
    // One link per service pair, as Jaeger lists them: a callee seen both instrumented and as
    // an uninstrumented peer is one child.
    let mut calls: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ((caller, callee, _), bucket) in service_edges(&rows) {
        *calls.entry((caller, callee)).or_default() += bucket.calls;
    }
    let dependencies = calls
        .into_iter()
        .map(|((parent, child), count)| v3::Dependency {
            parent,
            child,
            call_count: count.to_string(),
        })
        .collect();
    Ok(Json(v3::Dependencies { dependencies }))
}

fn missing_parameter(name: &str) -> V3Error {
    ApiError::invalid(format!("missing required parameter: {name}")).into()
}

async fn jaeger_min_step(RawQuery(raw): RawQuery) -> Result<Json<Envelope<u64>>, JaegerError> {
    Params::parse(raw.as_deref(), &[])?;
    Ok(envelope(Resolution::ThirtySeconds.seconds() * 1_000, 0))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JaegerMetric {
    Latencies,
    Calls,
    Errors,
}

fn parse_go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn rfc3339_millis(unix_millis: u64) -> String {
    humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(unix_millis),
    )
    .to_string()
}

/// A Jaeger metrics request, checked.
struct JaegerMetricsQuery {
    metric: JaegerMetric,
    quantile: f64,
    filter: SeriesFilter,
    by_operation: bool,
    step_ms: u64,
    rate_per_ms: u64,
    end_ms: u64,
    lookback_ms: u64,
    window: Window,
}

/// A Jaeger metric's buckets by series (service, and operation when grouped), by start.
type JaegerGroups = BTreeMap<(String, Option<String>), BTreeMap<u64, Bucket>>;

/// Jaeger's metrics endpoints (what the Jaeger UI's Monitor tab reads): a bare `MetricFamily`
/// with one point per `step` over `[endTs - lookback, endTs]`, each computed over the `ratePer`
/// window ending at it, as Jaeger's Prometheus reader does.
async fn jaeger_metrics(
    State(hub): State<Hub>,
    Path(kind): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, JaegerError> {
    let query = jaeger_metrics_query(&hub, &kind, raw.as_deref())?;
    let points = query.lookback_ms / query.step_ms + 1;
    if points > MAX_POINTS {
        return Err(
            ApiError::invalid(format!("lookback / step exceeds {MAX_POINTS} points")).into(),
        );
    }
    let buckets_per_point = query
        .rate_per_ms
        .div_ceil(query.window.resolution.seconds() * 1_000)
        + 1;
    // The first point's rate window reaches back `ratePer` before the range.
    let read_window = Window {
        start_secs: (query
            .end_ms
            .saturating_sub(query.lookback_ms + query.rate_per_ms))
            / 1_000,
        ..query.window
    };
    let filter = query.filter.clone();
    let rows = blocking(move || span_rows(&hub, read_window, &filter)).await?;
    let groups = jaeger_groups(rows, query.by_operation);
    // Each point merges the buckets of its rate window: bound the merges a request may cost.
    let merges = (groups.len() as u64)
        .saturating_mul(points)
        .saturating_mul(buckets_per_point);
    if merges > MAX_BUCKET_MERGES {
        return Err(ApiError::invalid(format!(
            "the query would merge {merges} buckets, more than {MAX_BUCKET_MERGES}: use a larger step, a shorter lookback or ratePer, or fewer services"
        ))
        .into());
    }
    let metrics: Vec<Metric> = groups
        .into_iter()
        .map(|((service, operation), buckets)| {
            let mut labels = Vec::new();
            if let Some(operation) = operation {
                labels.push(Label {
                    name: "operation".to_owned(),
                    value: operation,
                });
            }
            labels.push(Label {
                name: "service_name".to_owned(),
                value: service,
            });
            Metric {
                labels,
                metric_points: jaeger_points(&query, &buckets),
            }
        })
        .collect();
    let (name, help) = jaeger_family_name_and_help(&query);
    Ok(Json(MetricFamily {
        name,
        kind: "GAUGE".to_owned(),
        help,
        metrics,
    })
    .into_response())
}

fn jaeger_metrics_query(
    hub: &Hub,
    kind: &str,
    raw: Option<&str>,
) -> Result<JaegerMetricsQuery, ApiError> {
    let metric = match kind {
        "latencies" => JaegerMetric::Latencies,
        "calls" => JaegerMetric::Calls,
        "errors" => JaegerMetric::Errors,
        _ => {
            return Err(ApiError::not_found(format!(
                "no metric {kind:?}: expected latencies, calls, errors or minstep"
            )))
        }
    };
    let params = Params::parse(
        raw,
        &[
            "service",
            "spanKind",
            "quantile",
            "groupByOperation",
            "endTs",
            "lookback",
            "step",
            "ratePer",
            "prettyPrint",
        ],
    )?;
    let quantile = jaeger_quantile(metric, &params)?;
    let filter = jaeger_series_filter(&params)?;
    let by_operation = params
        .parsed("groupByOperation", parse_go_bool)?
        .unwrap_or(false);
    let step_ms = jaeger_millis(&params, "step")?.unwrap_or(5_000).max(1);
    let rate_per_ms = jaeger_millis(&params, "ratePer")?.unwrap_or(600_000).max(1);
    // The read reaches `ratePer` back before the range: unbounded, one request could read
    // years of buckets.
    if rate_per_ms > MAX_RATE_PER_MS {
        return Err(ApiError::invalid(format!(
            "ratePer {rate_per_ms} ms exceeds {MAX_RATE_PER_MS} ms (a day)"
        )));
    }
    let JaegerRange {
        end_ms,
        lookback_ms,
        window,
    } = jaeger_range(hub, &params, 3_600_000)?;
    Ok(JaegerMetricsQuery {
        metric,
        quantile,
        filter,
        by_operation,
        step_ms,
        rate_per_ms,
        end_ms,
        lookback_ms,
        window,
    })
}

/// The quantile latencies are asked for (required for them; unused otherwise).
fn jaeger_quantile(metric: JaegerMetric, params: &Params) -> Result<f64, ApiError> {
    let quantile = params.parsed("quantile", |text| {
        text.parse::<f64>()
            .map_err(|_| "expected a number".to_owned())
    })?;
    match (metric, quantile) {
        (JaegerMetric::Latencies, None) => Err(ApiError::invalid(
            "unable to parse param 'quantile': a quantile is required for latencies",
        )),
        (JaegerMetric::Latencies, Some(q)) if !(q > 0.0 && q <= 1.0) => Err(ApiError::invalid(
            format!("invalid quantile {q}: expected a number in (0, 1]"),
        )),
        (_, quantile) => Ok(quantile.unwrap_or(0.95)),
    }
}

/// The services (at least one) and span kinds (server when none) a request reads.
fn jaeger_series_filter(params: &Params) -> Result<SeriesFilter, ApiError> {
    let services: Vec<String> = params.all("service").map(str::to_owned).collect();
    if services.is_empty() {
        return Err(ApiError::invalid(
            "unable to parse param 'service': please provide at least one service name",
        ));
    }
    let mut kinds = Vec::new();
    for text in params.all("spanKind") {
        kinds.push(parse_span_kind(text).map_err(|error| {
            ApiError::invalid(format!(
                "unable to parse param 'spanKind': unsupported span kind: {text:?}: {error}"
            ))
        })?);
    }
    if kinds.is_empty() {
        kinds.push(SpanKind::Server);
    }
    Ok(SeriesFilter {
        services,
        operation: None,
        kinds,
    })
}

fn jaeger_groups(rows: Vec<(u64, SeriesKey, Bucket)>, by_operation: bool) -> JaegerGroups {
    let mut groups = JaegerGroups::new();
    for (start, key, bucket) in rows {
        let group = (
            key.service_name.clone(),
            by_operation.then(|| key.span_name.clone()),
        );
        groups
            .entry(group)
            .or_default()
            .entry(start)
            .or_default()
            .merge(&bucket);
    }
    groups
}

/// One series' points: one per step, each over the `ratePer` window ending at it.
fn jaeger_points(query: &JaegerMetricsQuery, buckets: &BTreeMap<u64, Bucket>) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    let mut point_ms = query.end_ms.saturating_sub(query.lookback_ms);
    while point_ms <= query.end_ms {
        // Buckets that start inside [point - ratePer, point]: the current, still filling
        // bucket counts, as a Prometheus rate over the window would.
        let from = point_ms.saturating_sub(query.rate_per_ms).div_ceil(1_000);
        let to = point_ms / 1_000;
        let mut merged = Bucket::default();
        for (_, bucket) in buckets.range(from..=to) {
            merged.merge(bucket);
        }
        let value = match query.metric {
            JaegerMetric::Latencies => merged
                .quantile_nanos(query.quantile)
                .map(|nanos| nanos as f64 / 1e6),
            JaegerMetric::Calls => Some(merged.calls as f64 / (query.rate_per_ms as f64 / 1_000.0)),
            JaegerMetric::Errors => {
                (merged.calls > 0).then(|| merged.errors as f64 / merged.calls as f64)
            }
        };
        points.push(MetricPoint {
            gauge_value: GaugeValue {
                double_value: value.map_or(json!("NaN"), |value| json!(value)),
            },
            timestamp: rfc3339_millis(point_ms),
        });
        point_ms += query.step_ms;
    }
    points
}

/// The family's name and help, as Jaeger's Prometheus reader words them.
fn jaeger_family_name_and_help(query: &JaegerMetricsQuery) -> (String, String) {
    let quantile = query.quantile;
    let (name, help) = match query.metric {
        JaegerMetric::Latencies => (
            "service_latencies",
            format!("{quantile:.2}th quantile latency, grouped by service"),
        ),
        JaegerMetric::Calls => (
            "service_call_rate",
            "calls/sec, grouped by service".to_owned(),
        ),
        JaegerMetric::Errors => (
            "service_error_rate",
            "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service"
                .to_owned(),
        ),
    };
    if query.by_operation {
        (
            name.replacen("service", "service_operation", 1),
            format!("{help} & operation"),
        )
    } else {
        (name.to_owned(), help)
    }
}

/// `GET /metrics/spans`: span metrics for Prometheus, with trace-ID exemplars. The metrics
/// processor keeps them: a node without one answers 501.
async fn span_exposition(State(hub): State<Hub>) -> Response {
    match &hub.span_exposition {
        Some(encode) => encoded_openmetrics_response(|text| encode(text), "span metrics"),
        None => ApiError::unimplemented(
            "span metrics are exposed by the nodes that run the metrics processor",
        )
        .into_response(),
    }
}

/// A registry as an OpenMetrics response (`what` names it in the error).
pub fn openmetrics_response(
    registry: &prometheus_client::registry::Registry,
    what: &str,
) -> Response {
    encoded_openmetrics_response(
        |text| prometheus_client::encoding::text::encode(text, registry),
        what,
    )
}

fn encoded_openmetrics_response(
    encode: impl FnOnce(&mut String) -> std::fmt::Result,
    what: &str,
) -> Response {
    let mut text = String::new();
    match encode(&mut text) {
        Ok(()) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding {what} failed: {error}"),
        )
            .into_response(),
    }
}
