//! The trace summary store: one row per completed trace, as the stream diagnostics produce them,
//! in plain Parquet files (zstd) that search lists traces from and DuckDB or pandas read
//! directly (`docs/summaries-schema.md`).
//!
//! A commit is atomic with the bus position it reflects and the diagnostics processor's own
//! state (an opaque blob): the rows as a new Parquet file, then the state as a new state file,
//! both fsynced with the directory, then the manifest naming them and the position. After a crash
//! the store is exactly the last committed checkpoint; files the manifest does not name are
//! deleted at open — the metric store's way (`metrics/mod.rs`).
//!
//! `maintain` drops whole files past retention and merges files size-tiered: a file's *tier*
//! follows from its row count — tier 0 below `TIER_BASE_ROWS` rows, tier `n ≥ 1` from
//! `TIER_BASE_ROWS × fan_in^(n−1)` up to (not including) `TIER_BASE_ROWS × fan_in^n` — so merging
//! `fan_in` files of tier `n ≥ 1` yields one file of tier `n + 1` (tier 0 files may merge into
//! tier 0 or 1). Files of tier `FINAL_TIER` or above are never merged again, which bounds a
//! file (fewer than `TIER_BASE_ROWS × fan_in^FINAL_TIER` rows: 4 096 000 at fan-in 16) and how
//! late retention drops its oldest rows. The merge streams (a k-way merge on start), so its memory
//! is about `fan_in` batches, whatever the file sizes.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use arrow_array::builder::{
    BooleanBuilder, FixedSizeBinaryBuilder, StringBuilder, UInt32Builder, UInt64Builder,
    UInt8Builder,
};
use arrow_array::{
    Array, BooleanArray, FixedSizeBinaryArray, RecordBatch, StringArray, UInt32Array, UInt64Array,
    UInt8Array,
};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use parking_lot::{Mutex, RwLock};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::manifest::{sync_directory, write_atomically};
use crate::segment::guard_reads;
use crate::StoreError;
pub use weft_storage::summaries::{
    StatisticsDelta, SummaryQuery, SummaryReader, SummaryStorage, SummaryStoreStats,
    TraceSummaryRow,
};

/// One completed trace, as the stream diagnostics summarize it.
#[derive(Debug, Clone)]
pub struct SummaryStoreConfig {
    pub directory: PathBuf,
    /// Files whose newest row started before now − retention are dropped by `maintain`.
    pub retention: Duration,
    /// Statistics deltas whose newest bucket is older than now − this are dropped by
    /// `maintain` (the diagnostics statistics' own retention).
    pub statistics_retention: Duration,
    /// Size-tiered compaction: when this many files of one tier exist, they are merged into one
    /// file of the next tier. Values below 2 count as 2.
    pub compaction_fan_in: usize,
}

impl SummaryStoreConfig {
    /// Retention 3 days, fan-in 16.
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        SummaryStoreConfig {
            directory: directory.into(),
            retention: Duration::from_secs(3 * 86_400),
            statistics_retention: Duration::from_secs(6 * 3_600),
            compaction_fan_in: 16,
        }
    }

    fn fan_in(&self) -> usize {
        self.compaction_fan_in.max(2)
    }
}

/// What [`SummaryStore::open`] recovered: the processor's state and the bus position of the
/// last commit (`None` and 0 before the first).
#[derive(Debug, Default)]
pub struct RecoveredSummaries {
    pub state: Option<Vec<u8>>,
    pub position: u64,
}

const TIER_BASE_ROWS: u64 = 1_000;
/// Files of this tier or above are never merged.
const FINAL_TIER: u32 = 3;

const MANIFEST_FILE: &str = "MANIFEST.json";
const FORMAT_VERSION: u32 = 1;
const FILE_PREFIX: &str = "summaries-";
const FILE_SUFFIX: &str = ".parquet";
const STATE_PREFIX: &str = "state-";
const STATE_SUFFIX: &str = ".bin";
const STATISTICS_PREFIX: &str = "statistics-";
const ROW_GROUP_ROWS: usize = 65_536;
/// Rows per decoded batch when reading, and per encoded batch when merging.
const BATCH_ROWS: usize = 8_192;
const ZSTD_LEVEL: i32 = 3;

/// The tier of a file of `rows` rows (the log store's files are tiered the same way).
pub(crate) fn tier_of(rows: u64, fan_in: usize) -> u32 {
    let fan_in = fan_in.max(2) as u64;
    let mut tier = 0;
    let mut bound = TIER_BASE_ROWS;
    while rows >= bound {
        tier += 1;
        if bound == u64::MAX {
            break;
        }
        bound = bound.saturating_mul(fan_in);
    }
    tier
}

fn file_name(sequence: u64) -> String {
    format!("{FILE_PREFIX}{sequence:06}{FILE_SUFFIX}")
}

fn statistics_name(sequence: u64) -> String {
    format!("{STATISTICS_PREFIX}{sequence:06}{STATE_SUFFIX}")
}

fn state_name(sequence: u64) -> String {
    format!("{STATE_PREFIX}{sequence:06}{STATE_SUFFIX}")
}

