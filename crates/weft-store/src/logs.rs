//! The log record store: OpenTelemetry log records in plain Parquet files (zstd), one row per
//! record, that trace views read a trace's logs from, log search lists records from, and DuckDB
//! or pandas read directly (`docs/logs-schema.md`).
//!
//! Records of one bus position go to an in-memory memtable, visible to every read at once.
//! `flush` commits the memtable: one Parquet file per time partition it touches (sorted by time,
//! fsynced with the directory), then the manifest naming them and the newest position written,
//! replaced atomically — the summary store's way (`summaries.rs`). After a crash the store is
//! exactly the last committed manifest; files it does not name are deleted at open, and the
//! pipeline replays the bus after [`LogStore::durable_position`]. A replayed position at or below
//! it is ignored, so every record is stored exactly once.
//!
//! Files belong to a time partition (`LogStoreConfig::partition` wide, by record time).
//! `maintain` drops whole partitions once their range ended before now − retention, and merges
//! files of one partition size-tiered like the summary store (tiers by row count, see
//! [`crate::summaries`]): `fan_in` files of one tier into one, at most one merge per call, never
//! files of `FINAL_TIER` or above. The merge streams (a k-way merge on time of record batches,
//! interleaved column by column without decoding records), so its memory is about `2 × fan_in`
//! batches whatever the file sizes.
//!
//! Reads skip what cannot match without opening it: files by the time range the manifest keeps,
//! row groups by their time statistics and — for a trace ID — their trace-ID statistics and
//! Bloom filter; a trace lookup then filters on the trace-ID column alone and decodes the other
//! columns only in the pages (by the offset index) holding the trace's rows. Search reads files
//! newest first and stops once it holds `limit` records newer than anything left. A read shares
//! one `Arc` per distinct resource and scope among the records it returns.

