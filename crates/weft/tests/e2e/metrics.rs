//! The stream metrics end to end: span metrics, rollups, exemplars, topology, the Jaeger metric
//! APIs and the OpenMetrics exposition, over a running `weft serve` fed by `weft gen` traffic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;
use weft_codec::{spans_from_otlp, ConversionOptions, ExportTraceServiceRequest};
use weft_model::{Span, SpanKind, StatusCode};

use crate::clients::{generated_batches, grpc_client};
use crate::sandbox::{python, repo_root, Weft};

/// (operation, kind) -> (calls, errors), per service.
type OperationCounts = BTreeMap<String, BTreeMap<(String, String), (u64, u64)>>;

fn spans_of(batches: &[ExportTraceServiceRequest]) -> Vec<Span> {
    batches
        .iter()
        .flat_map(|batch| spans_from_otlp(batch.clone(), &ConversionOptions::default()).spans)
        .collect()
}

fn expected_operations(spans: &[Span]) -> OperationCounts {
    let mut expected = OperationCounts::new();
    for span in spans {
        let counts = expected
            .entry(span.service_name.clone())
            .or_default()
            .entry((span.name.clone(), span.kind.as_str().to_owned()))
            .or_default();
        counts.0 += 1;
        counts.1 += u64::from(span.status.code == StatusCode::Error);
    }
    expected
}

/// The topology by brute force over everything sent, with the pairing processor's rules: a
/// client (or producer) span and its server (or consumer) child in another service are one
/// call; a client with no server child that names a peer is a call to that peer.
fn expected_edges(spans: &[Span]) -> BTreeMap<(String, String), u64> {
    let mut children: HashMap<_, Vec<&Span>> = HashMap::new();
    for span in spans {
        if matches!(span.kind, SpanKind::Server | SpanKind::Consumer) {
            if let Some(parent) = span.parent_span_id {
                children
                    .entry((span.trace_id, parent))
                    .or_default()
                    .push(span);
            }
        }
    }
    let mut edges = BTreeMap::new();
    for client in spans {
        if !matches!(client.kind, SpanKind::Client | SpanKind::Producer) {
            continue;
        }
        let callee = match children.get(&(client.trace_id, client.span_id)) {
            Some(servers) if servers[0].service_name == client.service_name => continue,
            Some(servers) => servers[0].service_name.clone(),
            None => match weft_metrics::topology::peer_of(client) {
                Some(peer) => peer,
                None => continue,
            },
        };
        *edges
            .entry((client.service_name.clone(), callee))
            .or_insert(0) += 1;
    }
    edges
}

async fn send(weft: &Weft, batches: &[ExportTraceServiceRequest]) {
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    for batch in batches {
        client.export(batch.clone()).await.unwrap();
    }
}

