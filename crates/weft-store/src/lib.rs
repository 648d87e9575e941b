//! The embedded store: the all-in-one implementation of the storage seam (`weft-storage`) on
//! local Parquet files — [`EmbeddedStore`] for spans (a `SpanWriter` and `SpanReader`),
//! [`LogStore`] for log records, and the metric and trace-summary stores.
//!
//! Architecture invariant: this crate knows neither HTTP nor JSON nor the pipeline. It takes
//! spans and queries in Weft's own types and answers in them; the API crate maps those to the
//! wire. Every call blocks (file I/O), so async callers use `spawn_blocking`.

mod catalog;
mod embedded;
pub mod logs;
mod manifest;
mod matching;
mod memtable;
pub mod metrics;
mod parents;
mod sampling;
mod schema;
mod segment;
pub mod summaries;

pub use embedded::{EmbeddedStore, StoreConfig, CRASH_POINTS, FAIL_POINTS, PARTITION_SECONDS};
pub use logs::{LogStore, LogStoreConfig};
pub use manifest::write_atomically;
pub use sampling::{FileCheckpointStore, FileShardStore};
// The seam's types, under the names the store's modules and callers have always used.
pub use weft_storage::{
    AttributeKeyInfo, CatalogAttribute, LogQuery, LogSearchResult, LogStoreStats, OperationInfo,
    Position, ScanReport, SearchQuery, SearchResult, ServiceCatalog, SpanReader, SpanWriter,
    StatusFilter, StoreError, StoreStats, TraceQuery, TraceSummary, DEFAULT_MAX_TRACE_SPANS,
    MAX_SEARCH_LIMIT,
};

/// Reads every span of the Parquet file at `path` as a segment (fuzzing and tooling): the
/// number of spans, or the error that names what is wrong with the file. Never panics.
#[doc(hidden)]
pub fn read_segment_file(path: &std::path::Path) -> Result<usize, StoreError> {
    segment::read_every_span(path, &weft_codec::ConversionOptions::default())
}

#[cfg(test)]
mod tests;
