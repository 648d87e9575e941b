use std::sync::Arc;
use std::time::Duration;

use weft_model::{
    AttributeValue, Event, InstrumentationScope, KeyValue, Resource, Span, SpanId, SpanKind,
    Status, StatusCode, TraceId,
};

use super::*;

const MS: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
/// 2026-11-21T00:00:00Z, on a minute boundary.
const BASE: u64 = 1_795_219_200 * SECOND;

fn trace_id(number: u64) -> TraceId {
    let mut bytes = [0u8; 16];
    bytes[8..].copy_from_slice(&number.to_be_bytes());
    bytes[0] = 0x42;
    TraceId::from_bytes(bytes)
}

fn span_id(number: u64) -> SpanId {
    SpanId::from_bytes(number.to_be_bytes())
}

/// A span of trace `trace`, id `id`, under `parent`, from `start_ms` for `duration_ms`.
struct S {
    span: Span,
}

impl S {
    fn new(trace: u64, id: u64, parent: Option<u64>, service: &str, name: &str) -> S {
        S {
            span: Span {
                trace_id: trace_id(trace),
                span_id: span_id(id),
                parent_span_id: parent.map(span_id),
                trace_state: String::new(),
                flags: 1,
                name: name.to_owned(),
                kind: if parent.is_none() {
                    SpanKind::Server
                } else {
                    SpanKind::Internal
                },
                start_time_unix_nanos: BASE,
                end_time_unix_nanos: BASE + MS,
                attributes: Vec::new(),
                dropped_attributes_count: 0,
                events: Vec::new(),
                dropped_events_count: 0,
                links: Vec::new(),
                dropped_links_count: 0,
                status: Status::default(),
                resource: Arc::new(Resource::default()),
                scope: Arc::new(InstrumentationScope::default()),
                service_name: service.to_owned(),
                host_name: None,
                environment: None,
                region: None,
                business_keys: Vec::new(),
            },
        }
    }

    fn at(mut self, start_ms: u64, duration_ms: u64) -> S {
        self.span.start_time_unix_nanos = BASE + start_ms * MS;
        self.span.end_time_unix_nanos = BASE + (start_ms + duration_ms) * MS;
        self
    }

    fn kind(mut self, kind: SpanKind) -> S {
        self.span.kind = kind;
        self
    }

    fn attr(mut self, key: &str, value: AttributeValue) -> S {
        self.span.attributes.push(KeyValue::new(key, value));
        self
    }

    fn text(self, key: &str, value: &str) -> S {
        self.attr(key, AttributeValue::String(value.to_owned()))
    }

    fn error(mut self, message: &str) -> S {
        self.span.status = Status {
            code: StatusCode::Error,
            message: message.to_owned(),
        };
        self
    }

    fn sql(self, statement: &str) -> S {
        self.kind(SpanKind::Client)
            .text("db.system", "mysql")
            .text("db.name", "shop")
            .text("db.statement", statement)
    }

    fn build(self) -> Span {
        self.span
    }
}

fn diagnose(spans: &[Span]) -> TraceDiagnosis {
    let mut interner = Interner::new(1000);
    let facts: Vec<SpanFacts> = spans
        .iter()
        .map(|span| span_facts(span, &mut interner))
        .collect();
    analyze_spans(
        spans[0].trace_id,
        &facts,
        0,
        Completion::Inactive,
        &AnalysisConfig::default(),
    )
}

