//! A span segment file whose bytes are `data`: opening it and decoding every row must either
//! succeed or fail with an error — never crash the process, hang or allocate without bound.
//! Seeds are real segments written by the store (`fuzz/seeds/segment_file`).
//!
//! The `parquet` crate panics on some malformed files; the store turns such panics into
//! `StoreError::Corrupt` (`segment::guard_reads`), which is the behaviour under test here, so
//! this target replaces libFuzzer's abort-on-panic hook with a silent one. Panics outside that
//! guard still unwind to libFuzzer and are reported as crashes.
#![no_main]

use std::path::PathBuf;
use std::sync::Once;

use libfuzzer_sys::fuzz_target;

fn scratch_file() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("weft-fuzz-segment-{}.parquet", std::process::id()))
}

static QUIET_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let path = scratch_file();
    std::fs::write(&path, data).expect("write segment");
    let _ = weft_store::read_segment_file(&path);
    let _ = std::fs::remove_file(&path);
});
