//! Bad input gets the right status and a message naming the problem; nothing accepted before
//! or beside it is lost, and the server keeps serving.

use std::io::Write;

use prost::Message;
use weft_codec::otlp_proto::trace::v1::Span;

use crate::clients::{generated_batches, grpc_client, raw_grpc_export, span_keys};
use crate::sandbox::Weft;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn post(
    url: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    request.send().await.unwrap()
}

async fn assert_healthy(weft: &Weft) {
    let health = reqwest::get(format!("http://{}/health", weft.api))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn otlp_http_bad_inputs_get_clear_errors_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(
        dir.path(),
        &[
            "--capture-flush-interval",
            "50ms",
            "--max-request-size",
            "256KiB",
            "--max-attribute-value-size",
            "1KiB",
        ],
    );
    let url = weft.otlp_http_url();
    let good = generated_batches(11, 1, 3).remove(0);
    let good_keys = span_keys(&good);
    let response = post(&url, "application/x-protobuf", None, good.encode_to_vec()).await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    let parsed =
        weft_codec::otlp_proto::collector::trace::v1::ExportTraceServiceResponse::decode(body)
            .unwrap();
    assert_eq!(
        parsed.partial_success, None,
        "full success leaves partial_success unset"
    );

    // Malformed protobuf: 400 with a google.rpc.Status in protobuf naming the problem.
    let response = post(
        &url,
        "application/x-protobuf",
        None,
        vec![0x0a, 0xff, 0xff, 0xff, 0x0f],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let status = tonic_types::pb::Status::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(status.code, 3, "INVALID_ARGUMENT");
    assert!(
        status.message.starts_with("invalid otlp protobuf: "),
        "{}",
        status.message
    );

    // Malformed JSON: 400 with a JSON status.
    let response = post(
        &url,
        "application/json",
        None,
        br#"{"resourceSpans": [{"#.to_vec(),
    )
    .await;
    assert_eq!(response.status(), 400);
    let status: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status["code"], 3);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid otlp json: "),
        "{status}"
    );

    // Hex IDs that are not hex are malformed JSON too.
    let response = post(&url, "application/json", None,
        br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0102030405060708"}]}]}]}"#.to_vec()).await;
    assert_eq!(response.status(), 400);

    // Unsupported content type and encoding: 415.
    let response = post(&url, "text/plain", None, b"hello".to_vec()).await;
    assert_eq!(response.status(), 415);
    let status: serde_json::Value = response.json().await.unwrap();
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("unsupported content-type \"text/plain\""),
        "{status}"
    );
    let response = post(
        &url,
        "application/x-protobuf",
        Some("br"),
        good.encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), 415);

    // A gzip header on bytes that are not gzip: 400 naming gzip.
    let response = post(
        &url,
        "application/x-protobuf",
        Some("gzip"),
        b"not gzip at all".to_vec(),
    )
    .await;
    assert_eq!(response.status(), 400);
    let status = tonic_types::pb::Status::decode(response.bytes().await.unwrap()).unwrap();
    assert!(
        status.message.starts_with("invalid gzip body"),
        "{}",
        status.message
    );

    // Oversized, declared and inflated: 413.
    let big = generated_batches(12, 1, 400).remove(0).encode_to_vec();
    assert!(big.len() > 256 * 1024);
    assert_eq!(
        post(&url, "application/x-protobuf", None, big.clone())
            .await
            .status(),
        413
    );
    assert_eq!(
        post(&url, "application/x-protobuf", Some("gzip"), gzip(&big))
            .await
            .status(),
        413
    );

    // Partial success in OTLP/JSON: the span with a 2-byte ID is rejected, its batch-mate kept.
    let response = post(&url, "application/json", None, br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},
        "scopeSpans":[{"spans":[
          {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"abcd","name":"bad"},
          {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"good","kind":2,
           "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000",
           "attributes":[{"key":"db.query.text","value":{"stringValue":"SELECT 1"}}]}]}]}]}"#.to_vec()).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["partialSuccess"]["rejectedSpans"], "1",
        "int64 is a string in OTLP/JSON: {body}"
    );
    assert!(
        body["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("span id must be 8 bytes, got 2"),
        "{body}"
    );

    // An oversized attribute is cut, marked and counted; the span is kept.
    let mut long = generated_batches(13, 1, 1).remove(0);
    let span: &mut Span = &mut long.resource_spans[0].scope_spans[0].spans[0];
    span.attributes
        .push(weft_codec::otlp_proto::common::v1::KeyValue {
            key: "http.request.body".into(),
            value: Some(weft_codec::otlp_proto::common::v1::AnyValue {
                value: Some(
                    weft_codec::otlp_proto::common::v1::any_value::Value::StringValue(
                        "x".repeat(50_000),
                    ),
                ),
            }),
            key_strindex: 0,
        });
    let long_keys = span_keys(&long);
    assert_eq!(
        post(&url, "application/x-protobuf", None, long.encode_to_vec())
            .await
            .status(),
        200
    );

    // Everything accepted is processed exactly once; the server still serves.
    let expected = good_keys.len() + 1 + long_keys.len();
    let captured = weft.wait_for_captured(expected).await;
    assert_eq!(captured.len(), expected);
    for (trace, span) in good_keys.iter().chain(long_keys.iter()) {
        assert!(captured
            .iter()
            .any(|c| &c.trace_id == trace && &c.span_id == span));
    }
    assert!(captured
        .iter()
        .any(|c| c.name == "good" && c.service == "json-svc"));
    assert!(!captured.iter().any(|c| c.name == "bad"));
    assert!(
        weft.metric(r#"weft_receiver_truncated_values_total{receiver="otlp_http"}"#)
            .await
            >= 1.0
    );
    assert_eq!(
        weft.metric(r#"weft_receiver_rejected_spans_total{receiver="otlp_http"}"#)
            .await,
        1.0
    );
    assert_healthy(&weft).await;
}

#[tokio::test]
async fn otlp_grpc_bad_inputs_get_clear_statuses_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(
        dir.path(),
        &[
            "--capture-flush-interval",
            "50ms",
            "--max-request-size",
            "256KiB",
        ],
    );
    let endpoint = weft.grpc_endpoint();
    let mut client = grpc_client(&endpoint).await;
    let good = generated_batches(21, 1, 3).remove(0);
    let mut expected = span_keys(&good);
    let response = client.export(good).await.unwrap().into_inner();
    assert_eq!(response.partial_success, None);

    // Malformed protobuf: INVALID_ARGUMENT naming the problem (tonic's default would be INTERNAL).
    let status = raw_grpc_export(&endpoint, vec![0x0a, 0xff, 0xff, 0xff, 0x0f])
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().starts_with("invalid otlp protobuf: "),
        "{}",
        status.message()
    );

    // Oversized: RESOURCE_EXHAUSTED without RetryInfo, so OTLP clients do not retry it.
    let big = generated_batches(22, 1, 400).remove(0).encode_to_vec();
    let status = raw_grpc_export(&endpoint, big).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status
            .message()
            .contains("exceeds the limit of 262144 bytes"),
        "{}",
        status.message()
    );
    use tonic_types::StatusExt;
    assert!(status.get_details_retry_info().is_none());

    // Partial success: the all-zero trace ID is rejected, its batch-mates kept.
    let mut mixed = generated_batches(23, 1, 2).remove(0);
    let spans = &mut mixed.resource_spans[0].scope_spans[0].spans;
    spans[0].trace_id = vec![0; 16];
    let rejected_span = crate::clients::hex(&spans[0].span_id);
    let mut mixed_keys = span_keys(&mixed);
    mixed_keys.retain(|(_, span)| span != &rejected_span);
    let response = client.export(mixed).await.unwrap().into_inner();
    let partial = response.partial_success.expect("partial success reported");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("trace id is all zeros"),
        "{}",
        partial.error_message
    );
    expected.extend(mixed_keys);

    // gzip and zstd compressed requests are accepted.
    for (seed, encoding) in [
        (24, tonic::codec::CompressionEncoding::Gzip),
        (25, tonic::codec::CompressionEncoding::Zstd),
    ] {
        let batch = generated_batches(seed, 1, 2).remove(0);
        expected.extend(span_keys(&batch));
        let mut compressed = grpc_client(&endpoint).await.send_compressed(encoding);
        compressed.export(batch).await.unwrap();
    }

    let captured = weft.wait_for_captured(expected.len()).await;
    let captured_keys: std::collections::HashSet<_> = captured
        .iter()
        .map(|c| (c.trace_id.clone(), c.span_id.clone()))
        .collect();
    assert_eq!(captured.len(), expected.len());
    assert_eq!(captured_keys, expected);
    assert_healthy(&weft).await;
}