use std::borrow::Cow;
use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use arrow_array::builder::{
    BinaryBuilder, FixedSizeBinaryBuilder, StringBuilder, UInt32Builder, UInt64Builder,
    UInt8Builder,
};
use arrow_array::{
    Array, BinaryArray, BooleanArray, FixedSizeBinaryArray, RecordBatch, StringArray, UInt32Array,
    UInt64Array, UInt8Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parking_lot::{Mutex, RwLock};
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowFilter,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{PageIndexPolicy, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};
use weft_codec::{
    decode_any_value, decode_resource, decode_scope, encode_any_value, encode_attribute_map,
    encode_resource, encode_scope, CodecError,
};
use weft_model::{
    contains_any_word_ignoring_ascii_case, AttributeValue, InstrumentationScope, KeyValue,
    LogRecord, Resource, SpanId, TraceId,
};

use crate::manifest::sync_directory;
use crate::segment::guard_reads;
use crate::summaries::{
    check_file_schema, check_time_range, column, delete_replaced_files, finish_parquet_file,
    next_batch, open_batches, recover_directory, row_group_u64_range, store_json_manifest, tier_of,
    JsonManifest, Newest, Timed,
};
use crate::StoreError;
use weft_storage::{LogQuery, LogReader, LogSearchResult, LogStoreStats};

#[derive(Debug, Clone)]
pub struct LogStoreConfig {
    pub directory: PathBuf,
    /// Partitions whose whole time range ended before now − retention are dropped by
    /// `maintain`.
    pub retention: Duration,
    /// Files are partitioned by record time into windows of this width; a commit writes one
    /// file per partition it touches; compaction merges only within a partition.
    pub partition: Duration,
    /// Size-tiered compaction: when this many files of one tier exist in a partition, they are
    /// merged into one. Values below 2 count as 2.
    pub compaction_fan_in: usize,
}

impl LogStoreConfig {
    /// Retention 3 days, partitions of 1 hour, fan-in 8.
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        LogStoreConfig {
            directory: directory.into(),
            retention: Duration::from_secs(3 * 86_400),
            partition: Duration::from_secs(3_600),
            compaction_fan_in: 8,
        }
    }

    fn fan_in(&self) -> usize {
        self.compaction_fan_in.max(2)
    }

    fn partition_nanos(&self) -> u64 {
        u64::try_from(self.partition.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The `[start, end)` of the partition holding `time_unix_nanos`.
    fn partition_of(&self, time_unix_nanos: u64) -> (u64, u64) {
        let width = self.partition_nanos();
        let start = time_unix_nanos - time_unix_nanos % width;
        (start, start.saturating_add(width))
    }
}

/// Files of this tier or above are never merged again (at fan-in 8, 4 096 000 records or more).
const FINAL_TIER: u32 = 5;

const FORMAT_VERSION: u32 = 1;
const FILE_PREFIX: &str = "logs-";
const FILE_SUFFIX: &str = ".parquet";
/// Row groups are the unit a trace lookup skips (by Bloom filter) or reads whole.
const ROW_GROUP_ROWS: usize = 16_384;
/// Rows per data page. A trace's records are close in time, so in a few pages of a row group:
/// a trace lookup decodes only those (by the offset index), not the whole row group.
const PAGE_ROWS: usize = 1_024;
/// Records per encoded batch when writing, per decoded batch when reading and merging.
const BATCH_ROWS: usize = 4_096;
const ZSTD_LEVEL: i32 = 3;

fn file_name(sequence: u64) -> String {
    format!("{FILE_PREFIX}{sequence:06}{FILE_SUFFIX}")
}

/// Whether `name` is one of the files this store writes (and may delete when unlisted).
fn is_store_file(name: &str) -> bool {
    (name.starts_with(FILE_PREFIX) && name.ends_with(FILE_SUFFIX)) || name.ends_with(".tmp")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileMeta {
    name: String,
    /// The order files were written in (a merge's output gets a new one).
    sequence: u64,
    /// The partition the file belongs to, `[start, end)`.
    partition_start_unix_nanos: u64,
    partition_end_unix_nanos: u64,
    rows: u64,
    bytes: u64,
    min_time_unix_nanos: u64,
    max_time_unix_nanos: u64,
    /// The tier when the file was written (informational: compaction recomputes it).
    tier: u32,
}

impl FileMeta {
    fn partition(&self) -> (u64, u64) {
        (
            self.partition_start_unix_nanos,
            self.partition_end_unix_nanos,
        )
    }

    /// Whether the file may hold a record of a time in `[first, last]`.
    fn overlaps(&self, first: u64, last: u64) -> bool {
        self.min_time_unix_nanos <= last && self.max_time_unix_nanos >= first
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    /// Every record of every bus position up to here is in the files.
    position: u64,
    files: Vec<FileMeta>,
    next_sequence: u64,
}

impl JsonManifest for Manifest {
    fn version(&self) -> u32 {
        self.version
    }

    fn data_files(&self) -> Vec<&str> {
        self.files.iter().map(|meta| meta.name.as_str()).collect()
    }
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            version: FORMAT_VERSION,
            position: 0,
            files: Vec::new(),
            next_sequence: 1,
        }
    }
}

/// Records written since the last commit, in write order.
#[derive(Debug, Default)]
struct Memtable {
    batches: Vec<Arc<Vec<LogRecord>>>,
    records: usize,
    /// The newest position written; at least the manifest's.
    position: u64,
    time_range: Option<(u64, u64)>,
}

impl Memtable {
    fn add(&mut self, records: Arc<Vec<LogRecord>>) {
        for record in records.iter() {
            let time = record.time_unix_nanos;
            self.time_range = Some(match self.time_range {
                Some((oldest, newest)) => (oldest.min(time), newest.max(time)),
                None => (time, time),
            });
        }
        self.records += records.len();
        self.batches.push(records);
    }

    /// Drops the first `count` batches (a commit made them durable).
    fn drain(&mut self, count: usize) {
        let kept = self.batches.split_off(count);
        let mut rest = Memtable {
            position: self.position,
            ..Memtable::default()
        };
        for batch in kept {
            rest.add(batch);
        }
        *self = rest;
    }
}

#[derive(Debug, Default)]
struct State {
    manifest: Manifest,
    memtable: Memtable,
}

/// What a read sees: the live files it may need and the memtable, taken together.
struct Snapshot {
    files: Vec<FileMeta>,
    memtable: Vec<Arc<Vec<LogRecord>>>,
}

impl Snapshot {
    fn memtable_records(&self) -> impl Iterator<Item = &LogRecord> {
        self.memtable.iter().flat_map(|batch| batch.iter())
    }
}

/// A compaction's inputs, chosen from a manifest snapshot, and its output's sequence.
#[derive(Debug)]
struct CompactionPlan {
    inputs: Vec<FileMeta>,
    output_sequence: u64,
}

/// The log record store. `Send + Sync`; every method takes `&self` and blocks on file I/O.
/// Writes and reads run concurrently with a flush or maintenance; flushes run one at a time, and
/// so do maintenance runs.
pub struct LogStore {
    config: LogStoreConfig,
    /// The manifest and the memtable, changed together so a read never sees a record twice (in a
    /// new file and still in the memtable) or not at all. Held briefly, and while a new manifest
    /// is written.
    state: Mutex<State>,
    /// Reads hold it shared while reading files; `maintain` holds it exclusively while deleting
    /// the files it dropped or replaced.
    deletion_gate: RwLock<()>,
    flushing: Mutex<()>,
    maintenance: Mutex<()>,
}

impl LogStore {
    /// Opens (or creates) the store and deletes the store files the manifest does not name.
    pub fn open(config: LogStoreConfig) -> Result<LogStore, StoreError> {
        let manifest: Manifest =
            recover_directory(&config.directory, FORMAT_VERSION, is_store_file, "log")?;
        let memtable = Memtable {
            position: manifest.position,
            ..Memtable::default()
        };
        Ok(LogStore {
            config,
            state: Mutex::new(State { manifest, memtable }),
            deletion_gate: RwLock::new(()),
            flushing: Mutex::new(()),
            maintenance: Mutex::new(()),
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.config.directory.join(name)
    }

    fn store_manifest(&self, manifest: &Manifest) -> Result<(), StoreError> {
        store_json_manifest(&self.config.directory, manifest, "log")
    }

    /// The position of the last commit (0 for a new store).
    pub fn durable_position(&self) -> u64 {
        self.state.lock().manifest.position
    }

    /// Adds the records of one bus position to the memtable. A position at or below the durable
    /// position was committed before (a replay after a restart, or a cold-writer part redone)
    /// and is ignored, as is one at or below the newest position written: `Ok(false)`. A
    /// position without records still counts: the next flush commits it.
    pub fn write(&self, position: u64, records: Arc<Vec<LogRecord>>) -> Result<bool, StoreError> {
        let mut state = self.state.lock();
        if position <= state.manifest.position || position <= state.memtable.position {
            return Ok(false);
        }
        state.memtable.position = position;
        if !records.is_empty() {
            state.memtable.add(records);
        }
        Ok(true)
    }

    /// Records written and not committed yet.
    pub fn memtable_records(&self) -> usize {
        self.state.lock().memtable.records
    }

    /// Commits the memtable: one Parquet file per partition it touches, fsynced with the
    /// directory, then the manifest with the newest position written; then the committed records
    /// leave the memtable. A no-op when nothing was written since the last commit; only a new
    /// manifest when positions without records were. On error the memtable is kept (a later
    /// flush retries) and the new files are removed, or left unnamed (deleted at the next open)
    /// when the manifest write failed.
    pub fn flush(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.flushing.lock();
        let (batches, position) = {
            let state = self.state.lock();
            if state.memtable.position <= state.manifest.position {
                return Ok(());
            }
            (state.memtable.batches.clone(), state.memtable.position)
        };
        let mut partitions: BTreeMap<(u64, u64), Vec<&LogRecord>> = BTreeMap::new();
        for record in batches.iter().flat_map(|batch| batch.iter()) {
            partitions
                .entry(self.config.partition_of(record.time_unix_nanos))
                .or_default()
                .push(record);
        }
        let count = partitions.len() as u64;
        let first_sequence = {
            let mut state = self.state.lock();
            let first = state.manifest.next_sequence;
            state.manifest.next_sequence += count;
            first
        };
        let written = (first_sequence..)
            .zip(partitions)
            .map(|(sequence, (partition, mut records))| {
                // Stable: records of equal time keep their write order.
                records.sort_by_key(|record| record.time_unix_nanos);
                self.write_file(sequence, partition, &records)
            })
            .collect::<Result<Vec<FileMeta>, StoreError>>()
            .and_then(|files| sync_directory(&self.config.directory).map(|()| files));
        let files = match written {
            Ok(files) => files,
            Err(error) => {
                // Nothing names them yet.
                for sequence in first_sequence..first_sequence + count {
                    let _ = std::fs::remove_file(self.path(&file_name(sequence)));
                }
                return Err(error);
            }
        };
        let mut state = self.state.lock();
        let mut next = state.manifest.clone();
        next.files.extend(files);
        next.position = position;
        // On failure the files stay: the manifest may have reached the disk (the rename did, the
        // directory's fsync did not), and if it did not they are deleted at the next open.
        self.store_manifest(&next)?;
        state.manifest = next;
        // Flushes run one at a time and only they remove batches: the first ones are still
        // those committed.
        state.memtable.drain(batches.len());
        Ok(())
    }

    /// Writes one partition's records, sorted by time, as a new fsynced file.
    fn write_file(
        &self,
        sequence: u64,
        partition: (u64, u64),
        records: &[&LogRecord],
    ) -> Result<FileMeta, StoreError> {
        let name = file_name(sequence);
        let mut writer = LogWriter::create(&self.path(&name), records.len())?;
        let mut parts = PartEncoder::default();
        for chunk in records.chunks(BATCH_ROWS) {
            writer.write(&encode(chunk, &mut parts)?)?;
        }
        writer.finish(name, sequence, partition, self.config.fan_in())
    }

    /// The live files `wanted` accepts and the memtable, taken together.
    fn snapshot(&self, wanted: impl Fn(&FileMeta) -> bool) -> Snapshot {
        let state = self.state.lock();
        Snapshot {
            files: state
                .manifest
                .files
                .iter()
                .filter(|meta| wanted(meta))
                .cloned()
                .collect(),
            memtable: state.memtable.batches.clone(),
        }
    }

    /// Every record of `trace_id`, oldest first (equal times in write order), memtable
    /// included. `time_hint`, when given, is an inclusive `(start, end)` range of record times
    /// (callers pass the trace's span time range widened by a margin): only files and row groups
    /// that overlap it are read, and only records within it are returned. `None` reads all.
    pub fn logs_of_trace(
        &self,
        trace_id: &TraceId,
        time_hint: Option<(u64, u64)>,
    ) -> Result<Vec<LogRecord>, StoreError> {
        let (first, last) = time_hint.unwrap_or((0, u64::MAX));
        check_time_range(first, last)?;
        self.collect(first, last, Some(trace_id), &mut |_| true)
    }

    /// Records with time in `[start, end)` for which `wanted` says true, oldest first (equal
    /// times in write order), memtable included.
    pub fn scan(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&LogRecord) -> bool,
    ) -> Result<Vec<LogRecord>, StoreError> {
        check_time_range(start_unix_nanos, end_unix_nanos)?;
        if start_unix_nanos == end_unix_nanos {
            return Ok(Vec::new());
        }
        self.collect(start_unix_nanos, end_unix_nanos - 1, None, wanted)
    }

    /// The records with time in `[first, last]` (of `trace_id`, if given) that `wanted` accepts,
    /// oldest first.
    fn collect(
        &self,
        first: u64,
        last: u64,
        trace_id: Option<&TraceId>,
        wanted: &mut dyn FnMut(&LogRecord) -> bool,
    ) -> Result<Vec<LogRecord>, StoreError> {
        let wanted_id = trace_id.map(|id| *id.as_bytes());
        let _shared_gate = self.deletion_gate.read();
        let mut snapshot = self.snapshot(|meta| meta.overlaps(first, last));
        // In commit order, so that the stable sort below keeps equal times in write order.
        snapshot.files.sort_by_key(|meta| meta.sequence);
        let mut found = Vec::new();
        let mut parts = PartDecoder::default();
        for meta in &snapshot.files {
            let path = self.path(&meta.name);
            guard_reads(&path, || {
                let file = LogFile::open(&path, wanted_id.is_some())?;
                for row_group in 0..file.row_groups() {
                    if let Some((min, max)) = file.time_range(row_group) {
                        if max < first || min > last {
                            continue;
                        }
                    }
                    if let Some(id) = &wanted_id {
                        if !file.may_hold_trace(row_group, id)? {
                            continue;
                        }
                    }
                    file.read_row_group(row_group, wanted_id, &mut |columns| {
                        for row in 0..columns.rows {
                            let time = columns.time.value(row);
                            if time < first || time > last {
                                continue;
                            }
                            if wanted_id.is_some_and(|id| columns.trace_id(row) != Some(&id[..])) {
                                continue;
                            }
                            let record = columns.record(row, &mut parts)?;
                            if wanted(&record) {
                                found.push(record);
                            }
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
        }
        for record in snapshot.memtable_records() {
            let time = record.time_unix_nanos;
            if time < first || time > last {
                continue;
            }
            if trace_id.is_some_and(|id| record.trace_id.as_ref() != Some(id)) {
                continue;
            }
            if wanted(record) {
                found.push(record.clone());
            }
        }
        found.sort_by_key(|record| record.time_unix_nanos);
        Ok(found)
    }

    /// Records in `[start, end)` matching every filter of `query`, newest first, at most
    /// `query.limit`. Reads the memtable, then the files overlapping the range newest first and
    /// within a file the row groups newest first; stops once it holds `limit` records newer
    /// than anything left to read.
    pub fn search(&self, query: &LogQuery) -> Result<LogSearchResult, StoreError> {
        check_time_range(query.start_unix_nanos, query.end_unix_nanos)?;
        if query.limit == 0 || query.start_unix_nanos == query.end_unix_nanos {
            return Ok(LogSearchResult::default());
        }
        let filter = Filter::new(query);
        let _shared_gate = self.deletion_gate.read();
        let mut snapshot = self.snapshot(|meta| meta.overlaps(filter.first, filter.last));
        let mut newest = Newest::new(query.limit);
        let mut scanned = 0u64;
        for record in snapshot.memtable_records() {
            scanned += 1;
            if filter.matches_record(record) {
                newest.push(record.clone());
            }
        }
        newest.settle();
        snapshot.files.sort_by(|left, right| {
            (right.max_time_unix_nanos, right.sequence)
                .cmp(&(left.max_time_unix_nanos, left.sequence))
        });
        let mut parts = PartDecoder::default();
        for meta in &snapshot.files {
            if !newest.admits(meta.max_time_unix_nanos) {
                break;
            }
            let path = self.path(&meta.name);
            guard_reads(&path, || {
                search_file(&path, &filter, &mut newest, &mut parts, &mut scanned)
            })?;
        }
        Ok(LogSearchResult {
            records: newest.into_rows(),
            scanned_records: scanned,
        })
    }

    /// Drops the files of partitions whose range ended before `now − retention`, then runs at
    /// most one compaction step; commits each by a new manifest and deletes the files it
    /// dropped or replaced after that manifest is durable (and no read uses them). Holds the
    /// state lock only to snapshot and to swap, never while reading or writing Parquet.
    pub fn maintain(&self, now_unix_nanos: u64) -> Result<(), StoreError> {
        let _one_at_a_time = self.maintenance.lock();
        self.apply_retention(now_unix_nanos)?;
        if let Some(plan) = self.plan_compaction() {
            let output = match self.write_compaction(&plan) {
                Ok(output) => output,
                Err(error) => {
                    let _ = std::fs::remove_file(self.path(&file_name(plan.output_sequence)));
                    return Err(error);
                }
            };
            self.install_compaction(&plan, output)?;
        }
        Ok(())
    }

    pub fn stats(&self) -> LogStoreStats {
        let state = self.state.lock();
        let files = &state.manifest.files;
        let time_range = files
            .iter()
            .map(|meta| (meta.min_time_unix_nanos, meta.max_time_unix_nanos))
            .chain(state.memtable.time_range)
            .reduce(|left, right| (left.0.min(right.0), left.1.max(right.1)));
        LogStoreStats {
            files: files.len(),
            records: files.iter().map(|meta| meta.rows).sum(),
            bytes: files.iter().map(|meta| meta.bytes).sum(),
            memtable_records: state.memtable.records,
            durable_position: state.manifest.position,
            oldest_time_unix_nanos: time_range.map(|range| range.0),
            newest_time_unix_nanos: time_range.map(|range| range.1),
        }
    }

    /// Drops the files of the partitions whose range ended at or before `now − retention`.
    fn apply_retention(&self, now_unix_nanos: u64) -> Result<(), StoreError> {
        let retention = u64::try_from(self.config.retention.as_nanos()).unwrap_or(u64::MAX);
        let cutoff = now_unix_nanos.saturating_sub(retention);
        let expired = |meta: &FileMeta| meta.partition_end_unix_nanos <= cutoff;
        let dropped: Vec<String> = {
            let mut state = self.state.lock();
            if !state.manifest.files.iter().any(expired) {
                return Ok(());
            }
            let mut next = state.manifest.clone();
            let (dropped, kept): (Vec<FileMeta>, Vec<FileMeta>) =
                next.files.into_iter().partition(expired);
            next.files = kept;
            self.store_manifest(&next)?;
            state.manifest = next;
            dropped.into_iter().map(|meta| meta.name).collect()
        };
        delete_replaced_files(&self.deletion_gate, &self.config.directory, &dropped);
        Ok(())
    }

    /// Chooses, in the oldest partition that has one, the lowest tier (below `FINAL_TIER`) with
    /// at least `fan_in` files, and its `fan_in` oldest files; reserves the output's sequence.
    fn plan_compaction(&self) -> Option<CompactionPlan> {
        let fan_in = self.config.fan_in();
        let mut state = self.state.lock();
        let mut inputs: Vec<FileMeta> = {
            let mut groups: BTreeMap<((u64, u64), u32), Vec<&FileMeta>> = BTreeMap::new();
            for meta in &state.manifest.files {
                let tier = tier_of(meta.rows, fan_in);
                if tier < FINAL_TIER {
                    groups
                        .entry((meta.partition(), tier))
                        .or_default()
                        .push(meta);
                }
            }
            groups
                .into_values()
                .find(|group| group.len() >= fan_in)?
                .into_iter()
                .cloned()
                .collect()
        };
        inputs.sort_by_key(|meta| meta.sequence);
        inputs.truncate(fan_in);
        let output_sequence = state.manifest.next_sequence;
        state.manifest.next_sequence += 1;
        Some(CompactionPlan {
            inputs,
            output_sequence,
        })
    }

    /// Merges the plan's inputs into its output file (fsynced, and the directory too).
    fn write_compaction(&self, plan: &CompactionPlan) -> Result<FileMeta, StoreError> {
        let name = file_name(plan.output_sequence);
        let expected: u64 = plan.inputs.iter().map(|input| input.rows).sum();
        let mut merge = Merge::open(plan.inputs.iter().map(|input| self.path(&input.name)))?;
        let mut writer = LogWriter::create(
            &self.path(&name),
            usize::try_from(expected).unwrap_or(usize::MAX),
        )?;
        while let Some(batch) = merge.next_batch()? {
            writer.write(&batch)?;
        }
        let partition = plan.inputs.first().map_or((0, 0), FileMeta::partition);
        let output = writer.finish(name, plan.output_sequence, partition, self.config.fan_in())?;
        if output.rows != expected {
            return Err(StoreError::Corrupt(format!(
                "merging {} log files read {} records, the manifest lists {expected}",
                plan.inputs.len(),
                output.rows
            )));
        }
        sync_directory(&self.config.directory)?;
        Ok(output)
    }

    /// Replaces exactly the plan's inputs by `output` if the manifest still lists them all (a
    /// flush only adds files); deletes the inputs after the manifest is durable, or the output
    /// when the plan is stale.
    fn install_compaction(
        &self,
        plan: &CompactionPlan,
        output: FileMeta,
    ) -> Result<(), StoreError> {
        let inputs: HashSet<&str> = plan.inputs.iter().map(|meta| meta.name.as_str()).collect();
        let output_name = output.name.clone();
        let installed = {
            let mut state = self.state.lock();
            let listed = state
                .manifest
                .files
                .iter()
                .filter(|meta| inputs.contains(meta.name.as_str()))
                .count();
            if listed == inputs.len() {
                let mut next = state.manifest.clone();
                next.files
                    .retain(|meta| !inputs.contains(meta.name.as_str()));
                next.files.push(output);
                self.store_manifest(&next)?;
                state.manifest = next;
                true
            } else {
                false
            }
        };
        let names: Vec<String> = if installed {
            plan.inputs.iter().map(|meta| meta.name.clone()).collect()
        } else {
            tracing::warn!(
                file = output_name,
                "a log compaction's inputs went away; discarding its output"
            );
            vec![output_name]
        };
        delete_replaced_files(&self.deletion_gate, &self.config.directory, &names);
        Ok(())
    }
}

impl Timed for LogRecord {
    fn time(&self) -> u64 {
        self.time_unix_nanos
    }

    /// Newest first; equal times keep the order they were found in (the sorts are stable).
    fn newest_first(&self, other: &Self) -> CmpOrdering {
        other.time_unix_nanos.cmp(&self.time_unix_nanos)
    }
}

/// Adds the records of one file that match `filter` to `newest`, newest row groups first.
fn search_file(
    path: &Path,
    filter: &Filter,
    newest: &mut Newest<LogRecord>,
    parts: &mut PartDecoder,
    scanned: &mut u64,
) -> Result<(), StoreError> {
    let file = LogFile::open(path, filter.trace_id.is_some())?;
    for row_group in (0..file.row_groups()).rev() {
        if let Some((min, max)) = file.time_range(row_group) {
            if max < filter.first || min > filter.last || !newest.admits(max) {
                continue;
            }
        }
        if let Some(id) = &filter.trace_id {
            if !file.may_hold_trace(row_group, id)? {
                continue;
            }
        }
        file.read_row_group(row_group, filter.trace_id, &mut |columns| {
            for row in 0..columns.rows {
                *scanned += 1;
                if newest.admits(columns.time.value(row)) && filter.matches_row(columns, row)? {
                    newest.push(columns.record(row, parts)?);
                }
            }
            Ok(())
        })?;
        newest.settle();
    }
    Ok(())
}

/// A search's conditions, ready to test records and rows.
struct Filter {
    /// The range, inclusive: `[start, end − 1]`.
    first: u64,
    last: u64,
    service: Option<String>,
    text: Option<Needle>,
    min_severity: Option<u8>,
    trace_id: Option<[u8; 16]>,
}

impl Filter {
    /// For a query with `start < end`.
    fn new(query: &LogQuery) -> Filter {
        Filter {
            first: query.start_unix_nanos,
            last: query.end_unix_nanos.saturating_sub(1),
            service: query.service.clone(),
            text: query.text.as_deref().and_then(Needle::new),
            min_severity: query.min_severity,
            trace_id: query.trace_id.map(|id| *id.as_bytes()),
        }
    }

    /// The conditions on the cheap fields.
    fn matches_fields(
        &self,
        time: u64,
        service: &str,
        severity: u8,
        trace_id: Option<&[u8]>,
    ) -> bool {
        time >= self.first
            && time <= self.last
            && self
                .service
                .as_deref()
                .is_none_or(|wanted| wanted == service)
            && self
                .min_severity
                .is_none_or(|minimum| severity != 0 && severity >= minimum)
            && self
                .trace_id
                .as_ref()
                .is_none_or(|wanted| trace_id == Some(&wanted[..]))
    }

    fn matches_record(&self, record: &LogRecord) -> bool {
        self.matches_fields(
            record.time_unix_nanos,
            &record.service_name,
            record.severity_number,
            record.trace_id.as_ref().map(|id| &id.as_bytes()[..]),
        ) && self.text.as_ref().is_none_or(|needle| {
            let body = match &record.body {
                AttributeValue::String(text) => Cow::Borrowed(text.as_str()),
                _ => Cow::Owned(record.body_text()),
            };
            needle.found_in(&body) || needle.found_in_attributes(&record.attributes)
        })
    }

    /// Whether a stored row matches; decodes its attributes only when the text is not in its
    /// body.
    fn matches_row(&self, columns: &Columns, row: usize) -> Result<bool, StoreError> {
        if !self.matches_fields(
            columns.time.value(row),
            columns.service.value(row),
            columns.severity.value(row),
            columns.trace_id(row),
        ) {
            return Ok(false);
        }
        Ok(match &self.text {
            None => true,
            Some(needle) => {
                needle.found_in(columns.body_text.value(row))
                    || needle.found_in_attributes(&columns.attributes(row)?)
            }
        })
    }
}

/// A case-insensitive substring to look for.
struct Needle {
    /// As given, for the ASCII comparison (without allocating).
    word: [String; 1],
    lowercase: String,
}

impl Needle {
    /// `None` for the empty text, which matches everything.
    fn new(text: &str) -> Option<Needle> {
        (!text.is_empty()).then(|| Needle {
            word: [text.to_owned()],
            lowercase: text.to_lowercase(),
        })
    }

    fn found_in(&self, haystack: &str) -> bool {
        if haystack.is_ascii() && self.word[0].is_ascii() {
            contains_any_word_ignoring_ascii_case(haystack, &self.word)
        } else {
            haystack.to_lowercase().contains(&self.lowercase)
        }
    }

    /// In the value of an attribute whose value is a string.
    fn found_in_attributes(&self, attributes: &[KeyValue]) -> bool {
        attributes.iter().any(|attribute| match &attribute.value {
            AttributeValue::String(text) => self.found_in(text),
            _ => false,
        })
    }
}

// The columns, in file order.
const TIME: usize = 0;
const OBSERVED_TIME: usize = 1;
const TRACE_ID: usize = 2;
const SPAN_ID: usize = 3;
const SEVERITY_NUMBER: usize = 4;
const SEVERITY_TEXT: usize = 5;
const SERVICE_NAME: usize = 6;
const BODY_TEXT: usize = 7;
const BODY: usize = 8;
const ATTRIBUTES: usize = 9;
const DROPPED_ATTRIBUTES_COUNT: usize = 10;
const FLAGS: usize = 11;
const EVENT_NAME: usize = 12;
const RESOURCE: usize = 13;
const SCOPE: usize = 14;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("time_unix_nanos", DataType::UInt64, false),
        Field::new("observed_time_unix_nanos", DataType::UInt64, false),
        Field::new("trace_id", DataType::FixedSizeBinary(16), true),
        Field::new("span_id", DataType::FixedSizeBinary(8), true),
        Field::new("severity_number", DataType::UInt8, false),
        Field::new("severity_text", DataType::Utf8, false),
        Field::new("service_name", DataType::Utf8, false),
        Field::new("body_text", DataType::Utf8, false),
        Field::new("body", DataType::Binary, true),
        Field::new("attributes", DataType::Binary, false),
        Field::new("dropped_attributes_count", DataType::UInt32, false),
        Field::new("flags", DataType::UInt32, false),
        Field::new("event_name", DataType::Utf8, false),
        Field::new("resource", DataType::Binary, false),
        Field::new("scope", DataType::Binary, false),
    ]))
});

fn column_path(index: usize) -> ColumnPath {
    ColumnPath::from(SCHEMA.field(index).name().as_str())
}

fn writer_properties(expected_rows: usize) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).expect("3 is a valid zstd level"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_write_batch_size(PAGE_ROWS)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_column_bloom_filter_enabled(column_path(TRACE_ID), true)
        // A trace has a few records and many records have none: distinct IDs are a fraction
        // of the rows.
        .set_column_bloom_filter_max_ndv(
            column_path(TRACE_ID),
            (expected_rows.min(ROW_GROUP_ROWS) as u64 / 2).max(64),
        )
        .set_column_bloom_filter_fpp(column_path(TRACE_ID), 0.01)
        .set_column_encoding(column_path(TIME), Encoding::DELTA_BINARY_PACKED)
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: TIME as i32,
            descending: false,
            nulls_first: false,
        }]));
    // High-cardinality columns: a dictionary would only be abandoned. The repetitive ones
    // (service, severity text, event name, resource, scope, the small integers) keep theirs.
    for index in [
        TIME,
        OBSERVED_TIME,
        TRACE_ID,
        SPAN_ID,
        BODY_TEXT,
        BODY,
        ATTRIBUTES,
    ] {
        builder = builder.set_column_dictionary_enabled(column_path(index), false);
    }
    // Minimum and maximum of long binary values skip nothing.
    for index in [BODY_TEXT, BODY, ATTRIBUTES, RESOURCE, SCOPE] {
        builder =
            builder.set_column_statistics_enabled(column_path(index), EnabledStatistics::None);
    }
    builder.build()
}