fn kinds(diagnosis: &TraceDiagnosis) -> Vec<FindingKind> {
    let mut kinds: Vec<FindingKind> = diagnosis.findings.iter().map(|f| f.kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// Root 0–100 ms in `web`, calling `api` twice in sequence; nobody has a finding.
fn clean_trace(trace: u64) -> Vec<Span> {
    vec![
        S::new(trace, 1, None, "web", "GET /home")
            .at(0, 100)
            .build(),
        S::new(trace, 2, Some(1), "web", "GET api")
            .kind(SpanKind::Client)
            .at(5, 40)
            .build(),
        S::new(trace, 3, Some(2), "api", "GET /items")
            .kind(SpanKind::Server)
            .at(6, 38)
            .build(),
        S::new(trace, 4, Some(1), "web", "GET api")
            .kind(SpanKind::Client)
            .at(50, 45)
            .build(),
        S::new(trace, 5, Some(4), "api", "GET /prices")
            .kind(SpanKind::Server)
            .at(51, 43)
            .build(),
    ]
}

#[test]
fn a_clean_trace_has_no_findings_and_a_summary() {
    let diagnosis = diagnose(&clean_trace(1));
    assert_eq!(diagnosis.findings, Vec::new());
    let summary = &diagnosis.summary;
    assert_eq!(&*summary.root_service, "web");
    assert_eq!(&*summary.root_operation, "GET /home");
    assert_eq!(summary.duration_nanos, 100 * MS);
    assert_eq!(summary.span_count, 5);
    assert_eq!(summary.service_count, 2);
    assert_eq!(summary.orphan_span_count, 0);
    assert!(!summary.truncated);
    assert_eq!(summary.finding_kinds, 0);
    assert_eq!(
        diagnosis.service_edges,
        vec![(Arc::from("web"), Arc::from("api"))]
    );
}

#[test]
fn a_span_whose_parent_never_arrived_makes_a_broken_trace() {
    let mut spans = clean_trace(1);
    // A hop between the client span 4 and the server span 5 was lost: 5 names a parent (99)
    // that never arrived.
    spans[4].parent_span_id = Some(span_id(99));
    let diagnosis = diagnose(&spans);
    assert_eq!(kinds(&diagnosis), vec![FindingKind::BrokenTrace]);
    let finding = &diagnosis.findings[0];
    assert_eq!(
        (&*finding.service, &*finding.operation),
        ("api", "GET /prices")
    );
    assert_eq!(finding.span_ids, vec![span_id(5)]);
    assert!(
        finding.message.contains(&span_id(99).to_hex()),
        "{}",
        finding.message
    );
    assert_eq!(diagnosis.summary.orphan_span_count, 1);
    assert_eq!(
        diagnosis.services_with_orphans,
        vec![Arc::<str>::from("api")]
    );
    assert_eq!(
        &*diagnosis.summary.root_service, "web",
        "the true root stays the root"
    );
}

#[test]
fn a_truncated_trace_is_not_called_broken() {
    let mut spans = clean_trace(1);
    spans.remove(3);
    let mut interner = Interner::new(10);
    let facts: Vec<SpanFacts> = spans.iter().map(|s| span_facts(s, &mut interner)).collect();
    let diagnosis = analyze_spans(
        trace_id(1),
        &facts,
        3,
        Completion::Inactive,
        &AnalysisConfig::default(),
    );
    assert!(diagnosis.summary.truncated);
    assert_eq!(diagnosis.summary.orphan_span_count, 1);
    assert!(!kinds(&diagnosis).contains(&FindingKind::BrokenTrace));
}

#[test]
fn a_span_with_sixty_percent_self_time_is_a_bottleneck() {
    // Root 0–100 ms; child `render` 10–80 ms with a 10 ms call inside: self time 60 ms.
    let spans = vec![
        S::new(1, 1, None, "web", "GET /").at(0, 100).build(),
        S::new(1, 2, Some(1), "web", "render").at(10, 70).build(),
        S::new(1, 3, Some(2), "web", "load")
            .kind(SpanKind::Client)
            .at(20, 10)
            .build(),
    ];
    let diagnosis = diagnose(&spans);
    assert_eq!(kinds(&diagnosis), vec![FindingKind::Bottleneck]);
    let finding = &diagnosis.findings[0];
    assert_eq!(&*finding.operation, "render");
    assert_eq!(finding.value, 600, "self time share in per mille");
    assert_eq!(finding.span_ids, vec![span_id(2)]);
    // The root's own time is 30 ms (30 %): not flagged.
    assert_eq!(diagnosis.findings.len(), 1);
    assert_eq!(
        diagnosis.critical_path,
        vec![span_id(1), span_id(2), span_id(3)]
    );
}

#[test]
fn self_time_counts_parallel_children_once() {
    // Root 0–100 ms with three overlapping children covering 10–90 ms: self time 20 ms, no
    // bottleneck, though the children's durations add up to more than the root's.
    let spans = vec![
        S::new(1, 1, None, "web", "GET /").at(0, 100).build(),
        S::new(1, 2, Some(1), "web", "a")
            .kind(SpanKind::Client)
            .at(10, 30)
            .build(),
        S::new(1, 3, Some(1), "web", "b")
            .kind(SpanKind::Client)
            .at(20, 40)
            .build(),
        S::new(1, 4, Some(1), "web", "c")
            .kind(SpanKind::Client)
            .at(50, 40)
            .build(),
    ];
    let diagnosis = diagnose(&spans);
    assert_eq!(diagnosis.findings, Vec::new());
    // The critical path takes the last finisher (c), then the last one to end before c began
    // (a, at 40 ms; b ends at 60 ms, inside c).
    assert_eq!(
        diagnosis.critical_path,
        vec![span_id(1), span_id(2), span_id(4)]
    );
}

#[test]
fn seven_identical_selects_under_one_parent_are_repeated_calls() {
    let mut spans = vec![S::new(1, 1, None, "order", "GET /orders").at(0, 60).build()];
    for call in 0..7u64 {
        spans.push(
            S::new(1, 10 + call, Some(1), "order", "SELECT shop.order_items")
                .sql(&format!(
                    "SELECT * FROM order_items WHERE order_id = {}  AND status IN ('a', 'b')",
                    1000 + call * 17
                ))
                .at(1 + call * 7, 6)
                .build(),
        );
    }
    // Two other statements, and a different query repeated only 4 times: not reported.
    for call in 0..4u64 {
        spans.push(
            S::new(1, 30 + call, Some(1), "order", "SELECT shop.users")
                .sql(&format!("select name from users where id = {call}"))
                .at(50 + call * 2, 2)
                .build(),
        );
    }
    let diagnosis = diagnose(&spans);
    assert_eq!(kinds(&diagnosis), vec![FindingKind::RepeatedCalls]);
    assert_eq!(diagnosis.findings.len(), 1);
    let finding = &diagnosis.findings[0];
    assert_eq!(finding.value, 7);
    assert_eq!(
        (&*finding.service, &*finding.operation),
        ("order", "GET /orders")
    );
    assert!(
        finding
            .detail
            .starts_with("mysql shop: SELECT * FROM order_items WHERE order_id = ?"),
        "{}",
        finding.detail
    );
    assert_eq!(finding.span_ids.len(), 7);
    assert!(finding.message.contains("7 times"), "{}", finding.message);
}

#[test]
fn repeated_rpc_calls_group_by_peer_and_operation() {
    let mut spans = vec![S::new(1, 1, None, "cart", "GET /cart").at(0, 100).build()];
    for call in 0..5u64 {
        spans.push(
            S::new(1, 10 + call, Some(1), "cart", "GetPrice")
                .kind(SpanKind::Client)
                .text("peer.service", "pricing")
                .at(call * 15, 10)
                .build(),
        );
    }
    // Five internal spans of the cart's own are work, not calls.
    for call in 0..5u64 {
        spans.push(
            S::new(1, 20 + call, Some(1), "cart", "format line")
                .at(80 + call, 1)
                .build(),
        );
    }
    let diagnosis = diagnose(&spans);
    let repeated: Vec<&Finding> = diagnosis
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::RepeatedCalls)
        .collect();
    assert_eq!(repeated.len(), 1);
    assert_eq!(repeated[0].detail, "pricing GetPrice");
}

#[test]
fn a_callee_timeout_of_three_seconds_under_a_caller_timeout_of_one_second_is_misconfigured() {
    let spans = vec![
        S::new(1, 1, None, "gateway", "POST /pay")
            .at(0, 500)
            .build(),
        S::new(1, 2, Some(1), "gateway", "Pay")
            .kind(SpanKind::Client)
            .attr("rpc.timeout_ms", AttributeValue::Int(1000))
            .at(10, 480)
            .build(),
        S::new(1, 3, Some(2), "payment", "Pay")
            .kind(SpanKind::Server)
            .at(11, 478)
            .build(),
        S::new(1, 4, Some(3), "payment", "Charge")
            .kind(SpanKind::Client)
            .attr(
                "rpc.grpc.request.metadata.grpc-timeout",
                AttributeValue::Array(vec![AttributeValue::String("3S".into())]),
            )
            .at(20, 180)
            .build(),
        // A call within the budget is fine.
        S::new(1, 5, Some(3), "payment", "Audit")
            .kind(SpanKind::Client)
            .text("http.client.timeout_ms", "200")
            .at(210, 180)
            .build(),
        S::new(1, 6, Some(3), "payment", "Cache")
            .kind(SpanKind::Client)
            .at(400, 80)
            .build(),
    ];
    let diagnosis = diagnose(&spans);
    assert_eq!(
        kinds(&diagnosis),
        vec![FindingKind::TimeoutMisconfiguration]
    );
    assert_eq!(diagnosis.findings.len(), 1);
    let finding = &diagnosis.findings[0];
    assert_eq!(
        (&*finding.service, &*finding.operation),
        ("payment", "Charge")
    );
    assert_eq!(finding.value, 3 * SECOND);
    assert_eq!(finding.span_ids, vec![span_id(2), span_id(4)]);
    assert_eq!(
        finding.detail,
        "timeout 3s over caller gateway Pay timeout 1s"
    );
}

#[test]
fn grpc_timeout_headers_parse_per_the_wire_format() {
    assert_eq!(parse_grpc_timeout_nanos("3S"), Some(3 * SECOND));
    assert_eq!(parse_grpc_timeout_nanos("100m"), Some(100 * MS));
    assert_eq!(parse_grpc_timeout_nanos("2M"), Some(120 * SECOND));
    assert_eq!(parse_grpc_timeout_nanos("1H"), Some(3600 * SECOND));
    assert_eq!(parse_grpc_timeout_nanos("5u"), Some(5_000));
    assert_eq!(parse_grpc_timeout_nanos("7n"), Some(7));
    for bad in ["", "S", "3", "3s", "123456789S", "-1S", "1.5S", "0S"] {
        assert_eq!(parse_grpc_timeout_nanos(bad), None, "{bad:?}");
    }
}

#[test]
fn an_a_b_a_call_cycle_is_found_once() {
    let spans = vec![
        S::new(1, 1, None, "a", "GET /x").at(0, 100).build(),
        S::new(1, 2, Some(1), "b", "B.work")
            .kind(SpanKind::Server)
            .at(10, 80)
            .build(),
        S::new(1, 3, Some(2), "a", "A.callback")
            .kind(SpanKind::Server)
            .at(20, 20)
            .build(),
        S::new(1, 4, Some(2), "a", "A.callback")
            .kind(SpanKind::Server)
            .at(50, 20)
            .build(),
        // b → c is no cycle.
        S::new(1, 5, Some(2), "c", "C.work")
            .kind(SpanKind::Server)
            .at(75, 5)
            .build(),
    ];
    let diagnosis = diagnose(&spans);
    assert_eq!(kinds(&diagnosis), vec![FindingKind::Cycle]);
    assert_eq!(diagnosis.findings.len(), 1, "one cycle, reported once");
    let finding = &diagnosis.findings[0];
    assert_eq!(finding.detail, "a → b → a");
    assert_eq!(
        (&*finding.service, &*finding.operation),
        ("a", "A.callback")
    );
    assert_eq!(finding.value, 2);
}

#[test]
fn parent_links_in_a_loop_neither_hang_nor_overflow() {
    // 1 → 2 → 1: both have parents that "arrived", no root. And a 100,000-deep chain.
    let looped = vec![
        S::new(1, 1, Some(2), "a", "x").at(0, 10).build(),
        S::new(1, 2, Some(1), "b", "y").at(1, 5).build(),
    ];
    let diagnosis = diagnose(&looped);
    assert_eq!(diagnosis.summary.span_count, 2);
    let mut chain = vec![S::new(2, 1, None, "a", "root").at(0, 1000).build()];
    for depth in 2..100_000u64 {
        let service = if depth % 2 == 0 { "a" } else { "b" };
        chain.push(
            S::new(2, depth, Some(depth - 1), service, "hop")
                .at(0, 1000)
                .build(),
        );
    }
    let diagnosis = diagnose(&chain);
    assert_eq!(diagnosis.summary.span_count, 99_999);
    assert!(kinds(&diagnosis).contains(&FindingKind::Cycle));
}

#[test]
fn database_statistics_group_by_fingerprint_with_slow_calls_endpoints_and_slowest() {
    let mut statistics = Statistics::new(StatisticsConfig::default());
    let mut interner = Interner::new(100);
    for trace in 0..10u64 {
        let endpoint = if trace % 2 == 0 { "GET /a" } else { "GET /b" };
        let duration_ms = if trace == 7 { 450 } else { 10 + trace };
        let spans = [
            S::new(trace, 1, None, "shop", endpoint).at(0, 500).build(),
            S::new(trace, 2, Some(1), "shop", "SELECT")
                .sql(&format!("SELECT id FROM orders WHERE user_id = {trace}"))
                .at(1, duration_ms)
                .build(),
        ];
        let trace_facts = AssembledTrace {
            trace_id: trace_id(trace),
            spans: spans.iter().map(|s| span_facts(s, &mut interner)).collect(),
            dropped_spans: 0,
            completion: Completion::Inactive,
        };
        let diagnosis = analyze_trace(&trace_facts, &AnalysisConfig::default());
        statistics.record(&trace_facts, &diagnosis);
    }
    let report = statistics.database(TimeRange::everything(), &StatisticsFilter::default());
    assert_eq!(report.statements.len(), 1);
    let statement = &report.statements[0];
    assert_eq!(
        statement.fingerprint,
        "SELECT id FROM orders WHERE user_id = ?"
    );
    assert_eq!(statement.calls, 10);
    assert_eq!(statement.slow_calls, 1);
    assert_eq!(statement.tables, vec!["orders".to_owned()]);
    assert_eq!(statement.latency.max_nanos, 450 * MS);
    assert_eq!(
        statement
            .endpoints
            .iter()
            .map(|e| (e.operation.as_str(), e.calls))
            .collect::<Vec<_>>(),
        vec![("GET /a", 5), ("GET /b", 5)]
    );
    assert_eq!(statement.slowest[0].trace_id, trace_id(7).to_hex());
    assert_eq!(statement.slowest.len(), 5);
    assert_eq!(report.tables.len(), 1);
    assert_eq!(
        (report.tables[0].table.as_str(), report.tables[0].calls),
        ("orders", 10)
    );
}

#[test]
fn redis_statistics_mask_keys_and_count_hits_big_keys_and_hot_keys() {
    let mut statistics = Statistics::new(StatisticsConfig::default());
    let mut interner = Interner::new(100);
    for trace in 0..20u64 {
        let user = if trace < 12 { 7 } else { trace };
        let spans = [
            S::new(trace, 1, None, "cart", "GET /cart")
                .at(0, 50)
                .build(),
            S::new(trace, 2, Some(1), "cart", "GET")
                .kind(SpanKind::Client)
                .text("db.system", "redis")
                .text("db.statement", &format!("GET cart:user:{user}"))
                .attr("cache.hit", AttributeValue::Bool(trace % 4 != 0))
                .attr(
                    "db.redis.value_size_bytes",
                    AttributeValue::Int(100 + trace as i64 * 10),
                )
                .at(1, 2)
                .build(),
        ];
        let trace_facts = AssembledTrace {
            trace_id: trace_id(trace),
            spans: spans.iter().map(|s| span_facts(s, &mut interner)).collect(),
            dropped_spans: 0,
            completion: Completion::Inactive,
        };
        statistics.record(
            &trace_facts,
            &analyze_trace(&trace_facts, &AnalysisConfig::default()),
        );
    }
    let report = statistics.redis(TimeRange::everything(), &StatisticsFilter::default());
    assert_eq!(report.commands.len(), 1);
    let command = &report.commands[0];
    assert_eq!(
        (command.command.as_str(), command.key_pattern.as_str()),
        ("GET", "cart:user:{n}")
    );
    assert_eq!((command.calls, command.hits, command.misses), (20, 15, 5));
    assert_eq!(command.hit_rate, Some(0.75));
    assert_eq!(command.max_value_size_bytes, 290);
    assert_eq!(report.hot_keys[0].key, "cart:user:7");
    assert_eq!(report.hot_keys[0].calls, 12);
    assert_eq!(report.big_keys[0].key, "cart:user:19");
    assert_eq!(report.big_keys[0].value_size_bytes, Some(290));
}

fn record_trace(statistics: &mut Statistics, spans: &[Span]) {
    let mut interner = Interner::new(100);
    let trace = AssembledTrace {
        trace_id: spans[0].trace_id,
        spans: spans.iter().map(|s| span_facts(s, &mut interner)).collect(),
        dropped_spans: 0,
        completion: Completion::Inactive,
    };
    statistics.record(&trace, &analyze_trace(&trace, &AnalysisConfig::default()));
}

#[test]
fn interruption_rate_is_counted_per_service_and_bucket() {
    let mut statistics = Statistics::new(StatisticsConfig::default());
    for trace in 0..8u64 {
        let mut spans = clean_trace(trace);
        if trace % 4 == 0 {
            spans.remove(3);
        }
        record_trace(&mut statistics, &spans);
    }
    let report = statistics.interruptions(TimeRange::everything(), &StatisticsFilter::default());
    assert_eq!((report.traces, report.broken_traces), (8, 2));
    assert_eq!(report.interruption_rate, 0.25);
    let api = report
        .services
        .iter()
        .find(|row| row.service == "api")
        .unwrap();
    assert_eq!((api.traces, api.broken_traces), (8, 2));
    assert_eq!(api.example_trace_ids.len(), 2);
    let web = report
        .services
        .iter()
        .find(|row| row.service == "web")
        .unwrap();
    assert_eq!(web.broken_traces, 0, "web's spans all had their parents");
    assert_eq!(report.series.len(), 1);
    let findings = statistics.findings(
        TimeRange::everything(),
        &StatisticsFilter {
            kind: Some(FindingKind::BrokenTrace),
            ..StatisticsFilter::default()
        },
    );
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].traces, 2);
    assert_eq!(
        findings[0].example_trace_ids,
        vec![trace_id(4).to_hex(), trace_id(0).to_hex()]
    );
}

