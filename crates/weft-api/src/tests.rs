use weft_test_fixtures::fixture;

/// The query APIs against a real embedded store holding one hand-made trace, through the real
/// router; response shapes pinned by golden files (`UPDATE_EXPECT=1` rewrites them).
mod query_apis {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use weft_codec::ConversionOptions;
    use weft_store::{EmbeddedStore, SpanWriter, StoreConfig};
    use weft_test_fixtures::{fixture, log_fixture, trace_hex, BASE};

    use weft_pipeline::{Clock, Processor, SpanBatch};
    use weft_store::metrics::{MetricStore, MetricStoreConfig};

    use crate::query_api::Store;
    use weft_processors::metrics_hub::{MetricsHub, MetricsProcessor, MetricsSettings};

    /// The query APIs over the fixture: the span store, and the metric hub fed the same spans
    /// and committed (retention long enough that resolution choice never depends on the clock).
    pub(super) struct Apis {
        store: Store,
        hub: crate::metrics_api::Hub,
        /// The same metrics read from the metric store alone, as a query process of its own
        /// reads them.
        committed_metrics: crate::metrics_api::Hub,
    }

    fn hub_settings() -> MetricsSettings {
        MetricsSettings {
            span_metrics: weft_metrics::SpanMetricsConfig::default(),
            topology: weft_metrics::topology::TopologyConfig::default(),
            close_grace: std::time::Duration::from_secs(10),
            checkpoint_interval: std::time::Duration::from_secs(10),
        }
    }

    /// A metric hub over a fresh metric store in `directory` (retention long enough that
    /// resolution choice never depends on the clock).
    pub(super) fn metrics_hub_in(
        directory: &std::path::Path,
        settings: MetricsSettings,
    ) -> Arc<MetricsHub> {
        let (metric_store, recovered) = MetricStore::open(MetricStoreConfig {
            retention: [std::time::Duration::from_secs(100 * 365 * 86_400); 3],
            ..MetricStoreConfig::new(directory.join("metrics"))
        })
        .unwrap();
        MetricsHub::open(
            Arc::new(metric_store),
            recovered.state,
            settings,
            &mut prometheus_client::registry::Registry::default(),
        )
        .unwrap()
    }

    async fn store_with_fixture(directory: &std::path::Path) -> (Arc<EmbeddedStore>, Apis) {
        let conversion = ConversionOptions {
            business_key_names: vec!["order.id".into()],
        };
        // The fixture's time is fixed: with the default 3-day retention, the maintenance
        // thread's first retention pass expired its catalog once the date had moved on.
        let store = Arc::new(
            EmbeddedStore::open(StoreConfig {
                conversion: conversion.clone(),
                retention: std::time::Duration::from_secs(100 * 365 * 86_400),
                ..StoreConfig::new(directory.join("store"))
            })
            .unwrap(),
        );
        let spans = Arc::new(weft_codec::spans_from_otlp(fixture(), &conversion).spans);
        store.write(1, Arc::clone(&spans)).unwrap();
        let hub = metrics_hub_in(directory, hub_settings());
        let mut processor = MetricsProcessor::new(Arc::clone(&hub));
        let now = weft_pipeline::SystemClock.now_unix_nanos();
        processor
            .process(&SpanBatch {
                position: 1,
                spans,
                read_at_unix_nanos: now,
            })
            .unwrap();
        // Graceful stop: closes every bucket and commits, so the answers come from the files.
        processor
            .flush(&weft_pipeline::Tick {
                now_unix_nanos: now,
                caught_up: true,
            })
            .unwrap();
        let cold = Arc::new(EmbeddedStore::open(StoreConfig::new(directory.join("cold"))).unwrap());
        let logs =
            super::log_tiers_holding(directory, weft_codec::logs_from_otlp(log_fixture()).records);
        let dynamic: Store = Arc::new(weft_query::tiers::Tiers {
            hot: store.clone(),
            cold,
            hot_retention: std::time::Duration::from_secs(100 * 365 * 86_400),
            logs,
        });
        (
            store,
            Apis {
                store: dynamic,
                committed_metrics: Arc::new(crate::metrics_api::MetricsApiState {
                    rows: Arc::new(weft_storage::metrics::CommittedMetricRows(
                        Arc::clone(&hub.store) as _,
                    )),
                    span_exposition: None,
                }),
                hub: live_metrics_api(hub),
            },
        )
    }

