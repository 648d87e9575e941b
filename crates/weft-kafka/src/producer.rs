//! The collector's bus: each accepted request split by topic and trace-ID partition
//! ([`crate::split`]) and produced with `acks=all`; the request is acknowledged once Kafka has
//! acknowledged every one of its records.
//!
//! Memory is bounded by librdkafka's producer queue (`queue.buffering.max.kbytes` and
//! `.messages`): when it is full, `send_result` refuses at once and the request is shed with
//! backpressure (429 / RESOURCE_EXHAUSTED and a retry hint). A broker that does not take a
//! record within `message.timeout.ms` fails the request as unavailable (503 / UNAVAILABLE). A
//! request refused after some of its records were produced is retried by its client whole; the
//! repeated spans are the same rows, which the ClickHouse store collapses and reads once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use prost::Message;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use weft_bus::{
    classify_bus_record, BusAppendError, BusBacklog, BusRecordBody, BusWriter, Position,
};
use weft_codec::ExportTraceServiceRequest;

use crate::split::{split_by_partition, TopicRoutes};
use crate::{KafkaConfig, KafkaError as WeftKafkaError};

/// Partition counts of the topics spans go to, refreshed from the cluster's metadata.
type PartitionCounts = Arc<RwLock<HashMap<String, u32>>>;

pub struct KafkaBusWriter {
    producer: FutureProducer<crate::TracingContext>,
    routes: Arc<TopicRoutes>,
    logs_topic: Option<String>,
    partitions: PartitionCounts,
    stop_refresh: Arc<AtomicBool>,
}

fn partition_counts(
    producer: &FutureProducer<crate::TracingContext>,
    topics: &[String],
    timeout: Duration,
) -> Result<HashMap<String, u32>, WeftKafkaError> {
    let mut counts = HashMap::new();
    for topic in topics {
        let metadata = producer
            .client()
            .fetch_metadata(Some(topic), timeout)
            .map_err(|error| {
                WeftKafkaError::Broker(format!("reading metadata of {topic:?}: {error}"))
            })?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|candidate| candidate.name() == topic)
            .filter(|found| found.error().is_none())
            .map(|found| found.partitions().len() as u32)
            .filter(|count| *count > 0)
            .ok_or_else(|| {
                WeftKafkaError::Config(format!(
                    "kafka topic {topic:?} does not exist; create it first (weft never creates topics: \
                     their partition count is a capacity decision)"
                ))
            })?;
        counts.insert(topic.clone(), partitions);
    }
    Ok(counts)
}

