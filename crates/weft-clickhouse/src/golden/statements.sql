-- modern profile: migration
CREATE DATABASE IF NOT EXISTS weft;

-- modern profile: migration
CREATE TABLE IF NOT EXISTS weft.schema_migrations (version UInt32, profile String, applied_unix_seconds UInt64) ENGINE = ReplacingMergeTree ORDER BY version;

-- modern profile: migration
CREATE TABLE IF NOT EXISTS weft.spans (
    trace_id FixedString(16),
    span_id FixedString(8),
    parent_span_id FixedString(8),
    start_time DateTime64(9) CODEC(Delta, ZSTD(1)),
    duration_nanos UInt64 CODEC(T64, ZSTD(1)),
    service_name LowCardinality(String),
    name LowCardinality(String),
    kind Int8,
    status_code Int8,
    status_message String CODEC(ZSTD(1)),
    trace_state String CODEC(ZSTD(1)),
    flags UInt32,
    dropped_attributes_count UInt32,
    attributes Nested(key LowCardinality(String), type Int8, str String, int Int64, double Float64, bool UInt8, bytes String),
    resource_attributes Nested(key LowCardinality(String), value String),
    business_keys Array(String) CODEC(ZSTD(1)),
    detail String CODEC(ZSTD(1)),
    resource String CODEC(ZSTD(3)),
    scope String CODEC(ZSTD(3)),
    INDEX trace_id_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX duration_minmax duration_nanos TYPE minmax GRANULARITY 1,
    INDEX attribute_keys_bloom attributes.key TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX business_keys_bloom business_keys TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(start_time)
ORDER BY (service_name, name, start_time, trace_id, span_id)
TTL toDateTime(start_time) + INTERVAL 259200 SECOND;

-- modern profile: migration
CREATE TABLE IF NOT EXISTS weft.trace_times (trace_id FixedString(16), start_time DateTime64(9), end_time DateTime64(9)) ENGINE = MergeTree PARTITION BY toDate(start_time) ORDER BY trace_id TTL toDateTime(start_time) + INTERVAL 259200 SECOND;

-- modern profile: migration
CREATE TABLE IF NOT EXISTS weft.logs (time DateTime64(9) CODEC(Delta, ZSTD(1)), observed_time DateTime64(9) CODEC(Delta, ZSTD(1)), trace_id FixedString(16), span_id FixedString(8), severity_number UInt8, severity_text LowCardinality(String), service_name LowCardinality(String), body_text String CODEC(ZSTD(1)), body String CODEC(ZSTD(1)), attribute_strings Array(String) CODEC(ZSTD(1)), attributes String CODEC(ZSTD(1)), dropped_attributes_count UInt32, flags UInt32, event_name LowCardinality(String), resource String CODEC(ZSTD(3)), scope String CODEC(ZSTD(3)), record_hash UInt64, INDEX trace_id_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1) ENGINE = ReplacingMergeTree PARTITION BY toDate(time) ORDER BY (service_name, time, trace_id, span_id, record_hash) TTL toDateTime(time) + INTERVAL 259200 SECOND;

-- modern profile: migration
CREATE TABLE IF NOT EXISTS weft.span_writer_checkpoints (topic String, partition UInt32, position UInt64, written_unix_nanos UInt64) ENGINE = ReplacingMergeTree(written_unix_nanos) ORDER BY (topic, partition);

-- modern profile: record migration
INSERT INTO weft.schema_migrations (version, profile, applied_unix_seconds) VALUES (1, 'modern', 1);

-- modern profile: applied version
SELECT max(version) FROM weft.schema_migrations;

-- modern profile: trace by id
SELECT trace_id, span_id, parent_span_id, toUnixTimestamp64Nano(start_time), duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, resource_attributes.key, resource_attributes.value, business_keys, detail, resource, scope FROM weft.spans WHERE trace_id = unhex('692037a00102030405060708090a0b0c') ORDER BY start_time, span_id LIMIT 1 BY span_id LIMIT 500001;

-- modern profile: trace by id in a range
SELECT trace_id, span_id, parent_span_id, toUnixTimestamp64Nano(start_time), duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, resource_attributes.key, resource_attributes.value, business_keys, detail, resource, scope FROM weft.spans WHERE trace_id = unhex('692037a00102030405060708090a0b0c') AND start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND start_time <= fromUnixTimestamp64Nano(toInt64(1795255260000000000)) ORDER BY start_time, span_id LIMIT 1 BY span_id LIMIT 1001;

-- modern profile: search by every span condition
SELECT trace_id, max(toUnixTimestamp64Nano(start_time)) AS newest FROM weft.spans WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND start_time <= fromUnixTimestamp64Nano(toInt64(1795255260000000000)) AND trace_id >= unhex('69200000000000000000000000000000') AND trace_id <= unhex('6920ffffffffffffffffffffffffffff') AND service_name = 'checkout' AND name = 'GET /cart' AND kind = 2 AND status_code = 2 AND duration_nanos >= 1000000 AND duration_nanos <= 9000000000 AND has(business_keys, 'order-1') AND (arrayExists((k, t, s, i, d, b) -> k = 'http.response.status_code' AND ((t = 1 AND s = '502') OR (t = 3 AND i = 502) OR (t = 4 AND d = 502.0)), attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool) OR arrayExists((k, v) -> k = 'http.response.status_code' AND v = '502', resource_attributes.key, resource_attributes.value)) AND (arrayExists((k, t, s, i, d, b) -> k = 'cache.hit' AND ((t = 1 AND s = 'true') OR (t = 2 AND b = 1)), attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool) OR arrayExists((k, v) -> k = 'cache.hit' AND v = 'true', resource_attributes.key, resource_attributes.value)) AND (arrayExists((k, t, s, i, d, b) -> k = 'quote\'s' AND ((t = 1 AND s = 'it\'s \\ odd')), attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool) OR arrayExists((k, v) -> k = 'quote\'s' AND v = 'it\'s \\ odd', resource_attributes.key, resource_attributes.value)) GROUP BY trace_id ORDER BY newest DESC, trace_id LIMIT 80;

-- modern profile: search by root
SELECT trace_id, max(toUnixTimestamp64Nano(start_time)) AS newest FROM weft.spans WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND start_time <= fromUnixTimestamp64Nano(toInt64(1795255260000000000)) AND parent_span_id = toFixedString('', 8) AND service_name = 'frontend' AND name = 'GET /' GROUP BY trace_id ORDER BY newest DESC, trace_id LIMIT 80;

-- modern profile: search in a range
SELECT trace_id, max(toUnixTimestamp64Nano(start_time)) AS newest FROM weft.spans WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND start_time <= fromUnixTimestamp64Nano(toInt64(1795255260000000000)) GROUP BY trace_id ORDER BY newest DESC, trace_id LIMIT 80;

-- modern profile: span heads
SELECT trace_id, span_id, parent_span_id, toUnixTimestamp64Nano(start_time), duration_nanos, service_name, name, status_code FROM weft.spans WHERE trace_id IN (unhex('692037a00102030405060708090a0b0c'), unhex('692037a00102030405060708090a0b0c')) LIMIT 1 BY trace_id, span_id;

-- modern profile: trace times
SELECT count(), min(toUnixTimestamp64Nano(start_time)), max(toUnixTimestamp64Nano(end_time)) FROM weft.trace_times WHERE trace_id = unhex('692037a00102030405060708090a0b0c');

-- modern profile: services
SELECT DISTINCT service_name FROM weft.spans WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) ORDER BY service_name;

