//! Time-sharded Bloom filters of kept trace IDs.
//!
//! A rule hit inserts the trace ID into the filter of the shard window that holds the trace's
//! time (from the ID when Weft issued it, else the span's start). Every node builds its own
//! filter per window; before the cold writer uses a window, the filters of all nodes are merged
//! by bitwise OR, which equals the filter built from the union of their keys — as long as all of
//! them hash alike and have the same size. So the filter is the split-block Bloom filter of the
//! Parquet specification (xxHash64 with seed 0, 256-bit blocks of eight 32-bit words, one bit per
//! word), and its size is a pure function of the configured sizing.
//!
//! Sizing. A split-block filter's false-positive rate is not the classic `(1 - e^(-kn/m))^k`:
//! keys land in blocks unevenly. With `n` keys over `B` blocks, a block holds `i ~ Poisson(n/B)`
//! keys, each word of it has `i` bits set (with collisions), and a new key is a false positive
//! when its eight bits are all set: `FPR = Σ_i P(i) · (1 − (31/32)^i)^8`. The block count is the
//! smallest `B` with `FPR ≤ target` — any count, not a power of two (block selection is
//! multiplicative, `((h >> 32) · B) >> 32`), so the rate lands close to the target instead of
//! up to several times below it.

use parquet::bloom_filter::Sbbf;
use weft_model::TraceId;

/// Version of the exchange format written by [`ShardFilter::to_bytes`].
pub const SHARD_FORMAT_VERSION: u16 = 1;
const SHARD_MAGIC: &[u8; 8] = b"WEFTSHRD";
const BLOCK_BYTES: usize = 32;
const WORDS_PER_BLOCK: usize = 8;
/// A filter larger than this is a configuration mistake (hundreds of millions of kept traces
/// per window), refused rather than allocated.
pub const MAX_FILTER_BYTES: usize = 512 << 20;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SamplingError {
    #[error("invalid bloom filter sizing: {0}")]
    InvalidSizing(String),
    #[error(
        "cannot merge shard filters of different windows or sizes ({left} and {right}); every node must use the same --sampling-shard and filter sizing"
    )]
    IncompatibleShards { left: String, right: String },
    #[error("invalid sampling rules: {0}")]
    InvalidRules(String),
    #[error("corrupt shard filter: {0}")]
    Corrupt(String),
}

/// A shard's time window: `[start, start + width)`, aligned to multiples of the width since
/// the Unix epoch so every node cuts the same windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardWindow {
    pub start_unix_seconds: u64,
    pub width_seconds: u32,
}

impl ShardWindow {
    /// The window of width `width_seconds` that holds `unix_seconds`.
    pub fn containing(unix_seconds: u64, width_seconds: u32) -> Self {
        assert!(width_seconds > 0, "a shard window has a width");
        let width = u64::from(width_seconds);
        Self {
            start_unix_seconds: unix_seconds - unix_seconds % width,
            width_seconds,
        }
    }

    pub fn end_unix_seconds(&self) -> u64 {
        self.start_unix_seconds + u64::from(self.width_seconds)
    }
}

impl std::fmt::Display for ShardWindow {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "window {}+{}s",
            self.start_unix_seconds, self.width_seconds
        )
    }
}

/// How big a shard's filter is: the trace IDs a window is expected to keep and the
/// false-positive rate wanted at that count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterSizing {
    pub expected_keys: u64,
    pub false_positive_rate: f64,
}

