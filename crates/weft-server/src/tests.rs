use super::*;

#[test]
fn byte_sizes_parse_with_units() {
    assert_eq!(parse_byte_size("16MiB"), Ok(16 << 20));
    assert_eq!(parse_byte_size("4GiB"), Ok(4 << 30));
    assert_eq!(parse_byte_size("1000"), Ok(1000));
    assert_eq!(parse_byte_size("2MB"), Ok(2_000_000));
    assert!(parse_byte_size("12 parsecs")
        .unwrap_err()
        .contains("invalid size unit"));
    assert!(parse_byte_size("MiB").is_err());
}

#[test]
fn flags_override_file_which_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weft.toml");
    std::fs::write(
        &file,
        r#"
            otlp_grpc_listen = "127.0.0.1:5317"
            http_listen = "127.0.0.1:17686"
            max_request_size = "1MiB"
            wal_fsync = "always"
            business_keys = ["tenant.id"]
        "#,
    )
    .unwrap();
    let config = ServeConfig::resolve(ServeArgs {
        config: Some(file),
        http_listen: Some("127.0.0.1:27686".parse().unwrap()),
        ..ServeArgs::default()
    })
    .unwrap();
    assert_eq!(config.otlp_grpc_listen.to_string(), "127.0.0.1:5317");
    assert_eq!(
        config.http_listen.to_string(),
        "127.0.0.1:27686",
        "flag wins"
    );
    assert_eq!(
        config.otlp_http_listen.to_string(),
        "0.0.0.0:4318",
        "default"
    );
    assert_eq!(config.max_request_bytes, 1 << 20);
    assert_eq!(config.wal_fsync, weft_wal::FsyncPolicy::Always);
    assert_eq!(config.business_keys, ["tenant.id"]);
}

#[test]
fn unknown_or_bad_config_keys_are_errors_that_name_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weft.toml");
    std::fs::write(&file, "otlp_grcp_listen = \"127.0.0.1:1\"\n").unwrap();
    let error = ServeConfig::resolve(ServeArgs {
        config: Some(file.clone()),
        ..ServeArgs::default()
    })
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("otlp_grcp_listen"),
        "{error:#}"
    );
    std::fs::write(&file, "wal_max_size = \"lots\"\n").unwrap();
    let error = ServeConfig::resolve(ServeArgs {
        config: Some(file),
        ..ServeArgs::default()
    })
    .unwrap_err();
    assert!(format!("{error:#}").contains("wal_max_size"), "{error:#}");
}

#[tokio::test]
async fn second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let loopback = "127.0.0.1:0".parse().unwrap();
    let config = |dir: &std::path::Path| {
        let mut config = ServeConfig::resolve(ServeArgs::default()).unwrap();
        config.data_dir = dir.to_owned();
        config.otlp_grpc_listen = loopback;
        config.otlp_http_listen = loopback;
        config.zipkin_listen = loopback;
        config.http_listen = loopback;
        config
    };
    let first = ServeHandle::start(config(dir.path())).await.unwrap();
    let error = ServeHandle::start(config(dir.path())).await.err().unwrap();
    assert!(
        error.to_string().contains("in use by another weft process"),
        "{error}"
    );
    first.stop().await.unwrap();
    // Once the first is gone, the directory is free again.
    ServeHandle::start(config(dir.path()))
        .await
        .unwrap()
        .stop()
        .await
        .unwrap();
}

/// The query APIs against a real embedded store holding one hand-made trace, through the real
/// router; response shapes pinned by golden files (`UPDATE_EXPECT=1` rewrites them).
mod query_apis {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{
        span, status, ResourceSpans, ScopeSpans, Span, Status,
    };
    use tower::ServiceExt;
    use weft_codec::ConversionOptions;
    use weft_store::{EmbeddedStore, SpanStore, StoreConfig};

    use weft_pipeline::{Clock, Processor, SpanBatch};
    use weft_store::metrics::{MetricStore, MetricStoreConfig};

    use crate::metrics_hub::{MetricsHub, MetricsProcessor, MetricsSettings};
    use crate::query_api::Store;

    /// 2026-11-21T10:00:00Z
    const BASE: u64 = 1_795_255_200_000_000_000;
    const TRACE: [u8; 16] = [
        0x69, 0x20, 0x37, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];

    fn value(value: any_value::Value) -> Option<AnyValue> {
        Some(AnyValue { value: Some(value) })
    }

