/// Why a payload could not be decoded at all. Per-span problems are not errors: they are counted
/// in a [`crate::ValidationReport`] and the rest of the batch goes on.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("invalid otlp protobuf: {0}")]
    InvalidProtobuf(#[from] prost::DecodeError),
    #[error("invalid otlp json: {0}")]
    InvalidOtlpJson(serde_json::Error),
    #[error("invalid stored span part: {0}")]
    InvalidPart(String),
    #[error("invalid zipkin v2 json: {0}")]
    InvalidZipkinJson(serde_json::Error),
}
