//! OTLP/JSON bytes through decode, validation, conversion and back (see `check_otlp_pipeline`);
//! a request that decoded must also re-encode to JSON that decodes to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_codec::{decode_otlp_json, encode_otlp_json};

fuzz_target!(|data: &[u8]| {
    let Ok(request) = decode_otlp_json(data) else {
        return;
    };
    let encoded = encode_otlp_json(&request);
    let decoded = decode_otlp_json(&encoded).unwrap_or_else(|error| {
        panic!(
            "a decoded request re-encoded to json that does not decode: {error}\n{}",
            String::from_utf8_lossy(&encoded)
        )
    });
    assert_eq!(
        decoded, request,
        "otlp json encode -> decode changed the request"
    );
    weft_fuzz::check_otlp_pipeline(request);
});
