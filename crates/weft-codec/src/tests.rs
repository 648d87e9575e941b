use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use prost::Message;

use super::*;

fn string_value(text: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(text.to_owned())),
    }
}

fn key_value(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        key_strindex: 0,
    }
}

fn valid_span(seed: u8) -> Span {
    Span {
        trace_id: vec![seed.max(1); 16],
        span_id: vec![seed.max(1); 8],
        name: format!("span-{seed}"),
        kind: 2,
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 2_000,
        ..Span::default()
    }
}

fn request_of(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![key_value("service.name", string_value("checkout"))],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope::default()),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

// ---- property tests: OTLP -> model -> OTLP is lossless ----

fn any_value_strategy() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        Just(AnyValue { value: None }),
        ".{0,12}".prop_map(|text| AnyValue {
            value: Some(Value::StringValue(text))
        }),
        any::<bool>().prop_map(|flag| AnyValue {
            value: Some(Value::BoolValue(flag))
        }),
        any::<i64>().prop_map(|number| AnyValue {
            value: Some(Value::IntValue(number))
        }),
        // NaN never equals itself, so compare only non-NaN doubles.
        proptest::num::f64::NORMAL.prop_map(|number| AnyValue {
            value: Some(Value::DoubleValue(number))
        }),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(|bytes| AnyValue {
            value: Some(Value::BytesValue(bytes))
        }),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|values| AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values }))
            }),
            proptest::collection::vec(("[a-z.]{1,8}", inner), 0..4).prop_map(|entries| {
                AnyValue {
                    value: Some(Value::KvlistValue(KeyValueList {
                        values: entries
                            .into_iter()
                            .map(|(key, value)| key_value(&key, value))
                            .collect(),
                    })),
                }
            }),
        ]
    })
}

fn attributes_strategy() -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec(("[a-z._]{1,10}", any_value_strategy()), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(key, value)| key_value(&key, value))
            .collect()
    })
}

fn nonzero_bytes(length: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), length)
        .prop_filter("all-zero ids are invalid", |bytes| {
            bytes.iter().any(|&b| b != 0)
        })
}

fn span_strategy() -> impl Strategy<Value = Span> {
    (
        (
            nonzero_bytes(16),
            nonzero_bytes(8),
            prop_oneof![Just(Vec::new()), nonzero_bytes(8)],
            "[a-z=,]{0,10}",
            any::<u32>(),
            ".{0,16}",
            0i32..7,
            any::<u64>(),
            any::<u64>(),
        ),
        (
            attributes_strategy(),
            any::<u32>(),
            proptest::collection::vec(
                (any::<u64>(), ".{0,8}", attributes_strategy(), any::<u32>()),
                0..3,
            ),
            any::<u32>(),
            proptest::collection::vec(
                (
                    nonzero_bytes(16),
                    nonzero_bytes(8),
                    "[a-z=]{0,6}",
                    attributes_strategy(),
                    any::<u32>(),
                    any::<u32>(),
                ),
                0..3,
            ),
            any::<u32>(),
            prop_oneof![
                Just(None),
                (1i32..4, ".{0,10}").prop_map(|(code, message)| Some(Status { message, code }))
            ],
        ),
    )
        .prop_map(
            |(
                (trace_id, span_id, parent, trace_state, flags, name, kind, start, end),
                (
                    attributes,
                    dropped_attributes,
                    events,
                    dropped_events,
                    links,
                    dropped_links,
                    status,
                ),
            )| Span {
                trace_id,
                span_id,
                parent_span_id: parent,
                trace_state,
                flags,
                name,
                kind,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                attributes,
                dropped_attributes_count: dropped_attributes,
                events: events
                    .into_iter()
                    .map(|(time, name, attributes, dropped)| span::Event {
                        time_unix_nano: time,
                        name,
                        attributes,
                        dropped_attributes_count: dropped,
                    })
                    .collect(),
                dropped_events_count: dropped_events,
                links: links
                    .into_iter()
                    .map(
                        |(trace_id, span_id, trace_state, attributes, dropped, flags)| span::Link {
                            trace_id,
                            span_id,
                            trace_state,
                            attributes,
                            dropped_attributes_count: dropped,
                            flags,
                        },
                    )
                    .collect(),
                dropped_links_count: dropped_links,
                status,
            },
        )
}

