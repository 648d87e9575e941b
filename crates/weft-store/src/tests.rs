use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use weft_codec::{spans_from_otlp, ConversionOptions};
use weft_model::{AttributeValue, Span, SpanKind, StatusCode, TraceId};

use super::*;
use weft_storage::TraceIdRange;

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}

fn conversion() -> ConversionOptions {
    ConversionOptions {
        business_key_names: vec!["order.id".into(), "user.id".into()],
    }
}

fn config(directory: &std::path::Path) -> StoreConfig {
    StoreConfig {
        conversion: conversion(),
        // Flushes happen when a test asks for them.
        flush_interval: Duration::from_secs(3600),
        ..StoreConfig::new(directory)
    }
}

fn generated(seed: u64, traces: usize, now: u64) -> Vec<Span> {
    let batch = weft_gen::TraceGenerator::new(seed).next_batch(traces, now);
    spans_from_otlp(batch.request, &conversion()).spans
}

fn by_trace(spans: &[Span]) -> HashMap<TraceId, Vec<Span>> {
    let mut traces: HashMap<TraceId, Vec<Span>> = HashMap::new();
    for span in spans {
        traces.entry(span.trace_id).or_default().push(span.clone());
    }
    for spans in traces.values_mut() {
        spans.sort_by_key(|span| (span.start_time_unix_nanos, span.span_id));
    }
    traces
}

fn write_all(store: &EmbeddedStore, spans: &[Span], position: u64) {
    store
        .write(position, Arc::new(spans.to_vec()))
        .expect("write");
}

fn assert_every_trace_found(store: &EmbeddedStore, spans: &[Span]) {
    for (trace_id, expected) in by_trace(spans) {
        let found = store.trace(&TraceQuery::new(trace_id)).expect("trace");
        assert_eq!(found, expected, "trace {trace_id:?} read back differs");
    }
}

#[test]
fn spans_are_found_by_id_from_the_memtable_and_after_flush_unchanged() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    let spans = generated(1, 50, now_nanos());
    write_all(&store, &spans, 1);
    assert_every_trace_found(&store, &spans);
    assert_eq!(store.durable_position(), 0, "nothing flushed yet");

    store.flush().expect("flush");
    assert_eq!(store.durable_position(), 1);
    let stats = store.stats();
    assert_eq!(stats.memtable_spans, 0);
    assert_eq!(stats.segment_rows, spans.len() as u64);
    assert_every_trace_found(&store, &spans);
}

#[test]
fn a_reopened_store_has_its_flushed_spans_and_reports_their_position() {
    let directory = tempfile::tempdir().expect("tempdir");
    let spans = generated(2, 40, now_nanos());
    {
        let store = EmbeddedStore::open(config(directory.path())).expect("open");
        write_all(&store, &spans, 7);
        store.close().expect("close");
    }
    let store = EmbeddedStore::open(config(directory.path())).expect("reopen");
    assert_eq!(store.durable_position(), 7);
    assert_every_trace_found(&store, &spans);
    assert!(store
        .services()
        .expect("services")
        .contains(&"frontend".to_owned()));
}

#[test]
fn files_the_manifest_does_not_list_are_removed_at_open() {
    let directory = tempfile::tempdir().expect("tempdir");
    let spans = generated(3, 10, now_nanos());
    {
        let store = EmbeddedStore::open(config(directory.path())).expect("open");
        write_all(&store, &spans, 1);
        store.close().expect("close");
    }
    let partition = std::fs::read_dir(directory.path().join("spans"))
        .expect("spans dir")
        .next()
        .expect("a partition")
        .expect("entry")
        .path();
    let stray = partition.join("999999999999.parquet");
    let temporary = partition.join("000000000123.parquet.tmp");
    std::fs::write(&stray, b"not parquet").expect("write stray");
    std::fs::write(&temporary, b"half written").expect("write tmp");
    let store = EmbeddedStore::open(config(directory.path())).expect("reopen");
    assert!(!stray.exists() && !temporary.exists());
    assert_every_trace_found(&store, &spans);
}

#[test]
fn an_unknown_trace_id_is_an_empty_answer_from_memtable_and_segments() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    write_all(&store, &generated(4, 20, now_nanos()), 1);
    let unknown = TraceId::from_bytes([0x42; 16]);
    assert!(store
        .trace(&TraceQuery::new(unknown))
        .expect("trace")
        .is_empty());
    store.flush().expect("flush");
    assert!(store
        .trace(&TraceQuery::new(unknown))
        .expect("trace")
        .is_empty());
}

#[test]
fn time_bounds_on_a_trace_lookup_keep_only_spans_starting_within_them() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    let spans = generated(5, 5, now_nanos());
    write_all(&store, &spans, 1);
    store.flush().expect("flush");
    let (trace_id, trace) = by_trace(&spans).into_iter().next().expect("a trace");
    let second_start = trace[1].start_time_unix_nanos;
    let found = store
        .trace(&TraceQuery {
            start_unix_nanos: Some(second_start),
            ..TraceQuery::new(trace_id)
        })
        .expect("trace");
    let expected: Vec<Span> = trace
        .into_iter()
        .filter(|span| span.start_time_unix_nanos >= second_start)
        .collect();
    assert_eq!(found, expected);
}

