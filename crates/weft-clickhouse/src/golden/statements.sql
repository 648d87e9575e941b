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
    detail String CODEC(ZSTD(1)),
    resource String CODEC(ZSTD(3)),
    scope String CODEC(ZSTD(3)),
    INDEX trace_id_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX duration_minmax duration_nanos TYPE minmax GRANULARITY 1,
    INDEX attribute_keys_bloom attributes.key TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(start_time)
ORDER BY (service_name, name, start_time, trace_id, span_id)
TTL toDateTime(start_time) + INTERVAL 259200 SECOND;

-- modern profile: record migration
INSERT INTO weft.schema_migrations (version, profile, applied_unix_seconds) VALUES (1, 'modern', 1);

-- modern profile: applied version
SELECT max(version) FROM weft.schema_migrations;

-- modern profile: trace by id
SELECT trace_id, span_id, parent_span_id, toUnixTimestamp64Nano(start_time), duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, detail, resource, scope FROM weft.spans WHERE trace_id = unhex('692037a00102030405060708090a0b0c') ORDER BY start_time, span_id LIMIT 1 BY span_id;

-- modern profile: trace by id in a range
SELECT trace_id, span_id, parent_span_id, toUnixTimestamp64Nano(start_time), duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, detail, resource, scope FROM weft.spans WHERE trace_id = unhex('692037a00102030405060708090a0b0c') AND start_time >= fromUnixTimestamp64Nano(toInt64(1795255140000000000)) AND start_time <= fromUnixTimestamp64Nano(toInt64(1795255260000000000)) ORDER BY start_time, span_id LIMIT 1 BY span_id;

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
    detail String,
    resource String,
    scope String
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(toDateTime(intDiv(start_time, 1000000000)))
ORDER BY (service_name, name, start_time, trace_id, span_id);

-- legacy profile: record migration
INSERT INTO weft.schema_migrations (version, profile, applied_unix_seconds) VALUES (1, 'legacy', 1);

-- legacy profile: applied version
SELECT max(version) FROM weft.schema_migrations;

-- legacy profile: trace by id
SELECT trace_id, span_id, parent_span_id, start_time, duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, detail, resource, scope FROM weft.spans WHERE trace_id = unhex('692037a00102030405060708090a0b0c') ORDER BY start_time, span_id LIMIT 1 BY span_id;

-- legacy profile: trace by id in a range
SELECT trace_id, span_id, parent_span_id, start_time, duration_nanos, service_name, name, kind, status_code, status_message, trace_state, flags, dropped_attributes_count, attributes.key, attributes.type, attributes.str, attributes.int, attributes.double, attributes.bool, attributes.bytes, detail, resource, scope FROM weft.spans WHERE trace_id = unhex('692037a00102030405060708090a0b0c') AND start_time >= 1795255140000000000 AND start_time <= 1795255260000000000 ORDER BY start_time, span_id LIMIT 1 BY span_id;

