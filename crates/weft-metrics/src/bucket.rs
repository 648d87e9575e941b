//! One series (or edge) in one time bucket, and the exemplars that link it to traces.

use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config, DDSketch};
use weft_model::{SpanId, TraceId};

/// Relative accuracy of the latency sketch: a reported quantile is within 1 % of a value whose
/// rank is the requested one.
pub const SKETCH_RELATIVE_ACCURACY: f64 = 0.01;

/// Most exemplars of each reason one bucket keeps, however many buckets were merged into it.
pub const MAX_SLOWEST_EXEMPLARS: usize = 10;
pub const MAX_SAMPLED_EXEMPLARS: usize = 10;
pub const MAX_KEYWORD_EXEMPLARS: usize = 20;
pub const MAX_ERROR_INCREASE_EXEMPLARS: usize = 5;

fn sketch_config() -> Config {
    // The defaults (1 % accuracy, 2048 bins, values from 1e-9) are also what the sketch's binary
    // encoding decodes to, so a stored sketch merges with a live one. Durations are whole
    // nanoseconds: a zero duration lands in the sketch's zero bin.
    Config::defaults()
}

/// Why a trace is linked to a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ExemplarReason {
    /// One of the slowest spans of the bucket (latency metrics).
    Slowest,
    /// A random sample of the calls (count metrics), larger while the series is alerting.
    Sampled,
    /// Its status message or events name a configured keyword (ERROR, FAILED, EXCEPTION).
    Keyword,
    /// A failing call in a bucket whose error rate rose over the bucket before (rate metrics).
    ErrorIncrease,
}

impl ExemplarReason {
    pub const ALL: [ExemplarReason; 4] = [
        ExemplarReason::Slowest,
        ExemplarReason::Sampled,
        ExemplarReason::Keyword,
        ExemplarReason::ErrorIncrease,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExemplarReason::Slowest => "slowest",
            ExemplarReason::Sampled => "sampled",
            ExemplarReason::Keyword => "keyword",
            ExemplarReason::ErrorIncrease => "error_increase",
        }
    }

    pub fn code(self) -> u8 {
        match self {
            ExemplarReason::Slowest => 0,
            ExemplarReason::Sampled => 1,
            ExemplarReason::Keyword => 2,
            ExemplarReason::ErrorIncrease => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        ExemplarReason::ALL.get(usize::from(code)).copied()
    }

    fn cap(self) -> usize {
        match self {
            ExemplarReason::Slowest => MAX_SLOWEST_EXEMPLARS,
            ExemplarReason::Sampled => MAX_SAMPLED_EXEMPLARS,
            ExemplarReason::Keyword => MAX_KEYWORD_EXEMPLARS,
            ExemplarReason::ErrorIncrease => MAX_ERROR_INCREASE_EXEMPLARS,
        }
    }
}

/// A link from a metric bucket to one span of one trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemplar {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub start_unix_nanos: u64,
    pub duration_nanos: u64,
    pub is_error: bool,
    pub reason: ExemplarReason,
}

impl Exemplar {
    pub fn trace_id(&self) -> TraceId {
        TraceId::from_bytes(self.trace_id)
    }

    pub fn span_id(&self) -> SpanId {
        SpanId::from_bytes(self.span_id)
    }

    /// A well-mixed hash of the trace ID: the sampling priority. Bottom-k by this hash is a
    /// uniform random sample that is the same on every replay and merges exactly (the bottom k
    /// of a union is the bottom k of the parts' bottom k).
    pub fn sampling_hash(&self) -> u64 {
        sampling_hash(&self.trace_id)
    }
}

/// SplitMix64 finalizer over both halves of the trace ID (Weft IDs start with a timestamp, so
/// the raw bytes are not uniform).
pub fn sampling_hash(trace_id: &[u8; 16]) -> u64 {
    let mut halves = [0u8; 8];
    halves.copy_from_slice(&trace_id[..8]);
    let high = u64::from_le_bytes(halves);
    halves.copy_from_slice(&trace_id[8..]);
    let low = u64::from_le_bytes(halves);
    let mut mixed = high.rotate_left(29) ^ low;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^ (mixed >> 31)
}

