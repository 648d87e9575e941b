//! Trace summary rows (one per analyzed trace, for the diagnostics pages' trace lists) and the
//! summary store's seam. A commit holds the rows analyzed since the last one and the
//! diagnostics processor's state, durable together with their position.

use crate::{Position, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSummaryRow {
    pub trace_id: [u8; 16],
    pub root_service: String,
    pub root_operation: String,
    pub start_unix_nanos: u64,
    pub duration_nanos: u64,
    pub span_count: u32,
    pub error_count: u32,
    pub service_count: u32,
    /// Spans whose parent never arrived.
    pub orphan_span_count: u32,
    pub dropped_span_count: u64,
    pub truncated: bool,
    /// Why the trace was completed: "inactive", "max_age", "evicted", "shutdown".
    pub completion: String,
    /// One bit per finding kind (the caller defines the bits).
    pub finding_kinds: u8,
    /// The same as names, comma-separated ("bottleneck,repeated_calls"), for people reading the
    /// file.
    pub findings: String,
    /// Every service in the trace, sorted, comma-separated.
    pub services: String,
}

#[derive(Debug, Clone, Default)]
pub struct SummaryQuery {
    /// Rows whose start is in [start, end).
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    /// Rows whose `services` list contains it (exact element match).
    pub service: Option<String>,
    /// 0 = any row; else rows with (finding_kinds & mask) != 0.
    pub finding_kinds_any: u8,
    pub min_duration_nanos: Option<u64>,
    /// Newest start first, at most this many.
    pub limit: usize,
}

/// Sizes for health and metrics; `bytes` counts the Parquet files (not the state file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummaryStoreStats {
    pub files: usize,
    pub rows: u64,
    pub bytes: u64,
    pub position: u64,
}

/// Tier 0 holds files of fewer rows than this; see the module documentation.
/// The diagnostics statistics recorded between two commits, encoded by the diagnostics
/// processor (the store keeps them as opaque rows): merged in commit order they give every
/// statistic up to the last commit, and rows of several processors merge the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatisticsDelta {
    pub bytes: Vec<u8>,
    /// The newest time bucket it holds (Unix nanoseconds): retention drops it once that is
    /// past the statistics' retention.
    pub newest_bucket_unix_nanos: u64,
}

/// Where the diagnostics processor commits summary rows and its state.
pub trait SummaryWriter: Send + Sync {
    /// The position of the last commit (0 for a new store).
    fn position(&self) -> Position;

    /// Commits `rows` (may be empty), a statistics delta (if anything was recorded), the
    /// processor's `state` and `position` at once.
    fn commit(
        &self,
        rows: &[TraceSummaryRow],
        statistics: Option<&StatisticsDelta>,
        state: &[u8],
        position: Position,
    ) -> Result<(), StoreError>;

    /// Time-based upkeep (retention, compaction) at `now_unix_nanos`; a store that keeps its
    /// own schedule does nothing.
    fn maintain(&self, _now_unix_nanos: u64) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Where the diagnostics API reads summary rows.
pub trait SummaryReader: Send + Sync {
    /// Rows matching the query, newest start first.
    fn search(&self, query: &SummaryQuery) -> Result<Vec<TraceSummaryRow>, StoreError>;

    /// Every statistics delta kept (within the statistics' retention), in commit order.
    fn statistics_deltas(&self) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Files and rows of a store on local disk; `None` for a remote store.
    fn local_stats(&self) -> Option<SummaryStoreStats> {
        None
    }
}

/// Both sides, as the diagnostics hub holds them.
pub trait SummaryStorage: SummaryWriter + SummaryReader {}

impl<T: SummaryWriter + SummaryReader> SummaryStorage for T {}
