use weft_model::EntityRef;

use super::*;
use crate::manifest::MANIFEST_FILE;

/// 2026-11-21T10:00:00Z, an hour boundary, in nanoseconds.
const BASE: u64 = 1_795_255_200 * 1_000_000_000;
const SECOND: u64 = 1_000_000_000;
const HOUR: u64 = 3_600 * SECOND;

fn trace(id: u8) -> TraceId {
    let mut bytes = [0x11u8; 16];
    bytes[15] = id;
    TraceId::from_bytes(bytes)
}

fn resource_of(service: &str) -> Arc<Resource> {
    Arc::new(Resource {
        attributes: vec![
            KeyValue::new("service.name", AttributeValue::String(service.to_owned())),
            KeyValue::new("host.name", AttributeValue::String("node-1".to_owned())),
        ],
        ..Resource::default()
    })
}

fn scope_of(name: &str) -> Arc<InstrumentationScope> {
    Arc::new(InstrumentationScope {
        name: name.to_owned(),
        version: "1.0".to_owned(),
        ..InstrumentationScope::default()
    })
}

/// A plain record at `BASE + offset`, of service `api`.
fn record(offset: u64, trace_id: Option<u8>, body: &str) -> LogRecord {
    LogRecord {
        time_unix_nanos: BASE + offset,
        observed_time_unix_nanos: BASE + offset + 1,
        trace_id: trace_id.map(trace),
        span_id: trace_id.map(|id| SpanId::from_bytes([id; 8])),
        severity_number: 9,
        severity_text: "INFO".to_owned(),
        body: AttributeValue::String(body.to_owned()),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        flags: 1,
        event_name: String::new(),
        resource: resource_of("api"),
        scope: scope_of("logger"),
        service_name: "api".to_owned(),
    }
}

fn open_with(directory: &Path, configure: impl FnOnce(&mut LogStoreConfig)) -> LogStore {
    let mut config = LogStoreConfig::new(directory);
    configure(&mut config);
    LogStore::open(config).unwrap()
}

fn open(directory: &Path) -> LogStore {
    open_with(directory, |_| {})
}

fn everything(store: &LogStore) -> Vec<LogRecord> {
    store.scan(0, u64::MAX, &mut |_| true).unwrap()
}

fn bodies(records: &[LogRecord]) -> Vec<String> {
    records.iter().map(LogRecord::body_text).collect()
}

fn query(limit: usize) -> LogQuery {
    LogQuery {
        start_unix_nanos: 0,
        end_unix_nanos: u64::MAX,
        limit,
        ..LogQuery::default()
    }
}

fn parquet_names(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".parquet"))
        .collect();
    names.sort();
    names
}

/// Records that exercise every field and the encodings' corner cases.
fn varied_records() -> Vec<LogRecord> {
    let shared_resource = Arc::new(Resource {
        attributes: vec![KeyValue::new(
            "service.name",
            AttributeValue::String("checkout".to_owned()),
        )],
        dropped_attributes_count: 3,
        schema_url: "https://opentelemetry.io/schemas/1.26.0".to_owned(),
        entity_refs: vec![EntityRef {
            schema_url: String::new(),
            entity_type: "service".to_owned(),
            id_keys: vec!["service.name".to_owned()],
            description_keys: vec![],
        }],
    });
    let shared_scope = Arc::new(InstrumentationScope {
        name: "io.weft.checkout".to_owned(),
        version: "2.1.0".to_owned(),
        attributes: vec![KeyValue::new("shard", AttributeValue::Int(4))],
        dropped_attributes_count: 1,
        schema_url: "https://example.com/scope".to_owned(),
    });
    let with = |offset: u64, body: AttributeValue| LogRecord {
        body,
        resource: Arc::clone(&shared_resource),
        scope: Arc::clone(&shared_scope),
        service_name: "checkout".to_owned(),
        ..record(offset, Some(7), "")
    };
    vec![
        LogRecord {
            severity_number: 17,
            severity_text: "Error".to_owned(),
            attributes: vec![
                KeyValue::new("user", AttributeValue::String("ada".to_owned())),
                // OTLP allows duplicate keys; their order is kept.
                KeyValue::new("user", AttributeValue::Int(42)),
                KeyValue::new("ratio", AttributeValue::Double(0.25)),
                KeyValue::new("ok", AttributeValue::Bool(false)),
                KeyValue::new("nothing", AttributeValue::Empty),
            ],
            dropped_attributes_count: 2,
            flags: 0x101,
            event_name: "checkout.failed".to_owned(),
            ..with(1, AttributeValue::String("payment declined".to_owned()))
        },
        with(
            2,
            AttributeValue::Map(vec![
                KeyValue::new("order", AttributeValue::Int(17)),
                KeyValue::new(
                    "items",
                    AttributeValue::Array(vec![
                        AttributeValue::String("book".to_owned()),
                        AttributeValue::Bytes(vec![0, 1, 2]),
                    ]),
                ),
            ]),
        ),
        with(
            3,
            AttributeValue::Array(vec![AttributeValue::Int(1), AttributeValue::Empty]),
        ),
        with(4, AttributeValue::Bytes(vec![0xde, 0xad, 0xbe, 0xef])),
        // No body at all, and an empty string body: two different records.
        with(5, AttributeValue::Empty),
        with(6, AttributeValue::String(String::new())),
        with(7, AttributeValue::Int(-5)),
        LogRecord {
            trace_id: None,
            span_id: None,
            severity_number: 0,
            severity_text: String::new(),
            observed_time_unix_nanos: 0,
            ..record(8, None, "outside any trace")
        },
        // A span ID without a trace ID is kept as sent.
        LogRecord {
            trace_id: None,
            ..record(9, Some(3), "only a span")
        },
    ]
}

