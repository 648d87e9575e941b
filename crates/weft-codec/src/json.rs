use crate::{CodecError, ExportTraceServiceRequest};

/// Decodes an OTLP/JSON `ExportTraceServiceRequest` as the OTLP spec defines it: lowerCamelCase
/// field names, hex trace and span IDs, enums as integers, 64-bit integers as strings or numbers,
/// unknown fields ignored.
pub fn decode_otlp_json(body: &[u8]) -> Result<ExportTraceServiceRequest, CodecError> {
    serde_json::from_slice(body).map_err(CodecError::InvalidOtlpJson)
}

/// Encodes any OTLP message (a request, a response, a trace) as OTLP/JSON.
pub fn encode_otlp_json<T: serde::Serialize>(message: &T) -> Vec<u8> {
    // Serializing generated OTLP types into a Vec cannot fail: no maps with non-string keys,
    // no I/O.
    serde_json::to_vec(message).expect("otlp messages always serialize to json")
}
