//! RED metrics per series and 30-second bucket, with the exemplar policy.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use weft_model::{find_attribute, AttributeValue, Span, SpanKind, StatusCode};

use crate::bucket::{Bucket, Exemplar, ExemplarReason, Exemplars};

/// The span name of the series that takes a service's spans once it has too many series.
pub const OVERFLOW_SPAN_NAME: &str = "__weft_overflow__";

/// What one series is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

    /// The key error rates and alerting are tracked by: the series across status codes.
    fn without_status(&self) -> SeriesKey {
        SeriesKey {
            status_code: 0,
            ..self.clone()
        }
    }

    /// The smallest possible key, to split a map at a bucket boundary.
    fn smallest() -> Self {
        SeriesKey {
            service_name: String::new(),
            span_name: String::new(),
            span_kind: i32::MIN,
            status_code: i32::MIN,
            host_name: None,
            environment: None,
            region: None,
            extra: Vec::new(),
        }
    }
}

/// Which traces a bucket links to (DESIGN §4, from the seeds' exemplar policy).
#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarPolicy {
    /// Calls sampled per bucket while the series is healthy.
    pub sample_size: usize,
    /// Calls sampled per bucket while the series is alerting.
    pub alerting_sample_size: usize,
    /// A series alerts while its last closed bucket's error rate is at least this share.
    pub alert_error_rate: f64,
    /// … or its last closed bucket's p99 is at least this long.
    pub alert_latency_nanos: u64,
    /// Words (ASCII, matched case-insensitively) that link a span whose status, event names or
    /// exception type/message contain one.
    pub keywords: Vec<String>,
}

impl Default for ExemplarPolicy {
    fn default() -> Self {
        ExemplarPolicy {
            sample_size: 2,
            alerting_sample_size: 10,
            alert_error_rate: 0.05,
            alert_latency_nanos: 1_000_000_000,
            keywords: vec!["ERROR".into(), "FAILED".into(), "EXCEPTION".into()],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanMetricsConfig {
    pub bucket_seconds: u64,
    /// Attribute names (span first, then resource) that become extra dimensions.
    pub extra_dimensions: Vec<String>,
    /// Distinct series a service may have; further ones go to its overflow series.
    pub max_series_per_service: usize,
    pub exemplars: ExemplarPolicy,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        SpanMetricsConfig {
            bucket_seconds: 30,
            extra_dimensions: Vec::new(),
            max_series_per_service: 2_000,
            exemplars: ExemplarPolicy::default(),
        }
    }
}

/// Buckets emitted when closed: bucket start (Unix seconds), series, bucket.
pub type EmittedBucket = (u64, SeriesKey, Bucket);

/// What the policy remembers of a series (across status codes) between buckets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct RateState {
    /// Start of the last bucket closed in order (late deltas do not count).
    last_closed_start: Option<u64>,
    last_error_rate: f64,
    alerting: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OpenBucket {
    bucket: Bucket,
    /// Failing calls held back until the bucket closes: linked only if the error rate rose.
    error_candidates: Exemplars,
}

/// Aggregates spans into buckets. A bucket stays open until [`SpanMetrics::drain_before`] closes
/// it; a span for a bucket already closed (a late span) opens it again and is emitted as a delta
/// the store merges into what it has.
#[derive(Debug, Default)]
pub struct SpanMetrics {
    config: SpanMetricsConfig,
    open: BTreeMap<(u64, SeriesKey), OpenBucket>,
    /// Known series (the cardinality guard) and whether each is alerting.
    series_by_service: HashMap<String, HashMap<SeriesKey, bool>>,
    rate_states: HashMap<SeriesKey, RateState>,
    overflowed_spans: u64,
}

/// Everything a [`SpanMetrics`] holds, for a checkpoint.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SpanMetricsSnapshot {
    open: Vec<((u64, SeriesKey), OpenBucket)>,
    series: Vec<(SeriesKey, bool)>,
    rate_states: Vec<(SeriesKey, RateState)>,
    overflowed_spans: u64,
}

fn contains_keyword(text: &str, keywords: &[String]) -> bool {
    keywords.iter().any(|keyword| {
        !keyword.is_empty()
            && text
                .as_bytes()
                .windows(keyword.len())
                .any(|window| window.eq_ignore_ascii_case(keyword.as_bytes()))
    })
}

/// Whether the span's status, event names or exception type/message name a keyword.
pub fn matches_keywords(span: &Span, keywords: &[String]) -> bool {
    if keywords.is_empty() {
        return false;
    }
    if span.status.code == StatusCode::Error && contains_keyword("ERROR", keywords) {
        return true;
    }
    if contains_keyword(&span.status.message, keywords) {
        return true;
    }
    span.events.iter().any(|event| {
        contains_keyword(&event.name, keywords)
            || ["exception.type", "exception.message"].iter().any(|key| {
                matches!(find_attribute(&event.attributes, key), Some(AttributeValue::String(text)) if contains_keyword(text, keywords))
            })
    })
}

impl SpanMetrics {
    pub fn new(config: SpanMetricsConfig) -> Self {
        SpanMetrics {
            config,
            ..SpanMetrics::default()
        }
    }