-- modern profile: operations of a service
SELECT service_name, name, kind, min(toUnixTimestamp64Nano(start_time)), max(toUnixTimestamp64Nano(start_time)) FROM weft.spans WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND service_name = 'checkout' AND kind = 3 GROUP BY service_name, name, kind ORDER BY service_name, name, kind;

-- modern profile: operations
SELECT service_name, name, kind, min(toUnixTimestamp64Nano(start_time)), max(toUnixTimestamp64Nano(start_time)) FROM weft.spans WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) GROUP BY service_name, name, kind ORDER BY service_name, name, kind;

-- modern profile: span attribute keys
SELECT service_name, key, min(toUnixTimestamp64Nano(start_time)), max(toUnixTimestamp64Nano(start_time)) FROM weft.spans ARRAY JOIN attributes.key AS key WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND service_name = 'checkout' GROUP BY service_name, key ORDER BY service_name, key;

-- modern profile: resource attribute keys
SELECT service_name, key, min(toUnixTimestamp64Nano(start_time)), max(toUnixTimestamp64Nano(start_time)) FROM weft.spans ARRAY JOIN resource_attributes.key AS key WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) GROUP BY service_name, key ORDER BY service_name, key;

-- modern profile: attribute values
SELECT key, value, sum(spans) AS total FROM (SELECT key, if(value_type = 2, if(value_bool = 1, 'true', 'false'), value_str) AS value, count() AS spans FROM weft.spans ARRAY JOIN attributes.key AS key, attributes.type AS value_type, attributes.str AS value_str, attributes.bool AS value_bool WHERE value_type IN (1, 2) AND start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND key = 'http.route' AND substring(if(value_type = 2, if(value_bool = 1, 'true', 'false'), value_str), 1, 3) = '/ca' GROUP BY key, value UNION ALL SELECT key, value, count() AS spans FROM weft.spans ARRAY JOIN resource_attributes.key AS key, resource_attributes.value AS value WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND key = 'http.route' AND substring(value, 1, 3) = '/ca' GROUP BY key, value) GROUP BY key, value ORDER BY key, total DESC, value LIMIT 100 BY key;