    impl Apis {
        /// The same APIs with metrics read from the metric store alone, as a query process
        /// without the metrics processor reads them.
        fn with_committed_metrics_only(&self) -> Apis {
            Apis {
                store: Arc::clone(&self.store),
                hub: Arc::clone(&self.committed_metrics),
                committed_metrics: Arc::clone(&self.committed_metrics),
            }
        }
    }

    /// The metrics API beside the metrics processor, as `weft serve` wires it.
    fn live_metrics_api(hub: Arc<MetricsHub>) -> crate::metrics_api::Hub {
        let exposed = Arc::clone(&hub);
        Arc::new(crate::metrics_api::MetricsApiState {
            rows: hub,
            span_exposition: Some(Arc::new(move |text: &mut String| {
                exposed.encode_span_exposition(text)
            })),
        })
    }

    async fn get(apis: &Apis, uri: &str) -> (StatusCode, String) {
        send(apis, Request::get(uri).body(Body::empty()).unwrap()).await
    }

    async fn send(apis: &Apis, request: Request<Body>) -> (StatusCode, String) {
        let router = crate::query_api::router()
            .merge(crate::jaeger::router())
            .merge(crate::jaeger_v3::router())
            .merge(crate::logs_api::router())
            .with_state(Arc::clone(&apis.store))
            .merge(crate::metrics_api::router().with_state(Arc::clone(&apis.hub)))
            .fallback(crate::api::ui_or_not_found);
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    /// Every `/api/v3` answer the Jaeger UI (v2.15 and later) reads, and the Jaeger v1 answers
    /// fixed for it: a limit past Weft's (the UI offers 1500), IDs not found among several,
    /// the file upload's transform, lookbacks in days, an unknown path.
    #[tokio::test]
    async fn jaeger_v3_and_v1_ui_answers_match_the_golden_file() {
        let directory = tempfile::tempdir().unwrap();
        let (_embedded, store) = store_with_fixture(directory.path()).await;
        let minute = 60_000_000_000;
        let (from, to) = (rfc3339(BASE - minute), rfc3339(BASE + minute));
        let window = format!("query.startTimeMin={from}&query.startTimeMax={to}");
        let snake_window = format!("query.start_time_min={from}&query.start_time_max={to}");
        let attributes =
            |json: &str| serde_urlencoded::to_string([("query.attributes", json)]).unwrap();
        let (start_micros, end_micros) = ((BASE - minute) / 1_000, (BASE + minute) / 1_000);
        let missing = "ffffffffffffffffffffffffffffffff";
        let mut answers = String::new();
        for uri in [
            "/api/v3/services".to_owned(),
            "/api/v3/operations?service=orders".to_owned(),
            "/api/v3/operations?service=orders&spanKind=client".to_owned(),
            "/api/v3/operations?service=nosuch".to_owned(),
            format!("/api/v3/trace-summaries?query.serviceName=orders&{window}&query.searchDepth=20"),
            format!("/api/v3/trace-summaries?query.service_name=orders-db&{snake_window}&query.num_traces=5"),
            format!(
                "/api/v3/trace-summaries?query.serviceName=orders&{window}&query.durationMin=200ms&{}",
                attributes(r#"{"error":"true","http.request.method":"GET"}"#)
            ),
            format!(
                "/api/v3/trace-summaries?query.serviceName=orders&{window}&{}",
                attributes(r#"{"db.system.name":"mysql"}"#)
            ),
            "/api/v3/trace-summaries?query.serviceName=orders".to_owned(),
            format!("/api/v3/trace-summaries?query.serviceName=orders&query.startTimeMin={to}&query.startTimeMax={from}"),
            format!("/api/v3/trace-summaries?{window}&{}", attributes(r#"{"http.response.status_code":500}"#)),
            format!("/api/v3/trace-summaries?{window}&query.durationMin=100"),
            format!("/api/v3/trace-summaries?query.startTimeMin=yesterday&query.startTimeMax={to}"),
            format!("/api/v3/traces?query.serviceName=orders-db&{window}"),
            format!("/api/v3/traces?query.serviceName=nosuch&{window}"),
            format!("/api/v3/traces/{}", trace_hex()),
            format!("/api/v3/traces/{}?startTime={from}&endTime={to}", trace_hex()),
            format!("/api/v3/traces/{missing}"),
            "/api/v3/traces/zz".to_owned(),
            "/api/v3/nothing-here".to_owned(),
            format!("/api/traces?service=orders&start={start_micros}&end={end_micros}&limit=1500"),
            format!("/api/traces?traceID={}&traceID={missing}", trace_hex()),
            format!("/api/traces?service=orders&end={end_micros}&lookback=2d"),
            "/api/dependencies?endTs=1795255260000&lookback=2d".to_owned(),
            "/api/nothing-here".to_owned(),
            "/api/traces?service=orders&lookback=2fortnights".to_owned(),
        ] {
            let (status, body) = get(&store, &uri).await;
            if uri.starts_with("/api/v3/traces") && status == StatusCode::OK {
                assert_the_jaeger_ui_accepts_span_ids_and_statuses(&body);
            }
            answers.push_str(&jaeger_answer(&uri, status, &body));
        }
        let upload = weft_codec::encode_otlp_json(&fixture());
        for body in [upload, b"{\"resourceSpans\": 7}".to_vec()] {
            let request = Request::post("/api/transform")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap();
            let (status, body) = send(&store, request).await;
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            answers.push_str(&format!(
                "POST /api/transform\n{} {}\n\n",
                status.as_u16(),
                serde_json::to_string(&value).unwrap()
            ));
        }
        expect_test::expect_file!["golden/jaeger_v3_answers.txt"].assert_eq(&answers);
    }

    /// What the Jaeger UI's v3 trace schema checks beyond the shape: span IDs are 16 hex digits
    /// (not all zero) wherever they appear, a status is an object, and nothing is `null`.
    fn assert_the_jaeger_ui_accepts_span_ids_and_statuses(body: &str) {
        fn walk(value: &serde_json::Value, path: &str) {
            match value {
                serde_json::Value::Null => panic!("null at {path}"),
                serde_json::Value::Object(fields) => {
                    for (name, field) in fields {
                        if name == "spanId" || name == "parentSpanId" {
                            let id = field.as_str().unwrap_or_default();
                            assert!(
                                id.len() == 16
                                    && id.bytes().all(|byte| byte.is_ascii_hexdigit())
                                    && id.bytes().any(|byte| byte != b'0'),
                                "{path}.{name} is not a span ID: {field}"
                            );
                        }
                        if name == "status" {
                            assert!(field.is_object(), "{path}.status is {field}");
                        }
                        walk(field, &format!("{path}.{name}"));
                    }
                }
                serde_json::Value::Array(items) => {
                    for (index, item) in items.iter().enumerate() {
                        walk(item, &format!("{path}[{index}]"));
                    }
                }
                _ => {}
            }
        }
        walk(&serde_json::from_str(body).unwrap(), "");
    }

    /// An RFC 3339 time in milliseconds, as the Jaeger UI writes one.
    fn rfc3339(unix_nanos: u64) -> String {
        humantime::format_rfc3339_millis(
            std::time::UNIX_EPOCH + std::time::Duration::from_nanos(unix_nanos),
        )
        .to_string()
    }

    /// One Jaeger answer for a golden file. Traces are pinned by the trace golden file; for a
    /// search, only which ones came back.
    fn jaeger_answer(uri: &str, status: StatusCode, body: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        let summary = match value["data"].as_array() {
            Some(items) if uri.starts_with("/api/traces?") => serde_json::json!({
                "traceIDs": items.iter().map(|t| t["traceID"].clone()).collect::<Vec<_>>(),
                "total": value["total"], "errors": value["errors"],
            }),
            _ => value,
        };
        format!(
            "GET {uri}\n{} {}\n\n",
            status.as_u16(),
            serde_json::to_string(&summary).unwrap()
        )
    }

    fn pretty(body: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        serde_json::to_string_pretty(&value).unwrap() + "\n"
    }

    #[tokio::test]
    async fn jaeger_trace_shape_matches_the_golden_file_before_and_after_flush() {
        let directory = tempfile::tempdir().unwrap();
        let (embedded, store) = store_with_fixture(directory.path()).await;
        let uri = format!("/api/traces/{}", trace_hex());
        let (status, from_memtable) = get(&store, &uri).await;
        assert_eq!(status, StatusCode::OK, "{from_memtable}");
        expect_test::expect_file!["golden/jaeger_trace.json"].assert_eq(&pretty(&from_memtable));
        embedded.flush().unwrap();
        let (_, from_segment) = get(&store, &uri).await;
        assert_eq!(pretty(&from_segment), pretty(&from_memtable));
    }

    #[tokio::test]
    async fn jaeger_lists_and_search_match_the_golden_files() {
        let directory = tempfile::tempdir().unwrap();
        let (_embedded, store) = store_with_fixture(directory.path()).await;
        let mut answers = String::new();
        let start = BASE / 1_000 - 1_000_000;
        let end = BASE / 1_000 + 1_000_000;
        for uri in [
            "/api/services".to_owned(),
            "/api/services/orders/operations".to_owned(),
            "/api/operations?service=orders&spanKind=server".to_owned(),
            "/api/dependencies?endTs=1795255200000&lookback=3600000".to_owned(),
            format!("/api/traces?service=orders-db&start={start}&end={end}&limit=5"),
            format!(
                "/api/traces?service=orders&start={start}&end={end}&tags=%7B%22error%22%3A%22true%22%7D"
            ),
            format!("/api/traces?service=orders&start={start}&end={end}&tag=db.system.name:mysql"),
            "/api/traces/ffffffffffffffffffffffffffffffff".to_owned(),
            "/api/traces/not-hex".to_owned(),
            "/api/traces?operation=x".to_owned(),
            "/api/traces?service=orders&minDuration=5parsecs".to_owned(),
        ] {
            let (status, body) = get(&store, &uri).await;
            answers.push_str(&jaeger_answer(&uri, status, &body));
        }
        expect_test::expect_file!["golden/jaeger_answers.txt"].assert_eq(&answers);
    }

    #[tokio::test]
    async fn weft_api_answers_match_the_golden_files() {
        let directory = tempfile::tempdir().unwrap();
        let (_embedded, store) = store_with_fixture(directory.path()).await;
        let mut answers = String::new();
        let window = format!(
            "start={}&end={}",
            BASE - 60_000_000_000,
            BASE + 60_000_000_000
        );
        for uri in [
            "/api/v1/services".to_owned(),
            "/api/v1/services/orders/operations".to_owned(),
            "/api/v1/services/orders/operations?spanKind=client".to_owned(),
            "/api/v1/attributes?service=orders".to_owned(),
            "/api/v1/attributes/http.request.method/values?prefix=G".to_owned(),
            format!("/api/v1/search?{window}"),
            format!("/api/v1/search?{window}&service=orders&attribute=http.response.status_code=500&status=error"),
            format!("/api/v1/search?{window}&businessKey=ORD-1"),
            format!("/api/v1/search?{window}&rootService=orders&minDuration=200ms"),
            format!("/api/v1/search?{window}&traceIdPrefix=692037a0"),
            format!("/api/v1/search?{window}&service=orders-db&attribute=host.name=host-2"),
            "/api/v1/search?start=2026-11-21T11:00:00Z&end=2026-11-21T10:00:00Z".to_owned(),
            "/api/v1/search?limit=100000".to_owned(),
            "/api/v1/search?attribute=novalue".to_owned(),
            "/api/v1/search?service=a&service=b".to_owned(),
            "/api/v1/search?minDuration=10".to_owned(),
            "/api/v1/search?traceIdPrefix=xyz".to_owned(),
            "/api/v1/search?start=yesterday".to_owned(),
            "/api/v1/search?frobnicate=1".to_owned(),
            "/api/v1/traces/123".to_owned(),
            "/api/v1/traces/zz".to_owned(),
            format!("/api/v1/traces/{}?start=10&end=5", trace_hex()),
            format!("/api/v1/traces/{}/logs", trace_hex()),
            "/api/v1/traces/0123456789abcdef0123456789abcdef/logs".to_owned(),
            "/api/v1/traces/zz/logs".to_owned(),
            format!("/api/v1/logs?{window}"),
            format!("/api/v1/logs?{window}&service=orders&q=HEARTBEAT"),
            format!("/api/v1/logs?{window}&severity=warn"),
            format!("/api/v1/logs?{window}&traceId={}&limit=1", trace_hex()),
            format!("/api/v1/logs?{window}&tier=cold"),
            "/api/v1/logs?severity=loud".to_owned(),
            "/api/v1/logs?limit=0".to_owned(),
            "/api/v1/logs?tier=all".to_owned(),
            "/api/v1/logs?q=a&text=b".to_owned(),
        ] {
            let (status, body) = get(&store, &uri).await;
            answers.push_str(&format!("GET {uri}\n{} {body}\n\n", status.as_u16()));
        }
        expect_test::expect_file!["golden/weft_answers.txt"].assert_eq(&answers);
    }

    #[tokio::test]
    async fn weft_trace_by_id_returns_exactly_what_was_sent_as_otlp_json() {
        let directory = tempfile::tempdir().unwrap();
        let (_embedded, store) = store_with_fixture(directory.path()).await;
        let (status, body) = get(&store, &format!("/api/v1/traces/{}", trace_hex())).await;
        assert_eq!(status, StatusCode::OK);
        let returned = weft_codec::decode_otlp_json(body.as_bytes()).unwrap();
        assert_eq!(returned, fixture(), "the api returns the request as sent");
    }

    #[tokio::test]
    async fn metric_topology_and_jaeger_metric_answers_match_the_golden_files() {
        let directory = tempfile::tempdir().unwrap();
        let (_embedded, apis) = store_with_fixture(directory.path()).await;
        let mut answers = String::new();
        let window = format!(
            "start={}&end={}&resolution=30s",
            BASE - 60_000_000_000,
            BASE + 60_000_000_000
        );
        let end_ms = BASE / 1_000_000 + 60_000;
        let jaeger = format!("endTs={end_ms}&lookback=120000&step=30000&ratePer=60000");
        let (from, to) = (
            rfc3339(BASE - 60_000_000_000),
            rfc3339(BASE + 60_000_000_000),
        );
        for uri in [
            format!("/api/v1/metrics/series?service=orders&{window}"),
            format!("/api/v1/metrics/series?service=orders&groupBy=operation&{window}"),
            format!(
                "/api/v1/metrics/series?service=orders&operation=GET%20/orders/%7Bid%7D&spanKind=server&start={}&end={}&resolution=10m",
                BASE - 60_000_000_000,
                BASE + 60_000_000_000
            ),
            format!("/api/v1/metrics/operations?service=orders&sortBy=p99&{window}"),
            format!("/api/v1/metrics/exemplars?service=orders&{window}"),
            format!("/api/v1/metrics/exemplars?service=orders&reason=keyword&{window}"),
            format!("/api/v1/topology?{window}"),
            format!("/api/v1/topology?{window}&service=orders-db&hops=1&operations=true"),
            format!("/api/dependencies?endTs={end_ms}&lookback=120000"),
            format!("/api/v3/dependencies?startTime={from}&endTime={to}"),
            format!("/api/v3/dependencies?start_time={from}&end_time={to}"),
            format!("/api/v3/dependencies?endTime={to}"),
            format!("/api/v3/dependencies?startTime={to}&endTime={from}"),
            format!("/api/v3/dependencies?startTime={from}&endTime=tomorrow"),
            format!("/api/metrics/calls?service=orders&{jaeger}"),
            format!("/api/metrics/errors?service=orders&{jaeger}&groupByOperation=true"),
            format!("/api/metrics/latencies?service=orders&quantile=0.95&spanKind=server&spanKind=client&{jaeger}"),
            "/api/metrics/minstep".to_owned(),
            "/api/v1/catalog?service=orders&topValues=2".to_owned(),
            format!("/api/v1/metrics/series?{window}"),
            format!("/api/v1/metrics/series?service=orders&{window}&resolution=5m"),
            format!("/api/v1/metrics/series?service=orders&{window}&groupBy=host"),
            "/api/v1/metrics/series?service=orders&start=2026-11-21T11:00:00Z&end=2026-11-21T10:00:00Z".to_owned(),
            "/api/v1/metrics/series?service=orders&lookback=30d&resolution=30s".to_owned(),
            format!("/api/v1/metrics/operations?service=orders&sortBy=latency&{window}"),
            format!("/api/v1/metrics/exemplars?service=orders&reason=best&{window}"),
            format!("/api/metrics/latencies?service=orders&{jaeger}"),
            format!("/api/metrics/calls?{jaeger}"),
            format!("/api/metrics/calls?service=orders&spanKind=sideways&{jaeger}"),
            format!("/api/metrics/calls?service=orders&groupByOperation=maybe&{jaeger}"),
            "/api/metrics/throughput?service=orders".to_owned(),
            format!("/api/metrics/calls?service=orders&endTs={end_ms}&lookback=120000&step=30000&ratePer=31536000000"),
            format!("/api/metrics/latencies?service=orders&quantile=0.5&endTs={end_ms}&lookback=3600000&step=1000&ratePer=86400000"),
        ] {
            let (status, body) = get(&apis, &uri).await;
            // Everything was committed: the metric store alone answers the same.
            let committed = apis.with_committed_metrics_only();
            assert_eq!(get(&committed, &uri).await, (status, body.clone()), "{uri}");
            answers.push_str(&format!("GET {uri}\n{} {body}\n\n", status.as_u16()));
        }
        expect_test::expect_file!["golden/metrics_answers.txt"].assert_eq(&answers);
        let (status, exposition) = get(&apis, "/metrics/spans").await;
        assert_eq!(status, StatusCode::OK);
        let without_processor = apis.with_committed_metrics_only();
        assert_eq!(
            get(&without_processor, "/metrics/spans").await.0,
            StatusCode::NOT_IMPLEMENTED,
            "only a node running the metrics processor exposes span metrics"
        );
        // Series come out in hash order; the golden file pins names, labels, values and
        // exemplars, not that order.
        let mut lines: Vec<&str> = exposition.lines().collect();
        lines.sort_unstable();
        expect_test::expect_file!["golden/metrics_spans.txt"].assert_eq(&(lines.join("\n") + "\n"));
    }
}

/// Hot and cold log stores under `directory`, the hot one holding `hot_records`.
fn log_tiers_holding(
    directory: &std::path::Path,
    hot_records: Vec<weft_model::LogRecord>,
) -> std::sync::Arc<weft_query::tiers::LogTiers> {
    use std::sync::Arc;
    let hot = weft_store::LogStore::open(weft_store::LogStoreConfig::new(directory.join("logs")))
        .unwrap();
    hot.write(1, Arc::new(hot_records)).unwrap();
    Arc::new(weft_query::tiers::LogTiers {
        hot: Arc::new(hot),
        cold: Arc::new(
            weft_store::LogStore::open(weft_store::LogStoreConfig::new(
                directory.join("cold-logs"),
            ))
            .unwrap(),
        ),
    })
}

#[test]
fn a_jaeger_trace_past_the_span_cap_is_cut_with_a_warning() {
    let spans =
        weft_codec::spans_from_otlp(fixture(), &weft_codec::ConversionOptions::default()).spans;
    assert_eq!(spans.len(), 3);
    let cut = crate::jaeger::capped_jaeger_trace(spans.clone(), &[], 2);
    assert_eq!(cut.spans.len(), 2);
    assert_eq!(
        cut.warnings.unwrap()[0],
        "trace has more than 2 spans; only 2 are shown"
    );
    let whole = crate::jaeger::capped_jaeger_trace(spans, &[], 3);
    assert_eq!(whole.spans.len(), 3);
    assert!(whole.warnings.is_none());
}

/// Queries past `--max-concurrent-queries` wait a short while for a turn, then are shed with
/// 429, `Retry-After` and the API's own error envelope; a turn given back admits the next.
#[tokio::test]
async fn queries_past_the_admission_limit_are_shed_with_retry_after() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use std::time::Duration;
    use tower::ServiceExt;

    use crate::query_admission::{admit, QueryAdmission, QueryAdmissionConfig};

    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let held = Arc::clone(&release);
    let admission = QueryAdmission::new(
        QueryAdmissionConfig {
            max_running: 1,
            max_waiting: 1,
            max_wait: Duration::from_millis(200),
            retry_after: Duration::from_secs(3),
        },
        &mut prometheus_client::registry::Registry::default(),
    );
    let router = axum::Router::new()
        .route(
            "/api/v1/slow",
            axum::routing::get(move || {
                let held = Arc::clone(&held);
                async move {
                    let _ = held.acquire().await;
                    "done"
                }
            }),
        )
        .route("/api/v3/fast", axum::routing::get(|| async { "fast" }))
        .layer(axum::middleware::from_fn_with_state(admission, admit));
    let call = |path: &'static str| {
        let router = router.clone();
        tokio::spawn(async move {
            let response = router
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_owned());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                retry_after,
                String::from_utf8(body.to_vec()).unwrap(),
            )
        })
    };
    let slow = call("/api/v1/slow");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The one turn is taken: this waits its 200 ms, then is shed in the v3 envelope.
    let (status, retry_after, body) = call("/api/v3/fast").await.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(retry_after.as_deref(), Some("3"));
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["httpCode"], 429);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too many queries"),
        "{body}"
    );
    // A waiter is given the turn when it is handed back within its wait.
    let waiting = call("/api/v3/fast");
    tokio::time::sleep(Duration::from_millis(50)).await;
    release.add_permits(1);
    assert_eq!(slow.await.unwrap().0, StatusCode::OK);
    let (status, _, body) = waiting.await.unwrap();
    assert_eq!((status, body.as_str()), (StatusCode::OK, "fast"));
}

