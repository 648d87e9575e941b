//! `docs/openapi.yaml` against the typed answers of `weft-api-types`: for each endpoint with a
//! typed answer, a full sample (every optional field set) and a sparse one (every optional field
//! empty) are serialized and walked beside the endpoint's schema. Every field must be a
//! property of the schema and every property a field, with the JSON type the schema names;
//! `null` only where the schema says `nullable`. So the file cannot describe a field the
//! server does not send, nor miss one it does.

use std::collections::BTreeMap;

use serde_json::Value;
use weft_api_types::*;
use yaml_rust2::{Yaml, YamlLoader};

fn spec() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

/// `schema`, with a `$ref` followed to `#/components/schemas/...`.
fn resolve<'a>(spec: &'a Yaml, schema: &'a Yaml) -> &'a Yaml {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
            let target = &spec["components"]["schemas"][name];
            assert!(!target.is_badvalue(), "no schema {name}");
            resolve(spec, target)
        }
        None => schema,
    }
}

/// The properties of an object schema, `allOf` parts merged; `None` for a free-form object.
fn properties<'a>(spec: &'a Yaml, schema: &'a Yaml) -> Option<BTreeMap<String, &'a Yaml>> {
    let schema = resolve(spec, schema);
    if let Some(parts) = schema["allOf"].as_vec() {
        let mut merged = BTreeMap::new();
        for part in parts {
            merged.extend(properties(spec, part)?);
        }
        return Some(merged);
    }
    let properties = schema["properties"].as_hash()?;
    Some(
        properties
            .iter()
            .map(|(name, property)| (name.as_str().unwrap().to_owned(), property))
            .collect(),
    )
}

fn nullable(spec: &Yaml, schema: &Yaml) -> bool {
    schema["nullable"].as_bool() == Some(true)
        || resolve(spec, schema)["nullable"].as_bool() == Some(true)
}

/// A schema that allows any JSON value: it names no type, properties, items or parts (only
/// words such as a description).
fn allows_any_value(schema: &Yaml) -> bool {
    schema.as_hash().is_some_and(|fields| {
        fields
            .keys()
            .all(|key| matches!(key.as_str(), Some("description" | "nullable" | "example")))
    })
}

/// The properties an answer must send: those in `required` where the schema has that list (a
/// message whose zero values are left out, as protobuf JSON does), else every one.
fn required_properties(spec: &Yaml, schema: &Yaml) -> Option<Vec<String>> {
    let schema = resolve(spec, schema);
    let mut lists = vec![schema];
    if let Some(parts) = schema["allOf"].as_vec() {
        lists = parts.iter().map(|part| resolve(spec, part)).collect();
    }
    let mut required = Vec::new();
    for part in lists {
        let names = part["required"].as_vec()?;
        required.extend(
            names
                .iter()
                .filter_map(|name| name.as_str().map(str::to_owned)),
        );
    }
    Some(required)
}

fn check(spec: &Yaml, schema: &Yaml, value: &Value, at: &str, errors: &mut Vec<String>) {
    let resolved = resolve(spec, schema);
    if allows_any_value(resolved) && !value.is_null() {
        return;
    }
    let declared = resolved["type"]
        .as_str()
        .unwrap_or(if resolved["allOf"].is_badvalue() {
            ""
        } else {
            "object"
        });
    match value {
        Value::Null => {
            if !nullable(spec, schema) {
                errors.push(format!("{at}: null, but the schema is not nullable"));
            }
        }
        Value::Object(fields) => {
            if declared != "object" {
                errors.push(format!("{at}: an object, but the schema says {declared:?}"));
                return;
            }
            let Some(properties) = properties(spec, schema) else {
                let values = &resolved["additionalProperties"];
                if values.as_hash().is_some() {
                    // A map: every value follows the one schema.
                    for (name, field) in fields {
                        check(spec, values, field, &format!("{at}.{name}"), errors);
                    }
                } else if values.as_bool() != Some(true) {
                    errors.push(format!("{at}: an object whose schema lists no properties"));
                }
                return;
            };
            for (name, field) in fields {
                match properties.get(name) {
                    Some(property) => check(spec, property, field, &format!("{at}.{name}"), errors),
                    None => errors.push(format!("{at}.{name}: sent, but not in the schema")),
                }
            }
            let required = required_properties(spec, schema)
                .unwrap_or_else(|| properties.keys().cloned().collect());
            for name in required {
                if !fields.contains_key(&name) {
                    errors.push(format!("{at}.{name}: in the schema, but not sent"));
                }
            }
        }
        Value::Array(items) => {
            if declared != "array" {
                errors.push(format!("{at}: an array, but the schema says {declared:?}"));
            }
            for (index, item) in items.iter().enumerate() {
                check(
                    spec,
                    &resolved["items"],
                    item,
                    &format!("{at}[{index}]"),
                    errors,
                );
            }
        }
        Value::String(_) if declared == "string" => {}
        Value::Bool(_) if declared == "boolean" => {}
        Value::Number(number)
            if declared == "number" || (declared == "integer" && !number.is_f64()) => {}
        other => errors.push(format!("{at}: {other}, but the schema says {declared:?}")),
    }
}

