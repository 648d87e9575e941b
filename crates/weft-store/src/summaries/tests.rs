use super::*;

/// 2026-11-21T10:00:00Z, in nanoseconds.
const BASE: u64 = 1_795_255_200 * 1_000_000_000;
const SECOND: u64 = 1_000_000_000;

const BOTTLENECK: u8 = 1;
const REPEATED_CALLS: u8 = 2;
const ERROR_SOURCE: u8 = 4;

fn summary(id: u32, offset_secs: u64, services: &[&str], kinds: u8) -> TraceSummaryRow {
    let mut trace_id = [0u8; 16];
    trace_id[12..].copy_from_slice(&id.to_be_bytes());
    let names: Vec<&str> = [
        (BOTTLENECK, "bottleneck"),
        (REPEATED_CALLS, "repeated_calls"),
        (ERROR_SOURCE, "error_source"),
    ]
    .into_iter()
    .filter(|(bit, _)| kinds & bit != 0)
    .map(|(_, name)| name)
    .collect();
    let mut sorted = services.to_vec();
    sorted.sort_unstable();
    TraceSummaryRow {
        trace_id,
        root_service: services.first().copied().unwrap_or("").to_owned(),
        root_operation: format!("GET /{id}"),
        start_unix_nanos: BASE + offset_secs * SECOND,
        duration_nanos: u64::from(id) * 1_000_000,
        span_count: id + 1,
        error_count: u32::from(kinds & ERROR_SOURCE != 0),
        service_count: services.len() as u32,
        orphan_span_count: id % 3,
        dropped_span_count: u64::from(id % 2),
        truncated: id % 5 == 4,
        completion: if id % 2 == 1 { "max_age" } else { "inactive" }.to_owned(),
        finding_kinds: kinds,
        findings: names.join(","),
        services: sorted.join(","),
    }
}

/// `count` rows, one a second from `first_offset_secs`, ids from `first_id`.
fn run_of(first_id: u32, first_offset_secs: u64, count: u32) -> Vec<TraceSummaryRow> {
    (0..count)
        .map(|index| {
            summary(
                first_id + index,
                first_offset_secs + u64::from(index),
                &["api", "db"],
                0,
            )
        })
        .collect()
}

fn open_with(directory: &Path, fan_in: usize) -> (SummaryStore, RecoveredSummaries) {
    SummaryStore::open(SummaryStoreConfig {
        compaction_fan_in: fan_in,
        ..SummaryStoreConfig::new(directory)
    })
    .unwrap()
}

fn open(directory: &Path) -> (SummaryStore, RecoveredSummaries) {
    open_with(directory, 16)
}

fn query(limit: usize) -> SummaryQuery {
    SummaryQuery {
        start_unix_nanos: 0,
        end_unix_nanos: u64::MAX,
        limit,
        ..SummaryQuery::default()
    }
}

fn everything(store: &SummaryStore) -> Vec<TraceSummaryRow> {
    store.search(&query(usize::MAX)).unwrap()
}

fn ids(rows: &[TraceSummaryRow]) -> Vec<u32> {
    rows.iter()
        .map(|row| u32::from_be_bytes(row.trace_id[12..].try_into().unwrap()))
        .collect()
}

fn names_on_disk(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn manifest_on_disk(directory: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(directory.join(MANIFEST_FILE)).unwrap()).unwrap()
}

/// The manifest's file and state names, plus the manifest itself, sorted.
fn names_in_manifest(directory: &Path) -> Vec<String> {
    let manifest = manifest_on_disk(directory);
    let mut names: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["name"].as_str().unwrap().to_owned())
        .collect();
    if let Some(state) = manifest["state"].as_str() {
        names.push(state.to_owned());
    }
    names.push(MANIFEST_FILE.to_owned());
    names.sort();
    names
}

fn parquet_files(directory: &Path) -> usize {
    names_on_disk(directory)
        .iter()
        .filter(|name| name.ends_with(".parquet"))
        .count()
}