#[test]
fn cycles_across_traces_show_in_the_aggregated_service_graph() {
    let mut statistics = Statistics::new(StatisticsConfig::default());
    // Trace 1: a → b. Trace 2: b → c → a. No trace has a cycle; the graph does.
    record_trace(
        &mut statistics,
        &[
            S::new(1, 1, None, "a", "x").at(0, 10).build(),
            S::new(1, 2, Some(1), "b", "y")
                .kind(SpanKind::Server)
                .at(1, 5)
                .build(),
        ],
    );
    record_trace(
        &mut statistics,
        &[
            S::new(2, 1, None, "b", "y").at(0, 10).build(),
            S::new(2, 2, Some(1), "c", "z")
                .kind(SpanKind::Server)
                .at(1, 5)
                .build(),
            S::new(2, 3, Some(2), "a", "x")
                .kind(SpanKind::Server)
                .at(2, 2)
                .build(),
            S::new(2, 4, Some(1), "d", "w")
                .kind(SpanKind::Server)
                .at(7, 2)
                .build(),
        ],
    );
    assert!(statistics
        .findings(
            TimeRange::everything(),
            &StatisticsFilter {
                kind: Some(FindingKind::Cycle),
                ..StatisticsFilter::default()
            }
        )
        .is_empty());
    let cycles = statistics.graph_cycles(TimeRange::everything(), &StatisticsFilter::default());
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].services, vec!["a", "b", "c"]);
    assert_eq!(cycles[0].edges.len(), 3);
}

