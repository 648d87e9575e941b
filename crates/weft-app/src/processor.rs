//! The processor role: the pipeline over one bus partition with every server-side processor
//! (store writer, log writer, sampling, span metrics and topology, diagnostics, capture), the
//! cold writer beside it.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;
use prometheus_client::registry::Registry;
use weft_bus::BusReader;
use weft_observe::ComponentMetricFamilies;
use weft_pipeline::{CaptureSink, Pipeline, PipelineHandle, PipelineOptions, PositionReader};
use weft_processors::cold_writer::{ColdProgress, ColdWriter, ColdWriterStores};
use weft_processors::diagnostics::{DiagnosticsHub, DiagnosticsProcessor, DiagnosticsSettings};
use weft_processors::logs::LogStoreWriter;
use weft_processors::metrics_hub::{MetricsHub, MetricsProcessor};
use weft_processors::sampling::{SamplingHub, SamplingProcessor};
use weft_processors::store_writer::SpanStoreWriter;
use weft_store::metrics::MetricStore;
use weft_store::summaries::{SummaryStore, SummaryStoreConfig};

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
        let diagnostics = open_diagnostics_hub(config, registry)?;
        let metrics = if config.metrics.enabled {
            Some(open_metrics_hub(config, registry)?)
        } else {
            tracing::info!("stream metrics are off (--no-stream-metrics)");
            None
        };
        let mut pipeline = Pipeline::new(
            PipelineOptions {
                conversion: config.store.conversion(),
                ..PipelineOptions::default()
            },
            families.clone(),
            registry,
        );
        pipeline.add(Box::new(SpanStoreWriter::new(storage.hot.clone())));
        pipeline.add(Box::new(LogStoreWriter::new(
            Arc::clone(&storage.hot_logs) as _,
            config.store.flush_interval,
            config.store.flush_spans,
        )));
        pipeline.add(Box::new(SamplingProcessor::new(Arc::clone(&sampling))));
        if let Some(hub) = &metrics {
            pipeline.add(Box::new(MetricsProcessor::new(Arc::clone(hub))));
        }
        pipeline.add(Box::new(DiagnosticsProcessor::new(Arc::clone(
            &diagnostics,
        ))));
        if let Some(path) = &config.capture.file {
            pipeline.add(Box::new(
                CaptureSink::open(path, config.capture.flush_interval)
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
        Arc::new(weft_store::FileShardStore::open(
            config.data_dir.join("sampling").join("shards"),
        )?),
        Arc::new(weft_store::FileCheckpointStore::open(
            config.data_dir.join("sampling"),
        )?),
        config.sampling.rules(),
        config.sampling.settings(
            &config.cold,
            config.metrics.checkpoint_interval,
            config.receivers.max_clock_skew,
        ),
        registry,
    )
}

/// Opens the summary store and restores the diagnoser from its last commit.
fn open_diagnostics_hub(
    config: &ServeConfig,
    registry: &mut Registry,
) -> anyhow::Result<Arc<DiagnosticsHub>> {
    let directory = config.data_dir.join("diagnostics");
    let (store, recovered) = SummaryStore::open(SummaryStoreConfig {
        retention: config.store.retention,
        statistics_retention: config.diagnostics.retention,
        ..SummaryStoreConfig::new(&directory)
    })
    .with_context(|| format!("opening the diagnostics store in {}", directory.display()))?;
    DiagnosticsHub::open(
        Arc::new(store),
        recovered.state,
        DiagnosticsSettings {
            config: config.diagnostics.diagnoser_config(),
            checkpoint_interval: config.metrics.checkpoint_interval,
        },
        registry,
    )
}

/// Opens the metric store and restores the metrics processor's state from its last commit.
fn open_metrics_hub(
    config: &ServeConfig,
    registry: &mut Registry,
) -> anyhow::Result<Arc<MetricsHub>> {
    let (metric_store, recovered_metrics) =
        MetricStore::open(config.metrics.store_config(&config.data_dir))
            .context("opening the metric store")?;
    MetricsHub::open(
        Arc::new(metric_store),
        recovered_metrics.state,
        config.metrics.settings(),
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
    let (cold_writer, progress) = ColdWriter::new(
        ColdWriterStores {
            hot: storage.hot.clone(),
            cold: storage.cold.clone(),
            hot_logs: Arc::clone(&storage.hot_logs) as _,
            cold_logs: Arc::clone(&storage.cold_logs) as _,
        },
        Arc::clone(sampling),
        config.cold.writer_settings(&config.sampling),
        families.component("sink", "cold_writer"),
        Arc::clone(&stop),
    );
    let thread = cold_writer.spawn();
    (StoppableThread { stop, thread }, progress)
}
