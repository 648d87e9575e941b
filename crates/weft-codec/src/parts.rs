//! Pieces of a span encoded on their own, for stores that keep the indexed fields in columns and
//! the rest as compact OTLP protobuf: a resource, a scope, one attribute value, the rarely
//! present span detail (events, links). Every encoding here decodes back to an equal value.

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1 as otlp_common;
use opentelemetry_proto::tonic::trace::v1 as otlp_trace;
use prost::Message;
use weft_model::{
    find_attribute, AttributeValue, BusinessKey, InstrumentationScope, KeyValue, Resource, Span,
};

use crate::otlp::{
    event_from_otlp, key_values_to_otlp, link_from_otlp, resource_from_otlp, resource_to_otlp,
    scope_from_otlp, scope_to_otlp, span_to_otlp, value_from_otlp, value_to_otlp,
    DerivedResourceFields,
};
use crate::{CodecError, ConversionOptions};

/// A resource with its schema URL, as an OTLP `ResourceSpans` without scopes.
pub fn encode_resource(resource: &Resource) -> Vec<u8> {
    otlp_trace::ResourceSpans {
        resource: Some(resource_to_otlp(resource)),
        scope_spans: Vec::new(),
        schema_url: resource.schema_url.clone(),
    }
    .encode_to_vec()
}

pub fn decode_resource(bytes: &[u8]) -> Result<Resource, CodecError> {
    let message = otlp_trace::ResourceSpans::decode(bytes)?;
    Ok(resource_from_otlp(message.resource, message.schema_url))
}

/// A scope with its schema URL, as an OTLP `ScopeSpans` without spans.
pub fn encode_scope(scope: &InstrumentationScope) -> Vec<u8> {
    otlp_trace::ScopeSpans {
        scope: Some(scope_to_otlp(scope)),
        spans: Vec::new(),
        schema_url: scope.schema_url.clone(),
    }
    .encode_to_vec()
}

pub fn decode_scope(bytes: &[u8]) -> Result<InstrumentationScope, CodecError> {
    let message = otlp_trace::ScopeSpans::decode(bytes)?;
    Ok(scope_from_otlp(message.scope, message.schema_url))
}

/// One attribute value as an OTLP `AnyValue`; stores use it for arrays and maps.
pub fn encode_any_value(value: &AttributeValue) -> Vec<u8> {
    value_to_otlp(value).encode_to_vec()
}

/// A list of attributes as one OTLP `AnyValue` map: the bytes of
/// `encode_any_value(&AttributeValue::Map(attributes.to_vec()))`, without copying the list
/// first. `decode_any_value` reads it back as that map.
pub fn encode_attribute_map(attributes: &[KeyValue]) -> Vec<u8> {
    otlp_common::AnyValue {
        value: Some(otlp_common::any_value::Value::KvlistValue(
            otlp_common::KeyValueList {
                values: key_values_to_otlp(attributes),
            },
        )),
    }
    .encode_to_vec()
}

pub fn decode_any_value(bytes: &[u8]) -> Result<AttributeValue, CodecError> {
    Ok(value_from_otlp(otlp_common::AnyValue::decode(bytes)?))
}

/// The span's events, links and their dropped counts as an OTLP `Span` holding only those, or
/// `None` when the span has none of them (most spans).
pub fn encode_span_detail(span: &Span) -> Option<Vec<u8>> {
    if span.events.is_empty()
        && span.links.is_empty()
        && span.dropped_events_count == 0
        && span.dropped_links_count == 0
    {
        return None;
    }
    let full = span_to_otlp(span);
    let detail = otlp_trace::Span {
        events: full.events,
        dropped_events_count: full.dropped_events_count,
        links: full.links,
        dropped_links_count: full.dropped_links_count,
        ..otlp_trace::Span::default()
    };
    Some(detail.encode_to_vec())
}

/// Fills `span`'s events, links and dropped counts from [`encode_span_detail`]'s bytes.
pub fn decode_span_detail(bytes: &[u8], span: &mut Span) -> Result<(), CodecError> {
    let detail = otlp_trace::Span::decode(bytes)?;
    span.events = detail.events.into_iter().map(event_from_otlp).collect();
    span.dropped_events_count = detail.dropped_events_count;
    span.links = detail
        .links
        .into_iter()
        .map(link_from_otlp)
        .collect::<Result<_, _>>()
        .map_err(|error| CodecError::InvalidPart(format!("invalid link id: {error}")))?;
    span.dropped_links_count = detail.dropped_links_count;
    Ok(())
}

/// Recomputes the fields derived at ingest (service, host, environment, region, business keys)
/// from a span's resource and attributes, as [`crate::spans_from_otlp`] does. Stores keep only
/// what was sent and call this when reading spans back.
pub fn fill_derived_fields(spans: &mut [Span], options: &ConversionOptions) {
    let mut cached: Option<(Arc<Resource>, DerivedResourceFields)> = None;
    for span in spans {
        let derived = match &cached {
            Some((resource, derived)) if Arc::ptr_eq(resource, &span.resource) => derived,
            _ => {
                let derived = DerivedResourceFields::from_resource(&span.resource);
                &cached.insert((Arc::clone(&span.resource), derived)).1
            }
        };
        span.service_name.clone_from(&derived.service_name);
        span.host_name.clone_from(&derived.host_name);
        span.environment.clone_from(&derived.environment);
        span.region.clone_from(&derived.region);
        span.business_keys = options
            .business_key_names
            .iter()
            .filter_map(|name| {
                find_attribute(&span.attributes, name)
                    .or_else(|| find_attribute(&span.resource.attributes, name))
                    .and_then(AttributeValue::to_index_string)
                    .map(|value| BusinessKey {
                        name: name.clone(),
                        value,
                    })
            })
            .collect();
    }
}

/// How the stores tag an attribute value's type in their columns (Parquet segments, ClickHouse
/// rows): one numbering, so both read each other's documentation the same way.
pub mod attribute_value_type {
    pub const EMPTY: i8 = 0;
    pub const STRING: i8 = 1;
    pub const BOOL: i8 = 2;
    pub const INT: i8 = 3;
    pub const DOUBLE: i8 = 4;
    pub const BYTES: i8 = 5;
    /// Arrays and maps: the value's bytes are an OTLP `AnyValue`.
    pub const ARRAY: i8 = 6;
    pub const MAP: i8 = 7;
}
