use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use weft_model::{
    AttributeValue, InstrumentationScope, KeyValue, Resource, Span, SpanId, SpanKind, Status,
    StatusCode, TraceId,
};

use super::*;

pub(crate) const SECOND: u64 = 1_000_000_000;
/// 2026-11-21T10:00:00Z, a bucket boundary.
pub(crate) const BASE: u64 = 1_795_255_200 * SECOND;

/// A span for processor tests: every field not named here is empty.
pub(crate) struct SpanSpec<'a> {
    pub(crate) trace: u8,
    pub(crate) id: u8,
    pub(crate) parent: Option<u8>,
    pub(crate) service: &'a str,
    pub(crate) name: &'a str,
    pub(crate) kind: SpanKind,
    pub(crate) start: u64,
    pub(crate) duration: u64,
    pub(crate) error: bool,
    pub(crate) attributes: Vec<(&'a str, &'a str)>,
}

pub(crate) fn span_of(spec: SpanSpec<'_>) -> Span {
    Span {
        trace_id: TraceId::from_bytes([spec.trace; 16]),
        span_id: SpanId::from_bytes([spec.id; 8]),
        parent_span_id: spec.parent.map(|parent| SpanId::from_bytes([parent; 8])),
        trace_state: String::new(),
        flags: 0,
        name: spec.name.to_owned(),
        kind: spec.kind,
        start_time_unix_nanos: spec.start,
        end_time_unix_nanos: spec.start + spec.duration,
        attributes: spec
            .attributes
            .into_iter()
            .map(|(key, value)| KeyValue::new(key, AttributeValue::String(value.to_owned())))
            .collect(),
        dropped_attributes_count: 0,
        events: Vec::new(),
        dropped_events_count: 0,
        links: Vec::new(),
        dropped_links_count: 0,
        status: Status {
            code: if spec.error {
                StatusCode::Error
            } else {
                StatusCode::Unset
            },
            message: String::new(),
        },
        resource: Arc::new(Resource::default()),
        scope: Arc::new(InstrumentationScope::default()),
        service_name: spec.service.to_owned(),
        host_name: None,
        environment: None,
        region: None,
        business_keys: Vec::new(),
    }
}

fn span(service: &str, name: &str, start: u64, duration: u64, error: bool) -> Span {
    let route = format!("/{name}");
    let mut span = span_of(SpanSpec {
        trace: 1,
        id: 2,
        parent: None,
        service,
        name,
        kind: SpanKind::Server,
        start,
        duration,
        error,
        attributes: vec![("http.route", route.as_str())],
    });
    span.host_name = Some("host-1".into());
    span
}

fn drained(metrics: &mut SpanMetrics) -> BTreeMap<(u64, SeriesKey), Bucket> {
    metrics
        .drain_before(u64::MAX)
        .into_iter()
        .map(|(start, key, bucket)| ((start, key), bucket))
        .collect()
}

#[test]
fn calls_errors_and_durations_are_counted_per_series_and_bucket() {
    let mut metrics = SpanMetrics::new(SpanMetricsConfig::default());
    metrics.record(&span("shop", "GET /", BASE, 10, false));
    metrics.record(&span("shop", "GET /", BASE + 5 * SECOND, 30, true));
    metrics.record(&span("shop", "GET /", BASE + 31 * SECOND, 7, false));
    metrics.record(&span("shop", "POST /", BASE + 1, 5, false));
    let buckets = drained(&mut metrics);
    assert_eq!(
        buckets.len(),
        4,
        "two series in the first bucket (status differs), ..."
    );
    let first: Vec<&Bucket> = buckets
        .iter()
        .filter(|((start, key), _)| *start == BASE / SECOND && key.span_name == "GET /")
        .map(|(_, bucket)| bucket)
        .collect();
    assert_eq!(first.len(), 2, "unset and error are separate series");
    let calls: u64 = first.iter().map(|bucket| bucket.calls).sum();
    let errors: u64 = first.iter().map(|bucket| bucket.errors).sum();
    assert_eq!((calls, errors), (2, 1));
    let later = &buckets[&(
        BASE / SECOND + 30,
        SeriesKey {
            service_name: "shop".into(),
            span_name: "GET /".into(),
            span_kind: SpanKind::Server.to_otlp(),
            status_code: 0,
            host_name: Some("host-1".into()),
            environment: None,
            region: None,
            extra: Vec::new(),
        },
    )];
    assert_eq!(
        (
            later.calls,
            later.duration_sum_nanos,
            later.duration_min_nanos,
            later.duration_max_nanos
        ),
        (1, 7, 7, 7)
    );
}