/// The schema of `GET path`'s 200 answer (`POST path` for a path written so).
fn answer_schema<'a>(spec: &'a Yaml, path: &str) -> &'a Yaml {
    let (method, path) = match path.strip_prefix("POST ") {
        Some(path) => ("post", path),
        None => ("get", path),
    };
    let schema =
        &spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"];
    assert!(
        !schema.is_badvalue(),
        "no 200 JSON answer for {method} {path}"
    );
    schema
}

fn summary() -> TraceSummary {
    TraceSummary {
        trace_id: "5b8efff798038103d269b633813fc60c".into(),
        root_service_name: "frontend".into(),
        root_span_name: "GET /".into(),
        root_span_found: true,
        start_time_unix_nano: "1795255200000000000".into(),
        duration_nanos: 250_000_000,
        span_count: 3,
        error_count: 1,
        services: vec![ServiceSpanCount {
            service_name: "frontend".into(),
            span_count: 3,
            error_count: 1,
        }],
    }
}

fn catalog() -> CatalogAnswer {
    let seen = || "1795255200000000000".to_owned();
    CatalogAnswer {
        services: vec![CatalogService {
            name: "frontend".into(),
            first_seen_unix_nano: seen(),
            last_seen_unix_nano: seen(),
            operations: vec![CatalogOperation {
                name: "GET /".into(),
                span_kind: "server".into(),
                first_seen_unix_nano: seen(),
                last_seen_unix_nano: seen(),
            }],
            attributes: vec![CatalogAttribute {
                key: "http.request.method".into(),
                scope: "span".into(),
                first_seen_unix_nano: seen(),
                last_seen_unix_nano: seen(),
                top_values: vec![ValueCount {
                    value: "GET".into(),
                    count: 12,
                }],
            }],
        }],
    }
}

/// A log record on a span, or (`on_span` false) outside any trace.
fn log_record(on_span: bool) -> LogRecordAnswer {
    LogRecordAnswer {
        time_unix_nano: "1795255200015000000".into(),
        observed_time_unix_nano: "1795255200015001000".into(),
        trace_id: on_span.then(|| "5b8efff798038103d269b633813fc60c".into()),
        span_id: on_span.then(|| "eee19b7ec3c1b174".into()),
        severity_number: 13,
        severity_text: "WARN".into(),
        severity: "WARN".into(),
        service_name: "orders".into(),
        body: "slow query took 120 ms".into(),
        attributes: serde_json::json!({ "db.statement": "SELECT 1" }),
        resource: serde_json::json!({ "service.name": "orders" }),
        scope: LogScope {
            name: "orders.http".into(),
            version: "2.1.0".into(),
        },
        event_name: String::new(),
    }
}

fn metric_window() -> MetricWindow {
    MetricWindow {
        resolution: "30s".into(),
        step_seconds: 30,
        start_unix_seconds: 1_795_255_200,
        end_unix_seconds: 1_795_258_800,
    }
}

/// A bucket's stats, with calls (every latency set) or without (latencies null).
fn red_stats(with_calls: bool) -> RedStats {
    let latency = with_calls.then_some(1.5);
    RedStats {
        calls: u64::from(with_calls),
        calls_per_second: 0.1,
        errors: 0,
        error_rate: with_calls.then_some(0.0),
        p50_millis: latency,
        p90_millis: latency,
        p95_millis: latency,
        p99_millis: latency,
        mean_millis: latency,
        min_millis: latency,
        max_millis: latency,
    }
}

fn health(local: bool) -> HealthAnswer {
    HealthAnswer {
        status: "ok".into(),
        wal: BusHealth {
            bytes: 1_024,
            segments: 1,
            written_lsn: 7,
        },
        pipeline: PipelineHealth {
            position: 7,
            queue_depth_records: 0,
        },
        store: local.then_some(SpanStoreHealth {
            partitions: 1,
            segments: 2,
            segment_spans: 100,
            segment_bytes: 4_096,
            memtable_spans: 3,
            frozen_memtables: 0,
            flushed_position: 6,
            flushes: 2,
            compactions: 0,
            partitions_dropped: 0,
            maintenance_errors: 0,
        }),
        metrics: local.then_some(MetricStoreHealth {
            files: 1,
            bytes: 2_048,
            rows: 10,
            commits: 3,
            compactions: 0,
            windows_dropped: 0,
            maintenance_errors: 0,
            committed_position: 6,
        }),
    }
}

fn tier() -> TierStorage {
    TierStorage {
        retention_seconds: 259_200,
        partitions: 3,
        segments: 4,
        spans: 1_000,
        segment_spans: 900,
        memtable_spans: 100,
        bytes: 28_000,
        partitions_dropped: 0,
    }
}

