//! Span-metric and topology-edge buckets in Weft's own terms, and the metric store's seam.
//! A store holds *deltas*: a commit adds the buckets closed since the last commit, and a read
//! merges every row of one key and bucket, so a coarse bucket is the merge of its fine ones.

use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use weft_metrics::topology::EdgeKey;
use weft_metrics::{roll_up, Bucket, SeriesKey};

use crate::{Position, StoreError};

/// A stored resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Resolution {
    ThirtySeconds,
    TenMinutes,
    OneHour,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [
        Resolution::ThirtySeconds,
        Resolution::TenMinutes,
        Resolution::OneHour,
    ];

    pub fn seconds(self) -> u64 {
        match self {
            Resolution::ThirtySeconds => 30,
            Resolution::TenMinutes => 600,
            Resolution::OneHour => 3_600,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Resolution::ThirtySeconds => "30s",
            Resolution::TenMinutes => "10m",
            Resolution::OneHour => "1h",
        }
    }

    pub fn parse(text: &str) -> Option<Resolution> {
        Resolution::ALL
            .into_iter()
            .find(|resolution| resolution.name() == text)
    }
}

/// What a metric row is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricKey {
    Span(SeriesKey),
    Edge(EdgeKey),
}

/// One key in one bucket.
#[derive(Debug, Clone)]
pub struct MetricRow {
    /// Bucket start, Unix seconds.
    pub start_secs: u64,
    pub key: MetricKey,
    pub bucket: Bucket,
}

/// Merges rows of the same key and bucket start at `resolution` (rows finer than it roll up).
pub fn merge_rows(
    rows: impl IntoIterator<Item = MetricRow>,
    resolution_secs: u64,
) -> Vec<MetricRow> {
    roll_up(
        rows.into_iter()
            .map(|row| (row.start_secs, row.key, row.bucket)),
        resolution_secs,
    )
    .into_iter()
    .map(|((start_secs, key), bucket)| MetricRow {
        start_secs,
        key,
        bucket,
    })
    .collect()
}

/// What a processor commits: the bucket rows closed since its last commit (at the finest
/// resolution, late deltas included), its state, and the bus position they reflect.
#[derive(Debug, Default)]
pub struct MetricCheckpoint {
    pub position: u64,
    pub rows: Vec<MetricRow>,
    pub state: Vec<u8>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricStoreStats {
    pub files: u64,
    pub bytes: u64,
    pub rows: u64,
    pub commits: u64,
    pub compactions: u64,
    pub windows_dropped: u64,
    /// Failed compaction or retention runs (each retried at the next run).
    pub maintenance_errors: u64,
    pub position: u64,
}

/// The rows a read found and the commit generation they reflect.
#[derive(Debug, Default)]
pub struct MetricRead {
    pub rows: Vec<MetricRow>,
    pub generation: u64,
}

/// Where the metrics processor commits its buckets and state. The commit is atomic: rows, state
/// and position are durable together or not at all.
pub trait MetricWriter: Send + Sync {
    /// The position of the last commit (0 for a new store).
    fn position(&self) -> Position;

    /// Counts commits: a reader merging the store with the processor's memory uses it to count
    /// every row once.
    fn generation(&self) -> u64;

    /// Commits the checkpoint's rows at every resolution, its state and its position; returns
    /// the new generation.
    fn commit(&self, checkpoint: MetricCheckpoint) -> Result<u64, StoreError>;

    /// Stops background work; later commits fail with [`StoreError::Closed`].
    fn close(&self);
}

/// Where metric queries read.
pub trait MetricReader: Send + Sync {
    /// Every stored row at `resolution` whose bucket starts in `range_secs` and whose key `keep`
    /// accepts, merged per key and bucket, with the generation it reflects.
    fn read(
        &self,
        resolution: Resolution,
        range_secs: Range<u64>,
        keep: &dyn Fn(&MetricKey) -> bool,
    ) -> Result<MetricRead, StoreError>;

    /// How long `resolution` is kept.
    fn retention_of(&self, resolution: Resolution) -> Duration;

    /// Files, rows and bytes of a store on local disk; `None` for a remote store.
    fn local_stats(&self) -> Option<MetricStoreStats> {
        None
    }
}

/// What the metrics API reads rows through: beside the pipeline, the metrics processor's rows
/// (committed, closed and still open); in a query process of its own, the metric store alone
/// ([`CommittedMetricRows`], without the buckets not yet committed).
pub trait MetricRowsReader: Send + Sync {
    /// Every row at `resolution` whose bucket starts in `range_secs` and whose key `keep`
    /// accepts, merged per key and bucket.
    fn rows(
        &self,
        resolution: Resolution,
        range_secs: Range<u64>,
        keep: &dyn Fn(&MetricKey) -> bool,
    ) -> Result<Vec<MetricRow>, StoreError>;

    /// How long `resolution` is kept.
    fn retention_of(&self, resolution: Resolution) -> Duration;

    /// Files, rows and bytes of a store on local disk; `None` for a remote store.
    fn local_stats(&self) -> Option<MetricStoreStats>;
}

/// The rows committed to a metric store.
pub struct CommittedMetricRows(pub std::sync::Arc<dyn MetricReader>);

impl MetricRowsReader for CommittedMetricRows {
    fn rows(
        &self,
        resolution: Resolution,
        range_secs: Range<u64>,
        keep: &dyn Fn(&MetricKey) -> bool,
    ) -> Result<Vec<MetricRow>, StoreError> {
        Ok(self.0.read(resolution, range_secs, keep)?.rows)
    }

    fn retention_of(&self, resolution: Resolution) -> Duration {
        self.0.retention_of(resolution)
    }

    fn local_stats(&self) -> Option<MetricStoreStats> {
        self.0.local_stats()
    }
}

/// Both sides, as the metrics processor (which reads its own commits back) holds them.
pub trait MetricStorage: MetricWriter + MetricReader {}

impl<T: MetricWriter + MetricReader> MetricStorage for T {}