#[test]
fn strongly_connected_components_of_a_small_graph() {
    let edges: Vec<(String, String)> = [
        ("a", "b"),
        ("b", "a"),
        ("b", "c"),
        ("c", "d"),
        ("d", "c"),
        ("e", "e"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let mut components = strongly_connected_components(&edges);
    components.sort();
    assert_eq!(components, vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
}

#[test]
fn failures_slowest_operations_and_exceptions_are_listed() {
    let mut statistics = Statistics::new(StatisticsConfig::default());
    for trace in 0..3u64 {
        let mut failing = S::new(trace, 2, Some(1), "pay", "Charge")
            .kind(SpanKind::Server)
            .error("card declined")
            .at(1, 10 + trace)
            .build();
        failing.events.push(Event {
            time_unix_nanos: BASE + 5 * MS + trace,
            name: "exception".into(),
            attributes: vec![
                KeyValue::new("exception.type", AttributeValue::String("CardError".into())),
                KeyValue::new(
                    "exception.message",
                    AttributeValue::String("declined".into()),
                ),
            ],
            dropped_attributes_count: 0,
        });
        record_trace(
            &mut statistics,
            &[
                S::new(trace, 1, None, "web", "POST /buy").at(0, 40).build(),
                failing,
            ],
        );
    }
    let report = statistics.operations(TimeRange::everything(), &StatisticsFilter::default());
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].status_message, "card declined");
    assert_eq!(report.failures[0].count, 3);
    assert_eq!(report.exceptions.len(), 3);
    assert_eq!(
        report.exceptions[0].trace_id,
        trace_id(2).to_hex(),
        "newest first"
    );
    assert_eq!(report.exceptions[0].exception_type, "CardError");
    let names: Vec<(&str, u64)> = report
        .slowest
        .iter()
        .map(|row| (row.operation.as_str(), row.latency.max_nanos))
        .collect();
    assert_eq!(names, vec![("POST /buy", 40 * MS), ("Charge", 12 * MS)]);
}

#[test]
fn statistics_tables_are_capped_and_old_buckets_pruned() {
    let config = StatisticsConfig {
        max_keys_per_bucket: 3,
        ..StatisticsConfig::default()
    };
    let mut statistics = Statistics::new(config);
    for trace in 0..6u64 {
        record_trace(
            &mut statistics,
            &[S::new(trace, 1, None, "web", &format!("GET /{trace}"))
                .at(0, 10)
                .build()],
        );
    }
    let report = statistics.operations(TimeRange::everything(), &StatisticsFilter::default());
    assert_eq!(report.slowest.len(), 3);
    assert_eq!(statistics.counters().overflow_keys, 3);
    assert_eq!(statistics.bucket_count(), 1);
    statistics.prune(BASE + 7 * 3600 * SECOND);
    assert_eq!(statistics.bucket_count(), 0);
}

// ---- the assembler ----

fn offer_all(assembler: &mut TraceAssembler, spans: &[Span], now: u64) -> Vec<AssembledTrace> {
    let mut completed = Vec::new();
    for span in spans {
        assembler.offer(span, 1, now, &mut completed);
    }
    completed
}

#[test]
fn the_assembler_completes_a_trace_after_the_inactivity_timeout() {
    let mut assembler = TraceAssembler::new(AssemblerConfig::default());
    let spans = clean_trace(1);
    assert!(offer_all(&mut assembler, &spans[..3], BASE).is_empty());
    // The rest arrive 20 s later, which restarts the 30 s timeout.
    assert!(offer_all(&mut assembler, &spans[3..], BASE + 20 * SECOND).is_empty());
    let mut completed = Vec::new();
    assembler.expire(BASE + 49 * SECOND, &mut completed);
    assert!(completed.is_empty(), "20 s + 30 s have not passed");
    assembler.expire(BASE + 50 * SECOND, &mut completed);
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].spans.len(), 5);
    assert_eq!(completed[0].completion, Completion::Inactive);
    assert_eq!(assembler.open_traces(), 0);
    assert_eq!(assembler.open_spans(), 0);
    // A late span of the completed trace is counted, not analyzed as a broken fragment.
    let late = S::new(1, 9, Some(1), "web", "late").build();
    assert!(offer_all(&mut assembler, &[late], BASE + 51 * SECOND).is_empty());
    assert_eq!(assembler.counters().late_spans, 1);
    assert_eq!(assembler.open_traces(), 0);
}