#[test]
fn a_commit_comes_back_after_reopening_with_its_state_and_position() {
    let directory = tempfile::tempdir().unwrap();
    let (store, recovered) = open(directory.path());
    assert_eq!((recovered.state, recovered.position), (None, 0));
    let rows = vec![
        summary(1, 20, &["checkout", "api"], BOTTLENECK),
        summary(2, 10, &["api"], 0),
        summary(
            3,
            30,
            &["db", "api", "checkout"],
            REPEATED_CALLS | ERROR_SOURCE,
        ),
    ];
    store.commit(&rows, None, b"state at 7", 7).unwrap();
    assert_eq!(store.position(), 7);
    drop(store);

    let (store, recovered) = open(directory.path());
    assert_eq!(recovered.state.as_deref(), Some(&b"state at 7"[..]));
    assert_eq!(recovered.position, 7);
    assert_eq!(store.position(), 7);
    let found = everything(&store);
    assert_eq!(
        found,
        vec![rows[2].clone(), rows[0].clone(), rows[1].clone()]
    );
    assert_eq!(found[0].services, "api,checkout,db");
    assert_eq!(found[0].findings, "repeated_calls,error_source");
    assert_eq!(
        store.stats(),
        SummaryStoreStats {
            files: 1,
            rows: 3,
            bytes: std::fs::metadata(directory.path().join("summaries-000001.parquet"))
                .unwrap()
                .len(),
            position: 7,
        }
    );
    let manifest = manifest_on_disk(directory.path());
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["state"], "state-000002.bin");
    assert_eq!(manifest["next_sequence"], 3);
    let file = &manifest["files"][0];
    assert_eq!(file["name"], "summaries-000001.parquet");
    assert_eq!(file["rows"], 3);
    assert_eq!(file["min_start_unix_nanos"], BASE + 10 * SECOND);
    assert_eq!(file["max_start_unix_nanos"], BASE + 30 * SECOND);
    assert_eq!(file["tier"], 0);
}

#[test]
fn search_filters_by_range_service_findings_and_duration_newest_first() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    // Two commits whose times interleave, so answers merge rows of both files.
    store
        .commit(
            &[
                summary(10, 10, &["api", "checkout"], BOTTLENECK),
                summary(30, 30, &["api"], REPEATED_CALLS),
                summary(50, 50, &["checkout-v2"], 0),
            ],
            None,
            b"one",
            1,
        )
        .unwrap();
    store
        .commit(
            &[
                summary(20, 20, &["checkout"], ERROR_SOURCE),
                summary(40, 40, &["api", "db"], BOTTLENECK | REPEATED_CALLS),
                summary(60, 60, &["api"], 0),
            ],
            None,
            b"two",
            2,
        )
        .unwrap();
    assert_eq!(ids(&everything(&store)), vec![60, 50, 40, 30, 20, 10]);

    let ranged = SummaryQuery {
        start_unix_nanos: BASE + 20 * SECOND,
        end_unix_nanos: BASE + 50 * SECOND,
        ..query(100)
    };
    assert_eq!(
        ids(&store.search(&ranged).unwrap()),
        vec![40, 30, 20],
        "end excluded"
    );

    let by_service = |service: &str| SummaryQuery {
        service: Some(service.to_owned()),
        ..query(100)
    };
    assert_eq!(
        ids(&store.search(&by_service("checkout")).unwrap()),
        vec![20, 10]
    );
    assert_eq!(ids(&store.search(&by_service("db")).unwrap()), vec![40]);
    assert!(store.search(&by_service("check")).unwrap().is_empty());
    assert!(store.search(&by_service("api,db")).unwrap().is_empty());

    let by_findings = |mask: u8| SummaryQuery {
        finding_kinds_any: mask,
        ..query(100)
    };
    assert_eq!(
        ids(&store.search(&by_findings(BOTTLENECK)).unwrap()),
        vec![40, 10]
    );
    assert_eq!(
        ids(&store
            .search(&by_findings(REPEATED_CALLS | ERROR_SOURCE))
            .unwrap()),
        vec![40, 30, 20]
    );

    let slow = SummaryQuery {
        min_duration_nanos: Some(40_000_000),
        ..query(100)
    };
    assert_eq!(
        ids(&store.search(&slow).unwrap()),
        vec![60, 50, 40],
        "at least, inclusive"
    );

    let combined = SummaryQuery {
        service: Some("api".to_owned()),
        finding_kinds_any: BOTTLENECK | REPEATED_CALLS,
        min_duration_nanos: Some(15_000_000),
        end_unix_nanos: BASE + 40 * SECOND,
        ..query(100)
    };
    assert_eq!(ids(&store.search(&combined).unwrap()), vec![30]);

    assert_eq!(ids(&store.search(&query(4)).unwrap()), vec![60, 50, 40, 30]);
    assert_eq!(ids(&store.search(&query(1)).unwrap()), vec![60]);
    assert!(store.search(&query(0)).unwrap().is_empty());
}

