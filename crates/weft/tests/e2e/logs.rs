//! Logs by trace, end to end: Python's `logging` through the real OpenTelemetry logs SDK beside
//! its trace (Weft API and Jaeger API), records without a trace found by search, the kept
//! traces' records in the cold tier, kill -9, and bad logs requests.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use prost::Message;
use serde_json::Value;
use weft_codec::otlp_proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use weft_codec::ExportLogsServiceRequest;

use crate::clients::{hex, now_nanos};
use crate::sandbox::{python, repo_root, Weft};

/// What `tests/sdk/python/send_logs.py` reports it logged.
pub(crate) struct PythonRun {
    trace_id: String,
    spans: BTreeMap<String, String>,
    /// (body, severity, trace id, span id)
    logs: Vec<(String, String, Option<String>, Option<String>)>,
}

pub(crate) fn python_logging(protocol: &str, endpoint: &str, service: &str) -> PythonRun {
    let output = Command::new(python())
        .arg(repo_root().join("tests/sdk/python/send_logs.py"))
        .args(["--protocol", protocol, "--endpoint", endpoint])
        .args(["--service", service])
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .output()
        .unwrap_or_else(|error| {
            panic!("send_logs.py could not run ({error}); run scripts/install-test-deps.sh first")
        });
    assert!(
        output.status.success(),
        "send_logs.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sent: Value = serde_json::from_slice(&output.stdout).unwrap();
    let text = |value: &Value| value.as_str().map(str::to_owned);
    PythonRun {
        trace_id: text(&sent["traceId"]).unwrap(),
        spans: sent["spans"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, id)| (name.clone(), text(id).unwrap()))
            .collect(),
        logs: sent["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|log| {
                (
                    text(&log["body"]).unwrap(),
                    text(&log["severity"]).unwrap(),
                    text(&log["traceId"]),
                    text(&log["spanId"]),
                )
            })
            .collect(),
    }
}

