//! Findings and statistics aggregated over time: per time bucket, findings per (kind, service,
//! operation, detail) with counts and example traces, the trace interruption rate per
//! service, the service graph (for cycles across traces), database statements by
//! fingerprint, Redis commands by key pattern with hot and big keys, the slowest operations,
//! failures by status message and recent exceptions.
//!
//! Memory is bounded by configuration: buckets are kept for the retention, each table of a
//! bucket holds at most `max_keys_per_bucket` keys (further keys are counted as overflow), and
//! every list inside a key (examples, slowest calls, endpoints, big keys) has a cap. The whole
//! state is serde-serializable, so the processor checkpoints it and a restart resumes it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config as SketchConfig, DDSketch};
use weft_model::{SpanId, SpanKind, TraceId};

use crate::analysis::{FindingKind, TraceDiagnosis};
use crate::assembler::AssembledTrace;
use crate::facts::SpanFacts;
use crate::sql::{fnv1a_extend, FNV_OFFSET_BASIS};
use crate::top_k::{HeavyHitter, SpaceSaving};

#[derive(Debug, Clone, PartialEq)]
pub struct StatisticsConfig {
    /// The width of a time bucket; queries resolve to whole buckets.
    pub bucket: Duration,
    /// Buckets older than this (behind the newest data) are dropped.
    pub retention: Duration,
    /// A database call at least this slow counts as slow.
    pub slow_database_call: Duration,
    /// A Redis call at least this slow counts as slow.
    pub slow_redis_call: Duration,
    /// Keys per table per bucket; more are counted in `overflow`.
    pub max_keys_per_bucket: usize,
    /// Example trace IDs kept per key.
    pub examples_per_key: usize,
    /// Slowest calls kept per key.
    pub slowest_per_key: usize,
    /// Keys the hot-key sketch tracks per bucket.
    pub hot_key_capacity: usize,
    /// Exceptions kept in the recent list.
    pub recent_exceptions: usize,
}

impl Default for StatisticsConfig {
    fn default() -> Self {
        StatisticsConfig {
            bucket: Duration::from_secs(60),
            retention: Duration::from_secs(6 * 3600),
            slow_database_call: Duration::from_millis(200),
            slow_redis_call: Duration::from_millis(10),
            max_keys_per_bucket: 2_000,
            examples_per_key: 5,
            slowest_per_key: 5,
            hot_key_capacity: 256,
            recent_exceptions: 500,
        }
    }
}

/// A trace ID as stored in statistics (serde-friendly).
pub type TraceIdBytes = [u8; 16];

fn trace_hex(bytes: &TraceIdBytes) -> String {
    TraceId::from_bytes(*bytes).to_hex()
}

/// A 64-bit FNV-1a hasher: stable across processes and Rust versions, so hashed keys survive
/// in checkpoints.
struct StableHasher(u64);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv1a_extend(self.0, bytes);
    }
}

fn stable_hash(value: &impl Hash) -> u64 {
    let mut hasher = StableHasher(FNV_OFFSET_BASIS);
    value.hash(&mut hasher);
    hasher.finish()
}

fn new_sketch() -> DDSketch {
    DDSketch::new(SketchConfig::defaults())
}

/// Latency of a group of calls: exact count, sum, max; percentiles from a mergeable sketch.
#[derive(Clone, Serialize, Deserialize)]
pub struct Latency {
    pub calls: u64,
    pub sum_nanos: u128,
    pub max_nanos: u64,
    sketch: DDSketch,
}

impl std::fmt::Debug for Latency {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Latency")
            .field("calls", &self.calls)
            .field("sum_nanos", &self.sum_nanos)
            .field("max_nanos", &self.max_nanos)
            .finish_non_exhaustive()
    }
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            calls: 0,
            sum_nanos: 0,
            max_nanos: 0,
            sketch: new_sketch(),
        }
    }
}

impl Latency {
    pub fn record(&mut self, nanos: u64) {
        self.calls += 1;
        self.sum_nanos += u128::from(nanos);
        self.max_nanos = self.max_nanos.max(nanos);
        self.sketch.add(nanos as f64);
    }

    pub fn merge(&mut self, other: &Latency) {
        self.calls += other.calls;
        self.sum_nanos += other.sum_nanos;
        self.max_nanos = self.max_nanos.max(other.max_nanos);
        // Sketches made with one configuration always merge.
        let _ = self.sketch.merge(&other.sketch);
    }

    pub fn quantile_nanos(&self, q: f64) -> u64 {
        self.sketch
            .quantile(q)
            .ok()
            .flatten()
            .map(|value| value.max(0.0).round() as u64)
            .unwrap_or(0)
            .min(self.max_nanos)
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            mean_nanos: if self.calls == 0 {
                0
            } else {
                (self.sum_nanos / u128::from(self.calls)) as u64
            },
            p50_nanos: self.quantile_nanos(0.5),
            p90_nanos: self.quantile_nanos(0.9),
            p99_nanos: self.quantile_nanos(0.99),
            max_nanos: self.max_nanos,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub mean_nanos: u64,
    pub p50_nanos: u64,
    pub p90_nanos: u64,
    pub p99_nanos: u64,
    pub max_nanos: u64,
}

/// One call kept as an example (slowest calls, big keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallExample {
    pub trace_id: TraceIdBytes,
    pub span_id: [u8; 8],
    pub start_unix_nanos: u64,
    pub duration_nanos: u64,
    /// What ranks it: the duration, or a Redis value's size.
    pub measure: u64,
    /// The Redis key, for big keys.
    pub key: String,
}

/// Keeps the `cap` examples with the largest measure (newest first among equals).
fn keep_largest(examples: &mut Vec<CallExample>, example: CallExample, cap: usize) {
    if examples.len() >= cap {
        let smallest = examples
            .iter()
            .enumerate()
            .min_by_key(|(_, kept)| (kept.measure, kept.start_unix_nanos))
            .map(|(index, kept)| (index, kept.measure));
        match smallest {
            Some((index, measure)) if example.measure > measure => {
                examples.swap_remove(index);
            }
            _ => return,
        }
    }
    examples.push(example);
}

