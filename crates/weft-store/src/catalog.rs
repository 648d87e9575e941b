//! What services, operations and attribute keys exist, for listing and autocompletion without
//! scanning spans. Bounded: past the caps new names are not recorded (a span-name explosion must
//! not become a memory explosion), and entries not seen within the retention age are dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use weft_model::{AttributeValue, Span, SpanKind};
use weft_storage::{AttributeKeyInfo, CatalogAttribute, OperationInfo, ServiceCatalog};

const MAX_SERVICES: usize = 10_000;
const MAX_OPERATIONS_PER_SERVICE: usize = 5_000;
const MAX_KEYS_PER_SERVICE: usize = 1_000;
const MAX_VALUE_KEYS: usize = 5_000;
const MAX_VALUES_PER_KEY: usize = 100;
const MAX_VALUE_BYTES: usize = 256;

/// When something was first and last seen (span start times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Seen {
    first: u64,
    last: u64,
}

impl Seen {
    fn at(time: u64) -> Self {
        Seen {
            first: time,
            last: time,
        }
    }

    fn touch(&mut self, time: u64) {
        self.first = self.first.min(time);
        self.last = self.last.max(time);
    }
}

/// How a [`Seen`] is stored: older manifests hold only the last-seen time.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(untagged)]
enum SeenRepr {
    Both(u64, u64),
    Last(u64),
}

impl From<Seen> for SeenRepr {
    fn from(seen: Seen) -> Self {
        SeenRepr::Both(seen.first, seen.last)
    }
}

impl From<SeenRepr> for Seen {
    fn from(repr: SeenRepr) -> Self {
        match repr {
            SeenRepr::Both(first, last) => Seen { first, last },
            SeenRepr::Last(last) => Seen::at(last),
        }
    }
}

/// How a key's values are stored: older manifests hold a set without counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum ValuesRepr {
    Counts(BTreeMap<String, u64>),
    Set(BTreeSet<String>),
}

impl Default for ValuesRepr {
    fn default() -> Self {
        ValuesRepr::Counts(BTreeMap::new())
    }
}

#[derive(Default)]
struct ServiceEntry {
    seen: Seen,
    /// By span name then OTLP span kind: looked up by `&str`, so recording a span allocates
    /// nothing unless its operation is new.
    operations: HashMap<String, HashMap<i32, Seen>>,
    /// (name, kind) pairs in `operations`, for the cap.
    operation_count: usize,
    span_keys: HashMap<String, Seen>,
    resource_keys: HashMap<String, Seen>,
}