#[test]
fn extra_dimensions_come_from_span_then_resource_attributes() {
    let mut metrics = SpanMetrics::new(SpanMetricsConfig {
        extra_dimensions: vec!["http.route".into(), "missing".into()],
        ..SpanMetricsConfig::default()
    });
    metrics.record(&span("shop", "GET", BASE, 1, false));
    let buckets = drained(&mut metrics);
    let (_, key) = buckets.keys().next().expect("a bucket");
    assert_eq!(key.extra, vec![Some("/GET".to_owned()), None]);
}

#[test]
fn a_service_past_its_series_cap_goes_to_its_overflow_series_counted() {
    let mut metrics = SpanMetrics::new(SpanMetricsConfig {
        max_series_per_service: 2,
        ..SpanMetricsConfig::default()
    });
    for name in ["a", "b", "c", "d", "a"] {
        metrics.record(&span("shop", name, BASE, 1, false));
    }
    metrics.record(&span("other", "z", BASE, 1, false));
    assert_eq!(metrics.overflowed_spans(), 2);
    let buckets = drained(&mut metrics);
    let names: Vec<&str> = buckets
        .keys()
        .filter(|(_, key)| key.service_name == "shop")
        .map(|(_, key)| key.span_name.as_str())
        .collect();
    assert_eq!(names, vec![OVERFLOW_SPAN_NAME, "a", "b"]);
    let overflow = buckets
        .iter()
        .find(|((_, key), _)| key.span_name == OVERFLOW_SPAN_NAME)
        .expect("overflow series");
    assert_eq!(overflow.1.calls, 2);
}

#[test]
fn a_late_span_after_its_bucket_was_drained_emits_a_delta_that_merges_into_it() {
    let mut metrics = SpanMetrics::new(SpanMetricsConfig::default());
    metrics.record(&span("shop", "GET /", BASE, 10, false));
    metrics.record(&span("shop", "GET /", BASE + 40 * SECOND, 10, false));
    let first = metrics.drain_before(BASE / SECOND + 30);
    assert_eq!(first.len(), 1, "only the closed bucket is drained");
    assert_eq!(metrics.open_buckets(), 1);
    metrics.record(&span("shop", "GET /", BASE + 3 * SECOND, 20, false));
    let late = metrics.drain_before(BASE / SECOND + 30);
    assert_eq!(late.len(), 1);
    let stored = roll_up(first.into_iter().chain(late), 30);
    assert_eq!(stored.len(), 1, "the delta merged into the stored bucket");
    let bucket = stored.values().next().expect("the bucket");
    assert_eq!(
        (
            bucket.calls,
            bucket.duration_sum_nanos,
            bucket.duration_max_nanos
        ),
        (2, 30, 20)
    );
}