/// Every search, answered from the memtable and then from segments, against a brute-force
/// answer computed from the spans themselves.
#[test]
fn search_agrees_with_brute_force_before_and_after_flush() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    let now = now_nanos();
    let spans = generated(6, 300, now);
    write_all(&store, &spans, 1);
    let window = (now - 3_600_000_000_000, now + 60_000_000_000);
    let some_trace = spans[0].trace_id.to_hex();
    let order_id = spans
        .iter()
        .find_map(|span| span.business_keys.iter().find(|key| key.name == "order.id"))
        .expect("generated spans carry order ids")
        .value
        .clone();
    let queries: Vec<(&str, SearchQuery)> = vec![
        (
            "everything",
            SearchQuery::in_range(window.0, window.1, 1000),
        ),
        (
            "service",
            SearchQuery {
                service: Some("order-service".into()),
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
        (
            "service and operation and kind",
            SearchQuery {
                service: Some("frontend".into()),
                operation: Some("GET /products/{id}".into()),
                span_kind: Some(SpanKind::Server),
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
        (
            "errors",
            SearchQuery {
                status: Some(StatusFilter::Error),
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
        (
            "attribute and resource attribute",
            SearchQuery {
                attributes: vec![
                    ("http.request.method".into(), "GET".into()),
                    ("service.name".into(), "frontend".into()),
                ],
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
        (
            "int attribute",
            SearchQuery {
                attributes: vec![("http.response.status_code".into(), "200".into())],
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
        (
            "business key",
            SearchQuery {
                business_key: Some(order_id),
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
        (
            "duration",
            SearchQuery {
                min_duration_nanos: Some(5_000_000),
                max_duration_nanos: Some(400_000_000),
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
        (
            "trace id prefix",
            SearchQuery {
                trace_id_prefix: Some(some_trace[..9].to_owned()),
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
        (
            "root service",
            SearchQuery {
                root_service: Some("frontend".into()),
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
        (
            "span condition and root operation",
            SearchQuery {
                service: Some("payment-service".into()),
                root_operation: Some("POST /checkout".into()),
                ..SearchQuery::in_range(window.0, window.1, 1000)
            },
        ),
    ];
    let traces = by_trace(&spans);
    let expected_for = |query: &SearchQuery| -> BTreeSet<TraceId> {
        let range = query
            .trace_id_prefix
            .as_deref()
            .map(|prefix| TraceIdRange::from_prefix(prefix).expect("prefix"));
        traces
            .iter()
            .filter(|(_, trace)| {
                trace
                    .iter()
                    .any(|span| query.matches_span(span, range.as_ref()))
                    && (!query.has_root_conditions()
                        || trace.iter().any(|span| {
                            span.parent_span_id.is_none()
                                && query
                                    .root_service
                                    .as_ref()
                                    .is_none_or(|s| *s == span.service_name)
                                && query
                                    .root_operation
                                    .as_ref()
                                    .is_none_or(|n| *n == span.name)
                        }))
            })
            .map(|(trace_id, _)| *trace_id)
            .collect()
    };
    for flushed in [false, true] {
        if flushed {
            store.flush().expect("flush");
        }
        for (what, query) in &queries {
            let found: BTreeSet<TraceId> = store
                .search(query)
                .expect("search")
                .traces
                .iter()
                .map(|summary| summary.trace_id)
                .collect();
            let expected = expected_for(query);
            assert!(
                !expected.is_empty(),
                "{what}: the query should match something"
            );
            assert_eq!(found, expected, "{what} (flushed: {flushed})");
        }
    }
}

#[test]
fn search_results_are_summaries_newest_first_within_the_limit() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    let now = now_nanos();
    let spans = generated(7, 60, now);
    write_all(&store, &spans, 1);
    store.flush().expect("flush");
    let result = store
        .search(&SearchQuery::in_range(
            now - 3_600_000_000_000,
            now + 60_000_000_000,
            10,
        ))
        .expect("search");
    assert_eq!(result.traces.len(), 10);
    assert!(!result.partial);
    let starts: Vec<u64> = result.traces.iter().map(|t| t.start_unix_nanos).collect();
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, sorted, "newest first");
    let traces = by_trace(&spans);
    for summary in &result.traces {
        let trace = &traces[&summary.trace_id];
        let root = trace
            .iter()
            .find(|span| span.parent_span_id.is_none())
            .expect("generated traces have roots");
        assert!(summary.root_span_found);
        assert_eq!(summary.root_service_name, root.service_name);
        assert_eq!(summary.root_span_name, root.name);
        assert_eq!(summary.span_count, trace.len());
        assert_eq!(
            summary.error_count,
            trace
                .iter()
                .filter(|span| span.status.code == StatusCode::Error)
                .count()
        );
        let services: BTreeSet<&str> = trace.iter().map(|s| s.service_name.as_str()).collect();
        let summarized: BTreeSet<&str> = summary
            .services
            .iter()
            .map(|s| s.service_name.as_str())
            .collect();
        assert_eq!(summarized, services);
        let end = trace
            .iter()
            .map(|s| s.end_time_unix_nanos)
            .max()
            .expect("spans");
        assert_eq!(summary.start_unix_nanos, trace[0].start_time_unix_nanos);
        assert_eq!(summary.duration_nanos, end - trace[0].start_time_unix_nanos);
    }
}

#[test]
fn bad_searches_are_refused_with_a_reason() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    let cases = [
        (SearchQuery::in_range(10, 5, 10), "inverted"),
        (SearchQuery::in_range(0, 5, 0), "limit"),
        (SearchQuery::in_range(0, 5, MAX_SEARCH_LIMIT + 1), "limit"),
        (
            SearchQuery {
                trace_id_prefix: Some("xyz".into()),
                ..SearchQuery::in_range(0, 5, 10)
            },
            "not hex",
        ),
        (
            SearchQuery {
                min_duration_nanos: Some(10),
                max_duration_nanos: Some(5),
                ..SearchQuery::in_range(0, 5, 10)
            },
            "min duration",
        ),
    ];
    for (query, reason) in cases {
        match store.search(&query) {
            Err(StoreError::InvalidQuery(message)) => {
                assert!(
                    message.contains(reason),
                    "{message:?} should say {reason:?}"
                )
            }
            other => panic!("expected an invalid query error, got {other:?}"),
        }
    }
}

#[test]
fn compaction_merges_segments_into_one_sorted_segment_with_every_span() {
    let directory = tempfile::tempdir().expect("tempdir");
    // The background thread leaves this open partition alone; the test compacts explicitly.
    let store = EmbeddedStore::open(StoreConfig {
        compaction_min_segments: usize::MAX,
        ..config(directory.path())
    })
    .expect("open");
    let now = now_nanos();
    let mut all = Vec::new();
    for round in 0..4u64 {
        let spans = generated(10 + round, 40, now);
        write_all(&store, &spans, round + 1);
        store.flush().expect("flush");
        all.extend(spans);
    }
    let before = store.stats();
    assert!(before.segments >= 4, "{before:?}");
    let merged = store.compact_now().expect("compact");
    assert!(merged >= 1);
    let after = store.stats();
    assert_eq!(after.segment_rows, all.len() as u64, "{after:?}");
    assert!(after.segments < before.segments);
    assert_every_trace_found(&store, &all);
    // And after a restart, from the manifest alone, with the inputs deleted.
    drop(store);
    let store = EmbeddedStore::open(config(directory.path())).expect("reopen");
    assert_every_trace_found(&store, &all);
    let files = walk_parquet_files(directory.path());
    assert_eq!(files.len() as u64, store.stats().segments, "{files:?}");
}

fn walk_parquet_files(directory: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for partition in std::fs::read_dir(directory.join("spans")).expect("spans") {
        for file in std::fs::read_dir(partition.expect("partition").path()).expect("partition") {
            files.push(file.expect("file").path());
        }
    }
    files
}

#[test]
fn retention_drops_partitions_past_the_age_and_keeps_younger_ones() {
    let directory = tempfile::tempdir().expect("tempdir");
    let now = now_nanos();
    let old = generated(20, 20, now - 3 * 3_600_000_000_000);
    let young = generated(21, 20, now);
    {
        // Written while three hours were within retention.
        let store = EmbeddedStore::open(config(directory.path())).expect("open");
        write_all(&store, &old, 1);
        write_all(&store, &young, 2);
        store.close().expect("close");
    }
    let store = EmbeddedStore::open(StoreConfig {
        retention: Duration::from_secs(3600),
        ..config(directory.path())
    })
    .expect("reopen with one hour");
    // The maintenance thread may have applied it already; either way the old partitions go.
    store.apply_retention(now).expect("retention");
    for (trace_id, _) in by_trace(&old) {
        assert!(store
            .trace(&TraceQuery::new(trace_id))
            .expect("trace")
            .is_empty());
    }
    assert_every_trace_found(&store, &young);
    assert_eq!(store.stats().segment_rows, young.len() as u64);
    drop(store);
    let store = EmbeddedStore::open(config(directory.path())).expect("reopen");
    assert_eq!(store.stats().segment_rows, young.len() as u64);
    assert_eq!(
        walk_parquet_files(directory.path()).len() as u64,
        store.stats().segments
    );
}

#[test]
fn operations_and_attribute_catalog_list_what_was_written() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    let spans = generated(30, 100, now_nanos());
    write_all(&store, &spans, 1);
    let services: BTreeSet<String> = spans.iter().map(|s| s.service_name.clone()).collect();
    assert_eq!(
        store.services().expect("services"),
        services.into_iter().collect::<Vec<_>>()
    );
    let server_operations: BTreeSet<String> = spans
        .iter()
        .filter(|s| s.service_name == "frontend" && s.kind == SpanKind::Server)
        .map(|s| s.name.clone())
        .collect();
    let listed: BTreeSet<String> = store
        .operations("frontend", Some(SpanKind::Server))
        .expect("operations")
        .into_iter()
        .map(|operation| operation.name)
        .collect();
    assert_eq!(listed, server_operations);
    let keys = store.attribute_keys(Some("frontend")).expect("keys");
    assert!(keys
        .iter()
        .any(|k| k.key == "http.request.method" && k.scope == "span"));
    assert!(keys
        .iter()
        .any(|k| k.key == "host.name" && k.scope == "resource"));
    assert!(store
        .attribute_values("http.request.method", "G")
        .expect("values")
        .contains(&"GET".to_owned()));
}

#[test]
fn partitions_are_ten_minutes_and_implausible_starts_file_under_arrival_time() {
    let retention = Duration::from_secs(3 * 86_400);
    let now = 1_700_000_123 * 1_000_000_000u64;
    let partition = |start| embedded::partition_of(start, now, retention);
    assert_eq!(partition(now), 1_700_000_123 - 1_700_000_123 % 600);
    assert_eq!(partition(now - 3_600_000_000_000), partition(now) - 3_600);
    let far_future = now + 86_400 * 1_000_000_000;
    assert_eq!(partition(far_future), partition(now));
    let older_than_retention = now - 4 * 86_400 * 1_000_000_000;
    assert_eq!(partition(older_than_retention), partition(now));
    assert_eq!(partition(0), partition(now));
}

#[test]
fn trace_id_prefixes_cover_exactly_their_ids() {
    let range = TraceIdRange::from_prefix("abc").expect("prefix");
    let inside = TraceId::from_hex("abcfffffffffffffffffffffffffffff").expect("hex");
    let below = TraceId::from_hex("abbfffffffffffffffffffffffffffff").expect("hex");
    let above = TraceId::from_hex("abd00000000000000000000000000000").expect("hex");
    assert!(range.contains(&inside));
    assert!(!range.contains(&below));
    assert!(!range.contains(&above));
}

#[test]
fn concurrent_compactions_never_merge_the_same_segments_twice() {
    let directory = tempfile::tempdir().expect("tempdir");
    // The background thread compacts at two segments too, racing the explicit calls.
    let store = Arc::new(
        EmbeddedStore::open(StoreConfig {
            compaction_min_segments: 2,
            ..config(directory.path())
        })
        .expect("open"),
    );
    let now = now_nanos();
    let mut all = Vec::new();
    for round in 0..6u64 {
        let spans = generated(40 + round, 30, now);
        write_all(&store, &spans, round + 1);
        store.flush().expect("flush");
        all.extend(spans);
    }
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.compact_now().expect("compact"))
        })
        .collect();
    for racer in racers {
        racer.join().expect("racer");
    }
    assert_eq!(store.stats().segment_rows, all.len() as u64);
    assert_every_trace_found(&store, &all);
}

/// Strategies for arbitrary span parts; the log store's tests reuse them.
pub(crate) mod lossless {
    use proptest::prelude::*;
    use weft_model::{
        AttributeValue, EntityRef, Event, InstrumentationScope, KeyValue, Link, Resource, SpanId,
        Status,
    };

    use super::*;

    pub(crate) fn leaf_value() -> impl Strategy<Value = AttributeValue> {
        prop_oneof![
            Just(AttributeValue::Empty),
            ".{0,12}".prop_map(AttributeValue::String),
            any::<bool>().prop_map(AttributeValue::Bool),
            any::<i64>().prop_map(AttributeValue::Int),
            (-1e12f64..1e12).prop_map(AttributeValue::Double),
            prop::collection::vec(any::<u8>(), 0..6).prop_map(AttributeValue::Bytes),
        ]
    }

    pub(crate) fn value() -> impl Strategy<Value = AttributeValue> {
        prop_oneof![
            4 => leaf_value(),
            1 => prop::collection::vec(leaf_value(), 0..3).prop_map(AttributeValue::Array),
            1 => prop::collection::vec(("[a-z.]{0,6}", leaf_value()), 0..3).prop_map(|entries| {
                AttributeValue::Map(entries.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect())
            }),
        ]
    }

    pub(crate) fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
        // Few distinct keys, so duplicates (which OTLP allows) occur.
        prop::collection::vec(("[a-c]{1,2}", value()), 0..5).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| KeyValue::new(k, v))
                .collect()
        })
    }

    pub(crate) fn resource() -> impl Strategy<Value = Arc<Resource>> {
        (
            attributes(),
            prop::option::of("[a-z-]{0,8}"),
            any::<u32>(),
            ".{0,6}",
            prop::collection::vec(("[a-z]{0,4}", "[a-z]{0,4}"), 0..2),
        )
            .prop_map(|(mut attributes, service, dropped, schema_url, entities)| {
                if let Some(service) = service {
                    attributes.push(KeyValue::new(
                        "service.name",
                        AttributeValue::String(service),
                    ));
                }
                Arc::new(Resource {
                    attributes,
                    dropped_attributes_count: dropped,
                    schema_url,
                    entity_refs: entities
                        .into_iter()
                        .map(|(kind, key)| EntityRef {
                            schema_url: String::new(),
                            entity_type: kind,
                            id_keys: vec![key],
                            description_keys: vec![],
                        })
                        .collect(),
                })
            })
    }

    pub(crate) fn scope() -> impl Strategy<Value = Arc<InstrumentationScope>> {
        (
            "[a-z.]{0,8}",
            "[0-9.]{0,4}",
            attributes(),
            any::<u32>(),
            ".{0,4}",
        )
            .prop_map(|(name, version, attributes, dropped, schema_url)| {
                Arc::new(InstrumentationScope {
                    name,
                    version,
                    attributes,
                    dropped_attributes_count: dropped,
                    schema_url,
                })
            })
    }

    pub(crate) fn id_bytes<const N: usize>() -> impl Strategy<Value = [u8; N]> {
        prop::collection::vec(any::<u8>(), N).prop_map(|bytes| {
            let mut array = [0u8; N];
            array.copy_from_slice(&bytes);
            // All-zero IDs are invalid in OTLP; receivers never let them through.
            array[N - 1] |= 1;
            array
        })
    }

    prop_compose! {
        fn span(resources: Vec<Arc<Resource>>, scopes: Vec<Arc<InstrumentationScope>>)(
            trace in 0..3usize,
            resource in 0..resources.len(),
            scope in 0..scopes.len(),
            span_id in id_bytes::<8>(),
            parent in prop::option::of(id_bytes::<8>()),
            name in ".{0,10}",
            kind in 0..7i32,
            start in prop_oneof![any::<u64>(), 1_700_000_000_000_000_000..1_900_000_000_000_000_000u64],
            duration in any::<u64>(),
            attributes in attributes(),
            dropped in any::<[u32; 3]>(),
            events in prop::collection::vec((any::<u64>(), ".{0,6}", attributes(), any::<u32>()), 0..2),
            links in prop::collection::vec((id_bytes::<16>(), id_bytes::<8>(), ".{0,4}", attributes(), any::<u32>(), any::<u32>()), 0..2),
            status in (0..4i32, ".{0,6}"),
            flags in any::<u32>(),
            trace_state in ".{0,8}",
        ) -> Span {
            let mut trace_id = [0x5au8; 16];
            trace_id[15] = trace as u8;
            Span {
                trace_id: TraceId::from_bytes(trace_id),
                span_id: SpanId::from_bytes(span_id),
                parent_span_id: parent.map(SpanId::from_bytes),
                trace_state,
                flags,
                name,
                kind: SpanKind::from_otlp(kind),
                start_time_unix_nanos: start,
                end_time_unix_nanos: start.wrapping_add(duration),
                attributes,
                dropped_attributes_count: dropped[0],
                events: events.into_iter().map(|(time, name, attributes, dropped)| Event {
                    time_unix_nanos: time, name, attributes, dropped_attributes_count: dropped,
                }).collect(),
                dropped_events_count: dropped[1],
                links: links.into_iter().map(|(trace, span, state, attributes, dropped, flags)| Link {
                    trace_id: TraceId::from_bytes(trace),
                    span_id: SpanId::from_bytes(span),
                    trace_state: state,
                    attributes,
                    dropped_attributes_count: dropped,
                    flags,
                }).collect(),
                dropped_links_count: dropped[2],
                status: Status { code: StatusCode::from_otlp(status.0), message: status.1 },
                resource: Arc::clone(&resources[resource]),
                scope: Arc::clone(&scopes[scope]),
                service_name: String::new(),
                host_name: None,
                environment: None,
                region: None,
                business_keys: Vec::new(),
            }
        }
    }

    fn spans() -> impl Strategy<Value = Vec<Span>> {
        (
            prop::collection::vec(resource(), 1..3),
            prop::collection::vec(scope(), 1..3),
        )
            .prop_flat_map(|(resources, scopes)| {
                (
                    prop::collection::vec(span(resources, scopes), 1..12),
                    prop::collection::vec(prop::option::of(0..12usize), 12),
                )
            })
            .prop_map(|(mut spans, parent_picks)| {
                // Most parents are spans of the same trace (stored as row offsets); the rest
                // stay random IDs (stored explicitly).
                for index in 0..spans.len() {
                    if let Some(pick) = parent_picks[index] {
                        let parent = &spans[pick % spans.len()];
                        if parent.trace_id == spans[index].trace_id {
                            spans[index].parent_span_id = Some(parent.span_id);
                        }
                    }
                }
                spans
            })
    }

    fn canonical(mut spans: Vec<Span>) -> Vec<Span> {
        spans.sort_by_cached_key(|span| {
            (
                span.start_time_unix_nanos,
                span.span_id,
                format!("{span:?}"),
            )
        });
        spans
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The same spans through two flushes and a merge of the two segments: parents stored
        /// as row offsets are re-linked when rows from several segments interleave.
        #[test]
        fn spans_read_back_equal_after_flushes_and_a_compaction(mut spans in spans()) {
            weft_codec::fill_derived_fields(&mut spans, &conversion());
            let directory = tempfile::tempdir().expect("tempdir");
            let store = EmbeddedStore::open(StoreConfig {
                compaction_min_segments: usize::MAX,
                ..config(directory.path())
            })
            .expect("open");
            // Two flushes put a trace's spans (and a parent and its child) in different
            // segments; the merge must re-link them.
            let middle = spans.len() / 2;
            store.write(1, Arc::new(spans[..middle].to_vec())).expect("write");
            store.flush().expect("flush");
            store.write(2, Arc::new(spans[middle..].to_vec())).expect("write");
            store.flush().expect("flush");
            store.compact_now().expect("compact");
            for (trace_id, expected) in by_trace(&spans) {
                let found = store.trace(&TraceQuery::new(trace_id)).expect("trace");
                prop_assert_eq!(canonical(found), canonical(expected));
            }
        }

        /// Whatever a client sent comes back equal, from the memtable and from a segment:
        /// every attribute type, nested arrays and maps, duplicate keys, empty values, events,
        /// links, parents in and outside the trace, dropped counts, ends before starts, start
        /// times at the ends of the range.
        #[test]
        fn spans_read_back_equal_from_memtable_and_segment(mut spans in spans()) {
            weft_codec::fill_derived_fields(&mut spans, &conversion());
            let directory = tempfile::tempdir().expect("tempdir");
            let store = EmbeddedStore::open(config(directory.path())).expect("open");
            store.write(1, Arc::new(spans.clone())).expect("write");
            for flushed in [false, true] {
                if flushed {
                    store.flush().expect("flush");
                }
                for (trace_id, expected) in by_trace(&spans) {
                    let found = store.trace(&TraceQuery::new(trace_id)).expect("trace");
                    prop_assert_eq!(canonical(found), canonical(expected), "flushed: {}", flushed);
                }
            }
        }
    }
}

/// A segment the `parquet` crate panics on while decoding pages (found by the `segment_file`
/// fuzz target): reading it must be an error naming the file, not a panic.
#[test]
fn a_segment_the_parquet_reader_panics_on_is_reported_corrupt() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/testdata/parquet-reader-panics.parquet");
    match crate::read_segment_file(&path) {
        Err(StoreError::Corrupt(message)) => {
            assert!(
                message.contains("parquet-reader-panics.parquet"),
                "{message}"
            )
        }
        other => panic!("expected a corrupt-segment error, got {other:?}"),
    }
}

#[test]
fn a_trace_lookup_stops_one_span_past_its_cap_in_memtable_and_segments() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    let spans = generated(50, 3, now_nanos());
    let (trace_id, trace) = by_trace(&spans)
        .into_iter()
        .max_by_key(|(_, trace)| trace.len())
        .expect("a trace");
    assert!(trace.len() > 4);
    write_all(&store, &spans, 1);
    for flushed in [false, true] {
        if flushed {
            store.flush().expect("flush");
        }
        let capped = store
            .trace(&TraceQuery {
                max_spans: 3,
                ..TraceQuery::new(trace_id)
            })
            .expect("trace");
        assert_eq!(capped.len(), 4, "max_spans + 1 tells the caller it was cut");
        let whole = store.trace(&TraceQuery::new(trace_id)).expect("trace");
        assert_eq!(whole.len(), trace.len());
    }
}

#[test]
fn segments_of_half_the_merge_size_or_more_are_not_merged_again() {
    let directory = tempfile::tempdir().expect("tempdir");
    // The middle of the previous partition, so every span lands in one partition.
    let partition = PARTITION_SECONDS * 1_000_000_000;
    let now = now_nanos() / partition * partition - partition / 2;
    let small = generated(60, 2, now);
    let large = generated(61, 20, now);
    let store = EmbeddedStore::open(StoreConfig {
        compaction_min_segments: usize::MAX,
        compaction_max_rows: 2 * small.len() as u64 + 2,
        ..config(directory.path())
    })
    .expect("open");
    assert!(large.len() > small.len() + 1);
    for (position, spans) in [(1, &large), (2, &large), (3, &small), (4, &small)] {
        write_all(&store, spans, position);
        store.flush().expect("flush");
    }
    assert_eq!(store.stats().segments, 4);
    // Only the two small segments merge; the two large ones are final.
    assert_eq!(store.compact_now().expect("compact"), 1);
    assert_eq!(store.stats().segments, 3);
    assert_eq!(
        store.stats().segment_rows,
        2 * (large.len() + small.len()) as u64
    );
}

#[test]
fn the_catalog_knows_first_and_last_seen_and_top_values_across_a_restart() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    let spans = generated(31, 100, now_nanos());
    write_all(&store, &spans, 1);
    let frontend: Vec<&Span> = spans
        .iter()
        .filter(|s| s.service_name == "frontend")
        .collect();
    let first = frontend
        .iter()
        .map(|s| s.start_time_unix_nanos)
        .min()
        .unwrap();
    let last = frontend
        .iter()
        .map(|s| s.start_time_unix_nanos)
        .max()
        .unwrap();
    let mut methods: HashMap<String, u64> = HashMap::new();
    for span in &spans {
        if let Some(AttributeValue::String(method)) = span.attribute("http.request.method") {
            *methods.entry(method.clone()).or_default() += 1;
        }
    }
    let mut expected_top: Vec<(String, u64)> = methods.into_iter().collect();
    expected_top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let check = |store: &EmbeddedStore| {
        let catalog = store.catalog(Some("frontend"), 10).expect("catalog");
        assert_eq!(catalog.len(), 1);
        let service = &catalog[0];
        assert_eq!(
            (service.first_seen_unix_nanos, service.last_seen_unix_nanos),
            (first, last)
        );
        let method = service
            .attributes
            .iter()
            .find(|a| a.key == "http.request.method" && a.scope == "span")
            .expect("method key");
        assert_eq!(method.top_values, expected_top);
        assert!(service
            .operations
            .iter()
            .all(|op| op.first_seen_unix_nanos <= op.last_seen_unix_nanos));
    };
    check(&store);
    store.close().expect("close");
    let reopened = EmbeddedStore::open(config(directory.path())).expect("reopen");
    check(&reopened);
}

#[test]
fn a_catalog_stored_before_first_seen_and_counts_existed_still_loads() {
    let old = serde_json::json!({
        "services": { "shop": {
            "last_seen_unix_nanos": 50,
            "operations": [["GET /", 2, 40]],
            "span_keys": [["http.route", 45]],
            "resource_keys": [],
        }},
        "values": { "http.route": ["/", "/cart"] },
    });
    let snapshot: catalog::CatalogSnapshot = serde_json::from_value(old).expect("old format");
    let catalog = catalog::Catalog::from_snapshot(snapshot);
    let services = catalog.services_in_detail(None, 5);
    assert_eq!(
        (
            services[0].first_seen_unix_nanos,
            services[0].last_seen_unix_nanos
        ),
        (50, 50)
    );
    assert_eq!(services[0].operations[0].first_seen_unix_nanos, 40);
    assert_eq!(
        services[0].attributes[0].top_values,
        vec![("/".to_owned(), 0), ("/cart".to_owned(), 0)]
    );
}

/// Regression: a trace lookup read the active memtable, released the lock and took the frozen
/// memtables and segments under a second lock; a freeze or flush in between showed the active
/// spans twice (seen as "trace has a span twice" in the kill -9 end-to-end test under load).
#[test]
fn a_trace_read_during_freezes_and_flushes_never_shows_a_span_twice() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(config(directory.path())).expect("open"));
    let template = generated(60, 1, now_nanos()).remove(0);
    let trace_id = template.trace_id;
    let rounds = 40u64;
    let spans_per_round = 1_000u64;
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            for round in 0..rounds {
                let spans: Vec<Span> = (0..spans_per_round)
                    .map(|index| {
                        let mut span = template.clone();
                        let unique = round * spans_per_round + index + 1;
                        span.span_id = weft_model::SpanId::from_bytes(unique.to_be_bytes());
                        span
                    })
                    .collect();
                store.write(round + 1, Arc::new(spans)).expect("write");
                store.flush().expect("flush");
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let found = store.trace(&TraceQuery::new(trace_id)).expect("trace");
        let unique: std::collections::HashSet<_> = found.iter().map(|span| span.span_id).collect();
        assert_eq!(unique.len(), found.len(), "read {reads} shows a span twice");
        reads += 1;
    }
    writer.join().expect("writer");
    let found = store.trace(&TraceQuery::new(trace_id)).expect("trace");
    assert_eq!(found.len() as u64, rounds * spans_per_round);
}

/// The cold writer's read: spans starting in the range whose trace the predicate wants, from
/// active and frozen memtables and from segments (several row groups, parents stored as row
/// offsets), each exactly once and equal to what was written.
#[test]
fn scan_spans_yields_exactly_the_wanted_spans_in_range_from_memtables_and_segments() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(StoreConfig {
        // Small flushes: several segments, and a frozen memtable while scanning.
        flush_max_spans: 3_000,
        ..config(directory.path())
    })
    .expect("open");
    let now = now_nanos();
    let mut spans = Vec::new();
    for (position, seed) in (1..=6).enumerate() {
        let batch = generated(seed, 150, now - (seed % 3) * 20_000_000_000);
        write_all(&store, &batch, position as u64 + 1);
        spans.extend(batch);
        if seed == 3 {
            store.flush().expect("flush");
        }
    }
    let range = (now - 30_000_000_000, now - 10_000_000_000);
    let keep = |trace_id: &TraceId| trace_id.as_bytes()[15].is_multiple_of(4);
    let expected: Vec<Span> = spans
        .iter()
        .filter(|span| {
            span.start_time_unix_nanos >= range.0
                && span.start_time_unix_nanos < range.1
                && keep(&span.trace_id)
        })
        .cloned()
        .collect();
    assert!(expected.len() > 50, "the test needs spans on both sides");
    assert!(expected.len() < spans.len() / 2);
    let scan = |store: &EmbeddedStore| {
        let mut found: Vec<Span> = Vec::new();
        let report = store
            .scan_spans(
                range.0,
                range.1,
                &mut |trace_id, _start| keep(trace_id),
                &mut |batch| {
                    found.extend(batch);
                    Ok(())
                },
            )
            .expect("scan");
        assert_eq!(report.selected_spans, found.len() as u64);
        found.sort_by_key(|span| (span.trace_id, span.span_id));
        found
    };
    let mut sorted_expected = expected.clone();
    sorted_expected.sort_by_key(|span| (span.trace_id, span.span_id));
    assert_eq!(scan(&store), sorted_expected, "memtables and segments");
    store.flush().expect("flush");
    assert!(store.stats().segments >= 2);
    assert_eq!(scan(&store), sorted_expected, "segments only");
    store.compact_now().expect("compact");
    assert_eq!(scan(&store), sorted_expected, "after compaction");
}

