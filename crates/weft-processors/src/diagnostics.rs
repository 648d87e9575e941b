//! Trace diagnostics in the all-in-one shape: the pipeline processor that feeds the
//! `weft_diagnose::Diagnoser`, the durable state and summary rows, and the shared hub the API
//! reads.
//!
//! On disk, under `<data>/diagnostics/` (in all-in-one `weft_store::summaries::SummaryStore`, through the `weft_storage::summaries` seam): Parquet
//! files of trace summary rows, and a state file — the diagnoser's checkpoint (statistics and
//! the open traces' IDs), postcard + zstd — committed together with the bus position a restart
//! replays from: the first span of the oldest open trace. The replay re-assembles exactly the
//! traces open at the checkpoint, so every trace is analyzed and counted once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use weft_diagnose::{
    AssemblerSnapshot, Diagnoser, DiagnoserCheckpoint, DiagnoserConfig, DiagnoserCounters,
    DiagnosticsSnapshot, DiagnosticsSource, FindingKind, SnapshotUnavailable, Statistics,
    TraceSummary,
};
use weft_pipeline::{PipelineError, Position, Processor, SpanBatch, Tick};
use weft_storage::summaries::{StatisticsDelta, SummaryReader, SummaryStorage, TraceSummaryRow};

const STATE_MAGIC: &[u8; 8] = b"WEFTDIAG";
/// Version 2: the statistics are committed as delta rows beside the state, not inside it.
const STATE_VERSION: u16 = 2;
/// Version 1 held the statistics in the state; it is still read (an upgrade keeps them).
const STATE_VERSION_WITH_STATISTICS: u16 = 1;

#[derive(Debug, Clone)]
pub struct DiagnosticsSettings {
    pub config: DiagnoserConfig,
    pub checkpoint_interval: Duration,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Default)]
struct DiagnosticsMetrics {
    open_traces: Gauge,
    open_spans: Gauge,
    traces_analyzed: Counter,
    late_spans: Counter,
    dropped_spans: Counter,
    evicted_traces: Counter,
    cut_traces: Counter,
    replayed_spans_skipped: Counter,
    findings: Family<KindLabels, Counter>,
    state_bytes: Gauge,
    summary_files: Gauge,
}

impl DiagnosticsMetrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = DiagnosticsMetrics::default();
        let gauges: [(&str, &str, &Gauge); 4] = [
            (
                "weft_diagnostics_open_traces",
                "Traces the assembler holds open, waiting for the inactivity timeout",
                &metrics.open_traces,
            ),
            (
                "weft_diagnostics_open_spans",
                "Spans held in open traces",
                &metrics.open_spans,
            ),
            (
                "weft_diagnostics_state_bytes",
                "Size of the last committed diagnostics state (compressed)",
                &metrics.state_bytes,
            ),
            (
                "weft_diagnostics_summary_files",
                "Parquet files of trace summary rows",
                &metrics.summary_files,
            ),
        ];
        for (name, help, gauge) in gauges {
            registry.register(name, help, gauge.clone());
        }
        let counters: [(&str, &str, &Counter); 6] = [
            (
                "weft_diagnostics_traces_analyzed",
                "Traces completed and analyzed",
                &metrics.traces_analyzed,
            ),
            (
                "weft_diagnostics_late_spans",
                "Spans of a trace already completed (counted, not analyzed)",
                &metrics.late_spans,
            ),
            (
                "weft_diagnostics_dropped_spans",
                "Spans over the per-trace cap (their trace is marked truncated)",
                &metrics.dropped_spans,
            ),
            (
                "weft_diagnostics_evicted_traces",
                "Traces completed early to stay within the open-trace or open-span cap",
                &metrics.evicted_traces,
            ),
            (
                "weft_diagnostics_cut_traces",
                "Traces completed at the maximum trace age while spans still arrived",
                &metrics.cut_traces,
            ),
            (
                "weft_diagnostics_replayed_spans_skipped",
                "Spans replayed after a restart whose trace was analyzed before it",
                &metrics.replayed_spans_skipped,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "weft_diagnostics_findings",
            "Findings in analyzed traces, by kind",
            metrics.findings.clone(),
        );
        metrics
    }
}