/// The exemplars of one bucket, each reason bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemplars {
    items: Vec<Exemplar>,
}

impl Exemplars {
    pub fn iter(&self) -> impl Iterator<Item = &Exemplar> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn count_of(&self, reason: ExemplarReason) -> usize {
        self.items
            .iter()
            .filter(|item| item.reason == reason)
            .count()
    }

    /// Offers one exemplar; `sample_size` bounds the `Sampled` reason below its cap (the policy
    /// raises it while a series alerts). Keeps the slowest, the lowest sampling hashes, and the
    /// first keyword / error-increase hits.
    pub fn offer(&mut self, exemplar: Exemplar, sample_size: usize) {
        let cap = match exemplar.reason {
            ExemplarReason::Sampled => sample_size.min(MAX_SAMPLED_EXEMPLARS),
            reason => reason.cap(),
        };
        if cap == 0 {
            return;
        }
        if self.count_of(exemplar.reason) < cap {
            self.items.push(exemplar);
            return;
        }
        // Full: replace the weakest of this reason if the new one is stronger.
        let weakest = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.reason == exemplar.reason)
            .max_by_key(|(_, item)| Self::weakness(item));
        if let Some((index, item)) = weakest {
            if Self::weakness(&exemplar) < Self::weakness(item) {
                self.items[index] = exemplar;
            }
        }
    }

    /// Lower is stronger: slowest keeps long durations, sampled keeps low hashes, the others keep
    /// the earliest.
    fn weakness(exemplar: &Exemplar) -> (u64, [u8; 16]) {
        let rank = match exemplar.reason {
            ExemplarReason::Slowest => u64::MAX - exemplar.duration_nanos,
            ExemplarReason::Sampled => exemplar.sampling_hash(),
            ExemplarReason::Keyword | ExemplarReason::ErrorIncrease => exemplar.start_unix_nanos,
        };
        (rank, exemplar.trace_id)
    }

    pub fn merge(&mut self, other: &Exemplars) {
        for exemplar in &other.items {
            if self.items.contains(exemplar) {
                continue;
            }
            self.offer(*exemplar, MAX_SAMPLED_EXEMPLARS);
        }
    }

    /// Exemplars in a stable order: by reason, then strongest first.
    pub fn sorted(&self) -> Vec<Exemplar> {
        let mut items = self.items.clone();
        items.sort_by_key(|item| (item.reason, Self::weakness(item)));
        items
    }
}

/// One series in one time bucket. Buckets merge exactly (counts, sum, min, max), their sketches
/// merge without losing the accuracy bound, and their exemplars merge within their caps.
#[derive(Clone)]
pub struct Bucket {
    pub calls: u64,
    pub errors: u64,
    pub duration_sum_nanos: u128,
    pub duration_min_nanos: u64,
    pub duration_max_nanos: u64,
    pub exemplars: Exemplars,
    sketch: DDSketch,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Bucket")
            .field("calls", &self.calls)
            .field("errors", &self.errors)
            .field("duration_sum_nanos", &self.duration_sum_nanos)
            .field("duration_min_nanos", &self.duration_min_nanos)
            .field("duration_max_nanos", &self.duration_max_nanos)
            .field("exemplars", &self.exemplars.len())
            .finish_non_exhaustive()
    }
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            calls: 0,
            errors: 0,
            duration_sum_nanos: 0,
            duration_min_nanos: u64::MAX,
            duration_max_nanos: 0,
            exemplars: Exemplars::default(),
            sketch: DDSketch::new(sketch_config()),
        }
    }
}

/// Why a stored sketch could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("invalid latency sketch: {0}")]
pub struct SketchDecodeError(String);

