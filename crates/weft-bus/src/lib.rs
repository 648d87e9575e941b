//! The bus seam between the collectors and the processors: the [`BusWriter`] receivers append
//! accepted requests to, the [`BusReader`] a pipeline consumes, how a record says what it holds,
//! and what a position is. The WAL implements both sides in the all-in-one shape (`weft-wal`);
//! a Kafka producer and consumer implement them in the distributed shape.
//!
//! **Partitions.** A bus is split into partitions (the WAL has one; a Kafka topic many), and a
//! position is an offset *within one partition*. A [`BusReader`] reads one partition and one
//! pipeline consumes one reader, so the runner runs one pipeline instance per partition (as
//! Tempo's partition writers do) and every processor's position, checkpoint and "caught up"
//! are per partition. A processor never compares positions of two partitions.
//!
//! Architecture invariant: this crate does no I/O and knows no wire format beyond the one-prefix
//! framing of log records; implementations live with their transport.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

#[cfg(test)]
mod tests;

/// An offset within one bus partition: the WAL's LSN, a Kafka offset. 0 means "nothing yet";
/// the first record is at 1 or later, and positions only grow.
pub type Position = u64;

/// One partition of a bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PartitionId(pub u32);

impl std::fmt::Display for PartitionId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// One record from the bus: a validated OTLP protobuf `ExportTraceServiceRequest`, or an
/// `ExportLogsServiceRequest` behind [`LOGS_BUS_RECORD_PREFIX`].
#[derive(Debug, Clone)]
pub struct BusRecord {
    pub position: Position,
    pub payload: Vec<u8>,
}

/// Why the bus did not take a record.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BusAppendError {
    /// Full or behind: the client should retry later.
    #[error("{0}")]
    Backpressure(String),
    /// Broken or closed.
    #[error("{0}")]
    Unavailable(String),
}

/// A bus reader's failure: the pipeline stops (and its restart reads again from its positions).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct BusError(pub String);

/// Where accepted requests go: the WAL in all-in-one mode, Kafka in the collector role. The
/// future resolves once the record is durable by the bus's own definition, with its position.
pub trait BusWriter: Send + Sync + 'static {
    fn append(
        &self,
        payload: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Result<Position, BusAppendError>> + Send>>;
}

/// How much the bus holds, for health answers and the queue-depth gauge.
pub trait BusBacklog: Send + Sync + 'static {
    /// The highest position written (the WAL's one partition; a Kafka bus would sum its
    /// partitions' high watermarks).
    fn written_position(&self) -> Position;

    /// Bytes the bus keeps on this machine (0 for a remote bus).
    fn local_bytes(&self) -> u64;

    /// Segment files the bus keeps on this machine (0 for a remote bus).
    fn local_segments(&self) -> u64;
}

/// What a pipeline reads: one partition of the bus. Reads block the pipeline thread, never an
/// async runtime.
pub trait BusReader: Send {
    /// The partition this reader reads.
    fn partition(&self) -> PartitionId;

    /// Positions the reader so the next read starts with the first record after `position`.
    fn seek_after(&mut self, position: Position) -> Result<(), BusError>;

    /// Up to `max_records` records, at most about `max_bytes` of payload (fewer when caught up;
    /// none when there is nothing new).
    fn read(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<BusRecord>, BusError>;

    /// The highest position written to the partition.
    fn head(&self) -> Position;

    /// Blocks until a record after `after` exists or `timeout` passes.
    fn wait(&mut self, after: Position, timeout: Duration);

    /// Every processor has made everything up to `position` durable: the bus may forget it.
    fn release_through(&mut self, position: Position) -> Result<(), BusError>;
}

/// Prefix of a bus record holding an OTLP `ExportLogsServiceRequest`. Its first byte, `W`
/// (0x57), would be field 10 with wire type 7 in protobuf, which does not exist: no trace
/// request (the bus's other record, stored unprefixed) can start with it, so records written
/// before logs existed read back unchanged.
pub const LOGS_BUS_RECORD_PREFIX: &[u8; 8] = b"WEFTLOG1";

/// What a bus record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusRecordBody<'a> {
    /// An OTLP `ExportTraceServiceRequest` in protobuf.
    Traces(&'a [u8]),
    /// An OTLP `ExportLogsServiceRequest` in protobuf.
    Logs(&'a [u8]),
}

/// Tells a bus record's kind from its first bytes.
pub fn classify_bus_record(payload: &[u8]) -> BusRecordBody<'_> {
    match payload.strip_prefix(LOGS_BUS_RECORD_PREFIX.as_slice()) {
        Some(logs) => BusRecordBody::Logs(logs),
        None => BusRecordBody::Traces(payload),
    }
}

/// A logs request framed for the bus.
pub fn logs_bus_record(request_protobuf: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(LOGS_BUS_RECORD_PREFIX.len() + request_protobuf.len());
    record.extend_from_slice(LOGS_BUS_RECORD_PREFIX);
    record.extend_from_slice(request_protobuf);
    record
}