#[test]
fn equal_starts_are_ordered_by_trace_id_and_the_limit_keeps_the_first() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    store
        .commit(
            &[summary(3, 5, &["a"], 0), summary(1, 5, &["a"], 0)],
            None,
            b"",
            1,
        )
        .unwrap();
    store
        .commit(
            &[summary(2, 5, &["a"], 0), summary(4, 1, &["a"], 0)],
            None,
            b"",
            2,
        )
        .unwrap();
    assert_eq!(ids(&everything(&store)), vec![1, 2, 3, 4]);
    assert_eq!(ids(&store.search(&query(2)).unwrap()), vec![1, 2]);
}

#[test]
fn a_range_that_ends_before_it_starts_is_an_invalid_query() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    let backwards = SummaryQuery {
        start_unix_nanos: 10,
        end_unix_nanos: 5,
        limit: 10,
        ..SummaryQuery::default()
    };
    let error = store.search(&backwards).unwrap_err();
    assert!(matches!(error, StoreError::InvalidQuery(_)), "{error}");
    assert_eq!(
        error.to_string(),
        "invalid query: the range starts at 10 after it ends at 5"
    );
}

#[test]
fn search_reads_only_files_that_can_hold_an_answer() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    store.commit(&run_of(1, 0, 10), None, b"", 1).unwrap();
    store.commit(&run_of(11, 100, 10), None, b"", 2).unwrap();
    // Damage the older file: a search that never needs it must not open it.
    std::fs::write(
        directory.path().join("summaries-000001.parquet"),
        b"not parquet at all",
    )
    .unwrap();
    assert_eq!(
        ids(&store.search(&query(5)).unwrap()),
        vec![20, 19, 18, 17, 16],
        "the newest file holds the limit; the older one cannot hold a newer row"
    );
    let recent = SummaryQuery {
        start_unix_nanos: BASE + 50 * SECOND,
        ..query(100)
    };
    assert_eq!(store.search(&recent).unwrap().len(), 10, "out of range");
    let error = store.search(&query(15)).unwrap_err();
    assert!(matches!(error, StoreError::Encoding { .. }), "{error}");
    assert!(
        error.to_string().contains("summaries-000001.parquet"),
        "{error}"
    );
}

#[test]
fn a_file_of_another_schema_is_reported_as_corrupt() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    store.commit(&run_of(1, 0, 3), None, b"", 1).unwrap();
    let path = directory.path().join("summaries-000001.parquet");
    let schema = Arc::new(Schema::new(vec![Field::new(
        "start_unix_nanos",
        DataType::UInt64,
        false,
    )]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(UInt64Array::from(vec![BASE])) as Arc<dyn Array>],
    )
    .unwrap();
    let mut writer = ArrowWriter::try_new(File::create(&path).unwrap(), schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let error = store.search(&query(10)).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("summaries-000001.parquet: not a trace summary file of this version"),
        "{error}"
    );
}

#[test]
fn the_file_holds_the_documented_columns_sorted_by_start() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    store
        .commit(
            &[summary(2, 9, &["b", "a"], 3), summary(1, 4, &["a"], 0)],
            None,
            b"",
            1,
        )
        .unwrap();
    let file = File::open(directory.path().join("summaries-000001.parquet")).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let parquet_schema = builder.metadata().file_metadata().schema_descr_ptr();
    let columns: Vec<(String, String)> = builder
        .schema()
        .fields()
        .iter()
        .map(|field| (field.name().clone(), field.data_type().to_string()))
        .collect();
    let expected = [
        ("trace_id", "FixedSizeBinary(16)"),
        ("root_service", "Utf8"),
        ("root_operation", "Utf8"),
        ("start_unix_nanos", "UInt64"),
        ("duration_nanos", "UInt64"),
        ("span_count", "UInt32"),
        ("error_count", "UInt32"),
        ("service_count", "UInt32"),
        ("orphan_span_count", "UInt32"),
        ("dropped_span_count", "UInt64"),
        ("truncated", "Boolean"),
        ("completion", "Utf8"),
        ("finding_kinds", "UInt8"),
        ("findings", "Utf8"),
        ("services", "Utf8"),
    ];
    assert_eq!(
        columns,
        expected
            .iter()
            .map(|(name, kind)| ((*name).to_owned(), (*kind).to_owned()))
            .collect::<Vec<_>>()
    );
    assert_eq!(parquet_schema.column(START).name(), "start_unix_nanos");
    let row_group = builder.metadata().row_group(0);
    // The level is not recorded in the file.
    assert!(matches!(
        row_group.column(TRACE_ID).compression(),
        Compression::ZSTD(_)
    ));
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
    let starts = batches[0]
        .column(START)
        .as_any()
        .downcast_ref::<UInt64Array>()
        .unwrap();
    assert_eq!(
        starts.values().to_vec(),
        vec![BASE + 4 * SECOND, BASE + 9 * SECOND]
    );
}

