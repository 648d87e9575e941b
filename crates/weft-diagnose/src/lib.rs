//! Trace diagnostics on the span stream, sans I/O.
//!
//! Spans go into the [`TraceAssembler`] (a map keyed by trace ID, completed after an inactivity
//! timeout, bounded); each completed trace is analyzed once ([`analyze_trace`]: the summary row,
//! broken traces, bottlenecks and the critical path, repeated calls, timeout misconfiguration,
//! cycles) and added to the [`Statistics`] (findings per service and operation over time, the
//! interruption rate, database statements by [SQL fingerprint](sql), Redis commands by key
//! pattern with hot keys, slowest operations, failures, exceptions). [`Diagnoser`] ties the
//! three together with the replay rule that makes a restart exactly once.
//!
//! Architecture invariant: no clock, disk or network here. Time is passed in; state goes out
//! as a serde value the server checkpoints.

mod analysis;
mod assembler;
mod facts;
pub mod redis;
mod snapshot;
pub mod sql;
mod statistics;
mod top_k;

use hashbrown::HashSet;
use serde::{Deserialize, Serialize};
use weft_model::{Span, TraceId};

pub use analysis::{
    analyze_spans, analyze_trace, format_nanos, AnalysisConfig, Finding, FindingKind,
    TraceDiagnosis, TraceSummary, MAX_SPANS_PER_FINDING,
};
pub use assembler::{
    AssembledTrace, AssemblerConfig, AssemblerCounters, Completion, TraceAssembler,
};
pub use facts::{
    configured_timeout_nanos, parse_grpc_timeout_nanos, span_facts, DatabaseFacts, ExceptionFacts,
    Interner, RedisFacts, SpanFacts, TIMEOUT_ATTRIBUTES,
};
pub use snapshot::{
    AssemblerSnapshot, DiagnosticsSnapshot, DiagnosticsSource, SnapshotUnavailable,
};
pub use statistics::{
    strongly_connected_components, DatabaseReport, EndpointCalls, ExampleCall, ExceptionRow,
    FailureRow, FindingRow, GraphCycle, GraphEdge, HotKeyRow, InterruptionPoint,
    InterruptionReport, InterruptionRow, LatencySummary, OperationRow, OperationsReport,
    RedisReport, RedisRow, StatementRow, Statistics, StatisticsConfig, StatisticsCounters,
    StatisticsFilter, TableRow, TimeRange,
};
pub use top_k::{HeavyHitter, SpaceSaving};

/// Everything the diagnoser is configured with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiagnoserConfig {
    pub assembler: AssemblerConfig,
    pub analysis: AnalysisConfig,
    pub statistics: StatisticsConfig,
}

/// What survives a restart besides the statistics: which traces were open at `position`, so
/// the replay after it re-assembles exactly those. The statistics survive as the delta rows
/// [`Diagnoser::take_statistics_delta`] hands out, committed with the checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiagnoserCheckpoint {
    /// Every span at or below this bus position is in the committed statistics or in an open
    /// trace.
    pub position: u64,
    /// The first bus position of the oldest open trace: where a restart replays from.
    pub replay_from: u64,
    /// The open traces at `position`; a replay re-offers their spans only.
    pub open_trace_ids: Vec<[u8; 16]>,
}

/// Counters of the diagnoser (the assembler's and its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiagnoserCounters {
    pub assembler: AssemblerCounters,
    /// Replayed spans skipped because their trace was already analyzed before the restart.
    pub replayed_spans_skipped: u64,
    pub traces_analyzed: u64,
    pub findings: u64,
}

/// Spans at or below `until` are taken only for the traces open at the checkpoint; the others
/// were analyzed before it.
struct ReplayFilter {
    until: u64,
    open_at_checkpoint: HashSet<TraceId>,
    replay_from: u64,
}