-- modern profile: top attribute values
SELECT key, value, sum(spans) AS total FROM (SELECT key, if(value_type = 2, if(value_bool = 1, 'true', 'false'), value_str) AS value, count() AS spans FROM weft.spans ARRAY JOIN attributes.key AS key, attributes.type AS value_type, attributes.str AS value_str, attributes.bool AS value_bool WHERE value_type IN (1, 2) AND start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) GROUP BY key, value UNION ALL SELECT key, value, count() AS spans FROM weft.spans ARRAY JOIN resource_attributes.key AS key, resource_attributes.value AS value WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) GROUP BY key, value) GROUP BY key, value ORDER BY key, total DESC, value LIMIT 5 BY key;

-- modern profile: scan traces
SELECT trace_id, uniqExact(span_id) FROM weft.spans WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND start_time < fromUnixTimestamp64Nano(toInt64(1795255260000000000)) GROUP BY trace_id ORDER BY trace_id;

-- modern profile: scan spans
SELECT trace_id, span_id, parent_span_id, toUnixTimestamp64Nano(start_time), duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, resource_attributes.key, resource_attributes.value, business_keys, detail, resource, scope FROM weft.spans WHERE start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND start_time < fromUnixTimestamp64Nano(toInt64(1795255260000000000)) AND trace_id IN (unhex('692037a00102030405060708090a0b0c')) ORDER BY trace_id, start_time LIMIT 1 BY trace_id, span_id;

-- modern profile: oldest span
SELECT count(), min(toUnixTimestamp64Nano(start_time)) FROM weft.spans;

-- modern profile: checkpoint
SELECT max(position) FROM weft.span_writer_checkpoints WHERE topic = 'weft-spans' AND partition = 3;

-- modern profile: expired partitions
SELECT DISTINCT partition_id FROM system.parts WHERE database = 'weft' AND table = 'spans' AND active AND partition_id < toString(toYYYYMMDD(toDateTime(intDiv(1795255140000000000, 1000000000)))) ORDER BY partition_id;

