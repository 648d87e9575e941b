//! `weft gen`: realistic synthetic traces over OTLP.
//!
//! [`TraceGenerator`] builds traces of a small shop: a web frontend, a gateway, order, payment,
//! inventory, user and notification services, MySQL, PostgreSQL, Redis and Kafka, with the
//! semantic-convention attributes real SDKs emit, full SQL text, exception events with stack
//! traces on failures, slow database calls, N+1 query loops, business IDs, and attribute values
//! of every OTLP type, and the log records its services write ([`logs_for_request`]). [`run`] sends them at a target rate or as fast as the server takes them.

mod generator;
mod logs;
mod raw_grpc;
mod sender;

pub use generator::{GeneratedBatch, Scenario, Scenarios, TraceGenerator, SERVICE_EDGES};
pub use logs::logs_for_request;
pub use raw_grpc::RawExportClient;
pub use sender::{run, GenError, GenOptions, GenReport, Protocol};

#[cfg(test)]
mod tests;
