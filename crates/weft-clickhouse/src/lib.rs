//! Weft's ClickHouse store, the distributed shape's storage: the tables and their
//! version-aware DDL ([`schema`]), the reads as SQL ([`queries`]), spans as rows ([`rows`]),
//! the shards behind the storage seam's `SpanReader` ([`ClickHouseStore`]) and the span writer
//! of one bus partition ([`ClickHousePartitionWriter`]); log records the same way ([`logs`]:
//! the store is also a `LogReader`, [`ClickHouseLogWriter`] one partition's `LogWriter`).
//!
//! Architecture invariant: SQL is written only in `schema.rs` and `queries.rs`, sans I/O, so a
//! test runs every statement the store can issue on both a modern and the oldest server.

pub mod logs;
pub mod queries;
pub mod rows;
pub mod schema;
mod store;
mod writer;

pub use logs::ClickHouseLogWriter;
pub use rows::{spans_from_rows, LogRow, SpanRow};
pub use schema::{Schema, SchemaProfile, ServerVersion, SCHEMA_VERSION};
pub use store::{shard_of, ClickHouseConfig, ClickHouseShard, ClickHouseStore};
pub use writer::{ClickHousePartitionWriter, PartitionWriterCounters, PartitionWriterSettings};

#[cfg(test)]
mod tests;
