use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, ArrayValue, KeyValue};
use weft_model::{IdError, SpanId, TraceId};

use crate::otlp::parent_from_otlp;
use crate::ExportTraceServiceRequest;

/// The attribute that lists the keys whose values Weft truncated, added next to them (on the span,
/// event, link, resource or scope that held them) so nobody mistakes a cut value for the original.
pub const TRUNCATED_ATTRIBUTES_KEY: &str = "weft.truncated_attributes";

/// The attribute that keeps a span's own start time when Weft moved the span to its arrival
/// time because that start was implausible (see [`PlausibleStarts`]).
pub const ORIGINAL_START_TIME_KEY: &str = "weft.original_start_time_unix_nano";

/// The span start times Weft takes as they are, judged from a request's arrival time: no
/// earlier than the retention age, no later than the clock skew allowed. A span starting
/// outside is moved to the arrival time whole (end and events by the same amount, duration
/// kept, its own start in [`ORIGINAL_START_TIME_KEY`]): a client with a wrong clock — or a
/// hostile one — cannot make the processors open metric buckets, sampling shards or partitions
/// anywhere in time, and its spans stay searchable where they arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlausibleStarts {
    pub earliest_unix_nanos: u64,
    pub latest_unix_nanos: u64,
    pub arrival_unix_nanos: u64,
}

impl PlausibleStarts {
    pub fn around(
        arrival_unix_nanos: u64,
        max_age: std::time::Duration,
        max_future_skew: std::time::Duration,
    ) -> Self {
        let nanos =
            |duration: std::time::Duration| u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        PlausibleStarts {
            earliest_unix_nanos: arrival_unix_nanos.saturating_sub(nanos(max_age)),
            latest_unix_nanos: arrival_unix_nanos.saturating_add(nanos(max_future_skew)),
            arrival_unix_nanos,
        }
    }

    pub fn contains(&self, start_unix_nanos: u64) -> bool {
        (self.earliest_unix_nanos..=self.latest_unix_nanos).contains(&start_unix_nanos)
    }
}

/// Per-span limits applied at ingest, so one misbehaving client cannot bloat storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationLimits {
    /// Longest string or bytes value kept (in bytes); longer ones are cut at a UTF-8 boundary.
    /// Also applies to attribute keys, span names and status messages.
    pub max_attribute_value_bytes: usize,
    /// Most attributes kept per span, event, link, resource or scope; the rest are dropped and
    /// added to the element's `dropped_attributes_count`, as the OpenTelemetry spec does. The
    /// `weft.truncated_attributes` marker, when added, comes on top of this count.
    pub max_attributes_per_span: usize,
    pub max_events_per_span: usize,
    pub max_links_per_span: usize,
    /// Start times taken as they are; `None` takes every start (tools and tests without a
    /// clock). The ingestor sets it per request from the arrival time.
    pub plausible_starts: Option<PlausibleStarts>,
}

impl Default for ValidationLimits {
    fn default() -> Self {
        ValidationLimits {
            // Long enough for full SQL text and a Java stack trace, short enough to bound a span.
            max_attribute_value_bytes: 16 * 1024,
            // The OpenTelemetry SDKs' default span limits.
            max_attributes_per_span: 128,
            max_events_per_span: 128,
            max_links_per_span: 128,
            plausible_starts: None,
        }
    }
}

/// What [`validate_and_limit`] did to a request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    pub accepted_spans: u64,
    pub rejected_spans: u64,
    /// A message for OTLP's `partial_success.error_message`, naming the first problems found.
    pub rejection_message: String,
    pub truncated_values: u64,
    pub dropped_attributes: u64,
    pub dropped_events: u64,
    pub dropped_links: u64,
    /// Spans moved to the arrival time because their start was implausible.
    pub clamped_spans: u64,
}

impl ValidationReport {
    /// Whether the request no longer equals what was received (so its original bytes can't be
    /// reused).
    pub fn modified_request(&self) -> bool {
        self.rejected_spans > 0
            || self.truncated_values > 0
            || self.dropped_attributes > 0
            || self.dropped_events > 0
            || self.dropped_links > 0
            || self.clamped_spans > 0
    }

    fn reject(&mut self, span_index: usize, reason: IdError) {
        self.reject_record(span_index, "span", reason);
    }

