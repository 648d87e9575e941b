use std::collections::{HashMap, HashSet};

use weft_codec::{spans_from_otlp, validate_and_limit, ConversionOptions, ValidationLimits};
use weft_model::{AttributeValue, SpanKind, StatusCode, TraceIdTimeWindow};

use super::*;

const NOW: u64 = 1_790_000_000_000_000_000;

#[test]
fn generated_traces_are_valid_connected_and_realistic() {
    let mut generator = TraceGenerator::new(3);
    let mut batch = generator.next_batch(200, NOW);
    let report = validate_and_limit(&mut batch.request, &ValidationLimits::default());
    assert_eq!(report.rejected_spans, 0);
    assert_eq!(report.truncated_values, 0);
    let spans = spans_from_otlp(batch.request.clone(), &ConversionOptions::default()).spans;
    assert_eq!(spans.len(), batch.spans);
    // Browsing (~6–8 spans) outnumbers checkouts (~20) nine to one.
    assert!(
        batch.spans > 200 * 6,
        "traces have many spans: {}",
        batch.spans
    );

    // Every span's parent is in its trace, and each trace has exactly one root.
    let ids: HashSet<_> = spans
        .iter()
        .map(|span| (span.trace_id, span.span_id))
        .collect();
    let mut roots: HashMap<_, usize> = HashMap::new();
    for span in &spans {
        match span.parent_span_id {
            Some(parent) => assert!(ids.contains(&(span.trace_id, parent))),
            None => *roots.entry(span.trace_id).or_default() += 1,
        }
        assert!(span.end_time_unix_nanos >= span.start_time_unix_nanos);
        assert!(span.end_time_unix_nanos <= NOW);
    }
    assert_eq!(roots.len(), 200);
    assert!(roots.values().all(|&count| count == 1));

    // Trace IDs carry their time.
    let window = TraceIdTimeWindow::around(NOW / 1_000_000_000, 60, 0);
    assert!(spans
        .iter()
        .all(|span| span.trace_id.embedded_time_unix_seconds(window).is_some()));

    // Kinds, services, databases, errors and attribute types a real system shows.
    let kinds: HashSet<_> = spans.iter().map(|span| span.kind).collect();
    for kind in [
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
        SpanKind::Internal,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing");
    }
    let services: HashSet<_> = spans
        .iter()
        .map(|span| span.service_name.as_str())
        .collect();
    assert_eq!(services.len(), 7, "{services:?}");
    let systems: HashSet<_> = spans
        .iter()
        .filter_map(|span| span.attribute("db.system").and_then(AttributeValue::as_str))
        .collect();
    assert_eq!(systems, HashSet::from(["mysql", "postgresql", "redis"]));
    assert!(spans
        .iter()
        .any(|span| span.status.code == StatusCode::Error
            && span.events.iter().any(|event| event.name == "exception")));
    assert!(
        spans.iter().any(|span| span.duration_nanos() > 250_000_000),
        "slow db calls happen"
    );
    let value_kinds: HashSet<&str> = spans
        .iter()
        .flat_map(|span| &span.attributes)
        .map(|attribute| match attribute.value {
            AttributeValue::String(_) => "string",
            AttributeValue::Int(_) => "int",
            AttributeValue::Double(_) => "double",
            AttributeValue::Bool(_) => "bool",
            AttributeValue::Bytes(_) => "bytes",
            AttributeValue::Array(_) => "array",
            AttributeValue::Map(_) => "map",
            AttributeValue::Empty => "empty",
        })
        .collect();
    for expected in ["string", "int", "double", "bool", "bytes", "array", "map"] {
        assert!(
            value_kinds.contains(expected),
            "{expected} attribute missing"
        );
    }
    assert!(spans
        .iter()
        .any(|span| span.attribute("order.id").is_some()));
}