/// A random trace ID (an OpenTelemetry SDK's) whose first four bytes read as a time two days
/// ago, within the hot retention.
fn random_id_that_reads_as_a_past_time(now_seconds: u64) -> TraceId {
    let mut bytes = [0x5au8; 16];
    let false_time = (now_seconds - 2 * 86_400) as u32;
    bytes[..4].copy_from_slice(&false_time.to_be_bytes());
    TraceId::from_bytes(bytes)
}

#[test]
fn a_random_id_that_looks_time_embedded_is_found_whole_with_spans_in_segments_and_memtable() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(config(directory.path())).expect("open");
    let now = now_nanos();
    let trace_id = random_id_that_reads_as_a_past_time(now / 1_000_000_000);
    let mut spans = generated(9, 1, now);
    for span in &mut spans {
        span.trace_id = trace_id;
    }
    assert!(spans.len() >= 2);
    let (first, rest) = spans.split_at(1);
    // The first span is flushed into a segment of the real (current) partition; the rest
    // arrive later and are still in the memtable.
    write_all(&store, first, 1);
    store.flush().expect("flush");
    write_all(&store, rest, 2);
    let found = store.trace(&TraceQuery::new(trace_id)).expect("trace");
    assert_eq!(
        found.len(),
        spans.len(),
        "the flushed span must not be missed because the ID's bytes look like an old time"
    );
    store.flush().expect("flush");
    assert_eq!(
        store
            .trace(&TraceQuery::new(trace_id))
            .expect("trace")
            .len(),
        spans.len()
    );
}