async fn observed_operations(
    weft: &Weft,
    services: &[String],
    resolution: &str,
) -> OperationCounts {
    let mut observed = OperationCounts::new();
    for service in services {
        let (status, body) = weft
            .get_json(&format!(
                "/api/v1/metrics/operations?service={service}&resolution={resolution}&lookback=2h&limit=1000"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        let operations = observed.entry(service.clone()).or_default();
        for operation in body["operations"].as_array().unwrap() {
            operations.insert(
                (
                    operation["operation"].as_str().unwrap().to_owned(),
                    operation["spanKind"].as_str().unwrap().to_owned(),
                ),
                (
                    operation["calls"].as_u64().unwrap(),
                    operation["errors"].as_u64().unwrap(),
                ),
            );
        }
    }
    observed
}

/// Polls until the server's per-operation counts equal `expected` (the pipeline runs behind the
/// acknowledgement), failing with the last difference after a minute.
async fn wait_for_operations(weft: &Weft, expected: &OperationCounts, resolution: &str) {
    let services: Vec<String> = expected.keys().cloned().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let observed = observed_operations(weft, &services, resolution).await;
        if &observed == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "span metrics at {resolution} never matched what was sent:\nobserved {observed:#?}\nexpected {expected:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn observed_edges(weft: &Weft, path: &str) -> BTreeMap<(String, String), u64> {
    let (status, body) = weft.get_json(path).await;
    assert_eq!(status, 200, "{body}");
    body["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            (
                (
                    edge["caller"].as_str().unwrap().to_owned(),
                    edge["callee"].as_str().unwrap().to_owned(),
                ),
                edge["calls"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn wait_for_edges(weft: &Weft, expected: &BTreeMap<(String, String), u64>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let observed = observed_edges(weft, "/api/v1/topology?lookback=2h").await;
        if &observed == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "topology never matched the traffic:\nobserved {observed:#?}\nexpected {expected:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn parse_openmetrics(text: &str) -> Value {
    use std::io::Write;
    let mut child = std::process::Command::new(python())
        .arg(repo_root().join("tests/sdk/python/parse_openmetrics.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running the Python OpenMetrics parser (scripts/install-test-deps.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_client rejected /metrics/spans: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

const FAST_METRICS: [&str; 4] = [
    "--topology-pairing-timeout",
    "1s",
    "--metrics-checkpoint-interval",
    "1s",
];

#[tokio::test]
async fn span_metrics_topology_and_exemplars_account_for_every_span_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut weft = Weft::start(dir.path(), &FAST_METRICS);
    let batches = generated_batches(41, 40, 5);
    let spans = spans_of(&batches);
    send(&weft, &batches).await;

    let expected = expected_operations(&spans);
    wait_for_operations(&weft, &expected, "30s").await;

    // The topology is exactly the generator's designed call graph, with exact call counts.
    let edges = expected_edges(&spans);
    let designed: BTreeSet<(String, String)> = weft_gen::SERVICE_EDGES
        .iter()
        .map(|(caller, callee)| (caller.to_string(), callee.to_string()))
        .collect();
    assert_eq!(edges.keys().cloned().collect::<BTreeSet<_>>(), designed);
    wait_for_edges(&weft, &edges).await;
    let (_, jaeger) = weft.get_json("/api/dependencies?lookback=7200000").await;
    let links: BTreeMap<(String, String), u64> = jaeger["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|link| {
            (
                (
                    link["parent"].as_str().unwrap().to_owned(),
                    link["child"].as_str().unwrap().to_owned(),
                ),
                link["callCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(links, edges, "Jaeger dependencies are the same edges");
    let around_payment = observed_edges(
        &weft,
        "/api/v1/topology?lookback=2h&service=payment-service&hops=1",
    )
    .await;
    assert_eq!(
        around_payment.keys().cloned().collect::<BTreeSet<_>>(),
        edges
            .keys()
            .filter(|(caller, callee)| caller == "payment-service" || callee == "payment-service")
            .cloned()
            .collect::<BTreeSet<_>>(),
        "one hop around payment-service"
    );

    // Every exemplar names a trace the store has.
    let (status, body) = weft
        .get_json("/api/v1/metrics/exemplars?service=order-service&lookback=2h&limit=40")
        .await;
    assert_eq!(status, 200, "{body}");
    let exemplars = body["exemplars"].as_array().unwrap();
    assert!(!exemplars.is_empty(), "{body}");
    let reasons: BTreeSet<&str> = exemplars
        .iter()
        .map(|exemplar| exemplar["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains("slowest") && reasons.contains("sampled"),
        "{reasons:?}"
    );
    for exemplar in exemplars {
        let trace_id = exemplar["traceId"].as_str().unwrap();
        assert!(
            weft.trace(trace_id).await.is_some(),
            "exemplar trace {trace_id} resolves"
        );
    }
    let failing = spans
        .iter()
        .filter(|span| {
            span.status.code == StatusCode::Error && span.service_name == "payment-service"
        })
        .count();
    if failing > 0 {
        let (_, keyword) = weft
            .get_json(
                "/api/v1/metrics/exemplars?service=payment-service&lookback=2h&reason=keyword",
            )
            .await;
        assert!(
            !keyword["exemplars"].as_array().unwrap().is_empty(),
            "failing payment spans are linked by keyword: {keyword}"
        );
    }

    // The OpenMetrics exposition parses with Prometheus' own parser, counts every span, and its
    // exemplars name real traces.
    let text = reqwest::get(weft.api_url("/metrics/spans"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parsed = parse_openmetrics(&text);
    let mut expected_series: BTreeMap<String, f64> = BTreeMap::new();
    for span in &spans {
        *expected_series
            .entry(format!(
                "{}|{}|{}|{}",
                span.service_name,
                span.name,
                span.kind.otlp_name(),
                span.status.code.otlp_name()
            ))
            .or_default() += 1.0;
    }
    let calls: BTreeMap<String, f64> = serde_json::from_value(parsed["calls"].clone()).unwrap();
    assert_eq!(calls, expected_series);
    let counts: BTreeMap<String, f64> =
        serde_json::from_value(parsed["histogram_counts"].clone()).unwrap();
    assert_eq!(counts, expected_series);
    let exposed = parsed["exemplars"].as_array().unwrap();
    assert!(!exposed.is_empty());
    for exemplar in exposed.iter().take(10) {
        let trace_id = exemplar["trace_id"].as_str().unwrap();
        assert!(
            weft.trace(trace_id).await.is_some(),
            "exposed exemplar {trace_id} resolves"
        );
    }

    // After a graceful stop everything is committed: the stored 30 s buckets, and the 10 min and
    // 1 h rollups, each equal what was sent.
    assert!(weft.terminate().success());
    weft.restart(&FAST_METRICS);
    for resolution in ["30s", "10m", "1h"] {
        wait_for_operations(&weft, &expected, resolution).await;
    }
    let (_, health) = weft.get_json("/health").await;
    assert!(health["metrics"]["files"].as_u64().unwrap() > 0, "{health}");
}

#[tokio::test]
async fn a_series_point_sum_equals_its_rollup_and_jaeger_metrics_have_jaegers_shape() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &FAST_METRICS);
    let batches = generated_batches(43, 20, 5);
    let spans = spans_of(&batches);
    send(&weft, &batches).await;
    let expected = expected_operations(&spans);
    wait_for_operations(&weft, &expected, "30s").await;
    let frontend_calls: u64 = expected["frontend"].values().map(|(calls, _)| calls).sum();
    let mut totals = Vec::new();
    for resolution in ["30s", "10m", "1h"] {
        let (status, body) = weft
            .get_json(&format!(
                "/api/v1/metrics/series?service=frontend&lookback=2h&resolution={resolution}"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        let series = &body["series"][0];
        let point_sum: u64 = series["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|point| point["calls"].as_u64().unwrap())
            .sum();
        assert_eq!(point_sum, series["totals"]["calls"].as_u64().unwrap());
        totals.push(point_sum);
    }
    assert_eq!(totals, vec![frontend_calls; 3]);

    let (status, calls) = weft
        .get_json("/api/metrics/calls?service=frontend&groupByOperation=true&lookback=3600000&step=60000&ratePer=600000&spanKind=server&quantile=0.95")
        .await;
    assert_eq!(status, 200, "{calls}");
    assert_eq!(calls["name"], "service_operation_call_rate");
    assert_eq!(calls["type"], "GAUGE");
    let metric = &calls["metrics"][0];
    let labels: BTreeSet<&str> = metric["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|label| label["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, BTreeSet::from(["operation", "service_name"]));
    let points = metric["metricPoints"].as_array().unwrap();
    assert_eq!(
        points.len(),
        61,
        "one point per minute over the hour, both ends included"
    );
    let last = points.last().unwrap()["gaugeValue"]["doubleValue"]
        .as_f64()
        .unwrap();
    assert!(last > 0.0, "the last 10 minutes hold the traffic: {last}");
    let (status, latencies) = weft
        .get_json("/api/metrics/latencies?service=frontend&quantile=0.5&lookback=600000&step=60000")
        .await;
    assert_eq!(status, 200, "{latencies}");
    assert_eq!(latencies["name"], "service_latencies");
    assert_eq!(latencies["metrics"][0]["labels"][0]["value"], "frontend");
    let (status, missing) = weft
        .get_json("/api/metrics/latencies?service=frontend")
        .await;
    assert_eq!(status, 400);
    assert!(
        missing["errors"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("quantile"),
        "{missing}"
    );
    let (status, step) = weft.get_json("/api/metrics/minstep").await;
    assert_eq!((status, step["data"].as_u64()), (200, Some(30_000)));
}

#[tokio::test]
async fn metrics_survive_kill_9_without_losing_or_double_counting_a_span() {
    let dir = tempfile::tempdir().unwrap();
    let mut weft = Weft::start(dir.path(), &FAST_METRICS);
    let first = generated_batches(45, 20, 5);
    send(&weft, &first).await;
    wait_for_operations(&weft, &expected_operations(&spans_of(&first)), "30s").await;
    // Wait for a commit that covers every record of `first`, so the restart restores state
    // and replays only `second`. (Waiting for a count of commits raced the 30 s buckets: a
    // commit with no new position and no closed bucket is skipped.)
    let (_, health) = weft.get_json("/health").await;
    let written = health["wal"]["writtenLsn"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, health) = weft.get_json("/health").await;
        if health["metrics"]["committedPosition"].as_u64().unwrap() >= written {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no metric commit covers position {written}: {health}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = generated_batches(46, 20, 5);
    send(&weft, &second).await;
    weft.kill_9();
    weft.restart(&FAST_METRICS);
    let third = generated_batches(47, 10, 5);
    send(&weft, &third).await;
    let all: Vec<ExportTraceServiceRequest> =
        first.into_iter().chain(second).chain(third).collect();
    let spans = spans_of(&all);
    wait_for_operations(&weft, &expected_operations(&spans), "30s").await;
    wait_for_edges(&weft, &expected_edges(&spans)).await;
}

#[tokio::test]
async fn with_stream_metrics_off_spans_are_stored_and_metric_endpoints_answer_501() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &["--no-stream-metrics"]);
    let batches = generated_batches(48, 5, 4);
    send(&weft, &batches).await;
    let spans = spans_of(&batches);
    let trace_id = spans[0].trace_id.to_string();
    let expected = spans
        .iter()
        .filter(|span| span.trace_id == spans[0].trace_id)
        .count();
    weft.wait_for_trace(&trace_id, expected).await;
    for path in [
        "/api/v1/metrics/series?service=frontend",
        "/api/v1/metrics/operations?service=frontend",
        "/api/v1/topology",
        "/metrics/spans",
    ] {
        let (status, body) = weft.get_json(path).await;
        assert_eq!(status, 501, "{path}: {body}");
        assert_eq!(body["error"]["code"], "unimplemented", "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--no-stream-metrics"),
            "{path}: {body}"
        );
    }
    for path in [
        "/api/dependencies?endTs=0",
        "/api/metrics/calls?service=frontend",
    ] {
        let (status, body) = weft.get_json(path).await;
        assert_eq!(status, 501, "{path}: {body}");
        assert_eq!(body["errors"][0]["code"], 501, "{path}: {body}");
    }
    let (_, health) = weft.get_json("/health").await;
    assert!(health["metrics"].is_null(), "{health}");
    assert!(
        !dir.path().join("metrics").exists(),
        "no metric store is opened"
    );
    // Only the store processes the bus, so it alone decides what the WAL may release. The
    // pipeline processes acknowledged spans a moment after the acknowledgement: wait for all.
    let received_by = |processors: &[(String, f64)], component: &str| {
        processors
            .iter()
            .find(|(name, _)| name.contains(&format!("component=\"{component}\"")))
            .map(|(_, value)| *value)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let processors = loop {
        let processors: Vec<(String, f64)> = weft
            .metrics()
            .await
            .into_iter()
            .filter(|(name, _)| {
                name.starts_with("weft_component_received_spans_total")
                    && name.contains("kind=\"processor\"")
            })
            .collect();
        if received_by(&processors, "store") == Some(spans.len() as f64)
            || std::time::Instant::now() > deadline
        {
            break processors;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        received_by(&processors, "store"),
        Some(spans.len() as f64),
        "{processors:?}"
    );
    assert_eq!(received_by(&processors, "metrics"), None, "{processors:?}");
}
