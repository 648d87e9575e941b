//! Queries in Weft's own terms, and the sans-I/O parts of answering them: matching one span,
//! summarizing one trace.

use std::collections::BTreeMap;

use weft_model::{AttributeValue, Span, SpanId, SpanKind, StatusCode, TraceId};

use crate::StoreError;

/// The most traces one search may return; larger limits are refused, not clamped.
pub const MAX_SEARCH_LIMIT: usize = 1_000;

/// The most spans one trace lookup returns unless the caller asks for fewer: a trace this large
/// stays usable, a runaway one (a loop emitting spans into one trace) cannot exhaust memory.
pub const DEFAULT_MAX_TRACE_SPANS: usize = 500_000;

/// Look up one trace. Bounds (span start times, inclusive) narrow where the store looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceQuery {
    pub trace_id: TraceId,
    pub start_unix_nanos: Option<u64>,
    pub end_unix_nanos: Option<u64>,
    /// The store stops reading after this many spans (plus one, so callers can tell that more
    /// were there). Which spans are returned past the cap is unspecified.
    pub max_spans: usize,
}

impl TraceQuery {
    pub fn new(trace_id: TraceId) -> Self {
        TraceQuery {
            trace_id,
            start_unix_nanos: None,
            end_unix_nanos: None,
            max_spans: DEFAULT_MAX_TRACE_SPANS,
        }
    }

    pub fn admits_start(&self, start_unix_nanos: u64) -> bool {
        self.start_unix_nanos
            .is_none_or(|bound| start_unix_nanos >= bound)
            && self
                .end_unix_nanos
                .is_none_or(|bound| start_unix_nanos <= bound)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// The span's status is ERROR.
    Error,
    Ok,
    Unset,
}

impl StatusFilter {
    fn admits(self, code: StatusCode) -> bool {
        matches!(
            (self, code),
            (StatusFilter::Error, StatusCode::Error)
                | (StatusFilter::Ok, StatusCode::Ok)
                | (StatusFilter::Unset, StatusCode::Unset)
        )
    }

    pub fn admits_otlp(self, code: i32) -> bool {
        self.admits(StatusCode::from_otlp(code))
    }
}

/// A trace search. Every span-level condition (service, operation, kind, attributes, status,
/// duration, business key) must hold on **one and the same span**; the trace matches when any
/// of its spans does, that span starting within the time range. Root conditions hold on the
/// trace's root span.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub service: Option<String>,
    pub operation: Option<String>,
    pub span_kind: Option<SpanKind>,
    /// `key=value` pairs: each holds when the span or its resource has an attribute `key` with
    /// that value (a number or boolean attribute matches its textual form).
    pub attributes: Vec<(String, String)>,
    /// The value of any configured business key (`order.id`, …).
    pub business_key: Option<String>,
    pub status: Option<StatusFilter>,
    pub min_duration_nanos: Option<u64>,
    pub max_duration_nanos: Option<u64>,
    /// Lower-case hex, 1–32 digits.
    pub trace_id_prefix: Option<String>,
    pub root_service: Option<String>,
    pub root_operation: Option<String>,
    pub limit: usize,
}

impl SearchQuery {
    /// Everything in a time range, newest first.
    pub fn in_range(start_unix_nanos: u64, end_unix_nanos: u64, limit: usize) -> Self {
        SearchQuery {
            start_unix_nanos,
            end_unix_nanos,
            service: None,
            operation: None,
            span_kind: None,
            attributes: Vec::new(),
            business_key: None,
            status: None,
            min_duration_nanos: None,
            max_duration_nanos: None,
            trace_id_prefix: None,
            root_service: None,
            root_operation: None,
            limit,
        }
    }

