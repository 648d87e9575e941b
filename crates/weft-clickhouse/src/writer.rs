//! The span writer of one bus partition: buffers the pipeline's spans as rows, inserts them
//! in large batches into each shard's local table, then records the partition's position in
//! the checkpoint table. That position is the writer's durable position, and so what the
//! processor may commit to the bus: a processor that takes the partition over (after a
//! rebalance or a crash) starts after it.
//!
//! A crash between the inserts and the checkpoint replays those records; their rows are the
//! same rows again (same IDs, names and times), which the `ReplacingMergeTree` collapses and
//! every read drops before then (`LIMIT 1 BY`). This is the store's exactly-once: at-least-once
//! inserts of deterministic rows, read once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use weft_model::{Span, TraceId};
use weft_storage::{Position, SpanWriter, StoreError};

use crate::rows::SpanRow;
use crate::store::{shard_of, ClickHouseStore, TraceTimesInsertRow};

/// When a partition writer inserts.
#[derive(Debug, Clone, Copy)]
pub struct PartitionWriterSettings {
    /// Insert once this many spans wait (ClickHouse wants few, large inserts: 10k–100k rows).
    pub batch_spans: usize,
    /// Insert what waits once the oldest of it is this old (how soon spans are queryable).
    pub batch_age: Duration,
    /// Between attempts while ClickHouse refuses an insert the batch waits (and the pipeline
    /// with it: the bus keeps the records, so lag grows instead of memory).
    pub retry_interval: Duration,
}

impl Default for PartitionWriterSettings {
    fn default() -> Self {
        PartitionWriterSettings {
            batch_spans: 50_000,
            batch_age: Duration::from_secs(1),
            retry_interval: Duration::from_millis(500),
        }
    }
}

#[derive(Default)]
struct Batch {
    rows_by_shard: Vec<Vec<SpanRow>>,
    /// Earliest start and latest end per trace, per shard.
    trace_times_by_shard: Vec<HashMap<TraceId, (i64, i64)>>,
    spans: usize,
    /// The position the batch reaches (records without spans move it too).
    through: Position,
    since: Option<Instant>,
}

/// Counters of a partition writer, for its processor's metrics.
#[derive(Debug, Default)]
pub struct PartitionWriterCounters {
    pub inserted_spans: AtomicU64,
    pub inserts: AtomicU64,
    pub failed_inserts: AtomicU64,
}

pub struct ClickHousePartitionWriter {
    store: Arc<ClickHouseStore>,
    topic: String,
    partition: u32,
    settings: PartitionWriterSettings,
    batch: Mutex<Batch>,
    durable: AtomicU64,
    /// Set when the partition is being given up: a failing insert stops retrying.
    closing: Arc<AtomicBool>,
    pub counters: Arc<PartitionWriterCounters>,
}

impl ClickHousePartitionWriter {
    /// A writer for one partition, durable through the position its checkpoint records.
    pub fn open(
        store: Arc<ClickHouseStore>,
        topic: &str,
        partition: u32,
        settings: PartitionWriterSettings,
        closing: Arc<AtomicBool>,
    ) -> Result<Self, StoreError> {
        let durable = store.partition_checkpoint(topic, partition)?;
        let shards = store.shards().len();
        Ok(ClickHousePartitionWriter {
            store,
            topic: topic.to_owned(),
            partition,
            settings,
            batch: Mutex::new(Batch {
                rows_by_shard: (0..shards).map(|_| Vec::new()).collect(),
                trace_times_by_shard: (0..shards).map(|_| HashMap::new()).collect(),
                through: durable,
                ..Batch::default()
            }),
            durable: AtomicU64::new(durable),
            closing,
            counters: Arc::default(),
        })
    }

