//! `weft serve` settings: each one a flag, a `WEFT_*` environment variable and a key in the TOML
//! file given with `--config`, in that order of precedence, else the default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use weft_codec::ValidationLimits;
use weft_wal::FsyncPolicy;

/// Parses `16MiB`, `4GiB`, `512KiB`, `1000000` (bytes); also `MB`/`GB` as powers of 1000.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("invalid size {text:?}: expected a number with an optional unit"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "invalid size unit {other:?} in {text:?}: use KiB, MiB or GiB"
            ))
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|error| format!("invalid duration {text:?}: {error}"))
}

fn parse_fsync(text: &str) -> Result<FsyncPolicy, String> {
    text.parse()
}

/// Flags of `weft serve`. Every flag can also be set by the environment variable shown, or by
/// the same name (with underscores) in the `--config` TOML file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file; flags and environment variables override it.
    #[arg(long, env = "WEFT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for all of Weft's data (WAL, and later segments). [default: ./weft-data]
    #[arg(long, env = "WEFT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// OTLP/gRPC listen address. [default: 0.0.0.0:4317]
    #[arg(long, env = "WEFT_OTLP_GRPC_LISTEN", value_name = "HOST:PORT")]
    pub otlp_grpc_listen: Option<SocketAddr>,

    /// OTLP/HTTP listen address (POST /v1/traces and /v1/logs). [default: 0.0.0.0:4318]
    #[arg(long, env = "WEFT_OTLP_HTTP_LISTEN", value_name = "HOST:PORT")]
    pub otlp_http_listen: Option<SocketAddr>,

    /// Zipkin v2 listen address (POST /api/v2/spans). [default: 0.0.0.0:9411]
    #[arg(long, env = "WEFT_ZIPKIN_LISTEN", value_name = "HOST:PORT")]
    pub zipkin_listen: Option<SocketAddr>,

    /// API, UI, /health and /metrics listen address. [default: 0.0.0.0:16686]
    #[arg(long, env = "WEFT_HTTP_LISTEN", value_name = "HOST:PORT")]
    pub http_listen: Option<SocketAddr>,

    /// Largest export request, after decompression. [default: 16MiB]
    #[arg(long, env = "WEFT_MAX_REQUEST_SIZE", value_name = "SIZE", value_parser = parse_byte_size)]
    pub max_request_size: Option<u64>,

    /// Export requests in flight at once; more are shed with RESOURCE_EXHAUSTED / 429.
    /// [default: 64]
    #[arg(long, env = "WEFT_MAX_CONCURRENT_REQUESTS", value_name = "N")]
    pub max_concurrent_requests: Option<usize>,

    /// Longest a request may take to arrive and be answered; a stalled upload is refused (HTTP
    /// 408; gRPC CANCELLED, tonic's timeout status) and frees its admission slot. [default: 30s]
    #[arg(long, env = "WEFT_RECEIVE_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub receive_timeout: Option<Duration>,

    /// How far ahead of its arrival a span may start (clients' clocks run ahead). A span
    /// starting later than that, or before the hot retention, is moved to its arrival time
    /// with its own start kept in `weft.original_start_time_unix_nano`. [default: 1h]
    #[arg(long, env = "WEFT_MAX_CLOCK_SKEW", value_name = "DURATION", value_parser = parse_duration)]
    pub max_clock_skew: Option<Duration>,

    /// Queries (Weft, Jaeger, metrics and diagnostics API calls) running at once; more wait
    /// in a short queue, and past that are shed with 429 and Retry-After. [default: 16]
    #[arg(long, env = "WEFT_MAX_CONCURRENT_QUERIES", value_name = "N")]
    pub max_concurrent_queries: Option<usize>,

    /// Close gRPC connections after this long so clients rebalance across collectors.
    /// [default: 10m]
    #[arg(long, env = "WEFT_GRPC_MAX_CONNECTION_AGE", value_name = "DURATION", value_parser = parse_duration)]
    pub grpc_max_connection_age: Option<Duration>,

    /// Longest attribute value (and span name, status message) kept; longer ones are cut and
    /// listed in `weft.truncated_attributes`. [default: 16KiB]
    #[arg(long, env = "WEFT_MAX_ATTRIBUTE_VALUE_SIZE", value_name = "SIZE", value_parser = parse_byte_size)]
    pub max_attribute_value_size: Option<u64>,

    /// Most attributes kept per span (and per event, link, resource, scope). [default: 128]
    #[arg(long, env = "WEFT_MAX_ATTRIBUTES_PER_SPAN", value_name = "N")]
    pub max_attributes_per_span: Option<usize>,

    /// Most events kept per span. [default: 128]
    #[arg(long, env = "WEFT_MAX_EVENTS_PER_SPAN", value_name = "N")]
    pub max_events_per_span: Option<usize>,

    /// Most links kept per span. [default: 128]
    #[arg(long, env = "WEFT_MAX_LINKS_PER_SPAN", value_name = "N")]
    pub max_links_per_span: Option<usize>,

    /// When the WAL is fsynced: `always` (before every acknowledgement; survives power loss),
    /// `interval:<duration>` (acknowledged after write(2): survives kill -9, loses at most the
    /// interval on power loss) or `never` (left to the kernel). [default: interval:1s]
    #[arg(long, env = "WEFT_WAL_FSYNC", value_name = "POLICY", value_parser = parse_fsync)]
    pub wal_fsync: Option<FsyncPolicy>,

    /// WAL segment size before rotation. [default: 64MiB]
    #[arg(long, env = "WEFT_WAL_SEGMENT_SIZE", value_name = "SIZE", value_parser = parse_byte_size)]
    pub wal_segment_size: Option<u64>,

    /// WAL backlog limit: past it, ingest sheds with RESOURCE_EXHAUSTED / 429 until the pipeline
    /// catches up. [default: 4GiB]
    #[arg(long, env = "WEFT_WAL_MAX_SIZE", value_name = "SIZE", value_parser = parse_byte_size)]
    pub wal_max_size: Option<u64>,

    /// Attribute names promoted to indexed business keys, comma-separated.
    /// [default: order.id,user.id,bizOrderId]
    #[arg(
        long,
        env = "WEFT_BUSINESS_KEYS",
        value_name = "NAMES",
        value_delimiter = ','
    )]
    pub business_keys: Option<Vec<String>>,

    /// How long spans are kept; whole 10-minute partitions older than this are dropped.
    /// [default: 3d]
    #[arg(long, env = "WEFT_RETENTION", value_name = "DURATION", value_parser = parse_duration)]
    pub retention: Option<Duration>,

    /// Longest spans stay in the memtable (queryable, replayed from the WAL after a crash)
    /// before they are written to a Parquet segment and the WAL is trimmed. [default: 30s]
    #[arg(long, env = "WEFT_STORE_FLUSH_INTERVAL", value_name = "DURATION", value_parser = parse_duration)]
    pub store_flush_interval: Option<Duration>,

    /// Spans in the memtable that trigger a flush; bounds the memtable's memory (about 1 KiB
    /// per span). [default: 262144]
    #[arg(long, env = "WEFT_STORE_FLUSH_SPANS", value_name = "N")]
    pub store_flush_spans: Option<usize>,

    /// Most spans one search may scan before it answers with what it found (marked partial).
    /// [default: 200000000]
    #[arg(long, env = "WEFT_MAX_SEARCH_SCAN_SPANS", value_name = "N")]
    pub max_search_scan_spans: Option<u64>,

    /// Retention of 30-second metric buckets (span metrics and topology). [default: 2d]
    #[arg(long, env = "WEFT_METRICS_RETENTION_30S", value_name = "DURATION", value_parser = parse_duration)]
    pub metrics_retention_30s: Option<Duration>,

    /// Retention of the 10-minute metric rollups. [default: 8d]
    #[arg(long, env = "WEFT_METRICS_RETENTION_10M", value_name = "DURATION", value_parser = parse_duration)]
    pub metrics_retention_10m: Option<Duration>,

    /// Retention of the 1-hour metric rollups. [default: 31d]
    #[arg(long, env = "WEFT_METRICS_RETENTION_1H", value_name = "DURATION", value_parser = parse_duration)]
    pub metrics_retention_1h: Option<Duration>,

    /// Attribute names (span, else resource) added as span-metric dimensions, comma-separated.
    /// [default: none]
    #[arg(
        long,
        env = "WEFT_METRICS_DIMENSIONS",
        value_name = "NAMES",
        value_delimiter = ','
    )]
    pub metrics_dimensions: Option<Vec<String>>,

    /// Span-metric series one service may have; spans of further series are counted in the
    /// service's overflow series. [default: 2000]
    #[arg(long, env = "WEFT_METRICS_MAX_SERIES_PER_SERVICE", value_name = "N")]
    pub metrics_max_series_per_service: Option<usize>,

    /// How often closed metric buckets and the metric processor's state are committed; a
    /// restart replays at most this much of the WAL into the metrics. [default: 10s]
    #[arg(long, env = "WEFT_METRICS_CHECKPOINT_INTERVAL", value_name = "DURATION", value_parser = parse_duration)]
    pub metrics_checkpoint_interval: Option<Duration>,

    /// Words (case-insensitive) that link a span to its metric bucket when its status, event
    /// names or exception text contain one, comma-separated. [default: ERROR,FAILED,EXCEPTION]
    #[arg(
        long,
        env = "WEFT_EXEMPLAR_KEYWORDS",
        value_name = "WORDS",
        value_delimiter = ','
    )]
    pub exemplar_keywords: Option<Vec<String>>,

    /// A series "alerts" (and samples more calls as exemplars) while its error rate is at least
    /// this share. [default: 0.05]
    #[arg(long, env = "WEFT_ALERT_ERROR_RATE", value_name = "SHARE")]
    pub alert_error_rate: Option<f64>,

    /// … or while its p99 latency is at least this long. [default: 1s]
    #[arg(long, env = "WEFT_ALERT_LATENCY", value_name = "DURATION", value_parser = parse_duration)]
    pub alert_latency: Option<Duration>,

    /// How long a client span waits for the server span it caused (and the reverse) before it
    /// counts as a call to an uninstrumented peer or as unpaired. [default: 10s]
    #[arg(long, env = "WEFT_TOPOLOGY_PAIRING_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub topology_pairing_timeout: Option<Duration>,

    /// Turn the stream metrics off: no span metrics, exemplars or topology are computed (the
    /// metric and topology endpoints answer 501). For measuring what they cost, or for a node
    /// that only stores spans.
    #[arg(long, env = "WEFT_NO_STREAM_METRICS")]
    pub no_stream_metrics: bool,

    /// How far behind the head the cold writer runs: a window's shard closes this long after
    /// the window ends, so a kept trace's late spans are in. [default: 30m]
    #[arg(long, env = "WEFT_COLD_DELAY", value_name = "DURATION", value_parser = parse_duration)]
    pub cold_delay: Option<Duration>,

    /// Width of a sampling shard window (and of one cold-writer pass). [default: 10m]
    #[arg(long, env = "WEFT_SAMPLING_SHARD", value_name = "DURATION", value_parser = parse_duration)]
    pub sampling_shard: Option<Duration>,

    /// How long the cold tier keeps sampled traces; older partitions are dropped. [default: 30d]
    #[arg(long, env = "WEFT_COLD_RETENTION", value_name = "DURATION", value_parser = parse_duration)]
    pub cold_retention: Option<Duration>,

    /// Traces one shard window is expected to keep; sizes its Bloom filter. [default: 1000000]
    #[arg(long, env = "WEFT_SAMPLING_EXPECTED_TRACES", value_name = "N")]
    pub sampling_expected_traces: Option<u64>,

    /// False-positive rate a shard's Bloom filter is sized for at the expected count.
    /// [default: 0.01]
    #[arg(long, env = "WEFT_SAMPLING_FALSE_POSITIVE_RATE", value_name = "RATE")]
    pub sampling_false_positive_rate: Option<f64>,

    /// Share of traces no rule keeps that the cold tier keeps anyway, decided from the trace
    /// ID; overrides `default_keep_share` of the `[sampling]` rules. [default: 0.001]
    #[arg(long, env = "WEFT_SAMPLING_DEFAULT_SHARE", value_name = "SHARE")]
    pub sampling_default_share: Option<f64>,

    /// Test hook: how many kept traces one cold-writer commit holds at most (a window with
    /// more is copied in several parts).
    #[arg(long, env = "WEFT_COLD_TRACES_PER_PART", value_name = "N", hide = true)]
    pub cold_traces_per_part: Option<u64>,

    /// Test hook: abort the process at this cold-writer step (crash tests): a store crash
    /// point of the cold store, or `between-parts`.
    #[arg(long, env = "WEFT_COLD_CRASH_POINT", value_name = "STEP", hide = true, value_parser = parse_cold_crash_point)]
    pub cold_crash_point: Option<String>,

    /// Test hook: abort the process at this store step (crash tests).
    #[arg(long, env = "WEFT_STORE_CRASH_POINT", value_name = "STEP", hide = true, value_parser = parse_store_crash_point)]
    pub store_crash_point: Option<String>,

    /// A trace is complete, and analyzed, when none of its spans has arrived for this long.
    /// [default: 30s]
    #[arg(long, env = "WEFT_TRACE_INACTIVITY_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub trace_inactivity_timeout: Option<Duration>,

    /// A trace still receiving spans after this long is analyzed anyway, marked truncated.
    /// [default: 5m]
    #[arg(long, env = "WEFT_TRACE_MAX_AGE", value_name = "DURATION", value_parser = parse_duration)]
    pub trace_max_age: Option<Duration>,

    /// Open traces the assembler holds at most; past it the idlest is analyzed early.
    /// [default: 100000]
    #[arg(long, env = "WEFT_DIAGNOSTICS_MAX_OPEN_TRACES", value_name = "N")]
    pub diagnostics_max_open_traces: Option<usize>,

    /// Spans in open traces the assembler holds at most (about 200 bytes each).
    /// [default: 1000000]
    #[arg(long, env = "WEFT_DIAGNOSTICS_MAX_OPEN_SPANS", value_name = "N")]
    pub diagnostics_max_open_spans: Option<usize>,

    /// Spans of one trace the assembler keeps; more are counted and the trace marked
    /// truncated. [default: 5000]
    #[arg(long, env = "WEFT_DIAGNOSTICS_MAX_SPANS_PER_TRACE", value_name = "N")]
    pub diagnostics_max_spans_per_trace: Option<usize>,

    /// A span whose self time is more than this share of its trace is a bottleneck.
    /// [default: 0.48]
    #[arg(long, env = "WEFT_BOTTLENECK_SHARE", value_name = "SHARE")]
    pub bottleneck_share: Option<f64>,

    /// The same downstream call this many times under one parent is reported as repeated
    /// calls. [default: 5]
    #[arg(long, env = "WEFT_REPEATED_CALL_THRESHOLD", value_name = "N")]
    pub repeated_call_threshold: Option<usize>,

    /// A database call at least this slow counts as slow in database statistics.
    /// [default: 200ms]
    #[arg(long, env = "WEFT_SLOW_DATABASE_CALL", value_name = "DURATION", value_parser = parse_duration)]
    pub slow_database_call: Option<Duration>,

    /// A Redis call at least this slow counts as slow in Redis statistics. [default: 10ms]
    #[arg(long, env = "WEFT_SLOW_REDIS_CALL", value_name = "DURATION", value_parser = parse_duration)]
    pub slow_redis_call: Option<Duration>,

    /// How long findings and database/Redis/operation statistics are kept. [default: 6h]
    #[arg(long, env = "WEFT_DIAGNOSTICS_RETENTION", value_name = "DURATION", value_parser = parse_duration)]
    pub diagnostics_retention: Option<Duration>,

    /// Time bucket of the diagnostics statistics. [default: 1m]
    #[arg(long, env = "WEFT_DIAGNOSTICS_BUCKET", value_name = "DURATION", value_parser = parse_duration)]
    pub diagnostics_bucket: Option<Duration>,

    /// Run the built-in traffic generator against this server, so there is data to look at.
    #[arg(long, env = "WEFT_DEMO")]
    pub demo: bool,

    /// Spans per second the demo generator sends. [default: 200]
    #[arg(long, env = "WEFT_DEMO_RATE", value_name = "SPANS_PER_SECOND")]
    pub demo_rate: Option<f64>,

    /// Debugging aid: append every processed span (position, trace ID, span ID, service, name)
    /// to this file, exactly once, flushed like a store would.
    #[arg(long, env = "WEFT_CAPTURE_FILE", value_name = "FILE")]
    pub capture_file: Option<PathBuf>,

    /// How often the capture file is made durable. [default: 1s]
    #[arg(long, env = "WEFT_CAPTURE_FLUSH_INTERVAL", value_name = "DURATION", value_parser = parse_duration)]
    pub capture_flush_interval: Option<Duration>,
}

