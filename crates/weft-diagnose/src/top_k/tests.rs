use super::*;

/// xorshift64 (Marsaglia 2003): deterministic and dependency-free, good enough to drive a stream.
struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    fn new(seed: u64) -> Self {
        Self { state: seed.max(1) }
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// Uniform in [0, 1).
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `length` keys drawn from a Zipf(1.1) distribution over `distinct_keys` keys: a few very hot
/// keys and a long tail, like real cache traffic.
fn zipf_stream(length: usize, distinct_keys: usize, seed: u64) -> Vec<String> {
    let mut cumulative = Vec::with_capacity(distinct_keys);
    let mut sum = 0.0;
    for rank in 1..=distinct_keys {
        sum += 1.0 / (rank as f64).powf(1.1);
        cumulative.push(sum);
    }
    let mut random = XorShift64::new(seed);
    (0..length)
        .map(|_| {
            let target = random.next_unit() * sum;
            let rank = cumulative
                .partition_point(|&bound| bound <= target)
                .min(distinct_keys - 1);
            format!("cart:user:{rank}")
        })
        .collect()
}

fn true_counts<'a>(stream: impl IntoIterator<Item = &'a String>) -> HashMap<&'a str, u64> {
    let mut counts = HashMap::new();
    for key in stream {
        *counts.entry(key.as_str()).or_insert(0) += 1;
    }
    counts
}

/// Checks the Space-Saving guarantees of `summary` against the exact counts of its stream.
fn assert_guarantees(summary: &SpaceSaving, exact: &HashMap<&str, u64>) {
    let total: u64 = exact.values().sum();
    assert_eq!(summary.total(), total);
    let reported = summary.top(summary.capacity());
    assert_eq!(reported.len(), summary.len());
    assert!(summary.len() <= summary.capacity());

    for hitter in &reported {
        let true_count = exact.get(hitter.key.as_str()).copied().unwrap_or(0);
        assert!(
            hitter.count - hitter.error <= true_count && true_count <= hitter.count,
            "{hitter:?} with true count {true_count}"
        );
    }

    let threshold = total / summary.capacity() as u64;
    let heavy: Vec<(&str, u64)> = exact
        .iter()
        .filter(|&(_, &count)| count > threshold)
        .map(|(&key, &count)| (key, count))
        .collect();
    assert!(!heavy.is_empty(), "the stream should have heavy hitters");
    for (key, count) in heavy {
        assert!(
            reported.iter().any(|hitter| hitter.key == key),
            "{key} occurs {count} times (> {threshold}) but is not reported"
        );
    }

    // Keys without a counter occurred at most as often as the smallest count.
    let smallest = reported.last().map_or(0, |hitter| hitter.count);
    for (key, &count) in exact {
        if !reported.iter().any(|hitter| hitter.key == *key) {
            assert!(
                count <= smallest,
                "untracked {key} occurs {count} > {smallest}"
            );
        }
    }
}

#[test]
fn counts_are_exact_while_keys_fit() {
    let mut summary = SpaceSaving::new(4);
    assert!(summary.is_empty());
    for key in ["a", "b", "a", "c", "a", "b", "d"] {
        summary.offer(key, 1);
    }
    assert_eq!(summary.len(), 4);
    assert_eq!(summary.total(), 7);
    assert_eq!(
        summary.top(10),
        vec![
            HeavyHitter {
                key: "a".to_owned(),
                count: 3,
                error: 0
            },
            HeavyHitter {
                key: "b".to_owned(),
                count: 2,
                error: 0
            },
            HeavyHitter {
                key: "c".to_owned(),
                count: 1,
                error: 0
            },
            HeavyHitter {
                key: "d".to_owned(),
                count: 1,
                error: 0
            },
        ]
    );
    assert_eq!(summary.top(2).len(), 2);
    assert_eq!(summary.top(0), Vec::new());
}

#[test]
fn ties_are_broken_by_key() {
    let mut summary = SpaceSaving::new(10);
    for key in ["delta", "alpha", "charlie", "bravo"] {
        summary.offer(key, 5);
    }
    let keys: Vec<String> = summary.top(3).into_iter().map(|hit| hit.key).collect();
    assert_eq!(keys, ["alpha", "bravo", "charlie"]);
}

#[test]
fn guarantees_hold_on_a_zipf_stream() {
    let stream = zipf_stream(100_000, 10_000, 0x5eed);
    let exact = true_counts(&stream);
    for capacity in [10, 50, 200] {
        let mut summary = SpaceSaving::new(capacity);
        for key in &stream {
            summary.offer(key, 1);
        }
        assert_eq!(summary.len(), capacity);
        assert_guarantees(&summary, &exact);
    }
}

