//! What the diagnostics API reads, and the seam it reads it through: the processor's live
//! diagnoser beside the pipeline (all-in-one), or the statistics committed to the summary store
//! (a query process of its own). The API computes every report from one snapshot.

use std::sync::Arc;

use crate::{AssemblerConfig, DiagnoserCounters, Statistics};

/// One copy of the statistics, and of the assembler's state where the reader has one.
pub struct DiagnosticsSnapshot {
    pub statistics: Statistics,
    /// `None` when the statistics come from the store: the assembler lives in the processor.
    pub assembler: Option<AssemblerSnapshot>,
}

/// The trace assembler's counters, limits and open traces.
pub struct AssemblerSnapshot {
    pub counters: DiagnoserCounters,
    pub config: AssemblerConfig,
    pub open_traces: usize,
    pub open_spans: usize,
}

/// The statistics could not be read (the store failed, or a committed delta is corrupt).
#[derive(Debug, thiserror::Error)]
#[error("diagnostics statistics unavailable: {0}")]
pub struct SnapshotUnavailable(pub String);

/// Where the diagnostics API takes its snapshots from.
pub trait DiagnosticsSource: Send + Sync {
    /// A snapshot of now; callers between two changes may share one.
    fn snapshot(&self) -> Result<Arc<DiagnosticsSnapshot>, SnapshotUnavailable>;
}
