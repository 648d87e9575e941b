//! The storage seam: what the processor role writes and the query role reads, as traits, with
//! the queries and answers in Weft's own types. The embedded store (`weft-store`) implements
//! them on local Parquet files; a ClickHouse store implements them on tables, and neither the
//! processors, the tier router nor the API changes.
//!
//! The span traits follow Jaeger v2's tracestore split: a [`SpanWriter`] the pipeline feeds
//! (positions make it exactly-once), a [`SpanReader`] queries go through. Log records have the
//! same pair. What only a store on local disk can tell (segments, memtables, bytes) is an
//! optional capability: [`SpanReader::local_stats`], `None` elsewhere.
//!
//! Architecture invariant: this crate does no I/O and knows no file or wire format; every call
//! of an implementation may block (file or network I/O), so async callers use
//! `spawn_blocking`.

mod catalog;
mod logs;
pub mod metrics;
mod query;
pub mod sampling;
pub mod summaries;

use std::sync::Arc;

pub use catalog::{AttributeKeyInfo, CatalogAttribute, OperationInfo, ServiceCatalog};
pub use logs::{LogQuery, LogSearchResult, LogStoreStats};
pub use query::{
    attribute_value_matches, summarize, SearchQuery, SearchResult, ServiceSpanCount, SpanHead,
    StatusFilter, TraceIdRange, TraceQuery, TraceSummary, DEFAULT_MAX_TRACE_SPANS,
    MAX_SEARCH_LIMIT,
};
use weft_model::{ErrorCode, LogRecord, Span, SpanKind, TraceId};

/// The commit mark of a write: the bus position of the batch for a store the pipeline feeds;
/// for the cold tier, the cold writer's own checkpoint (see `weft_processors::cold_writer`).
/// A store keeps the highest mark it has made durable, atomically with the data.
pub type Position = u64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file (or answer) that does not decode: Parquet, JSON, a checkpoint.
    #[error("cannot decode {path}: {source}")]
    Encoding {
        path: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("corrupt store: {0}")]
    Corrupt(String),
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("store is closed")]
    Closed,
    /// A store on another server failed the request or could not be reached.
    #[error("{store} unavailable: {message}")]
    Unavailable {
        store: &'static str,
        message: String,
    },
}

impl StoreError {
    pub fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn encoding(
        path: impl Into<std::path::PathBuf>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Encoding {
            path: path.into(),
            source: Box::new(source),
        }
    }

    /// What the API answers for this error: a bad query is the caller's, a closed store is
    /// temporary, the rest is ours.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            StoreError::InvalidQuery(_) => ErrorCode::InvalidArgument,
            StoreError::Closed | StoreError::Unavailable { .. } => ErrorCode::Unavailable,
            StoreError::Io { .. } | StoreError::Encoding { .. } | StoreError::Corrupt(_) => {
                ErrorCode::Internal
            }
        }
    }
}

/// Where the pipeline writes spans.
pub trait SpanWriter: Send + Sync {
    /// Takes the spans of one write. They are queryable when this returns; they are durable
    /// once [`SpanWriter::durable_position`] reaches `position`. Blocks (briefly) when the
    /// store is too far behind on making earlier writes durable, which is how the pipeline
    /// feels backpressure.
    fn write(&self, position: Position, spans: Arc<Vec<Span>>) -> Result<(), StoreError>;

    /// The highest position all of whose spans survive a crash.
    fn durable_position(&self) -> Position;

    /// Time-based upkeep (flushing an old buffer); called about once a second.
    fn tick(&self) -> Result<(), StoreError>;

    /// Makes everything written so far durable, waiting for it.
    fn flush(&self) -> Result<(), StoreError>;
}

/// Sizes and counters of a span store on local disk, for `/health` and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub partitions: u64,
    pub segments: u64,
    pub segment_rows: u64,
    pub segment_bytes: u64,
    pub memtable_spans: u64,
    pub frozen_memtables: u64,
    pub flushed_position: u64,
    pub flushes: u64,
    pub compactions: u64,
    pub partitions_dropped: u64,
    pub maintenance_errors: u64,
}

/// What one [`SpanReader::scan_spans`] looked at and kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub scanned_spans: u64,
    pub selected_spans: u64,
}

/// Where queries read spans.
pub trait SpanReader: Send + Sync {
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

    /// Every span starting in `[start, end)` whose trace `wanted` picks (asked once per trace
    /// and segment with the trace ID and its span count), handed to `sink` in chunks: the cold
    /// writer's pass over a window. `wanted` may read files; an implementation asks it without
    /// holding locks writers wait for.
    fn scan_spans(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&TraceId, u64) -> bool,
        sink: &mut dyn FnMut(Vec<Span>) -> Result<(), StoreError>,
    ) -> Result<ScanReport, StoreError>;

    /// The earliest start among the spans held (a lower bound is enough), or `None` when the
    /// store is empty: where the cold writer's first pass starts.
    fn oldest_span_start_unix_nanos(&self) -> Result<Option<u64>, StoreError>;

    /// Sizes and counters of a store on local disk; `None` for a remote store.
    fn local_stats(&self) -> Option<StoreStats> {
        None
    }

    /// What a store shared by a cluster holds and how far its writers got; `None` for a store
    /// of one process (its `local_stats` tell).
    fn cluster_stats(&self) -> Result<Option<ClusterStats>, StoreError> {
        Ok(None)
    }
}

