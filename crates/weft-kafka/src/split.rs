//! How a collector turns one OTLP request into Kafka records, sans I/O: each span goes to the
//! topic of its service (or the default topic) and to the partition its trace ID hashes to, and
//! the spans of one topic and partition become one `ExportTraceServiceRequest` that keeps
//! their resource and scope. The hash is Kafka's own default partitioner (murmur2 of the key,
//! the trace ID in lowercase hex, as the OpenTelemetry Collector's Kafka exporter keys
//! `otlp_proto` records by trace), so records keyed by either land where the other would put
//! them.

use std::collections::BTreeMap;

use weft_codec::otlp_proto::common::v1::any_value::Value;
use weft_codec::otlp_proto::resource::v1::Resource;
use weft_codec::otlp_proto::trace::v1::{ResourceSpans, ScopeSpans};
use weft_codec::ExportTraceServiceRequest;

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), seed `0x9747b28c`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut hash = SEED ^ (length as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        hash = hash.wrapping_mul(M);
        hash ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        hash ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        hash ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        hash ^= u32::from(rest[0]);
        hash = hash.wrapping_mul(M);
    }
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(M);
    hash ^= hash >> 15;
    hash as i32
}

/// The partition Kafka's default partitioner picks for a key: `toPositive(murmur2(key)) % n`.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    ((murmur2(key) & 0x7fff_ffff) as u32) % partitions.max(1)
}

/// A trace ID's record key: its 32 lowercase hex digits (what the OpenTelemetry Collector uses).
pub fn trace_key(trace_id: &[u8]) -> String {
    hex::encode(trace_id)
}

/// Where a service's spans go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicRoutes {
    pub default_topic: String,
    /// Service name → topic; services not named here go to the default topic.
    pub service_topics: BTreeMap<String, String>,
}

impl TopicRoutes {
    pub fn topic_of(&self, service_name: Option<&str>) -> &str {
        service_name
            .and_then(|service| self.service_topics.get(service))
            .unwrap_or(&self.default_topic)
    }

    /// Every topic spans can go to, each once, the default first.
    pub fn topics(&self) -> Vec<String> {
        let mut topics = vec![self.default_topic.clone()];
        for topic in self.service_topics.values() {
            if !topics.contains(topic) {
                topics.push(topic.clone());
            }
        }
        topics
    }
}

/// One record to produce: its topic, partition, key (the trace ID of its first span) and the
/// request holding its spans.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionRecord {
    pub topic: String,
    pub partition: u32,
    pub key: String,
    pub request: ExportTraceServiceRequest,
}

fn service_name_of(resource: Option<&Resource>) -> Option<&str> {
    resource?
        .attributes
        .iter()
        .find(|attribute| attribute.key == "service.name")
        .and_then(
            |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                Value::StringValue(text) => Some(text.as_str()),
                _ => None,
            },
        )
}

/// Splits a request into one record per topic and partition. `partitions_of` gives a topic's
/// partition count (`None`: the topic is unknown, which fails the whole request, naming it).
/// Spans keep their order within a record; a record's resources and scopes appear in the order
/// of the request.
pub fn split_by_partition(
    request: ExportTraceServiceRequest,
    routes: &TopicRoutes,
    partitions_of: &dyn Fn(&str) -> Option<u32>,
) -> Result<Vec<PartitionRecord>, String> {
    // (topic, partition) → (key, resource spans being built)
    let mut records: BTreeMap<(String, u32), (String, Vec<ResourceSpans>)> = BTreeMap::new();
    for resource_spans in request.resource_spans {
        let topic = routes
            .topic_of(service_name_of(resource_spans.resource.as_ref()))
            .to_owned();
        let partitions =
            partitions_of(&topic).ok_or_else(|| format!("kafka topic {topic:?} does not exist"))?;
        let ResourceSpans {
            resource,
            scope_spans,
            schema_url,
        } = resource_spans;
        // Per partition: the scope spans of this resource, in order.
        let mut by_partition: BTreeMap<u32, (String, Vec<ScopeSpans>)> = BTreeMap::new();
        for scope_spans in scope_spans {
            let ScopeSpans {
                scope,
                spans,
                schema_url: scope_schema_url,
            } = scope_spans;
            let mut spans_by_partition: BTreeMap<u32, Vec<_>> = BTreeMap::new();
            for span in spans {
                let key = trace_key(&span.trace_id);
                let partition = partition_for_key(key.as_bytes(), partitions);
                by_partition
                    .entry(partition)
                    .or_insert_with(|| (key, Vec::new()));
                spans_by_partition.entry(partition).or_default().push(span);
            }
            for (partition, spans) in spans_by_partition {
                let entry = by_partition
                    .get_mut(&partition)
                    .expect("every partition with spans has an entry");
                entry.1.push(ScopeSpans {
                    scope: scope.clone(),
                    spans,
                    schema_url: scope_schema_url.clone(),
                });
            }
        }
        for (partition, (key, scope_spans)) in by_partition {
            let record = records
                .entry((topic.clone(), partition))
                .or_insert_with(|| (key, Vec::new()));
            record.1.push(ResourceSpans {
                resource: resource.clone(),
                scope_spans,
                schema_url: schema_url.clone(),
            });
        }
    }
    Ok(records
        .into_iter()
        .map(
            |((topic, partition), (key, resource_spans))| PartitionRecord {
                topic,
                partition,
                key,
                request: ExportTraceServiceRequest { resource_spans },
            },
        )
        .collect())
}