    pub fn config(&self) -> &SpanMetricsConfig {
        &self.config
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

    /// The series the span counts in, after the cardinality guard, and whether that series is
    /// alerting.
    pub fn series_of(&mut self, span: &Span) -> (SeriesKey, bool) {
        let key = self.key_of(span);
        let cap = self.config.max_series_per_service;
        let known = match self.series_by_service.get_mut(&span.service_name) {
            Some(known) => known,
            None => self
                .series_by_service
                .entry(span.service_name.clone())
                .or_default(),
        };
        if let Some(alerting) = known.get(&key) {
            return (key, *alerting);
        }
        if known.len() >= cap {
            self.overflowed_spans += 1;
            return (SeriesKey::overflow_of(&span.service_name), false);
        }
        known.insert(key.clone(), false);
        (key, false)
    }

    pub fn record(&mut self, span: &Span) {
        let (key, alerting) = self.series_of(span);
        self.record_in(span, key, alerting);
    }

    /// Records a span in a series [`SpanMetrics::series_of`] chose.
    pub fn record_in(&mut self, span: &Span, key: SeriesKey, alerting: bool) {
        let seconds = span.start_time_unix_nanos / 1_000_000_000;
        let bucket_start = seconds - seconds % self.config.bucket_seconds.max(1);
        let duration = span
            .end_time_unix_nanos
            .saturating_sub(span.start_time_unix_nanos);
        let is_error = span.status.code == StatusCode::Error;
        let policy = &self.config.exemplars;
        let keyword = matches_keywords(span, &policy.keywords);
        let sample_size = if alerting {
            policy.alerting_sample_size
        } else {
            policy.sample_size
        };
        let open = self.open.entry((bucket_start, key)).or_default();
        open.bucket.record(duration, is_error);
        let exemplar = |reason| Exemplar {
            trace_id: *span.trace_id.as_bytes(),
            span_id: *span.span_id.as_bytes(),
            start_unix_nanos: span.start_time_unix_nanos,
            duration_nanos: duration,
            is_error,
            reason,
        };
        let exemplars = &mut open.bucket.exemplars;
        exemplars.offer(exemplar(ExemplarReason::Slowest), sample_size);
        exemplars.offer(exemplar(ExemplarReason::Sampled), sample_size);
        if keyword {
            exemplars.offer(exemplar(ExemplarReason::Keyword), sample_size);
        }
        if is_error {
            open.error_candidates
                .offer(exemplar(ExemplarReason::ErrorIncrease), sample_size);
        }
    }

    /// Spans that went to an overflow series because their service had too many series.
    pub fn overflowed_spans(&self) -> u64 {
        self.overflowed_spans
    }

    pub fn open_buckets(&self) -> usize {
        self.open.len()
    }

    pub fn series_count(&self) -> usize {
        self.series_by_service.values().map(HashMap::len).sum()
    }

    /// Visits the open buckets (for queries that must see data not closed yet).
    pub fn open(&self) -> impl Iterator<Item = (u64, &SeriesKey, &Bucket)> {
        self.open
            .iter()
            .map(|((start, key), open)| (*start, key, &open.bucket))
    }

    /// Closes every bucket that starts before `bucket_start_secs`: decides error-increase links
    /// and the series' alerting state, and returns the buckets. Error rates are per series
    /// *across status codes* (the status is a dimension, so one status's series alone would
    /// always read 0 % or 100 %).
    pub fn drain_before(&mut self, bucket_start_secs: u64) -> Vec<EmittedBucket> {
        let keep = self
            .open
            .split_off(&(bucket_start_secs, SeriesKey::smallest()));
        let drained = std::mem::replace(&mut self.open, keep);
        let policy = self.config.exemplars.clone();
        // (start, series without status) -> (calls, errors, worst p99)
        let mut rates: BTreeMap<(u64, SeriesKey), (u64, u64, u64)> = BTreeMap::new();
        for ((start, key), open) in &drained {
            let entry = rates.entry((*start, key.without_status())).or_default();
            entry.0 += open.bucket.calls;
            entry.1 += open.bucket.errors;
            entry.2 = entry.2.max(open.bucket.quantile_nanos(0.99).unwrap_or(0));
        }
        // Decided in time order per series; a late delta (not after the last closed bucket)
        // changes no state and links no error increase.
        let mut increased: HashMap<(u64, SeriesKey), bool> = HashMap::new();
        for ((start, rate_key), (calls, errors, p99)) in rates {
            let state = self.rate_states.entry(rate_key.clone()).or_default();
            if state.last_closed_start.is_some_and(|last| start <= last) {
                continue;
            }
            let error_rate = errors as f64 / calls.max(1) as f64;
            let rose = errors > 0
                && state.last_closed_start.is_some()
                && error_rate > state.last_error_rate;
            state.last_closed_start = Some(start);
            state.last_error_rate = error_rate;
            state.alerting =
                error_rate >= policy.alert_error_rate || p99 >= policy.alert_latency_nanos;
            let alerting = state.alerting;
            if let Some(series) = self.series_by_service.get_mut(&rate_key.service_name) {
                for status_code in [0, 1, 2] {
                    let key = SeriesKey {
                        status_code,
                        ..rate_key.clone()
                    };
                    if let Some(flag) = series.get_mut(&key) {
                        *flag = alerting;
                    }
                }
            }
            increased.insert((start, rate_key), rose);
        }
        drained
            .into_iter()
            .map(|((start, key), open)| {
                let mut bucket = open.bucket;
                if !open.error_candidates.is_empty()
                    && increased.get(&(start, key.without_status())) == Some(&true)
                {
                    bucket.exemplars.merge(&open.error_candidates);
                }
                (start, key, bucket)
            })
            .collect()
    }

    pub fn snapshot(&self) -> SpanMetricsSnapshot {
        SpanMetricsSnapshot {
            open: self
                .open
                .iter()
                .map(|(key, open)| (key.clone(), open.clone()))
                .collect(),
            series: self
                .series_by_service
                .values()
                .flat_map(|series| {
                    series
                        .iter()
                        .map(|(key, alerting)| (key.clone(), *alerting))
                })
                .collect(),
            rate_states: self
                .rate_states
                .iter()
                .map(|(key, state)| (key.clone(), state.clone()))
                .collect(),
            overflowed_spans: self.overflowed_spans,
        }
    }

    pub fn restore(config: SpanMetricsConfig, snapshot: SpanMetricsSnapshot) -> Self {
        let mut metrics = SpanMetrics::new(config);
        metrics.open = snapshot.open.into_iter().collect();
        for (key, alerting) in snapshot.series {
            metrics
                .series_by_service
                .entry(key.service_name.clone())
                .or_default()
                .insert(key, alerting);
        }
        metrics.rate_states = snapshot.rate_states.into_iter().collect();
        metrics.overflowed_spans = snapshot.overflowed_spans;
        metrics
    }
}

/// Merges buckets into coarser ones (`resolution_seconds` a multiple of theirs): the 30 s → 10 min
/// → 1 h rollups, and the merge of a late span's delta into a stored bucket.
pub fn roll_up<K: Ord>(
    buckets: impl IntoIterator<Item = (u64, K, Bucket)>,
    resolution_seconds: u64,
) -> BTreeMap<(u64, K), Bucket> {
    let mut rolled: BTreeMap<(u64, K), Bucket> = BTreeMap::new();
    for (start, key, bucket) in buckets {
        let coarse = start - start % resolution_seconds.max(1);
        match rolled.entry((coarse, key)) {
            std::collections::btree_map::Entry::Vacant(vacant) => {
                vacant.insert(bucket);
            }
            std::collections::btree_map::Entry::Occupied(mut occupied) => {
                occupied.get_mut().merge(&bucket)
            }
        }
    }
    rolled
}
