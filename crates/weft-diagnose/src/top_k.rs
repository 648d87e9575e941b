//! Hot keys in bounded space: the Space-Saving summary (Metwally, Agrawal, El Abbadi, "Efficient
//! Computation of Frequent and Top-k Elements in Data Streams", 2005).
//!
//! A summary of capacity `k` keeps at most `k` counters. A key already counted gets its weight
//! added; a new key takes a free counter, or, when all are taken, the counter with the smallest
//! count `m`, which it inherits: count `m + weight`, error `m`. The inherited `m` is the most the
//! new key can have been overcounted by, because a key without a counter never occurred more
//! often than the smallest count. That yields the guarantees the statistics rely on:
//!
//! - every reported key satisfies `count − error ≤ true count ≤ count`;
//! - every key whose true count exceeds `total / k` has a counter (the counts add up to at most
//!   the total, so the smallest of `k` of them is at most `total / k`).
//!
//! Summaries merge (Agarwal et al., "Mergeable Summaries", 2012; Cafaro, Pulimeno, Tempesta,
//! "A parallel space saving algorithm for frequent items and the Hurwitz zeta distribution",
//! 2016): counts of keys in both add up; a key missing from one summary may have occurred there
//! as often as that summary's smallest count, so it is charged that much as count and as error;
//! the `k` largest counts are kept. The two guarantees hold for the merged summary over the
//! combined stream, so per-bucket summaries roll up into per-hour and per-day ones.
//!
//! Cost: `offer` is one hash lookup plus an `O(log k)` sift in a binary min-heap over the
//! counters; it allocates only for a key new to the summary. Memory is `O(k)` whatever the
//! stream. Keys are shared (`Arc<str>`) between the counter and the lookup table, so each key is
//! stored once, and merged summaries share the key allocations of their inputs.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

/// A bounded-memory top-K counter over string keys. Serializes the counters only; the lookup
/// table and the heap are rebuilt (and the checkpoint validated) on deserialization.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "SpaceSavingCheckpoint")]
pub struct SpaceSaving {
    /// The most counters kept; at least 1.
    capacity: usize,
    /// All weight offered, merged summaries' totals included.
    total: u64,
    /// How often a key without a counter may have occurred while counters are still free.
    /// Zero for a summary fed only by `offer` (a key without a counter then never occurred),
    /// but merging in a full summary of smaller capacity can leave a summary with free counters
    /// and keys that were dropped upstream. Once the summary is full, the smallest count bounds
    /// untracked keys instead (and is never below this).
    untracked_floor: u64,
    /// The counters, in slot order. A slot keeps its index for the life of the summary: an
    /// evicted key's slot goes to the key that replaces it.
    counters: Vec<Counter>,
    /// Slot indices arranged as a binary min-heap on `count`, so the counter to evict is at the
    /// root.
    #[serde(skip)]
    min_heap: Vec<usize>,
    /// Where each slot sits in `min_heap`, so an incremented counter can be sifted from its
    /// place without searching.
    #[serde(skip)]
    heap_position_by_slot: Vec<usize>,
    /// Key → slot. The standard SipHash hasher because keys come from traced applications
    /// and may be chosen by whoever drives their traffic.
    #[serde(skip)]
    slot_by_key: HashMap<Arc<str>, usize>,
}

/// A key with its estimated count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeavyHitter {
    pub key: String,
    pub count: u64,
    /// upper bound of the overestimate
    pub error: u64,
}

/// One counter: `count` overestimates the key's true count by at most `error`.
#[derive(Debug, Clone, serde::Serialize)]
struct Counter {
    #[serde(serialize_with = "serialize_shared_key")]
    key: Arc<str>,
    count: u64,
    error: u64,
}

fn serialize_shared_key<S: serde::Serializer>(
    key: &Arc<str>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(key)
}

/// The serialized form of [`SpaceSaving`], checked before it becomes one: a checkpoint is input
/// from disk and must not be able to break the summary's invariants.
#[derive(serde::Deserialize)]
struct SpaceSavingCheckpoint {
    capacity: usize,
    total: u64,
    #[serde(default)]
    untracked_floor: u64,
    counters: Vec<CheckpointCounter>,
}

#[derive(serde::Deserialize)]
struct CheckpointCounter {
    key: String,
    count: u64,
    error: u64,
}

impl TryFrom<SpaceSavingCheckpoint> for SpaceSaving {
    type Error = String;

