//! `weft serve` settings: each one a flag, a `WEFT_*` environment variable and a key of a section
//! of the TOML file given with `--config`, in that order of precedence, else the default.
//!
//! Each component has its own section ([`ReceiversSection`], [`WalSection`], …): serde reads
//! it from the file, its `Default` holds the defaults (the only place they are), flags are laid
//! over it, and it builds its component's settings. `--help` states the defaults too; a test
//! checks every one against the sections.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use weft_codec::ValidationLimits;
use weft_model::parse_duration;
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

fn parse_fsync(text: &str) -> Result<FsyncPolicy, String> {
    text.parse()
}

/// Serde readers for the text forms of the file: durations and sizes as strings, with the same
/// parsers as the flags.
mod text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn duration<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        weft_model::parse_duration(&text).map_err(serde::de::Error::custom)
    }

    pub(super) fn byte_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_byte_size(&text).map_err(serde::de::Error::custom)
    }

    pub(super) fn fsync<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<weft_wal::FsyncPolicy, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_fsync(&text).map_err(serde::de::Error::custom)
    }
}

/// Replaces `field` with the flag's value when the flag (or its variable) was given.
fn overlay<T: Clone>(field: &mut T, flag: &Option<T>) {
    if let Some(value) = flag {
        field.clone_from(value);
    }
}

/// `[receivers]`: the collector role's listeners, request limits and span limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceiversSection {
    pub otlp_grpc_listen: SocketAddr,
    pub otlp_http_listen: SocketAddr,
    pub zipkin_listen: SocketAddr,
    #[serde(deserialize_with = "text::byte_size")]
    pub max_request_size: u64,
    pub max_concurrent_requests: usize,
    #[serde(deserialize_with = "text::duration")]
    pub receive_timeout: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub max_clock_skew: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub grpc_max_connection_age: Duration,
    #[serde(deserialize_with = "text::byte_size")]
    pub max_attribute_value_size: u64,
    pub max_attributes_per_span: usize,
    pub max_events_per_span: usize,
    pub max_links_per_span: usize,
}

impl Default for ReceiversSection {
    fn default() -> Self {
        let limits = ValidationLimits::default();
        ReceiversSection {
            otlp_grpc_listen: SocketAddr::from(([0, 0, 0, 0], 4317)),
            otlp_http_listen: SocketAddr::from(([0, 0, 0, 0], 4318)),
            zipkin_listen: SocketAddr::from(([0, 0, 0, 0], 9411)),
            max_request_size: 16 << 20,
            max_concurrent_requests: 64,
            receive_timeout: Duration::from_secs(30),
            max_clock_skew: Duration::from_secs(3_600),
            grpc_max_connection_age: Duration::from_secs(600),
            max_attribute_value_size: limits.max_attribute_value_bytes as u64,
            max_attributes_per_span: limits.max_attributes_per_span,
            max_events_per_span: limits.max_events_per_span,
            max_links_per_span: limits.max_links_per_span,
        }
    }
}

impl ReceiversSection {
    fn apply_flags(&mut self, args: &ServeArgs) {
        overlay(&mut self.otlp_grpc_listen, &args.otlp_grpc_listen);
        overlay(&mut self.otlp_http_listen, &args.otlp_http_listen);
        overlay(&mut self.zipkin_listen, &args.zipkin_listen);
        overlay(&mut self.max_request_size, &args.max_request_size);
        overlay(
            &mut self.max_concurrent_requests,
            &args.max_concurrent_requests,
        );
        overlay(&mut self.receive_timeout, &args.receive_timeout);
        overlay(&mut self.max_clock_skew, &args.max_clock_skew);
        overlay(
            &mut self.grpc_max_connection_age,
            &args.grpc_max_connection_age,
        );
        overlay(
            &mut self.max_attribute_value_size,
            &args.max_attribute_value_size,
        );
        overlay(
            &mut self.max_attributes_per_span,
            &args.max_attributes_per_span,
        );
        overlay(&mut self.max_events_per_span, &args.max_events_per_span);
        overlay(&mut self.max_links_per_span, &args.max_links_per_span);
    }

