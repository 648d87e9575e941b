//! Weft's data model: the types every other crate speaks.
//!
//! Architecture invariant: this crate does no I/O (reading the system clock aside) and knows no
//! wire format. Conversions from
//! OTLP and Zipkin live in `weft-codec`; this crate only defines what a span (and a log record) *is*.

mod clock;
mod error_code;
mod ids;
mod log;
mod span;
mod text;

pub use clock::{now_unix_nanos, Clock, ManualClock, SystemClock};
pub use error_code::ErrorCode;
pub use ids::{IdError, SpanId, TraceId, TraceIdTimeWindow};
pub use log::{severity_floor_of, severity_name_of, LogRecord};
pub use span::{
    contains_any_word_ignoring_ascii_case, find_attribute, AttributeValue, BusinessKey, EntityRef,
    Event, InstrumentationScope, KeyValue, Link, Resource, Span, SpanKind, Status, StatusCode,
};
pub use text::parse_duration;

#[cfg(test)]
mod tests;
