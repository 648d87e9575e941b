use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use weft_model::TraceId;

use super::*;

fn random_ids(count: usize, seed: u64) -> Vec<TraceId> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..count)
        .map(|_| TraceId::from_bytes(rng.random()))
        .collect()
}

const WINDOW: ShardWindow = ShardWindow {
    start_unix_seconds: 1_790_000_400,
    width_seconds: 600,
};

/// Inserts `keys` random IDs, probes a million others, and answers the measured rate.
fn measured_rate(sizing: FilterSizing, seed: u64) -> (f64, ShardFilter) {
    let mut filter = ShardFilter::new(WINDOW, sizing).unwrap();
    let inserted = random_ids(sizing.expected_keys as usize, seed);
    for id in &inserted {
        filter.insert(id);
    }
    assert!(
        inserted.iter().all(|id| filter.contains(id)),
        "a Bloom filter has no false negatives"
    );
    let probes = random_ids(1_000_000, seed + 1);
    let positives = probes.iter().filter(|id| filter.contains(id)).count();
    (positives as f64 / probes.len() as f64, filter)
}

#[test]
fn sized_filters_measure_within_20_percent_of_the_target_rate_on_a_million_probes() {
    for (expected_keys, target) in [(100_000, 0.01), (50_000, 0.001), (20_000, 0.05)] {
        let sizing = FilterSizing {
            expected_keys,
            false_positive_rate: target,
        };
        let (measured, filter) = measured_rate(sizing, expected_keys);
        let relative = (measured - target).abs() / target;
        assert!(
            relative <= 0.2,
            "{expected_keys} keys at {target}: measured {measured} ({:.1} % off), {} bytes",
            relative * 100.0,
            filter.bytes()
        );
        // The rate read from the bits agrees with the probes too.
        let from_bits = filter.measured_false_positive_rate();
        assert!(
            (from_bits - measured).abs() / measured <= 0.2,
            "from bits {from_bits} vs probed {measured}"
        );
    }
}

#[test]
fn sizing_takes_the_fewest_blocks_that_meet_the_target() {
    let sizing = FilterSizing {
        expected_keys: 100_000,
        false_positive_rate: 0.01,
    };
    let blocks = sizing.blocks().unwrap();
    assert!(estimated_false_positive_rate(blocks, 100_000) <= 0.01);
    assert!(estimated_false_positive_rate(blocks - 1, 100_000) > 0.01);
    // About 11–12 bits per key at 1 %: a split-block filter needs a little more than the
    // classic 9.6.
    let bits_per_key = (blocks * 256) as f64 / 100_000.0;
    assert!((10.0..13.0).contains(&bits_per_key), "{bits_per_key}");
}

#[test]
fn more_keys_than_expected_show_in_the_measured_rate() {
    let sizing = FilterSizing {
        expected_keys: 10_000,
        false_positive_rate: 0.01,
    };
    let mut filter = ShardFilter::new(WINDOW, sizing).unwrap();
    for id in random_ids(40_000, 9) {
        filter.insert(&id);
    }
    assert_eq!(filter.inserted_keys(), 40_000);
    assert!(
        filter.measured_false_positive_rate() > 0.1,
        "{}",
        filter.measured_false_positive_rate()
    );
    assert!(filter.fill_ratio() > 0.5, "{}", filter.fill_ratio());
}

#[test]
fn merging_equals_the_filter_built_from_the_union() {
    let sizing = FilterSizing {
        expected_keys: 30_000,
        false_positive_rate: 0.01,
    };
    let node_a = random_ids(12_000, 21);
    let node_b = random_ids(15_000, 22);
    let build = |ids: &[&[TraceId]]| {
        let mut filter = ShardFilter::new(WINDOW, sizing).unwrap();
        for id in ids.iter().flat_map(|ids| ids.iter()) {
            filter.insert(id);
        }
        filter
    };
    let mut merged = build(&[&node_a]);
    merged.merge(&build(&[&node_b])).unwrap();
    let union = build(&[&node_a, &node_b]);
    assert_eq!(merged.bitset(), union.bitset());
    assert_eq!(merged.inserted_keys(), 27_000);
    assert!(node_a.iter().chain(&node_b).all(|id| merged.contains(id)));
}