    fn try_from(checkpoint: SpaceSavingCheckpoint) -> Result<Self, String> {
        if checkpoint.capacity == 0 {
            return Err("space-saving checkpoint has capacity 0".to_owned());
        }
        if checkpoint.counters.len() > checkpoint.capacity {
            return Err(format!(
                "space-saving checkpoint has {} counters for capacity {}",
                checkpoint.counters.len(),
                checkpoint.capacity
            ));
        }
        if let Some(counter) = checkpoint
            .counters
            .iter()
            .find(|counter| counter.error > counter.count)
        {
            return Err(format!(
                "space-saving checkpoint counter {:?} has error {} above its count {}",
                counter.key, counter.error, counter.count
            ));
        }
        let counters = checkpoint
            .counters
            .into_iter()
            .map(|counter| Counter {
                key: Arc::from(counter.key),
                count: counter.count,
                error: counter.error,
            })
            .collect();
        let mut summary = SpaceSaving {
            capacity: checkpoint.capacity,
            total: checkpoint.total,
            untracked_floor: checkpoint.untracked_floor,
            counters,
            min_heap: Vec::new(),
            heap_position_by_slot: Vec::new(),
            slot_by_key: HashMap::new(),
        };
        if let Some(duplicate) = summary.rebuild_indexes() {
            return Err(format!(
                "space-saving checkpoint counts key {duplicate:?} twice"
            ));
        }
        Ok(summary)
    }
}

