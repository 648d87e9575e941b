use std::collections::BTreeMap;

use prost::Message;
use weft_codec::otlp_proto::common::v1::{any_value, AnyValue, KeyValue};
use weft_codec::otlp_proto::resource::v1::Resource;
use weft_codec::otlp_proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use weft_codec::ExportTraceServiceRequest;

use crate::split::{murmur2, partition_for_key, split_by_partition, trace_key, TopicRoutes};

#[test]
fn murmur2_matches_kafkas_own_test_vectors() {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    let cases: [(&str, i32); 6] = [
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        ("abc", 479_470_107),
    ];
    for (input, expected) in cases {
        assert_eq!(murmur2(input.as_bytes()), expected, "murmur2({input:?})");
    }
}

fn span(trace: u8, span: u8) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![span; 8],
        name: format!("span {trace}/{span}"),
        ..Span::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![KeyValue {
            key_strindex: 0,
            key: "service.name".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(service.into())),
            }),
        }],
        ..Resource::default()
    })
}

fn request() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: resource("checkout"),
                scope_spans: vec![ScopeSpans {
                    spans: (1..=20).map(|trace| span(trace, 1)).collect(),
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            },
            ResourceSpans {
                resource: resource("payments"),
                scope_spans: vec![ScopeSpans {
                    spans: (1..=20).map(|trace| span(trace, 2)).collect(),
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            },
        ],
    }
}

#[test]
fn a_request_splits_into_one_record_per_topic_and_partition_keeping_every_span_once() {
    let routes = TopicRoutes {
        default_topic: "weft-spans".into(),
        service_topics: BTreeMap::from([("payments".to_owned(), "weft-payments".to_owned())]),
    };
    let records = split_by_partition(request(), &routes, &|topic| match topic {
        "weft-spans" => Some(4),
        "weft-payments" => Some(2),
        _ => None,
    })
    .unwrap();
    let mut seen = Vec::new();
    for record in &records {
        let partitions = if record.topic == "weft-payments" {
            2
        } else {
            4
        };
        assert!(record.partition < partitions);
        for resource_spans in &record.request.resource_spans {
            let service = match &resource_spans.resource.as_ref().unwrap().attributes[0]
                .value
                .as_ref()
                .unwrap()
                .value
            {
                Some(any_value::Value::StringValue(name)) => name.clone(),
                _ => unreachable!(),
            };
            let expected_topic = if service == "payments" {
                "weft-payments"
            } else {
                "weft-spans"
            };
            assert_eq!(record.topic, expected_topic);
            for span in resource_spans
                .scope_spans
                .iter()
                .flat_map(|scope| &scope.spans)
            {
                // Every span sits in the partition Kafka's partitioner picks for its trace key.
                assert_eq!(
                    partition_for_key(trace_key(&span.trace_id).as_bytes(), partitions),
                    record.partition
                );
                seen.push((service.clone(), span.span_id.clone(), span.trace_id.clone()));
            }
        }
        assert_eq!(record.key.len(), 32, "the key is a hex trace id");
    }
    seen.sort();
    assert_eq!(seen.len(), 40, "every span once");
    seen.dedup();
    assert_eq!(seen.len(), 40);
    // The two topics, and more than one partition of the default one, were used.
    let topics: std::collections::BTreeSet<_> = records.iter().map(|r| r.topic.as_str()).collect();
    assert_eq!(topics.len(), 2);
    assert!(records.iter().filter(|r| r.topic == "weft-spans").count() > 1);
    // Records decode as requests again (the bus format).
    for record in records {
        let bytes = record.request.encode_to_vec();
        assert_eq!(
            ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap(),
            record.request
        );
    }
}

#[test]
fn a_request_for_an_unknown_topic_fails_naming_it() {
    let routes = TopicRoutes {
        default_topic: "missing".into(),
        service_topics: BTreeMap::new(),
    };
    let error = split_by_partition(request(), &routes, &|_| None).unwrap_err();
    assert_eq!(error, "kafka topic \"missing\" does not exist");
}

proptest::proptest! {
    #[test]
    fn partitions_are_always_in_range(key in proptest::collection::vec(0u8..=255, 0..64), partitions in 1u32..64) {
        proptest::prop_assert!(partition_for_key(&key, partitions) < partitions);
    }
}

#[test]
fn partition_lag_counts_records_written_and_not_committed_or_not_read() {
    let lag = crate::PartitionLag {
        topic: "weft-spans".into(),
        partition: 3,
        read_position: 90,
        committed_position: 40,
        head_position: 100,
    };
    assert_eq!(lag.lag_records(), 60);
    assert_eq!(lag.unread_records(), 10);
    // A high watermark not refreshed since records were read never makes a negative lag.
    let stale_head = crate::PartitionLag {
        head_position: 30,
        ..lag
    };
    assert_eq!(stale_head.lag_records(), 0);
    assert_eq!(stale_head.unread_records(), 0);
}
