//! Zipkin v2 JSON (`POST /api/v2/spans`) into Weft spans, following the mapping of the
//! OpenTelemetry Collector's Zipkin receiver where one exists.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Deserialize;
use weft_model::{
    AttributeValue, Event, IdError, InstrumentationScope, KeyValue, Resource, Span, SpanId,
    SpanKind, Status, StatusCode, TraceId,
};

use crate::{CodecError, ConvertedSpans};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZipkinSpan {
    trace_id: String,
    id: String,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    /// Microseconds since the Unix epoch.
    #[serde(default)]
    timestamp: Option<u64>,
    /// Microseconds.
    #[serde(default)]
    duration: Option<u64>,
    #[serde(default)]
    local_endpoint: Option<ZipkinEndpoint>,
    #[serde(default)]
    remote_endpoint: Option<ZipkinEndpoint>,
    #[serde(default)]
    annotations: Vec<ZipkinAnnotation>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    debug: Option<bool>,
    #[serde(default)]
    shared: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ZipkinEndpoint {
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    ipv4: Option<String>,
    #[serde(default)]
    ipv6: Option<String>,
    #[serde(default)]
    port: Option<u16>,
}

#[derive(Debug, Deserialize)]
struct ZipkinAnnotation {
    timestamp: u64,
    value: String,
}

/// Decodes a Zipkin v2 JSON array of spans. A span with a malformed ID is skipped and counted;
/// a body that is not a Zipkin v2 span array is an error.
pub fn decode_zipkin_json(body: &[u8]) -> Result<ConvertedSpans, CodecError> {
    let zipkin_spans: Vec<ZipkinSpan> =
        serde_json::from_slice(body).map_err(CodecError::InvalidZipkinJson)?;
    let mut converted = ConvertedSpans::default();
    let mut resources: HashMap<String, Arc<Resource>> = HashMap::new();
    let mut scopes: HashMap<(String, String), Arc<InstrumentationScope>> = HashMap::new();
    for zipkin_span in zipkin_spans {
        match span_from_zipkin(zipkin_span, &mut resources, &mut scopes) {
            Ok(span) => converted.spans.push(span),
            Err(reason) => {
                converted.invalid_spans += 1;
                converted.first_invalid_reason.get_or_insert(reason);
            }
        }
    }
    Ok(converted)
}

fn span_from_zipkin(
    mut zipkin_span: ZipkinSpan,
    resources: &mut HashMap<String, Arc<Resource>>,
    scopes: &mut HashMap<(String, String), Arc<InstrumentationScope>>,
) -> Result<Span, IdError> {
    let trace_id = TraceId::from_hex(&zipkin_span.trace_id)?;
    let span_id = SpanId::from_hex(&zipkin_span.id)?;
    let parent_span_id = match zipkin_span.parent_id.as_deref() {
        None | Some("") => None,
        Some(parent) => Some(SpanId::from_hex(parent)?),
    };
    let local = zipkin_span.local_endpoint.take().unwrap_or_default();
    let service_name = local
        .service_name
        .clone()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown_service".to_owned());
    let resource = Arc::clone(resources.entry(service_name.clone()).or_insert_with(|| {
        Arc::new(Resource {
            attributes: vec![KeyValue::new(
                "service.name",
                AttributeValue::String(service_name.clone()),
            )],
            ..Resource::default()
        })
    }));

    let tags = &mut zipkin_span.tags;
    let scope_name = tags
        .remove("otel.scope.name")
        .or_else(|| tags.remove("otel.library.name"))
        .unwrap_or_default();
    let scope_version = tags
        .remove("otel.scope.version")
        .or_else(|| tags.remove("otel.library.version"))
        .unwrap_or_default();
    let scope = Arc::clone(
        scopes
            .entry((scope_name.clone(), scope_version.clone()))
            .or_insert_with(|| {
                Arc::new(InstrumentationScope {
                    name: scope_name,
                    version: scope_version,
                    ..InstrumentationScope::default()
                })
            }),
    );

    let status = status_from_zipkin_tags(tags);
    let mut attributes: Vec<KeyValue> = std::mem::take(tags)
        .into_iter()
        .map(|(key, value)| KeyValue::new(key, AttributeValue::String(value)))
        .collect();
    push_endpoint(&mut attributes, &local, "network.local");
    if let Some(remote) = &zipkin_span.remote_endpoint {
        if let Some(peer) = remote.service_name.as_ref().filter(|name| !name.is_empty()) {
            attributes.push(KeyValue::new(
                "peer.service",
                AttributeValue::String(peer.clone()),
            ));
        }
        push_endpoint(&mut attributes, remote, "network.peer");
    }
    if zipkin_span.shared == Some(true) {
        attributes.push(KeyValue::new("zipkin.shared", AttributeValue::Bool(true)));
    }
    if zipkin_span.debug == Some(true) {
        attributes.push(KeyValue::new("zipkin.debug", AttributeValue::Bool(true)));
    }

    let start_time_unix_nanos = zipkin_span.timestamp.unwrap_or(0).saturating_mul(1_000);
    let end_time_unix_nanos = start_time_unix_nanos
        .saturating_add(zipkin_span.duration.unwrap_or(0).saturating_mul(1_000));
    let kind = match zipkin_span.kind.as_deref() {
        Some("CLIENT") => SpanKind::Client,
        Some("SERVER") => SpanKind::Server,
        Some("PRODUCER") => SpanKind::Producer,
        Some("CONSUMER") => SpanKind::Consumer,
        // A Zipkin span without kind is a local (in-process) span.
        _ => SpanKind::Internal,
    };
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        trace_state: String::new(),
        // The W3C "sampled" flag: Zipkin only ships sampled spans.
        flags: 1,
        name: zipkin_span.name.unwrap_or_default(),
        kind,
        start_time_unix_nanos,
        end_time_unix_nanos,
        attributes,
        dropped_attributes_count: 0,
        events: zipkin_span
            .annotations
            .into_iter()
            .map(|annotation| Event {
                time_unix_nanos: annotation.timestamp.saturating_mul(1_000),
                name: annotation.value,
                attributes: Vec::new(),
                dropped_attributes_count: 0,
            })
            .collect(),
        dropped_events_count: 0,
        links: Vec::new(),
        dropped_links_count: 0,
        status,
        resource,
        scope,
        service_name,
        host_name: None,
        environment: None,
        region: None,
        business_keys: Vec::new(),
    })
}