/// Whether `name` is one of the files this store writes (and may delete when unlisted).
fn is_store_file(name: &str) -> bool {
    (name.starts_with(FILE_PREFIX) && name.ends_with(FILE_SUFFIX))
        || (name.starts_with(STATE_PREFIX) && name.ends_with(STATE_SUFFIX))
        || (name.starts_with(STATISTICS_PREFIX) && name.ends_with(STATE_SUFFIX))
        || name.ends_with(".tmp")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileMeta {
    name: String,
    rows: u64,
    bytes: u64,
    min_start_unix_nanos: u64,
    max_start_unix_nanos: u64,
    /// The tier when the file was written (informational: compaction recomputes it from `rows`
    /// with the configured fan-in).
    tier: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    /// Every span up to this bus position is in the files or the state.
    position: u64,
    /// The processor's serialized state at `position`.
    state: Option<String>,
    files: Vec<FileMeta>,
    /// The statistics deltas, in commit order.
    #[serde(default)]
    statistics: Vec<StatisticsFileMeta>,
    next_sequence: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StatisticsFileMeta {
    name: String,
    bytes: u64,
    newest_bucket_unix_nanos: u64,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            version: FORMAT_VERSION,
            position: 0,
            state: None,
            files: Vec::new(),
            statistics: Vec::new(),
            next_sequence: 1,
        }
    }
}

/// A compaction's inputs, chosen from a manifest snapshot, and its output's name.
#[derive(Debug)]
struct CompactionPlan {
    inputs: Vec<FileMeta>,
    output: String,
}

/// The trace summary store. Every call blocks (file I/O); `commit` from one thread (the
/// diagnostics processor's), `search` from any, `maintain` from any (runs one at a time).
pub struct SummaryStore {
    config: SummaryStoreConfig,
    manifest: Mutex<Manifest>,
    /// Searches hold it shared while reading files; `maintain` holds it exclusively while deleting
    /// the files it dropped or replaced.
    deletion_gate: RwLock<()>,
    /// Held by a `maintain` run: a compaction picks its inputs from a snapshot, so two at once
    /// would merge the same files.
    maintenance: Mutex<()>,
}

impl SummaryStore {
    /// Opens (or creates) the store and deletes the store files the manifest does not name.
    pub fn open(
        config: SummaryStoreConfig,
    ) -> Result<(SummaryStore, RecoveredSummaries), StoreError> {
        let directory = config.directory.clone();
        let manifest: Manifest =
            recover_directory(&directory, FORMAT_VERSION, is_store_file, "summary")?;
        let state = match &manifest.state {
            Some(name) => {
                let path = directory.join(name);
                Some(std::fs::read(&path).map_err(|error| StoreError::io(path, error))?)
            }
            None => None,
        };
        let recovered = RecoveredSummaries {
            state,
            position: manifest.position,
        };
        Ok((
            SummaryStore {
                config,
                manifest: Mutex::new(manifest),
                deletion_gate: RwLock::new(()),
                maintenance: Mutex::new(()),
            },
            recovered,
        ))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.config.directory.join(name)
    }

    fn store_manifest(&self, manifest: &Manifest) -> Result<(), StoreError> {
        store_json_manifest(&self.config.directory, manifest, "summary")
    }

    /// Reserves `count` consecutive sequence numbers; the next manifest written records them.
    fn take_sequences(&self, count: u64) -> u64 {
        let mut manifest = self.manifest.lock();
        let first = manifest.next_sequence;
        manifest.next_sequence += count;
        first
    }

    /// Deletes files no durable manifest lists any more, once no search reads them.
    fn delete_files(&self, names: &[String]) {
        delete_replaced_files(&self.deletion_gate, &self.config.directory, names);
    }

    /// Writes `rows` (if any) as a new Parquet file sorted by start, then the state blob as a new
    /// state file, then the manifest naming the files, the state file and `position`; fsyncs
    /// files and directory before the manifest; removes the previous state file after. Safe to
    /// call from one thread while others `search`.
    pub fn commit(
        &self,
        rows: &[TraceSummaryRow],
        statistics: Option<&StatisticsDelta>,
        state: &[u8],
        position: u64,
    ) -> Result<(), StoreError> {
        // Sequences, one each: the rows' file (if any), the statistics' (if any), the state's.
        let count = 1 + u64::from(!rows.is_empty()) + u64::from(statistics.is_some());
        let mut sequence = self.take_sequences(count);
        let mut next_sequence = || {
            sequence += 1;
            sequence - 1
        };
        let file_name = (!rows.is_empty()).then(|| file_name(next_sequence()));
        let statistics_file = statistics.map(|delta| StatisticsFileMeta {
            name: statistics_name(next_sequence()),
            bytes: delta.bytes.len() as u64,
            newest_bucket_unix_nanos: delta.newest_bucket_unix_nanos,
        });
        let state_file = state_name(next_sequence());
        let written = self.write_statistics_file(statistics, statistics_file.as_ref());
        let file = written
            .and_then(|()| self.write_commit_files(rows, file_name.as_deref(), state, &state_file));
        let file = match file {
            Ok(file) => file,
            Err(error) => {
                let statistics_name = statistics_file.as_ref().map(|meta| &meta.name);
                for name in file_name.iter().chain(statistics_name).chain([&state_file]) {
                    let _ = std::fs::remove_file(self.path(name));
                }
                return Err(error);
            }
        };
        let mut manifest = self.manifest.lock();
        let mut next = manifest.clone();
        next.files.extend(file);
        next.statistics.extend(statistics_file);
        next.position = position;
        let previous_state = next.state.replace(state_file);
        self.store_manifest(&next)?;
        *manifest = next;
        drop(manifest);
        if let Some(previous) = previous_state {
            if let Err(error) = std::fs::remove_file(self.path(&previous)) {
                tracing::warn!(file = previous, %error, "deleting a replaced state file failed");
            }
        }
        Ok(())
    }