    /// Counts a rejected record (a span, a log record) and names the first few problems.
    pub(crate) fn reject_record(&mut self, index: usize, noun: &str, reason: IdError) {
        self.rejected_spans += 1;
        // Name the first few problems; a million bad spans must not make a megabyte message.
        const MAX_REASONS: u64 = 3;
        if self.rejected_spans <= MAX_REASONS {
            if !self.rejection_message.is_empty() {
                self.rejection_message.push_str("; ");
            }
            self.rejection_message
                .push_str(&format!("{noun} {index}: {reason}"));
        } else if self.rejected_spans == MAX_REASONS + 1 {
            self.rejection_message.push_str("; and more");
        }
    }
}

/// Rejects spans with malformed IDs (their batch-mates are kept), truncates oversized values and
/// caps attribute, event and link counts, all in place. Empty `ScopeSpans` and `ResourceSpans`
/// left behind are removed.
pub fn validate_and_limit(
    request: &mut ExportTraceServiceRequest,
    limits: &ValidationLimits,
) -> ValidationReport {
    let mut report = ValidationReport::default();
    let mut span_index = 0usize;
    for resource_spans in &mut request.resource_spans {
        if let Some(resource) = &mut resource_spans.resource {
            limit_attributes(
                &mut resource.attributes,
                &mut resource.dropped_attributes_count,
                limits,
                &mut report,
            );
        }
        for scope_spans in &mut resource_spans.scope_spans {
            if let Some(scope) = &mut scope_spans.scope {
                limit_attributes(
                    &mut scope.attributes,
                    &mut scope.dropped_attributes_count,
                    limits,
                    &mut report,
                );
            }
            scope_spans.spans.retain_mut(|span| {
                let index = span_index;
                span_index += 1;
                if let Err(reason) = check_ids(span) {
                    report.reject(index, reason);
                    return false;
                }
                limit_span(span, limits, &mut report);
                if let Some(plausible) = &limits.plausible_starts {
                    if !plausible.contains(span.start_time_unix_nano) {
                        move_to_arrival(span, plausible);
                        report.clamped_spans += 1;
                    }
                }
                report.accepted_spans += 1;
                true
            });
        }
        resource_spans
            .scope_spans
            .retain(|scope_spans| !scope_spans.spans.is_empty());
    }
    request
        .resource_spans
        .retain(|resource_spans| !resource_spans.scope_spans.is_empty());
    report
}

/// Moves a span with an implausible start to the arrival time, keeping its duration and its
/// events' offsets, and records the start it had.
fn move_to_arrival(
    span: &mut opentelemetry_proto::tonic::trace::v1::Span,
    plausible: &PlausibleStarts,
) {
    let original_start = span.start_time_unix_nano;
    let arrival = plausible.arrival_unix_nanos;
    let shift = |time: u64| {
        if original_start <= arrival {
            time.saturating_add(arrival - original_start)
        } else {
            time.saturating_sub(original_start - arrival)
        }
    };
    let duration = span.end_time_unix_nano.saturating_sub(original_start);
    span.start_time_unix_nano = arrival;
    span.end_time_unix_nano = arrival.saturating_add(duration);
    for event in &mut span.events {
        event.time_unix_nano = shift(event.time_unix_nano);
    }
    span.attributes.push(KeyValue {
        key: ORIGINAL_START_TIME_KEY.to_owned(),
        value: Some(AnyValue {
            // OTLP's int is signed; a start past 2262 is cut to the largest one.
            value: Some(Value::IntValue(
                i64::try_from(original_start).unwrap_or(i64::MAX),
            )),
        }),
        key_strindex: 0,
    });
}

fn check_ids(span: &opentelemetry_proto::tonic::trace::v1::Span) -> Result<(), IdError> {
    TraceId::try_from_slice(&span.trace_id)?;
    SpanId::try_from_slice(&span.span_id)?;
    parent_from_otlp(&span.parent_span_id)?;
    for link in &span.links {
        TraceId::try_from_slice(&link.trace_id)?;
        SpanId::try_from_slice(&link.span_id)?;
    }
    Ok(())
}