    /// What the ingestor checks every request against; spans starting before the hot
    /// `retention` or more than the clock skew ahead are moved to their arrival.
    pub fn ingest_config(&self, retention: Duration) -> anyhow::Result<weft_ingest::IngestConfig> {
        let fits = |bytes: u64, what: &str| {
            usize::try_from(bytes).with_context(|| format!("{what} does not fit in memory"))
        };
        Ok(weft_ingest::IngestConfig {
            limits: ValidationLimits {
                max_attribute_value_bytes: fits(
                    self.max_attribute_value_size,
                    "max_attribute_value_size",
                )?,
                max_attributes_per_span: self.max_attributes_per_span,
                max_events_per_span: self.max_events_per_span,
                max_links_per_span: self.max_links_per_span,
                // Set per request by the ingestor, from the arrival time.
                plausible_starts: None,
            },
            max_request_bytes: fits(self.max_request_size, "max_request_size")?,
            max_concurrent_requests: self.max_concurrent_requests,
            retry_after: Duration::from_secs(1),
            receive_timeout: self.receive_timeout,
            span_start_bounds: Some(weft_ingest::SpanStartBounds {
                max_age: retention,
                max_future_skew: self.max_clock_skew,
            }),
        })
    }
}

/// `[wal]`: the all-in-one shape's bus.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalSection {
    #[serde(deserialize_with = "text::fsync")]
    pub fsync: FsyncPolicy,
    #[serde(deserialize_with = "text::byte_size")]
    pub segment_size: u64,
    #[serde(deserialize_with = "text::byte_size")]
    pub max_size: u64,
}

impl Default for WalSection {
    fn default() -> Self {
        WalSection {
            fsync: FsyncPolicy::Interval(Duration::from_secs(1)),
            segment_size: 64 << 20,
            max_size: 4 << 30,
        }
    }
}

impl WalSection {
    fn apply_flags(&mut self, args: &ServeArgs) {
        overlay(&mut self.fsync, &args.wal_fsync);
        overlay(&mut self.segment_size, &args.wal_segment_size);
        overlay(&mut self.max_size, &args.wal_max_size);
    }

    pub fn wal_config(&self, data_dir: &Path) -> weft_wal::WalConfig {
        weft_wal::WalConfig {
            segment_max_bytes: self.segment_size,
            fsync: self.fsync,
            max_disk_bytes: self.max_size,
            ..weft_wal::WalConfig::new(data_dir.join("wal"))
        }
    }
}

/// `[store]`: the hot span store (and the hot log store, which follows its retention).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSection {
    /// Attribute names promoted to indexed business keys.
    pub business_keys: Vec<String>,
    #[serde(deserialize_with = "text::duration")]
    pub retention: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub flush_interval: Duration,
    pub flush_spans: usize,
    pub max_search_scan_spans: u64,
    /// Test hook, from its flag only.
    #[serde(skip)]
    pub crash_point: Option<String>,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            business_keys: ["order.id", "user.id", "bizOrderId"]
                .map(str::to_owned)
                .to_vec(),
            retention: Duration::from_secs(3 * 86_400),
            flush_interval: Duration::from_secs(30),
            flush_spans: 256 * 1024,
            max_search_scan_spans: 200_000_000,
            crash_point: None,
        }
    }
}

impl StoreSection {
    fn apply_flags(&mut self, args: &ServeArgs) {
        overlay(&mut self.business_keys, &args.business_keys);
        overlay(&mut self.retention, &args.retention);
        overlay(&mut self.flush_interval, &args.store_flush_interval);
        overlay(&mut self.flush_spans, &args.store_flush_spans);
        overlay(&mut self.max_search_scan_spans, &args.max_search_scan_spans);
        if args.store_crash_point.is_some() {
            self.crash_point.clone_from(&args.store_crash_point);
        }
        self.flush_spans = self.flush_spans.max(1);
    }

    pub fn conversion(&self) -> weft_codec::ConversionOptions {
        weft_codec::ConversionOptions {
            business_key_names: self.business_keys.clone(),
        }
    }

    pub fn hot_store_config(&self, data_dir: &Path) -> weft_store::StoreConfig {
        weft_store::StoreConfig {
            retention: self.retention,
            flush_interval: self.flush_interval,
            flush_max_spans: self.flush_spans,
            max_scanned_spans_per_search: self.max_search_scan_spans,
            conversion: self.conversion(),
            crash_point: self.crash_point.clone(),
            ..weft_store::StoreConfig::new(data_dir.join("store"))
        }
    }
}

/// `[metrics]`: span metrics, exemplars and topology, and their store.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSection {
    /// `false` (`--no-stream-metrics`): no span metrics, exemplars or topology.
    pub enabled: bool,
    #[serde(deserialize_with = "text::duration")]
    pub retention_30s: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub retention_10m: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub retention_1h: Duration,
    pub dimensions: Vec<String>,
    pub max_series_per_service: usize,
    /// How often the metric, sampling and diagnostics processors commit their state.
    #[serde(deserialize_with = "text::duration")]
    pub checkpoint_interval: Duration,
    pub exemplar_keywords: Vec<String>,
    pub alert_error_rate: f64,
    #[serde(deserialize_with = "text::duration")]
    pub alert_latency: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub topology_pairing_timeout: Duration,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            enabled: true,
            retention_30s: Duration::from_secs(2 * 86_400),
            retention_10m: Duration::from_secs(8 * 86_400),
            retention_1h: Duration::from_secs(31 * 86_400),
            dimensions: Vec::new(),
            max_series_per_service: 2_000,
            checkpoint_interval: Duration::from_secs(10),
            exemplar_keywords: ["ERROR", "FAILED", "EXCEPTION"].map(str::to_owned).to_vec(),
            alert_error_rate: 0.05,
            alert_latency: Duration::from_secs(1),
            topology_pairing_timeout: Duration::from_secs(10),
        }
    }
}