    /// Writes a statistics delta's file (synced with the directory by the commit's other files).
    fn write_statistics_file(
        &self,
        delta: Option<&StatisticsDelta>,
        meta: Option<&StatisticsFileMeta>,
    ) -> Result<(), StoreError> {
        let (Some(delta), Some(meta)) = (delta, meta) else {
            return Ok(());
        };
        let path = self.path(&meta.name);
        File::create(&path)
            .and_then(|mut handle| {
                handle.write_all(&delta.bytes)?;
                handle.sync_all()
            })
            .map_err(|error| StoreError::io(&path, error))
    }

    /// Every statistics delta kept, in commit order.
    pub fn statistics_deltas(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let _shared_gate = self.deletion_gate.read();
        let names: Vec<String> = self
            .manifest
            .lock()
            .statistics
            .iter()
            .map(|meta| meta.name.clone())
            .collect();
        names
            .iter()
            .map(|name| {
                let path = self.path(name);
                std::fs::read(&path).map_err(|error| StoreError::io(path, error))
            })
            .collect()
    }

    fn write_commit_files(
        &self,
        rows: &[TraceSummaryRow],
        file_name: Option<&str>,
        state: &[u8],
        state_file: &str,
    ) -> Result<Option<FileMeta>, StoreError> {
        let file = match file_name {
            Some(name) if !rows.is_empty() => {
                let mut sorted: Vec<&TraceSummaryRow> = rows.iter().collect();
                sorted.sort_by(|left, right| oldest_first(left, right));
                let mut writer = SummaryWriter::create(&self.path(name))?;
                for chunk in sorted.chunks(BATCH_ROWS) {
                    writer.write(chunk)?;
                }
                Some(writer.finish(name.to_owned(), self.config.fan_in())?)
            }
            _ => None,
        };
        let state_path = self.path(state_file);
        File::create(&state_path)
            .and_then(|mut handle| {
                handle.write_all(state)?;
                handle.sync_all()
            })
            .map_err(|error| StoreError::io(&state_path, error))?;
        sync_directory(&self.config.directory)?;
        Ok(file)
    }

    /// The bus position of the last commit.
    pub fn position(&self) -> u64 {
        self.manifest.lock().position
    }

    /// Rows matching `query`, newest start first (equal starts by trace ID), at most
    /// `query.limit`. Reads the files whose start range (kept in the manifest) overlaps the
    /// query's, newest first, and within a file the row groups whose start statistics do, newest
    /// first; stops once `limit` rows are found and nothing left can hold a newer one.
    pub fn search(&self, query: &SummaryQuery) -> Result<Vec<TraceSummaryRow>, StoreError> {
        check_time_range(query.start_unix_nanos, query.end_unix_nanos)?;
        if query.limit == 0 || query.start_unix_nanos == query.end_unix_nanos {
            return Ok(Vec::new());
        }
        let _shared_gate = self.deletion_gate.read();
        let mut files: Vec<FileMeta> = self
            .manifest
            .lock()
            .files
            .iter()
            .filter(|meta| {
                meta.min_start_unix_nanos < query.end_unix_nanos
                    && meta.max_start_unix_nanos >= query.start_unix_nanos
            })
            .cloned()
            .collect();
        files.sort_by(|left, right| {
            right
                .max_start_unix_nanos
                .cmp(&left.max_start_unix_nanos)
                .then_with(|| right.name.cmp(&left.name))
        });
        let mut newest = Newest::new(query.limit);
        for meta in files {
            if !newest.admits(meta.max_start_unix_nanos) {
                break;
            }
            let path = self.path(&meta.name);
            guard_reads(&path, || search_file(&path, query, &mut newest))?;
        }
        Ok(newest.into_rows())
    }

    /// Drops files past retention and runs at most one compaction step; commits each by a new
    /// manifest keeping the state file and position, and deletes the files it replaced after
    /// that manifest is durable. Holds the manifest lock only to snapshot and to swap, never while
    /// reading or writing Parquet.
    pub fn maintain(&self, now_unix_nanos: u64) -> Result<(), StoreError> {
        let _one_at_a_time = self.maintenance.lock();
        self.apply_retention(now_unix_nanos)?;
        if let Some(plan) = self.plan_compaction() {
            let output = match self.write_compaction(&plan) {
                Ok(output) => output,
                Err(error) => {
                    let _ = std::fs::remove_file(self.path(&plan.output));
                    return Err(error);
                }
            };
            self.install_compaction(&plan, output)?;
        }
        Ok(())
    }

    pub fn stats(&self) -> SummaryStoreStats {
        let manifest = self.manifest.lock();
        SummaryStoreStats {
            files: manifest.files.len(),
            rows: manifest.files.iter().map(|meta| meta.rows).sum(),
            bytes: manifest.files.iter().map(|meta| meta.bytes).sum(),
            position: manifest.position,
        }
    }

    /// Drops the files whose newest row started before `now − retention`.
    fn apply_retention(&self, now_unix_nanos: u64) -> Result<(), StoreError> {
        let cutoff_of = |retention: Duration| {
            now_unix_nanos.saturating_sub(u64::try_from(retention.as_nanos()).unwrap_or(u64::MAX))
        };
        let cutoff = cutoff_of(self.config.retention);
        let statistics_cutoff = cutoff_of(self.config.statistics_retention);
        let dropped: Vec<String> = {
            let mut manifest = self.manifest.lock();
            let expired = |meta: &FileMeta| meta.max_start_unix_nanos < cutoff;
            let statistics_expired =
                |meta: &StatisticsFileMeta| meta.newest_bucket_unix_nanos < statistics_cutoff;
            if !manifest.files.iter().any(expired)
                && !manifest.statistics.iter().any(statistics_expired)
            {
                return Ok(());
            }
            let mut next = manifest.clone();
            let (dropped, kept): (Vec<FileMeta>, Vec<FileMeta>) =
                next.files.into_iter().partition(expired);
            next.files = kept;
            let (dropped_statistics, kept_statistics): (Vec<_>, Vec<_>) =
                next.statistics.into_iter().partition(statistics_expired);
            next.statistics = kept_statistics;
            self.store_manifest(&next)?;
            *manifest = next;
            dropped
                .into_iter()
                .map(|meta| meta.name)
                .chain(dropped_statistics.into_iter().map(|meta| meta.name))
                .collect()
        };
        self.delete_files(&dropped);
        Ok(())
    }