/// Resources and scopes already encoded in a file, by the record's `Arc`: records of one batch
/// share them.
#[derive(Default)]
struct PartEncoder {
    resources: HashMap<*const Resource, Vec<u8>>,
    scopes: HashMap<*const InstrumentationScope, Vec<u8>>,
}

fn encode(records: &[&LogRecord], parts: &mut PartEncoder) -> Result<RecordBatch, StoreError> {
    let count = records.len();
    let mut time = UInt64Builder::with_capacity(count);
    let mut observed_time = UInt64Builder::with_capacity(count);
    let mut trace_id = FixedSizeBinaryBuilder::with_capacity(count, 16);
    let mut span_id = FixedSizeBinaryBuilder::with_capacity(count, 8);
    let mut severity_number = UInt8Builder::with_capacity(count);
    let mut severity_text = StringBuilder::new();
    let mut service_name = StringBuilder::new();
    let mut body_text = StringBuilder::new();
    let mut body = BinaryBuilder::new();
    let mut attributes = BinaryBuilder::new();
    let mut dropped_attributes_count = UInt32Builder::with_capacity(count);
    let mut flags = UInt32Builder::with_capacity(count);
    let mut event_name = StringBuilder::new();
    let mut resource = BinaryBuilder::new();
    let mut scope = BinaryBuilder::new();
    let id_error = |error| StoreError::Corrupt(format!("encoding a log record's id: {error}"));
    for record in records {
        time.append_value(record.time_unix_nanos);
        observed_time.append_value(record.observed_time_unix_nanos);
        match &record.trace_id {
            Some(id) => trace_id.append_value(id.as_bytes()).map_err(id_error)?,
            None => trace_id.append_null(),
        }
        match &record.span_id {
            Some(id) => span_id.append_value(id.as_bytes()).map_err(id_error)?,
            None => span_id.append_null(),
        }
        severity_number.append_value(record.severity_number);
        severity_text.append_value(&record.severity_text);
        service_name.append_value(&record.service_name);
        match &record.body {
            // The text is the body: no need to store it twice.
            AttributeValue::String(text) => {
                body_text.append_value(text);
                body.append_null();
            }
            other => {
                body_text.append_value(record.body_text());
                body.append_value(encode_any_value(other));
            }
        }
        attributes.append_value(encode_attribute_map(&record.attributes));
        dropped_attributes_count.append_value(record.dropped_attributes_count);
        flags.append_value(record.flags);
        event_name.append_value(&record.event_name);
        resource.append_value(
            parts
                .resources
                .entry(Arc::as_ptr(&record.resource))
                .or_insert_with(|| encode_resource(&record.resource)),
        );
        scope.append_value(
            parts
                .scopes
                .entry(Arc::as_ptr(&record.scope))
                .or_insert_with(|| encode_scope(&record.scope)),
        );
    }
    let columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(time.finish()),
        Arc::new(observed_time.finish()),
        Arc::new(trace_id.finish()),
        Arc::new(span_id.finish()),
        Arc::new(severity_number.finish()),
        Arc::new(severity_text.finish()),
        Arc::new(service_name.finish()),
        Arc::new(body_text.finish()),
        Arc::new(body.finish()),
        Arc::new(attributes.finish()),
        Arc::new(dropped_attributes_count.finish()),
        Arc::new(flags.finish()),
        Arc::new(event_name.finish()),
        Arc::new(resource.finish()),
        Arc::new(scope.finish()),
    ];
    RecordBatch::try_new(SCHEMA.clone(), columns)
        .map_err(|error| StoreError::Corrupt(format!("building a log batch: {error}")))
}