#[test]
fn rollups_equal_the_sum_of_their_parts() {
    let mut metrics = SpanMetrics::new(SpanMetricsConfig::default());
    let mut random = rand::rngs::SmallRng::seed_from_u64(7);
    for _ in 0..5_000 {
        let offset = random.random_range(0..3_600) * SECOND;
        let duration = random.random_range(1_000..5_000_000);
        metrics.record(&span(
            "shop",
            "GET /",
            BASE + offset,
            duration,
            random.random_bool(0.1),
        ));
    }
    let buckets = metrics.drain_before(u64::MAX);
    let calls: u64 = buckets.iter().map(|(_, _, bucket)| bucket.calls).sum();
    let sum: u128 = buckets.iter().map(|(_, _, b)| b.duration_sum_nanos).sum();
    for resolution in [600, 3_600] {
        let rolled = roll_up(buckets.clone(), resolution);
        assert!(rolled.keys().all(|(start, _)| start % resolution == 0));
        assert_eq!(rolled.values().map(|b| b.calls).sum::<u64>(), calls);
        assert_eq!(
            rolled.values().map(|b| b.duration_sum_nanos).sum::<u128>(),
            sum
        );
    }
    let hourly = roll_up(buckets.clone(), 3_600);
    let from_ten_minutes = roll_up(
        roll_up(buckets, 600)
            .into_iter()
            .map(|((start, key), bucket)| (start, key, bucket)),
        3_600,
    );
    for (key, bucket) in &hourly {
        let other = &from_ten_minutes[key];
        assert_eq!((bucket.calls, bucket.errors), (other.calls, other.errors));
        assert_eq!(bucket.quantile_nanos(0.99), other.quantile_nanos(0.99));
    }
}

/// The exact value at the sketch's rank definition: floor(q × (n − 1)) of the sorted values.
fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    sorted[(q * (sorted.len() as f64 - 1.0)) as usize]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Percentiles of a bucket, and of a merge of two buckets, are within the sketch's stated
    /// relative accuracy of the exact percentiles.
    #[test]
    fn quantiles_stay_within_the_sketch_accuracy_after_merging(
        durations in prop::collection::vec(1u64..10_000_000_000, 1..2_000),
        split in 0usize..2_000,
    ) {
        let split = split.min(durations.len());
        let (mut left, mut right) = (Bucket::default(), Bucket::default());
        for (index, duration) in durations.iter().enumerate() {
            if index < split { left.record(*duration, false) } else { right.record(*duration, false) }
        }
        left.merge(&right);
        let mut sorted = durations.clone();
        sorted.sort_unstable();
        prop_assert_eq!(left.calls, durations.len() as u64);
        prop_assert_eq!(left.duration_min_nanos, sorted[0]);
        prop_assert_eq!(left.duration_max_nanos, *sorted.last().unwrap());
        for q in [0.5, 0.9, 0.95, 0.99] {
            let exact = exact_quantile(&sorted, q) as f64;
            let estimate = left.quantile_nanos(q).unwrap() as f64;
            // 1 % relative accuracy, plus rounding to whole nanoseconds.
            prop_assert!(
                (estimate - exact).abs() <= exact * SKETCH_RELATIVE_ACCURACY + 1.0,
                "q {}: estimate {} exact {}", q, estimate, exact
            );
        }
    }
}

fn exemplar_reasons(bucket: &Bucket) -> Vec<(ExemplarReason, u64)> {
    bucket
        .exemplars
        .sorted()
        .iter()
        .map(|exemplar| (exemplar.reason, exemplar.duration_nanos))
        .collect()
}

fn span_in_trace(trace: u8, duration: u64, error: bool) -> Span {
    let mut span = span("shop", "GET /", BASE, duration, error);
    span.trace_id = TraceId::from_bytes([trace; 16]);
    span
}

