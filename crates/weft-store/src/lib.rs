//! Span storage: the [`SpanStore`] seam the pipeline writes through and the query layer reads
//! through, and [`EmbeddedStore`], its all-in-one implementation on Parquet segments.
//!
//! Architecture invariant: this crate knows neither HTTP nor JSON nor the pipeline. It takes
//! spans and queries in Weft's own types and answers in them; the server crate maps those to the
//! wire. Every call blocks (file I/O), so async callers use `spawn_blocking`.

mod catalog;
mod embedded;
pub mod logs;
mod manifest;
mod matching;
mod memtable;
pub mod metrics;
mod parents;
mod query;
mod schema;
mod segment;
pub mod summaries;

pub use catalog::{AttributeKeyInfo, CatalogAttribute, OperationInfo, ServiceCatalog};
pub use embedded::{
    EmbeddedStore, ScanReport, StoreConfig, StoreStats, CRASH_POINTS, FAIL_POINTS,
    PARTITION_SECONDS,
};
pub use logs::{LogQuery, LogSearchResult, LogStore, LogStoreConfig, LogStoreStats};
pub use manifest::write_atomically;
pub use query::{
    SearchQuery, SearchResult, StatusFilter, TraceQuery, TraceSummary, DEFAULT_MAX_TRACE_SPANS,
    MAX_SEARCH_LIMIT,
};

use weft_model::{Span, SpanKind, TraceId};

/// The bus position of the last batch whose spans a store has made durable.
pub type Position = u64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parquet error in {path}: {source}")]
    Parquet {
        path: std::path::PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("corrupt store: {0}")]
    Corrupt(String),
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("store is closed")]
    Closed,
}

impl StoreError {
    pub(crate) fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parquet(
        path: impl Into<std::path::PathBuf>,
        source: parquet::errors::ParquetError,
    ) -> Self {
        StoreError::Parquet {
            path: path.into(),
            source,
        }
    }
}

/// What the pipeline and the query layer need from a span store. The embedded store implements
/// it on local Parquet files; a ClickHouse store can implement it without either side changing.
pub trait SpanStore: Send + Sync {
    /// Takes the spans of one bus record. They are queryable when this returns; they are
    /// durable once [`SpanStore::durable_position`] reaches `position`. Blocks (briefly) when
    /// the store is too far behind on making earlier writes durable, which is how the pipeline
    /// feels backpressure.
    fn write(&self, position: Position, spans: std::sync::Arc<Vec<Span>>)
        -> Result<(), StoreError>;

    /// The highest position all of whose spans survive a crash.
    fn durable_position(&self) -> Position;

    /// Time-based upkeep (flushing an old memtable); called about once a second.
    fn tick(&self) -> Result<(), StoreError>;

    /// Makes everything written so far durable, waiting for it.
    fn flush(&self) -> Result<(), StoreError>;

    /// Every span of one trace, in start-time order, or an empty vector when it is unknown. At
    /// most `query.max_spans + 1` spans: more than `max_spans` means the trace was cut.
    fn trace(&self, query: &TraceQuery) -> Result<Vec<Span>, StoreError>;

    /// One trace's summary (root, time range, counts) from its spans' heads, without decoding
    /// their attributes; `None` when the trace is unknown.
    fn trace_summary(&self, trace_id: TraceId) -> Result<Option<TraceSummary>, StoreError>;

    /// Traces matching a query, newest first.
    fn search(&self, query: &SearchQuery) -> Result<SearchResult, StoreError>;

    /// Every service seen within the retention window, sorted.
    fn services(&self) -> Result<Vec<String>, StoreError>;

    /// Operations of one service (of one kind, if given), sorted by name.
    fn operations(
        &self,
        service: &str,
        kind: Option<SpanKind>,
    ) -> Result<Vec<OperationInfo>, StoreError>;

    /// Attribute keys seen on spans and resources (optionally of one service), for autocompletion.
    fn attribute_keys(&self, service: Option<&str>) -> Result<Vec<AttributeKeyInfo>, StoreError>;

    /// Some values seen for an attribute key, for autocompletion.
    fn attribute_values(&self, key: &str, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// The catalog (or one service's): operations and attribute keys with first and last seen,
    /// and each key's `top_values` most frequent values.
    fn catalog(
        &self,
        service: Option<&str>,
        top_values: usize,
    ) -> Result<Vec<ServiceCatalog>, StoreError>;

    /// Sizes and counters for health and metrics.
    fn stats(&self) -> StoreStats;

    /// Drops whatever is older than the retention age at `now_unix_nanos`; returns how many
    /// spans went.
    fn apply_retention(&self, now_unix_nanos: u64) -> Result<u64, StoreError>;
}

/// Reads every span of the Parquet file at `path` as a segment (fuzzing and tooling): the
/// number of spans, or the error that names what is wrong with the file. Never panics.
#[doc(hidden)]
pub fn read_segment_file(path: &std::path::Path) -> Result<usize, StoreError> {
    segment::read_every_span(path, &weft_codec::ConversionOptions::default())
}

#[cfg(test)]
mod tests;
