use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1 as otlp_common;
use opentelemetry_proto::tonic::resource::v1 as otlp_resource;
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
use prost::Message;
use weft_model::{
    find_attribute, AttributeValue, BusinessKey, EntityRef, Event, IdError, InstrumentationScope,
    KeyValue, Link, Resource, Span, SpanId, SpanKind, Status, StatusCode, TraceId,
};

use crate::{CodecError, ExportTraceServiceRequest};

/// Decodes an OTLP/protobuf `ExportTraceServiceRequest`.
pub fn decode_otlp_protobuf(body: &[u8]) -> Result<ExportTraceServiceRequest, CodecError> {
    Ok(ExportTraceServiceRequest::decode(body)?)
}

/// What conversion derives beyond the OTLP fields.
#[derive(Debug, Clone, Default)]
pub struct ConversionOptions {
    /// Attribute names promoted to [`Span::business_keys`], looked up on the span first and on
    /// its resource second (e.g. `order.id`, `bizOrderId`, `user.id`).
    pub business_key_names: Vec<String>,
}

/// The spans of one request, and the spans that could not be converted.
#[derive(Debug, Default)]
pub struct ConvertedSpans {
    pub spans: Vec<Span>,
    /// Spans skipped for invalid IDs. Receivers already reject these, so on data read back from
    /// the bus this is zero unless the bus was written by something else.
    pub invalid_spans: u64,
    pub first_invalid_reason: Option<IdError>,
}

/// Converts an OTLP request into Weft spans, moving its strings and vectors rather than copying
/// them. Resources and scopes are shared between the spans of one `ResourceSpans`/`ScopeSpans`
/// through `Arc`.
pub fn spans_from_otlp(
    request: ExportTraceServiceRequest,
    options: &ConversionOptions,
) -> ConvertedSpans {
    let mut converted = ConvertedSpans::default();
    for resource_spans in request.resource_spans {
        let resource = Arc::new(resource_from_otlp(
            resource_spans.resource,
            resource_spans.schema_url,
        ));
        let derived = DerivedResourceFields::from_resource(&resource);
        for scope_spans in resource_spans.scope_spans {
            let scope = Arc::new(scope_from_otlp(scope_spans.scope, scope_spans.schema_url));
            converted.spans.reserve(scope_spans.spans.len());
            for otlp_span in scope_spans.spans {
                match span_from_otlp(otlp_span, &resource, &scope, &derived, options) {
                    Ok(span) => converted.spans.push(span),
                    Err(reason) => {
                        converted.invalid_spans += 1;
                        converted.first_invalid_reason.get_or_insert(reason);
                    }
                }
            }
        }
    }
    converted
}

pub(crate) struct DerivedResourceFields {
    pub(crate) service_name: String,
    pub(crate) host_name: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) region: Option<String>,
}

impl DerivedResourceFields {
    pub(crate) fn from_resource(resource: &Resource) -> Self {
        let text = |key: &str| {
            find_attribute(&resource.attributes, key)
                .and_then(AttributeValue::as_str)
                .map(str::to_owned)
        };
        DerivedResourceFields {
            // The OpenTelemetry resource spec names this fallback for a missing service.name.
            service_name: text("service.name").unwrap_or_else(|| "unknown_service".to_owned()),
            host_name: text("host.name"),
            environment: text("deployment.environment.name")
                .or_else(|| text("deployment.environment")),
            region: text("cloud.region"),
        }
    }
}

fn span_from_otlp(
    otlp_span: otlp_trace::Span,
    resource: &Arc<Resource>,
    scope: &Arc<InstrumentationScope>,
    derived: &DerivedResourceFields,
    options: &ConversionOptions,
) -> Result<Span, IdError> {
    let trace_id = TraceId::try_from_slice(&otlp_span.trace_id)?;
    let span_id = SpanId::try_from_slice(&otlp_span.span_id)?;
    let parent_span_id = parent_from_otlp(&otlp_span.parent_span_id)?;
    let links = otlp_span
        .links
        .into_iter()
        .map(link_from_otlp)
        .collect::<Result<_, _>>()?;
    let attributes = key_values_from_otlp(otlp_span.attributes);
    let business_keys = options
        .business_key_names
        .iter()
        .filter_map(|name| {
            find_attribute(&attributes, name)
                .or_else(|| find_attribute(&resource.attributes, name))
                .and_then(AttributeValue::to_index_string)
                .map(|value| BusinessKey {
                    name: name.clone(),
                    value,
                })
        })
        .collect();
    let status = otlp_span
        .status
        .map_or_else(Status::default, |status| Status {
            code: StatusCode::from_otlp(status.code),
            message: status.message,
        });
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        trace_state: otlp_span.trace_state,
        flags: otlp_span.flags,
        name: otlp_span.name,
        kind: SpanKind::from_otlp(otlp_span.kind),
        start_time_unix_nanos: otlp_span.start_time_unix_nano,
        end_time_unix_nanos: otlp_span.end_time_unix_nano,
        attributes,
        dropped_attributes_count: otlp_span.dropped_attributes_count,
        events: otlp_span.events.into_iter().map(event_from_otlp).collect(),
        dropped_events_count: otlp_span.dropped_events_count,
        links,
        dropped_links_count: otlp_span.dropped_links_count,
        status,
        resource: Arc::clone(resource),
        scope: Arc::clone(scope),
        service_name: derived.service_name.clone(),
        host_name: derived.host_name.clone(),
        environment: derived.environment.clone(),
        region: derived.region.clone(),
        business_keys,
    })
}