    /// Chooses `fan_in` files of the lowest tier (below `FINAL_TIER`) that has that many, the
    /// oldest first, and reserves the output's name.
    fn plan_compaction(&self) -> Option<CompactionPlan> {
        let fan_in = self.config.fan_in();
        let mut manifest = self.manifest.lock();
        let mut tiers: BTreeMap<u32, Vec<&FileMeta>> = BTreeMap::new();
        for meta in &manifest.files {
            let tier = tier_of(meta.rows, fan_in);
            if tier < FINAL_TIER {
                tiers.entry(tier).or_default().push(meta);
            }
        }
        let (_, mut group) = tiers.into_iter().find(|(_, group)| group.len() >= fan_in)?;
        group.sort_by(|left, right| {
            (left.min_start_unix_nanos, &left.name).cmp(&(right.min_start_unix_nanos, &right.name))
        });
        let inputs: Vec<FileMeta> = group.into_iter().take(fan_in).cloned().collect();
        let sequence = manifest.next_sequence;
        manifest.next_sequence += 1;
        Some(CompactionPlan {
            inputs,
            output: file_name(sequence),
        })
    }

    /// Merges the plan's inputs into its output file (fsynced, and the directory too).
    fn write_compaction(&self, plan: &CompactionPlan) -> Result<FileMeta, StoreError> {
        let mut cursors = Vec::with_capacity(plan.inputs.len());
        let mut heap = BinaryHeap::new();
        for (index, input) in plan.inputs.iter().enumerate() {
            let cursor = Cursor::open(self.path(&input.name))?;
            if let Some(row) = &cursor.head {
                heap.push(Reverse((row.start_unix_nanos, row.trace_id, index)));
            }
            cursors.push(cursor);
        }
        let mut writer = SummaryWriter::create(&self.path(&plan.output))?;
        let mut pending: Vec<TraceSummaryRow> = Vec::with_capacity(BATCH_ROWS);
        while let Some(Reverse((_, _, index))) = heap.pop() {
            let cursor = &mut cursors[index];
            if let Some(row) = cursor.head.take() {
                pending.push(row);
            }
            cursor.advance()?;
            if let Some(row) = &cursor.head {
                heap.push(Reverse((row.start_unix_nanos, row.trace_id, index)));
            }
            if pending.len() >= BATCH_ROWS {
                writer.write(&pending.iter().collect::<Vec<_>>())?;
                pending.clear();
            }
        }
        writer.write(&pending.iter().collect::<Vec<_>>())?;
        let output = writer.finish(plan.output.clone(), self.config.fan_in())?;
        let expected: u64 = plan.inputs.iter().map(|input| input.rows).sum();
        if output.rows != expected {
            return Err(StoreError::Corrupt(format!(
                "merging {} summary files read {} rows, the manifest lists {expected}",
                plan.inputs.len(),
                output.rows
            )));
        }
        sync_directory(&self.config.directory)?;
        Ok(output)
    }

    /// Replaces exactly the plan's inputs by `output` if the manifest still lists them all (a
    /// concurrent commit only adds files); returns whether it did. Deletes the inputs after the
    /// manifest is durable, or the output when the plan is stale.
    fn install_compaction(
        &self,
        plan: &CompactionPlan,
        output: FileMeta,
    ) -> Result<bool, StoreError> {
        let inputs: HashSet<&str> = plan.inputs.iter().map(|meta| meta.name.as_str()).collect();
        let installed = {
            let mut manifest = self.manifest.lock();
            let listed = manifest
                .files
                .iter()
                .filter(|meta| inputs.contains(meta.name.as_str()))
                .count();
            if listed == inputs.len() {
                let mut next = manifest.clone();
                next.files
                    .retain(|meta| !inputs.contains(meta.name.as_str()));
                next.files.push(output);
                self.store_manifest(&next)?;
                *manifest = next;
                true
            } else {
                false
            }
        };
        if installed {
            let names: Vec<String> = plan.inputs.iter().map(|meta| meta.name.clone()).collect();
            self.delete_files(&names);
        } else {
            tracing::warn!(
                file = plan.output,
                "a summary compaction's inputs went away; discarding its output"
            );
            self.delete_files(std::slice::from_ref(&plan.output));
        }
        Ok(installed)
    }
}

impl JsonManifest for Manifest {
    fn version(&self) -> u32 {
        self.version
    }

    fn data_files(&self) -> Vec<&str> {
        self.files
            .iter()
            .map(|meta| meta.name.as_str())
            .chain(self.statistics.iter().map(|meta| meta.name.as_str()))
            .collect()
    }

    fn other_files(&self) -> Vec<&str> {
        self.state.as_deref().into_iter().collect()
    }
}