/// The error for a time range that starts after it ends, the same from every store.
pub fn check_time_range(start_unix_nanos: u64, end_unix_nanos: u64) -> Result<(), StoreError> {
    if start_unix_nanos > end_unix_nanos {
        return Err(StoreError::InvalidQuery(format!(
            "the range starts at {start_unix_nanos} after it ends at {end_unix_nanos}"
        )));
    }
    Ok(())
}

/// A cluster's store: its tables per server, and each bus partition's writer checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterStats {
    pub tables: Vec<ClusterTableStats>,
    pub writers: Vec<WriterCheckpoint>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterTableStats {
    /// Which server (shard) holds it, as configured.
    pub shard: String,
    pub table: String,
    pub partitions: u64,
    pub parts: u64,
    pub rows: u64,
    pub bytes_on_disk: u64,
}

/// How far the writer of one bus partition has made records durable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterCheckpoint {
    pub topic: String,
    pub partition: u32,
    pub position: Position,
    pub written_unix_nanos: u64,
}

/// Where the pipeline and the cold writer write log records.
pub trait LogWriter: Send + Sync {
    /// Adds the records of one position. A position at or below the durable one, or at or
    /// below the newest written, was taken before (a replay, a redone cold part) and is
    /// ignored: `Ok(false)`. A position without records still counts: the next flush commits
    /// it.
    fn write(&self, position: Position, records: Arc<Vec<LogRecord>>) -> Result<bool, StoreError>;

    /// Records written and not committed yet.
    fn pending_records(&self) -> usize;

    /// Commits what was written, atomically with its highest position.
    fn flush(&self) -> Result<(), StoreError>;

    /// The position of the last commit (0 for a new store).
    fn durable_position(&self) -> Position;
}

/// Where queries and the cold writer read log records.
pub trait LogReader: Send + Sync {
    /// Every record of `trace_id`, oldest first; `time_hint`, an inclusive `(start, end)` of
    /// record times, limits what is read when given.
    fn logs_of_trace(
        &self,
        trace_id: &TraceId,
        time_hint: Option<(u64, u64)>,
    ) -> Result<Vec<LogRecord>, StoreError>;

    /// Records with time in `[start, end)` for which `wanted` says true, oldest first.
    fn scan(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&LogRecord) -> bool,
    ) -> Result<Vec<LogRecord>, StoreError>;

    /// Records matching a query, newest first.
    fn search(&self, query: &LogQuery) -> Result<LogSearchResult, StoreError>;

    /// Sizes of a store on local disk; `None` for a remote store.
    fn local_stats(&self) -> Option<LogStoreStats> {
        None
    }
}

/// A tier a node does not have (a query node's cold tier before the distributed shape keeps
/// one, its logs): it holds nothing, so every read answers empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyTier;

impl SpanReader for EmptyTier {
    fn trace(&self, _query: &TraceQuery) -> Result<Vec<Span>, StoreError> {
        Ok(Vec::new())
    }

    fn trace_summary(&self, _trace_id: TraceId) -> Result<Option<TraceSummary>, StoreError> {
        Ok(None)
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchResult, StoreError> {
        query.validate()?;
        Ok(SearchResult::default())
    }

    fn services(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    fn operations(
        &self,
        _service: &str,
        _kind: Option<SpanKind>,
    ) -> Result<Vec<OperationInfo>, StoreError> {
        Ok(Vec::new())
    }

    fn attribute_keys(&self, _service: Option<&str>) -> Result<Vec<AttributeKeyInfo>, StoreError> {
        Ok(Vec::new())
    }

    fn attribute_values(&self, _key: &str, _prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    fn catalog(
        &self,
        _service: Option<&str>,
        _top_values: usize,
    ) -> Result<Vec<ServiceCatalog>, StoreError> {
        Ok(Vec::new())
    }

    fn scan_spans(
        &self,
        _start_unix_nanos: u64,
        _end_unix_nanos: u64,
        _wanted: &mut dyn FnMut(&TraceId, u64) -> bool,
        _sink: &mut dyn FnMut(Vec<Span>) -> Result<(), StoreError>,
    ) -> Result<ScanReport, StoreError> {
        Ok(ScanReport::default())
    }

    fn oldest_span_start_unix_nanos(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
}

impl LogReader for EmptyTier {
    fn logs_of_trace(
        &self,
        _trace_id: &TraceId,
        _time_hint: Option<(u64, u64)>,
    ) -> Result<Vec<LogRecord>, StoreError> {
        Ok(Vec::new())
    }

    fn scan(
        &self,
        _start_unix_nanos: u64,
        _end_unix_nanos: u64,
        _wanted: &mut dyn FnMut(&LogRecord) -> bool,
    ) -> Result<Vec<LogRecord>, StoreError> {
        Ok(Vec::new())
    }

    fn search(&self, _query: &LogQuery) -> Result<LogSearchResult, StoreError> {
        Ok(LogSearchResult::default())
    }
}

#[cfg(test)]
mod tests;
