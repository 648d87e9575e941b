//! Wire formats at Weft's edge.
//!
//! Receivers call [`decode_otlp_protobuf`], [`decode_otlp_json`] or [`decode_zipkin_json`], then
//! [`validate_and_limit`] on the OTLP request in place. The bus (WAL or Kafka) carries the
//! validated OTLP protobuf; the pipeline converts it into `weft_model::Span` once, with
//! [`spans_from_otlp`]. [`otlp_from_spans`] turns spans back into OTLP for query answers.
//! Logs take the same road ([`decode_otlp_logs_protobuf`], [`validate_and_limit_logs`],
//! [`logs_from_otlp`]); on the bus a logs record carries `weft_bus::LOGS_BUS_RECORD_PREFIX`.
//!
//! Architecture invariant: no I/O, no HTTP or gRPC here. Bytes in, values out.

mod error;
mod json;
mod limits;
mod logs;
mod otlp;
mod parts;
mod scan;
mod zipkin;

pub use error::CodecError;
pub use json::{decode_otlp_json, encode_otlp_json};
pub use limits::{
    validate_and_limit, PlausibleStarts, ValidationLimits, ValidationReport,
    ORIGINAL_START_TIME_KEY, TRUNCATED_ATTRIBUTES_KEY,
};
pub use logs::{
    decode_otlp_logs_json, decode_otlp_logs_protobuf, log_record_count, log_record_to_otlp,
    logs_from_otlp, otlp_from_logs, validate_and_limit_logs, ConvertedLogs,
};
pub use otlp::{
    decode_otlp_protobuf, otlp_from_spans, spans_from_otlp, ConversionOptions, ConvertedSpans,
};
pub use parts::{
    attribute_value_type, decode_any_value, decode_resource, decode_scope, decode_span_detail,
    encode_any_value, encode_attribute_map, encode_resource, encode_scope, encode_span_detail,
    fill_derived_fields,
};
pub use scan::{scan_otlp_protobuf, Scan};
pub use zipkin::decode_zipkin_json;

/// Re-exported so callers name one version of the OTLP types.
pub use opentelemetry_proto::tonic as otlp_proto;

pub type ExportLogsServiceRequest =
    opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

pub type ExportTraceServiceRequest =
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

#[cfg(test)]
mod tests;