/// The `--config` file: the same settings as the flags, with underscores.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub otlp_grpc_listen: Option<SocketAddr>,
    pub otlp_http_listen: Option<SocketAddr>,
    pub zipkin_listen: Option<SocketAddr>,
    pub http_listen: Option<SocketAddr>,
    pub max_request_size: Option<String>,
    pub max_concurrent_requests: Option<usize>,
    pub receive_timeout: Option<String>,
    pub max_clock_skew: Option<String>,
    pub max_concurrent_queries: Option<usize>,
    pub grpc_max_connection_age: Option<String>,
    pub max_attribute_value_size: Option<String>,
    pub max_attributes_per_span: Option<usize>,
    pub max_events_per_span: Option<usize>,
    pub max_links_per_span: Option<usize>,
    pub wal_fsync: Option<String>,
    pub wal_segment_size: Option<String>,
    pub wal_max_size: Option<String>,
    pub business_keys: Option<Vec<String>>,
    pub retention: Option<String>,
    pub store_flush_interval: Option<String>,
    pub store_flush_spans: Option<usize>,
    pub max_search_scan_spans: Option<u64>,
    pub metrics_retention_30s: Option<String>,
    pub metrics_retention_10m: Option<String>,
    pub metrics_retention_1h: Option<String>,
    pub metrics_dimensions: Option<Vec<String>>,
    pub metrics_max_series_per_service: Option<usize>,
    pub metrics_checkpoint_interval: Option<String>,
    pub exemplar_keywords: Option<Vec<String>>,
    pub alert_error_rate: Option<f64>,
    pub alert_latency: Option<String>,
    pub topology_pairing_timeout: Option<String>,
    pub stream_metrics: Option<bool>,
    pub demo: Option<bool>,
    pub demo_rate: Option<f64>,
    pub capture_file: Option<PathBuf>,
    pub capture_flush_interval: Option<String>,
    pub cold_delay: Option<String>,
    pub sampling_shard: Option<String>,
    pub cold_retention: Option<String>,
    pub sampling_expected_traces: Option<u64>,
    pub sampling_false_positive_rate: Option<f64>,
    pub trace_inactivity_timeout: Option<String>,
    pub trace_max_age: Option<String>,
    pub diagnostics_max_open_traces: Option<usize>,
    pub diagnostics_max_open_spans: Option<usize>,
    pub diagnostics_max_spans_per_trace: Option<usize>,
    pub bottleneck_share: Option<f64>,
    pub repeated_call_threshold: Option<usize>,
    pub slow_database_call: Option<String>,
    pub slow_redis_call: Option<String>,
    pub diagnostics_retention: Option<String>,
    pub diagnostics_bucket: Option<String>,
    /// The sampling rules (see `weft_sampling::SamplingConfig`); `PUT /api/v1/sampling/rules`
    /// replaces them at run time.
    pub sampling: Option<weft_sampling::SamplingConfig>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }
}

