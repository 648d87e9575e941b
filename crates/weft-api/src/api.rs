//! The HTTP API port: health, Prometheus metrics, Weft's query API (`/api/v1`) and the
//! Jaeger-compatible API (`/api`).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use weft_api_types::{BusHealth, HealthAnswer, MetricStoreHealth, PipelineHealth, SpanStoreHealth};
use weft_bus::BusBacklog;
use weft_pipeline::PositionReader;
use weft_storage::StoreStats;

use crate::jaeger;
use crate::params::ApiError;
use crate::query_api::{self, Store};

#[derive(Clone)]
pub struct ApiState {
    pub registry: Arc<Registry>,
    pub bus: Arc<dyn BusBacklog>,
    pub pipeline_position: PositionReader,
    pub queue_depth: Gauge,
    pub store: Store,
    pub store_gauges: StoreGauges,
    /// `None` with `--no-stream-metrics`, and on a query node until metrics are distributed.
    pub metrics: Option<crate::metrics_api::Hub>,
    /// `None` where this node has no sampling state to show.
    pub sampling: Option<crate::sampling_api::SamplingApiState>,
    /// `None` where this node has no diagnostics to read.
    pub diagnostics: Option<crate::diagnostics_api::DiagnosticsApiState>,
    /// What the routes of each missing part answer (501), naming why it is missing.
    pub unavailable: UnavailableFeatures,
    pub query_admission: crate::query_admission::QueryAdmission,
}

/// The 501 message of each optional part of the API when its state is missing.
#[derive(Clone, Copy, Debug)]
pub struct UnavailableFeatures {
    pub metrics: &'static str,
    pub sampling: &'static str,
    pub diagnostics: &'static str,
}

impl Default for UnavailableFeatures {
    fn default() -> Self {
        UnavailableFeatures {
            metrics: "stream metrics are disabled on this node (--no-stream-metrics)",
            sampling: "tail sampling is not available on this node",
            diagnostics: "diagnostics are not available on this node",
        }
    }
}

/// Store sizes, refreshed from the hot store's local stats when metrics are scraped.
#[derive(Clone, Default)]
pub struct StoreGauges {
    partitions: Gauge,
    segments: Gauge,
    segment_rows: Gauge,
    segment_bytes: Gauge,
    memtable_spans: Gauge,
    flushes: Gauge,
    compactions: Gauge,
    partitions_dropped: Gauge,
    maintenance_errors: Gauge,
}

impl StoreGauges {
    pub fn register(registry: &mut Registry) -> Self {
        let gauges = StoreGauges::default();
        let entries: [(&str, &str, &Gauge); 9] = [
            (
                "weft_store_partitions",
                "10-minute partitions in the span store",
                &gauges.partitions,
            ),
            (
                "weft_store_segments",
                "Parquet segments in the span store",
                &gauges.segments,
            ),
            (
                "weft_store_segment_spans",
                "Spans in Parquet segments",
                &gauges.segment_rows,
            ),
            (
                "weft_store_segment_bytes",
                "Bytes of Parquet segments on disk",
                &gauges.segment_bytes,
            ),
            (
                "weft_store_memtable_spans",
                "Spans queryable but not yet in a segment",
                &gauges.memtable_spans,
            ),
            (
                "weft_store_flushes",
                "Memtable flushes since start",
                &gauges.flushes,
            ),
            (
                "weft_store_compactions",
                "Segment merges since start",
                &gauges.compactions,
            ),
            (
                "weft_store_partitions_dropped",
                "Partitions dropped by retention since start",
                &gauges.partitions_dropped,
            ),
            (
                "weft_store_maintenance_errors",
                "Failed flushes, compactions and retention runs since start",
                &gauges.maintenance_errors,
            ),
        ];
        weft_observe::register_gauges(registry, &entries);
        gauges
    }

    fn refresh(&self, stats: &StoreStats) {
        let set = weft_observe::set_count;
        set(&self.partitions, stats.partitions);
        set(&self.segments, stats.segments);
        set(&self.segment_rows, stats.segment_rows);
        set(&self.segment_bytes, stats.segment_bytes);
        set(&self.memtable_spans, stats.memtable_spans);
        set(&self.flushes, stats.flushes);
        set(&self.compactions, stats.compactions);
        set(&self.partitions_dropped, stats.partitions_dropped);
        set(&self.maintenance_errors, stats.maintenance_errors);
    }
}

impl ApiState {
    fn queue_depth(&self) -> u64 {
        self.bus
            .written_position()
            .saturating_sub(self.pipeline_position.get())
    }
}