fn request_strategy() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope_spans = (
        ".{0,8}",
        ".{0,5}",
        attributes_strategy(),
        any::<u32>(),
        "[a-z:/.]{0,12}",
        proptest::collection::vec(span_strategy(), 1..4),
    )
        .prop_map(
            |(name, version, attributes, dropped, schema_url, spans)| ScopeSpans {
                scope: Some(InstrumentationScope {
                    name,
                    version,
                    attributes,
                    dropped_attributes_count: dropped,
                }),
                spans,
                schema_url,
            },
        );
    let resource_spans = (
        attributes_strategy(),
        any::<u32>(),
        "[a-z:/.]{0,12}",
        proptest::collection::vec(scope_spans, 1..3),
    )
        .prop_map(
            |(attributes, dropped, schema_url, scope_spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes,
                    dropped_attributes_count: dropped,
                    entity_refs: Vec::new(),
                }),
                scope_spans,
                schema_url,
            },
        );
    proptest::collection::vec(resource_spans, 1..3)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn otlp_to_model_to_otlp_is_lossless(request in request_strategy()) {
        let converted = spans_from_otlp(request.clone(), &ConversionOptions::default());
        prop_assert_eq!(converted.invalid_spans, 0);
        let round_tripped = otlp_from_spans(&converted.spans);
        prop_assert_eq!(&round_tripped, &request);
        // And the protobuf bytes agree too.
        prop_assert_eq!(round_tripped.encode_to_vec(), request.encode_to_vec());
    }

    #[test]
    fn otlp_json_round_trips(request in request_strategy()) {
        let json = encode_otlp_json(&request);
        let decoded = decode_otlp_json(&json).unwrap();
        prop_assert_eq!(decoded, request);
    }

    #[test]
    fn validation_never_keeps_an_invalid_id(request in request_strategy(), broken in 0usize..6) {
        let mut request = request;
        // Break one span's ID in one of several ways.
        if let Some(span) = request.resource_spans[0].scope_spans[0].spans.first_mut() {
            match broken {
                0 => span.trace_id = vec![0; 16],
                1 => span.trace_id.truncate(15),
                2 => span.span_id = vec![0; 8],
                3 => span.span_id.push(1),
                4 => span.parent_span_id = vec![1; 3],
                _ => {}
            }
        }
        let total: usize = request.resource_spans.iter()
            .flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        let report = validate_and_limit(&mut request, &ValidationLimits::default());
        prop_assert_eq!(report.accepted_spans + report.rejected_spans, total as u64);
        prop_assert_eq!(report.rejected_spans, u64::from(broken < 5));
        let converted = spans_from_otlp(request.clone(), &ConversionOptions::default());
        prop_assert_eq!(converted.invalid_spans, 0);
        prop_assert_eq!(converted.spans.len() as u64, report.accepted_spans);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_otlp_protobuf(&bytes);
        let _ = decode_otlp_json(&bytes);
        let _ = decode_zipkin_json(&bytes);
    }
}

// ---- OTLP/JSON per the spec ----