#[tokio::test]
async fn zipkin_v2_json_is_accepted_and_bad_zipkin_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &["--capture-flush-interval", "50ms"]);
    let url = weft.zipkin_url();
    let response = post(&url, "application/json", None, br#"[
        {"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","kind":"SERVER","name":"get /api",
         "timestamp":1556604172355737,"duration":1431,"localEndpoint":{"serviceName":"zipkin-svc"},
         "tags":{"http.method":"GET"}},
        {"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2","kind":"CLIENT",
         "name":"query","timestamp":1556604172355800,"duration":900,"localEndpoint":{"serviceName":"zipkin-svc"},
         "remoteEndpoint":{"serviceName":"mysql"},"tags":{"error":"timeout"}}]"#.to_vec()).await;
    assert_eq!(response.status(), 202);

    let response = post(&url, "application/json", None, b"[{\"traceId\": ".to_vec()).await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .starts_with("invalid zipkin v2 json: "));

    let response = post(&url, "application/x-protobuf", None, vec![1, 2, 3]).await;
    assert_eq!(response.status(), 415);

    let response = post(&url, "application/json", Some("gzip"), gzip(br#"[
        {"traceId":"00000000000000000000000000000bad","id":"1111111111111111","name":"zero-ish is fine"},
        {"traceId":"5af7183fb1d4cf5f","id":"12","name":"short id"}]"#)).await;
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["rejectedSpans"], 1, "{body}");

    let captured = weft.wait_for_captured(3).await;
    assert_eq!(captured.len(), 3);
    let root = captured
        .iter()
        .find(|c| c.span_id == "6b221d5bc9e6496c")
        .unwrap();
    assert_eq!(root.trace_id, "00000000000000005af7183fb1d4cf5f");
    assert_eq!(root.service, "zipkin-svc");
    assert_healthy(&weft).await;
}

