//! Weft's durable queue between receivers and the pipeline.
//!
//! A batch is appended as one record; [`Wal::append`] resolves once the record is in the log
//! according to the [`FsyncPolicy`]. Records carry a log sequence number (LSN); consumers keep
//! the LSN they have made durable themselves, and on start-up read again from the LSN after it.
//! Segments whose records every consumer has made durable are deleted with [`Wal::trim_through`].
//!
//! On-disk layout: `<dir>/<first lsn, 20 digits>.wal`, each a header `WEFTWAL1` followed by
//! records `[payload length: u32 LE][crc32 of lsn+payload: u32 LE][lsn: u64 LE][payload]`.

mod bus;
mod reader;
mod segment;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub use bus::{WalBus, WalBusReader};
pub use reader::{WalReader, WalRecord};
pub use segment::RecoveryReport;

/// A log sequence number. The first record is 1; 0 means "nothing".
pub type Lsn = u64;

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("wal i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("wal is full: {bytes} bytes on disk reach the limit of {limit} bytes")]
    Full { bytes: u64, limit: u64 },
    #[error("wal append queue is full")]
    QueueFull,
    #[error("wal record of {0} bytes exceeds the 4 GiB record limit")]
    RecordTooLarge(usize),
    #[error("wal is closed")]
    Closed,
    #[error("wal writer failed earlier and refuses appends: {0}")]
    Failed(String),
    #[error("corrupt wal record in {path} at byte {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
}

impl WalError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        WalError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// Whether a client should retry later (load shedding) rather than give up.
    pub fn is_backpressure(&self) -> bool {
        matches!(self, WalError::Full { .. } | WalError::QueueFull)
    }
}

/// When the log is forced to stable storage.
///
/// | policy | survives kill -9 | survives power loss / kernel crash |
/// |---|---|---|
/// | `Always` | yes | yes: a batch is acknowledged only after `fdatasync` |
/// | `Interval(d)` | yes: acknowledged after `write(2)`, so the data is in the page cache | loses at most the last `d` of acknowledged batches |
/// | `Never` | yes | loses whatever the kernel had not written back (typically up to 30 s) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Always,
    Interval(Duration),
    Never,
}

impl std::str::FromStr for FsyncPolicy {
    type Err = String;

    /// `always`, `never`, or `interval:<duration>` such as `interval:200ms`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            "interval" => Ok(FsyncPolicy::Interval(Duration::from_secs(1))),
            other => match other.strip_prefix("interval:") {
                Some(duration) => weft_model::parse_duration(duration).map(FsyncPolicy::Interval),
                None => Err(format!(
                    "unknown fsync policy {other:?}: expected always, never or interval:<duration>"
                )),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct WalConfig {
    pub dir: PathBuf,
    /// A segment is closed and a new one started past this size.
    pub segment_max_bytes: u64,
    pub fsync: FsyncPolicy,
    /// Appends fail with [`WalError::Full`] while the segments on disk add up to this or more:
    /// the pipeline is behind and accepting more would only grow the backlog.
    pub max_disk_bytes: u64,
    /// Appends waiting for the writer; more fail with [`WalError::QueueFull`].
    pub max_pending_appends: usize,
}

impl WalConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WalConfig {
            dir: dir.into(),
            segment_max_bytes: 64 * 1024 * 1024,
            fsync: FsyncPolicy::Interval(Duration::from_secs(1)),
            max_disk_bytes: 4 * 1024 * 1024 * 1024,
            max_pending_appends: 8192,
        }
    }
}

/// The WAL's own metrics.
#[derive(Clone, Default)]
pub(crate) struct WalMetrics {
    appended_records: Counter,
    appended_bytes: Counter,
    group_commits: Counter,
    fsyncs: Counter,
    disk_bytes: Gauge,
    segments: Gauge,
    written_lsn: Gauge,
    durable_lsn: Gauge,
    trimmed_segments: Counter,
    rejected_appends: Counter,
    skipped_records: Counter,
}

impl WalMetrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = WalMetrics::default();
        registry.register(
            "weft_wal_appended_records",
            "Batches appended to the write-ahead log",
            metrics.appended_records.clone(),
        );
        registry.register(
            "weft_wal_appended_bytes",
            "Payload bytes appended to the write-ahead log",
            metrics.appended_bytes.clone(),
        );
        registry.register(
            "weft_wal_group_commits",
            "Writes that committed one or more batches together",
            metrics.group_commits.clone(),
        );
        registry.register(
            "weft_wal_fsyncs",
            "fdatasync calls on WAL segments",
            metrics.fsyncs.clone(),
        );
        registry.register(
            "weft_wal_size_bytes",
            "Bytes of WAL segments on disk",
            metrics.disk_bytes.clone(),
        );
        registry.register(
            "weft_wal_segments",
            "WAL segment files on disk",
            metrics.segments.clone(),
        );
        registry.register(
            "weft_wal_written_lsn",
            "Highest log sequence number written",
            metrics.written_lsn.clone(),
        );
        registry.register(
            "weft_wal_consumer_durable_lsn",
            "Highest log sequence number every consumer has made durable",
            metrics.durable_lsn.clone(),
        );
        registry.register(
            "weft_wal_trimmed_segments",
            "WAL segments deleted after consumers made their data durable",
            metrics.trimmed_segments.clone(),
        );
        registry.register(
            "weft_wal_rejected_appends",
            "Appends refused because the WAL was full or its queue was",
            metrics.rejected_appends.clone(),
        );
        registry.register(
            "weft_wal_skipped_records",
            "Records a reader could not read (corrupt, or trimmed before it got to them): data lost",
            metrics.skipped_records.clone(),
        );
        metrics
    }
}