/// Spans of two partitions (now and 20 minutes ago), so a flush writes two segments.
fn spans_in_two_partitions(seed: u64) -> Vec<Span> {
    let now = now_nanos();
    let mut spans = generated(seed, 40, now);
    spans.extend(generated(seed + 1, 40, now - 20 * 60 * 1_000_000_000));
    spans
}

fn parquet_files(directory: &std::path::Path) -> usize {
    walk_parquet_files(directory)
        .iter()
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "parquet")
        })
        .count()
}

#[test]
fn a_flush_failing_after_its_files_are_written_is_retried_without_listing_spans_twice() {
    let directory = tempfile::tempdir().expect("tempdir");
    let spans = spans_in_two_partitions(40);
    {
        let store = EmbeddedStore::open(StoreConfig {
            fail_point: Some("flush-open-segment".into()),
            ..config(directory.path())
        })
        .expect("open");
        write_all(&store, &spans, 7);
        // The first attempt fails once its first segment file is written; the maintenance
        // thread retries, and `flush` returns when the memtable is in segments.
        store.flush().expect("flush");
        let stats = store.stats();
        assert_eq!(stats.maintenance_errors, 1, "the injected failure happened");
        assert_eq!(
            stats.segment_rows,
            spans.len() as u64,
            "no span listed twice"
        );
        assert_eq!(stats.segments, 2);
        assert_eq!(store.durable_position(), 7);
        assert_every_trace_found(&store, &spans);
        assert_eq!(
            parquet_files(directory.path()),
            2,
            "the failed attempt left no file"
        );
        store.close().expect("close");
    }
    let store = EmbeddedStore::open(config(directory.path())).expect("reopen");
    assert_eq!(store.stats().segment_rows, spans.len() as u64);
    assert_every_trace_found(&store, &spans);
}

