use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use weft_codec::otlp_proto::common::v1::{
    any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use weft_codec::otlp_proto::resource::v1::Resource;
use weft_codec::otlp_proto::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use weft_codec::ExportTraceServiceRequest;
use weft_model::{SpanId, TraceId};

const MILLIS: u64 = 1_000_000;

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;
const INTERNAL: i32 = 1;

/// The services of the synthetic shop, each with two instances (pods).
const SERVICES: &[(&str, &str, &str)] = &[
    ("frontend", "nodejs", "@opentelemetry/instrumentation-http"),
    (
        "api-gateway",
        "go",
        "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
    ),
    (
        "order-service",
        "java",
        "io.opentelemetry.spring-webmvc-6.0",
    ),
    ("payment-service", "java", "io.opentelemetry.grpc-1.6"),
    (
        "inventory-service",
        "python",
        "opentelemetry.instrumentation.grpc",
    ),
    (
        "user-service",
        "go",
        "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
    ),
    (
        "notification-service",
        "python",
        "opentelemetry.instrumentation.kafka",
    ),
];

/// The shop's call graph as designed (caller, callee): instrumented services, and the
/// uninstrumented peers the callers' spans name (`peer.service`, `db.system/db.namespace`).
/// The topology a tracing backend derives from enough generated traffic must be exactly this.
pub const SERVICE_EDGES: &[(&str, &str)] = &[
    ("frontend", "api-gateway"),
    ("api-gateway", "order-service"),
    ("api-gateway", "user-service"),
    ("order-service", "redis/0"),
    ("order-service", "mysql/shop"),
    ("order-service", "inventory-service"),
    ("order-service", "payment-service"),
    ("order-service", "notification-service"),
    ("inventory-service", "mysql/inventory"),
    ("payment-service", "postgresql/payments"),
    ("payment-service", "card-network"),
    ("notification-service", "email-provider"),
    ("user-service", "redis/0"),
    ("user-service", "postgresql/users"),
];

const PRODUCTS: &[&str] = &[
    "keyboard", "monitor", "mouse", "laptop", "headset", "webcam", "dock",
];

/// A pathology the generator can inject into a trace, for testing diagnostics against known
/// truth. Without any, generated traffic has none: no span does most of its trace's work, no
/// call repeats five times under one parent, callee timeouts stay within their callers', no
/// service is called back, every parent arrives, no database call is slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// A span names a parent that is never sent (a lost hop).
    BrokenTrace,
    /// One service does 60–100 ms of its own work, most of the trace.
    Bottleneck,
    /// The same query (or cache read) 5–8 times under one parent: an N+1 loop.
    RepeatedCalls,
    /// A callee is given a longer timeout than its caller's.
    TimeoutMisconfiguration,
    /// A service is called back by a service it called.
    Cycle,
    /// One database call takes 250–1500 ms.
    SlowDatabase,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::BrokenTrace,
        Scenario::Bottleneck,
        Scenario::RepeatedCalls,
        Scenario::TimeoutMisconfiguration,
        Scenario::Cycle,
        Scenario::SlowDatabase,
    ];

    /// The name of the diagnostics finding it causes (`slow_database` is a bottleneck too).
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::BrokenTrace => "broken_trace",
            Scenario::Bottleneck => "bottleneck",
            Scenario::RepeatedCalls => "repeated_calls",
            Scenario::TimeoutMisconfiguration => "timeout_misconfiguration",
            Scenario::Cycle => "cycle",
            Scenario::SlowDatabase => "slow_database",
        }
    }
}

/// The share of traces each scenario is injected into (independently).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenarios {
    pub broken_trace: f64,
    pub bottleneck: f64,
    pub repeated_calls: f64,
    pub timeout_misconfiguration: f64,
    pub cycle: f64,
    pub slow_database: f64,
}

impl Scenarios {
    /// No pathology at all.
    pub fn clean() -> Self {
        Scenarios {
            broken_trace: 0.0,
            bottleneck: 0.0,
            repeated_calls: 0.0,
            timeout_misconfiguration: 0.0,
            cycle: 0.0,
            slow_database: 0.0,
        }
    }

    pub fn rate(&self, scenario: Scenario) -> f64 {
        match scenario {
            Scenario::BrokenTrace => self.broken_trace,
            Scenario::Bottleneck => self.bottleneck,
            Scenario::RepeatedCalls => self.repeated_calls,
            Scenario::TimeoutMisconfiguration => self.timeout_misconfiguration,
            Scenario::Cycle => self.cycle,
            Scenario::SlowDatabase => self.slow_database,
        }
    }
}

