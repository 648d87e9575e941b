//! The reads a ClickHouse store issues, as SQL for one schema profile. Sans-I/O like
//! [`crate::schema`]: the store runs these, and a test runs every one of them on both a modern
//! ClickHouse (chdb) and the 18.16 server (`Schema::statements_for_checks`).
//!
//! Every read that returns spans or counts them drops the rows a replay inserted twice and
//! merges have not removed yet (`LIMIT 1 BY trace_id, span_id`, or `uniqExact` over the IDs).
//! User input reaches SQL only as string literals written by [`quote`] or as numbers.

use weft_codec::attribute_value_type::{BOOL, DOUBLE, INT, STRING};
use weft_model::{SpanKind, TraceId};
use weft_storage::{SearchQuery, StatusFilter, StoreError, TraceIdRange};

use crate::schema::{Schema, SchemaProfile};

/// A ClickHouse string literal: quoted, with backslashes and quotes escaped, so any text is a
/// value and never SQL.
pub fn quote(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('\'');
    for character in text.chars() {
        match character {
            '\\' => literal.push_str("\\\\"),
            '\'' => literal.push_str("\\'"),
            '\0' => literal.push_str("\\0"),
            other => literal.push(other),
        }
    }
    literal.push('\'');
    literal
}

fn unhex(trace_id: &TraceId) -> String {
    format!("unhex('{}')", trace_id.to_hex())
}

/// The IDs for `trace_id IN (…)`; an empty list matches nothing.
fn trace_id_list(trace_ids: &[TraceId]) -> String {
    if trace_ids.is_empty() {
        return "unhex('')".to_owned();
    }
    let ids: Vec<String> = trace_ids.iter().map(unhex).collect();
    ids.join(", ")
}

/// Where an attribute key was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeScope {
    Span,
    Resource,
}

impl AttributeScope {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeScope::Span => "span",
            AttributeScope::Resource => "resource",
        }
    }

    fn key_column(self) -> &'static str {
        match self {
            AttributeScope::Span => "attributes.key",
            AttributeScope::Resource => "resource_attributes.key",
        }
    }
}

impl Schema {
    /// A start time column read as Unix nanoseconds (`Int64`) on either profile.
    pub(crate) fn start_nanos(&self, column: &str) -> String {
        match self.profile {
            SchemaProfile::Modern => format!("toUnixTimestamp64Nano({column})"),
            SchemaProfile::Legacy => column.to_owned(),
        }
    }

    /// A time in Unix nanoseconds as the `start_time` columns compare it.
    pub(crate) fn time_literal(&self, unix_nanos: u64) -> String {
        let nanos = i64::try_from(unix_nanos).unwrap_or(i64::MAX);
        match self.profile {
            SchemaProfile::Modern => format!("fromUnixTimestamp64Nano(toInt64({nanos}))"),
            SchemaProfile::Legacy => nanos.to_string(),
        }
    }

    /// The conditions a search puts on one span, as SQL; `business_key_names` are the
    /// configured business attributes (their values are in `business_keys`).
    fn search_conditions(&self, query: &SearchQuery) -> Result<Vec<String>, StoreError> {
        let mut conditions = vec![
            format!(
                "start_time >= {}",
                self.time_literal(query.start_unix_nanos)
            ),
            format!("start_time <= {}", self.time_literal(query.end_unix_nanos)),
        ];
        if let Some(prefix) = &query.trace_id_prefix {
            let range = TraceIdRange::from_prefix(prefix)?;
            conditions.push(format!(
                "trace_id >= unhex('{}') AND trace_id <= unhex('{}')",
                hex::encode(range.lowest),
                hex::encode(range.highest)
            ));
        }
        if !query.has_span_conditions() && query.has_root_conditions() {
            // Only the root can match: the root conditions are its service and name.
            conditions.push("parent_span_id = toFixedString('', 8)".to_owned());
            if let Some(service) = &query.root_service {
                conditions.push(format!("service_name = {}", quote(service)));
            }
            if let Some(name) = &query.root_operation {
                conditions.push(format!("name = {}", quote(name)));
            }
            return Ok(conditions);
        }
        if let Some(service) = &query.service {
            conditions.push(format!("service_name = {}", quote(service)));
        }
        if let Some(name) = &query.operation {
            conditions.push(format!("name = {}", quote(name)));
        }
        if let Some(kind) = query.span_kind {
            conditions.push(format!("kind = {}", kind.to_otlp()));
        }
        if let Some(status) = query.status {
            let code = match status {
                StatusFilter::Unset => 0,
                StatusFilter::Ok => 1,
                StatusFilter::Error => 2,
            };
            conditions.push(format!("status_code = {code}"));
        }
        if let Some(min) = query.min_duration_nanos {
            conditions.push(format!("duration_nanos >= {min}"));
        }
        if let Some(max) = query.max_duration_nanos {
            conditions.push(format!("duration_nanos <= {max}"));
        }
        if let Some(wanted) = &query.business_key {
            conditions.push(format!("has(business_keys, {})", quote(wanted)));
        }
        for (key, wanted) in &query.attributes {
            conditions.push(attribute_condition(key, wanted));
        }
        Ok(conditions)
    }

