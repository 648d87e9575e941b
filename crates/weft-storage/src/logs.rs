//! Log queries and answers in Weft's own terms.

use weft_model::{LogRecord, TraceId};

/// A log search: records in `[start, end)` matching every given filter, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    /// Exact `service_name`.
    pub service: Option<String>,
    /// A case-insensitive substring of the body (as `LogRecord::body_text`) or of any
    /// attribute's string value; empty matches everything.
    pub text: Option<String>,
    /// `severity_number >= this`; records of severity 0 (unspecified) are excluded when set.
    pub min_severity: Option<u8>,
    pub trace_id: Option<TraceId>,
    /// At most this many records; 0 answers nothing.
    pub limit: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogSearchResult {
    /// Newest first.
    pub records: Vec<LogRecord>,
    /// Records looked at (memtable and files), for query statistics.
    pub scanned_records: u64,
}

/// Sizes for health and metrics; `bytes` counts the live Parquet files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogStoreStats {
    pub files: usize,
    /// Records in committed files.
    pub records: u64,
    pub bytes: u64,
    pub memtable_records: usize,
    pub durable_position: u64,
    /// The oldest and newest record time, files and memtable; `None` when the store is empty.
    pub oldest_time_unix_nanos: Option<u64>,
    pub newest_time_unix_nanos: Option<u64>,
}