#[test]
fn filters_of_other_windows_or_sizes_are_not_merged() {
    let sizing = FilterSizing {
        expected_keys: 1_000,
        false_positive_rate: 0.01,
    };
    let mut filter = ShardFilter::new(WINDOW, sizing).unwrap();
    let next_window = ShardWindow {
        start_unix_seconds: WINDOW.end_unix_seconds(),
        ..WINDOW
    };
    let other_window = ShardFilter::new(next_window, sizing).unwrap();
    assert!(matches!(
        filter.merge(&other_window),
        Err(SamplingError::IncompatibleShards { .. })
    ));
    let bigger = ShardFilter::new(
        WINDOW,
        FilterSizing {
            expected_keys: 2_000,
            ..sizing
        },
    )
    .unwrap();
    let error = filter.merge(&bigger).unwrap_err();
    assert!(error.to_string().contains("--sampling-shard"), "{error}");
}

#[test]
fn the_exchange_format_round_trips_and_refuses_damage() {
    let sizing = FilterSizing {
        expected_keys: 5_000,
        false_positive_rate: 0.001,
    };
    let mut filter = ShardFilter::new(WINDOW, sizing).unwrap();
    let ids = random_ids(3_000, 5);
    for id in &ids {
        filter.insert(id);
    }
    let bytes = filter.to_bytes();
    assert_eq!(&bytes[..8], b"WEFTSHRD");
    let read = ShardFilter::from_bytes(&bytes).unwrap();
    assert_eq!(read.window(), WINDOW);
    assert_eq!(read.sizing(), sizing);
    assert_eq!(read.inserted_keys(), 3_000);
    assert_eq!(read.bitset(), filter.bitset());
    assert!(ids.iter().all(|id| read.contains(id)));

    // A torn write (any prefix) and a flipped bit anywhere are refused, never half-read.
    for cut in [0, 3, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            ShardFilter::from_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    for position in [0, 9, 40, bytes.len() / 2, bytes.len() - 2] {
        let mut damaged = bytes.clone();
        damaged[position] ^= 0x10;
        assert!(matches!(
            ShardFilter::from_bytes(&damaged),
            Err(SamplingError::Corrupt(_))
        ));
    }
}

#[test]
fn shard_windows_are_aligned_so_every_node_cuts_the_same() {
    let window = ShardWindow::containing(1_790_000_999, 600);
    assert_eq!(window.start_unix_seconds, 1_790_000_400);
    assert_eq!(window.end_unix_seconds(), 1_790_001_000);
    assert_eq!(
        ShardWindow::containing(1_790_001_000, 600).start_unix_seconds,
        1_790_001_000
    );
    assert_eq!(ShardWindow::containing(59, 60).start_unix_seconds, 0);
}

#[test]
fn unusable_sizings_are_refused_with_the_reason() {
    let refuse = |expected_keys, false_positive_rate| {
        FilterSizing {
            expected_keys,
            false_positive_rate,
        }
        .blocks()
        .unwrap_err()
        .to_string()
    };
    assert!(refuse(1_000, 0.0).contains("between 0 and 1"));
    assert!(refuse(1_000, 1.0).contains("between 0 and 1"));
    assert!(refuse(1_000, f64::NAN).contains("between 0 and 1"));
    assert!(refuse(0, 0.01).contains("at least 1"));
    assert!(refuse(u64::MAX / 4, 1e-9).contains("MiB"));
}

#[test]
fn the_rate_formula_behaves_at_its_edges() {
    assert_eq!(estimated_false_positive_rate(0, 10), 1.0);
    assert_eq!(estimated_false_positive_rate(10, 0), 0.0);
    // Grossly overfilled: every bit set, every probe positive.
    assert!(estimated_false_positive_rate(1, 100_000_000) > 0.999);
    assert!(estimated_false_positive_rate(10, 15_000) > 0.999);
    // 100 keys a block: each word has lost (31/32)^100 ≈ 4 % of its zeros, (1 - 0.042)^8 ≈ 0.71.
    let hundred_per_block = estimated_false_positive_rate(10, 1_000);
    assert!(
        (0.68..0.73).contains(&hundred_per_block),
        "{hundred_per_block}"
    );
    // More blocks, fewer false positives.
    let rates: Vec<f64> = [100, 1_000, 10_000]
        .iter()
        .map(|&blocks| estimated_false_positive_rate(blocks, 10_000))
        .collect();
    assert!(rates.windows(2).all(|pair| pair[0] > pair[1]), "{rates:?}");
}
