//! The Kafka bus of the distributed shape: [`KafkaBusWriter`] is the collector's `BusWriter`
//! (requests split by topic and trace-ID partition, [`split`]), [`KafkaGroupConsumer`] the
//! processor's consumer-group member that hands each assigned partition, as a
//! [`KafkaPartitionReader`] (a `BusReader`), to its own pipeline.
//!
//! A record is an OTLP protobuf `ExportTraceServiceRequest` keyed by the hex trace ID of its
//! first span — the OpenTelemetry Collector Kafka exporter's `otlp_proto` encoding — so a topic
//! written by either can be read by Weft. It speaks the Kafka protocol through librdkafka and
//! nothing broker-specific: no transactions, no idempotent producer (not every broker has them).
//!
//! Architecture invariant: only this crate knows Kafka; the roles see the bus traits.

use std::time::Duration;

pub mod consumer;
pub mod producer;
pub mod split;

pub use consumer::{
    KafkaGroupConsumer, KafkaPartitionReader, PartitionHandler, PartitionLag, PartitionProgress,
};
pub use producer::KafkaBusWriter;
pub use split::TopicRoutes;

#[cfg(test)]
mod tests;

/// librdkafka's own log lines and errors, as tracing events (its default context writes them
/// to the `log` crate, which this binary does not collect).
pub(crate) fn log_to_tracing(
    level: rdkafka::config::RDKafkaLogLevel,
    facility: &str,
    message: &str,
) {
    use rdkafka::config::RDKafkaLogLevel::*;
    match level {
        Emerg | Alert | Critical | Error => {
            tracing::error!(target: "librdkafka", facility, "{message}")
        }
        Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
        Notice | Info => tracing::info!(target: "librdkafka", facility, "{message}"),
        Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
    }
}

/// A client context that only sends librdkafka's logs to tracing.
#[derive(Clone, Copy, Default)]
pub struct TracingContext;

impl rdkafka::ClientContext for TracingContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        log_to_tracing(level, facility, message);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", %error, "{reason}");
    }
}

/// Why the Kafka bus could not start.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KafkaError {
    #[error("kafka configuration: {0}")]
    Config(String),
    #[error("kafka broker: {0}")]
    Broker(String),
}

/// Where the bus is and how it behaves.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `bootstrap.servers`: `host:port[,host:port…]`.
    pub brokers: String,
    pub client_id: String,
    pub routes: TopicRoutes,
    /// Where OTLP logs requests go (unset: a collector refuses logs with 503).
    pub logs_topic: Option<String>,
    /// The producer's buffer for records not yet acknowledged: the collector's memory bound.
    pub producer_queue_kbytes: u64,
    /// How long a record may wait for the broker before its request fails as unavailable.
    pub delivery_timeout: Duration,
    /// The largest record (producer `message.max.bytes`, consumer `max.partition.fetch.bytes`).
    pub max_record_bytes: usize,
    /// How long a processor may go silent before the group gives its partitions to others.
    pub session_timeout: Duration,
    pub metadata_timeout: Duration,
    pub metadata_refresh: Duration,
    /// Further librdkafka settings, as given (`--kafka-setting key=value`).
    pub extra_settings: Vec<(String, String)>,
}

impl KafkaConfig {
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> Self {
        KafkaConfig {
            brokers: brokers.into(),
            client_id: "weft".into(),
            routes: TopicRoutes {
                default_topic: topic.into(),
                service_topics: Default::default(),
            },
            logs_topic: None,
            producer_queue_kbytes: 256 * 1024,
            delivery_timeout: Duration::from_secs(10),
            max_record_bytes: 16 * 1024 * 1024,
            session_timeout: Duration::from_secs(10),
            metadata_timeout: Duration::from_secs(5),
            metadata_refresh: Duration::from_secs(30),
            extra_settings: Vec::new(),
        }
    }
}
