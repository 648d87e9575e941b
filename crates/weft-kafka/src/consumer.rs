//! The processor's bus: one consumer in a consumer group whose every assigned partition is read
//! by its own [`KafkaPartitionReader`] (a `BusReader`), so each partition gets its own pipeline
//! and its own processor state, as keying by trace ID makes correct.
//!
//! Offsets: the group's committed offset of a partition is never ahead of what its processors
//! have made durable — a reader commits only what the pipeline releases
//! (`BusReader::release_through`, the lowest durable position of its processors). A pipeline
//! starts after its processors' own durable positions (checkpointed in the store), which are
//! never behind the committed offset, so a takeover neither loses nor repeats effects.
//!
//! Rebalances (the classic, eager protocol): on revoke, the [`PartitionHandler`] stops the
//! partitions' pipelines — each processes what it read, flushes every processor and commits —
//! before the callback returns, so the next owner starts where this one stopped. On assign, the
//! handler starts a pipeline per partition, restoring its state.
//!
//! A Kafka offset `o` is bus position `o + 1` (position 0 is "nothing yet"), so the committed
//! offset — the next offset to read — equals the position released.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    base_consumer::PartitionQueue, BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance,
};
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use weft_bus::{BusError, BusReader, BusRecord, PartitionId, Position};

use crate::{KafkaConfig, KafkaError};

/// What the processor role does when the group hands it a partition or takes one away. Both
/// run on the consumer's polling thread inside the rebalance; `revoked` must not return before
/// the partition's pipeline has stopped and committed.
pub trait PartitionHandler: Send + Sync + 'static {
    fn assigned(&self, reader: KafkaPartitionReader);
    fn revoked(&self, topic: &str, partition: u32);
}

pub struct GroupContext {
    handler: Arc<dyn PartitionHandler>,
    /// The topic whose records are OTLP logs requests (`otlp_proto`, unprefixed).
    logs_topic: Option<String>,
    consumer: OnceLock<Weak<BaseConsumer<GroupContext>>>,
    metadata_timeout: Duration,
}

impl ClientContext for GroupContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        crate::log_to_tracing(level, facility, message);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", %error, "{reason}");
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                for element in partitions.elements() {
                    tracing::info!(
                        topic = element.topic(),
                        partition = element.partition(),
                        "kafka partition revoked: stopping its pipeline"
                    );
                    self.handler
                        .revoked(element.topic(), element.partition() as u32);
                }
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => tracing::error!(%error, "kafka rebalance failed"),
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(partitions) = rebalance else {
            return;
        };
        let Some(consumer) = self.consumer.get().and_then(Weak::upgrade) else {
            return;
        };
        for element in partitions.elements() {
            let (topic, partition) = (element.topic().to_owned(), element.partition());
            let Some(queue) = consumer.split_partition_queue(&topic, partition) else {
                tracing::error!(%topic, partition, "no queue for an assigned kafka partition");
                continue;
            };
            tracing::info!(%topic, partition, "kafka partition assigned: starting its pipeline");
            let progress = Arc::new(PartitionProgress {
                consumer: Arc::clone(&consumer),
                topic: topic.clone(),
                partition: partition as u32,
                read: AtomicU64::new(0),
                committed: AtomicU64::new(0),
                head: AtomicU64::new(0),
                head_checked: Mutex::new(None),
                metadata_timeout: self.metadata_timeout,
            });
            let carries_logs = self.logs_topic.as_deref() == Some(topic.as_str());
            self.handler.assigned(KafkaPartitionReader {
                carries_logs,
                queue,
                pending: None,
                progress,
            });
        }
    }
}

/// One assigned partition, read in order by one pipeline.
pub struct KafkaPartitionReader {
    /// A partition of the logs topic: its records become logs bus records.
    carries_logs: bool,
    queue: PartitionQueue<GroupContext>,
    /// A record `wait` received, given by the next `read`.
    pending: Option<BusRecord>,
    /// Where the reader stands (read and committed positions); only the reader moves them.
    progress: Arc<PartitionProgress>,
}

/// How often the broker is asked for a partition's high watermark.
const HEAD_REFRESH: Duration = Duration::from_secs(1);

/// Where one assigned partition stands, shared by its reader (which moves it) and whoever
/// reports lag (the processor's `/health` and `/metrics`), who may ask the broker for the high
/// watermark themselves: a pipeline stuck retrying a store that is down does not ask, and that
/// is when the lag matters.
pub struct PartitionProgress {
    consumer: Arc<BaseConsumer<GroupContext>>,
    topic: String,
    partition: u32,
    read: AtomicU64,
    committed: AtomicU64,
    head: AtomicU64,
    head_checked: Mutex<Option<Instant>>,
    metadata_timeout: Duration,
}

