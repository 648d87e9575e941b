//! OTLP/protobuf bytes through decode, validation, conversion and back (see `check_otlp_pipeline`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = weft_codec::decode_otlp_protobuf(data) {
        weft_fuzz::check_otlp_pipeline(request);
    }
});