impl Bucket {
    pub fn record(&mut self, duration_nanos: u64, is_error: bool) {
        self.calls += 1;
        self.errors += u64::from(is_error);
        self.duration_sum_nanos += u128::from(duration_nanos);
        self.duration_min_nanos = self.duration_min_nanos.min(duration_nanos);
        self.duration_max_nanos = self.duration_max_nanos.max(duration_nanos);
        self.sketch.add(duration_nanos as f64);
    }

    pub fn merge(&mut self, other: &Bucket) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.duration_sum_nanos += other.duration_sum_nanos;
        self.duration_min_nanos = self.duration_min_nanos.min(other.duration_min_nanos);
        self.duration_max_nanos = self.duration_max_nanos.max(other.duration_max_nanos);
        // Every sketch has `sketch_config()`: new ones by construction, stored ones because
        // `from_parts` refuses any other. So this merge cannot fail; if it ever did, the
        // counts above stay exact and only the quantiles miss `other`.
        if let Err(error) = self.sketch.merge(&other.sketch) {
            debug_assert!(
                false,
                "latency sketches of different configurations: {error}"
            );
        }
        self.exemplars.merge(&other.exemplars);
    }

    /// The duration at quantile `q` (0–1), within the sketch's relative accuracy; `None` for an
    /// empty bucket or a `q` outside 0–1.
    pub fn quantile_nanos(&self, q: f64) -> Option<u64> {
        self.sketch
            .quantile(q)
            .ok()
            .flatten()
            .map(|value| value.round() as u64)
    }

    pub fn mean_nanos(&self) -> Option<u64> {
        (self.calls > 0).then(|| (self.duration_sum_nanos / u128::from(self.calls)) as u64)
    }

    /// The sketch in DataDog's portable binary encoding (what `sketches-java` reads).
    pub fn sketch_bytes(&self) -> Vec<u8> {
        self.sketch.to_java_bytes()
    }

    /// Rebuilds a bucket from its stored parts.
    pub fn from_parts(
        calls: u64,
        errors: u64,
        duration_sum_nanos: u128,
        duration_min_nanos: u64,
        duration_max_nanos: u64,
        sketch_bytes: &[u8],
        exemplars: Exemplars,
    ) -> Result<Bucket, SketchDecodeError> {
        let sketch = if sketch_bytes.is_empty() {
            DDSketch::new(sketch_config())
        } else {
            let decoded = DDSketch::from_java_bytes(sketch_bytes)
                .map_err(|error| SketchDecodeError(error.to_string()))?;
            // The encoding carries its own accuracy: one that is not ours decodes fine but
            // cannot merge with the live sketches, so it is refused here, not at merge time.
            let mut sketch = DDSketch::new(sketch_config());
            sketch.merge(&decoded).map_err(|_| {
                SketchDecodeError(format!(
                    "the sketch's relative accuracy is not weft's {SKETCH_RELATIVE_ACCURACY}"
                ))
            })?;
            sketch
        };
        Ok(Bucket {
            calls,
            errors,
            duration_sum_nanos,
            duration_min_nanos,
            duration_max_nanos,
            exemplars,
            sketch,
        })
    }
}

/// The serialized form of a bucket (checkpoints of open buckets).
#[derive(Serialize, Deserialize)]
struct BucketRepr {
    calls: u64,
    errors: u64,
    duration_sum_nanos: u128,
    duration_min_nanos: u64,
    duration_max_nanos: u64,
    sketch: Vec<u8>,
    exemplars: Exemplars,
}

impl Serialize for Bucket {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        BucketRepr {
            calls: self.calls,
            errors: self.errors,
            duration_sum_nanos: self.duration_sum_nanos,
            duration_min_nanos: self.duration_min_nanos,
            duration_max_nanos: self.duration_max_nanos,
            sketch: self.sketch_bytes(),
            exemplars: self.exemplars.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Bucket {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = BucketRepr::deserialize(deserializer)?;
        Bucket::from_parts(
            repr.calls,
            repr.errors,
            repr.duration_sum_nanos,
            repr.duration_min_nanos,
            repr.duration_max_nanos,
            &repr.sketch,
            repr.exemplars,
        )
        .map_err(serde::de::Error::custom)
    }
}