/// A store's JSON manifest (`MANIFEST.json`), as [`recover_directory`] reads it.
pub(crate) trait JsonManifest: DeserializeOwned + Default {
    fn version(&self) -> u32;
    /// The data files it lists; each must exist.
    fn data_files(&self) -> Vec<&str>;
    /// Other files it names (kept at open; whoever reads them reports them missing).
    fn other_files(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// Opens a store directory after a clean stop or a crash: creates it, reads the manifest (the
/// default, a new store, when there is none), checks its version, that every name it lists is
/// a plain file name of the store and that the data files exist, and deletes the store files
/// (by `is_store_file`) it does not name. `kind` names the store in errors.
pub(crate) fn recover_directory<M: JsonManifest>(
    directory: &Path,
    version: u32,
    is_store_file: fn(&str) -> bool,
    kind: &str,
) -> Result<M, StoreError> {
    std::fs::create_dir_all(directory).map_err(|error| StoreError::io(directory, error))?;
    let path = directory.join(MANIFEST_FILE);
    let manifest: M = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|error| StoreError::Corrupt(format!("{}: {error}", path.display())))?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => M::default(),
        Err(error) => return Err(StoreError::io(path, error)),
    };
    if manifest.version() != version {
        return Err(StoreError::Corrupt(format!(
            "{}: version {} is not {version}",
            path.display(),
            manifest.version()
        )));
    }
    let data_files = manifest.data_files();
    let names: Vec<&str> = data_files
        .iter()
        .copied()
        .chain(manifest.other_files())
        .collect();
    for name in &names {
        if !is_store_file(name) || name.contains(['/', '\\']) {
            return Err(StoreError::Corrupt(format!(
                "{}: {name:?} is not a {kind} store file name",
                path.display()
            )));
        }
    }
    for name in &data_files {
        if !directory.join(name).is_file() {
            return Err(StoreError::Corrupt(format!(
                "{}: the manifest lists {name}, which is missing",
                directory.display()
            )));
        }
    }
    remove_unlisted_files(directory, &names.into_iter().collect(), is_store_file)?;
    Ok(manifest)
}

/// Replaces a store's JSON manifest atomically; `kind` names the store in errors.
pub(crate) fn store_json_manifest<M: Serialize>(
    directory: &Path,
    manifest: &M,
    kind: &str,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(manifest)
        .map_err(|error| StoreError::Corrupt(format!("encoding the {kind} manifest: {error}")))?;
    write_atomically(directory, MANIFEST_FILE, &bytes)
}

/// Deletes files no durable manifest lists any more, once no reader holds `gate` (readers hold
/// it shared while they read files).
pub(crate) fn delete_replaced_files(gate: &RwLock<()>, directory: &Path, names: &[String]) {
    let _exclusive = gate.write();
    for name in names {
        if let Err(error) = std::fs::remove_file(directory.join(name)) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = name, %error, "deleting a replaced store file failed");
            }
        }
    }
}

pub(crate) use weft_storage::check_time_range;

/// Deletes what an interrupted commit or maintenance left: store files (by their names) not in
/// `listed` and temporary files. Anything else in the directory is left alone.
fn remove_unlisted_files(
    directory: &Path,
    listed: &HashSet<&str>,
    is_store_file: fn(&str) -> bool,
) -> Result<(), StoreError> {
    let entries = std::fs::read_dir(directory).map_err(|error| StoreError::io(directory, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| StoreError::io(directory, error))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if listed.contains(name.as_str()) || !is_store_file(&name) {
            continue;
        }
        let is_file = entry
            .file_type()
            .map_err(|error| StoreError::io(entry.path(), error))?
            .is_file();
        if is_file {
            tracing::info!(file = name, directory = %directory.display(), "deleting a store file no manifest names");
            std::fs::remove_file(entry.path())
                .map_err(|error| StoreError::io(entry.path(), error))?;
        }
    }
    Ok(())
}

/// The order rows are stored in: oldest start first, then by trace ID.
fn oldest_first(left: &TraceSummaryRow, right: &TraceSummaryRow) -> CmpOrdering {
    (left.start_unix_nanos, left.trace_id).cmp(&(right.start_unix_nanos, right.trace_id))
}

impl Timed for TraceSummaryRow {
    fn time(&self) -> u64 {
        self.start_unix_nanos
    }

    /// The order searches answer in: newest start first, then by trace ID.
    fn newest_first(&self, other: &Self) -> CmpOrdering {
        other
            .start_unix_nanos
            .cmp(&self.start_unix_nanos)
            .then_with(|| self.trace_id.cmp(&other.trace_id))
    }
}

/// A row a search answers newest first (summaries by start, log records by time).
pub(crate) trait Timed {
    fn time(&self) -> u64;
    /// `Less` when `self` comes first in a newest-first answer.
    fn newest_first(&self, other: &Self) -> CmpOrdering;
}

/// The newest rows a search found so far.
pub(crate) struct Newest<T> {
    limit: usize,
    rows: Vec<T>,
    /// Once `limit` rows are found, the time of the oldest of them: no row older than it can be
    /// in the answer.
    pub(crate) floor: Option<u64>,
}

impl<T: Timed> Newest<T> {
    pub(crate) fn new(limit: usize) -> Self {
        Newest {
            limit,
            rows: Vec::new(),
            floor: None,
        }
    }

    pub(crate) fn push(&mut self, row: T) {
        self.rows.push(row);
        if self.rows.len() >= self.limit.saturating_mul(2) {
            self.settle();
        }
    }

    /// Whether a row of `time` (or a file or row group whose newest row has it) can still be
    /// part of the answer.
    pub(crate) fn admits(&self, time: u64) -> bool {
        self.floor.is_none_or(|floor| time >= floor)
    }