fn log_tier() -> LogTierStorage {
    LogTierStorage {
        records: 10,
        files: 1,
        bytes: 2_000,
        memtable_records: 2,
        oldest_unix_nano: Some("1795255200000000000".into()),
        newest_unix_nano: Some("1795255300000000000".into()),
    }
}

fn storage(full: bool) -> StorageAnswer {
    StorageAnswer {
        hot: full.then(tier),
        cold: full.then(tier),
        cold_to_hot: ColdToHot {
            bytes: full.then_some(0.1),
            spans: full.then_some(0.05),
        },
        cold_writer: ColdWriterProgress {
            passed_through: full.then_some(1_795_255_200),
            lag_seconds: full.then_some(1_800),
            windows: 2,
            parts: 2,
            scanned_spans: 1_000,
            copied_spans: 50,
            copied_log_records: 5,
            errors: 0,
        },
        logs: LogsStorage {
            hot: full.then(log_tier),
            cold: if full {
                Some(LogTierStorage {
                    oldest_unix_nano: None,
                    newest_unix_nano: None,
                    ..log_tier()
                })
            } else {
                None
            },
        },
        sampling: SamplingStorage {
            closed_through: 1_795_255_800,
            closed_shards: 3,
        },
        cluster: full.then(|| weft_api_types::ClusterStorage {
            tables: vec![weft_api_types::ClusterTable {
                shard: "http://127.0.0.1:8123".into(),
                table: "spans".into(),
                partitions: 2,
                parts: 5,
                rows: 120_000,
                bytes_on_disk: 8_400_000,
            }],
            writers: vec![weft_api_types::ClusterWriter {
                topic: "weft-spans".into(),
                partition: 3,
                position: 1_204,
                written_unix_nano: "1795255800000000000".into(),
            }],
        }),
    }
}

fn example_call() -> ExampleCall {
    ExampleCall {
        trace_id: "5b8efff798038103d269b633813fc60c".into(),
        span_id: "eee19b7ec3c1b174".into(),
        start_unix_nanos: 1_795_255_200_000_000_000,
        duration_nanos: 120_000_000,
        key: "cart:user:7".into(),
        value_size_bytes: Some(290),
    }
}

fn latency() -> LatencySummary {
    LatencySummary {
        mean_nanos: 1,
        p50_nanos: 1,
        p90_nanos: 2,
        p99_nanos: 3,
        max_nanos: 4,
    }
}

/// A diagnostics overview with one row of every report.
fn diagnostics_overview() -> DiagnosticsOverview {
    let ids = || vec!["5b8efff798038103d269b633813fc60c".to_owned()];
    DiagnosticsOverview {
        service: Some("checkout".into()),
        range: TimeRangeAnswer {
            start: "1795255200000000000".into(),
            end: "1795258800000000000".into(),
        },
        assembler: Some(AssemblerStatus {
            open_traces: 1,
            open_spans: 2,
            traces_analyzed: 3,
            late_spans: 0,
            dropped_spans: 0,
            evicted_traces: 0,
            cut_traces: 0,
            replayed_spans_skipped: 0,
            inactivity_timeout_seconds: 30.0,
            max_open_traces: 100_000,
            max_open_spans: 1_000_000,
            max_spans_per_trace: 5_000,
        }),
        summary_store: Some(SummaryStoreStatus {
            files: 1,
            rows: 3,
            bytes: 4_096,
            committed_position: 7,
        }),
        findings: vec![FindingRow {
            kind: FindingKind::RepeatedCalls,
            title: "repeated calls".into(),
            service: "checkout".into(),
            operation: "POST /cart".into(),
            detail: "SELECT * FROM items WHERE id = ?".into(),
            traces: 3,
            value_max: 7,
            last_seen_unix_nanos: 1_795_255_200_000_000_000,
            last_message: "7 identical calls".into(),
            example_trace_ids: ids(),
        }],
        interruptions: InterruptionReport {
            traces: 3,
            broken_traces: 1,
            truncated_traces: 0,
            interruption_rate: 1.0 / 3.0,
            services: vec![InterruptionRow {
                service: "checkout".into(),
                traces: 3,
                broken_traces: 1,
                interruption_rate: 1.0 / 3.0,
                example_trace_ids: ids(),
            }],
            series: vec![InterruptionPoint {
                bucket_start_unix_nanos: 1_795_255_200_000_000_000,
                traces: 3,
                broken_traces: 1,
                interruption_rate: 1.0 / 3.0,
            }],
        },
        cycles: vec![GraphCycle {
            services: vec!["a".into(), "b".into()],
            edges: vec![GraphEdge {
                caller: "a".into(),
                callee: "b".into(),
                traces: 1,
                example_trace_id: "5b8efff798038103d269b633813fc60c".into(),
            }],
        }],
        database: DatabaseReport {
            slow_threshold_nanos: 200_000_000,
            statements: vec![StatementRow {
                service: "checkout".into(),
                system: "postgresql".into(),
                database: "shop".into(),
                tables: vec!["items".into()],
                operation: "SELECT".into(),
                fingerprint: "SELECT * FROM items WHERE id = ?".into(),
                calls: 7,
                errors: 0,
                slow_calls: 1,
                latency: latency(),
                endpoints: vec![EndpointCalls {
                    service: "frontend".into(),
                    operation: "GET /".into(),
                    calls: 7,
                }],
                slowest: vec![example_call()],
            }],
            tables: vec![TableRow {
                system: "postgresql".into(),
                database: "shop".into(),
                table: "items".into(),
                calls: 7,
                errors: 0,
                slow_calls: 1,
                statements: 1,
            }],
        },
        redis: RedisReport {
            slow_threshold_nanos: 10_000_000,
            commands: vec![RedisRow {
                service: "cart".into(),
                command: "GET".into(),
                key_pattern: "cart:user:{n}".into(),
                calls: 20,
                errors: 0,
                slow_calls: 0,
                hits: 15,
                misses: 5,
                hit_rate: Some(0.75),
                latency: latency(),
                max_value_size_bytes: 290,
                slowest: vec![example_call()],
            }],
            hot_keys: vec![HotKeyRow {
                service: "cart".into(),
                key: "cart:user:7".into(),
                calls: 12,
                error: 0,
            }],
            big_keys: vec![example_call()],
        },
        operations: OperationsReport {
            slowest: vec![OperationRow {
                service: "checkout".into(),
                operation: "POST /cart".into(),
                calls: 3,
                errors: 1,
                latency: latency(),
                slowest: vec![example_call()],
            }],
            failures: vec![FailureRow {
                service: "checkout".into(),
                operation: "POST /cart".into(),
                status_message: "declined".into(),
                count: 1,
                last_seen_unix_nanos: 1_795_255_200_000_000_000,
                example_trace_ids: ids(),
            }],
            exceptions: vec![ExceptionRow {
                time_unix_nanos: 1_795_255_200_000_000_000,
                service: "checkout".into(),
                operation: "POST /cart".into(),
                exception_type: "ValueError".into(),
                message: "no such item".into(),
                trace_id: "5b8efff798038103d269b633813fc60c".into(),
                span_id: "eee19b7ec3c1b174".into(),
            }],
        },
    }
}

