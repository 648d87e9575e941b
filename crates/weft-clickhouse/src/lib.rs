//! Weft's ClickHouse store (the distributed shape's storage; issue 17, in progress): the span
//! table and its version-aware DDL ([`schema`]), spans as rows ([`rows`]), and the store that
//! migrates, inserts and reads traces ([`ClickHouseSpanStore`]). The storage traits
//! (`SpanWriter`, `SpanReader`) are implemented over it as the distributed roles arrive.

pub mod rows;
pub mod schema;
mod store;

pub use rows::{spans_from_rows, SpanRow};
pub use schema::{Schema, SchemaProfile, ServerVersion, SCHEMA_VERSION};
pub use store::{ClickHouseConfig, ClickHouseSpanStore};

#[cfg(test)]
mod tests;
