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