/// The diagnoser and its store, shared by the processor (writes) and the API (reads).
pub struct DiagnosticsHub {
    diagnoser: Mutex<Diagnoser>,
    store: Arc<dyn SummaryStorage>,
    metrics: DiagnosticsMetrics,
    settings: DiagnosticsSettings,
    /// The position a restart replays after (the committed replay point − 1).
    durable_position: AtomicU64,
    /// The last bus position the committed state covers.
    committed_through: AtomicU64,
    /// Counters already added to the Prometheus counters.
    exported: Mutex<(DiagnoserCounters, [u64; FindingKind::COUNT])>,
    /// A statistics delta whose commit failed (or a version 1 state's statistics): the next
    /// commit writes it with its own.
    unsent_statistics: Mutex<Option<Statistics>>,
    /// Changes of the diagnoser since start, and what the API last copied out of it (at
    /// which count).
    changes: AtomicU64,
    /// A copy of what the diagnostics API reads of the diagnoser. The API computes its reports
    /// from it, off the async runtime, so the pipeline's lock is held only for the copy, and
    /// concurrent requests between two changes share one copy.
    view: Mutex<Option<(u64, Arc<DiagnosticsSnapshot>)>>,
}

/// postcard + zstd behind a magic and a version; the uncompressed length bounds the decoder.
fn encode_blob(value: &impl serde::Serialize, version: u16, what: &str) -> anyhow::Result<Vec<u8>> {
    let body = postcard::to_stdvec(value).with_context(|| format!("encoding the {what}"))?;
    let compressed =
        zstd::bulk::compress(&body, 3).with_context(|| format!("compressing the {what}"))?;
    let mut bytes = Vec::with_capacity(compressed.len() + 14);
    bytes.extend_from_slice(STATE_MAGIC);
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
    bytes.extend_from_slice(&compressed);
    Ok(bytes)
}

/// The version and the decompressed body of a blob [`encode_blob`] wrote.
fn decode_blob(bytes: &[u8], what: &str) -> Result<(u16, Vec<u8>), String> {
    if bytes.len() < 14 || &bytes[..8] != STATE_MAGIC {
        return Err(format!("not a diagnostics {what}"));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    let length = u32::from_le_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]) as usize;
    let body = zstd::bulk::decompress(&bytes[14..], length)
        .map_err(|error| format!("corrupt diagnostics {what}: {error}"))?;
    Ok((version, body))
}

fn encode_state(checkpoint: &DiagnoserCheckpoint) -> anyhow::Result<Vec<u8>> {
    encode_blob(checkpoint, STATE_VERSION, "diagnostics state")
}

/// What a version 1 state held.
#[derive(serde::Deserialize)]
struct CheckpointWithStatistics {
    position: u64,
    replay_from: u64,
    open_trace_ids: Vec<[u8; 16]>,
    statistics: Statistics,
}

/// The checkpoint, and for a version 1 state the statistics it held (not yet delta rows).
fn decode_state(bytes: &[u8]) -> Result<(DiagnoserCheckpoint, Option<Statistics>), String> {
    let corrupt = |error: postcard::Error| format!("corrupt diagnostics state: {error}");
    match decode_blob(bytes, "state")? {
        (STATE_VERSION, body) => Ok((postcard::from_bytes(&body).map_err(corrupt)?, None)),
        (STATE_VERSION_WITH_STATISTICS, body) => {
            let old: CheckpointWithStatistics = postcard::from_bytes(&body).map_err(corrupt)?;
            let checkpoint = DiagnoserCheckpoint {
                position: old.position,
                replay_from: old.replay_from,
                open_trace_ids: old.open_trace_ids,
            };
            Ok((checkpoint, Some(old.statistics)))
        }
        (version, _) => Err(format!(
            "diagnostics state version {version} is not {STATE_VERSION}"
        )),
    }
}

/// A statistics delta as committed.
fn encode_statistics(delta: &Statistics) -> anyhow::Result<StatisticsDelta> {
    Ok(StatisticsDelta {
        bytes: encode_blob(delta, STATE_VERSION, "diagnostics statistics")?,
        newest_bucket_unix_nanos: delta.newest_bucket_start_unix_nanos().unwrap_or(0),
    })
}

/// Every committed delta merged, in commit order: the statistics up to the last commit.
fn decode_statistics(
    config: &weft_diagnose::StatisticsConfig,
    deltas: &[Vec<u8>],
) -> Result<Statistics, String> {
    let mut statistics = Statistics::new(config.clone());
    for bytes in deltas {
        let (_, body) = decode_blob(bytes, "statistics")?;
        let mut delta: Statistics = postcard::from_bytes(&body)
            .map_err(|error| format!("corrupt diagnostics statistics: {error}"))?;
        delta.set_config(config.clone());
        statistics.merge(&delta);
    }
    Ok(statistics)
}

/// The live diagnoser: statistics up to the last batch, and the assembler's state.
impl DiagnosticsSource for DiagnosticsHub {
    fn snapshot(&self) -> Result<Arc<DiagnosticsSnapshot>, SnapshotUnavailable> {
        Ok(self.view())
    }
}

