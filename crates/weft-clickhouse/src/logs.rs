//! Log records in ClickHouse (each as a [`LogRow`]): the log writer of one bus partition and
//! the store's `LogReader`.
//!
//! Exactly once as for spans: the writer inserts a partition's records, then its checkpoint
//! row (the logs topic's own topic and partition in the checkpoint table), and a replay after
//! a crash in between inserts the same rows again. A row's `record_hash` — a stable hash of
//! its content — is in the `ReplacingMergeTree`'s order key and in every read's `LIMIT 1 BY`,
//! so the copies collapse and read once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use weft_model::{LogRecord, TraceId};
use weft_storage::{
    check_time_range, LogQuery, LogReader, LogSearchResult, LogWriter, Position, StoreError,
};

use crate::schema::Schema;

use crate::rows::LogRow;
use crate::store::{shard_of, ClickHouseStore};

fn records_of(rows: Vec<LogRow>) -> Result<Vec<LogRecord>, StoreError> {
    rows.into_iter()
        .map(|row| row.into_record().map_err(StoreError::Corrupt))
        .collect()
}

/// The shard a record goes to: its trace's (so a trace's spans and records share a shard),
/// the first for records outside any trace.
fn shard_of_record(record: &LogRecord, shards: usize) -> usize {
    record
        .trace_id
        .map_or(0, |trace_id| shard_of(&trace_id, shards))
}

#[derive(Default)]
struct PendingLogs {
    rows_by_shard: Vec<Vec<LogRow>>,
    records: usize,
    /// The newest position written (records or not).
    through: Position,
}

/// The log writer of one bus partition (of the logs topic): records wait in memory until the
/// pipeline's log processor commits, then go to their shards, then the checkpoint.
pub struct ClickHouseLogWriter {
    store: Arc<ClickHouseStore>,
    topic: String,
    partition: u32,
    pending: Mutex<PendingLogs>,
    durable: AtomicU64,
}

impl ClickHouseLogWriter {
    /// A writer for one partition, durable through the position its checkpoint records.
    pub fn open(
        store: Arc<ClickHouseStore>,
        topic: &str,
        partition: u32,
    ) -> Result<Self, StoreError> {
        let durable = store.partition_checkpoint(topic, partition)?;
        let shards = store.shards().len();
        Ok(ClickHouseLogWriter {
            store,
            topic: topic.to_owned(),
            partition,
            pending: Mutex::new(PendingLogs {
                rows_by_shard: (0..shards).map(|_| Vec::new()).collect(),
                records: 0,
                through: durable,
            }),
            durable: AtomicU64::new(durable),
        })
    }
}

impl LogWriter for ClickHouseLogWriter {
    fn write(&self, position: Position, records: Arc<Vec<LogRecord>>) -> Result<bool, StoreError> {
        let mut pending = self.pending.lock();
        if position <= pending.through {
            return Ok(false);
        }
        let shards = pending.rows_by_shard.len();
        for record in records.iter() {
            pending.rows_by_shard[shard_of_record(record, shards)]
                .push(LogRow::from_record(record));
        }
        pending.records += records.len();
        pending.through = position;
        Ok(true)
    }

    fn pending_records(&self) -> usize {
        self.pending.lock().records
    }

    /// Inserts each shard's rows, then the checkpoint. On an error what was not inserted stays
    /// pending and the checkpoint does not move: the next flush inserts the rest (rows already
    /// inserted are inserted again only if the process dies first, and then collapse).
    fn flush(&self) -> Result<(), StoreError> {
        let mut pending = self.pending.lock();
        if pending.through <= self.durable.load(Ordering::Acquire) {
            return Ok(());
        }
        for (shard_index, shard) in self.store.shards().iter().enumerate() {
            if pending.rows_by_shard[shard_index].is_empty() {
                continue;
            }
            let rows = std::mem::take(&mut pending.rows_by_shard[shard_index]);
            let shard = shard.clone();
            let (inserted, rows) = self.store.block(async move {
                let inserted = shard.insert_logs(&rows).await;
                (inserted, rows)
            });
            if let Err(error) = inserted {
                pending.rows_by_shard[shard_index] = rows;
                return Err(error);
            }
            pending.records -= rows.len();
        }
        let through = pending.through;
        self.store
            .write_partition_checkpoint(&self.topic, self.partition, through)?;
        self.durable.store(through, Ordering::Release);
        Ok(())
    }

    fn durable_position(&self) -> Position {
        self.durable.load(Ordering::Acquire)
    }
}

impl ClickHouseStore {
    /// The records one read (its statement written for each shard's schema) finds on every
    /// shard, in no particular order.
    fn logs_from_every_shard(
        &self,
        statement: impl Fn(&Schema) -> String,
    ) -> Result<Vec<LogRecord>, StoreError> {
        let rows = self.on_every_shard(|shard| {
            let statement = statement(shard.schema());
            async move { shard.fetch_logs(&statement).await }
        })?;
        records_of(rows.into_iter().flatten().collect())
    }
}

impl LogReader for ClickHouseStore {
    fn logs_of_trace(
        &self,
        trace_id: &TraceId,
        time_hint: Option<(u64, u64)>,
    ) -> Result<Vec<LogRecord>, StoreError> {
        if let Some((first, last)) = time_hint {
            check_time_range(first, last)?;
        }
        let mut records =
            self.logs_from_every_shard(|schema| schema.trace_logs_query(trace_id, time_hint))?;
        records.sort_by_key(|record| record.time_unix_nanos);
        Ok(records)
    }

    fn scan(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&LogRecord) -> bool,
    ) -> Result<Vec<LogRecord>, StoreError> {
        check_time_range(start_unix_nanos, end_unix_nanos)?;
        let mut records = self.logs_from_every_shard(|schema| {
            schema.scan_logs_query(start_unix_nanos, end_unix_nanos)
        })?;
        records.retain(|record| wanted(record));
        records.sort_by_key(|record| record.time_unix_nanos);
        Ok(records)
    }

    fn search(&self, query: &LogQuery) -> Result<LogSearchResult, StoreError> {
        check_time_range(query.start_unix_nanos, query.end_unix_nanos)?;
        if query.limit == 0 || query.start_unix_nanos == query.end_unix_nanos {
            return Ok(LogSearchResult::default());
        }
        let mut records = self.logs_from_every_shard(|schema| schema.search_logs_query(query))?;
        records.sort_by_key(|record| std::cmp::Reverse(record.time_unix_nanos));
        let scanned_records = records.len() as u64;
        records.truncate(query.limit);
        Ok(LogSearchResult {
            records,
            scanned_records,
        })
    }
}