impl FilterSizing {
    /// The number of 256-bit blocks: the fewest whose estimated rate at `expected_keys` is at
    /// most `false_positive_rate`.
    pub fn blocks(&self) -> Result<usize, SamplingError> {
        let rate = self.false_positive_rate;
        if !(rate > 0.0 && rate < 1.0) {
            return Err(SamplingError::InvalidSizing(format!(
                "the false-positive rate must be between 0 and 1 (exclusive), not {rate}"
            )));
        }
        if self.expected_keys == 0 {
            return Err(SamplingError::InvalidSizing(
                "the expected number of kept traces per window must be at least 1".to_owned(),
            ));
        }
        let max_blocks = MAX_FILTER_BYTES / BLOCK_BYTES;
        if estimated_false_positive_rate(max_blocks, self.expected_keys) > rate {
            return Err(SamplingError::InvalidSizing(format!(
                "{} expected traces at a false-positive rate of {rate} need a filter over {} MiB; \
                 raise the rate or shorten the shard window",
                self.expected_keys,
                MAX_FILTER_BYTES >> 20
            )));
        }
        // The rate falls as blocks are added: binary search the first count that meets it.
        let (mut low, mut high) = (1, max_blocks);
        while low < high {
            let middle = low + (high - low) / 2;
            if estimated_false_positive_rate(middle, self.expected_keys) <= rate {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        Ok(low)
    }
}

/// The false-positive rate of a split-block filter of `blocks` blocks holding `keys` distinct
/// keys (see the module documentation for the formula).
pub fn estimated_false_positive_rate(blocks: usize, keys: u64) -> f64 {
    if blocks == 0 {
        return 1.0;
    }
    let per_block = keys as f64 / blocks as f64;
    if per_block == 0.0 {
        return 0.0;
    }
    // Beyond ~1,000 keys a block's words are full ((31/32)^1000 < 1e-13) and with a mean of
    // 2,000 almost no block holds fewer: every probe hits. Also keeps the sum below short.
    if per_block > 2_000.0 {
        return 1.0;
    }
    // Sum the Poisson terms over the mass that matters (the mean ± 12 standard deviations),
    // computing each term in log space so large means do not overflow.
    let spread = 12.0 * per_block.sqrt() + 12.0;
    let first = (per_block - spread).max(0.0).floor() as u64;
    let last = (per_block + spread).ceil() as u64;
    let word_miss = (31.0_f64 / 32.0).ln();
    let mut rate = 0.0;
    let mut log_factorial = ln_factorial(first);
    for keys_in_block in first..=last {
        if keys_in_block > first {
            log_factorial += (keys_in_block as f64).ln();
        }
        let log_poisson = keys_in_block as f64 * per_block.ln() - per_block - log_factorial;
        let word_hit = 1.0 - (keys_in_block as f64 * word_miss).exp();
        rate += log_poisson.exp() * word_hit.powi(WORDS_PER_BLOCK as i32);
    }
    rate.min(1.0)
}

/// `ln(n!)`: exact for small `n`, Stirling's series beyond (error under 1e-10 there).
fn ln_factorial(value: u64) -> f64 {
    if value < 20 {
        return (2..=value).map(|factor| (factor as f64).ln()).sum();
    }
    let n = value as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
        - 1.0 / (360.0 * n.powi(3))
}

/// One node's (or several merged nodes') filter of kept trace IDs for one shard window.
pub struct ShardFilter {
    window: ShardWindow,
    sizing: FilterSizing,
    blocks: usize,
    /// Insertions, summed over merged filters: an upper bound of the distinct keys.
    inserted_keys: u64,
    filter: Sbbf,
}

impl ShardFilter {
    pub fn new(window: ShardWindow, sizing: FilterSizing) -> Result<Self, SamplingError> {
        let blocks = sizing.blocks()?;
        Ok(Self {
            window,
            sizing,
            blocks,
            inserted_keys: 0,
            filter: Sbbf::new(&vec![0; blocks * BLOCK_BYTES]),
        })
    }

    pub fn window(&self) -> ShardWindow {
        self.window
    }

    pub fn sizing(&self) -> FilterSizing {
        self.sizing
    }

    /// The filter's size in bytes (memory and disk alike, apart from a small header).
    pub fn bytes(&self) -> usize {
        self.blocks * BLOCK_BYTES
    }

    pub fn insert(&mut self, trace_id: &TraceId) {
        self.filter.insert(&trace_id.as_bytes()[..]);
        self.inserted_keys += 1;
    }

    /// Whether the trace may have been marked: never false for a marked trace, true for an
    /// unmarked one at about the false-positive rate.
    pub fn contains(&self, trace_id: &TraceId) -> bool {
        self.filter.check(&trace_id.as_bytes()[..])
    }

    pub fn inserted_keys(&self) -> u64 {
        self.inserted_keys
    }

    /// The raw bitset, in the Parquet layout (little-endian 32-bit words, block by block).
    pub fn bitset(&self) -> Vec<u8> {
        let mut bitset = Vec::with_capacity(self.bytes());
        self.filter
            .write_bitset(&mut bitset)
            .expect("writing to a Vec cannot fail");
        bitset
    }

    /// The share of bits set.
    pub fn fill_ratio(&self) -> f64 {
        let set: u64 = self
            .bitset()
            .iter()
            .map(|byte| u64::from(byte.count_ones()))
            .sum();
        set as f64 / (self.bytes() * 8) as f64
    }

    /// The false-positive rate the filter has now, from its actual bits: a new key picks a
    /// block uniformly and one bit in each of its eight words, so the rate is the mean over
    /// blocks of the product of the words' fill. Rises above the target when a window keeps
    /// more traces than expected — which is what the exported metric is for.
    pub fn measured_false_positive_rate(&self) -> f64 {
        let bitset = self.bitset();
        let total: f64 = bitset
            .chunks_exact(BLOCK_BYTES)
            .map(|block| {
                block
                    .chunks_exact(4)
                    .map(|word| {
                        f64::from(
                            u32::from_le_bytes(word.try_into().expect("4 bytes")).count_ones(),
                        ) / 32.0
                    })
                    .product::<f64>()
            })
            .sum();
        total / self.blocks as f64
    }

    /// ORs `other` into this filter: afterwards it holds the keys of both. Both must be of the
    /// same window and sizing (so the same size), as every node's filter of a window is.
    pub fn merge(&mut self, other: &ShardFilter) -> Result<(), SamplingError> {
        if self.window != other.window || self.blocks != other.blocks {
            return Err(SamplingError::IncompatibleShards {
                left: format!("{} with {} blocks", self.window, self.blocks),
                right: format!("{} with {} blocks", other.window, other.blocks),
            });
        }
        let mut bitset = self.bitset();
        for (mine, theirs) in bitset.iter_mut().zip(other.bitset()) {
            *mine |= theirs;
        }
        self.filter = Sbbf::new(&bitset);
        self.inserted_keys += other.inserted_keys;
        Ok(())
    }

    /// The exchange format (version 1), little-endian: magic `WEFTSHRD`, version `u16`, flags
    /// `u16` (0), window start `u64` (Unix seconds), window width `u32` (seconds), expected keys
    /// `u64`, target false-positive rate `f64`, inserted keys `u64`, then the length `u32` and
    /// bytes of the filter as Parquet serializes a split-block Bloom filter (its Thrift
    /// `BloomFilterHeader`, then the bitset), then a CRC-32 (IEEE) `u32` of everything before.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut filter = Vec::with_capacity(self.bytes() + 16);
        self.filter
            .write(&mut filter)
            .expect("writing to a Vec cannot fail");
        let mut bytes = Vec::with_capacity(filter.len() + 64);
        bytes.extend_from_slice(SHARD_MAGIC);
        bytes.extend_from_slice(&SHARD_FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&0_u16.to_le_bytes());
        bytes.extend_from_slice(&self.window.start_unix_seconds.to_le_bytes());
        bytes.extend_from_slice(&self.window.width_seconds.to_le_bytes());
        bytes.extend_from_slice(&self.sizing.expected_keys.to_le_bytes());
        bytes.extend_from_slice(&self.sizing.false_positive_rate.to_le_bytes());
        bytes.extend_from_slice(&self.inserted_keys.to_le_bytes());
        let filter_length = u32::try_from(filter.len()).expect("filters are under 4 GiB");
        bytes.extend_from_slice(&filter_length.to_le_bytes());
        bytes.extend_from_slice(&filter);
        let checksum = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&checksum.to_le_bytes());
        bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SamplingError> {
        let corrupt = |what: &str| SamplingError::Corrupt(what.to_owned());
        let (body, checksum) = bytes
            .split_last_chunk::<4>()
            .ok_or_else(|| corrupt("shorter than its checksum"))?;
        if crc32fast::hash(body) != u32::from_le_bytes(*checksum) {
            return Err(corrupt("checksum mismatch (torn or damaged file)"));
        }
        let mut reader = FieldReader { bytes: body };
        if reader.take::<8>()? != *SHARD_MAGIC {
            return Err(corrupt("not a Weft shard filter (bad magic)"));
        }
        let version = u16::from_le_bytes(reader.take()?);
        if version != SHARD_FORMAT_VERSION {
            return Err(SamplingError::Corrupt(format!(
                "format version {version}; this build reads version {SHARD_FORMAT_VERSION}"
            )));
        }
        let _flags = u16::from_le_bytes(reader.take()?);
        let window = ShardWindow {
            start_unix_seconds: u64::from_le_bytes(reader.take()?),
            width_seconds: u32::from_le_bytes(reader.take()?),
        };
        if window.width_seconds == 0 {
            return Err(corrupt("zero window width"));
        }
        let sizing = FilterSizing {
            expected_keys: u64::from_le_bytes(reader.take()?),
            false_positive_rate: f64::from_le_bytes(reader.take()?),
        };
        let inserted_keys = u64::from_le_bytes(reader.take()?);
        let filter_length = u32::from_le_bytes(reader.take()?) as usize;
        if reader.bytes.len() != filter_length {
            return Err(corrupt("filter length does not match the file"));
        }
        let filter = Sbbf::from_bytes(reader.bytes)
            .map_err(|error| SamplingError::Corrupt(format!("parquet bloom filter: {error}")))?;
        let blocks = filter.num_blocks();
        if blocks != sizing.blocks()? {
            return Err(corrupt("filter size does not match its sizing"));
        }
        Ok(Self {
            window,
            sizing,
            blocks,
            inserted_keys,
            filter,
        })
    }
}

struct FieldReader<'bytes> {
    bytes: &'bytes [u8],
}

impl FieldReader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SamplingError> {
        let (field, rest) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or_else(|| SamplingError::Corrupt("truncated header".to_owned()))?;
        self.bytes = rest;
        Ok(*field)
    }
}