    fn attribute(key: &str, value_of: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value(value_of),
            key_strindex: 0,
        }
    }

    fn text(key: &str, text: &str) -> KeyValue {
        attribute(key, any_value::Value::StringValue(text.into()))
    }

    fn resource(service: &str) -> Option<Resource> {
        Some(Resource {
            attributes: vec![text("service.name", service), text("host.name", "host-1")],
            dropped_attributes_count: 0,
            entity_refs: vec![],
        })
    }

    fn span_id(last: u8) -> Vec<u8> {
        vec![0, 0, 0, 0, 0, 0, 0, last]
    }

    pub(super) fn fixture() -> ExportTraceServiceRequest {
        let root = Span {
            trace_id: TRACE.to_vec(),
            span_id: span_id(1),
            trace_state: "vendor=1".into(),
            name: "GET /orders/{id}".into(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: BASE,
            end_time_unix_nano: BASE + 250_000_000,
            attributes: vec![
                text("http.request.method", "GET"),
                attribute("http.response.status_code", any_value::Value::IntValue(500)),
                attribute("weft.ratio", any_value::Value::DoubleValue(0.25)),
                attribute("weft.cached", any_value::Value::BoolValue(false)),
                attribute("weft.raw", any_value::Value::BytesValue(vec![0xde, 0xad])),
                attribute(
                    "weft.tags",
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![
                            value(any_value::Value::StringValue("a".into())).unwrap(),
                            value(any_value::Value::IntValue(2)).unwrap(),
                        ],
                    }),
                ),
                attribute(
                    "weft.map",
                    any_value::Value::KvlistValue(KeyValueList {
                        values: vec![text("inner", "x")],
                    }),
                ),
                text("order.id", "ORD-1"),
            ],
            events: vec![span::Event {
                time_unix_nano: BASE + 200_000_000,
                name: "exception".into(),
                attributes: vec![
                    text("exception.type", "ValueError"),
                    text("exception.message", "order 1 not found"),
                ],
                dropped_attributes_count: 0,
            }],
            status: Some(Status {
                message: "order lookup failed".into(),
                code: status::StatusCode::Error as i32,
            }),
            flags: 0x301,
            ..Span::default()
        };
        let client = Span {
            trace_id: TRACE.to_vec(),
            span_id: span_id(2),
            parent_span_id: span_id(1),
            name: "SELECT orders".into(),
            kind: span::SpanKind::Client as i32,
            start_time_unix_nano: BASE + 10_000_000,
            end_time_unix_nano: BASE + 60_000_000,
            attributes: vec![text("db.system.name", "postgresql")],
            links: vec![span::Link {
                trace_id: TRACE.to_vec(),
                span_id: span_id(1),
                attributes: vec![text("link.reason", "retry")],
                ..span::Link::default()
            }],
            flags: 0x301,
            ..Span::default()
        };
        let database = Span {
            trace_id: TRACE.to_vec(),
            span_id: span_id(3),
            parent_span_id: span_id(2),
            name: "orders-db.Query".into(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: BASE + 12_000_000,
            end_time_unix_nano: BASE + 58_000_000,
            status: Some(Status {
                message: String::new(),
                code: status::StatusCode::Ok as i32,
            }),
            flags: 0x301,
            ..Span::default()
        };
        let scope = |spans| ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "weft.test".into(),
                version: "1.0".into(),
                ..InstrumentationScope::default()
            }),
            spans,
            schema_url: String::new(),
        };
        ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    resource: resource("orders"),
                    scope_spans: vec![scope(vec![root, client])],
                    schema_url: String::new(),
                },
                ResourceSpans {
                    resource: resource("orders-db"),
                    scope_spans: vec![scope(vec![database])],
                    schema_url: String::new(),
                },
            ],
        }
    }

    /// What the fixture's services logged: on the query span, under the trace with a span
    /// ID the trace does not have (so on the root), and outside any trace.
    pub(super) fn log_fixture() -> weft_codec::ExportLogsServiceRequest {
        use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
        let record = |time: u64, severity: i32, text_of_severity: &str, body: &str| LogRecord {
            time_unix_nano: time,
            observed_time_unix_nano: time + 1_000,
            severity_number: severity,
            severity_text: text_of_severity.into(),
            body: value(any_value::Value::StringValue(body.into())),
            ..LogRecord::default()
        };
        let on_query = LogRecord {
            trace_id: TRACE.to_vec(),
            span_id: span_id(2),
            attributes: vec![text("db.statement", "SELECT * FROM orders WHERE id = ?")],
            ..record(BASE + 15_000_000, 13, "WARN", "slow query took 120 ms")
        };
        let unknown_span = LogRecord {
            trace_id: TRACE.to_vec(),
            span_id: span_id(9),
            ..record(BASE + 1_000_000, 9, "", "request received")
        };
        let outside = LogRecord {
            attributes: vec![attribute("pool.idle", any_value::Value::IntValue(12))],
            ..record(BASE + 2_000_000, 9, "INFO", "heartbeat: pool healthy")
        };
        weft_codec::ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: resource("orders"),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "orders.http".into(),
                        version: "2.1.0".into(),
                        ..InstrumentationScope::default()
                    }),
                    log_records: vec![on_query, unknown_span, outside],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    pub(super) fn trace_hex() -> String {
        hex_of(&TRACE)
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The query APIs over the fixture: the span store, and the metric hub fed the same spans
    /// and committed (retention long enough that resolution choice never depends on the clock).
    pub(super) struct Apis {
        store: Store,
        hub: crate::metrics_api::Hub,
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
            metric_store,
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
        let logs = super::log_tiers_for_tests(directory);
        logs.hot
            .write(
                2,
                Arc::new(weft_codec::logs_from_otlp(log_fixture()).records),
            )
            .unwrap();
        let dynamic: Store = Arc::new(crate::tiers::Tiers {
            hot: store.clone(),
            cold,
            hot_retention: std::time::Duration::from_secs(100 * 365 * 86_400),
            logs,
        });
        (
            store,
            Apis {
                store: dynamic,
                hub,
            },
        )
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
        let rfc3339 = |nanos: u64| {
            humantime::format_rfc3339_millis(
                std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos),
            )
            .to_string()
        };
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
            answers.push_str(&format!("GET {uri}\n{} {body}\n\n", status.as_u16()));
        }
        expect_test::expect_file!["golden/metrics_answers.txt"].assert_eq(&answers);
        let (status, exposition) = get(&apis, "/metrics/spans").await;
        assert_eq!(status, StatusCode::OK);
        // Series come out in hash order; the golden file pins names, labels, values and
        // exemplars, not that order.
        let mut lines: Vec<&str> = exposition.lines().collect();
        lines.sort_unstable();
        expect_test::expect_file!["golden/metrics_spans.txt"].assert_eq(&(lines.join("\n") + "\n"));
    }

    #[test]
    fn waterfall_rendering_matches_the_golden_file() {
        let spans = weft_codec::spans_from_otlp(fixture(), &ConversionOptions::default()).spans;
        let rendered = crate::cli::render_waterfall(&spans, 30, false);
        expect_test::expect_file!["golden/waterfall.txt"].assert_eq(&rendered);
    }
}