#[test]
fn an_empty_commit_updates_state_and_position_without_a_parquet_file() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    store.commit(&run_of(1, 0, 3), None, b"first", 4).unwrap();
    store.commit(&[], None, b"second", 9).unwrap();
    assert_eq!(store.position(), 9);
    assert_eq!(parquet_files(directory.path()), 1);
    assert_eq!(
        names_on_disk(directory.path()),
        vec![
            "MANIFEST.json",
            "state-000003.bin",
            "summaries-000001.parquet"
        ],
        "the previous state file is gone"
    );
    drop(store);
    let (store, recovered) = open(directory.path());
    assert_eq!(recovered.state.as_deref(), Some(&b"second"[..]));
    assert_eq!(recovered.position, 9);
    assert_eq!(everything(&store).len(), 3);
    // An empty state is a state too.
    store.commit(&[], None, b"", 10).unwrap();
    drop(store);
    let (_, recovered) = open(directory.path());
    assert_eq!(
        (recovered.state.as_deref(), recovered.position),
        (Some(&b""[..]), 10)
    );
}

#[test]
fn files_a_crash_left_unlisted_are_deleted_at_open() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    store.commit(&run_of(1, 0, 3), None, b"one", 5).unwrap();
    drop(store);
    let committed = names_on_disk(directory.path());
    // What a crash between writing a commit's files and its manifest leaves: the next commit's
    // Parquet file (partial) and state file, and a manifest that never got renamed.
    std::fs::write(
        directory.path().join("summaries-000003.parquet"),
        b"PAR1 partial",
    )
    .unwrap();
    std::fs::write(directory.path().join("state-000004.bin"), b"two").unwrap();
    std::fs::write(
        directory.path().join("MANIFEST.json.tmp"),
        b"{\"version\":1,",
    )
    .unwrap();
    // Not the store's: left alone.
    std::fs::write(directory.path().join("README"), b"hands off").unwrap();

    let (store, recovered) = open(directory.path());
    assert_eq!(recovered.state.as_deref(), Some(&b"one"[..]));
    assert_eq!(recovered.position, 5);
    assert_eq!(ids(&everything(&store)), vec![3, 2, 1]);
    let mut expected = committed;
    expected.push("README".to_owned());
    expected.sort();
    assert_eq!(names_on_disk(directory.path()), expected);

    // Sequence numbers a crash burned are reused safely: the leftovers are gone.
    store.commit(&run_of(4, 10, 1), None, b"two", 6).unwrap();
    drop(store);
    let (store, recovered) = open(directory.path());
    assert_eq!(recovered.state.as_deref(), Some(&b"two"[..]));
    assert_eq!(ids(&everything(&store)), vec![4, 3, 2, 1]);
}

#[test]
fn a_manifest_naming_a_missing_file_fails_open() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    store.commit(&run_of(1, 0, 3), None, b"one", 5).unwrap();
    drop(store);
    std::fs::remove_file(directory.path().join("summaries-000001.parquet")).unwrap();
    let error = SummaryStore::open(SummaryStoreConfig::new(directory.path()))
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .ends_with("the manifest lists summaries-000001.parquet, which is missing"),
        "{error}"
    );
}

#[test]
fn a_manifest_of_another_version_fails_open() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join(MANIFEST_FILE),
        br#"{"version":2,"position":0,"state":null,"files":[],"next_sequence":1}"#,
    )
    .unwrap();
    let error = SummaryStore::open(SummaryStoreConfig::new(directory.path()))
        .err()
        .unwrap();
    assert!(error.to_string().ends_with("version 2 is not 1"), "{error}");
}