/// Polls `path` until its `logs` array has `count` records.
async fn wait_for_logs(weft: &Weft, path: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = weft.get_json(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let logs = body["logs"].as_array().unwrap().clone();
        if logs.len() >= count {
            assert_eq!(logs.len(), count, "{path}: more records than sent: {body}");
            return logs;
        }
        assert!(
            Instant::now() < deadline,
            "{path} did not reach {count} records: {body}; log:\n{}",
            weft.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_logging_records_appear_beside_their_trace_over_grpc_and_http() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &[]);
    for protocol in ["grpc", "http"] {
        let endpoint = match protocol {
            "grpc" => weft.grpc_endpoint(),
            _ => weft
                .otlp_http_url()
                .trim_end_matches("/v1/traces")
                .to_owned(),
        };
        let service = format!("py-logging-{protocol}");
        let run = python_logging(protocol, &endpoint, &service);
        check_python_logging_answers(&weft, &run, &service).await;
    }
    let received = weft
        .metric("weft_receiver_accepted_log_records_total{receiver=\"otlp_grpc_logs\"}")
        .await;
    assert_eq!(received, 3.0, "the grpc run's three records");
}

/// What a node answers for a `python_logging` run, checked by every read path: the trace's
/// records oldest first under their spans (Weft API), the same as span logs (Jaeger API), the
/// record outside any span by service and text, and the severity floor. `weft serve` and the
/// distributed shape's query node answer the same.
pub(crate) async fn check_python_logging_answers(weft: &Weft, run: &PythonRun, service: &str) {
    let in_trace: Vec<_> = run.logs.iter().filter(|log| log.2.is_some()).collect();
    assert_eq!(in_trace.len(), 2, "the script logs twice inside its trace");
    weft.wait_for_trace(&run.trace_id, 2).await;

    // The Weft API: the trace's records, oldest first, each under the span that logged it.
    let logs = wait_for_logs(
        weft,
        &format!("/api/v1/traces/{}/logs", run.trace_id),
        in_trace.len(),
    )
    .await;
    for (record, sent) in logs.iter().zip(&in_trace) {
        assert_eq!(record["body"], sent.0.as_str(), "{record}");
        assert_eq!(record["severity"], sent.1.as_str(), "{record}");
        assert_eq!(record["traceId"], run.trace_id.as_str());
        assert_eq!(record["spanId"], sent.3.as_deref().unwrap());
        assert_eq!(record["serviceName"], service);
        assert_eq!(record["scope"]["name"], "shop.checkout");
    }
    assert_eq!(
        logs[0]["attributes"]["order.id"].as_str().unwrap()[..4],
        *"ORD-"
    );
    assert_eq!(logs[1]["attributes"]["exception.type"], "ValueError");
    assert!(logs[1]["attributes"]["exception.stacktrace"]
        .as_str()
        .unwrap()
        .contains("card expired"));

    // The Jaeger API: the records are span logs of the spans that wrote them.
    let (status, jaeger) = weft
        .get_json(&format!("/api/traces/{}", run.trace_id))
        .await;
    assert_eq!(status, 200, "{jaeger}");
    for (name, expected_body, expected_level) in [
        ("charge", "payment declined: card expired", "ERROR"),
        ("checkout", in_trace[0].0.as_str(), "INFO"),
    ] {
        let span = jaeger["data"][0]["spans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|span| span["spanID"] == run.spans[name].as_str())
            .unwrap_or_else(|| panic!("span {name} in {jaeger}"));
        let field = |log: &Value, key: &str| {
            log["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|field| field["key"] == key)
                .map(|field| field["value"].clone())
        };
        let messages: Vec<(Value, Value)> = span["logs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|log| Some((field(log, "message")?, field(log, "level")?)))
            .collect();
        assert_eq!(
            messages,
            vec![(Value::from(expected_body), Value::from(expected_level))],
            "span {name}: {span}"
        );
    }

    // The record written outside any span: found by service and text, in no trace.
    let outside = run.logs.iter().find(|log| log.2.is_none()).unwrap();
    let found = wait_for_logs(
        weft,
        &format!("/api/v1/logs?service={service}&q=WARM-UP&lookback=1h"),
        1,
    )
    .await;
    assert_eq!(found[0]["body"], outside.0.as_str());
    assert_eq!(found[0]["severity"], "WARN");
    assert!(found[0]["traceId"].is_null() && found[0]["spanId"].is_null());
    // Severity: this level or worse.
    let (_, errors) = weft
        .get_json(&format!(
            "/api/v1/logs?service={service}&severity=error&lookback=1h"
        ))
        .await;
    let bodies: Vec<&str> = errors["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|log| log["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["payment declined: card expired"]);
}

/// The generator's traces and the records its services write, as they would arrive.
fn generated(
    seed: u64,
    batches: usize,
) -> Vec<(
    weft_codec::ExportTraceServiceRequest,
    ExportLogsServiceRequest,
)> {
    let mut generator = weft_gen::TraceGenerator::new(seed);
    (0..batches)
        .map(|_| {
            let traces = generator.next_batch(40, now_nanos()).request;
            let logs = weft_gen::logs_for_request(&traces);
            (traces, logs)
        })
        .collect()
}

async fn post_protobuf(url: String, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn logs_url(weft: &Weft) -> String {
    weft.otlp_http_url().replace("/v1/traces", "/v1/logs")
}

/// A record as compared across tiers and restarts.
fn record_key(record: &Value) -> (String, String, String) {
    (
        record["timeUnixNano"].as_str().unwrap().to_owned(),
        record["body"].as_str().unwrap().to_owned(),
        record["spanId"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_traces_records_follow_them_to_the_cold_tier_and_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--cold-delay", "6s", "--sampling-shard", "2s"];
    let mut weft = Weft::start(dir.path(), &flags);
    let batches = generated(71, 3);
    let mut sent_by_trace: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    let mut sent_outside = 0usize;
    let mut newest = 0u64;
    for (traces, logs) in &batches {
        let response = post_protobuf(weft.otlp_http_url(), traces.encode_to_vec()).await;
        assert!(response.status().is_success());
        let response = post_protobuf(logs_url(&weft), logs.encode_to_vec()).await;
        assert!(response.status().is_success(), "{}", response.status());
        for record in logs
            .resource_logs
            .iter()
            .flat_map(|resource| &resource.scope_logs)
            .flat_map(|scope| &scope.log_records)
        {
            newest = newest.max(record.time_unix_nano);
            if record.trace_id.is_empty() {
                sent_outside += 1;
            } else {
                sent_by_trace
                    .entry(hex(&record.trace_id))
                    .or_default()
                    .push((record.time_unix_nano, hex(&record.span_id)));
            }
        }
    }
    // Acknowledged means durable: nothing was committed to the log store yet.
    weft.kill_9();
    weft.restart(&[]);

    // Every record is back exactly once, in its trace or (heartbeats) outside any.
    for (trace_id, sent) in &sent_by_trace {
        let logs = wait_for_logs(
            &weft,
            &format!("/api/v1/traces/{trace_id}/logs"),
            sent.len(),
        )
        .await;
        let mut got: Vec<(u64, String)> = logs
            .iter()
            .map(|log| {
                (
                    log["timeUnixNano"].as_str().unwrap().parse().unwrap(),
                    log["spanId"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        got.sort();
        let mut expected = sent.clone();
        expected.sort();
        assert_eq!(got, expected, "trace {trace_id}");
    }
    let heartbeats = wait_for_logs(
        &weft,
        "/api/v1/logs?q=heartbeat&lookback=1h&limit=1000",
        sent_outside,
    )
    .await;
    assert!(heartbeats.iter().all(|log| log["traceId"].is_null()));

    // The cold writer copies the records of exactly the traces it keeps.
    let target = newest / 1_000_000_000 + 2;
    let deadline = Instant::now() + Duration::from_secs(120);
    let storage = loop {
        let (_, storage) = weft.get_json("/api/v1/storage").await;
        if storage["coldWriter"]["passedThrough"]
            .as_u64()
            .is_some_and(|passed| passed >= target)
        {
            break storage;
        }
        assert!(
            Instant::now() < deadline,
            "the cold writer did not pass {target}: {storage}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut kept_with_logs = 0;
    let mut kept_records = 0;
    for trace_id in sent_by_trace.keys() {
        let (_, cold_trace) = weft
            .get_json(&format!("/api/v1/traces/{trace_id}?tier=cold"))
            .await;
        let kept = cold_trace["resourceSpans"]
            .as_array()
            .is_some_and(|resources| !resources.is_empty());
        let (status, hot_logs) = weft
            .get_json(&format!("/api/v1/traces/{trace_id}/logs?tier=hot"))
            .await;
        assert_eq!(status, 200);
        let (status, cold_logs) = weft
            .get_json(&format!("/api/v1/traces/{trace_id}/logs?tier=cold"))
            .await;
        assert_eq!(status, 200);
        let keys = |answer: &Value| -> BTreeSet<(String, String, String)> {
            answer["logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(record_key)
                .collect()
        };
        if kept {
            assert_eq!(keys(&cold_logs), keys(&hot_logs), "kept trace {trace_id}");
            assert_eq!(cold_logs["tier"], "cold");
            kept_with_logs += 1;
            kept_records += keys(&cold_logs).len() as u64;
        } else {
            assert!(
                keys(&cold_logs).is_empty(),
                "trace {trace_id} was not kept: {cold_logs}"
            );
        }
    }
    assert!(kept_with_logs > 0, "error traces are kept, and they log");
    // The accounting says the same (before the restart nothing had been copied).
    assert_eq!(
        storage["coldWriter"]["copiedLogRecords"].as_u64(),
        Some(kept_records),
        "{storage}"
    );
    assert_eq!(
        storage["logs"]["cold"]["records"].as_u64(),
        Some(kept_records)
    );
    let (_, cold_heartbeats) = weft
        .get_json("/api/v1/logs?q=heartbeat&lookback=1h&tier=cold")
        .await;
    assert_eq!(
        cold_heartbeats["logs"].as_array().unwrap().len(),
        0,
        "records without a trace stay hot"
    );
}

fn logs_request(trace_id: Vec<u8>, span_id: Vec<u8>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: now_nanos(),
                    trace_id,
                    span_id,
                    ..LogRecord::default()
                }],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

#[tokio::test]
async fn bad_logs_requests_get_a_clear_error_and_good_records_beside_them_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &[]);
    // Not protobuf at all.
    let response = post_protobuf(logs_url(&weft), vec![0xff, 0xff, 0xff]).await;
    assert_eq!(response.status(), 400);
    let status = tonic_types_status(response.bytes().await.unwrap().as_ref());
    assert!(status.contains("decod"), "{status}");
    // One record with a 3-byte span ID beside a good one: partial success, naming the record.
    let mut request = logs_request(vec![9; 16], vec![1, 2, 3]);
    request.resource_logs[0].scope_logs[0].log_records.push(
        logs_request(vec![9; 16], vec![4; 8]).resource_logs[0].scope_logs[0].log_records[0].clone(),
    );
    let response = reqwest::Client::new()
        .post(logs_url(&weft))
        .header("content-type", "application/json")
        .body(weft_codec::encode_otlp_json(&request))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["partialSuccess"]["rejectedLogRecords"], "1", "{body}");
    assert!(
        body["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("log record 0: span id must be 8 bytes, got 3"),
        "{body}"
    );
    let kept = wait_for_logs(
        &weft,
        "/api/v1/traces/09090909090909090909090909090909/logs",
        1,
    )
    .await;
    assert_eq!(kept[0]["spanId"], "0404040404040404");
    // The wrong content type names the ones it takes.
    let response = reqwest::Client::new()
        .post(logs_url(&weft))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    // gRPC: malformed bytes are INVALID_ARGUMENT with the decoder's reason.
    let channel = tonic::transport::Endpoint::from_shared(weft.grpc_endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let error = weft_gen::RawExportClient::new(channel, false)
        .export_logs(bytes::Bytes::from_static(&[0xff, 0xff, 0xff]))
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::InvalidArgument, "{error}");
    assert_eq!(
        weft.metric("weft_receiver_rejected_log_records_total{receiver=\"otlp_http_logs\"}")
            .await,
        1.0
    );
}

/// The message of an OTLP/HTTP protobuf error body (a `google.rpc.Status`).
fn tonic_types_status(body: &[u8]) -> String {
    tonic_types::pb::Status::decode(body)
        .map(|status| status.message)
        .unwrap_or_else(|error| format!("not a status ({error}): {body:?}"))
}
