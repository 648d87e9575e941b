//! The all-in-one store: memtable → Parquet segments in 10-minute partitions → compaction →
//! retention by whole partitions, all recorded in one atomically replaced manifest.
//!
//! One maintenance thread does every manifest change (flush, compaction, retention), so they
//! never race; the pipeline thread only inserts into the memtable and freezes it; queries read a
//! snapshot (memtables and segment list cloned under a short read lock).

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use parking_lot::{Condvar, Mutex, RwLock};
use weft_codec::ConversionOptions;
use weft_model::{now_unix_nanos, Span, SpanKind, TraceId, TraceIdTimeWindow};

use crate::catalog::Catalog;
use crate::manifest::{sync_directory, Manifest, SegmentMeta};
use crate::memtable::Memtable;
use crate::parents::{ParentEncoder, ParentLink, ParentResolver};
use crate::schema::{self, BatchColumns};
use crate::segment::{self, Segment, SegmentBatchWriter, SegmentWriteOptions};
use crate::{Position, StoreError};
use weft_storage::{
    summarize, SearchQuery, SearchResult, SpanHead, TraceIdRange, TraceQuery, TraceSummary,
};
use weft_storage::{AttributeKeyInfo, OperationInfo, ServiceCatalog};
use weft_storage::{ScanReport, SpanReader, SpanWriter, StoreStats};

/// Partitions are this long; retention drops whole partitions.
pub const PARTITION_SECONDS: u64 = 600;
/// Spans claiming to start further in the future than this are filed under the time they
/// arrived, so a wrong clock cannot create a partition that outlives retention.
const MAX_FUTURE_SECONDS: u64 = 3_600;
/// A Weft-issued trace ID's spans are looked for from this long before its embedded time …
const TRACE_LOOKBACK_SECONDS: u64 = PARTITION_SECONDS;
/// … to this long after it (long-running asynchronous traces).
const TRACE_LOOKAHEAD_SECONDS: u64 = 3_600;
const SPANS_DIRECTORY: &str = "spans";
/// Threads one search scans a partition's row groups with (the machine this was tuned on has
/// two cores; more threads only add contention there).
const SEARCH_THREADS: usize = 2;
/// Helper threads all of one store's searches may run at once, besides their own threads
/// (whose number the query admission bounds).
const SEARCH_HELPER_THREADS: usize = 2;

/// The store-wide allowance of search helper threads.
pub(crate) struct SearchHelpers {
    spare: AtomicUsize,
}

/// Helper threads borrowed for one partition scan, given back on drop.
pub(crate) struct BorrowedHelpers<'a> {
    helpers: &'a SearchHelpers,
    count: usize,
}

impl SearchHelpers {
    pub(crate) fn new(count: usize) -> Self {
        SearchHelpers {
            spare: AtomicUsize::new(count),
        }
    }

    /// Up to `wanted` helpers, as many as are spare (possibly none).
    pub(crate) fn borrow(&self, wanted: usize) -> BorrowedHelpers<'_> {
        let mut count = 0;
        let _ = self
            .spare
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |spare| {
                count = spare.min(wanted);
                Some(spare - count)
            });
        BorrowedHelpers {
            helpers: self,
            count,
        }
    }
}

impl BorrowedHelpers<'_> {
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

impl Drop for BorrowedHelpers<'_> {
    fn drop(&mut self) {
        self.helpers.spare.fetch_add(self.count, Ordering::AcqRel);
    }
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub directory: PathBuf,
    /// Partitions whose end is older than this are dropped.
    pub retention: Duration,
    /// A memtable older than this is flushed.
    pub flush_interval: Duration,
    /// A memtable with this many spans is flushed.
    pub flush_max_spans: usize,
    /// Flushed memtables waiting for their segment before writes block.
    pub max_frozen_memtables: usize,
    pub flush_zstd_level: i32,
    pub compaction_zstd_level: i32,
    /// A partition with this many segments is compacted (closed partitions from two).
    pub compaction_min_segments: usize,
    /// Most rows one compaction writes; segments of half this size or more are not merged again.
    pub compaction_max_rows: u64,
    /// Most spans one search looks at before it answers with what it has.
    pub max_scanned_spans_per_search: u64,
    /// Business key names, for re-deriving fields when reading spans back.
    pub conversion: ConversionOptions,
    /// Test hook: abort the process at this named step (see `CRASH_POINTS`).
    pub crash_point: Option<String>,
    /// Test hook: fail this named step once with an i/o error (see `FAIL_POINTS`).
    pub fail_point: Option<String>,
}

/// Steps a fault-injection test can fail once.
pub const FAIL_POINTS: [&str; 2] = ["flush-open-segment", "compaction-open-segment"];

/// Steps a crash test can abort at.
pub const CRASH_POINTS: [&str; 5] = [
    "flush-before-manifest",
    "flush-after-manifest",
    "compaction-before-manifest",
    "compaction-after-manifest",
    "retention-after-manifest",
];

impl StoreConfig {
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        StoreConfig {
            directory: directory.into(),
            retention: Duration::from_secs(3 * 24 * 3600),
            flush_interval: Duration::from_secs(30),
            flush_max_spans: 256 * 1024,
            max_frozen_memtables: 2,
            flush_zstd_level: 3,
            compaction_zstd_level: 9,
            compaction_min_segments: 4,
            compaction_max_rows: 8 * 1024 * 1024,
            max_scanned_spans_per_search: 200_000_000,
            conversion: ConversionOptions::default(),
            crash_point: None,
            fail_point: None,
        }
    }
}

struct OpenSegment {
    meta: SegmentMeta,
    segment: Arc<Segment>,
}

/// A partition's start (Unix seconds) and its segments.
type PartitionSegments = (u64, Vec<Arc<OpenSegment>>);

struct State {
    active: Memtable,
    frozen: VecDeque<Arc<Memtable>>,
    partitions: BTreeMap<u64, Vec<Arc<OpenSegment>>>,
    last_written_position: Position,
}

#[derive(Default)]
struct Counters {
    flushes: AtomicU64,
    compactions: AtomicU64,
    partitions_dropped: AtomicU64,
    maintenance_errors: AtomicU64,
}

struct Inner {
    config: StoreConfig,
    state: RwLock<State>,
    /// Signalled when a memtable is frozen, a flush finishes, or the store closes.
    changed: Condvar,
    changed_lock: Mutex<()>,
    catalog: Mutex<Catalog>,
    /// Only the maintenance thread (and retention called directly) changes it.
    manifest: Mutex<Manifest>,
    /// The manifest's flushed position, readable without waiting for a long compaction that
    /// holds the manifest.
    flushed_position: AtomicU64,
    /// Segment files no longer in the manifest, deleted once no query holds them.
    obsolete: Mutex<Vec<Arc<OpenSegment>>>,
    /// Held for a whole compaction, so two never merge the same segments.
    compaction_lock: Mutex<()>,
    stopping: AtomicBool,
    /// Whether the configured fail point has failed its one time.
    fail_point_reached: AtomicBool,
    search_helpers: SearchHelpers,
    counters: Counters,
}

