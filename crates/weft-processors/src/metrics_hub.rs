//! The stream metrics processor (span metrics, topology) and the state it shares with the query
//! API: buckets still open or closed but not yet committed live here; committed ones are in the
//! metric store (through `weft_storage::metrics`). A read combines both consistently (see
//! [`MetricsHub::rows`]).

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use weft_metrics::topology::{Topology, TopologyConfig, TopologySnapshot};
use weft_metrics::{sampling_hash, SeriesKey, SpanMetrics, SpanMetricsConfig, SpanMetricsSnapshot};
use weft_model::{Span, StatusCode};
use weft_pipeline::{PipelineError, Position, Processor, SpanBatch, Tick};
use weft_storage::metrics::{
    merge_rows, MetricCheckpoint, MetricKey, MetricRow, MetricRowsReader, MetricStorage, Resolution,
};
use weft_storage::StoreError;

/// Histogram bounds of `/metrics/spans`, in seconds: the OpenTelemetry spanmetrics connector's
/// defaults.
const EXPOSITION_BUCKETS_SECONDS: [f64; 16] = [
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.4, 2.0, 5.0, 10.0, 15.0,
];
/// One span in this many (by trace-ID hash) refreshes its histogram bucket's exemplar, besides
/// every failing span: hex-encoding IDs for every span would cost more than the histogram.
const EXPOSITION_EXEMPLAR_ONE_IN: u64 = 16;

#[derive(Debug, Clone)]
pub struct MetricsSettings {
    pub span_metrics: SpanMetricsConfig,
    pub topology: TopologyConfig,
    /// How long after a bucket ends it stays open for spans still in flight.
    pub close_grace: Duration,
    /// How often closed buckets and the processor's state are committed (and so how much of
    /// the bus a restart replays).
    pub checkpoint_interval: Duration,
}