fn limit_span(
    span: &mut opentelemetry_proto::tonic::trace::v1::Span,
    limits: &ValidationLimits,
    report: &mut ValidationReport,
) {
    if truncate_string(&mut span.name, limits.max_attribute_value_bytes) {
        report.truncated_values += 1;
    }
    if let Some(status) = &mut span.status {
        if truncate_string(&mut status.message, limits.max_attribute_value_bytes) {
            report.truncated_values += 1;
        }
    }
    limit_attributes(
        &mut span.attributes,
        &mut span.dropped_attributes_count,
        limits,
        report,
    );
    if span.events.len() > limits.max_events_per_span {
        let dropped = span.events.len() - limits.max_events_per_span;
        span.events.truncate(limits.max_events_per_span);
        span.dropped_events_count = span.dropped_events_count.saturating_add(dropped as u32);
        report.dropped_events += dropped as u64;
    }
    for event in &mut span.events {
        limit_attributes(
            &mut event.attributes,
            &mut event.dropped_attributes_count,
            limits,
            report,
        );
    }
    if span.links.len() > limits.max_links_per_span {
        let dropped = span.links.len() - limits.max_links_per_span;
        span.links.truncate(limits.max_links_per_span);
        span.dropped_links_count = span.dropped_links_count.saturating_add(dropped as u32);
        report.dropped_links += dropped as u64;
    }
    for link in &mut span.links {
        limit_attributes(
            &mut link.attributes,
            &mut link.dropped_attributes_count,
            limits,
            report,
        );
    }
}

pub(crate) fn limit_attributes(
    attributes: &mut Vec<KeyValue>,
    dropped_attributes_count: &mut u32,
    limits: &ValidationLimits,
    report: &mut ValidationReport,
) {
    if attributes.len() > limits.max_attributes_per_span {
        let dropped = attributes.len() - limits.max_attributes_per_span;
        attributes.truncate(limits.max_attributes_per_span);
        *dropped_attributes_count = dropped_attributes_count.saturating_add(dropped as u32);
        report.dropped_attributes += dropped as u64;
    }
    let mut truncated_keys = Vec::new();
    for attribute in attributes.iter_mut() {
        // Keys are bounded like values: a megabyte key is as costly as a megabyte value.
        let key_cut = truncate_string(&mut attribute.key, limits.max_attribute_value_bytes);
        let value_cut = attribute
            .value
            .as_mut()
            .is_some_and(|value| truncate_value(value, limits.max_attribute_value_bytes));
        if key_cut || value_cut {
            truncated_keys.push(attribute.key.clone());
        }
    }
    if !truncated_keys.is_empty() {
        report.truncated_values += truncated_keys.len() as u64;
        attributes.retain(|attribute| attribute.key != TRUNCATED_ATTRIBUTES_KEY);
        attributes.push(KeyValue {
            key: TRUNCATED_ATTRIBUTES_KEY.to_owned(),
            value: Some(AnyValue {
                value: Some(Value::ArrayValue(ArrayValue {
                    values: truncated_keys
                        .into_iter()
                        .map(|key| AnyValue {
                            value: Some(Value::StringValue(key)),
                        })
                        .collect(),
                })),
            }),
            key_strindex: 0,
        });
    }
}

/// Cuts every string and bytes leaf of `value` to `max_bytes`; says whether anything was cut.
pub(crate) fn truncate_value(value: &mut AnyValue, max_bytes: usize) -> bool {
    match &mut value.value {
        Some(Value::StringValue(text)) => truncate_string(text, max_bytes),
        Some(Value::BytesValue(bytes)) if bytes.len() > max_bytes => {
            bytes.truncate(max_bytes);
            true
        }
        Some(Value::ArrayValue(array)) => array
            .values
            .iter_mut()
            .fold(false, |cut, value| truncate_value(value, max_bytes) | cut),
        Some(Value::KvlistValue(list)) => list.values.iter_mut().fold(false, |cut, entry| {
            entry
                .value
                .as_mut()
                .is_some_and(|value| truncate_value(value, max_bytes))
                | cut
        }),
        _ => false,
    }
}

/// Cuts `text` to at most `max_bytes` without splitting a UTF-8 character.
pub(crate) fn truncate_string(text: &mut String, max_bytes: usize) -> bool {
    if text.len() <= max_bytes {
        return false;
    }
    let mut cut = max_bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    true
}