-- modern profile: trace logs
SELECT toUnixTimestamp64Nano(time), toUnixTimestamp64Nano(observed_time), trace_id, span_id, severity_number, severity_text, service_name, body_text, body, attribute_strings, attributes, dropped_attributes_count, flags, event_name, resource, scope, record_hash FROM weft.logs WHERE trace_id = unhex('692037a00102030405060708090a0b0c') AND time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND time <= fromUnixTimestamp64Nano(toInt64(1795255260000000000)) ORDER BY time LIMIT 1 BY service_name, time, trace_id, span_id, record_hash;

-- modern profile: trace logs anywhere
SELECT toUnixTimestamp64Nano(time), toUnixTimestamp64Nano(observed_time), trace_id, span_id, severity_number, severity_text, service_name, body_text, body, attribute_strings, attributes, dropped_attributes_count, flags, event_name, resource, scope, record_hash FROM weft.logs WHERE trace_id = unhex('692037a00102030405060708090a0b0c') ORDER BY time LIMIT 1 BY service_name, time, trace_id, span_id, record_hash;

-- modern profile: scan logs
SELECT toUnixTimestamp64Nano(time), toUnixTimestamp64Nano(observed_time), trace_id, span_id, severity_number, severity_text, service_name, body_text, body, attribute_strings, attributes, dropped_attributes_count, flags, event_name, resource, scope, record_hash FROM weft.logs WHERE time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND time < fromUnixTimestamp64Nano(toInt64(1795255260000000000)) ORDER BY time LIMIT 1 BY service_name, time, trace_id, span_id, record_hash;

-- modern profile: table stats
SELECT table, uniqExact(partition_id), count(), sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database = 'weft' AND active GROUP BY table ORDER BY table;

-- modern profile: writer checkpoints
SELECT topic, partition, max(position), max(written_unix_nanos) FROM weft.span_writer_checkpoints GROUP BY topic, partition ORDER BY topic, partition;

-- modern profile: search logs by every condition
SELECT toUnixTimestamp64Nano(time), toUnixTimestamp64Nano(observed_time), trace_id, span_id, severity_number, severity_text, service_name, body_text, body, attribute_strings, attributes, dropped_attributes_count, flags, event_name, resource, scope, record_hash FROM weft.logs WHERE time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND time < fromUnixTimestamp64Nano(toInt64(1795255260000000000)) AND service_name = 'checkout' AND severity_number != 0 AND severity_number >= 13 AND trace_id = unhex('692037a00102030405060708090a0b0c') AND (positionCaseInsensitiveUTF8(body_text, 'Payment \'declined\'') > 0 OR arrayExists(v -> positionCaseInsensitiveUTF8(v, 'Payment \'declined\'') > 0, attribute_strings)) ORDER BY time DESC LIMIT 1 BY service_name, time, trace_id, span_id, record_hash LIMIT 100;

-- modern profile: drop a partition
ALTER TABLE weft.trace_times DROP PARTITION ID '20261201';

-- legacy profile: migration
CREATE DATABASE IF NOT EXISTS weft;

-- legacy profile: migration
CREATE TABLE IF NOT EXISTS weft.schema_migrations (version UInt32, profile String, applied_unix_seconds UInt64) ENGINE = ReplacingMergeTree ORDER BY version;