#[test]
fn a_jaeger_trace_past_the_span_cap_is_cut_with_a_warning() {
    let spans = weft_codec::spans_from_otlp(
        query_apis::fixture(),
        &weft_codec::ConversionOptions::default(),
    )
    .spans;
    assert_eq!(spans.len(), 3);
    let cut = crate::jaeger::capped_jaeger_trace(spans.clone(), &[], 2);
    assert_eq!(cut["spans"].as_array().unwrap().len(), 2);
    assert_eq!(
        cut["warnings"][0],
        "trace has more than 2 spans; only 2 are shown"
    );
    let whole = crate::jaeger::capped_jaeger_trace(spans, &[], 3);
    assert_eq!(whole["spans"].as_array().unwrap().len(), 3);
    assert!(whole["warnings"].is_null());
}

#[test]
fn the_sampling_checkpoint_round_trips_its_shards() {
    use weft_sampling::{FilterSizing, ShardFilter, ShardWindow};
    let sizing = FilterSizing {
        expected_keys: 1_000,
        false_positive_rate: 0.01,
    };
    let mut shard = ShardFilter::new(ShardWindow::containing(1_790_000_000, 600), sizing).unwrap();
    let trace_id = weft_model::TraceId::from_bytes([7; 16]);
    shard.insert(&trace_id);
    let restored = crate::sampling::checkpoint_round_trip_for_tests(vec![shard]).unwrap();
    assert_eq!(restored.len(), 1);
    assert!(restored[0].contains(&trace_id));
    assert_eq!(restored[0].window().start_unix_seconds, 1_789_999_800);
}