#[test]
fn every_field_round_trips_through_a_file() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    let records = varied_records();
    assert!(store.write(1, Arc::new(records.clone())).unwrap());
    assert_eq!(everything(&store), records, "from the memtable");
    store.flush().unwrap();
    assert_eq!(store.memtable_records(), 0);
    assert_eq!(everything(&store), records, "from the file");
    drop(store);
    let store = open(directory.path());
    let read = everything(&store);
    assert_eq!(read, records, "after reopening");
    assert_eq!(read[4].body, AttributeValue::Empty);
    assert_eq!(read[5].body, AttributeValue::String(String::new()));
    // One Arc per distinct resource and scope.
    assert!(Arc::ptr_eq(&read[0].resource, &read[6].resource));
    assert!(Arc::ptr_eq(&read[0].scope, &read[6].scope));
    assert!(!Arc::ptr_eq(&read[0].resource, &read[7].resource));
    assert_eq!(
        store.logs_of_trace(&trace(7), None).unwrap(),
        records[..7].to_vec()
    );
}

#[test]
fn records_are_visible_before_a_flush() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    store
        .write(1, Arc::new(vec![record(0, Some(1), "first")]))
        .unwrap();
    store
        .write(2, Arc::new(vec![record(SECOND, Some(1), "second")]))
        .unwrap();
    assert_eq!(store.memtable_records(), 2);
    assert_eq!(store.durable_position(), 0);
    assert_eq!(
        bodies(&store.logs_of_trace(&trace(1), None).unwrap()),
        ["first", "second"]
    );
    assert_eq!(
        bodies(&store.search(&query(10)).unwrap().records),
        ["second", "first"]
    );
    assert!(parquet_names(directory.path()).is_empty());
}

#[test]
fn a_flush_survives_reopening_with_its_position() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    store
        .write(
            3,
            Arc::new(vec![record(0, Some(1), "a"), record(5, None, "b")]),
        )
        .unwrap();
    store
        .write(4, Arc::new(vec![record(2 * HOUR, Some(1), "c")]))
        .unwrap();
    store.flush().unwrap();
    assert_eq!(store.durable_position(), 4);
    assert_eq!(
        parquet_names(directory.path()).len(),
        2,
        "one file per partition"
    );
    // Written after the flush and never flushed: lost, as the bus will replay it.
    store
        .write(5, Arc::new(vec![record(6, None, "d")]))
        .unwrap();
    drop(store);
    let store = open(directory.path());
    assert_eq!(store.durable_position(), 4);
    assert_eq!(bodies(&everything(&store)), ["a", "b", "c"]);
    let stats = store.stats();
    assert_eq!(
        stats,
        LogStoreStats {
            files: 2,
            records: 3,
            bytes: stats.bytes,
            memtable_records: 0,
            durable_position: 4,
            oldest_time_unix_nanos: Some(BASE),
            newest_time_unix_nanos: Some(BASE + 2 * HOUR),
        }
    );
    assert!(stats.bytes > 0);
}