    /// The newest traces with a span matching `query`: trace ID and the newest matching span's
    /// start, newest first, at most `limit`.
    pub fn search_query(&self, query: &SearchQuery, limit: usize) -> Result<String, StoreError> {
        Ok(format!(
            "SELECT trace_id, max({start}) AS newest FROM {table} WHERE {conditions} \
             GROUP BY trace_id ORDER BY newest DESC, trace_id LIMIT {limit}",
            start = self.start_nanos("start_time"),
            table = self.spans_table(),
            conditions = self.search_conditions(query)?.join(" AND "),
        ))
    }

    /// The heads (IDs, names, times, status) of every span of the given traces, each once.
    pub fn span_heads_query(&self, trace_ids: &[TraceId]) -> String {
        format!(
            "SELECT trace_id, span_id, parent_span_id, {start}, duration_nanos, service_name, \
             name, status_code FROM {table} WHERE trace_id IN ({ids}) LIMIT 1 BY trace_id, span_id",
            start = self.start_nanos("start_time"),
            table = self.spans_table(),
            ids = trace_id_list(trace_ids),
        )
    }

    /// Where a trace's spans start and end, from the trace-ID index: rows, earliest start,
    /// latest end.
    pub fn trace_times_query(&self, trace_id: &TraceId) -> String {
        format!(
            "SELECT count(), min({start}), max({end}) FROM {table} WHERE trace_id = {id}",
            start = self.start_nanos("start_time"),
            end = self.start_nanos("end_time"),
            table = self.trace_times_table(),
            id = unhex(trace_id),
        )
    }

    /// Spans starting at or after `since`, of one service when given.
    fn since_and_service(&self, since_unix_nanos: u64, service: Option<&str>) -> Vec<String> {
        let mut conditions = vec![format!(
            "start_time >= {}",
            self.time_literal(since_unix_nanos)
        )];
        if let Some(service) = service {
            conditions.push(format!("service_name = {}", quote(service)));
        }
        conditions
    }

    /// Services with a span starting at or after `since`, sorted.
    pub fn services_query(&self, since_unix_nanos: u64) -> String {
        format!(
            "SELECT DISTINCT service_name FROM {} WHERE start_time >= {} ORDER BY service_name",
            self.spans_table(),
            self.time_literal(since_unix_nanos)
        )
    }

    /// Operations (name, kind) with first and last start: of one service, or of every service
    /// when `service` is `None`; rows are (service, name, kind, first, last).
    pub fn operations_query(
        &self,
        since_unix_nanos: u64,
        service: Option<&str>,
        kind: Option<SpanKind>,
    ) -> String {
        let mut conditions = self.since_and_service(since_unix_nanos, service);
        if let Some(kind) = kind {
            conditions.push(format!("kind = {}", kind.to_otlp()));
        }
        format!(
            "SELECT service_name, name, kind, min({start}), max({start}) FROM {table} \
             WHERE {conditions} GROUP BY service_name, name, kind \
             ORDER BY service_name, name, kind",
            start = self.start_nanos("start_time"),
            table = self.spans_table(),
            conditions = conditions.join(" AND "),
        )
    }

    /// Attribute keys of one scope with first and last start, per service: rows are
    /// (service, key, first, last).
    pub fn attribute_keys_query(
        &self,
        since_unix_nanos: u64,
        service: Option<&str>,
        scope: AttributeScope,
    ) -> String {
        let conditions = self.since_and_service(since_unix_nanos, service);
        format!(
            "SELECT service_name, key, min({start}), max({start}) FROM {table} \
             ARRAY JOIN {column} AS key WHERE {conditions} GROUP BY service_name, key \
             ORDER BY service_name, key",
            start = self.start_nanos("start_time"),
            table = self.spans_table(),
            column = scope.key_column(),
            conditions = conditions.join(" AND "),
        )
    }

