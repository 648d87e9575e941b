//! `weft collector`, `weft processor` and `weft query`: one role per process, the distributed
//! shape. The collector's receivers append to Kafka ([`weft_kafka::KafkaBusWriter`]); each
//! processor joins the consumer group and runs one pipeline per assigned partition, writing
//! spans to ClickHouse ([`weft_clickhouse::ClickHousePartitionWriter`]); the query node serves
//! the API and UI over ClickHouse ([`weft_clickhouse::ClickHouseStore`]). The builders are the
//! ones `weft serve` composes, over the other bus and store.
//!
//! Each role also serves `/health` and `/metrics` on `--http-listen` (the query node's API has
//! them already).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use weft_clickhouse::{ClickHouseLogWriter, ClickHousePartitionWriter, ClickHouseStore};
use weft_kafka::{
    KafkaBusWriter, KafkaGroupConsumer, KafkaPartitionReader, PartitionHandler, PartitionLag,
    PartitionProgress,
};
use weft_observe::ComponentMetricFamilies;
use weft_pipeline::{Pipeline, PipelineHandle, PipelineOptions};
use weft_processors::logs::LogStoreWriter;
use weft_processors::store_writer::SpanStoreWriter;

use crate::collector::CollectorRole;
use crate::query::QueryRole;
use crate::serve::termination_signal;
use crate::servers::Servers;
use crate::ServeConfig;

/// A role of the distributed shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Collector,
    Processor,
    Query,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Collector => "collector",
            Role::Processor => "processor",
            Role::Query => "query",
        }
    }
}

/// Reads the configuration like `weft serve`, then runs the role until SIGINT or SIGTERM.
pub async fn run_role(role: Role, args: crate::ServeArgs) -> anyhow::Result<()> {
    let config = crate::ServeConfig::resolve(args)?;
    match role {
        Role::Collector => run_collector(config).await,
        Role::Processor => run_processor(config).await,
        Role::Query => run_query(config).await,
    }
}

/// `/health` of a collector or processor.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleHealthAnswer {
    status: &'static str,
    role: &'static str,
    /// A processor's assigned partitions, by topic and partition (empty for a collector).
    partitions: Vec<PartitionLagAnswer>,
    /// The sum of the partitions' lag: records written to Kafka whose effects are not durable.
    lag_records: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PartitionLagAnswer {
    topic: String,
    partition: u32,
    /// The next Kafka offset to read, to commit and to be written (`o + 1` for a position).
    read_offset: u64,
    committed_offset: u64,
    high_watermark: u64,
    /// `highWatermark − committedOffset`, Kafka's consumer lag.
    lag_records: u64,
    unread_records: u64,
}