#[test]
fn otlp_json_uses_hex_ids_camel_case_and_string_int64() {
    let mut span = valid_span(0xab);
    span.attributes = vec![key_value(
        "http.response.status_code",
        AnyValue {
            value: Some(Value::IntValue(200)),
        },
    )];
    let json = String::from_utf8(encode_otlp_json(&request_of(vec![span]))).unwrap();
    assert!(
        json.contains(r#""traceId":"abababababababababababababababab""#),
        "{json}"
    );
    assert!(json.contains(r#""spanId":"abababababababab""#), "{json}");
    assert!(json.contains(r#""resourceSpans""#), "{json}");
    assert!(json.contains(r#""startTimeUnixNano":"1000""#), "{json}");
    assert!(json.contains(r#""intValue":"200""#), "{json}");
    assert!(json.contains(r#""kind":2"#), "{json}");
}

#[test]
fn otlp_json_accepts_numbers_for_int64_and_ignores_unknown_fields() {
    let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
        "scopeSpans":[{"scope":{"name":"manual"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
        "spanId":"eee19b7ec3c1b174","name":"GET /","kind":2,"startTimeUnixNano":1544712660000000000,
        "endTimeUnixNano":"1544712661000000000","futureField":{"x":1},
        "attributes":[{"key":"n","value":{"intValue":7}}],"status":{"code":2,"message":"boom"}}]}]}]}"#;
    let request = decode_otlp_json(body).unwrap();
    let converted = spans_from_otlp(request.clone(), &ConversionOptions::default());
    let span = &converted.spans[0];
    assert_eq!(span.trace_id.to_hex(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(span.service_name, "api");
    assert_eq!(span.duration_nanos(), 1_000_000_000);
    assert_eq!(
        span.attribute("n"),
        Some(&weft_model::AttributeValue::Int(7))
    );
    assert!(span.is_error());
    assert_eq!(span.status.message, "boom");
}

#[test]
fn malformed_json_error_names_the_problem() {
    let error = decode_otlp_json(br#"{"resourceSpans": [ {"#).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid otlp json: "),
        "{error}"
    );
    let error =
        decode_otlp_json(br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}"#)
            .unwrap_err();
    assert!(error.to_string().contains("invalid otlp json"), "{error}");
}

#[test]
fn malformed_protobuf_is_an_error() {
    let error = decode_otlp_protobuf(&[0x0a, 0xff, 0xff, 0xff]).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid otlp protobuf: "),
        "{error}"
    );
}

// ---- validation and limits ----

#[test]
fn span_with_bad_ids_is_rejected_and_batch_mates_kept() {
    let mut short_trace = valid_span(3);
    short_trace.trace_id = vec![3; 8];
    let mut zero_span = valid_span(4);
    zero_span.span_id = vec![0; 8];
    let mut request = request_of(vec![valid_span(1), short_trace, zero_span, valid_span(2)]);
    let report = validate_and_limit(&mut request, &ValidationLimits::default());
    assert_eq!(report.accepted_spans, 2);
    assert_eq!(report.rejected_spans, 2);
    assert_eq!(
        report.rejection_message,
        "span 1: trace id must be 16 bytes, got 8; span 2: span id is all zeros, which \
         OpenTelemetry defines as invalid"
    );
    let names: Vec<_> = request.resource_spans[0].scope_spans[0]
        .spans
        .iter()
        .map(|span| span.name.as_str())
        .collect();
    assert_eq!(names, ["span-1", "span-2"]);
}

#[test]
fn all_zero_parent_means_root_but_short_parent_is_rejected() {
    let mut zero_parent = valid_span(1);
    zero_parent.parent_span_id = vec![0; 8];
    let mut short_parent = valid_span(2);
    short_parent.parent_span_id = vec![2; 4];
    let mut request = request_of(vec![zero_parent, short_parent]);
    let report = validate_and_limit(&mut request, &ValidationLimits::default());
    assert_eq!((report.accepted_spans, report.rejected_spans), (1, 1));
    let converted = spans_from_otlp(request.clone(), &ConversionOptions::default());
    assert_eq!(converted.spans[0].parent_span_id, None);
}

#[test]
fn oversized_values_are_truncated_at_char_boundary_and_marked() {
    let mut span = valid_span(1);
    span.attributes = vec![
        key_value("db.statement", string_value(&"é".repeat(100))), // 200 bytes
        key_value("short", string_value("ok")),
        key_value(
            "nested",
            AnyValue {
                value: Some(Value::ArrayValue(ArrayValue {
                    values: vec![string_value(&"x".repeat(50))],
                })),
            },
        ),
    ];
    let mut request = request_of(vec![span]);
    let limits = ValidationLimits {
        max_attribute_value_bytes: 33,
        ..ValidationLimits::default()
    };
    let report = validate_and_limit(&mut request, &limits);
    assert_eq!(report.truncated_values, 2);
    assert!(report.modified_request());
    let span = &spans_from_otlp(request.clone(), &ConversionOptions::default()).spans[0];
    let statement = span.attribute("db.statement").unwrap().as_str().unwrap();
    assert_eq!(
        statement.len(),
        32,
        "cut back to the char boundary below 33"
    );
    assert_eq!(span.attribute("short").unwrap().as_str(), Some("ok"));
    assert_eq!(
        span.attribute(TRUNCATED_ATTRIBUTES_KEY),
        Some(&weft_model::AttributeValue::Array(vec![
            weft_model::AttributeValue::String("db.statement".into()),
            weft_model::AttributeValue::String("nested".into()),
        ]))
    );
}

#[test]
fn oversized_attribute_keys_are_cut_and_marked() {
    let mut span = valid_span(1);
    span.attributes = vec![key_value(&"k".repeat(100), string_value("v"))];
    let mut request = request_of(vec![span]);
    // Long enough for the resource's `service.name` key, shorter than the span's key.
    let limits = ValidationLimits {
        max_attribute_value_bytes: 20,
        ..ValidationLimits::default()
    };
    let report = validate_and_limit(&mut request, &limits);
    assert_eq!(report.truncated_values, 1);
    let attributes = &request.resource_spans[0].scope_spans[0].spans[0].attributes;
    assert_eq!(attributes[0].key, "k".repeat(20));
    assert_eq!(attributes[1].key, TRUNCATED_ATTRIBUTES_KEY);
}

#[test]
fn attribute_event_and_link_counts_are_capped_and_counted_as_dropped() {
    let mut span = valid_span(1);
    span.attributes = (0..10)
        .map(|index| key_value(&format!("k{index}"), string_value("v")))
        .collect();
    span.dropped_attributes_count = 1;
    span.events = (0..5).map(|_| span::Event::default()).collect();
    let mut request = request_of(vec![span]);
    let limits = ValidationLimits {
        max_attributes_per_span: 4,
        max_events_per_span: 2,
        ..ValidationLimits::default()
    };
    let report = validate_and_limit(&mut request, &limits);
    assert_eq!(report.dropped_attributes, 6);
    assert_eq!(report.dropped_events, 3);
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.attributes.len(), 4);
    assert_eq!(span.dropped_attributes_count, 7);
    assert_eq!(span.events.len(), 2);
    assert_eq!(span.dropped_events_count, 3);
}

#[test]
fn unmodified_request_reports_no_modification() {
    let mut request = request_of(vec![valid_span(1)]);
    let before = request.clone();
    let report = validate_and_limit(&mut request, &ValidationLimits::default());
    assert!(!report.modified_request());
    assert_eq!(request, before);
}

// ---- derived fields ----

#[test]
fn business_keys_and_resource_fields_are_promoted() {
    let mut span = valid_span(1);
    span.attributes = vec![key_value(
        "order.id",
        AnyValue {
            value: Some(Value::IntValue(991)),
        },
    )];
    let mut request = request_of(vec![span]);
    let resource = request.resource_spans[0].resource.as_mut().unwrap();
    resource.attributes.extend([
        key_value("user.id", string_value("u-7")),
        key_value("host.name", string_value("web-1")),
        key_value("deployment.environment.name", string_value("prod")),
        key_value("cloud.region", string_value("eu-west-1")),
    ]);
    let options = ConversionOptions {
        business_key_names: vec!["order.id".into(), "user.id".into(), "absent".into()],
    };
    let span = &spans_from_otlp(request.clone(), &options).spans[0];
    let keys: Vec<_> = span
        .business_keys
        .iter()
        .map(|key| (key.name.as_str(), key.value.as_str()))
        .collect();
    assert_eq!(keys, [("order.id", "991"), ("user.id", "u-7")]);
    assert_eq!(span.host_name.as_deref(), Some("web-1"));
    assert_eq!(span.environment.as_deref(), Some("prod"));
    assert_eq!(span.region.as_deref(), Some("eu-west-1"));
}

#[test]
fn missing_service_name_becomes_unknown_service() {
    let mut request = request_of(vec![valid_span(1)]);
    request.resource_spans[0].resource = None;
    let span = &spans_from_otlp(request.clone(), &ConversionOptions::default()).spans[0];
    assert_eq!(span.service_name, "unknown_service");
}

// ---- Zipkin v2 ----

#[test]
fn zipkin_v2_json_maps_to_weft_spans() {
    let body =
        br#"[{"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2",
        "kind":"CLIENT","name":"get /api","timestamp":1556604172355737,"duration":1431,
        "localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},
        "remoteEndpoint":{"serviceName":"mysql","ipv4":"172.19.0.2","port":3306},
        "annotations":[{"timestamp":1556604172355800,"value":"wire send"}],
        "tags":{"http.method":"GET","error":"connection reset"}},
        {"traceId":"not-hex-at-all!!","id":"352bff9a74ca9ad2"}]"#;
    let converted = decode_zipkin_json(body).unwrap();
    assert_eq!(converted.invalid_spans, 1);
    let span = &converted.spans[0];
    assert_eq!(span.trace_id.to_hex(), "00000000000000005af7183fb1d4cf5f");
    assert_eq!(span.parent_span_id.unwrap().to_hex(), "6b221d5bc9e6496c");
    assert_eq!(span.service_name, "backend");
    assert_eq!(span.kind, weft_model::SpanKind::Client);
    assert_eq!(span.start_time_unix_nanos, 1_556_604_172_355_737_000);
    assert_eq!(span.duration_nanos(), 1_431_000);
    assert!(span.is_error());
    assert_eq!(span.status.message, "connection reset");
    assert_eq!(
        span.attribute("peer.service").unwrap().as_str(),
        Some("mysql")
    );
    assert_eq!(span.attribute("http.method").unwrap().as_str(), Some("GET"));
    assert!(span.attribute("error").is_none());
    assert_eq!(span.events[0].name, "wire send");
    // Back to OTLP, the service lands in the resource.
    let request = otlp_from_spans(&converted.spans);
    let resource = request.resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(resource.attributes[0].key, "service.name");
}

#[test]
fn zipkin_body_that_is_not_a_span_array_is_an_error() {
    let error = decode_zipkin_json(br#"{"traceId":"1"}"#).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid zipkin v2 json: "),
        "{error}"
    );
}

// ---- the validating scan agrees with decode + validate ----

/// The scan's contract: `Clean { spans }` only where the full path would decode, change
/// nothing and accept exactly `spans` spans.
fn assert_scan_agrees(bytes: &[u8], limits: &ValidationLimits) -> Result<(), TestCaseError> {
    if let Scan::Clean { spans } = scan_otlp_protobuf(bytes, limits) {
        let mut request = decode_otlp_protobuf(bytes)
            .map_err(|error| TestCaseError::fail(format!("scan said clean, prost said {error}")))?;
        let report = validate_and_limit(&mut request, limits);
        prop_assert!(
            !report.modified_request(),
            "scan said clean, validation changed {report:?}"
        );
        prop_assert_eq!(report.accepted_spans, spans);
    }
    Ok(())
}

const TIGHT_LIMITS: ValidationLimits = ValidationLimits {
    max_attribute_value_bytes: 6,
    max_attributes_per_span: 3,
    max_events_per_span: 2,
    max_links_per_span: 1,
    // About half of the generated (random) start times are outside: both paths are taken.
    plausible_starts: Some(PlausibleStarts {
        earliest_unix_nanos: 0,
        latest_unix_nanos: u64::MAX / 2,
        arrival_unix_nanos: 1 << 62,
    }),
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scan_clean_implies_decode_and_validation_agree(
        request in request_strategy(),
        mutations in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut bytes = request.encode_to_vec();
        for (index, byte) in mutations {
            let index = index % bytes.len();
            bytes[index] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        assert_scan_agrees(&bytes, &ValidationLimits::default())?;
        assert_scan_agrees(&bytes, &TIGHT_LIMITS)?;
    }

    #[test]
    fn scan_of_arbitrary_bytes_never_vouches_for_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        assert_scan_agrees(&bytes, &ValidationLimits::default())?;
        assert_scan_agrees(&bytes, &TIGHT_LIMITS)?;
    }

    #[test]
    fn scan_of_valid_generated_requests_counts_every_span(request in request_strategy()) {
        // Generated requests have valid IDs; with generous limits nothing needs cutting.
        let limits = ValidationLimits {
            max_attribute_value_bytes: usize::MAX,
            max_attributes_per_span: usize::MAX,
            max_events_per_span: usize::MAX,
            max_links_per_span: usize::MAX,
            plausible_starts: None,
        };
        let bytes = request.encode_to_vec();
        let spans: usize = request.resource_spans.iter()
            .flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        prop_assert_eq!(scan_otlp_protobuf(&bytes, &limits), Scan::Clean { spans: spans as u64 });
    }
}

#[test]
fn realistic_traffic_takes_the_fast_path() {
    let batch = weft_gen::TraceGenerator::new(4).next_batch(50, 1_790_000_000_000_000_000);
    let bytes = batch.request.encode_to_vec();
    assert_eq!(
        scan_otlp_protobuf(&bytes, &ValidationLimits::default()),
        Scan::Clean {
            spans: batch.spans as u64
        }
    );
}

#[test]
fn each_violation_leaves_the_fast_path() {
    let limits = ValidationLimits::default();
    let scan =
        |request: &ExportTraceServiceRequest| scan_otlp_protobuf(&request.encode_to_vec(), &limits);
    assert_eq!(
        scan(&request_of(vec![valid_span(1)])),
        Scan::Clean { spans: 1 }
    );

    let mut bad_trace = valid_span(1);
    bad_trace.trace_id = vec![0; 16];
    let mut bad_span = valid_span(1);
    bad_span.span_id = vec![1; 7];
    let mut bad_parent = valid_span(1);
    bad_parent.parent_span_id = vec![1; 3];
    let mut long_value = valid_span(1);
    long_value.attributes = vec![key_value(
        "k",
        string_value(&"v".repeat(limits.max_attribute_value_bytes + 1)),
    )];
    let mut long_key = valid_span(1);
    long_key.attributes = vec![key_value(
        &"k".repeat(limits.max_attribute_value_bytes + 1),
        string_value("v"),
    )];
    let mut long_name = valid_span(1);
    long_name.name = "n".repeat(limits.max_attribute_value_bytes + 1);
    let mut many_attributes = valid_span(1);
    many_attributes.attributes = (0..=limits.max_attributes_per_span)
        .map(|index| key_value(&format!("k{index}"), string_value("v")))
        .collect();
    let mut many_events = valid_span(1);
    many_events.events = vec![span::Event::default(); limits.max_events_per_span + 1];
    let mut bad_link = valid_span(1);
    bad_link.links = vec![span::Link::default()];
    for (what, span) in [
        ("zero trace id", bad_trace),
        ("short span id", bad_span),
        ("short parent", bad_parent),
        ("long value", long_value),
        ("long key", long_key),
        ("long name", long_name),
        ("too many attributes", many_attributes),
        ("too many events", many_events),
        ("link without ids", bad_link),
    ] {
        assert_eq!(
            scan(&request_of(vec![valid_span(2), span])),
            Scan::NeedsFullDecode,
            "{what}"
        );
    }
    // Invalid UTF-8 in a string field: prost refuses it, so the scan must not vouch for it.
    let mut bytes = request_of(vec![valid_span(1)]).encode_to_vec();
    let name_at = bytes
        .windows(6)
        .position(|window| window == b"span-1")
        .unwrap();
    bytes[name_at] = 0xff;
    assert!(decode_otlp_protobuf(&bytes).is_err());
    assert_eq!(scan_otlp_protobuf(&bytes, &limits), Scan::NeedsFullDecode);
}

mod logs {
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use proptest::prelude::*;
    use prost::Message;

    use super::{any_value_strategy, attributes_strategy, key_value, string_value};
    use crate::*;

    fn record(trace_id: Vec<u8>, span_id: Vec<u8>, body: &str) -> LogRecord {
        LogRecord {
            time_unix_nano: 5_000,
            observed_time_unix_nano: 5_100,
            severity_number: 17,
            severity_text: "ERROR".to_owned(),
            body: Some(string_value(body)),
            attributes: vec![key_value("exception.type", string_value("ValueError"))],
            trace_id,
            span_id,
            ..LogRecord::default()
        }
    }

    fn request_of(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(opentelemetry_proto::tonic::resource::v1::Resource {
                    attributes: vec![key_value("service.name", string_value("checkout"))],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: records,
                    ..ScopeLogs::default()
                }],
                schema_url: String::new(),
            }],
        }
    }

    #[test]
    fn a_log_record_with_malformed_ids_is_rejected_and_its_batch_mates_kept() {
        let mut request = request_of(vec![
            record(vec![7; 16], vec![8; 8], "kept with ids"),
            record(vec![7; 15], vec![8; 8], "a 15-byte trace id"),
            record(Vec::new(), Vec::new(), "kept without ids"),
            record(vec![7; 16], vec![8; 3], "a 3-byte span id"),
            record(vec![0; 16], vec![0; 8], "all-zero ids mean none"),
        ]);
        let report = validate_and_limit_logs(&mut request, &ValidationLimits::default());
        assert_eq!((report.accepted_spans, report.rejected_spans), (3, 2));
        assert!(
            report
                .rejection_message
                .contains("log record 1: trace id must be 16 bytes, got 15"),
            "{}",
            report.rejection_message
        );
        assert!(report.rejection_message.contains("log record 3"));
        let converted = logs_from_otlp(request);
        assert_eq!(converted.invalid_records, 0);
        let records = converted.records;
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[0].trace_id,
            Some(weft_model::TraceId::from_bytes([7; 16]))
        );
        assert_eq!(records[0].service_name, "checkout");
        assert_eq!(records[0].severity_name(), "ERROR");
        assert_eq!((records[1].trace_id, records[1].span_id), (None, None));
        assert_eq!((records[2].trace_id, records[2].span_id), (None, None));
    }

    #[test]
    fn an_oversized_body_is_cut_and_named_in_the_truncation_marker() {
        let long = "x".repeat(40_000);
        let mut request = request_of(vec![record(Vec::new(), Vec::new(), &long)]);
        let limits = ValidationLimits::default();
        let report = validate_and_limit_logs(&mut request, &limits);
        assert!(report.modified_request());
        let record = &logs_from_otlp(request).records[0];
        assert_eq!(record.body_text().len(), limits.max_attribute_value_bytes);
        let marker = record
            .attributes
            .iter()
            .find(|attribute| attribute.key == TRUNCATED_ATTRIBUTES_KEY)
            .expect("a truncation marker");
        assert_eq!(
            marker.value,
            weft_model::AttributeValue::Array(vec![weft_model::AttributeValue::String(
                "body".to_owned()
            )])
        );
    }

    #[test]
    fn a_record_without_a_time_takes_its_observed_time() {
        let mut without_time = record(Vec::new(), Vec::new(), "late");
        without_time.time_unix_nano = 0;
        let records = logs_from_otlp(request_of(vec![without_time])).records;
        assert_eq!(records[0].time_unix_nanos, 5_100);
    }

    #[test]
    fn bus_records_of_logs_are_told_from_trace_records() {
        let logs = request_of(vec![record(vec![7; 16], vec![8; 8], "hello")]).encode_to_vec();
        use weft_bus::{classify_bus_record, logs_bus_record, BusRecordBody};
        let framed = logs_bus_record(&logs);
        assert_eq!(classify_bus_record(&framed), BusRecordBody::Logs(&logs[..]));
        let traces = super::request_of(vec![super::valid_span(1)]).encode_to_vec();
        assert_eq!(
            classify_bus_record(&traces),
            BusRecordBody::Traces(&traces[..])
        );
        // A trace request can never start with the prefix: its first byte is an invalid
        // protobuf tag, so the framing cannot swallow a real trace record.
        assert!(ExportTraceServiceRequest::decode(&framed[..]).is_err());
    }

    #[test]
    fn logs_json_uses_hex_ids() {
        let json = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},
            "scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","severityNumber":9,
            "body":{"stringValue":"hi"},"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}"#;
        let request = decode_otlp_logs_json(json).unwrap();
        let records = logs_from_otlp(request).records;
        assert_eq!(
            records[0].trace_id.unwrap().to_hex(),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(records[0].span_id.unwrap().to_hex(), "eee19b7ec3c1b174");
        assert_eq!(records[0].service_name, "web");
        assert!(decode_otlp_logs_json(b"{\"resourceLogs\": 3}").is_err());
    }

    /// Found by the `otlp_logs` fuzz target: grouping by resource reordered records whose
    /// resources alternate.
    #[test]
    fn records_of_alternating_resources_keep_their_order_through_otlp() {
        let mut first = request_of(vec![record(Vec::new(), Vec::new(), "a")]);
        let second = ResourceLogs {
            resource: Some(opentelemetry_proto::tonic::resource::v1::Resource {
                attributes: vec![key_value("service.name", string_value("billing"))],
                ..Default::default()
            }),
            ..first.resource_logs[0].clone()
        };
        let mut third = first.resource_logs[0].clone();
        third.scope_logs[0].log_records[0].body = Some(string_value("c"));
        first.resource_logs.push(second);
        first.resource_logs.push(third);
        let records = logs_from_otlp(first).records;
        let again = logs_from_otlp(otlp_from_logs(&records)).records;
        assert_eq!(again, records);
        let services: Vec<&str> = again.iter().map(|r| r.service_name.as_str()).collect();
        assert_eq!(services, ["checkout", "billing", "checkout"]);
    }

    proptest! {
        #[test]
        fn logs_survive_conversion_to_otlp_and_back(
            body in any_value_strategy(),
            attributes in attributes_strategy(),
            severity in 0i32..=24,
            time in any::<u64>(),
        ) {
            let otlp = LogRecord {
                time_unix_nano: time.max(1),
                observed_time_unix_nano: time,
                severity_number: severity,
                severity_text: "x".to_owned(),
                body: Some(body),
                attributes,
                trace_id: vec![3; 16],
                span_id: vec![4; 8],
                flags: 1,
                ..LogRecord::default()
            };
            let records = logs_from_otlp(request_of(vec![otlp])).records;
            let back = otlp_from_logs(&records);
            let again = logs_from_otlp(back).records;
            prop_assert_eq!(records, again);
        }

        #[test]
        fn decoding_arbitrary_bytes_as_logs_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(mut request) = decode_otlp_logs_protobuf(&bytes) {
                validate_and_limit_logs(&mut request, &ValidationLimits::default());
                let _ = logs_from_otlp(request);
            }
        }
    }
}