impl MetricsSection {
    fn apply_flags(&mut self, args: &ServeArgs) {
        self.enabled &= !args.no_stream_metrics;
        overlay(&mut self.retention_30s, &args.metrics_retention_30s);
        overlay(&mut self.retention_10m, &args.metrics_retention_10m);
        overlay(&mut self.retention_1h, &args.metrics_retention_1h);
        overlay(&mut self.dimensions, &args.metrics_dimensions);
        overlay(
            &mut self.max_series_per_service,
            &args.metrics_max_series_per_service,
        );
        overlay(
            &mut self.checkpoint_interval,
            &args.metrics_checkpoint_interval,
        );
        overlay(&mut self.exemplar_keywords, &args.exemplar_keywords);
        overlay(&mut self.alert_error_rate, &args.alert_error_rate);
        overlay(&mut self.alert_latency, &args.alert_latency);
        overlay(
            &mut self.topology_pairing_timeout,
            &args.topology_pairing_timeout,
        );
        self.max_series_per_service = self.max_series_per_service.max(1);
    }

    pub fn store_config(&self, data_dir: &Path) -> weft_store::metrics::MetricStoreConfig {
        weft_store::metrics::MetricStoreConfig {
            retention: [self.retention_30s, self.retention_10m, self.retention_1h],
            ..weft_store::metrics::MetricStoreConfig::new(data_dir.join("metrics"))
        }
    }

    pub fn settings(&self) -> weft_processors::metrics_hub::MetricsSettings {
        use weft_metrics::{topology::TopologyConfig, ExemplarPolicy, SpanMetricsConfig};
        weft_processors::metrics_hub::MetricsSettings {
            span_metrics: SpanMetricsConfig {
                extra_dimensions: self.dimensions.clone(),
                max_series_per_service: self.max_series_per_service,
                exemplars: ExemplarPolicy {
                    keywords: self.exemplar_keywords.clone(),
                    alert_error_rate: self.alert_error_rate,
                    alert_latency_nanos: nanos(self.alert_latency),
                    ..ExemplarPolicy::default()
                },
                ..SpanMetricsConfig::default()
            },
            topology: TopologyConfig {
                pairing_timeout_nanos: nanos(self.topology_pairing_timeout),
                clock_from_spans: false,
                ..TopologyConfig::default()
            },
            close_grace: Duration::from_secs(10),
            checkpoint_interval: self.checkpoint_interval,
        }
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// `[sampling]`: shard windows and their Bloom filters, and the rules (see README.md, Tail
/// sampling); `PUT /api/v1/sampling/rules` replaces the rules at run time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingSection {
    #[serde(deserialize_with = "text::duration")]
    pub shard: Duration,
    pub expected_traces: u64,
    pub false_positive_rate: f64,
    pub default_keep_share: f64,
    pub rules: Vec<weft_sampling::Rule>,
    pub services: Vec<weft_sampling::ServiceOverride>,
}

impl Default for SamplingSection {
    fn default() -> Self {
        let rules = weft_sampling::SamplingConfig::default();
        SamplingSection {
            shard: Duration::from_secs(600),
            expected_traces: 1_000_000,
            false_positive_rate: 0.01,
            default_keep_share: rules.default_keep_share,
            rules: rules.rules,
            services: rules.services,
        }
    }
}

impl SamplingSection {
    fn apply_flags(&mut self, args: &ServeArgs) {
        overlay(&mut self.shard, &args.sampling_shard);
        overlay(&mut self.expected_traces, &args.sampling_expected_traces);
        overlay(
            &mut self.false_positive_rate,
            &args.sampling_false_positive_rate,
        );
        overlay(&mut self.default_keep_share, &args.sampling_default_share);
    }

    pub fn rules(&self) -> weft_sampling::SamplingConfig {
        weft_sampling::SamplingConfig {
            rules: self.rules.clone(),
            default_keep_share: self.default_keep_share,
            services: self.services.clone(),
        }
    }

