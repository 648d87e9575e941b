//! The embedded shard and checkpoint stores: plain files in a directory, each written to a
//! temporary name, fsynced and renamed (`write_atomically`), so a crash leaves the old or the
//! new file, never a torn one.
//!
//! Layout: `<dir>/shards/<start, 12 digits>-<width>.shard` per closed window, and
//! `<dir>/<name>` per checkpoint blob.

use std::path::{Path, PathBuf};

use weft_storage::sampling::{CheckpointStore, ShardStore, ShardWindowKey as ShardWindow};

use crate::{write_atomically, StoreError};

/// Closed shard windows as files.
pub struct FileShardStore {
    directory: PathBuf,
}

impl FileShardStore {
    pub fn open(directory: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let directory = directory.into();
        std::fs::create_dir_all(&directory).map_err(|error| StoreError::io(&directory, error))?;
        Ok(FileShardStore { directory })
    }

    fn path_of(&self, window: ShardWindow) -> PathBuf {
        self.directory.join(file_name_of(window))
    }
}

fn file_name_of(window: ShardWindow) -> String {
    format!(
        "{:012}-{}.shard",
        window.start_unix_seconds, window.width_seconds
    )
}

/// The window a shard file's name stands for; `None` for any other file.
fn window_of_file_name(name: &str) -> Option<ShardWindow> {
    let (start, width) = name.strip_suffix(".shard")?.split_once('-')?;
    Some(ShardWindow {
        start_unix_seconds: start.parse().ok()?,
        width_seconds: width.parse().ok()?,
    })
}

fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(StoreError::io(path, error)),
    }
}

impl ShardStore for FileShardStore {
    fn closed_shard(&self, window: ShardWindow) -> Result<Option<Vec<u8>>, StoreError> {
        read_if_present(&self.path_of(window))
    }

    fn put_closed_shard(&self, window: ShardWindow, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomically(&self.directory, &file_name_of(window), bytes)
    }

    fn closed_shards(&self) -> Result<Vec<(ShardWindow, u64)>, StoreError> {
        let entries = std::fs::read_dir(&self.directory)
            .map_err(|error| StoreError::io(&self.directory, error))?;
        let mut shards = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| StoreError::io(&self.directory, error))?;
            let Some(window) = entry.file_name().to_str().and_then(window_of_file_name) else {
                continue;
            };
            shards.push((window, entry.metadata().map_or(0, |meta| meta.len())));
        }
        shards.sort_by_key(|(window, _)| (window.start_unix_seconds, window.width_seconds));
        Ok(shards)
    }
}

/// Checkpoint blobs as files of a directory.
pub struct FileCheckpointStore {
    directory: PathBuf,
}

impl FileCheckpointStore {
    pub fn open(directory: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let directory = directory.into();
        std::fs::create_dir_all(&directory).map_err(|error| StoreError::io(&directory, error))?;
        Ok(FileCheckpointStore { directory })
    }
}

impl CheckpointStore for FileCheckpointStore {
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        read_if_present(&self.directory.join(name))
    }

    fn save(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        write_atomically(&self.directory, name, bytes)
    }
}