    pub(crate) fn settle(&mut self) {
        // Stable: rows of equal rank keep the order they were found in.
        self.rows.sort_by(T::newest_first);
        self.rows.truncate(self.limit);
        if self.rows.len() == self.limit {
            self.floor = self.rows.last().map(T::time);
        }
    }

    pub(crate) fn into_rows(mut self) -> Vec<T> {
        self.settle();
        self.rows
    }
}

// The columns, in file order.
const TRACE_ID: usize = 0;
const ROOT_SERVICE: usize = 1;
const ROOT_OPERATION: usize = 2;
const START: usize = 3;
const DURATION: usize = 4;
const SPAN_COUNT: usize = 5;
const ERROR_COUNT: usize = 6;
const SERVICE_COUNT: usize = 7;
const ORPHAN_SPAN_COUNT: usize = 8;
const DROPPED_SPAN_COUNT: usize = 9;
const TRUNCATED: usize = 10;
const COMPLETION: usize = 11;
const FINDING_KINDS: usize = 12;
const FINDINGS: usize = 13;
const SERVICES: usize = 14;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("trace_id", DataType::FixedSizeBinary(16), false),
        Field::new("root_service", DataType::Utf8, false),
        Field::new("root_operation", DataType::Utf8, false),
        Field::new("start_unix_nanos", DataType::UInt64, false),
        Field::new("duration_nanos", DataType::UInt64, false),
        Field::new("span_count", DataType::UInt32, false),
        Field::new("error_count", DataType::UInt32, false),
        Field::new("service_count", DataType::UInt32, false),
        Field::new("orphan_span_count", DataType::UInt32, false),
        Field::new("dropped_span_count", DataType::UInt64, false),
        Field::new("truncated", DataType::Boolean, false),
        Field::new("completion", DataType::Utf8, false),
        Field::new("finding_kinds", DataType::UInt8, false),
        Field::new("findings", DataType::Utf8, false),
        Field::new("services", DataType::Utf8, false),
    ]))
});

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).expect("3 is a valid zstd level"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // Every trace ID is distinct: a dictionary would only be abandoned.
        .set_column_dictionary_enabled(ColumnPath::from("trace_id"), false)
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: START as i32,
            descending: false,
            nulls_first: false,
        }]))
        .build()
}

fn encode(rows: &[&TraceSummaryRow]) -> Result<RecordBatch, StoreError> {
    let count = rows.len();
    let mut trace_id = FixedSizeBinaryBuilder::with_capacity(count, 16);
    let mut root_service = StringBuilder::new();
    let mut root_operation = StringBuilder::new();
    let mut start = UInt64Builder::with_capacity(count);
    let mut duration = UInt64Builder::with_capacity(count);
    let mut span_count = UInt32Builder::with_capacity(count);
    let mut error_count = UInt32Builder::with_capacity(count);
    let mut service_count = UInt32Builder::with_capacity(count);
    let mut orphan_span_count = UInt32Builder::with_capacity(count);
    let mut dropped_span_count = UInt64Builder::with_capacity(count);
    let mut truncated = BooleanBuilder::with_capacity(count);
    let mut completion = StringBuilder::new();
    let mut finding_kinds = UInt8Builder::with_capacity(count);
    let mut findings = StringBuilder::new();
    let mut services = StringBuilder::new();
    for row in rows {
        trace_id
            .append_value(row.trace_id)
            .map_err(|error| StoreError::Corrupt(format!("encoding a trace id: {error}")))?;
        root_service.append_value(&row.root_service);
        root_operation.append_value(&row.root_operation);
        start.append_value(row.start_unix_nanos);
        duration.append_value(row.duration_nanos);
        span_count.append_value(row.span_count);
        error_count.append_value(row.error_count);
        service_count.append_value(row.service_count);
        orphan_span_count.append_value(row.orphan_span_count);
        dropped_span_count.append_value(row.dropped_span_count);
        truncated.append_value(row.truncated);
        completion.append_value(&row.completion);
        finding_kinds.append_value(row.finding_kinds);
        findings.append_value(&row.findings);
        services.append_value(&row.services);
    }
    let columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(trace_id.finish()),
        Arc::new(root_service.finish()),
        Arc::new(root_operation.finish()),
        Arc::new(start.finish()),
        Arc::new(duration.finish()),
        Arc::new(span_count.finish()),
        Arc::new(error_count.finish()),
        Arc::new(service_count.finish()),
        Arc::new(orphan_span_count.finish()),
        Arc::new(dropped_span_count.finish()),
        Arc::new(truncated.finish()),
        Arc::new(completion.finish()),
        Arc::new(finding_kinds.finish()),
        Arc::new(findings.finish()),
        Arc::new(services.finish()),
    ];
    RecordBatch::try_new(SCHEMA.clone(), columns)
        .map_err(|error| StoreError::Corrupt(format!("building a summary batch: {error}")))
}

/// Writes one summary file, batch by batch, keeping its row count and start range.
struct SummaryWriter {
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
    min_start: u64,
    max_start: u64,
}

impl SummaryWriter {
    fn create(path: &Path) -> Result<SummaryWriter, StoreError> {
        let file = File::create(path).map_err(|error| StoreError::io(path, error))?;
        let writer = ArrowWriter::try_new(file, SCHEMA.clone(), Some(writer_properties()))
            .map_err(|error| StoreError::encoding(path, error))?;
        Ok(SummaryWriter {
            path: path.to_owned(),
            writer,
            rows: 0,
            min_start: u64::MAX,
            max_start: 0,
        })
    }