    pub fn sizing(&self) -> weft_sampling::FilterSizing {
        weft_sampling::FilterSizing {
            expected_keys: self.expected_traces,
            false_positive_rate: self.false_positive_rate,
        }
    }

    /// The window width in whole seconds (validated at resolve time).
    pub fn shard_seconds(&self) -> u32 {
        u32::try_from(self.shard.as_secs()).unwrap_or(u32::MAX)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let seconds = u32::try_from(self.shard.as_secs()).ok();
        anyhow::ensure!(
            seconds.is_some_and(|seconds| {
                seconds >= 1 && Duration::from_secs(u64::from(seconds)) == self.shard
            }),
            "--sampling-shard must be a whole number of seconds, at least 1s"
        );
        self.rules()
            .validate()
            .context("the sampling rules of the configuration")?;
        self.sizing()
            .blocks()
            .context("--sampling-expected-traces and --sampling-false-positive-rate")?;
        Ok(())
    }

    pub fn settings(
        &self,
        cold: &ColdSection,
        checkpoint_interval: Duration,
        max_clock_skew: Duration,
    ) -> weft_processors::sampling::SamplingSettings {
        weft_processors::sampling::SamplingSettings {
            shard_width_seconds: self.shard_seconds(),
            sizing: self.sizing(),
            cold_delay: cold.delay,
            checkpoint_interval,
            max_clock_skew,
        }
    }
}

/// `[cold]`: the cold tier and the cold writer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColdSection {
    #[serde(deserialize_with = "text::duration")]
    pub delay: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub retention: Duration,
    /// Test hooks, from their flags only.
    #[serde(skip)]
    pub traces_per_part: u64,
    #[serde(skip)]
    pub crash_point: Option<String>,
}

impl Default for ColdSection {
    fn default() -> Self {
        ColdSection {
            delay: Duration::from_secs(1_800),
            retention: Duration::from_secs(30 * 86_400),
            traces_per_part: 5_000,
            crash_point: None,
        }
    }
}

impl ColdSection {
    fn apply_flags(&mut self, args: &ServeArgs) {
        overlay(&mut self.delay, &args.cold_delay);
        overlay(&mut self.retention, &args.cold_retention);
        overlay(&mut self.traces_per_part, &args.cold_traces_per_part);
        self.traces_per_part = self.traces_per_part.max(1);
        if args.cold_crash_point.is_some() {
            self.crash_point.clone_from(&args.cold_crash_point);
        }
    }

    pub fn cold_store_config(
        &self,
        store: &StoreSection,
        data_dir: &Path,
    ) -> weft_store::StoreConfig {
        weft_store::StoreConfig {
            retention: self.retention,
            // The cold writer commits each part with one explicit flush, so a part is in the
            // cold tier whole or not at all: no flush by age or size in between.
            flush_interval: Duration::MAX,
            flush_max_spans: usize::MAX,
            max_scanned_spans_per_search: store.max_search_scan_spans,
            conversion: store.conversion(),
            crash_point: self
                .crash_point
                .clone()
                .filter(|step| weft_store::CRASH_POINTS.contains(&step.as_str())),
            ..weft_store::StoreConfig::new(data_dir.join("cold"))
        }
    }

    pub fn writer_settings(
        &self,
        sampling: &SamplingSection,
    ) -> weft_processors::cold_writer::ColdWriterSettings {
        let width = u64::from(sampling.shard_seconds());
        weft_processors::cold_writer::ColdWriterSettings {
            traces_per_part: self.traces_per_part,
            windows_back: u32::try_from(self.delay.as_secs().div_ceil(width).clamp(1, 64))
                .expect("at most 64"),
            idle_interval: Duration::from_secs(1).min(Duration::from_secs(width)),
            crash_point: self.crash_point.clone(),
        }
    }
}

/// `[diagnostics]`: the trace assembler, the analyses and the statistics.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiagnosticsSection {
    #[serde(deserialize_with = "text::duration")]
    pub trace_inactivity_timeout: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub trace_max_age: Duration,
    pub max_open_traces: usize,
    pub max_open_spans: usize,
    pub max_spans_per_trace: usize,
    pub bottleneck_share: f64,
    pub repeated_call_threshold: usize,
    #[serde(deserialize_with = "text::duration")]
    pub slow_database_call: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub slow_redis_call: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub retention: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub bucket: Duration,
}