/// Every rule field and override set, as the server serializes them (absent options are left
/// out, so a full sample sets them all).
fn sampling_status() -> SamplingStatus {
    let rules: weft_sampling::SamplingConfig = serde_json::from_value(serde_json::json!({
        "default_keep_share": 0.001,
        "rules": [{ "name": "errors", "condition": { "type": "error_status" }, "max_traces_per_second": 100.0 }],
        "services": [{ "service": "batch", "keep_share": 0.0, "slow_root": "30s",
                       "slow_database": "1s", "disabled_rules": ["errors"] }],
    }))
    .unwrap();
    SamplingStatus {
        rules: serde_json::to_value(rules).unwrap(),
        rules_source: "configuration".into(),
        shard_width_seconds: 600,
        cold_delay_seconds: 1_800,
        filter: FilterSizing {
            expected_traces: 1_000_000,
            false_positive_rate: 0.01,
        },
        counters: vec![RuleCounters {
            rule: "errors".into(),
            matched_spans: 10,
            kept_traces: 2,
            limited_traces: 0,
        }],
        open_shards: vec![OpenShard {
            start: 1_795_255_200,
            end: 1_795_255_800,
            keys: 2,
            fill_ratio: 0.001,
            estimated_false_positive_rate: 0.0,
            bytes: 1_024,
        }],
        closed_shards: 1,
        closed_shard_bytes: 1_024,
        closed_through: 1_795_255_200,
        head_unix_seconds: 1_795_255_900,
    }
}

fn explanation(copied: bool) -> SamplingExplanation {
    SamplingExplanation {
        trace_id: "5b8efff798038103d269b633813fc60c".into(),
        decision: "kept".into(),
        summary: "Kept for the cold tier: rule errors holds on 1 span.".into(),
        rules: vec![RuleMatchAnswer {
            rule: "errors".into(),
            span_id: "eee19b7ec3c1b174".into(),
            service: "checkout".into(),
            operation: "POST /cart".into(),
            rate_limited: false,
        }],
        default_share: DefaultShare {
            share: 0.001,
            in_share: false,
        },
        shards: vec![ShardState {
            start: 1_795_255_200,
            end: 1_795_255_800,
            state: "closed".into(),
            contains_trace: true,
        }],
        tiers: TierSpans {
            hot: SpanCount { spans: 3 },
            cold: SpanCount { spans: 3 },
        },
        cold_writer: ColdWriterPassed {
            passed_through: copied.then_some(1_795_256_400),
        },
    }
}