impl Default for Scenarios {
    /// A shop as it is: some slow queries and N+1 loops, nothing else.
    fn default() -> Self {
        Scenarios {
            slow_database: 0.02,
            repeated_calls: 0.1,
            ..Scenarios::clean()
        }
    }
}

/// One request's worth of generated traces.
#[derive(Debug, Clone)]
pub struct GeneratedBatch {
    pub request: ExportTraceServiceRequest,
    pub spans: usize,
    pub traces: usize,
    /// The scenarios injected, per trace.
    pub injected: Vec<(TraceId, Scenario)>,
}

/// Deterministic for a seed (except for the timestamps and time-embedded IDs, which follow the
/// `now` passed in).
pub struct TraceGenerator {
    rng: SmallRng,
    /// Seeds each trace's span-ID generator.
    id_rng: SmallRng,
    resources: Vec<[Resource; 2]>,
    scopes: Vec<InstrumentationScope>,
    scenarios: Scenarios,
    /// Draws which scenarios a trace gets, apart from `rng` so rates do not shift the rest.
    scenario_rng: SmallRng,
    /// The scenarios of the trace being built.
    active: Vec<Scenario>,
    /// Whether the trace's one slow database call is still to come.
    slow_database_call_pending: bool,
}

fn text(value: impl Into<String>) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(value.into())),
    }
}

fn int(value: i64) -> AnyValue {
    AnyValue {
        value: Some(Value::IntValue(value)),
    }
}

fn boolean(value: bool) -> AnyValue {
    AnyValue {
        value: Some(Value::BoolValue(value)),
    }
}

fn double(value: f64) -> AnyValue {
    AnyValue {
        value: Some(Value::DoubleValue(value)),
    }
}

fn array(values: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(Value::ArrayValue(ArrayValue { values })),
    }
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        key_strindex: 0,
    }
}

impl TraceBuilder {
    fn new_span(
        &mut self,
        service: usize,
        name: &str,
        kind: i32,
        parent: Option<[u8; 8]>,
        start: u64,
        attributes: Vec<KeyValue>,
    ) -> usize {
        let span_id = SpanId::random(&mut self.id_rng);
        self.spans.push((
            service,
            Span {
                trace_id: self.trace_id.as_bytes().to_vec(),
                span_id: span_id.as_bytes().to_vec(),
                trace_state: String::new(),
                parent_span_id: parent.map(|id| id.to_vec()).unwrap_or_default(),
                flags: 0x101, // sampled, and the parent-is-remote bit known
                name: name.to_owned(),
                kind,
                start_time_unix_nano: start,
                end_time_unix_nano: start,
                attributes,
                dropped_attributes_count: 0,
                events: Vec::new(),
                dropped_events_count: 0,
                links: Vec::new(),
                dropped_links_count: 0,
                status: None,
            },
        ));
        self.spans.len() - 1
    }
}

struct TraceBuilder {
    trace_id: TraceId,
    spans: Vec<(usize, Span)>,
    /// Span IDs come from their own generator, so attribute values can draw from the trace
    /// generator's `rng` in the same call.
    id_rng: SmallRng,
}

impl TraceGenerator {
    pub fn new(seed: u64) -> Self {
        Self::with_scenarios(seed, Scenarios::default())
    }

