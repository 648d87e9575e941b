//! The tables Weft keeps in ClickHouse, as SQL for the server it talks to. Sans-I/O: the store
//! runs these statements; tests print them and run them on both a modern ClickHouse (chdb) and
//! the old 18.16 server.
//!
//! One span table, `spans`, a row per span: the columns searches filter on, the span's typed
//! attributes as a `Nested` column, and its events and links, resource and scope as OTLP
//! protobuf (as the embedded store's Parquet segments keep them), so a trace read back is the
//! trace that was sent. The engine is a `ReplacingMergeTree` whose sorting key ends in the trace
//! and span IDs: a batch inserted again after a processor restarts (same offsets, same rows)
//! collapses into the rows already there, and reads drop the duplicates merges have not yet
//! removed.

use std::fmt;
use std::time::Duration;

use weft_model::TraceId;

/// `SELECT version()` of the server, e.g. `18.16.1` or `26.9.1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    pub major: u32,
    pub minor: u32,
}

impl ServerVersion {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.trim().split('.');
        let mut number = |what: &str| {
            parts
                .next()
                .and_then(|part| part.parse::<u32>().ok())
                .ok_or_else(|| format!("unrecognised clickhouse version {text:?}: no {what}"))
        };
        Ok(ServerVersion {
            major: number("major version")?,
            minor: number("minor version")?,
        })
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{}", self.major, self.minor)
    }
}

/// Which DDL the server gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaProfile {
    /// ClickHouse 20.1 and later: `DateTime64(9)` times, column codecs, `LowCardinality`
    /// names, bloom-filter and min-max skip indexes (no longer experimental), TTL retention.
    Modern,
    /// Older servers (18.16 is the oldest tested): nanoseconds as `Int64`, the default
    /// compression, no skip indexes, no TTL (retention drops whole partitions instead).
    Legacy,
}

impl SchemaProfile {
    /// The first version where everything the modern profile uses is generally available
    /// (`DateTime64` and skip indexes without the experimental setting: 20.1).
    pub const MODERN_SINCE: ServerVersion = ServerVersion {
        major: 20,
        minor: 1,
    };

    pub fn for_version(version: ServerVersion) -> Self {
        if version >= Self::MODERN_SINCE {
            SchemaProfile::Modern
        } else {
            SchemaProfile::Legacy
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SchemaProfile::Modern => "modern",
            SchemaProfile::Legacy => "legacy",
        }
    }
}

/// The schema in one database for one profile.
#[derive(Debug, Clone)]
pub struct Schema {
    pub database: String,
    pub profile: SchemaProfile,
    /// How long spans are kept: a TTL on the modern profile.
    pub span_retention: Duration,
}

/// The schema's own version, recorded in `schema_migrations` once its statements ran.
pub const SCHEMA_VERSION: u32 = 1;

/// The columns of `spans` in the order [`crate::SpanRow`] writes them.
pub const SPAN_COLUMNS: &str = "trace_id, span_id, parent_span_id, start_time, duration_nanos, \
     service_name, name, kind, status_code, status_message, trace_state, flags, \
     dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, \
     attributes.double, attributes.bool, attributes.bytes, resource_attributes.key, \
     resource_attributes.value, business_keys, detail, resource, scope";

/// The columns of `logs` in the order [`crate::LogRow`] writes them.
pub const LOG_COLUMNS: &str = "time, observed_time, trace_id, span_id, severity_number, \
     severity_text, service_name, body_text, body, attribute_strings, attributes, \
     dropped_attributes_count, flags, event_name, resource, scope, record_hash";

/// What makes two rows of `logs` the same record: the `ReplacingMergeTree`'s order key and
/// every read's `LIMIT 1 BY`.
pub const LOG_ORDER_KEY: &str = "service_name, time, trace_id, span_id, record_hash";

