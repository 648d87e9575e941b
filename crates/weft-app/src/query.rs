//! The query role: the tier router over the stores and the HTTP API (Weft's, Jaeger's, metrics,
//! sampling, diagnostics, health, the UI).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use weft_api::api::{self, ApiState, StoreGauges};
use weft_api::metrics_api::MetricsApiState;
use weft_api::sampling_api::SamplingApiState;
use weft_bus::BusBacklog;
use weft_processors::metrics_hub::MetricsHub;
use weft_query::tiers::{LogTiers, Tiers};

use crate::processor::ProcessorState;
use crate::servers::Servers;
use crate::storage::EmbeddedStorage;
use crate::ServeConfig;

pub(crate) struct QueryRole {
    pub http_addr: SocketAddr,
    listener: tokio::net::TcpListener,
    router: axum::Router,
}

impl QueryRole {
    /// Binds the HTTP API. The registry is complete by now: `/metrics` serves it as it is.
    pub(crate) async fn bind(
        config: &ServeConfig,
        storage: &EmbeddedStorage,
        processors: ProcessorState,
        bus: Arc<dyn BusBacklog>,
        registry: Registry,
    ) -> anyhow::Result<Self> {
        let logs = Arc::new(LogTiers {
            hot: Arc::clone(&storage.hot_logs) as _,
            cold: Arc::clone(&storage.cold_logs) as _,
        });
        let tiers: weft_api::query_api::Store = Arc::new(Tiers {
            hot: storage.hot.clone(),
            cold: storage.cold.clone(),
            hot_retention: config.store.retention,
            logs: Arc::clone(&logs),
        });
        let parts = ApiParts {
            bus,
            pipeline_position: processors.pipeline_position,
            metrics: processors.metrics.map(metrics_api_state),
            diagnostics: Some(weft_api::diagnostics_api::DiagnosticsApiState {
                summaries: processors.diagnostics.summaries(),
                // Beside the pipeline, the live diagnoser is fresher than the committed deltas.
                source: processors.diagnostics,
                analysis: config.diagnostics.diagnoser_config().analysis,
                store: Arc::clone(&tiers),
            }),
            sampling: Some(SamplingApiState {
                hub: processors.sampling,
                hot: storage.hot.clone(),
                cold: storage.cold.clone(),
                progress: processors.cold_progress,
                hot_retention: config.store.retention,
                cold_retention: config.cold.retention,
                logs,
            }),
            unavailable: weft_api::api::UnavailableFeatures::default(),
        };
        Self::bind_over(config, tiers, parts, registry).await
    }

    /// The query role of the distributed shape: the API over the ClickHouse store, with no
    /// processor state in memory. Spans, traces, search, catalog and the Jaeger APIs answer
    /// from ClickHouse; the parts whose state the processors do not commit there yet answer
    /// 501 saying so.
    pub(crate) async fn bind_distributed(
        config: &ServeConfig,
        store: Arc<dyn weft_storage::SpanReader>,
        logs: Arc<dyn weft_storage::LogReader>,
        registry: Registry,
    ) -> anyhow::Result<Self> {
        let logs = Arc::new(LogTiers {
            hot: logs,
            cold: Arc::new(weft_storage::EmptyTier),
        });
        let tiers: weft_api::query_api::Store = Arc::new(Tiers {
            hot: store,
            cold: Arc::new(weft_storage::EmptyTier),
            hot_retention: config.store.retention,
            logs,
        });
        let parts = ApiParts {
            bus: Arc::new(RemoteBus),
            pipeline_position: weft_pipeline::PositionReader::default(),
            metrics: None,
            diagnostics: None,
            sampling: None,
            unavailable: weft_api::api::UnavailableFeatures {
                metrics: "stream metrics are not available from a query node yet: the \
                          processors of this build do not commit them to ClickHouse",
                sampling: "tail sampling is not available in the distributed shape yet: the \
                           processors of this build do not run it",
                diagnostics: "diagnostics are not available from a query node yet: the \
                              processors of this build do not commit them to ClickHouse",
            },
        };
        Self::bind_over(config, tiers, parts, registry).await
    }

    async fn bind_over(
        config: &ServeConfig,
        tiers: weft_api::query_api::Store,
        parts: ApiParts,
        mut registry: Registry,
    ) -> anyhow::Result<Self> {
        let store_gauges = StoreGauges::register(&mut registry);
        let queue_depth = Gauge::default();
        registry.register(
            "weft_queue_depth_records",
            "Batches in the durable queue the pipeline has not processed yet",
            queue_depth.clone(),
        );
        let query_admission = weft_api::query_admission::QueryAdmission::new(
            weft_api::query_admission::QueryAdmissionConfig::with_max_running(
                config.api.max_concurrent_queries,
            ),
            &mut registry,
        );
        let state = ApiState {
            query_admission,
            registry: Arc::new(registry),
            bus: parts.bus,
            pipeline_position: parts.pipeline_position,
            queue_depth,
            store: tiers,
            diagnostics: parts.diagnostics,
            store_gauges,
            metrics: parts.metrics,
            sampling: parts.sampling,
            unavailable: parts.unavailable,
        };
        let listener = tokio::net::TcpListener::bind(config.api.http_listen)
            .await
            .with_context(|| format!("binding the http api on {}", config.api.http_listen))?;
        Ok(QueryRole {
            http_addr: listener.local_addr()?,
            listener,
            router: api::router(state),
        })
    }

    pub(crate) fn serve(self, servers: &mut Servers) {
        let shutdown = servers.shutdown_signal();
        let served = axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown);
        servers.spawn("http_api", async move { served.await });
    }
}

/// What the API reads besides the span tiers.
struct ApiParts {
    bus: Arc<dyn BusBacklog>,
    pipeline_position: weft_pipeline::PositionReader,
    metrics: Option<Arc<MetricsApiState>>,
    diagnostics: Option<weft_api::diagnostics_api::DiagnosticsApiState>,
    sampling: Option<SamplingApiState>,
    unavailable: weft_api::api::UnavailableFeatures,
}

/// A query node's bus: remote, and not its concern (the processors report lag).
struct RemoteBus;

impl BusBacklog for RemoteBus {
    fn written_position(&self) -> weft_bus::Position {
        0
    }

    fn local_bytes(&self) -> u64 {
        0
    }

    fn local_segments(&self) -> u64 {
        0
    }
}

/// The metrics API beside the metrics processor: its rows (open buckets included) and its span
/// metrics exposition.
fn metrics_api_state(hub: Arc<MetricsHub>) -> Arc<MetricsApiState> {
    let exposed = Arc::clone(&hub);
    Arc::new(MetricsApiState {
        rows: hub,
        span_exposition: Some(Arc::new(move |text: &mut String| {
            exposed.encode_span_exposition(text)
        })),
    })
}