#[test]
fn cold_writer_positions_name_window_part_and_last_and_order_by_them() {
    use crate::cold_writer::position_round_trip_for_tests as round_trip;
    assert_eq!(round_trip(1_790_000_000, 0, true), (1_790_000_000, 0, true));
    assert_eq!(
        round_trip(1_790_000_000, 2_046, false),
        (1_790_000_000, 2_046, false)
    );
    assert_eq!(round_trip(4, 17, false), (4, 17, false));
    // The highest part a window can be split into fits its bits and never spills into the
    // window (MAX_PARTS once doubled as the bit mask, which held only by coincidence).
    use crate::cold_writer::{encode_position, MAX_PARTS};
    let last_part = MAX_PARTS - 1;
    assert_eq!(
        round_trip(1_790_000_000, last_part, true),
        (1_790_000_000, last_part, true)
    );
    let ordered = [
        encode_position(1_790_000_000, 0, false),
        encode_position(1_790_000_000, 1, false),
        encode_position(1_790_000_000, last_part, true),
        encode_position(1_790_000_060, 0, false),
    ];
    assert!(
        ordered.windows(2).all(|pair| pair[0] < pair[1]),
        "{ordered:?}"
    );
}

/// The routing every query surface (Weft's API, the Jaeger API) goes through: a trace two
/// hours old is past a one-hour hot retention, so it is read from the cold tier; a young one
/// from the hot tier; a search over both ages reads each tier for its part of the range and
/// lists a trace found in both once, from the hot tier.
#[test]
fn tiers_route_by_age_and_merge_searches_across_the_hot_retention_edge() {
    use std::sync::Arc;
    use std::time::Duration;

    use weft_store::{EmbeddedStore, SearchQuery, SpanStore, StoreConfig, TraceQuery};

    use crate::tiers::{Tier, TierChoice, Tiers};

    let directory = tempfile::tempdir().unwrap();
    let options = weft_codec::ConversionOptions::default();
    let now = crate::params::now_unix_nanos();
    let hour = 3_600_000_000_000u64;
    let spans_at = |seed: u64, at: u64| {
        let batch = weft_gen::TraceGenerator::new(seed).next_batch(3, at);
        Arc::new(weft_codec::spans_from_otlp(batch.request, &options).spans)
    };
    let old = spans_at(1, now - 2 * hour);
    let young = spans_at(2, now);
    let hot =
        Arc::new(EmbeddedStore::open(StoreConfig::new(directory.path().join("hot"))).unwrap());
    let cold =
        Arc::new(EmbeddedStore::open(StoreConfig::new(directory.path().join("cold"))).unwrap());
    hot.write(1, Arc::clone(&young)).unwrap();
    // The hot tier still has one old trace (a partition not dropped yet): found in both tiers.
    let old_in_both = old[0].trace_id;
    let old_in_both_spans: Vec<_> = old
        .iter()
        .filter(|span| span.trace_id == old_in_both)
        .cloned()
        .collect();
    hot.write(2, Arc::new(old_in_both_spans)).unwrap();
    cold.write(1, Arc::clone(&old)).unwrap();
    let tiers = Tiers {
        hot: hot.clone(),
        cold: cold.clone(),
        hot_retention: Duration::from_secs(3_600),
        logs: log_tiers_for_tests(directory.path()),
    };

    let old_only = old
        .iter()
        .find(|span| span.trace_id != old_in_both)
        .unwrap()
        .trace_id;
    let (spans, tier) = tiers
        .trace(&TraceQuery::new(old_only), TierChoice::Auto)
        .unwrap();
    assert_eq!(tier, Tier::Cold);
    assert!(!spans.is_empty());
    let (spans, tier) = tiers
        .trace(&TraceQuery::new(young[0].trace_id), TierChoice::Auto)
        .unwrap();
    assert_eq!(tier, Tier::Hot);
    assert!(!spans.is_empty());
    let (spans, _) = tiers
        .trace(&TraceQuery::new(old_only), TierChoice::Hot)
        .unwrap();
    assert!(spans.is_empty(), "tier=hot reads only the hot tier");

    let everything = SearchQuery::in_range(now - 3 * hour, now + hour, 100);
    let found = tiers.search(&everything, TierChoice::Auto).unwrap();
    assert_eq!(found.tiers, [Tier::Hot, Tier::Cold]);
    let tier_of = |trace_id| {
        found
            .traces
            .iter()
            .filter(|found| found.summary.trace_id == trace_id)
            .map(|found| found.tier)
            .collect::<Vec<_>>()
    };
    assert_eq!(found.traces.len(), 6, "three young, three old, none twice");
    assert_eq!(tier_of(young[0].trace_id), [Tier::Hot]);
    assert_eq!(tier_of(old_only), [Tier::Cold]);
    // Auto reads the hot tier only within its retention: the old trace it still holds comes
    // from the cold tier's part of the range.
    assert_eq!(tier_of(old_in_both), [Tier::Cold]);
    let all = tiers.search(&everything, TierChoice::All).unwrap();
    assert_eq!(all.traces.len(), 6);
    assert_eq!(
        all.traces
            .iter()
            .find(|found| found.summary.trace_id == old_in_both)
            .unwrap()
            .tier,
        Tier::Hot,
        "found in both: listed once, from the hot tier"
    );
    let recent = SearchQuery::in_range(now - 10 * 60_000_000_000, now + hour, 100);
    assert_eq!(
        tiers.search(&recent, TierChoice::Auto).unwrap().tiers,
        [Tier::Hot]
    );
}