impl From<&PartitionLag> for PartitionLagAnswer {
    fn from(lag: &PartitionLag) -> Self {
        PartitionLagAnswer {
            topic: lag.topic.clone(),
            partition: lag.partition,
            read_offset: lag.read_position,
            committed_offset: lag.committed_position,
            high_watermark: lag.head_position,
            lag_records: lag.lag_records(),
            unread_records: lag.unread_records(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PartitionLabels {
    topic: String,
    partition: u32,
}

/// The processor's per-partition gauges, set from the partitions' progress at every scrape
/// (and cleared first, so a revoked partition's series goes).
#[derive(Clone, Default)]
struct PartitionLagGauges {
    lag_records: Family<PartitionLabels, Gauge>,
    unread_records: Family<PartitionLabels, Gauge>,
    committed_offset: Family<PartitionLabels, Gauge>,
    high_watermark: Family<PartitionLabels, Gauge>,
}

impl PartitionLagGauges {
    fn register(registry: &mut Registry) -> Self {
        let gauges = PartitionLagGauges::default();
        registry.register(
            "weft_kafka_partition_lag_records",
            "Records of an assigned partition written to Kafka whose effects are not durable yet (high watermark minus committed offset)",
            gauges.lag_records.clone(),
        );
        registry.register(
            "weft_kafka_partition_unread_records",
            "Records of an assigned partition written to Kafka and not read yet",
            gauges.unread_records.clone(),
        );
        registry.register(
            "weft_kafka_partition_committed_offset",
            "The group's committed offset of an assigned partition",
            gauges.committed_offset.clone(),
        );
        registry.register(
            "weft_kafka_partition_high_watermark",
            "An assigned partition's high watermark",
            gauges.high_watermark.clone(),
        );
        gauges
    }

    fn set(&self, lags: &[PartitionLag]) {
        let families = [
            &self.lag_records,
            &self.unread_records,
            &self.committed_offset,
            &self.high_watermark,
        ];
        for family in families {
            family.clear();
        }
        for lag in lags {
            let labels = PartitionLabels {
                topic: lag.topic.clone(),
                partition: lag.partition,
            };
            let gauge = |family: &Family<PartitionLabels, Gauge>, value: u64| {
                family
                    .get_or_create(&labels)
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            };
            gauge(&self.lag_records, lag.lag_records());
            gauge(&self.unread_records, lag.unread_records());
            gauge(&self.committed_offset, lag.committed_position);
            gauge(&self.high_watermark, lag.head_position);
        }
    }
}

/// What a role's `/health` and `/metrics` read.
#[derive(Clone)]
struct RoleHttpState {
    role: Role,
    registry: Arc<Registry>,
    /// A processor's partitions and their gauges.
    partitions: Option<(Arc<ProcessorPartitions>, PartitionLagGauges)>,
}

impl RoleHttpState {
    /// The assigned partitions' lag, asking the broker for high watermarks (blocking).
    async fn partition_lags(&self) -> Vec<PartitionLag> {
        let Some((partitions, gauges)) = self.partitions.clone() else {
            return Vec::new();
        };
        tokio::task::spawn_blocking(move || {
            let lags = partitions.lags();
            gauges.set(&lags);
            lags
        })
        .await
        .unwrap_or_default()
    }
}

async fn role_health(State(state): State<RoleHttpState>) -> Json<RoleHealthAnswer> {
    let lags = state.partition_lags().await;
    Json(RoleHealthAnswer {
        status: "ok",
        role: state.role.name(),
        lag_records: lags.iter().map(PartitionLag::lag_records).sum(),
        partitions: lags.iter().map(PartitionLagAnswer::from).collect(),
    })
}

async fn role_metrics(State(state): State<RoleHttpState>) -> axum::response::Response {
    state.partition_lags().await;
    weft_api::metrics_api::openmetrics_response(&state.registry, "metrics")
}

/// A role's own `/health` and `/metrics`.
fn role_router(state: RoleHttpState) -> Router {
    Router::new()
        .route("/health", get(role_health))
        .route("/metrics", get(role_metrics))
        .with_state(state)
}

async fn serve_role_http(
    config: &ServeConfig,
    state: RoleHttpState,
    servers: &mut Servers,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(config.api.http_listen)
        .await
        .with_context(|| format!("binding the http port on {}", config.api.http_listen))?;
    let address = listener.local_addr()?;
    let shutdown = servers.shutdown_signal();
    let served = axum::serve(listener, role_router(state)).with_graceful_shutdown(shutdown);
    servers.spawn("http", async move { served.await });
    Ok(address)
}

/// `weft collector`: the receivers of `weft serve`, acknowledging a request once Kafka has
/// every record of it. Stateless: no data directory.
async fn run_collector(config: ServeConfig) -> anyhow::Result<()> {
    let bus_config = config.kafka.bus_config("weft-collector")?;
    let bus = tokio::task::spawn_blocking(move || KafkaBusWriter::connect(&bus_config))
        .await
        .context("joining the kafka connect")??;
    let mut registry = Registry::default();
    let families = ComponentMetricFamilies::register(&mut registry);
    let collector =
        CollectorRole::bind(&config, Arc::clone(&bus) as _, &mut registry, families).await?;
    let addresses = collector.addresses;
    let mut servers = Servers::new();
    collector.serve(&mut servers);
    let state = RoleHttpState {
        role: Role::Collector,
        registry: Arc::new(registry),
        partitions: None,
    };
    let http = serve_role_http(&config, state, &mut servers).await?;
    println!(
        "weft listening role=collector otlp_grpc={} otlp_http={} zipkin={} http={http}",
        addresses.otlp_grpc, addresses.otlp_http, addresses.zipkin
    );
    tracing::info!(brokers = ?config.kafka.brokers, topic = %config.kafka.topic, "weft collector is ready");
    termination_signal().await;
    tracing::info!("shutting down");
    servers.stop().await;
    tokio::task::spawn_blocking(move || bus.flush(Duration::from_secs(10)))
        .await
        .context("flushing the kafka producer")?;
    Ok(())
}

/// One partition's running pipeline.
struct PartitionPipeline {
    pipeline: PipelineHandle,
    progress: Arc<PartitionProgress>,
    /// Tells the partition's writer to stop retrying a failing insert: the partition is being
    /// handed over, and its next owner replays what was not committed.
    closing: Arc<AtomicBool>,
}

/// The processor role's answer to the group: a pipeline per assigned partition.
struct ProcessorPartitions {
    config: ServeConfig,
    store: Arc<ClickHouseStore>,
    families: ComponentMetricFamilies,
    running: Mutex<HashMap<(String, u32), PartitionPipeline>>,
}

impl ProcessorPartitions {
    fn start_pipeline(&self, reader: KafkaPartitionReader) -> anyhow::Result<PartitionPipeline> {
        let closing = Arc::new(AtomicBool::new(false));
        let progress = reader.progress();
        let settings = self.config.clickhouse.writer_settings();
        let processor: Box<dyn weft_pipeline::Processor> = if reader.carries_logs() {
            let writer = ClickHouseLogWriter::open(
                Arc::clone(&self.store),
                reader.topic(),
                reader.partition_number(),
            )
            .context("reading the logs partition's checkpoint from clickhouse")?;
            // A logs partition commits on the span writer's batch settings: as often, as large.
            Box::new(LogStoreWriter::new(
                Arc::new(writer),
                settings.batch_age,
                settings.batch_spans,
            ))
        } else {
            let writer = ClickHousePartitionWriter::open(
                Arc::clone(&self.store),
                reader.topic(),
                reader.partition_number(),
                settings,
                Arc::clone(&closing),
            )
            .context("reading the partition's checkpoint from clickhouse")?;
            Box::new(SpanStoreWriter::new(Arc::new(writer)))
        };
        // Per-partition pipeline gauges stay in a registry of their own; the component
        // counters (received, sent, dropped, errors) are the process's.
        let mut pipeline_registry = Registry::default();
        let mut pipeline = Pipeline::new(
            PipelineOptions {
                conversion: self.config.store.conversion(),
                ..PipelineOptions::default()
            },
            self.families.clone(),
            &mut pipeline_registry,
        );
        pipeline.add(processor);
        let pipeline = pipeline
            .start(Box::new(reader))
            .context("starting the partition's pipeline")?;
        Ok(PartitionPipeline {
            pipeline,
            progress,
            closing,
        })
    }

    /// Every running partition's lag, by topic and partition.
    fn lags(&self) -> Vec<PartitionLag> {
        let progress: Vec<Arc<PartitionProgress>> = self
            .running
            .lock()
            .values()
            .map(|running| Arc::clone(&running.progress))
            .collect();
        // Outside the lock: asking the broker blocks, and a rebalance needs the lock.
        let mut lags: Vec<PartitionLag> = progress.iter().map(|progress| progress.lag()).collect();
        lags.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        lags
    }

    fn stop_all(&self) {
        let running: Vec<_> = self.running.lock().drain().collect();
        for ((topic, partition), running) in running {
            stop_pipeline(&topic, partition, running);
        }
    }
}

fn stop_pipeline(topic: &str, partition: u32, running: PartitionPipeline) {
    running
        .closing
        .store(true, std::sync::atomic::Ordering::Release);
    if let Err(error) = running.pipeline.shutdown() {
        tracing::error!(topic, partition, %error, "the partition's pipeline stopped with an error");
    }
}

impl PartitionHandler for ProcessorPartitions {
    fn assigned(&self, reader: KafkaPartitionReader) {
        let key = (reader.topic().to_owned(), reader.partition_number());
        match self.start_pipeline(reader) {
            Ok(running) => {
                self.running.lock().insert(key, running);
            }
            // The partition stays unread here; its lag shows it, and the next rebalance (or a
            // restart) tries again.
            Err(error) => tracing::error!(
                topic = %key.0,
                partition = key.1,
                error = format!("{error:#}"),
                "starting a partition's pipeline failed"
            ),
        }
    }

    fn revoked(&self, topic: &str, partition: u32) {
        let running = self.running.lock().remove(&(topic.to_owned(), partition));
        if let Some(running) = running {
            stop_pipeline(topic, partition, running);
        }
    }
}

/// How often a processor applies retention to ClickHouse. Partitions are days, so a day's
/// partition goes at most this long after its last span passed the retention.
const CLICKHOUSE_RETENTION_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Drops expired day partitions now and every [`CLICKHOUSE_RETENTION_INTERVAL`] until the
/// role stops. Every processor runs it: dropping a partition is idempotent, and any one
/// processor alive keeps retention going.
fn spawn_clickhouse_retention(store: Arc<ClickHouseStore>, servers: &mut Servers) {
    let mut shutdown = servers.shutdown_signal();
    servers.spawn("clickhouse-retention", async move {
        loop {
            let store = Arc::clone(&store);
            let applied = tokio::task::spawn_blocking(move || {
                store.apply_retention(weft_model::now_unix_nanos())
            })
            .await;
            match applied {
                Ok(Ok(dropped)) if !dropped.is_empty() => {
                    tracing::info!(?dropped, "clickhouse retention dropped partitions")
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "clickhouse retention failed; retrying later")
                }
                Err(error) => tracing::error!(%error, "clickhouse retention task failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(CLICKHOUSE_RETENTION_INTERVAL) => {}
                _ = &mut shutdown => return Ok(()),
            }
        }
    });
}

/// `weft processor`: a member of the consumer group running a pipeline per assigned partition,
/// committing a partition's offset only once its spans are durable in ClickHouse.
async fn run_processor(config: ServeConfig) -> anyhow::Result<()> {
    let bus_config = config.kafka.bus_config("weft-processor")?;
    let store_config = config.clickhouse.store_config(&config.store)?;
    let store = tokio::task::spawn_blocking(move || ClickHouseStore::connect(&store_config))
        .await
        .context("joining the clickhouse connect")?
        .context("connecting to clickhouse")?;
    let mut registry = Registry::default();
    let families = ComponentMetricFamilies::register(&mut registry);
    let lag_gauges = PartitionLagGauges::register(&mut registry);
    let partitions = Arc::new(ProcessorPartitions {
        config: config.clone(),
        store: Arc::clone(&store),
        families,
        running: Mutex::new(HashMap::new()),
    });
    let group = config.kafka.group.clone();
    let handler = Arc::clone(&partitions);
    let consumer = tokio::task::spawn_blocking(move || {
        KafkaGroupConsumer::start(&bus_config, &group, handler as _)
    })
    .await
    .context("joining the kafka consumer start")??;
    let mut servers = Servers::new();
    let state = RoleHttpState {
        role: Role::Processor,
        registry: Arc::new(registry),
        partitions: Some((Arc::clone(&partitions), lag_gauges)),
    };
    let http = serve_role_http(&config, state, &mut servers).await?;
    spawn_clickhouse_retention(store, &mut servers);
    println!("weft listening role=processor http={http}");
    tracing::info!(group = %config.kafka.group, "weft processor is ready");
    termination_signal().await;
    tracing::info!("shutting down: leaving the group");
    tokio::task::spawn_blocking(move || {
        // Leaving the group revokes every partition: each pipeline flushes and commits.
        consumer.stop();
        partitions.stop_all();
    })
    .await
    .context("leaving the consumer group")?;
    servers.stop().await;
    Ok(())
}

/// `weft query`: the HTTP API and UI over ClickHouse, holding no processor state.
async fn run_query(config: ServeConfig) -> anyhow::Result<()> {
    let store_config = config.clickhouse.store_config(&config.store)?;
    let store = tokio::task::spawn_blocking(move || ClickHouseStore::connect(&store_config))
        .await
        .context("joining the clickhouse connect")?
        .context("connecting to clickhouse")?;
    let query = QueryRole::bind_distributed(
        &config,
        Arc::clone(&store) as _,
        store as _,
        Registry::default(),
    )
    .await?;
    let mut servers = Servers::new();
    let http = query.http_addr;
    query.serve(&mut servers);
    println!("weft listening role=query http={http}");
    tracing::info!("weft query is ready");
    termination_signal().await;
    tracing::info!("shutting down");
    servers.stop().await;
    Ok(())
}
