use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::{Lsn, WalError};

pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"WEFTWAL1";
pub(crate) const RECORD_HEADER_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentInfo {
    pub first_lsn: Lsn,
    pub bytes: u64,
}

/// What opening the log found.
#[derive(Debug, Clone, Default)]
pub struct RecoveryReport {
    pub(crate) segments: Vec<SegmentInfo>,
    /// Highest LSN found intact (0 if none).
    pub last_lsn: Lsn,
    /// Intact records on disk, i.e. what consumers may replay.
    pub records: u64,
    /// Bytes cut off the end of the last segment: a record torn by a crash mid-write, never
    /// acknowledged.
    pub truncated_bytes: u64,
    /// Segments (other than the last) that ended in a damaged record; their remaining records
    /// are unreadable. Non-zero means disk corruption, not a crash.
    pub corrupt_segments: u64,
}

pub(crate) fn segment_path(dir: &Path, first_lsn: Lsn) -> PathBuf {
    dir.join(format!("{first_lsn:020}.wal"))
}

fn parse_segment_name(path: &Path) -> Option<Lsn> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_suffix(".wal")?;
    (digits.len() == 20).then(|| digits.parse().ok())?
}

pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(Lsn, PathBuf)>, WalError> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|error| WalError::io(dir, error))? {
        let path = entry.map_err(|error| WalError::io(dir, error))?.path();
        if let Some(first_lsn) = parse_segment_name(&path) {
            segments.push((first_lsn, path));
        }
    }
    segments.sort();
    Ok(segments)
}

pub(crate) fn encode_record(buffer: &mut Vec<u8>, lsn: Lsn, payload: &[u8]) {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&lsn.to_le_bytes());
    hasher.update(payload);
    let length = u32::try_from(payload.len()).expect("record size checked by Wal::submit");
    buffer.extend_from_slice(&length.to_le_bytes());
    buffer.extend_from_slice(&hasher.finalize().to_le_bytes());
    buffer.extend_from_slice(&lsn.to_le_bytes());
    buffer.extend_from_slice(payload);
}

/// The outcome of reading one record.
pub(crate) enum ReadOutcome {
    Record {
        lsn: Lsn,
        payload: Vec<u8>,
    },
    /// Clean end of data.
    End,
    /// Not a whole valid record: torn write or corruption.
    Damaged(String),
}

/// Reads the record at the reader's position. Allocates the payload only after the header looks
/// sane, so a corrupt length cannot make it allocate gigabytes.
pub(crate) fn read_record(
    reader: &mut impl Read,
    remaining_bytes: u64,
) -> std::io::Result<ReadOutcome> {
    let mut header = [0u8; RECORD_HEADER_BYTES];
    let mut filled = 0;
    while filled < header.len() {
        match reader.read(&mut header[filled..])? {
            0 if filled == 0 => return Ok(ReadOutcome::End),
            0 => return Ok(ReadOutcome::Damaged("record header cut short".into())),
            read => filled += read,
        }
    }
    let length = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as u64;
    let checksum = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    let lsn = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
    if length > remaining_bytes.saturating_sub(RECORD_HEADER_BYTES as u64) {
        return Ok(ReadOutcome::Damaged(format!(
            "record of {length} bytes runs past the end of the segment"
        )));
    }
    let mut payload = vec![0u8; length as usize];
    reader.read_exact(&mut payload)?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&lsn.to_le_bytes());
    hasher.update(&payload);
    if hasher.finalize() != checksum {
        return Ok(ReadOutcome::Damaged("checksum mismatch".into()));
    }
    Ok(ReadOutcome::Record { lsn, payload })
}

struct SegmentScan {
    file_bytes: u64,
    records: u64,
    last_lsn: Option<Lsn>,
    valid_bytes: u64,
    damage: Option<String>,
}

fn scan_segment(path: &Path, first_lsn: Lsn) -> Result<SegmentScan, WalError> {
    let file = File::open(path).map_err(|error| WalError::io(path, error))?;
    let file_bytes = file
        .metadata()
        .map_err(|error| WalError::io(path, error))?
        .len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 8];
    let mut scan = SegmentScan {
        file_bytes,
        records: 0,
        last_lsn: None,
        valid_bytes: 0,
        damage: None,
    };
    if file_bytes < SEGMENT_MAGIC.len() as u64 {
        scan.damage = Some("segment header cut short".into());
        return Ok(scan);
    }
    reader
        .read_exact(&mut magic)
        .map_err(|error| WalError::io(path, error))?;
    if &magic != SEGMENT_MAGIC {
        return Err(WalError::Corrupt {
            path: path.to_owned(),
            offset: 0,
            reason: "not a weft wal segment (bad magic)".into(),
        });
    }
    scan.valid_bytes = SEGMENT_MAGIC.len() as u64;
    let mut expected_lsn = first_lsn;
    loop {
        let remaining = file_bytes - scan.valid_bytes;
        match read_record(&mut reader, remaining).map_err(|error| WalError::io(path, error))? {
            ReadOutcome::End => break,
            ReadOutcome::Damaged(reason) => {
                scan.damage = Some(reason);
                break;
            }
            ReadOutcome::Record { lsn, payload } => {
                if lsn != expected_lsn {
                    scan.damage = Some(format!("expected lsn {expected_lsn}, found {lsn}"));
                    break;
                }
                scan.records += 1;
                scan.last_lsn = Some(lsn);
                scan.valid_bytes += (RECORD_HEADER_BYTES + payload.len()) as u64;
                expected_lsn += 1;
            }
        }
    }
    Ok(scan)
}

/// Scans every segment, truncates a torn tail off the last one, and reports what is there.
pub(crate) fn recover(dir: &Path) -> Result<RecoveryReport, WalError> {
    let segments = list_segments(dir)?;
    let mut report = RecoveryReport::default();
    let count = segments.len();
    for (index, (first_lsn, path)) in segments.into_iter().enumerate() {
        let is_last = index + 1 == count;
        let scan = scan_segment(&path, first_lsn)?;
        if let Some(damage) = &scan.damage {
            if is_last {
                // A crash mid-write leaves a partial last record that was never acknowledged.
                report.truncated_bytes += scan.file_bytes - scan.valid_bytes;
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|error| WalError::io(&path, error))?;
                if scan.valid_bytes < SEGMENT_MAGIC.len() as u64 {
                    // Not even the header made it: drop the file, the writer starts afresh.
                    drop(file);
                    std::fs::remove_file(&path).map_err(|error| WalError::io(&path, error))?;
                    continue;
                }
                file.set_len(scan.valid_bytes)
                    .and_then(|()| file.sync_all())
                    .map_err(|error| WalError::io(&path, error))?;
                tracing::warn!(path = %path.display(), %damage, "truncated torn wal tail");
            } else {
                report.corrupt_segments += 1;
                tracing::error!(path = %path.display(), %damage, "corrupt wal segment: records after the damage are lost");
            }
        }
        report.records += scan.records;
        if let Some(last_lsn) = scan.last_lsn {
            report.last_lsn = report.last_lsn.max(last_lsn);
        } else {
            // An empty segment still tells us where numbering continues.
            report.last_lsn = report.last_lsn.max(first_lsn.saturating_sub(1));
        }
        report.segments.push(SegmentInfo {
            first_lsn,
            // The last segment was cut to its valid bytes; a corrupt one keeps its whole size.
            bytes: if is_last {
                scan.valid_bytes
            } else {
                scan.file_bytes
            },
        });
    }
    Ok(report)
}