pub struct EmbeddedStore {
    inner: Arc<Inner>,
    /// The maintenance thread (flush, retention) and the compaction thread.
    maintenance: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// The partition a span is filed under: its start time's, unless the start is implausible —
/// further in the future than `MAX_FUTURE_SECONDS`, or older than the retention age (a client
/// with a wrong clock) — when it is the arrival time's, so an acknowledged span is neither kept
/// forever nor dropped at once.
pub(crate) fn partition_of(start_unix_nanos: u64, now_unix_nanos: u64, retention: Duration) -> u64 {
    let now_seconds = now_unix_nanos / 1_000_000_000;
    let mut seconds = start_unix_nanos / 1_000_000_000;
    if seconds > now_seconds + MAX_FUTURE_SECONDS
        || seconds.saturating_add(retention.as_secs()) < now_seconds
    {
        seconds = now_seconds;
    }
    seconds - seconds % PARTITION_SECONDS
}

fn segment_file_name(partition_start_secs: u64, id: u64) -> String {
    format!("{SPANS_DIRECTORY}/partition_start={partition_start_secs}/{id:012}.parquet")
}

impl EmbeddedStore {
    /// Opens (or creates) the store, deletes leftovers of interrupted steps and starts the
    /// maintenance thread.
    pub fn open(config: StoreConfig) -> Result<EmbeddedStore, StoreError> {
        let directory = config.directory.clone();
        std::fs::create_dir_all(directory.join(SPANS_DIRECTORY))
            .map_err(|error| StoreError::io(&directory, error))?;
        let manifest = Manifest::load(&directory)?.unwrap_or_default();
        remove_unlisted_files(&directory, &manifest)?;
        let mut partitions: BTreeMap<u64, Vec<Arc<OpenSegment>>> = BTreeMap::new();
        for meta in &manifest.segments {
            let segment = Segment::open(directory.join(&meta.file))?;
            partitions
                .entry(meta.partition_start_secs)
                .or_default()
                .push(Arc::new(OpenSegment {
                    meta: meta.clone(),
                    segment,
                }));
        }
        let catalog = Catalog::from_snapshot(manifest.catalog.clone());
        let inner = Arc::new(Inner {
            state: RwLock::new(State {
                active: Memtable::new(),
                frozen: VecDeque::new(),
                partitions,
                last_written_position: manifest.flushed_position,
            }),
            changed: Condvar::new(),
            changed_lock: Mutex::new(()),
            catalog: Mutex::new(catalog),
            flushed_position: AtomicU64::new(manifest.flushed_position),
            manifest: Mutex::new(manifest),
            obsolete: Mutex::new(Vec::new()),
            compaction_lock: Mutex::new(()),
            stopping: AtomicBool::new(false),
            fail_point_reached: AtomicBool::new(false),
            search_helpers: SearchHelpers::new(SEARCH_HELPER_THREADS),
            counters: Counters::default(),
            config,
        });
        let thread_inner = Arc::clone(&inner);
        let maintenance = std::thread::Builder::new()
            .name("weft-store".into())
            .spawn(move || thread_inner.maintain())
            .map_err(|error| StoreError::io(&directory, error))?;
        let thread_inner = Arc::clone(&inner);
        let compaction = std::thread::Builder::new()
            .name("weft-compaction".into())
            .spawn(move || thread_inner.compact_continuously())
            .map_err(|error| StoreError::io(&directory, error))?;
        Ok(EmbeddedStore {
            inner,
            maintenance: Mutex::new(vec![maintenance, compaction]),
        })
    }

    fn collect_stats(&self) -> StoreStats {
        let state = self.inner.state.read();
        let segments = state.partitions.values().flatten();
        let (count, rows, bytes) = segments.fold((0, 0, 0), |(count, rows, bytes), open| {
            (count + 1, rows + open.meta.rows, bytes + open.meta.bytes)
        });
        StoreStats {
            partitions: state.partitions.len() as u64,
            segments: count,
            segment_rows: rows,
            segment_bytes: bytes,
            memtable_spans: (state.active.span_count()
                + state.frozen.iter().map(|m| m.span_count()).sum::<usize>())
                as u64,
            frozen_memtables: state.frozen.len() as u64,
            flushed_position: self.inner.flushed_position.load(Ordering::Acquire),
            flushes: self.inner.counters.flushes.load(Ordering::Relaxed),
            compactions: self.inner.counters.compactions.load(Ordering::Relaxed),
            partitions_dropped: self
                .inner
                .counters
                .partitions_dropped
                .load(Ordering::Relaxed),
            maintenance_errors: self
                .inner
                .counters
                .maintenance_errors
                .load(Ordering::Relaxed),
        }
    }

    /// The earliest start among the spans held (a lower bound: a partition's start for
    /// segments), or `None` when the store is empty.
    pub fn oldest_span_start_unix_nanos(&self) -> Option<u64> {
        let state = self.inner.state.read();
        let segments = state
            .partitions
            .keys()
            .next()
            .map(|start| start * 1_000_000_000);
        state
            .active
            .spans()
            .chain(state.frozen.iter().flat_map(|memtable| memtable.spans()))
            .map(|span| span.start_time_unix_nanos)
            .chain(segments)
            .min()
    }