#[test]
fn a_replay_after_reopening_stores_each_position_once() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    assert!(store
        .write(1, Arc::new(vec![record(1, None, "one")]))
        .unwrap());
    assert!(store
        .write(2, Arc::new(vec![record(2, None, "two")]))
        .unwrap());
    assert!(!store
        .write(2, Arc::new(vec![record(2, None, "two again")]))
        .unwrap());
    assert!(
        !store
            .write(1, Arc::new(vec![record(1, None, "older")]))
            .unwrap(),
        "positions only grow"
    );
    store.flush().unwrap();
    drop(store);
    let store = open(directory.path());
    // The pipeline replays the bus from an older position than the store needs.
    for (position, body) in [(1, "one"), (2, "two")] {
        assert!(!store
            .write(position, Arc::new(vec![record(position, None, body)]))
            .unwrap());
    }
    assert!(store
        .write(3, Arc::new(vec![record(3, None, "three")]))
        .unwrap());
    assert_eq!(bodies(&everything(&store)), ["one", "two", "three"]);
}

#[test]
fn positions_without_records_are_committed_by_a_manifest_alone() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    store.flush().unwrap();
    assert!(
        !directory.path().join(MANIFEST_FILE).exists(),
        "nothing to commit"
    );
    assert!(store.write(7, Arc::new(Vec::new())).unwrap());
    store.flush().unwrap();
    assert_eq!(store.durable_position(), 7);
    assert!(parquet_names(directory.path()).is_empty());
    drop(store);
    assert_eq!(open(directory.path()).durable_position(), 7);
}

#[test]
fn files_of_a_flush_whose_manifest_was_not_replaced_are_removed_at_open() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    store
        .write(1, Arc::new(vec![record(0, Some(1), "committed")]))
        .unwrap();
    store.flush().unwrap();
    let committed_manifest = std::fs::read(directory.path().join(MANIFEST_FILE)).unwrap();
    let committed_files = parquet_names(directory.path());
    store
        .write(
            2,
            Arc::new(vec![record(1, Some(1), "lost"), record(HOUR, None, "lost")]),
        )
        .unwrap();
    store.flush().unwrap();
    drop(store);
    // A crash after the files were written but before the new manifest replaced the old.
    std::fs::write(directory.path().join(MANIFEST_FILE), &committed_manifest).unwrap();
    std::fs::write(directory.path().join("MANIFEST.json.tmp"), b"{").unwrap();
    std::fs::write(directory.path().join("notes.txt"), b"not ours").unwrap();
    assert_eq!(parquet_names(directory.path()).len(), 3);
    let store = open(directory.path());
    assert_eq!(parquet_names(directory.path()), committed_files);
    assert!(!directory.path().join("MANIFEST.json.tmp").exists());
    assert!(
        directory.path().join("notes.txt").exists(),
        "other files are left alone"
    );
    assert_eq!(store.durable_position(), 1);
    assert_eq!(bodies(&everything(&store)), ["committed"]);
    assert_eq!(store.logs_of_trace(&trace(1), None).unwrap().len(), 1);
    // The replay brings position 2 back, once.
    assert!(store
        .write(2, Arc::new(vec![record(1, Some(1), "replayed")]))
        .unwrap());
    assert_eq!(bodies(&everything(&store)), ["committed", "replayed"]);
}

#[test]
fn a_failed_flush_keeps_the_memtable_and_a_later_one_commits_it() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    store
        .write(
            1,
            Arc::new(vec![record(0, None, "a"), record(HOUR, None, "b")]),
        )
        .unwrap();
    // The second file's name is taken by a directory: its creation fails.
    let blocker = directory.path().join("logs-000002.parquet");
    std::fs::create_dir(&blocker).unwrap();
    assert!(store.flush().is_err());
    assert_eq!(store.memtable_records(), 2);
    assert_eq!(store.durable_position(), 0);
    assert!(
        parquet_names(directory.path())
            .iter()
            .all(|name| name == "logs-000002.parquet"),
        "the first file was removed"
    );
    assert_eq!(bodies(&everything(&store)), ["a", "b"]);
    std::fs::remove_dir(&blocker).unwrap();
    store.flush().unwrap();
    assert_eq!((store.memtable_records(), store.durable_position()), (0, 1));
    drop(store);
    assert_eq!(bodies(&everything(&open(directory.path()))), ["a", "b"]);
}

