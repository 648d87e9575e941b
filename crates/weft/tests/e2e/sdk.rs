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