    /// Every span starting in `[start, end)` for which `wanted(trace ID, start)` holds —
    /// memtables and segments — to `sink` in batches; the cold writer's read of the hot tier.
    /// Segments are read in two passes (trace IDs and starts first, whole rows only of the
    /// traces with a wanted span), so a pass keeping a few percent of the spans decodes little
    /// more than two columns.
    pub fn scan_spans(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&TraceId, u64) -> bool,
        sink: &mut dyn FnMut(Vec<Span>) -> Result<(), StoreError>,
    ) -> Result<ScanReport, StoreError> {
        let mut report = ScanReport::default();
        let in_range = |start: u64| start >= start_unix_nanos && start < end_unix_nanos;
        let low = start_unix_nanos / 1_000_000_000;
        let high = end_unix_nanos.div_ceil(1_000_000_000);
        // The active memtable is read under the same lock as the snapshot (see `snapshot_of`),
        // but `wanted` is asked only after the lock is released: it may read files (the cold
        // writer's shard filters), and writers wait for this lock.
        let (in_range_active_spans, memtables, partitions) = {
            let state = self.inner.state.read();
            let mut spans = Vec::new();
            for span in state.active.spans() {
                report.scanned_spans += 1;
                if in_range(span.start_time_unix_nanos) {
                    spans.push(span.clone());
                }
            }
            let (memtables, partitions) = Inner::snapshot_of(&state, |start| {
                start + PARTITION_SECONDS > low && start < high
            });
            (spans, memtables, partitions)
        };
        let mut memtable_spans = in_range_active_spans;
        memtable_spans.retain(|span| wanted(&span.trace_id, span.start_time_unix_nanos));
        let mut emit = |spans: Vec<Span>, report: &mut ScanReport| {
            report.selected_spans += spans.len() as u64;
            if spans.is_empty() {
                Ok(())
            } else {
                sink(spans)
            }
        };
        emit(memtable_spans, &mut report)?;
        for memtable in memtables {
            let mut spans = Vec::new();
            for span in memtable.spans() {
                report.scanned_spans += 1;
                if in_range(span.start_time_unix_nanos)
                    && wanted(&span.trace_id, span.start_time_unix_nanos)
                {
                    spans.push(span.clone());
                }
            }
            emit(spans, &mut report)?;
        }
        for (_, segments) in partitions {
            for open in segments {
                let mut selected = 0u64;
                report.scanned_spans += open.segment.scan_wanted(
                    start_unix_nanos,
                    end_unix_nanos,
                    wanted,
                    &self.inner.config.conversion,
                    &mut |spans| {
                        selected += spans.len() as u64;
                        sink(spans)
                    },
                )?;
                report.selected_spans += selected;
            }
        }
        Ok(report)
    }

    /// Merges every partition with two or more segments, whatever the thresholds (tests,
    /// benchmarks, `weft` maintenance). Returns how many merges ran.
    pub fn compact_now(&self) -> Result<usize, StoreError> {
        let mut merged = 0;
        while self.inner.compact_once(now_unix_nanos(), Some(2))? {
            merged += 1;
        }
        Ok(merged)
    }

    /// Flushes, stops the maintenance thread and waits for it.
    pub fn close(&self) -> Result<(), StoreError> {
        let flushed = self.flush();
        self.stop_threads();
        flushed
    }