#[test]
fn retention_drops_files_whose_newest_row_is_too_old() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = SummaryStore::open(SummaryStoreConfig {
        retention: Duration::from_secs(3_600),
        ..SummaryStoreConfig::new(directory.path())
    })
    .unwrap();
    let now = BASE + 10_000 * SECOND;
    // Entirely older than an hour before `now`.
    store.commit(&run_of(1, 0, 3), None, b"one", 1).unwrap();
    // Straddles the edge: its newest row is recent, so the whole file stays.
    store
        .commit(
            &[summary(10, 100, &["a"], 0), summary(11, 9_000, &["a"], 0)],
            None,
            b"two",
            2,
        )
        .unwrap();
    store.maintain(now).unwrap();
    assert_eq!(ids(&everything(&store)), vec![11, 10]);
    assert_eq!(store.stats().files, 1);
    assert_eq!(store.position(), 2, "retention keeps the position");
    assert_eq!(
        names_on_disk(directory.path()),
        names_in_manifest(directory.path())
    );
    drop(store);
    let (store, recovered) = open(directory.path());
    assert_eq!(recovered.state.as_deref(), Some(&b"two"[..]));
    assert_eq!(ids(&everything(&store)), vec![11, 10]);
    // Reopened with the default 3 days, past the newest row too: empty, the state stays.
    store.maintain(now + 4 * 86_400 * SECOND).unwrap();
    assert!(everything(&store).is_empty());
    assert_eq!(
        names_on_disk(directory.path()),
        vec!["MANIFEST.json", "state-000004.bin"]
    );
}

#[test]
fn tiers_follow_row_counts() {
    assert_eq!(tier_of(0, 16), 0);
    assert_eq!(tier_of(999, 16), 0);
    assert_eq!(tier_of(1_000, 16), 1);
    assert_eq!(tier_of(15_999, 16), 1);
    assert_eq!(tier_of(16_000, 16), 2);
    assert_eq!(tier_of(255_999, 16), 2);
    assert_eq!(tier_of(256_000, 16), 3);
    assert_eq!(tier_of(4_095_999, 16), 3);
    assert_eq!(tier_of(u64::MAX, 16), 15, "terminates");
    assert_eq!(tier_of(1_999, 2), 1);
    assert_eq!(tier_of(2_000, 2), 2);
    assert_eq!(tier_of(2_000, 1), 2, "a fan-in below 2 counts as 2");
}

#[test]
fn compaction_merges_fan_in_files_of_a_tier_without_changing_what_search_returns() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open_with(directory.path(), 4);
    for commit in 0..5u32 {
        // Later commits hold older traces too: the merge must sort across files.
        let rows = vec![
            summary(
                commit * 10 + 1,
                u64::from(commit) * 100,
                &["api"],
                BOTTLENECK,
            ),
            summary(commit * 10 + 2, u64::from(4 - commit) * 100 + 7, &["db"], 0),
        ];
        store
            .commit(
                &rows,
                None,
                format!("state {commit}").as_bytes(),
                u64::from(commit) + 1,
            )
            .unwrap();
    }
    let before = everything(&store);
    assert_eq!(before.len(), 10);
    let stats_before = store.stats();
    assert_eq!(stats_before.files, 5);

    store.maintain(BASE).unwrap();
    let stats = store.stats();
    assert_eq!(stats.files, 2, "four merged into one, one left");
    assert_eq!((stats.rows, stats.position), (10, 5));
    assert_eq!(everything(&store), before);
    let filtered = SummaryQuery {
        service: Some("db".to_owned()),
        ..query(3)
    };
    assert_eq!(store.search(&filtered).unwrap().len(), 3);
    assert_eq!(
        names_on_disk(directory.path()),
        names_in_manifest(directory.path())
    );
    let manifest = manifest_on_disk(directory.path());
    let merged = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["rows"] == 8)
        .expect("the merged file");
    assert_eq!(merged["tier"], 0, "8 rows are still tier 0");
    assert_eq!(merged["min_start_unix_nanos"], BASE);
    assert_eq!(
        manifest["state"], "state-000010.bin",
        "the last commit's state"
    );

    // Two files of tier 0 are fewer than the fan-in: nothing to do.
    store.maintain(BASE).unwrap();
    assert_eq!(store.stats().files, 2);
    drop(store);
    let (store, recovered) = open_with(directory.path(), 4);
    assert_eq!(recovered.state.as_deref(), Some(&b"state 4"[..]));
    assert_eq!(recovered.position, 5);
    assert_eq!(everything(&store), before);
}

