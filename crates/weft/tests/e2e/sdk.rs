//! Real OpenTelemetry SDKs (Python from PyPI, Node from npm) send to a running Weft.

use std::collections::HashSet;

use crate::sandbox::{node_sdk_send, python_sdk_send, SentSpan, Weft};

fn assert_exactly_once(weft: &Weft, sent: &[SentSpan]) {
    let captured = weft.captured();
    let captured_keys: Vec<(String, String)> = captured
        .iter()
        .map(|span| (span.trace_id.clone(), span.span_id.clone()))
        .collect();
    let unique: HashSet<_> = captured_keys.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        captured_keys.len(),
        "a span was processed twice"
    );
    let sent_keys: HashSet<_> = sent
        .iter()
        .map(|span| (span.trace_id.clone(), span.span_id.clone()))
        .collect();
    assert_eq!(unique, sent_keys);
    for span in sent {
        let found = captured
            .iter()
            .find(|captured| captured.span_id == span.span_id)
            .unwrap();
        assert_eq!(found.service, span.service, "service.name survives");
    }
}

#[tokio::test]
async fn python_sdk_spans_over_grpc_and_http_are_acknowledged_and_processed_once() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &["--capture-flush-interval", "50ms"]);
    let mut sent = python_sdk_send("grpc", &weft.grpc_endpoint(), "py-grpc", 6, 4, true);
    sent.extend(python_sdk_send(
        "http",
        &weft.otlp_http_url(),
        "py-http",
        5,
        3,
        false,
    ));
    assert_eq!(sent.len(), 6 * 4 + 5 * 3);
    weft.wait_for_captured(sent.len()).await;
    assert_exactly_once(&weft, &sent);
    assert_eq!(
        weft.metric(r#"weft_receiver_accepted_spans_total{receiver="otlp_grpc"}"#)
            .await,
        24.0
    );
    assert_eq!(
        weft.metric(r#"weft_receiver_accepted_spans_total{receiver="otlp_http"}"#)
            .await,
        15.0
    );
}

#[tokio::test]
async fn node_sdk_spans_over_grpc_and_http_are_acknowledged_and_processed_once() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &["--capture-flush-interval", "50ms"]);
    let mut sent = node_sdk_send("grpc", &weft.grpc_endpoint(), "node-grpc", 4, 5);
    sent.extend(node_sdk_send(
        "http",
        &weft.otlp_http_url(),
        "node-http",
        7,
        2,
    ));
    assert_eq!(sent.len(), 4 * 5 + 7 * 2);
    weft.wait_for_captured(sent.len()).await;
    assert_exactly_once(&weft, &sent);
}

pub(crate) mod read_back {
    use std::collections::BTreeMap;

    use serde_json::Value;
    use weft_codec::{spans_from_otlp, ConversionOptions};
    use weft_model::{AttributeValue, Span, StatusCode};

    use crate::sandbox::{sdk_send_multi_service, MultiServiceRun, Weft};

    pub(crate) fn spans_by_trace(
        request: weft_codec::ExportTraceServiceRequest,
    ) -> BTreeMap<String, Vec<Span>> {
        let mut traces: BTreeMap<String, Vec<Span>> = BTreeMap::new();
        for span in spans_from_otlp(request, &ConversionOptions::default()).spans {
            traces.entry(span.trace_id.to_hex()).or_default().push(span);
        }
        for spans in traces.values_mut() {
            spans.sort_by_key(|span| span.span_id);
        }
        traces
    }