/// The columns of `logs`: name, modern type, legacy type (times as for spans).
const LOG_TABLE_COLUMNS: [(&str, &str, &str); 17] = [
    ("time", "DateTime64(9) CODEC(Delta, ZSTD(1))", "Int64"),
    (
        "observed_time",
        "DateTime64(9) CODEC(Delta, ZSTD(1))",
        "Int64",
    ),
    // All zeros for a record outside any trace or span.
    ("trace_id", "FixedString(16)", "FixedString(16)"),
    ("span_id", "FixedString(8)", "FixedString(8)"),
    ("severity_number", "UInt8", "UInt8"),
    ("severity_text", "LowCardinality(String)", "String"),
    ("service_name", "LowCardinality(String)", "String"),
    // The body as text and the attributes' string values: what a text search looks in.
    ("body_text", "String CODEC(ZSTD(1))", "String"),
    // The body and the attributes as OTLP `AnyValue` bytes (a map for the attributes).
    ("body", "String CODEC(ZSTD(1))", "String"),
    (
        "attribute_strings",
        "Array(String) CODEC(ZSTD(1))",
        "Array(String)",
    ),
    ("attributes", "String CODEC(ZSTD(1))", "String"),
    ("dropped_attributes_count", "UInt32", "UInt32"),
    ("flags", "UInt32", "UInt32"),
    ("event_name", "LowCardinality(String)", "String"),
    ("resource", "String CODEC(ZSTD(3))", "String"),
    ("scope", "String CODEC(ZSTD(3))", "String"),
    ("record_hash", "UInt64", "UInt64"),
];

/// The columns of `spans`: name, modern type, legacy type. One table, two spellings: the
/// modern profile adds codecs and `LowCardinality`, and keeps times as `DateTime64(9)` where
/// the legacy one has `Int64` nanoseconds (both an `i64` on the wire).
const SPAN_TABLE_COLUMNS: [(&str, &str, &str); 19] = [
    ("trace_id", "FixedString(16)", "FixedString(16)"),
    ("span_id", "FixedString(8)", "FixedString(8)"),
    ("parent_span_id", "FixedString(8)", "FixedString(8)"),
    ("start_time", "DateTime64(9) CODEC(Delta, ZSTD(1))", "Int64"),
    ("duration_nanos", "UInt64 CODEC(T64, ZSTD(1))", "UInt64"),
    ("service_name", "LowCardinality(String)", "String"),
    ("name", "LowCardinality(String)", "String"),
    ("kind", "Int8", "Int8"),
    ("status_code", "Int8", "Int8"),
    ("status_message", "String CODEC(ZSTD(1))", "String"),
    ("trace_state", "String CODEC(ZSTD(1))", "String"),
    ("flags", "UInt32", "UInt32"),
    ("dropped_attributes_count", "UInt32", "UInt32"),
    (
        "attributes",
        "Nested(key LowCardinality(String), type Int8, str String, int Int64, double Float64, bool UInt8, bytes String)",
        "Nested(key String, type Int8, str String, int Int64, double Float64, bool UInt8, bytes String)",
    ),
    // The resource's attributes again, values as text, for search only: the span answers come
    // from `resource`, which keeps their types.
    (
        "resource_attributes",
        "Nested(key LowCardinality(String), value String)",
        "Nested(key String, value String)",
    ),
    // The values of the configured business keys (`--business-key`), for search by order ID.
    ("business_keys", "Array(String) CODEC(ZSTD(1))", "Array(String)"),
    ("detail", "String CODEC(ZSTD(1))", "String"),
    ("resource", "String CODEC(ZSTD(3))", "String"),
    ("scope", "String CODEC(ZSTD(3))", "String"),
];

/// The modern profile's skip indexes: trace-by-ID, duration and attribute-key pruning.
const MODERN_SPAN_INDEXES: [&str; 4] = [
    "INDEX trace_id_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1",
    "INDEX duration_minmax duration_nanos TYPE minmax GRANULARITY 1",
    "INDEX attribute_keys_bloom attributes.key TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX business_keys_bloom business_keys TYPE bloom_filter(0.01) GRANULARITY 1",
];

