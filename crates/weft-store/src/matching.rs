//! Span conditions of a search evaluated on a segment's decoded columns (the projection a
//! search reads): what `Segment::scan_row_group` calls for each batch. In memory the same
//! conditions are `SearchQuery::matches_span`; the brute-force test keeps the two in agreement.

use std::collections::HashMap;

use arrow_array::{Array, RecordBatch};
use weft_model::TraceId;

use crate::schema::{self, BatchColumns};
use crate::StoreError;
use weft_storage::{SearchQuery, TraceIdRange};

/// Calls `on_match` for every row of a segment batch that satisfies the query's span
/// conditions. The batch holds the search projection.
pub(crate) fn match_batch(
    batch: &RecordBatch,
    query: &SearchQuery,
    trace_ids: Option<&TraceIdRange>,
    on_match: &mut dyn FnMut(TraceId, u64),
) -> Result<(), StoreError> {
    let columns = BatchColumns::new(batch);
    let ids = columns.trace_ids()?;
    let explicit_parents = columns.parent_span_ids()?;
    let parent_row_offsets = columns.parent_row_offsets()?;
    let starts = columns.starts()?;
    let durations = columns.durations()?;
    let services = columns.services()?;
    let names = columns.names()?;
    let kinds = columns.kinds()?;
    let status_codes = columns.status_codes()?;
    let root_only = !query.has_span_conditions() && query.has_root_conditions();
    let (wanted_service, wanted_name) = if root_only {
        (
            query.root_service.as_deref(),
            query.root_operation.as_deref(),
        )
    } else {
        (query.service.as_deref(), query.operation.as_deref())
    };
    // Compare dictionary keys, not strings; a value missing from the dictionary matches nothing.
    let dictionary_key =
        |dictionary: &arrow_array::DictionaryArray<arrow_array::types::Int32Type>,
         wanted: Option<&str>|
         -> Option<Option<i32>> {
            let Some(wanted) = wanted else {
                return Some(None);
            };
            let values = dictionary
                .values()
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()?;
            (0..values.len())
                .find(|&index| values.value(index) == wanted)
                .map(|index| Some(index as i32))
        };
    let Some(service_key) = dictionary_key(services, wanted_service) else {
        return Ok(());
    };
    let Some(name_key) = dictionary_key(names, wanted_name) else {
        return Ok(());
    };
    let attributes = if query.attributes.is_empty() {
        None
    } else {
        Some((columns.attributes_for_matching()?, columns.resources()?))
    };
    let wanted_values: Vec<schema::WantedValue<'_>> = query
        .attributes
        .iter()
        .map(|(_, value)| schema::WantedValue::new(value))
        .collect();
    // Per condition: whether a resource (by dictionary key) has the attribute.
    let mut resource_hits: Vec<HashMap<i32, bool>> = vec![HashMap::new(); query.attributes.len()];
    let business_keys = match query.business_key {
        Some(_) => Some(columns.business_keys()?),
        None => None,
    };
    let start_window = query.start_unix_nanos..=query.end_unix_nanos;
    for row in 0..batch.num_rows() {
        let start = starts.value(row).cast_unsigned();
        if !start_window.contains(&start)
            || service_key.is_some_and(|key| services.keys().value(row) != key)
            || name_key.is_some_and(|key| names.keys().value(row) != key)
        {
            continue;
        }
        if trace_ids.is_some_and(|range| !range.overlaps(ids.value(row), ids.value(row))) {
            continue;
        }
        if root_only {
            if !BatchColumns::is_root(explicit_parents, parent_row_offsets, row) {
                continue;
            }
        } else {
            if query
                .span_kind
                .is_some_and(|kind| kind.to_otlp() != kinds.value(row))
                || query
                    .status
                    .is_some_and(|status| !status.admits_otlp(status_codes.value(row)))
                || !query.admits_duration(durations.value(row))
            {
                continue;
            }
            if let (Some((list, values)), Some(wanted)) = (business_keys, &query.business_key) {
                let offsets = list.value_offsets();
                let range = offsets[row] as usize..offsets[row + 1] as usize;
                if !range.into_iter().any(|entry| values.value(entry) == wanted) {
                    continue;
                }
            }
            if let Some((attributes, resources)) = &attributes {
                let resource_key = resources.keys().value(row);
                let entries = attributes.range(row);
                let all_match = wanted_values.iter().enumerate().all(|(index, wanted)| {
                    let key = &query.attributes[index].0;
                    // Compare the (cheap, typed) value first; the key only on a value match.
                    entries.clone().any(|entry| {
                        attributes.value_equals(entry, wanted) && attributes.key(entry) == key
                    }) || *resource_hits[index]
                        .entry(resource_key)
                        .or_insert_with(|| resource_has(resources, resource_key, key, wanted.text))
                });
                if !all_match {
                    continue;
                }
            }
        }
        on_match(schema::trace_id_at(ids, row), start);
    }
    Ok(())
}

fn resource_has(
    resources: &arrow_array::DictionaryArray<arrow_array::types::Int32Type>,
    resource_key: i32,
    key: &str,
    wanted: &str,
) -> bool {
    let Some(values) = resources
        .values()
        .as_any()
        .downcast_ref::<arrow_array::BinaryArray>()
    else {
        return false;
    };
    weft_codec::decode_resource(values.value(resource_key as usize)).is_ok_and(|resource| {
        resource.attributes.iter().any(|attribute| {
            attribute.key == key && weft_storage::attribute_value_matches(&attribute.value, wanted)
        })
    })
}