    fn stop_threads(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.notify();
        for thread in self.maintenance.lock().drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// Deletes temporary files and segments the manifest does not list (an interrupted flush,
/// compaction or retention left them).
fn remove_unlisted_files(directory: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let listed: HashSet<PathBuf> = manifest
        .segments
        .iter()
        .map(|meta| directory.join(&meta.file))
        .collect();
    let spans = directory.join(SPANS_DIRECTORY);
    let partitions = std::fs::read_dir(&spans).map_err(|error| StoreError::io(&spans, error))?;
    for partition in partitions {
        let partition = partition
            .map_err(|error| StoreError::io(&spans, error))?
            .path();
        if !partition.is_dir() {
            continue;
        }
        let entries =
            std::fs::read_dir(&partition).map_err(|error| StoreError::io(&partition, error))?;
        let mut kept = 0;
        for entry in entries {
            let path = entry
                .map_err(|error| StoreError::io(&partition, error))?
                .path();
            if listed.contains(&path) {
                kept += 1;
            } else {
                tracing::info!(file = %path.display(), "removing a file no manifest lists");
                std::fs::remove_file(&path).map_err(|error| StoreError::io(&path, error))?;
            }
        }
        if kept == 0 {
            let _ = std::fs::remove_dir(&partition);
        }
    }
    let leftover = directory.join(format!("{}.tmp", crate::manifest::MANIFEST_FILE));
    if leftover.exists() {
        std::fs::remove_file(&leftover).map_err(|error| StoreError::io(&leftover, error))?;
    }
    Ok(())
}

impl Inner {
    fn notify(&self) {
        let _guard = self.changed_lock.lock();
        self.changed.notify_all();
    }

    fn crash_point(&self, step: &str) {
        if self.config.crash_point.as_deref() == Some(step) {
            tracing::error!(step, "crash point reached: aborting as configured");
            std::process::abort();
        }
    }

    fn maintain(&self) {
        let mut last_retention: Option<Instant> = None;
        loop {
            let frozen = self.state.read().frozen.front().cloned();
            if let Some(memtable) = frozen {
                if let Err(error) = self.flush_memtable(&memtable) {
                    self.counters
                        .maintenance_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(%error, "flushing the memtable failed; retrying");
                    self.wait(Duration::from_secs(1));
                }
                continue;
            }
            if self.stopping.load(Ordering::SeqCst) {
                break;
            }
            let now = now_unix_nanos();
            if last_retention.is_none_or(|last| last.elapsed() >= Duration::from_secs(60)) {
                last_retention = Some(Instant::now());
                if let Err(error) = self.apply_retention(now) {
                    self.counters
                        .maintenance_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(%error, "applying retention failed");
                }
            }
            self.delete_obsolete();
            self.wait(Duration::from_secs(1));
        }
        self.delete_obsolete();
    }

    fn wait(&self, timeout: Duration) {
        let mut guard = self.changed_lock.lock();
        if self.state.read().frozen.is_empty() && !self.stopping.load(Ordering::SeqCst) {
            self.changed.wait_for(&mut guard, timeout);
        }
    }

    /// Deletes obsolete segment files no query still holds.
    fn delete_obsolete(&self) {
        let mut obsolete = self.obsolete.lock();
        obsolete.retain(|open| {
            if Arc::strong_count(open) > 1 {
                return true;
            }
            let path = open.segment.path();
            if let Err(error) = std::fs::remove_file(path) {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(file = %path.display(), %error, "deleting a segment failed");
                    return true;
                }
            }
            if let Some(partition) = path.parent() {
                let _ = std::fs::remove_dir(partition);
            }
            false
        });
    }

    fn freeze_active(state: &mut State) {
        if !state.active.is_empty() {
            let memtable = std::mem::replace(&mut state.active, Memtable::new());
            state.frozen.push_back(Arc::new(memtable));
        }
    }

    /// Test hook: fails the named step once with an injected i/o error (see `FAIL_POINTS`).
    fn fail_point(&self, step: &str) -> Result<(), StoreError> {
        if self.config.fail_point.as_deref() == Some(step)
            && !self.fail_point_reached.swap(true, Ordering::SeqCst)
        {
            tracing::warn!(step, "fail point reached: failing once as configured");
            return Err(StoreError::io(
                &self.config.directory,
                std::io::Error::other(format!("injected failure at {step}")),
            ));
        }
        Ok(())
    }

    /// Writes a frozen memtable as one segment per partition and commits them in the manifest.
    ///
    /// Everything that can fail — writing, syncing and opening the files — happens before the
    /// manifest lists them, and nothing fallible after: a flush that fails is retried from
    /// scratch without its spans ever being listed twice. The manifest lock is held only to
    /// reserve segment IDs and to commit, so a compaction's commit does not wait for the
    /// Parquet writes.
    fn flush_memtable(&self, memtable: &Arc<Memtable>) -> Result<(), StoreError> {
        let now = now_unix_nanos();
        let mut by_partition: BTreeMap<u64, Vec<&Span>> = BTreeMap::new();
        for span in memtable.spans() {
            by_partition
                .entry(partition_of(
                    span.start_time_unix_nanos,
                    now,
                    self.config.retention,
                ))
                .or_default()
                .push(span);
        }
        let first_id = {
            let mut manifest = self.manifest.lock();
            let first_id = manifest.next_segment_id;
            manifest.next_segment_id += by_partition.len() as u64;
            first_id
        };
        let mut opened: Vec<Arc<OpenSegment>> = Vec::with_capacity(by_partition.len());
        for (id, (partition_start_secs, spans)) in (first_id..).zip(by_partition) {
            match self.write_flushed_segment(id, partition_start_secs, spans) {
                Ok(open) => opened.push(open),
                Err(error) => {
                    // Not listed anywhere: remove them now rather than at the next start.
                    for open in &opened {
                        let _ = std::fs::remove_file(open.segment.path());
                    }
                    return Err(error);
                }
            }
        }
        self.crash_point("flush-before-manifest");
        let mut manifest = self.manifest.lock();
        let mut next = manifest.clone();
        next.segments
            .extend(opened.iter().map(|open| open.meta.clone()));
        next.flushed_position = memtable.last_position;
        next.catalog = self.catalog.lock().snapshot();
        // A failure here may or may not have replaced the file; either way the retry commits
        // a manifest built from the in-memory one, which does not list these segments, and the
        // next start deletes whatever no manifest lists.
        next.store(&self.config.directory)?;
        self.flushed_position
            .store(next.flushed_position, Ordering::Release);
        *manifest = next;
        self.crash_point("flush-after-manifest");
        {
            let mut state = self.state.write();
            for open in opened {
                state
                    .partitions
                    .entry(open.meta.partition_start_secs)
                    .or_default()
                    .push(open);
            }
            let flushed = state.frozen.pop_front();
            debug_assert!(flushed.is_some_and(|flushed| Arc::ptr_eq(&flushed, memtable)));
        }
        drop(manifest);
        self.counters.flushes.fetch_add(1, Ordering::Relaxed);
        self.notify();
        Ok(())
    }

    /// One partition's spans of a flush as a durable, opened segment file (not yet listed).
    fn write_flushed_segment(
        &self,
        id: u64,
        partition_start_secs: u64,
        mut spans: Vec<&Span>,
    ) -> Result<Arc<OpenSegment>, StoreError> {
        segment::sort_for_segment(&mut spans);
        let file = segment_file_name(partition_start_secs, id);
        let path = self.config.directory.join(&file);
        let partition_directory = path.parent().expect("segment files sit in a partition");
        if !partition_directory.exists() {
            std::fs::create_dir_all(partition_directory)
                .map_err(|error| StoreError::io(partition_directory, error))?;
            sync_directory(&self.config.directory.join(SPANS_DIRECTORY))?;
        }
        let bytes = segment::write_segment(
            &path,
            &spans,
            SegmentWriteOptions {
                zstd_level: self.config.flush_zstd_level,
            },
        )?;
        sync_directory(partition_directory)?;
        let starts = spans.iter().map(|span| span.start_time_unix_nanos);
        let meta = SegmentMeta {
            id,
            partition_start_secs,
            file,
            rows: spans.len() as u64,
            bytes,
            min_start_unix_nanos: starts.clone().min().unwrap_or(0),
            max_start_unix_nanos: starts.max().unwrap_or(0),
            level: 0,
        };
        let opened = self
            .fail_point("flush-open-segment")
            .and_then(|()| Segment::open(path.clone()));
        match opened {
            Ok(segment) => Ok(Arc::new(OpenSegment { meta, segment })),
            Err(error) => {
                let _ = std::fs::remove_file(&path);
                Err(error)
            }
        }
    }

    /// Merges the segments of one partition that needs it. Returns whether it merged anything.
    /// Merges the segments of one partition that needs it. Returns whether it merged anything.
    /// Compactions run one at a time; the manifest is held only to commit, so flushes go on
    /// while a merge runs.
    fn compact_once(
        &self,
        now_unix_nanos: u64,
        min_segments: Option<usize>,
    ) -> Result<bool, StoreError> {
        let _one_at_a_time = self.compaction_lock.lock();
        let Some((partition_start_secs, inputs)) =
            self.pick_compaction(now_unix_nanos, min_segments)
        else {
            return Ok(false);
        };
        let id = {
            let mut manifest = self.manifest.lock();
            manifest.next_segment_id += 1;
            manifest.next_segment_id - 1
        };
        let file = segment_file_name(partition_start_secs, id);
        let path = self.config.directory.join(&file);
        let expected_rows: u64 = inputs.iter().map(|open| open.meta.rows).sum();
        let merged = segment::guard_reads(&path, || {
            merge_segments(
                &inputs,
                &path,
                SegmentWriteOptions {
                    zstd_level: self.config.compaction_zstd_level,
                },
                expected_rows as usize,
                &self.stopping,
            )
        });
        let (bytes, rows, min_start, max_start) = match merged {
            Ok(merged) => merged,
            Err(error) => {
                let _ = std::fs::remove_file(path.with_extension("parquet.tmp"));
                return Err(error);
            }
        };
        if rows != expected_rows {
            let _ = std::fs::remove_file(&path);
            return Err(StoreError::Corrupt(format!(
                "compaction read {rows} rows from segments listing {expected_rows}"
            )));
        }
        sync_directory(path.parent().expect("segment files sit in a partition"))?;
        // Opened before the manifest lists it, so nothing after the commit can fail (an open
        // failing after it would leave the manifest and the served segments disagreeing).
        let segment = match self
            .fail_point("compaction-open-segment")
            .and_then(|()| Segment::open(path.clone()))
        {
            Ok(segment) => segment,
            Err(error) => {
                let _ = std::fs::remove_file(&path);
                return Err(error);
            }
        };
        self.crash_point("compaction-before-manifest");
        let input_ids: HashSet<u64> = inputs.iter().map(|open| open.meta.id).collect();
        let meta = SegmentMeta {
            id,
            partition_start_secs,
            file,
            rows,
            bytes,
            min_start_unix_nanos: min_start,
            max_start_unix_nanos: max_start,
            level: inputs.iter().map(|open| open.meta.level).max().unwrap_or(0) + 1,
        };
        let mut manifest = self.manifest.lock();
        let still_listed = manifest
            .segments
            .iter()
            .filter(|segment| input_ids.contains(&segment.id))
            .count();
        if still_listed != input_ids.len() {
            // Retention dropped the partition meanwhile: the merge is moot.
            drop(manifest);
            let _ = std::fs::remove_file(&path);
            return Ok(false);
        }
        let mut next = manifest.clone();
        next.segments
            .retain(|segment| !input_ids.contains(&segment.id));
        next.segments.push(meta.clone());
        next.store(&self.config.directory)?;
        *manifest = next;
        self.crash_point("compaction-after-manifest");
        {
            let mut state = self.state.write();
            let segments = state.partitions.entry(partition_start_secs).or_default();
            segments.retain(|open| !input_ids.contains(&open.meta.id));
            segments.push(Arc::new(OpenSegment { meta, segment }));
        }
        drop(manifest);
        self.obsolete.lock().extend(inputs);
        self.counters.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// The compaction thread: merges whatever needs it, then waits a second.
    fn compact_continuously(&self) {
        while !self.stopping.load(Ordering::SeqCst) {
            match self.compact_once(now_unix_nanos(), None) {
                Ok(true) => {
                    self.delete_obsolete();
                    continue;
                }
                Ok(false) => {}
                Err(_) if self.stopping.load(Ordering::SeqCst) => break,
                Err(error) => {
                    self.counters
                        .maintenance_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(%error, "compaction failed");
                }
            }
            let mut guard = self.changed_lock.lock();
            if !self.stopping.load(Ordering::SeqCst) {
                self.changed.wait_for(&mut guard, Duration::from_secs(1));
            }
        }
    }

    fn pick_compaction(
        &self,
        now_unix_nanos: u64,
        min_segments: Option<usize>,
    ) -> Option<(u64, Vec<Arc<OpenSegment>>)> {
        let now_seconds = now_unix_nanos / 1_000_000_000;
        let state = self.state.read();
        for (&partition_start_secs, segments) in &state.partitions {
            let closed = partition_start_secs + 2 * PARTITION_SECONDS <= now_seconds;
            let minimum = match min_segments {
                Some(minimum) => minimum,
                None if closed => 2,
                None => self.config.compaction_min_segments,
            };
            if segments.len() < minimum {
                continue;
            }
            // A segment of half the merge size or more is final: merging it again would only
            // rewrite its rows (every rewrite costs ~5 µs of CPU per span) for little gain.
            let mut candidates: Vec<Arc<OpenSegment>> = segments
                .iter()
                .filter(|open| open.meta.rows < self.config.compaction_max_rows / 2)
                .cloned()
                .collect();
            candidates.sort_by_key(|open| open.meta.rows);
            let mut chosen = Vec::new();
            let mut rows = 0;
            for open in candidates {
                if chosen.len() >= 16 || rows + open.meta.rows > self.config.compaction_max_rows {
                    break;
                }
                rows += open.meta.rows;
                chosen.push(open);
            }
            if chosen.len() >= 2 {
                return Some((partition_start_secs, chosen));
            }
        }
        None
    }

    fn apply_retention(&self, now_unix_nanos: u64) -> Result<u64, StoreError> {
        let cutoff_seconds =
            (now_unix_nanos / 1_000_000_000).saturating_sub(self.config.retention.as_secs());
        let expired: Vec<u64> = self
            .state
            .read()
            .partitions
            .keys()
            .copied()
            .filter(|start| start + PARTITION_SECONDS <= cutoff_seconds)
            .collect();
        self.catalog
            .lock()
            .expire(cutoff_seconds.saturating_mul(1_000_000_000));
        if expired.is_empty() {
            return Ok(0);
        }
        let mut manifest = self.manifest.lock();
        let mut next = manifest.clone();
        next.segments
            .retain(|segment| !expired.contains(&segment.partition_start_secs));
        next.catalog = self.catalog.lock().snapshot();
        next.store(&self.config.directory)?;
        *manifest = next;
        self.crash_point("retention-after-manifest");
        let mut dropped_spans = 0;
        let mut state = self.state.write();
        let mut obsolete = self.obsolete.lock();
        for partition in &expired {
            if let Some(segments) = state.partitions.remove(partition) {
                dropped_spans += segments.iter().map(|open| open.meta.rows).sum::<u64>();
                obsolete.extend(segments);
            }
        }
        drop(obsolete);
        drop(state);
        self.counters
            .partitions_dropped
            .fetch_add(expired.len() as u64, Ordering::Relaxed);
        tracing::info!(
            partitions = expired.len(),
            spans = dropped_spans,
            "retention dropped partitions"
        );
        drop(manifest);
        self.delete_obsolete();
        Ok(dropped_spans)
    }

    /// Memtables and segments of the partitions `wanted` admits, as of now.
    fn snapshot(
        &self,
        wanted: impl Fn(u64) -> bool,
    ) -> (Vec<Arc<Memtable>>, Vec<PartitionSegments>) {
        Self::snapshot_of(&self.state.read(), wanted)
    }

    /// The frozen memtables and segments of `state`. A reader that also reads the active
    /// memtable must do so under the same lock: between two acquisitions the active memtable
    /// can be frozen or flushed, and its spans would be read twice.
    fn snapshot_of(
        state: &State,
        wanted: impl Fn(u64) -> bool,
    ) -> (Vec<Arc<Memtable>>, Vec<PartitionSegments>) {
        let memtables = state.frozen.iter().rev().cloned().collect();
        let partitions = state
            .partitions
            .iter()
            .rev()
            .filter(|(start, _)| wanted(**start))
            .map(|(start, segments)| (*start, segments.clone()))
            .collect();
        (memtables, partitions)
    }

    /// Which partitions may hold a trace, and whether a miss there should widen to all.
    fn trace_partitions(&self, query: &TraceQuery) -> (Box<dyn Fn(u64) -> bool>, bool) {
        if query.start_unix_nanos.is_some() || query.end_unix_nanos.is_some() {
            let low = query.start_unix_nanos.unwrap_or(0) / 1_000_000_000;
            let high = query.end_unix_nanos.unwrap_or(u64::MAX) / 1_000_000_000;
            return (
                Box::new(move |start| start + PARTITION_SECONDS > low && start <= high),
                false,
            );
        }
        let now_seconds = now_unix_nanos() / 1_000_000_000;
        let window = TraceIdTimeWindow::around(
            now_seconds,
            self.config.retention.as_secs() + 86_400,
            86_400,
        );
        match query.trace_id.embedded_time_unix_seconds(window) {
            Some(seconds) => {
                let low = seconds.saturating_sub(TRACE_LOOKBACK_SECONDS);
                let high = seconds + TRACE_LOOKAHEAD_SECONDS;
                (
                    Box::new(move |start| start + PARTITION_SECONDS > low && start <= high),
                    true,
                )
            }
            None => (Box::new(|_| true), false),
        }
    }

    fn find_trace(
        &self,
        query: &TraceQuery,
        heads_only: bool,
    ) -> Result<(Vec<Span>, Vec<SpanHead>), StoreError> {
        let mut spans = Vec::new();
        let mut heads = Vec::new();
        let budget = query.max_spans.saturating_add(1);
        let mut take = |span: &Span| {
            if spans.len() + heads.len() < budget && query.admits_start(span.start_time_unix_nanos)
            {
                if heads_only {
                    heads.push(SpanHead::of(span));
                } else {
                    spans.push(span.clone());
                }
            }
        };
        let (in_window, widen_on_miss) = self.trace_partitions(query);
        let (memtables, partitions) = {
            let state = self.state.read();
            state.active.trace(&query.trace_id).for_each(&mut take);
            Self::snapshot_of(&state, &in_window)
        };
        for memtable in &memtables {
            memtable.trace(&query.trace_id).for_each(&mut take);
        }
        let searched = |partitions: &[PartitionSegments],
                        spans: &mut Vec<Span>,
                        heads: &mut Vec<SpanHead>|
         -> Result<(), StoreError> {
            for (_, segments) in partitions {
                for open in segments {
                    let remaining = budget.saturating_sub(spans.len() + heads.len());
                    if remaining == 0 {
                        return Ok(());
                    }
                    if query
                        .start_unix_nanos
                        .is_some_and(|start| open.meta.max_start_unix_nanos < start)
                        || query
                            .end_unix_nanos
                            .is_some_and(|end| open.meta.min_start_unix_nanos > end)
                    {
                        continue;
                    }
                    let found = open.segment.find_trace(
                        &query.trace_id,
                        &self.config.conversion,
                        heads_only,
                        remaining,
                    )?;
                    spans.extend(
                        found
                            .spans
                            .into_iter()
                            .filter(|span| query.admits_start(span.start_time_unix_nanos))
                            .take(remaining),
                    );
                    heads.extend(
                        found
                            .heads
                            .into_iter()
                            .filter(|head| query.admits_start(head.start_unix_nanos))
                            .take(remaining),
                    );
                }
            }
            Ok(())
        };
        let from_memtables = spans.len() + heads.len();
        searched(&partitions, &mut spans, &mut heads)?;
        if widen_on_miss && spans.len() + heads.len() == from_memtables {
            // No segment in the ID's time window holds the trace: the ID only looked
            // time-embedded (a random ID whose first bytes happen to read as a recent time),
            // so its flushed spans are in other partitions even when the memtables hold the
            // newest ones. Look everywhere else, pruned by the Bloom filters.
            let (_, rest) = self.snapshot(|start| !in_window(start));
            searched(&rest, &mut spans, &mut heads)?;
        }
        spans.sort_by_key(|span| (span.start_time_unix_nanos, span.span_id));
        heads.sort_by_key(|head| (head.start_unix_nanos, head.span_id));
        Ok((spans, heads))
    }

    fn summary(&self, trace_id: TraceId) -> Result<Option<TraceSummary>, StoreError> {
        let (_, heads) = self.find_trace(&TraceQuery::new(trace_id), true)?;
        Ok(summarize(trace_id, &heads))
    }
}

/// The newest `capacity` matching traces of one source, by their latest matching span start.
struct NewestTraces {
    capacity: usize,
    starts: HashMap<TraceId, u64>,
}

impl NewestTraces {
    fn new(capacity: usize) -> Self {
        NewestTraces {
            capacity,
            starts: HashMap::new(),
        }
    }

    fn offer(&mut self, trace_id: TraceId, start: u64) {
        let entry = self.starts.entry(trace_id).or_insert(start);
        *entry = (*entry).max(start);
        if self.starts.len() > self.capacity * 2 {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let mut newest: Vec<(u64, TraceId)> = self
            .starts
            .iter()
            .map(|(id, start)| (*start, *id))
            .collect();
        newest.sort_unstable_by(|a, b| b.cmp(a));
        newest.truncate(self.capacity);
        self.starts = newest.into_iter().map(|(start, id)| (id, start)).collect();
    }

    fn into_newest_first(mut self) -> Vec<TraceId> {
        self.trim();
        let mut newest: Vec<(u64, TraceId)> = self
            .starts
            .into_iter()
            .map(|(id, start)| (start, id))
            .collect();
        newest.sort_unstable_by(|a, b| b.cmp(a));
        newest.into_iter().map(|(_, id)| id).collect()
    }
}

impl SpanWriter for EmbeddedStore {
    fn write(&self, position: Position, spans: Arc<Vec<Span>>) -> Result<(), StoreError> {
        if self.inner.stopping.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        self.inner.catalog.lock().record(&spans);
        let mut state = self.inner.state.write();
        state.active.insert(position, spans);
        state.last_written_position = position;
        if state.active.span_count() >= self.inner.config.flush_max_spans {
            // Backpressure: wait while too many memtables are waiting for their flush.
            while state.frozen.len() >= self.inner.config.max_frozen_memtables {
                drop(state);
                let mut guard = self.inner.changed_lock.lock();
                if self.inner.state.read().frozen.len() >= self.inner.config.max_frozen_memtables {
                    self.inner
                        .changed
                        .wait_for(&mut guard, Duration::from_millis(100));
                }
                drop(guard);
                state = self.inner.state.write();
            }
            Inner::freeze_active(&mut state);
            drop(state);
            self.inner.notify();
        }
        Ok(())
    }

    fn durable_position(&self) -> Position {
        let state = self.inner.state.read();
        if state.active.is_empty() && state.frozen.is_empty() {
            state.last_written_position
        } else {
            self.inner.flushed_position.load(Ordering::Acquire)
        }
    }

    fn tick(&self) -> Result<(), StoreError> {
        let mut state = self.inner.state.write();
        if !state.active.is_empty()
            && state.active.created_at.elapsed() >= self.inner.config.flush_interval
            && state.frozen.len() < self.inner.config.max_frozen_memtables
        {
            Inner::freeze_active(&mut state);
            drop(state);
            self.inner.notify();
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Inner::freeze_active(&mut self.inner.state.write());
        self.inner.notify();
        let errors_before = self
            .inner
            .counters
            .maintenance_errors
            .load(Ordering::Relaxed);
        let mut guard = self.inner.changed_lock.lock();
        while !self.inner.state.read().frozen.is_empty() {
            if self.inner.stopping.load(Ordering::SeqCst) && self.maintenance.lock().is_empty() {
                return Err(StoreError::Closed);
            }
            if self
                .inner
                .counters
                .maintenance_errors
                .load(Ordering::Relaxed)
                > errors_before
            {
                return Err(StoreError::Corrupt(
                    "flushing failed; see the log (the maintenance thread keeps retrying)".into(),
                ));
            }
            self.inner
                .changed
                .wait_for(&mut guard, Duration::from_millis(100));
        }
        Ok(())
    }
}

impl SpanReader for EmbeddedStore {
    fn trace(&self, query: &TraceQuery) -> Result<Vec<Span>, StoreError> {
        Ok(self.inner.find_trace(query, false)?.0)
    }

    fn trace_summary(&self, trace_id: TraceId) -> Result<Option<TraceSummary>, StoreError> {
        self.inner.summary(trace_id)
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchResult, StoreError> {
        query.validate()?;
        let trace_ids = query
            .trace_id_prefix
            .as_deref()
            .map(TraceIdRange::from_prefix)
            .transpose()?;
        let low = query.start_unix_nanos / 1_000_000_000;
        let high = query.end_unix_nanos / 1_000_000_000;
        let in_range = move |start: u64| start + PARTITION_SECONDS > low && start <= high;
        let capacity = query.limit * 2 + 16;

        let mut result = SearchResult::default();
        let mut decided: HashSet<TraceId> = HashSet::new();
        let mut accept =
            |candidates: NewestTraces, result: &mut SearchResult| -> Result<(), StoreError> {
                for trace_id in candidates.into_newest_first() {
                    if result.traces.len() >= query.limit || !decided.insert(trace_id) {
                        continue;
                    }
                    if let Some(summary) = self.inner.summary(trace_id)? {
                        if summary.admits_root(query) {
                            result.traces.push(summary);
                        }
                    }
                }
                Ok(())
            };

        // The unflushed spans are the newest: look at them first.
        let (memtables, partitions) = {
            let state = self.inner.state.read();
            let mut candidates = NewestTraces::new(capacity);
            for span in state.active.spans() {
                result.scanned_spans += 1;
                if query.matches_span(span, trace_ids.as_ref()) {
                    candidates.offer(span.trace_id, span.start_time_unix_nanos);
                }
            }
            let snapshot = Inner::snapshot_of(&state, in_range);
            drop(state);
            accept(candidates, &mut result)?;
            snapshot
        };
        for memtable in memtables {
            let mut candidates = NewestTraces::new(capacity);
            for span in memtable.spans() {
                result.scanned_spans += 1;
                if query.matches_span(span, trace_ids.as_ref()) {
                    candidates.offer(span.trace_id, span.start_time_unix_nanos);
                }
            }
            accept(candidates, &mut result)?;
        }
        for (_, segments) in partitions {
            if result.traces.len() >= query.limit {
                break;
            }
            if result.scanned_spans >= self.inner.config.max_scanned_spans_per_search {
                result.partial = true;
                break;
            }
            // Row groups are scanned by up to `SEARCH_THREADS` threads, each keeping its own
            // newest candidates; their union holds the partition's newest.
            let mut work: Vec<(&OpenSegment, usize)> = Vec::new();
            for open in &segments {
                if open.meta.max_start_unix_nanos < query.start_unix_nanos
                    || open.meta.min_start_unix_nanos > query.end_unix_nanos
                {
                    continue;
                }
                for row_group in open.segment.row_groups_to_scan(query, trace_ids.as_ref())? {
                    work.push((open, row_group));
                }
            }
            let next = AtomicUsize::new(0);
            let scan_work = || {
                let mut candidates = NewestTraces::new(capacity);
                let mut scanned = 0;
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((open, row_group)) = work.get(index) else {
                        break;
                    };
                    scanned += open.segment.scan_row_group(
                        *row_group,
                        query,
                        trace_ids.as_ref(),
                        &mut |trace_id, start| candidates.offer(trace_id, start),
                    )?;
                }
                Ok((candidates, scanned))
            };
            // The searching thread scans too; helpers come from the store-wide allowance, so
            // concurrent searches share it instead of each spawning its own.
            let helpers = self
                .inner
                .search_helpers
                .borrow(work.len().min(SEARCH_THREADS).saturating_sub(1));
            let outcomes: Vec<Result<(NewestTraces, u64), StoreError>> =
                std::thread::scope(|scope| {
                    let handles: Vec<_> = (0..helpers.count())
                        .map(|_| scope.spawn(scan_work))
                        .collect();
                    let mut outcomes = vec![scan_work()];
                    outcomes.extend(
                        handles
                            .into_iter()
                            .map(|handle| handle.join().expect("search thread panicked")),
                    );
                    outcomes
                });
            drop(helpers);
            let mut candidates = NewestTraces::new(capacity);
            for outcome in outcomes {
                let (found, scanned) = outcome?;
                result.scanned_spans += scanned;
                for (trace_id, start) in found.starts {
                    candidates.offer(trace_id, start);
                }
            }
            accept(candidates, &mut result)?;
        }
        result
            .traces
            .sort_by_key(|trace| std::cmp::Reverse(trace.start_unix_nanos));
        result.traces.truncate(query.limit);
        Ok(result)
    }

    fn services(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.inner.catalog.lock().services())
    }

    fn operations(
        &self,
        service: &str,
        kind: Option<SpanKind>,
    ) -> Result<Vec<OperationInfo>, StoreError> {
        Ok(self.inner.catalog.lock().operations(service, kind))
    }

    fn attribute_keys(&self, service: Option<&str>) -> Result<Vec<AttributeKeyInfo>, StoreError> {
        Ok(self.inner.catalog.lock().attribute_keys(service))
    }

    fn attribute_values(&self, key: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.inner.catalog.lock().attribute_values(key, prefix))
    }

    fn catalog(
        &self,
        service: Option<&str>,
        top_values: usize,
    ) -> Result<Vec<ServiceCatalog>, StoreError> {
        Ok(self
            .inner
            .catalog
            .lock()
            .services_in_detail(service, top_values))
    }

    fn scan_spans(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&TraceId, u64) -> bool,
        sink: &mut dyn FnMut(Vec<Span>) -> Result<(), StoreError>,
    ) -> Result<ScanReport, StoreError> {
        EmbeddedStore::scan_spans(self, start_unix_nanos, end_unix_nanos, wanted, sink)
    }

    fn oldest_span_start_unix_nanos(&self) -> Result<Option<u64>, StoreError> {
        Ok(EmbeddedStore::oldest_span_start_unix_nanos(self))
    }

    fn local_stats(&self) -> Option<StoreStats> {
        Some(self.collect_stats())
    }
}

impl EmbeddedStore {
    /// Drops whatever is older than the retention age at `now_unix_nanos`; returns how many
    /// spans went.
    pub fn apply_retention(&self, now_unix_nanos: u64) -> Result<u64, StoreError> {
        self.inner.apply_retention(now_unix_nanos)
    }