/// Zipkin marks failures with an `error` tag (its value the message); OpenTelemetry's Zipkin
/// exporter writes `otel.status_code` and `otel.status_description`. Both become the status.
fn status_from_zipkin_tags(tags: &mut BTreeMap<String, String>) -> Status {
    let description = tags.remove("otel.status_description");
    match tags.remove("otel.status_code").as_deref() {
        Some("ERROR") => {
            tags.remove("error");
            return Status {
                code: StatusCode::Error,
                message: description.unwrap_or_default(),
            };
        }
        Some("OK") => {
            return Status {
                code: StatusCode::Ok,
                message: String::new(),
            }
        }
        _ => {}
    }
    match tags.remove("error") {
        Some(message) => Status {
            code: StatusCode::Error,
            // Instrumentation that has no message writes "true" or an empty string.
            message: if message == "true" {
                String::new()
            } else {
                message
            },
        },
        None => Status::default(),
    }
}

fn push_endpoint(attributes: &mut Vec<KeyValue>, endpoint: &ZipkinEndpoint, prefix: &str) {
    if let Some(address) = endpoint.ipv4.as_ref().or(endpoint.ipv6.as_ref()) {
        attributes.push(KeyValue::new(
            format!("{prefix}.address"),
            AttributeValue::String(address.clone()),
        ));
    }
    if let Some(port) = endpoint.port {
        attributes.push(KeyValue::new(
            format!("{prefix}.port"),
            AttributeValue::Int(i64::from(port)),
        ));
    }
}