    fn write(&mut self, rows: &[&TraceSummaryRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        for row in rows {
            self.min_start = self.min_start.min(row.start_unix_nanos);
            self.max_start = self.max_start.max(row.start_unix_nanos);
        }
        self.rows += rows.len() as u64;
        let batch = encode(rows)?;
        self.writer
            .write(&batch)
            .map_err(|error| StoreError::encoding(&self.path, error))
    }

    /// Closes and fsyncs the file; its manifest entry, named `name`.
    fn finish(self, name: String, fan_in: usize) -> Result<FileMeta, StoreError> {
        let bytes = finish_parquet_file(self.writer, &self.path)?;
        Ok(FileMeta {
            name,
            rows: self.rows,
            bytes,
            min_start_unix_nanos: self.min_start.min(self.max_start),
            max_start_unix_nanos: self.max_start,
            tier: tier_of(self.rows, fan_in),
        })
    }
}

/// Closes a Parquet file and fsyncs it; its size.
pub(crate) fn finish_parquet_file(
    writer: ArrowWriter<File>,
    path: &Path,
) -> Result<u64, StoreError> {
    let file = writer
        .into_inner()
        .map_err(|error| StoreError::encoding(path, error))?;
    file.sync_all()
        .map_err(|error| StoreError::io(path, error))?;
    Ok(file
        .metadata()
        .map_err(|error| StoreError::io(path, error))?
        .len())
}

/// Column `index` of a batch whose schema was checked, as its array type.
pub(crate) fn column<'a, T: 'static>(
    batch: &'a RecordBatch,
    index: usize,
    path: &Path,
) -> Result<&'a T, StoreError> {
    batch
        .column(index)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{}: column {} has an unexpected type",
                path.display(),
                batch.schema().field(index).name()
            ))
        })
}

/// One decoded batch's columns.
struct Columns<'a> {
    trace_id: &'a FixedSizeBinaryArray,
    root_service: &'a StringArray,
    root_operation: &'a StringArray,
    start: &'a UInt64Array,
    duration: &'a UInt64Array,
    span_count: &'a UInt32Array,
    error_count: &'a UInt32Array,
    service_count: &'a UInt32Array,
    orphan_span_count: &'a UInt32Array,
    dropped_span_count: &'a UInt64Array,
    truncated: &'a BooleanArray,
    completion: &'a StringArray,
    finding_kinds: &'a UInt8Array,
    findings: &'a StringArray,
    services: &'a StringArray,
}

impl<'a> Columns<'a> {
    fn of(batch: &'a RecordBatch, path: &Path) -> Result<Columns<'a>, StoreError> {
        check_file_schema(batch.schema().fields(), &SCHEMA, path, "trace summary")?;
        Ok(Columns {
            trace_id: column(batch, TRACE_ID, path)?,
            root_service: column(batch, ROOT_SERVICE, path)?,
            root_operation: column(batch, ROOT_OPERATION, path)?,
            start: column(batch, START, path)?,
            duration: column(batch, DURATION, path)?,
            span_count: column(batch, SPAN_COUNT, path)?,
            error_count: column(batch, ERROR_COUNT, path)?,
            service_count: column(batch, SERVICE_COUNT, path)?,
            orphan_span_count: column(batch, ORPHAN_SPAN_COUNT, path)?,
            dropped_span_count: column(batch, DROPPED_SPAN_COUNT, path)?,
            truncated: column(batch, TRUNCATED, path)?,
            completion: column(batch, COMPLETION, path)?,
            finding_kinds: column(batch, FINDING_KINDS, path)?,
            findings: column(batch, FINDINGS, path)?,
            services: column(batch, SERVICES, path)?,
        })
    }

    /// Whether row `index` matches `query` and starts at or after `floor`; reads only the
    /// columns the conditions need.
    fn matches(&self, index: usize, query: &SummaryQuery, floor: Option<u64>) -> bool {
        let start = self.start.value(index);
        if start < query.start_unix_nanos || start >= query.end_unix_nanos {
            return false;
        }
        if floor.is_some_and(|floor| start < floor) {
            return false;
        }
        if query
            .min_duration_nanos
            .is_some_and(|minimum| self.duration.value(index) < minimum)
        {
            return false;
        }
        if query.finding_kinds_any != 0
            && self.finding_kinds.value(index) & query.finding_kinds_any == 0
        {
            return false;
        }
        match &query.service {
            Some(service) => self
                .services
                .value(index)
                .split(',')
                .any(|element| element == service),
            None => true,
        }
    }

    fn row(&self, index: usize) -> TraceSummaryRow {
        let mut trace_id = [0u8; 16];
        // The schema check made the column 16 bytes wide.
        trace_id.copy_from_slice(self.trace_id.value(index));
        TraceSummaryRow {
            trace_id,
            root_service: self.root_service.value(index).to_owned(),
            root_operation: self.root_operation.value(index).to_owned(),
            start_unix_nanos: self.start.value(index),
            duration_nanos: self.duration.value(index),
            span_count: self.span_count.value(index),
            error_count: self.error_count.value(index),
            service_count: self.service_count.value(index),
            orphan_span_count: self.orphan_span_count.value(index),
            dropped_span_count: self.dropped_span_count.value(index),
            truncated: self.truncated.value(index),
            completion: self.completion.value(index).to_owned(),
            finding_kinds: self.finding_kinds.value(index),
            findings: self.findings.value(index).to_owned(),
            services: self.services.value(index).to_owned(),
        }
    }
}

/// The range of an unsigned 64-bit column (a start or time) in a row group, from its statistics.
pub(crate) fn row_group_u64_range(
    metadata: &ArrowReaderMetadata,
    row_group: usize,
    column: usize,
) -> Option<(u64, u64)> {
    match metadata
        .metadata()
        .row_group(row_group)
        .column(column)
        .statistics()
    {
        // Parquet stores an unsigned 64-bit column as INT64 with unsigned statistics.
        Some(Statistics::Int64(statistics)) => {
            Some((*statistics.min_opt()? as u64, *statistics.max_opt()? as u64))
        }
        _ => None,
    }
}

/// Adds the rows of one file that match `query` to `newest`, newest row groups first.
fn search_file(
    path: &Path,
    query: &SummaryQuery,
    newest: &mut Newest<TraceSummaryRow>,
) -> Result<(), StoreError> {
    let file = File::open(path).map_err(|error| StoreError::io(path, error))?;
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|error| StoreError::encoding(path, error))?;
    check_file_schema(metadata.schema().fields(), &SCHEMA, path, "trace summary")?;
    for row_group in (0..metadata.metadata().num_row_groups()).rev() {
        if let Some((min, max)) = row_group_u64_range(&metadata, row_group, START) {
            let outside = max < query.start_unix_nanos || min >= query.end_unix_nanos;
            if outside || !newest.admits(max) {
                continue;
            }
        }
        let input = file
            .try_clone()
            .map_err(|error| StoreError::io(path, error))?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(input, metadata.clone())
            .with_row_groups(vec![row_group])
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|error| StoreError::encoding(path, error))?;
        for batch in reader {
            let batch = batch
                .map_err(|error| StoreError::Corrupt(format!("{}: {error}", path.display())))?;
            let columns = Columns::of(&batch, path)?;
            for index in 0..batch.num_rows() {
                if columns.matches(index, query, newest.floor) {
                    newest.push(columns.row(index));
                }
            }
        }
        newest.settle();
    }
    Ok(())
}

