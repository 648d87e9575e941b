//! What services, operations and attribute keys exist, for listing and autocompletion without
//! scanning spans. Bounded: past the caps new names are not recorded (a span-name explosion must
//! not become a memory explosion), and entries not seen within the retention age are dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use weft_model::{AttributeValue, Span, SpanKind};

const MAX_SERVICES: usize = 10_000;
const MAX_OPERATIONS_PER_SERVICE: usize = 5_000;
const MAX_KEYS_PER_SERVICE: usize = 1_000;
const MAX_VALUE_KEYS: usize = 5_000;
const MAX_VALUES_PER_KEY: usize = 100;
const MAX_VALUE_BYTES: usize = 256;

/// One operation (span name and kind) of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationInfo {
    pub name: String,
    pub span_kind: SpanKind,
    pub last_seen_unix_nanos: u64,
}

/// An attribute key and where it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeKeyInfo {
    pub key: String,
    /// `span` or `resource`.
    pub scope: &'static str,
}

#[derive(Default)]
struct ServiceEntry {
    last_seen_unix_nanos: u64,
    /// Last seen, by span name then OTLP span kind: looked up by `&str`, so recording a span
    /// allocates nothing unless its operation is new.
    operations: HashMap<String, HashMap<i32, u64>>,
    /// (name, kind) pairs in `operations`, for the cap.
    operation_count: usize,
    span_keys: HashMap<String, u64>,
    resource_keys: HashMap<String, u64>,
}

impl ServiceEntry {
    /// Every (name, OTLP kind, last seen) operation.
    fn operation_list(&self) -> impl Iterator<Item = (&str, i32, u64)> {
        self.operations.iter().flat_map(|(name, kinds)| {
            kinds
                .iter()
                .map(move |(kind, seen)| (name.as_str(), *kind, *seen))
        })
    }
}

#[derive(Default)]
pub(crate) struct Catalog {
    services: HashMap<String, ServiceEntry>,
    values: HashMap<String, BTreeSet<String>>,
}

/// The catalog as stored in the manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct CatalogSnapshot {
    services: BTreeMap<String, ServiceSnapshot>,
    values: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ServiceSnapshot {
    last_seen_unix_nanos: u64,
    /// (name, OTLP span kind, last seen)
    operations: Vec<(String, i32, u64)>,
    span_keys: Vec<(String, u64)>,
    resource_keys: Vec<(String, u64)>,
}

/// Records `key` as seen at `seen`, allocating only for a new key, which is dropped past `cap`.
fn touch(map: &mut HashMap<String, u64>, key: &str, seen: u64, cap: usize) {
    if let Some(last_seen) = map.get_mut(key) {
        *last_seen = (*last_seen).max(seen);
    } else if map.len() < cap {
        map.insert(key.to_owned(), seen);
    }
}

impl Catalog {
    pub(crate) fn record(&mut self, spans: &[Span]) {
        let mut previous_resource: Option<*const weft_model::Resource> = None;
        for span in spans {
            let seen = span.start_time_unix_nanos;
            if !self.services.contains_key(&span.service_name)
                && self.services.len() >= MAX_SERVICES
            {
                continue;
            }
            let service = match self.services.get_mut(&span.service_name) {
                Some(service) => service,
                None => self.services.entry(span.service_name.clone()).or_default(),
            };
            service.last_seen_unix_nanos = service.last_seen_unix_nanos.max(seen);
            let kind = span.kind.to_otlp();
            match service
                .operations
                .get_mut(span.name.as_str())
                .and_then(|kinds| kinds.get_mut(&kind))
            {
                Some(last_seen) => *last_seen = (*last_seen).max(seen),
                None if service.operation_count < MAX_OPERATIONS_PER_SERVICE => {
                    service
                        .operations
                        .entry(span.name.clone())
                        .or_default()
                        .insert(kind, seen);
                    service.operation_count += 1;
                }
                None => {}
            }
            for attribute in &span.attributes {
                touch(
                    &mut service.span_keys,
                    &attribute.key,
                    seen,
                    MAX_KEYS_PER_SERVICE,
                );
                record_value(&mut self.values, &attribute.key, &attribute.value);
            }
            let resource = std::sync::Arc::as_ptr(&span.resource);
            if previous_resource != Some(resource) {
                previous_resource = Some(resource);
                for attribute in &span.resource.attributes {
                    touch(
                        &mut service.resource_keys,
                        &attribute.key,
                        seen,
                        MAX_KEYS_PER_SERVICE,
                    );
                    record_value(&mut self.values, &attribute.key, &attribute.value);
                }
            }
        }
    }

