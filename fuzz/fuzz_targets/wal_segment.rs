//! Recovery and replay of a WAL segment whose records are `data`: the file
//! `00000000000000000001.wal` holds `WEFTWAL1` + `data`. Opening the log must succeed (a damaged
//! tail of the last segment is a torn write, cut off), and replay from LSN 1 must return exactly
//! the intact prefix of records that an independent parser of the documented layout finds,
//! without skipping or failing.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use prometheus_client::registry::Registry;
use weft_wal::{Wal, WalConfig};

const MAGIC: &[u8; 8] = b"WEFTWAL1";
const HEADER: usize = 16;

/// The records `[len u32 LE][crc32(lsn ++ payload) u32 LE][lsn u64 LE][payload]` numbered 1, 2,
/// ... from the start of `data`, up to the first one that is cut short, fails its checksum or
/// has the wrong LSN. Returns them and the bytes they take.
fn intact_records(data: &[u8]) -> (Vec<(u64, &[u8])>, usize) {
    let mut records = Vec::new();
    let mut offset = 0;
    while data.len() - offset >= HEADER {
        let header = &data[offset..offset + HEADER];
        let length = u32::from_le_bytes(header[0..4].try_into().unwrap()) as usize;
        let checksum = u32::from_le_bytes(header[4..8].try_into().unwrap());
        let lsn = u64::from_le_bytes(header[8..16].try_into().unwrap());
        if length > data.len() - offset - HEADER || lsn != records.len() as u64 + 1 {
            break;
        }
        let payload = &data[offset + HEADER..offset + HEADER + length];
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&lsn.to_le_bytes());
        hasher.update(payload);
        if hasher.finalize() != checksum {
            break;
        }
        records.push((lsn, payload));
        offset += HEADER + length;
    }
    (records, offset)
}

/// A per-process scratch directory, on tmpfs when there is one: recovery and the writer fsync.
fn scratch_dir() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("weft-fuzz-wal-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    let segment = dir.join("00000000000000000001.wal");
    let mut contents = MAGIC.to_vec();
    contents.extend_from_slice(data);
    std::fs::write(&segment, &contents).expect("write segment");

    let (expected, intact_bytes) = intact_records(data);
    let mut registry = Registry::default();
    let (wal, recovery) = Wal::open(WalConfig::new(&dir), &mut registry)
        .unwrap_or_else(|error| panic!("opening a log with one damaged segment failed: {error}"));
    assert_eq!(recovery.records, expected.len() as u64);
    assert_eq!(recovery.last_lsn, expected.len() as u64);
    assert_eq!(recovery.truncated_bytes, (data.len() - intact_bytes) as u64);
    assert_eq!(recovery.corrupt_segments, 0);
    let segment_len = std::fs::metadata(&segment).expect("segment kept").len();
    assert_eq!(segment_len, (MAGIC.len() + intact_bytes) as u64);

    let mut reader = wal.reader(1);
    let mut read = Vec::new();
    // Each non-empty batch returns at least one record, so this bounds the loop.
    for _ in 0..=expected.len() {
        let batch = reader
            .read_batch(4, 1024)
            .unwrap_or_else(|error| panic!("replay failed: {error}"));
        if batch.is_empty() {
            break;
        }
        read.extend(batch);
    }
    let mut metrics = String::new();
    prometheus_client::encoding::text::encode(&mut metrics, &registry).expect("encode metrics");
    assert!(
        metrics.contains("weft_wal_skipped_records_total 0"),
        "replay skipped records: {metrics}"
    );
    assert_eq!(read.len(), expected.len());
    for (record, (lsn, payload)) in read.iter().zip(&expected) {
        assert_eq!(record.lsn, *lsn);
        assert_eq!(record.payload, *payload);
    }
    assert!(reader.read_batch(4, 1024).expect("caught up").is_empty());
    wal.close();
    let _ = std::fs::remove_dir_all(&dir);
});
