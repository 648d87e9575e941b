//! Zipkin v2 JSON bytes through decode and conversion to OTLP: the spans the decoder returns
//! have valid IDs, so validating their OTLP form must reject none of them, and converting back
//! must give every span again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_codec::{decode_zipkin_json, otlp_from_spans, spans_from_otlp, validate_and_limit};

fuzz_target!(|data: &[u8]| {
    let Ok(converted) = decode_zipkin_json(data) else {
        return;
    };
    assert_eq!(
        converted.invalid_spans > 0,
        converted.first_invalid_reason.is_some(),
        "invalid_spans and first_invalid_reason disagree"
    );
    let mut request = otlp_from_spans(&converted.spans);
    let report = validate_and_limit(&mut request, &weft_fuzz::SMALL_LIMITS);
    assert_eq!(
        report.rejected_spans, 0,
        "validation rejected decoded zipkin spans: {}",
        report.rejection_message
    );
    assert_eq!(report.accepted_spans, converted.spans.len() as u64);
    let reconverted = spans_from_otlp(request.clone(), &weft_fuzz::conversion_options());
    assert_eq!(reconverted.invalid_spans, 0);
    assert_eq!(reconverted.spans.len(), converted.spans.len());
});