fn merge_largest(into: &mut Vec<CallExample>, from: &[CallExample], cap: usize) {
    for example in from {
        if !into.contains(example) {
            keep_largest(into, example.clone(), cap);
        }
    }
}

/// Keeps the newest `cap` distinct trace IDs.
fn keep_example(examples: &mut VecDeque<TraceIdBytes>, trace_id: TraceIdBytes, cap: usize) {
    if examples.contains(&trace_id) {
        return;
    }
    examples.push_back(trace_id);
    while examples.len() > cap {
        examples.pop_front();
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FindingStats {
    kind: FindingKind,
    service: String,
    operation: String,
    detail: String,
    /// Traces with this finding.
    traces: u64,
    value_max: u64,
    last_seen_unix_nanos: u64,
    last_message: String,
    examples: VecDeque<TraceIdBytes>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ServiceTraces {
    traces: u64,
    /// Traces in which a span of this service names a parent that never arrived.
    broken: u64,
    examples: VecDeque<TraceIdBytes>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EdgeStats {
    caller: String,
    callee: String,
    traces: u64,
    example: TraceIdBytes,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StatementStats {
    service: String,
    system: String,
    database: String,
    fingerprint: String,
    operation: String,
    tables: Vec<String>,
    errors: u64,
    slow_calls: u64,
    latency: Latency,
    /// (root service, root operation) → calls.
    endpoints: HashMap<(String, String), u64>,
    slowest: Vec<CallExample>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RedisStats {
    service: String,
    command: String,
    key_pattern: String,
    errors: u64,
    slow_calls: u64,
    hits: u64,
    misses: u64,
    latency: Latency,
    max_value_size_bytes: u64,
    big_keys: Vec<CallExample>,
    slowest: Vec<CallExample>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OperationStats {
    service: String,
    operation: String,
    errors: u64,
    latency: Latency,
    slowest: Vec<CallExample>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FailureStats {
    service: String,
    operation: String,
    status_message: String,
    count: u64,
    last_seen_unix_nanos: u64,
    examples: VecDeque<TraceIdBytes>,
}

/// An entry of a bucket table: the same key in another bucket merges into it.
trait BucketEntry: Clone {
    fn merge(&mut self, other: &Self, config: &StatisticsConfig);
}

impl BucketEntry for FindingStats {
    fn merge(&mut self, other: &Self, config: &StatisticsConfig) {
        self.traces += other.traces;
        self.value_max = self.value_max.max(other.value_max);
        if other.last_seen_unix_nanos >= self.last_seen_unix_nanos {
            self.last_seen_unix_nanos = other.last_seen_unix_nanos;
            self.last_message.clone_from(&other.last_message);
        }
        for example in &other.examples {
            keep_example(&mut self.examples, *example, config.examples_per_key);
        }
    }
}

impl BucketEntry for StatementStats {
    fn merge(&mut self, other: &Self, config: &StatisticsConfig) {
        self.errors += other.errors;
        self.slow_calls += other.slow_calls;
        self.latency.merge(&other.latency);
        for (endpoint, calls) in &other.endpoints {
            *self.endpoints.entry(endpoint.clone()).or_default() += calls;
        }
        merge_largest(&mut self.slowest, &other.slowest, config.slowest_per_key);
    }
}

impl BucketEntry for RedisStats {
    fn merge(&mut self, other: &Self, config: &StatisticsConfig) {
        self.errors += other.errors;
        self.slow_calls += other.slow_calls;
        self.hits += other.hits;
        self.misses += other.misses;
        self.max_value_size_bytes = self.max_value_size_bytes.max(other.max_value_size_bytes);
        self.latency.merge(&other.latency);
        merge_largest(&mut self.slowest, &other.slowest, config.slowest_per_key);
    }
}

impl BucketEntry for OperationStats {
    fn merge(&mut self, other: &Self, config: &StatisticsConfig) {
        self.errors += other.errors;
        self.latency.merge(&other.latency);
        merge_largest(&mut self.slowest, &other.slowest, config.slowest_per_key);
    }
}

impl BucketEntry for FailureStats {
    fn merge(&mut self, other: &Self, config: &StatisticsConfig) {
        self.count += other.count;
        self.last_seen_unix_nanos = self.last_seen_unix_nanos.max(other.last_seen_unix_nanos);
        for example in &other.examples {
            keep_example(&mut self.examples, *example, config.examples_per_key);
        }
    }
}

/// An exception in the recent list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRecord {
    pub time_unix_nanos: u64,
    pub service: String,
    pub operation: String,
    pub exception_type: String,
    pub message: String,
    pub trace_id: TraceIdBytes,
    pub span_id: [u8; 8],
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Bucket {
    traces: u64,
    broken_traces: u64,
    truncated_traces: u64,
    findings: HashMap<u64, FindingStats>,
    services: HashMap<String, ServiceTraces>,
    edges: HashMap<u64, EdgeStats>,
    statements: HashMap<u64, StatementStats>,
    redis: HashMap<u64, RedisStats>,
    hot_keys: Option<SpaceSaving>,
    operations: HashMap<u64, OperationStats>,
    failures: HashMap<u64, FailureStats>,
    /// Keys not tracked because a table was full.
    overflow: u64,
}

/// Merges `from` into `into` key by key; a key new to a full table is counted as overflow.
fn merge_table<K: Hash + Eq + Clone, V: BucketEntry>(
    into: &mut HashMap<K, V>,
    from: &HashMap<K, V>,
    config: &StatisticsConfig,
    overflow: &mut u64,
) {
    for (key, entry) in from {
        let full = into.len() >= config.max_keys_per_bucket;
        match into.get_mut(key) {
            Some(existing) => existing.merge(entry, config),
            None if !full => {
                into.insert(key.clone(), entry.clone());
            }
            None => *overflow += 1,
        }
    }
}

impl BucketEntry for ServiceTraces {
    fn merge(&mut self, other: &Self, config: &StatisticsConfig) {
        self.traces += other.traces;
        self.broken += other.broken;
        for example in &other.examples {
            keep_example(&mut self.examples, *example, config.examples_per_key);
        }
    }
}

impl BucketEntry for EdgeStats {
    fn merge(&mut self, other: &Self, _config: &StatisticsConfig) {
        self.traces += other.traces;
        self.example = other.example;
    }
}

impl Bucket {
    /// Merges `other` in; returns the keys it dropped because a table was full (`other`'s own
    /// overflow is carried over, and was counted where it happened).
    fn merge(&mut self, other: &Bucket, config: &StatisticsConfig) -> u64 {
        self.traces += other.traces;
        self.broken_traces += other.broken_traces;
        self.truncated_traces += other.truncated_traces;
        let mut dropped = 0;
        let overflow = &mut dropped;
        merge_table(&mut self.findings, &other.findings, config, overflow);
        merge_table(&mut self.services, &other.services, config, overflow);
        merge_table(&mut self.edges, &other.edges, config, overflow);
        merge_table(&mut self.statements, &other.statements, config, overflow);
        merge_table(&mut self.redis, &other.redis, config, overflow);
        merge_table(&mut self.operations, &other.operations, config, overflow);
        merge_table(&mut self.failures, &other.failures, config, overflow);
        match (&mut self.hot_keys, &other.hot_keys) {
            (Some(into), Some(from)) => into.merge(from),
            (into @ None, Some(from)) => *into = Some(from.clone()),
            (_, None) => {}
        }
        self.overflow += other.overflow + dropped;
        dropped
    }
}

/// Counters since the state was created (checkpointed with it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatisticsCounters {
    pub traces: u64,
    /// Traces whose bucket was already past the retention.
    pub traces_too_old: u64,
    pub overflow_keys: u64,
}

/// The aggregated findings and statistics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Statistics {
    #[serde(skip)]
    config: StatisticsConfig,
    buckets: BTreeMap<u64, Bucket>,
    /// The newest bucket start recorded in the statistics this is a delta of (or merged in),
    /// beside its own buckets: a trace older than the retention before the newest is counted
    /// as too old, not recorded. Not serialized: a decoded value's buckets say it.
    #[serde(skip)]
    newest_bucket_start: Option<u64>,
    recent_exceptions: VecDeque<ExceptionRecord>,
    counters: StatisticsCounters,
}

/// A time range in Unix nanoseconds, start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
}

impl TimeRange {
    pub fn everything() -> Self {
        TimeRange {
            start_unix_nanos: 0,
            end_unix_nanos: u64::MAX,
        }
    }
}

/// What a list query selects.
#[derive(Debug, Clone, Default)]
pub struct StatisticsFilter {
    pub service: Option<String>,
    pub kind: Option<FindingKind>,
    pub limit: Option<usize>,
}

impl StatisticsFilter {
    fn service_matches(&self, service: &str) -> bool {
        self.service
            .as_deref()
            .is_none_or(|wanted| wanted == service)
    }
}

// ---- rows the queries return ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    pub kind: FindingKind,
    pub title: String,
    pub service: String,
    pub operation: String,
    pub detail: String,
    pub traces: u64,
    pub value_max: u64,
    pub last_seen_unix_nanos: u64,
    pub last_message: String,
    pub example_trace_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterruptionRow {
    pub service: String,
    pub traces: u64,
    pub broken_traces: u64,
    /// broken / traces, 0 when no traces.
    pub interruption_rate: f64,
    pub example_trace_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterruptionPoint {
    pub bucket_start_unix_nanos: u64,
    pub traces: u64,
    pub broken_traces: u64,
    pub interruption_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterruptionReport {
    pub traces: u64,
    pub broken_traces: u64,
    pub truncated_traces: u64,
    pub interruption_rate: f64,
    pub services: Vec<InterruptionRow>,
    /// Per bucket, for the service asked for or for all services.
    pub series: Vec<InterruptionPoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphCycle {
    /// The services of one strongly connected component of the service graph, sorted.
    pub services: Vec<String>,
    /// The edges inside it, with an example trace each.
    pub edges: Vec<GraphEdge>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub caller: String,
    pub callee: String,
    pub traces: u64,
    pub example_trace_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleCall {
    pub trace_id: String,
    pub span_id: String,
    pub start_unix_nanos: u64,
    pub duration_nanos: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_size_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCalls {
    pub service: String,
    pub operation: String,
    pub calls: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementRow {
    pub service: String,
    pub system: String,
    pub database: String,
    pub tables: Vec<String>,
    pub operation: String,
    pub fingerprint: String,
    pub calls: u64,
    pub errors: u64,
    pub slow_calls: u64,
    pub latency: LatencySummary,
    pub endpoints: Vec<EndpointCalls>,
    pub slowest: Vec<ExampleCall>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    pub system: String,
    pub database: String,
    pub table: String,
    pub calls: u64,
    pub errors: u64,
    pub slow_calls: u64,
    pub statements: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseReport {
    pub slow_threshold_nanos: u64,
    pub statements: Vec<StatementRow>,
    pub tables: Vec<TableRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisRow {
    pub service: String,
    pub command: String,
    pub key_pattern: String,
    pub calls: u64,
    pub errors: u64,
    pub slow_calls: u64,
    pub hits: u64,
    pub misses: u64,
    /// hits / (hits + misses); absent when no call said.
    pub hit_rate: Option<f64>,
    pub latency: LatencySummary,
    pub max_value_size_bytes: u64,
    pub slowest: Vec<ExampleCall>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotKeyRow {
    pub service: String,
    pub key: String,
    pub calls: u64,
    /// The sketch's overestimate bound: the true count is between calls − error and calls.
    pub error: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisReport {
    pub slow_threshold_nanos: u64,
    pub commands: Vec<RedisRow>,
    pub hot_keys: Vec<HotKeyRow>,
    pub big_keys: Vec<ExampleCall>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationRow {
    pub service: String,
    pub operation: String,
    pub calls: u64,
    pub errors: u64,
    pub latency: LatencySummary,
    pub slowest: Vec<ExampleCall>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRow {
    pub service: String,
    pub operation: String,
    pub status_message: String,
    pub count: u64,
    pub last_seen_unix_nanos: u64,
    pub example_trace_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRow {
    pub time_unix_nanos: u64,
    pub service: String,
    pub operation: String,
    pub exception_type: String,
    pub message: String,
    pub trace_id: String,
    pub span_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationsReport {
    /// Entry operations (server, consumer and root spans), slowest first.
    pub slowest: Vec<OperationRow>,
    pub failures: Vec<FailureRow>,
    pub exceptions: Vec<ExceptionRow>,
}

fn example_call(example: &CallExample, with_size: bool) -> ExampleCall {
    ExampleCall {
        trace_id: trace_hex(&example.trace_id),
        span_id: span_hex(&example.span_id),
        start_unix_nanos: example.start_unix_nanos,
        duration_nanos: example.duration_nanos,
        key: example.key.clone(),
        value_size_bytes: with_size.then_some(example.measure),
    }
}

fn span_hex(bytes: &[u8; 8]) -> String {
    SpanId::from_bytes(*bytes).to_hex()
}

fn nanos_of(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Inserts into a bucket table unless it is full; returns the entry or None (overflow).
fn entry_or_overflow<'a, K: Hash + Eq, V>(
    table: &'a mut HashMap<K, V>,
    key: K,
    cap: usize,
    overflow: &mut u64,
    make: impl FnOnce() -> V,
) -> Option<&'a mut V> {
    if table.len() >= cap && !table.contains_key(&key) {
        *overflow += 1;
        return None;
    }
    Some(table.entry(key).or_insert_with(make))
}

impl Statistics {
    pub fn new(config: StatisticsConfig) -> Self {
        Statistics {
            config,
            buckets: BTreeMap::new(),
            newest_bucket_start: None,
            recent_exceptions: VecDeque::new(),
            counters: StatisticsCounters::default(),
        }
    }

    /// Empty statistics that record what comes after `self`: the delta rows a processor
    /// commits (see [`Statistics::merge`]).
    pub fn delta_after(&self) -> Self {
        Statistics {
            newest_bucket_start: self.newest_bucket_start(),
            ..Statistics::new(self.config.clone())
        }
    }

    /// The newest time bucket recorded (or known from the statistics this is a delta of).
    pub fn newest_bucket_start_unix_nanos(&self) -> Option<u64> {
        self.newest_bucket_start()
    }

    fn newest_bucket_start(&self) -> Option<u64> {
        let newest_own = self.buckets.last_key_value().map(|(start, _)| *start);
        self.newest_bucket_start.max(newest_own)
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.recent_exceptions.is_empty() && self.counters.traces == 0
    }

    /// Adds `other` (a delta, or another processor's statistics) to these: every table of
    /// every bucket merges key by key under this configuration's caps (keys past a full table
    /// are counted as overflow), exceptions keep the newest, counters add up. Merging deltas
    /// in any order gives the same tables, examples aside.
    pub fn merge(&mut self, other: &Statistics) {
        let config = &self.config;
        for (start, bucket) in &other.buckets {
            let into = self.buckets.entry(*start).or_default();
            self.counters.overflow_keys += into.merge(bucket, config);
        }
        self.newest_bucket_start = self.newest_bucket_start.max(other.newest_bucket_start());
        let mut exceptions: Vec<ExceptionRecord> = self
            .recent_exceptions
            .drain(..)
            .chain(other.recent_exceptions.iter().cloned())
            .collect();
        exceptions.sort_by_key(|exception| exception.time_unix_nanos);
        exceptions.dedup();
        let keep_from = exceptions.len().saturating_sub(config.recent_exceptions);
        self.recent_exceptions = exceptions.split_off(keep_from).into();
        self.counters.traces += other.counters.traces;
        self.counters.traces_too_old += other.counters.traces_too_old;
        self.counters.overflow_keys += other.counters.overflow_keys;
    }

    /// Sets the configuration after a restore (it is not part of the checkpoint).
    pub fn set_config(&mut self, config: StatisticsConfig) {
        self.config = config;
    }

    pub fn config(&self) -> &StatisticsConfig {
        &self.config
    }

    pub fn counters(&self) -> &StatisticsCounters {
        &self.counters
    }

    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    fn bucket_nanos(&self) -> u64 {
        nanos_of(self.config.bucket).max(1_000_000_000)
    }

    fn bucket_start_of(&self, unix_nanos: u64) -> u64 {
        unix_nanos - unix_nanos % self.bucket_nanos()
    }

    /// Drops buckets older than the retention before `now_unix_nanos`.
    pub fn prune(&mut self, now_unix_nanos: u64) {
        let oldest_kept =
            self.bucket_start_of(now_unix_nanos.saturating_sub(nanos_of(self.config.retention)));
        // Called every tick; the tree is split only when a bucket has aged out.
        if self
            .buckets
            .first_key_value()
            .is_some_and(|(start, _)| *start < oldest_kept)
        {
            self.buckets = self.buckets.split_off(&oldest_kept);
        }
        while self
            .recent_exceptions
            .front()
            .is_some_and(|exception| exception.time_unix_nanos < oldest_kept)
        {
            self.recent_exceptions.pop_front();
        }
    }

    /// Adds one analyzed trace.
    pub fn record(&mut self, trace: &AssembledTrace, diagnosis: &TraceDiagnosis) {
        self.counters.traces += 1;
        let summary = &diagnosis.summary;
        let bucket_start = self.bucket_start_of(summary.start_unix_nanos);
        if let Some(newest) = self.newest_bucket_start() {
            if bucket_start.saturating_add(nanos_of(self.config.retention)) < newest {
                self.counters.traces_too_old += 1;
                return;
            }
        }
        // Borrowed beside the buckets (disjoint fields): no copy per trace.
        let config = &self.config;
        let trace_id = *trace.trace_id.as_bytes();
        let bucket = self.buckets.entry(bucket_start).or_default();
        let overflow_before = bucket.overflow;
        let cap = config.max_keys_per_bucket;
        bucket.traces += 1;
        let broken = summary.orphan_span_count > 0 && !summary.truncated;
        bucket.broken_traces += u64::from(broken);
        bucket.truncated_traces += u64::from(summary.truncated);

        for service in &diagnosis.summary.services {
            if let Some(stats) = entry_or_overflow(
                &mut bucket.services,
                service.to_string(),
                cap,
                &mut bucket.overflow,
                ServiceTraces::default,
            ) {
                stats.traces += 1;
                if broken && diagnosis.services_with_orphans.contains(service) {
                    stats.broken += 1;
                    keep_example(&mut stats.examples, trace_id, config.examples_per_key);
                }
            }
        }
        for (caller, callee) in &diagnosis.service_edges {
            let key = stable_hash(&(caller.as_ref(), callee.as_ref()));
            if let Some(edge) =
                entry_or_overflow(&mut bucket.edges, key, cap, &mut bucket.overflow, || {
                    EdgeStats {
                        caller: caller.to_string(),
                        callee: callee.to_string(),
                        traces: 0,
                        example: trace_id,
                    }
                })
            {
                edge.traces += 1;
                edge.example = trace_id;
            }
        }
        for finding in &diagnosis.findings {
            let key = stable_hash(&(
                finding.kind,
                finding.service.as_ref(),
                finding.operation.as_ref(),
                finding.detail.as_str(),
            ));
            if let Some(stats) =
                entry_or_overflow(&mut bucket.findings, key, cap, &mut bucket.overflow, || {
                    FindingStats {
                        kind: finding.kind,
                        service: finding.service.to_string(),
                        operation: finding.operation.to_string(),
                        detail: finding.detail.clone(),
                        traces: 0,
                        value_max: 0,
                        last_seen_unix_nanos: 0,
                        last_message: String::new(),
                        examples: VecDeque::new(),
                    }
                })
            {
                // A trace with the same finding twice (two loops of one query) counts once.
                if stats.examples.back() != Some(&trace_id) {
                    stats.traces += 1;
                }
                stats.value_max = stats.value_max.max(finding.value);
                if summary.start_unix_nanos >= stats.last_seen_unix_nanos {
                    stats.last_seen_unix_nanos = summary.start_unix_nanos;
                    stats.last_message.clone_from(&finding.message);
                }
                keep_example(&mut stats.examples, trace_id, config.examples_per_key);
            }
        }
        for span in &trace.spans {
            record_span(
                bucket,
                config,
                span,
                trace_id,
                summary.root_service.as_ref(),
                summary.root_operation.as_ref(),
                &mut self.recent_exceptions,
            );
        }
        self.counters.overflow_keys += bucket.overflow - overflow_before;
        while self.recent_exceptions.len() > config.recent_exceptions {
            self.recent_exceptions.pop_front();
        }
    }

    fn buckets_in(&self, range: TimeRange) -> impl Iterator<Item = (&u64, &Bucket)> {
        let first = self.bucket_start_of(range.start_unix_nanos);
        self.buckets
            .range(first..)
            .take_while(move |(start, _)| **start < range.end_unix_nanos)
    }

    /// One table's entries over the buckets in the range, those `keep` accepts, merged per key.
    fn merged<T: BucketEntry>(
        &self,
        range: TimeRange,
        table: impl Fn(&Bucket) -> &HashMap<u64, T>,
        keep: impl Fn(&T) -> bool,
    ) -> HashMap<u64, T> {
        let mut merged: HashMap<u64, T> = HashMap::new();
        for (_, bucket) in self.buckets_in(range) {
            for (key, stats) in table(bucket) {
                if !keep(stats) {
                    continue;
                }
                match merged.get_mut(key) {
                    Some(total) => total.merge(stats, &self.config),
                    None => {
                        merged.insert(*key, stats.clone());
                    }
                }
            }
        }
        merged
    }

    /// Findings in the range, merged across buckets, most traces first.
    pub fn findings(&self, range: TimeRange, filter: &StatisticsFilter) -> Vec<FindingRow> {
        let merged = self.merged(
            range,
            |bucket| &bucket.findings,
            |stats| {
                filter.service_matches(&stats.service)
                    && filter.kind.is_none_or(|kind| kind == stats.kind)
            },
        );
        let mut rows: Vec<FindingRow> = merged
            .into_values()
            .map(|stats| FindingRow {
                kind: stats.kind,
                title: stats.kind.title().to_owned(),
                service: stats.service,
                operation: stats.operation,
                detail: stats.detail,
                traces: stats.traces,
                value_max: stats.value_max,
                last_seen_unix_nanos: stats.last_seen_unix_nanos,
                last_message: stats.last_message,
                example_trace_ids: stats.examples.iter().rev().map(trace_hex).collect(),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.traces
                .cmp(&a.traces)
                .then(a.kind.cmp(&b.kind))
                .then(a.service.cmp(&b.service))
                .then(a.operation.cmp(&b.operation))
                .then(a.detail.cmp(&b.detail))
        });
        truncate(&mut rows, filter.limit);
        rows
    }

    /// The trace interruption rate: overall, per service and per bucket.
    pub fn interruptions(&self, range: TimeRange, filter: &StatisticsFilter) -> InterruptionReport {
        let mut traces = 0;
        let mut broken_traces = 0;
        let mut truncated_traces = 0;
        let mut services: BTreeMap<String, ServiceTraces> = BTreeMap::new();
        let mut series = Vec::new();
        for (start, bucket) in self.buckets_in(range) {
            traces += bucket.traces;
            broken_traces += bucket.broken_traces;
            truncated_traces += bucket.truncated_traces;
            let (mut bucket_traces, mut bucket_broken) = (0, 0);
            for (service, stats) in &bucket.services {
                if !filter.service_matches(service) {
                    continue;
                }
                bucket_traces += stats.traces;
                bucket_broken += stats.broken;
                let total = services.entry(service.clone()).or_default();
                total.traces += stats.traces;
                total.broken += stats.broken;
                for example in &stats.examples {
                    keep_example(&mut total.examples, *example, self.config.examples_per_key);
                }
            }
            if filter.service.is_none() {
                bucket_traces = bucket.traces;
                bucket_broken = bucket.broken_traces;
            }
            series.push(InterruptionPoint {
                bucket_start_unix_nanos: *start,
                traces: bucket_traces,
                broken_traces: bucket_broken,
                interruption_rate: rate(bucket_broken, bucket_traces),
            });
        }
        let mut rows: Vec<InterruptionRow> = services
            .into_iter()
            .map(|(service, stats)| InterruptionRow {
                service,
                traces: stats.traces,
                broken_traces: stats.broken,
                interruption_rate: rate(stats.broken, stats.traces),
                example_trace_ids: stats.examples.iter().rev().map(trace_hex).collect(),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.interruption_rate
                .total_cmp(&a.interruption_rate)
                .then(b.traces.cmp(&a.traces))
                .then(a.service.cmp(&b.service))
        });
        truncate(&mut rows, filter.limit);
        InterruptionReport {
            traces,
            broken_traces,
            truncated_traces,
            interruption_rate: rate(broken_traces, traces),
            services: rows,
            series,
        }
    }

    /// Cycles in the service graph aggregated over the range: its strongly connected
    /// components of two or more services.
    pub fn graph_cycles(&self, range: TimeRange, filter: &StatisticsFilter) -> Vec<GraphCycle> {
        let mut edges: BTreeMap<(String, String), (u64, TraceIdBytes)> = BTreeMap::new();
        for (_, bucket) in self.buckets_in(range) {
            for edge in bucket.edges.values() {
                let total = edges
                    .entry((edge.caller.clone(), edge.callee.clone()))
                    .or_insert((0, edge.example));
                total.0 += edge.traces;
                total.1 = edge.example;
            }
        }
        let pairs: Vec<(String, String)> = edges.keys().cloned().collect();
        let mut cycles: Vec<GraphCycle> = strongly_connected_components(&pairs)
            .into_iter()
            .filter(|component| component.len() >= 2)
            .filter(|component| {
                filter
                    .service
                    .as_ref()
                    .is_none_or(|service| component.contains(service))
            })
            .map(|services| {
                let edges = edges
                    .iter()
                    .filter(|((caller, callee), _)| {
                        services.contains(caller) && services.contains(callee)
                    })
                    .map(|((caller, callee), (traces, example))| GraphEdge {
                        caller: caller.clone(),
                        callee: callee.clone(),
                        traces: *traces,
                        example_trace_id: trace_hex(example),
                    })
                    .collect();
                GraphCycle { services, edges }
            })
            .collect();
        cycles.sort_by(|a, b| a.services.cmp(&b.services));
        cycles
    }

    /// Database statements by fingerprint (and the tables they touch), most time spent first.
    pub fn database(&self, range: TimeRange, filter: &StatisticsFilter) -> DatabaseReport {
        let merged = self.merged(
            range,
            |bucket| &bucket.statements,
            |stats| filter.service_matches(&stats.service),
        );
        let mut tables: BTreeMap<(String, String, String), TableRow> = BTreeMap::new();
        for stats in merged.values() {
            for table in &stats.tables {
                let row = tables
                    .entry((stats.system.clone(), stats.database.clone(), table.clone()))
                    .or_insert_with(|| TableRow {
                        system: stats.system.clone(),
                        database: stats.database.clone(),
                        table: table.clone(),
                        calls: 0,
                        errors: 0,
                        slow_calls: 0,
                        statements: 0,
                    });
                row.calls += stats.latency.calls;
                row.errors += stats.errors;
                row.slow_calls += stats.slow_calls;
                row.statements += 1;
            }
        }
        let mut statements: Vec<StatementRow> = merged
            .into_values()
            .map(|stats| {
                let mut endpoints: Vec<EndpointCalls> = stats
                    .endpoints
                    .into_iter()
                    .map(|((service, operation), calls)| EndpointCalls {
                        service,
                        operation,
                        calls,
                    })
                    .collect();
                endpoints.sort_by(|a, b| {
                    b.calls
                        .cmp(&a.calls)
                        .then(a.service.cmp(&b.service))
                        .then(a.operation.cmp(&b.operation))
                });
                StatementRow {
                    service: stats.service,
                    system: stats.system,
                    database: stats.database,
                    tables: stats.tables,
                    operation: stats.operation,
                    fingerprint: stats.fingerprint,
                    calls: stats.latency.calls,
                    errors: stats.errors,
                    slow_calls: stats.slow_calls,
                    latency: stats.latency.summary(),
                    endpoints,
                    slowest: sorted_examples(&stats.slowest, false),
                }
            })
            .collect();
        statements.sort_by(|a, b| {
            let time =
                |row: &StatementRow| u128::from(row.latency.mean_nanos) * u128::from(row.calls);
            time(b)
                .cmp(&time(a))
                .then(a.fingerprint.cmp(&b.fingerprint))
                .then(a.service.cmp(&b.service))
        });
        truncate(&mut statements, filter.limit);
        let mut tables: Vec<TableRow> = tables.into_values().collect();
        tables.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.table.cmp(&b.table)));
        DatabaseReport {
            slow_threshold_nanos: nanos_of(self.config.slow_database_call),
            statements,
            tables,
        }
    }

    /// Redis commands by key pattern, hot keys and big keys.
    pub fn redis(&self, range: TimeRange, filter: &StatisticsFilter) -> RedisReport {
        let merged = self.merged(
            range,
            |bucket| &bucket.redis,
            |stats| filter.service_matches(&stats.service),
        );
        let mut hot_keys: Option<SpaceSaving> = None;
        let mut big_keys: Vec<CallExample> = Vec::new();
        for (_, bucket) in self.buckets_in(range) {
            for stats in bucket.redis.values() {
                if filter.service_matches(&stats.service) {
                    merge_largest(
                        &mut big_keys,
                        &stats.big_keys,
                        self.config.slowest_per_key * 2,
                    );
                }
            }
            if let Some(sketch) = &bucket.hot_keys {
                match &mut hot_keys {
                    Some(total) => total.merge(sketch),
                    None => hot_keys = Some(sketch.clone()),
                }
            }
        }
        let mut commands: Vec<RedisRow> = merged
            .into_values()
            .map(|stats| RedisRow {
                hit_rate: (stats.hits + stats.misses > 0)
                    .then(|| stats.hits as f64 / (stats.hits + stats.misses) as f64),
                service: stats.service,
                command: stats.command,
                key_pattern: stats.key_pattern,
                calls: stats.latency.calls,
                errors: stats.errors,
                slow_calls: stats.slow_calls,
                hits: stats.hits,
                misses: stats.misses,
                latency: stats.latency.summary(),
                max_value_size_bytes: stats.max_value_size_bytes,
                slowest: sorted_examples(&stats.slowest, false),
            })
            .collect();
        commands.sort_by(|a, b| {
            b.calls
                .cmp(&a.calls)
                .then(a.command.cmp(&b.command))
                .then(a.key_pattern.cmp(&b.key_pattern))
                .then(a.service.cmp(&b.service))
        });
        truncate(&mut commands, filter.limit);
        let hot_keys = hot_keys
            .map(|sketch| sketch.top(sketch.capacity()))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|HeavyHitter { key, count, error }| {
                let (service, key) = key.split_once(HOT_KEY_SEPARATOR)?;
                filter.service_matches(service).then(|| HotKeyRow {
                    service: service.to_owned(),
                    key: key.to_owned(),
                    calls: count,
                    error,
                })
            })
            .take(filter.limit.unwrap_or(20).min(100))
            .collect();
        RedisReport {
            slow_threshold_nanos: nanos_of(self.config.slow_redis_call),
            commands,
            hot_keys,
            big_keys: sorted_examples(&big_keys, true),
        }
    }

    /// Slowest entry operations, failures by status message, recent exceptions.
    pub fn operations(&self, range: TimeRange, filter: &StatisticsFilter) -> OperationsReport {
        let operations = self.merged(
            range,
            |bucket| &bucket.operations,
            |stats| filter.service_matches(&stats.service),
        );
        let failures = self.merged(
            range,
            |bucket| &bucket.failures,
            |stats| filter.service_matches(&stats.service),
        );
        let mut slowest: Vec<OperationRow> = operations
            .into_values()
            .map(|stats| OperationRow {
                service: stats.service,
                operation: stats.operation,
                calls: stats.latency.calls,
                errors: stats.errors,
                latency: stats.latency.summary(),
                slowest: sorted_examples(&stats.slowest, false),
            })
            .collect();
        slowest.sort_by(|a, b| {
            b.latency
                .max_nanos
                .cmp(&a.latency.max_nanos)
                .then(a.service.cmp(&b.service))
                .then(a.operation.cmp(&b.operation))
        });
        truncate(&mut slowest, filter.limit);
        let mut failures: Vec<FailureRow> = failures
            .into_values()
            .map(|stats| FailureRow {
                service: stats.service,
                operation: stats.operation,
                status_message: stats.status_message,
                count: stats.count,
                last_seen_unix_nanos: stats.last_seen_unix_nanos,
                example_trace_ids: stats.examples.iter().rev().map(trace_hex).collect(),
            })
            .collect();
        failures.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.service.cmp(&b.service))
                .then(a.operation.cmp(&b.operation))
                .then(a.status_message.cmp(&b.status_message))
        });
        truncate(&mut failures, filter.limit);
        let mut exceptions: Vec<ExceptionRow> = self
            .recent_exceptions
            .iter()
            .rev()
            .filter(|exception| {
                exception.time_unix_nanos >= range.start_unix_nanos
                    && exception.time_unix_nanos < range.end_unix_nanos
                    && filter.service_matches(&exception.service)
            })
            .map(|exception| ExceptionRow {
                time_unix_nanos: exception.time_unix_nanos,
                service: exception.service.clone(),
                operation: exception.operation.clone(),
                exception_type: exception.exception_type.clone(),
                message: exception.message.clone(),
                trace_id: trace_hex(&exception.trace_id),
                span_id: span_hex(&exception.span_id),
            })
            .collect();
        truncate(&mut exceptions, filter.limit);
        OperationsReport {
            slowest,
            failures,
            exceptions,
        }
    }
}

/// Separates service and key in the hot-key sketch's keys (a control character no key has).
const HOT_KEY_SEPARATOR: char = '\u{1f}';

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn truncate<T>(rows: &mut Vec<T>, limit: Option<usize>) {
    rows.truncate(limit.unwrap_or(100).min(1000));
}

fn sorted_examples(examples: &[CallExample], with_size: bool) -> Vec<ExampleCall> {
    let mut examples = examples.to_vec();
    examples.sort_by(|a, b| {
        b.measure
            .cmp(&a.measure)
            .then(b.start_unix_nanos.cmp(&a.start_unix_nanos))
    });
    examples
        .iter()
        .map(|example| example_call(example, with_size))
        .collect()
}

fn record_span(
    bucket: &mut Bucket,
    config: &StatisticsConfig,
    span: &SpanFacts,
    trace_id: TraceIdBytes,
    root_service: &str,
    root_operation: &str,
    recent_exceptions: &mut VecDeque<ExceptionRecord>,
) {
    let cap = config.max_keys_per_bucket;
    let duration = span.duration_nanos();
    let example = |measure: u64, key: String| CallExample {
        trace_id,
        span_id: *span.span_id.as_bytes(),
        start_unix_nanos: span.start_unix_nanos,
        duration_nanos: duration,
        measure,
        key,
    };
    if let Some(database) = &span.database {
        let key = stable_hash(&(
            span.service.as_ref(),
            database.fingerprint_hash,
            database.name.as_ref(),
        ));
        if let Some(stats) = entry_or_overflow(
            &mut bucket.statements,
            key,
            cap,
            &mut bucket.overflow,
            || StatementStats {
                service: span.service.to_string(),
                system: database.system.to_string(),
                database: database.name.to_string(),
                fingerprint: database.fingerprint.to_string(),
                operation: database.operation.to_string(),
                tables: database
                    .tables
                    .iter()
                    .map(|table| table.to_string())
                    .collect(),
                errors: 0,
                slow_calls: 0,
                latency: Latency::default(),
                endpoints: HashMap::new(),
                slowest: Vec::new(),
            },
        ) {
            stats.latency.record(duration);
            stats.errors += u64::from(span.is_error);
            stats.slow_calls += u64::from(duration >= nanos_of(config.slow_database_call));
            let endpoint = (root_service.to_owned(), root_operation.to_owned());
            if stats.endpoints.len() < 20 || stats.endpoints.contains_key(&endpoint) {
                *stats.endpoints.entry(endpoint).or_default() += 1;
            }
            keep_largest(
                &mut stats.slowest,
                example(duration, String::new()),
                config.slowest_per_key,
            );
        }
    }
    if let Some(redis) = &span.redis {
        let key = stable_hash(&(
            span.service.as_ref(),
            redis.command.as_ref(),
            redis.key_pattern.as_ref(),
        ));
        if let Some(stats) =
            entry_or_overflow(&mut bucket.redis, key, cap, &mut bucket.overflow, || {
                RedisStats {
                    service: span.service.to_string(),
                    command: redis.command.to_string(),
                    key_pattern: redis.key_pattern.to_string(),
                    errors: 0,
                    slow_calls: 0,
                    hits: 0,
                    misses: 0,
                    latency: Latency::default(),
                    max_value_size_bytes: 0,
                    big_keys: Vec::new(),
                    slowest: Vec::new(),
                }
            })
        {
            stats.latency.record(duration);
            stats.errors += u64::from(span.is_error);
            stats.slow_calls += u64::from(duration >= nanos_of(config.slow_redis_call));
            match redis.hit {
                Some(true) => stats.hits += 1,
                Some(false) => stats.misses += 1,
                None => {}
            }
            if let Some(size) = redis.value_size_bytes {
                stats.max_value_size_bytes = stats.max_value_size_bytes.max(size);
                let key = redis.key.as_deref().unwrap_or("").to_owned();
                if !stats
                    .big_keys
                    .iter()
                    .any(|big| big.key == key && big.measure >= size)
                {
                    stats.big_keys.retain(|big| big.key != key);
                    keep_largest(
                        &mut stats.big_keys,
                        example(size, key),
                        config.slowest_per_key,
                    );
                }
            }
            keep_largest(
                &mut stats.slowest,
                example(duration, String::new()),
                config.slowest_per_key,
            );
        }
        if let Some(key) = &redis.key {
            let capacity = config.hot_key_capacity.max(1);
            let sketch = bucket
                .hot_keys
                .get_or_insert_with(|| SpaceSaving::new(capacity));
            let mut tagged = String::with_capacity(span.service.len() + 1 + key.len());
            tagged.push_str(&span.service);
            tagged.push(HOT_KEY_SEPARATOR);
            tagged.push_str(key);
            sketch.offer(&tagged, 1);
        }
    }
    let is_entry =
        span.parent_span_id.is_none() || matches!(span.kind, SpanKind::Server | SpanKind::Consumer);
    if is_entry {
        let key = stable_hash(&(span.service.as_ref(), span.operation.as_ref()));
        if let Some(stats) = entry_or_overflow(
            &mut bucket.operations,
            key,
            cap,
            &mut bucket.overflow,
            || OperationStats {
                service: span.service.to_string(),
                operation: span.operation.to_string(),
                errors: 0,
                latency: Latency::default(),
                slowest: Vec::new(),
            },
        ) {
            stats.latency.record(duration);
            stats.errors += u64::from(span.is_error);
            keep_largest(
                &mut stats.slowest,
                example(duration, String::new()),
                config.slowest_per_key,
            );
        }
    }
    if span.is_error {
        let key = stable_hash(&(
            span.service.as_ref(),
            span.operation.as_ref(),
            span.status_message.as_ref(),
        ));
        if let Some(stats) =
            entry_or_overflow(&mut bucket.failures, key, cap, &mut bucket.overflow, || {
                FailureStats {
                    service: span.service.to_string(),
                    operation: span.operation.to_string(),
                    status_message: span.status_message.to_string(),
                    count: 0,
                    last_seen_unix_nanos: 0,
                    examples: VecDeque::new(),
                }
            })
        {
            stats.count += 1;
            stats.last_seen_unix_nanos = stats.last_seen_unix_nanos.max(span.start_unix_nanos);
            keep_example(&mut stats.examples, trace_id, config.examples_per_key);
        }
    }
    if let Some(exception) = &span.exception {
        recent_exceptions.push_back(ExceptionRecord {
            time_unix_nanos: if exception.time_unix_nanos > 0 {
                exception.time_unix_nanos
            } else {
                span.end_unix_nanos
            },
            service: span.service.to_string(),
            operation: span.operation.to_string(),
            exception_type: exception.exception_type.to_string(),
            message: exception.message.to_string(),
            trace_id,
            span_id: *span.span_id.as_bytes(),
        });
    }
}

/// Tarjan's algorithm, iterative: the strongly connected components of a directed graph given
/// as edges, each component's nodes sorted.
pub fn strongly_connected_components(edges: &[(String, String)]) -> Vec<Vec<String>> {
    let mut names: Vec<&str> = edges
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    names.sort_unstable();
    names.dedup();
    let index_of = |name: &str| names.binary_search(&name).expect("every edge end is named");
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (a, b) in edges {
        successors[index_of(a)].push(index_of(b));
    }
    const UNVISITED: usize = usize::MAX;
    let mut order = vec![UNVISITED; names.len()];
    let mut low = vec![0usize; names.len()];
    let mut on_stack = vec![false; names.len()];
    let mut stack: Vec<usize> = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0usize;
    for start in 0..names.len() {
        if order[start] != UNVISITED {
            continue;
        }
        // (node, index of the next successor to look at)
        let mut work: Vec<(usize, usize)> = vec![(start, 0)];
        order[start] = counter;
        low[start] = counter;
        counter += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&mut (node, ref mut next)) = work.last_mut() {
            if let Some(&successor) = successors[node].get(*next) {
                *next += 1;
                if order[successor] == UNVISITED {
                    order[successor] = counter;
                    low[successor] = counter;
                    counter += 1;
                    stack.push(successor);
                    on_stack[successor] = true;
                    work.push((successor, 0));
                } else if on_stack[successor] {
                    low[node] = low[node].min(order[successor]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == order[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(names[member].to_owned());
                    if member == node {
                        break;
                    }
                }
                component.sort();
                components.push(component);
            }
        }
    }
    components
}
