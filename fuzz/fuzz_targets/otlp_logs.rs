//! OTLP/protobuf logs requests through decode, validation, conversion and back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut request) = weft_codec::decode_otlp_logs_protobuf(data) {
        let report = weft_codec::validate_and_limit_logs(&mut request, &weft_fuzz::SMALL_LIMITS);
        let converted = weft_codec::logs_from_otlp(request);
        // Validation let through only records conversion takes.
        assert_eq!(converted.invalid_records, 0);
        assert_eq!(converted.records.len() as u64, report.accepted_spans);
        let again = weft_codec::logs_from_otlp(weft_codec::otlp_from_logs(&converted.records));
        assert_eq!(again.records.len(), converted.records.len());
        assert_eq!(
            format!("{:?}", again.records),
            format!("{:?}", converted.records)
        );
    }
});