#[test]
fn logs_of_a_trace_come_from_every_partition_and_the_memtable_oldest_first() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    store
        .write(
            1,
            Arc::new(vec![
                record(HOUR + 5, Some(1), "second hour"),
                record(10, Some(1), "first hour, late"),
                record(5, Some(2), "other trace"),
                record(1, Some(1), "first hour"),
            ]),
        )
        .unwrap();
    store.flush().unwrap();
    store
        .write(
            2,
            Arc::new(vec![
                record(3 * HOUR, Some(1), "fourth hour"),
                record(HOUR + 1, None, "no trace"),
            ]),
        )
        .unwrap();
    store.flush().unwrap();
    store
        .write(3, Arc::new(vec![record(HOUR + 6, Some(1), "memtable")]))
        .unwrap();
    assert_eq!(
        bodies(&store.logs_of_trace(&trace(1), None).unwrap()),
        [
            "first hour",
            "first hour, late",
            "second hour",
            "memtable",
            "fourth hour"
        ]
    );
    // A hint limits what is read to the range, inclusive.
    assert_eq!(
        bodies(
            &store
                .logs_of_trace(&trace(1), Some((BASE + 10, BASE + HOUR + 5)))
                .unwrap()
        ),
        ["first hour, late", "second hour"]
    );
    assert_eq!(
        bodies(
            &store
                .logs_of_trace(&trace(1), Some((BASE + HOUR, BASE + 2 * HOUR)))
                .unwrap()
        ),
        ["second hour", "memtable"]
    );
    assert!(store.logs_of_trace(&trace(9), None).unwrap().is_empty());
    assert!(store
        .logs_of_trace(&trace(1), Some((BASE + 2 * HOUR, BASE + 2 * HOUR + 9)))
        .unwrap()
        .is_empty());
}

#[test]
fn a_trace_lookup_skips_row_groups_that_cannot_hold_the_trace() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    // Three row groups; row group k holds traces k + 1 and k + 11, alternating.
    let records: Vec<LogRecord> = (0..3 * ROW_GROUP_ROWS as u64)
        .map(|index| {
            let row_group = (index / ROW_GROUP_ROWS as u64) as u8;
            let id = if index % 2 == 0 {
                row_group + 1
            } else {
                row_group + 11
            };
            record(index, Some(id), "x")
        })
        .collect();
    store.write(1, Arc::new(records)).unwrap();
    store.flush().unwrap();
    let path = directory.path().join("logs-000001.parquet");
    let file = LogFile::open(&path, true).unwrap();
    assert_eq!(file.row_groups(), 3);
    for row_group in 0..3u8 {
        let holds: Vec<u8> = (1..=13)
            .filter(|&id| {
                file.may_hold_trace(usize::from(row_group), trace(id).as_bytes())
                    .unwrap()
            })
            .collect();
        // Traces between the group's two are within its min/max statistics: the Bloom filter
        // rules them out.
        assert_eq!(
            holds,
            [row_group + 1, row_group + 11],
            "row group {row_group}"
        );
    }
    assert_eq!(
        store.logs_of_trace(&trace(2), None).unwrap().len(),
        ROW_GROUP_ROWS / 2
    );
}