    /// Sizes and counters for health and metrics.
    pub fn stats(&self) -> StoreStats {
        self.collect_stats()
    }
}

/// K-way merge of sorted segments into one, bounded in memory by inputs × batch size.
/// Returns (bytes, rows, min start, max start).
fn merge_segments(
    inputs: &[Arc<OpenSegment>],
    path: &Path,
    options: SegmentWriteOptions,
    expected_rows: usize,
    stopping: &AtomicBool,
) -> Result<(u64, u64, u64, u64), StoreError> {
    const BATCH_ROWS: usize = 8 * 1024;
    let mut readers = inputs
        .iter()
        .map(|open| open.segment.read_all(BATCH_ROWS))
        .collect::<Result<Vec<_>, _>>()?;
    let mut writer = SegmentBatchWriter::create(path, options, expected_rows)?;
    // Batches referenced by pending output rows, and each input's current batch and row.
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut current: Vec<Option<(usize, usize)>> = vec![None; readers.len()];
    let mut heap: BinaryHeap<std::cmp::Reverse<(MergeKey, usize)>> = BinaryHeap::new();
    let next_batch = |input: usize,
                      readers: &mut Vec<parquet::arrow::arrow_reader::ParquetRecordBatchReader>,
                      batches: &mut Vec<RecordBatch>|
     -> Result<Option<usize>, StoreError> {
        for batch in readers[input].by_ref() {
            let batch = batch
                .map_err(|error| StoreError::Corrupt(format!("reading a segment: {error}")))?;
            if batch.num_rows() > 0 {
                batches.push(batch);
                return Ok(Some(batches.len() - 1));
            }
        }
        Ok(None)
    };
    for (input, slot) in current.iter_mut().enumerate() {
        if let Some(batch) = next_batch(input, &mut readers, &mut batches)? {
            *slot = Some((batch, 0));
            heap.push(std::cmp::Reverse((
                MergeKey::of(&batches[batch], 0)?,
                input,
            )));
        }
    }
    let mut pending: Vec<(usize, usize)> = Vec::with_capacity(BATCH_ROWS);
    // Parent links are relative to row order, which the merge changes: resolve each input's
    // links in its order and encode them again in the output's.
    let mut resolvers: Vec<ParentResolver> = (0..readers.len())
        .map(|_| ParentResolver::default())
        .collect();
    let mut encoder = ParentEncoder::default();
    let mut pending_links: Vec<ParentLink> = Vec::with_capacity(BATCH_ROWS);
    let (mut rows, mut min_start, mut max_start) = (0u64, u64::MAX, 0u64);
    let emit = |pending: &mut Vec<(usize, usize)>,
                pending_links: &mut Vec<ParentLink>,
                batches: &mut Vec<RecordBatch>,
                current: &mut Vec<Option<(usize, usize)>>,
                writer: &mut SegmentBatchWriter|
     -> Result<(), StoreError> {
        if pending.is_empty() {
            return Ok(());
        }
        let sources: Vec<&RecordBatch> = batches.iter().collect();
        let merged = arrow_select::interleave::interleave_record_batch(&sources, pending)
            .map_err(schema::arrow_error)?;
        let (explicit, rows_back) = schema::parent_columns(pending_links)?;
        let mut columns = merged.columns().to_vec();
        columns[schema::column_index(schema::PARENT_SPAN_ID)] = Arc::new(explicit);
        columns[schema::column_index(schema::PARENT_ROW_OFFSET)] = Arc::new(rows_back);
        let merged = RecordBatch::try_new(merged.schema(), columns).map_err(schema::arrow_error)?;
        writer.write(&merged)?;
        pending.clear();
        pending_links.clear();
        // Keep only batches still current for some input, renumbered.
        let live: Vec<usize> = current.iter().flatten().map(|(batch, _)| *batch).collect();
        let mut renumber = HashMap::new();
        let kept: Vec<RecordBatch> = live
            .iter()
            .filter_map(|&old| {
                if renumber.contains_key(&old) {
                    return None;
                }
                renumber.insert(old, renumber.len());
                Some(batches[old].clone())
            })
            .collect();
        *batches = kept;
        for slot in current.iter_mut().flatten() {
            slot.0 = renumber[&slot.0];
        }
        Ok(())
    };
    while let Some(std::cmp::Reverse((key, input))) = heap.pop() {
        let (batch, row) = current[input].expect("an input in the heap has a batch");
        let columns = BatchColumns::new(&batches[batch]);
        let trace_id = TraceId::from_bytes(key.trace_id);
        let span_id = weft_model::SpanId::from_bytes(key.span_id);
        let parent = resolvers[input].resolve(trace_id, span_id, columns.parent_link(row)?)?;
        pending_links.push(encoder.encode(trace_id, span_id, parent));
        pending.push((batch, row));
        rows += 1;
        min_start = min_start.min(key.start);
        max_start = max_start.max(key.start);
        let next_row = row + 1;
        if next_row < batches[batch].num_rows() {
            current[input] = Some((batch, next_row));
            heap.push(std::cmp::Reverse((
                MergeKey::of(&batches[batch], next_row)?,
                input,
            )));
        } else {
            current[input] = None;
            if let Some(next) = next_batch(input, &mut readers, &mut batches)? {
                current[input] = Some((next, 0));
                heap.push(std::cmp::Reverse((MergeKey::of(&batches[next], 0)?, input)));
            }
        }
        if pending.len() >= BATCH_ROWS {
            if stopping.load(Ordering::Relaxed) {
                drop(writer);
                let _ = std::fs::remove_file(path.with_extension("parquet.tmp"));
                return Err(StoreError::Closed);
            }
            // Renumbering moves batch indices: fix the heap's view through `current`, which
            // the heap entries do not store (they store only the input).
            emit(
                &mut pending,
                &mut pending_links,
                &mut batches,
                &mut current,
                &mut writer,
            )?;
        }
    }
    emit(
        &mut pending,
        &mut pending_links,
        &mut batches,
        &mut current,
        &mut writer,
    )?;
    let bytes = writer.finish()?;
    Ok((
        bytes,
        rows,
        if rows == 0 { 0 } else { min_start },
        max_start,
    ))
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MergeKey {
    trace_id: [u8; 16],
    start: u64,
    span_id: [u8; 8],
}

impl MergeKey {
    fn of(batch: &RecordBatch, row: usize) -> Result<Self, StoreError> {
        let columns = BatchColumns::new(batch);
        Ok(MergeKey {
            trace_id: *schema::trace_id_at(columns.trace_ids()?, row).as_bytes(),
            start: columns.starts()?.value(row).cast_unsigned(),
            span_id: *schema::span_id_at(columns.span_ids()?, row).as_bytes(),
        })
    }
}
