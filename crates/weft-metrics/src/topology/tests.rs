use weft_model::{Span, SpanId, SpanKind, TraceId};

use super::*;
use crate::tests::{span_of as span, SpanSpec, BASE, SECOND};

fn client(trace: u8, id: u8, service: &str, start: u64) -> Span {
    span(SpanSpec {
        trace,
        id,
        parent: Some(1),
        service,
        name: "call",
        kind: SpanKind::Client,
        start,
        duration: 5_000_000,
        error: false,
        attributes: Vec::new(),
    })
}

fn server(trace: u8, id: u8, parent: u8, service: &str, start: u64, error: bool) -> Span {
    span(SpanSpec {
        trace,
        id,
        parent: Some(parent),
        service,
        name: "handle",
        kind: SpanKind::Server,
        start,
        duration: 3_000_000,
        error,
        attributes: Vec::new(),
    })
}

fn edges(topology: &mut Topology) -> Vec<(EdgeKey, u64, u64)> {
    topology
        .drain_before(u64::MAX)
        .into_iter()
        .map(|(_, edge, bucket)| (edge, bucket.calls, bucket.errors))
        .collect()
}

#[test]
fn a_client_and_the_server_span_it_caused_are_one_call_in_either_arrival_order() {
    let mut topology = Topology::new(TopologyConfig::default());
    // In order …
    topology.record(&client(1, 2, "frontend", BASE));
    topology.record(&server(1, 3, 2, "cart", BASE + 1_000, false));
    // … and the server first, with an error.
    topology.record(&server(2, 3, 2, "cart", BASE + 1_000, true));
    topology.record(&client(2, 2, "frontend", BASE));
    assert_eq!(topology.waiting(), 0);
    let found = edges(&mut topology);
    assert_eq!(found.len(), 1);
    let (edge, calls, errors) = &found[0];
    assert_eq!(
        (edge.client_service.as_str(), edge.server_service.as_str()),
        ("frontend", "cart")
    );
    assert_eq!(
        (
            edge.client_operation.as_str(),
            edge.server_operation.as_str()
        ),
        ("call", "handle")
    );
    assert!(!edge.uninstrumented);
    assert_eq!((*calls, *errors), (2, 1));
}

#[test]
fn a_client_naming_an_uninstrumented_peer_becomes_a_call_to_it_when_its_wait_ends() {
    let mut topology = Topology::new(TopologyConfig {
        pairing_timeout_nanos: SECOND,
        ..TopologyConfig::default()
    });
    topology.record(&span(SpanSpec {
        trace: 1,
        id: 2,
        parent: Some(1),
        service: "orders",
        name: "SELECT orders",
        kind: SpanKind::Client,
        start: BASE,
        duration: 2_000_000,
        error: false,
        attributes: vec![("db.system.name", "postgresql"), ("db.namespace", "shop")],
    }));
    assert_eq!(topology.waiting(), 1, "it may still get a server span");
    // Time moves on (by the stream's clock): the wait ends.
    topology.record(&client(9, 9, "other", BASE + 5 * SECOND));
    let found = edges(&mut topology);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0.server_service, "postgresql/shop");
    assert!(found[0].0.uninstrumented);
    topology.flush_waiting();
    assert_eq!(
        topology.counters().unpaired_clients,
        1,
        "the last client named no peer"
    );
}

#[test]
fn peers_are_named_by_the_most_specific_convention() {
    let with = |attributes: Vec<(&str, &str)>| {
        peer_of(&span(SpanSpec {
            trace: 1,
            id: 1,
            parent: None,
            service: "s",
            name: "n",
            kind: SpanKind::Client,
            start: BASE,
            duration: 1,
            error: false,
            attributes,
        }))
    };
    assert_eq!(
        with(vec![("peer.service", "billing"), ("server.address", "x")]).as_deref(),
        Some("billing")
    );
    assert_eq!(with(vec![("db.system", "redis")]).as_deref(), Some("redis"));
    assert_eq!(
        with(vec![
            ("messaging.system", "kafka"),
            ("messaging.destination.name", "orders")
        ])
        .as_deref(),
        Some("kafka/orders")
    );
    assert_eq!(
        with(vec![("server.address", "api.example.com")]).as_deref(),
        Some("api.example.com")
    );
    assert_eq!(with(vec![]), None);
}