impl Default for DiagnosticsSection {
    fn default() -> Self {
        let assembler = weft_diagnose::AssemblerConfig::default();
        let analysis = weft_diagnose::AnalysisConfig::default();
        let statistics = weft_diagnose::StatisticsConfig::default();
        DiagnosticsSection {
            trace_inactivity_timeout: assembler.inactivity_timeout,
            trace_max_age: assembler.max_trace_age,
            max_open_traces: assembler.max_open_traces,
            max_open_spans: assembler.max_open_spans,
            max_spans_per_trace: assembler.max_spans_per_trace,
            bottleneck_share: analysis.bottleneck_share,
            repeated_call_threshold: analysis.repeated_call_threshold,
            slow_database_call: statistics.slow_database_call,
            slow_redis_call: statistics.slow_redis_call,
            retention: statistics.retention,
            bucket: statistics.bucket,
        }
    }
}

impl DiagnosticsSection {
    fn apply_flags(&mut self, args: &ServeArgs) {
        overlay(
            &mut self.trace_inactivity_timeout,
            &args.trace_inactivity_timeout,
        );
        overlay(&mut self.trace_max_age, &args.trace_max_age);
        overlay(&mut self.max_open_traces, &args.diagnostics_max_open_traces);
        overlay(&mut self.max_open_spans, &args.diagnostics_max_open_spans);
        overlay(
            &mut self.max_spans_per_trace,
            &args.diagnostics_max_spans_per_trace,
        );
        overlay(&mut self.bottleneck_share, &args.bottleneck_share);
        overlay(
            &mut self.repeated_call_threshold,
            &args.repeated_call_threshold,
        );
        overlay(&mut self.slow_database_call, &args.slow_database_call);
        overlay(&mut self.slow_redis_call, &args.slow_redis_call);
        overlay(&mut self.retention, &args.diagnostics_retention);
        overlay(&mut self.bucket, &args.diagnostics_bucket);
    }

    pub fn diagnoser_config(&self) -> weft_diagnose::DiagnoserConfig {
        weft_diagnose::DiagnoserConfig {
            assembler: weft_diagnose::AssemblerConfig {
                inactivity_timeout: self.trace_inactivity_timeout,
                max_trace_age: self.trace_max_age,
                max_open_traces: self.max_open_traces,
                max_open_spans: self.max_open_spans,
                max_spans_per_trace: self.max_spans_per_trace,
                ..weft_diagnose::AssemblerConfig::default()
            },
            analysis: weft_diagnose::AnalysisConfig {
                bottleneck_share: self.bottleneck_share,
                repeated_call_threshold: self.repeated_call_threshold,
            },
            statistics: weft_diagnose::StatisticsConfig {
                slow_database_call: self.slow_database_call,
                slow_redis_call: self.slow_redis_call,
                retention: self.retention,
                bucket: self.bucket,
                ..weft_diagnose::StatisticsConfig::default()
            },
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.trace_inactivity_timeout >= Duration::from_millis(100)
                && self.trace_max_age > self.trace_inactivity_timeout,
            "--trace-inactivity-timeout must be at least 100ms and below --trace-max-age"
        );
        anyhow::ensure!(
            self.max_open_traces >= 1 && self.max_open_spans >= 1 && self.max_spans_per_trace >= 1,
            "the diagnostics caps (--diagnostics-max-open-traces, --diagnostics-max-open-spans, --diagnostics-max-spans-per-trace) must be at least 1"
        );
        let share = self.bottleneck_share;
        anyhow::ensure!(
            share > 0.0 && share < 1.0,
            "--bottleneck-share must be between 0 and 1, got {share}"
        );
        anyhow::ensure!(
            self.repeated_call_threshold >= 2,
            "--repeated-call-threshold must be at least 2"
        );
        anyhow::ensure!(
            self.bucket >= Duration::from_secs(1)
                && self.bucket.subsec_nanos() == 0
                && self.retention >= self.bucket,
            "--diagnostics-bucket must be whole seconds, at least 1s, and not longer than --diagnostics-retention"
        );
        Ok(())
    }
}

/// `[api]`: the query role's HTTP listener and its admission.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    pub http_listen: SocketAddr,
    pub max_concurrent_queries: usize,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            http_listen: SocketAddr::from(([0, 0, 0, 0], 16686)),
            max_concurrent_queries: 16,
        }
    }
}

impl ApiSection {
    fn apply_flags(&mut self, args: &ServeArgs) {
        overlay(&mut self.http_listen, &args.http_listen);
        overlay(
            &mut self.max_concurrent_queries,
            &args.max_concurrent_queries,
        );
        self.max_concurrent_queries = self.max_concurrent_queries.max(1);
    }
}

/// `[demo]`: the built-in traffic generator.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoSection {
    pub enabled: bool,
    pub rate: f64,
}

impl Default for DemoSection {
    fn default() -> Self {
        DemoSection {
            enabled: false,
            rate: 200.0,
        }
    }
}