    /// Inserts the batch and the checkpoint once. On an error the batch stays as it was.
    fn insert(&self, batch: &mut Batch) -> Result<(), StoreError> {
        let durable = self.durable.load(Ordering::Acquire);
        if batch.spans == 0 && batch.through <= durable {
            return Ok(());
        }
        for (shard_index, shard) in self.store.shards().iter().enumerate() {
            if batch.rows_by_shard[shard_index].is_empty() {
                continue;
            }
            let rows = std::mem::take(&mut batch.rows_by_shard[shard_index]);
            let trace_times: Vec<TraceTimesInsertRow> = batch.trace_times_by_shard[shard_index]
                .iter()
                .map(|(trace_id, (start, end))| TraceTimesInsertRow {
                    trace_id: *trace_id.as_bytes(),
                    start_time: *start,
                    end_time: *end,
                })
                .collect();
            let shard = shard.clone();
            let (inserted, rows) = self.store.block(async move {
                let inserted = async {
                    shard.insert_rows(&rows).await?;
                    shard.insert_trace_times(&trace_times).await
                }
                .await;
                (inserted, rows)
            });
            if let Err(error) = inserted {
                batch.rows_by_shard[shard_index] = rows;
                self.counters.failed_inserts.fetch_add(1, Ordering::Relaxed);
                return Err(error);
            }
            self.counters
                .inserted_spans
                .fetch_add(rows.len() as u64, Ordering::Relaxed);
            self.counters.inserts.fetch_add(1, Ordering::Relaxed);
            batch.trace_times_by_shard[shard_index].clear();
        }
        let through = batch.through;
        self.store
            .write_partition_checkpoint(&self.topic, self.partition, through)
            .inspect_err(|_| {
                self.counters.failed_inserts.fetch_add(1, Ordering::Relaxed);
            })?;
        batch.spans = 0;
        batch.since = None;
        self.durable.store(through, Ordering::Release);
        Ok(())
    }

    /// Inserts, retrying while ClickHouse refuses, until it worked or the partition is given up.
    fn insert_until_done(&self, batch: &mut Batch) -> Result<(), StoreError> {
        loop {
            match self.insert(batch) {
                Ok(()) => return Ok(()),
                Err(error) if self.closing.load(Ordering::Acquire) => return Err(error),
                Err(error) => {
                    tracing::warn!(
                        topic = %self.topic,
                        partition = self.partition,
                        %error,
                        "inserting spans into clickhouse failed; retrying (the partition waits)"
                    );
                    std::thread::sleep(self.settings.retry_interval);
                }
            }
        }
    }
}

impl SpanWriter for ClickHousePartitionWriter {
    fn write(&self, position: Position, spans: Arc<Vec<Span>>) -> Result<(), StoreError> {
        let mut batch = self.batch.lock();
        if position <= batch.through {
            // Already in a batch (a replay of what this writer has): nothing to add.
            return Ok(());
        }
        let shards = batch.rows_by_shard.len();
        for span in spans.iter() {
            let shard = shard_of(&span.trace_id, shards);
            let row = SpanRow::from_span(span);
            let end = row.start_time.saturating_add_unsigned(row.duration_nanos);
            let times = batch.trace_times_by_shard[shard]
                .entry(span.trace_id)
                .or_insert((row.start_time, end));
            times.0 = times.0.min(row.start_time);
            times.1 = times.1.max(end);
            batch.rows_by_shard[shard].push(row);
        }
        batch.spans += spans.len();
        batch.through = position;
        batch.since.get_or_insert_with(Instant::now);
        if batch.spans >= self.settings.batch_spans {
            self.insert_until_done(&mut batch)?;
        }
        Ok(())
    }

    fn durable_position(&self) -> Position {
        self.durable.load(Ordering::Acquire)
    }

    fn tick(&self) -> Result<(), StoreError> {
        let mut batch = self.batch.lock();
        let old_enough = batch
            .since
            .is_some_and(|since| since.elapsed() >= self.settings.batch_age);
        let only_positions = batch.spans == 0 && batch.through > self.durable_position();
        if old_enough || only_positions {
            // A failure is retried on the next tick; the pipeline goes on reading meanwhile
            // until the batch is full, where `write` waits.
            self.insert(&mut batch)?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        let mut batch = self.batch.lock();
        self.insert_until_done(&mut batch)
    }
}
