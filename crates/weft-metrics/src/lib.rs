//! Span metrics computed on the span stream, sans I/O: per series (service, span name, kind,
//! status, host, environment, region, configured extra dimensions) and time bucket, the calls,
//! errors, duration sum, min, max and a **mergeable** latency sketch (DDSketch, 1 % relative
//! accuracy), so percentiles stay correct when buckets are merged into rollups or when a late
//! span's bucket is merged into the stored one.
//!
//! Architecture invariant: this crate does no I/O and knows no wire format; the pipeline feeds
//! it spans and a store keeps what it emits.

pub mod topology;

use std::collections::{BTreeMap, HashMap, HashSet};

use sketches_ddsketch::{Config, DDSketch};
use weft_model::{find_attribute, AttributeValue, Span, SpanKind, StatusCode};

/// Relative accuracy of the latency sketch: a reported quantile is within 1 % of a value whose
/// rank is the requested one.
pub const SKETCH_RELATIVE_ACCURACY: f64 = 0.01;
/// The span name of the series that takes a service's spans once it has too many series.
pub const OVERFLOW_SPAN_NAME: &str = "__weft_overflow__";

fn sketch_config() -> Config {
    // 1 ns to ~10^17 ns fits in 2048 bins at 1 %; durations beyond are clamped by the sketch.
    Config::new(SKETCH_RELATIVE_ACCURACY, 2048, 1.0)
}

/// What one series is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub service_name: String,
    pub span_name: String,
    /// OTLP span kind number (ordered and hashable, unlike `SpanKind`'s unknown values).
    pub span_kind: i32,
    /// OTLP status code number.
    pub status_code: i32,
    pub host_name: Option<String>,
    pub environment: Option<String>,
    pub region: Option<String>,
    /// Values of the configured extra dimensions, in configuration order (`None` when absent).
    pub extra: Vec<Option<String>>,
}

impl SeriesKey {
    pub fn span_kind(&self) -> SpanKind {
        SpanKind::from_otlp(self.span_kind)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_otlp(self.status_code)
    }

    /// The series a service's spans go to once the service has `max_series_per_service`.
    fn overflow_of(service_name: &str) -> Self {
        SeriesKey {
            service_name: service_name.to_owned(),
            span_name: OVERFLOW_SPAN_NAME.to_owned(),
            span_kind: 0,
            status_code: 0,
            host_name: None,
            environment: None,
            region: None,
            extra: Vec::new(),
        }
    }
}

/// One series in one time bucket. Buckets merge exactly (counts, sum, min, max) and their
/// sketches merge without losing the accuracy bound.
#[derive(Clone)]
pub struct Bucket {
    pub calls: u64,
    pub errors: u64,
    pub duration_sum_nanos: u128,
    pub duration_min_nanos: u64,
    pub duration_max_nanos: u64,
    sketch: DDSketch,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Bucket")
            .field("calls", &self.calls)
            .field("errors", &self.errors)
            .field("duration_sum_nanos", &self.duration_sum_nanos)
            .field("duration_min_nanos", &self.duration_min_nanos)
            .field("duration_max_nanos", &self.duration_max_nanos)
            .finish_non_exhaustive()
    }
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            calls: 0,
            errors: 0,
            duration_sum_nanos: 0,
            duration_min_nanos: u64::MAX,
            duration_max_nanos: 0,
            sketch: DDSketch::new(sketch_config()),
        }
    }
}

impl Bucket {
    pub fn record(&mut self, duration_nanos: u64, is_error: bool) {
        self.calls += 1;
        self.errors += u64::from(is_error);
        self.duration_sum_nanos += u128::from(duration_nanos);
        self.duration_min_nanos = self.duration_min_nanos.min(duration_nanos);
        self.duration_max_nanos = self.duration_max_nanos.max(duration_nanos);
        // The sketch's smallest value is 1 ns; a zero duration counts as 1 ns in percentiles.
        self.sketch.add(duration_nanos.max(1) as f64);
    }

    pub fn merge(&mut self, other: &Bucket) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.duration_sum_nanos += other.duration_sum_nanos;
        self.duration_min_nanos = self.duration_min_nanos.min(other.duration_min_nanos);
        self.duration_max_nanos = self.duration_max_nanos.max(other.duration_max_nanos);
        self.sketch
            .merge(&other.sketch)
            .expect("sketches of one configuration always merge");
    }

    /// The duration at quantile `q` (0–1), within the sketch's relative accuracy; `None` for an
    /// empty bucket or a `q` outside 0–1.
    pub fn quantile_nanos(&self, q: f64) -> Option<u64> {
        self.sketch
            .quantile(q)
            .ok()
            .flatten()
            .map(|value| value.round() as u64)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanMetricsConfig {
    pub bucket_seconds: u64,
    /// Attribute names (span first, then resource) that become extra dimensions.
    pub extra_dimensions: Vec<String>,
    /// Distinct series a service may have; further ones go to its overflow series.
    pub max_series_per_service: usize,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        SpanMetricsConfig {
            bucket_seconds: 30,
            extra_dimensions: Vec::new(),
            max_series_per_service: 2_000,
        }
    }
}