type ExemplarLabels = Vec<(&'static str, String)>;
type SeriesLabels = Vec<(&'static str, String)>;

/// `/metrics/spans`: cumulative calls and a duration histogram per (service, span name, kind,
/// status), named like the OpenTelemetry spanmetrics connector's Prometheus output.
pub struct SpanExposition {
    pub registry: Registry,
    calls: Family<SeriesLabels, Counter>,
    durations: Family<SeriesLabels, HistogramWithExemplars<ExemplarLabels>>,
}

impl SpanExposition {
    fn new() -> Self {
        let mut registry = Registry::default();
        let calls = Family::<SeriesLabels, Counter>::default();
        let durations =
            Family::<SeriesLabels, HistogramWithExemplars<ExemplarLabels>>::new_with_constructor(
                || HistogramWithExemplars::new(EXPOSITION_BUCKETS_SECONDS.into_iter()),
            );
        registry.register(
            "traces_span_metrics_calls",
            "Spans per service, span name, kind and status",
            calls.clone(),
        );
        registry.register_with_unit(
            "traces_span_metrics_duration",
            "Span durations per service, span name, kind and status",
            prometheus_client::registry::Unit::Seconds,
            durations.clone(),
        );
        SpanExposition {
            registry,
            calls,
            durations,
        }
    }

    /// The exposition's metrics of one series (several series share them: the exposition has
    /// fewer labels than a series has dimensions).
    fn handles_of(&self, key: &SeriesKey) -> SeriesHandles {
        let labels: SeriesLabels = vec![
            ("service_name", key.service_name.clone()),
            ("span_name", key.span_name.clone()),
            ("span_kind", key.span_kind().otlp_name().to_owned()),
            ("status_code", key.status_code().otlp_name().to_owned()),
        ];
        SeriesHandles {
            calls: self.calls.get_or_create(&labels).clone(),
            durations: self.durations.get_or_create(&labels).clone(),
        }
    }

    fn record(&self, span: &Span, handles: &SeriesHandles) {
        let seconds = span
            .end_time_unix_nanos
            .saturating_sub(span.start_time_unix_nanos) as f64
            / 1e9;
        let linked = span.status.code == StatusCode::Error
            || sampling_hash(span.trace_id.as_bytes()).is_multiple_of(EXPOSITION_EXEMPLAR_ONE_IN);
        let exemplar = linked.then(|| {
            vec![
                ("trace_id", span.trace_id.to_hex()),
                ("span_id", span.span_id.to_hex()),
            ]
        });
        let time = std::time::UNIX_EPOCH + Duration::from_nanos(span.end_time_unix_nanos);
        handles
            .durations
            .observe(seconds, exemplar, linked.then_some(time));
        handles.calls.inc();
    }
}

/// Clones of a series' exposition metrics (they share their state with the family's), cached
/// per series so the per-span path neither builds label strings nor hashes them.
#[derive(Clone)]
struct SeriesHandles {
    calls: Counter,
    durations: HistogramWithExemplars<ExemplarLabels>,
}

/// What the processor holds between commits.
struct Live {
    span_metrics: SpanMetrics,
    topology: Topology,
    /// Buckets closed since the last commit (the next commit writes them).
    pending: Vec<MetricRow>,
    /// The store generation that includes everything not in `pending` or open.
    committed_generation: u64,
    /// Indexed by [`weft_metrics::SeriesId`].
    exposition_handles: Vec<Option<SeriesHandles>>,
}

#[derive(Serialize, Deserialize)]
struct ProcessorState {
    span_metrics: SpanMetricsSnapshot,
    topology: TopologySnapshot,
}

#[derive(Clone, Default)]
struct HubMetrics {
    overflowed_spans: Gauge,
    series: Gauge,
    open_buckets: Gauge,
    waiting_topology_spans: Gauge,
    unpaired_clients: Gauge,
    unpaired_servers: Gauge,
    evicted_topology_spans: Gauge,
    spans_over_open_bucket_cap: Gauge,
    topology_calls_over_open_bucket_cap: Gauge,
    commits: Counter,
    commit_errors: Counter,
}

impl HubMetrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = HubMetrics::default();
        let gauges: [(&str, &str, &Gauge); 9] = [
            (
                "weft_span_metrics_overflowed_spans",
                "Spans counted in a service's overflow series because it had too many series",
                &metrics.overflowed_spans,
            ),
            (
                "weft_span_metrics_series",
                "Series the span metrics know",
                &metrics.series,
            ),
            (
                "weft_span_metrics_open_buckets",
                "Span-metric buckets still open",
                &metrics.open_buckets,
            ),
            (
                "weft_topology_waiting_spans",
                "Client and server spans waiting for their partner",
                &metrics.waiting_topology_spans,
            ),
            (
                "weft_topology_unpaired_clients",
                "Client spans whose server never came and that name no peer",
                &metrics.unpaired_clients,
            ),
            (
                "weft_topology_unpaired_servers",
                "Server spans whose client never came",
                &metrics.unpaired_servers,
            ),
            (
                "weft_topology_evicted_spans",
                "Spans that stopped waiting because the pairing table was full",
                &metrics.evicted_topology_spans,
            ),
            (
                "weft_span_metrics_spans_over_open_bucket_cap",
                "Spans not counted in span metrics because their bucket would have been one open too many (late spans spread over many buckets), since start",
                &metrics.spans_over_open_bucket_cap,
            ),
            (
                "weft_topology_calls_over_open_bucket_cap",
                "Calls not counted in the service map because their bucket would have been one open too many, since start",
                &metrics.topology_calls_over_open_bucket_cap,
            ),
        ];
        weft_observe::register_gauges(registry, &gauges);
        registry.register(
            "weft_metric_commits",
            "Commits of closed metric buckets and processor state",
            metrics.commits.clone(),
        );
        registry.register(
            "weft_metric_commit_errors",
            "Failed commits of metric buckets (retried at the next tick)",
            metrics.commit_errors.clone(),
        );
        metrics
    }
}

/// Shared by the metrics processor (writer) and the query API (readers).
pub struct MetricsHub {
    live: Mutex<Live>,
    pub store: Arc<dyn MetricStorage>,
    pub exposition: SpanExposition,
    settings: MetricsSettings,
    metrics: HubMetrics,
    /// Last bus position processed (for a checkpoint).
    processed_position: AtomicU64,
}

impl MetricsHub {
    /// Restores the processor's state from the store's last commit.
    pub fn open(
        store: Arc<dyn MetricStorage>,
        state: Option<Vec<u8>>,
        settings: MetricsSettings,
        registry: &mut Registry,
    ) -> Result<Arc<MetricsHub>, StoreError> {
        let restored = match state.filter(|bytes| !bytes.is_empty()) {
            Some(bytes) => {
                let decompressed = zstd::decode_all(bytes.as_slice()).map_err(|error| {
                    StoreError::Corrupt(format!("metric processor state: {error}"))
                })?;
                Some(
                    postcard::from_bytes::<ProcessorState>(&decompressed).map_err(|error| {
                        StoreError::Corrupt(format!("metric processor state: {error}"))
                    })?,
                )
            }
            None => None,
        };
        let (span_metrics, topology) = match restored {
            Some(state) => (
                SpanMetrics::restore(settings.span_metrics.clone(), state.span_metrics),
                Topology::restore(settings.topology.clone(), state.topology),
            ),
            None => (
                SpanMetrics::new(settings.span_metrics.clone()),
                Topology::new(settings.topology.clone()),
            ),
        };
        let position = store.position();
        let generation = store.generation();
        Ok(Arc::new(MetricsHub {
            live: Mutex::new(Live {
                span_metrics,
                topology,
                pending: Vec::new(),
                committed_generation: generation,
                exposition_handles: Vec::new(),
            }),
            store,
            exposition: SpanExposition::new(),
            settings,
            metrics: HubMetrics::register(registry),
            processed_position: AtomicU64::new(position),
        }))
    }

