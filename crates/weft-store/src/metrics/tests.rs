use std::time::Duration;

use weft_metrics::topology::EdgeKey;
use weft_metrics::{Bucket, Exemplar, ExemplarReason, SeriesKey};

use super::*;

/// 2026-11-21T10:00:00Z: an hour (and so a window) boundary.
const BASE_SECS: u64 = 1_795_255_200;

fn series(name: &str) -> SeriesKey {
    SeriesKey {
        service_name: "shop".into(),
        span_name: name.into(),
        span_kind: 2,
        status_code: 0,
        host_name: Some("node-1".into()),
        environment: None,
        region: None,
        extra: vec![Some("eu".into()), None],
    }
}

fn bucket(durations: &[u64], trace: u8) -> Bucket {
    let mut bucket = Bucket::default();
    for duration in durations {
        bucket.record(*duration, *duration > 900);
    }
    bucket.exemplars.offer(
        Exemplar {
            trace_id: [trace; 16],
            span_id: [trace; 8],
            start_unix_nanos: 1,
            duration_nanos: durations.iter().copied().max().unwrap_or(0),
            is_error: false,
            reason: ExemplarReason::Slowest,
        },
        10,
    );
    bucket
}

fn row(offset_secs: u64, key: MetricKey, bucket: Bucket) -> MetricRow {
    MetricRow {
        start_secs: BASE_SECS + offset_secs,
        key,
        bucket,
    }
}

fn open(directory: &std::path::Path) -> (MetricStore, RecoveredMetrics) {
    let config = MetricStoreConfig {
        maintenance_interval: Duration::from_secs(3_600),
        ..MetricStoreConfig::new(directory)
    };
    MetricStore::open(config).unwrap()
}

fn everything(store: &MetricStore, resolution: Resolution) -> Vec<MetricRow> {
    store.read(resolution, 0..u64::MAX, &|_| true).unwrap().rows
}

fn calls_by_start(rows: &[MetricRow]) -> Vec<(u64, u64)> {
    rows.iter()
        .map(|row| (row.start_secs - BASE_SECS, row.bucket.calls))
        .collect()
}

#[test]
fn a_commit_is_read_back_at_every_resolution_with_sketches_and_exemplars() {
    let directory = tempfile::tempdir().unwrap();
    let (store, recovered) = open(directory.path());
    assert_eq!((recovered.position, recovered.state), (0, None));
    let edge = EdgeKey {
        client_service: "shop".into(),
        client_operation: "GET /".into(),
        server_service: "mysql/shop".into(),
        server_operation: String::new(),
        uninstrumented: true,
    };
    store
        .commit(MetricCheckpoint {
            position: 7,
            rows: vec![
                row(0, MetricKey::Span(series("GET /")), bucket(&[100, 200], 1)),
                row(
                    30,
                    MetricKey::Span(series("GET /")),
                    bucket(&[300, 1_000], 2),
                ),
                row(630, MetricKey::Span(series("GET /")), bucket(&[50], 3)),
                row(0, MetricKey::Edge(edge.clone()), bucket(&[10], 4)),
            ],
            state: b"state at 7".to_vec(),
        })
        .unwrap();
    let fine = everything(&store, Resolution::ThirtySeconds);
    assert_eq!(fine.len(), 4);
    let ten = everything(&store, Resolution::TenMinutes);
    let span_rows: Vec<&MetricRow> = ten
        .iter()
        .filter(|row| matches!(row.key, MetricKey::Span(_)))
        .collect();
    assert_eq!(
        span_rows
            .iter()
            .map(|row| (
                row.start_secs - BASE_SECS,
                row.bucket.calls,
                row.bucket.errors
            ))
            .collect::<Vec<_>>(),
        vec![(0, 4, 1), (600, 1, 0)]
    );
    let first = span_rows[0];
    assert_eq!(first.key, MetricKey::Span(series("GET /")));
    assert_eq!(
        (
            first.bucket.duration_min_nanos,
            first.bucket.duration_max_nanos
        ),
        (100, 1_000)
    );
    assert_eq!(first.bucket.duration_sum_nanos, 1_600);
    // Rank floor(0.99 × 3) of 100, 200, 300, 1000 is 300; the merged sketch is within 1 %.
    let p99 = first.bucket.quantile_nanos(0.99).unwrap();
    assert!((297..=303).contains(&p99), "{p99}");
    let linked: Vec<[u8; 16]> = first.bucket.exemplars.iter().map(|e| e.trace_id).collect();
    assert_eq!(linked.len(), 2, "exemplars of both 30 s buckets merged");
    let hour = everything(&store, Resolution::OneHour);
    assert_eq!(hour.len(), 2, "one span series and one edge");
    assert!(hour
        .iter()
        .any(|row| row.key == MetricKey::Edge(edge.clone())));
    drop(store);

    let (store, recovered) = open(directory.path());
    assert_eq!(recovered.position, 7);
    assert_eq!(recovered.state.as_deref(), Some(&b"state at 7"[..]));
    assert_eq!(everything(&store, Resolution::ThirtySeconds).len(), 4);
}

#[test]
fn deltas_of_later_commits_merge_into_the_stored_bucket() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    let key = MetricKey::Span(series("GET /"));
    for (position, durations) in [(1, vec![10, 20]), (2, vec![30]), (3, vec![40, 50, 60])] {
        store
            .commit(MetricCheckpoint {
                position,
                rows: vec![row(0, key.clone(), bucket(&durations, position as u8))],
                state: Vec::new(),
            })
            .unwrap();
    }
    let rows = everything(&store, Resolution::ThirtySeconds);
    assert_eq!(calls_by_start(&rows), vec![(0, 6)]);
    assert_eq!(rows[0].bucket.duration_sum_nanos, 210);
    assert_eq!(store.generation(), 3);
}