/// Writes one log file, batch by batch (sorted by time), keeping its row count and time range.
struct LogWriter {
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
    min_time: u64,
    max_time: u64,
}

impl LogWriter {
    fn create(path: &Path, expected_rows: usize) -> Result<LogWriter, StoreError> {
        let file = File::create(path).map_err(|error| StoreError::io(path, error))?;
        let writer =
            ArrowWriter::try_new(file, SCHEMA.clone(), Some(writer_properties(expected_rows)))
                .map_err(|error| StoreError::encoding(path, error))?;
        Ok(LogWriter {
            path: path.to_owned(),
            writer,
            rows: 0,
            min_time: u64::MAX,
            max_time: 0,
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let times: &UInt64Array = column(batch, TIME, &self.path)?;
        for time in times.values() {
            self.min_time = self.min_time.min(*time);
            self.max_time = self.max_time.max(*time);
        }
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|error| StoreError::encoding(&self.path, error))
    }

    /// Closes and fsyncs the file; its manifest entry.
    fn finish(
        self,
        name: String,
        sequence: u64,
        partition: (u64, u64),
        fan_in: usize,
    ) -> Result<FileMeta, StoreError> {
        let bytes = finish_parquet_file(self.writer, &self.path)?;
        Ok(FileMeta {
            name,
            sequence,
            partition_start_unix_nanos: partition.0,
            partition_end_unix_nanos: partition.1,
            rows: self.rows,
            bytes,
            min_time_unix_nanos: self.min_time.min(self.max_time),
            max_time_unix_nanos: self.max_time,
            tier: tier_of(self.rows, fan_in),
        })
    }
}

/// Decoded resources and scopes by their stored bytes, so the records of one read share one
/// `Arc` per distinct resource and scope.
#[derive(Default)]
struct PartDecoder {
    resources: HashMap<Vec<u8>, Arc<Resource>>,
    scopes: HashMap<Vec<u8>, Arc<InstrumentationScope>>,
}

fn shared<T>(
    cache: &mut HashMap<Vec<u8>, Arc<T>>,
    bytes: &[u8],
    decode: fn(&[u8]) -> Result<T, CodecError>,
) -> Result<Arc<T>, CodecError> {
    if let Some(found) = cache.get(bytes) {
        return Ok(Arc::clone(found));
    }
    let value = Arc::new(decode(bytes)?);
    cache.insert(bytes.to_vec(), Arc::clone(&value));
    Ok(value)
}

/// One decoded batch's columns.
struct Columns<'a> {
    path: &'a Path,
    rows: usize,
    time: &'a UInt64Array,
    observed_time: &'a UInt64Array,
    trace_id: &'a FixedSizeBinaryArray,
    span_id: &'a FixedSizeBinaryArray,
    severity: &'a UInt8Array,
    severity_text: &'a StringArray,
    service: &'a StringArray,
    body_text: &'a StringArray,
    body: &'a BinaryArray,
    attributes: &'a BinaryArray,
    dropped_attributes_count: &'a UInt32Array,
    flags: &'a UInt32Array,
    event_name: &'a StringArray,
    resource: &'a BinaryArray,
    scope: &'a BinaryArray,
}