/// The diagnostics statistics as committed to the summary store, for a query process that
/// does not run the pipeline: every delta row merged, as a restarting processor merges them.
/// It lags the live diagnoser by up to one checkpoint interval and has no assembler.
pub struct CommittedDiagnostics {
    store: Arc<dyn SummaryReader>,
    config: weft_diagnose::StatisticsConfig,
    /// Merging every delta costs a read of each: one merge serves the requests of `reuse_for`.
    reuse_for: Duration,
    cached: Mutex<Option<(std::time::Instant, Arc<DiagnosticsSnapshot>)>>,
}

impl CommittedDiagnostics {
    pub fn new(
        store: Arc<dyn SummaryReader>,
        config: weft_diagnose::StatisticsConfig,
        reuse_for: Duration,
    ) -> Self {
        CommittedDiagnostics {
            store,
            config,
            reuse_for,
            cached: Mutex::new(None),
        }
    }
}

impl DiagnosticsSource for CommittedDiagnostics {
    fn snapshot(&self) -> Result<Arc<DiagnosticsSnapshot>, SnapshotUnavailable> {
        let mut cached = self.cached.lock();
        if let Some((taken_at, snapshot)) = cached.as_ref() {
            if taken_at.elapsed() < self.reuse_for {
                return Ok(Arc::clone(snapshot));
            }
        }
        let deltas = self
            .store
            .statistics_deltas()
            .map_err(|error| SnapshotUnavailable(error.to_string()))?;
        let statistics = decode_statistics(&self.config, &deltas).map_err(SnapshotUnavailable)?;
        let snapshot = Arc::new(DiagnosticsSnapshot {
            statistics,
            assembler: None,
        });
        *cached = Some((std::time::Instant::now(), Arc::clone(&snapshot)));
        Ok(snapshot)
    }
}

/// A summary row as stored (the store crate does not know the diagnose crate's types).
pub fn summary_row(summary: &TraceSummary) -> TraceSummaryRow {
    TraceSummaryRow {
        trace_id: *summary.trace_id.as_bytes(),
        root_service: summary.root_service.to_string(),
        root_operation: summary.root_operation.to_string(),
        start_unix_nanos: summary.start_unix_nanos,
        duration_nanos: summary.duration_nanos,
        span_count: summary.span_count,
        error_count: summary.error_count,
        service_count: summary.service_count,
        orphan_span_count: summary.orphan_span_count,
        dropped_span_count: summary.dropped_span_count,
        truncated: summary.truncated,
        completion: summary.completion.as_str().to_owned(),
        finding_kinds: summary.finding_kinds,
        findings: FindingKind::ALL
            .iter()
            .filter(|kind| summary.has(**kind))
            .map(|kind| kind.as_str())
            .collect::<Vec<_>>()
            .join(","),
        services: summary
            .services
            .iter()
            .map(|service| service.as_ref())
            .collect::<Vec<_>>()
            .join(","),
    }
}

impl DiagnosticsHub {
    /// Restores the diagnoser from `state`, the state of the store's last commit.
    pub fn open(
        store: Arc<dyn SummaryStorage>,
        state: Option<Vec<u8>>,
        settings: DiagnosticsSettings,
        registry: &mut Registry,
    ) -> anyhow::Result<Arc<DiagnosticsHub>> {
        let mut committed = decode_statistics(
            &settings.config.statistics,
            &store
                .statistics_deltas()
                .context("reading the diagnostics statistics")?,
        )
        .map_err(|message| anyhow::anyhow!(message))?;
        let mut unsent = None;
        let diagnoser = match &state {
            Some(bytes) => {
                let (checkpoint, statistics_in_state) =
                    decode_state(bytes).map_err(|message| anyhow::anyhow!(message))?;
                if let Some(mut statistics) = statistics_in_state {
                    // A state from before delta rows: its statistics become the first row.
                    statistics.set_config(settings.config.statistics.clone());
                    committed.merge(&statistics);
                    unsent = Some(statistics);
                }
                tracing::info!(
                    position = checkpoint.position,
                    open_traces = checkpoint.open_trace_ids.len(),
                    "diagnostics restored; replaying the open traces' spans"
                );
                Diagnoser::restore(settings.config.clone(), checkpoint, committed)
            }
            None => Diagnoser::restore_statistics(settings.config.clone(), committed),
        };
        let committed_through = diagnoser.last_position();
        let hub = Arc::new(DiagnosticsHub {
            diagnoser: Mutex::new(diagnoser),
            durable_position: AtomicU64::new(store.position()),
            committed_through: AtomicU64::new(committed_through),
            metrics: DiagnosticsMetrics::register(registry),
            store,
            settings,
            exported: Mutex::new((DiagnoserCounters::default(), [0; FindingKind::COUNT])),
            unsent_statistics: Mutex::new(unsent),
            changes: AtomicU64::new(0),
            view: Mutex::new(None),
        });
        Ok(hub)
    }