/// Every setting resolved.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub otlp_grpc_listen: SocketAddr,
    pub otlp_http_listen: SocketAddr,
    pub zipkin_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub max_request_bytes: u64,
    pub max_concurrent_requests: usize,
    pub receive_timeout: Duration,
    pub max_clock_skew: Duration,
    pub max_concurrent_queries: usize,
    pub grpc_max_connection_age: Duration,
    pub limits: ValidationLimits,
    pub wal_fsync: FsyncPolicy,
    pub wal_segment_bytes: u64,
    pub wal_max_bytes: u64,
    pub business_keys: Vec<String>,
    pub retention: Duration,
    pub store_flush_interval: Duration,
    pub store_flush_spans: usize,
    pub max_search_scan_spans: u64,
    pub metrics_retention: [Duration; 3],
    pub metrics_dimensions: Vec<String>,
    pub metrics_max_series_per_service: usize,
    pub metrics_checkpoint_interval: Duration,
    pub exemplar_keywords: Vec<String>,
    pub alert_error_rate: f64,
    pub alert_latency: Duration,
    pub topology_pairing_timeout: Duration,
    pub stream_metrics: bool,
    pub store_crash_point: Option<String>,
    pub demo: bool,
    pub demo_spans_per_second: f64,
    pub capture_file: Option<PathBuf>,
    pub capture_flush_interval: Duration,
    pub cold_delay: Duration,
    pub sampling_shard_seconds: u32,
    pub cold_retention: Duration,
    pub sampling_sizing: weft_sampling::FilterSizing,
    /// The rules from the file (or the defaults), the share flag applied.
    pub sampling_rules: weft_sampling::SamplingConfig,
    pub cold_traces_per_part: u64,
    pub cold_crash_point: Option<String>,
    /// The trace assembler, analyses and statistics.
    pub diagnostics: weft_diagnose::DiagnoserConfig,
}