/// The Jaeger UI refuses a v3 trace whose root span has `parentSpanId: ""` or whose span has
/// `status: null`; `jsonpb` leaves zero values out but keeps an `AnyValue`'s one field.
#[test]
fn jaeger_v3_traces_leave_out_zero_values_but_keep_false_and_empty_attribute_values() {
    // Attribute values holding zero values, each kept as it is.
    let attributes = serde_json::json!([
        {"key": "cached", "value": {"boolValue": false}},
        {"key": "empty", "value": {"stringValue": ""}},
        {"key": "zero", "value": {"intValue": "0"}},
        {"key": "list", "value": {"arrayValue": {"values": [{"doubleValue": 0.0}]}}},
        {"key": "map", "value": {"kvlistValue": {"values": [
            {"key": "inner", "value": {"boolValue": false}}
        ]}}}
    ]);
    let mut data = serde_json::json!({
        "resourceSpans": [{
            "schemaUrl": "",
            "resource": {"attributes": [], "droppedAttributesCount": 0},
            "scopeSpans": [{"spans": [{
                "traceId": "692037a00102030405060708090a0b0c",
                "spanId": "0000000000000001",
                "parentSpanId": "",
                "status": null,
                "kind": 2,
                "flags": 0,
                "attributes": attributes
            }]}]
        }]
    });
    crate::jaeger_v3::leave_out_zero_values(&mut data);
    assert_eq!(
        data,
        serde_json::json!({
            "resourceSpans": [{
                "resource": {},
                "scopeSpans": [{"spans": [{
                    "traceId": "692037a00102030405060708090a0b0c",
                    "spanId": "0000000000000001",
                    "kind": 2,
                    "attributes": attributes
                }]}]
            }]
        })
    );
}