/// A partition's lag, in bus positions (a Kafka offset `o` is position `o + 1`, so a position
/// is also the number of records through it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: u32,
    /// Records through the last one read.
    pub read_position: Position,
    /// The group's committed offset: records whose effects are durable.
    pub committed_position: Position,
    /// The partition's high watermark: records written.
    pub head_position: Position,
}

impl PartitionLag {
    /// Kafka's consumer lag: written and not yet committed.
    pub fn lag_records(&self) -> u64 {
        self.head_position.saturating_sub(self.committed_position)
    }

    /// Written and not yet read.
    pub fn unread_records(&self) -> u64 {
        self.head_position.saturating_sub(self.read_position)
    }
}

impl PartitionProgress {
    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn partition_number(&self) -> u32 {
        self.partition
    }

    /// The high watermark, from the broker at most once per [`HEAD_REFRESH`] (blocks up to the
    /// metadata timeout then; a failed ask keeps the last answer).
    pub fn head(&self) -> Position {
        let mut checked = self.head_checked.lock();
        if checked.is_none_or(|at| at.elapsed() >= HEAD_REFRESH) {
            *checked = Some(Instant::now());
            match self.consumer.fetch_watermarks(
                &self.topic,
                self.partition as i32,
                self.metadata_timeout,
            ) {
                Ok((_, high)) => self
                    .head
                    .store(u64::try_from(high).unwrap_or(0), Ordering::Release),
                Err(error) => tracing::debug!(
                    topic = %self.topic,
                    partition = self.partition,
                    %error,
                    "asking kafka for a high watermark"
                ),
            }
        }
        self.head
            .load(Ordering::Acquire)
            .max(self.read.load(Ordering::Acquire))
    }

    /// Where the partition stands now (asks the broker for the head when due).
    pub fn lag(&self) -> PartitionLag {
        let head_position = self.head();
        PartitionLag {
            topic: self.topic.clone(),
            partition: self.partition,
            read_position: self.read.load(Ordering::Acquire),
            committed_position: self.committed.load(Ordering::Acquire),
            head_position,
        }
    }
}

impl KafkaPartitionReader {
    pub fn topic(&self) -> &str {
        &self.progress.topic
    }

    pub fn partition_number(&self) -> u32 {
        self.progress.partition
    }

    /// Whether this is a partition of the logs topic (its records are logs requests).
    pub fn carries_logs(&self) -> bool {
        self.carries_logs
    }

    /// The partition's progress, for lag reports; it outlives the reader harmlessly.
    pub fn progress(&self) -> Arc<PartitionProgress> {
        Arc::clone(&self.progress)
    }

    fn committed(&self) -> Position {
        self.progress.committed.load(Ordering::Acquire)
    }

    /// A message as a bus record: offset `o` is position `o + 1`. A logs topic's record is an
    /// unprefixed `ExportLogsServiceRequest` (the OpenTelemetry Collector's `otlp_proto`),
    /// framed here as the bus frames logs so the pipeline tells it from spans. Moves the read
    /// position.
    fn record_of(
        &self,
        message: rdkafka::error::KafkaResult<rdkafka::message::BorrowedMessage<'_>>,
    ) -> Result<BusRecord, BusError> {
        let message = message.map_err(|error| {
            BusError(format!(
                "reading kafka {}/{}: {error}",
                self.topic(),
                self.partition_number()
            ))
        })?;
        let payload = message.payload().unwrap_or_default();
        let position = u64::try_from(message.offset()).unwrap_or(0) + 1;
        self.progress.read.store(position, Ordering::Release);
        Ok(BusRecord {
            position,
            payload: if self.carries_logs {
                weft_bus::logs_bus_record(payload)
            } else {
                payload.to_vec()
            },
        })
    }
}

impl BusReader for KafkaPartitionReader {
    fn partition(&self) -> PartitionId {
        PartitionId(self.progress.partition)
    }