    /// The string and boolean values of attribute keys (of spans and resources) with how many
    /// spans carry each, at most `per_key` per key, most frequent first; `key` and `prefix`
    /// narrow it. Rows are (key, value, spans).
    pub fn attribute_values_query(
        &self,
        since_unix_nanos: u64,
        key: Option<&str>,
        prefix: &str,
        per_key: usize,
    ) -> String {
        let narrow = |key_column: &str, value_column: &str| {
            let mut conditions = vec![format!(
                "start_time >= {}",
                self.time_literal(since_unix_nanos)
            )];
            if let Some(key) = key {
                conditions.push(format!("{key_column} = {}", quote(key)));
            }
            if !prefix.is_empty() {
                conditions.push(format!(
                    "substring({value_column}, 1, {}) = {}",
                    prefix.len(),
                    quote(prefix)
                ));
            }
            conditions.join(" AND ")
        };
        let span_value =
            format!("if(value_type = {BOOL}, if(value_bool = 1, 'true', 'false'), value_str)");
        format!(
            "SELECT key, value, sum(spans) AS total FROM (\
             SELECT key, {span_value} AS value, count() AS spans FROM {table} \
             ARRAY JOIN attributes.key AS key, attributes.type AS value_type, \
             attributes.str AS value_str, attributes.bool AS value_bool \
             WHERE value_type IN ({STRING}, {BOOL}) AND {span_narrow} GROUP BY key, value \
             UNION ALL \
             SELECT key, value, count() AS spans FROM {table} \
             ARRAY JOIN resource_attributes.key AS key, resource_attributes.value AS value \
             WHERE {resource_narrow} GROUP BY key, value) \
             GROUP BY key, value ORDER BY key, total DESC, value LIMIT {per_key} BY key",
            table = self.spans_table(),
            span_narrow = narrow("key", &span_value),
            resource_narrow = narrow("key", "value"),
        )
    }

    /// The traces with a span starting in `[start, end)` and how many such spans each has.
    pub fn scan_traces_query(&self, start_unix_nanos: u64, end_unix_nanos: u64) -> String {
        format!(
            "SELECT trace_id, uniqExact(span_id) FROM {table} WHERE start_time >= {start} AND \
             start_time < {end} GROUP BY trace_id ORDER BY trace_id",
            table = self.spans_table(),
            start = self.time_literal(start_unix_nanos),
            end = self.time_literal(end_unix_nanos),
        )
    }

    /// Every span of the given traces starting in `[start, end)`, each once.
    pub fn scan_spans_query(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        trace_ids: &[TraceId],
    ) -> String {
        format!(
            "SELECT {columns} FROM {table} WHERE start_time >= {start} AND start_time < {end} \
             AND trace_id IN ({ids}) ORDER BY trace_id, start_time LIMIT 1 BY trace_id, span_id",
            columns = self.span_select_columns(),
            table = self.spans_table(),
            start = self.time_literal(start_unix_nanos),
            end = self.time_literal(end_unix_nanos),
            ids = trace_id_list(trace_ids),
        )
    }

    /// How many rows `spans` holds and the earliest start.
    pub fn oldest_span_query(&self) -> String {
        format!(
            "SELECT count(), min({}) FROM {}",
            self.start_nanos("start_time"),
            self.spans_table()
        )
    }

    /// The tables retention drops whole partitions of (all partitioned by day).
    pub fn retained_tables(&self) -> [&'static str; 3] {
        ["spans", "trace_times", "logs"]
    }

    /// The columns of a log record read, as [`crate::LogRow`] decodes them.
    fn log_select_columns(&self) -> String {
        match self.profile {
            SchemaProfile::Modern => crate::schema::LOG_COLUMNS
                .replacen("observed_time", "toUnixTimestamp64Nano(observed_time)", 1)
                .replacen("time,", "toUnixTimestamp64Nano(time),", 1),
            SchemaProfile::Legacy => crate::schema::LOG_COLUMNS.to_owned(),
        }
    }

    fn logs_select(&self, conditions: &[String], order: &str, limit: Option<usize>) -> String {
        format!(
            "SELECT {columns} FROM {table} WHERE {conditions} ORDER BY {order} \
             LIMIT 1 BY {key}{limit}",
            columns = self.log_select_columns(),
            table = self.logs_table(),
            conditions = conditions.join(" AND "),
            key = crate::schema::LOG_ORDER_KEY,
            limit = limit
                .map(|limit| format!(" LIMIT {limit}"))
                .unwrap_or_default(),
        )
    }

