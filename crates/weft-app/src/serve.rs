use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio::task::JoinSet;
use weft_codec::ConversionOptions;
use weft_ingest::{
    IngestConfig, Ingestor, OtlpGrpcReceiver, OtlpHttpReceiver, Receiver, ShutdownSignal,
    ZipkinReceiver,
};
use weft_observe::ComponentMetricFamilies;
use weft_pipeline::{CaptureSink, Pipeline, PipelineHandle, PipelineOptions};
use weft_wal::{Wal, WalConfig};

use weft_metrics::topology::TopologyConfig;
use weft_metrics::{ExemplarPolicy, SpanMetricsConfig};
use weft_store::metrics::{MetricStore, MetricStoreConfig};
use weft_store::{EmbeddedStore, LogStore, LogStoreConfig, StoreConfig};

use crate::ServeConfig;
use weft_api::api::{self, ApiState, StoreGauges};
use weft_api::sampling_api::SamplingApiState;
use weft_processors::cold_writer::{
    ColdWriter, ColdWriterSettings, ColdWriterStores, COLD_CRASH_POINTS,
};
use weft_processors::diagnostics::{DiagnosticsHub, DiagnosticsProcessor, DiagnosticsSettings};
use weft_processors::logs::{LogStoreGauges, LogWriter};
use weft_processors::metrics_hub::{MetricsHub, MetricsProcessor, MetricsSettings};
use weft_processors::sampling::{SamplingHub, SamplingProcessor, SamplingSettings};
use weft_processors::store_writer::StoreWriter;
use weft_query::tiers::LogTiers;
use weft_query::tiers::Tiers;
use weft_wal::{WalBus, WalBusReader};

/// How long a graceful stop waits for open connections to finish.
const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A running all-in-one server.
pub struct ServeHandle {
    pub otlp_grpc_addr: SocketAddr,
    pub otlp_http_addr: SocketAddr,
    pub zipkin_addr: SocketAddr,
    pub http_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    servers: JoinSet<(&'static str, std::io::Result<()>)>,
    demo: Option<(Arc<AtomicBool>, tokio::task::JoinHandle<()>)>,
    pipeline: PipelineHandle,
    wal: Wal,
    store: Arc<EmbeddedStore>,
    cold_store: Arc<EmbeddedStore>,
    cold_writer: (Arc<AtomicBool>, std::thread::JoinHandle<()>),
    /// The log stores, and their maintenance thread's stop flag and handle.
    logs: (Arc<LogTiers>, Arc<AtomicBool>, std::thread::JoinHandle<()>),
    metrics: Option<Arc<MetricsHub>>,
    _data_dir_lock: File,
}

fn shutdown_signal(receiver: &watch::Receiver<bool>) -> ShutdownSignal {
    let mut receiver = receiver.clone();
    Box::pin(async move {
        let _ = receiver.wait_for(|stopping| *stopping).await;
    })
}

/// Takes an exclusive lock on the data directory, so a second server cannot corrupt it.
fn lock_data_dir(config: &ServeConfig) -> anyhow::Result<File> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let path = config.data_dir.join("LOCK");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "data directory {} is in use by another weft process",
            config.data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Where the demo generator reaches this server's own gRPC receiver.
fn loopback_of(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
    } else {
        address
    }
}

/// Opens the metric store and restores the metrics processor's state from its last commit.
fn open_metrics_hub(
    config: &ServeConfig,
    registry: &mut Registry,
) -> anyhow::Result<Arc<MetricsHub>> {
    let (metric_store, recovered_metrics) = MetricStore::open(MetricStoreConfig {
        retention: config.metrics_retention,
        ..MetricStoreConfig::new(config.data_dir.join("metrics"))
    })
    .context("opening the metric store")?;
    MetricsHub::open(
        metric_store,
        recovered_metrics.state,
        MetricsSettings {
            span_metrics: SpanMetricsConfig {
                extra_dimensions: config.metrics_dimensions.clone(),
                max_series_per_service: config.metrics_max_series_per_service,
                exemplars: ExemplarPolicy {
                    keywords: config.exemplar_keywords.clone(),
                    alert_error_rate: config.alert_error_rate,
                    alert_latency_nanos: config.alert_latency.as_nanos() as u64,
                    ..ExemplarPolicy::default()
                },
                ..SpanMetricsConfig::default()
            },
            topology: TopologyConfig {
                pairing_timeout_nanos: config.topology_pairing_timeout.as_nanos() as u64,
                clock_from_spans: false,
                ..TopologyConfig::default()
            },
            close_grace: Duration::from_secs(10),
            checkpoint_interval: config.metrics_checkpoint_interval,
        },
        registry,
    )
    .context("restoring the metric processor")
}

