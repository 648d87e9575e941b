//! The storage module of the all-in-one shape: the hot and cold span stores and log stores on
//! local disk, which the processor role writes and the query role reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use weft_store::{EmbeddedStore, LogStore, LogStoreConfig};

use crate::ServeConfig;

/// How often retention and compaction run over the log stores.
const LOG_MAINTENANCE_INTERVAL: Duration = Duration::from_secs(30);

pub(crate) struct EmbeddedStorage {
    pub hot: Arc<EmbeddedStore>,
    pub cold: Arc<EmbeddedStore>,
    /// The log stores' retention and compaction (the span stores run their own).
    log_maintenance: StoppableThread,
    pub hot_logs: Arc<LogStore>,
    pub cold_logs: Arc<LogStore>,
}

/// A background thread and the flag that stops it.
pub(crate) struct StoppableThread {
    pub stop: Arc<AtomicBool>,
    pub thread: std::thread::JoinHandle<()>,
}

impl StoppableThread {
    pub(crate) fn stop_and_join(self, name: &str) {
        self.stop.store(true, Ordering::Release);
        if self.thread.join().is_err() {
            tracing::error!(thread = name, "thread panicked");
        }
    }
}

impl EmbeddedStorage {
    pub(crate) fn open(config: &ServeConfig, registry: &mut Registry) -> anyhow::Result<Self> {
        let hot = EmbeddedStore::open(config.store.hot_store_config(&config.data_dir))
            .context("opening the span store")?;
        let cold = EmbeddedStore::open(
            config
                .cold
                .cold_store_config(&config.store, &config.data_dir),
        )
        .context("opening the cold tier")?;
        let log_store = |name: &str, retention: Duration| {
            LogStore::open(LogStoreConfig {
                retention,
                ..LogStoreConfig::new(config.data_dir.join(name))
            })
            .map(Arc::new)
        };
        let hot_logs =
            log_store("logs", config.store.retention).context("opening the log store")?;
        let cold_logs =
            log_store("cold-logs", config.cold.retention).context("opening the cold log store")?;
        let stop = Arc::new(AtomicBool::new(false));
        let log_maintenance = StoppableThread {
            thread: spawn_log_maintenance(
                Arc::clone(&hot_logs),
                Arc::clone(&cold_logs),
                LogStoreGauges::register(registry),
                Arc::clone(&stop),
            ),
            stop,
        };
        Ok(EmbeddedStorage {
            hot: Arc::new(hot),
            cold: Arc::new(cold),
            log_maintenance,
            hot_logs,
            cold_logs,
        })
    }

    /// Makes everything durable and stops the stores' threads, once no one writes any more.
    /// A cold-tier failure is logged (what it lost is copied again from the hot tier on
    /// restart); the hot store's is returned.
    pub(crate) fn close(self) -> anyhow::Result<()> {
        self.log_maintenance.stop_and_join("log maintenance");
        if let Err(error) = self.cold.close() {
            tracing::error!(%error, "closing the cold tier failed");
        }
        if let Err(error) = self.cold_logs.flush() {
            tracing::error!(%error, "closing the cold log store failed");
        }
        self.hot.close().context("closing the span store")
    }
}

/// Gauges of both log stores, refreshed by the maintenance thread and on scrape-free ticks.
#[derive(Clone, Default)]
pub(crate) struct LogStoreGauges {
    hot_records: Gauge,
    hot_files: Gauge,
    hot_bytes: Gauge,
    cold_records: Gauge,
    cold_files: Gauge,
    cold_bytes: Gauge,
}

impl LogStoreGauges {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let gauges = LogStoreGauges::default();
        for (name, help, gauge) in [
            (
                "weft_logs_hot_records",
                "Log records committed to the hot log store",
                &gauges.hot_records,
            ),
            (
                "weft_logs_hot_files",
                "Parquet files of the hot log store",
                &gauges.hot_files,
            ),
            (
                "weft_logs_hot_bytes",
                "Bytes on disk of the hot log store",
                &gauges.hot_bytes,
            ),
            (
                "weft_logs_cold_records",
                "Log records committed to the cold log store",
                &gauges.cold_records,
            ),
            (
                "weft_logs_cold_files",
                "Parquet files of the cold log store",
                &gauges.cold_files,
            ),
            (
                "weft_logs_cold_bytes",
                "Bytes on disk of the cold log store",
                &gauges.cold_bytes,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        gauges
    }

    fn refresh(&self, hot: &LogStore, cold: &LogStore) {
        let hot = hot.stats();
        let cold = cold.stats();
        weft_observe::set_count(&self.hot_records, hot.records);
        weft_observe::set_count(&self.hot_files, hot.files as u64);
        weft_observe::set_count(&self.hot_bytes, hot.bytes);
        weft_observe::set_count(&self.cold_records, cold.records);
        weft_observe::set_count(&self.cold_files, cold.files as u64);
        weft_observe::set_count(&self.cold_bytes, cold.bytes);
    }
}

/// Runs retention and compaction on both log stores until `stop` is set.
pub(crate) fn spawn_log_maintenance(
    hot: Arc<LogStore>,
    cold: Arc<LogStore>,
    gauges: LogStoreGauges,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("weft-log-maintenance".into())
        .spawn(move || {
            let mut next = Instant::now();
            while !stop.load(Ordering::Acquire) {
                if Instant::now() >= next {
                    for (tier, store) in [("hot", &hot), ("cold", &cold)] {
                        if let Err(error) = store.maintain(weft_model::now_unix_nanos()) {
                            tracing::warn!(tier, %error, "log store maintenance failed; retrying later");
                        }
                    }
                    gauges.refresh(&hot, &cold);
                    next = Instant::now() + LOG_MAINTENANCE_INTERVAL;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .expect("spawning the log maintenance thread")
}