/// `[capture]`: the debugging capture file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureSection {
    pub file: Option<PathBuf>,
    #[serde(deserialize_with = "text::duration")]
    pub flush_interval: Duration,
}

impl Default for CaptureSection {
    fn default() -> Self {
        CaptureSection {
            file: None,
            flush_interval: Duration::from_secs(1),
        }
    }
}

/// `[kafka]`: the distributed shape's bus (`weft collector` produces, `weft processor`
/// consumes). Unused by `weft serve`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSection {
    /// `bootstrap.servers`; required by the collector and processor roles.
    pub brokers: Option<String>,
    pub topic: String,
    /// Service name → topic (Dewu routes by application); other services use `topic`.
    pub service_topics: std::collections::BTreeMap<String, String>,
    pub logs_topic: Option<String>,
    pub group: String,
    #[serde(deserialize_with = "text::duration")]
    pub session_timeout: Duration,
    #[serde(deserialize_with = "text::duration")]
    pub delivery_timeout: Duration,
    #[serde(deserialize_with = "text::byte_size")]
    pub producer_queue_size: u64,
    /// Further librdkafka settings.
    pub settings: std::collections::BTreeMap<String, String>,
}

impl Default for KafkaSection {
    fn default() -> Self {
        KafkaSection {
            brokers: None,
            topic: "weft-spans".into(),
            service_topics: Default::default(),
            logs_topic: None,
            group: "weft-processors".into(),
            session_timeout: Duration::from_secs(10),
            delivery_timeout: Duration::from_secs(10),
            producer_queue_size: 256 << 20,
            settings: Default::default(),
        }
    }
}

fn key_value_pairs(pairs: &[String], flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
                .filter(|(key, value)| !key.is_empty() && !value.is_empty())
                .ok_or_else(|| anyhow::anyhow!("{flag} takes KEY=VALUE, got {pair:?}"))
        })
        .collect()
}

impl KafkaSection {
    fn apply_flags(&mut self, args: &ServeArgs) -> anyhow::Result<()> {
        if args.kafka_brokers.is_some() {
            self.brokers.clone_from(&args.kafka_brokers);
        }
        overlay(&mut self.topic, &args.kafka_topic);
        if args.kafka_logs_topic.is_some() {
            self.logs_topic.clone_from(&args.kafka_logs_topic);
        }
        overlay(&mut self.group, &args.kafka_group);
        overlay(&mut self.session_timeout, &args.kafka_session_timeout);
        overlay(&mut self.delivery_timeout, &args.kafka_delivery_timeout);
        overlay(
            &mut self.producer_queue_size,
            &args.kafka_producer_queue_size,
        );
        self.service_topics.extend(key_value_pairs(
            &args.kafka_service_topics,
            "--kafka-service-topic",
        )?);
        self.settings
            .extend(key_value_pairs(&args.kafka_settings, "--kafka-setting")?);
        Ok(())
    }

    /// The bus configuration of a role; an error names the missing flag.
    pub fn bus_config(&self, client_id: &str) -> anyhow::Result<weft_kafka::KafkaConfig> {
        let brokers = self.brokers.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "the distributed roles need a kafka bus: set --kafka-brokers (or [kafka] brokers)"
            )
        })?;
        let mut config = weft_kafka::KafkaConfig::new(brokers, self.topic.clone());
        config.client_id = client_id.to_owned();
        config.routes.service_topics = self.service_topics.clone();
        config.logs_topic.clone_from(&self.logs_topic);
        config.session_timeout = self.session_timeout;
        config.delivery_timeout = self.delivery_timeout;
        config.producer_queue_kbytes = (self.producer_queue_size / 1024).max(1);
        config.extra_settings = self
            .settings
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        Ok(config)
    }
}

/// `[clickhouse]`: the distributed shape's store (`weft processor` writes, `weft query`
/// reads). Unused by `weft serve`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClickHouseSection {
    /// The HTTP URL of each shard, in a fixed order (a trace's shard is its ID's hash).
    pub urls: Vec<String>,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// `modern` or `legacy`; chosen from the server's version when unset.
    pub profile: Option<String>,
    pub batch_spans: usize,
    #[serde(deserialize_with = "text::duration")]
    pub batch_age: Duration,
}

impl Default for ClickHouseSection {
    fn default() -> Self {
        ClickHouseSection {
            urls: Vec::new(),
            database: "weft".into(),
            user: None,
            password: None,
            profile: None,
            batch_spans: 50_000,
            batch_age: Duration::from_secs(1),
        }
    }
}