#[test]
fn search_applies_every_filter_newest_first_up_to_the_limit() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    let with = |offset: u64, service: &str, severity: u8, body: &str| LogRecord {
        severity_number: severity,
        service_name: service.to_owned(),
        ..record(offset, Some((offset % 3) as u8), body)
    };
    store
        .write(
            1,
            Arc::new(vec![
                with(0, "api", 9, "Started request"),
                with(1, "db", 17, "connection REFUSED"),
                with(2, "api", 13, "slow request"),
                LogRecord {
                    attributes: vec![
                        KeyValue::new("count", AttributeValue::Int(3)),
                        KeyValue::new(
                            "error.message",
                            AttributeValue::String("Connection reset".to_owned()),
                        ),
                    ],
                    ..with(HOUR, "api", 17, "request failed")
                },
                with(HOUR + 1, "api", 0, "unspecified severity"),
                with(HOUR + 2, "web", 21, "Ünïcode CONNECTION"),
            ]),
        )
        .unwrap();
    store.flush().unwrap();
    store
        .write(
            2,
            Arc::new(vec![with(HOUR + 3, "api", 9, "memtable request")]),
        )
        .unwrap();
    let search = |query: LogQuery| bodies(&store.search(&query).unwrap().records);
    assert_eq!(
        search(query(100)),
        [
            "memtable request",
            "Ünïcode CONNECTION",
            "unspecified severity",
            "request failed",
            "slow request",
            "connection REFUSED",
            "Started request"
        ]
    );
    assert_eq!(search(query(2)), ["memtable request", "Ünïcode CONNECTION"]);
    assert!(search(query(0)).is_empty());
    assert_eq!(
        search(LogQuery {
            service: Some("api".to_owned()),
            ..query(3)
        }),
        ["memtable request", "unspecified severity", "request failed"]
    );
    // Case-insensitive, in the body or in an attribute's string value.
    assert_eq!(
        search(LogQuery {
            text: Some("connection".to_owned()),
            ..query(10)
        }),
        ["Ünïcode CONNECTION", "request failed", "connection REFUSED"]
    );
    assert_eq!(
        search(LogQuery {
            text: Some("üNÏ".to_owned()),
            ..query(10)
        }),
        ["Ünïcode CONNECTION"]
    );
    assert_eq!(
        search(LogQuery {
            text: Some("3".to_owned()),
            ..query(10)
        }),
        Vec::<String>::new(),
        "only string attributes"
    );
    assert_eq!(
        search(LogQuery {
            min_severity: Some(17),
            ..query(10)
        }),
        ["Ünïcode CONNECTION", "request failed", "connection REFUSED"]
    );
    assert_eq!(
        search(LogQuery {
            min_severity: Some(0),
            ..query(10)
        })
        .len(),
        6,
        "a minimum excludes unspecified severities"
    );
    assert_eq!(
        search(LogQuery {
            trace_id: Some(trace(0)),
            ..query(10)
        }),
        ["memtable request", "request failed", "Started request"]
    );
    // Half-open: the start is in, the end is not.
    assert_eq!(
        search(LogQuery {
            start_unix_nanos: BASE + 1,
            end_unix_nanos: BASE + HOUR + 1,
            ..query(10)
        }),
        ["request failed", "slow request", "connection REFUSED"]
    );
    assert_eq!(
        search(LogQuery {
            service: Some("api".to_owned()),
            text: Some("REQUEST".to_owned()),
            min_severity: Some(10),
            ..query(10)
        }),
        ["request failed", "slow request"]
    );
    assert!(search(LogQuery {
        start_unix_nanos: BASE,
        end_unix_nanos: BASE,
        ..query(10)
    })
    .is_empty());
}

#[test]
fn search_stops_once_it_holds_the_newest_records() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    for hour in 0..4u64 {
        let records = (0..100)
            .map(|index| record(hour * HOUR + index, None, "x"))
            .collect();
        store.write(hour + 1, Arc::new(records)).unwrap();
        store.flush().unwrap();
    }
    let result = store.search(&query(10)).unwrap();
    assert_eq!(result.records.len(), 10);
    assert_eq!(result.records[0].time_unix_nanos, BASE + 3 * HOUR + 99);
    assert_eq!(result.records[9].time_unix_nanos, BASE + 3 * HOUR + 90);
    assert_eq!(
        result.scanned_records, 100,
        "only the newest partition's file was read"
    );
    let all = store.search(&query(1_000)).unwrap();
    assert_eq!((all.records.len(), all.scanned_records), (400, 400));
}

#[test]
fn a_range_that_ends_before_it_starts_is_an_invalid_query() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    let expected = "invalid query: the range starts at 10 after it ends at 9";
    let error = store
        .search(&LogQuery {
            start_unix_nanos: 10,
            end_unix_nanos: 9,
            ..query(10)
        })
        .unwrap_err();
    assert!(matches!(error, StoreError::InvalidQuery(_)));
    assert_eq!(error.to_string(), expected);
    assert_eq!(
        store.scan(10, 9, &mut |_| true).unwrap_err().to_string(),
        expected
    );
    assert_eq!(
        store
            .logs_of_trace(&trace(1), Some((10, 9)))
            .unwrap_err()
            .to_string(),
        expected
    );
}