#[test]
fn compaction_picks_the_lowest_full_tier_and_never_merges_final_files() {
    let directory = tempfile::tempdir().unwrap();
    // Fan-in 2: tier 0 below 1000 rows, tier 1 below 2000, tier 2 below 4000, 3 is final.
    let (store, _) = open_with(directory.path(), 2);
    store.commit(&run_of(0, 0, 1_000), None, b"", 1).unwrap();
    store
        .commit(&run_of(1_000, 1_000, 1_000), None, b"", 2)
        .unwrap();
    store
        .commit(&run_of(2_000, 2_000, 10), None, b"", 3)
        .unwrap();
    let tiers = |store: &SummaryStore| {
        let mut tiers: Vec<(u64, u32)> = store
            .manifest
            .lock()
            .files
            .iter()
            .map(|meta| (meta.rows, meta.tier))
            .collect();
        tiers.sort_unstable();
        tiers
    };
    assert_eq!(tiers(&store), vec![(10, 0), (1_000, 1), (1_000, 1)]);
    store.maintain(BASE).unwrap();
    assert_eq!(tiers(&store), vec![(10, 0), (2_000, 2)], "tier 1 was full");
    store
        .commit(&run_of(2_010, 2_010, 10), None, b"", 4)
        .unwrap();
    store.maintain(BASE).unwrap();
    assert_eq!(tiers(&store), vec![(20, 0), (2_000, 2)], "tier 0 was full");
    assert_eq!(everything(&store).len(), 2_020);

    // Two files of the final tier stay as they are.
    store
        .commit(&run_of(10_000, 10_000, 4_000), None, b"", 5)
        .unwrap();
    store
        .commit(&run_of(20_000, 20_000, 4_000), None, b"", 6)
        .unwrap();
    store.maintain(BASE).unwrap();
    assert_eq!(
        tiers(&store),
        vec![(20, 0), (2_000, 2), (4_000, 3), (4_000, 3)]
    );
    assert_eq!(
        names_on_disk(directory.path()),
        names_in_manifest(directory.path())
    );
}

#[test]
fn a_merge_spanning_many_batches_keeps_every_row_in_order() {
    let directory = tempfile::tempdir().unwrap();
    // Fan-in 3: tier 2 holds 3000 to 8999 rows, so each input is more than one read batch.
    let (store, _) = open_with(directory.path(), 3);
    for input in 0..3u32 {
        // Interleaved starts across the inputs.
        let rows: Vec<TraceSummaryRow> = (0..8_500u32)
            .map(|index| {
                let id = index * 3 + input;
                summary(id, u64::from(id), &["a"], 0)
            })
            .collect();
        store.commit(&rows, None, b"", u64::from(input)).unwrap();
    }
    let before = everything(&store);
    store.maintain(BASE).unwrap();
    assert_eq!(store.stats().files, 1);
    assert_eq!(everything(&store), before);
    let file = File::open(directory.path().join("summaries-000007.parquet")).unwrap();
    let starts: Vec<u64> = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .flat_map(|batch| {
            let batch = batch.unwrap();
            batch
                .column(START)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(starts.len(), 25_500);
    assert!(starts.windows(2).all(|pair| pair[0] < pair[1]));
}

#[test]
fn a_commit_between_a_compactions_snapshot_and_its_swap_is_kept() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open_with(directory.path(), 2);
    store.commit(&run_of(1, 0, 2), None, b"one", 1).unwrap();
    store.commit(&run_of(3, 10, 2), None, b"two", 2).unwrap();

    // `maintain`'s steps, with a commit where the lock is not held.
    let plan = store.plan_compaction().expect("two tier-0 files");
    assert_eq!(plan.inputs.len(), 2);
    let output = store.write_compaction(&plan).unwrap();
    store.commit(&run_of(5, 20, 2), None, b"three", 3).unwrap();
    assert!(store.install_compaction(&plan, output).unwrap());

    assert_eq!(ids(&everything(&store)), vec![6, 5, 4, 3, 2, 1]);
    assert_eq!(store.stats().files, 2);
    assert_eq!(store.position(), 3);
    assert_eq!(
        names_on_disk(directory.path()),
        names_in_manifest(directory.path())
    );
    drop(store);
    let (store, recovered) = open_with(directory.path(), 2);
    assert_eq!(recovered.state.as_deref(), Some(&b"three"[..]));
    assert_eq!(recovered.position, 3);
    assert_eq!(ids(&everything(&store)), vec![6, 5, 4, 3, 2, 1]);
}

#[test]
fn a_compaction_whose_inputs_went_away_is_discarded() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = SummaryStore::open(SummaryStoreConfig {
        retention: Duration::from_secs(60),
        compaction_fan_in: 2,
        ..SummaryStoreConfig::new(directory.path())
    })
    .unwrap();
    store.commit(&run_of(1, 0, 2), None, b"one", 1).unwrap();
    store.commit(&run_of(3, 1_000, 2), None, b"two", 2).unwrap();
    let plan = store.plan_compaction().unwrap();
    let output = store.write_compaction(&plan).unwrap();
    // Retention drops the older input in between.
    store.apply_retention(BASE + 900 * SECOND).unwrap();
    assert!(!store.install_compaction(&plan, output).unwrap());
    assert_eq!(ids(&everything(&store)), vec![4, 3]);
    assert_eq!(
        names_on_disk(directory.path()),
        names_in_manifest(directory.path())
    );
}