    fn jaeger_tag<'a>(tags: &'a [Value], key: &str) -> &'a Value {
        tags.iter()
            .find(|tag| tag["key"] == key)
            .unwrap_or_else(|| panic!("no tag {key} in {tags:?}"))
    }

    /// Jaeger's typed tag for an attribute, as Jaeger's own OTLP translator would write it.
    fn expected_tag(value: &AttributeValue) -> (&'static str, Value) {
        match value {
            AttributeValue::String(text) => ("string", Value::from(text.clone())),
            AttributeValue::Bool(flag) => ("bool", Value::from(*flag)),
            AttributeValue::Int(number) => ("int64", Value::from(*number)),
            AttributeValue::Double(number) => ("float64", Value::from(*number)),
            other => ("string", Value::from(format!("{other:?}"))),
        }
    }

    fn check_jaeger_span(json: &Value, processes: &Value, span: &Span) {
        assert_eq!(json["operationName"], span.name.as_str());
        assert_eq!(json["startTime"], span.start_time_unix_nanos / 1_000);
        assert_eq!(
            json["duration"],
            (span.end_time_unix_nanos - span.start_time_unix_nanos) / 1_000
        );
        let references = json["references"].as_array().unwrap();
        let parents: Vec<&Value> = references
            .iter()
            .filter(|r| r["refType"] == "CHILD_OF")
            .collect();
        match span.parent_span_id {
            Some(parent) => {
                assert_eq!(parents.len(), 1);
                assert_eq!(parents[0]["spanID"], parent.to_hex().as_str());
            }
            None => assert!(parents.is_empty()),
        }
        let follows: Vec<&Value> = references
            .iter()
            .filter(|r| r["refType"] == "FOLLOWS_FROM")
            .collect();
        assert_eq!(follows.len(), span.links.len());
        for (reference, link) in follows.iter().zip(&span.links) {
            assert_eq!(reference["spanID"], link.span_id.to_hex().as_str());
        }
        let tags = json["tags"].as_array().unwrap();
        for attribute in &span.attributes {
            let tag = jaeger_tag(tags, &attribute.key);
            match &attribute.value {
                AttributeValue::Array(_) => {
                    assert_eq!(tag["type"], "string");
                    assert!(tag["value"].as_str().unwrap().starts_with('['));
                }
                value => {
                    let (kind, expected) = expected_tag(value);
                    assert_eq!(tag["type"], kind, "{}", attribute.key);
                    assert_eq!(tag["value"], expected, "{}", attribute.key);
                }
            }
        }
        assert_eq!(jaeger_tag(tags, "span.kind")["value"], span.kind.as_str());
        if span.status.code == StatusCode::Error {
            assert_eq!(jaeger_tag(tags, "error")["value"], true);
            assert_eq!(
                jaeger_tag(tags, "otel.status_description")["value"],
                span.status.message.as_str()
            );
        }
        let logs = json["logs"].as_array().unwrap();
        assert_eq!(logs.len(), span.events.len());
        for (log, event) in logs.iter().zip(&span.events) {
            assert_eq!(log["timestamp"], event.time_unix_nanos / 1_000);
            let fields = log["fields"].as_array().unwrap();
            assert_eq!(jaeger_tag(fields, "event")["value"], event.name.as_str());
            assert_eq!(fields.len(), event.attributes.len() + 1);
        }
        let process = &processes[json["processID"].as_str().unwrap()];
        assert_eq!(process["serviceName"], span.service_name.as_str());
        let process_tags = process["tags"].as_array().unwrap();
        for attribute in span
            .resource
            .attributes
            .iter()
            .filter(|a| a.key != "service.name")
        {
            let (kind, expected) = expected_tag(&attribute.value);
            let tag = jaeger_tag(process_tags, &attribute.key);
            assert_eq!(
                (tag["type"].as_str().unwrap(), &tag["value"]),
                (kind, &expected)
            );
        }
    }

    /// Every field an SDK sent comes back unchanged through the Weft API (compared as Weft
    /// spans, so resource, scope, attributes of every type, events, links, status, flags and
    /// trace state are all covered) and as Jaeger JSON; search finds the traces by the
    /// downstream service.
    async fn round_trip(sdk: &str, protocol: &str) {
        let dir = tempfile::tempdir().unwrap();
        let weft = Weft::start(dir.path(), &[]);
        round_trip_through(sdk, protocol, &weft, &weft, dir.path()).await;
    }

    /// What [`round_trip`] checks, with the SDK sending to `sender` (a server or a collector)
    /// and every read going to `reader` (the same server, or a query node). Returns what the
    /// SDK sent: its exact OTLP request and the spans by trace.
    pub(crate) async fn round_trip_through(
        sdk: &str,
        protocol: &str,
        sender: &Weft,
        weft: &Weft,
        dump_dir: &std::path::Path,
    ) -> (
        weft_codec::ExportTraceServiceRequest,
        BTreeMap<String, Vec<Span>>,
    ) {
        let endpoint = match protocol {
            "grpc" => sender.grpc_endpoint(),
            _ => sender.otlp_http_url(),
        };
        let service = format!("{sdk}-{protocol}-orders");
        let downstream = format!("{sdk}-{protocol}-orders-db");
        let (sent, request) = sdk_send_multi_service(MultiServiceRun {
            sdk,
            protocol,
            endpoint: &endpoint,
            service: &service,
            downstream: &downstream,
            traces: 6,
            spans_per_trace: 5,
            dump_dir,
        });
        let expected = spans_by_trace(request.clone());
        assert_eq!(expected.values().map(Vec::len).sum::<usize>(), sent.len());
        assert_eq!(expected.len(), 6);
        let with_links = expected
            .values()
            .flatten()
            .filter(|s| !s.links.is_empty())
            .count();
        let with_errors = expected
            .values()
            .flatten()
            .filter(|s| s.status.code == StatusCode::Error)
            .count();
        assert!(
            with_links > 0 && with_errors > 0,
            "the fixture has links and errors"
        );

        for (trace_id, spans) in &expected {
            let returned = weft.wait_for_trace(trace_id, spans.len()).await;
            let services: std::collections::BTreeSet<&str> = spans
                .iter()
                .map(|span| span.service_name.as_str())
                .collect();
            assert_eq!(
                returned.resource_spans.len(),
                services.len(),
                "one ResourceSpans per service instance, as the SDKs sent them"
            );
            let returned = spans_by_trace(returned);
            assert_eq!(
                &returned[trace_id], spans,
                "trace {trace_id} differs from what was sent"
            );

            let (status, jaeger) = weft.get_json(&format!("/api/traces/{trace_id}")).await;
            assert_eq!(status, 200);
            let trace = &jaeger["data"][0];
            let json_spans = trace["spans"].as_array().unwrap();
            assert_eq!(json_spans.len(), spans.len());
            for span in spans {
                let json = json_spans
                    .iter()
                    .find(|json| json["spanID"] == span.span_id.to_hex().as_str())
                    .unwrap();
                check_jaeger_span(json, &trace["processes"], span);
            }
        }

        let (_, found) = weft
            .get_json(&format!("/api/v1/search?service={downstream}&limit=100"))
            .await;
        let found: Vec<&str> = found["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["traceId"].as_str().unwrap())
            .collect();
        let mut found_sorted = found.clone();
        found_sorted.sort();
        assert_eq!(
            found_sorted,
            expected.keys().map(String::as_str).collect::<Vec<_>>()
        );
        let (_, jaeger_found) = weft
            .get_json(&format!(
                "/api/traces?service={downstream}&limit=100&lookback=1h"
            ))
            .await;
        assert_eq!(
            jaeger_found["data"].as_array().unwrap().len(),
            expected.len()
        );
        let (_, services) = weft.get_json("/api/services").await;
        let services = services["data"].as_array().unwrap();
        assert!(
            services.contains(&Value::from(service)) && services.contains(&Value::from(downstream))
        );
        (request, expected)
    }

    #[tokio::test]
    async fn python_sdk_traces_read_back_unchanged_over_grpc() {
        round_trip("python", "grpc").await;
    }

    #[tokio::test]
    async fn python_sdk_traces_read_back_unchanged_over_http() {
        round_trip("python", "http").await;
    }

    #[tokio::test]
    async fn node_sdk_traces_read_back_unchanged_over_grpc() {
        round_trip("node", "grpc").await;
    }

    #[tokio::test]
    async fn node_sdk_traces_read_back_unchanged_over_http() {
        round_trip("node", "http").await;
    }
}
