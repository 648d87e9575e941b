//! The Weft HTTP API's answers, typed: the server builds them (`weft-api`), the clients read
//! them (`weft-cli`), and `docs/openapi.yaml` describes them — a test in `weft-api` checks the
//! file against these structs field by field. JSON names are camelCase; Unix nanoseconds are
//! decimal strings (they do not fit a JavaScript number).
//!
//! The diagnostics answers carry `weft-diagnose`'s report rows as they serialize (snake_case
//! field names), rather than copies of them.
//!
//! Architecture invariant: this crate is serde (and `serde_json::Value` for the one free-form
//! part, the sampling rules) over sans-I/O row types, and nothing else: no HTTP, no server
//! types.

use serde::{Deserialize, Serialize};

pub mod jaeger_v1;
pub mod jaeger_v3;

/// One trace's summary: `/api/v1/search` lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSummary {
    pub trace_id: String,
    pub root_service_name: String,
    pub root_span_name: String,
    /// `false` when the root has not arrived: the root fields then show the earliest span.
    pub root_span_found: bool,
    pub start_time_unix_nano: String,
    /// Earliest start to latest end.
    pub duration_nanos: u64,
    pub span_count: u64,
    pub error_count: u64,
    pub services: Vec<ServiceSpanCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpanCount {
    pub service_name: String,
    pub span_count: u64,
    pub error_count: u64,
}

/// A search hit: the summary and the tier it was found in (`hot` or `cold`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundTrace {
    #[serde(flatten)]
    pub summary: TraceSummary,
    pub tier: String,
}

/// `GET /api/v1/search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchAnswer {
    pub traces: Vec<FoundTrace>,
    /// The scan budget ran out: narrow the range or add conditions.
    pub partial: bool,
    pub scanned_spans: u64,
    /// The tiers read, hot first.
    pub tiers: Vec<String>,
}

/// `GET /api/v1/services`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicesAnswer {
    pub services: Vec<String>,
}

/// `GET /api/v1/services/{service}/operations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationsAnswer {
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    pub span_kind: String,
    pub last_seen_unix_nano: String,
}

/// `GET /api/v1/attributes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeKeysAnswer {
    pub keys: Vec<AttributeKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeKey {
    pub key: String,
    /// `span` or `resource`.
    pub scope: String,
}

/// `GET /api/v1/attributes/{key}/values`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeValuesAnswer {
    pub values: Vec<String>,
}