#[test]
fn compaction_merges_a_windows_files_without_changing_what_reads_return() {
    let directory = tempfile::tempdir().unwrap();
    let config = MetricStoreConfig {
        maintenance_interval: Duration::from_secs(3_600),
        compaction_files: 3,
        ..MetricStoreConfig::new(directory.path())
    };
    let (store, _) = MetricStore::open(config).unwrap();
    let now = now_secs();
    let current = now - now % 30;
    for index in 0..5u64 {
        store
            .commit(MetricCheckpoint {
                position: index + 1,
                rows: vec![MetricRow {
                    start_secs: current,
                    key: MetricKey::Span(series("GET /")),
                    bucket: bucket(&[index * 10 + 1], index as u8),
                }],
                state: Vec::new(),
            })
            .unwrap();
    }
    let before: Vec<(u64, u64, u128)> = Resolution::ALL
        .iter()
        .map(|resolution| {
            let rows = everything(&store, *resolution);
            (
                rows.len() as u64,
                rows[0].bucket.calls,
                rows[0].bucket.duration_sum_nanos,
            )
        })
        .collect();
    assert_eq!(store.stats().files, 15);
    store.maintain_now();
    assert_eq!(store.stats().files, 3, "{:?}", store.stats());
    assert_eq!(store.stats().compactions, 3);
    let after: Vec<(u64, u64, u128)> = Resolution::ALL
        .iter()
        .map(|resolution| {
            let rows = everything(&store, *resolution);
            (
                rows.len() as u64,
                rows[0].bucket.calls,
                rows[0].bucket.duration_sum_nanos,
            )
        })
        .collect();
    assert_eq!(before, after);
    let on_disk = std::fs::read_dir(directory.path())
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "parquet")
        })
        .count();
    assert_eq!(on_disk, 3, "replaced files are deleted");
}

#[test]
fn each_resolution_keeps_its_own_retention() {
    let directory = tempfile::tempdir().unwrap();
    let config = MetricStoreConfig {
        maintenance_interval: Duration::from_secs(3_600),
        retention: [
            Duration::from_secs(3_600),
            Duration::from_secs(86_400),
            Duration::from_secs(30 * 86_400),
        ],
        ..MetricStoreConfig::new(directory.path())
    };
    let (store, _) = MetricStore::open(config).unwrap();
    let now = now_secs();
    let three_days_ago = now - 3 * 86_400;
    store
        .commit(MetricCheckpoint {
            position: 1,
            rows: vec![MetricRow {
                start_secs: three_days_ago - three_days_ago % 30,
                key: MetricKey::Span(series("GET /")),
                bucket: bucket(&[5], 1),
            }],
            state: Vec::new(),
        })
        .unwrap();
    store.maintain_now();
    assert!(everything(&store, Resolution::ThirtySeconds).is_empty());
    assert!(everything(&store, Resolution::TenMinutes).is_empty());
    assert_eq!(everything(&store, Resolution::OneHour).len(), 1);
    assert_eq!(store.stats().windows_dropped, 2);
}

#[test]
fn files_a_crash_left_unlisted_are_deleted_at_open() {
    let directory = tempfile::tempdir().unwrap();
    let (store, _) = open(directory.path());
    store
        .commit(MetricCheckpoint {
            position: 1,
            rows: vec![row(0, MetricKey::Span(series("a")), bucket(&[1], 1))],
            state: b"one".to_vec(),
        })
        .unwrap();
    drop(store);
    // What a crash between writing a commit's files and its manifest leaves behind.
    std::fs::write(
        directory.path().join("30s-1795255200-99.parquet"),
        b"partial",
    )
    .unwrap();
    std::fs::write(directory.path().join("STATE-2.bin"), b"two").unwrap();
    std::fs::write(directory.path().join("MANIFEST.json.tmp"), b"{").unwrap();
    let (store, recovered) = open(directory.path());
    assert_eq!(recovered.state.as_deref(), Some(&b"one"[..]));
    assert_eq!(everything(&store, Resolution::ThirtySeconds).len(), 1);
    let mut names: Vec<String> = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(!names
        .iter()
        .any(|name| name.contains("-99.") || name == "STATE-2.bin"));
}

#[test]
fn maintenance_runs_one_at_a_time_so_a_compaction_never_loses_its_inputs() {
    let directory = tempfile::tempdir().unwrap();
    let config = MetricStoreConfig {
        // The background thread runs all the time, racing the explicit runs below.
        maintenance_interval: Duration::from_millis(1),
        compaction_files: 2,
        ..MetricStoreConfig::new(directory.path())
    };
    let (store, _) = MetricStore::open(config).unwrap();
    let now = now_secs();
    let current = now - now % 30;
    let store = std::sync::Arc::new(store);
    let racer = {
        let store = std::sync::Arc::clone(&store);
        std::thread::spawn(move || {
            for _ in 0..200 {
                store.maintain_now();
            }
        })
    };
    for index in 0..200u64 {
        store
            .commit(MetricCheckpoint {
                position: index + 1,
                rows: vec![MetricRow {
                    start_secs: current,
                    key: MetricKey::Span(series("GET /")),
                    bucket: bucket(&[index + 1], index as u8),
                }],
                state: Vec::new(),
            })
            .unwrap();
        store.maintain_now();
    }
    racer.join().unwrap();
    store.maintain_now();
    assert_eq!(store.stats().maintenance_errors, 0, "{:?}", store.stats());
    for resolution in Resolution::ALL {
        let rows = everything(&store, resolution);
        assert_eq!(calls_by_start(&rows).len(), 1);
        assert_eq!(rows[0].bucket.calls, 200, "{resolution:?}");
    }
}