impl<'a> Columns<'a> {
    fn of(batch: &'a RecordBatch, path: &'a Path) -> Result<Columns<'a>, StoreError> {
        check_file_schema(batch.schema().fields(), &SCHEMA, path, "log")?;
        Ok(Columns {
            path,
            rows: batch.num_rows(),
            time: column(batch, TIME, path)?,
            observed_time: column(batch, OBSERVED_TIME, path)?,
            trace_id: column(batch, TRACE_ID, path)?,
            span_id: column(batch, SPAN_ID, path)?,
            severity: column(batch, SEVERITY_NUMBER, path)?,
            severity_text: column(batch, SEVERITY_TEXT, path)?,
            service: column(batch, SERVICE_NAME, path)?,
            body_text: column(batch, BODY_TEXT, path)?,
            body: column(batch, BODY, path)?,
            attributes: column(batch, ATTRIBUTES, path)?,
            dropped_attributes_count: column(batch, DROPPED_ATTRIBUTES_COUNT, path)?,
            flags: column(batch, FLAGS, path)?,
            event_name: column(batch, EVENT_NAME, path)?,
            resource: column(batch, RESOURCE, path)?,
            scope: column(batch, SCOPE, path)?,
        })
    }

    fn corrupt(&self, row: usize, what: &str, error: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(format!(
            "{}: row {row}: {what}: {error}",
            self.path.display()
        ))
    }

    fn trace_id(&self, row: usize) -> Option<&[u8]> {
        (!self.trace_id.is_null(row)).then(|| self.trace_id.value(row))
    }

    fn attributes(&self, row: usize) -> Result<Vec<KeyValue>, StoreError> {
        match decode_any_value(self.attributes.value(row)) {
            Ok(AttributeValue::Map(attributes)) => Ok(attributes),
            Ok(_) => Err(self.corrupt(row, "attributes", "not a key-value list")),
            Err(error) => Err(self.corrupt(row, "attributes", error)),
        }
    }

    fn record(&self, row: usize, parts: &mut PartDecoder) -> Result<LogRecord, StoreError> {
        // The schema check made the ID columns 16 and 8 bytes wide.
        let trace_id = match self.trace_id(row) {
            Some(bytes) => Some(TraceId::from_bytes(
                bytes
                    .try_into()
                    .map_err(|error| self.corrupt(row, "trace_id", error))?,
            )),
            None => None,
        };
        let span_id = match self.span_id.is_null(row) {
            true => None,
            false => Some(SpanId::from_bytes(
                self.span_id
                    .value(row)
                    .try_into()
                    .map_err(|error| self.corrupt(row, "span_id", error))?,
            )),
        };
        let body = if self.body.is_null(row) {
            AttributeValue::String(self.body_text.value(row).to_owned())
        } else {
            decode_any_value(self.body.value(row))
                .map_err(|error| self.corrupt(row, "body", error))?
        };
        Ok(LogRecord {
            time_unix_nanos: self.time.value(row),
            observed_time_unix_nanos: self.observed_time.value(row),
            trace_id,
            span_id,
            severity_number: self.severity.value(row),
            severity_text: self.severity_text.value(row).to_owned(),
            body,
            attributes: self.attributes(row)?,
            dropped_attributes_count: self.dropped_attributes_count.value(row),
            flags: self.flags.value(row),
            event_name: self.event_name.value(row).to_owned(),
            resource: shared(
                &mut parts.resources,
                self.resource.value(row),
                decode_resource,
            )
            .map_err(|error| self.corrupt(row, "resource", error))?,
            scope: shared(&mut parts.scopes, self.scope.value(row), decode_scope)
                .map_err(|error| self.corrupt(row, "scope", error))?,
            service_name: self.service.value(row).to_owned(),
        })
    }
}

