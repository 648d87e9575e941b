//! Metrics computed on the span stream, sans I/O.
//!
//! - [`SpanMetrics`]: RED metrics per series (service, span name, kind, status, host,
//!   environment, region, configured extra dimensions) and time bucket — calls, errors, duration
//!   sum, min, max and a **mergeable** latency sketch (DDSketch, 1 % relative accuracy), so
//!   percentiles stay correct when buckets are merged into rollups or when a late span's bucket is
//!   merged into the stored one — plus exemplars linking buckets to traces.
//! - [`topology::Topology`]: caller → callee edges from client/server span pairs.
//!
//! Architecture invariant: this crate does no I/O and knows no wire format; the pipeline feeds
//! it spans and a store keeps what it emits. State is serializable (serde) so a processor can
//! checkpoint it with the bus position it reflects.

mod bucket;
mod span_metrics;
pub mod topology;

pub use bucket::{
    sampling_hash, Bucket, Exemplar, ExemplarReason, Exemplars, SketchDecodeError,
    MAX_ERROR_INCREASE_EXEMPLARS, MAX_KEYWORD_EXEMPLARS, MAX_SAMPLED_EXEMPLARS,
    MAX_SLOWEST_EXEMPLARS, SKETCH_RELATIVE_ACCURACY,
};
pub use span_metrics::{
    matches_keywords, roll_up, EmittedBucket, ExemplarPolicy, SeriesId, SeriesKey, SpanMetrics,
    SpanMetricsConfig, SpanMetricsSnapshot, OVERFLOW_SPAN_NAME,
};

#[cfg(test)]
mod tests;