#[test]
fn spans_average_about_300_protobuf_bytes() {
    use prost::Message;
    let mut generator = TraceGenerator::new(9);
    let batch = generator.next_batch(500, NOW);
    let bytes_per_span = batch.request.encoded_len() as f64 / batch.spans as f64;
    assert!(
        (200.0..600.0).contains(&bytes_per_span),
        "{bytes_per_span} B/span"
    );
}

#[test]
fn same_seed_same_traces() {
    let first = TraceGenerator::new(5).next_batch(10, NOW);
    let second = TraceGenerator::new(5).next_batch(10, NOW);
    assert_eq!(first.request, second.request);
}

#[test]
fn a_failed_downstream_call_fails_every_hop_up_to_the_root() {
    let mut generator = TraceGenerator::new(7);
    let batch = generator.next_batch(1000, NOW);
    let spans = spans_from_otlp(batch.request, &ConversionOptions::default()).spans;
    let by_id: HashMap<_, _> = spans
        .iter()
        .map(|span| ((span.trace_id, span.span_id), span))
        .collect();
    let failed = |span: &weft_model::Span| span.status.code == StatusCode::Error;
    let mut failing_server_spans = 0;
    for span in &spans {
        let Some(parent) = span
            .parent_span_id
            .and_then(|parent| by_id.get(&(span.trace_id, parent)))
        else {
            continue;
        };
        // A failing RPC server fails its client span; a failing call from a server fails the
        // server span (its request), up to the edge.
        if span.kind == SpanKind::Server && parent.kind == SpanKind::Client && failed(span) {
            failing_server_spans += 1;
            assert!(failed(parent), "{} -> {}", parent.name, span.name);
        }
        if span.kind == SpanKind::Client && parent.kind == SpanKind::Server && failed(span) {
            assert!(failed(parent), "{} -> {}", parent.name, span.name);
        }
    }
    assert!(
        failing_server_spans > 0,
        "1000 traces hold a failing server span"
    );
    // A declined card now fails the order too, not only the payment.
    assert!(spans.iter().any(|span| span.service_name == "order-service"
        && span.kind == SpanKind::Server
        && failed(span)));
}

#[test]
fn generated_logs_follow_the_spans_and_heartbeats_carry_no_trace() {
    use weft_codec::otlp_proto::trace::v1::status::StatusCode;
    let mut generator = TraceGenerator::new(5);
    let batch = generator.next_batch(200, 1_700_000_000_000_000_000);
    let logs = crate::logs_for_request(&batch.request);
    let spans: Vec<_> = batch
        .request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| &scope.spans)
        .collect();
    let records: Vec<_> = logs
        .resource_logs
        .iter()
        .flat_map(|resource| &resource.scope_logs)
        .flat_map(|scope| &scope.log_records)
        .collect();
    // One heartbeat per service instance, without trace context.
    let heartbeats: Vec<_> = records
        .iter()
        .filter(|record| record.trace_id.is_empty())
        .collect();
    assert_eq!(heartbeats.len(), batch.request.resource_spans.len());
    assert!(heartbeats.iter().all(|record| record.span_id.is_empty()));
    // Every root span logs one INFO line, every failed span one ERROR, each under its IDs.
    let roots = spans
        .iter()
        .filter(|span| span.parent_span_id.is_empty())
        .count();
    let failed: Vec<_> = spans
        .iter()
        .filter(|span| {
            span.status
                .as_ref()
                .is_some_and(|status| status.code == StatusCode::Error as i32)
        })
        .collect();
    assert!(!failed.is_empty(), "200 traces include failures");
    let info = records
        .iter()
        .filter(|record| record.severity_text == "INFO" && !record.trace_id.is_empty())
        .count();
    assert_eq!(info, roots);
    for span in failed {
        assert!(
            records.iter().any(|record| record.severity_text == "ERROR"
                && record.trace_id == span.trace_id
                && record.span_id == span.span_id),
            "span {} failed without an error log",
            span.name
        );
    }
    // The traces are what the seed makes them, logs or not.
    let mut again = TraceGenerator::new(5);
    assert_eq!(
        again.next_batch(200, 1_700_000_000_000_000_000).request,
        batch.request
    );
}
