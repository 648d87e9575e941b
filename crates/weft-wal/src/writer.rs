use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::segment::{
    encode_record, segment_path, SegmentInfo, RECORD_HEADER_BYTES, SEGMENT_MAGIC,
};
use crate::{FsyncPolicy, Lsn, Shared, WalError};

type Acknowledge = tokio::sync::oneshot::Sender<Result<Lsn, WalError>>;

/// Appends committed together, each with the sender that acknowledges it.
type Group = Vec<(Vec<u8>, Acknowledge)>;

pub(crate) enum WriterMessage {
    Append {
        payload: Vec<u8>,
        acknowledge: Acknowledge,
    },
    /// Close the active segment if it holds records, so that [`crate::Wal::trim_through`] can
    /// delete it once they are durable (asked for by trim itself).
    Rotate,
    Close,
}

/// Most payload bytes committed in one write: bounds the group buffer.
const MAX_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// The single thread that owns the active segment. One writer means records are ordered by LSN
/// on disk and group commit needs no locks: every append that queued while the previous write
/// ran is committed by the next one.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    file: File,
    path: PathBuf,
    segment_first_lsn: Lsn,
    segment_bytes: u64,
    next_lsn: Lsn,
    buffer: Vec<u8>,
    unsynced_writes: bool,
    last_sync: Instant,
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| WalError::io(dir, error))
}

fn create_segment(dir: &Path, first_lsn: Lsn) -> Result<(File, PathBuf), WalError> {
    let path = segment_path(dir, first_lsn);
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .map_err(|error| WalError::io(&path, error))?;
    file.write_all(SEGMENT_MAGIC)
        .and_then(|()| file.sync_data())
        .map_err(|error| WalError::io(&path, error))?;
    // The new file's directory entry must be durable too, or a power loss could forget it.
    sync_dir(dir)?;
    Ok((file, path))
}

impl Writer {
    pub(crate) fn start(shared: Arc<Shared>, next_lsn: Lsn) -> Result<Writer, WalError> {
        let dir = shared.config.dir.clone();
        let (file, path) = create_segment(&dir, next_lsn)?;
        {
            let mut segments = shared.segments.lock();
            // Recovery may have listed an empty segment with this very name; it was just
            // recreated empty.
            segments.retain(|segment| segment.first_lsn != next_lsn);
            segments.push(SegmentInfo {
                first_lsn: next_lsn,
                bytes: SEGMENT_MAGIC.len() as u64,
            });
            shared.refresh_size_metrics(&segments);
        }
        Ok(Writer {
            shared,
            file,
            path,
            segment_first_lsn: next_lsn,
            segment_bytes: SEGMENT_MAGIC.len() as u64,
            next_lsn,
            buffer: Vec::with_capacity(1 << 20),
            unsynced_writes: false,
            last_sync: Instant::now(),
        })
    }