fn ranged<T: serde::Serialize>(overview: &DiagnosticsOverview, report: T) -> Value {
    serde_json::to_value(RangedReport {
        range: overview.range.clone(),
        report,
    })
    .unwrap()
}

#[test]
fn the_openapi_file_describes_every_field_of_the_typed_answers() {
    let spec = spec();
    let overview = diagnostics_overview();
    let search = SearchAnswer {
        traces: vec![FoundTrace {
            summary: summary(),
            tier: "hot".into(),
        }],
        partial: false,
        scanned_spans: 10,
        tiers: vec!["hot".into()],
    };
    let answers: Vec<(&str, Value)> = vec![
        ("/api/v1/search", serde_json::to_value(&search).unwrap()),
        ("/health", serde_json::to_value(health(true)).unwrap()),
        ("/health", serde_json::to_value(health(false)).unwrap()),
        (
            "/api/v1/services",
            serde_json::to_value(ServicesAnswer {
                services: vec!["frontend".into()],
            })
            .unwrap(),
        ),
        (
            "/api/v1/services/{service}/operations",
            serde_json::to_value(OperationsAnswer {
                operations: vec![Operation {
                    name: "GET /".into(),
                    span_kind: "server".into(),
                    last_seen_unix_nano: "1795255200000000000".into(),
                }],
            })
            .unwrap(),
        ),
        (
            "/api/v1/attributes",
            serde_json::to_value(AttributeKeysAnswer {
                keys: vec![AttributeKey {
                    key: "http.route".into(),
                    scope: "span".into(),
                }],
            })
            .unwrap(),
        ),
        (
            "/api/v1/attributes/{key}/values",
            serde_json::to_value(AttributeValuesAnswer {
                values: vec!["GET".into()],
            })
            .unwrap(),
        ),
        ("/api/v1/catalog", serde_json::to_value(catalog()).unwrap()),
        (
            "/api/v1/metrics/series",
            serde_json::to_value(SeriesAnswer {
                window: metric_window(),
                series: vec![
                    MetricSeries {
                        service_name: "checkout".into(),
                        operation: Some("POST /cart".into()),
                        span_kind: Some("server".into()),
                        totals: red_stats(true),
                        points: vec![SeriesPoint {
                            stats: red_stats(false),
                            time_unix_seconds: 1_795_255_200,
                            exemplars: 0,
                        }],
                    },
                    MetricSeries {
                        service_name: "checkout".into(),
                        operation: None,
                        span_kind: None,
                        totals: red_stats(true),
                        points: Vec::new(),
                    },
                ],
            })
            .unwrap(),
        ),
        (
            "/api/v1/metrics/operations",
            serde_json::to_value(TopOperationsAnswer {
                window: metric_window(),
                sort_by: "calls".into(),
                operations: vec![OperationStats {
                    stats: red_stats(true),
                    operation: "POST /cart".into(),
                    span_kind: "server".into(),
                }],
            })
            .unwrap(),
        ),
        (
            "/api/v1/topology",
            serde_json::to_value(TopologyAnswer {
                window: metric_window(),
                nodes: vec![TopologyNode {
                    stats: red_stats(true),
                    service: "checkout".into(),
                    uninstrumented: false,
                }],
                edges: vec![TopologyEdge {
                    stats: red_stats(true),
                    caller: "checkout".into(),
                    callee: "payments".into(),
                    callee_uninstrumented: true,
                }],
                operation_edges: Some(vec![OperationEdge {
                    stats: red_stats(true),
                    caller: "checkout".into(),
                    caller_operation: "POST /cart".into(),
                    callee: "payments".into(),
                    callee_operation: String::new(),
                    callee_uninstrumented: true,
                }]),
            })
            .unwrap(),
        ),
        (
            "/api/v1/metrics/exemplars",
            serde_json::to_value(ExemplarsAnswer {
                window: metric_window(),
                exemplars: vec![Exemplar {
                    trace_id: "5b8efff798038103d269b633813fc60c".into(),
                    span_id: "eee19b7ec3c1b174".into(),
                    reason: "slowest".into(),
                    operation: "POST /cart".into(),
                    span_kind: "server".into(),
                    bucket_start_unix_seconds: 1_795_255_200,
                    start_time_unix_nano: "1795255200010000000".into(),
                    duration_millis: 50.0,
                    is_error: false,
                }],
                truncated: false,
            })
            .unwrap(),
        ),
        (
            "/api/v1/logs",
            serde_json::to_value(LogSearchAnswer {
                tier: "hot".into(),
                logs: vec![log_record(true), log_record(false)],
                scanned_records: 10,
                limit: 100,
            })
            .unwrap(),
        ),
        (
            "/api/v1/traces/{traceId}/logs",
            serde_json::to_value(TraceLogsAnswer {
                trace_id: "5b8efff798038103d269b633813fc60c".into(),
                tier: "hot".into(),
                logs: vec![log_record(true)],
            })
            .unwrap(),
        ),
        (
            "/api/v1/storage",
            serde_json::to_value(storage(true)).unwrap(),
        ),
        (
            "/api/v1/storage",
            serde_json::to_value(storage(false)).unwrap(),
        ),
        (
            "/api/v1/sampling",
            serde_json::to_value(sampling_status()).unwrap(),
        ),
        (
            "/api/v1/sampling/rules",
            serde_json::to_value(SamplingRulesAnswer {
                rules: sampling_status().rules,
                source: "api".into(),
            })
            .unwrap(),
        ),
        (
            "/api/v1/sampling/explain/{traceId}",
            serde_json::to_value(explanation(true)).unwrap(),
        ),
        (
            "/api/v1/sampling/explain/{traceId}",
            serde_json::to_value(explanation(false)).unwrap(),
        ),
        (
            "/api/v1/diagnostics",
            serde_json::to_value(diagnostics_overview()).unwrap(),
        ),
        (
            "/api/v1/diagnostics/findings",
            serde_json::to_value(FindingsAnswer {
                range: overview.range.clone(),
                findings: overview.findings.clone(),
            })
            .unwrap(),
        ),
        (
            "/api/v1/diagnostics/traces",
            serde_json::to_value(DiagnosedTracesAnswer {
                range: overview.range.clone(),
                traces: vec![DiagnosedTrace {
                    trace_id: "5b8efff798038103d269b633813fc60c".into(),
                    root_service: "frontend".into(),
                    root_operation: "GET /".into(),
                    start_time_unix_nano: "1795255200000000000".into(),
                    duration_nanos: "250000000".into(),
                    span_count: 3,
                    error_count: 1,
                    service_count: 2,
                    orphan_span_count: 0,
                    dropped_span_count: 0,
                    truncated: false,
                    completion: "inactive".into(),
                    findings: vec!["bottleneck".into()],
                    services: vec!["frontend".into(), "cart".into()],
                }],
            })
            .unwrap(),
        ),
        (
            "/api/v1/traces/{traceId}/diagnosis",
            serde_json::to_value(TraceDiagnosisAnswer {
                trace_id: "5b8efff798038103d269b633813fc60c".into(),
                tier: "hot".into(),
                summary: TraceDiagnosisSummary {
                    root_service: "frontend".into(),
                    root_operation: "GET /".into(),
                    start_time_unix_nano: "1795255200000000000".into(),
                    duration_nanos: "250000000".into(),
                    span_count: 3,
                    error_count: 1,
                    service_count: 2,
                    orphan_span_count: 0,
                },
                findings: vec![TraceFinding {
                    kind: "bottleneck".into(),
                    title: "bottleneck".into(),
                    service: "cart".into(),
                    operation: "SELECT".into(),
                    detail: String::new(),
                    message: "60 % of the trace's time".into(),
                    value: 600,
                    span_ids: vec!["eee19b7ec3c1b174".into()],
                }],
                critical_path: vec!["eee19b7ec3c1b174".into()],
                settings: AnalysisSettings {
                    bottleneck_share: 0.48,
                    repeated_call_threshold: 5,
                },
            })
            .unwrap(),
        ),
        (
            "/api/v1/diagnostics/cycles",
            serde_json::to_value(CyclesAnswer {
                range: overview.range.clone(),
                cycles: overview.cycles.clone(),
            })
            .unwrap(),
        ),
        (
            "/api/v1/diagnostics/interruptions",
            ranged(&overview, overview.interruptions.clone()),
        ),
        (
            "/api/v1/statistics/database",
            ranged(&overview, overview.database.clone()),
        ),
        (
            "/api/v1/statistics/redis",
            ranged(&overview, overview.redis.clone()),
        ),
        (
            "/api/v1/statistics/operations",
            ranged(&overview, overview.operations.clone()),
        ),
        (
            "/api/v1/diagnostics",
            serde_json::to_value(DiagnosticsOverview {
                service: None,
                assembler: None,
                summary_store: None,
                ..diagnostics_overview()
            })
            .unwrap(),
        ),
    ];
    let mut errors = Vec::new();
    for (path, answer) in &answers {
        check(&spec, answer_schema(&spec, path), answer, path, &mut errors);
    }
    assert!(
        errors.is_empty(),
        "docs/openapi.yaml disagrees:\n{}",
        errors.join("\n")
    );
}

