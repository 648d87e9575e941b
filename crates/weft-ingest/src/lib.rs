//! Receivers: the network edge where spans enter Weft.
//!
//! Every receiver hands decoded requests to the one [`Ingestor`], which admits or sheds the
//! request, validates and limits it in place, and appends it to the bus; the client is answered
//! only after the bus has it durably. Receivers differ only in transport and wire format.
//!
//! Architecture invariant: only this crate and `weft-api` know HTTP and gRPC. The bus is a
//! trait (`weft_bus::BusWriter`), so the same receivers feed the WAL (all-in-one) or Kafka (collector role).

mod admission;
mod compression;
mod error;
mod grpc;
mod http_receivers;
mod ingestor;

pub use admission::{Admission, AdmissionPermit};
pub use error::{grpc_code, http_status, IngestError};
pub use grpc::OtlpGrpcReceiver;
pub use http_receivers::{HttpReceiver, OtlpHttpReceiver, ZipkinReceiver};
pub use ingestor::{ExportOutcome, IngestConfig, Ingestor, SpanStartBounds};

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

/// Resolves when the server is shutting down; receivers then stop accepting and drain.
pub type ShutdownSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A network receiver, already bound to its address.
pub trait Receiver: Send {
    /// The name used in metrics (`receiver` label) and logs.
    fn name(&self) -> &'static str;

    fn local_addr(&self) -> SocketAddr;

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    fn run(
        self: Box<Self>,
        shutdown: ShutdownSignal,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;
}

#[cfg(test)]
mod tests;