#[test]
fn the_assembler_evicts_the_idlest_trace_at_the_open_trace_cap() {
    let mut assembler = TraceAssembler::new(AssemblerConfig {
        max_open_traces: 2,
        ..AssemblerConfig::default()
    });
    let first = S::new(1, 1, None, "a", "x").build();
    let second = S::new(2, 1, None, "a", "x").build();
    let third = S::new(3, 1, None, "a", "x").build();
    offer_all(&mut assembler, &[first], BASE);
    offer_all(&mut assembler, &[second], BASE + SECOND);
    let completed = offer_all(&mut assembler, &[third], BASE + 2 * SECOND);
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].trace_id, trace_id(1));
    assert_eq!(completed[0].completion, Completion::Evicted);
    assert!(completed[0].is_truncated());
    assert_eq!(assembler.open_traces(), 2);
    assert_eq!(assembler.counters().traces_evicted, 1);
}

#[test]
fn the_assembler_caps_spans_per_trace_and_open_spans() {
    let mut assembler = TraceAssembler::new(AssemblerConfig {
        max_spans_per_trace: 3,
        max_open_spans: 5,
        ..AssemblerConfig::default()
    });
    let spans: Vec<Span> = (1..=6)
        .map(|id| S::new(1, id, Some(1), "a", "x").build())
        .collect();
    assert!(offer_all(&mut assembler, &spans, BASE).is_empty());
    assert_eq!(assembler.open_spans(), 3);
    assert_eq!(assembler.counters().spans_dropped_over_trace_cap, 3);
    let others: Vec<Span> = (1..=3)
        .map(|id| S::new(2, id, None, "a", "x").build())
        .collect();
    let completed = offer_all(&mut assembler, &others, BASE + SECOND);
    assert_eq!(
        completed.len(),
        1,
        "trace 1 is evicted to stay within 5 open spans"
    );
    assert_eq!(completed[0].dropped_spans, 3);
    assert_eq!(assembler.open_spans(), 3);
}