/// The assembler, the analyses and the statistics, fed in bus order.
pub struct Diagnoser {
    config: DiagnoserConfig,
    assembler: TraceAssembler,
    /// Everything recorded up to the last [`Diagnoser::take_statistics_delta`].
    statistics: Statistics,
    /// What was recorded since: the next delta.
    delta: Statistics,
    /// After a restore, until the replay passes the checkpoint's position.
    replay_filter: Option<ReplayFilter>,
    last_position: u64,
    completed: Vec<AssembledTrace>,
    summaries: Vec<TraceSummary>,
    replayed_spans_skipped: u64,
    traces_analyzed: u64,
    findings: u64,
    findings_by_kind: [u64; FindingKind::COUNT],
}

impl Diagnoser {
    pub fn new(config: DiagnoserConfig) -> Self {
        Diagnoser {
            assembler: TraceAssembler::new(config.assembler.clone()),
            statistics: Statistics::new(config.statistics.clone()),
            delta: Statistics::new(config.statistics.clone()),
            config,
            replay_filter: None,
            last_position: 0,
            completed: Vec::new(),
            summaries: Vec::new(),
            replayed_spans_skipped: 0,
            traces_analyzed: 0,
            findings: 0,
            findings_by_kind: [0; FindingKind::COUNT],
        }
    }

    /// Resumes from a checkpoint and the statistics committed with it (every delta up to it,
    /// merged), with a replay rule for the bus records after the oldest open trace's first span.
    pub fn restore(
        config: DiagnoserConfig,
        checkpoint: DiagnoserCheckpoint,
        mut statistics: Statistics,
    ) -> Self {
        let mut diagnoser = Diagnoser::new(config);
        statistics.set_config(diagnoser.config.statistics.clone());
        diagnoser.delta = statistics.delta_after();
        diagnoser.statistics = statistics;
        diagnoser.last_position = checkpoint.position;
        diagnoser.replay_filter = Some(ReplayFilter {
            until: checkpoint.position,
            open_at_checkpoint: checkpoint
                .open_trace_ids
                .iter()
                .map(|bytes| TraceId::from_bytes(*bytes))
                .collect(),
            replay_from: checkpoint.replay_from,
        });
        diagnoser
    }

    /// A fresh diagnoser over the statistics committed so far (a store with deltas but no
    /// state yet: the first commit of a new processor).
    pub fn restore_statistics(config: DiagnoserConfig, mut statistics: Statistics) -> Self {
        let mut diagnoser = Diagnoser::new(config);
        statistics.set_config(diagnoser.config.statistics.clone());
        diagnoser.delta = statistics.delta_after();
        diagnoser.statistics = statistics;
        diagnoser
    }

    pub fn config(&self) -> &DiagnoserConfig {
        &self.config
    }

    /// Takes the spans of one bus record, arrived at `now_unix_nanos`.
    pub fn offer_batch(&mut self, spans: &[Span], position: u64, now_unix_nanos: u64) {
        let replaying = match &self.replay_filter {
            Some(filter) if position <= filter.until => true,
            Some(_) => {
                self.replay_filter = None;
                false
            }
            None => false,
        };
        for span in spans {
            if replaying {
                let open_at_checkpoint = self
                    .replay_filter
                    .as_ref()
                    .is_some_and(|filter| filter.open_at_checkpoint.contains(&span.trace_id));
                if !open_at_checkpoint {
                    self.replayed_spans_skipped += 1;
                    continue;
                }
            }
            self.assembler
                .offer(span, position, now_unix_nanos, &mut self.completed);
        }
        self.last_position = self.last_position.max(position);
        self.analyze_completed();
    }

    /// Completes the traces idle past the timeout at `now_unix_nanos` and analyzes them.
    pub fn tick(&mut self, now_unix_nanos: u64) {
        self.assembler.expire(now_unix_nanos, &mut self.completed);
        self.analyze_completed();
        self.statistics.prune(now_unix_nanos);
        self.delta.prune(now_unix_nanos);
    }

    /// Completes and analyzes every open trace (shutdown without a checkpoint to resume).
    pub fn drain(&mut self) {
        self.assembler.drain(&mut self.completed);
        self.analyze_completed();
    }