/// An empty or all-zero parent ID both mean "root span": SDKs send either.
pub(crate) fn parent_from_otlp(bytes: &[u8]) -> Result<Option<SpanId>, IdError> {
    if bytes.is_empty() || bytes.iter().all(|&byte| byte == 0) && bytes.len() == SpanId::LEN {
        return Ok(None);
    }
    SpanId::try_from_slice(bytes).map(Some)
}

pub(crate) fn resource_from_otlp(
    resource: Option<otlp_resource::Resource>,
    schema_url: String,
) -> Resource {
    let Some(resource) = resource else {
        return Resource {
            schema_url,
            ..Resource::default()
        };
    };
    Resource {
        attributes: key_values_from_otlp(resource.attributes),
        dropped_attributes_count: resource.dropped_attributes_count,
        schema_url,
        entity_refs: resource
            .entity_refs
            .into_iter()
            .map(|entity| EntityRef {
                schema_url: entity.schema_url,
                entity_type: entity.r#type,
                id_keys: entity.id_keys,
                description_keys: entity.description_keys,
            })
            .collect(),
    }
}

pub(crate) fn scope_from_otlp(
    scope: Option<otlp_common::InstrumentationScope>,
    schema_url: String,
) -> InstrumentationScope {
    let Some(scope) = scope else {
        return InstrumentationScope {
            schema_url,
            ..InstrumentationScope::default()
        };
    };
    InstrumentationScope {
        name: scope.name,
        version: scope.version,
        attributes: key_values_from_otlp(scope.attributes),
        dropped_attributes_count: scope.dropped_attributes_count,
        schema_url,
    }
}

pub(crate) fn event_from_otlp(event: otlp_trace::span::Event) -> Event {
    Event {
        time_unix_nanos: event.time_unix_nano,
        name: event.name,
        attributes: key_values_from_otlp(event.attributes),
        dropped_attributes_count: event.dropped_attributes_count,
    }
}

pub(crate) fn link_from_otlp(link: otlp_trace::span::Link) -> Result<Link, IdError> {
    Ok(Link {
        trace_id: TraceId::try_from_slice(&link.trace_id)?,
        span_id: SpanId::try_from_slice(&link.span_id)?,
        trace_state: link.trace_state,
        attributes: key_values_from_otlp(link.attributes),
        dropped_attributes_count: link.dropped_attributes_count,
        flags: link.flags,
    })
}

pub(crate) fn key_values_from_otlp(key_values: Vec<otlp_common::KeyValue>) -> Vec<KeyValue> {
    key_values
        .into_iter()
        .map(|key_value| KeyValue {
            key: key_value.key,
            value: key_value
                .value
                .map_or(AttributeValue::Empty, value_from_otlp),
        })
        .collect()
}

pub(crate) fn value_from_otlp(value: otlp_common::AnyValue) -> AttributeValue {
    use otlp_common::any_value::Value;
    match value.value {
        None => AttributeValue::Empty,
        Some(Value::StringValue(text)) => AttributeValue::String(text),
        Some(Value::BoolValue(flag)) => AttributeValue::Bool(flag),
        Some(Value::IntValue(number)) => AttributeValue::Int(number),
        Some(Value::DoubleValue(number)) => AttributeValue::Double(number),
        Some(Value::BytesValue(bytes)) => AttributeValue::Bytes(bytes),
        Some(Value::ArrayValue(array)) => {
            AttributeValue::Array(array.values.into_iter().map(value_from_otlp).collect())
        }
        Some(Value::KvlistValue(list)) => AttributeValue::Map(key_values_from_otlp(list.values)),
        // The OTLP spec says trace receivers treat this profiles-only field as absent.
        Some(Value::StringValueStrindex(_)) => AttributeValue::Empty,
    }
}