/// An open log file: its Parquet metadata, loaded once per read. Reads run inside
/// `guard_reads`.
struct LogFile<'a> {
    path: &'a Path,
    file: File,
    metadata: ArrowReaderMetadata,
}

impl<'a> LogFile<'a> {
    /// `page_index` loads the offset index too, which lets a trace lookup skip pages.
    fn open(path: &'a Path, page_index: bool) -> Result<LogFile<'a>, StoreError> {
        let file = File::open(path).map_err(|error| StoreError::io(path, error))?;
        let policy = if page_index {
            PageIndexPolicy::Optional
        } else {
            PageIndexPolicy::Skip
        };
        let options = ArrowReaderOptions::new().with_page_index_policy(policy);
        let metadata = ArrowReaderMetadata::load(&file, options)
            .map_err(|error| StoreError::encoding(path, error))?;
        check_file_schema(metadata.schema().fields(), &SCHEMA, path, "log")?;
        Ok(LogFile {
            path,
            file,
            metadata,
        })
    }

    fn row_groups(&self) -> usize {
        self.metadata.metadata().num_row_groups()
    }

    fn time_range(&self, row_group: usize) -> Option<(u64, u64)> {
        row_group_u64_range(&self.metadata, row_group, TIME)
    }

    fn builder(&self) -> Result<ParquetRecordBatchReaderBuilder<File>, StoreError> {
        let file = self
            .file
            .try_clone()
            .map_err(|error| StoreError::io(self.path, error))?;
        Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
            file,
            self.metadata.clone(),
        ))
    }

    /// Whether a row group may hold a record of `trace_id`, by its trace-ID statistics and Bloom
    /// filter (the flat schema makes the column's index its leaf's).
    fn may_hold_trace(&self, row_group: usize, trace_id: &[u8; 16]) -> Result<bool, StoreError> {
        let chunk = self
            .metadata
            .metadata()
            .row_group(row_group)
            .column(TRACE_ID);
        if let Some(Statistics::FixedLenByteArray(statistics)) = chunk.statistics() {
            if let (Some(min), Some(max)) = (statistics.min_bytes_opt(), statistics.max_bytes_opt())
            {
                if &trace_id[..] < min || &trace_id[..] > max {
                    return Ok(false);
                }
            }
        }
        match self
            .builder()?
            .get_row_group_column_bloom_filter(row_group, TRACE_ID)
            .map_err(|error| StoreError::encoding(self.path, error))?
        {
            Some(bloom) => Ok(bloom.check(&trace_id[..])),
            None => Ok(true),
        }
    }

    /// Feeds `visit` the batches of one row group, in order; with `trace_id`, only its rows
    /// (found by the trace-ID column alone; the other columns are decoded only in the pages
    /// holding them).
    fn read_row_group(
        &self,
        row_group: usize,
        trace_id: Option<[u8; 16]>,
        visit: &mut dyn FnMut(&Columns) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut builder = self
            .builder()?
            .with_row_groups(vec![row_group])
            .with_batch_size(BATCH_ROWS);
        if let Some(wanted) = trace_id {
            let projection = ProjectionMask::leaves(
                self.metadata.metadata().file_metadata().schema_descr(),
                [TRACE_ID],
            );
            let predicate = ArrowPredicateFn::new(projection, move |batch: RecordBatch| {
                let ids = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<FixedSizeBinaryArray>()
                    .ok_or_else(|| {
                        ArrowError::SchemaError("trace_id is not 16 bytes wide".to_owned())
                    })?;
                Ok((0..ids.len())
                    .map(|row| Some(ids.is_valid(row) && ids.value(row) == wanted))
                    .collect::<BooleanArray>())
            });
            builder = builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
        }
        let reader = builder
            .build()
            .map_err(|error| StoreError::encoding(self.path, error))?;
        for batch in reader {
            let batch = batch.map_err(|error| {
                StoreError::Corrupt(format!("{}: {error}", self.path.display()))
            })?;
            visit(&Columns::of(&batch, self.path)?)?;
        }
        Ok(())
    }
}