#[test]
fn a_compaction_failing_after_its_merge_is_written_keeps_the_inputs_and_succeeds_on_retry() {
    let directory = tempfile::tempdir().expect("tempdir");
    let first = generated(50, 60, now_nanos());
    let second = generated(51, 60, now_nanos());
    let all: Vec<Span> = first.iter().chain(&second).cloned().collect();
    {
        let store = EmbeddedStore::open(StoreConfig {
            fail_point: Some("compaction-open-segment".into()),
            ..config(directory.path())
        })
        .expect("open");
        write_all(&store, &first, 1);
        store.flush().expect("flush");
        write_all(&store, &second, 2);
        store.flush().expect("flush");
        assert_eq!(store.stats().segments, 2);
        let error = store.compact_now().expect_err("the injected failure");
        assert!(error.to_string().contains("injected failure"), "{error}");
        assert_eq!(store.stats().segments, 2, "the inputs are still served");
        assert_every_trace_found(&store, &all);
        assert_eq!(store.compact_now().expect("compaction retried"), 1);
        let stats = store.stats();
        assert_eq!((stats.segments, stats.segment_rows), (1, all.len() as u64));
        assert_every_trace_found(&store, &all);
        store.close().expect("close");
    }
    let store = EmbeddedStore::open(config(directory.path())).expect("reopen");
    let stats = store.stats();
    assert_eq!((stats.segments, stats.segment_rows), (1, all.len() as u64));
    assert_every_trace_found(&store, &all);
}