impl ClickHouseSection {
    fn apply_flags(&mut self, args: &ServeArgs) {
        if !args.clickhouse_urls.is_empty() {
            self.urls.clone_from(&args.clickhouse_urls);
        }
        overlay(&mut self.database, &args.clickhouse_database);
        if args.clickhouse_user.is_some() {
            self.user.clone_from(&args.clickhouse_user);
        }
        if args.clickhouse_password.is_some() {
            self.password.clone_from(&args.clickhouse_password);
        }
        if args.clickhouse_profile.is_some() {
            self.profile.clone_from(&args.clickhouse_profile);
        }
        overlay(&mut self.batch_spans, &args.clickhouse_batch_spans);
        overlay(&mut self.batch_age, &args.clickhouse_batch_age);
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(profile) = &self.profile {
            anyhow::ensure!(
                profile == "modern" || profile == "legacy",
                "--clickhouse-profile is modern or legacy, got {profile:?}"
            );
        }
        anyhow::ensure!(
            self.batch_spans > 0,
            "--clickhouse-batch-spans must be at least 1"
        );
        Ok(())
    }

    /// The store configuration of a role; an error names the missing flag.
    pub fn store_config(
        &self,
        store: &StoreSection,
    ) -> anyhow::Result<weft_clickhouse::ClickHouseConfig> {
        anyhow::ensure!(
            !self.urls.is_empty(),
            "the distributed roles need a clickhouse store: set --clickhouse-url (or [clickhouse] urls)"
        );
        let mut config =
            weft_clickhouse::ClickHouseConfig::new(self.urls[0].clone(), self.database.clone());
        config.shard_urls.clone_from(&self.urls);
        config.user.clone_from(&self.user);
        config.password.clone_from(&self.password);
        config.span_retention = store.retention;
        config.conversion = store.conversion();
        config.profile = match self.profile.as_deref() {
            Some("modern") => Some(weft_clickhouse::SchemaProfile::Modern),
            Some("legacy") => Some(weft_clickhouse::SchemaProfile::Legacy),
            _ => None,
        };
        Ok(config)
    }

    pub fn writer_settings(&self) -> weft_clickhouse::PartitionWriterSettings {
        weft_clickhouse::PartitionWriterSettings {
            batch_spans: self.batch_spans,
            batch_age: self.batch_age,
            ..weft_clickhouse::PartitionWriterSettings::default()
        }
    }
}

/// Every setting resolved: the file's sections (or their defaults) with the flags laid over.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub receivers: ReceiversSection,
    pub wal: WalSection,
    pub store: StoreSection,
    pub metrics: MetricsSection,
    pub sampling: SamplingSection,
    pub cold: ColdSection,
    pub diagnostics: DiagnosticsSection,
    pub api: ApiSection,
    pub demo: DemoSection,
    pub capture: CaptureSection,
    pub kafka: KafkaSection,
    pub clickhouse: ClickHouseSection,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            data_dir: PathBuf::from("./weft-data"),
            receivers: ReceiversSection::default(),
            wal: WalSection::default(),
            store: StoreSection::default(),
            metrics: MetricsSection::default(),
            sampling: SamplingSection::default(),
            cold: ColdSection::default(),
            diagnostics: DiagnosticsSection::default(),
            api: ApiSection::default(),
            demo: DemoSection::default(),
            capture: CaptureSection::default(),
            kafka: KafkaSection::default(),
            clickhouse: ClickHouseSection::default(),
        }
    }
}

impl ServeConfig {
    /// The `--config` file's sections; what it leaves out takes the defaults.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }

    /// Flags and environment (already merged by clap) over the file over the defaults.
    pub fn resolve(args: ServeArgs) -> anyhow::Result<Self> {
        let mut config = match &args.config {
            Some(path) => ServeConfig::load(path)?,
            None => ServeConfig::default(),
        };
        config.apply_flags(&args);
        config.kafka.apply_flags(&args)?;
        config.validate()?;
        Ok(config)
    }

    fn apply_flags(&mut self, args: &ServeArgs) {
        overlay(&mut self.data_dir, &args.data_dir);
        self.receivers.apply_flags(args);
        self.wal.apply_flags(args);
        self.store.apply_flags(args);
        self.metrics.apply_flags(args);
        self.sampling.apply_flags(args);
        self.cold.apply_flags(args);
        self.diagnostics.apply_flags(args);
        self.api.apply_flags(args);
        self.clickhouse.apply_flags(args);
        self.demo.enabled |= args.demo;
        overlay(&mut self.demo.rate, &args.demo_rate);
        if args.capture_file.is_some() {
            self.capture.file.clone_from(&args.capture_file);
        }
        overlay(
            &mut self.capture.flush_interval,
            &args.capture_flush_interval,
        );
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.sampling.validate()?;
        self.clickhouse.validate()?;
        self.diagnostics.validate()?;
        // The cold writer reads a window from the hot tier after the delay and one more
        // window; the hot tier must still have it then.
        let cold_needs = self.cold.delay + 3 * self.sampling.shard + Duration::from_secs(600);
        anyhow::ensure!(
            self.store.retention > cold_needs,
            "--retention ({}) must exceed --cold-delay plus three --sampling-shard windows plus one partition ({}), or the hot tier drops spans before the cold writer copies them",
            humantime::format_duration(self.store.retention),
            humantime::format_duration(cold_needs)
        );
        Ok(())
    }
}