impl SpaceSaving {
    /// Tracks at most `capacity` keys (capacity ≥ 1).
    ///
    /// A capacity of 0 is taken as 1 rather than panicking. Nothing is allocated up front, so a
    /// large capacity costs memory only as distinct keys arrive.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            total: 0,
            untracked_floor: 0,
            counters: Vec::new(),
            min_heap: Vec::new(),
            heap_position_by_slot: Vec::new(),
            slot_by_key: HashMap::new(),
        }
    }

    /// Counts `weight` occurrences of `key`; allocates only when the key is new to the summary
    /// (one `Arc<str>`, shared by the counter and the lookup table).
    ///
    /// A weight of 0 changes nothing (the key is not added). Counts and the total saturate at
    /// `u64::MAX` instead of overflowing.
    pub fn offer(&mut self, key: &str, weight: u64) {
        if weight == 0 {
            return;
        }
        self.total = self.total.saturating_add(weight);

        if let Some(&slot) = self.slot_by_key.get(key) {
            let counter = &mut self.counters[slot];
            counter.count = counter.count.saturating_add(weight);
            self.sift_down(self.heap_position_by_slot[slot]);
            return;
        }

        let untracked_bound = self.untracked_count_bound();
        let shared_key: Arc<str> = Arc::from(key);
        if self.counters.len() < self.capacity {
            let slot = self.counters.len();
            self.counters.push(Counter {
                key: Arc::clone(&shared_key),
                count: untracked_bound.saturating_add(weight),
                error: untracked_bound,
            });
            self.slot_by_key.insert(shared_key, slot);
            self.heap_position_by_slot.push(self.min_heap.len());
            self.min_heap.push(slot);
            self.sift_up(self.min_heap.len() - 1);
            return;
        }

        // Full: the new key takes over the counter with the smallest count. Its slot stays at
        // the heap root with a larger count, so one sift down restores the heap.
        let Some(&slot) = self.min_heap.first() else {
            return;
        };
        let counter = &mut self.counters[slot];
        let evicted_key = std::mem::replace(&mut counter.key, Arc::clone(&shared_key));
        counter.count = untracked_bound.saturating_add(weight);
        counter.error = untracked_bound;
        self.slot_by_key.remove(&evicted_key);
        self.slot_by_key.insert(shared_key, slot);
        self.sift_down(0);
    }

    /// Merges another summary, so per-bucket summaries roll up: the mergeable variant (Agarwal et
    /// al., "Mergeable Summaries", 2012; Cafaro et al., 2016) adds the counts of common keys,
    /// charges a key absent from one summary that summary's minimum count as count and error
    /// bound, then keeps the top `capacity`. `total` becomes the sum of both totals.
    ///
    /// The result keeps this summary's capacity. Merging in a summary of smaller capacity is
    /// allowed and stays correct (`count − error ≤ true ≤ count`), but the `total / capacity`
    /// heavy-hitter guarantee then only holds at the smaller capacity.
    pub fn merge(&mut self, other: &SpaceSaving) {
        // What a key absent from a summary may have occurred there: its smallest count when it
        // is full, nothing (or the floor) when it is not.
        let own_untracked_bound = self.untracked_count_bound();
        let other_untracked_bound = other.untracked_count_bound();

        let mut merged = Vec::with_capacity(self.counters.len() + other.counters.len());
        for counter in std::mem::take(&mut self.counters) {
            let (other_count, other_error) = match other.counter(&counter.key) {
                Some(other_counter) => (other_counter.count, other_counter.error),
                None => (other_untracked_bound, other_untracked_bound),
            };
            merged.push(Counter {
                key: counter.key,
                count: counter.count.saturating_add(other_count),
                error: counter.error.saturating_add(other_error),
            });
        }
        for other_counter in &other.counters {
            // `slot_by_key` still describes this summary's keys from before the merge.
            if self.slot_by_key.contains_key(&other_counter.key) {
                continue;
            }
            merged.push(Counter {
                key: Arc::clone(&other_counter.key),
                count: other_counter.count.saturating_add(own_untracked_bound),
                error: other_counter.error.saturating_add(own_untracked_bound),
            });
        }

        if merged.len() > self.capacity {
            // Keep the largest counts. A dropped key's true count is at most its merged count,
            // which is at most the smallest kept count: the summary is full, so that smallest
            // count is the bound for untracked keys and stays sound.
            merged.select_nth_unstable_by(self.capacity, highest_count_first);
            merged.truncate(self.capacity);
        }

        self.counters = merged;
        self.total = self.total.saturating_add(other.total);
        // A key in neither summary may have occurred as often as both bounds together. Every
        // merged count is at least this, so it never exceeds the smallest count when full.
        self.untracked_floor = own_untracked_bound.saturating_add(other_untracked_bound);
        // Keys are unique by construction (own keys once, other keys only when not own).
        let _ = self.rebuild_indexes();
    }

    /// The `limit` keys with the highest counts, highest first, ties by key.
    pub fn top(&self, limit: usize) -> Vec<HeavyHitter> {
        let mut ranked: Vec<&Counter> = self.counters.iter().collect();
        if limit < ranked.len() {
            ranked.select_nth_unstable_by(limit, |left, right| highest_count_first(left, right));
            ranked.truncate(limit);
        }
        ranked.sort_unstable_by(|left, right| highest_count_first(left, right));
        ranked
            .into_iter()
            .map(|counter| HeavyHitter {
                key: counter.key.to_string(),
                count: counter.count,
                error: counter.error,
            })
            .collect()
    }

    /// Total weight offered (including merged).
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.counters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    fn counter(&self, key: &str) -> Option<&Counter> {
        self.slot_by_key
            .get(key)
            .and_then(|&slot| self.counters.get(slot))
    }

    /// The most a key without a counter can have occurred: the smallest count once every counter
    /// is taken, the floor before.
    fn untracked_count_bound(&self) -> u64 {
        if self.counters.len() < self.capacity {
            return self.untracked_floor;
        }
        let smallest_count = self
            .min_heap
            .first()
            .and_then(|&slot| self.counters.get(slot))
            .map_or(0, |counter| counter.count);
        smallest_count.max(self.untracked_floor)
    }

    /// Rebuilds the key table and the heap from `counters`. Returns a key found twice (the
    /// summary is then unusable; only a corrupt checkpoint can cause it).
    fn rebuild_indexes(&mut self) -> Option<Arc<str>> {
        self.slot_by_key.clear();
        self.slot_by_key.reserve(self.counters.len());
        let mut duplicate = None;
        for (slot, counter) in self.counters.iter().enumerate() {
            if self
                .slot_by_key
                .insert(Arc::clone(&counter.key), slot)
                .is_some()
            {
                duplicate = Some(Arc::clone(&counter.key));
            }
        }
        self.min_heap = (0..self.counters.len()).collect();
        self.heap_position_by_slot = (0..self.counters.len()).collect();
        for position in (0..self.min_heap.len() / 2).rev() {
            self.sift_down(position);
        }
        duplicate
    }

    fn count_at(&self, heap_position: usize) -> u64 {
        self.counters[self.min_heap[heap_position]].count
    }

    fn swap_heap_positions(&mut self, first: usize, second: usize) {
        self.min_heap.swap(first, second);
        self.heap_position_by_slot[self.min_heap[first]] = first;
        self.heap_position_by_slot[self.min_heap[second]] = second;
    }

    fn sift_up(&mut self, mut position: usize) {
        while position > 0 {
            let parent = (position - 1) / 2;
            if self.count_at(position) >= self.count_at(parent) {
                break;
            }
            self.swap_heap_positions(position, parent);
            position = parent;
        }
    }

    fn sift_down(&mut self, mut position: usize) {
        let length = self.min_heap.len();
        loop {
            let left = 2 * position + 1;
            if left >= length {
                break;
            }
            let right = left + 1;
            let smaller_child = if right < length && self.count_at(right) < self.count_at(left) {
                right
            } else {
                left
            };
            if self.count_at(smaller_child) >= self.count_at(position) {
                break;
            }
            self.swap_heap_positions(position, smaller_child);
            position = smaller_child;
        }
    }
}

/// Highest count first, ties by key so that reports are deterministic.
fn highest_count_first(left: &Counter, right: &Counter) -> Ordering {
    right
        .count
        .cmp(&left.count)
        .then_with(|| left.key.cmp(&right.key))
}

#[cfg(test)]
mod tests;
