//! What the analyses need of a span, extracted once when the span enters the assembler.
//!
//! An open trace may wait 30 s or more for its last span, so the assembler holds only these
//! facts, not whole spans: service and operation names are interned, a database statement is
//! kept as its fingerprint (shorter than the statement and what every analysis wants), and
//! attributes nothing reads are not copied.
//!
//! Attribute names read (OpenTelemetry semantic conventions, newest name first):
//! - database: `db.system.name` / `db.system`, `db.namespace` / `db.name`,
//!   `db.query.text` / `db.statement`, `db.operation.name` / `db.operation`,
//!   `db.collection.name` / `db.sql.table`;
//! - Redis (`db.system` = `redis`): the command and first key from the operation name and query
//!   text (see [`crate::redis`]); a cache hit from `cache.hit` / `db.redis.hit` (bool, or the
//!   strings `hit`/`miss`); the value size in bytes from `db.redis.value_size_bytes` /
//!   `cache.value_size_bytes`;
//! - peers of client spans: `peer.service`, `server.address`, `net.peer.name`;
//! - configured timeouts (no semantic convention exists; see [`TIMEOUT_ATTRIBUTES`]);
//! - exceptions: the `exception` event's `exception.type` and `exception.message`.

use std::sync::Arc;

use hashbrown::HashMap;
use weft_model::{find_attribute, AttributeValue, Span, SpanId, SpanKind};

use crate::redis::{mask_redis_key, parse_redis_call};
use crate::sql::{fingerprint_hash, fingerprint_sql};

/// Attributes read as a span's configured timeout, in this order. Values are milliseconds as a
/// number (or numeric text), except `rpc.grpc.request.metadata.grpc-timeout`, which is the gRPC
/// wire header (`100m`, `3S`, `1M`; a string or an array of strings as the OpenTelemetry gRPC
/// instrumentations record request metadata).
pub const TIMEOUT_ATTRIBUTES: &[&str] = &[
    "rpc.timeout_ms",
    "http.client.timeout_ms",
    "timeout_ms",
    "weft.timeout_ms",
    "rpc.grpc.request.metadata.grpc-timeout",
];

/// A database call.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseFacts {
    /// `db.system`: `mysql`, `postgresql`, …
    pub system: Arc<str>,
    /// `db.name` / `db.namespace`, empty when not sent.
    pub name: Arc<str>,
    /// The statement's fingerprint, or the operation name when no statement was sent.
    pub fingerprint: Arc<str>,
    pub fingerprint_hash: u64,
    /// SELECT, INSERT, …
    pub operation: Arc<str>,
    /// Tables the statement names (or `db.collection.name`).
    pub tables: Vec<Arc<str>>,
}

/// A Redis call.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisFacts {
    pub command: Arc<str>,
    /// The key as sent; hot keys are counted by it.
    pub key: Option<Box<str>>,
    /// The key with its variable parts masked (`cart:user:{n}`); statistics group by it.
    pub key_pattern: Arc<str>,
    pub hit: Option<bool>,
    pub value_size_bytes: Option<u64>,
}

/// The first exception recorded on a span.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionFacts {
    pub exception_type: Box<str>,
    pub message: Box<str>,
    pub time_unix_nanos: u64,
}

/// One span as the analyses see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanFacts {
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub service: Arc<str>,
    pub operation: Arc<str>,
    pub kind: SpanKind,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub is_error: bool,
    /// The status message of a failed span (empty otherwise).
    pub status_message: Box<str>,
    /// Where a client or producer span goes: `peer.service`, else `server.address`.
    pub peer: Option<Arc<str>>,
    pub database: Option<DatabaseFacts>,
    pub redis: Option<RedisFacts>,
    pub timeout_nanos: Option<u64>,
    pub exception: Option<ExceptionFacts>,
}

impl SpanFacts {
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }
}

/// Shares one allocation per distinct name, so a million open spans of fifty operations hold
/// fifty strings. Bounded: past `capacity` names, new ones are allocated per span instead.
#[derive(Debug)]
pub struct Interner {
    names: HashMap<Arc<str>, ()>,
    capacity: usize,
}

impl Interner {
    pub fn new(capacity: usize) -> Self {
        Interner {
            names: HashMap::new(),
            capacity,
        }
    }

    pub fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some((shared, ())) = self.names.get_key_value(name) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        if self.names.len() < self.capacity {
            self.names.insert(shared.clone(), ());
        }
        shared
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

fn text_attribute<'a>(span: &'a Span, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|key| span.attribute(key).and_then(AttributeValue::as_str))
        .filter(|text| !text.is_empty())
}

/// Extracts the facts of `span`, interning names in `interner`.
pub fn span_facts(span: &Span, interner: &mut Interner) -> SpanFacts {
    let database_system = text_attribute(span, &["db.system.name", "db.system"]);
    let mut database = None;
    let mut redis = None;
    if let Some(system) = database_system {
        let statement = text_attribute(span, &["db.query.text", "db.statement"]);
        let operation_name = text_attribute(span, &["db.operation.name", "db.operation"]);
        if system.eq_ignore_ascii_case("redis") {
            redis = redis_facts(span, operation_name, statement, interner);
        } else {
            database = Some(database_facts(
                span,
                system,
                statement,
                operation_name,
                interner,
            ));
        }
    }
    let peer = match span.kind {
        SpanKind::Client | SpanKind::Producer => {
            text_attribute(span, &["peer.service", "server.address", "net.peer.name"])
                .map(|peer| interner.intern(peer))
        }
        _ => None,
    };
    SpanFacts {
        span_id: span.span_id,
        parent_span_id: span.parent_span_id,
        service: interner.intern(&span.service_name),
        operation: interner.intern(&span.name),
        kind: span.kind,
        start_unix_nanos: span.start_time_unix_nanos,
        end_unix_nanos: span.end_time_unix_nanos,
        is_error: span.is_error(),
        status_message: if span.is_error() {
            span.status.message.as_str().into()
        } else {
            Box::from("")
        },
        peer,
        database,
        redis,
        timeout_nanos: configured_timeout_nanos(span),
        exception: exception_facts(span),
    }
}