    pub fn bucket_seconds(&self) -> u64 {
        self.settings.span_metrics.bucket_seconds
    }

    fn record(&self, batch: &SpanBatch) {
        let mut guard = self.live.lock();
        let live = &mut *guard;
        live.topology.advance_clock(batch.read_at_unix_nanos);
        for span in batch.spans.iter() {
            let (series, alerting) = live.span_metrics.series_of(span);
            if live.exposition_handles.len() <= series.index() {
                live.exposition_handles.resize(series.index() + 1, None);
            }
            let handles = live.exposition_handles[series.index()]
                .get_or_insert_with(|| self.exposition.handles_of(live.span_metrics.key(series)));
            self.exposition.record(span, handles);
            live.span_metrics.record_in(span, series, alerting);
            live.topology.record(span);
        }
        drop(guard);
        self.processed_position
            .store(batch.position, Ordering::Release);
    }

    /// Closes the buckets whose time (plus the grace) has passed.
    fn close_buckets(&self, now_nanos: u64) {
        let bucket = self.bucket_seconds().max(1);
        let now_secs = now_nanos / 1_000_000_000;
        // A bucket [s, s + bucket) closes once s + bucket + grace <= now.
        let before = (now_secs.saturating_sub(self.settings.close_grace.as_secs()) + 1)
            .saturating_sub(bucket);
        self.close_buckets_before(now_nanos, before);
    }

    /// Closes every bucket starting before `before_secs` (all of them at shutdown, so the files
    /// hold everything; spans for those buckets after a restart merge in as deltas).
    fn close_buckets_before(&self, now_nanos: u64, before: u64) {
        let mut live = self.live.lock();
        live.topology.advance_clock(now_nanos);
        let spans = live.span_metrics.drain_before(before);
        let edges = live.topology.drain_before(before);
        live.pending.extend(
            spans
                .into_iter()
                .map(|(start_secs, key, bucket)| MetricRow {
                    start_secs,
                    key: MetricKey::Span(key),
                    bucket,
                }),
        );
        live.pending.extend(
            edges
                .into_iter()
                .map(|(start_secs, key, bucket)| MetricRow {
                    start_secs,
                    key: MetricKey::Edge(key),
                    bucket,
                }),
        );
        self.refresh_gauges(&live);
    }

    fn refresh_gauges(&self, live: &Live) {
        let set = weft_observe::set_count;
        set(
            &self.metrics.overflowed_spans,
            live.span_metrics.overflowed_spans(),
        );
        set(
            &self.metrics.series,
            live.span_metrics.series_count() as u64,
        );
        set(
            &self.metrics.open_buckets,
            live.span_metrics.open_buckets() as u64,
        );
        set(
            &self.metrics.waiting_topology_spans,
            live.topology.waiting() as u64,
        );
        let counters = live.topology.counters();
        set(&self.metrics.unpaired_clients, counters.unpaired_clients);
        set(&self.metrics.unpaired_servers, counters.unpaired_servers);
        set(&self.metrics.evicted_topology_spans, counters.evicted);
        set(
            &self.metrics.spans_over_open_bucket_cap,
            live.span_metrics.spans_over_open_bucket_cap(),
        );
        set(
            &self.metrics.topology_calls_over_open_bucket_cap,
            live.topology.calls_over_open_bucket_cap(),
        );
    }

    /// Commits the closed buckets with the processor's state at the last processed position.
    fn commit(&self) -> Result<(), StoreError> {
        // Only the snapshot needs the lock; encoding and compressing it would hold up queries.
        let (rows, state, position) = {
            let live = self.live.lock();
            let state = ProcessorState {
                span_metrics: live.span_metrics.snapshot(),
                topology: live.topology.snapshot(),
            };
            (
                live.pending.clone(),
                state,
                self.processed_position.load(Ordering::Acquire),
            )
        };
        if position <= self.store.position() && rows.is_empty() {
            return Ok(());
        }
        let encoded = postcard::to_stdvec(&state)
            .map_err(|error| StoreError::Corrupt(format!("encoding metric state: {error}")))?;
        let compressed = zstd::encode_all(encoded.as_slice(), 3)
            .map_err(|error| StoreError::Corrupt(format!("compressing metric state: {error}")))?;
        let generation = self.store.commit(MetricCheckpoint {
            position,
            rows,
            state: compressed,
        })?;
        let mut live = self.live.lock();
        // Only this (pipeline) thread adds to `pending`, so everything in it was committed.
        live.pending.clear();
        live.committed_generation = generation;
        self.metrics.commits.inc();
        Ok(())
    }