/// One input of a compaction merge: a file's batches in order, and where it is in the current
/// one.
struct MergeInput {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    times: UInt64Array,
    /// The current batch's index in the merge's arena.
    slot: usize,
    row: usize,
}

impl MergeInput {
    fn open(path: PathBuf) -> Result<MergeInput, StoreError> {
        Ok(MergeInput {
            reader: open_batches(&path, &SCHEMA, "log", BATCH_ROWS)?,
            path,
            times: UInt64Array::from(Vec::<u64>::new()),
            slot: 0,
            row: 0,
        })
    }

    fn is_done(&self) -> bool {
        self.row >= self.times.len()
    }

    /// The next non-empty batch, made current; `None` at the end.
    fn advance(&mut self) -> Result<Option<RecordBatch>, StoreError> {
        while let Some(batch) = next_batch(&self.path, &mut self.reader)? {
            if batch.num_rows() > 0 {
                self.times = Columns::of(&batch, &self.path)?.time.clone();
                self.row = 0;
                return Ok(Some(batch));
            }
        }
        Ok(None)
    }
}

/// A streaming k-way merge on time of sorted log files: output batches of up to `BATCH_ROWS`
/// rows, interleaved from the inputs' batches column by column. Equal times come in input
/// order.
struct Merge {
    inputs: Vec<MergeInput>,
    /// The batches the inputs are in (and the next output's rows point into).
    arena: Vec<RecordBatch>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
}