#[test]
fn scan_spans_asks_wanted_without_holding_the_lock_writers_need() {
    let directory = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(config(directory.path())).expect("open"));
    let now = now_nanos();
    let spans = generated(60, 20, now);
    write_all(&store, &spans, 1);
    let more = generated(61, 5, now);
    let mut writes_completed_inside_wanted = 0;
    let mut asked = 0;
    store
        .scan_spans(
            0,
            u64::MAX,
            &mut |_trace_id, _start| {
                asked += 1;
                if asked == 1 {
                    // The cold writer's `wanted` reads shard files: slow. A write must go
                    // through meanwhile, not wait for the scan (it would wait forever here).
                    let (done, completed) = std::sync::mpsc::channel();
                    let writer_store = Arc::clone(&store);
                    let batch = more.clone();
                    std::thread::spawn(move || {
                        writer_store.write(2, Arc::new(batch)).expect("write");
                        let _ = done.send(());
                    });
                    if completed.recv_timeout(Duration::from_secs(30)).is_ok() {
                        writes_completed_inside_wanted += 1;
                    }
                }
                true
            },
            &mut |_batch| Ok(()),
        )
        .expect("scan");
    assert_eq!(
        writes_completed_inside_wanted, 1,
        "a write waited for the scan's wanted callback"
    );
    assert_eq!(
        store.stats().memtable_spans,
        (spans.len() + more.len()) as u64
    );
}