/// Reads one file's rows in order, a batch at a time (the compaction merge's input).
struct Cursor {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    batch: std::vec::IntoIter<TraceSummaryRow>,
    /// The next row, `None` at the end.
    head: Option<TraceSummaryRow>,
}

impl Cursor {
    fn open(path: PathBuf) -> Result<Cursor, StoreError> {
        let reader = open_batches(&path, &SCHEMA, "trace summary", BATCH_ROWS)?;
        let mut cursor = Cursor {
            path,
            reader,
            batch: Vec::new().into_iter(),
            head: None,
        };
        cursor.advance()?;
        Ok(cursor)
    }

    fn advance(&mut self) -> Result<(), StoreError> {
        loop {
            if let Some(row) = self.batch.next() {
                self.head = Some(row);
                return Ok(());
            }
            match next_batch(&self.path, &mut self.reader)? {
                Some(batch) => {
                    let columns = Columns::of(&batch, &self.path)?;
                    self.batch = (0..batch.num_rows())
                        .map(|index| columns.row(index))
                        .collect::<Vec<_>>()
                        .into_iter();
                }
                None => {
                    self.head = None;
                    return Ok(());
                }
            }
        }
    }
}

/// Fails unless a file's columns are `expected`'s; `kind` names the file kind in the error.
pub(crate) fn check_file_schema(
    fields: &Fields,
    expected: &SchemaRef,
    path: &Path,
    kind: &str,
) -> Result<(), StoreError> {
    if fields != expected.fields() {
        return Err(StoreError::Corrupt(format!(
            "{}: not a {kind} file of this version",
            path.display()
        )));
    }
    Ok(())
}

/// Opens a store file to read all its batches in order (a merge's input), checking its schema
/// like [`check_file_schema`]; a panic of the Parquet reader is an error.
pub(crate) fn open_batches(
    path: &Path,
    schema: &SchemaRef,
    kind: &str,
    batch_rows: usize,
) -> Result<ParquetRecordBatchReader, StoreError> {
    guard_reads(path, || {
        let file = File::open(path).map_err(|error| StoreError::io(path, error))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|error| StoreError::encoding(path, error))?;
        check_file_schema(builder.schema().fields(), schema, path, kind)?;
        builder
            .with_batch_size(batch_rows)
            .build()
            .map_err(|error| StoreError::encoding(path, error))
    })
}

/// The next batch of a reader of `path`, `None` at the end; a panic of the Parquet reader is an
/// error.
pub(crate) fn next_batch(
    path: &Path,
    reader: &mut ParquetRecordBatchReader,
) -> Result<Option<RecordBatch>, StoreError> {
    guard_reads(path, || {
        reader
            .next()
            .transpose()
            .map_err(|error| StoreError::Corrupt(format!("{}: {error}", path.display())))
    })
}

#[cfg(test)]
mod tests;

impl weft_storage::summaries::SummaryWriter for SummaryStore {
    fn position(&self) -> u64 {
        SummaryStore::position(self)
    }

    fn commit(
        &self,
        rows: &[TraceSummaryRow],
        statistics: Option<&StatisticsDelta>,
        state: &[u8],
        position: u64,
    ) -> Result<(), StoreError> {
        SummaryStore::commit(self, rows, statistics, state, position)
    }

    fn maintain(&self, now_unix_nanos: u64) -> Result<(), StoreError> {
        SummaryStore::maintain(self, now_unix_nanos)
    }
}

impl SummaryReader for SummaryStore {
    fn search(&self, query: &SummaryQuery) -> Result<Vec<TraceSummaryRow>, StoreError> {
        SummaryStore::search(self, query)
    }

    fn statistics_deltas(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        SummaryStore::statistics_deltas(self)
    }

    fn local_stats(&self) -> Option<SummaryStoreStats> {
        Some(self.stats())
    }
}
