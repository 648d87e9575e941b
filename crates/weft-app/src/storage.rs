//! The storage module of the all-in-one shape: the hot and cold span stores and log stores on
//! local disk, which the processor role writes and the query role reads.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use weft_codec::ConversionOptions;
use weft_query::tiers::LogTiers;
use weft_store::{EmbeddedStore, LogStore, LogStoreConfig, StoreConfig};

use crate::ServeConfig;

pub(crate) struct EmbeddedStorage {
    pub hot: Arc<EmbeddedStore>,
    pub cold: Arc<EmbeddedStore>,
    pub logs: Arc<LogTiers>,
}

impl EmbeddedStorage {
    pub(crate) fn open(config: &ServeConfig) -> anyhow::Result<Self> {
        let conversion = ConversionOptions {
            business_key_names: config.business_keys.clone(),
        };
        let hot = EmbeddedStore::open(StoreConfig {
            retention: config.retention,
            flush_interval: config.store_flush_interval,
            flush_max_spans: config.store_flush_spans,
            max_scanned_spans_per_search: config.max_search_scan_spans,
            conversion: conversion.clone(),
            crash_point: config.store_crash_point.clone(),
            ..StoreConfig::new(config.data_dir.join("store"))
        })
        .context("opening the span store")?;
        let cold = EmbeddedStore::open(StoreConfig {
            retention: config.cold_retention,
            // The cold writer commits each part with one explicit flush, so a part is in the
            // cold tier whole or not at all: no flush by age or size in between.
            flush_interval: Duration::MAX,
            flush_max_spans: usize::MAX,
            max_scanned_spans_per_search: config.max_search_scan_spans,
            conversion,
            crash_point: config
                .cold_crash_point
                .clone()
                .filter(|step| weft_store::CRASH_POINTS.contains(&step.as_str())),
            ..StoreConfig::new(config.data_dir.join("cold"))
        })
        .context("opening the cold tier")?;
        let log_store = |name: &str, retention: Duration| {
            LogStore::open(LogStoreConfig {
                retention,
                ..LogStoreConfig::new(config.data_dir.join(name))
            })
            .map(Arc::new)
        };
        let logs = LogTiers {
            hot: log_store("logs", config.retention).context("opening the log store")?,
            cold: log_store("cold-logs", config.cold_retention)
                .context("opening the cold log store")?,
        };
        Ok(EmbeddedStorage {
            hot: Arc::new(hot),
            cold: Arc::new(cold),
            logs: Arc::new(logs),
        })
    }

    /// Makes everything durable and stops the stores' threads, once no one writes any more.
    /// A cold-tier failure is logged (what it lost is copied again from the hot tier on
    /// restart); the hot store's is returned.
    pub(crate) fn close(&self) -> anyhow::Result<()> {
        if let Err(error) = self.cold.close() {
            tracing::error!(%error, "closing the cold tier failed");
        }
        if let Err(error) = self.logs.cold.flush() {
            tracing::error!(%error, "closing the cold log store failed");
        }
        self.hot.close().context("closing the span store")
    }
}