#[test]
fn scan_returns_the_records_the_predicate_wants_in_the_range_oldest_first() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    store
        .write(
            1,
            Arc::new(vec![
                record(HOUR, Some(1), "kept, second hour"),
                record(0, Some(1), "kept"),
                record(1, Some(2), "not wanted"),
                record(2 * HOUR, Some(1), "outside"),
            ]),
        )
        .unwrap();
    store.flush().unwrap();
    store
        .write(2, Arc::new(vec![record(5, Some(1), "kept, memtable")]))
        .unwrap();
    let mut seen = 0;
    let found = store
        .scan(BASE, BASE + 2 * HOUR, &mut |record| {
            seen += 1;
            record.trace_id == Some(trace(1))
        })
        .unwrap();
    assert_eq!(
        bodies(&found),
        ["kept", "kept, memtable", "kept, second hour"]
    );
    assert_eq!(seen, 4, "only records in the range are offered");
    assert!(store.scan(BASE, BASE, &mut |_| true).unwrap().is_empty());
}

#[test]
fn retention_drops_only_partitions_that_ended_before_the_cutoff() {
    let directory = tempfile::tempdir().unwrap();
    let store = open_with(directory.path(), |config| {
        config.retention = Duration::from_secs(2 * 3_600)
    });
    store
        .write(
            1,
            Arc::new(vec![
                record(0, None, "hour 0"),
                record(HOUR + 10, None, "hour 1"),
                record(2 * HOUR + 10, None, "hour 2"),
            ]),
        )
        .unwrap();
    store.flush().unwrap();
    // Now is 3 h 30 min after BASE: the cutoff is 1 h 30 min; hour 0 ended before it, hour 1
    // did not (its late records are kept with its early ones).
    store.maintain(BASE + 3 * HOUR + HOUR / 2).unwrap();
    assert_eq!(bodies(&everything(&store)), ["hour 1", "hour 2"]);
    assert_eq!(store.stats().files, 2);
    assert_eq!(parquet_names(directory.path()).len(), 2);
    // The cutoff exactly at a partition's end drops it.
    store.maintain(BASE + 4 * HOUR).unwrap();
    assert_eq!(bodies(&everything(&store)), ["hour 2"]);
    drop(store);
    assert_eq!(bodies(&everything(&open(directory.path()))), ["hour 2"]);
}

#[test]
fn compaction_merges_files_of_a_partition_and_keeps_every_record_once() {
    let directory = tempfile::tempdir().unwrap();
    let store = open_with(directory.path(), |config| config.compaction_fan_in = 3);
    let mut expected = Vec::new();
    // Four commits, each into the first two partitions; interleaved times, and more records
    // than one merge batch.
    for commit in 0..4u64 {
        let records: Vec<LogRecord> = (0..3_000u64)
            .flat_map(|index| {
                let offset = index * 4 + commit;
                [
                    record(
                        offset,
                        Some((index % 7) as u8),
                        &format!("{commit}/{index}"),
                    ),
                    record(HOUR + offset, None, &format!("h{commit}/{index}")),
                ]
            })
            .collect();
        expected.extend(records.iter().cloned());
        store.write(commit + 1, Arc::new(records)).unwrap();
        store.flush().unwrap();
    }
    expected.sort_by_key(|record| record.time_unix_nanos);
    assert_eq!(store.stats().files, 8);
    let before = store.search(&query(50)).unwrap();
    store.maintain(BASE).unwrap();
    // The oldest partition's three oldest files became one.
    assert_eq!(store.stats().files, 6);
    assert_eq!(parquet_names(directory.path()).len(), 6);
    store.maintain(BASE).unwrap();
    assert_eq!(store.stats().files, 4);
    store.maintain(BASE).unwrap();
    assert_eq!(
        store.stats().files,
        4,
        "no partition has three files of one tier"
    );
    assert_eq!(everything(&store), expected);
    assert_eq!(store.stats().records, expected.len() as u64);
    assert_eq!(store.search(&query(50)).unwrap().records, before.records);
    assert_eq!(
        store.logs_of_trace(&trace(3), None).unwrap(),
        expected
            .iter()
            .filter(|record| record.trace_id == Some(trace(3)))
            .cloned()
            .collect::<Vec<_>>()
    );
    drop(store);
    assert_eq!(everything(&open(directory.path())), expected);
}

