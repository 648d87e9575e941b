/// The one error-code vocabulary of Weft. Server crates map it to HTTP and gRPC statuses, so a
/// given failure reads the same on every surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request itself is malformed (bad protobuf, bad JSON, bad ID); retrying will not help.
    InvalidArgument,
    /// Weft is shedding load (queue full, memory budget spent); the client should retry later.
    ResourceExhausted,
    /// The request body is larger than the configured limit.
    PayloadTooLarge,
    /// The client did not send its request in time.
    RequestTimeout,
    /// The content type or encoding is not one Weft accepts.
    UnsupportedMediaType,
    /// The thing asked for does not exist.
    NotFound,
    /// Weft is shutting down or not ready yet.
    Unavailable,
    /// A bug or an I/O failure on Weft's side.
    Internal,
    /// The feature is turned off on this node (for example `--no-stream-metrics`).
    Unimplemented,
}