#[test]
fn a_bucket_links_its_ten_slowest_spans_and_a_bounded_sample() {
    let mut metrics = SpanMetrics::new(SpanMetricsConfig::default());
    for trace in 1..=50u8 {
        metrics.record(&span_in_trace(trace, u64::from(trace) * 1_000, false));
    }
    let buckets = drained(&mut metrics);
    let bucket = buckets.values().next().unwrap();
    let slowest: Vec<u64> = exemplar_reasons(bucket)
        .into_iter()
        .filter(|(reason, _)| *reason == ExemplarReason::Slowest)
        .map(|(_, duration)| duration)
        .collect();
    assert_eq!(
        slowest,
        (41..=50).rev().map(|t| t * 1_000).collect::<Vec<_>>()
    );
    let sampled: Vec<Exemplar> = bucket
        .exemplars
        .iter()
        .filter(|e| e.reason == ExemplarReason::Sampled)
        .copied()
        .collect();
    assert_eq!(sampled.len(), ExemplarPolicy::default().sample_size);
    // The sample is the bottom-k by hash of all the traces, so it is reproducible.
    let mut hashes: Vec<u64> = (1..=50u8).map(|t| sampling_hash(&[t; 16])).collect();
    hashes.sort_unstable();
    let mut kept: Vec<u64> = sampled.iter().map(Exemplar::sampling_hash).collect();
    kept.sort_unstable();
    assert_eq!(kept, hashes[..kept.len()]);
    assert!(
        !bucket
            .exemplars
            .iter()
            .any(|e| e.reason == ExemplarReason::Keyword),
        "healthy spans match no keyword"
    );
}

#[test]
fn keyword_matches_in_status_events_and_exceptions_are_linked() {
    let keywords = ExemplarPolicy::default().keywords;
    let mut failed = span_in_trace(1, 10, false);
    failed.status.message = "upstream request Failed after retries".into();
    assert!(matches_keywords(&failed, &keywords));
    let mut error_status = span_in_trace(2, 10, true);
    error_status.status.message.clear();
    assert!(matches_keywords(&error_status, &keywords), "status ERROR");
    let mut with_event = span_in_trace(3, 10, false);
    with_event.events.push(weft_model::Event {
        time_unix_nanos: BASE,
        name: "retry".into(),
        attributes: vec![KeyValue::new(
            "exception.type",
            AttributeValue::String("java.io.IOException".into()),
        )],
        dropped_attributes_count: 0,
    });
    assert!(matches_keywords(&with_event, &keywords));
    assert!(!matches_keywords(&span_in_trace(4, 10, false), &keywords));

    let mut metrics = SpanMetrics::new(SpanMetricsConfig::default());
    for span in [&failed, &with_event, &span_in_trace(4, 10, false)] {
        metrics.record(span);
    }
    let buckets = drained(&mut metrics);
    let linked: Vec<TraceId> = buckets
        .values()
        .flat_map(|bucket| bucket.exemplars.iter())
        .filter(|e| e.reason == ExemplarReason::Keyword)
        .map(Exemplar::trace_id)
        .collect();
    assert_eq!(linked.len(), 2);
    assert!(linked.contains(&failed.trace_id) && linked.contains(&with_event.trace_id));
}

fn error_increase_links(bucket: &Bucket) -> usize {
    bucket
        .exemplars
        .iter()
        .filter(|e| e.reason == ExemplarReason::ErrorIncrease)
        .count()
}

#[test]
fn failing_calls_are_linked_only_when_the_error_rate_rises() {
    let mut metrics = SpanMetrics::new(SpanMetricsConfig::default());
    let bucket_at = |index: u64, calls: u64, errors: u64, metrics: &mut SpanMetrics| {
        for call in 0..calls {
            let mut span = span(
                "shop",
                "GET /",
                BASE + index * 30 * SECOND,
                10,
                call < errors,
            );
            span.trace_id = TraceId::from_bytes([(index * 16 + call) as u8; 16]);
            metrics.record(&span);
        }
        let closed = metrics.drain_before((BASE / SECOND) + (index + 1) * 30);
        let errors: Vec<Bucket> = closed
            .into_iter()
            .filter(|(_, key, _)| key.status_code() == StatusCode::Error)
            .map(|(_, _, bucket)| bucket)
            .collect();
        errors.into_iter().next().unwrap_or_default()
    };
    let first = bucket_at(0, 10, 1, &mut metrics);
    assert_eq!(
        error_increase_links(&first),
        0,
        "nothing to compare with yet"
    );
    let rising = bucket_at(1, 10, 3, &mut metrics);
    assert_eq!(error_increase_links(&rising), 3);
    let steady = bucket_at(2, 10, 3, &mut metrics);
    assert_eq!(error_increase_links(&steady), 0, "same rate: no link");
    let falling = bucket_at(3, 10, 1, &mut metrics);
    assert_eq!(error_increase_links(&falling), 0);
}