-- legacy profile: migration
CREATE TABLE IF NOT EXISTS weft.spans (
    trace_id FixedString(16),
    span_id FixedString(8),
    parent_span_id FixedString(8),
    start_time Int64,
    duration_nanos UInt64,
    service_name String,
    name String,
    kind Int8,
    status_code Int8,
    status_message String,
    trace_state String,
    flags UInt32,
    dropped_attributes_count UInt32,
    attributes Nested(key String, type Int8, str String, int Int64, double Float64, bool UInt8, bytes String),
    resource_attributes Nested(key String, value String),
    business_keys Array(String),
    detail String,
    resource String,
    scope String
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(toDateTime(intDiv(start_time, 1000000000)))
ORDER BY (service_name, name, start_time, trace_id, span_id);

-- legacy profile: migration
CREATE TABLE IF NOT EXISTS weft.trace_times (trace_id FixedString(16), start_time Int64, end_time Int64) ENGINE = MergeTree PARTITION BY toDate(toDateTime(intDiv(start_time, 1000000000))) ORDER BY trace_id;

-- legacy profile: migration
CREATE TABLE IF NOT EXISTS weft.logs (time Int64, observed_time Int64, trace_id FixedString(16), span_id FixedString(8), severity_number UInt8, severity_text String, service_name String, body_text String, body String, attribute_strings Array(String), attributes String, dropped_attributes_count UInt32, flags UInt32, event_name String, resource String, scope String, record_hash UInt64) ENGINE = ReplacingMergeTree PARTITION BY toDate(toDateTime(intDiv(time, 1000000000))) ORDER BY (service_name, time, trace_id, span_id, record_hash);

-- legacy profile: migration
CREATE TABLE IF NOT EXISTS weft.span_writer_checkpoints (topic String, partition UInt32, position UInt64, written_unix_nanos UInt64) ENGINE = ReplacingMergeTree(written_unix_nanos) ORDER BY (topic, partition);

-- legacy profile: record migration
INSERT INTO weft.schema_migrations (version, profile, applied_unix_seconds) VALUES (1, 'legacy', 1);

-- legacy profile: applied version
SELECT max(version) FROM weft.schema_migrations;

-- legacy profile: trace by id
SELECT trace_id, span_id, parent_span_id, start_time, duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, resource_attributes.key, resource_attributes.value, business_keys, detail, resource, scope FROM weft.spans WHERE trace_id = unhex('692037a00102030405060708090a0b0c') ORDER BY start_time, span_id LIMIT 1 BY span_id LIMIT 500001;

-- legacy profile: trace by id in a range
SELECT trace_id, span_id, parent_span_id, start_time, duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, resource_attributes.key, resource_attributes.value, business_keys, detail, resource, scope FROM weft.spans WHERE trace_id = unhex('692037a00102030405060708090a0b0c') AND start_time >= 1795255140000000000 AND start_time <= 1795255260000000000 ORDER BY start_time, span_id LIMIT 1 BY span_id LIMIT 1001;

-- legacy profile: search by every span condition
SELECT trace_id, max(start_time) AS newest FROM weft.spans WHERE start_time >= 1795255140000000000 AND start_time <= 1795255260000000000 AND trace_id >= unhex('69200000000000000000000000000000') AND trace_id <= unhex('6920ffffffffffffffffffffffffffff') AND service_name = 'checkout' AND name = 'GET /cart' AND kind = 2 AND status_code = 2 AND duration_nanos >= 1000000 AND duration_nanos <= 9000000000 AND has(business_keys, 'order-1') AND (arrayExists((k, t, s, i, d, b) -> k = 'http.response.status_code' AND ((t = 1 AND s = '502') OR (t = 3 AND i = 502) OR (t = 4 AND d = 502.0)), attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool) OR arrayExists((k, v) -> k = 'http.response.status_code' AND v = '502', resource_attributes.key, resource_attributes.value)) AND (arrayExists((k, t, s, i, d, b) -> k = 'cache.hit' AND ((t = 1 AND s = 'true') OR (t = 2 AND b = 1)), attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool) OR arrayExists((k, v) -> k = 'cache.hit' AND v = 'true', resource_attributes.key, resource_attributes.value)) AND (arrayExists((k, t, s, i, d, b) -> k = 'quote\'s' AND ((t = 1 AND s = 'it\'s \\ odd')), attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool) OR arrayExists((k, v) -> k = 'quote\'s' AND v = 'it\'s \\ odd', resource_attributes.key, resource_attributes.value)) GROUP BY trace_id ORDER BY newest DESC, trace_id LIMIT 80;

-- legacy profile: search by root
SELECT trace_id, max(start_time) AS newest FROM weft.spans WHERE start_time >= 1795255140000000000 AND start_time <= 1795255260000000000 AND parent_span_id = toFixedString('', 8) AND service_name = 'frontend' AND name = 'GET /' GROUP BY trace_id ORDER BY newest DESC, trace_id LIMIT 80;

-- legacy profile: search in a range
SELECT trace_id, max(start_time) AS newest FROM weft.spans WHERE start_time >= 1795255140000000000 AND start_time <= 1795255260000000000 GROUP BY trace_id ORDER BY newest DESC, trace_id LIMIT 80;

-- legacy profile: span heads
SELECT trace_id, span_id, parent_span_id, start_time, duration_nanos, service_name, name, status_code FROM weft.spans WHERE trace_id IN (unhex('692037a00102030405060708090a0b0c'), unhex('692037a00102030405060708090a0b0c')) LIMIT 1 BY trace_id, span_id;

-- legacy profile: trace times
SELECT count(), min(start_time), max(end_time) FROM weft.trace_times WHERE trace_id = unhex('692037a00102030405060708090a0b0c');

-- legacy profile: services
SELECT DISTINCT service_name FROM weft.spans WHERE start_time >= 1795255140000000000 ORDER BY service_name;

-- legacy profile: operations of a service
SELECT service_name, name, kind, min(start_time), max(start_time) FROM weft.spans WHERE start_time >= 1795255140000000000 AND service_name = 'checkout' AND kind = 3 GROUP BY service_name, name, kind ORDER BY service_name, name, kind;

-- legacy profile: operations
SELECT service_name, name, kind, min(start_time), max(start_time) FROM weft.spans WHERE start_time >= 1795255140000000000 GROUP BY service_name, name, kind ORDER BY service_name, name, kind;

-- legacy profile: span attribute keys
SELECT service_name, key, min(start_time), max(start_time) FROM weft.spans ARRAY JOIN attributes.key AS key WHERE start_time >= 1795255140000000000 AND service_name = 'checkout' GROUP BY service_name, key ORDER BY service_name, key;

-- legacy profile: resource attribute keys
SELECT service_name, key, min(start_time), max(start_time) FROM weft.spans ARRAY JOIN resource_attributes.key AS key WHERE start_time >= 1795255140000000000 GROUP BY service_name, key ORDER BY service_name, key;

-- legacy profile: attribute values
SELECT key, value, sum(spans) AS total FROM (SELECT key, if(value_type = 2, if(value_bool = 1, 'true', 'false'), value_str) AS value, count() AS spans FROM weft.spans ARRAY JOIN attributes.key AS key, attributes.type AS value_type, attributes.str AS value_str, attributes.bool AS value_bool WHERE value_type IN (1, 2) AND start_time >= 1795255140000000000 AND key = 'http.route' AND substring(if(value_type = 2, if(value_bool = 1, 'true', 'false'), value_str), 1, 3) = '/ca' GROUP BY key, value UNION ALL SELECT key, value, count() AS spans FROM weft.spans ARRAY JOIN resource_attributes.key AS key, resource_attributes.value AS value WHERE start_time >= 1795255140000000000 AND key = 'http.route' AND substring(value, 1, 3) = '/ca' GROUP BY key, value) GROUP BY key, value ORDER BY key, total DESC, value LIMIT 100 BY key;

-- legacy profile: top attribute values
SELECT key, value, sum(spans) AS total FROM (SELECT key, if(value_type = 2, if(value_bool = 1, 'true', 'false'), value_str) AS value, count() AS spans FROM weft.spans ARRAY JOIN attributes.key AS key, attributes.type AS value_type, attributes.str AS value_str, attributes.bool AS value_bool WHERE value_type IN (1, 2) AND start_time >= 1795255140000000000 GROUP BY key, value UNION ALL SELECT key, value, count() AS spans FROM weft.spans ARRAY JOIN resource_attributes.key AS key, resource_attributes.value AS value WHERE start_time >= 1795255140000000000 GROUP BY key, value) GROUP BY key, value ORDER BY key, total DESC, value LIMIT 5 BY key;

-- legacy profile: scan traces
SELECT trace_id, uniqExact(span_id) FROM weft.spans WHERE start_time >= 1795255140000000000 AND start_time < 1795255260000000000 GROUP BY trace_id ORDER BY trace_id;

-- legacy profile: scan spans
SELECT trace_id, span_id, parent_span_id, start_time, duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, resource_attributes.key, resource_attributes.value, business_keys, detail, resource, scope FROM weft.spans WHERE start_time >= 1795255140000000000 AND start_time < 1795255260000000000 AND trace_id IN (unhex('692037a00102030405060708090a0b0c')) ORDER BY trace_id, start_time LIMIT 1 BY trace_id, span_id;

-- legacy profile: oldest span
SELECT count(), min(start_time) FROM weft.spans;

-- legacy profile: checkpoint
SELECT max(position) FROM weft.span_writer_checkpoints WHERE topic = 'weft-spans' AND partition = 3;

-- legacy profile: expired partitions
SELECT DISTINCT partition_id FROM system.parts WHERE database = 'weft' AND table = 'spans' AND active AND partition_id < toString(toYYYYMMDD(toDateTime(intDiv(1795255140000000000, 1000000000)))) ORDER BY partition_id;

-- legacy profile: trace logs
SELECT time, observed_time, trace_id, span_id, severity_number, severity_text, service_name, body_text, body, attribute_strings, attributes, dropped_attributes_count, flags, event_name, resource, scope, record_hash FROM weft.logs WHERE trace_id = unhex('692037a00102030405060708090a0b0c') AND time >= 1795255140000000000 AND time <= 1795255260000000000 ORDER BY time LIMIT 1 BY service_name, time, trace_id, span_id, record_hash;

-- legacy profile: trace logs anywhere
SELECT time, observed_time, trace_id, span_id, severity_number, severity_text, service_name, body_text, body, attribute_strings, attributes, dropped_attributes_count, flags, event_name, resource, scope, record_hash FROM weft.logs WHERE trace_id = unhex('692037a00102030405060708090a0b0c') ORDER BY time LIMIT 1 BY service_name, time, trace_id, span_id, record_hash;

-- legacy profile: scan logs
SELECT time, observed_time, trace_id, span_id, severity_number, severity_text, service_name, body_text, body, attribute_strings, attributes, dropped_attributes_count, flags, event_name, resource, scope, record_hash FROM weft.logs WHERE time >= 1795255140000000000 AND time < 1795255260000000000 ORDER BY time LIMIT 1 BY service_name, time, trace_id, span_id, record_hash;

-- legacy profile: table stats
SELECT table, uniqExact(partition_id), count(), sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database = 'weft' AND active GROUP BY table ORDER BY table;

-- legacy profile: writer checkpoints
SELECT topic, partition, max(position), max(written_unix_nanos) FROM weft.span_writer_checkpoints GROUP BY topic, partition ORDER BY topic, partition;

-- legacy profile: search logs by every condition
SELECT time, observed_time, trace_id, span_id, severity_number, severity_text, service_name, body_text, body, attribute_strings, attributes, dropped_attributes_count, flags, event_name, resource, scope, record_hash FROM weft.logs WHERE time >= 1795255140000000000 AND time < 1795255260000000000 AND service_name = 'checkout' AND severity_number != 0 AND severity_number >= 13 AND trace_id = unhex('692037a00102030405060708090a0b0c') AND (positionCaseInsensitiveUTF8(body_text, 'Payment \'declined\'') > 0 OR arrayExists(v -> positionCaseInsensitiveUTF8(v, 'Payment \'declined\'') > 0, attribute_strings)) ORDER BY time DESC LIMIT 1 BY service_name, time, trace_id, span_id, record_hash LIMIT 100;

-- legacy profile: drop a partition
ALTER TABLE weft.trace_times DROP PARTITION ID '20261201';