/// A Jaeger trace with every optional part: two processes, a reference, a log, each tag type,
/// warnings.
fn jaeger_trace(cut: bool) -> jaeger_v1::Trace {
    use jaeger_v1::{Log, Process, Reference, Span, Tag, Trace};
    let tag = |key: &str, kind: &str, value: Value| Tag {
        key: key.into(),
        kind: kind.into(),
        value,
    };
    let warnings = cut.then(|| vec!["trace has more than 2 spans; only 2 are shown".to_owned()]);
    let span = |span_id: &str, process_id: &str| Span {
        trace_id: "692037a00102030405060708090a0b0c".into(),
        span_id: span_id.into(),
        flags: 1,
        operation_name: "GET /orders/{id}".into(),
        references: vec![Reference {
            ref_type: "CHILD_OF".into(),
            trace_id: "692037a00102030405060708090a0b0c".into(),
            span_id: "0000000000000001".into(),
        }],
        start_time: 1_795_255_200_000_000,
        duration: 250_000,
        tags: vec![
            tag("http.request.method", "string", "GET".into()),
            tag("error", "bool", true.into()),
            tag("http.response.status_code", "int64", 500.into()),
            tag("weft.ratio", "float64", 0.25.into()),
            tag("weft.raw", "binary", "3q0=".into()),
        ],
        logs: vec![Log {
            timestamp: 1_795_255_200_200_000,
            fields: vec![tag("event", "string", "exception".into())],
        }],
        process_id: process_id.into(),
        warnings: warnings.clone(),
    };
    let process = |service: &str| Process {
        service_name: service.into(),
        tags: vec![tag("host.name", "string", "host-1".into())],
    };
    Trace {
        trace_id: "692037a00102030405060708090a0b0c".into(),
        spans: vec![
            span("0000000000000002", "p1"),
            span("0000000000000003", "p2"),
        ],
        processes: [
            ("p1".to_owned(), process("orders")),
            ("p2".to_owned(), process("orders-db")),
        ]
        .into_iter()
        .collect(),
        warnings,
    }
}