#[test]
fn an_alerting_series_samples_more_calls() {
    let mut metrics = SpanMetrics::new(SpanMetricsConfig::default());
    let sampled_in = |index: u64, errors: u64, metrics: &mut SpanMetrics| {
        for call in 0..40u64 {
            let mut span = span(
                "shop",
                "GET /",
                BASE + index * 30 * SECOND,
                10,
                call < errors,
            );
            span.trace_id = TraceId::from_bytes([(index * 50 + call) as u8; 16]);
            metrics.record(&span);
        }
        let closed = metrics.drain_before((BASE / SECOND) + (index + 1) * 30);
        let healthy = closed
            .iter()
            .find(|(_, key, _)| key.status_code() != StatusCode::Error)
            .expect("the healthy series");
        healthy
            .2
            .exemplars
            .iter()
            .filter(|e| e.reason == ExemplarReason::Sampled)
            .count()
    };
    let policy = ExemplarPolicy::default();
    assert_eq!(sampled_in(0, 10, &mut metrics), policy.sample_size);
    // The bucket before had a 25 % error rate: this one samples at the alerting size.
    assert_eq!(sampled_in(1, 0, &mut metrics), policy.alerting_sample_size);
    assert_eq!(
        sampled_in(2, 0, &mut metrics),
        policy.sample_size,
        "recovered"
    );
}

#[test]
fn merged_exemplars_keep_the_slowest_and_lowest_hashes_of_the_union() {
    let mut parts = Vec::new();
    let mut whole = Bucket::default();
    for part in 0..4u8 {
        let mut bucket = Bucket::default();
        for index in 0..25u8 {
            let trace = part * 25 + index;
            let exemplar = |reason| Exemplar {
                trace_id: [trace; 16],
                span_id: [1; 8],
                start_unix_nanos: BASE,
                duration_nanos: u64::from(trace) * 7 % 101,
                is_error: false,
                reason,
            };
            for target in [&mut bucket, &mut whole] {
                target.record(u64::from(trace), false);
                target
                    .exemplars
                    .offer(exemplar(ExemplarReason::Slowest), 10);
                target
                    .exemplars
                    .offer(exemplar(ExemplarReason::Sampled), 10);
            }
        }
        parts.push(bucket);
    }
    let mut merged = Bucket::default();
    for part in &parts {
        merged.merge(part);
    }
    assert_eq!(merged.exemplars.sorted(), whole.exemplars.sorted());
}

#[test]
fn a_snapshot_restores_open_buckets_and_series_state_exactly() {
    let config = SpanMetricsConfig {
        max_series_per_service: 2,
        ..SpanMetricsConfig::default()
    };
    let mut metrics = SpanMetrics::new(config.clone());
    for (index, name) in ["a", "b", "c", "a"].iter().enumerate() {
        let mut span = span(
            "shop",
            name,
            BASE + index as u64 * SECOND,
            100 + index as u64,
            index == 1,
        );
        span.trace_id = TraceId::from_bytes([index as u8 + 1; 16]);
        metrics.record(&span);
    }
    let bytes = postcard::to_stdvec(&metrics.snapshot()).unwrap();
    let mut restored = SpanMetrics::restore(config, postcard::from_bytes(&bytes).unwrap());
    assert_eq!(restored.overflowed_spans(), 1);
    assert_eq!(restored.series_count(), 2);
    let (before, after) = (drained(&mut metrics), drained(&mut restored));
    assert_eq!(before.len(), after.len());
    for (key, bucket) in &before {
        let other = &after[key];
        assert_eq!(format!("{bucket:?}"), format!("{other:?}"));
        assert_eq!(bucket.exemplars.sorted(), other.exemplars.sorted());
        assert_eq!(bucket.quantile_nanos(0.5), other.quantile_nanos(0.5));
        assert_eq!(bucket.sketch_bytes(), other.sketch_bytes());
    }
}