impl KafkaBusWriter {
    /// Connects and reads the partition counts of every topic spans can go to (all of them must
    /// exist), then keeps them fresh every `config.metadata_refresh`.
    pub fn connect(config: &KafkaConfig) -> Result<Arc<Self>, WeftKafkaError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.brokers)
            .set("client.id", &config.client_id)
            .set("acks", "all")
            // Tansu (and older brokers) lack full idempotent-producer support; retries may then
            // repeat a record, which the store collapses (same span rows).
            .set("enable.idempotence", "false")
            .set("compression.type", "zstd")
            .set("linger.ms", "5")
            .set("batch.size", "1000000")
            .set(
                "queue.buffering.max.kbytes",
                config.producer_queue_kbytes.to_string(),
            )
            .set("queue.buffering.max.messages", "100000")
            .set(
                "message.timeout.ms",
                config.delivery_timeout.as_millis().to_string(),
            )
            .set("message.max.bytes", config.max_record_bytes.to_string());
        for (key, value) in &config.extra_settings {
            client.set(key, value);
        }
        let producer: FutureProducer<crate::TracingContext> = client
            .create_with_context(crate::TracingContext)
            .map_err(|error| WeftKafkaError::Config(format!("kafka producer: {error}")))?;
        let routes = Arc::new(config.routes.clone());
        let topics = routes.topics();
        let partitions: PartitionCounts = Arc::new(RwLock::new(partition_counts(
            &producer,
            &topics,
            config.metadata_timeout,
        )?));
        let stop_refresh = Arc::new(AtomicBool::new(false));
        {
            let (producer, partitions, stop) = (
                producer.clone(),
                Arc::clone(&partitions),
                Arc::clone(&stop_refresh),
            );
            let (interval, timeout) = (config.metadata_refresh, config.metadata_timeout);
            std::thread::Builder::new()
                .name("weft-kafka-metadata".into())
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        std::thread::sleep(interval);
                        match partition_counts(&producer, &topics, timeout) {
                            Ok(counts) => *partitions.write() = counts,
                            Err(error) => {
                                tracing::warn!(%error, "refreshing kafka partition counts failed")
                            }
                        }
                    }
                })
                .map_err(|error| WeftKafkaError::Config(format!("metadata thread: {error}")))?;
        }
        Ok(Arc::new(KafkaBusWriter {
            producer,
            routes,
            logs_topic: config.logs_topic.clone(),
            partitions,
            stop_refresh,
        }))
    }

    /// Waits for every record in flight (a collector's shutdown).
    pub fn flush(&self, timeout: Duration) {
        if let Err(error) = self.producer.flush(timeout) {
            tracing::warn!(%error, "flushing the kafka producer failed");
        }
    }

    /// The records of one bus payload: one per topic and partition for spans; a logs request
    /// goes whole to the logs topic, unprefixed (the OpenTelemetry Collector's `otlp_proto`).
    fn records(&self, payload: &[u8]) -> Result<Vec<OutgoingRecord>, BusAppendError> {
        match classify_bus_record(payload) {
            BusRecordBody::Logs(logs) => {
                let topic = self.logs_topic.clone().ok_or_else(|| {
                    BusAppendError::Unavailable(
                        "this collector has no logs topic (--kafka-logs-topic)".into(),
                    )
                })?;
                Ok(vec![(topic, None, String::new(), logs.to_vec())])
            }
            BusRecordBody::Traces(traces) => {
                let request = ExportTraceServiceRequest::decode(traces).map_err(|error| {
                    BusAppendError::Unavailable(format!("re-reading an accepted request: {error}"))
                })?;
                let partitions = self.partitions.read();
                let split = split_by_partition(request, &self.routes, &|topic| {
                    partitions.get(topic).copied()
                })
                .map_err(BusAppendError::Unavailable)?;
                Ok(split
                    .into_iter()
                    .map(|record| {
                        (
                            record.topic,
                            Some(record.partition),
                            record.key,
                            record.request.encode_to_vec(),
                        )
                    })
                    .collect())
            }
        }
    }
}

/// A record to produce: topic, partition (`None`: the producer's partitioner picks), key, body.
type OutgoingRecord = (String, Option<u32>, String, Vec<u8>);

impl Drop for KafkaBusWriter {
    fn drop(&mut self) {
        self.stop_refresh.store(true, Ordering::Release);
    }
}

fn append_error(error: &KafkaError) -> BusAppendError {
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::QueueFull) => {
            BusAppendError::Backpressure(format!("kafka producer queue is full: {error}"))
        }
        _ => BusAppendError::Unavailable(format!("kafka did not take the records: {error}")),
    }
}

impl BusWriter for KafkaBusWriter {
    fn append(
        &self,
        payload: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Result<Position, BusAppendError>> + Send>> {
        let records = match self.records(&payload) {
            Ok(records) => records,
            Err(error) => return Box::pin(async move { Err(error) }),
        };
        let mut deliveries = Vec::with_capacity(records.len());
        for (topic, partition, key, body) in &records {
            let mut record = FutureRecord::to(topic).payload(body);
            if !key.is_empty() {
                record = record.key(key);
            }
            if let Some(partition) = partition {
                record = record.partition(*partition as i32);
            }
            match self.producer.send_result(record) {
                Ok(delivery) => deliveries.push(delivery),
                Err((error, _)) => {
                    let error = append_error(&error);
                    return Box::pin(async move { Err(error) });
                }
            }
        }
        Box::pin(async move {
            let mut position = 0;
            for delivery in deliveries {
                match delivery.await {
                    Ok(Ok(delivered)) => {
                        position = position.max(u64::try_from(delivered.offset).unwrap_or(0) + 1)
                    }
                    Ok(Err((error, _))) => return Err(append_error(&error)),
                    Err(_) => {
                        return Err(BusAppendError::Unavailable(
                            "the kafka producer closed before delivering".into(),
                        ))
                    }
                }
            }
            Ok(position)
        })
    }
}

impl BusBacklog for KafkaBusWriter {
    /// A collector does not track the topic's head; the processors report lag.
    fn written_position(&self) -> Position {
        0
    }

    fn local_bytes(&self) -> u64 {
        0
    }

    fn local_segments(&self) -> u64 {
        0
    }
}