    /// A generator injecting `scenarios` at their rates.
    pub fn with_scenarios(seed: u64, scenarios: Scenarios) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let resources = SERVICES
            .iter()
            .enumerate()
            .map(|(index, (service, language, _))| {
                [0, 1].map(|instance| {
                    let pod = format!("{service}-{:x}-{instance}", 0x5f3a_u32 + index as u32);
                    let container: String = (0..64)
                        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("hex"))
                        .collect();
                    Resource {
                        attributes: vec![
                            kv("service.name", text(*service)),
                            kv("service.namespace", text("shop")),
                            kv(
                                "service.version",
                                text(format!("1.{}.{}", index + 3, instance)),
                            ),
                            kv(
                                "service.instance.id",
                                text(format!("{pod}-{}", rng.random::<u32>())),
                            ),
                            kv("deployment.environment.name", text("production")),
                            kv(
                                "cloud.region",
                                text(if instance == 0 {
                                    "eu-west-1"
                                } else {
                                    "eu-central-1"
                                }),
                            ),
                            kv(
                                "host.name",
                                text(format!("node-{}.eu.internal", 10 + index * 2 + instance)),
                            ),
                            kv("host.arch", text("amd64")),
                            kv("os.type", text("linux")),
                            kv("k8s.namespace.name", text("shop")),
                            kv("k8s.deployment.name", text(*service)),
                            kv("k8s.pod.name", text(pod)),
                            kv("container.id", text(container)),
                            kv("telemetry.sdk.name", text("opentelemetry")),
                            kv("telemetry.sdk.language", text(*language)),
                            kv("telemetry.sdk.version", text("1.38.0")),
                        ],
                        dropped_attributes_count: 0,
                        entity_refs: Vec::new(),
                    }
                })
            })
            .collect();
        let scopes = SERVICES
            .iter()
            .map(|(_, _, scope)| InstrumentationScope {
                name: (*scope).to_owned(),
                version: "0.52.0".to_owned(),
                attributes: Vec::new(),
                dropped_attributes_count: 0,
            })
            .collect();
        TraceGenerator {
            id_rng: SmallRng::seed_from_u64(seed ^ 0x5eed),
            rng,
            resources,
            scopes,
            scenarios,
            scenario_rng: SmallRng::seed_from_u64(seed ^ 0x5ce7_a210),
            active: Vec::new(),
            slow_database_call_pending: false,
        }
    }

    /// Generates `traces` traces ending around `now_unix_nanos`, grouped into one OTLP request
    /// by service instance as an SDK or agent would batch them.
    pub fn next_batch(&mut self, traces: usize, now_unix_nanos: u64) -> GeneratedBatch {
        // (service index, instance) -> spans
        let mut grouped: BTreeMap<(usize, usize), Vec<Span>> = BTreeMap::new();
        let mut span_count = 0;
        let mut injected = Vec::new();
        for _ in 0..traces {
            let instance = self.rng.random_range(0..2);
            let trace = self.trace(now_unix_nanos);
            injected.extend(
                self.active
                    .iter()
                    .map(|scenario| (trace.trace_id, *scenario)),
            );
            span_count += trace.spans.len();
            for (service, span) in trace.spans {
                grouped.entry((service, instance)).or_default().push(span);
            }
        }
        let resource_spans = grouped
            .into_iter()
            .map(|((service, instance), spans)| ResourceSpans {
                resource: Some(self.resources[service][instance].clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(self.scopes[service].clone()),
                    spans,
                    schema_url: "https://opentelemetry.io/schemas/1.26.0".to_owned(),
                }],
                schema_url: "https://opentelemetry.io/schemas/1.26.0".to_owned(),
            })
            .collect();
        GeneratedBatch {
            request: ExportTraceServiceRequest { resource_spans },
            spans: span_count,
            traces,
            injected,
        }
    }

    fn trace(&mut self, now_unix_nanos: u64) -> TraceBuilder {
        let mut trace = TraceBuilder {
            trace_id: TraceId::from_bytes([1; 16]),
            spans: Vec::new(),
            id_rng: SmallRng::seed_from_u64(self.id_rng.random()),
        };
        self.active = Scenario::ALL
            .into_iter()
            .filter(|scenario| {
                let rate = self.scenarios.rate(*scenario);
                rate > 0.0 && self.scenario_rng.random_bool(rate.min(1.0))
            })
            .collect();
        self.slow_database_call_pending = self.injects(Scenario::SlowDatabase);
        // Build from an arbitrary origin, then move the trace so it ends shortly before `now`,
        // as a batch exporter would deliver it.
        let origin = now_unix_nanos;
        // About one visit in ten buys: a shop's traffic is mostly browsing, and the cold tier's
        // share of the bytes (every order is kept) depends on this mix.
        if self.rng.random_bool(0.1) {
            self.checkout(&mut trace, origin);
        } else {
            self.browse(&mut trace, origin);
        }
        if std::mem::take(&mut self.slow_database_call_pending) {
            // The trace made no database call (a cache hit): nothing was slowed.
            self.active
                .retain(|scenario| *scenario != Scenario::SlowDatabase);
        }
        let end = trace
            .spans
            .iter()
            .map(|(_, span)| span.end_time_unix_nano)
            .max()
            .unwrap_or(origin);
        let shift = (end - origin) + self.rng.random_range(200..2_000) * MILLIS;
        let start = origin - shift;
        let trace_id =
            TraceId::generate_time_embedded((start / 1_000_000_000) as u32, &mut self.rng);
        trace.trace_id = trace_id;
        for (_, span) in &mut trace.spans {
            span.trace_id = trace_id.as_bytes().to_vec();
            span.start_time_unix_nano -= shift;
            span.end_time_unix_nano -= shift;
            for event in &mut span.events {
                event.time_unix_nano -= shift;
            }
        }
        trace
    }

    fn injects(&self, scenario: Scenario) -> bool {
        self.active.contains(&scenario)
    }

    /// A service's own work in a request (parsing, rendering): about a millisecond, so no one
    /// span holds most of a clean trace's time; a bottleneck scenario makes it 60–100 ms.
    fn own_work(&mut self, bottleneck_here: bool) -> u64 {
        if bottleneck_here && self.injects(Scenario::Bottleneck) {
            self.rng.random_range(60..100) * MILLIS
        } else {
            self.rng.random_range(1_000..1_500) * 1_000
        }
    }

    /// Makes a span an orphan: its parent becomes a span that is never sent.
    fn lose_parent(&mut self, trace: &mut TraceBuilder, index: usize) {
        let lost = SpanId::random(&mut trace.id_rng);
        trace.spans[index].1.parent_span_id = lost.as_bytes().to_vec();
    }

    fn span_id(trace: &TraceBuilder, index: usize) -> [u8; 8] {
        trace.spans[index].1.span_id[..]
            .try_into()
            .expect("8 bytes")
    }

    fn finish(trace: &mut TraceBuilder, index: usize, end: u64) -> u64 {
        trace.spans[index].1.end_time_unix_nano = end;
        end
    }

    fn fail(&mut self, trace: &mut TraceBuilder, index: usize, kind: &str, message: &str) {
        let span = &mut trace.spans[index].1;
        span.status = Some(Status {
            message: message.to_owned(),
            code: 2,
        });
        let frames: String = (0..12)
            .map(|depth| {
                format!(
                    "\tat com.shop.payment.{}.{}(PaymentGateway.java:{})\n",
                    ["CardProcessor", "Gateway", "Client", "Retry"][depth % 4],
                    ["charge", "authorize", "call", "invoke"][depth % 4],
                    100 + depth * 17
                )
            })
            .collect();
        span.events.push(span::Event {
            time_unix_nano: span.end_time_unix_nano.max(span.start_time_unix_nano),
            name: "exception".to_owned(),
            attributes: vec![
                kv("exception.type", text(kind)),
                kv("exception.message", text(message)),
                kv(
                    "exception.stacktrace",
                    text(format!("{kind}: {message}\n{frames}")),
                ),
                kv("exception.escaped", boolean(true)),
            ],
            dropped_attributes_count: 0,
        });
    }

    /// A database call; returns its end time.
    #[allow(clippy::too_many_arguments)]
    fn db_call(
        &mut self,
        trace: &mut TraceBuilder,
        service: usize,
        parent: usize,
        start: u64,
        system: &str,
        database: &str,
        table: &str,
        operation: &str,
        statement: String,
    ) -> u64 {
        let slow = std::mem::take(&mut self.slow_database_call_pending);
        let duration = if slow {
            self.rng.random_range(250..1_500) * MILLIS
        } else {
            self.rng.random_range(300..1_500) * 1_000
        };
        let (address, port) = match system {
            "mysql" => ("mysql-primary.shop.svc", 3306),
            _ => ("postgres-0.shop.svc", 5432),
        };
        let parent_id = Self::span_id(trace, parent);
        let index = trace.new_span(
            service,
            &format!("{operation} {database}.{table}"),
            CLIENT,
            Some(parent_id),
            start,
            vec![
                kv("db.system", text(system)),
                kv("db.namespace", text(database)),
                kv("db.collection.name", text(table)),
                kv("db.operation.name", text(operation)),
                kv("db.query.text", text(statement)),
                kv("server.address", text(address)),
                kv("server.port", int(port)),
                kv("network.peer.address", text("10.12.4.21")),
            ],
        );
        Self::finish(trace, index, start + duration)
    }

    fn redis_call(
        &mut self,
        trace: &mut TraceBuilder,
        service: usize,
        parent: usize,
        start: u64,
        command: &str,
        key: String,
    ) -> u64 {
        let duration = self.rng.random_range(80..500) * 1_000;
        // A trace that is to have a slow query misses the cache, so it makes one.
        let hit = self.rng.random_bool(0.8) && !self.slow_database_call_pending;
        let parent_id = Self::span_id(trace, parent);
        let value_size = if self.rng.random_bool(0.01) {
            self.rng.random_range(1_000_000..4_000_000)
        } else {
            self.rng.random_range(40..2_000)
        };
        let index = trace.new_span(
            service,
            command,
            CLIENT,
            Some(parent_id),
            start,
            vec![
                kv("db.system", text("redis")),
                kv("db.operation.name", text(command)),
                kv("db.query.text", text(format!("{command} {key}"))),
                kv("db.namespace", text("0")),
                kv("server.address", text("redis-0.shop.svc")),
                kv("server.port", int(6379)),
                kv("cache.hit", boolean(hit)),
                kv("db.redis.value_size_bytes", int(value_size)),
            ],
        );
        Self::finish(trace, index, start + duration)
    }

    /// An RPC from `caller` to `callee`; `body` fills the server span and returns its end.
    #[allow(clippy::too_many_arguments)]
    fn rpc(
        &mut self,
        trace: &mut TraceBuilder,
        caller: usize,
        caller_parent: usize,
        callee: usize,
        rpc_service: &str,
        method: &str,
        start: u64,
        timeout_millis: i64,
        bottleneck_in_callee: bool,
        body: impl FnOnce(&mut Self, &mut TraceBuilder, usize, u64) -> u64,
    ) -> u64 {
        let caller_parent_id = Self::span_id(trace, caller_parent);
        let name = format!("{rpc_service}/{method}");
        let client = trace.new_span(
            caller,
            &name,
            CLIENT,
            Some(caller_parent_id),
            start,
            vec![
                kv("rpc.system", text("grpc")),
                kv("rpc.service", text(rpc_service)),
                kv("rpc.method", text(method)),
                kv(
                    "server.address",
                    text(format!("{}.shop.svc", SERVICES[callee].0)),
                ),
                kv("server.port", int(50051)),
                kv("rpc.timeout_ms", int(timeout_millis)),
            ],
        );
        let server_start = start + self.rng.random_range(150..600) * 1_000;
        let client_id = Self::span_id(trace, client);
        let server = trace.new_span(
            callee,
            &name,
            SERVER,
            Some(client_id),
            server_start,
            vec![
                kv("rpc.system", text("grpc")),
                kv("rpc.service", text(rpc_service)),
                kv("rpc.method", text(method)),
                kv("rpc.grpc.status_code", int(0)),
                kv("network.peer.address", text("10.12.7.3")),
                kv("thread.id", int(self.rng.random_range(20..200))),
            ],
        );
        let work = self.own_work(bottleneck_in_callee);
        let body_end = body(self, trace, server, server_start + work);
        let server_end = Self::finish(
            trace,
            server,
            body_end + self.rng.random_range(50..400) * 1_000,
        );
        // A call this server made that failed fails the request it was serving (a declined
        // card fails the order), so every hop up to the edge shows the error, as in production.
        let server_id = Self::span_id(trace, server);
        let failed_downstream_call = trace.spans.iter().any(|(_, span)| {
            span.parent_span_id == server_id
                && span.kind == CLIENT
                && span.status.as_ref().is_some_and(|status| status.code == 2)
        });
        if failed_downstream_call && trace.spans[server].1.status.is_none() {
            trace.spans[server].1.status = Some(Status {
                message: format!("{name}: downstream call failed"),
                code: 2,
            });
        }
        if trace.spans[server].1.status.is_some() {
            // The error propagates to the client span, as gRPC instrumentation reports it.
            trace.spans[client].1.status = Some(Status {
                message: "UNKNOWN: downstream failure".to_owned(),
                code: 2,
            });
            if let Some(KeyValue { value, .. }) = trace.spans[server]
                .1
                .attributes
                .iter_mut()
                .find(|attribute| attribute.key == "rpc.grpc.status_code")
            {
                *value = Some(int(2));
            }
        }
        Self::finish(
            trace,
            client,
            server_end + self.rng.random_range(100..500) * 1_000,
        )
    }

    fn http_root(
        &mut self,
        trace: &mut TraceBuilder,
        route: &str,
        path: String,
        method: &str,
        start: u64,
        user_id: i64,
    ) -> usize {
        let agent = [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        ][self.rng.random_range(0..2)];
        trace.new_span(
            0,
            &format!("{method} {route}"),
            SERVER,
            None,
            start,
            vec![
                kv("http.request.method", text(method)),
                kv("http.route", text(route)),
                kv("url.path", text(path.clone())),
                kv(
                    "url.full",
                    text(format!(
                        "https://shop.example.com{path}?ref=home&utm_source=newsletter"
                    )),
                ),
                kv("url.scheme", text("https")),
                kv("server.address", text("shop.example.com")),
                kv(
                    "client.address",
                    text(format!("203.0.113.{}", self.rng.random_range(1..250))),
                ),
                kv("user_agent.original", text(agent)),
                kv("network.protocol.version", text("1.1")),
                kv("http.response.status_code", int(200)),
                kv("user.id", int(user_id)),
                kv(
                    "enduser.roles",
                    array(vec![text("customer"), text("newsletter")]),
                ),
            ],
        )
    }

    fn gateway_hop(
        &mut self,
        trace: &mut TraceBuilder,
        root: usize,
        start: u64,
        route: &str,
        body: impl FnOnce(&mut Self, &mut TraceBuilder, usize, u64) -> u64,
    ) -> u64 {
        let root_id = Self::span_id(trace, root);
        let client = trace.new_span(
            0,
            "POST",
            CLIENT,
            Some(root_id),
            start,
            vec![
                kv("http.request.method", text("POST")),
                kv(
                    "url.full",
                    text(format!("http://api-gateway.shop.svc:8080{route}")),
                ),
                kv("server.address", text("api-gateway.shop.svc")),
                kv("server.port", int(8080)),
                kv("http.response.status_code", int(200)),
                kv("http.client.timeout_ms", int(5_000)),
            ],
        );
        let client_id = Self::span_id(trace, client);
        let gateway_start = start + 300_000;
        let gateway = trace.new_span(
            1,
            &format!("POST {route}"),
            SERVER,
            Some(client_id),
            gateway_start,
            vec![
                kv("http.request.method", text("POST")),
                kv("http.route", text(route)),
                kv("url.path", text(route)),
                kv("http.response.status_code", int(200)),
                kv(
                    "http.request.body.size",
                    int(self.rng.random_range(200..4_000)),
                ),
                kv("gateway.rate_limited", boolean(false)),
                kv(
                    "gateway.upstream_latency_ratio",
                    double(self.rng.random_range(0.5..0.99)),
                ),
            ],
        );
        let work = self.own_work(false);
        let end = body(self, trace, gateway, gateway_start + work);
        let gateway_end = Self::finish(trace, gateway, end + 150_000);
        if trace.spans[gateway].1.status.is_some()
            || trace.spans.iter().any(|(_, span)| span.status.is_some())
        {
            // The frontend answers the browser with the gateway's 502, so its request fails too.
            for index in [gateway, client, root] {
                let span = &mut trace.spans[index].1;
                span.status = Some(Status {
                    message: String::new(),
                    code: 2,
                });
                if let Some(attribute) = span
                    .attributes
                    .iter_mut()
                    .find(|attribute| attribute.key == "http.response.status_code")
                {
                    attribute.value = Some(int(502));
                }
            }
        }
        Self::finish(trace, client, gateway_end + 250_000)
    }

    fn checkout(&mut self, trace: &mut TraceBuilder, start: u64) {
        let user_id = self.rng.random_range(1_000..50_000);
        let order_id = format!("ORD-{}", self.rng.random_range(10_000_000..99_999_999u64));
        // Four items at most make a clean cart; the N+1 scenario loads five to eight, one query each.
        let items = if self.injects(Scenario::RepeatedCalls) {
            self.rng.random_range(5..9usize)
        } else {
            self.rng.random_range(1..5usize)
        };
        let root_work = self.own_work(false);
        let root = self.http_root(
            trace,
            "/checkout",
            "/checkout".into(),
            "POST",
            start,
            user_id,
        );
        trace.spans[root]
            .1
            .attributes
            .push(kv("order.id", text(order_id.clone())));
        let end = self.gateway_hop(trace, root, start + root_work, "/api/orders", |generator, trace, gateway, cursor| {
            generator.rpc(trace, 1, gateway, 2, "shop.OrderService", "CreateOrder", cursor, 3_000, true, |generator, trace, order, cursor| {
                let order_span = &mut trace.spans[order].1;
                order_span.attributes.push(kv("order.id", text(order_id.clone())));
                order_span.attributes.push(kv("user.id", int(user_id)));
                order_span.attributes.push(kv("order.item_count", int(items as i64)));
                order_span.attributes.push(kv(
                    "order.digest",
                    AnyValue { value: Some(Value::BytesValue(generator.rng.random::<[u8; 16]>().to_vec())) },
                ));
                let mut cursor = generator.redis_call(trace, 2, order, cursor, "GET", format!("cart:user:{user_id}"));
                cursor = generator.db_call(trace, 2, order, cursor + 30_000, "mysql", "shop", "users",
                    "SELECT", format!("SELECT id, name, email, tier FROM users WHERE id = {user_id} LIMIT 1"));
                cursor = generator.rpc(trace, 2, order, 4, "shop.InventoryService", "Reserve", cursor + 40_000, 800, false, |generator, trace, inventory, mut cursor| {
                    // One query per cart item (the N+1 pattern once there are five or more).
                    for _ in 0..items {
                        let sku = generator.rng.random_range(1_000..9_999);
                        cursor = generator.db_call(trace, 4, inventory, cursor + 20_000, "mysql", "inventory", "stock",
                            "SELECT", format!("SELECT quantity, warehouse_id FROM stock WHERE sku = 'SKU-{sku}' AND warehouse_id IN (1, 2, 3)"));
                    }
                    if generator.injects(Scenario::Cycle) {
                        // Inventory asks the order service back for its reservation policy.
                        cursor = generator.rpc(trace, 4, inventory, 2, "shop.OrderService", "GetReservationPolicy", cursor + 20_000, 300, false, |_, _, _, cursor| cursor);
                    }
                    if generator.rng.random_bool(0.01) {
                        generator.fail(trace, inventory, "TimeoutError", "lock wait timeout exceeded on stock row");
                    }
                    cursor
                });
                let charged_cents = generator.rng.random_range(500..250_000i64);
                // The order service waits up to 2 s for payment, within the 3 s it is given; the
                // misconfigured variant waits 5 s.
                let payment_timeout = if generator.injects(Scenario::TimeoutMisconfiguration) { 5_000 } else { 2_000 };
                cursor = generator.rpc(trace, 2, order, 3, "shop.PaymentService", "Charge", cursor + 40_000, payment_timeout, false, |generator, trace, payment, cursor| {
                    let payment_span = &mut trace.spans[payment].1;
                    payment_span.attributes.push(kv("payment.amount", double(charged_cents as f64 / 100.0)));
                    payment_span.attributes.push(kv("payment.currency", text("EUR")));
                    payment_span.attributes.push(kv("order.id", text(order_id.clone())));
                    payment_span.attributes.push(kv(
                        "payment.risk",
                        AnyValue { value: Some(Value::KvlistValue(KeyValueList { values: vec![
                            kv("score", double(generator.rng.random_range(0.0..1.0))),
                            kv("checks", array(vec![int(3), int(7)])),
                        ] })) },
                    ));
                    let mut end = generator.db_call(trace, 3, payment, cursor, "postgresql", "payments", "charges", "INSERT",
                        format!("INSERT INTO charges (order_id, user_id, amount_cents, currency, created_at) VALUES ('{order_id}', {user_id}, {charged_cents}, 'EUR', now())"));
                    // The card network, uninstrumented: a CLIENT span with peer.service.
                    let payment_id = Self::span_id(trace, payment);
                    let network = trace.new_span(3, "POST /v1/charges", CLIENT, Some(payment_id), end + 20_000, vec![
                        kv("http.request.method", text("POST")),
                        kv("url.full", text("https://api.cardnetwork.example/v1/charges")),
                        kv("server.address", text("api.cardnetwork.example")),
                        kv("peer.service", text("card-network")),
                        kv("http.response.status_code", int(200)),
                    ]);
                    end = Self::finish(trace, network, end + generator.rng.random_range(2_000..4_000) * 1_000);
                    if generator.rng.random_bool(0.03) {
                        generator.fail(trace, payment, "com.shop.payment.CardDeclinedException", "card declined: insufficient funds");
                    }
                    end
                });
                cursor = generator.db_call(trace, 2, order, cursor + 30_000, "mysql", "shop", "orders", "INSERT",
                    format!("INSERT INTO orders (id, user_id, items, status) VALUES ('{order_id}', {user_id}, {items}, 'PAID')"));
                if generator.injects(Scenario::BrokenTrace) {
                    let insert = trace.spans.len() - 1;
                    generator.lose_parent(trace, insert);
                }
                // Publish to Kafka; the notification service consumes it.
                let order_id_bytes = Self::span_id(trace, order);
                let producer = trace.new_span(2, "orders publish", PRODUCER, Some(order_id_bytes), cursor + 20_000, vec![
                    kv("messaging.system", text("kafka")),
                    kv("messaging.destination.name", text("orders")),
                    kv("messaging.operation.type", text("send")),
                    kv("messaging.kafka.message.key", text(order_id.clone())),
                    kv("messaging.kafka.destination.partition", int(generator.rng.random_range(0..12))),
                    kv("server.address", text("kafka-0.shop.svc")),
                ]);
                let produced = Self::finish(trace, producer, cursor + generator.rng.random_range(300..2_000) * 1_000);
                let producer_id = Self::span_id(trace, producer);
                let consumer = trace.new_span(6, "orders process", CONSUMER, Some(producer_id), produced + 3 * MILLIS, vec![
                    kv("messaging.system", text("kafka")),
                    kv("messaging.destination.name", text("orders")),
                    kv("messaging.operation.type", text("process")),
                    kv("messaging.consumer.group.name", text("notifications")),
                    kv("order.id", text(order_id.clone())),
                ]);
                let consumer_id = Self::span_id(trace, consumer);
                let render_start = produced + 4 * MILLIS;
                let render = trace.new_span(6, "render email", INTERNAL, Some(consumer_id), render_start, vec![
                    kv("template.name", text("order-confirmation")),
                    kv("template.locale", text("en-GB")),
                ]);
                let rendered = Self::finish(trace, render, render_start + generator.rng.random_range(1_000..2_000) * 1_000);
                let smtp = trace.new_span(6, "POST /send", CLIENT, Some(consumer_id), rendered + 100_000, vec![
                    kv("http.request.method", text("POST")),
                    kv("server.address", text("smtp-relay.example.net")),
                    kv("peer.service", text("email-provider")),
                    kv("http.response.status_code", int(202)),
                ]);
                let sent = Self::finish(trace, smtp, rendered + generator.rng.random_range(2_000..4_000) * 1_000);
                Self::finish(trace, consumer, sent + 200_000);
                cursor
            })
        });
        Self::finish(trace, root, end + 300_000);
        let product_names: Vec<AnyValue> = (0..items.min(3))
            .map(|index| text(PRODUCTS[index % PRODUCTS.len()]))
            .collect();
        trace.spans[root]
            .1
            .attributes
            .push(kv("cart.products", array(product_names)));
    }

    fn browse(&mut self, trace: &mut TraceBuilder, start: u64) {
        let user_id = self.rng.random_range(1_000..50_000);
        let product = self.rng.random_range(1..500);
        let root = self.http_root(
            trace,
            "/products/{id}",
            format!("/products/{product}"),
            "GET",
            start,
            user_id,
        );
        let root_work = self.own_work(false);
        // The gateway gives the user service 1 s, within the 5 s the frontend gives it; the
        // misconfigured variant gives 8 s.
        let profile_timeout = if self.injects(Scenario::TimeoutMisconfiguration) {
            8_000
        } else {
            1_000
        };
        let end = self.gateway_hop(trace, root, start + root_work, "/api/products", |generator, trace, gateway, cursor| {
            generator.rpc(trace, 1, gateway, 5, "shop.UserService", "GetProfile", cursor, profile_timeout, true, |generator, trace, user, cursor| {
                let key = format!("user:{user_id}:profile");
                let mut cursor = generator.redis_call(trace, 5, user, cursor, "GET", key.clone());
                if generator.injects(Scenario::BrokenTrace) {
                    let get = trace.spans.len() - 1;
                    generator.lose_parent(trace, get);
                }
                let hit = trace.spans.last().and_then(|(_, span)| {
                    span.attributes.iter().find(|attribute| attribute.key == "cache.hit")
                }).is_some_and(|attribute| attribute.value == Some(boolean(true)));
                if !hit {
                    cursor = generator.db_call(trace, 5, user, cursor + 10_000, "postgresql", "users", "profiles", "SELECT",
                        format!("SELECT id, display_name, locale, tier FROM profiles WHERE user_id = {user_id}"));
                    cursor = generator.redis_call(trace, 5, user, cursor + 10_000, "SET", key);
                }
                if generator.injects(Scenario::RepeatedCalls) {
                    // The N+1 pattern: each saved address loaded on its own.
                    for address in 0..generator.rng.random_range(5..9) {
                        cursor = generator.db_call(trace, 5, user, cursor + 10_000, "postgresql", "users", "addresses", "SELECT",
                            format!("SELECT street, city, country FROM addresses WHERE user_id = {user_id} AND id = {}", 100 + address));
                    }
                }
                if generator.injects(Scenario::Cycle) {
                    // The user service asks the gateway back for feature flags.
                    cursor = generator.rpc(trace, 5, user, 1, "shop.FeatureFlags", "Get", cursor + 10_000, 300, false, |_, _, _, cursor| cursor);
                }
                if generator.rng.random_bool(0.01) {
                    generator.fail(trace, user, "java.lang.IllegalStateException", "profile cache returned corrupt entry");
                }
                cursor
            })
        });
        Self::finish(trace, root, end + 200_000);
    }
}