/// The per-span lookup hashes a key borrowed from the span; it must hash exactly like the owned
/// key, or every span of a known series would miss it and allocate a new key.
#[test]
fn a_known_series_is_found_by_the_borrowed_key_with_every_kind_of_dimension() {
    let mut metrics = SpanMetrics::new(SpanMetricsConfig {
        extra_dimensions: vec!["tenant".into(), "shard".into(), "absent".into()],
        ..SpanMetricsConfig::default()
    });
    let mut first = span("shop", "GET /", BASE, 10, false);
    first.environment = Some("prod".into());
    first.attributes.push(KeyValue {
        key: "tenant".into(),
        value: AttributeValue::String("acme".into()),
    });
    first.attributes.push(KeyValue {
        key: "shard".into(),
        value: AttributeValue::Int(7),
    });
    assert_eq!(metrics.known_series_of(&first), None);
    let (id, _) = metrics.series_of(&first);
    assert_eq!(metrics.known_series_of(&first), Some(id));
    assert_eq!(
        metrics.key(id).extra,
        vec![Some("acme".into()), Some("7".into()), None]
    );
    let mut other_shard = first.clone();
    other_shard.attributes.last_mut().unwrap().value = AttributeValue::Int(8);
    assert_eq!(metrics.known_series_of(&other_shard), None);
    let (other, _) = metrics.series_of(&other_shard);
    assert_ne!(other, id);
    assert_eq!(metrics.known_series_of(&other_shard), Some(other));
    assert_eq!(metrics.series_count(), 2);
}

#[test]
fn a_stored_sketch_of_another_accuracy_is_refused_when_read_not_at_merge() {
    // Such a sketch decodes fine but could never merge with the live ones: merging it into a
    // bucket once panicked (reads from disk are not to be trusted).
    let mut foreign =
        sketches_ddsketch::DDSketch::new(sketches_ddsketch::Config::new(0.05, 2048, 1e-9));
    foreign.add(1_000.0);
    let read = Bucket::from_parts(
        1,
        0,
        1_000,
        1_000,
        1_000,
        &foreign.to_java_bytes(),
        Exemplars::default(),
    );
    let error = read.expect_err("a foreign accuracy is refused");
    assert!(error.to_string().contains("relative accuracy"), "{error}");

    let mut ours = Bucket::default();
    ours.record(2_000, false);
    let stored = Bucket::from_parts(
        1,
        0,
        2_000,
        2_000,
        2_000,
        &ours.sketch_bytes(),
        Exemplars::default(),
    )
    .expect("weft's own sketch reads back");
    let mut merged = Bucket::default();
    merged.record(1_000, true);
    merged.merge(&stored);
    assert_eq!(merged.calls, 2);
    let p100 = merged.quantile_nanos(1.0).expect("two durations");
    assert!((1_980..=2_020).contains(&p100), "{p100}");
}

#[test]
fn spans_spread_over_many_buckets_open_at_most_the_cap() {
    // Late spans, each in a bucket of its own, once opened a bucket apiece without bound.
    let mut metrics = SpanMetrics::new(SpanMetricsConfig {
        max_open_buckets: 10,
        ..SpanMetricsConfig::default()
    });
    for bucket in 0..1_000u64 {
        metrics.record(&span(
            "shop",
            "GET",
            BASE + bucket * 30_000_000_000,
            1,
            false,
        ));
    }
    assert_eq!(metrics.open_buckets(), 10);
    assert_eq!(metrics.spans_over_open_bucket_cap(), 990);
    // A span for a bucket already open still counts at the cap.
    metrics.record(&span("shop", "GET", BASE, 1, false));
    let buckets = drained(&mut metrics);
    let calls: u64 = buckets.values().map(|bucket| bucket.calls).sum();
    assert_eq!(calls, 11);
}