#[test]
fn the_hottest_keys_come_out_on_top() {
    let stream = zipf_stream(100_000, 10_000, 7);
    let exact = true_counts(&stream);
    let mut summary = SpaceSaving::new(100);
    for key in &stream {
        summary.offer(key, 1);
    }
    let mut by_true_count: Vec<(&str, u64)> = exact.iter().map(|(&k, &c)| (k, c)).collect();
    by_true_count.sort_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(right.0)));
    let reported: Vec<String> = summary.top(3).into_iter().map(|hit| hit.key).collect();
    let expected: Vec<&str> = by_true_count.iter().take(3).map(|&(key, _)| key).collect();
    assert_eq!(reported, expected);
}

#[test]
fn merging_two_halves_keeps_the_heavy_hitters_of_the_whole() {
    let stream = zipf_stream(100_000, 10_000, 42);
    let exact = true_counts(&stream);
    let (first_half, second_half) = stream.split_at(stream.len() / 2);
    let mut first = SpaceSaving::new(100);
    let mut second = SpaceSaving::new(100);
    for key in first_half {
        first.offer(key, 1);
    }
    for key in second_half {
        second.offer(key, 1);
    }
    first.merge(&second);
    assert_eq!(first.len(), 100);
    assert_guarantees(&first, &exact);
}

#[test]
fn many_bucket_summaries_roll_up() {
    // Per-bucket summaries over different slices of the traffic, merged in a chain and then
    // fed some more: the roll-up keeps the guarantees over everything it has seen.
    let stream = zipf_stream(100_000, 10_000, 99);
    let exact = true_counts(&stream);
    let mut roll_up = SpaceSaving::new(50);
    for bucket in stream[..90_000].chunks(9_000) {
        let mut bucket_summary = SpaceSaving::new(50);
        for key in bucket {
            bucket_summary.offer(key, 1);
        }
        roll_up.merge(&bucket_summary);
    }
    for key in &stream[90_000..] {
        roll_up.offer(key, 1);
    }
    assert_guarantees(&roll_up, &exact);
}

#[test]
fn merging_summaries_that_are_not_full_is_exact() {
    let mut left = SpaceSaving::new(10);
    let mut right = SpaceSaving::new(10);
    left.offer("a", 3);
    left.offer("b", 1);
    right.offer("a", 2);
    right.offer("c", 4);
    left.merge(&right);
    assert_eq!(left.total(), 10);
    assert_eq!(
        left.top(10),
        vec![
            HeavyHitter {
                key: "a".to_owned(),
                count: 5,
                error: 0
            },
            HeavyHitter {
                key: "c".to_owned(),
                count: 4,
                error: 0
            },
            HeavyHitter {
                key: "b".to_owned(),
                count: 1,
                error: 0
            },
        ]
    );
    // Merging an empty summary changes nothing.
    left.merge(&SpaceSaving::new(3));
    assert_eq!(left.total(), 10);
    assert_eq!(left.len(), 3);
}

#[test]
fn merging_a_smaller_full_summary_stays_sound() {
    // A full summary of capacity 5 merged into an empty one of capacity 100 leaves free counters
    // while keys were dropped upstream; later keys must still be charged for that.
    let stream = zipf_stream(20_000, 2_000, 3);
    let (first_part, second_part) = stream.split_at(10_000);
    let mut small = SpaceSaving::new(5);
    for key in first_part {
        small.offer(key, 1);
    }
    let mut large = SpaceSaving::new(100);
    large.merge(&small);
    assert_eq!(large.len(), 5);
    for key in second_part {
        large.offer(key, 1);
    }
    let exact = true_counts(&stream);
    for hitter in large.top(100) {
        let true_count = exact.get(hitter.key.as_str()).copied().unwrap_or(0);
        assert!(
            hitter.count - hitter.error <= true_count && true_count <= hitter.count,
            "{hitter:?} with true count {true_count}"
        );
    }
}

#[test]
fn capacity_one_keeps_the_last_key_with_the_whole_count() {
    let mut summary = SpaceSaving::new(1);
    summary.offer("a", 1);
    summary.offer("a", 1);
    summary.offer("b", 1);
    assert_eq!(summary.len(), 1);
    assert_eq!(
        summary.top(5),
        vec![HeavyHitter {
            key: "b".to_owned(),
            count: 3,
            error: 2
        }]
    );
    // A key with more than half of the weight always ends up holding the only counter.
    let mut summary = SpaceSaving::new(1);
    for key in ["x", "hot", "y", "hot", "hot"] {
        summary.offer(key, 1);
    }
    assert_eq!(summary.top(1)[0].key, "hot");
}

#[test]
fn capacity_zero_is_taken_as_one() {
    let mut summary = SpaceSaving::new(0);
    assert_eq!(summary.capacity(), 1);
    summary.offer("a", 1);
    summary.offer("b", 1);
    assert_eq!(summary.len(), 1);
    assert_eq!(summary.total(), 2);
}