    fn seek_after(&mut self, position: Position) -> Result<(), BusError> {
        let offset = if position == 0 {
            Offset::Beginning
        } else {
            Offset::Offset(position as i64)
        };
        self.pending = None;
        let (topic, partition) = (self.progress.topic.clone(), self.progress.partition);
        // The assignment may still be settling: retry briefly before giving up.
        let mut attempts = 0;
        loop {
            match self.progress.consumer.seek(
                &topic,
                partition as i32,
                offset,
                Duration::from_secs(5),
            ) {
                Ok(()) => break,
                Err(error) if attempts < 20 => {
                    attempts += 1;
                    tracing::debug!(%error, "seeking kafka partition; retrying");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(error) => {
                    return Err(BusError(format!(
                        "seeking kafka {topic}/{partition} to offset {position}: {error}"
                    )))
                }
            }
        }
        self.progress.read.store(position, Ordering::Release);
        self.progress.committed.store(position, Ordering::Release);
        Ok(())
    }

    fn read(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<BusRecord>, BusError> {
        let mut records = Vec::new();
        let mut bytes = 0;
        if let Some(record) = self.pending.take() {
            bytes += record.payload.len();
            records.push(record);
        }
        while records.len() < max_records && bytes < max_bytes {
            let Some(message) = self.queue.poll(Duration::ZERO) else {
                break;
            };
            let record = self.record_of(message)?;
            bytes += record.payload.len();
            records.push(record);
        }
        Ok(records)
    }

    fn head(&self) -> Position {
        // Never below what was read: `PartitionProgress::head` takes the read position in.
        self.progress.head()
    }

    fn wait(&mut self, _after: Position, timeout: Duration) {
        if self.pending.is_some() {
            return;
        }
        let received = self
            .queue
            .poll(timeout)
            .map(|message| self.record_of(message));
        match received {
            Some(Ok(record)) => self.pending = Some(record),
            Some(Err(error)) => tracing::warn!(%error, "waiting on kafka"),
            None => {}
        }
    }

    fn release_through(&mut self, position: Position) -> Result<(), BusError> {
        if position <= self.committed() {
            return Ok(());
        }
        let (topic, partition) = (self.topic(), self.partition_number());
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(topic, partition as i32, Offset::Offset(position as i64))
            .map_err(|error| BusError(error.to_string()))?;
        self.progress
            .consumer
            .commit(&offsets, CommitMode::Sync)
            .map_err(|error| {
                BusError(format!(
                    "committing kafka {topic}/{partition} at {position}: {error}"
                ))
            })?;
        self.progress.committed.store(position, Ordering::Release);
        Ok(())
    }
}

/// A consumer-group member: subscribes, serves the group protocol on its own thread, and hands
/// partitions to the handler.
pub struct KafkaGroupConsumer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KafkaGroupConsumer {
    pub fn start(
        config: &KafkaConfig,
        group_id: &str,
        handler: Arc<dyn PartitionHandler>,
    ) -> Result<Self, KafkaError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.brokers)
            .set("client.id", &config.client_id)
            .set("group.id", group_id)
            .set("group.protocol", "classic")
            .set("partition.assignment.strategy", "range,roundrobin")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set(
                "session.timeout.ms",
                config.session_timeout.as_millis().to_string(),
            )
            // Also the rebalance timeout: how long the group waits for a member to rejoin. A
            // member killed during a rebalance holds the group this long, so keep it short;
            // this process polls every 100 ms and a revoke only flushes one batch per
            // partition.
            .set(
                "max.poll.interval.ms",
                (config.session_timeout.as_millis() * 3)
                    .max(10_000)
                    .to_string(),
            )
            .set(
                "heartbeat.interval.ms",
                (config.session_timeout.as_millis() / 5)
                    .max(100)
                    .to_string(),
            )
            .set("fetch.max.bytes", "52428800")
            .set(
                "max.partition.fetch.bytes",
                config.max_record_bytes.to_string(),
            );
        for (key, value) in &config.extra_settings {
            client.set(key, value);
        }
        let context = GroupContext {
            handler,
            logs_topic: config.logs_topic.clone(),
            consumer: OnceLock::new(),
            metadata_timeout: config.metadata_timeout,
        };
        let consumer: Arc<BaseConsumer<GroupContext>> = Arc::new(
            client
                .create_with_context(context)
                .map_err(|error| KafkaError::Config(format!("kafka consumer: {error}")))?,
        );
        let _ = consumer.context().consumer.set(Arc::downgrade(&consumer));
        let mut topics = config.routes.topics();
        if let Some(logs_topic) = &config.logs_topic {
            if !topics.contains(logs_topic) {
                topics.push(logs_topic.clone());
            }
        }
        let topic_names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topic_names)
            .map_err(|error| KafkaError::Broker(format!("subscribing to {topics:?}: {error}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("weft-kafka-group".into())
                .spawn(move || serve_group(consumer, stop))
                .map_err(|error| KafkaError::Config(format!("consumer thread: {error}")))?
        };
        Ok(KafkaGroupConsumer {
            stop,
            thread: Some(thread),
        })
    }

    /// Leaves the group: every partition is revoked (its pipeline stopped and committed) first.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for KafkaGroupConsumer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Polls the consumer's main queue: the group protocol and rebalances (every partition's
/// messages go to its own queue). On stop, unsubscribes and polls until the revoke ran.
fn serve_group(consumer: Arc<BaseConsumer<GroupContext>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Acquire) {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Err(error)) => tracing::warn!(%error, "kafka consumer"),
            // Fetched before its partition's queue was split off: the partition's reader seeks
            // to where its processors stand, which reads it again.
            Some(Ok(message)) => tracing::debug!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                "a record reached the main queue; its partition's reader reads it after seeking"
            ),
            None => {}
        }
    }
    consumer.unsubscribe();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        consumer.poll(Duration::from_millis(100));
        match consumer.assignment() {
            Ok(assignment) if assignment.count() == 0 => break,
            Ok(_) => {}
            Err(_) => break,
        }
    }
}