#[test]
fn the_assembler_cuts_a_trace_older_than_the_maximum_age() {
    let mut assembler = TraceAssembler::new(AssemblerConfig {
        max_trace_age: Duration::from_secs(60),
        ..AssemblerConfig::default()
    });
    let mut completed = Vec::new();
    for second in 0..70u64 {
        let span = S::new(1, second + 1, None, "a", "tick").build();
        assembler.offer(&span, 1, BASE + second * SECOND, &mut completed);
        assembler.expire(BASE + second * SECOND, &mut completed);
    }
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].completion, Completion::MaxAge);
    // The span arriving at the deadline's own tick is still taken.
    assert_eq!(completed[0].spans.len(), 61);
}

// ---- exactly once across a restart ----

/// Batches of spans from interleaved traces, each trace's spans spread over several batches.
fn interleaved_batches() -> Vec<Vec<Span>> {
    let mut batches: Vec<Vec<Span>> = vec![Vec::new(); 14];
    for trace in 0..30u64 {
        for (index, span) in clean_trace(trace).into_iter().enumerate() {
            batches[trace as usize / 3 + index].push(span);
        }
    }
    batches
}

fn run(diagnoser: &mut Diagnoser, batches: &[Vec<Span>], from: usize, to: usize) {
    for (index, batch) in batches.iter().enumerate().take(to).skip(from) {
        // Position = index + 1; a second apart, so traces stay open across batches.
        diagnoser.offer_batch(batch, index as u64 + 1, BASE + index as u64 * SECOND);
        diagnoser.tick(BASE + index as u64 * SECOND);
    }
}