#[test]
fn weights_count_as_that_many_occurrences() {
    let mut summary = SpaceSaving::new(2);
    summary.offer("a", 10);
    summary.offer("b", 3);
    summary.offer("a", 5);
    summary.offer("c", 4);
    assert_eq!(summary.total(), 22);
    assert_eq!(
        summary.top(2),
        vec![
            HeavyHitter {
                key: "a".to_owned(),
                count: 15,
                error: 0
            },
            HeavyHitter {
                key: "c".to_owned(),
                count: 7,
                error: 3
            },
        ]
    );

    // Weighted offers against the exact weighted counts.
    let mut random = XorShift64::new(11);
    let mut exact_owned: HashMap<String, u64> = HashMap::new();
    let mut summary = SpaceSaving::new(20);
    for _ in 0..20_000 {
        let key = format!("k{}", random.next_u64() % 500);
        let weight = 1 + random.next_u64() % 9;
        *exact_owned.entry(key.clone()).or_insert(0) += weight;
        summary.offer(&key, weight);
    }
    for index in 0..5 {
        summary.offer("heavy", 30_000 + index);
        *exact_owned.entry("heavy".to_owned()).or_insert(0) += 30_000 + index;
    }
    let exact: HashMap<&str, u64> = exact_owned
        .iter()
        .map(|(key, &count)| (key.as_str(), count))
        .collect();
    assert_guarantees(&summary, &exact);
    assert_eq!(summary.top(1)[0].key, "heavy");
}

#[test]
fn zero_weight_is_ignored_and_huge_weights_saturate() {
    let mut summary = SpaceSaving::new(2);
    summary.offer("a", 0);
    assert!(summary.is_empty());
    assert_eq!(summary.total(), 0);

    summary.offer("a", u64::MAX);
    summary.offer("a", u64::MAX);
    summary.offer("b", 1);
    summary.offer("c", u64::MAX);
    assert_eq!(summary.total(), u64::MAX);
    assert_eq!(summary.top(1)[0].count, u64::MAX);

    let mut other = summary.clone();
    other.merge(&summary);
    assert_eq!(other.total(), u64::MAX);
    assert_eq!(other.len(), 2);
}

#[test]
fn a_clone_is_independent() {
    let mut original = SpaceSaving::new(3);
    original.offer("a", 2);
    original.offer("b", 1);
    let snapshot = original.clone();
    original.offer("b", 5);
    original.offer("c", 1);
    assert_eq!(snapshot.total(), 3);
    assert_eq!(snapshot.top(1)[0].key, "a");
    assert_eq!(original.top(1)[0].key, "b");
}

/// The same counters the derived `Serialize` writes, read back through the validated
/// `try_from` path that `Deserialize` uses.
fn checkpoint_of(summary: &SpaceSaving) -> SpaceSavingCheckpoint {
    SpaceSavingCheckpoint {
        capacity: summary.capacity,
        total: summary.total,
        untracked_floor: summary.untracked_floor,
        counters: summary
            .counters
            .iter()
            .map(|counter| CheckpointCounter {
                key: counter.key.to_string(),
                count: counter.count,
                error: counter.error,
            })
            .collect(),
    }
}

#[test]
fn a_checkpoint_restores_a_working_summary() {
    let stream = zipf_stream(20_000, 1_000, 5);
    let (before, after) = stream.split_at(10_000);
    let mut uninterrupted = SpaceSaving::new(30);
    for key in before {
        uninterrupted.offer(key, 1);
    }
    let mut restored = match SpaceSaving::try_from(checkpoint_of(&uninterrupted)) {
        Ok(restored) => restored,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(restored.top(30), uninterrupted.top(30));
    for key in after {
        uninterrupted.offer(key, 1);
        restored.offer(key, 1);
    }
    assert_eq!(restored.total(), uninterrupted.total());
    assert_guarantees(&restored, &true_counts(&stream));
}

#[test]
fn corrupt_checkpoints_are_rejected() {
    let mut summary = SpaceSaving::new(2);
    summary.offer("a", 2);
    summary.offer("b", 1);

    let mut zero_capacity = checkpoint_of(&summary);
    zero_capacity.capacity = 0;
    assert!(SpaceSaving::try_from(zero_capacity).is_err());

    let mut too_many = checkpoint_of(&summary);
    too_many.capacity = 1;
    assert!(SpaceSaving::try_from(too_many).is_err());

    let mut duplicate = checkpoint_of(&summary);
    duplicate.counters[1].key = "a".to_owned();
    let error = SpaceSaving::try_from(duplicate).err();
    assert_eq!(
        error.as_deref(),
        Some(r#"space-saving checkpoint counts key "a" twice"#)
    );

    let mut error_above_count = checkpoint_of(&summary);
    error_above_count.counters[0].error = 3;
    assert!(SpaceSaving::try_from(error_above_count).is_err());
}

#[test]
fn summaries_can_move_between_threads() {
    fn assert_send_and_sync<T: Send + Sync>() {}
    assert_send_and_sync::<SpaceSaving>();
}
