//! The processor role: the pipeline over one bus partition with every server-side processor
//! (store writer, log writer, sampling, span metrics and topology, diagnostics, capture), the
//! cold writer beside it.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use prometheus_client::registry::Registry;
use weft_bus::BusReader;
use weft_codec::ConversionOptions;
use weft_metrics::topology::TopologyConfig;
use weft_metrics::{ExemplarPolicy, SpanMetricsConfig};
use weft_observe::ComponentMetricFamilies;
use weft_pipeline::{CaptureSink, Pipeline, PipelineHandle, PipelineOptions, PositionReader};
use weft_processors::cold_writer::{
    ColdProgress, ColdWriter, ColdWriterSettings, ColdWriterStores,
};
use weft_processors::diagnostics::{DiagnosticsHub, DiagnosticsProcessor, DiagnosticsSettings};
use weft_processors::logs::LogStoreWriter;
use weft_processors::metrics_hub::{MetricsHub, MetricsProcessor, MetricsSettings};
use weft_processors::sampling::{SamplingHub, SamplingProcessor, SamplingSettings};
use weft_processors::store_writer::SpanStoreWriter;
use weft_store::metrics::{MetricStore, MetricStoreConfig};

use crate::storage::{EmbeddedStorage, StoppableThread};
use crate::ServeConfig;

/// The state the processors share with the query side. In the all-in-one shape the API reads
/// it in memory; the distributed query role will read it from the stores instead.
#[derive(Clone)]
pub(crate) struct ProcessorState {
    pub sampling: Arc<SamplingHub>,
    pub diagnostics: Arc<DiagnosticsHub>,
    /// `None` with `--no-stream-metrics`.
    pub metrics: Option<Arc<MetricsHub>>,
    pub cold_progress: Arc<ColdProgress>,
    pub pipeline_position: PositionReader,
}

pub(crate) struct ProcessorRole {
    pub state: ProcessorState,
    pipeline: PipelineHandle,
    cold_writer: StoppableThread,
}

impl ProcessorRole {
    /// Restores every processor from its last checkpoint and starts the pipeline on `bus`
    /// (which it reads from the lowest durable position on), then the cold writer.
    pub(crate) fn start(
        config: &ServeConfig,
        storage: &EmbeddedStorage,
        bus: Box<dyn BusReader>,
        registry: &mut Registry,
        families: &ComponentMetricFamilies,
    ) -> anyhow::Result<Self> {
        let sampling = open_sampling_hub(config, registry)?;
        let diagnostics = DiagnosticsHub::open(
            config.data_dir.join("diagnostics"),
            DiagnosticsSettings {
                config: config.diagnostics.clone(),
                checkpoint_interval: config.metrics_checkpoint_interval,
                summary_retention: config.retention,
            },
            registry,
        )?;
        let metrics = if config.stream_metrics {
            Some(open_metrics_hub(config, registry)?)
        } else {
            tracing::info!("stream metrics are off (--no-stream-metrics)");
            None
        };
        let mut pipeline = Pipeline::new(
            PipelineOptions {
                conversion: ConversionOptions {
                    business_key_names: config.business_keys.clone(),
                },
                ..PipelineOptions::default()
            },
            families.clone(),
            registry,
        );
        pipeline.add(Box::new(SpanStoreWriter::new(storage.hot.clone())));
        pipeline.add(Box::new(LogStoreWriter::new(
            Arc::clone(&storage.hot_logs) as _,
            config.store_flush_interval,
            config.store_flush_spans,
        )));
        pipeline.add(Box::new(SamplingProcessor::new(Arc::clone(&sampling))));
        if let Some(hub) = &metrics {
            pipeline.add(Box::new(MetricsProcessor::new(Arc::clone(hub))));
        }
        pipeline.add(Box::new(DiagnosticsProcessor::new(Arc::clone(
            &diagnostics,
        ))));
        if let Some(path) = &config.capture_file {
            pipeline.add(Box::new(
                CaptureSink::open(path, config.capture_flush_interval)
                    .with_context(|| format!("opening capture file {}", path.display()))?,
            ));
        }
        let pipeline = pipeline.start(bus).context("starting the pipeline")?;
        let (cold_writer, cold_progress) = start_cold_writer(config, storage, &sampling, families);
        Ok(ProcessorRole {
            state: ProcessorState {
                sampling,
                diagnostics,
                metrics,
                cold_progress,
                pipeline_position: pipeline.position_reader(),
            },
            pipeline,
            cold_writer,
        })
    }

    /// Stops the cold writer, lets the pipeline process what the bus holds and flush every
    /// processor, then closes the metric store. Blocks.
    pub(crate) fn stop(self) -> Result<(), weft_pipeline::PipelineError> {
        self.cold_writer.stop_and_join("cold writer");
        let drained = self.pipeline.shutdown();
        if let Some(metrics) = &self.state.metrics {
            metrics.store.close();
        }
        drained
    }
}

fn open_sampling_hub(
    config: &ServeConfig,
    registry: &mut Registry,
) -> anyhow::Result<Arc<SamplingHub>> {
    SamplingHub::open(
        config.data_dir.join("sampling"),
        config.sampling_rules.clone(),
        SamplingSettings {
            shard_width_seconds: config.sampling_shard_seconds,
            sizing: config.sampling_sizing,
            cold_delay: config.cold_delay,
            checkpoint_interval: config.metrics_checkpoint_interval,
            max_clock_skew: config.max_clock_skew,
        },
        registry,
    )
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

fn start_cold_writer(
    config: &ServeConfig,
    storage: &EmbeddedStorage,
    sampling: &Arc<SamplingHub>,
    families: &ComponentMetricFamilies,
) -> (StoppableThread, Arc<ColdProgress>) {
    let stop = Arc::new(AtomicBool::new(false));
    let width = u64::from(config.sampling_shard_seconds);
    let (cold_writer, progress) = ColdWriter::new(
        ColdWriterStores {
            hot: storage.hot.clone(),
            cold: storage.cold.clone(),
            hot_logs: Arc::clone(&storage.hot_logs) as _,
            cold_logs: Arc::clone(&storage.cold_logs) as _,
        },
        Arc::clone(sampling),
        ColdWriterSettings {
            traces_per_part: config.cold_traces_per_part,
            windows_back: u32::try_from(config.cold_delay.as_secs().div_ceil(width).clamp(1, 64))
                .expect("at most 64"),
            idle_interval: Duration::from_secs(1).min(Duration::from_secs(width)),
            crash_point: config.cold_crash_point.clone(),
        },
        families.component("sink", "cold_writer"),
        Arc::clone(&stop),
    );
    let thread = cold_writer.spawn();
    (StoppableThread { stop, thread }, progress)
}