/// Jaeger's answers (v1 envelopes and models, v3 proto3 JSON), full and sparse, against the
/// paths tagged `jaeger`.
#[test]
fn the_openapi_file_describes_the_jaeger_answers() {
    use jaeger_v1::{
        DependencyLink, Envelope, GaugeValue, Label, Metric, MetricFamily, MetricPoint,
    };
    let spec = spec();
    let missing = Envelope {
        errors: Some(vec![jaeger_v1::StructuredError {
            code: None,
            msg: "trace not found".into(),
            trace_id: Some("ffffffffffffffffffffffffffffffff".into()),
        }]),
        ..Envelope::of(vec![jaeger_trace(true)], 1)
    };
    let refused: Envelope<Option<()>> = Envelope {
        errors: Some(vec![jaeger_v1::StructuredError {
            code: Some(400),
            msg: "malformed parameter".into(),
            trace_id: None,
        }]),
        ..Envelope::of(None, 0)
    };
    let family = |value: Value| MetricFamily {
        name: "service_call_rate".into(),
        kind: "GAUGE".into(),
        help: "calls/sec, grouped by service".into(),
        metrics: vec![Metric {
            labels: vec![Label {
                name: "service_name".into(),
                value: "orders".into(),
            }],
            metric_points: vec![MetricPoint {
                gauge_value: GaugeValue {
                    double_value: value,
                },
                timestamp: "2026-11-21T09:59:00.000Z".into(),
            }],
        }],
    };
    let summary = |full: bool| jaeger_v3::TraceSummary {
        trace_id: "692037a00102030405060708090a0b0c".into(),
        root_service_name: if full { "orders".into() } else { String::new() },
        root_operation_name: if full {
            "GET /orders/{id}".into()
        } else {
            String::new()
        },
        min_start_time_unix_nano: full.then(|| "1795255200000000000".into()),
        max_end_time_unix_nano: full.then(|| "1795255200250000000".into()),
        span_count: u64::from(full) * 3,
        error_span_count: u64::from(full),
        services: vec![jaeger_v3::ServiceSummary {
            name: "orders".into(),
            span_count: u64::from(full) * 2,
            error_span_count: u64::from(full),
        }],
    };
    let to_value = |answer: &dyn erased::Answer| answer.value();
    let answers: Vec<(&str, Value)> = vec![
        (
            "/api/services",
            to_value(&Envelope::of(vec!["orders".to_owned()], 1)),
        ),
        (
            "/api/services/{service}/operations",
            to_value(&Envelope::of(vec!["GET /".to_owned()], 1)),
        ),
        (
            "/api/operations",
            to_value(&Envelope::of(
                vec![jaeger_v1::Operation {
                    name: "GET /".into(),
                    span_kind: "server".into(),
                }],
                1,
            )),
        ),
        (
            "/api/traces",
            to_value(&Envelope::of(vec![jaeger_trace(false)], 1)),
        ),
        ("/api/traces", to_value(&missing)),
        (
            "/api/traces/{traceId}",
            to_value(&Envelope::of(vec![jaeger_trace(true)], 1)),
        ),
        (
            "POST /api/transform",
            to_value(&Envelope::of(vec![jaeger_trace(false)], 1)),
        ),
        (
            "/api/dependencies",
            to_value(&Envelope::of(
                vec![DependencyLink {
                    parent: "orders".into(),
                    child: "orders-db".into(),
                    call_count: 3,
                }],
                1,
            )),
        ),
        (
            "/api/metrics/minstep",
            to_value(&Envelope::of(30_000u64, 0)),
        ),
        ("/api/metrics/{kind}", to_value(&family(0.25.into()))),
        ("/api/metrics/{kind}", to_value(&family("NaN".into()))),
        (
            "/api/v3/services",
            to_value(&jaeger_v3::Services {
                services: vec!["orders".into()],
            }),
        ),
        (
            "/api/v3/operations",
            to_value(&jaeger_v3::Operations {
                operations: vec![jaeger_v3::Operation {
                    name: "GET /".into(),
                    span_kind: "server".into(),
                }],
            }),
        ),
        (
            "/api/v3/trace-summaries",
            to_value(&jaeger_v3::TraceSummaries {
                summaries: vec![summary(true), summary(false)],
            }),
        ),
        (
            "/api/v3/traces",
            to_value(&jaeger_v3::Traces {
                result: serde_json::json!({"resourceSpans": []}),
            }),
        ),
        (
            "/api/v3/traces/{traceId}",
            to_value(&jaeger_v3::Traces {
                result: serde_json::json!({"resourceSpans": []}),
            }),
        ),
        (
            "/api/v3/dependencies",
            to_value(&jaeger_v3::Dependencies {
                dependencies: vec![jaeger_v3::Dependency {
                    parent: "orders".into(),
                    child: "orders-db".into(),
                    call_count: "3".into(),
                }],
            }),
        ),
    ];
    let mut errors = Vec::new();
    for (path, answer) in &answers {
        check(&spec, answer_schema(&spec, path), answer, path, &mut errors);
    }
    let error_schema = |path: &str, status: &str| {
        let response = &spec["paths"][path]["get"]["responses"][status];
        let response = match response["$ref"].as_str() {
            Some(reference) => {
                &spec["components"]["responses"]
                    [reference.strip_prefix("#/components/responses/").unwrap()]
            }
            None => response,
        };
        &response["content"]["application/json"]["schema"]
    };
    check(
        &spec,
        error_schema("/api/traces", "400"),
        &to_value(&refused),
        "/api/traces 400",
        &mut errors,
    );
    check(
        &spec,
        error_schema("/api/v3/trace-summaries", "400"),
        &to_value(&jaeger_v3::ErrorAnswer {
            error: jaeger_v3::ErrorBody {
                http_code: 400,
                message: "query.startTimeMin and query.startTimeMax are required".into(),
            },
        }),
        "/api/v3/trace-summaries 400",
        &mut errors,
    );
    assert!(
        errors.is_empty(),
        "docs/openapi.yaml disagrees:\n{}",
        errors.join("\n")
    );
}