#[test]
fn searches_running_during_commits_and_maintenance_never_fail() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open_with(directory.path(), 2);
    let store = Arc::new(store);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let searcher = {
        let store = Arc::clone(&store);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut seen = 0;
            let mut searches = 0;
            while !done.load(std::sync::atomic::Ordering::Acquire) || searches == 0 {
                let found = store.search(&query(usize::MAX)).unwrap().len();
                assert!(found >= seen, "rows went missing: {found} after {seen}");
                seen = found;
                searches += 1;
            }
            seen
        })
    };
    for commit in 0..40u32 {
        store
            .commit(
                &run_of(commit * 3, u64::from(commit) * 3, 3),
                None,
                b"",
                u64::from(commit),
            )
            .unwrap();
        store.maintain(BASE).unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    searcher.join().unwrap();
    assert_eq!(everything(&store).len(), 120);
    while store.stats().files > 1 {
        let files = store.stats().files;
        store.maintain(BASE).unwrap();
        if store.stats().files == files {
            break;
        }
    }
    assert_eq!(everything(&store).len(), 120);
    assert_eq!(
        names_on_disk(directory.path()),
        names_in_manifest(directory.path())
    );
}

#[test]
fn the_store_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SummaryStore>();
}

/// Statistics deltas come back after reopening in commit order, and retention drops a delta
/// (and its file) once its newest bucket is past the statistics' retention.
#[test]
fn statistics_deltas_come_back_in_commit_order_until_their_retention_drops_them() {
    let directory = tempfile::tempdir().unwrap();
    let hour = 3_600_000_000_000u64;
    let (store, _) = SummaryStore::open(SummaryStoreConfig {
        statistics_retention: Duration::from_secs(2 * 3_600),
        ..SummaryStoreConfig::new(directory.path())
    })
    .unwrap();
    let delta = |bytes: &[u8], newest| StatisticsDelta {
        bytes: bytes.to_vec(),
        newest_bucket_unix_nanos: newest,
    };
    store
        .commit(&[], Some(&delta(b"older", BASE)), b"one", 1)
        .unwrap();
    store.commit(&[], None, b"two", 2).unwrap();
    store
        .commit(&[], Some(&delta(b"newer", BASE + 3 * hour)), b"three", 3)
        .unwrap();
    drop(store);
    let (store, recovered) = SummaryStore::open(SummaryStoreConfig {
        statistics_retention: Duration::from_secs(2 * 3_600),
        ..SummaryStoreConfig::new(directory.path())
    })
    .unwrap();
    assert_eq!(recovered.state.as_deref(), Some(&b"three"[..]));
    assert_eq!(
        store.statistics_deltas().unwrap(),
        [b"older".to_vec(), b"newer".to_vec()]
    );
    let statistics_files = |directory: &Path| {
        names_on_disk(directory)
            .into_iter()
            .filter(|name| name.starts_with("statistics-"))
            .count()
    };
    assert_eq!(statistics_files(directory.path()), 2);
    store.maintain(BASE + 3 * hour).unwrap();
    assert_eq!(store.statistics_deltas().unwrap(), [b"newer".to_vec()]);
    assert_eq!(statistics_files(directory.path()), 1);
}