#[test]
fn the_diagnostics_state_survives_encoding_with_its_statistics_and_open_traces() {
    use weft_diagnose::{Diagnoser, DiagnoserConfig, StatisticsFilter, TimeRange};
    let at = 1_790_000_000_000_000_000;
    let mut generator = weft_gen::TraceGenerator::with_scenarios(
        9,
        weft_gen::Scenarios {
            repeated_calls: 1.0,
            ..weft_gen::Scenarios::clean()
        },
    );
    let spans_of = |batch: weft_gen::GeneratedBatch| {
        weft_codec::spans_from_otlp(batch.request, &weft_codec::ConversionOptions::default()).spans
    };
    let first = spans_of(generator.next_batch(10, at));
    let second = spans_of(generator.next_batch(10, at));
    let mut diagnoser = Diagnoser::new(DiagnoserConfig::default());
    // The first batch's traces complete before the checkpoint, the second's stay open.
    diagnoser.offer_batch(&first, 1, at);
    diagnoser.tick(at + 60_000_000_000);
    diagnoser.offer_batch(&second, 2, at + 61_000_000_000);
    let checkpoint = diagnoser.checkpoint();
    assert!(!checkpoint.open_trace_ids.is_empty());
    let decoded = crate::diagnostics::state_round_trip_for_tests(&checkpoint).unwrap();
    assert_eq!(decoded.position, checkpoint.position);
    assert_eq!(decoded.replay_from, checkpoint.replay_from);
    assert_eq!(decoded.open_trace_ids, checkpoint.open_trace_ids);
    let restored = Diagnoser::restore(DiagnoserConfig::default(), decoded);
    let findings = |diagnoser: &Diagnoser| {
        diagnoser
            .statistics()
            .findings(TimeRange::everything(), &StatisticsFilter::default())
    };
    assert!(!findings(&diagnoser).is_empty());
    assert_eq!(findings(&restored), findings(&diagnoser));
    assert_eq!(
        restored
            .statistics()
            .database(TimeRange::everything(), &StatisticsFilter::default()),
        diagnoser
            .statistics()
            .database(TimeRange::everything(), &StatisticsFilter::default())
    );
}

/// Empty hot and cold log stores under `directory`.
fn log_tiers_for_tests(directory: &std::path::Path) -> std::sync::Arc<crate::logs::LogTiers> {
    use std::sync::Arc;
    Arc::new(crate::logs::LogTiers {
        hot: Arc::new(
            weft_store::LogStore::open(weft_store::LogStoreConfig::new(directory.join("logs")))
                .unwrap(),
        ),
        cold: Arc::new(
            weft_store::LogStore::open(weft_store::LogStoreConfig::new(
                directory.join("cold-logs"),
            ))
            .unwrap(),
        ),
    })
}