/// Converts spans back into one OTLP request. Consecutive spans that share a resource and scope
/// (the same `Arc`, or equal values) are grouped under one `ResourceSpans`/`ScopeSpans`, so a
/// request converted with [`spans_from_otlp`] comes back with its original structure.
pub fn otlp_from_spans(spans: &[Span]) -> ExportTraceServiceRequest {
    let mut resource_spans: Vec<otlp_trace::ResourceSpans> = Vec::new();
    let mut previous: Option<&Span> = None;
    for span in spans {
        let same_resource = previous.is_some_and(|previous| {
            Arc::ptr_eq(&previous.resource, &span.resource) || previous.resource == span.resource
        });
        if !same_resource {
            resource_spans.push(otlp_trace::ResourceSpans {
                resource: Some(resource_to_otlp(&span.resource)),
                scope_spans: Vec::new(),
                schema_url: span.resource.schema_url.clone(),
            });
        }
        let same_scope = same_resource
            && previous.is_some_and(|previous| {
                Arc::ptr_eq(&previous.scope, &span.scope) || previous.scope == span.scope
            });
        let current_resource = resource_spans.last_mut().expect("pushed above");
        if !same_scope {
            current_resource.scope_spans.push(otlp_trace::ScopeSpans {
                scope: Some(scope_to_otlp(&span.scope)),
                spans: Vec::new(),
                schema_url: span.scope.schema_url.clone(),
            });
        }
        current_resource
            .scope_spans
            .last_mut()
            .expect("pushed above")
            .spans
            .push(span_to_otlp(span));
        previous = Some(span);
    }
    ExportTraceServiceRequest { resource_spans }
}

pub(crate) fn span_to_otlp(span: &Span) -> otlp_trace::Span {
    otlp_trace::Span {
        trace_id: span.trace_id.as_bytes().to_vec(),
        span_id: span.span_id.as_bytes().to_vec(),
        trace_state: span.trace_state.clone(),
        parent_span_id: span
            .parent_span_id
            .map(|parent| parent.as_bytes().to_vec())
            .unwrap_or_default(),
        flags: span.flags,
        name: span.name.clone(),
        kind: span.kind.to_otlp(),
        start_time_unix_nano: span.start_time_unix_nanos,
        end_time_unix_nano: span.end_time_unix_nanos,
        attributes: key_values_to_otlp(&span.attributes),
        dropped_attributes_count: span.dropped_attributes_count,
        events: span
            .events
            .iter()
            .map(|event| otlp_trace::span::Event {
                time_unix_nano: event.time_unix_nanos,
                name: event.name.clone(),
                attributes: key_values_to_otlp(&event.attributes),
                dropped_attributes_count: event.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: span.dropped_events_count,
        links: span
            .links
            .iter()
            .map(|link| otlp_trace::span::Link {
                trace_id: link.trace_id.as_bytes().to_vec(),
                span_id: link.span_id.as_bytes().to_vec(),
                trace_state: link.trace_state.clone(),
                attributes: key_values_to_otlp(&link.attributes),
                dropped_attributes_count: link.dropped_attributes_count,
                flags: link.flags,
            })
            .collect(),
        dropped_links_count: span.dropped_links_count,
        status: (span.status != Status::default()).then(|| otlp_trace::Status {
            message: span.status.message.clone(),
            code: span.status.code.to_otlp(),
        }),
    }
}

pub(crate) fn resource_to_otlp(resource: &Resource) -> otlp_resource::Resource {
    otlp_resource::Resource {
        attributes: key_values_to_otlp(&resource.attributes),
        dropped_attributes_count: resource.dropped_attributes_count,
        entity_refs: resource
            .entity_refs
            .iter()
            .map(|entity| otlp_common::EntityRef {
                schema_url: entity.schema_url.clone(),
                r#type: entity.entity_type.clone(),
                id_keys: entity.id_keys.clone(),
                description_keys: entity.description_keys.clone(),
            })
            .collect(),
    }
}

pub(crate) fn scope_to_otlp(scope: &InstrumentationScope) -> otlp_common::InstrumentationScope {
    otlp_common::InstrumentationScope {
        name: scope.name.clone(),
        version: scope.version.clone(),
        attributes: key_values_to_otlp(&scope.attributes),
        dropped_attributes_count: scope.dropped_attributes_count,
    }
}

pub(crate) fn key_values_to_otlp(key_values: &[KeyValue]) -> Vec<otlp_common::KeyValue> {
    key_values
        .iter()
        .map(|key_value| otlp_common::KeyValue {
            key: key_value.key.clone(),
            value: Some(value_to_otlp(&key_value.value)),
            key_strindex: 0,
        })
        .collect()
}

pub(crate) fn value_to_otlp(value: &AttributeValue) -> otlp_common::AnyValue {
    use otlp_common::any_value::Value;
    let value = match value {
        AttributeValue::Empty => None,
        AttributeValue::String(text) => Some(Value::StringValue(text.clone())),
        AttributeValue::Bool(flag) => Some(Value::BoolValue(*flag)),
        AttributeValue::Int(number) => Some(Value::IntValue(*number)),
        AttributeValue::Double(number) => Some(Value::DoubleValue(*number)),
        AttributeValue::Bytes(bytes) => Some(Value::BytesValue(bytes.clone())),
        AttributeValue::Array(values) => Some(Value::ArrayValue(otlp_common::ArrayValue {
            values: values.iter().map(value_to_otlp).collect(),
        })),
        AttributeValue::Map(entries) => Some(Value::KvlistValue(otlp_common::KeyValueList {
            values: key_values_to_otlp(entries),
        })),
    };
    otlp_common::AnyValue { value }
}
