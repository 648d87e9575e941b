//! OTLP logs at the edge: decoding, validation and limits, conversion into
//! [`weft_model::LogRecord`], and the bus framing that tells a log record from a span record.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1 as otlp_common;
use opentelemetry_proto::tonic::logs::v1 as otlp_logs;
use prost::Message;
use weft_model::{IdError, LogRecord, SpanId, TraceId};

use crate::limits::{limit_attributes, truncate_value, ValidationReport};
use crate::otlp::{
    key_values_from_otlp, key_values_to_otlp, resource_from_otlp, resource_to_otlp,
    scope_from_otlp, scope_to_otlp, value_from_otlp, value_to_otlp, DerivedResourceFields,
};
use crate::{CodecError, ValidationLimits, TRUNCATED_ATTRIBUTES_KEY};

/// Decodes an OTLP/protobuf `ExportLogsServiceRequest`.
pub fn decode_otlp_logs_protobuf(body: &[u8]) -> Result<ExportLogsServiceRequest, CodecError> {
    Ok(ExportLogsServiceRequest::decode(body)?)
}

/// Decodes an OTLP/JSON `ExportLogsServiceRequest` (hex IDs, lowerCamelCase, as for traces).
pub fn decode_otlp_logs_json(body: &[u8]) -> Result<ExportLogsServiceRequest, CodecError> {
    serde_json::from_slice(body).map_err(CodecError::InvalidOtlpJson)
}

/// Rejects records with malformed IDs (an ID is optional on a log record, but one sent must
/// have the right length), truncates oversized bodies and values and caps attribute counts, in
/// place, like [`crate::validate_and_limit`] does for spans. The report counts records where
/// it says spans.
pub fn validate_and_limit_logs(
    request: &mut ExportLogsServiceRequest,
    limits: &ValidationLimits,
) -> ValidationReport {
    let mut report = ValidationReport::default();
    let mut record_index = 0usize;
    for resource_logs in &mut request.resource_logs {
        if let Some(resource) = &mut resource_logs.resource {
            limit_attributes(
                &mut resource.attributes,
                &mut resource.dropped_attributes_count,
                limits,
                &mut report,
            );
        }
        for scope_logs in &mut resource_logs.scope_logs {
            if let Some(scope) = &mut scope_logs.scope {
                limit_attributes(
                    &mut scope.attributes,
                    &mut scope.dropped_attributes_count,
                    limits,
                    &mut report,
                );
            }
            scope_logs.log_records.retain_mut(|record| {
                let index = record_index;
                record_index += 1;
                if let Err(reason) = check_log_ids(record) {
                    report.reject_record(index, "log record", reason);
                    return false;
                }
                limit_log_record(record, limits, &mut report);
                report.accepted_spans += 1;
                true
            });
        }
        resource_logs
            .scope_logs
            .retain(|scope_logs| !scope_logs.log_records.is_empty());
    }
    request
        .resource_logs
        .retain(|resource_logs| !resource_logs.scope_logs.is_empty());
    report
}

/// Counts the records of a request.
pub fn log_record_count(request: &ExportLogsServiceRequest) -> u64 {
    request
        .resource_logs
        .iter()
        .flat_map(|resource| &resource.scope_logs)
        .map(|scope| scope.log_records.len() as u64)
        .sum()
}

fn optional_trace_id(bytes: &[u8]) -> Result<Option<TraceId>, IdError> {
    if bytes.is_empty() || bytes.iter().all(|byte| *byte == 0) {
        return Ok(None);
    }
    TraceId::try_from_slice(bytes).map(Some)
}

fn optional_span_id(bytes: &[u8]) -> Result<Option<SpanId>, IdError> {
    if bytes.is_empty() || bytes.iter().all(|byte| *byte == 0) {
        return Ok(None);
    }
    SpanId::try_from_slice(bytes).map(Some)
}

fn check_log_ids(record: &otlp_logs::LogRecord) -> Result<(), IdError> {
    optional_trace_id(&record.trace_id)?;
    optional_span_id(&record.span_id)?;
    Ok(())
}

fn limit_log_record(
    record: &mut otlp_logs::LogRecord,
    limits: &ValidationLimits,
    report: &mut ValidationReport,
) {
    limit_attributes(
        &mut record.attributes,
        &mut record.dropped_attributes_count,
        limits,
        report,
    );
    let body_cut = record
        .body
        .as_mut()
        .is_some_and(|body| truncate_value(body, limits.max_attribute_value_bytes));
    if body_cut {
        report.truncated_values += 1;
        // Named like a truncated attribute, so a reader sees the body is not the original.
        let marker = record
            .attributes
            .iter_mut()
            .find(|attribute| attribute.key == TRUNCATED_ATTRIBUTES_KEY);
        let body_key = otlp_common::AnyValue {
            value: Some(otlp_common::any_value::Value::StringValue(
                "body".to_owned(),
            )),
        };
        match marker.and_then(|marker| marker.value.as_mut()) {
            Some(otlp_common::AnyValue {
                value: Some(otlp_common::any_value::Value::ArrayValue(keys)),
            }) => keys.values.push(body_key),
            _ => record.attributes.push(otlp_common::KeyValue {
                key: TRUNCATED_ATTRIBUTES_KEY.to_owned(),
                value: Some(otlp_common::AnyValue {
                    value: Some(otlp_common::any_value::Value::ArrayValue(
                        otlp_common::ArrayValue {
                            values: vec![body_key],
                        },
                    )),
                }),
                key_strindex: 0,
            }),
        }
    }
}