    pub fn settings(&self) -> &DiagnosticsSettings {
        &self.settings
    }

    /// Holds the diagnoser's lock as the pipeline does while it processes a batch.
    #[cfg(test)]
    pub fn lock_diagnoser_for_tests(&self) -> parking_lot::MutexGuard<'_, Diagnoser> {
        self.diagnoser.lock()
    }

    /// The diagnoser's statistics and counters now. Requests share one copy until the
    /// diagnoser changes; a new copy holds the pipeline's lock only while it is taken.
    pub fn view(&self) -> Arc<DiagnosticsSnapshot> {
        let mut cached = self.view.lock();
        let changes = self.changes.load(Ordering::Acquire);
        if let Some((taken_at, view)) = cached.as_ref() {
            if *taken_at == changes {
                return Arc::clone(view);
            }
        }
        let view = {
            let diagnoser = self.diagnoser.lock();
            Arc::new(DiagnosticsSnapshot {
                statistics: diagnoser.statistics_now(),
                assembler: Some(AssemblerSnapshot {
                    counters: diagnoser.counters(),
                    config: diagnoser.config().assembler.clone(),
                    open_traces: diagnoser.assembler().open_traces(),
                    open_spans: diagnoser.assembler().open_spans(),
                }),
            })
        };
        // Taken after the changes were read: a change since makes the next request copy again.
        *cached = Some((changes, Arc::clone(&view)));
        view
    }

    /// Counts a change of the diagnoser (spans offered, traces completed by a tick).
    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// The summary store the processor commits to, for the query side to read.
    pub fn summaries(&self) -> Arc<dyn SummaryReader> {
        Arc::clone(&self.store) as Arc<dyn SummaryReader>
    }

    fn offer(&self, batch: &SpanBatch) {
        self.diagnoser
            .lock()
            .offer_batch(&batch.spans, batch.position, batch.read_at_unix_nanos);
        self.changed();
    }

    fn tick(&self, now_unix_nanos: u64) {
        self.diagnoser.lock().tick(now_unix_nanos);
        self.changed();
        self.export_metrics();
    }

    /// Commits the summaries analyzed since the last commit, the statistics recorded since (as
    /// a delta row), the state and the replay point.
    fn commit(&self, now_unix_nanos: u64) -> anyhow::Result<()> {
        let mut unsent = self.unsent_statistics.lock();
        let (summaries, delta, checkpoint, through) = {
            let mut diagnoser = self.diagnoser.lock();
            let through = diagnoser.last_position();
            // Nothing arrived and no trace completed since the last commit: the state on disk
            // is this one (pruned buckets aside), so an idle server writes nothing.
            if diagnoser.pending_summaries() == 0
                && !diagnoser.has_statistics_delta()
                && unsent.is_none()
                && through == self.committed_through.load(Ordering::Acquire)
            {
                return Ok(());
            }
            let summaries = diagnoser.take_summaries();
            let delta = diagnoser.take_statistics_delta();
            (summaries, delta, diagnoser.checkpoint(), through)
        };
        let delta = match unsent.take() {
            Some(mut earlier) => {
                earlier.merge(&delta);
                earlier
            }
            None => delta,
        };
        let rows: Vec<TraceSummaryRow> = summaries.iter().map(summary_row).collect();
        let state = encode_state(&checkpoint)?;
        let statistics = (!delta.is_empty())
            .then(|| encode_statistics(&delta))
            .transpose()?;
        let position = checkpoint.replay_from.saturating_sub(1);
        if let Err(error) = self
            .store
            .commit(&rows, statistics.as_ref(), &state, position)
        {
            // The summaries and the delta go back so the next commit writes them (the state
            // is taken anew).
            self.diagnoser.lock().return_summaries(summaries);
            *unsent = Some(delta);
            return Err(error).context("committing the diagnostics state");
        }
        drop(unsent);
        self.metrics.state_bytes.set(state.len() as i64);
        self.durable_position.store(position, Ordering::Release);
        self.committed_through.store(through, Ordering::Release);
        if let Err(error) = self.store.maintain(now_unix_nanos) {
            tracing::warn!(%error, "diagnostics store maintenance failed; retrying later");
        }
        if let Some(stats) = self.store.local_stats() {
            self.metrics.summary_files.set(stats.files as i64);
        }
        Ok(())
    }

    fn export_metrics(&self) {
        let (counters, open_traces, open_spans, findings) = {
            let diagnoser = self.diagnoser.lock();
            let findings = FindingKind::ALL.map(|kind| diagnoser.findings_of(kind));
            (
                diagnoser.counters(),
                diagnoser.assembler().open_traces(),
                diagnoser.assembler().open_spans(),
                findings,
            )
        };
        self.metrics.open_traces.set(open_traces as i64);
        self.metrics.open_spans.set(open_spans as i64);
        let mut exported = self.exported.lock();
        let (before, findings_before) = &mut *exported;
        let pairs: [(&Counter, u64, u64); 6] = [
            (
                &self.metrics.traces_analyzed,
                counters.traces_analyzed,
                before.traces_analyzed,
            ),
            (
                &self.metrics.late_spans,
                counters.assembler.late_spans,
                before.assembler.late_spans,
            ),
            (
                &self.metrics.dropped_spans,
                counters.assembler.spans_dropped_over_trace_cap,
                before.assembler.spans_dropped_over_trace_cap,
            ),
            (
                &self.metrics.evicted_traces,
                counters.assembler.traces_evicted,
                before.assembler.traces_evicted,
            ),
            (
                &self.metrics.cut_traces,
                counters.assembler.traces_cut_by_age,
                before.assembler.traces_cut_by_age,
            ),
            (
                &self.metrics.replayed_spans_skipped,
                counters.replayed_spans_skipped,
                before.replayed_spans_skipped,
            ),
        ];
        for (counter, now, then) in pairs {
            counter.inc_by(now.saturating_sub(then));
        }
        for kind in FindingKind::ALL {
            self.metrics
                .findings
                .get_or_create(&KindLabels {
                    kind: kind.as_str().to_owned(),
                })
                .inc_by(findings[kind.index()].saturating_sub(findings_before[kind.index()]));
        }
        *before = counters;
        *findings_before = findings;
    }
}

