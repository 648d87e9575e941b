//! The embedded metric store: span-metric and topology-edge buckets at three resolutions
//! (30 s, 10 min, 1 h), each with its own retention, in plain Parquet files.
//!
//! Every file holds *deltas*: a commit writes the buckets closed since the last commit, rolled up
//! to each resolution, as new files; a read merges every row of one key and bucket. So a late
//! span's bucket merges into the stored one without rewriting anything, and a coarse bucket is by
//! construction the merge of its fine ones. Compaction merges a window's files into one.
//!
//! A commit is atomic with the bus position it reflects and the processor's own state (open
//! buckets, the topology's waiting spans): files first, then the state file, then the manifest
//! naming them all. After a crash the store is exactly the last committed checkpoint; files the
//! manifest does not name are deleted at open.

mod file;

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};
use serde::{Deserialize, Serialize};
pub use weft_storage::metrics::{
    merge_rows, MetricCheckpoint, MetricKey, MetricRead, MetricReader, MetricRow, MetricStoreStats,
    MetricWriter, Resolution,
};

use crate::manifest::{sync_directory, write_atomically};
use crate::StoreError;

#[derive(Debug, Clone)]
pub struct MetricStoreConfig {
    pub directory: PathBuf,
    /// Retention of the 30 s, 10 min and 1 h resolutions.
    pub retention: [Duration; 3],
    /// A window with this many files is compacted even while it is still written.
    pub compaction_files: usize,
    /// How often the maintenance thread compacts and applies retention.
    pub maintenance_interval: Duration,
}

impl MetricStoreConfig {
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        MetricStoreConfig {
            directory: directory.into(),
            retention: [
                Duration::from_secs(2 * 86_400),
                Duration::from_secs(8 * 86_400),
                Duration::from_secs(31 * 86_400),
            ],
            compaction_files: 8,
            maintenance_interval: Duration::from_secs(5),
        }
    }

    fn retention_of(&self, resolution: Resolution) -> Duration {
        self.retention[Resolution::ALL
            .iter()
            .position(|candidate| *candidate == resolution)
            .expect("every resolution is in ALL")]
    }
}

/// How much time one file (before compaction: one commit's delta) covers.
fn window_seconds(resolution: Resolution) -> u64 {
    match resolution {
        Resolution::ThirtySeconds => 3_600,
        Resolution::TenMinutes | Resolution::OneHour => 86_400,
    }
}

const MANIFEST_FILE: &str = "MANIFEST.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileMeta {
    id: u64,
    resolution: Resolution,
    window_start_secs: u64,
    file: String,
    rows: u64,
    bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    format_version: u32,
    /// Every span up to this bus position is in the files or the state.
    position: u64,
    /// Counts commits; rows a processor still holds in memory carry the generation that will
    /// commit them, so a reader never counts a row twice or not at all.
    generation: u64,
    next_id: u64,
    files: Vec<FileMeta>,
    /// The processor's serialized state at `position`.
    state_file: Option<String>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format_version: FORMAT_VERSION,
            position: 0,
            generation: 0,
            next_id: 1,
            files: Vec::new(),
            state_file: None,
        }
    }
}

/// What [`MetricStore::open`] recovered.
#[derive(Debug, Default)]
pub struct RecoveredMetrics {
    pub position: u64,
    pub generation: u64,
    pub state: Option<Vec<u8>>,
}

struct Shared {
    config: MetricStoreConfig,
    manifest: Mutex<Manifest>,
    /// Readers hold it shared while reading files; compaction and retention hold it exclusively
    /// while deleting the files they replaced.
    deletion_gate: RwLock<()>,
    commits: AtomicU64,
    compactions: AtomicU64,
    windows_dropped: AtomicU64,
    maintenance_errors: AtomicU64,
    /// Held by a maintenance run (the thread's, or `maintain_now`'s).
    maintenance_running: Mutex<()>,
    stop: Mutex<bool>,
    wake: Condvar,
}

pub struct MetricStore {
    shared: Arc<Shared>,
    maintenance: Mutex<Option<std::thread::JoinHandle<()>>>,
    closed: AtomicBool,
}

fn now_secs() -> u64 {
    weft_model::now_unix_nanos() / 1_000_000_000
}

impl Shared {
    fn path(&self, name: &str) -> PathBuf {
        self.config.directory.join(name)
    }