/// The log records of one request, and how many could not be converted.
#[derive(Debug, Default)]
pub struct ConvertedLogs {
    pub records: Vec<LogRecord>,
    /// Records skipped for malformed IDs; zero on bus data the receivers validated.
    pub invalid_records: u64,
}

/// Converts an OTLP logs request into Weft log records, sharing each resource and scope.
pub fn logs_from_otlp(request: ExportLogsServiceRequest) -> ConvertedLogs {
    let mut converted = ConvertedLogs::default();
    for resource_logs in request.resource_logs {
        let resource = Arc::new(resource_from_otlp(
            resource_logs.resource,
            resource_logs.schema_url,
        ));
        let service_name = DerivedResourceFields::from_resource(&resource).service_name;
        for scope_logs in resource_logs.scope_logs {
            let scope = Arc::new(scope_from_otlp(scope_logs.scope, scope_logs.schema_url));
            converted.records.reserve(scope_logs.log_records.len());
            for record in scope_logs.log_records {
                let (Ok(trace_id), Ok(span_id)) = (
                    optional_trace_id(&record.trace_id),
                    optional_span_id(&record.span_id),
                ) else {
                    converted.invalid_records += 1;
                    continue;
                };
                let time_unix_nanos = if record.time_unix_nano != 0 {
                    record.time_unix_nano
                } else {
                    record.observed_time_unix_nano
                };
                converted.records.push(LogRecord {
                    time_unix_nanos,
                    observed_time_unix_nanos: record.observed_time_unix_nano,
                    trace_id,
                    span_id,
                    severity_number: u8::try_from(record.severity_number.clamp(0, 24))
                        .unwrap_or_default(),
                    severity_text: record.severity_text,
                    body: record
                        .body
                        .map_or(weft_model::AttributeValue::Empty, value_from_otlp),
                    attributes: key_values_from_otlp(record.attributes),
                    dropped_attributes_count: record.dropped_attributes_count,
                    flags: record.flags,
                    event_name: record.event_name,
                    resource: Arc::clone(&resource),
                    scope: Arc::clone(&scope),
                    service_name: service_name.clone(),
                });
            }
        }
    }
    converted
}

/// One record back as an OTLP `LogRecord` (the resource and scope are the caller's to group).
pub fn log_record_to_otlp(record: &LogRecord) -> otlp_logs::LogRecord {
    otlp_logs::LogRecord {
        time_unix_nano: record.time_unix_nanos,
        observed_time_unix_nano: record.observed_time_unix_nanos,
        severity_number: i32::from(record.severity_number),
        severity_text: record.severity_text.clone(),
        body: match &record.body {
            weft_model::AttributeValue::Empty => None,
            body => Some(value_to_otlp(body)),
        },
        attributes: key_values_to_otlp(&record.attributes),
        dropped_attributes_count: record.dropped_attributes_count,
        flags: record.flags,
        trace_id: record
            .trace_id
            .map(|id| id.as_bytes().to_vec())
            .unwrap_or_default(),
        span_id: record
            .span_id
            .map(|id| id.as_bytes().to_vec())
            .unwrap_or_default(),
        event_name: record.event_name.clone(),
    }
}

/// Records back as an OTLP request, in their order: a run of records sharing a resource (and
/// scope) shares one `ResourceLogs` (and `ScopeLogs`), so converting the request again gives the
/// records back as they were.
pub fn otlp_from_logs(records: &[LogRecord]) -> ExportLogsServiceRequest {
    let mut request = ExportLogsServiceRequest::default();
    let mut last: Option<(
        &Arc<weft_model::Resource>,
        &Arc<weft_model::InstrumentationScope>,
    )> = None;
    for record in records {
        let (same_resource, same_scope) = match last {
            Some((resource, scope)) => {
                let same_resource = same(resource, &record.resource);
                (same_resource, same_resource && same(scope, &record.scope))
            }
            None => (false, false),
        };
        if !same_resource {
            request.resource_logs.push(otlp_logs::ResourceLogs {
                resource: Some(resource_to_otlp(&record.resource)),
                scope_logs: Vec::new(),
                schema_url: record.resource.schema_url.clone(),
            });
        }
        let resource_logs = request
            .resource_logs
            .last_mut()
            .expect("a resource was pushed for the first record");
        if !same_scope {
            resource_logs.scope_logs.push(otlp_logs::ScopeLogs {
                scope: Some(scope_to_otlp(&record.scope)),
                log_records: Vec::new(),
                schema_url: record.scope.schema_url.clone(),
            });
        }
        resource_logs
            .scope_logs
            .last_mut()
            .expect("a scope was pushed for the first record")
            .log_records
            .push(log_record_to_otlp(record));
        last = Some((&record.resource, &record.scope));
    }
    request
}

fn same<T: PartialEq>(left: &Arc<T>, right: &Arc<T>) -> bool {
    Arc::ptr_eq(left, right) || left == right
}
