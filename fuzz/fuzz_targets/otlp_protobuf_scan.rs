//! Differential: the allocation-free validating scan may vouch for a request only if prost
//! decodes it and validation would neither reject nor change anything, counting the same spans.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_codec::{decode_otlp_protobuf, scan_otlp_protobuf, validate_and_limit, Scan, ValidationLimits};

fuzz_target!(|data: &[u8]| {
    for limits in [ValidationLimits::default(), weft_fuzz::SMALL_LIMITS] {
        if let Scan::Clean { spans } = scan_otlp_protobuf(data, &limits) {
            let mut request = match decode_otlp_protobuf(data) {
                Ok(request) => request,
                Err(error) => panic!("scan vouched for bytes prost refuses: {error}"),
            };
            let report = validate_and_limit(&mut request, &limits);
            assert!(!report.modified_request(), "scan said clean, validation changed {report:?}");
            assert_eq!(report.accepted_spans, spans);
        }
    }
});
