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

// ---- rules -------------------------------------------------------------------------------

mod rules {
    use std::sync::Arc;

    use weft_model::{
        AttributeValue, BusinessKey, Event, KeyValue, Resource, Span, SpanId, SpanKind, Status,
        StatusCode,
    };

    use super::*;

    const SECOND: u64 = 1_000_000_000;
    const NOW: u64 = 1_790_000_100 * SECOND;
    const SIZING: FilterSizing = FilterSizing {
        expected_keys: 10_000,
        false_positive_rate: 0.001,
    };

    fn trace_id(number: u64) -> TraceId {
        // Weft-issued: the first four bytes are the trace's start second.
        let mut bytes = [0; 16];
        bytes[..4].copy_from_slice(&((NOW / SECOND) as u32).to_be_bytes());
        bytes[8..].copy_from_slice(&number.to_be_bytes());
        TraceId::from_bytes(bytes)
    }

    fn text(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: AttributeValue::String(value.to_owned()),
        }
    }

    fn span(trace: u64, service: &str, duration_nanos: u64) -> Span {
        Span {
            trace_id: trace_id(trace),
            span_id: SpanId::from_bytes([1; 8]),
            parent_span_id: Some(SpanId::from_bytes([2; 8])),
            trace_state: String::new(),
            flags: 0,
            name: "work".to_owned(),
            kind: SpanKind::Internal,
            start_time_unix_nanos: NOW,
            end_time_unix_nanos: NOW + duration_nanos,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Status::default(),
            resource: Arc::new(Resource::default()),
            scope: Arc::default(),
            service_name: service.to_owned(),
            host_name: None,
            environment: None,
            region: None,
            business_keys: Vec::new(),
        }
    }

    fn only(rule: Rule) -> SamplingConfig {
        SamplingConfig {
            rules: vec![rule],
            default_keep_share: 0.0,
            services: Vec::new(),
        }
    }

    fn rule(name: &str, condition: Condition) -> Rule {
        Rule {
            name: name.to_owned(),
            condition,
            max_traces_per_second: None,
        }
    }

    fn sampler(config: SamplingConfig) -> Sampler {
        Sampler::new(config, 600, SIZING).unwrap()
    }

    fn kept_by(sampler: &mut Sampler, span: &Span) -> Option<KeepReason> {
        sampler.observe(span, NOW)
    }

    fn is_marked(sampler: &Sampler, span: &Span) -> bool {
        sampler
            .shard(sampler.shard_of(span))
            .is_some_and(|shard| shard.contains(&span.trace_id))
    }

    #[test]
    fn an_error_span_keeps_its_trace_and_an_ok_span_does_not() {
        let mut sampler = sampler(only(rule("error", Condition::ErrorStatus)));
        let ok = span(1, "shop", SECOND);
        assert_eq!(kept_by(&mut sampler, &ok), None);
        assert!(!is_marked(&sampler, &ok));
        let mut failing = span(2, "shop", SECOND);
        failing.status = Status {
            code: StatusCode::Error,
            message: "boom".to_owned(),
        };
        assert_eq!(
            kept_by(&mut sampler, &failing),
            Some(KeepReason::Rule("error".to_owned()))
        );
        assert!(is_marked(&sampler, &failing));
        // Any later span of that trace, even an ok one from another service, is in the shard.
        assert!(is_marked(&sampler, &span(2, "other", 1)));
    }

    #[test]
    fn a_slow_database_call_needs_db_system_and_the_threshold() {
        let condition = Condition::SlowDatabaseCall {
            min_duration_nanos: 200_000_000,
        };
        let mut sampler = sampler(only(rule("slow_db", condition)));
        let mut fast_query = span(1, "shop", 199_000_000);
        fast_query.attributes.push(text("db.system", "mysql"));
        let slow_not_db = span(2, "shop", 5 * SECOND);
        let mut slow_query = span(3, "shop", 200_000_000);
        slow_query.attributes.push(text("db.system", "mysql"));
        assert_eq!(kept_by(&mut sampler, &fast_query), None);
        assert_eq!(kept_by(&mut sampler, &slow_not_db), None);
        assert!(kept_by(&mut sampler, &slow_query).is_some());
    }

    #[test]
    fn a_slow_root_counts_only_for_the_root_span() {
        let condition = Condition::SlowRoot {
            min_duration_nanos: SECOND,
        };
        let mut sampler = sampler(only(rule("slow_root", condition)));
        let slow_child = span(1, "shop", 3 * SECOND);
        let mut slow_root = span(2, "shop", SECOND);
        slow_root.parent_span_id = None;
        let mut quick_root = span(3, "shop", SECOND - 1);
        quick_root.parent_span_id = None;
        assert_eq!(kept_by(&mut sampler, &slow_child), None);
        assert!(kept_by(&mut sampler, &slow_root).is_some());
        assert_eq!(kept_by(&mut sampler, &quick_root), None);
    }

    #[test]
    fn business_keys_keywords_and_attribute_predicates_keep_traces() {
        let config = SamplingConfig {
            rules: vec![
                rule("business", Condition::BusinessKey { keys: Vec::new() }),
                rule(
                    "keyword",
                    Condition::Keyword {
                        words: vec!["Declined".to_owned()],
                    },
                ),
                rule(
                    "vip",
                    Condition::Attribute {
                        key: "customer.tier".to_owned(),
                        predicate: AttributePredicate::Equals("gold".to_owned()),
                    },
                ),
                rule(
                    "big_order",
                    Condition::Attribute {
                        key: "order.amount".to_owned(),
                        predicate: AttributePredicate::AtLeast(1_000.0),
                    },
                ),
                rule(
                    "canary",
                    Condition::Attribute {
                        key: "deployment.canary".to_owned(),
                        predicate: AttributePredicate::Exists,
                    },
                ),
            ],
            default_keep_share: 0.0,
            services: Vec::new(),
        };
        let mut sampler = sampler(config);
        let reason = |sampler: &mut Sampler, span: &Span| match kept_by(sampler, span) {
            Some(KeepReason::Rule(name)) => name,
            other => format!("{other:?}"),
        };

        let mut with_key = span(1, "shop", 1);
        with_key.business_keys.push(BusinessKey {
            name: "order.id".to_owned(),
            value: "ORD-1".to_owned(),
        });
        assert_eq!(reason(&mut sampler, &with_key), "business");

        let mut message = span(2, "shop", 1);
        message.status.message = "card DECLINED: insufficient funds".to_owned();
        assert_eq!(reason(&mut sampler, &message), "keyword");
        let mut exception = span(3, "shop", 1);
        exception.events.push(Event {
            time_unix_nanos: NOW,
            name: "exception".to_owned(),
            attributes: vec![text("exception.type", "CardDeclinedException")],
            dropped_attributes_count: 0,
        });
        assert_eq!(reason(&mut sampler, &exception), "keyword");
        let mut other_event = span(4, "shop", 1);
        other_event.events.push(Event {
            time_unix_nanos: NOW,
            name: "log".to_owned(),
            attributes: vec![text("message", "declined")],
            dropped_attributes_count: 0,
        });
        assert_eq!(kept_by(&mut sampler, &other_event), None);

        let mut gold = span(5, "shop", 1);
        gold.attributes.push(text("customer.tier", "gold"));
        assert_eq!(reason(&mut sampler, &gold), "vip");
        let mut silver = span(6, "shop", 1);
        silver.attributes.push(text("customer.tier", "silver"));
        assert_eq!(kept_by(&mut sampler, &silver), None);

        let mut big = span(7, "shop", 1);
        big.attributes.push(KeyValue {
            key: "order.amount".to_owned(),
            value: AttributeValue::Double(1_500.5),
        });
        assert_eq!(reason(&mut sampler, &big), "big_order");
        let mut small = span(8, "shop", 1);
        small.attributes.push(KeyValue {
            key: "order.amount".to_owned(),
            value: AttributeValue::Int(999),
        });
        assert_eq!(kept_by(&mut sampler, &small), None);

        // Resource attributes count as well.
        let mut canary = span(9, "shop", 1);
        canary.resource = Arc::new(Resource {
            attributes: vec![text("deployment.canary", "true")],
            ..Resource::default()
        });
        assert_eq!(reason(&mut sampler, &canary), "canary");
    }

    #[test]
    fn a_rate_limit_counts_traces_not_spans_and_refills_over_time() {
        let mut limited = rule("error", Condition::ErrorStatus);
        limited.max_traces_per_second = Some(2.0);
        let mut sampler = sampler(only(limited));
        let failing = |trace| {
            let mut span = span(trace, "shop", 1);
            span.status.code = StatusCode::Error;
            span
        };
        // Two traces pass; more spans of a kept trace cost nothing; a third trace is limited.
        assert!(sampler.observe(&failing(1), NOW).is_some());
        assert!(sampler.observe(&failing(1), NOW).is_some());
        assert!(sampler.observe(&failing(2), NOW).is_some());
        assert_eq!(sampler.observe(&failing(3), NOW), None);
        // Half a second later one more token has arrived.
        assert!(sampler.observe(&failing(3), NOW + SECOND / 2).is_some());
        let counters = sampler.counters();
        assert_eq!(
            counters[0],
            (
                "error".to_owned(),
                RuleCounters {
                    matched_spans: 5,
                    kept_traces: 3,
                    limited_traces: 1
                }
            )
        );
    }

    #[test]
    fn a_limited_rule_leaves_the_trace_to_the_next_matching_rule() {
        let mut first = rule("tight", Condition::ErrorStatus);
        first.max_traces_per_second = Some(1.0);
        let config = SamplingConfig {
            rules: vec![
                first,
                rule("business", Condition::BusinessKey { keys: Vec::new() }),
            ],
            default_keep_share: 0.0,
            services: Vec::new(),
        };
        let mut sampler = sampler(config);
        let both = |trace| {
            let mut span = span(trace, "shop", 1);
            span.status.code = StatusCode::Error;
            span.business_keys.push(BusinessKey {
                name: "order.id".to_owned(),
                value: format!("ORD-{trace}"),
            });
            span
        };
        assert_eq!(
            sampler.observe(&both(1), NOW),
            Some(KeepReason::Rule("tight".to_owned()))
        );
        assert_eq!(
            sampler.observe(&both(2), NOW),
            Some(KeepReason::Rule("business".to_owned()))
        );
    }

    #[test]
    fn service_overrides_change_thresholds_shares_and_disable_rules() {
        let mut config = SamplingConfig {
            default_keep_share: 0.0,
            ..SamplingConfig::default()
        };
        config.services.push(ServiceOverride {
            service: "batch".to_owned(),
            slow_root_nanos: Some(60 * SECOND),
            disabled_rules: vec!["error".to_owned()],
            ..ServiceOverride::default()
        });
        config.services.push(ServiceOverride {
            service: "checkout".to_owned(),
            keep_share: Some(1.0),
            ..ServiceOverride::default()
        });
        let mut sampler = sampler(config);
        let mut long_batch_root = span(1, "batch", 30 * SECOND);
        long_batch_root.parent_span_id = None;
        assert_eq!(kept_by(&mut sampler, &long_batch_root), None);
        let mut batch_error = span(2, "batch", 1);
        batch_error.status.code = StatusCode::Error;
        assert_eq!(kept_by(&mut sampler, &batch_error), None);
        let mut shop_root = span(3, "shop", 30 * SECOND);
        shop_root.parent_span_id = None;
        assert!(kept_by(&mut sampler, &shop_root).is_some());
        assert_eq!(
            kept_by(&mut sampler, &span(4, "checkout", 1)),
            Some(KeepReason::DefaultShare)
        );
    }

    #[test]
    fn the_default_share_is_decided_by_the_trace_id_at_the_configured_rate() {
        let share = 0.01;
        let kept = (0..200_000_u64)
            .filter(|number| in_share(&trace_id(*number), share))
            .count();
        // Binomial(200,000, 1 %): mean 2,000, standard deviation ~44.5; 5 sigma either way.
        assert!((1_777..=2_223).contains(&kept), "{kept}");
        // The same ID always gets the same answer, and the shares nest.
        assert!((0..1_000).all(|number| {
            let id = trace_id(number);
            in_share(&id, share) == in_share(&id, share)
                && (!in_share(&id, 0.001) || in_share(&id, share))
        }));
        assert!(!in_share(&trace_id(1), 0.0));
        assert!(in_share(&trace_id(1), 1.0));

        let config = SamplingConfig {
            default_keep_share: share,
            ..SamplingConfig::default()
        };
        let mut sampler = sampler(config);
        let picked = (0..20_000)
            .filter(|number| {
                sampler.observe(&span(*number, "shop", 1), NOW) == Some(KeepReason::DefaultShare)
            })
            .count();
        let expected = (0..20_000)
            .filter(|number| in_share(&trace_id(*number), share))
            .count();
        assert_eq!(picked, expected);
        assert_eq!(
            sampler.counters().last().unwrap().1.kept_traces,
            expected as u64
        );
    }

    #[test]
    fn shards_follow_the_time_in_the_trace_id_and_close_by_window_end() {
        let mut sampler = sampler(only(rule("error", Condition::ErrorStatus)));
        // A late span of a Weft-issued trace, 15 minutes after the trace began, still lands
        // in the trace's shard.
        let mut late = span(1, "shop", 1);
        late.start_time_unix_nanos = NOW + 900 * SECOND;
        late.status.code = StatusCode::Error;
        let trace_window = ShardWindow::containing(NOW / SECOND, 600);
        assert_eq!(sampler.shard_of(&late), trace_window);
        // A foreign (random) ID uses the span's start.
        let mut foreign = late.clone();
        foreign.trace_id = TraceId::from_bytes([0xab; 16]);
        assert_eq!(
            sampler.shard_of(&foreign),
            ShardWindow::containing(NOW / SECOND + 900, 600)
        );
        sampler.observe(&late, NOW);
        sampler.observe(&foreign, NOW);
        assert!(sampler
            .take_shards_ending_by(trace_window.end_unix_seconds() - 1)
            .is_empty());
        let closed = sampler.take_shards_ending_by(trace_window.end_unix_seconds());
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].window(), trace_window);
        assert!(closed[0].contains(&late.trace_id));
        assert!(sampler.shard(trace_window).is_none());
        assert!(sampler.shard(sampler.shard_of(&foreign)).is_some());
    }

    #[test]
    fn invalid_rules_are_refused_naming_the_problem() {
        let refuse =
            |config: SamplingConfig| Sampler::new(config, 600, SIZING).err().unwrap().to_string();
        let mut twice = SamplingConfig::default();
        twice.rules.push(rule("error", Condition::ErrorStatus));
        assert!(refuse(twice).contains("two rules are named \"error\""));
        let share = SamplingConfig {
            default_keep_share: 1.5,
            ..SamplingConfig::default()
        };
        assert!(refuse(share).contains("between 0 and 1"));
        let mut rate = SamplingConfig::default();
        rate.rules[0].max_traces_per_second = Some(0.0);
        assert!(refuse(rate).contains("must be positive"));
        let mut keyword = SamplingConfig::default();
        keyword.rules.push(rule(
            "k",
            Condition::Keyword {
                words: vec![" ".to_owned()],
            },
        ));
        assert!(refuse(keyword).contains("needs words"));
        let mut unknown = SamplingConfig::default();
        unknown.services.push(ServiceOverride {
            service: "shop".to_owned(),
            disabled_rules: vec!["nope".to_owned()],
            ..ServiceOverride::default()
        });
        assert!(refuse(unknown).contains("does not exist"));
        assert!(Sampler::new(SamplingConfig::default(), 0, SIZING).is_err());
    }

    #[test]
    fn rules_read_from_toml_with_durations_as_text_and_round_trip_through_json() {
        let config: SamplingConfig = toml::from_str(
            r#"
            default_keep_share = 0.02
            [[rules]]
            name = "error"
            condition = { type = "error_status" }
            max_traces_per_second = 50
            [[rules]]
            name = "slow_db"
            condition = { type = "slow_database_call", min_duration = "250ms" }
            [[rules]]
            name = "vip"
            condition = { type = "attribute", key = "user.tier", predicate = { equals = "gold" } }
            [[rules]]
            name = "retries"
            condition = { type = "attribute", key = "http.resend_count", predicate = { at_least = 2.0 } }
            [[rules]]
            name = "has_tenant"
            condition = { type = "attribute", key = "tenant", predicate = "exists" }
            [[services]]
            service = "batch-jobs"
            slow_root = "30s"
            disabled_rules = ["slow_db"]
            "#,
        )
        .unwrap();
        assert_eq!(config.default_keep_share, 0.02);
        assert_eq!(config.rules[0].max_traces_per_second, Some(50.0));
        assert_eq!(
            config.rules[1].condition,
            Condition::SlowDatabaseCall {
                min_duration_nanos: 250_000_000
            }
        );
        assert_eq!(
            config.rules[3].condition,
            Condition::Attribute {
                key: "http.resend_count".to_owned(),
                predicate: AttributePredicate::AtLeast(2.0)
            }
        );
        assert_eq!(config.services[0].slow_root_nanos, Some(30 * SECOND));
        config.validate().unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains(r#""min_duration":"250ms""#), "{json}");
        assert_eq!(
            serde_json::from_str::<SamplingConfig>(&json).unwrap(),
            config
        );

        let missing_means_default: SamplingConfig = toml::from_str("").unwrap();
        assert_eq!(missing_means_default, SamplingConfig::default());
        let typo = toml::from_str::<SamplingConfig>(
            "[[rules]]\nname = \"x\"\ncondition = { type = \"slow_root\", min_duration = \"soon\" }",
        )
        .unwrap_err()
        .to_string();
        assert!(typo.contains("invalid duration \"soon\""), "{typo}");
        let unknown_type = toml::from_str::<SamplingConfig>(
            "[[rules]]\nname = \"x\"\ncondition = { type = \"everything\" }",
        )
        .unwrap_err()
        .to_string();
        assert!(unknown_type.contains("everything"), "{unknown_type}");
    }

    #[test]
    fn explain_names_every_rule_and_span_that_holds_without_marking_anything() {
        let mut config = SamplingConfig::default();
        config.rules[0].max_traces_per_second = Some(1.0);
        config.default_keep_share = 0.0;
        config.services.push(ServiceOverride {
            service: "lenient".to_owned(),
            slow_root_nanos: Some(10 * SECOND),
            keep_share: Some(1.0),
            ..ServiceOverride::default()
        });
        let sampler = sampler(config);
        let mut root = span(7, "shop", 2 * SECOND);
        root.parent_span_id = None;
        let mut failing = span(7, "shop", SECOND);
        failing.status = Status {
            code: StatusCode::Error,
            message: "declined".to_owned(),
        };
        let explanation = sampler.explain(&[root.clone(), failing]);
        let found: Vec<(&str, usize, bool)> = explanation
            .matches
            .iter()
            .map(|found| (found.rule.as_str(), found.span_index, found.rate_limited))
            .collect();
        assert_eq!(found, [("slow_root", 0, false), ("error", 1, true)]);
        assert!(!explanation.in_default_share);
        assert!(sampler.shard(sampler.shard_of(&root)).is_none());

        // The override's higher threshold and share apply to its service's spans.
        let mut lenient_root = root.clone();
        lenient_root.service_name = "lenient".to_owned();
        let explanation = sampler.explain(&[lenient_root]);
        assert!(explanation.matches.is_empty());
        assert!(explanation.in_default_share);
        assert_eq!(explanation.default_share, 1.0);
    }

    #[test]
    fn new_rules_apply_to_the_next_span_and_keep_marks_and_counters_of_same_named_rules() {
        let mut sampler = sampler(only(rule("error", Condition::ErrorStatus)));
        let mut failing = span(1, "shop", SECOND);
        failing.status.code = StatusCode::Error;
        assert!(kept_by(&mut sampler, &failing).is_some());
        let slow = span(2, "shop", 5 * SECOND);
        assert_eq!(kept_by(&mut sampler, &slow), None);
        let mut config = only(rule("error", Condition::ErrorStatus));
        config.rules.push(rule(
            "slow",
            Condition::Attribute {
                key: "missing".to_owned(),
                predicate: AttributePredicate::Exists,
            },
        ));
        config.rules[1].condition = Condition::SlowDatabaseCall {
            min_duration_nanos: SECOND,
        };
        let mut slow_database = span(3, "shop", 5 * SECOND);
        slow_database.attributes.push(text("db.system", "mysql"));
        sampler.replace_config(config).unwrap();
        assert!(is_marked(&sampler, &failing), "marks survive new rules");
        assert_eq!(
            kept_by(&mut sampler, &slow_database),
            Some(KeepReason::Rule("slow".to_owned()))
        );
        let counters: std::collections::HashMap<String, RuleCounters> =
            sampler.counters().into_iter().collect();
        assert_eq!(counters["error"].kept_traces, 1);
        assert_eq!(counters["slow"].kept_traces, 1);
        let bad = SamplingConfig {
            default_keep_share: -1.0,
            ..SamplingConfig::default()
        };
        assert!(sampler.replace_config(bad).is_err());
        assert_eq!(
            sampler.config().rules.len(),
            2,
            "refused rules change nothing"
        );
    }

    #[test]
    fn checkpointed_shards_restore_by_merging_into_what_is_marked_since() {
        let mut before = sampler(only(rule("error", Condition::ErrorStatus)));
        let mut failing = span(1, "shop", SECOND);
        failing.status.code = StatusCode::Error;
        before.observe(&failing, NOW);
        let checkpoint: Vec<Vec<u8>> = before.open_shards().map(ShardFilter::to_bytes).collect();
        let mut after = sampler(only(rule("error", Condition::ErrorStatus)));
        let mut other = span(2, "shop", SECOND);
        other.status.code = StatusCode::Error;
        after.observe(&other, NOW);
        for bytes in checkpoint {
            after
                .restore_shard(ShardFilter::from_bytes(&bytes).unwrap())
                .unwrap();
        }
        assert!(is_marked(&after, &failing) && is_marked(&after, &other));
        let narrow = Sampler::new(only(rule("error", Condition::ErrorStatus)), 60, SIZING);
        let shard = ShardFilter::new(ShardWindow::containing(NOW / SECOND, 600), SIZING).unwrap();
        assert!(narrow.unwrap().restore_shard(shard).is_err());
    }

    #[test]
    fn windows_to_check_follow_the_id_time_or_look_around_a_foreign_span() {
        let weft_id = trace_id(1);
        let windows: Vec<ShardWindow> =
            windows_to_check(&weft_id, NOW + 3_000 * SECOND, 600, 3).collect();
        assert_eq!(windows, [ShardWindow::containing(NOW / SECOND, 600)]);
        let foreign = TraceId::from_bytes([0xab; 16]);
        let windows: Vec<u64> = windows_to_check(&foreign, NOW, 600, 3)
            .map(|window| window.start_unix_seconds)
            .collect();
        let own = ShardWindow::containing(NOW / SECOND, 600).start_unix_seconds;
        assert_eq!(
            windows,
            [own - 1800, own - 1200, own - 600, own, own + 600],
            "three back, its own, one ahead"
        );
        assert_eq!(
            shard_window_of(&foreign, NOW, 600),
            (ShardWindow::containing(NOW / SECOND, 600), false)
        );
    }

    #[test]
    fn a_business_key_rule_with_keys_keeps_only_traces_carrying_one_of_them() {
        let mut sampler = sampler(only(rule(
            "orders",
            Condition::BusinessKey {
                keys: vec!["order.id".to_owned()],
            },
        )));
        let mut user_only = span(1, "shop", SECOND);
        user_only.business_keys.push(BusinessKey {
            name: "user.id".to_owned(),
            value: "42".to_owned(),
        });
        assert_eq!(kept_by(&mut sampler, &user_only), None);
        let mut order = span(2, "shop", SECOND);
        order.business_keys.push(BusinessKey {
            name: "order.id".to_owned(),
            value: "ORD-1".to_owned(),
        });
        assert_eq!(
            kept_by(&mut sampler, &order),
            Some(KeepReason::Rule("orders".to_owned()))
        );
        let defaults = SamplingConfig::default();
        assert!(defaults.rules.iter().any(|rule| rule.condition
            == Condition::BusinessKey {
                keys: vec!["order.id".to_owned(), "bizOrderId".to_owned()]
            }));
    }

    /// An error span of a foreign-ID trace starting at `start`: it is marked in its own
    /// start's window.
    fn error_span_at(trace: u64, start_unix_nanos: u64) -> Span {
        let mut span = span(trace, "shop", SECOND);
        span.trace_id = TraceId::from_bytes([
            0xf0 ^ (trace as u8),
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
            13,
            14,
            trace as u8,
        ]);
        span.start_time_unix_nanos = start_unix_nanos;
        span.end_time_unix_nanos = start_unix_nanos + SECOND;
        span.status = Status {
            code: StatusCode::Error,
            message: "boom".to_owned(),
        };
        span
    }

    #[test]
    fn spans_spread_over_many_windows_open_at_most_the_cap_of_shards() {
        // Every shard is a full-size filter: error spans in ten thousand distinct windows
        // (one small hostile request) once allocated ten thousand of them.
        let mut sampler = sampler(only(rule("error", Condition::ErrorStatus)));
        sampler.set_max_open_shards(4);
        let mut kept = 0;
        for window in 0..10_000u64 {
            let span = error_span_at(window, NOW + window * 600 * SECOND);
            kept += u64::from(kept_by(&mut sampler, &span).is_some());
        }
        assert_eq!(sampler.open_shards().count(), 4);
        assert_eq!(kept, 4);
        let refused = sampler.refused_marks();
        assert_eq!(refused.over_open_shard_cap, 9_996);
        assert_eq!(refused.late, 0);
        // A trace in a window already open is still kept at the cap.
        assert!(kept_by(&mut sampler, &error_span_at(20_001, NOW)).is_some());
    }

    #[test]
    fn a_mark_for_a_closed_window_is_refused_without_opening_a_shard() {
        let mut sampler = sampler(only(rule("error", Condition::ErrorStatus)));
        let window_end = (NOW / SECOND) - (NOW / SECOND) % 600 + 600;
        assert!(sampler.take_shards_ending_by(window_end).is_empty());
        let late = error_span_at(1, NOW);
        assert_eq!(kept_by(&mut sampler, &late), None);
        assert_eq!(
            sampler.open_shards().count(),
            0,
            "no filter allocated for it"
        );
        assert_eq!(sampler.refused_marks().late, 1);
        // The next window is open; a restart resumes from its checkpoint's closed-through.
        assert!(kept_by(&mut sampler, &error_span_at(2, NOW + 600 * SECOND)).is_some());
        let mut restarted = sampler_with_closed_through(window_end);
        assert_eq!(kept_by(&mut restarted, &late), None);
        assert_eq!(restarted.refused_marks().late, 1);
    }

    fn sampler_with_closed_through(unix_seconds: u64) -> Sampler {
        let mut sampler = sampler(only(rule("error", Condition::ErrorStatus)));
        sampler.set_closed_through(unix_seconds);
        sampler
    }
}