/// About one random trace ID in a hundred has first bytes that read as a time within the last
/// 400 days; routing by that time alone sent such a trace's lookup to the cold tier only, and a
/// trace still hot was not found (the Python SDK read-back test's flake).
#[test]
fn a_random_id_that_reads_as_an_old_time_is_still_found_in_the_hot_tier() {
    use std::sync::Arc;
    use std::time::Duration;

    use weft_store::{EmbeddedStore, SpanStore, StoreConfig, TraceQuery};

    use crate::tiers::{Tier, TierChoice, Tiers};

    let directory = tempfile::tempdir().unwrap();
    let now = crate::params::now_unix_nanos();
    let mut id = [0x5au8; 16];
    id[..4].copy_from_slice(&((now / 1_000_000_000 - 281 * 86_400) as u32).to_be_bytes());
    let trace_id = weft_model::TraceId::from_bytes(id);
    let batch = weft_gen::TraceGenerator::new(4).next_batch(1, now);
    let mut spans =
        weft_codec::spans_from_otlp(batch.request, &weft_codec::ConversionOptions::default()).spans;
    for span in &mut spans {
        span.trace_id = trace_id;
    }
    let hot =
        Arc::new(EmbeddedStore::open(StoreConfig::new(directory.path().join("hot"))).unwrap());
    let cold =
        Arc::new(EmbeddedStore::open(StoreConfig::new(directory.path().join("cold"))).unwrap());
    hot.write(1, Arc::new(spans.clone())).unwrap();
    let tiers = Tiers {
        hot,
        cold,
        hot_retention: Duration::from_secs(3 * 86_400),
        logs: log_tiers_for_tests(directory.path()),
    };
    let (found, tier) = tiers
        .trace(&TraceQuery::new(trace_id), TierChoice::Auto)
        .unwrap();
    assert_eq!((found.len(), tier), (spans.len(), Tier::Hot));
    // An explicit tier is read alone, as asked.
    let (found, _) = tiers
        .trace(&TraceQuery::new(trace_id), TierChoice::Cold)
        .unwrap();
    assert!(found.is_empty());
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

/// The diagnostics API computes its reports from a copy of the diagnoser, off the pipeline's
/// lock: requests between two changes share one copy, and a report is computed while the
/// pipeline holds the lock.
#[test]
fn diagnostics_reads_share_a_copy_and_compute_without_the_pipelines_lock() {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::diagnostics::{DiagnosticsHub, DiagnosticsSettings};

    let directory = tempfile::tempdir().unwrap();
    let hub = DiagnosticsHub::open(
        directory.path().join("diagnostics"),
        DiagnosticsSettings {
            config: weft_diagnose::DiagnoserConfig::default(),
            checkpoint_interval: Duration::from_secs(10),
            summary_retention: Duration::from_secs(3_600),
        },
        &mut prometheus_client::registry::Registry::default(),
    )
    .unwrap();
    let view = hub.view();
    assert!(Arc::ptr_eq(&view, &hub.view()), "requests share one copy");
    let pipeline = hub.lock_diagnoser_for_tests();
    let (answered, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let report = view.statistics.findings(
            weft_diagnose::TimeRange {
                start_unix_nanos: 0,
                end_unix_nanos: u64::MAX,
            },
            &weft_diagnose::StatisticsFilter::default(),
        );
        let _ = answered.send(report.len());
    });
    let findings = answer.recv_timeout(Duration::from_secs(30));
    drop(pipeline);
    assert_eq!(findings, Ok(0), "the report waited for the pipeline's lock");
}

/// The processors' time logic, driven by the pipeline's clock alone: batches carry the time
/// they were read, ticks say the time and whether the pipeline has caught up. Each test moves
/// a clock across the edge where its processor must act, and checks it acts only there.
mod processor_clocks {
    use std::sync::Arc;
    use std::time::Duration;

    use weft_pipeline::{LogBatch, Processor, SpanBatch, Tick};

    use super::query_apis::{fixture, log_fixture};

    /// The fixture's time (2026-11-21T10:00:00Z), the start of a 10-minute window.
    const BASE: u64 = 1_795_255_200_000_000_000;
    const SECOND: u64 = 1_000_000_000;

    fn fixture_batch(read_at_unix_nanos: u64) -> SpanBatch {
        SpanBatch {
            position: 1,
            spans: Arc::new(
                weft_codec::spans_from_otlp(fixture(), &weft_codec::ConversionOptions::default())
                    .spans,
            ),
            read_at_unix_nanos,
        }
    }