impl ServeHandle {
    /// Opens the data directory, recovers the WAL, starts the pipeline and binds every listener.
    pub async fn start(config: ServeConfig) -> anyhow::Result<ServeHandle> {
        let data_dir_lock = lock_data_dir(&config)?;
        let mut registry = Registry::default();
        let families = ComponentMetricFamilies::register(&mut registry);

        let wal_config = WalConfig {
            segment_max_bytes: config.wal_segment_bytes,
            fsync: config.wal_fsync,
            max_disk_bytes: config.wal_max_bytes,
            ..WalConfig::new(config.data_dir.join("wal"))
        };
        let (wal, recovery) = Wal::open(wal_config, &mut registry).context("opening the wal")?;
        tracing::info!(
            records = recovery.records,
            last_lsn = recovery.last_lsn,
            truncated_bytes = recovery.truncated_bytes,
            corrupt_segments = recovery.corrupt_segments,
            "wal recovered"
        );

        if let Some(step) = &config.store_crash_point {
            anyhow::ensure!(
                weft_store::CRASH_POINTS.contains(&step.as_str()),
                "unknown store crash point {step:?}; known: {}",
                weft_store::CRASH_POINTS.join(", ")
            );
        }
        let conversion = ConversionOptions {
            business_key_names: config.business_keys.clone(),
        };
        let store = Arc::new(
            EmbeddedStore::open(StoreConfig {
                retention: config.retention,
                flush_interval: config.store_flush_interval,
                flush_max_spans: config.store_flush_spans,
                max_scanned_spans_per_search: config.max_search_scan_spans,
                conversion: conversion.clone(),
                crash_point: config.store_crash_point.clone(),
                ..StoreConfig::new(config.data_dir.join("store"))
            })
            .context("opening the span store")?,
        );
        let store_gauges = StoreGauges::register(&mut registry);
        if let Some(step) = &config.cold_crash_point {
            anyhow::ensure!(
                weft_store::CRASH_POINTS.contains(&step.as_str())
                    || COLD_CRASH_POINTS.contains(&step.as_str()),
                "unknown cold crash point {step:?}; known: {}, {}",
                weft_store::CRASH_POINTS.join(", "),
                COLD_CRASH_POINTS.join(", ")
            );
        }
        let cold_store = Arc::new(
            EmbeddedStore::open(StoreConfig {
                retention: config.cold_retention,
                // The cold writer commits each part with one explicit flush, so a part is in
                // the cold tier whole or not at all: no flush by age or size in between.
                flush_interval: Duration::MAX,
                flush_max_spans: usize::MAX,
                max_scanned_spans_per_search: config.max_search_scan_spans,
                conversion: conversion.clone(),
                crash_point: config
                    .cold_crash_point
                    .clone()
                    .filter(|step| weft_store::CRASH_POINTS.contains(&step.as_str())),
                ..StoreConfig::new(config.data_dir.join("cold"))
            })
            .context("opening the cold tier")?,
        );
        let log_tiers = Arc::new(LogTiers {
            hot: Arc::new(
                LogStore::open(LogStoreConfig {
                    retention: config.retention,
                    ..LogStoreConfig::new(config.data_dir.join("logs"))
                })
                .context("opening the log store")?,
            ),
            cold: Arc::new(
                LogStore::open(LogStoreConfig {
                    retention: config.cold_retention,
                    ..LogStoreConfig::new(config.data_dir.join("cold-logs"))
                })
                .context("opening the cold log store")?,
            ),
        });
        let log_gauges = LogStoreGauges::register(&mut registry);
        let sampling_hub = SamplingHub::open(
            config.data_dir.join("sampling"),
            config.sampling_rules.clone(),
            SamplingSettings {
                shard_width_seconds: config.sampling_shard_seconds,
                sizing: config.sampling_sizing,
                cold_delay: config.cold_delay,
                checkpoint_interval: config.metrics_checkpoint_interval,
                max_clock_skew: config.max_clock_skew,
            },
            &mut registry,
        )?;
        let diagnostics_hub = DiagnosticsHub::open(
            config.data_dir.join("diagnostics"),
            DiagnosticsSettings {
                config: config.diagnostics.clone(),
                checkpoint_interval: config.metrics_checkpoint_interval,
                summary_retention: config.retention,
            },
            &mut registry,
        )?;
        let metrics_hub = if config.stream_metrics {
            Some(open_metrics_hub(&config, &mut registry)?)
        } else {
            tracing::info!("stream metrics are off (--no-stream-metrics)");
            None
        };

        let mut pipeline = Pipeline::new(
            PipelineOptions {
                conversion,
                ..PipelineOptions::default()
            },
            families.clone(),
            &mut registry,
        );
        pipeline.add(Box::new(StoreWriter::new(store.clone())));
        pipeline.add(Box::new(LogWriter::new(
            Arc::clone(&log_tiers.hot),
            config.store_flush_interval,
            config.store_flush_spans,
        )));
        pipeline.add(Box::new(SamplingProcessor::new(Arc::clone(&sampling_hub))));
        if let Some(hub) = &metrics_hub {
            pipeline.add(Box::new(MetricsProcessor::new(Arc::clone(hub))));
        }
        pipeline.add(Box::new(DiagnosticsProcessor::new(Arc::clone(
            &diagnostics_hub,
        ))));
        if let Some(path) = &config.capture_file {
            pipeline.add(Box::new(
                CaptureSink::open(path, config.capture_flush_interval)
                    .with_context(|| format!("opening capture file {}", path.display()))?,
            ));
        }
        let pipeline = pipeline
            .start(Box::new(WalBusReader::new(wal.clone())))
            .context("starting the pipeline")?;

        let cold_stop = Arc::new(AtomicBool::new(false));
        let width = u64::from(config.sampling_shard_seconds);
        let (cold_writer, cold_progress) = ColdWriter::new(
            ColdWriterStores {
                hot: store.clone(),
                cold: cold_store.clone(),
                hot_logs: Arc::clone(&log_tiers.hot),
                cold_logs: Arc::clone(&log_tiers.cold),
            },
            Arc::clone(&sampling_hub),
            ColdWriterSettings {
                traces_per_part: config.cold_traces_per_part,
                windows_back: u32::try_from(
                    config.cold_delay.as_secs().div_ceil(width).clamp(1, 64),
                )
                .expect("at most 64"),
                idle_interval: Duration::from_secs(1).min(Duration::from_secs(width)),
                crash_point: config.cold_crash_point.clone(),
            },
            families.component("sink", "cold_writer"),
            Arc::clone(&cold_stop),
        );
        let cold_thread = cold_writer.spawn();
        let log_maintenance_stop = Arc::new(AtomicBool::new(false));
        let log_maintenance = weft_processors::logs::spawn_maintenance(
            Arc::clone(&log_tiers.hot),
            Arc::clone(&log_tiers.cold),
            log_gauges,
            Arc::clone(&log_maintenance_stop),
        );

        let ingestor = Ingestor::new(
            Arc::new(WalBus(wal.clone())),
            IngestConfig {
                limits: config.limits,
                max_request_bytes: usize::try_from(config.max_request_bytes)
                    .context("max request size does not fit in memory")?,
                max_concurrent_requests: config.max_concurrent_requests,
                retry_after: Duration::from_secs(1),
                receive_timeout: config.receive_timeout,
                span_start_bounds: Some(weft_ingest::SpanStartBounds {
                    max_age: config.retention,
                    max_future_skew: config.max_clock_skew,
                }),
            },
            &mut registry,
            families,
        );
        let receivers: Vec<Box<dyn Receiver>> = vec![
            Box::new(
                OtlpGrpcReceiver::bind(
                    config.otlp_grpc_listen,
                    ingestor.clone(),
                    config.grpc_max_connection_age,
                )
                .await
                .with_context(|| format!("binding otlp grpc on {}", config.otlp_grpc_listen))?,
            ),
            Box::new(
                OtlpHttpReceiver::bind(config.otlp_http_listen, ingestor.clone())
                    .await
                    .with_context(|| format!("binding otlp http on {}", config.otlp_http_listen))?,
            ),
            Box::new(
                ZipkinReceiver::bind(config.zipkin_listen, ingestor)
                    .await
                    .with_context(|| format!("binding zipkin on {}", config.zipkin_listen))?,
            ),
        ];
        let api_listener = tokio::net::TcpListener::bind(config.http_listen)
            .await
            .with_context(|| format!("binding the http api on {}", config.http_listen))?;
        let http_addr = api_listener.local_addr()?;
        let addresses: Vec<SocketAddr> = receivers
            .iter()
            .map(|receiver| receiver.local_addr())
            .collect();

        let queue_depth = Gauge::default();
        registry.register(
            "weft_queue_depth_records",
            "Batches in the durable queue the pipeline has not processed yet",
            queue_depth.clone(),
        );
        let tiers: weft_api::query_api::Store = Arc::new(Tiers {
            hot: store.clone(),
            cold: cold_store.clone(),
            hot_retention: config.retention,
            logs: Arc::clone(&log_tiers),
        });
        let query_admission = weft_api::query_admission::QueryAdmission::new(
            weft_api::query_admission::QueryAdmissionConfig::with_max_running(
                config.max_concurrent_queries,
            ),
            &mut registry,
        );
        let state = ApiState {
            query_admission,
            registry: Arc::new(registry),
            bus: Arc::new(WalBus(wal.clone())),
            pipeline_position: pipeline.position_reader(),
            queue_depth,
            store: Arc::clone(&tiers),
            diagnostics: weft_api::diagnostics_api::DiagnosticsApiState {
                hub: diagnostics_hub,
                store: tiers,
            },
            store_gauges,
            metrics: metrics_hub.clone(),
            sampling: SamplingApiState {
                hub: Arc::clone(&sampling_hub),
                hot: store.clone(),
                cold: cold_store.clone(),
                progress: cold_progress,
                hot_retention: config.retention,
                cold_retention: config.cold_retention,
                logs: Arc::clone(&log_tiers),
            },
        };

        let (shutdown, shutdown_receiver) = watch::channel(false);
        let mut servers = JoinSet::new();
        for receiver in receivers {
            let name = receiver.name();
            let run = receiver.run(shutdown_signal(&shutdown_receiver));
            servers.spawn(async move { (name, run.await) });
        }
        let api_shutdown = shutdown_signal(&shutdown_receiver);
        servers.spawn(async move {
            let served = axum::serve(api_listener, api::router(state))
                .with_graceful_shutdown(api_shutdown)
                .await;
            ("http_api", served)
        });

        let demo = config.demo.then(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let options = weft_gen::GenOptions {
                endpoint: format!("http://{}", loopback_of(addresses[0])),
                spans_per_second: Some(config.demo_spans_per_second),
                concurrency: 1,
                traces_per_request: 5,
                seed: std::process::id().into(),
                // A little of every pathology, so the diagnostics pages have something to show.
                scenarios: weft_gen::Scenarios {
                    broken_trace: 0.01,
                    bottleneck: 0.02,
                    timeout_misconfiguration: 0.02,
                    cycle: 0.01,
                    ..weft_gen::Scenarios::default()
                },
                ..weft_gen::GenOptions::default()
            };
            let task_stop = Arc::clone(&stop);
            let task = tokio::spawn(async move {
                if let Err(error) = weft_gen::run(options, task_stop, |_| {}).await {
                    tracing::error!(%error, "demo generator stopped");
                }
            });
            (stop, task)
        });