fn database_facts(
    span: &Span,
    system: &str,
    statement: Option<&str>,
    operation_name: Option<&str>,
    interner: &mut Interner,
) -> DatabaseFacts {
    let name = text_attribute(span, &["db.namespace", "db.name"]).unwrap_or("");
    let collection = text_attribute(span, &["db.collection.name", "db.sql.table"]);
    let (fingerprint, operation, mut tables) = match statement {
        Some(statement) => {
            let fingerprint = fingerprint_sql(statement);
            (fingerprint.text, fingerprint.operation, fingerprint.tables)
        }
        // Without the statement, the operation (and table) is the best grouping there is.
        None => {
            let operation = operation_name.unwrap_or(&span.name).to_ascii_uppercase();
            let text = match collection {
                Some(collection) => format!("{operation} {collection}"),
                None => operation.clone(),
            };
            (text, operation, Vec::new())
        }
    };
    if tables.is_empty() {
        if let Some(collection) = collection {
            tables.push(collection.to_owned());
        }
    }
    DatabaseFacts {
        system: interner.intern(&system.to_ascii_lowercase()),
        name: interner.intern(name),
        fingerprint_hash: fingerprint_hash(&fingerprint),
        fingerprint: interner.intern(&fingerprint),
        operation: interner.intern(&operation),
        tables: tables.iter().map(|table| interner.intern(table)).collect(),
    }
}

fn redis_facts(
    span: &Span,
    operation_name: Option<&str>,
    statement: Option<&str>,
    interner: &mut Interner,
) -> Option<RedisFacts> {
    let call = parse_redis_call(operation_name, statement)?;
    let key_pattern = match call.key {
        Some(key) => mask_redis_key(key),
        None => String::new(),
    };
    let hit = ["cache.hit", "db.redis.hit"]
        .iter()
        .find_map(|key| match span.attribute(key) {
            Some(AttributeValue::Bool(hit)) => Some(*hit),
            Some(AttributeValue::String(text)) if text.eq_ignore_ascii_case("hit") => Some(true),
            Some(AttributeValue::String(text)) if text.eq_ignore_ascii_case("miss") => Some(false),
            _ => None,
        });
    let value_size_bytes = ["db.redis.value_size_bytes", "cache.value_size_bytes"]
        .iter()
        .find_map(|key| match span.attribute(key) {
            Some(AttributeValue::Int(size)) => u64::try_from(*size).ok(),
            Some(AttributeValue::String(text)) => text.parse().ok(),
            _ => None,
        });
    Some(RedisFacts {
        command: interner.intern(&call.command),
        key: call.key.map(Box::from),
        key_pattern: interner.intern(&key_pattern),
        hit,
        value_size_bytes,
    })
}

/// The span's configured timeout from the first of [`TIMEOUT_ATTRIBUTES`] it carries.
pub fn configured_timeout_nanos(span: &Span) -> Option<u64> {
    TIMEOUT_ATTRIBUTES.iter().find_map(|key| {
        let value = find_attribute(&span.attributes, key)?;
        if key.ends_with("grpc-timeout") {
            let header = match value {
                AttributeValue::String(text) => text.as_str(),
                AttributeValue::Array(values) => values.first()?.as_str()?,
                _ => return None,
            };
            return parse_grpc_timeout_nanos(header);
        }
        let millis = match value {
            AttributeValue::Int(millis) => u64::try_from(*millis).ok()?,
            AttributeValue::Double(millis) if *millis >= 0.0 && millis.is_finite() => {
                return Some((*millis * 1e6) as u64);
            }
            AttributeValue::String(text) => text.trim().parse().ok()?,
            _ => return None,
        };
        (millis > 0).then(|| millis.saturating_mul(1_000_000))
    })
}

/// The gRPC `grpc-timeout` header: at most 8 digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout_nanos(header: &str) -> Option<u64> {
    let header = header.trim();
    let unit = header.chars().last()?;
    let digits = &header[..header.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    let nanos_per_unit: u64 = match unit {
        'H' => 3_600_000_000_000,
        'M' => 60_000_000_000,
        'S' => 1_000_000_000,
        'm' => 1_000_000,
        'u' => 1_000,
        'n' => 1,
        _ => return None,
    };
    value.checked_mul(nanos_per_unit).filter(|nanos| *nanos > 0)
}

fn exception_facts(span: &Span) -> Option<ExceptionFacts> {
    let event = span.events.iter().find(|event| event.name == "exception")?;
    let text = |key: &str| {
        find_attribute(&event.attributes, key)
            .and_then(AttributeValue::as_str)
            .unwrap_or("")
    };
    Some(ExceptionFacts {
        exception_type: text("exception.type").into(),
        message: text("exception.message").into(),
        time_unix_nanos: event.time_unix_nanos,
    })
}