pub fn router(state: ApiState) -> Router {
    let queries = query_api::router()
        .merge(jaeger::router())
        .merge(crate::jaeger_v3::router())
        .merge(crate::logs_api::router())
        .with_state(Arc::clone(&state.store))
        .merge(match &state.metrics {
            Some(hub) => crate::metrics_api::router().with_state(Arc::clone(hub)),
            None => crate::metrics_api::disabled_router(state.unavailable.metrics),
        })
        .merge(match &state.sampling {
            Some(sampling) => crate::sampling_api::router(sampling.clone()),
            None => crate::sampling_api::disabled_router(
                state.unavailable.sampling,
                Arc::clone(&state.store.hot),
            ),
        })
        .merge(match &state.diagnostics {
            Some(diagnostics) => crate::diagnostics_api::router(diagnostics.clone()),
            None => crate::diagnostics_api::disabled_router(state.unavailable.diagnostics),
        })
        .layer(axum::middleware::from_fn_with_state(
            state.query_admission.clone(),
            crate::query_admission::admit,
        ));
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(queries)
        .fallback(ui_or_not_found)
        // gzip or zstd when the client asks (browsers always do): OTLP/JSON traces and search
        // answers shrink about tenfold. The fastest level, because a 48 MB trace answer
        // must not cost more CPU to compress than it saves on the wire.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Fastest),
        )
}

/// A miss under an API prefix, in that API's own error envelope: a Jaeger client reads
/// `errors[0].msg` (v1) or `error.message` (v3), Weft's clients `error.message`.
fn api_not_found(path: &str) -> Response {
    crate::api_errors::api_error_response(
        path,
        ApiError::not_found(format!("no such endpoint: {path}")),
    )
}

/// Paths under these prefixes belong to an API: a miss there is a JSON 404, never the UI page.
const API_PREFIXES: [&str; 3] = ["/api/", "/metrics/", "/v1/"];

/// The web UI: its built files, and its page for every other GET (the front end routes
/// `/search`, `/trace/{id}`, … itself). Misses under an API prefix, non-GET requests and
/// missing files with an extension stay JSON 404s, so a typo in an API path is not answered
/// with HTML.
pub async fn ui_or_not_found(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let not_found = || api_not_found(path);
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        return not_found();
    }
    if API_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        return not_found();
    }
    let relative = path.trim_start_matches('/');
    let file = match weft_ui::file(relative) {
        Some(file) => file,
        None if relative
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.')) =>
        {
            return not_found();
        }
        None => weft_ui::index_html(),
    };
    let cache = if file.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (axum::http::header::CONTENT_TYPE, file.content_type),
            (axum::http::header::CACHE_CONTROL, cache.to_owned()),
        ],
        file.bytes,
    )
        .into_response()
}

async fn health(State(state): State<ApiState>) -> Json<HealthAnswer> {
    Json(HealthAnswer {
        status: "ok".to_owned(),
        wal: BusHealth {
            bytes: state.bus.local_bytes(),
            segments: state.bus.local_segments(),
            written_lsn: state.bus.written_position(),
        },
        pipeline: PipelineHealth {
            position: state.pipeline_position.get(),
            queue_depth_records: state.queue_depth(),
        },
        store: state
            .store
            .hot_local_stats()
            .as_ref()
            .map(span_store_health),
        metrics: state
            .metrics
            .as_ref()
            .and_then(|hub| hub.rows.local_stats())
            .map(|stats| metric_store_health(&stats)),
    })
}

fn span_store_health(stats: &StoreStats) -> SpanStoreHealth {
    SpanStoreHealth {
        partitions: stats.partitions,
        segments: stats.segments,
        segment_spans: stats.segment_rows,
        segment_bytes: stats.segment_bytes,
        memtable_spans: stats.memtable_spans,
        frozen_memtables: stats.frozen_memtables,
        flushed_position: stats.flushed_position,
        flushes: stats.flushes,
        compactions: stats.compactions,
        partitions_dropped: stats.partitions_dropped,
        maintenance_errors: stats.maintenance_errors,
    }
}

fn metric_store_health(stats: &weft_storage::metrics::MetricStoreStats) -> MetricStoreHealth {
    MetricStoreHealth {
        files: stats.files,
        bytes: stats.bytes,
        rows: stats.rows,
        commits: stats.commits,
        compactions: stats.compactions,
        windows_dropped: stats.windows_dropped,
        maintenance_errors: stats.maintenance_errors,
        committed_position: stats.position,
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    state.queue_depth.set(state.queue_depth() as i64);
    if let Some(stats) = state.store.hot_local_stats() {
        state.store_gauges.refresh(&stats);
    }
    crate::metrics_api::openmetrics_response(&state.registry, "metrics")
}