    pub(crate) fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = self.services.keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn operations(&self, service: &str, kind: Option<SpanKind>) -> Vec<OperationInfo> {
        let Some(entry) = self.services.get(service) else {
            return Vec::new();
        };
        let mut operations: Vec<OperationInfo> = entry
            .operation_list()
            .filter(|(_, span_kind, _)| kind.is_none_or(|kind| kind.to_otlp() == *span_kind))
            .map(|(name, span_kind, last_seen)| OperationInfo {
                name: name.to_owned(),
                span_kind: SpanKind::from_otlp(span_kind),
                last_seen_unix_nanos: last_seen,
            })
            .collect();
        operations.sort_by(|a, b| {
            (a.name.as_str(), a.span_kind.to_otlp()).cmp(&(b.name.as_str(), b.span_kind.to_otlp()))
        });
        operations
    }

    pub(crate) fn attribute_keys(&self, service: Option<&str>) -> Vec<AttributeKeyInfo> {
        let mut keys: BTreeSet<(&str, &'static str)> = BTreeSet::new();
        for (name, entry) in &self.services {
            if service.is_some_and(|wanted| wanted != name) {
                continue;
            }
            keys.extend(entry.span_keys.keys().map(|key| (key.as_str(), "span")));
            keys.extend(
                entry
                    .resource_keys
                    .keys()
                    .map(|key| (key.as_str(), "resource")),
            );
        }
        keys.into_iter()
            .map(|(key, scope)| AttributeKeyInfo {
                key: key.to_owned(),
                scope,
            })
            .collect()
    }

    pub(crate) fn attribute_values(&self, key: &str, prefix: &str) -> Vec<String> {
        self.values
            .get(key)
            .map(|values| {
                values
                    .iter()
                    .filter(|value| value.starts_with(prefix))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets what was last seen before `cutoff_unix_nanos`.
    pub(crate) fn expire(&mut self, cutoff_unix_nanos: u64) {
        self.services.retain(|_, entry| {
            entry.operations.retain(|_, kinds| {
                kinds.retain(|_, seen| *seen >= cutoff_unix_nanos);
                !kinds.is_empty()
            });
            entry.operation_count = entry.operations.values().map(HashMap::len).sum();
            entry.span_keys.retain(|_, seen| *seen >= cutoff_unix_nanos);
            entry
                .resource_keys
                .retain(|_, seen| *seen >= cutoff_unix_nanos);
            entry.last_seen_unix_nanos >= cutoff_unix_nanos
        });
    }

    pub(crate) fn snapshot(&self) -> CatalogSnapshot {
        let pairs = |map: &HashMap<String, u64>| {
            let mut pairs: Vec<(String, u64)> =
                map.iter().map(|(key, seen)| (key.clone(), *seen)).collect();
            pairs.sort();
            pairs
        };
        CatalogSnapshot {
            services: self
                .services
                .iter()
                .map(|(name, entry)| {
                    let mut operations: Vec<(String, i32, u64)> = entry
                        .operation_list()
                        .map(|(name, kind, seen)| (name.to_owned(), kind, seen))
                        .collect();
                    operations.sort();
                    (
                        name.clone(),
                        ServiceSnapshot {
                            last_seen_unix_nanos: entry.last_seen_unix_nanos,
                            operations,
                            span_keys: pairs(&entry.span_keys),
                            resource_keys: pairs(&entry.resource_keys),
                        },
                    )
                })
                .collect(),
            values: self
                .values
                .iter()
                .map(|(key, values)| (key.clone(), values.clone()))
                .collect(),
        }
    }

    pub(crate) fn from_snapshot(snapshot: CatalogSnapshot) -> Self {
        Catalog {
            services: snapshot
                .services
                .into_iter()
                .map(|(name, service)| {
                    let mut entry = ServiceEntry {
                        last_seen_unix_nanos: service.last_seen_unix_nanos,
                        span_keys: service.span_keys.into_iter().collect(),
                        resource_keys: service.resource_keys.into_iter().collect(),
                        ..ServiceEntry::default()
                    };
                    for (name, kind, seen) in service.operations {
                        entry.operations.entry(name).or_default().insert(kind, seen);
                        entry.operation_count += 1;
                    }
                    (name, entry)
                })
                .collect(),
            values: snapshot.values.into_iter().collect(),
        }
    }
}

fn record_value(values: &mut HashMap<String, BTreeSet<String>>, key: &str, value: &AttributeValue) {
    let text = match value {
        AttributeValue::String(text) if text.len() <= MAX_VALUE_BYTES => text.as_str(),
        AttributeValue::Bool(true) => "true",
        AttributeValue::Bool(false) => "false",
        AttributeValue::Int(_) => {
            // Numbers are usually IDs or measurements: too many to suggest, and one string
            // allocation per span to find that out; suggest keys only.
            return;
        }
        _ => return,
    };
    if let Some(known) = values.get_mut(key) {
        if known.len() < MAX_VALUES_PER_KEY && !known.contains(text) {
            known.insert(text.to_owned());
        }
    } else if values.len() < MAX_VALUE_KEYS {
        values.insert(key.to_owned(), BTreeSet::from([text.to_owned()]));
    }
}
