//! RED metrics per series and 30-second bucket, with the exemplar policy.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use weft_model::{
    contains_any_word_ignoring_ascii_case, find_attribute, AttributeValue, Span, SpanKind,
    StatusCode,
};

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
}

/// A span's [`SeriesKey`], borrowed from the span: the per-span lookup builds this instead of
/// an owned key, so a known series costs no allocation. Fields in [`SeriesKey`]'s order and
/// hashed the same way (`str`, `String` and `Cow<str>` hash alike), which
/// [`hashbrown::Equivalent`] relies on.
#[derive(Hash)]
struct SeriesKeyRef<'span> {
    service_name: &'span str,
    span_name: &'span str,
    span_kind: i32,
    status_code: i32,
    host_name: Option<&'span str>,
    environment: Option<&'span str>,
    region: Option<&'span str>,
    extra: Vec<Option<Cow<'span, str>>>,
}

impl hashbrown::Equivalent<SeriesKey> for SeriesKeyRef<'_> {
    fn equivalent(&self, key: &SeriesKey) -> bool {
        self.service_name == key.service_name
            && self.span_name == key.span_name
            && self.span_kind == key.span_kind
            && self.status_code == key.status_code
            && self.host_name == key.host_name.as_deref()
            && self.environment == key.environment.as_deref()
            && self.region == key.region.as_deref()
            && self.extra.len() == key.extra.len()
            && self
                .extra
                .iter()
                .zip(&key.extra)
                .all(|(mine, theirs)| mine.as_deref() == theirs.as_deref())
    }
}

impl SeriesKeyRef<'_> {
    fn to_owned_key(&self) -> SeriesKey {
        SeriesKey {
            service_name: self.service_name.to_owned(),
            span_name: self.span_name.to_owned(),
            span_kind: self.span_kind,
            status_code: self.status_code,
            host_name: self.host_name.map(str::to_owned),
            environment: self.environment.map(str::to_owned),
            region: self.region.map(str::to_owned),
            extra: self
                .extra
                .iter()
                .map(|value| value.as_deref().map(str::to_owned))
                .collect(),
        }
    }
}

/// A series' number within one [`SpanMetrics`] (stable for its lifetime, not across restarts:
/// snapshots store keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(u32);

impl SeriesId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A known series.
#[derive(Debug)]
struct Series {
    key: SeriesKey,
    alerting: bool,
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
    /// Most (bucket, series) entries open at once; a span that would open one more is counted
    /// ([`SpanMetrics::spans_over_open_bucket_cap`]), not recorded. Real traffic opens a few
    /// buckets per series; this bounds what late spans spread over many buckets can hold.
    pub max_open_buckets: usize,
    pub exemplars: ExemplarPolicy,
}