        Ok(ServeHandle {
            otlp_grpc_addr: addresses[0],
            otlp_http_addr: addresses[1],
            zipkin_addr: addresses[2],
            http_addr,
            shutdown,
            servers,
            demo,
            pipeline,
            wal,
            store,
            cold_store,
            cold_writer: (cold_stop, cold_thread),
            logs: (log_tiers, log_maintenance_stop, log_maintenance),
            metrics: metrics_hub,
            _data_dir_lock: data_dir_lock,
        })
    }

    /// Graceful shutdown: stop the demo, stop accepting, finish in-flight requests, let the
    /// pipeline process and flush everything acknowledged, then close the WAL.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some((stop, task)) = self.demo.take() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        let _ = self.shutdown.send(true);
        // Connections get a bounded time to finish their requests: a client that keeps an
        // idle HTTP/2 connection open must not hold the shutdown (what was acknowledged is in
        // the WAL; what was not will be retried by the client).
        let drain = async {
            while let Some(joined) = self.servers.join_next().await {
                match joined {
                    Ok((name, Err(error))) => {
                        tracing::error!(server = name, %error, "server failed")
                    }
                    Ok((name, Ok(()))) => tracing::debug!(server = name, "server stopped"),
                    Err(error) if error.is_cancelled() => {}
                    Err(error) => tracing::error!(%error, "server task panicked"),
                }
            }
        };
        if tokio::time::timeout(SHUTDOWN_DRAIN_TIMEOUT, drain)
            .await
            .is_err()
        {
            tracing::warn!(
                open_servers = self.servers.len(),
                "connections still open after the drain timeout; closing them"
            );
            self.servers.abort_all();
            while self.servers.join_next().await.is_some() {}
        }
        let pipeline = self.pipeline;
        let wal = self.wal;
        let store = self.store;
        let cold_store = self.cold_store;
        let (cold_stop, cold_thread) = self.cold_writer;
        let (log_tiers, log_maintenance_stop, log_maintenance) = self.logs;
        let metrics = self.metrics;
        tokio::task::spawn_blocking(move || {
            cold_stop.store(true, std::sync::atomic::Ordering::Release);
            if cold_thread.join().is_err() {
                tracing::error!("the cold writer thread panicked");
            }
            if let Err(error) = cold_store.close() {
                tracing::error!(%error, "closing the cold tier failed");
            }
            if let Err(error) = log_tiers.cold.flush() {
                tracing::error!(%error, "closing the cold log store failed");
            }
            let drained = pipeline.shutdown();
            log_maintenance_stop.store(true, std::sync::atomic::Ordering::Release);
            if log_maintenance.join().is_err() {
                tracing::error!("the log maintenance thread panicked");
            }
            if let Some(metrics) = metrics {
                metrics.store.close();
            }
            let closed = store.close();
            wal.close();
            drained?;
            closed.map_err(|error| weft_pipeline::PipelineError::Processor {
                processor: "store".into(),
                message: error.to_string(),
            })
        })
        .await
        .context("joining the pipeline")?
        .context("draining the pipeline")?;
        Ok(())
    }

    /// The one line scripts and tests read to learn the bound addresses (useful with port 0).
    pub fn listening_line(&self) -> String {
        format!(
            "weft listening otlp_grpc={} otlp_http={} zipkin={} http={}",
            self.otlp_grpc_addr, self.otlp_http_addr, self.zipkin_addr, self.http_addr
        )
    }
}

async fn termination_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// `weft serve`: runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let handle = ServeHandle::start(config).await?;
    println!("{}", handle.listening_line());
    tracing::info!(
        otlp_grpc = %handle.otlp_grpc_addr,
        otlp_http = %handle.otlp_http_addr,
        zipkin = %handle.zipkin_addr,
        http = %handle.http_addr,
        "weft is ready"
    );
    termination_signal().await;
    tracing::info!("shutting down");
    handle.stop().await?;
    tracing::info!("stopped");
    Ok(())
}