/// State shared by the writer thread, readers and the handle.
pub(crate) struct Shared {
    config: WalConfig,
    /// Highest LSN whose record is completely written to its segment file.
    written_lsn: AtomicU64,
    written_notify: tokio::sync::watch::Sender<Lsn>,
    /// For consumers on plain threads: signalled with `written_notify`.
    written_condvar: (Mutex<()>, parking_lot::Condvar),
    /// Segments on disk, oldest first: (first lsn, size in bytes).
    segments: Mutex<Vec<segment::SegmentInfo>>,
    disk_bytes: AtomicU64,
    /// A rotation was asked of the writer and not yet done: trim asks once, not per call.
    rotation_requested: AtomicBool,
    /// Set when a write or fsync failed: from then on the log refuses appends, because it can no
    /// longer tell what is on disk.
    failure: Mutex<Option<String>>,
    metrics: WalMetrics,
}

impl Shared {
    fn refresh_size_metrics(&self, segments: &[segment::SegmentInfo]) {
        let bytes: u64 = segments.iter().map(|segment| segment.bytes).sum();
        self.disk_bytes.store(bytes, Ordering::Relaxed);
        self.metrics.disk_bytes.set(bytes as i64);
        self.metrics.segments.set(segments.len() as i64);
    }
}

/// A handle to an open write-ahead log. Cheap to clone; the writer thread stops when the last
/// handle is dropped or [`Wal::close`] is called.
#[derive(Clone)]
pub struct Wal {
    shared: Arc<Shared>,
    sender: crossbeam_channel::Sender<writer::WriterMessage>,
    writer: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Wal {
    /// Opens (creating if needed) the log in `config.dir`, repairing a torn last record, and
    /// starts the writer thread.
    pub fn open(
        config: WalConfig,
        registry: &mut Registry,
    ) -> Result<(Wal, RecoveryReport), WalError> {
        std::fs::create_dir_all(&config.dir).map_err(|error| WalError::io(&config.dir, error))?;
        let recovery = segment::recover(&config.dir)?;
        let metrics = WalMetrics::register(registry);
        let (written_notify, _) = tokio::sync::watch::channel(recovery.last_lsn);
        let shared = Arc::new(Shared {
            written_lsn: AtomicU64::new(recovery.last_lsn),
            written_notify,
            written_condvar: (Mutex::new(()), parking_lot::Condvar::new()),
            segments: Mutex::new(recovery.segments.clone()),
            disk_bytes: AtomicU64::new(0),
            rotation_requested: AtomicBool::new(false),
            failure: Mutex::new(None),
            metrics,
            config,
        });
        shared.refresh_size_metrics(&recovery.segments);
        shared.metrics.written_lsn.set(recovery.last_lsn as i64);
        let (sender, receiver) = crossbeam_channel::bounded(shared.config.max_pending_appends);
        let writer = writer::Writer::start(Arc::clone(&shared), recovery.last_lsn + 1)?;
        let handle = std::thread::Builder::new()
            .name("weft-wal-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|error| WalError::io(Path::new("weft-wal-writer thread"), error))?;
        Ok((
            Wal {
                shared,
                sender,
                writer: Arc::new(Mutex::new(Some(handle))),
            },
            recovery,
        ))
    }

    /// Appends one record. Resolves with its LSN once it is in the log as the fsync policy
    /// promises; fails at once if the log is full or its queue is.
    pub fn append(
        &self,
        payload: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<Lsn, WalError>> + Send + 'static {
        let submitted = self.submit(payload);
        async move {
            let acknowledgement = submitted?;
            acknowledgement.await.map_err(|_| WalError::Closed)?
        }
    }

    fn submit(
        &self,
        payload: Vec<u8>,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<Lsn, WalError>>, WalError> {
        if let Some(failure) = self.shared.failure.lock().clone() {
            return Err(WalError::Failed(failure));
        }
        if u32::try_from(payload.len()).is_err() {
            return Err(WalError::RecordTooLarge(payload.len()));
        }
        let bytes = self.disk_bytes();
        let limit = self.shared.config.max_disk_bytes;
        if bytes >= limit {
            self.shared.metrics.rejected_appends.inc();
            return Err(WalError::Full { bytes, limit });
        }
        let (acknowledge, acknowledgement) = tokio::sync::oneshot::channel();
        match self.sender.try_send(writer::WriterMessage::Append {
            payload,
            acknowledge,
        }) {
            Ok(()) => Ok(acknowledgement),
            Err(crossbeam_channel::TrySendError::Full(_)) => {
                self.shared.metrics.rejected_appends.inc();
                Err(WalError::QueueFull)
            }
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => Err(WalError::Closed),
        }
    }

    /// Highest LSN completely written to the log (readable by [`WalReader`]).
    pub fn written_lsn(&self) -> Lsn {
        self.shared.written_lsn.load(Ordering::Acquire)
    }

    /// Notified whenever new records are written.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Lsn> {
        self.shared.written_notify.subscribe()
    }

    /// Blocks the calling thread until a record with LSN > `after` is written or `timeout`
    /// passes. Returns whether there is such a record.
    pub fn wait_for_written(&self, after: Lsn, timeout: Duration) -> bool {
        let (lock, condvar) = &self.shared.written_condvar;
        let mut guard = lock.lock();
        if self.written_lsn() > after {
            return true;
        }
        let _ = condvar.wait_for(&mut guard, timeout);
        self.written_lsn() > after
    }

    /// A reader positioned at the first record with LSN ≥ `from` still on disk.
    pub fn reader(&self, from: Lsn) -> WalReader {
        WalReader::new(Arc::clone(&self.shared), from)
    }

    /// Deletes closed segments whose every record has LSN ≤ `durable_lsn`, i.e. that all
    /// consumers have made durable. Returns how many segments were deleted.
    ///
    /// The active segment is never deleted; instead, once all its records are durable (an idle
    /// log), or its durable prefix is large, the writer is asked to close it, and a later call
    /// deletes it. Without that, a quiet server would keep up to `segment_max_bytes` of
    /// long-durable records on disk forever.
    pub fn trim_through(&self, durable_lsn: Lsn) -> Result<usize, WalError> {
        self.shared.metrics.durable_lsn.set(durable_lsn as i64);
        let (removed, active) = {
            let mut segments = self.shared.segments.lock();
            let mut removable = 0;
            while removable + 1 < segments.len()
                && segments[removable + 1].first_lsn.saturating_sub(1) <= durable_lsn
            {
                removable += 1;
            }
            let removed: Vec<segment::SegmentInfo> = segments.drain(..removable).collect();
            self.shared.refresh_size_metrics(&segments);
            (removed, segments.last().copied())
        };
        // Unlinking takes the file system's time: not under the lock the writer needs.
        let mut first_error = None;
        for segment in &removed {
            let path = segment::segment_path(&self.shared.config.dir, segment.first_lsn);
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    self.shared.metrics.trimmed_segments.inc();
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                // The segment is out of the list either way: recovery at the next start finds
                // the file again and readers skip what consumers already have.
                Err(error) => {
                    first_error.get_or_insert(WalError::io(&path, error));
                }
            }
        }
        if let Some(active) = active {
            if self.active_segment_should_rotate(active, durable_lsn) {
                self.request_rotation();
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(removed.len()),
        }
    }

    /// Whether the active segment may be closed so that it can be trimmed: it holds records and
    /// either all of them are durable, or a durable prefix of at least an eighth of the segment
    /// size (so a slow, steady trickle does not keep a segment's worth of durable records).
    fn active_segment_should_rotate(&self, active: segment::SegmentInfo, durable_lsn: Lsn) -> bool {
        let written = self.written_lsn();
        let has_records = written >= active.first_lsn;
        let all_durable = durable_lsn >= written;
        let large_durable_prefix = durable_lsn >= active.first_lsn
            && active.bytes >= self.shared.config.segment_max_bytes / 8;
        has_records && (all_durable || large_durable_prefix)
    }

    fn request_rotation(&self) {
        if self.shared.rotation_requested.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.sender.try_send(writer::WriterMessage::Rotate).is_err() {
            // A full queue means appends are flowing: the segment fills and rotates anyway.
            self.shared
                .rotation_requested
                .store(false, Ordering::Release);
        }
    }

    pub fn disk_bytes(&self) -> u64 {
        self.shared.disk_bytes.load(Ordering::Relaxed)
    }

    pub fn segment_count(&self) -> usize {
        self.shared.segments.lock().len()
    }

    /// Writes and fsyncs everything queued so far, then stops the writer thread. Appends after
    /// this fail with [`WalError::Closed`].
    pub fn close(&self) {
        let _ = self.sender.send(writer::WriterMessage::Close);
        if let Some(handle) = self.writer.lock().take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests;