#[test]
fn a_span_with_an_implausible_start_is_moved_to_its_arrival_keeping_duration_and_its_start() {
    const SECOND: u64 = 1_000_000_000;
    let arrival = 1_800_000_000 * SECOND;
    let plausible = PlausibleStarts::around(
        arrival,
        std::time::Duration::from_secs(3 * 86_400),
        std::time::Duration::from_secs(3_600),
    );
    let limits = ValidationLimits {
        plausible_starts: Some(plausible),
        ..ValidationLimits::default()
    };
    let far_future = arrival + 400 * 86_400 * SECOND;
    let mut future = valid_span(1);
    future.start_time_unix_nano = far_future;
    future.end_time_unix_nano = far_future + 250 * 1_000_000;
    future.events = vec![span::Event {
        time_unix_nano: far_future + 100 * 1_000_000,
        ..span::Event::default()
    }];
    let mut unset = valid_span(2);
    unset.start_time_unix_nano = 0;
    unset.end_time_unix_nano = 5_000;
    let mut skewed = valid_span(3);
    skewed.start_time_unix_nano = arrival + 59 * 60 * SECOND;
    skewed.end_time_unix_nano = arrival + 60 * 60 * SECOND;
    let mut request = request_of(vec![future, unset, skewed]);
    let bytes = request.encode_to_vec();
    assert_eq!(
        scan_otlp_protobuf(&bytes, &limits),
        Scan::NeedsFullDecode,
        "the fast path never passes an implausible start"
    );
    let report = validate_and_limit(&mut request, &limits);
    assert_eq!((report.accepted_spans, report.clamped_spans), (3, 2));
    assert!(report.modified_request());
    let spans = spans_from_otlp(request, &ConversionOptions::default()).spans;
    let original = |span: &weft_model::Span| span.attribute(ORIGINAL_START_TIME_KEY).cloned();
    assert_eq!(spans[0].start_time_unix_nanos, arrival);
    assert_eq!(spans[0].duration_nanos(), 250 * 1_000_000);
    assert_eq!(
        spans[0].events[0].time_unix_nanos,
        arrival + 100 * 1_000_000
    );
    assert_eq!(
        original(&spans[0]),
        Some(weft_model::AttributeValue::Int(far_future as i64))
    );
    assert_eq!(spans[1].start_time_unix_nanos, arrival);
    assert_eq!(spans[1].duration_nanos(), 5_000);
    assert_eq!(
        original(&spans[1]),
        Some(weft_model::AttributeValue::Int(0))
    );
    // Within the allowed skew: untouched.
    assert_eq!(spans[2].start_time_unix_nanos, arrival + 59 * 60 * SECOND);
    assert_eq!(original(&spans[2]), None);
    // A request of plausible spans stays on the fast path.
    let mut plausible_only = valid_span(4);
    plausible_only.start_time_unix_nano = arrival - SECOND;
    plausible_only.end_time_unix_nano = arrival;
    let bytes = request_of(vec![plausible_only]).encode_to_vec();
    assert_eq!(
        scan_otlp_protobuf(&bytes, &limits),
        Scan::Clean { spans: 1 }
    );
}

/// Stores keep a record's attributes as one map value; the slice encoder writes the very bytes
/// the value encoder does, so files written by either read back the same.
#[test]
fn an_attribute_map_encodes_as_the_map_value_does_and_reads_back() {
    use weft_model::{AttributeValue, KeyValue};
    let attributes = vec![
        KeyValue {
            key: "order.id".into(),
            value: AttributeValue::String("ORD-1".into()),
        },
        KeyValue {
            key: "retries".into(),
            value: AttributeValue::Int(3),
        },
        KeyValue {
            key: "tags".into(),
            value: AttributeValue::Array(vec![AttributeValue::Bool(true)]),
        },
    ];
    let bytes = encode_attribute_map(&attributes);
    assert_eq!(
        bytes,
        encode_any_value(&AttributeValue::Map(attributes.clone()))
    );
    assert_eq!(
        decode_any_value(&bytes).unwrap(),
        AttributeValue::Map(attributes)
    );
    assert_eq!(
        decode_any_value(&encode_attribute_map(&[])).unwrap(),
        AttributeValue::Map(Vec::new())
    );
}