    /// The default rules over 10-minute windows closing 30 minutes after their end.
    fn sampling_hub_in(directory: &std::path::Path) -> Arc<crate::sampling::SamplingHub> {
        crate::sampling::SamplingHub::open(
            directory.join("sampling"),
            weft_sampling::SamplingConfig::default(),
            crate::sampling::SamplingSettings {
                shard_width_seconds: 600,
                sizing: weft_sampling::FilterSizing {
                    expected_keys: 1_000,
                    false_positive_rate: 0.01,
                },
                cold_delay: Duration::from_secs(1_800),
                checkpoint_interval: Duration::from_secs(10),
                max_clock_skew: Duration::from_secs(3_600),
            },
            &mut prometheus_client::registry::Registry::default(),
        )
        .unwrap()
    }

    fn tick(now_unix_nanos: u64, caught_up: bool) -> Tick {
        Tick {
            now_unix_nanos,
            caught_up,
        }
    }

    #[test]
    fn a_shard_window_closes_cold_delay_after_its_end_and_is_published_only_when_caught_up() {
        use crate::sampling::SamplingProcessor;

        let directory = tempfile::tempdir().unwrap();
        let hub = sampling_hub_in(directory.path());
        let mut processor = SamplingProcessor::new(Arc::clone(&hub));
        // The fixture's root span failed: its trace is marked in the window [BASE, BASE+600s).
        processor.process(&fixture_batch(BASE + SECOND)).unwrap();
        let window_end = BASE / SECOND + 600;
        let shard_files = || {
            std::fs::read_dir(directory.path().join("sampling/shards"))
                .unwrap()
                .count()
        };
        // Not caught up: the head is the newest span, whatever the clock says.
        processor
            .tick(&tick(BASE + 10 * 3_600 * SECOND, false))
            .unwrap();
        assert_eq!((shard_files(), hub.closed_through()), (0, 0));
        // Caught up, one second before the window's end plus the cold delay: still open.
        let closes_at = (window_end + 1_800) * SECOND;
        processor.tick(&tick(closes_at - SECOND, true)).unwrap();
        assert_eq!(shard_files(), 0);
        assert!(hub.closed_through() < window_end);
        // At it: the shard is written and the window published as closed.
        processor.tick(&tick(closes_at, true)).unwrap();
        assert_eq!(shard_files(), 1);
        assert!(hub.closed_through() >= window_end);
    }

    #[test]
    fn a_metric_bucket_is_committed_once_its_grace_has_passed_and_a_commit_falls_due() {
        use crate::metrics_hub::{MetricsProcessor, MetricsSettings};

        let directory = tempfile::tempdir().unwrap();
        let hub = super::query_apis::metrics_hub_in(
            directory.path(),
            MetricsSettings {
                span_metrics: weft_metrics::SpanMetricsConfig::default(),
                topology: weft_metrics::topology::TopologyConfig {
                    clock_from_spans: false,
                    ..weft_metrics::topology::TopologyConfig::default()
                },
                close_grace: Duration::from_secs(10),
                checkpoint_interval: Duration::from_secs(10),
            },
        );
        let mut processor = MetricsProcessor::new(Arc::clone(&hub));
        processor.process(&fixture_batch(BASE)).unwrap();
        let rows = || hub.store.stats().rows;
        processor.tick(&tick(BASE, true)).unwrap();
        // A commit falls due (10 s later) but the bucket [BASE, BASE+30s) is within its grace.
        processor.tick(&tick(BASE + 39 * SECOND, true)).unwrap();
        assert_eq!(rows(), 0, "the open bucket was committed");
        // Grace passed, but the next commit is not due yet: closed, not in the files.
        processor.tick(&tick(BASE + 41 * SECOND, true)).unwrap();
        assert_eq!(rows(), 0, "committed before the interval");
        processor.tick(&tick(BASE + 49 * SECOND, true)).unwrap();
        assert!(rows() > 0, "the closed bucket was not committed");
    }

    #[test]
    fn a_trace_is_analyzed_once_it_has_been_quiet_for_the_inactivity_timeout() {
        use crate::diagnostics::{DiagnosticsHub, DiagnosticsProcessor, DiagnosticsSettings};

        let directory = tempfile::tempdir().unwrap();
        let mut config = weft_diagnose::DiagnoserConfig::default();
        config.assembler.inactivity_timeout = Duration::from_secs(30);
        let hub = DiagnosticsHub::open(
            directory.path().join("diagnostics"),
            DiagnosticsSettings {
                config,
                checkpoint_interval: Duration::from_secs(3_600),
                summary_retention: Duration::from_secs(100 * 365 * 86_400),
            },
            &mut prometheus_client::registry::Registry::default(),
        )
        .unwrap();
        let mut processor = DiagnosticsProcessor::new(Arc::clone(&hub));
        processor.process(&fixture_batch(BASE)).unwrap();
        processor.tick(&tick(BASE + 29 * SECOND, true)).unwrap();
        let view = hub.view();
        assert_eq!((view.open_traces, view.counters.traces_analyzed), (1, 0));
        processor.tick(&tick(BASE + 30 * SECOND, true)).unwrap();
        let view = hub.view();
        assert_eq!((view.open_traces, view.counters.traces_analyzed), (0, 1));
    }