impl Default for SpanMetricsConfig {
    fn default() -> Self {
        SpanMetricsConfig {
            bucket_seconds: 30,
            extra_dimensions: Vec::new(),
            max_series_per_service: 2_000,
            max_open_buckets: 200_000,
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
    /// Keyed by series number: the per-span path hashes two integers, not a key of strings.
    open: hashbrown::HashMap<(u64, SeriesId), OpenBucket>,
    /// Known series, numbered by their index.
    series: Vec<Series>,
    series_ids: hashbrown::HashMap<SeriesKey, SeriesId>,
    /// Series per service, for the cardinality guard.
    series_per_service: HashMap<String, usize>,
    overflow_series: usize,
    rate_states: HashMap<SeriesKey, RateState>,
    overflowed_spans: u64,
    /// Since start (not checkpointed): see `SpanMetricsConfig::max_open_buckets`.
    spans_over_open_bucket_cap: u64,
}

/// Everything a [`SpanMetrics`] holds, for a checkpoint.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SpanMetricsSnapshot {
    open: Vec<((u64, SeriesKey), OpenBucket)>,
    series: Vec<(SeriesKey, bool)>,
    rate_states: Vec<(SeriesKey, RateState)>,
    overflowed_spans: u64,
}

/// Whether the span's status, event names or exception type/message name a keyword.
pub fn matches_keywords(span: &Span, keywords: &[String]) -> bool {
    if keywords.is_empty() {
        return false;
    }
    if span.status.code == StatusCode::Error
        && contains_any_word_ignoring_ascii_case("ERROR", keywords)
    {
        return true;
    }
    if contains_any_word_ignoring_ascii_case(&span.status.message, keywords) {
        return true;
    }
    span.events.iter().any(|event| {
        contains_any_word_ignoring_ascii_case(&event.name, keywords)
            || ["exception.type", "exception.message"].iter().any(|key| {
                matches!(find_attribute(&event.attributes, key), Some(AttributeValue::String(text)) if contains_any_word_ignoring_ascii_case(text, keywords))
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

    fn key_ref_of<'span>(&self, span: &'span Span) -> SeriesKeyRef<'span> {
        let text = |value: &'span AttributeValue| match value {
            AttributeValue::String(text) => Some(Cow::Borrowed(text.as_str())),
            other => other.to_index_string().map(Cow::Owned),
        };
        SeriesKeyRef {
            service_name: &span.service_name,
            span_name: &span.name,
            span_kind: span.kind.to_otlp(),
            status_code: span.status.code.to_otlp(),
            host_name: span.host_name.as_deref(),
            environment: span.environment.as_deref(),
            region: span.region.as_deref(),
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

    /// The number of a series, known or new (new series are not checked against the cap).
    fn intern(&mut self, key: SeriesKey, alerting: bool) -> SeriesId {
        if let Some(id) = self.series_ids.get(&key) {
            return *id;
        }
        let id = SeriesId(u32::try_from(self.series.len()).expect("fewer than 2^32 series"));
        if key.span_name == OVERFLOW_SPAN_NAME {
            self.overflow_series += 1;
        } else {
            *self
                .series_per_service
                .entry(key.service_name.clone())
                .or_default() += 1;
        }
        self.series_ids.insert(key.clone(), id);
        self.series.push(Series { key, alerting });
        id
    }

    /// The span's series if it is known, found by a key borrowed from the span.
    pub(crate) fn known_series_of(&self, span: &Span) -> Option<SeriesId> {
        self.series_ids.get(&self.key_ref_of(span)).copied()
    }

    /// The key of a series [`SpanMetrics::series_of`] returned.
    pub fn key(&self, id: SeriesId) -> &SeriesKey {
        &self.series[id.index()].key
    }

    /// The series the span counts in, after the cardinality guard, and whether that series is
    /// alerting.
    pub fn series_of(&mut self, span: &Span) -> (SeriesId, bool) {
        if let Some(id) = self.known_series_of(span) {
            return (id, self.series[id.index()].alerting);
        }
        let key = self.key_ref_of(span);
        let known = self
            .series_per_service
            .get(span.service_name.as_str())
            .copied()
            .unwrap_or(0);
        if known >= self.config.max_series_per_service {
            self.overflowed_spans += 1;
            let overflow = SeriesKey::overflow_of(&span.service_name);
            let id = self.intern(overflow, false);
            return (id, self.series[id.index()].alerting);
        }
        let owned = key.to_owned_key();
        (self.intern(owned, false), false)
    }

    pub fn record(&mut self, span: &Span) {
        let (key, alerting) = self.series_of(span);
        self.record_in(span, key, alerting);
    }

    /// Records a span in a series [`SpanMetrics::series_of`] chose.
    pub fn record_in(&mut self, span: &Span, series: SeriesId, alerting: bool) {
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
        if self.open.len() >= self.config.max_open_buckets
            && !self.open.contains_key(&(bucket_start, series))
        {
            self.spans_over_open_bucket_cap += 1;
            return;
        }
        let open = self.open.entry((bucket_start, series)).or_default();
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

    /// Spans not recorded because their (bucket, series) would have been one open too many.
    pub fn spans_over_open_bucket_cap(&self) -> u64 {
        self.spans_over_open_bucket_cap
    }

    pub fn open_buckets(&self) -> usize {
        self.open.len()
    }

    /// Known series, not counting the services' overflow series.
    pub fn series_count(&self) -> usize {
        self.series.len() - self.overflow_series
    }

    /// Visits the open buckets (for queries that must see data not closed yet), in no order.
    pub fn open(&self) -> impl Iterator<Item = (u64, &SeriesKey, &Bucket)> {
        self.open
            .iter()
            .map(|((start, id), open)| (*start, self.key(*id), &open.bucket))
    }

    /// Closes every bucket that starts before `bucket_start_secs`: decides error-increase links
    /// and the series' alerting state, and returns the buckets. Error rates are per series
    /// *across status codes* (the status is a dimension, so one status's series alone would
    /// always read 0 % or 100 %).
    pub fn drain_before(&mut self, bucket_start_secs: u64) -> Vec<EmittedBucket> {
        let mut drained: Vec<(u64, SeriesKey, OpenBucket)> = self
            .open
            .extract_if(|(start, _), _| *start < bucket_start_secs)
            .map(|((start, id), open)| (start, self.series[id.index()].key.clone(), open))
            .collect();
        drained.sort_by(|left, right| (left.0, &left.1).cmp(&(right.0, &right.1)));
        let policy = self.config.exemplars.clone();
        // (start, series without status) -> (calls, errors, worst p99)
        let mut rates: BTreeMap<(u64, SeriesKey), (u64, u64, u64)> = BTreeMap::new();
        for (start, key, open) in &drained {
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
            for status_code in [0, 1, 2] {
                let key = SeriesKey {
                    status_code,
                    ..rate_key.clone()
                };
                if let Some(id) = self.series_ids.get(&key) {
                    self.series[id.index()].alerting = alerting;
                }
            }
            increased.insert((start, rate_key), rose);
        }
        drained
            .into_iter()
            .map(|(start, key, open)| {
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
                .map(|((start, id), open)| ((*start, self.key(*id).clone()), open.clone()))
                .collect(),
            series: self
                .series
                .iter()
                .map(|series| (series.key.clone(), series.alerting))
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
        for (key, alerting) in snapshot.series {
            metrics.intern(key, alerting);
        }
        for ((start, key), open) in snapshot.open {
            // Open buckets of series the snapshot did not list (none are written so) still
            // restore.
            let id = metrics.intern(key, false);
            metrics.open.insert((start, id), open);
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
