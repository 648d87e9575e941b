//! What tail sampling keeps across restarts: closed shard windows' Bloom filters (in
//! `weft_sampling::ShardFilter`'s exchange format, which nodes OR together), and the small named
//! blobs processors checkpoint (the sampler's open shards and head, the rules set at run time).

use crate::StoreError;

/// A shard window: its start (Unix seconds, a multiple of the width) and width. The same as
/// `weft_sampling::ShardWindow`, which the seam does not depend on (it knows no Bloom filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardWindowKey {
    pub start_unix_seconds: u64,
    pub width_seconds: u32,
}

/// Closed shard windows. A window's filter exists only once the window is closed.
pub trait ShardStore: Send + Sync {
    /// A closed window's filter bytes, or `None` when the window kept nothing or is not closed.
    fn closed_shard(&self, window: ShardWindowKey) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores a closed window's filter durably, replacing what was there (a caller that must
    /// keep an earlier filter ORs it in first).
    fn put_closed_shard(&self, window: ShardWindowKey, bytes: &[u8]) -> Result<(), StoreError>;

    /// Every closed window held, with its filter's size in bytes, oldest first.
    fn closed_shards(&self) -> Result<Vec<(ShardWindowKey, u64)>, StoreError>;
}

/// Small named blobs a processor keeps across restarts, each replaced atomically and durably.
pub trait CheckpointStore: Send + Sync {
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    fn save(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError>;
}