/// A store crash point, one of the store's steps.
fn parse_store_crash_point(text: &str) -> Result<String, String> {
    if weft_store::CRASH_POINTS.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "unknown store crash point {text:?}; known: {}",
            weft_store::CRASH_POINTS.join(", ")
        ))
    }
}

/// A cold-writer crash point: a step of the cold store, or one of the cold writer's own.
fn parse_cold_crash_point(text: &str) -> Result<String, String> {
    let cold_writer_steps = weft_processors::cold_writer::COLD_CRASH_POINTS;
    if weft_store::CRASH_POINTS.contains(&text) || cold_writer_steps.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "unknown cold crash point {text:?}; known: {}, {}",
            weft_store::CRASH_POINTS.join(", "),
            cold_writer_steps.join(", ")
        ))
    }
}

fn file_value<T>(
    value: &Option<String>,
    key: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> anyhow::Result<Option<T>> {
    value
        .as_deref()
        .map(|text| parse(text).map_err(|error| anyhow::anyhow!("config key {key}: {error}")))
        .transpose()
}

fn resolve_diagnostics(
    args: &ServeArgs,
    file: &FileConfig,
) -> anyhow::Result<weft_diagnose::DiagnoserConfig> {
    let duration = |key: &str, value: &Option<String>| file_value(value, key, parse_duration);
    let assembler_defaults = weft_diagnose::AssemblerConfig::default();
    let analysis_defaults = weft_diagnose::AnalysisConfig::default();
    let statistics_defaults = weft_diagnose::StatisticsConfig::default();
    let config = weft_diagnose::DiagnoserConfig {
        assembler: weft_diagnose::AssemblerConfig {
            inactivity_timeout: args
                .trace_inactivity_timeout
                .or(duration(
                    "trace_inactivity_timeout",
                    &file.trace_inactivity_timeout,
                )?)
                .unwrap_or(assembler_defaults.inactivity_timeout),
            max_trace_age: args
                .trace_max_age
                .or(duration("trace_max_age", &file.trace_max_age)?)
                .unwrap_or(assembler_defaults.max_trace_age),
            max_open_traces: args
                .diagnostics_max_open_traces
                .or(file.diagnostics_max_open_traces)
                .unwrap_or(assembler_defaults.max_open_traces),
            max_open_spans: args
                .diagnostics_max_open_spans
                .or(file.diagnostics_max_open_spans)
                .unwrap_or(assembler_defaults.max_open_spans),
            max_spans_per_trace: args
                .diagnostics_max_spans_per_trace
                .or(file.diagnostics_max_spans_per_trace)
                .unwrap_or(assembler_defaults.max_spans_per_trace),
            ..assembler_defaults
        },
        analysis: weft_diagnose::AnalysisConfig {
            bottleneck_share: args
                .bottleneck_share
                .or(file.bottleneck_share)
                .unwrap_or(analysis_defaults.bottleneck_share),
            repeated_call_threshold: args
                .repeated_call_threshold
                .or(file.repeated_call_threshold)
                .unwrap_or(analysis_defaults.repeated_call_threshold),
        },
        statistics: weft_diagnose::StatisticsConfig {
            slow_database_call: args
                .slow_database_call
                .or(duration("slow_database_call", &file.slow_database_call)?)
                .unwrap_or(statistics_defaults.slow_database_call),
            slow_redis_call: args
                .slow_redis_call
                .or(duration("slow_redis_call", &file.slow_redis_call)?)
                .unwrap_or(statistics_defaults.slow_redis_call),
            retention: args
                .diagnostics_retention
                .or(duration(
                    "diagnostics_retention",
                    &file.diagnostics_retention,
                )?)
                .unwrap_or(statistics_defaults.retention),
            bucket: args
                .diagnostics_bucket
                .or(duration("diagnostics_bucket", &file.diagnostics_bucket)?)
                .unwrap_or(statistics_defaults.bucket),
            ..statistics_defaults
        },
    };
    let assembler = &config.assembler;
    anyhow::ensure!(
        assembler.inactivity_timeout >= Duration::from_millis(100)
            && assembler.max_trace_age > assembler.inactivity_timeout,
        "--trace-inactivity-timeout must be at least 100ms and below --trace-max-age"
    );
    anyhow::ensure!(
        assembler.max_open_traces >= 1
            && assembler.max_open_spans >= 1
            && assembler.max_spans_per_trace >= 1,
        "the diagnostics caps (--diagnostics-max-open-traces, --diagnostics-max-open-spans, --diagnostics-max-spans-per-trace) must be at least 1"
    );
    let share = config.analysis.bottleneck_share;
    anyhow::ensure!(
        share > 0.0 && share < 1.0,
        "--bottleneck-share must be between 0 and 1, got {share}"
    );
    anyhow::ensure!(
        config.analysis.repeated_call_threshold >= 2,
        "--repeated-call-threshold must be at least 2"
    );
    let bucket = config.statistics.bucket;
    anyhow::ensure!(
        bucket >= Duration::from_secs(1)
            && bucket.subsec_nanos() == 0
            && config.statistics.retention >= bucket,
        "--diagnostics-bucket must be whole seconds, at least 1s, and not longer than --diagnostics-retention"
    );
    Ok(config)
}

impl ServeConfig {
    /// Flags and environment (already merged by clap) over the file over the defaults.
    pub fn resolve(args: ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let address = |text: &str| -> SocketAddr { text.parse().expect("default addresses parse") };
        let size = |key: &str, value: &Option<String>| file_value(value, key, parse_byte_size);
        let duration = |key: &str, value: &Option<String>| file_value(value, key, parse_duration);
        let defaults = ValidationLimits::default();
        let usize_of = |bytes: u64, key: &str| -> anyhow::Result<usize> {
            usize::try_from(bytes).with_context(|| format!("{key} does not fit in memory"))
        };
        let sampling_shard = args
            .sampling_shard
            .or(duration("sampling_shard", &file.sampling_shard)?)
            .unwrap_or(Duration::from_secs(600));
        let sampling_shard_seconds = u32::try_from(sampling_shard.as_secs())
            .ok()
            .filter(|seconds| {
                *seconds >= 1 && Duration::from_secs(u64::from(*seconds)) == sampling_shard
            })
            .context("--sampling-shard must be a whole number of seconds, at least 1s")?;
        let mut sampling_rules = file.sampling.clone().unwrap_or_default();
        if let Some(share) = args.sampling_default_share {
            sampling_rules.default_keep_share = share;
        }
        sampling_rules
            .validate()
            .context("the sampling rules of the configuration")?;
        let sampling_sizing = weft_sampling::FilterSizing {
            expected_keys: args
                .sampling_expected_traces
                .or(file.sampling_expected_traces)
                .unwrap_or(1_000_000),
            false_positive_rate: args
                .sampling_false_positive_rate
                .or(file.sampling_false_positive_rate)
                .unwrap_or(0.01),
        };
        sampling_sizing
            .blocks()
            .context("--sampling-expected-traces and --sampling-false-positive-rate")?;
        let cold_delay = args
            .cold_delay
            .or(duration("cold_delay", &file.cold_delay)?)
            .unwrap_or(Duration::from_secs(1800));
        let retention = args
            .retention
            .or(duration("retention", &file.retention)?)
            .unwrap_or(Duration::from_secs(3 * 24 * 3600));
        // The cold writer reads a window from the hot tier after the delay and one more
        // window; the hot tier must still have it then.
        let cold_needs = cold_delay + 3 * sampling_shard + Duration::from_secs(600);
        anyhow::ensure!(
            retention > cold_needs,
            "--retention ({}) must exceed --cold-delay plus three --sampling-shard windows plus one partition ({}), or the hot tier drops spans before the cold writer copies them",
            humantime::format_duration(retention),
            humantime::format_duration(cold_needs)
        );
        let diagnostics = resolve_diagnostics(&args, &file)?;
        Ok(ServeConfig {
            diagnostics,
            cold_delay,
            sampling_shard_seconds,
            cold_retention: args
                .cold_retention
                .or(duration("cold_retention", &file.cold_retention)?)
                .unwrap_or(Duration::from_secs(30 * 86_400)),
            sampling_sizing,
            sampling_rules,
            cold_traces_per_part: args.cold_traces_per_part.unwrap_or(5_000).max(1),
            cold_crash_point: args.cold_crash_point,
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./weft-data")),
            otlp_grpc_listen: args
                .otlp_grpc_listen
                .or(file.otlp_grpc_listen)
                .unwrap_or_else(|| address("0.0.0.0:4317")),
            otlp_http_listen: args
                .otlp_http_listen
                .or(file.otlp_http_listen)
                .unwrap_or_else(|| address("0.0.0.0:4318")),
            zipkin_listen: args
                .zipkin_listen
                .or(file.zipkin_listen)
                .unwrap_or_else(|| address("0.0.0.0:9411")),
            http_listen: args
                .http_listen
                .or(file.http_listen)
                .unwrap_or_else(|| address("0.0.0.0:16686")),
            max_request_bytes: args
                .max_request_size
                .or(size("max_request_size", &file.max_request_size)?)
                .unwrap_or(16 << 20),
            max_concurrent_requests: args
                .max_concurrent_requests
                .or(file.max_concurrent_requests)
                .unwrap_or(64),
            receive_timeout: args
                .receive_timeout
                .or(duration("receive_timeout", &file.receive_timeout)?)
                .unwrap_or(Duration::from_secs(30)),
            max_clock_skew: args
                .max_clock_skew
                .or(duration("max_clock_skew", &file.max_clock_skew)?)
                .unwrap_or(Duration::from_secs(3_600)),
            max_concurrent_queries: args
                .max_concurrent_queries
                .or(file.max_concurrent_queries)
                .unwrap_or(16)
                .max(1),
            grpc_max_connection_age: args
                .grpc_max_connection_age
                .or(duration(
                    "grpc_max_connection_age",
                    &file.grpc_max_connection_age,
                )?)
                .unwrap_or(Duration::from_secs(600)),
            limits: ValidationLimits {
                max_attribute_value_bytes: usize_of(
                    args.max_attribute_value_size
                        .or(size(
                            "max_attribute_value_size",
                            &file.max_attribute_value_size,
                        )?)
                        .unwrap_or(defaults.max_attribute_value_bytes as u64),
                    "max_attribute_value_size",
                )?,
                max_attributes_per_span: args
                    .max_attributes_per_span
                    .or(file.max_attributes_per_span)
                    .unwrap_or(defaults.max_attributes_per_span),
                max_events_per_span: args
                    .max_events_per_span
                    .or(file.max_events_per_span)
                    .unwrap_or(defaults.max_events_per_span),
                max_links_per_span: args
                    .max_links_per_span
                    .or(file.max_links_per_span)
                    .unwrap_or(defaults.max_links_per_span),
                // Set per request by the ingestor, from the arrival time.
                plausible_starts: None,
            },
            wal_fsync: args
                .wal_fsync
                .or(file_value(&file.wal_fsync, "wal_fsync", parse_fsync)?)
                .unwrap_or(FsyncPolicy::Interval(Duration::from_secs(1))),
            wal_segment_bytes: args
                .wal_segment_size
                .or(size("wal_segment_size", &file.wal_segment_size)?)
                .unwrap_or(64 << 20),
            wal_max_bytes: args
                .wal_max_size
                .or(size("wal_max_size", &file.wal_max_size)?)
                .unwrap_or(4 << 30),
            business_keys: args
                .business_keys
                .or(file.business_keys)
                .unwrap_or_else(|| {
                    ["order.id", "user.id", "bizOrderId"]
                        .map(str::to_owned)
                        .to_vec()
                }),
            retention,
            store_flush_interval: args
                .store_flush_interval
                .or(duration(
                    "store_flush_interval",
                    &file.store_flush_interval,
                )?)
                .unwrap_or(Duration::from_secs(30)),
            store_flush_spans: args
                .store_flush_spans
                .or(file.store_flush_spans)
                .unwrap_or(256 * 1024)
                .max(1),
            max_search_scan_spans: args
                .max_search_scan_spans
                .or(file.max_search_scan_spans)
                .unwrap_or(200_000_000),
            metrics_retention: [
                args.metrics_retention_30s
                    .or(duration(
                        "metrics_retention_30s",
                        &file.metrics_retention_30s,
                    )?)
                    .unwrap_or(Duration::from_secs(2 * 86_400)),
                args.metrics_retention_10m
                    .or(duration(
                        "metrics_retention_10m",
                        &file.metrics_retention_10m,
                    )?)
                    .unwrap_or(Duration::from_secs(8 * 86_400)),
                args.metrics_retention_1h
                    .or(duration(
                        "metrics_retention_1h",
                        &file.metrics_retention_1h,
                    )?)
                    .unwrap_or(Duration::from_secs(31 * 86_400)),
            ],
            metrics_dimensions: args
                .metrics_dimensions
                .or(file.metrics_dimensions)
                .unwrap_or_default(),
            metrics_max_series_per_service: args
                .metrics_max_series_per_service
                .or(file.metrics_max_series_per_service)
                .unwrap_or(2_000)
                .max(1),
            metrics_checkpoint_interval: args
                .metrics_checkpoint_interval
                .or(duration(
                    "metrics_checkpoint_interval",
                    &file.metrics_checkpoint_interval,
                )?)
                .unwrap_or(Duration::from_secs(10)),
            exemplar_keywords: args
                .exemplar_keywords
                .or(file.exemplar_keywords)
                .unwrap_or_else(|| ["ERROR", "FAILED", "EXCEPTION"].map(str::to_owned).to_vec()),
            alert_error_rate: args
                .alert_error_rate
                .or(file.alert_error_rate)
                .unwrap_or(0.05),
            alert_latency: args
                .alert_latency
                .or(duration("alert_latency", &file.alert_latency)?)
                .unwrap_or(Duration::from_secs(1)),
            topology_pairing_timeout: args
                .topology_pairing_timeout
                .or(duration(
                    "topology_pairing_timeout",
                    &file.topology_pairing_timeout,
                )?)
                .unwrap_or(Duration::from_secs(10)),
            stream_metrics: !args.no_stream_metrics && file.stream_metrics.unwrap_or(true),
            store_crash_point: args.store_crash_point,
            demo: args.demo || file.demo.unwrap_or(false),
            demo_spans_per_second: args.demo_rate.or(file.demo_rate).unwrap_or(200.0),
            capture_file: args.capture_file.or(file.capture_file),
            capture_flush_interval: args
                .capture_flush_interval
                .or(duration(
                    "capture_flush_interval",
                    &file.capture_flush_interval,
                )?)
                .unwrap_or(Duration::from_secs(1)),
        })
    }
}