/// Flags of `weft serve`. Every flag can also be set by the environment variable shown, or in
/// its section of the `--config` TOML file (see README.md, Configuration).
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

    /// Kafka `bootstrap.servers` of the distributed shape's bus (collector and processor
    /// roles), e.g. 127.0.0.1:9092. [default: none]
    #[arg(long, env = "WEFT_KAFKA_BROKERS", value_name = "HOST:PORT,...")]
    pub kafka_brokers: Option<String>,

    /// The topic spans go to (and processors read) unless --kafka-service-topic names another.
    /// [default: weft-spans]
    #[arg(long, env = "WEFT_KAFKA_TOPIC", value_name = "TOPIC")]
    pub kafka_topic: Option<String>,

    /// A service's own topic, SERVICE=TOPIC; repeat for more services.
    #[arg(long = "kafka-service-topic", value_name = "SERVICE=TOPIC")]
    pub kafka_service_topics: Vec<String>,

    /// The topic OTLP logs go to; without one a collector refuses logs (503). [default: none]
    #[arg(long, env = "WEFT_KAFKA_LOGS_TOPIC", value_name = "TOPIC")]
    pub kafka_logs_topic: Option<String>,

    /// The processors' consumer group. [default: weft-processors]
    #[arg(long, env = "WEFT_KAFKA_GROUP", value_name = "GROUP")]
    pub kafka_group: Option<String>,

    /// How long a silent processor keeps its partitions before the group moves them.
    /// [default: 10s]
    #[arg(long, env = "WEFT_KAFKA_SESSION_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub kafka_session_timeout: Option<Duration>,

    /// How long a collector waits for Kafka to take a request's records before answering 503.
    /// [default: 10s]
    #[arg(long, env = "WEFT_KAFKA_DELIVERY_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub kafka_delivery_timeout: Option<Duration>,

    /// A collector's buffer of records Kafka has not acknowledged yet; when full, requests are
    /// shed with 429 / RESOURCE_EXHAUSTED. [default: 256MiB]
    #[arg(long, env = "WEFT_KAFKA_PRODUCER_QUEUE_SIZE", value_name = "SIZE", value_parser = parse_byte_size)]
    pub kafka_producer_queue_size: Option<u64>,

    /// A librdkafka setting, KEY=VALUE (e.g. security.protocol=SSL); repeat for more.
    #[arg(long = "kafka-setting", value_name = "KEY=VALUE")]
    pub kafka_settings: Vec<String>,

    /// HTTP URL of a ClickHouse shard of the distributed shape's store (processor and query
    /// roles); repeat for more shards, always in the same order. [default: none]
    #[arg(
        long = "clickhouse-url",
        env = "WEFT_CLICKHOUSE_URL",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub clickhouse_urls: Vec<String>,

    /// The ClickHouse database Weft's tables are in (created if missing). [default: weft]
    #[arg(long, env = "WEFT_CLICKHOUSE_DATABASE", value_name = "NAME")]
    pub clickhouse_database: Option<String>,

    /// ClickHouse user. [default: none]
    #[arg(long, env = "WEFT_CLICKHOUSE_USER", value_name = "USER")]
    pub clickhouse_user: Option<String>,

    /// ClickHouse password (better set by its environment variable). [default: none]
    #[arg(
        long,
        env = "WEFT_CLICKHOUSE_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub clickhouse_password: Option<String>,

    /// The DDL profile, modern or legacy, instead of the one the server's version picks.
    /// [default: none]
    #[arg(long, env = "WEFT_CLICKHOUSE_PROFILE", value_name = "PROFILE")]
    pub clickhouse_profile: Option<String>,

    /// A processor inserts a partition's spans once this many wait. [default: 50000]
    #[arg(long, env = "WEFT_CLICKHOUSE_BATCH_SPANS", value_name = "N")]
    pub clickhouse_batch_spans: Option<usize>,

    /// ...or once the oldest waiting span is this old: how soon spans are queryable.
    /// [default: 1s]
    #[arg(long, env = "WEFT_CLICKHOUSE_BATCH_AGE", value_name = "DURATION", value_parser = parse_duration)]
    pub clickhouse_batch_age: Option<Duration>,
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