/// Serializes answers of different types from one list.
mod erased {
    pub trait Answer {
        fn value(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> Answer for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

/// The check itself: a field the schema lacks, one the answer lacks, a wrong type and a null
/// where the schema does not allow one are each reported.
#[test]
fn the_openapi_check_reports_missing_extra_mistyped_and_null_fields() {
    let spec = YamlLoader::load_from_str(
        "components: { schemas: { Thing: { type: object, properties: { a: { type: integer }, b: { type: string }, c: { type: string } } } } }",
    )
    .unwrap()
    .remove(0);
    let schema = YamlLoader::load_from_str("$ref: \"#/components/schemas/Thing\"")
        .unwrap()
        .remove(0);
    let mut errors = Vec::new();
    let answer = serde_json::json!({ "a": "one", "c": null, "d": 1 });
    check(&spec, &schema, &answer, "thing", &mut errors);
    errors.sort();
    assert_eq!(
        errors,
        [
            "thing.a: \"one\", but the schema says \"integer\"",
            "thing.b: in the schema, but not sent",
            "thing.c: null, but the schema is not nullable",
            "thing.d: sent, but not in the schema",
        ]
    );
}

/// Where a schema lists `required`, only those must be sent; a map's values are each checked;
/// a schema naming no type takes any value but null.
#[test]
fn the_openapi_check_honours_required_maps_and_any_values() {
    let spec = YamlLoader::load_from_str(
        "components: { schemas: { Thing: { type: object, required: [a], properties: { a: { type: integer }, b: { type: string }, any: { description: anything } } } } }",
    )
    .unwrap()
    .remove(0);
    let schema = YamlLoader::load_from_str(
        "{ type: object, additionalProperties: { $ref: \"#/components/schemas/Thing\" } }",
    )
    .unwrap()
    .remove(0);
    let mut errors = Vec::new();
    let answer = serde_json::json!({
        "p1": { "a": 1, "any": [true] },
        "p2": { "b": "x", "any": null },
    });
    check(&spec, &schema, &answer, "map", &mut errors);
    errors.sort();
    assert_eq!(
        errors,
        [
            "map.p2.a: in the schema, but not sent",
            "map.p2.any: null, but the schema is not nullable",
        ]
    );
}
