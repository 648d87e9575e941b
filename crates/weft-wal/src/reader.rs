use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::segment::{read_record, segment_path, ReadOutcome, RECORD_HEADER_BYTES, SEGMENT_MAGIC};
use crate::{Lsn, Shared, WalError};

/// One record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    pub lsn: Lsn,
    pub payload: Vec<u8>,
}

struct OpenSegment {
    reader: BufReader<File>,
    path: PathBuf,
    first_lsn: Lsn,
    offset: u64,
}

/// Reads records in LSN order, from disk, up to the last completely written one. It serves both
/// start-up replay and live tailing: the pipeline never needs a second path for "catch up".
pub struct WalReader {
    shared: Arc<Shared>,
    next_lsn: Lsn,
    current: Option<OpenSegment>,
}

impl WalReader {
    pub(crate) fn new(shared: Arc<Shared>, from: Lsn) -> Self {
        WalReader {
            shared,
            next_lsn: from.max(1),
            current: None,
        }
    }

    /// The LSN the next record read will have.
    pub fn next_lsn(&self) -> Lsn {
        self.next_lsn
    }

    /// Reads up to `max_records` records or about `max_bytes` of payload, whichever comes first;
    /// returns an empty batch when caught up with the writer.
    pub fn read_batch(
        &mut self,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<WalRecord>, WalError> {
        let written_lsn = self.shared.written_lsn.load(Ordering::Acquire);
        let mut records = Vec::new();
        let mut bytes = 0usize;
        while records.len() < max_records && bytes < max_bytes && self.next_lsn <= written_lsn {
            if self.current.is_none() && !self.open_segment_for_next_lsn()? {
                break;
            }
            let segment = self.current.as_mut().expect("opened above");
            let file_bytes = segment
                .reader
                .get_ref()
                .metadata()
                .map_err(|error| WalError::io(&segment.path, error))?
                .len();
            let outcome = read_record(&mut segment.reader, file_bytes - segment.offset)
                .map_err(|error| WalError::io(&segment.path, error))?;
            match outcome {
                ReadOutcome::Record { lsn, payload } => {
                    segment.offset += (RECORD_HEADER_BYTES + payload.len()) as u64;
                    if lsn < self.next_lsn {
                        continue; // positioning within the segment
                    }
                    if lsn > self.next_lsn {
                        self.skip(lsn - self.next_lsn);
                    }
                    self.next_lsn = lsn + 1;
                    bytes += payload.len();
                    records.push(WalRecord { lsn, payload });
                }
                ReadOutcome::End => {
                    // The next record lives in a later segment.
                    let finished = segment.first_lsn;
                    self.current = None;
                    if !self.advance_past_segment(finished) {
                        break;
                    }
                }
                ReadOutcome::Damaged(reason) => {
                    let path = segment.path.clone();
                    let finished = segment.first_lsn;
                    self.current = None;
                    tracing::error!(path = %path.display(), %reason, "skipping the rest of a damaged wal segment");
                    if !self.advance_past_segment(finished) {
                        return Err(WalError::Corrupt {
                            path,
                            offset: 0,
                            reason,
                        });
                    }
                }
            }
        }
        Ok(records)
    }

    /// Counts records that could not be read (trimmed before this reader got to them, or
    /// corrupt) in `weft_wal_skipped_records`.
    fn skip(&self, records: u64) {
        self.shared.metrics.skipped_records.inc_by(records);
    }

    /// Moves `next_lsn` to the first record of the segment after `finished`, counting any gap.
    fn advance_past_segment(&mut self, finished: Lsn) -> bool {
        let segments = self.shared.segments.lock();
        match segments.iter().find(|segment| segment.first_lsn > finished) {
            Some(next) => {
                if next.first_lsn > self.next_lsn {
                    self.skip(next.first_lsn - self.next_lsn);
                    self.next_lsn = next.first_lsn;
                }
                true
            }
            None => false,
        }
    }

    fn open_segment_for_next_lsn(&mut self) -> Result<bool, WalError> {
        let chosen = {
            let segments = self.shared.segments.lock();
            match segments
                .iter()
                .rev()
                .find(|segment| segment.first_lsn <= self.next_lsn)
            {
                Some(segment) => segment.first_lsn,
                None => match segments.first() {
                    // What this reader wanted was trimmed already: start at the oldest record.
                    Some(oldest) => {
                        self.skip(oldest.first_lsn - self.next_lsn);
                        self.next_lsn = oldest.first_lsn;
                        oldest.first_lsn
                    }
                    None => return Ok(false),
                },
            }
        };
        let path = segment_path(&self.shared.config.dir, chosen);
        let mut file = File::open(&path).map_err(|error| WalError::io(&path, error))?;
        file.seek(SeekFrom::Start(SEGMENT_MAGIC.len() as u64))
            .map_err(|error| WalError::io(&path, error))?;
        self.current = Some(OpenSegment {
            reader: BufReader::with_capacity(1 << 20, file),
            path,
            first_lsn: chosen,
            offset: SEGMENT_MAGIC.len() as u64,
        });
        Ok(true)
    }
}