    /// Refuses queries no store should run: inverted ranges, absurd limits, bad prefixes.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.start_unix_nanos > self.end_unix_nanos {
            return Err(StoreError::InvalidQuery(
                "start is after end: the time range is inverted".into(),
            ));
        }
        if self.limit == 0 || self.limit > MAX_SEARCH_LIMIT {
            return Err(StoreError::InvalidQuery(format!(
                "limit must be between 1 and {MAX_SEARCH_LIMIT}, got {}",
                self.limit
            )));
        }
        if let (Some(min), Some(max)) = (self.min_duration_nanos, self.max_duration_nanos) {
            if min > max {
                return Err(StoreError::InvalidQuery(
                    "min duration is larger than max duration".into(),
                ));
            }
        }
        if let Some(prefix) = &self.trace_id_prefix {
            TraceIdRange::from_prefix(prefix)?;
        }
        Ok(())
    }

    /// Only root conditions: the search can look at root spans alone.
    pub fn has_span_conditions(&self) -> bool {
        self.service.is_some()
            || self.operation.is_some()
            || self.span_kind.is_some()
            || !self.attributes.is_empty()
            || self.business_key.is_some()
            || self.status.is_some()
            || self.min_duration_nanos.is_some()
            || self.max_duration_nanos.is_some()
    }

    pub fn has_root_conditions(&self) -> bool {
        self.root_service.is_some() || self.root_operation.is_some()
    }

    pub fn admits_duration(&self, duration_nanos: i64) -> bool {
        let duration = u64::try_from(duration_nanos).unwrap_or(0);
        self.min_duration_nanos.is_none_or(|min| duration >= min)
            && self.max_duration_nanos.is_none_or(|max| duration <= max)
    }

    /// Whether one in-memory span satisfies every span-level condition (and the time range).
    pub fn matches_span(&self, span: &Span, trace_ids: Option<&TraceIdRange>) -> bool {
        let start = span.start_time_unix_nanos;
        if start < self.start_unix_nanos || start > self.end_unix_nanos {
            return false;
        }
        if trace_ids.is_some_and(|range| !range.contains(&span.trace_id)) {
            return false;
        }
        if !self.has_span_conditions() && self.has_root_conditions() {
            return span.parent_span_id.is_none()
                && self
                    .root_service
                    .as_ref()
                    .is_none_or(|s| *s == span.service_name)
                && self.root_operation.as_ref().is_none_or(|n| *n == span.name);
        }
        self.service
            .as_ref()
            .is_none_or(|s| *s == span.service_name)
            && self.operation.as_ref().is_none_or(|n| *n == span.name)
            && self.span_kind.is_none_or(|kind| kind == span.kind)
            && self
                .status
                .is_none_or(|status| status.admits(span.status.code))
            && self.admits_duration(
                span.end_time_unix_nanos
                    .wrapping_sub(span.start_time_unix_nanos)
                    .cast_signed(),
            )
            && self
                .business_key
                .as_ref()
                .is_none_or(|wanted| span.business_keys.iter().any(|key| key.value == *wanted))
            && self.attributes.iter().all(|(key, wanted)| {
                let has = |attributes: &[weft_model::KeyValue]| {
                    attributes.iter().any(|attribute| {
                        attribute.key == *key && attribute_value_matches(&attribute.value, wanted)
                    })
                };
                has(&span.attributes) || has(&span.resource.attributes)
            })
    }
}

/// How a query's `key=value` compares with a stored value: as text, numbers and booleans by
/// value.
pub fn attribute_value_matches(value: &AttributeValue, wanted: &str) -> bool {
    match value {
        AttributeValue::String(text) => text == wanted,
        AttributeValue::Int(number) => wanted.parse::<i64>().is_ok_and(|w| w == *number),
        AttributeValue::Bool(flag) => wanted.parse::<bool>().is_ok_and(|w| w == *flag),
        AttributeValue::Double(number) => wanted.parse::<f64>().is_ok_and(|w| w == *number),
        _ => false,
    }
}

/// The trace IDs a hex prefix stands for, as an inclusive byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceIdRange {
    pub lowest: [u8; 16],
    pub highest: [u8; 16],
}