/// The pipeline processor: offers every batch to the diagnoser, completes idle traces on
/// ticks, commits on the checkpoint interval.
pub struct DiagnosticsProcessor {
    hub: Arc<DiagnosticsHub>,
    /// When the last commit ran, by the pipeline's clock (the first tick's time until then).
    last_commit_unix_nanos: Option<u64>,
}

impl DiagnosticsProcessor {
    pub fn new(hub: Arc<DiagnosticsHub>) -> Self {
        DiagnosticsProcessor {
            hub,
            last_commit_unix_nanos: None,
        }
    }
}

fn processor_error(error: anyhow::Error) -> PipelineError {
    PipelineError::Processor {
        processor: "diagnostics".into(),
        message: format!("{error:#}"),
    }
}

impl Processor for DiagnosticsProcessor {
    fn name(&self) -> &str {
        "diagnostics"
    }

    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError> {
        self.hub.offer(batch);
        Ok(())
    }

    fn tick(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        self.hub.tick(tick.now_unix_nanos);
        let since = *self
            .last_commit_unix_nanos
            .get_or_insert(tick.now_unix_nanos);
        if tick.elapsed_since(since, self.hub.settings.checkpoint_interval) {
            self.hub
                .commit(tick.now_unix_nanos)
                .map_err(processor_error)?;
            self.last_commit_unix_nanos = Some(tick.now_unix_nanos);
        }
        Ok(())
    }

    fn durable_position(&self) -> Position {
        self.hub.durable_position.load(Ordering::Acquire)
    }

    fn flush(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        self.hub
            .commit(tick.now_unix_nanos)
            .map_err(processor_error)
    }
}

/// Encodes and decodes a state, for the round-trip unit test.
#[cfg(test)]
pub fn state_round_trip_for_tests(
    checkpoint: &DiagnoserCheckpoint,
) -> Result<DiagnoserCheckpoint, String> {
    let bytes = encode_state(checkpoint).map_err(|error| error.to_string())?;
    decode_state(&bytes).map(|(checkpoint, _)| checkpoint)
}

#[cfg(test)]
pub fn statistics_round_trip_for_tests(
    config: &weft_diagnose::StatisticsConfig,
    deltas: &[Statistics],
) -> Result<Statistics, String> {
    let encoded = deltas
        .iter()
        .map(|delta| encode_statistics(delta).map(|delta| delta.bytes))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(|error| error.to_string())?;
    decode_statistics(config, &encoded)
}