#[test]
fn the_file_holds_the_documented_columns() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    let records = varied_records();
    store
        .write(1, Arc::new(records.iter().rev().cloned().collect()))
        .unwrap();
    store.flush().unwrap();
    let file = File::open(directory.path().join("logs-000001.parquet")).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let columns: Vec<(String, String, bool)> = builder
        .schema()
        .fields()
        .iter()
        .map(|field| {
            (
                field.name().clone(),
                field.data_type().to_string(),
                field.is_nullable(),
            )
        })
        .collect();
    let expected = [
        ("time_unix_nanos", "UInt64", false),
        ("observed_time_unix_nanos", "UInt64", false),
        ("trace_id", "FixedSizeBinary(16)", true),
        ("span_id", "FixedSizeBinary(8)", true),
        ("severity_number", "UInt8", false),
        ("severity_text", "Utf8", false),
        ("service_name", "Utf8", false),
        ("body_text", "Utf8", false),
        ("body", "Binary", true),
        ("attributes", "Binary", false),
        ("dropped_attributes_count", "UInt32", false),
        ("flags", "UInt32", false),
        ("event_name", "Utf8", false),
        ("resource", "Binary", false),
        ("scope", "Binary", false),
    ];
    assert_eq!(
        columns,
        expected
            .iter()
            .map(|(name, kind, nullable)| ((*name).to_owned(), (*kind).to_owned(), *nullable))
            .collect::<Vec<_>>()
    );
    let metadata = builder.metadata().clone();
    let row_group = metadata.row_group(0);
    assert!(matches!(
        row_group.column(TIME).compression(),
        Compression::ZSTD(_)
    ));
    assert!(row_group.column(TRACE_ID).bloom_filter_offset().is_some());
    for index in [SERVICE_NAME, RESOURCE, SCOPE, SEVERITY_TEXT] {
        assert!(
            row_group.column(index).dictionary_page_offset().is_some(),
            "{} is dictionary-encoded",
            SCHEMA.field(index).name()
        );
    }
    assert_eq!(
        row_group
            .sorting_columns()
            .map(|columns| columns[0].column_idx),
        Some(TIME as i32)
    );
    let batch = builder.build().unwrap().next().unwrap().unwrap();
    let times = batch
        .column(TIME)
        .as_any()
        .downcast_ref::<UInt64Array>()
        .unwrap();
    assert!(
        times.values().windows(2).all(|pair| pair[0] <= pair[1]),
        "sorted by time"
    );
    let body = batch
        .column(BODY)
        .as_any()
        .downcast_ref::<BinaryArray>()
        .unwrap();
    let body_text = batch
        .column(BODY_TEXT)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    // The record at BASE + 1 has a string body: its text alone, no protobuf.
    assert!(body.is_null(0));
    assert_eq!(body_text.value(0), "payment declined");
    assert_eq!(body_text.value(1), records[1].body_text());
    assert_eq!(
        decode_any_value(body.value(1)).unwrap(),
        records[1].body,
        "other bodies are an OTLP AnyValue"
    );
    let attributes = batch
        .column(ATTRIBUTES)
        .as_any()
        .downcast_ref::<BinaryArray>()
        .unwrap();
    assert_eq!(
        decode_any_value(attributes.value(0)).unwrap(),
        AttributeValue::Map(records[0].attributes.clone())
    );
    let resource = batch
        .column(RESOURCE)
        .as_any()
        .downcast_ref::<BinaryArray>()
        .unwrap();
    assert_eq!(
        decode_resource(resource.value(0)).unwrap(),
        *records[0].resource
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(directory.path().join(MANIFEST_FILE)).unwrap())
            .unwrap();
    assert_eq!(manifest["position"], 1);
    assert_eq!(manifest["files"][0]["partition_start_unix_nanos"], BASE);
    assert_eq!(
        manifest["files"][0]["partition_end_unix_nanos"],
        BASE + HOUR
    );
}