impl ServiceEntry {
    /// Every (name, OTLP kind, seen) operation.
    fn operation_list(&self) -> impl Iterator<Item = (&str, i32, Seen)> {
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
    /// Values per attribute key with the spans seen carrying each.
    values: HashMap<String, HashMap<String, u64>>,
}

/// The catalog as stored in the manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct CatalogSnapshot {
    services: BTreeMap<String, ServiceSnapshot>,
    values: BTreeMap<String, ValuesRepr>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ServiceSnapshot {
    #[serde(rename = "last_seen_unix_nanos")]
    seen: SeenRepr,
    /// (name, OTLP span kind, seen)
    operations: Vec<(String, i32, SeenRepr)>,
    span_keys: Vec<(String, SeenRepr)>,
    resource_keys: Vec<(String, SeenRepr)>,
}

/// Records `key` as seen at `seen`, allocating only for a new key, which is dropped past `cap`.
fn touch(map: &mut HashMap<String, Seen>, key: &str, seen: u64, cap: usize) {
    if let Some(known) = map.get_mut(key) {
        known.touch(seen);
    } else if map.len() < cap {
        map.insert(key.to_owned(), Seen::at(seen));
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
                Some(service) => {
                    service.seen.touch(seen);
                    service
                }
                None => self
                    .services
                    .entry(span.service_name.clone())
                    .or_insert_with(|| ServiceEntry {
                        seen: Seen::at(seen),
                        ..ServiceEntry::default()
                    }),
            };
            let kind = span.kind.to_otlp();
            match service
                .operations
                .get_mut(span.name.as_str())
                .and_then(|kinds| kinds.get_mut(&kind))
            {
                Some(known) => known.touch(seen),
                None if service.operation_count < MAX_OPERATIONS_PER_SERVICE => {
                    service
                        .operations
                        .entry(span.name.clone())
                        .or_default()
                        .insert(kind, Seen::at(seen));
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
            .map(|(name, span_kind, seen)| OperationInfo {
                name: name.to_owned(),
                span_kind: SpanKind::from_otlp(span_kind),
                first_seen_unix_nanos: seen.first,
                last_seen_unix_nanos: seen.last,
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
        let mut values: Vec<String> = self
            .values
            .get(key)
            .map(|values| {
                values
                    .keys()
                    .filter(|value| value.starts_with(prefix))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        values.sort();
        values
    }

    /// The `limit` most frequent values of a key, most frequent first.
    fn top_values(&self, key: &str, limit: usize) -> Vec<(String, u64)> {
        let mut values: Vec<(String, u64)> = self
            .values
            .get(key)
            .map(|values| {
                values
                    .iter()
                    .map(|(value, count)| (value.clone(), *count))
                    .collect()
            })
            .unwrap_or_default();
        values.sort_by(|(left, left_count), (right, right_count)| {
            right_count.cmp(left_count).then_with(|| left.cmp(right))
        });
        values.truncate(limit);
        values
    }

    /// The whole catalog, or one service's, with first/last seen and top values.
    pub(crate) fn services_in_detail(
        &self,
        service: Option<&str>,
        top_values: usize,
    ) -> Vec<ServiceCatalog> {
        let mut services: Vec<ServiceCatalog> = self
            .services
            .iter()
            .filter(|(name, _)| service.is_none_or(|wanted| wanted == name.as_str()))
            .map(|(name, entry)| {
                let mut attributes: Vec<CatalogAttribute> = [
                    ("span", &entry.span_keys),
                    ("resource", &entry.resource_keys),
                ]
                .into_iter()
                .flat_map(|(scope, keys)| keys.iter().map(move |(key, seen)| (scope, key, *seen)))
                .map(|(scope, key, seen)| CatalogAttribute {
                    key: key.clone(),
                    scope,
                    first_seen_unix_nanos: seen.first,
                    last_seen_unix_nanos: seen.last,
                    top_values: self.top_values(key, top_values),
                })
                .collect();
                attributes
                    .sort_by(|a, b| (a.scope, a.key.as_str()).cmp(&(b.scope, b.key.as_str())));
                ServiceCatalog {
                    name: name.clone(),
                    first_seen_unix_nanos: entry.seen.first,
                    last_seen_unix_nanos: entry.seen.last,
                    operations: self.operations(name, None),
                    attributes,
                }
            })
            .collect();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        services
    }

    /// Forgets what was last seen before `cutoff_unix_nanos`.
    pub(crate) fn expire(&mut self, cutoff_unix_nanos: u64) {
        self.services.retain(|_, entry| {
            entry.operations.retain(|_, kinds| {
                kinds.retain(|_, seen| seen.last >= cutoff_unix_nanos);
                !kinds.is_empty()
            });
            entry.operation_count = entry.operations.values().map(HashMap::len).sum();
            entry
                .span_keys
                .retain(|_, seen| seen.last >= cutoff_unix_nanos);
            entry
                .resource_keys
                .retain(|_, seen| seen.last >= cutoff_unix_nanos);
            entry.seen.last >= cutoff_unix_nanos
        });
    }

    pub(crate) fn snapshot(&self) -> CatalogSnapshot {
        let pairs = |map: &HashMap<String, Seen>| {
            let mut pairs: Vec<(String, SeenRepr)> = map
                .iter()
                .map(|(key, seen)| (key.clone(), SeenRepr::from(*seen)))
                .collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs
        };
        CatalogSnapshot {
            services: self
                .services
                .iter()
                .map(|(name, entry)| {
                    let mut operations: Vec<(String, i32, SeenRepr)> = entry
                        .operation_list()
                        .map(|(name, kind, seen)| (name.to_owned(), kind, SeenRepr::from(seen)))
                        .collect();
                    operations.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
                    (
                        name.clone(),
                        ServiceSnapshot {
                            seen: entry.seen.into(),
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
                .map(|(key, values)| {
                    (
                        key.clone(),
                        ValuesRepr::Counts(
                            values
                                .iter()
                                .map(|(value, count)| (value.clone(), *count))
                                .collect(),
                        ),
                    )
                })
                .collect(),
        }
    }

    pub(crate) fn from_snapshot(snapshot: CatalogSnapshot) -> Self {
        Catalog {
            services: snapshot
                .services
                .into_iter()
                .map(|(name, service)| {
                    let seen_map = |pairs: Vec<(String, SeenRepr)>| -> HashMap<String, Seen> {
                        pairs
                            .into_iter()
                            .map(|(key, seen)| (key, seen.into()))
                            .collect()
                    };
                    let mut entry = ServiceEntry {
                        seen: service.seen.into(),
                        span_keys: seen_map(service.span_keys),
                        resource_keys: seen_map(service.resource_keys),
                        ..ServiceEntry::default()
                    };
                    for (name, kind, seen) in service.operations {
                        entry
                            .operations
                            .entry(name)
                            .or_default()
                            .insert(kind, seen.into());
                        entry.operation_count += 1;
                    }
                    (name, entry)
                })
                .collect(),
            values: snapshot
                .values
                .into_iter()
                .map(|(key, values)| {
                    let counts = match values {
                        ValuesRepr::Counts(counts) => counts.into_iter().collect(),
                        ValuesRepr::Set(set) => set.into_iter().map(|value| (value, 0)).collect(),
                    };
                    (key, counts)
                })
                .collect(),
        }
    }
}

fn record_value(
    values: &mut HashMap<String, HashMap<String, u64>>,
    key: &str,
    value: &AttributeValue,
) {
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
        if let Some(count) = known.get_mut(text) {
            *count += 1;
        } else if known.len() < MAX_VALUES_PER_KEY {
            known.insert(text.to_owned(), 1);
        }
    } else if values.len() < MAX_VALUE_KEYS {
        values.insert(key.to_owned(), HashMap::from([(text.to_owned(), 1)]));
    }
}
