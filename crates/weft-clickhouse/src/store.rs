//! The ClickHouse span store: connects to every shard, picks the schema profile from the
//! server's version, migrates, inserts spans as RowBinary and reads them back.
//!
//! [`ClickHouseShard`] is one server, async, as the `clickhouse` crate is. [`ClickHouseStore`]
//! is the shard list behind the storage seam's blocking traits: it owns a small Tokio runtime
//! and runs each request there, so the pipeline thread and the API's blocking tasks can call
//! it like the embedded store. Writes go to local tables, each trace's rows to the shard its
//! ID hashes to (never through a `Distributed` table); reads of one trace go to its shard,
//! searches and catalog lists to every shard, merged here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use weft_codec::ConversionOptions;
use weft_model::{Span, SpanId, SpanKind, TraceId, TraceIdTimeWindow};
use weft_storage::{
    summarize, AttributeKeyInfo, CatalogAttribute, ClusterStats, ClusterTableStats, OperationInfo,
    Position, ScanReport, SearchQuery, SearchResult, ServiceCatalog, SpanHead, SpanReader,
    StoreError, TraceQuery, TraceSummary, WriterCheckpoint,
};

use crate::queries::AttributeScope;
use crate::rows::{spans_from_rows, SpanRow};
use crate::schema::{Schema, SchemaProfile, ServerVersion, SCHEMA_VERSION};

/// Where the store is and what it keeps.
#[derive(Debug, Clone)]
pub struct ClickHouseConfig {
    /// The HTTP interface of each shard, e.g. `http://127.0.0.1:8123`. A trace's rows go to
    /// the shard its ID hashes to, so the list (and its order) must stay the same for as long
    /// as the data lives.
    pub shard_urls: Vec<String>,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub span_retention: Duration,
    /// Forces a profile instead of choosing it from `SELECT version()`.
    pub profile: Option<SchemaProfile>,
    pub conversion: ConversionOptions,
}

impl ClickHouseConfig {
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> Self {
        ClickHouseConfig {
            shard_urls: vec![url.into()],
            database: database.into(),
            user: None,
            password: None,
            span_retention: Duration::from_secs(3 * 86_400),
            profile: None,
            conversion: ConversionOptions::default(),
        }
    }
}

pub(crate) fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable {
        store: "clickhouse",
        message: error.to_string(),
    }
}