    pub(crate) fn run(mut self, receiver: crossbeam_channel::Receiver<WriterMessage>) {
        let mut group = Vec::new();
        loop {
            let mut closing = false;
            let mut rotate = false;
            match receiver.recv_timeout(self.idle_timeout()) {
                Ok(WriterMessage::Append {
                    payload,
                    acknowledge,
                }) => {
                    let mut group_bytes = payload.len();
                    group.push((payload, acknowledge));
                    while group_bytes < MAX_GROUP_BYTES {
                        match receiver.try_recv() {
                            Ok(WriterMessage::Append {
                                payload,
                                acknowledge,
                            }) => {
                                group_bytes += payload.len();
                                group.push((payload, acknowledge));
                            }
                            Ok(WriterMessage::Rotate) => rotate = true,
                            Ok(WriterMessage::Close) => {
                                closing = true;
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                }
                Ok(WriterMessage::Rotate) => rotate = true,
                Ok(WriterMessage::Close)
                | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => closing = true,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            }
            if !group.is_empty() {
                self.commit(&mut group);
            }
            if rotate {
                self.rotate_on_request();
            }
            if self.periodic_sync_due() || (closing && self.unsynced_writes) {
                if let Err(error) = self.sync() {
                    self.fail(&error);
                }
            }
            if closing {
                return;
            }
        }
    }

    fn idle_timeout(&self) -> Duration {
        match self.shared.config.fsync {
            FsyncPolicy::Interval(interval) if self.unsynced_writes => {
                interval.saturating_sub(self.last_sync.elapsed())
            }
            _ => Duration::from_secs(1),
        }
    }

    fn periodic_sync_due(&self) -> bool {
        match self.shared.config.fsync {
            FsyncPolicy::Interval(interval) => {
                self.unsynced_writes && self.last_sync.elapsed() >= interval
            }
            _ => false,
        }
    }

    fn commit(&mut self, group: &mut Group) {
        if let Some(failure) = self.shared.failure.lock().clone() {
            for (_, acknowledge) in group.drain(..) {
                let _ = acknowledge.send(Err(WalError::Failed(failure.clone())));
            }
            return;
        }
        let first_lsn = self.next_lsn;
        let result = self.write_group(group);
        match result {
            Ok(()) => {
                let last_lsn = self.next_lsn - 1;
                self.shared.written_lsn.store(last_lsn, Ordering::Release);
                self.shared.written_notify.send_replace(last_lsn);
                {
                    let (lock, condvar) = &self.shared.written_condvar;
                    let _guard = lock.lock();
                    condvar.notify_all();
                }
                let metrics = &self.shared.metrics;
                metrics.written_lsn.set(last_lsn as i64);
                metrics.group_commits.inc();
                metrics.appended_records.inc_by(group.len() as u64);
                metrics
                    .appended_bytes
                    .inc_by(group.iter().map(|(payload, _)| payload.len() as u64).sum());
                for (offset, (_, acknowledge)) in group.drain(..).enumerate() {
                    let _ = acknowledge.send(Ok(first_lsn + offset as u64));
                }
            }
            Err(error) => {
                self.fail(&error);
                let message = error.to_string();
                for (_, acknowledge) in group.drain(..) {
                    let _ = acknowledge.send(Err(WalError::Failed(message.clone())));
                }
            }
        }
    }

    fn write_group(&mut self, group: &[(Vec<u8>, Acknowledge)]) -> Result<(), WalError> {
        self.buffer.clear();
        for (payload, _) in group {
            let record_bytes = (RECORD_HEADER_BYTES + payload.len()) as u64;
            let segment_has_records = self.next_lsn > self.segment_first_lsn;
            if segment_has_records
                && self.segment_bytes + self.buffer.len() as u64 + record_bytes
                    > self.shared.config.segment_max_bytes
            {
                self.flush_buffer()?;
                self.rotate()?;
            }
            encode_record(&mut self.buffer, self.next_lsn, payload);
            self.next_lsn += 1;
        }
        self.flush_buffer()?;
        if self.shared.config.fsync == FsyncPolicy::Always {
            self.sync()?;
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> Result<(), WalError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&self.buffer)
            .map_err(|error| WalError::io(&self.path, error))?;
        self.segment_bytes += self.buffer.len() as u64;
        self.unsynced_writes = true;
        self.buffer.clear();
        let mut segments = self.shared.segments.lock();
        if let Some(active) = segments.last_mut() {
            active.bytes = self.segment_bytes;
        }
        self.shared.refresh_size_metrics(&segments);
        Ok(())
    }

    fn sync(&mut self) -> Result<(), WalError> {
        self.file
            .sync_data()
            .map_err(|error| WalError::io(&self.path, error))?;
        self.shared.metrics.fsyncs.inc();
        self.unsynced_writes = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), WalError> {
        // A closed segment is always synced, whatever the policy: it is cheap once per segment
        // and bounds what an `Interval` or `Never` policy can lose to the active segment.
        self.sync()?;
        let (file, path) = create_segment(&self.shared.config.dir, self.next_lsn)?;
        self.file = file;
        self.path = path;
        self.segment_first_lsn = self.next_lsn;
        self.segment_bytes = SEGMENT_MAGIC.len() as u64;
        let mut segments = self.shared.segments.lock();
        segments.push(SegmentInfo {
            first_lsn: self.next_lsn,
            bytes: self.segment_bytes,
        });
        self.shared.refresh_size_metrics(&segments);
        Ok(())
    }

    fn rotate_on_request(&mut self) {
        self.shared
            .rotation_requested
            .store(false, Ordering::Release);
        let segment_has_records = self.next_lsn > self.segment_first_lsn;
        if !segment_has_records || self.shared.failure.lock().is_some() {
            return;
        }
        if let Err(error) = self.flush_buffer().and_then(|()| self.rotate()) {
            self.fail(&error);
        }
    }

    fn fail(&self, error: &WalError) {
        tracing::error!(%error, "wal write failed; refusing further appends");
        self.shared
            .failure
            .lock()
            .get_or_insert_with(|| error.to_string());
    }
}
