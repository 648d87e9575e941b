//! The manifest: which segments make up the store and up to which bus position their spans
//! reach. It is replaced atomically (write a temporary file, fsync, rename, fsync the
//! directory), so after a crash the store is exactly the old or exactly the new one; files the
//! manifest does not name are leftovers of an interrupted step and are deleted at open.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::CatalogSnapshot;
use crate::StoreError;

pub(crate) const MANIFEST_FILE: &str = "MANIFEST.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format_version: u32,
    /// Every span of every bus record up to here is in a listed segment.
    pub flushed_position: u64,
    pub next_segment_id: u64,
    pub segments: Vec<SegmentMeta>,
    #[serde(default)]
    pub catalog: CatalogSnapshot,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format_version: FORMAT_VERSION,
            flushed_position: 0,
            next_segment_id: 1,
            segments: Vec::new(),
            catalog: CatalogSnapshot::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SegmentMeta {
    pub id: u64,
    /// Start of the 10-minute partition, Unix seconds.
    pub partition_start_secs: u64,
    /// Path relative to the store directory.
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub min_start_unix_nanos: u64,
    pub max_start_unix_nanos: u64,
    /// 0 for a flushed segment; one more than the highest input for a compacted one.
    pub level: u32,
}

impl Manifest {
    pub(crate) fn load(directory: &Path) -> Result<Option<Manifest>, StoreError> {
        let path = directory.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(StoreError::io(path, error)),
        };
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|error| StoreError::Corrupt(format!("{}: {error}", path.display())))?;
        if manifest.format_version != FORMAT_VERSION {
            return Err(StoreError::Corrupt(format!(
                "{}: format version {} is not {FORMAT_VERSION}",
                path.display(),
                manifest.format_version
            )));
        }
        Ok(Some(manifest))
    }

    pub(crate) fn store(&self, directory: &Path) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(self)
            .map_err(|error| StoreError::Corrupt(format!("encoding the manifest: {error}")))?;
        write_atomically(directory, MANIFEST_FILE, &bytes)
    }
}

/// Writes `name` in `directory` so a crash leaves either the old file or the new one: a
/// temporary file, fsynced, renamed over, and the directory fsynced. The manifests' way, also
/// used for the sampler's shard files and checkpoint.
pub fn write_atomically(directory: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let temporary = directory.join(format!("{name}.tmp"));
    let target = directory.join(name);
    let mut file = File::create(&temporary).map_err(|error| StoreError::io(&temporary, error))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| StoreError::io(&temporary, error))?;
    drop(file);
    std::fs::rename(&temporary, &target).map_err(|error| StoreError::io(&target, error))?;
    sync_directory(directory)
}

pub(crate) fn sync_directory(directory: &Path) -> Result<(), StoreError> {
    File::open(directory)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| StoreError::io(directory, error))
}