/// `GET /api/v1/catalog`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogAnswer {
    pub services: Vec<CatalogService>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogService {
    pub name: String,
    pub first_seen_unix_nano: String,
    pub last_seen_unix_nano: String,
    pub operations: Vec<CatalogOperation>,
    pub attributes: Vec<CatalogAttribute>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogOperation {
    pub name: String,
    pub span_kind: String,
    pub first_seen_unix_nano: String,
    pub last_seen_unix_nano: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogAttribute {
    pub key: String,
    pub scope: String,
    pub first_seen_unix_nano: String,
    pub last_seen_unix_nano: String,
    /// Most frequent first.
    pub top_values: Vec<ValueCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueCount {
    pub value: String,
    /// Spans seen with the value since the key was first seen.
    pub count: u64,
}

/// `GET /api/v1/storage`: what `weft status` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAnswer {
    /// `None` for a tier not on local disk (it has no segments to count).
    pub hot: Option<TierStorage>,
    pub cold: Option<TierStorage>,
    pub cold_to_hot: ColdToHot,
    pub cold_writer: ColdWriterProgress,
    pub logs: LogsStorage,
    pub sampling: SamplingStorage,
    /// The store a cluster shares (ClickHouse), on a query node; `None` on `weft serve`.
    pub cluster: Option<ClusterStorage>,
}

impl StorageAnswer {
    /// The answer of a node with no local tiers, sampler or cold writer (a query node of the
    /// distributed shape): the cluster's store, the rest empty.
    pub fn cluster_only(cluster: ClusterStorage) -> Self {
        StorageAnswer {
            hot: None,
            cold: None,
            cold_to_hot: ColdToHot {
                bytes: None,
                spans: None,
            },
            cold_writer: ColdWriterProgress {
                passed_through: None,
                lag_seconds: None,
                windows: 0,
                parts: 0,
                scanned_spans: 0,
                copied_spans: 0,
                copied_log_records: 0,
                errors: 0,
            },
            logs: LogsStorage {
                hot: None,
                cold: None,
            },
            sampling: SamplingStorage {
                closed_through: 0,
                closed_shards: 0,
            },
            cluster: Some(cluster),
        }
    }
}

/// A cluster's store: its tables per server, and how far each bus partition's writer got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStorage {
    pub tables: Vec<ClusterTable>,
    pub writers: Vec<ClusterWriter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTable {
    /// The server (shard) as configured.
    pub shard: String,
    pub table: String,
    pub partitions: u64,
    pub parts: u64,
    /// Replays not yet merged away included.
    pub rows: u64,
    pub bytes_on_disk: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterWriter {
    pub topic: String,
    pub partition: u32,
    /// The Kafka offset through which the partition's records are durable, plus one (the
    /// group's committed offset follows it).
    pub position: u64,
    pub written_unix_nano: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierStorage {
    pub retention_seconds: u64,
    pub partitions: u64,
    pub segments: u64,
    /// In segments and the memtable.
    pub spans: u64,
    pub segment_spans: u64,
    pub memtable_spans: u64,
    /// Of the Parquet segments.
    pub bytes: u64,
    pub partitions_dropped: u64,
}

/// The cold tier's size over the hot tier's; `None` when a tier is empty or not local.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdToHot {
    pub bytes: Option<f64>,
    pub spans: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColdWriterProgress {
    /// Unix seconds: every window before it is copied; `None` before the first pass.
    pub passed_through: Option<u64>,
    /// How far behind the sampler's head it is, in seconds.
    pub lag_seconds: Option<u64>,
    pub windows: u64,
    pub parts: u64,
    pub scanned_spans: u64,
    pub copied_spans: u64,
    pub copied_log_records: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogsStorage {
    pub hot: Option<LogTierStorage>,
    pub cold: Option<LogTierStorage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogTierStorage {
    pub records: u64,
    pub files: u64,
    pub bytes: u64,
    pub memtable_records: u64,
    pub oldest_unix_nano: Option<String>,
    pub newest_unix_nano: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingStorage {
    /// Unix seconds: every shard window ending by then is closed.
    pub closed_through: u64,
    pub closed_shards: u64,
}

/// `GET` and `PUT /api/v1/sampling/rules`: the rules in force and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingRulesAnswer {
    /// The `[sampling]` table as JSON (schema `SamplingRules`).
    pub rules: serde_json::Value,
    /// `configuration` or `api`.
    pub source: String,
}

/// `GET /api/v1/sampling/explain/{traceId}`: why a trace is (or is not) in the cold tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingExplanation {
    pub trace_id: String,
    /// `kept`, `not_kept` or `pending`.
    pub decision: String,
    /// The decision in a sentence.
    pub summary: String,
    pub rules: Vec<RuleMatchAnswer>,
    pub default_share: DefaultShare,
    pub shards: Vec<ShardState>,
    pub tiers: TierSpans,
    pub cold_writer: ColdWriterPassed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleMatchAnswer {
    pub rule: String,
    pub span_id: String,
    pub service: String,
    pub operation: String,
    /// The rule has a rate limit, so the match may not have kept the trace.
    pub rate_limited: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultShare {
    pub share: f64,
    pub in_share: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardState {
    /// Unix seconds.
    pub start: u64,
    pub end: u64,
    /// `open`, `closed` or `missing` (closed, nothing kept in it).
    pub state: String,
    pub contains_trace: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierSpans {
    pub hot: SpanCount,
    pub cold: SpanCount,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanCount {
    pub spans: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColdWriterPassed {
    /// Unix seconds up to which the cold writer has copied; `None` before its first pass.
    pub passed_through: Option<u64>,
}

/// `GET /api/v1/sampling`: the sampler's status, what `weft status` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingStatus {
    /// The rules in force, as the `[sampling]` table (schema `SamplingRules`).
    pub rules: serde_json::Value,
    /// `configuration` or `api`.
    pub rules_source: String,
    pub shard_width_seconds: u64,
    pub cold_delay_seconds: u64,
    pub filter: FilterSizing,
    pub counters: Vec<RuleCounters>,
    pub open_shards: Vec<OpenShard>,
    pub closed_shards: u64,
    pub closed_shard_bytes: u64,
    /// Unix seconds: every window ending by then is closed.
    pub closed_through: u64,
    pub head_unix_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterSizing {
    pub expected_traces: u64,
    pub false_positive_rate: f64,
}

/// A rule's counters since start (the default share as `default_share`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCounters {
    pub rule: String,
    pub matched_spans: u64,
    pub kept_traces: u64,
    pub limited_traces: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenShard {
    /// Unix seconds.
    pub start: u64,
    pub end: u64,
    pub keys: u64,
    pub fill_ratio: f64,
    pub estimated_false_positive_rate: f64,
    pub bytes: u64,
}

pub use weft_diagnose::{
    DatabaseReport, EndpointCalls, ExampleCall, ExceptionRow, FailureRow, FindingKind, FindingRow,
    GraphCycle, GraphEdge, HotKeyRow, InterruptionPoint, InterruptionReport, InterruptionRow,
    LatencySummary, OperationRow, OperationsReport, RedisReport, RedisRow, StatementRow, TableRow,
};

/// `GET /api/v1/diagnostics`: everything about one service (or all), what `weft diagnose`
/// prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsOverview {
    /// `None` for all services.
    pub service: Option<String>,
    pub range: TimeRangeAnswer,
    /// `None` when the query process reads committed statistics and runs no assembler.
    pub assembler: Option<AssemblerStatus>,
    /// `None` for a summary store not on local disk.
    pub summary_store: Option<SummaryStoreStatus>,
    pub findings: Vec<FindingRow>,
    pub interruptions: InterruptionReport,
    pub cycles: Vec<GraphCycle>,
    pub database: DatabaseReport,
    pub redis: RedisReport,
    pub operations: OperationsReport,
}

/// `GET /api/v1/diagnostics/traces`: trace summary rows, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosedTracesAnswer {
    pub range: TimeRangeAnswer,
    pub traces: Vec<DiagnosedTrace>,
}

/// One analyzed trace's summary row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosedTrace {
    pub trace_id: String,
    pub root_service: String,
    pub root_operation: String,
    pub start_time_unix_nano: String,
    /// Decimal string, as every nanosecond quantity of this row.
    pub duration_nanos: String,
    pub span_count: u64,
    pub error_count: u64,
    pub service_count: u64,
    pub orphan_span_count: u64,
    pub dropped_span_count: u64,
    pub truncated: bool,
    /// `inactive`, `max_age`, `evicted` or `shutdown`.
    pub completion: String,
    /// Finding kinds.
    pub findings: Vec<String>,
    pub services: Vec<String>,
}

/// `GET /api/v1/traces/{traceId}/diagnosis`: one trace's findings and critical path, from its
/// stored spans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceDiagnosisAnswer {
    pub trace_id: String,
    /// The tier its spans came from.
    pub tier: String,
    pub summary: TraceDiagnosisSummary,
    pub findings: Vec<TraceFinding>,
    /// Span IDs from the root down the path that decides the trace's duration.
    pub critical_path: Vec<String>,
    pub settings: AnalysisSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceDiagnosisSummary {
    pub root_service: String,
    pub root_operation: String,
    pub start_time_unix_nano: String,
    pub duration_nanos: String,
    pub span_count: u64,
    pub error_count: u64,
    pub service_count: u64,
    pub orphan_span_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceFinding {
    pub kind: String,
    pub title: String,
    pub service: String,
    pub operation: String,
    pub detail: String,
    pub message: String,
    pub value: u64,
    pub span_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisSettings {
    pub bottleneck_share: f64,
    pub repeated_call_threshold: u64,
}

/// `GET /api/v1/diagnostics/findings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingsAnswer {
    pub range: TimeRangeAnswer,
    pub findings: Vec<FindingRow>,
}

/// `GET /api/v1/diagnostics/cycles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CyclesAnswer {
    pub range: TimeRangeAnswer,
    pub cycles: Vec<GraphCycle>,
}

/// A statistics report with the range it covers beside its fields:
/// `/api/v1/diagnostics/interruptions` (`InterruptionReport`), `/api/v1/statistics/database`
/// (`DatabaseReport`), `/redis` (`RedisReport`) and `/operations` (`OperationsReport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangedReport<T> {
    pub range: TimeRangeAnswer,
    #[serde(flatten)]
    pub report: T,
}

/// A time range, Unix nanoseconds as decimal strings, start inclusive, end exclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeRangeAnswer {
    pub start: String,
    pub end: String,
}

/// The trace assembler: what it holds, what it did, its caps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssemblerStatus {
    pub open_traces: u64,
    pub open_spans: u64,
    pub traces_analyzed: u64,
    pub late_spans: u64,
    pub dropped_spans: u64,
    pub evicted_traces: u64,
    pub cut_traces: u64,
    pub replayed_spans_skipped: u64,
    pub inactivity_timeout_seconds: f64,
    pub max_open_traces: u64,
    pub max_open_spans: u64,
    pub max_spans_per_trace: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryStoreStatus {
    pub files: u64,
    pub rows: u64,
    pub bytes: u64,
    pub committed_position: u64,
}

/// One log record: IDs in hex, times as decimal strings, the body as text, attributes as an
/// object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRecordAnswer {
    pub time_unix_nano: String,
    pub observed_time_unix_nano: String,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub severity_number: u8,
    /// The source's own level name.
    pub severity_text: String,
    /// `severityText`, or the name of `severityNumber`'s range.
    pub severity: String,
    pub service_name: String,
    pub body: String,
    pub attributes: serde_json::Value,
    pub resource: serde_json::Value,
    pub scope: LogScope,
    pub event_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogScope {
    pub name: String,
    pub version: String,
}

/// `GET /api/v1/traces/{traceId}/logs`: a trace's records, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceLogsAnswer {
    pub trace_id: String,
    pub tier: String,
    pub logs: Vec<LogRecordAnswer>,
}

/// `GET /api/v1/logs`: records found, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSearchAnswer {
    pub tier: String,
    pub logs: Vec<LogRecordAnswer>,
    pub scanned_records: u64,
    pub limit: u64,
}

/// Calls, errors and latency of a bucket (or a merge of buckets); latencies in milliseconds,
/// `None` when there were no calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedStats {
    pub calls: u64,
    pub calls_per_second: f64,
    pub errors: u64,
    pub error_rate: Option<f64>,
    pub p50_millis: Option<f64>,
    pub p90_millis: Option<f64>,
    pub p95_millis: Option<f64>,
    pub p99_millis: Option<f64>,
    pub mean_millis: Option<f64>,
    pub min_millis: Option<f64>,
    pub max_millis: Option<f64>,
}

/// The buckets a metric answer covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricWindow {
    /// `30s`, `10m` or `1h`.
    pub resolution: String,
    pub step_seconds: u64,
    /// The first bucket's start.
    pub start_unix_seconds: u64,
    pub end_unix_seconds: u64,
}

/// `GET /api/v1/metrics/series`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesAnswer {
    #[serde(flatten)]
    pub window: MetricWindow,
    pub series: Vec<MetricSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSeries {
    pub service_name: String,
    /// `None` for the whole service.
    pub operation: Option<String>,
    pub span_kind: Option<String>,
    pub totals: RedStats,
    pub points: Vec<SeriesPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesPoint {
    #[serde(flatten)]
    pub stats: RedStats,
    pub time_unix_seconds: u64,
    /// Exemplars the bucket holds.
    pub exemplars: u64,
}

/// `GET /api/v1/metrics/operations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopOperationsAnswer {
    #[serde(flatten)]
    pub window: MetricWindow,
    pub sort_by: String,
    pub operations: Vec<OperationStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStats {
    #[serde(flatten)]
    pub stats: RedStats,
    pub operation: String,
    pub span_kind: String,
}

/// `GET /api/v1/metrics/exemplars`: traces linked to a series' buckets, newest bucket first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExemplarsAnswer {
    #[serde(flatten)]
    pub window: MetricWindow,
    pub exemplars: Vec<Exemplar>,
    /// More matched than the limit.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exemplar {
    pub trace_id: String,
    pub span_id: String,
    /// `slowest`, `sampled`, `keyword` or `error_increase`.
    pub reason: String,
    pub operation: String,
    pub span_kind: String,
    pub bucket_start_unix_seconds: u64,
    pub start_time_unix_nano: String,
    pub duration_millis: f64,
    pub is_error: bool,
}

/// `GET /api/v1/topology`: services and the calls between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopologyAnswer {
    #[serde(flatten)]
    pub window: MetricWindow,
    pub nodes: Vec<TopologyNode>,
    pub edges: Vec<TopologyEdge>,
    /// With `operations=true` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_edges: Option<Vec<OperationEdge>>,
}

/// A service, with the calls it served (for an uninstrumented peer: the calls made to it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopologyNode {
    #[serde(flatten)]
    pub stats: RedStats,
    pub service: String,
    pub uninstrumented: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopologyEdge {
    #[serde(flatten)]
    pub stats: RedStats,
    pub caller: String,
    pub callee: String,
    pub callee_uninstrumented: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationEdge {
    #[serde(flatten)]
    pub stats: RedStats,
    pub caller: String,
    pub caller_operation: String,
    pub callee: String,
    /// Empty for an uninstrumented peer.
    pub callee_operation: String,
    pub callee_uninstrumented: bool,
}

/// `GET /health`: the process is up; the bus, the pipeline and the local stores' state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthAnswer {
    /// `ok`.
    pub status: String,
    pub wal: BusHealth,
    pub pipeline: PipelineHealth,
    /// The hot span store's sizes; `None` for a store not on local disk.
    pub store: Option<SpanStoreHealth>,
    /// The metric store's; `None` with the stream metrics off or a remote store.
    pub metrics: Option<MetricStoreHealth>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusHealth {
    pub bytes: u64,
    pub segments: u64,
    pub written_lsn: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineHealth {
    pub position: u64,
    /// Bus records written and not processed yet.
    pub queue_depth_records: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanStoreHealth {
    pub partitions: u64,
    pub segments: u64,
    pub segment_spans: u64,
    pub segment_bytes: u64,
    pub memtable_spans: u64,
    pub frozen_memtables: u64,
    pub flushed_position: u64,
    pub flushes: u64,
    pub compactions: u64,
    pub partitions_dropped: u64,
    pub maintenance_errors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricStoreHealth {
    pub files: u64,
    pub bytes: u64,
    pub rows: u64,
    pub commits: u64,
    pub compactions: u64,
    pub windows_dropped: u64,
    pub maintenance_errors: u64,
    pub committed_position: u64,
}

#[cfg(test)]
mod tests;