#[test]
fn calls_within_one_service_are_not_edges() {
    let mut topology = Topology::new(TopologyConfig::default());
    topology.record(&client(1, 2, "cart", BASE));
    topology.record(&server(1, 3, 2, "cart", BASE, false));
    assert!(edges(&mut topology).is_empty());
}

#[test]
fn the_waiting_table_is_bounded_and_evictions_are_counted() {
    let mut topology = Topology::new(TopologyConfig {
        max_waiting: 3,
        ..TopologyConfig::default()
    });
    for id in 2..8u8 {
        topology.record(&server(1, id + 100, id, "cart", BASE, false));
    }
    assert_eq!(topology.waiting(), 3);
    assert_eq!(topology.counters().evicted, 3);
    assert_eq!(topology.counters().unpaired_servers, 3);
}

/// On `weft gen`'s shop, shuffled so children often arrive before parents, the edges between
/// instrumented services equal a brute-force join of each trace's client and server spans.
#[test]
fn generated_traces_in_shuffled_order_give_exactly_the_brute_force_edges() {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    let request = weft_gen::TraceGenerator::new(5)
        .next_batch(200, BASE)
        .request;
    let mut spans =
        weft_codec::spans_from_otlp(request, &weft_codec::ConversionOptions::default()).spans;
    let mut expected: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    let by_id: std::collections::HashMap<(TraceId, SpanId), &Span> = spans
        .iter()
        .map(|span| ((span.trace_id, span.span_id), span))
        .collect();
    for span in &spans {
        let Some(parent) = span.parent_span_id else {
            continue;
        };
        let Some(parent) = by_id.get(&(span.trace_id, parent)) else {
            continue;
        };
        let caused = matches!(span.kind, SpanKind::Server | SpanKind::Consumer)
            && matches!(parent.kind, SpanKind::Client | SpanKind::Producer);
        if caused && parent.service_name != span.service_name {
            *expected
                .entry((
                    parent.service_name.clone(),
                    parent.name.clone(),
                    span.service_name.clone(),
                    span.name.clone(),
                ))
                .or_default() += 1;
        }
    }
    assert!(
        expected.len() > 3,
        "the shop has several service-to-service calls"
    );
    spans.shuffle(&mut rand::rngs::SmallRng::seed_from_u64(1));
    let mut topology = Topology::new(TopologyConfig::default());
    for span in &spans {
        topology.record(span);
    }
    topology.flush_waiting();
    let mut found: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
    for (_, edge, bucket) in topology.drain_before(u64::MAX) {
        if !edge.uninstrumented {
            *found
                .entry((
                    edge.client_service,
                    edge.client_operation,
                    edge.server_service,
                    edge.server_operation,
                ))
                .or_default() += bucket.calls;
        }
    }
    assert_eq!(found, expected);
}

#[test]
fn calls_spread_over_many_buckets_open_at_most_the_cap() {
    let mut topology = Topology::new(TopologyConfig {
        max_open_buckets: 3,
        ..TopologyConfig::default()
    });
    for index in 0..20u8 {
        let start = BASE + u64::from(index) * 30 * SECOND;
        topology.record(&client(index, 2, "frontend", start));
        topology.record(&server(index, 3, 2, "cart", start + 1_000, false));
    }
    assert_eq!(topology.open().count(), 3);
    assert_eq!(topology.calls_over_open_bucket_cap(), 17);
    let calls: u64 = edges(&mut topology).iter().map(|(_, calls, _)| calls).sum();
    assert_eq!(calls, 3);
}