#[test]
fn a_file_of_another_schema_is_reported_as_corrupt() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(directory.path());
    store
        .write(1, Arc::new(vec![record(0, Some(1), "x")]))
        .unwrap();
    store.flush().unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new(
        "time_unix_nanos",
        DataType::UInt64,
        false,
    )]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(UInt64Array::from(vec![BASE])) as Arc<dyn Array>],
    )
    .unwrap();
    let path = directory.path().join("logs-000001.parquet");
    let mut writer = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let error = store.search(&query(10)).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("logs-000001.parquet: not a log file of this version"),
        "{error}"
    );
    assert!(store.logs_of_trace(&trace(1), None).is_err());
}

#[test]
fn the_store_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LogStore>();
    let directory = tempfile::tempdir().unwrap();
    let store = open_with(directory.path(), |config| config.compaction_fan_in = 2);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for position in 1..=40u64 {
                let records = (0..50)
                    .map(|index| record(position * 100 + index, Some(1), "x"))
                    .collect();
                store.write(position, Arc::new(records)).unwrap();
                if position % 4 == 0 {
                    store.flush().unwrap();
                    store.maintain(BASE).unwrap();
                }
            }
        });
        scope.spawn(|| {
            let mut seen = 0;
            while seen < 2_000 {
                let found = store.logs_of_trace(&trace(1), None).unwrap();
                assert!(
                    found.len() >= seen,
                    "records went missing: {} after {seen}",
                    found.len()
                );
                assert!(
                    found
                        .windows(2)
                        .all(|pair| pair[0].time_unix_nanos < pair[1].time_unix_nanos),
                    "each once, in order"
                );
                seen = found.len();
            }
        });
    });
    store.flush().unwrap();
    assert_eq!(store.logs_of_trace(&trace(1), None).unwrap().len(), 2_000);
}

mod lossless {
    use proptest::prelude::*;

    use super::*;
    use crate::tests::lossless::{attributes, id_bytes, resource, scope, value};

    prop_compose! {
        fn log_record(resources: Vec<Arc<Resource>>, scopes: Vec<Arc<InstrumentationScope>>)(
            resource in 0..resources.len(),
            scope in 0..scopes.len(),
            time in prop_oneof![0..u64::MAX, BASE..BASE + 3 * HOUR],
            observed in any::<u64>(),
            trace_id in prop::option::of(id_bytes::<16>()),
            span_id in prop::option::of(id_bytes::<8>()),
            severity in any::<u8>(),
            severity_text in ".{0,6}",
            body in value(),
            attributes in attributes(),
            dropped in any::<u32>(),
            flags in any::<u32>(),
            event_name in ".{0,6}",
            service_name in ".{0,6}",
        ) -> LogRecord {
            LogRecord {
                time_unix_nanos: time,
                observed_time_unix_nanos: observed,
                trace_id: trace_id.map(TraceId::from_bytes),
                span_id: span_id.map(SpanId::from_bytes),
                severity_number: severity,
                severity_text,
                body,
                attributes,
                dropped_attributes_count: dropped,
                flags,
                event_name,
                resource: Arc::clone(&resources[resource]),
                scope: Arc::clone(&scopes[scope]),
                service_name,
            }
        }
    }

    fn log_records() -> impl Strategy<Value = Vec<LogRecord>> {
        (
            prop::collection::vec(resource(), 1..3),
            prop::collection::vec(scope(), 1..3),
        )
            .prop_flat_map(|(resources, scopes)| {
                prop::collection::vec(log_record(resources, scopes), 1..16)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Whatever was written comes back equal after two flushes and a reopen, oldest first
        /// with equal times in write order.
        #[test]
        fn random_records_round_trip_through_flush_and_reopen(records in log_records()) {
            let directory = tempfile::tempdir().unwrap();
            let store = open(directory.path());
            let middle = records.len() / 2;
            store.write(1, Arc::new(records[..middle].to_vec())).unwrap();
            store.flush().unwrap();
            store.write(2, Arc::new(records[middle..].to_vec())).unwrap();
            store.flush().unwrap();
            drop(store);
            let store = open(directory.path());
            let mut expected = records.clone();
            expected.sort_by_key(|record| record.time_unix_nanos);
            prop_assert_eq!(everything(&store), expected);
            for record in &records {
                if let Some(trace_id) = &record.trace_id {
                    let found = store.logs_of_trace(trace_id, None).unwrap();
                    prop_assert!(found.contains(record));
                }
            }
        }
    }
}