#[test]
fn concurrent_searches_share_the_store_wide_helper_threads() {
    // Each search once spawned its own threads per partition: sixteen concurrent searches,
    // thirty-two threads. Helpers now come from one allowance and go back when a scan ends.
    let helpers = crate::embedded::SearchHelpers::new(2);
    let first = helpers.borrow(1);
    let second = helpers.borrow(5);
    let third = helpers.borrow(1);
    assert_eq!((first.count(), second.count(), third.count()), (1, 1, 0));
    drop(second);
    assert_eq!(helpers.borrow(2).count(), 1);
    drop(first);
    drop(third);
    assert_eq!(helpers.borrow(2).count(), 2);
}

/// The embedded shard store lists closed windows oldest first by their file names, ignores
/// other files (a crashed write's `.tmp`), and the checkpoint store reads back what it saved.
#[test]
fn shard_and_checkpoint_files_read_back_what_was_put() {
    use weft_storage::sampling::{CheckpointStore, ShardStore, ShardWindowKey};

    let directory = tempfile::tempdir().unwrap();
    let shards = crate::FileShardStore::open(directory.path().join("shards")).unwrap();
    let window = |start| ShardWindowKey {
        start_unix_seconds: start,
        width_seconds: 600,
    };
    assert_eq!(shards.closed_shard(window(1_200)).unwrap(), None);
    shards.put_closed_shard(window(1_200), b"later").unwrap();
    shards.put_closed_shard(window(600), b"first").unwrap();
    shards.put_closed_shard(window(1_200), b"replaced").unwrap();
    std::fs::write(
        directory.path().join("shards/000000001800-600.shard.tmp"),
        b"torn",
    )
    .unwrap();
    assert_eq!(
        shards.closed_shard(window(1_200)).unwrap().as_deref(),
        Some(&b"replaced"[..])
    );
    assert_eq!(
        shards.closed_shards().unwrap(),
        [(window(600), 5), (window(1_200), 8)]
    );

    let checkpoints = crate::FileCheckpointStore::open(directory.path()).unwrap();
    assert_eq!(checkpoints.load("checkpoint").unwrap(), None);
    checkpoints.save("checkpoint", b"state").unwrap();
    assert_eq!(
        checkpoints.load("checkpoint").unwrap().as_deref(),
        Some(&b"state"[..])
    );
}