impl Schema {
    /// A database name is an identifier written into every statement: letters, digits and `_`.
    pub fn new(
        database: &str,
        profile: SchemaProfile,
        span_retention: Duration,
    ) -> Result<Self, String> {
        let valid = !database.is_empty()
            && !database.starts_with(|c: char| c.is_ascii_digit())
            && database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "invalid clickhouse database name {database:?}: use letters, digits and _"
            ));
        }
        Ok(Schema {
            database: database.to_owned(),
            profile,
            span_retention,
        })
    }

    pub fn spans_table(&self) -> String {
        format!("{}.spans", self.database)
    }

    /// Log records, one row each; `record_hash` (of the record's content) is in the order key
    /// so that a replayed insert collapses like the spans do.
    pub fn logs_table(&self) -> String {
        format!("{}.logs", self.database)
    }

    fn logs_table_statement(&self) -> String {
        let index = if self.profile == SchemaProfile::Modern {
            ", INDEX trace_id_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1"
        } else {
            ""
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {table} ({columns}{index}) ENGINE = ReplacingMergeTree \
             PARTITION BY {partition} ORDER BY ({LOG_ORDER_KEY}){ttl}",
            table = self.logs_table(),
            columns = self.column_definitions(&LOG_TABLE_COLUMNS).join(", "),
            partition = self.day_partition("time"),
            ttl = self
                .retention_ttl("time")
                .map(|ttl| format!(" {ttl}"))
                .unwrap_or_default(),
        )
    }

    /// `name type` per column, in this profile's type.
    fn column_definitions(&self, columns: &[(&str, &str, &str)]) -> Vec<String> {
        let modern = self.profile == SchemaProfile::Modern;
        columns
            .iter()
            .map(|(name, modern_type, legacy_type)| {
                format!("{name} {}", if modern { modern_type } else { legacy_type })
            })
            .collect()
    }

    /// The partition key of a table partitioned by the day of a time column (which retention
    /// drops whole): `DateTime64(9)` in the modern profile, `Int64` nanoseconds in the legacy.
    fn day_partition(&self, time_column: &str) -> String {
        match self.profile {
            SchemaProfile::Modern => format!("toDate({time_column})"),
            SchemaProfile::Legacy => {
                format!("toDate(toDateTime(intDiv({time_column}, 1000000000)))")
            }
        }
    }

    /// The retention as a TTL on a time column; the legacy profile has no TTL.
    fn retention_ttl(&self, time_column: &str) -> Option<String> {
        (self.profile == SchemaProfile::Modern).then(|| {
            format!(
                "TTL toDateTime({time_column}) + INTERVAL {} SECOND",
                self.span_retention.as_secs().max(1)
            )
        })
    }

    /// Every statement that brings an empty server (or one with an older Weft schema) to this
    /// schema, in order. Each is idempotent (`IF NOT EXISTS`), so running them again is a no-op.
    pub fn migration_statements(&self) -> Vec<String> {
        vec![
            format!("CREATE DATABASE IF NOT EXISTS {}", self.database),
            format!(
                "CREATE TABLE IF NOT EXISTS {}.schema_migrations (version UInt32, profile String, \
                 applied_unix_seconds UInt64) ENGINE = ReplacingMergeTree ORDER BY version",
                self.database
            ),
            self.spans_table_statement(),
            self.trace_times_table_statement(),
            self.logs_table_statement(),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (topic String, partition UInt32, position UInt64, \
                 written_unix_nanos UInt64) ENGINE = ReplacingMergeTree(written_unix_nanos) \
                 ORDER BY (topic, partition)",
                self.checkpoints_table()
            ),
        ]
    }

    /// Where each trace's spans start and end, keyed by trace ID: a trace whose ID carries no
    /// time (foreign IDs) is found through it without scanning every partition of `spans`.
    /// One row per trace and insert, so a trace written in several batches has several rows
    /// (reads take their min and max; replays only repeat a row).
    pub fn trace_times_table(&self) -> String {
        format!("{}.trace_times", self.database)
    }

    /// The span writers' positions, one row per bus topic and partition: a processor that takes
    /// a partition over resumes after it.
    pub fn checkpoints_table(&self) -> String {
        format!("{}.span_writer_checkpoints", self.database)
    }

    fn trace_times_table_statement(&self) -> String {
        let time_type = match self.profile {
            SchemaProfile::Modern => "DateTime64(9)",
            SchemaProfile::Legacy => "Int64",
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (trace_id FixedString(16), start_time {time_type}, \
             end_time {time_type}) ENGINE = MergeTree PARTITION BY {partition} ORDER BY trace_id{ttl}",
            table = self.trace_times_table(),
            partition = self.day_partition("start_time"),
            ttl = self
                .retention_ttl("start_time")
                .map(|ttl| format!(" {ttl}"))
                .unwrap_or_default(),
        )
    }

    /// Records that the migrations of [`SCHEMA_VERSION`] ran.
    pub fn record_migration_statement(&self, applied_unix_seconds: u64) -> String {
        format!(
            "INSERT INTO {}.schema_migrations (version, profile, applied_unix_seconds) VALUES ({SCHEMA_VERSION}, '{}', {applied_unix_seconds})",
            self.database,
            self.profile.as_str()
        )
    }

    /// The newest schema version the database records (`0` for none).
    pub fn applied_version_query(&self) -> String {
        format!(
            "SELECT max(version) FROM {}.schema_migrations",
            self.database
        )
    }

    fn spans_table_statement(&self) -> String {
        let mut definitions = self.column_definitions(&SPAN_TABLE_COLUMNS);
        if self.profile == SchemaProfile::Modern {
            definitions.extend(MODERN_SPAN_INDEXES.iter().map(|index| index.to_string()));
        }
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (\n    {columns}\n) ENGINE = ReplacingMergeTree\nPARTITION BY {partition}\nORDER BY (service_name, name, start_time, trace_id, span_id){ttl}",
            table = self.spans_table(),
            columns = definitions.join(",\n    "),
            partition = self.day_partition("start_time"),
            ttl = self
                .retention_ttl("start_time")
                .map(|ttl| format!("\n{ttl}"))
                .unwrap_or_default(),
        )
    }

    /// One trace's spans, each once (replays not yet merged away are dropped by `LIMIT 1 BY`),
    /// optionally within a start-time range (which prunes partitions).
    pub fn trace_query(
        &self,
        trace_id: TraceId,
        start_unix_nanos: Option<u64>,
        end_unix_nanos: Option<u64>,
        max_spans: usize,
    ) -> String {
        let mut conditions = vec![format!("trace_id = unhex('{}')", trace_id.to_hex())];
        if let Some(start) = start_unix_nanos {
            conditions.push(format!("start_time >= {}", self.time_literal(start)));
        }
        if let Some(end) = end_unix_nanos {
            conditions.push(format!("start_time <= {}", self.time_literal(end)));
        }
        format!(
            "SELECT {columns} FROM {table} WHERE {conditions} ORDER BY start_time, span_id LIMIT 1 BY span_id LIMIT {max_spans}",
            columns = self.span_select_columns(),
            table = self.spans_table(),
            conditions = conditions.join(" AND "),
        )
    }

    /// The columns of a span read, as [`crate::SpanRow`] decodes them: `start_time` as
    /// nanoseconds on either profile.
    pub(crate) fn span_select_columns(&self) -> String {
        match self.profile {
            SchemaProfile::Modern => {
                SPAN_COLUMNS.replacen("start_time", "toUnixTimestamp64Nano(start_time)", 1)
            }
            SchemaProfile::Legacy => SPAN_COLUMNS.to_owned(),
        }
    }

    /// Every statement a store issues that a test can run on an empty schema, named: the
    /// migrations, their record, and each read.
    pub fn statements_for_checks(&self) -> Vec<(&'static str, String)> {
        let trace_id = TraceId::from_bytes([
            0x69, 0x20, 0x37, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ]);
        let mut statements: Vec<(&'static str, String)> = self
            .migration_statements()
            .into_iter()
            .map(|statement| ("migration", statement))
            .collect();
        statements.push(("record migration", self.record_migration_statement(1)));
        statements.push(("applied version", self.applied_version_query()));
        statements.push((
            "trace by id",
            self.trace_query(trace_id, None, None, 500_001),
        ));
        statements.push((
            "trace by id in a range",
            self.trace_query(
                trace_id,
                Some(1_795_255_140_000_000_000),
                Some(1_795_255_260_000_000_000),
                1_001,
            ),
        ));
        self.push_read_statements(&mut statements, trace_id);
        statements
    }
}