    fn store_manifest(&self, manifest: &Manifest) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(manifest).map_err(|error| {
            StoreError::Corrupt(format!("encoding the metric manifest: {error}"))
        })?;
        write_atomically(&self.config.directory, MANIFEST_FILE, &bytes)
    }

    fn take_ids(&self, count: usize) -> u64 {
        let mut manifest = self.manifest.lock();
        let first = manifest.next_id;
        manifest.next_id += count as u64;
        first
    }

    fn write_file(
        &self,
        id: u64,
        resolution: Resolution,
        window_start_secs: u64,
        rows: &[MetricRow],
    ) -> Result<FileMeta, StoreError> {
        let file = format!("{}-{window_start_secs}-{id}.parquet", resolution.name());
        let bytes = file::write_metric_file(&self.path(&file), rows)?;
        Ok(FileMeta {
            id,
            resolution,
            window_start_secs,
            file,
            rows: rows.len() as u64,
            bytes,
        })
    }

    fn delete_files(&self, names: &[String]) {
        let _exclusive = self.deletion_gate.write();
        for name in names {
            if let Err(error) = std::fs::remove_file(self.path(name)) {
                tracing::warn!(file = name, %error, "deleting a replaced metric file failed");
            }
        }
    }

    /// Merges a window's files into one when it has many, or once it is complete.
    fn compact(&self, now: u64) -> Result<(), StoreError> {
        let groups: BTreeMap<(Resolution, u64), Vec<FileMeta>> = {
            let manifest = self.manifest.lock();
            let mut groups: BTreeMap<(Resolution, u64), Vec<FileMeta>> = BTreeMap::new();
            for meta in &manifest.files {
                groups
                    .entry((meta.resolution, meta.window_start_secs))
                    .or_default()
                    .push(meta.clone());
            }
            groups
        };
        for ((resolution, window_start), inputs) in groups {
            // Late spans still arrive shortly after a window ends; wait a little past it.
            let complete = window_start + window_seconds(resolution) + 600 <= now;
            if inputs.len() < 2 || (inputs.len() < self.config.compaction_files && !complete) {
                continue;
            }
            let mut rows = Vec::new();
            for input in &inputs {
                rows.extend(file::read_metric_file(&self.path(&input.file), &|_, _| {
                    true
                })?);
            }
            let merged = merge_rows(rows, resolution.seconds());
            let id = self.take_ids(1);
            let output = self.write_file(id, resolution, window_start, &merged)?;
            let input_ids: HashSet<u64> = inputs.iter().map(|input| input.id).collect();
            let replaced = {
                let mut manifest = self.manifest.lock();
                let listed = manifest
                    .files
                    .iter()
                    .filter(|meta| input_ids.contains(&meta.id))
                    .count();
                if listed != input_ids.len() {
                    None
                } else {
                    let mut next = manifest.clone();
                    next.files.retain(|meta| !input_ids.contains(&meta.id));
                    next.files.push(output.clone());
                    self.store_manifest(&next)?;
                    *manifest = next;
                    Some(())
                }
            };
            match replaced {
                Some(()) => {
                    self.compactions.fetch_add(1, Ordering::Relaxed);
                    let names: Vec<String> = inputs.into_iter().map(|input| input.file).collect();
                    self.delete_files(&names);
                }
                None => self.delete_files(&[output.file]),
            }
        }
        Ok(())
    }

    /// Drops the windows of each resolution that ended before its retention.
    fn apply_retention(&self, now: u64) -> Result<(), StoreError> {
        let dropped: Vec<FileMeta> = {
            let mut manifest = self.manifest.lock();
            let expired = |meta: &FileMeta| {
                let retention = self.config.retention_of(meta.resolution).as_secs();
                meta.window_start_secs + window_seconds(meta.resolution) + retention <= now
            };
            if !manifest.files.iter().any(expired) {
                return Ok(());
            }
            let mut next = manifest.clone();
            let (dropped, kept): (Vec<FileMeta>, Vec<FileMeta>) =
                next.files.into_iter().partition(expired);
            next.files = kept;
            self.store_manifest(&next)?;
            *manifest = next;
            dropped
        };
        let windows: HashSet<(Resolution, u64)> = dropped
            .iter()
            .map(|meta| (meta.resolution, meta.window_start_secs))
            .collect();
        self.windows_dropped
            .fetch_add(windows.len() as u64, Ordering::Relaxed);
        let names: Vec<String> = dropped.into_iter().map(|meta| meta.file).collect();
        self.delete_files(&names);
        Ok(())
    }

    fn maintain(&self) {
        // Compaction picks its inputs from a manifest snapshot: two runs at once would merge the
        // same files and one would find its inputs deleted by the other.
        let _one_at_a_time = self.maintenance_running.lock();
        let now = now_secs();
        if let Err(error) = self.apply_retention(now) {
            self.maintenance_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(%error, "metric retention failed; will retry");
        }
        if let Err(error) = self.compact(now) {
            self.maintenance_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(%error, "metric compaction failed; will retry");
        }
    }
}