    /// Every record of one trace, oldest first, optionally within an inclusive time range.
    pub fn trace_logs_query(&self, trace_id: &TraceId, time_hint: Option<(u64, u64)>) -> String {
        let mut conditions = vec![format!("trace_id = {}", unhex(trace_id))];
        if let Some((first, last)) = time_hint {
            conditions.push(format!("time >= {}", self.time_literal(first)));
            conditions.push(format!("time <= {}", self.time_literal(last)));
        }
        self.logs_select(&conditions, "time", None)
    }

    /// Records with time in `[start, end)`.
    fn log_time_range(&self, start_unix_nanos: u64, end_unix_nanos: u64) -> Vec<String> {
        vec![
            format!("time >= {}", self.time_literal(start_unix_nanos)),
            format!("time < {}", self.time_literal(end_unix_nanos)),
        ]
    }

    /// Every record with time in `[start, end)`, oldest first.
    pub fn scan_logs_query(&self, start_unix_nanos: u64, end_unix_nanos: u64) -> String {
        let conditions = self.log_time_range(start_unix_nanos, end_unix_nanos);
        self.logs_select(&conditions, "time", None)
    }

    /// A log search, newest first: time in `[start, end)`, the service, the severity floor
    /// (unspecified severities excluded), the trace, and the text as a case-insensitive
    /// substring of the body or of an attribute's string value.
    pub fn search_logs_query(&self, query: &weft_storage::LogQuery) -> String {
        let mut conditions = self.log_time_range(query.start_unix_nanos, query.end_unix_nanos);
        if let Some(service) = &query.service {
            conditions.push(format!("service_name = {}", quote(service)));
        }
        if let Some(minimum) = query.min_severity {
            conditions.push(format!(
                "severity_number != 0 AND severity_number >= {minimum}"
            ));
        }
        if let Some(trace_id) = &query.trace_id {
            conditions.push(format!("trace_id = {}", unhex(trace_id)));
        }
        if let Some(text) = query.text.as_deref().filter(|text| !text.is_empty()) {
            let needle = quote(text);
            conditions.push(format!(
                "(positionCaseInsensitiveUTF8(body_text, {needle}) > 0 OR \
                 arrayExists(v -> positionCaseInsensitiveUTF8(v, {needle}) > 0, attribute_strings))"
            ));
        }
        self.logs_select(&conditions, "time DESC", Some(query.limit))
    }

    /// The IDs of `table`'s partitions whose whole day ends at or before `cutoff` (days are
    /// the server's, as the partition key's `toDate`; a partition ID of a day is `YYYYMMDD`).
    pub fn expired_partitions_query(&self, table: &str, cutoff_unix_nanos: u64) -> String {
        format!(
            "SELECT DISTINCT partition_id FROM system.parts WHERE database = {database} AND \
             table = {table} AND active AND partition_id < \
             toString(toYYYYMMDD(toDateTime(intDiv({cutoff_unix_nanos}, 1000000000)))) \
             ORDER BY partition_id",
            database = quote(&self.database),
            table = quote(table),
        )
    }

    /// Drops one partition of `table` by its ID (from [`Schema::expired_partitions_query`]).
    pub fn drop_partition_statement(&self, table: &str, partition_id: &str) -> String {
        format!(
            "ALTER TABLE {}.{table} DROP PARTITION ID {}",
            self.database,
            quote(partition_id)
        )
    }

    /// Per table of the database: day partitions, active parts, rows (replays not yet merged
    /// away included) and bytes on disk.
    pub fn table_stats_query(&self) -> String {
        format!(
            "SELECT table, uniqExact(partition_id), count(), sum(rows), sum(bytes_on_disk) \
             FROM system.parts WHERE database = {} AND active GROUP BY table ORDER BY table",
            quote(&self.database)
        )
    }

    /// Every bus partition's writer checkpoint: the newest position and when it was written.
    pub fn writer_checkpoints_query(&self) -> String {
        format!(
            "SELECT topic, partition, max(position), max(written_unix_nanos) FROM {} \
             GROUP BY topic, partition ORDER BY topic, partition",
            self.checkpoints_table()
        )
    }

    /// The position a span writer of one bus partition has made durable (0 for none).
    pub fn checkpoint_query(&self, topic: &str, partition: u32) -> String {
        format!(
            "SELECT max(position) FROM {} WHERE topic = {} AND partition = {partition}",
            self.checkpoints_table(),
            quote(topic)
        )
    }
}