pub(crate) fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Which shard keeps a trace: a hash of the ID's last eight bytes, which are random in every
/// ID scheme (Weft's time-embedded IDs put the time in the first four).
pub fn shard_of(trace_id: &TraceId, shards: usize) -> usize {
    let bytes = trace_id.as_bytes();
    let low = u64::from_be_bytes([
        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
    ]);
    // A multiplicative mix, so IDs whose low bits are not uniform still spread.
    let mixed = low.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(32);
    usize::try_from(mixed % shards.max(1) as u64).unwrap_or(0)
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct CandidateRow {
    trace_id: [u8; 16],
    newest: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct HeadRow {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_span_id: [u8; 8],
    start_time: i64,
    duration_nanos: u64,
    service_name: String,
    name: String,
    status_code: i8,
}

impl HeadRow {
    fn head(&self) -> SpanHead {
        let start = u64::try_from(self.start_time).unwrap_or(0);
        SpanHead {
            span_id: SpanId::from_bytes(self.span_id),
            parent_span_id: (self.parent_span_id != [0; 8])
                .then(|| SpanId::from_bytes(self.parent_span_id)),
            service_name: self.service_name.clone(),
            name: self.name.clone(),
            start_unix_nanos: start,
            end_unix_nanos: start.saturating_add(self.duration_nanos),
            is_error: i32::from(self.status_code) == weft_model::StatusCode::Error.to_otlp(),
        }
    }
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct TraceTimesRow {
    rows: u64,
    earliest_start: i64,
    latest_end: i64,
}

#[derive(Debug, clickhouse::Row, Serialize)]
pub(crate) struct TraceTimesInsertRow {
    pub trace_id: [u8; 16],
    pub start_time: i64,
    pub end_time: i64,
}

#[derive(Debug, clickhouse::Row, Serialize)]
struct CheckpointInsertRow {
    topic: String,
    partition: u32,
    position: u64,
    written_unix_nanos: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct OperationRow {
    service_name: String,
    name: String,
    kind: i8,
    first_seen: i64,
    last_seen: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct AttributeKeyRow {
    service_name: String,
    key: String,
    first_seen: i64,
    last_seen: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct AttributeValueRow {
    key: String,
    value: String,
    spans: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct ScanTraceRow {
    trace_id: [u8; 16],
    spans: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct OldestRow {
    rows: u64,
    earliest: i64,
}

fn nanos(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// One ClickHouse server: a client and the schema it was migrated to.
#[derive(Clone)]
pub struct ClickHouseShard {
    client: clickhouse::Client,
    schema: Schema,
    server_version: ServerVersion,
    conversion: ConversionOptions,
    url: String,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct TableStatsRow {
    table: String,
    partitions: u64,
    parts: u64,
    rows: u64,
    bytes_on_disk: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct WriterCheckpointRow {
    topic: String,
    partition: u32,
    position: u64,
    written_unix_nanos: u64,
}

impl ClickHouseShard {
    /// Connects, reads the server's version, and brings the database to [`SCHEMA_VERSION`]
    /// (idempotent: a second store on the same database runs the same no-op statements).
    pub async fn open(config: &ClickHouseConfig, url: &str) -> Result<Self, StoreError> {
        // RowBinary without names and types: ClickHouse 18.16 has neither the format the
        // crate validates with (19.3) nor the setting its DESCRIBE sends.
        let mut client = clickhouse::Client::default()
            .with_url(url)
            .with_validation(false);
        if let Some(user) = &config.user {
            client = client.with_user(user);
        }
        if let Some(password) = &config.password {
            client = client.with_password(password);
        }
        let version_text: String = client
            .query("SELECT version()")
            .fetch_one()
            .await
            .map_err(|error| unavailable(format!("{url}: {error}")))?;
        let server_version = ServerVersion::parse(&version_text).map_err(unavailable)?;
        let profile = config
            .profile
            .unwrap_or_else(|| SchemaProfile::for_version(server_version));
        let schema = Schema::new(&config.database, profile, config.span_retention)
            .map_err(StoreError::InvalidQuery)?;
        let shard = ClickHouseShard {
            client,
            schema,
            server_version,
            conversion: config.conversion.clone(),
            url: url.to_owned(),
        };
        shard.migrate().await?;
        Ok(shard)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        for statement in self.schema.migration_statements() {
            self.execute(&statement).await?;
        }
        let applied: u32 = self.fetch_one(&self.schema.applied_version_query()).await?;
        if applied < SCHEMA_VERSION {
            self.execute(
                &self
                    .schema
                    .record_migration_statement(now_unix_nanos() / 1_000_000_000),
            )
            .await?;
        }
        Ok(())
    }

    async fn execute(&self, statement: &str) -> Result<(), StoreError> {
        self.client
            .query(statement)
            .execute()
            .await
            .map_err(unavailable)
    }

    async fn fetch_one<T>(&self, statement: &str) -> Result<T, StoreError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        self.client
            .query(statement)
            .fetch_one::<T>()
            .await
            .map_err(unavailable)
    }

    async fn fetch_all<T>(&self, statement: &str) -> Result<Vec<T>, StoreError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        self.client
            .query(statement)
            .fetch_all::<T>()
            .await
            .map_err(unavailable)
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn server_version(&self) -> ServerVersion {
        self.server_version
    }

    /// Inserts the spans as one batch (one INSERT): all of them or, on an error, possibly
    /// none. A batch inserted again collapses into the first (see [`crate::schema`]).
    pub async fn insert(&self, spans: &[Span]) -> Result<(), StoreError> {
        let rows: Vec<SpanRow> = spans.iter().map(SpanRow::from_span).collect();
        self.insert_rows(&rows).await
    }

    pub(crate) async fn insert_rows(&self, rows: &[SpanRow]) -> Result<(), StoreError> {
        self.insert_all(&self.schema.spans_table(), rows).await
    }

    pub(crate) async fn insert_logs(&self, rows: &[crate::rows::LogRow]) -> Result<(), StoreError> {
        self.insert_all(&self.schema.logs_table(), rows).await
    }

    pub(crate) async fn fetch_logs(
        &self,
        statement: &str,
    ) -> Result<Vec<crate::rows::LogRow>, StoreError> {
        self.fetch_all(statement).await
    }

    pub(crate) async fn insert_trace_times(
        &self,
        rows: &[TraceTimesInsertRow],
    ) -> Result<(), StoreError> {
        self.insert_all(&self.schema.trace_times_table(), rows)
            .await
    }

    pub(crate) async fn write_checkpoint(
        &self,
        topic: &str,
        partition: u32,
        position: u64,
    ) -> Result<(), StoreError> {
        let row = CheckpointInsertRow {
            topic: topic.to_owned(),
            partition,
            position,
            written_unix_nanos: now_unix_nanos(),
        };
        self.insert_all(&self.schema.checkpoints_table(), &[row])
            .await
    }

    /// One INSERT of `rows` as RowBinary into `table` (`database.table`).
    async fn insert_all<T>(&self, table: &str, rows: &[T]) -> Result<(), StoreError>
    where
        T: clickhouse::RowOwned + clickhouse::RowWrite,
    {
        let mut insert = self
            .client
            .insert_unescaped::<T>(table)
            .await
            .map_err(unavailable)?;
        for row in rows {
            insert.write(row).await.map_err(unavailable)?;
        }
        insert.end().await.map_err(unavailable)
    }

    /// Drops every partition of the retained tables whose day ended at or before `cutoff`, and
    /// names them (`table/partition ID`). Idempotent: several processors may run it.
    pub async fn drop_expired_partitions(
        &self,
        cutoff_unix_nanos: u64,
    ) -> Result<Vec<String>, StoreError> {
        let mut dropped = Vec::new();
        for table in self.schema.retained_tables() {
            let partitions: Vec<String> = self
                .fetch_all(
                    &self
                        .schema
                        .expired_partitions_query(table, cutoff_unix_nanos),
                )
                .await?;
            for partition_id in partitions {
                self.execute(&self.schema.drop_partition_statement(table, &partition_id))
                    .await?;
                dropped.push(format!("{table}/{partition_id}"));
            }
        }
        Ok(dropped)
    }

    async fn table_stats(&self) -> Result<Vec<ClusterTableStats>, StoreError> {
        let rows: Vec<TableStatsRow> = self.fetch_all(&self.schema.table_stats_query()).await?;
        Ok(rows
            .into_iter()
            .map(|row| ClusterTableStats {
                shard: self.url.clone(),
                table: row.table,
                partitions: row.partitions,
                parts: row.parts,
                rows: row.rows,
                bytes_on_disk: row.bytes_on_disk,
            })
            .collect())
    }

    async fn writer_checkpoints(&self) -> Result<Vec<WriterCheckpoint>, StoreError> {
        let rows: Vec<WriterCheckpointRow> = self
            .fetch_all(&self.schema.writer_checkpoints_query())
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| WriterCheckpoint {
                topic: row.topic,
                partition: row.partition,
                position: row.position,
                written_unix_nanos: row.written_unix_nanos,
            })
            .collect())
    }

    pub(crate) async fn checkpoint(&self, topic: &str, partition: u32) -> Result<u64, StoreError> {
        self.fetch_one(&self.schema.checkpoint_query(topic, partition))
            .await
    }

    /// One trace's spans in start order, each once.
    pub async fn trace(
        &self,
        trace_id: TraceId,
        start_unix_nanos: Option<u64>,
        end_unix_nanos: Option<u64>,
    ) -> Result<Vec<Span>, StoreError> {
        self.trace_spans(
            trace_id,
            start_unix_nanos,
            end_unix_nanos,
            weft_storage::DEFAULT_MAX_TRACE_SPANS + 1,
        )
        .await
    }

    async fn trace_spans(
        &self,
        trace_id: TraceId,
        start_unix_nanos: Option<u64>,
        end_unix_nanos: Option<u64>,
        max_rows: usize,
    ) -> Result<Vec<Span>, StoreError> {
        let rows: Vec<SpanRow> = self
            .fetch_all(&self.schema.trace_query(
                trace_id,
                start_unix_nanos,
                end_unix_nanos,
                max_rows,
            ))
            .await?;
        spans_from_rows(rows, &self.conversion).map_err(StoreError::Corrupt)
    }

    async fn trace_times(&self, trace_id: &TraceId) -> Result<Option<(u64, u64)>, StoreError> {
        let row: TraceTimesRow = self
            .fetch_one(&self.schema.trace_times_query(trace_id))
            .await?;
        Ok((row.rows > 0).then(|| (nanos(row.earliest_start), nanos(row.latest_end))))
    }

    async fn heads(&self, trace_ids: &[TraceId]) -> Result<Vec<HeadRow>, StoreError> {
        if trace_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.fetch_all(&self.schema.span_heads_query(trace_ids))
            .await
    }
}

/// How far before a Weft-issued ID's embedded time a trace's first span may start (other
/// services' clocks) and how long after it the trace may go on, for the first, pruned read.
const EMBEDDED_TIME_BEFORE: Duration = Duration::from_secs(10 * 60);
const EMBEDDED_TIME_AFTER: Duration = Duration::from_secs(2 * 3_600);

/// The shards behind the storage seam's blocking traits.
pub struct ClickHouseStore {
    runtime: tokio::runtime::Runtime,
    shards: Vec<ClickHouseShard>,
    span_retention: Duration,
}

impl ClickHouseStore {
    /// Connects to and migrates every shard.
    pub fn connect(config: &ClickHouseConfig) -> Result<Arc<Self>, StoreError> {
        if config.shard_urls.is_empty() {
            return Err(StoreError::InvalidQuery(
                "no clickhouse shard configured".into(),
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("weft-clickhouse")
            .enable_all()
            .build()
            .map_err(|source| StoreError::io("weft-clickhouse runtime", source))?;
        let mut shards = Vec::with_capacity(config.shard_urls.len());
        for url in &config.shard_urls {
            let config = config.clone();
            let url = url.clone();
            shards
                .push(runtime.block_on(async move { ClickHouseShard::open(&config, &url).await })?);
        }
        Ok(Arc::new(ClickHouseStore {
            runtime,
            shards,
            span_retention: config.span_retention,
        }))
    }

    pub fn shards(&self) -> &[ClickHouseShard] {
        &self.shards
    }

    /// Retention: drops on every shard the day partitions of spans, trace times and logs that
    /// lie wholly before `now − retention`. The modern profile's TTL removes old rows too, but only
    /// when parts merge; the legacy profile has no TTL, so this is its only retention.
    pub fn apply_retention(&self, now_unix_nanos: u64) -> Result<Vec<String>, StoreError> {
        let cutoff = now_unix_nanos
            .saturating_sub(u64::try_from(self.span_retention.as_nanos()).unwrap_or(u64::MAX));
        let dropped = self.on_every_shard(move |shard| async move {
            shard.drop_expired_partitions(cutoff).await
        })?;
        Ok(dropped.into_iter().flatten().collect())
    }

    /// The shard that keeps a trace.
    pub fn shard_for(&self, trace_id: &TraceId) -> &ClickHouseShard {
        &self.shards[shard_of(trace_id, self.shards.len())]
    }

    /// The shard span writers keep their checkpoints on.
    pub(crate) fn checkpoint_shard(&self) -> &ClickHouseShard {
        &self.shards[0]
    }

    /// The position a writer of one bus partition (spans or logs) made durable (0 for none).
    pub(crate) fn partition_checkpoint(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<Position, StoreError> {
        let shard = self.checkpoint_shard().clone();
        let topic = topic.to_owned();
        self.block(async move { shard.checkpoint(&topic, partition).await })
    }

    /// Records that a writer of one bus partition made everything through `position` durable.
    pub(crate) fn write_partition_checkpoint(
        &self,
        topic: &str,
        partition: u32,
        position: Position,
    ) -> Result<(), StoreError> {
        let shard = self.checkpoint_shard().clone();
        let topic = topic.to_owned();
        self.block(async move { shard.write_checkpoint(&topic, partition, position).await })
    }

    /// Runs a request on the store's runtime and waits for it, from any thread (an async
    /// caller's worker only waits; it never enters this runtime).
    pub(crate) fn block<T, F>(&self, request: F) -> T
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = answer.send(request.await);
        });
        answered
            .recv()
            .expect("the clickhouse runtime lives as long as the store")
    }

    /// Runs one request per shard concurrently and collects their answers in shard order.
    pub(crate) fn on_every_shard<T, F, Fut>(&self, request: F) -> Result<Vec<T>, StoreError>
    where
        T: Send + 'static,
        F: Fn(ClickHouseShard) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let pending: Vec<_> = self
            .shards
            .iter()
            .map(|shard| self.runtime.spawn(request(shard.clone())))
            .collect();
        self.block(async move {
            let mut answers = Vec::with_capacity(pending.len());
            for request in pending {
                answers.push(request.await.map_err(unavailable)??);
            }
            Ok(answers)
        })
    }

    /// The start of what the catalog lists: the span retention before now.
    fn catalog_since(&self) -> u64 {
        now_unix_nanos()
            .saturating_sub(u64::try_from(self.span_retention.as_nanos()).unwrap_or(u64::MAX))
    }

    fn summaries(&self, trace_ids: &[TraceId]) -> Result<Vec<TraceSummary>, StoreError> {
        let mut by_shard: BTreeMap<usize, Vec<TraceId>> = BTreeMap::new();
        for trace_id in trace_ids {
            by_shard
                .entry(shard_of(trace_id, self.shards.len()))
                .or_default()
                .push(*trace_id);
        }
        let mut heads: HashMap<TraceId, Vec<SpanHead>> = HashMap::new();
        for (shard, ids) in by_shard {
            let shard = self.shards[shard].clone();
            let rows = self.block(async move { shard.heads(&ids).await })?;
            for row in rows {
                heads
                    .entry(TraceId::from_bytes(row.trace_id))
                    .or_default()
                    .push(row.head());
            }
        }
        Ok(trace_ids
            .iter()
            .filter_map(|trace_id| {
                heads
                    .get(trace_id)
                    .and_then(|heads| summarize(*trace_id, heads))
            })
            .collect())
    }
}

impl SpanReader for ClickHouseStore {
    fn trace(&self, query: &TraceQuery) -> Result<Vec<Span>, StoreError> {
        let shard = self.shard_for(&query.trace_id).clone();
        let query = query.clone();
        let retention_seconds = self.span_retention.as_secs();
        self.block(async move {
            let max_rows = query.max_spans.saturating_add(1);
            if query.start_unix_nanos.is_some() || query.end_unix_nanos.is_some() {
                return shard
                    .trace_spans(
                        query.trace_id,
                        query.start_unix_nanos,
                        query.end_unix_nanos,
                        max_rows,
                    )
                    .await;
            }
            // A Weft-issued ID names its time: read only the partitions around it first.
            let window = TraceIdTimeWindow::around(
                now_unix_nanos() / 1_000_000_000,
                retention_seconds,
                EMBEDDED_TIME_AFTER.as_secs(),
            );
            if let Some(seconds) = query.trace_id.embedded_time_unix_seconds(window) {
                let spans = shard
                    .trace_spans(
                        query.trace_id,
                        Some(
                            seconds
                                .saturating_sub(EMBEDDED_TIME_BEFORE.as_secs())
                                .saturating_mul(1_000_000_000),
                        ),
                        Some(
                            seconds
                                .saturating_add(EMBEDDED_TIME_AFTER.as_secs())
                                .saturating_mul(1_000_000_000),
                        ),
                        max_rows,
                    )
                    .await?;
                if !spans.is_empty() {
                    return Ok(spans);
                }
            }
            // Any other ID (or a time hint that missed): the trace-ID index says where it is.
            match shard.trace_times(&query.trace_id).await? {
                Some((earliest, latest)) => {
                    shard
                        .trace_spans(query.trace_id, Some(earliest), Some(latest), max_rows)
                        .await
                }
                None => Ok(Vec::new()),
            }
        })
    }

    fn trace_summary(&self, trace_id: TraceId) -> Result<Option<TraceSummary>, StoreError> {
        Ok(self.summaries(&[trace_id])?.into_iter().next())
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchResult, StoreError> {
        query.validate()?;
        // Root conditions beside span conditions are checked on the summaries: ask for more
        // candidates so that enough survive.
        let candidates_wanted = if query.has_span_conditions() && query.has_root_conditions() {
            query.limit.saturating_mul(4)
        } else {
            query.limit
        };
        let statement = self.shards[0]
            .schema
            .search_query(query, candidates_wanted)?;
        let per_shard = self.on_every_shard(|shard| {
            let statement = statement.clone();
            async move { shard.fetch_all::<CandidateRow>(&statement).await }
        })?;
        let mut candidates: Vec<(i64, TraceId)> = per_shard
            .into_iter()
            .flatten()
            .map(|row| (row.newest, TraceId::from_bytes(row.trace_id)))
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        candidates.truncate(candidates_wanted);
        let trace_ids: Vec<TraceId> = candidates.iter().map(|(_, id)| *id).collect();
        let mut result = SearchResult::default();
        for summary in self.summaries(&trace_ids)? {
            if result.traces.len() >= query.limit {
                break;
            }
            result.scanned_spans += summary.span_count as u64;
            if summary.admits_root(query) {
                result.traces.push(summary);
            }
        }
        Ok(result)
    }

    fn services(&self) -> Result<Vec<String>, StoreError> {
        let statement = self.shards[0].schema.services_query(self.catalog_since());
        let per_shard = self.on_every_shard(|shard| {
            let statement = statement.clone();
            async move { shard.fetch_all::<String>(&statement).await }
        })?;
        let services: BTreeSet<String> = per_shard.into_iter().flatten().collect();
        Ok(services.into_iter().collect())
    }

    fn operations(
        &self,
        service: &str,
        kind: Option<SpanKind>,
    ) -> Result<Vec<OperationInfo>, StoreError> {
        let statement =
            self.shards[0]
                .schema
                .operations_query(self.catalog_since(), Some(service), kind);
        Ok(self
            .operations_by_service(&statement)?
            .remove(service)
            .unwrap_or_default())
    }

    fn attribute_keys(&self, service: Option<&str>) -> Result<Vec<AttributeKeyInfo>, StoreError> {
        let mut keys: BTreeSet<(String, &'static str)> = BTreeSet::new();
        for scope in [AttributeScope::Span, AttributeScope::Resource] {
            for (_, attributes) in self.attribute_keys_by_service(service, scope)? {
                keys.extend(attributes.into_keys().map(|key| (key, scope.as_str())));
            }
        }
        Ok(keys
            .into_iter()
            .map(|(key, scope)| AttributeKeyInfo { key, scope })
            .collect())
    }

    fn attribute_values(&self, key: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let values: BTreeSet<String> = self
            .attribute_values(Some(key), prefix, 1_000)?
            .remove(key)
            .unwrap_or_default()
            .into_iter()
            .map(|(value, _)| value)
            .collect();
        Ok(values.into_iter().collect())
    }

    fn catalog(
        &self,
        service: Option<&str>,
        top_values: usize,
    ) -> Result<Vec<ServiceCatalog>, StoreError> {
        let statement = self.shards[0]
            .schema
            .operations_query(self.catalog_since(), service, None);
        let operations = self.operations_by_service(&statement)?;
        let mut attributes: BTreeMap<String, Vec<CatalogAttribute>> = BTreeMap::new();
        let values = if top_values > 0 {
            self.attribute_values(None, "", top_values)?
        } else {
            BTreeMap::new()
        };
        for scope in [AttributeScope::Span, AttributeScope::Resource] {
            for (service_name, keys) in self.attribute_keys_by_service(service, scope)? {
                let entry = attributes.entry(service_name).or_default();
                for (key, (first, last)) in keys {
                    entry.push(CatalogAttribute {
                        top_values: values.get(&key).cloned().unwrap_or_default(),
                        key,
                        scope: scope.as_str(),
                        first_seen_unix_nanos: first,
                        last_seen_unix_nanos: last,
                    });
                }
            }
        }
        Ok(operations
            .into_iter()
            .map(|(name, operations)| {
                let first = operations
                    .iter()
                    .map(|operation| operation.first_seen_unix_nanos)
                    .min()
                    .unwrap_or(0);
                let last = operations
                    .iter()
                    .map(|operation| operation.last_seen_unix_nanos)
                    .max()
                    .unwrap_or(0);
                ServiceCatalog {
                    attributes: attributes.remove(&name).unwrap_or_default(),
                    name,
                    first_seen_unix_nanos: first,
                    last_seen_unix_nanos: last,
                    operations,
                }
            })
            .collect())
    }

    fn scan_spans(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&TraceId, u64) -> bool,
        sink: &mut dyn FnMut(Vec<Span>) -> Result<(), StoreError>,
    ) -> Result<ScanReport, StoreError> {
        const TRACES_PER_READ: usize = 500;
        let mut report = ScanReport::default();
        for shard in &self.shards {
            let statement = shard
                .schema
                .scan_traces_query(start_unix_nanos, end_unix_nanos);
            let reader = shard.clone();
            let traces: Vec<ScanTraceRow> =
                self.block(async move { reader.fetch_all(&statement).await })?;
            let mut picked = Vec::new();
            for trace in traces {
                report.scanned_spans += trace.spans;
                let trace_id = TraceId::from_bytes(trace.trace_id);
                if wanted(&trace_id, trace.spans) {
                    picked.push(trace_id);
                }
            }
            for chunk in picked.chunks(TRACES_PER_READ) {
                let statement =
                    shard
                        .schema
                        .scan_spans_query(start_unix_nanos, end_unix_nanos, chunk);
                let reader = shard.clone();
                let rows: Vec<SpanRow> =
                    self.block(async move { reader.fetch_all(&statement).await })?;
                let spans =
                    spans_from_rows(rows, &shard.conversion).map_err(StoreError::Corrupt)?;
                report.selected_spans += spans.len() as u64;
                sink(spans)?;
            }
        }
        Ok(report)
    }

    fn oldest_span_start_unix_nanos(&self) -> Result<Option<u64>, StoreError> {
        let statement = self.shards[0].schema.oldest_span_query();
        let per_shard = self.on_every_shard(|shard| {
            let statement = statement.clone();
            async move { shard.fetch_one::<OldestRow>(&statement).await }
        })?;
        Ok(per_shard
            .into_iter()
            .filter(|row| row.rows > 0)
            .map(|row| nanos(row.earliest))
            .min())
    }

    fn cluster_stats(&self) -> Result<Option<ClusterStats>, StoreError> {
        let tables = self.on_every_shard(|shard| async move { shard.table_stats().await })?;
        let shard = self.checkpoint_shard().clone();
        let writers = self.block(async move { shard.writer_checkpoints().await })?;
        Ok(Some(ClusterStats {
            tables: tables.into_iter().flatten().collect(),
            writers,
        }))
    }
}

type AttributeKeysOfServices = BTreeMap<String, BTreeMap<String, (u64, u64)>>;

impl ClickHouseStore {
    fn operations_by_service(
        &self,
        statement: &str,
    ) -> Result<BTreeMap<String, Vec<OperationInfo>>, StoreError> {
        let statement = statement.to_owned();
        let per_shard = self.on_every_shard(|shard| {
            let statement = statement.clone();
            async move { shard.fetch_all::<OperationRow>(&statement).await }
        })?;
        // service → (name, kind) → (first seen, last seen)
        type Seen = BTreeMap<(String, i8), (u64, u64)>;
        let mut merged: BTreeMap<String, Seen> = BTreeMap::new();
        for row in per_shard.into_iter().flatten() {
            let seen = merged
                .entry(row.service_name)
                .or_default()
                .entry((row.name, row.kind))
                .or_insert((u64::MAX, 0));
            seen.0 = seen.0.min(nanos(row.first_seen));
            seen.1 = seen.1.max(nanos(row.last_seen));
        }
        Ok(merged
            .into_iter()
            .map(|(service, operations)| {
                let operations = operations
                    .into_iter()
                    .map(|((name, kind), (first, last))| OperationInfo {
                        name,
                        span_kind: SpanKind::from_otlp(i32::from(kind)),
                        first_seen_unix_nanos: first,
                        last_seen_unix_nanos: last,
                    })
                    .collect();
                (service, operations)
            })
            .collect())
    }

    fn attribute_keys_by_service(
        &self,
        service: Option<&str>,
        scope: AttributeScope,
    ) -> Result<AttributeKeysOfServices, StoreError> {
        let statement =
            self.shards[0]
                .schema
                .attribute_keys_query(self.catalog_since(), service, scope);
        let per_shard = self.on_every_shard(|shard| {
            let statement = statement.clone();
            async move { shard.fetch_all::<AttributeKeyRow>(&statement).await }
        })?;
        let mut merged: AttributeKeysOfServices = BTreeMap::new();
        for row in per_shard.into_iter().flatten() {
            let seen = merged
                .entry(row.service_name)
                .or_default()
                .entry(row.key)
                .or_insert((u64::MAX, 0));
            seen.0 = seen.0.min(nanos(row.first_seen));
            seen.1 = seen.1.max(nanos(row.last_seen));
        }
        Ok(merged)
    }

    /// Values per key, most frequent first (counts summed over shards).
    fn attribute_values(
        &self,
        key: Option<&str>,
        prefix: &str,
        per_key: usize,
    ) -> Result<BTreeMap<String, Vec<(String, u64)>>, StoreError> {
        let statement = self.shards[0].schema.attribute_values_query(
            self.catalog_since(),
            key,
            prefix,
            per_key,
        );
        let per_shard = self.on_every_shard(|shard| {
            let statement = statement.clone();
            async move { shard.fetch_all::<AttributeValueRow>(&statement).await }
        })?;
        let mut counts: BTreeMap<String, HashMap<String, u64>> = BTreeMap::new();
        for row in per_shard.into_iter().flatten() {
            *counts
                .entry(row.key)
                .or_default()
                .entry(row.value)
                .or_default() += row.spans;
        }
        Ok(counts
            .into_iter()
            .map(|(key, values)| {
                let mut values: Vec<(String, u64)> = values.into_iter().collect();
                values.sort_by(|(left, left_count), (right, right_count)| {
                    right_count.cmp(left_count).then_with(|| left.cmp(right))
                });
                values.truncate(per_key);
                (key, values)
            })
            .collect())
    }
}