/// One small request of error spans claiming times far apart — days ahead, and in 1970 —
/// once made the sampler open a full-size Bloom shard per future window and the metrics a
/// bucket per claimed time. Now such spans are moved to their arrival time (their own start
/// kept in an attribute) before any processor sees them.
#[tokio::test]
async fn spans_with_absurd_times_are_moved_to_their_arrival_and_open_no_far_shards_or_buckets() {
    use weft_codec::otlp_proto::common::v1::{any_value, AnyValue, KeyValue};
    use weft_codec::otlp_proto::resource::v1::Resource;
    use weft_codec::otlp_proto::trace::v1::{ResourceSpans, ScopeSpans, Status};

    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &[]);
    const SECOND: u64 = 1_000_000_000;
    let sent_at = crate::clients::now_nanos();
    let claimed_start = |index: u64| {
        if index.is_multiple_of(10) {
            index // 1970: an SDK that never set the start
        } else {
            sent_at + 2 * 3_600 * SECOND + index * 600 * SECOND // each in its own window ahead
        }
    };
    let spans: Vec<Span> = (0..1_000u64)
        .map(|index| {
            let start = claimed_start(index);
            let mut trace_id = vec![0xee; 16];
            trace_id[8..].copy_from_slice(&index.to_be_bytes());
            Span {
                trace_id,
                span_id: (index + 1).to_be_bytes().to_vec(),
                name: "checkout".into(),
                kind: 2,
                start_time_unix_nano: start,
                end_time_unix_nano: start + 30_000_000,
                status: Some(Status {
                    code: 2,
                    message: "boom".into(),
                }),
                ..Span::default()
            }
        })
        .collect();
    let request = weft_codec::ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("skewed".into())),
                    }),
                    ..KeyValue::default()
                }],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    let response = post(
        &weft.otlp_http_url(),
        "application/x-protobuf",
        None,
        request.encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let answered_at = crate::clients::now_nanos();
    let sum = |metrics: &std::collections::HashMap<String, f64>, prefix: &str| -> f64 {
        metrics
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, value)| value)
            .sum()
    };
    let metrics = weft.metrics().await;
    assert_eq!(sum(&metrics, "weft_receiver_clamped_spans"), 1_000.0);
    assert_eq!(sum(&metrics, "weft_receiver_accepted_spans"), 1_000.0);

    // A moved span: at its arrival, with its duration and its own start.
    let index = 7u64;
    let trace = weft
        .wait_for_trace(&format!("{}{:016x}", "ee".repeat(8), index), 1)
        .await;
    let span = &trace.resource_spans[0].scope_spans[0].spans[0];
    assert!(
        (sent_at..=answered_at).contains(&span.start_time_unix_nano),
        "moved to its arrival: {} not in {sent_at}..={answered_at}",
        span.start_time_unix_nano
    );
    assert_eq!(
        span.end_time_unix_nano - span.start_time_unix_nano,
        30_000_000
    );
    let original = span
        .attributes
        .iter()
        .find(|attribute| attribute.key == "weft.original_start_time_unix_nano")
        .and_then(|attribute| attribute.value.as_ref()?.value.clone());
    assert_eq!(
        original,
        Some(any_value::Value::IntValue(claimed_start(index) as i64))
    );

    // Every span reached the processors, and none opened state away from now.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let metrics = weft.metrics().await;
        let kept: f64 = sum(&metrics, "weft_sampling_rule_kept_traces");
        if kept >= 1_000.0 {
            let open_shards = sum(&metrics, "weft_sampling_open_shards");
            assert!(open_shards <= 2.0, "open shards: {open_shards}");
            let open_buckets = sum(&metrics, "weft_span_metrics_open_buckets");
            assert!(open_buckets <= 4.0, "open metric buckets: {open_buckets}");
            assert_eq!(
                sum(&metrics, "weft_sampling_marks_over_open_shard_cap"),
                0.0
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sampler kept {kept} of 1000 error traces; log:\n{}",
            weft.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_healthy(&weft).await;
}