impl MetricStore {
    /// Opens (or creates) the store, deletes files no manifest names, and starts maintenance.
    pub fn open(config: MetricStoreConfig) -> Result<(MetricStore, RecoveredMetrics), StoreError> {
        let directory = config.directory.clone();
        std::fs::create_dir_all(&directory).map_err(|error| StoreError::io(&directory, error))?;
        let manifest_path = directory.join(MANIFEST_FILE);
        let manifest = match std::fs::read(&manifest_path) {
            Ok(bytes) => {
                let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|error| {
                    StoreError::Corrupt(format!("{}: {error}", manifest_path.display()))
                })?;
                if manifest.format_version != FORMAT_VERSION {
                    return Err(StoreError::Corrupt(format!(
                        "{}: format version {} is not {FORMAT_VERSION}",
                        manifest_path.display(),
                        manifest.format_version
                    )));
                }
                manifest
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
            Err(error) => return Err(StoreError::io(manifest_path, error)),
        };
        let listed: HashSet<&str> = manifest
            .files
            .iter()
            .map(|meta| meta.file.as_str())
            .chain(manifest.state_file.as_deref())
            .chain([MANIFEST_FILE])
            .collect();
        let entries =
            std::fs::read_dir(&directory).map_err(|error| StoreError::io(&directory, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| StoreError::io(&directory, error))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !listed.contains(name.as_str()) {
                tracing::info!(file = name, "deleting a metric file no manifest names");
                std::fs::remove_file(entry.path())
                    .map_err(|error| StoreError::io(entry.path(), error))?;
            }
        }
        let state = match &manifest.state_file {
            Some(name) => {
                let path = directory.join(name);
                Some(std::fs::read(&path).map_err(|error| StoreError::io(path, error))?)
            }
            None => None,
        };
        let recovered = RecoveredMetrics {
            position: manifest.position,
            generation: manifest.generation,
            state,
        };
        let shared = Arc::new(Shared {
            config,
            manifest: Mutex::new(manifest),
            deletion_gate: RwLock::new(()),
            commits: AtomicU64::new(0),
            compactions: AtomicU64::new(0),
            windows_dropped: AtomicU64::new(0),
            maintenance_errors: AtomicU64::new(0),
            maintenance_running: Mutex::new(()),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let maintenance = std::thread::Builder::new()
            .name("weft-metric-store".into())
            .spawn(move || loop {
                {
                    let mut stop = worker.stop.lock();
                    if !*stop {
                        worker
                            .wake
                            .wait_for(&mut stop, worker.config.maintenance_interval);
                    }
                    if *stop {
                        return;
                    }
                }
                worker.maintain();
            })
            .map_err(|error| StoreError::io("weft-metric-store thread", error))?;
        Ok((
            MetricStore {
                shared,
                maintenance: Mutex::new(Some(maintenance)),
                closed: AtomicBool::new(false),
            },
            recovered,
        ))
    }

    pub fn position(&self) -> u64 {
        self.shared.manifest.lock().position
    }

    /// How long `resolution` is kept.
    pub fn retention_of(&self, resolution: Resolution) -> Duration {
        self.shared.config.retention_of(resolution)
    }

    pub fn generation(&self) -> u64 {
        self.shared.manifest.lock().generation
    }

    /// Writes the checkpoint's rows at every resolution, then its state, then the manifest;
    /// returns the new generation.
    pub fn commit(&self, checkpoint: MetricCheckpoint) -> Result<u64, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let shared = &self.shared;
        let mut files = Vec::new();
        // Each resolution rolls up the one before (finest first); merged rows come out sorted by
        // bucket start, so a window's rows are one contiguous run.
        let mut rows = checkpoint.rows;
        for resolution in Resolution::ALL {
            rows = merge_rows(rows, resolution.seconds());
            let window_of =
                |row: &MetricRow| row.start_secs - row.start_secs % window_seconds(resolution);
            for window_rows in rows.chunk_by(|left, right| window_of(left) == window_of(right)) {
                let id = shared.take_ids(1);
                files.push(shared.write_file(
                    id,
                    resolution,
                    window_of(&window_rows[0]),
                    window_rows,
                )?);
            }
        }
        let mut manifest = shared.manifest.lock();
        let generation = manifest.generation + 1;
        let state_file = format!("STATE-{generation}.bin");
        let state_path = shared.path(&state_file);
        std::fs::write(&state_path, &checkpoint.state)
            .and_then(|()| std::fs::File::open(&state_path)?.sync_all())
            .map_err(|error| StoreError::io(&state_path, error))?;
        sync_directory(&shared.config.directory)?;
        let mut next = manifest.clone();
        next.files.extend(files);
        next.position = checkpoint.position;
        next.generation = generation;
        let previous_state = next.state_file.replace(state_file);
        shared.store_manifest(&next)?;
        *manifest = next;
        drop(manifest);
        if let Some(previous) = previous_state {
            let _ = std::fs::remove_file(shared.path(&previous));
        }
        shared.commits.fetch_add(1, Ordering::Relaxed);
        Ok(generation)
    }

    /// Every stored row at `resolution` whose bucket starts in `range_secs` and whose key `keep`
    /// accepts, merged per key and bucket.
    pub fn read(
        &self,
        resolution: Resolution,
        range_secs: Range<u64>,
        keep: &dyn Fn(&MetricKey) -> bool,
    ) -> Result<MetricRead, StoreError> {
        let _shared_gate = self.shared.deletion_gate.read();
        let (files, generation): (Vec<String>, u64) = {
            let manifest = self.shared.manifest.lock();
            let files = manifest
                .files
                .iter()
                .filter(|meta| {
                    meta.resolution == resolution
                        && meta.window_start_secs < range_secs.end
                        && meta.window_start_secs + window_seconds(resolution) > range_secs.start
                })
                .map(|meta| meta.file.clone())
                .collect();
            (files, manifest.generation)
        };
        let mut rows = Vec::new();
        for name in files {
            rows.extend(file::read_metric_file(
                &self.shared.path(&name),
                &|start, key| range_secs.contains(&start) && keep(key),
            )?);
        }
        Ok(MetricRead {
            rows: merge_rows(rows, resolution.seconds()),
            generation,
        })
    }

    /// Runs compaction and retention now (tests, benchmarks).
    pub fn maintain_now(&self) {
        self.shared.maintain();
    }

    pub fn stats(&self) -> MetricStoreStats {
        let manifest = self.shared.manifest.lock();
        MetricStoreStats {
            files: manifest.files.len() as u64,
            bytes: manifest.files.iter().map(|meta| meta.bytes).sum(),
            rows: manifest.files.iter().map(|meta| meta.rows).sum(),
            commits: self.shared.commits.load(Ordering::Relaxed),
            compactions: self.shared.compactions.load(Ordering::Relaxed),
            windows_dropped: self.shared.windows_dropped.load(Ordering::Relaxed),
            maintenance_errors: self.shared.maintenance_errors.load(Ordering::Relaxed),
            position: manifest.position,
        }
    }

    /// Stops maintenance. Commits after this fail.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        *self.shared.stop.lock() = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.maintenance.lock().take() {
            let _ = thread.join();
        }
    }

    pub fn directory(&self) -> &Path {
        &self.shared.config.directory
    }
}

impl Drop for MetricStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl MetricWriter for MetricStore {
    fn position(&self) -> u64 {
        MetricStore::position(self)
    }

    fn generation(&self) -> u64 {
        MetricStore::generation(self)
    }

    fn commit(&self, checkpoint: MetricCheckpoint) -> Result<u64, StoreError> {
        MetricStore::commit(self, checkpoint)
    }

    fn close(&self) {
        MetricStore::close(self);
    }
}

impl MetricReader for MetricStore {
    fn read(
        &self,
        resolution: Resolution,
        range_secs: Range<u64>,
        keep: &dyn Fn(&MetricKey) -> bool,
    ) -> Result<MetricRead, StoreError> {
        MetricStore::read(self, resolution, range_secs, keep)
    }

    fn retention_of(&self, resolution: Resolution) -> Duration {
        MetricStore::retention_of(self, resolution)
    }

    fn local_stats(&self) -> Option<MetricStoreStats> {
        Some(self.stats())
    }
}

#[cfg(test)]
mod tests;