impl Merge {
    fn open(paths: impl Iterator<Item = PathBuf>) -> Result<Merge, StoreError> {
        let mut merge = Merge {
            inputs: Vec::new(),
            arena: Vec::new(),
            heap: BinaryHeap::new(),
        };
        for path in paths {
            let mut input = MergeInput::open(path)?;
            let index = merge.inputs.len();
            if let Some(batch) = input.advance()? {
                input.slot = merge.arena.len();
                merge.arena.push(batch);
                merge.heap.push(Reverse((input.times.value(0), index)));
            }
            merge.inputs.push(input);
        }
        Ok(merge)
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, StoreError> {
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(BATCH_ROWS);
        while picks.len() < BATCH_ROWS {
            let Some(Reverse((_, index))) = self.heap.pop() else {
                break;
            };
            let input = &mut self.inputs[index];
            picks.push((input.slot, input.row));
            input.row += 1;
            if input.is_done() {
                match input.advance()? {
                    Some(batch) => {
                        input.slot = self.arena.len();
                        self.arena.push(batch);
                    }
                    None => continue,
                }
            }
            self.heap
                .push(Reverse((input.times.value(input.row), index)));
        }
        if picks.is_empty() {
            return Ok(None);
        }
        let batches: Vec<&RecordBatch> = self.arena.iter().collect();
        let merged = arrow_select::interleave::interleave_record_batch(&batches, &picks)
            .and_then(|merged| RecordBatch::try_new(SCHEMA.clone(), merged.columns().to_vec()))
            .map_err(|error| StoreError::Corrupt(format!("merging log batches: {error}")))?;
        // Keep only the batches the inputs are still in.
        let mut arena = Vec::with_capacity(self.inputs.len());
        for input in &mut self.inputs {
            if !input.is_done() {
                arena.push(self.arena[input.slot].clone());
                input.slot = arena.len() - 1;
            }
        }
        self.arena = arena;
        Ok(Some(merged))
    }
}

#[cfg(test)]
mod tests;

impl weft_storage::LogWriter for LogStore {
    fn write(&self, position: u64, records: Arc<Vec<LogRecord>>) -> Result<bool, StoreError> {
        LogStore::write(self, position, records)
    }

    fn pending_records(&self) -> usize {
        self.memtable_records()
    }

    fn flush(&self) -> Result<(), StoreError> {
        LogStore::flush(self)
    }

    fn durable_position(&self) -> u64 {
        LogStore::durable_position(self)
    }
}

impl LogReader for LogStore {
    fn logs_of_trace(
        &self,
        trace_id: &TraceId,
        time_hint: Option<(u64, u64)>,
    ) -> Result<Vec<LogRecord>, StoreError> {
        LogStore::logs_of_trace(self, trace_id, time_hint)
    }

    fn scan(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&LogRecord) -> bool,
    ) -> Result<Vec<LogRecord>, StoreError> {
        LogStore::scan(self, start_unix_nanos, end_unix_nanos, wanted)
    }

    fn search(&self, query: &LogQuery) -> Result<LogSearchResult, StoreError> {
        LogStore::search(self, query)
    }

    fn local_stats(&self) -> Option<LogStoreStats> {
        Some(self.stats())
    }
}