/// Buckets emitted by [`SpanMetrics::drain_before`]: bucket start (Unix seconds), series, bucket.
pub type EmittedBucket = (u64, SeriesKey, Bucket);

/// Aggregates spans into buckets. Buckets stay open until drained; a span for a bucket already
/// drained (a late span) opens it again, and the drained delta is merged by whoever stores it.
#[derive(Debug, Default)]
pub struct SpanMetrics {
    config: SpanMetricsConfig,
    open: BTreeMap<(u64, SeriesKey), Bucket>,
    series_by_service: HashMap<String, HashSet<SeriesKey>>,
    overflowed_spans: u64,
}

impl SpanMetrics {
    pub fn new(config: SpanMetricsConfig) -> Self {
        SpanMetrics {
            config,
            ..SpanMetrics::default()
        }
    }

    fn key_of(&self, span: &Span) -> SeriesKey {
        let text = |value: &AttributeValue| value.to_index_string();
        SeriesKey {
            service_name: span.service_name.clone(),
            span_name: span.name.clone(),
            span_kind: span.kind.to_otlp(),
            status_code: span.status.code.to_otlp(),
            host_name: span.host_name.clone(),
            environment: span.environment.clone(),
            region: span.region.clone(),
            extra: self
                .config
                .extra_dimensions
                .iter()
                .map(|name| {
                    find_attribute(&span.attributes, name)
                        .or_else(|| find_attribute(&span.resource.attributes, name))
                        .and_then(text)
                })
                .collect(),
        }
    }

    pub fn record(&mut self, span: &Span) {
        let mut key = self.key_of(span);
        let known = self
            .series_by_service
            .entry(span.service_name.clone())
            .or_default();
        if !known.contains(&key) {
            if known.len() >= self.config.max_series_per_service {
                self.overflowed_spans += 1;
                key = SeriesKey::overflow_of(&span.service_name);
            } else {
                known.insert(key.clone());
            }
        }
        let seconds = span.start_time_unix_nanos / 1_000_000_000;
        let bucket_start = seconds - seconds % self.config.bucket_seconds.max(1);
        let duration = span
            .end_time_unix_nanos
            .saturating_sub(span.start_time_unix_nanos);
        self.open
            .entry((bucket_start, key))
            .or_default()
            .record(duration, span.status.code == StatusCode::Error);
    }

    /// Spans that went to an overflow series because their service had too many series.
    pub fn overflowed_spans(&self) -> u64 {
        self.overflowed_spans
    }

    pub fn open_buckets(&self) -> usize {
        self.open.len()
    }

    /// Takes every bucket that starts before `bucket_start_secs` out of the aggregator.
    pub fn drain_before(&mut self, bucket_start_secs: u64) -> Vec<EmittedBucket> {
        // The smallest possible key, so the split keeps every series of the bucket.
        let first_of_bucket = SeriesKey {
            service_name: String::new(),
            span_name: String::new(),
            span_kind: i32::MIN,
            status_code: i32::MIN,
            host_name: None,
            environment: None,
            region: None,
            extra: Vec::new(),
        };
        let keep = self.open.split_off(&(bucket_start_secs, first_of_bucket));
        let drained = std::mem::replace(&mut self.open, keep);
        drained
            .into_iter()
            .map(|((start, key), bucket)| (start, key, bucket))
            .collect()
    }
}

/// Merges buckets into coarser ones (`resolution_seconds` a multiple of theirs): the 30 s → 10 min
/// → 1 h rollups, and the merge of a late span's delta into a stored bucket.
pub fn roll_up(
    buckets: impl IntoIterator<Item = EmittedBucket>,
    resolution_seconds: u64,
) -> BTreeMap<(u64, SeriesKey), Bucket> {
    let mut rolled: BTreeMap<(u64, SeriesKey), Bucket> = BTreeMap::new();
    for (start, key, bucket) in buckets {
        let coarse = start - start % resolution_seconds.max(1);
        rolled.entry((coarse, key)).or_default().merge(&bucket);
    }
    rolled
}

#[cfg(test)]
mod tests;