    fn analyze_completed(&mut self) {
        for trace in self.completed.drain(..) {
            let diagnosis = analyze_trace(&trace, &self.config.analysis);
            self.delta.record(&trace, &diagnosis);
            self.traces_analyzed += 1;
            self.findings += diagnosis.findings.len() as u64;
            for finding in &diagnosis.findings {
                self.findings_by_kind[finding.kind.index()] += 1;
            }
            self.summaries.push(diagnosis.summary);
        }
    }

    /// The summary rows of traces analyzed since the last call (for the summary store).
    pub fn take_summaries(&mut self) -> Vec<TraceSummary> {
        std::mem::take(&mut self.summaries)
    }

    /// Puts back summaries a failed commit could not store, ahead of newer ones.
    pub fn return_summaries(&mut self, mut summaries: Vec<TraceSummary>) {
        summaries.append(&mut self.summaries);
        self.summaries = summaries;
    }

    /// Findings of `kind` in traces analyzed since start.
    pub fn findings_of(&self, kind: FindingKind) -> u64 {
        self.findings_by_kind[kind.index()]
    }

    pub fn pending_summaries(&self) -> usize {
        self.summaries.len()
    }

    /// The state to write so a restart resumes exactly here. Take the summaries first: they are
    /// not part of it.
    pub fn checkpoint(&self) -> DiagnoserCheckpoint {
        let mut open_trace_ids: Vec<[u8; 16]> = self
            .assembler
            .open_trace_ids()
            .map(|trace_id| *trace_id.as_bytes())
            .collect();
        // During a replay, traces open at the previous checkpoint whose spans are not all
        // re-offered yet are still open, and the previous checkpoint's position still holds.
        let mut position = self.last_position;
        if let Some(filter) = &self.replay_filter {
            position = position.max(filter.until);
            open_trace_ids.extend(
                filter
                    .open_at_checkpoint
                    .iter()
                    .filter(|trace_id| !self.assembler.was_completed(trace_id))
                    .map(|trace_id| *trace_id.as_bytes()),
            );
        }
        open_trace_ids.sort_unstable();
        open_trace_ids.dedup();
        DiagnoserCheckpoint {
            position,
            replay_from: self.replay_from(),
            open_trace_ids,
        }
    }

    /// The bus position a restart from [`Diagnoser::checkpoint`] must replay from: the first
    /// span of the oldest open trace, or the next record.
    pub fn replay_from(&self) -> u64 {
        let oldest_open = self.assembler.oldest_open_position();
        match (&self.replay_filter, oldest_open) {
            (Some(filter), Some(position)) => filter.replay_from.min(position),
            (Some(filter), None) => filter.replay_from,
            (None, Some(position)) => position,
            (None, None) => self.last_position + 1,
        }
    }

    pub fn last_position(&self) -> u64 {
        self.last_position
    }

    /// Everything recorded so far: the committed statistics with the open delta merged in.
    pub fn statistics_now(&self) -> Statistics {
        let mut statistics = self.statistics.clone();
        statistics.merge(&self.delta);
        statistics
    }

    /// The statistics recorded since the last call, as delta rows to commit with the next
    /// checkpoint; from now on [`Diagnoser::statistics_now`] counts them as committed. A caller
    /// whose commit fails keeps the delta and merges the next one into it.
    pub fn take_statistics_delta(&mut self) -> Statistics {
        self.statistics.merge(&self.delta);
        let fresh = self.statistics.delta_after();
        std::mem::replace(&mut self.delta, fresh)
    }

    /// Whether anything was recorded since the last [`Diagnoser::take_statistics_delta`].
    pub fn has_statistics_delta(&self) -> bool {
        !self.delta.is_empty()
    }

    pub fn assembler(&self) -> &TraceAssembler {
        &self.assembler
    }

    pub fn counters(&self) -> DiagnoserCounters {
        DiagnoserCounters {
            assembler: self.assembler.counters().clone(),
            replayed_spans_skipped: self.replayed_spans_skipped,
            traces_analyzed: self.traces_analyzed,
            findings: self.findings,
        }
    }
}

#[cfg(test)]
mod tests;