    #[test]
    fn log_records_are_committed_once_the_flush_interval_has_passed() {
        use crate::logs::LogWriter;

        let directory = tempfile::tempdir().unwrap();
        let logs = super::log_tiers_for_tests(directory.path());
        let mut writer = LogWriter::new(Arc::clone(&logs.hot), Duration::from_secs(30), 1_000_000);
        processor_takes_logs(&mut writer, BASE);
        writer.tick(&tick(BASE, true)).unwrap();
        writer.tick(&tick(BASE + 29 * SECOND, true)).unwrap();
        assert_eq!(logs.hot.memtable_records(), 3);
        assert_eq!(writer.durable_position(), 0);
        writer.tick(&tick(BASE + 30 * SECOND, true)).unwrap();
        assert_eq!(logs.hot.memtable_records(), 0);
        assert_eq!(writer.durable_position(), 1);
    }

    fn processor_takes_logs(writer: &mut crate::logs::LogWriter, read_at_unix_nanos: u64) {
        writer
            .process_logs(&LogBatch {
                position: 1,
                records: Arc::new(weft_codec::logs_from_otlp(log_fixture()).records),
                read_at_unix_nanos,
            })
            .unwrap();
    }

    #[test]
    fn a_kept_trace_is_copied_cold_once_its_window_and_the_next_are_closed() {
        use crate::cold_writer::{ColdWriter, ColdWriterSettings};
        use crate::sampling::SamplingProcessor;
        use weft_store::{EmbeddedStore, SpanStore, StoreConfig, TraceQuery};

        let directory = tempfile::tempdir().unwrap();
        let years = Duration::from_secs(100 * 365 * 86_400);
        let hot = Arc::new(
            EmbeddedStore::open(StoreConfig {
                retention: years,
                ..StoreConfig::new(directory.path().join("store"))
            })
            .unwrap(),
        );
        let cold = Arc::new(
            EmbeddedStore::open(StoreConfig {
                retention: years,
                flush_interval: Duration::MAX,
                flush_max_spans: usize::MAX,
                ..StoreConfig::new(directory.path().join("cold"))
            })
            .unwrap(),
        );
        let hub = sampling_hub_in(directory.path());
        let batch = fixture_batch(BASE + SECOND);
        hot.write(batch.position, Arc::clone(&batch.spans)).unwrap();
        let mut sampler = SamplingProcessor::new(Arc::clone(&hub));
        // The fixture's failed root keeps its trace.
        sampler.process(&batch).unwrap();
        let (mut writer, _) = ColdWriter::new(
            Arc::clone(&hot),
            Arc::clone(&cold),
            super::log_tiers_for_tests(directory.path()),
            Arc::clone(&hub),
            ColdWriterSettings {
                traces_per_part: 5_000,
                windows_back: 3,
                idle_interval: Duration::from_secs(1),
                crash_point: None,
            },
            weft_observe::ComponentMetrics::default(),
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        );
        let trace_id = batch.spans[0].trace_id;
        let cold_spans = || cold.trace(&TraceQuery::new(trace_id)).unwrap().len();
        let pass = |writer: &mut ColdWriter| while writer.step().unwrap() {};
        // The window [BASE, BASE+600s) closes cold-delay after its end; the pass waits for the
        // next window too (its spans may belong to traces of this one).
        let window_closes_at = BASE + (600 + 1_800) * SECOND;
        sampler.tick(&tick(window_closes_at, true)).unwrap();
        pass(&mut writer);
        assert_eq!(cold_spans(), 0, "copied before the next window closed");
        sampler
            .tick(&tick(window_closes_at + 600 * SECOND, true))
            .unwrap();
        pass(&mut writer);
        assert_eq!(cold_spans(), batch.spans.len(), "the kept trace, whole");
    }
}