/// A span (or its resource) has `key` with the value the user typed: text equal, or the typed
/// value equal to the text parsed as that type (as `weft_storage::attribute_value_matches`).
fn attribute_condition(key: &str, wanted: &str) -> String {
    let mut typed = vec![format!("(t = {STRING} AND s = {})", quote(wanted))];
    if let Ok(number) = wanted.parse::<i64>() {
        typed.push(format!("(t = {INT} AND i = {number})"));
    }
    if let Ok(flag) = wanted.parse::<bool>() {
        typed.push(format!("(t = {BOOL} AND b = {})", u8::from(flag)));
    }
    if let Ok(number) = wanted.parse::<f64>() {
        if number.is_finite() {
            typed.push(format!("(t = {DOUBLE} AND d = {number:?})"));
        }
    }
    format!(
        "(arrayExists((k, t, s, i, d, b) -> k = {key} AND ({typed}), attributes.key, \
         attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool) \
         OR arrayExists((k, v) -> k = {key} AND v = {value}, resource_attributes.key, \
         resource_attributes.value))",
        key = quote(key),
        typed = typed.join(" OR "),
        value = quote(wanted),
    )
}

impl Schema {
    /// Every read of this module, with sample arguments, for [`Schema::statements_for_checks`].
    pub(crate) fn push_read_statements(
        &self,
        statements: &mut Vec<(&'static str, String)>,
        trace_id: TraceId,
    ) {
        let (start, end) = (1_795_255_140_000_000_000, 1_795_255_260_000_000_000);
        let mut every_condition = SearchQuery::in_range(start, end, 20);
        every_condition.service = Some("checkout".into());
        every_condition.operation = Some("GET /cart".into());
        every_condition.span_kind = Some(SpanKind::Server);
        every_condition.status = Some(StatusFilter::Error);
        every_condition.min_duration_nanos = Some(1_000_000);
        every_condition.max_duration_nanos = Some(9_000_000_000);
        every_condition.business_key = Some("order-1".into());
        every_condition.trace_id_prefix = Some("6920".into());
        every_condition.attributes = vec![
            ("http.response.status_code".into(), "502".into()),
            ("cache.hit".into(), "true".into()),
            ("quote's".into(), "it's \\ odd".into()),
        ];
        let mut root_only = SearchQuery::in_range(start, end, 20);
        root_only.root_service = Some("frontend".into());
        root_only.root_operation = Some("GET /".into());
        let search = |query: &SearchQuery| {
            self.search_query(query, 80)
                .expect("the sample searches are valid")
        };
        statements.extend([
            ("search by every span condition", search(&every_condition)),
            ("search by root", search(&root_only)),
            (
                "search in a range",
                search(&SearchQuery::in_range(start, end, 20)),
            ),
            ("span heads", self.span_heads_query(&[trace_id, trace_id])),
            ("trace times", self.trace_times_query(&trace_id)),
            ("services", self.services_query(start)),
            (
                "operations of a service",
                self.operations_query(start, Some("checkout"), Some(SpanKind::Client)),
            ),
            ("operations", self.operations_query(start, None, None)),
            (
                "span attribute keys",
                self.attribute_keys_query(start, Some("checkout"), AttributeScope::Span),
            ),
            (
                "resource attribute keys",
                self.attribute_keys_query(start, None, AttributeScope::Resource),
            ),
            (
                "attribute values",
                self.attribute_values_query(start, Some("http.route"), "/ca", 100),
            ),
            (
                "top attribute values",
                self.attribute_values_query(start, None, "", 5),
            ),
            ("scan traces", self.scan_traces_query(start, end)),
            ("scan spans", self.scan_spans_query(start, end, &[trace_id])),
            ("oldest span", self.oldest_span_query()),
            ("checkpoint", self.checkpoint_query("weft-spans", 3)),
            (
                "expired partitions",
                self.expired_partitions_query("spans", 1_795_255_140_000_000_000),
            ),
            (
                "trace logs",
                self.trace_logs_query(&trace_id, Some((start, end))),
            ),
            (
                "trace logs anywhere",
                self.trace_logs_query(&trace_id, None),
            ),
            ("scan logs", self.scan_logs_query(start, end)),
            ("table stats", self.table_stats_query()),
            ("writer checkpoints", self.writer_checkpoints_query()),
            (
                "search logs by every condition",
                self.search_logs_query(&weft_storage::LogQuery {
                    start_unix_nanos: start,
                    end_unix_nanos: end,
                    service: Some("checkout".into()),
                    text: Some("Payment 'declined'".into()),
                    min_severity: Some(13),
                    trace_id: Some(trace_id),
                    limit: 100,
                }),
            ),
            (
                "drop a partition",
                self.drop_partition_statement("trace_times", "20261201"),
            ),
        ]);
    }
}