fn database_and_interruptions(diagnoser: &Diagnoser) -> (u64, u64, Vec<(String, u64)>) {
    let statistics = diagnoser.statistics_now();
    let report = statistics.interruptions(TimeRange::everything(), &StatisticsFilter::default());
    let operations = statistics.operations(TimeRange::everything(), &StatisticsFilter::default());
    (
        report.traces,
        report.broken_traces,
        operations
            .slowest
            .iter()
            .map(|row| (row.operation.clone(), row.calls))
            .collect(),
    )
}

/// The committed statistics a restart reads back: every delta row, merged.
fn merged(config: &DiagnoserConfig, rows: &[Statistics]) -> Statistics {
    let mut statistics = Statistics::new(config.statistics.clone());
    for row in rows {
        statistics.merge(row);
    }
    statistics
}

#[test]
fn a_restore_and_replay_from_the_checkpoint_counts_every_trace_exactly_once() {
    let config = DiagnoserConfig {
        assembler: AssemblerConfig {
            inactivity_timeout: Duration::from_secs(1),
            ..AssemblerConfig::default()
        },
        ..DiagnoserConfig::default()
    };
    let batches = interleaved_batches();
    let finish = |diagnoser: &mut Diagnoser| {
        diagnoser.tick(BASE + 100 * SECOND);
    };

    let mut uninterrupted = Diagnoser::new(config.clone());
    run(&mut uninterrupted, &batches, 0, batches.len());
    finish(&mut uninterrupted);

    let mut first = Diagnoser::new(config.clone());
    run(&mut first, &batches, 0, 6);
    // A commit: the statistics' delta rows and the checkpoint, together.
    let rows = vec![first.take_statistics_delta()];
    let checkpoint = first.checkpoint();
    assert!(
        !checkpoint.open_trace_ids.is_empty(),
        "the cut must fall inside traces"
    );
    let replay_from = checkpoint.replay_from;
    assert!(replay_from <= 6, "open traces began before the cut");
    let mut summaries = first.take_summaries().len();
    // Crash: everything after the checkpoint is lost; replay from its replay position.
    let mut restored = Diagnoser::restore(config.clone(), checkpoint, merged(&config, &rows));
    run(
        &mut restored,
        &batches,
        replay_from as usize - 1,
        batches.len(),
    );
    finish(&mut restored);
    summaries += restored.take_summaries().len();

    assert_eq!(
        database_and_interruptions(&restored),
        database_and_interruptions(&uninterrupted)
    );
    assert_eq!(summaries, 30, "every trace summarized once");
    assert_eq!(database_and_interruptions(&uninterrupted).0, 30);
    assert_eq!(
        database_and_interruptions(&uninterrupted).1,
        0,
        "no trace looks broken"
    );
    assert!(restored.counters().replayed_spans_skipped > 0);
}

