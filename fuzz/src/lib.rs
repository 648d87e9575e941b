//! Checks shared by Weft's fuzz targets (see `fuzz_targets/` and README.md).

use weft_codec::{
    otlp_from_spans, spans_from_otlp, validate_and_limit, ConversionOptions,
    ExportTraceServiceRequest, PlausibleStarts, ValidationLimits,
};

/// Limits far below the defaults, so short fuzz inputs reach every truncation and drop path.
pub const SMALL_LIMITS: ValidationLimits = ValidationLimits {
    max_attribute_value_bytes: 8,
    max_attributes_per_span: 3,
    max_events_per_span: 2,
    max_links_per_span: 2,
    // Random start times land on both sides, so the move to the arrival time is fuzzed too.
    plausible_starts: Some(PlausibleStarts {
        earliest_unix_nanos: 1 << 60,
        latest_unix_nanos: 1 << 62,
        arrival_unix_nanos: 1 << 61,
    }),
};

pub fn conversion_options() -> ConversionOptions {
    ConversionOptions {
        business_key_names: vec!["order.id".into()],
    }
}

/// What the receivers and the pipeline do with a decoded OTLP request, with the invariants that
/// must hold between the steps:
/// - after `validate_and_limit`, every remaining span converts (`invalid_spans == 0`), and
///   exactly the accepted spans remain;
/// - `spans_from_otlp(otlp_from_spans(spans))` gives the same spans back (compared by their
///   `Debug` text, so a NaN attribute compares equal to itself).
pub fn check_otlp_pipeline(mut request: ExportTraceServiceRequest) {
    let report = validate_and_limit(&mut request, &SMALL_LIMITS);
    let options = conversion_options();
    let converted = spans_from_otlp(request.clone(), &options);
    assert_eq!(
        converted.invalid_spans, 0,
        "a validated request still holds an unconvertible span: {:?}",
        converted.first_invalid_reason
    );
    assert_eq!(converted.spans.len() as u64, report.accepted_spans);

    let round_trip = otlp_from_spans(&converted.spans);
    let reconverted = spans_from_otlp(round_trip.clone(), &options);
    assert_eq!(reconverted.invalid_spans, 0);
    assert_eq!(reconverted.spans.len(), converted.spans.len());
    assert_eq!(
        format!("{:?}", reconverted.spans),
        format!("{:?}", converted.spans),
        "otlp_from_spans -> spans_from_otlp changed the spans"
    );
}