    /// Every row at `resolution` in `range_secs` whose key `keep` accepts — committed, closed but
    /// not yet committed, and still open — merged per key and bucket. Reads the store first,
    /// then the live state, and retries if a commit landed in between (so nothing is counted
    /// twice or missed).
    pub fn rows(
        &self,
        resolution: Resolution,
        range_secs: Range<u64>,
        keep: &dyn Fn(&MetricKey) -> bool,
    ) -> Result<Vec<MetricRow>, StoreError> {
        loop {
            let stored = self.store.read(resolution, range_secs.clone(), keep)?;
            let live = self.live.lock();
            if live.committed_generation != stored.generation {
                drop(live);
                continue;
            }
            let step = resolution.seconds();
            let in_range = |start: u64| {
                let coarse = start - start % step;
                range_secs.contains(&coarse)
            };
            let mut rows = stored.rows;
            rows.extend(
                live.pending
                    .iter()
                    .filter(|row| in_range(row.start_secs) && keep(&row.key))
                    .cloned(),
            );
            rows.extend(
                live.span_metrics
                    .open()
                    .map(|(start, key, bucket)| (start, MetricKey::Span(key.clone()), bucket))
                    .chain(
                        live.topology.open().map(|(start, key, bucket)| {
                            (start, MetricKey::Edge(key.clone()), bucket)
                        }),
                    )
                    .filter(|(start, key, _)| in_range(*start) && keep(key))
                    .map(|(start_secs, key, bucket)| MetricRow {
                        start_secs,
                        key,
                        bucket: bucket.clone(),
                    }),
            );
            drop(live);
            return Ok(merge_rows(rows, step));
        }
    }
}

impl MetricsHub {
    /// The span metrics' OpenMetrics exposition (`/metrics/spans`), written into `text`.
    pub fn encode_span_exposition(&self, text: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::text::encode(text, &self.exposition.registry)
    }
}

impl MetricRowsReader for MetricsHub {
    fn rows(
        &self,
        resolution: Resolution,
        range_secs: Range<u64>,
        keep: &dyn Fn(&MetricKey) -> bool,
    ) -> Result<Vec<MetricRow>, StoreError> {
        MetricsHub::rows(self, resolution, range_secs, keep)
    }

    fn retention_of(&self, resolution: Resolution) -> Duration {
        self.store.retention_of(resolution)
    }

    fn local_stats(&self) -> Option<weft_storage::metrics::MetricStoreStats> {
        self.store.local_stats()
    }
}

/// The pipeline processor: feeds the hub, closes buckets on ticks, commits on an interval.
pub struct MetricsProcessor {
    hub: Arc<MetricsHub>,
    /// When the last commit ran, by the pipeline's clock (the first tick's time until then).
    last_commit_unix_nanos: Option<u64>,
}

impl MetricsProcessor {
    pub fn new(hub: Arc<MetricsHub>) -> Self {
        MetricsProcessor {
            hub,
            last_commit_unix_nanos: None,
        }
    }

    fn commit(&mut self, now_unix_nanos: u64) -> Result<(), PipelineError> {
        self.last_commit_unix_nanos = Some(now_unix_nanos);
        self.hub.commit().map_err(|error| {
            self.hub.metrics.commit_errors.inc();
            PipelineError::Processor {
                processor: "metrics".into(),
                message: error.to_string(),
            }
        })
    }
}

impl Processor for MetricsProcessor {
    fn name(&self) -> &str {
        "metrics"
    }

    fn process(&mut self, batch: &SpanBatch) -> Result<(), PipelineError> {
        self.hub.record(batch);
        Ok(())
    }

    fn tick(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        self.hub.close_buckets(tick.now_unix_nanos);
        let since = *self
            .last_commit_unix_nanos
            .get_or_insert(tick.now_unix_nanos);
        if tick.elapsed_since(since, self.hub.settings.checkpoint_interval) {
            self.commit(tick.now_unix_nanos)?;
        }
        Ok(())
    }

    fn durable_position(&self) -> Position {
        self.hub.store.position()
    }

    fn flush(&mut self, tick: &Tick) -> Result<(), PipelineError> {
        self.hub.close_buckets_before(tick.now_unix_nanos, u64::MAX);
        self.commit(tick.now_unix_nanos)
    }
}