#[test]
fn a_checkpoint_taken_during_a_replay_keeps_the_earlier_replay_position() {
    let config = DiagnoserConfig {
        assembler: AssemblerConfig {
            inactivity_timeout: Duration::from_secs(1),
            ..AssemblerConfig::default()
        },
        ..DiagnoserConfig::default()
    };
    let batches = interleaved_batches();
    let mut uninterrupted = Diagnoser::new(config.clone());
    run(&mut uninterrupted, &batches, 0, batches.len());
    uninterrupted.tick(BASE + 100 * SECOND);

    let mut first = Diagnoser::new(config.clone());
    run(&mut first, &batches, 0, 8);
    let mut rows = vec![first.take_statistics_delta()];
    let checkpoint = first.checkpoint();
    let replay_from = checkpoint.replay_from as usize;
    // Restart, replay two records, checkpoint again (still inside the replay), crash again.
    let mut second = Diagnoser::restore(config.clone(), checkpoint, merged(&config, &rows));
    run(&mut second, &batches, replay_from - 1, replay_from + 1);
    rows.push(second.take_statistics_delta());
    let checkpoint = second.checkpoint();
    assert_eq!(
        checkpoint.position, 8,
        "the first checkpoint's position still holds"
    );
    assert!(checkpoint.replay_from as usize <= replay_from);
    let replay_from = checkpoint.replay_from as usize;
    let mut third = Diagnoser::restore(config.clone(), checkpoint, merged(&config, &rows));
    run(&mut third, &batches, replay_from - 1, batches.len());
    third.tick(BASE + 100 * SECOND);
    assert_eq!(
        database_and_interruptions(&third),
        database_and_interruptions(&uninterrupted)
    );
}

#[test]
fn every_finding_kind_has_its_own_slot_in_the_per_kind_arrays() {
    // `findings_by_kind` and the exported counters are `[_; FindingKind::COUNT]` arrays
    // indexed by `index()`, and `finding_kinds` is a u8 of `bit()`s: a kind added without a
    // slot, or two kinds sharing one, would panic or miscount.
    assert_eq!(FindingKind::ALL.len(), FindingKind::COUNT);
    for (slot, kind) in FindingKind::ALL.into_iter().enumerate() {
        assert_eq!(kind.index(), slot, "{kind:?} is listed out of its slot");
        assert_eq!(FindingKind::parse(kind.as_str()), Some(kind));
    }
    let bits: u32 = FindingKind::ALL
        .into_iter()
        .map(|kind| u32::from(kind.bit()))
        .sum();
    assert_eq!(bits, (1 << FindingKind::COUNT) - 1, "bits are distinct");
}

/// Delta rows recorded apart and merged answer every report as statistics recorded in one go:
/// what lets a query process merge what processors committed.
#[test]
fn statistics_merged_from_deltas_answer_as_if_recorded_at_once() {
    let traces: Vec<Vec<Span>> = (0..24u64)
        .map(|trace| {
            let mut spans = clean_trace(trace);
            if trace % 5 == 0 {
                spans.remove(3);
            }
            spans
        })
        .collect();
    let mut at_once = Statistics::new(StatisticsConfig::default());
    let mut merged = Statistics::new(StatisticsConfig::default());
    let mut delta = merged.delta_after();
    for (index, spans) in traces.iter().enumerate() {
        record_trace(&mut at_once, spans);
        record_trace(&mut delta, spans);
        if index % 7 == 6 {
            merged.merge(&delta);
            delta = merged.delta_after();
        }
    }
    merged.merge(&delta);
    let everything = TimeRange::everything();
    let filter = StatisticsFilter::default();
    assert_eq!(merged.counters(), at_once.counters());
    assert_eq!(
        merged.findings(everything, &filter),
        at_once.findings(everything, &filter)
    );
    assert_eq!(
        merged.interruptions(everything, &filter),
        at_once.interruptions(everything, &filter)
    );
    assert_eq!(
        merged.database(everything, &filter),
        at_once.database(everything, &filter)
    );
    assert_eq!(
        merged.operations(everything, &filter),
        at_once.operations(everything, &filter)
    );
    assert_eq!(merged.interruptions(everything, &filter).broken_traces, 5);
}