impl TraceIdRange {
    pub fn from_prefix(prefix: &str) -> Result<Self, StoreError> {
        if prefix.is_empty() || prefix.len() > 32 {
            return Err(StoreError::InvalidQuery(format!(
                "trace id prefix must be 1 to 32 hex digits, got {} characters",
                prefix.len()
            )));
        }
        let mut lowest = [0u8; 16];
        let mut highest = [0xffu8; 16];
        for (index, character) in prefix.chars().enumerate() {
            let nibble = character.to_digit(16).ok_or_else(|| {
                StoreError::InvalidQuery(format!(
                    "trace id prefix {prefix:?} is not hex: {character:?}"
                ))
            })? as u8;
            let byte = index / 2;
            if index % 2 == 0 {
                lowest[byte] = nibble << 4;
                highest[byte] = (nibble << 4) | 0x0f;
            } else {
                lowest[byte] |= nibble;
                highest[byte] = (highest[byte] & 0xf0) | nibble;
            }
        }
        Ok(TraceIdRange { lowest, highest })
    }

    pub fn contains(&self, trace_id: &TraceId) -> bool {
        let bytes = trace_id.as_bytes();
        *bytes >= self.lowest && *bytes <= self.highest
    }

    pub fn overlaps(&self, min: &[u8], max: &[u8]) -> bool {
        max >= &self.lowest[..] && min <= &self.highest[..]
    }
}

/// What a search returns per trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSummary {
    pub trace_id: TraceId,
    /// Service and name of the root span (the span without a parent), or of the earliest span
    /// when the root has not arrived (`root_span_found` false).
    pub root_service_name: String,
    pub root_span_name: String,
    pub root_span_found: bool,
    pub start_unix_nanos: u64,
    /// From the earliest start to the latest end of any span.
    pub duration_nanos: u64,
    pub span_count: usize,
    pub error_count: usize,
    /// Services involved with their span and error counts, by name.
    pub services: Vec<ServiceSpanCount>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpanCount {
    pub service_name: String,
    pub span_count: usize,
    pub error_count: usize,
}

/// The fields a summary needs from one span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanHead {
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub service_name: String,
    pub name: String,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub is_error: bool,
}

impl SpanHead {
    pub fn of(span: &Span) -> Self {
        SpanHead {
            span_id: span.span_id,
            parent_span_id: span.parent_span_id,
            service_name: span.service_name.clone(),
            name: span.name.clone(),
            start_unix_nanos: span.start_time_unix_nanos,
            end_unix_nanos: span.end_time_unix_nanos,
            is_error: span.status.code == StatusCode::Error,
        }
    }
}

/// Summarizes one trace from its spans' heads (`None` for no spans).
pub fn summarize(trace_id: TraceId, heads: &[SpanHead]) -> Option<TraceSummary> {
    let earliest = heads.iter().min_by_key(|head| head.start_unix_nanos)?;
    let root = heads
        .iter()
        .filter(|head| head.parent_span_id.is_none())
        .min_by_key(|head| head.start_unix_nanos);
    let start = earliest.start_unix_nanos;
    let end = heads
        .iter()
        .map(|head| head.end_unix_nanos.max(head.start_unix_nanos))
        .max()
        .unwrap_or(start);
    let mut services: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for head in heads {
        let counts = services.entry(&head.service_name).or_default();
        counts.0 += 1;
        counts.1 += usize::from(head.is_error);
    }
    let shown = root.unwrap_or(earliest);
    Some(TraceSummary {
        trace_id,
        root_service_name: shown.service_name.clone(),
        root_span_name: shown.name.clone(),
        root_span_found: root.is_some(),
        start_unix_nanos: start,
        duration_nanos: end - start,
        span_count: heads.len(),
        error_count: heads.iter().filter(|head| head.is_error).count(),
        services: services
            .into_iter()
            .map(|(name, (span_count, error_count))| ServiceSpanCount {
                service_name: name.to_owned(),
                span_count,
                error_count,
            })
            .collect(),
    })
}

impl TraceSummary {
    pub fn admits_root(&self, query: &SearchQuery) -> bool {
        (self.root_span_found || !query.has_root_conditions())
            && query
                .root_service
                .as_ref()
                .is_none_or(|s| *s == self.root_service_name)
            && query
                .root_operation
                .as_ref()
                .is_none_or(|n| *n == self.root_span_name)
    }
}

/// Search results: summaries newest first, and whether the scan budget ran out first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchResult {
    pub traces: Vec<TraceSummary>,
    /// True when the search stopped at its scan budget: there may be more matches.
    pub partial: bool,
    pub scanned_spans: u64,
}
